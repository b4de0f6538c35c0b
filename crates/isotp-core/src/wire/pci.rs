//! Protocol control information (N_PCI): parsing and emitting the four ISO-TP frame types.

use core::fmt;

use super::st_min::StMin;

/// FF_DL above this value needs the 32-bit escape form of the first frame.
pub const FF_ESCAPE_THRESHOLD: u32 = 4095;

/// The four N_PCI types, from the high nibble of the first PCI byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PciType {
    /// `0x0_`: a whole message in one frame.
    SingleFrame,
    /// `0x1_`: the start of a segmented message.
    FirstFrame,
    /// `0x2_`: the continuation of a segmented message.
    ConsecutiveFrame,
    /// `0x3_`: the receiver's pacing instructions.
    FlowControl,
}

impl PciType {
    /// The type named by a PCI byte; `None` for the unused types 4 to 15.
    pub fn of(pci_byte: u8) -> Option<PciType> {
        match pci_byte >> 4 {
            0 => Some(PciType::SingleFrame),
            1 => Some(PciType::FirstFrame),
            2 => Some(PciType::ConsecutiveFrame),
            3 => Some(PciType::FlowControl),
            _ => None,
        }
    }
}

impl fmt::Display for PciType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PciType::SingleFrame => "single frame",
            PciType::FirstFrame => "first frame",
            PciType::ConsecutiveFrame => "consecutive frame",
            PciType::FlowControl => "flow control",
        })
    }
}

/// Flow status (FS) of a flow control frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowStatus {
    /// FS = 0, ContinueToSend: send the next block.
    ContinueToSend,
    /// FS = 1, Wait: keep waiting for another flow control frame.
    Wait,
    /// FS = 2, Overflow: the message is larger than the receiver can take.
    Overflow,
}

impl FlowStatus {
    /// The FS nibble.
    pub fn to_nibble(self) -> u8 {
        match self {
            FlowStatus::ContinueToSend => 0,
            FlowStatus::Wait => 1,
            FlowStatus::Overflow => 2,
        }
    }
}

/// One ISO-TP protocol data unit, borrowing its data from the frame it was parsed from.
///
/// ```
/// use isotp_core::wire::{Pdu, FlowStatus, StMin};
/// // A first frame announcing 20 bytes, normal addressing (no address byte).
/// let pdu = Pdu::parse(&[0x10, 0x14, 1, 2, 3, 4, 5, 6], 0)?;
/// assert_eq!(pdu, Pdu::FirstFrame { length: 20, data: &[1, 2, 3, 4, 5, 6] });
///
/// let mut out = [0u8; 8];
/// let fc = Pdu::FlowControl { status: FlowStatus::ContinueToSend, block_size: 8, st_min: StMin::from_byte(5) };
/// let used = fc.emit(&mut out, 0)?;
/// assert_eq!(&out[..used], &[0x30, 0x08, 0x05]);
/// # Ok::<(), isotp_core::wire::PduError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    /// A complete message of 1 to 62 bytes.
    SingleFrame {
        /// The message.
        data: &'a [u8],
    },
    /// The first part of a message of `length` bytes (FF_DL).
    FirstFrame {
        /// FF_DL: the length of the whole message.
        length: u32,
        /// The first bytes of the message.
        data: &'a [u8],
    },
    /// A following part of a message.
    ConsecutiveFrame {
        /// SN, 0 to 15.
        sequence_number: u8,
        /// Message bytes (the last consecutive frame may carry padding after the message's end).
        data: &'a [u8],
    },
    /// The receiver's answer to a first frame or to the end of a block.
    FlowControl {
        /// FS.
        status: FlowStatus,
        /// BS: consecutive frames before the next flow control frame; 0 means no more flow control.
        block_size: u8,
        /// STmin: the minimum gap between consecutive frames.
        st_min: StMin,
    },
}

