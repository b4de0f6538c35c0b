//! Time: the clock of a node, the capture time of a frame, sleeping, spinning and STmin.
//!
//! The engine ([`isotp_core`]) has no clock: every call takes the time as an argument, an
//! [`Instant`](isotp_core::Instant) in microseconds. A driver decides what that time is.
//!
//! # The node's clock
//!
//! A node counts microseconds from its start on the machine's monotonic clock
//! ([`std::time::Instant`]); wall-clock changes do not move its timers.
//!
//! # A received frame is handled at its capture time
//!
//! A frame is handed to the endpoints with the moment it was captured, not the moment a thread got
//! to it: a loaded machine delays the handling, not the protocol's measurements. Backends say when
//! a frame was captured through [`CanBus::recv_timestamped`](crate::bus::CanBus::recv_timestamped)
//! (and [`Capabilities::timestamps`](crate::bus::Capabilities::timestamps)):
//!
//! | backend | a received frame's time |
//! |---|---|
//! | SocketCAN | the kernel's receive timestamp (`SO_TIMESTAMPNS`, else `SO_TIMESTAMP`); when read if the kernel refuses both |
//! | virtual bus | when the sending port put it on the bus |
//! | socketcand | the server's timestamp, mapped to this machine's clock by its age; when read if it is in the future or more than a few seconds old |
//! | SLCAN | when the port's reader thread read it from the serial line |
//! | any other [`CanBus`](crate::bus::CanBus) | when `recv` returned, unless it implements `recv_timestamped` |
//!
//! A capture time later than the node's clock reads is taken as now, so the engine never sees a
//! frame from the future. The timers a frame starts or restarts (N_Bs after a first frame sent, N_Cr
//! after each consecutive frame, STmin from the flow control) count from that moment.
//!
//! A message delivered to the application carries the capture time of the frame that completed it
//! (`Message::at`, the `at` of [`Link::recv_message`](crate::Link::recv_message)): for a
//! multi-frame message, its last consecutive frame.
//!
//! # A sent frame is timed when the bus accepted it
//!
//! The driver confirms each frame to its endpoint when [`CanBus::send`](crate::bus::CanBus::send)
//! returned (on SocketCAN, when the kernel echoed it, if it accepted to echo our own frames; on the
//! virtual bus, when every port has it; on socketcand and SLCAN, when it was written),
//! rounded up to the next microsecond: N_As and N_Ar end there, and the next STmin gap counts from
//! there, so a gap measured from it is never shorter than asked. A failed write ends its transfer at
//! once (`BusFailure`) instead of waiting for N_As.
//!
//! # Sleeping and spinning
//!
//! The thread that reads the bus ([`driver`](super::driver)) sleeps in the bus's `recv` until the
//! earliest protocol deadline of all links, less 300 µs, and then polls the bus without sleeping
//! (yielding its CPU after every 8 polls) until the deadline, a frame, or an interrupt. Every
//! protocol deadline is met that way, whatever its length: an STmin gap of 100 µs is spun whole, the
//! last 300 µs of a 5 ms gap or of an N_Cr timeout are spun. An operating system's sleep can overshoot
//! by tens of microseconds or more; the spin makes a deadline late only by the time one poll of the
//! bus takes. A caller's own timeout (`recv(Some(timeout))`) is slept through, not spun.
//!
//! So STmin gaps are never shorter than asked, and are usually late by a few microseconds to a few
//! tens (the project README's performance table has the measured gaps for STmin 100 µs and 1 ms).
//! The cost is up to 300 µs of one CPU before each deadline while transfers are paced; an idle node
//! has no deadline and does not spin.
//!
//! A python-can bus, where each poll takes the interpreter's lock, is polled from the Python package
//! at most once per 250 µs during a spin, and read in slices of at most 20 ms while the reader
//! sleeps (it cannot be interrupted from another thread).
//!
//! Separately, a thread waiting for a result polls the bus for up to
//! [`DEFAULT_SPIN_BEFORE_PARK`](crate::DEFAULT_SPIN_BEFORE_PARK) (50 µs) after the node's last
//! transmission before it sleeps, on buses that poll cheaply: the reply usually comes within that
//! time ([`DriverOptions::spin_before_park`](crate::DriverOptions::spin_before_park)).
