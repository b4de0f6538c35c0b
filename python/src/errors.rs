//! Stable kinds for the engine's errors, and the texts the Python half raises with them.
//!
//! The Python half maps each kind onto a can-isotp exception class. Where can-isotp 2.0.7 reports
//! the same condition, the text is can-isotp's (logs, log filters and tests match on it); where it
//! has no such error (N_As, padding checks, bus failures ...) the text is the engine's.

use isotp::bus::OpenError;
use isotp::core::wire::{ParseError, PciType};
use isotp::core::{Address, ProtocolError, SendError, Warning};
use isotp::StackError;
use pyo3::PyErr;

use crate::NativeError;

pub(crate) fn protocol_kind(e: &ProtocolError) -> &'static str {
    match e {
        ProtocolError::TimeoutA { .. } => "timeout_a",
        ProtocolError::TimeoutBs { .. } => "timeout_bs",
        ProtocolError::TimeoutCr { .. } => "timeout_cr",
        ProtocolError::WrongSn { .. } => "wrong_sn",
        ProtocolError::InvalidFs { .. } => "invalid_fs",
        ProtocolError::UnexpectedPdu {
            interrupted_by: PciType::SingleFrame,
            ..
        } => "interrupted_by_sf",
        ProtocolError::UnexpectedPdu { .. } => "interrupted_by_ff",
        ProtocolError::WftOverrun { .. } => "wft_overrun",
        ProtocolError::BufferOverflow { .. } => "buffer_overflow",
        ProtocolError::MessageTooLarge { .. } => "message_too_large",
        ProtocolError::FrameLengthMismatch { .. } => "frame_length_mismatch",
        ProtocolError::InvalidPadding { .. } => "invalid_padding",
        ProtocolError::FlowControlTooShort { .. } => "flow_control_too_short",
        ProtocolError::BusFailure { .. } => "bus",
        _ => "protocol",
    }
}

/// None for warnings that can-isotp does not report (frames for another address).
pub(crate) fn warning_kind(w: &Warning) -> Option<&'static str> {
    Some(match w {
        Warning::Malformed(ParseError::SingleFrameNotEscaped) => "missing_escape",
        Warning::Malformed(_) => "malformed",
        Warning::UnexpectedConsecutiveFrame => "unexpected_cf",
        Warning::UnexpectedFlowControl => "unexpected_fc",
        Warning::FunctionalMultiFrame => "functional_multi_frame",
        Warning::NotForThisAddress => return None,
        _ => "warning",
    })
}

/// What the texts of one link need: the bytes before the PCI (can-isotp counts them in its "must
/// be at least N bytes" texts).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErrorText {
    address_bytes: usize,
}

/// RX_DL as can-isotp names it: the CAN_DL of a frame, 8 for shorter classic frames.
fn rx_dl(can_dl: usize) -> usize {
    can_dl.max(8)
}

impl ErrorText {
    pub(crate) fn new(address: &Address) -> ErrorText {
        ErrorText {
            address_bytes: address.mode().address_len().bytes(),
        }
    }

