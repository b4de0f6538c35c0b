//! Protocol control information (N_PCI): parsing and emitting the four ISO-TP frame types.

use core::fmt;

use super::address_length::AddressLength;
use super::dlc;
use super::st_min::StMin;
use crate::error::{EmitError, ParseError};

/// FF_DL above this value needs the 32-bit escape form of the first frame.
pub const FF_ESCAPE_THRESHOLD: u32 = 4095;

/// PCI bytes of a consecutive frame: the type and the sequence number.
const CONSECUTIVE_FRAME_HEADER_LEN: usize = 1;

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
    #[must_use]
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
    /// The status of an FS nibble; `None` for the reserved values 3 to 15.
    #[must_use]
    pub fn from_nibble(value: u8) -> Option<FlowStatus> {
        match value {
            0 => Some(FlowStatus::ContinueToSend),
            1 => Some(FlowStatus::Wait),
            2 => Some(FlowStatus::Overflow),
            _ => None,
        }
    }

    /// The FS nibble.
    #[must_use]
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
/// [`parse`](Pdu::parse) and [`emit`](Pdu::emit) are total: any bytes give a PDU or a [`ParseError`],
/// any PDU and buffer give the bytes used or an [`EmitError`]; neither panics. A parsed PDU emits the
/// same PCI bytes again (the form, escaped or not, is part of the value).
///
/// ```
/// use isotp_core::wire::{AddressLength, FlowStatus, Pdu, StMin};
/// // A first frame announcing 20 bytes, normal addressing (no address byte).
/// let pdu = Pdu::parse(&[0x10, 0x14, 1, 2, 3, 4, 5, 6], AddressLength::Zero)?;
/// assert_eq!(pdu, Pdu::FirstFrame { length: 20, data: &[1, 2, 3, 4, 5, 6] });
/// assert_eq!(pdu.header_len(), 2);
///
/// let mut out = [0u8; 8];
/// let fc = Pdu::FlowControl { status: FlowStatus::ContinueToSend, block_size: 8, st_min: StMin::from_byte(5) };
/// let used = fc.emit(&mut out, AddressLength::Zero)?;
/// assert_eq!(&out[..used], &[0x30, 0x08, 0x05]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    /// A complete message of 1 to 62 bytes.
    SingleFrame {
        /// The message.
        data: &'a [u8],
        /// The CAN FD form `00 LL` (SF_DL in the second byte), required in frames longer than 8 bytes;
        /// otherwise SF_DL is the low nibble of the first byte and the frame is at most 8 bytes.
        escaped: bool,
    },
    /// The first part of a message of `length` bytes (FF_DL). Above 4095 bytes the 32-bit escape form
    /// is used, below never.
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

