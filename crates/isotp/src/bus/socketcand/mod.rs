//! socketcand: CAN over TCP with a small ASCII protocol.
//!
//! [socketcand](https://github.com/linux-can/socketcand) serves the SocketCAN interfaces of a Linux
//! machine over TCP; python-can's `socketcand` interface and many tools speak it. This module has
//! the client, [`SocketcandBus`], and the wire format, [`protocol`]; the `isotp-hub` crate is a
//! server that holds virtual buses.
//!
//! The parts of the protocol used here (raw mode):
//!
//! | direction | message |
//! | --- | --- |
//! | server, on connect | `< hi >` |
//! | client | `< open CHANNEL >`, answered `< ok >` (or `< error ... >`) |
//! | client | `< rawmode >`, answered `< ok >` |
//! | server, each frame on the bus | `< frame ID SECONDS.MICROS DATA >`, e.g. `< frame 7E8 1700000000.000123 0250030032 >` |
//! | client, to send a frame | `< send ID LEN B0 B1 ... >`, e.g. `< send 7E0 3 02 10 03 >` |
//! | server, CAN FD frame | `< fdframe ID FLAGS SECONDS.MICROS DATA >` (FLAGS hex: 0x01 BRS, 0x04 FDF) |
//! | client, CAN FD frame | `< fdsend ID FLAGS LEN B0 B1 ... >` |
//! | either | `< echo >` (echoed back), `< error TEXT >` |
//!
//! An id of up to 3 hex digits is 11-bit, of 4 to 8 digits 29-bit (socketcand writes 3 or 8).
//! Data bytes are accepted with or without a leading zero, in either case, spaced or run together.
//! LEN is decimal (as socketcand reads it; python-can writes hex, the same for classic frames).

mod client;
pub mod protocol;

pub use client::{SocketcandBus, DEFAULT_CONNECT_TIMEOUT};

/// socketcand's default TCP port (also the default of `isotp hub`).
pub const DEFAULT_PORT: u16 = 29536;
