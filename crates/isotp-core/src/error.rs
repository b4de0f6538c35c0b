//! Errors, one enum per concern: frames, addresses, configuration, API misuse and the protocol itself.

use core::fmt;
use core::time::Duration;

use crate::addressing::AddressingMode;
use crate::wire::PciType;

/// A CAN frame cannot be built as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameError {
    /// The id does not fit 11 (or 29) bits.
    IdOutOfRange {
        /// The id asked for.
        id: u32,
        /// True for a 29-bit id.
        extended: bool,
    },
    /// More data than the frame kind carries (8 classic, 64 FD).
    TooLong {
        /// The length asked for.
        len: usize,
        /// True for CAN FD.
        fd: bool,
    },
    /// A CAN FD frame length between the valid steps (for example 9 or 13).
    InvalidFdLength {
        /// The length asked for.
        len: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::IdOutOfRange {
                id,
                extended: false,
            } => write!(
                f,
                "CAN id 0x{id:X} does not fit 11 bits (largest 0x7FF); use a 29-bit id"
            ),
            FrameError::IdOutOfRange { id, extended: true } => {
                write!(
                    f,
                    "CAN id 0x{id:X} does not fit 29 bits (largest 0x1FFFFFFF)"
                )
            }
            FrameError::TooLong { len, fd: false } => write!(
                f,
                "a classic CAN frame carries at most 8 bytes, not {len}; use CAN FD for more"
            ),
            FrameError::TooLong { len, fd: true } => {
                write!(f, "a CAN FD frame carries at most 64 bytes, not {len}")
            }
            FrameError::InvalidFdLength { len } => write!(
                f,
                "{len} bytes is not a CAN FD frame length: use 0-8, 12, 16, 20, 24, 32, 48 or 64"
            ),
        }
    }
}

/// Why bytes are not a valid PDU ([`crate::wire::Pdu::parse`]). A receiver ignores such frames (or, for
/// a malformed flow control frame that it was waiting for, aborts the transmission).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// Not the data of a CAN frame: more than 8 bytes and not a CAN FD length (12, 16, 20, 24, 32, 48, 64).
    InvalidFrameLength {
        /// The length given.
        len: usize,
    },
    /// The frame has no PCI byte after the address byte.
    Empty,
    /// PCI types 4 to 15 are not defined.
    UnknownPciType {
        /// The first PCI byte.
        pci: u8,
    },
    /// A single frame announcing 0 bytes (an escape single frame in a frame of 8 bytes or less is one).
    SingleFrameEmpty,
    /// A single frame announcing more bytes than the frame holds.
    SingleFrameTooLong {
        /// SF_DL.
        declared: usize,
        /// Bytes after the PCI.
        available: usize,
    },
    /// A CAN FD frame longer than 8 bytes must use the escape single frame (`00 LL`).
    SingleFrameNotEscaped,
    /// A first frame in a CAN frame shorter than 8 bytes.
    FirstFrameTooShort {
        /// CAN_DL of the frame.
        frame_len: usize,
    },
    /// FF_DL small enough for a single frame: ISO says ignore such a first frame.
    FirstFrameLengthTooSmall {
        /// FF_DL.
        length: u32,
        /// The largest single frame payload in a frame of this length.
        single_frame_max: usize,
    },
    /// The 32-bit FF_DL escape used for a length that fits in 12 bits.
    FirstFrameEscapeNotAllowed {
        /// FF_DL.
        length: u32,
    },
    /// A flow control frame needs three PCI bytes.
    FlowControlTooShort {
        /// Bytes present after the address byte.
        len: usize,
    },
    /// A flow status other than 0 (CTS), 1 (WAIT) or 2 (OVFLW).
    InvalidFlowStatus {
        /// The FS nibble.
        value: u8,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseError::InvalidFrameLength { len } => write!(
                f,
                "{len} bytes is not a CAN frame length: 0-8, 12, 16, 20, 24, 32, 48 or 64"
            ),
            ParseError::Empty => f.write_str("the frame has no protocol control information byte"),
            ParseError::UnknownPciType { pci } => {
                write!(f, "unknown PCI type {} (byte 0x{pci:02X})", pci >> 4)
            }
            ParseError::SingleFrameEmpty => f.write_str("single frame with data length 0"),
            ParseError::SingleFrameTooLong {
                declared,
                available,
            } => write!(
                f,
                "single frame announces {declared} bytes but carries only {available}"
            ),
            ParseError::SingleFrameNotEscaped => f.write_str(
                "CAN FD frame longer than 8 bytes with a 4-bit single frame length (escape form required)",
            ),
            ParseError::FirstFrameTooShort { frame_len } => {
                write!(f, "first frame in a {frame_len}-byte CAN frame (at least 8 required)")
            }
            ParseError::FirstFrameLengthTooSmall {
                length,
                single_frame_max,
            } => write!(
                f,
                "first frame announces {length} bytes, which fit in a single frame (up to {single_frame_max})"
            ),
            ParseError::FirstFrameEscapeNotAllowed { length } => write!(
                f,
                "first frame uses the 32-bit length escape for {length} bytes (allowed only above 4095)"
            ),
            ParseError::FlowControlTooShort { len } => {
                write!(f, "flow control frame of {len} bytes (3 required)")
            }
            ParseError::InvalidFlowStatus { value } => {
                write!(f, "flow control with invalid flow status {value}")
            }
        }
    }
}

