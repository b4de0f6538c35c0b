//! SLCAN: CAN adapters that speak the Lawicel ASCII protocol over a serial port (feature `serial`).
//!
//! Commands and frames are ASCII lines ended by `\r`; the adapter answers `\r` for success and BEL
//! (0x07) for an error:
//!
//! | line | meaning |
//! | --- | --- |
//! | `O` / `C` | open / close the CAN channel |
//! | `S0`...`S8` | nominal bit rate 10k, 20k, 50k, 100k, 125k, 250k, 500k, 800k (750k on CANable), 1M |
//! | `Y0`...`Y8` | CAN FD data bit rate (CANable 2.0-style firmware) |
//! | `Z0` | timestamps off |
//! | `tIIILDD...` | classic frame, 11-bit id, L data bytes |
//! | `TIIIIIIIILDD...` | classic frame, 29-bit id |
//! | `dIIILDD...` / `DIIIIIIIILDD...` | CAN FD frame (L is the DLC, 0-F) |
//! | `bIIILDD...` / `BIIIIIIIILDD...` | CAN FD frame with bit rate switch |
//!
//! [`SlcanBus`] opens an adapter and implements [`CanBus`](crate::bus::CanBus) on it.

pub(crate) mod protocol;

#[cfg(feature = "serial")]
mod port;

#[cfg(feature = "serial")]
pub use port::{SlcanBus, SlcanOptions};

/// The nominal bit rates (bit/s) an SLCAN adapter can be set to.
pub fn bitrates() -> impl Iterator<Item = u32> {
    protocol::BITRATES.iter().map(|(r, _)| *r)
}

/// The CAN FD data bit rates (bit/s) CANable 2.0-style firmware can be set to.
pub fn data_bitrates() -> impl Iterator<Item = u32> {
    protocol::DATA_BITRATES.iter().map(|(r, _)| *r)
}
