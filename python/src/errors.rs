//! Stable kinds for the engine's errors; the Python half maps each kind onto a can-isotp exception.

use isotp::bus::OpenError;
use isotp::core::wire::{ParseError, PciType};
use isotp::core::{ProtocolError, SendError, Warning};
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
        _ => "stack",
    }
}

pub(crate) fn stack_error(e: StackError) -> PyErr {
    match e {
        StackError::Send(s) => send_error(s),
        e => NativeError::new_err((stack_error_kind(&e), e.to_string())),
    }
}

pub(crate) fn open_error(e: OpenError) -> PyErr {
    NativeError::new_err(("bus_open", e.to_string()))
}