/// A PDU that [`crate::wire::Pdu::emit`] refuses: it would not parse back, or does not fit the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmitError {
    /// The output buffer is too small for this PDU.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// Address, PCI and data exceed the 64 bytes of the largest CAN FD frame.
    TooLong {
        /// Bytes the PDU would use.
        len: usize,
    },
    /// A single frame carries 1 to 62 bytes.
    SingleFrameDataLength {
        /// The data length asked for.
        len: usize,
    },
    /// An unescaped single frame must fit 8 bytes; use the escaped form (CAN FD).
    SingleFrameNeedsEscape {
        /// The data length asked for.
        len: usize,
    },
    /// A first frame fills a whole frame: 8 bytes, or a CAN FD length above 8.
    FirstFrameNotFull {
        /// Bytes the PDU would use.
        frame_len: usize,
    },
    /// A first frame carrying the whole message (FF_DL not above its data).
    FirstFrameCarriesAll {
        /// FF_DL.
        length: u32,
        /// Bytes of data given.
        carried: usize,
    },
    /// FF_DL that fits a single frame of the same frame length; receivers ignore such a first frame.
    FirstFrameLengthTooSmall {
        /// FF_DL.
        length: u32,
        /// The largest single frame payload in that frame.
        single_frame_max: usize,
    },
    /// A sequence number above 15.
    SequenceNumberOutOfRange {
        /// The number asked for.
        sequence_number: u8,
    },
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EmitError::BufferTooSmall { needed, available } => {
                write!(f, "PDU needs {needed} bytes, buffer has {available}")
            }
            EmitError::TooLong { len } => {
                write!(f, "PDU of {len} bytes does not fit a CAN FD frame (64 bytes)")
            }
            EmitError::SingleFrameDataLength { len } => {
                write!(f, "a single frame cannot carry {len} bytes (1 to 62)")
            }
            EmitError::SingleFrameNeedsEscape { len } => write!(
                f,
                "a single frame of {len} bytes does not fit 8 bytes: use the escaped (CAN FD) form"
            ),
            EmitError::FirstFrameNotFull { frame_len } => write!(
                f,
                "a first frame must fill its frame: {frame_len} bytes is not 8 or a CAN FD length"
            ),
            EmitError::FirstFrameCarriesAll { length, carried } => write!(
                f,
                "a first frame announcing {length} bytes cannot carry {carried}: send fewer, or a single frame"
            ),
            EmitError::FirstFrameLengthTooSmall {
                length,
                single_frame_max,
            } => write!(
                f,
                "a message of {length} bytes fits a single frame (up to {single_frame_max}); receivers ignore such a first frame"
            ),
            EmitError::SequenceNumberOutOfRange { sequence_number } => {
                write!(f, "sequence number {sequence_number} is above 15")
            }
        }
    }
}

