//! Queues and locks: every queue of the drivers and backends with its bound, and which locks are
//! held while the bus is read or written.
//!
//! # Queues
//!
//! A receiver that the application does not read pushes back with ISO-TP's own flow control, and
//! every queue between the bus and the application has a bound:
//!
//! | queue | bound | when it is full |
//! |---|---|---|
//! | a link's transmit queue (in its [`Endpoint`](isotp_core::Endpoint)) | [`Config::tx_queue_limit`](isotp_core::Config::tx_queue_limit) messages (default 64) | `send` is refused with `SendError::QueueFull` |
//! | a link's receive mailbox | [`DriverOptions::receive_queue`](crate::DriverOptions::receive_queue) messages (default 4096), plus one per direction for receptions already past their first flow control | a new first frame is answered with FC.WAIT, then FC.OVFLW; a single frame is dropped and counted ([`StackError::ReceiveQueueFull`](crate::StackError::ReceiveQueueFull)) |
//! | a link's error channel | 256 errors | newer errors are dropped (logged at debug level) |
//! | a virtual port | 65,536 frames, plus one per sender that found room at the same moment | the sender waits up to 1 s for room, then drops the frame for that port and counts it ([`VirtualPort::dropped`](crate::bus::VirtualPort::dropped)) |
//! | a socketcand or SLCAN connection's received frames (read by its own thread) | 65,536 frames, and one pending wake-up | newer frames are dropped and counted, as a CAN controller overruns |
//! | a socketcand message or SLCAN line being assembled | the longest valid one | it is skipped with a warning |
//! | frames a SocketCAN writer reads while it looks for its own echo | 4096 frames, set aside for the reader | the writer waits for the reader to take them |
//! | an `isotp-hub` client's outgoing queue | `HubConfig::client_queue` (default 4096) | the client is disconnected, never slowing the bus |
//! | threads and tasks waiting for the lead or a mailbox | one entry per waiter | |
//! | the Python package's frames pushed by a python-can Notifier | 16,384 frames | newer frames are dropped and counted |
//! | conversations discovered by a [`Monitor`](isotp_core::monitor::Monitor), and the frames it keeps to replay into them | [`MonitorConfig::max_conversations`](isotp_core::monitor::MonitorConfig::max_conversations), [`max_buffered_frames`](isotp_core::monitor::MonitorConfig::max_buffered_frames) | the conversation quiet the longest is evicted; frames past the bound are not kept; both are counted |
//!
//! A reception's memory is bounded too: it holds at most twice the bytes received (amortised
//! growth) plus one frame, never the length a first frame announces
//! ([`isotp_core::manual::behaviour`]).
//!
//! The errors a `kernel::KernelSocket` takes from the socket while it sends but which belong to the
//! receiving side (a reception that failed) wait for the next `recv`: at most 64; past that the
//! oldest go, counted and logged as a warning. A program that only sends on a socket whose
//! receptions keep failing should read them with `recv`.
//!
//! # Locks and bus I/O
//!
//! No lock that the reader or another link needs is held while a frame is read or written:
//!
//! - **The node's state lock** (its links' endpoints and timers) is released while a frame is
//!   written: the sending thread marks the link busy (`tx_busy`), writes without the lock, and takes
//!   the lock again to confirm the frame; another thread leaves that link's frames to it, so they
//!   keep their order, and serves the other links meanwhile. The reader publishes its sleep and
//!   releases the lock before it waits on the bus ([`driver`](super::driver), rule 5). The one bus
//!   call made under the lock is [`CanBus::interrupt`](crate::bus::CanBus::interrupt), which never
//!   blocks.
//! - **The virtual bus** waits for room in a full port before it takes its frame order (the lock
//!   that makes every port see every frame in the same order), so a sender held back by one full
//!   port holds back no other port's traffic; under the order lock it only hands the frame to each
//!   port's queue. The list of ports is copied on write: senders never hold its lock while
//!   delivering.
//! - **SocketCAN** writers keep their write order (the kernel echoes in that order, and the echoes
//!   are the transmit confirmations) with a lock that only writers take, held across a write that
//!   may wait for room in the device's queue; the reader never waits for a writer. Reads take a
//!   short lock around non-blocking reads only (so frames a writer sets aside keep their order), and
//!   wait for the socket without it.
//! - **socketcand and SLCAN** are read by a thread of their own; writers share a lock on the
//!   connection's write side only.
//! - **The kernel socket** serializes receivers with a lock of their own; senders do not take it.