/// Why bytes are not a valid PDU. A receiver ignores such frames (or, for a malformed flow control frame
/// that it was waiting for, aborts the transmission).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PduError {
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
    /// Emitting: the output buffer is too small for this PDU.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// Emitting: a single frame cannot carry this many bytes (1 to 62, depending on the frame size).
    SingleFrameDataLength {
        /// The data length asked for.
        len: usize,
    },
    /// Emitting: a sequence number above 15.
    SequenceNumberOutOfRange {
        /// The number asked for.
        sequence_number: u8,
    },
}

impl fmt::Display for PduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PduError::Empty => f.write_str("the frame has no protocol control information byte"),
            PduError::UnknownPciType { pci } => {
                write!(f, "unknown PCI type {} (byte 0x{pci:02X})", pci >> 4)
            }
            PduError::SingleFrameEmpty => f.write_str("single frame with data length 0"),
            PduError::SingleFrameTooLong {
                declared,
                available,
            } => write!(
                f,
                "single frame announces {declared} bytes but carries only {available}"
            ),
            PduError::SingleFrameNotEscaped => f.write_str(
                "CAN FD frame longer than 8 bytes with a 4-bit single frame length (escape form required)",
            ),
            PduError::FirstFrameTooShort { frame_len } => {
                write!(f, "first frame in a {frame_len}-byte CAN frame (at least 8 required)")
            }
            PduError::FirstFrameLengthTooSmall {
                length,
                single_frame_max,
            } => write!(
                f,
                "first frame announces {length} bytes, which fit in a single frame (up to {single_frame_max})"
            ),
            PduError::FirstFrameEscapeNotAllowed { length } => write!(
                f,
                "first frame uses the 32-bit length escape for {length} bytes (allowed only above 4095)"
            ),
            PduError::FlowControlTooShort { len } => {
                write!(f, "flow control frame of {len} bytes (3 required)")
            }
            PduError::InvalidFlowStatus { value } => {
                write!(f, "flow control with invalid flow status {value}")
            }
            PduError::BufferTooSmall { needed, available } => {
                write!(f, "PDU needs {needed} bytes, buffer has {available}")
            }
            PduError::SingleFrameDataLength { len } => {
                write!(f, "a single frame cannot carry {len} bytes")
            }
            PduError::SequenceNumberOutOfRange { sequence_number } => {
                write!(f, "sequence number {sequence_number} is above 15")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PduError {}

/// Largest single frame payload in a CAN frame of `frame_len` bytes with `address_len` address bytes.
///
/// ```
/// use isotp_core::wire::Pdu;
/// assert_eq!(Pdu::single_frame_capacity(8, 0), 7);
/// assert_eq!(Pdu::single_frame_capacity(8, 1), 6);
/// assert_eq!(Pdu::single_frame_capacity(64, 0), 62);
/// assert_eq!(Pdu::single_frame_capacity(12, 1), 9);
/// ```
impl Pdu<'_> {
    /// The most payload bytes a single frame can carry in a frame of `frame_len` bytes.
    pub fn single_frame_capacity(frame_len: usize, address_len: usize) -> usize {
        if frame_len <= 8 {
            frame_len.saturating_sub(1 + address_len)
        } else {
            frame_len.saturating_sub(2 + address_len)
        }
    }

    /// PCI bytes of a first frame announcing `length` bytes (2, or 6 with the escape).
    pub fn first_frame_header_len(length: u32) -> usize {
        if length > FF_ESCAPE_THRESHOLD {
            6
        } else {
            2
        }
    }
}