/// Text that is not a CAN id or frame in candump syntax (see [`crate::candump`] for the rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseFrameError {
    /// The id is not 1 to 8 hex digits.
    InvalidId,
    /// Up to 3 digits name an 11-bit id, which ends at 7FF.
    StandardIdOutOfRange {
        /// The value read.
        id: u32,
    },
    /// A 29-bit id ends at 1FFFFFFF.
    ExtendedIdOutOfRange {
        /// The value read.
        id: u32,
    },
    /// No `#` between id and data.
    MissingSeparator,
    /// The data is not hex bytes (optionally separated by `.`).
    InvalidData,
    /// The data ends in half a byte.
    OddDataDigits,
    /// More than 64 data bytes.
    TooLong,
    /// A CAN FD frame (`ID##`) without its flags digit.
    MissingFdFlags,
    /// A remote frame (`ID#R`): it carries no data, ISO-TP has no use for it.
    RemoteFrame,
    /// An error frame (candump's error flag in an 8-digit id).
    ErrorFrame,
    /// A CAN XL frame (`ID###`), not supported.
    CanXl,
    /// The bytes do not make a frame of that kind (too long for classic CAN, not a CAN FD length).
    Frame(FrameError),
}

impl fmt::Display for ParseFrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseFrameError::InvalidId => f.write_str(
                "not a CAN id: 3 hex digits for 11 bits (7E0), 8 for 29 bits (18DAF110)",
            ),
            ParseFrameError::StandardIdOutOfRange { id } => write!(
                f,
                "CAN id {id:03X} does not fit 11 bits (largest 7FF); write 8 digits ({id:08X}) for a 29-bit id"
            ),
            ParseFrameError::ExtendedIdOutOfRange { id } => {
                write!(f, "CAN id {id:X} does not fit 29 bits (largest 1FFFFFFF)")
            }
            ParseFrameError::MissingSeparator => {
                f.write_str("not a frame: expected ID#DATA, or ID##FLAGS DATA for CAN FD")
            }
            ParseFrameError::InvalidData => f.write_str("frame data is not hex bytes"),
            ParseFrameError::OddDataDigits => {
                f.write_str("frame data has an odd number of hex digits")
            }
            ParseFrameError::TooLong => f.write_str("frame data is longer than 64 bytes"),
            ParseFrameError::MissingFdFlags => {
                f.write_str("CAN FD frame without its flags digit (ID##1DATA sets the bit rate switch)")
            }
            ParseFrameError::RemoteFrame => f.write_str("a remote frame carries no data"),
            ParseFrameError::ErrorFrame => f.write_str("an error frame, not a data frame"),
            ParseFrameError::CanXl => f.write_str("CAN XL frames (ID###...) are not supported"),
            ParseFrameError::Frame(e) => fmt::Display::fmt(&e, f),
        }
    }
}

