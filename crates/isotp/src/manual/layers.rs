//! Layers and crates: what each crate is for, which depends on which, and where to look.
//!
//! # Layers
//!
//! Data flows down and up, never sideways; each layer knows only the ones below it.
//!
//! ```text
//!  isotp-cli: the `isotp` command            python/: the PyO3 package (can-isotp's API)
//!
//!  isotp-hub: socketcand server    isotp-conformance: a device under test judged
//!        |                               |
//!  isotp: std. Drivers (Stack, Node, AsyncStack),       isotp-capture: log formats,
//!  the CanBus trait and its backends (virtual,          read and written
//!  SocketCAN raw, socketcand client, SLCAN), the              |
//!  kernel's CAN_ISOTP socket, discovery                       |
//!        |                                                    |
//!  isotp-core: no_std + alloc, no I/O, no clock
//!         wire        the bytes of a PDU: parse, emit, explain (total functions)
//!         Address     which ids and address bytes a link sends on and accepts
//!         Config      every setting of a link, validated in one place
//!         Endpoint    the state machines of one link: transmitter, receiver, timers
//!         Router      which of many links a frame concerns; their deadlines in order
//!         Monitor     many conversations followed in listen mode, on the Router
//!         uds         ISO 14229 request/response pairing and P2/P2* timing, on the Monitor
//! ```
//!
//! - **`isotp-core`** never reads a clock, sleeps, spawns or touches a bus. Time is an argument
//!   ([`Instant`](isotp_core::Instant), microseconds), so the same inputs give the same outputs,
//!   every rule is tested exactly in virtual time, and the crate runs on a microcontroller
//!   unchanged. Its surface is quinn-proto's: `handle_frame(frame, now)`, `handle_timeout(now)`,
//!   `poll_transmit(now)`, `poll_timeout()`, `poll_event()` on an [`Endpoint`](isotp_core::Endpoint).
//!   Its rules where implementations disagree are [`isotp_core::manual::behaviour`].
//! - **`isotp`** (this crate) owns everything that needs an operating system: threads, real time,
//!   sockets and serial ports. A driver holds endpoints, feeds them the frames of its bus with the
//!   time each was captured, puts what they hand out on the bus, and sleeps until the earliest
//!   deadline ([`driver`](super::driver), [`time`](super::time)).
//! - **`isotp-capture`** reads and writes recordings (candump, Vector ASC and BLF, PEAK TRC, pcapng
//!   and pcap, MF4) as `isotp-core` [`Frame`](isotp_core::Frame)s with their times. It does not
//!   depend on this crate, and this crate does not depend on it: a driver user builds no log format
//!   and no compression library. Messages are reassembled from a recording by `isotp-core`'s
//!   [`Monitor`](isotp_core::monitor::Monitor).
//! - **`isotp-conformance`** drives a device under test over any [`CanBus`](crate::bus::CanBus) of
//!   this crate with correct and deliberately wrong frames, built with `isotp-core`'s
//!   [`wire`](isotp_core::wire), and judges its reactions against ISO 15765-2.
//! - **`isotp-hub`** is an application of this crate: a socketcand-compatible TCP server whose
//!   buses are [`VirtualBus`](crate::bus::VirtualBus)es, speaking the wire format of
//!   [`bus::socketcand::protocol`](crate::bus::socketcand::protocol), the one this crate's client
//!   speaks.
//! - **`isotp-cli`** (the `isotp` command) owns its arguments, its output formats and its own
//!   measurements (the `isotp perf` harness); the protocol is the libraries'. Frame explanations
//!   come from `wire::explain`, conversations from `Monitor`, id syntax from `CanId`'s `FromStr`,
//!   addresses from `Address`, links from this crate's drivers, recordings from `isotp-capture`,
//!   verdicts from `isotp-conformance`, the `hub` command from `isotp-hub`.
//! - **`python/`** (the `isotp` package, not published on crates.io) puts can-isotp 2.0.7's API on
//!   this crate's drivers and `isotp-capture`'s readers.
//!
//! # Which crate depends on which
//!
//! The workspace's own dependencies, as `cargo tree -e normal --depth 1 -p CRATE` lists them (test
//! dependencies aside: `isotp`'s tests drive the crates built on it):
//!
//! ```text
//! isotp-core         (none)
//! isotp              -> isotp-core
//! isotp-capture      -> isotp-core
//! isotp-conformance  -> isotp, isotp-core
//! isotp-hub          -> isotp, isotp-core
//! isotp-cli          -> isotp, isotp-capture, isotp-conformance, isotp-hub, isotp-core
//! python/            -> isotp, isotp-capture        (not in the workspace; not on crates.io)
//! ```
//!
//! Each crate exists so that one kind of change releases one crate:
//!
//! | crate | depends on (workspace) | other dependencies | released when |
//! |---|---|---|---|
//! | `isotp-core` | none | `embedded-can` (optional) | a rule of the protocol, the wire format, addressing or the monitor changes |
//! | `isotp` | `isotp-core` | `crossbeam-channel`, `log`, `smallvec`, `thiserror`; optional `socketcan` and `libc` (Linux), `tokio`, `serialport` | a driver, a backend, the kernel socket or discovery changes |
//! | `isotp-capture` | `isotp-core` | `flate2` (zlib-rs), `memchr`, `chrono` | a log format is read or written differently: a BLF fix releases no driver |
//! | `isotp-conformance` | `isotp`, `isotp-core` | `thiserror` | a test of a device is added or judged differently |
//! | `isotp-hub` | `isotp`, `isotp-core` | `crossbeam-channel`, `log`, `socket2`, `thiserror` | the socketcand server changes |
//! | `isotp-cli` | all of the above | `clap`, `indicatif`, `log`, `tempfile`, `thiserror` | the command's options or output change |
//!
//! `cargo tree -p isotp` shows no log-format or compression crate, its tests' dependencies
//! included (the tests that read recordings live in `isotp-capture`), and `isotp-core` has no
//! dependency at all without its `embedded-can` feature.
//!
//! # Where to look
//!
//! | concern | home |
//! |---|---|
//! | PCI bytes, their errors and their explanation | `isotp-core/src/wire/` |
//! | addressing modes, ids and address bytes | `isotp-core/src/addressing.rs` |
//! | settings and their rules | `isotp-core/src/config.rs` |
//! | transmitter, receiver, timers of one link | `isotp-core/src/endpoint/` |
//! | frames and timers of many links | `isotp-core/src/router.rs` |
//! | many conversations watched | `isotp-core/src/monitor/` |
//! | UDS (ISO 14229) request/response pairing and P2/P2* timing, over the monitor's messages | `isotp-core/src/uds.rs` |
//! | CAN ids and frames in candump's text syntax | `isotp-core/src/candump.rs` |
//! | threads, mailboxes, the drivers and the lead protocol | `isotp/src/stack/` |
//! | the `CanBus` trait and its backends | `isotp/src/bus/` |
//! | the kernel's CAN_ISOTP socket | `isotp/src/kernel/` |
//! | functional requests with many responders, endpoint scans | `isotp/src/discovery/` |
//! | log formats | `isotp-capture/src/` |
//! | conformance tests of a device | `isotp-conformance/src/` |
//! | the socketcand server | `isotp-hub/src/` |
//! | the command line | `isotp-cli/src/` (the manual: `docs/cli.md` in the project's sources) |