    /// The text of a protocol error.
    pub(crate) fn protocol(&self, e: &ProtocolError) -> String {
        match *e {
            ProtocolError::TimeoutBs { .. } => {
                "Reception of FlowControl timed out. Stopping transmission".into()
            }
            ProtocolError::TimeoutCr { .. } => "Reception of CONSECUTIVE_FRAME timed out.".into(),
            ProtocolError::WrongSn { expected, received } => format!(
                "Received a ConsecutiveFrame with wrong SequenceNumber. Expecting 0x{expected:02X}, Received {received}"
            ),
            ProtocolError::InvalidFs { .. } => {
                "Received invalid CAN frame. Unknown flow status".into()
            }
            ProtocolError::FlowControlTooShort { .. } => format!(
                "Received invalid CAN frame. Flow Control frame must be at least {} bytes with the actual configuration",
                3 + self.address_bytes
            ),
            ProtocolError::UnexpectedPdu {
                interrupted_by: PciType::SingleFrame,
                ..
            } => "Reception of IsoTP frame interrupted with a new SingleFrame".into(),
            ProtocolError::UnexpectedPdu { .. } => {
                "Reception of IsoTP frame interrupted with a new FirstFrame".into()
            }
            ProtocolError::WftOverrun { wft_max: 0 } => {
                "Received a FlowControl requesting to wait, but wftmax is set to 0".into()
            }
            ProtocolError::WftOverrun { wft_max } => format!(
                "Received {wft_max} wait frame which is the maximum set in params.wftmax"
            ),
            ProtocolError::BufferOverflow { .. } => {
                "Received a FlowControl PDU indicating an Overflow. Stopping transmission.".into()
            }
            ProtocolError::MessageTooLarge {
                length,
                max_frame_size,
            } => format!(
                "Received a First Frame with a length of {length} bytes, but params.max_frame_size is set to {max_frame_size} bytes. Ignoring"
            ),
            ProtocolError::FrameLengthMismatch { expected, received } => format!(
                "Received a ConsecutiveFrame with RX_DL={} while expected RX_DL={}. Ignoring frame",
                rx_dl(received),
                rx_dl(expected)
            ),
            ref other => other.to_string(),
        }
    }

    /// The text of a warning (a frame ignored).
    pub(crate) fn warning(&self, w: &Warning) -> String {
        match w {
            Warning::Malformed(ParseError::SingleFrameNotEscaped) => {
                "For SingleFrames conveyed on a CAN message with data length (CAN_DL) > 8, length should be encoded on byte #1 and byte #0 should be 0x00".into()
            }
            Warning::Malformed(e) => format!("Received invalid CAN frame. {e}"),
            Warning::UnexpectedConsecutiveFrame => {
                "Received a ConsecutiveFrame while reception was idle. Ignoring".into()
            }
            Warning::UnexpectedFlowControl => {
                "Received a FlowControl message while transmission was Idle. Ignoring".into()
            }
            other => other.to_string(),
        }
    }

    /// The text of a stack error.
    pub(crate) fn stack(&self, e: &StackError) -> String {
        match e {
            StackError::Protocol(p) => self.protocol(p),
            StackError::FrameIgnored(w) => self.warning(w),
            e => e.to_string(),
        }
    }
}

pub(crate) fn send_error(e: SendError) -> PyErr {
    let kind = match e {
        SendError::EmptyPayload => "empty",
        SendError::TooLong { .. } => "too_long",
        SendError::FunctionalTooLong { .. } => "functional_too_long",
        SendError::ListenMode => "listen_mode",
        SendError::NoTransmitAddress => "no_tx_address",
        SendError::QueueFull { .. } => "queue_full",
        _ => "send",
    };
    NativeError::new_err((kind, e.to_string()))
}

pub(crate) fn stack_error_kind(e: &StackError) -> &'static str {
    match e {
        StackError::Protocol(p) => protocol_kind(p),
        StackError::Send(_) => "send",
        StackError::Config(_) => "config",
        StackError::Bus(_) => "bus",
        StackError::Timeout { .. } => "timeout",
        StackError::Stopped => "stopped",
        StackError::CanFdUnsupported => "can_fd_unsupported",
        StackError::ReceiveQueueFull { .. } => "receive_queue_full",
        StackError::FrameIgnored(w) => warning_kind(w).unwrap_or("warning"),
        _ => "stack",
    }
}

pub(crate) fn stack_error(e: StackError, text: &ErrorText) -> PyErr {
    match e {
        StackError::Send(s) => send_error(s),
        e => NativeError::new_err((stack_error_kind(&e), text.stack(&e))),
    }
}

pub(crate) fn open_error(e: OpenError) -> PyErr {
    NativeError::new_err(("bus_open", e.to_string()))
}