impl Pdu<'_> {
    /// The most payload bytes a single frame can carry in a frame of `frame_len` bytes.
    ///
    /// ```
    /// use isotp_core::wire::{AddressLength::{One, Zero}, Pdu};
    /// assert_eq!(Pdu::single_frame_capacity(8, Zero), 7);
    /// assert_eq!(Pdu::single_frame_capacity(8, One), 6);
    /// assert_eq!(Pdu::single_frame_capacity(64, Zero), 62);
    /// assert_eq!(Pdu::single_frame_capacity(12, One), 9);
    /// ```
    #[must_use]
    pub fn single_frame_capacity(frame_len: usize, address_len: AddressLength) -> usize {
        let header = if frame_len <= dlc::CLASSIC_MAX_LEN {
            1
        } else {
            2
        };
        frame_len.saturating_sub(header + address_len.bytes())
    }

    /// PCI bytes of a first frame announcing `length` bytes (2, or 6 with the escape).
    #[must_use]
    pub fn first_frame_header_len(length: u32) -> usize {
        if length > FF_ESCAPE_THRESHOLD {
            6
        } else {
            2
        }
    }

    /// The payload bytes of a first frame of `frame_len` bytes announcing a message of `length`
    /// bytes: what address and PCI leave.
    ///
    /// ```
    /// use isotp_core::wire::{AddressLength::{One, Zero}, Pdu};
    /// assert_eq!(Pdu::first_frame_capacity(8, 100, Zero), 6);
    /// assert_eq!(Pdu::first_frame_capacity(8, 100, One), 5);
    /// assert_eq!(Pdu::first_frame_capacity(64, 5000, Zero), 58);
    /// ```
    #[must_use]
    pub fn first_frame_capacity(
        frame_len: usize,
        length: u32,
        address_len: AddressLength,
    ) -> usize {
        frame_len.saturating_sub(address_len.bytes() + Pdu::first_frame_header_len(length))
    }

    /// The payload bytes of a consecutive frame of `frame_len` bytes: what address and PCI leave.
    ///
    /// ```
    /// use isotp_core::wire::{AddressLength::{One, Zero}, Pdu};
    /// assert_eq!(Pdu::consecutive_frame_capacity(8, Zero), 7);
    /// assert_eq!(Pdu::consecutive_frame_capacity(64, One), 62);
    /// ```
    #[must_use]
    pub fn consecutive_frame_capacity(frame_len: usize, address_len: AddressLength) -> usize {
        frame_len.saturating_sub(address_len.bytes() + CONSECUTIVE_FRAME_HEADER_LEN)
    }

    /// The frame type.
    #[must_use]
    pub fn pci_type(&self) -> PciType {
        match self {
            Pdu::SingleFrame { .. } => PciType::SingleFrame,
            Pdu::FirstFrame { .. } => PciType::FirstFrame,
            Pdu::ConsecutiveFrame { .. } => PciType::ConsecutiveFrame,
            Pdu::FlowControl { .. } => PciType::FlowControl,
        }
    }

    /// Bytes of PCI: 1 (SF, CF), 2 (escaped SF, FF), 6 (escaped FF) or 3 (FC).
    #[must_use]
    pub fn header_len(&self) -> usize {
        match *self {
            Pdu::SingleFrame { escaped: false, .. } => 1,
            Pdu::ConsecutiveFrame { .. } => CONSECUTIVE_FRAME_HEADER_LEN,
            Pdu::SingleFrame { escaped: true, .. } => 2,
            Pdu::FirstFrame { length, .. } => Pdu::first_frame_header_len(length),
            Pdu::FlowControl { .. } => 3,
        }
    }

    /// The message bytes the PDU carries (empty for flow control).
    #[must_use]
    pub fn data(&self) -> &[u8] {
        match *self {
            Pdu::SingleFrame { data, .. }
            | Pdu::FirstFrame { data, .. }
            | Pdu::ConsecutiveFrame { data, .. } => data,
            Pdu::FlowControl { .. } => &[],
        }
    }

    /// Bytes [`emit`](Pdu::emit) writes: address, PCI and data, without padding.
    #[must_use]
    pub fn buffer_len(&self, address_len: AddressLength) -> usize {
        address_len.bytes() + self.header_len() + self.data().len()
    }
}