impl<'a> Pdu<'a> {
    /// Parses the data of a received CAN frame. `address_len` (0 or 1) bytes of extended or mixed
    /// addressing come first and are skipped; the caller has already checked them.
    ///
    /// Applies ISO 15765-2's validity rules; see [`PduError`] for what is rejected.
    pub fn parse(frame_data: &'a [u8], address_len: usize) -> Result<Pdu<'a>, PduError> {
        let frame_len = frame_data.len();
        let pci = frame_data.get(address_len..).unwrap_or(&[]);
        let first = *pci.first().ok_or(PduError::Empty)?;
        match PciType::of(first) {
            None => Err(PduError::UnknownPciType { pci: first }),
            Some(PciType::SingleFrame) => Self::parse_single(pci, frame_len),
            Some(PciType::FirstFrame) => Self::parse_first(pci, frame_len, address_len),
            Some(PciType::ConsecutiveFrame) => Ok(Pdu::ConsecutiveFrame {
                sequence_number: first & 0x0F,
                data: &pci[1..],
            }),
            Some(PciType::FlowControl) => {
                let status = match first & 0x0F {
                    0 => FlowStatus::ContinueToSend,
                    1 => FlowStatus::Wait,
                    2 => FlowStatus::Overflow,
                    value => return Err(PduError::InvalidFlowStatus { value }),
                };
                if pci.len() < 3 {
                    return Err(PduError::FlowControlTooShort { len: pci.len() });
                }
                Ok(Pdu::FlowControl {
                    status,
                    block_size: pci[1],
                    st_min: StMin::from_byte(pci[2]),
                })
            }
        }
    }

    fn parse_single(pci: &'a [u8], frame_len: usize) -> Result<Pdu<'a>, PduError> {
        let nibble = usize::from(pci[0] & 0x0F);
        let (declared, body) = if frame_len <= 8 {
            (nibble, &pci[1..])
        } else if nibble != 0 {
            return Err(PduError::SingleFrameNotEscaped);
        } else {
            let len = usize::from(*pci.get(1).ok_or(PduError::SingleFrameEmpty)?);
            (len, &pci[2..])
        };
        if declared == 0 {
            return Err(PduError::SingleFrameEmpty);
        }
        match body.get(..declared) {
            Some(data) => Ok(Pdu::SingleFrame { data }),
            None => Err(PduError::SingleFrameTooLong {
                declared,
                available: body.len(),
            }),
        }
    }

    fn parse_first(
        pci: &'a [u8],
        frame_len: usize,
        address_len: usize,
    ) -> Result<Pdu<'a>, PduError> {
        if frame_len < 8 {
            return Err(PduError::FirstFrameTooShort { frame_len });
        }
        let short = (u32::from(pci[0] & 0x0F) << 8) | u32::from(pci[1]);
        let (length, data) = if short != 0 {
            (short, &pci[2..])
        } else {
            // frame_len >= 8 guarantees six PCI bytes when address_len <= 2.
            let Some(bytes) = pci.get(2..6) else {
                return Err(PduError::FirstFrameTooShort { frame_len });
            };
            let length = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            if length <= FF_ESCAPE_THRESHOLD {
                return Err(PduError::FirstFrameEscapeNotAllowed { length });
            }
            (length, &pci[6..])
        };
        let single_frame_max = Pdu::single_frame_capacity(frame_len, address_len);
        if (length as usize) <= single_frame_max {
            return Err(PduError::FirstFrameLengthTooSmall {
                length,
                single_frame_max,
            });
        }
        Ok(Pdu::FirstFrame { length, data })
    }

    /// Writes the PDU after `address_len` bytes of `out` (which the caller fills with the address byte)
    /// and returns the number of bytes used, address byte included. No padding is added.
    ///
    /// A single frame uses the 4-bit length when the frame stays within 8 bytes, the escape form
    /// (`00 LL`) otherwise; a first frame uses the 32-bit escape only above 4095 bytes.
    pub fn emit(&self, out: &mut [u8], address_len: usize) -> Result<usize, PduError> {
        let (header, header_len, data): ([u8; 6], usize, &[u8]) = match *self {
            Pdu::SingleFrame { data } => {
                let len = data.len();
                if len == 0 || len > 62 {
                    return Err(PduError::SingleFrameDataLength { len });
                }
                if address_len + 1 + len <= 8 {
                    ([len as u8, 0, 0, 0, 0, 0], 1, data)
                } else {
                    ([0, len as u8, 0, 0, 0, 0], 2, data)
                }
            }
            Pdu::FirstFrame { length, data } => {
                if length > FF_ESCAPE_THRESHOLD {
                    let l = length.to_be_bytes();
                    ([0x10, 0, l[0], l[1], l[2], l[3]], 6, data)
                } else {
                    (
                        [0x10 | (length >> 8) as u8, length as u8, 0, 0, 0, 0],
                        2,
                        data,
                    )
                }
            }
            Pdu::ConsecutiveFrame {
                sequence_number,
                data,
            } => {
                if sequence_number > 15 {
                    return Err(PduError::SequenceNumberOutOfRange { sequence_number });
                }
                ([0x20 | sequence_number, 0, 0, 0, 0, 0], 1, data)
            }
            Pdu::FlowControl {
                status,
                block_size,
                st_min,
            } => (
                [
                    0x30 | status.to_nibble(),
                    block_size,
                    st_min.to_byte(),
                    0,
                    0,
                    0,
                ],
                3,
                &[][..],
            ),
        };
        let needed = address_len + header_len + data.len();
        let Some(dest) = out.get_mut(address_len..needed) else {
            return Err(PduError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        };
        dest[..header_len].copy_from_slice(&header[..header_len]);
        dest[header_len..].copy_from_slice(data);
        Ok(needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_frame_classic() {
        assert_eq!(
            Pdu::parse(&[0x03, 0x22, 0xF1, 0x90], 0),
            Ok(Pdu::SingleFrame {
                data: &[0x22, 0xF1, 0x90]
            })
        );
    }

    #[test]
    fn single_frame_ignores_trailing_padding() {
        assert_eq!(
            Pdu::parse(&[0x02, 0x10, 0x03, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC], 0),
            Ok(Pdu::SingleFrame {
                data: &[0x10, 0x03]
            })
        );
    }

    #[test]
    fn single_frame_with_address_byte() {
        assert_eq!(
            Pdu::parse(&[0xF1, 0x02, 0x3E, 0x00], 1),
            Ok(Pdu::SingleFrame {
                data: &[0x3E, 0x00]
            })
        );
    }

    #[test]
    fn single_frame_length_zero_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x00, 1, 2], 0),
            Err(PduError::SingleFrameEmpty)
        );
    }

