//! Wire formats: the bytes of ISO-TP protocol data units inside CAN frames.
//!
//! Everything here is a total function: parsing any byte string returns a value or an error and never
//! panics; emitting checks its buffer. State lives elsewhere ([`crate::Endpoint`]).

pub mod dlc;
mod pci;
mod st_min;

pub use pci::{FlowStatus, PciType, Pdu, PduError, FF_ESCAPE_THRESHOLD};
pub use st_min::StMin;