impl<'a> Pdu<'a> {
    /// Parses the data of a received CAN frame (0 to 8 bytes, or a CAN FD length up to 64). The
    /// `address_len` bytes of extended or mixed
    /// addressing come first and are skipped; the caller has already checked them.
    ///
    /// Applies ISO 15765-2's validity rules; see [`ParseError`] for what is rejected. To show any frame,
    /// valid or not, use [`explain`](super::explain) instead.
    ///
    /// # Errors
    ///
    /// The [`ParseError`] naming the rule the bytes break.
    pub fn parse(frame_data: &'a [u8], address_len: AddressLength) -> Result<Pdu<'a>, ParseError> {
        let frame_len = frame_data.len();
        if frame_len > dlc::CLASSIC_MAX_LEN && !dlc::is_valid_fd_len(frame_len) {
            return Err(ParseError::InvalidFrameLength { len: frame_len });
        }
        let pci = frame_data.get(address_len.bytes()..).unwrap_or(&[]);
        let first = *pci.first().ok_or(ParseError::Empty)?;
        match PciType::of(first) {
            None => Err(ParseError::UnknownPciType { pci: first }),
            Some(PciType::SingleFrame) => Self::parse_single(pci, frame_len),
            Some(PciType::FirstFrame) => Self::parse_first(pci, frame_len, address_len),
            Some(PciType::ConsecutiveFrame) => Ok(Pdu::ConsecutiveFrame {
                sequence_number: first & 0x0F,
                data: &pci[1..],
            }),
            Some(PciType::FlowControl) => {
                let value = first & 0x0F;
                let status = FlowStatus::from_nibble(value)
                    .ok_or(ParseError::InvalidFlowStatus { value })?;
                match *pci {
                    [_, block_size, st_min, ..] => Ok(Pdu::FlowControl {
                        status,
                        block_size,
                        st_min: StMin::from_byte(st_min),
                    }),
                    _ => Err(ParseError::FlowControlTooShort { len: pci.len() }),
                }
            }
        }
    }

    fn parse_single(pci: &'a [u8], frame_len: usize) -> Result<Pdu<'a>, ParseError> {
        let nibble = usize::from(pci[0] & 0x0F);
        let escaped = frame_len > dlc::CLASSIC_MAX_LEN;
        let (declared, body) = if !escaped {
            (nibble, &pci[1..])
        } else if nibble != 0 {
            return Err(ParseError::SingleFrameNotEscaped);
        } else {
            let len = usize::from(*pci.get(1).ok_or(ParseError::SingleFrameEmpty)?);
            (len, &pci[2..])
        };
        if declared == 0 {
            return Err(ParseError::SingleFrameEmpty);
        }
        match body.get(..declared) {
            Some(data) => Ok(Pdu::SingleFrame { data, escaped }),
            None => Err(ParseError::SingleFrameTooLong {
                declared,
                available: body.len(),
            }),
        }
    }

    fn parse_first(
        pci: &'a [u8],
        frame_len: usize,
        address_len: AddressLength,
    ) -> Result<Pdu<'a>, ParseError> {
        if frame_len < dlc::CLASSIC_MAX_LEN {
            return Err(ParseError::FirstFrameTooShort { frame_len });
        }
        // At least 7 PCI bytes follow the address byte in a frame of 8 or more.
        let (Some(&high), Some(&low)) = (pci.first(), pci.get(1)) else {
            return Err(ParseError::FirstFrameTooShort { frame_len });
        };
        let short = (u32::from(high & 0x0F) << 8) | u32::from(low);
        let (length, data) = if short != 0 {
            (short, &pci[2..])
        } else {
            let Some(&[a, b, c, d]) = pci.get(2..6) else {
                return Err(ParseError::FirstFrameTooShort { frame_len });
            };
            let length = u32::from_be_bytes([a, b, c, d]);
            if length <= FF_ESCAPE_THRESHOLD {
                return Err(ParseError::FirstFrameEscapeNotAllowed { length });
            }
            (length, &pci[6..])
        };
        let single_frame_max = Pdu::single_frame_capacity(frame_len, address_len);
        if u64::from(length) <= single_frame_max as u64 {
            return Err(ParseError::FirstFrameLengthTooSmall {
                length,
                single_frame_max,
            });
        }
        Ok(Pdu::FirstFrame { length, data })
    }

    /// Writes the PDU after `address_len` bytes of `out` (which the caller fills with the address byte)
    /// and returns the number of bytes used, address byte included ([`buffer_len`](Pdu::buffer_len)).
    /// No padding is added.
    ///
    /// The PDU is checked first, so what is written is a frame [`parse`](Pdu::parse) accepts: a single
    /// frame of 1 to 62 bytes that fits its form (an escaped one must be padded to more than 8 bytes by
    /// the caller); a first frame that fills a whole frame of 8 bytes or a valid CAN FD length, carries
    /// less than FF_DL, and announces more than a single frame in that frame could carry; a sequence
    /// number of at most 15; at most 64 bytes in all.
    ///
    /// # Errors
    ///
    /// The [`EmitError`] naming the first rule above that the PDU breaks, or
    /// [`EmitError::BufferTooSmall`] when `out` cannot hold it. Nothing is written then.
    pub fn emit(&self, out: &mut [u8], address_len: AddressLength) -> Result<usize, EmitError> {
        self.check(address_len)?;
        let header_len = self.header_len();
        // `check` bounds a single frame to 62 bytes, so its SF_DL fits the byte.
        #[allow(clippy::cast_possible_truncation)]
        let header: [u8; 6] = match *self {
            Pdu::SingleFrame {
                data,
                escaped: false,
            } => [data.len() as u8, 0, 0, 0, 0, 0],
            Pdu::SingleFrame {
                data,
                escaped: true,
            } => [0, data.len() as u8, 0, 0, 0, 0],
            Pdu::FirstFrame { length, .. } if header_len == 6 => {
                let l = length.to_be_bytes();
                [0x10, 0, l[0], l[1], l[2], l[3]]
            }
            Pdu::FirstFrame { length, .. } => {
                // The 2-byte header is for an FF_DL of 12 bits (`header_len`).
                let [_, _, high, low] = length.to_be_bytes();
                [0x10 | high, low, 0, 0, 0, 0]
            }
            Pdu::ConsecutiveFrame {
                sequence_number, ..
            } => [0x20 | sequence_number, 0, 0, 0, 0, 0],
            Pdu::FlowControl {
                status,
                block_size,
                st_min,
            } => [
                0x30 | status.to_nibble(),
                block_size,
                st_min.to_byte(),
                0,
                0,
                0,
            ],
        };
        let needed = self.buffer_len(address_len);
        let Some(dest) = out.get_mut(address_len.bytes()..needed) else {
            return Err(EmitError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        };
        dest[..header_len].copy_from_slice(&header[..header_len]);
        dest[header_len..].copy_from_slice(self.data());
        Ok(needed)
    }

    /// The rules of [`emit`](Pdu::emit), without writing.
    fn check(&self, address_len: AddressLength) -> Result<(), EmitError> {
        let used = self.buffer_len(address_len);
        if used > dlc::FD_MAX_LEN {
            return Err(EmitError::TooLong { len: used });
        }
        match *self {
            Pdu::SingleFrame { data, escaped } => {
                let len = data.len();
                if len == 0 || len > 62 {
                    return Err(EmitError::SingleFrameDataLength { len });
                }
                if !escaped && used > dlc::CLASSIC_MAX_LEN {
                    return Err(EmitError::SingleFrameNeedsEscape { len });
                }
            }
            Pdu::FirstFrame { length, data } => {
                if u64::from(length) <= data.len() as u64 {
                    return Err(EmitError::FirstFrameCarriesAll {
                        length,
                        carried: data.len(),
                    });
                }
                if used < dlc::CLASSIC_MAX_LEN || !dlc::is_valid_fd_len(used) {
                    return Err(EmitError::FirstFrameNotFull { frame_len: used });
                }
                let single_frame_max = Pdu::single_frame_capacity(used, address_len);
                if u64::from(length) <= single_frame_max as u64 {
                    return Err(EmitError::FirstFrameLengthTooSmall {
                        length,
                        single_frame_max,
                    });
                }
            }
            Pdu::ConsecutiveFrame {
                sequence_number, ..
            } => {
                if sequence_number > 15 {
                    return Err(EmitError::SequenceNumberOutOfRange { sequence_number });
                }
            }
            Pdu::FlowControl { .. } => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressLength::{One, Zero};

    #[test]
    fn single_frame_classic() {
        assert_eq!(
            Pdu::parse(&[0x03, 0x22, 0xF1, 0x90], Zero),
            Ok(Pdu::SingleFrame {
                data: &[0x22, 0xF1, 0x90],
                escaped: false
            })
        );
    }

    #[test]
    fn single_frame_ignores_trailing_padding() {
        assert_eq!(
            Pdu::parse(&[0x02, 0x10, 0x03, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC], Zero),
            Ok(Pdu::SingleFrame {
                data: &[0x10, 0x03],
                escaped: false
            })
        );
    }

    #[test]
    fn single_frame_with_address_byte() {
        assert_eq!(
            Pdu::parse(&[0xF1, 0x02, 0x3E, 0x00], One),
            Ok(Pdu::SingleFrame {
                data: &[0x3E, 0x00],
                escaped: false
            })
        );
    }

    #[test]
    fn single_frame_length_zero_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x00, 1, 2], Zero),
            Err(ParseError::SingleFrameEmpty)
        );
    }