/// An address is incomplete or cannot work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressError {
    /// The mode needs this field.
    MissingField {
        /// Field name, as in the builder.
        field: &'static str,
        /// The mode.
        mode: AddressingMode,
    },
    /// The mode does not use this field; giving it is probably a mistake.
    FieldNotUsed {
        /// Field name, as in the builder.
        field: &'static str,
        /// The mode.
        mode: AddressingMode,
    },
    /// An id does not fit the mode's id width.
    IdOutOfRange {
        /// Field name.
        field: &'static str,
        /// The value given.
        value: u32,
        /// The mode.
        mode: AddressingMode,
    },
    /// Transmit and receive addresses are identical, so the link would receive its own frames.
    SameTxRx {
        /// The mode.
        mode: AddressingMode,
    },
    /// An asymmetric address needs a transmit side from one address and a receive side from the other.
    MissingDirection {
        /// "transmit" or "receive".
        needed: &'static str,
    },
    /// An address byte on one side only (normal addressing one way, extended the other) cannot be
    /// written as one set of address bytes.
    OneSidedAddressByte,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AddressError::MissingField { field, mode } => {
                write!(f, "{mode} addressing needs {field}")
            }
            AddressError::FieldNotUsed { field, mode } => {
                write!(f, "{mode} addressing does not use {field}; remove it")
            }
            AddressError::IdOutOfRange { field, value, mode } => {
                if mode.is_29bit() {
                    write!(f, "{field} 0x{value:X} is out of range for {mode}: the largest 29-bit id is 0x1FFFFFFF")
                } else {
                    write!(f, "{field} 0x{value:X} is out of range for {mode}: the largest 11-bit id is 0x7FF")
                }
            }
            AddressError::SameTxRx { mode } => write!(
                f,
                "{mode}: transmit and receive addresses are the same; give the peer a different id or address byte"
            ),
            AddressError::MissingDirection { needed } => {
                write!(f, "the address has no {needed} side")
            }
            AddressError::OneSidedAddressByte => f.write_str(
                "the address has an address byte on one side only; give one to both sides",
            ),
        }
    }
}

/// A configuration value is out of range or conflicts with another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// The field's value is not allowed.
    OutOfRange {
        /// Field of [`crate::Config`].
        field: &'static str,
        /// The value given (durations in microseconds).
        value: u64,
        /// The allowed values, in words.
        allowed: &'static str,
    },
    /// Two settings contradict each other.
    Conflict {
        /// What is wrong and what to change.
        reason: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::OutOfRange {
                field,
                value,
                allowed,
            } => write!(f, "{field} = {value} is not allowed: {allowed}"),
            ConfigError::Conflict { reason } => f.write_str(reason),
        }
    }
}

/// A call on an [`crate::Endpoint`] that cannot be carried out. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendError {
    /// ISO-TP cannot carry an empty message.
    EmptyPayload,
    /// Longer than the 32-bit FF_DL allows (4294967295 bytes).
    TooLong {
        /// The length given.
        len: usize,
    },
    /// Functional messages must fit a single frame.
    FunctionalTooLong {
        /// The length given.
        len: usize,
        /// The largest single frame payload with this configuration.
        max: usize,
    },
    /// The endpoint is in listen mode and never transmits.
    ListenMode,
    /// The address is receive-only.
    NoTransmitAddress,
    /// The transmit queue holds `limit` messages already.
    QueueFull {
        /// The queue's capacity ([`crate::Config::tx_queue_limit`]).
        limit: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SendError::EmptyPayload => f.write_str("cannot send an empty message: ISO-TP needs at least 1 byte"),
            SendError::TooLong { len } => write!(
                f,
                "a message of {len} bytes is longer than ISO-TP's limit of 4294967295 bytes"
            ),
            SendError::FunctionalTooLong { len, max } => write!(
                f,
                "a functional message of {len} bytes does not fit a single frame (at most {max}); send it physically"
            ),
            SendError::ListenMode => f.write_str("the endpoint is in listen mode and never transmits"),
            SendError::NoTransmitAddress => f.write_str("the address is receive-only: give it a transmit id"),
            SendError::QueueFull { limit } => {
                write!(f, "the transmit queue already holds {limit} messages; wait for some to go out")
            }
        }
    }
}

/// [`crate::Endpoint::handle_tx_confirmation`] or [`crate::Endpoint::handle_tx_failure`] was called with
/// no frame awaiting confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NothingToConfirm;

impl fmt::Display for NothingToConfirm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no transmitted frame is awaiting confirmation")
    }
}

/// Which A timer expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ATimer {
    /// N_As: a frame of the sender was not confirmed on the bus in time.
    As,
    /// N_Ar: a flow control frame of the receiver was not confirmed on the bus in time.
    Ar,
}

