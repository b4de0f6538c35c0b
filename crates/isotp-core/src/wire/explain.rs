//! A lenient view of any frame's ISO-TP content, for tools that show traffic (`isotp dump`, loggers).
//!
//! [`Pdu::parse`] refuses what breaks the standard; [`explain`] shows every frame as well as its bytes
//! allow, and says separately what is wrong with it.

use core::fmt;

use super::address_length::AddressLength;
use super::pci::{FlowStatus, PciType, Pdu};
use super::st_min::StMin;
use crate::error::ParseError;

/// The protocol control information of a frame, as far as its bytes go.
///
/// `Display` gives isotpdump's words: `[SF] ln: 3`, `[FF] ln: 20`, `[CF] sn: A`,
/// `[FC] FC: 0 = CTS # BS: 0 = off # STmin: 0x00 = 0 ms`, `[??] PCI 0x45`, `[??] no PCI byte`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PciView {
    /// No byte after the address byte.
    Missing,
    /// A PCI type 4 to 15.
    Unknown {
        /// The first PCI byte.
        byte: u8,
    },
    /// A single frame announcing `length` bytes.
    SingleFrame {
        /// SF_DL as written (it may exceed what the frame holds).
        length: usize,
        /// The `00 LL` form.
        escaped: bool,
    },
    /// A first frame announcing `length` bytes.
    FirstFrame {
        /// FF_DL as written (0 when even the escape's length bytes are missing).
        length: u32,
        /// The 32-bit length form.
        escaped: bool,
    },
    /// A consecutive frame.
    ConsecutiveFrame {
        /// SN.
        sequence_number: u8,
    },
    /// A flow control frame, possibly cut short.
    FlowControl {
        /// The FS nibble as written (3 to 15 are reserved).
        flow_status: u8,
        /// BS, when present.
        block_size: Option<u8>,
        /// STmin, when present.
        st_min: Option<StMin>,
    },
}

impl PciView {
    /// The frame type, when the PCI names one.
    #[must_use]
    pub fn pci_type(&self) -> Option<PciType> {
        match self {
            PciView::Missing | PciView::Unknown { .. } => None,
            PciView::SingleFrame { .. } => Some(PciType::SingleFrame),
            PciView::FirstFrame { .. } => Some(PciType::FirstFrame),
            PciView::ConsecutiveFrame { .. } => Some(PciType::ConsecutiveFrame),
            PciView::FlowControl { .. } => Some(PciType::FlowControl),
        }
    }

    /// For a single or first frame: the announced length of the whole message.
    #[must_use]
    pub fn message_length(&self) -> Option<u32> {
        match *self {
            PciView::SingleFrame { length, .. } => u32::try_from(length).ok(),
            PciView::FirstFrame { length, .. } => Some(length),
            _ => None,
        }
    }
}

impl fmt::Display for PciView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PciView::Missing => f.write_str("[??] no PCI byte"),
            PciView::Unknown { byte } => write!(f, "[??] PCI 0x{byte:02X}"),
            PciView::SingleFrame { length, .. } => write!(f, "[SF] ln: {length}"),
            PciView::FirstFrame { length, .. } => write!(f, "[FF] ln: {length}"),
            PciView::ConsecutiveFrame { sequence_number } => {
                write!(f, "[CF] sn: {sequence_number:X}")
            }
            PciView::FlowControl {
                flow_status,
                block_size,
                st_min,
            } => {
                let name = match FlowStatus::from_nibble(flow_status) {
                    Some(FlowStatus::ContinueToSend) => "CTS",
                    Some(FlowStatus::Wait) => "WT",
                    Some(FlowStatus::Overflow) => "OVFLW",
                    None => "reserved",
                };
                write!(f, "[FC] FC: {flow_status} = {name}")?;
                if let Some(bs) = block_size {
                    write!(f, " # BS: {bs}{}", if bs == 0 { " = off" } else { "" })?;
                }
                if let Some(st) = st_min {
                    write!(f, " # STmin: 0x{:02X} = {st}", st.to_byte())?;
                }
                Ok(())
            }
        }
    }
}