    #[test]
    fn single_frame_escape_in_classic_frame_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x00, 0x05, 1, 2, 3, 4, 5, 0], 0),
            Err(PduError::SingleFrameEmpty)
        );
    }

    #[test]
    fn single_frame_longer_than_frame_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x05, 1, 2], 0),
            Err(PduError::SingleFrameTooLong {
                declared: 5,
                available: 2
            })
        );
    }

    #[test]
    fn fd_single_frame_needs_escape() {
        let mut frame = [0u8; 12];
        frame[0] = 0x05;
        assert_eq!(Pdu::parse(&frame, 0), Err(PduError::SingleFrameNotEscaped));
        frame[0] = 0x00;
        frame[1] = 10;
        assert!(matches!(
            Pdu::parse(&frame, 0),
            Ok(Pdu::SingleFrame { data }) if data.len() == 10
        ));
        frame[1] = 11;
        assert_eq!(
            Pdu::parse(&frame, 0),
            Err(PduError::SingleFrameTooLong {
                declared: 11,
                available: 10
            })
        );
    }

    #[test]
    fn first_frame_12_bit_length() {
        assert_eq!(
            Pdu::parse(&[0x1F, 0xFF, 1, 2, 3, 4, 5, 6], 0),
            Ok(Pdu::FirstFrame {
                length: 4095,
                data: &[1, 2, 3, 4, 5, 6]
            })
        );
    }

    #[test]
    fn first_frame_escape_length() {
        assert_eq!(
            Pdu::parse(&[0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0xAA, 0xBB], 0),
            Ok(Pdu::FirstFrame {
                length: 4096,
                data: &[0xAA, 0xBB]
            })
        );
    }

    #[test]
    fn first_frame_escape_for_small_length_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x10, 0x00, 0x00, 0x00, 0x0F, 0xFF, 0, 0], 0),
            Err(PduError::FirstFrameEscapeNotAllowed { length: 4095 })
        );
    }

    #[test]
    fn first_frame_that_fits_a_single_frame_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x10, 0x07, 1, 2, 3, 4, 5, 6], 0),
            Err(PduError::FirstFrameLengthTooSmall {
                length: 7,
                single_frame_max: 7
            })
        );
        // With an address byte 7 bytes no longer fit a single frame.
        assert!(Pdu::parse(&[0xAA, 0x10, 0x07, 1, 2, 3, 4, 5], 1).is_ok());
    }

    #[test]
    fn first_frame_in_short_frame_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x10, 0x20, 1, 2, 3], 0),
            Err(PduError::FirstFrameTooShort { frame_len: 5 })
        );
    }

    #[test]
    fn consecutive_frame() {
        assert_eq!(
            Pdu::parse(&[0x2F, 9, 8], 0),
            Ok(Pdu::ConsecutiveFrame {
                sequence_number: 15,
                data: &[9, 8]
            })
        );
    }

    #[test]
    fn flow_control_statuses() {
        for (byte, status) in [
            (0x30, FlowStatus::ContinueToSend),
            (0x31, FlowStatus::Wait),
            (0x32, FlowStatus::Overflow),
        ] {
            assert_eq!(
                Pdu::parse(&[byte, 4, 0xF5], 0),
                Ok(Pdu::FlowControl {
                    status,
                    block_size: 4,
                    st_min: StMin::from_byte(0xF5)
                })
            );
        }
        assert_eq!(
            Pdu::parse(&[0x33, 0, 0], 0),
            Err(PduError::InvalidFlowStatus { value: 3 })
        );
        assert_eq!(
            Pdu::parse(&[0x30, 0], 0),
            Err(PduError::FlowControlTooShort { len: 2 })
        );
    }

    #[test]
    fn unknown_types_and_empty_frames() {
        assert_eq!(
            Pdu::parse(&[0x40], 0),
            Err(PduError::UnknownPciType { pci: 0x40 })
        );
        assert_eq!(Pdu::parse(&[], 0), Err(PduError::Empty));
        assert_eq!(Pdu::parse(&[0xAA], 1), Err(PduError::Empty));
    }

    #[test]
    fn emit_single_frame_switches_to_escape_above_eight_bytes() {
        let mut out = [0u8; 64];
        let n = Pdu::SingleFrame { data: &[7; 7] }
            .emit(&mut out, 0)
            .unwrap();
        assert_eq!(&out[..n], &[0x07, 7, 7, 7, 7, 7, 7, 7]);
        let n = Pdu::SingleFrame { data: &[8; 8] }
            .emit(&mut out, 0)
            .unwrap();
        assert_eq!(&out[..n], &[0x00, 0x08, 8, 8, 8, 8, 8, 8, 8, 8]);
        let n = Pdu::SingleFrame { data: &[7; 7] }
            .emit(&mut out, 1)
            .unwrap();
        assert_eq!(n, 10);
        assert_eq!(&out[1..3], &[0x00, 0x07]);
    }

    #[test]
    fn emit_first_frame_forms() {
        let mut out = [0u8; 8];
        let n = Pdu::FirstFrame {
            length: 0x123,
            data: &[1, 2, 3, 4, 5, 6],
        }
        .emit(&mut out, 0)
        .unwrap();
        assert_eq!(&out[..n], &[0x11, 0x23, 1, 2, 3, 4, 5, 6]);
        let n = Pdu::FirstFrame {
            length: 0x0001_0000,
            data: &[1, 2],
        }
        .emit(&mut out, 0)
        .unwrap();
        assert_eq!(&out[..n], &[0x10, 0, 0, 1, 0, 0, 1, 2]);
    }

    #[test]
    fn emit_checks_its_buffer() {
        let mut out = [0u8; 4];
        assert_eq!(
            Pdu::ConsecutiveFrame {
                sequence_number: 1,
                data: &[0; 7]
            }
            .emit(&mut out, 0),
            Err(PduError::BufferTooSmall {
                needed: 8,
                available: 4
            })
        );
        assert_eq!(
            Pdu::ConsecutiveFrame {
                sequence_number: 16,
                data: &[]
            }
            .emit(&mut out, 0),
            Err(PduError::SequenceNumberOutOfRange {
                sequence_number: 16
            })
        );
    }
}