/// A transfer failed: the ISO 15765-2 N_Result values, plus the checks of the Linux kernel.
///
/// Delivered as [`crate::Event::SendFailed`] or [`crate::Event::ReceiveFailed`]; the failed transfer is
/// over and the endpoint is ready for the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// N_TIMEOUT_A: a frame was not confirmed as sent within N_As / N_Ar.
    TimeoutA {
        /// N_As or N_Ar.
        timer: ATimer,
        /// The configured limit.
        limit: Duration,
    },
    /// N_TIMEOUT_Bs: no flow control frame within N_Bs.
    TimeoutBs {
        /// The configured limit.
        limit: Duration,
    },
    /// N_TIMEOUT_Cr: no consecutive frame within N_Cr.
    TimeoutCr {
        /// The configured limit.
        limit: Duration,
    },
    /// N_WRONG_SN: a consecutive frame out of sequence.
    WrongSn {
        /// The sequence number due.
        expected: u8,
        /// The one received.
        received: u8,
    },
    /// N_INVALID_FS: a flow control frame with a flow status other than 0, 1 or 2.
    InvalidFs {
        /// The FS nibble.
        value: u8,
    },
    /// N_ERROR: the awaited flow control frame has fewer than its three PCI bytes.
    FlowControlTooShort {
        /// Bytes present after the address byte.
        len: usize,
    },
    /// N_UNEXP_PDU: a single or first frame arrived during a reception, which is dropped.
    UnexpectedPdu {
        /// The frame type that interrupted.
        interrupted_by: PciType,
        /// Bytes received of the dropped message.
        received: u32,
        /// Its announced length.
        expected: u32,
    },
    /// N_WFT_OVRN: more consecutive FC.WAIT than `wft_max` allows.
    WftOverrun {
        /// The configured limit.
        wft_max: u8,
    },
    /// N_BUFFER_OVFLW at the sender: the receiver answered FC.OVFLW.
    BufferOverflow {
        /// Length of the refused message.
        length: u32,
    },
    /// N_BUFFER_OVFLW at the receiver: a first frame announced more than `max_frame_size`; FC.OVFLW
    /// was sent.
    MessageTooLarge {
        /// FF_DL.
        length: u32,
        /// The configured limit.
        max_frame_size: u32,
    },
    /// A consecutive frame (not the last) with a CAN_DL other than the first frame's.
    FrameLengthMismatch {
        /// The first frame's CAN_DL.
        expected: usize,
        /// The received CAN_DL.
        received: usize,
    },
    /// A frame failed the receive padding check (the kernel's CHK_PAD_LEN / CHK_PAD_DATA).
    InvalidPadding {
        /// The frame type.
        pci: PciType,
    },
    /// The data link layer refused a frame (the driver's negative transmit confirmation,
    /// [`crate::Endpoint::handle_tx_failure`]); the transfer it belonged to is over.
    BusFailure {
        /// The frame type that could not be sent.
        pci: PciType,
    },
    /// The application could not take a new message: this receiver sent `wft_max` FC.WAIT frames, then
    /// FC.OVFLW (see [`crate::Endpoint::set_receive_ready`]).
    ReceiverNotReady {
        /// The configured limit of FC.WAIT frames.
        wft_max: u8,
    },
}

fn ms(d: Duration) -> MsDisplay {
    MsDisplay(d)
}

struct MsDisplay(Duration);