    #[test]
    fn single_frame_escape_in_classic_frame_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x00, 0x05, 1, 2, 3, 4, 5, 0], Zero),
            Err(ParseError::SingleFrameEmpty)
        );
    }

    #[test]
    fn single_frame_longer_than_frame_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x05, 1, 2], Zero),
            Err(ParseError::SingleFrameTooLong {
                declared: 5,
                available: 2
            })
        );
    }

    #[test]
    fn fd_single_frame_needs_escape() {
        let mut frame = [0u8; 12];
        frame[0] = 0x05;
        assert_eq!(
            Pdu::parse(&frame, Zero),
            Err(ParseError::SingleFrameNotEscaped)
        );
        frame[0] = 0x00;
        frame[1] = 10;
        assert!(matches!(
            Pdu::parse(&frame, Zero),
            Ok(Pdu::SingleFrame { data, escaped: true }) if data.len() == 10
        ));
        frame[1] = 11;
        assert_eq!(
            Pdu::parse(&frame, Zero),
            Err(ParseError::SingleFrameTooLong {
                declared: 11,
                available: 10
            })
        );
    }

    #[test]
    fn first_frame_12_bit_length() {
        assert_eq!(
            Pdu::parse(&[0x1F, 0xFF, 1, 2, 3, 4, 5, 6], Zero),
            Ok(Pdu::FirstFrame {
                length: 4095,
                data: &[1, 2, 3, 4, 5, 6]
            })
        );
    }

    #[test]
    fn first_frame_escape_length() {
        assert_eq!(
            Pdu::parse(&[0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0xAA, 0xBB], Zero),
            Ok(Pdu::FirstFrame {
                length: 4096,
                data: &[0xAA, 0xBB]
            })
        );
    }

    #[test]
    fn first_frame_escape_for_small_length_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x10, 0x00, 0x00, 0x00, 0x0F, 0xFF, 0, 0], Zero),
            Err(ParseError::FirstFrameEscapeNotAllowed { length: 4095 })
        );
    }

    #[test]
    fn first_frame_that_fits_a_single_frame_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x10, 0x07, 1, 2, 3, 4, 5, 6], Zero),
            Err(ParseError::FirstFrameLengthTooSmall {
                length: 7,
                single_frame_max: 7
            })
        );
        // With an address byte 7 bytes no longer fit a single frame.
        assert!(Pdu::parse(&[0xAA, 0x10, 0x07, 1, 2, 3, 4, 5], One).is_ok());
    }

    #[test]
    fn first_frame_in_short_frame_is_rejected() {
        assert_eq!(
            Pdu::parse(&[0x10, 0x20, 1, 2, 3], Zero),
            Err(ParseError::FirstFrameTooShort { frame_len: 5 })
        );
    }

    #[test]
    fn consecutive_frame() {
        assert_eq!(
            Pdu::parse(&[0x2F, 9, 8], Zero),
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
                Pdu::parse(&[byte, 4, 0xF5], Zero),
                Ok(Pdu::FlowControl {
                    status,
                    block_size: 4,
                    st_min: StMin::from_byte(0xF5)
                })
            );
        }
        assert_eq!(
            Pdu::parse(&[0x33, 0, 0], Zero),
            Err(ParseError::InvalidFlowStatus { value: 3 })
        );
        assert_eq!(
            Pdu::parse(&[0x30, 0], Zero),
            Err(ParseError::FlowControlTooShort { len: 2 })
        );
    }

    #[test]
    fn unknown_types_and_empty_frames() {
        assert_eq!(
            Pdu::parse(&[0x40], Zero),
            Err(ParseError::UnknownPciType { pci: 0x40 })
        );
        assert_eq!(Pdu::parse(&[], Zero), Err(ParseError::Empty));
        assert_eq!(Pdu::parse(&[0xAA], One), Err(ParseError::Empty));
    }

    #[test]
    fn emit_single_frame_forms() {
        let mut out = [0u8; 64];
        let sf = |data, escaped| Pdu::SingleFrame { data, escaped };
        let n = sf(&[7; 7], false).emit(&mut out, Zero).unwrap();
        assert_eq!(&out[..n], &[0x07, 7, 7, 7, 7, 7, 7, 7]);
        assert_eq!(
            sf(&[8; 8], false).emit(&mut out, Zero),
            Err(EmitError::SingleFrameNeedsEscape { len: 8 })
        );
        assert_eq!(
            sf(&[7; 7], false).emit(&mut out, One),
            Err(EmitError::SingleFrameNeedsEscape { len: 7 })
        );
        let n = sf(&[8; 8], true).emit(&mut out, Zero).unwrap();
        assert_eq!(&out[..n], &[0x00, 0x08, 8, 8, 8, 8, 8, 8, 8, 8]);
        let n = sf(&[3; 3], true).emit(&mut out, One).unwrap();
        assert_eq!(n, 6);
        assert_eq!(&out[1..n], &[0x00, 0x03, 3, 3, 3]);
        assert_eq!(
            sf(&[], false).emit(&mut out, Zero),
            Err(EmitError::SingleFrameDataLength { len: 0 })
        );
        assert_eq!(
            sf(&[0; 63], true).emit(&mut out, Zero),
            Err(EmitError::TooLong { len: 65 })
        );
    }

    #[test]
    fn emit_first_frame_forms() {
        let mut out = [0u8; 8];
        let n = Pdu::FirstFrame {
            length: 0x123,
            data: &[1, 2, 3, 4, 5, 6],
        }
        .emit(&mut out, Zero)
        .unwrap();
        assert_eq!(&out[..n], &[0x11, 0x23, 1, 2, 3, 4, 5, 6]);
        let n = Pdu::FirstFrame {
            length: 0x0001_0000,
            data: &[1, 2],
        }
        .emit(&mut out, Zero)
        .unwrap();
        assert_eq!(&out[..n], &[0x10, 0, 0, 1, 0, 0, 1, 2]);
    }

    #[test]
    fn emit_validates_first_frames() {
        let mut out = [0u8; 64];
        let ff = |length, data| Pdu::FirstFrame { length, data };
        assert_eq!(
            ff(20, &[1, 2, 3][..]).emit(&mut out, Zero),
            Err(EmitError::FirstFrameNotFull { frame_len: 5 })
        );
        assert_eq!(
            ff(20, &[0; 8][..]).emit(&mut out, Zero),
            Err(EmitError::FirstFrameNotFull { frame_len: 10 })
        );
        assert_eq!(
            ff(6, &[0; 6][..]).emit(&mut out, Zero),
            Err(EmitError::FirstFrameCarriesAll {
                length: 6,
                carried: 6
            })
        );
        assert_eq!(
            ff(7, &[0; 6][..]).emit(&mut out, Zero),
            Err(EmitError::FirstFrameLengthTooSmall {
                length: 7,
                single_frame_max: 7
            })
        );
        assert_eq!(ff(7, &[0; 5][..]).emit(&mut out, One), Ok(8));
        assert_eq!(ff(100, &[0; 62][..]).emit(&mut out, Zero), Ok(64));
    }

    #[test]
    fn header_lengths() {
        let d = &[1u8, 2][..];
        assert_eq!(
            Pdu::SingleFrame {
                data: d,
                escaped: false
            }
            .header_len(),
            1
        );
        assert_eq!(
            Pdu::SingleFrame {
                data: d,
                escaped: true
            }
            .header_len(),
            2
        );
        assert_eq!(
            Pdu::FirstFrame {
                length: 4095,
                data: d
            }
            .header_len(),
            2
        );
        assert_eq!(
            Pdu::FirstFrame {
                length: 4096,
                data: d
            }
            .header_len(),
            6
        );
        assert_eq!(
            Pdu::ConsecutiveFrame {
                sequence_number: 0,
                data: d
            }
            .header_len(),
            1
        );
        let fc = Pdu::FlowControl {
            status: FlowStatus::Wait,
            block_size: 0,
            st_min: StMin::ZERO,
        };
        assert_eq!(fc.header_len(), 3);
        assert_eq!(fc.buffer_len(One), 4);
    }

    #[test]
    fn emit_checks_its_buffer() {
        let mut out = [0u8; 4];
        assert_eq!(
            Pdu::ConsecutiveFrame {
                sequence_number: 1,
                data: &[0; 7]
            }
            .emit(&mut out, Zero),
            Err(EmitError::BufferTooSmall {
                needed: 8,
                available: 4
            })
        );
        assert_eq!(
            Pdu::ConsecutiveFrame {
                sequence_number: 16,
                data: &[]
            }
            .emit(&mut out, Zero),
            Err(EmitError::SequenceNumberOutOfRange {
                sequence_number: 16
            })
        );
    }

    #[test]
    fn the_address_length_is_a_type_so_no_length_can_panic() {
        // Formerly an unchecked usize: 7 address bytes made the first frame check index out of range.
        assert!(Pdu::parse(&[0, 0, 0, 0, 0, 0, 0, 0x10], One).is_err());
    }
}
