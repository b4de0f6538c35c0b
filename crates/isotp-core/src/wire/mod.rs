//! Wire formats: the bytes of ISO-TP protocol data units inside CAN frames.
//!
//! Everything here is a total function: parsing any byte string returns a value or an error and never
//! panics; emitting checks the PDU and its buffer. State lives elsewhere ([`crate::Endpoint`]).
//!
//! - [`Pdu`]: strict [`parse`](Pdu::parse) ([`ParseError`]) and [`emit`](Pdu::emit) ([`EmitError`]) of
//!   the four frame types, each reporting its [`header_len`](Pdu::header_len);
//! - [`explain`]: a lenient view of any frame, for showing traffic;
//! - [`AddressLength`], [`StMin`], [`FlowStatus`], [`PciType`], and [`dlc`] for frame lengths.

mod address_length;
pub mod dlc;
mod explain;
mod pci;
mod st_min;

pub use crate::error::{EmitError, ParseError};
pub use address_length::AddressLength;
pub use explain::{explain, FrameView, PciView};
pub use pci::{FlowStatus, PciType, Pdu, FF_ESCAPE_THRESHOLD};
pub use st_min::StMin;