impl fmt::Display for MsDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        if us % 1000 == 0 {
            write!(f, "{} ms", us / 1000)
        } else {
            write!(f, "{}.{:03} ms", us / 1000, us % 1000)
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProtocolError::TimeoutA { timer: ATimer::As, limit } => {
                write!(f, "frame not confirmed on the bus within N_As = {}", ms(limit))
            }
            ProtocolError::TimeoutA { timer: ATimer::Ar, limit } => write!(
                f,
                "flow control frame not confirmed on the bus within N_Ar = {}",
                ms(limit)
            ),
            ProtocolError::TimeoutBs { limit } => {
                write!(f, "no flow control received within N_Bs = {}", ms(limit))
            }
            ProtocolError::TimeoutCr { limit } => {
                write!(f, "no consecutive frame received within N_Cr = {}", ms(limit))
            }
            ProtocolError::WrongSn { expected, received } => write!(
                f,
                "consecutive frame with sequence number {received}, expected {expected}; reception aborted"
            ),
            ProtocolError::InvalidFs { value } => {
                write!(f, "flow control with invalid flow status {value}; transmission aborted")
            }
            ProtocolError::FlowControlTooShort { len } => write!(
                f,
                "flow control frame of {len} bytes (3 required); transmission aborted"
            ),
            ProtocolError::UnexpectedPdu {
                interrupted_by,
                received,
                expected,
            } => write!(
                f,
                "a new {interrupted_by} interrupted the reception after {received} of {expected} bytes"
            ),
            ProtocolError::WftOverrun { wft_max } => write!(
                f,
                "the receiver sent more than wft_max = {wft_max} flow control WAIT frames in a row"
            ),
            ProtocolError::BufferOverflow { length } => write!(
                f,
                "the receiver answered overflow (FC.OVFLW): a message of {length} bytes is larger than its buffer"
            ),
            ProtocolError::MessageTooLarge {
                length,
                max_frame_size,
            } => write!(
                f,
                "refused a message of {length} bytes (max_frame_size = {max_frame_size}); sent FC.OVFLW"
            ),
            ProtocolError::FrameLengthMismatch { expected, received } => write!(
                f,
                "consecutive frame of {received} bytes where the first frame set {expected}; reception aborted"
            ),
            ProtocolError::InvalidPadding { pci } => {
                write!(f, "{pci} failed the receive padding check")
            }
            ProtocolError::BusFailure { pci } => {
                write!(f, "the bus refused to send a {pci}; transfer aborted")
            }
            ProtocolError::ReceiverNotReady { wft_max } => write!(
                f,
                "the receive queue stayed full through wft_max = {wft_max} FC.WAIT frames; sent FC.OVFLW"
            ),
        }
    }
}

/// A received frame was ignored; no state changed. Useful for diagnosing a misconfigured peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Warning {
    /// The frame's PCI is not valid.
    Malformed(ParseError),
    /// A consecutive frame arrived while no reception was in progress.
    UnexpectedConsecutiveFrame,
    /// A flow control frame arrived while no transmission waited for one.
    UnexpectedFlowControl,
    /// A first or consecutive frame on a functional address (functional messages are single frames).
    FunctionalMultiFrame,
    /// A frame for a direction this address does not have (for example a single frame to a tx-only
    /// address).
    NotForThisAddress,
    /// A single frame (or, in listen mode, a first frame) arrived while the application's receive queue
    /// is full ([`crate::Endpoint::set_receive_ready`]); its message is lost.
    ReceiverNotReady {
        /// The frame type dropped.
        pci: PciType,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Warning::Malformed(e) => write!(f, "ignored a malformed frame: {e}"),
            Warning::UnexpectedConsecutiveFrame => {
                f.write_str("ignored a consecutive frame: no reception in progress")
            }
            Warning::UnexpectedFlowControl => {
                f.write_str("ignored a flow control frame: no transmission is waiting for one")
            }
            Warning::FunctionalMultiFrame => {
                f.write_str("ignored a first or consecutive frame sent to a functional address")
            }
            Warning::NotForThisAddress => {
                f.write_str("ignored a frame this address does not handle")
            }
            Warning::ReceiverNotReady { pci } => {
                write!(f, "dropped a {pci}: the receive queue is full")
            }
        }
    }
}

#[cfg(feature = "std")]
mod std_impls {
    impl std::error::Error for super::ParseError {}
    impl std::error::Error for super::EmitError {}
    impl std::error::Error for super::FrameError {}
    impl std::error::Error for super::ParseFrameError {}
    impl std::error::Error for super::AddressError {}
    impl std::error::Error for super::ConfigError {}
    impl std::error::Error for super::SendError {}
    impl std::error::Error for super::ProtocolError {}
    impl std::error::Error for super::NothingToConfirm {}
}
