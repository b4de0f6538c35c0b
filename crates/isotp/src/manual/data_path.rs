//! A frame's way: from the bus to the application and back, and watching a bus without taking
//! part.
//!
//! # From the bus to the application
//!
//! 1. A backend ([`CanBus::recv_timestamped`](crate::bus::CanBus::recv_timestamped)) returns a
//!    [`Frame`](isotp_core::Frame) (id, data, CAN FD, BRS and ESI flags) and the moment it was
//!    captured ([`time`](super::time)).
//! 2. The thread that leads ([`driver`](super::driver)) asks the node's
//!    [`Router`](isotp_core::Router) which links the frame concerns: those whose receive ids include
//!    its CAN id (a lookup in an ordered map, logarithmic in the number of ids), plus those whose
//!    acceptance is a pattern (the fixed addressing modes, whose ids carry the addresses), which are
//!    offered every frame.
//! 3. Each such [`Endpoint`](isotp_core::Endpoint) gets the frame with its capture time. It checks
//!    the frame against its [`Address`](isotp_core::Address) (`Address::accepts`: id, functional id,
//!    address byte) and parses it with [`wire`](isotp_core::wire) (`Pdu::parse`); a frame that
//!    breaks the rules becomes a `Warning` event and changes nothing.
//! 4. The receiver state machine assembles the message: a single frame completes it at once; a
//!    first frame queues a flow control frame (sent as in step 7), after which N_Cr runs;
//!    consecutive frames are checked for their sequence number and length, each restarting N_Cr.
//! 5. The complete message becomes `Event::Received { payload, target_address_type }`; the driver
//!    moves it, with the capture time of its last frame, to the link's bounded mailbox
//!    ([`bounds`](super::bounds)), where [`Link::recv`](crate::Link::recv) finds it. A failed
//!    reception becomes `Event::ReceiveFailed`, reported on the link's error channel (and returned by
//!    a [`Link::recv_started_within`](crate::Link::recv_started_within) that waits for it).
//!
//! # From the application to the bus
//!
//! 6. [`Link::send`](crate::Link::send) queues the message on the link's `Endpoint` (too long for
//!    a functional address, an empty payload, or a full queue is refused there with a `SendError`).
//! 7. The calling thread then calls `poll_transmit(now)` until `None`: a single frame, or a first
//!    frame; flow control frames of receptions come first. Each frame goes to
//!    [`CanBus::send`](crate::bus::CanBus::send); when the bus accepted it the driver confirms it
//!    (`handle_tx_confirmation`), which gives N_As and N_Ar their meaning, and a bus error fails the
//!    transfer at once instead of losing it silently.
//! 8. After a first frame the transmitter waits for the peer's flow control (N_Bs). The flow control
//!    arrives by steps 1–3; its block size and STmin decide when `poll_transmit` hands out the next
//!    consecutive frames, and `poll_timeout` tells the driver when to come back: the thread that
//!    leads sends them at that deadline.
//! 9. The last frame confirmed, `Event::Sent` completes the
//!    [`Link::send_blocking`](crate::Link::send_blocking) that waits for it; a timeout, a flow
//!    control OVERFLOW or too many WAIT frames end it with `Event::SendFailed` and the reason.
//!
//! # Watching instead of talking
//!
//! A [`Monitor`](isotp_core::monitor::Monitor) (in `isotp-core`) runs the same endpoints in listen
//! mode, one per conversation, on a `Router`: it never transmits, reassembles both directions, pairs
//! the two ends of a conversation from the flow control that answers a first frame (normal,
//! extended and mixed addressing), and measures the timers in the capture's own time. `isotp sniff`
//! is a monitor fed by a bus or by a recording read with `isotp-capture`; `isotp check` judges the
//! frame-by-frame observations it reports against ISO 15765-2; a logger or a gateway uses it the
//! same way.