/// What a frame carries, from [`explain`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameView<'a> {
    /// The address byte of extended or mixed addressing, when one was expected and present.
    pub address_byte: Option<u8>,
    /// The PCI.
    pub pci: PciView,
    /// The message bytes: a single frame's declared bytes (or all it has, when it announces more), a
    /// first or consecutive frame's bytes after the PCI (padding included); empty for flow control.
    pub data: &'a [u8],
    /// Why [`Pdu::parse`] refuses the frame; `None` for a valid frame.
    pub problem: Option<ParseError>,
}

/// Shows any frame data as ISO-TP: never fails, never panics. `address_len` says whether an address
/// byte leads the data.
///
/// ```
/// use isotp_core::wire::{explain, AddressLength, PciView, ParseError};
/// let v = explain(&[0x03, 0x22, 0xF1, 0x90, 0xCC, 0xCC, 0xCC, 0xCC], AddressLength::Zero);
/// assert_eq!(v.pci.to_string(), "[SF] ln: 3");
/// assert_eq!(v.data, &[0x22, 0xF1, 0x90]);
/// assert_eq!(v.problem, None);
///
/// let v = explain(&[0xF1, 0x31, 0x08, 0xF3], AddressLength::One);
/// assert_eq!(v.address_byte, Some(0xF1));
/// assert_eq!(v.pci.to_string(), "[FC] FC: 1 = WT # BS: 8 # STmin: 0xF3 = 300 us");
///
/// let v = explain(&[0x07, 1, 2], AddressLength::Zero); // announces 7, holds 2
/// assert_eq!(v.data, &[1, 2]);
/// assert_eq!(v.problem, Some(ParseError::SingleFrameTooLong { declared: 7, available: 2 }));
/// ```
pub fn explain(frame_data: &[u8], address_len: AddressLength) -> FrameView<'_> {
    let problem = Pdu::parse(frame_data, address_len).err();
    let address_byte = match address_len {
        AddressLength::One => frame_data.first().copied(),
        AddressLength::Zero => None,
    };
    let pci = frame_data.get(address_len.bytes()..).unwrap_or(&[]);
    let from = |i: usize| pci.get(i..).unwrap_or(&[]);
    let (view, data) = match *pci {
        [] => (PciView::Missing, &[][..]),
        [first, ..] => match PciType::of(first) {
            None => (PciView::Unknown { byte: first }, &[][..]),
            Some(PciType::SingleFrame) => {
                // SF_DL 0 announces the escaped form (ISO 15765-2 allows it only in frames of more
                // than 8 bytes; `problem` says so for a shorter one, whose length byte is shown).
                let escaped = first & 0x0F == 0 && pci.len() >= 2;
                let (length, body) = if escaped {
                    (usize::from(pci.get(1).copied().unwrap_or(0)), from(2))
                } else {
                    (usize::from(first & 0x0F), from(1))
                };
                let shown = body.get(..length).unwrap_or(body);
                (PciView::SingleFrame { length, escaped }, shown)
            }
            Some(PciType::FirstFrame) => {
                let short =
                    (u32::from(first & 0x0F) << 8) | u32::from(pci.get(1).copied().unwrap_or(0));
                match pci.get(2..6) {
                    Some(&[a, b, c, d]) if short == 0 => (
                        PciView::FirstFrame {
                            length: u32::from_be_bytes([a, b, c, d]),
                            escaped: true,
                        },
                        from(6),
                    ),
                    _ => (
                        PciView::FirstFrame {
                            length: short,
                            escaped: false,
                        },
                        from(2),
                    ),
                }
            }
            Some(PciType::ConsecutiveFrame) => (
                PciView::ConsecutiveFrame {
                    sequence_number: first & 0x0F,
                },
                from(1),
            ),
            Some(PciType::FlowControl) => (
                PciView::FlowControl {
                    flow_status: first & 0x0F,
                    block_size: pci.get(1).copied(),
                    st_min: pci.get(2).copied().map(StMin::from_byte),
                },
                &[][..],
            ),
        },
    };
    FrameView {
        address_byte,
        pci: view,
        data,
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use AddressLength::{One, Zero};

    #[test]
    fn first_and_consecutive_frames() {
        let v = explain(&[0x10, 0x14, 0x62, 0xF1, 0x90, 1, 2, 3], Zero);
        assert_eq!(v.pci.to_string(), "[FF] ln: 20");
        assert_eq!(v.pci.message_length(), Some(20));
        assert_eq!(v.data, &[0x62, 0xF1, 0x90, 1, 2, 3]);
        let v = explain(&[0x2A, 1, 2], Zero);
        assert_eq!(v.pci.to_string(), "[CF] sn: A");
        assert_eq!(v.data, &[1, 2]);
        assert_eq!(v.problem, None);
    }

    #[test]
    fn escaped_frames() {
        let v = explain(&[0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0xAA, 0xBB], Zero);
        assert_eq!(
            v.pci,
            PciView::FirstFrame {
                length: 4096,
                escaped: true
            }
        );
        assert_eq!(v.data, &[0xAA, 0xBB]);
        assert_eq!(v.problem, None);
        let mut fd = [0xCCu8; 12];
        fd[..4].copy_from_slice(&[0x00, 0x02, 7, 8]);
        let v = explain(&fd, Zero);
        assert_eq!(
            v.pci,
            PciView::SingleFrame {
                length: 2,
                escaped: true
            }
        );
        assert_eq!(v.data, &[7, 8]);
    }

    #[test]
    fn escape_in_a_classic_frame_is_shown_with_its_length() {
        let v = explain(&[0x00, 0x02, 7, 8], Zero);
        assert_eq!(
            v.pci,
            PciView::SingleFrame {
                length: 2,
                escaped: true
            }
        );
        assert_eq!(v.data, &[7, 8]);
        assert_eq!(v.problem, Some(ParseError::SingleFrameEmpty));
        let v = explain(&[0x00], Zero);
        assert_eq!(
            v.pci,
            PciView::SingleFrame {
                length: 0,
                escaped: false
            }
        );
    }

    #[test]
    fn flow_control_texts() {
        let text = |d: &[u8]| explain(d, Zero).pci.to_string();
        assert_eq!(
            text(&[0x30, 0x00, 0x00]),
            "[FC] FC: 0 = CTS # BS: 0 = off # STmin: 0x00 = 0 ms"
        );
        assert_eq!(text(&[0x32, 0x04]), "[FC] FC: 2 = OVFLW # BS: 4");
        assert_eq!(
            text(&[0x35, 0x00, 0x80]),
            "[FC] FC: 5 = reserved # BS: 0 = off # STmin: 0x80 = reserved (127 ms)"
        );
        assert_eq!(
            explain(&[0x35, 0, 0], Zero).problem,
            Some(ParseError::InvalidFlowStatus { value: 5 })
        );
    }

    #[test]
    fn broken_frames_are_shown_not_refused() {
        assert_eq!(explain(&[], Zero).pci, PciView::Missing);
        assert_eq!(explain(&[], One).address_byte, None);
        let v = explain(&[0xF1], One);
        assert_eq!((v.address_byte, v.pci), (Some(0xF1), PciView::Missing));
        assert_eq!(v.pci.to_string(), "[??] no PCI byte");
        assert_eq!(explain(&[0x45, 1], Zero).pci.to_string(), "[??] PCI 0x45");
        let v = explain(&[0x10], Zero);
        assert_eq!(v.pci.pci_type(), Some(PciType::FirstFrame));
        assert!(v.problem.is_some());
        assert_eq!(v.data, &[] as &[u8]);
    }
}
