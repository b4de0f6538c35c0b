//! Explains one CAN frame as ISO-TP, in isotpdump's words: `[SF] ln: 3    data: 22 F1 90`,
//! `[FC] FC: 0 = CTS # BS: 0 = off # STmin: 0x00 = 0 ms`. Any bytes are accepted; what breaks the
//! rules of ISO 15765-2 is shown as a note rather than hidden.

use isotp_core::wire::{AddressLength, PciType, Pdu};
use isotp_core::Frame;

use crate::hex;

/// The explanation of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameView {
    /// The frame type, when the PCI nibble names one.
    pub kind: Option<PciType>,
    /// The address byte of extended or mixed addressing, if one was expected.
    pub address_byte: Option<u8>,
    /// The PCI in words, isotpdump style, without the data.
    pub pci: String,
    /// The message bytes the frame carries (for SF/FF/CF); empty for FC.
    pub data: Vec<u8>,
    /// For a single or first frame: the declared length of the whole message.
    pub message_length: Option<u32>,
    /// What is wrong with the frame, per ISO 15765-2, if anything.
    pub problem: Option<String>,
}

/// Explains `frame`, whose first `address_len` (0 or 1) data bytes are the address byte.
pub fn explain(frame: &Frame, address_len: usize) -> FrameView {
    let data = frame.data();
    let address_byte = if address_len > 0 {
        data.first().copied()
    } else {
        None
    };
    let pci_bytes = data.get(address_len..).unwrap_or(&[]);
    let alen = if address_len > 0 {
        AddressLength::One
    } else {
        AddressLength::Zero
    };
    let problem = Pdu::parse(data, alen).err().map(|e| e.to_string());
    let Some(&first) = pci_bytes.first() else {
        return FrameView {
            kind: None,
            address_byte,
            pci: "[??] no PCI byte".into(),
            data: Vec::new(),
            message_length: None,
            problem,
        };
    };
    let at = |i: usize| pci_bytes.get(i).copied().unwrap_or(0);
    let rest = |from: usize| pci_bytes.get(from..).unwrap_or(&[]).to_vec();
    let kind = PciType::of(first);
    let (pci, payload, message_length) = match kind {
        Some(PciType::SingleFrame) => {
            let (len, start) = if first & 0x0F != 0 {
                (usize::from(first & 0x0F), 1)
            } else {
                (usize::from(at(1)), 2)
            };
            // The message is the declared length; what follows is padding.
            let body = rest(start);
            let shown = body.get(..len).map_or(body.clone(), <[u8]>::to_vec);
            (format!("[SF] ln: {len:<4} data:"), shown, Some(len as u32))
        }
        Some(PciType::FirstFrame) => {
            let short = (u32::from(first & 0x0F) << 8) | u32::from(at(1));
            let (len, start) = if short != 0 || pci_bytes.len() < 6 {
                (short, 2)
            } else {
                (u32::from_be_bytes([at(2), at(3), at(4), at(5)]), 6)
            };
            (format!("[FF] ln: {len:<4} data:"), rest(start), Some(len))
        }
        Some(PciType::ConsecutiveFrame) => (
            format!("[CF] sn: {:X}    data:", first & 0x0F),
            rest(1),
            None,
        ),
        Some(PciType::FlowControl) => {
            let fs = first & 0x0F;
            let status = match fs {
                0 => "CTS",
                1 => "WT",
                2 => "OVFLW",
                _ => "reserved",
            };
            let mut text = format!("[FC] FC: {fs} = {status}");
            if pci_bytes.len() >= 2 {
                let bs = at(1);
                text.push_str(&format!(
                    " # BS: {bs} {}",
                    if bs == 0 { "= off " } else { "" }
                ));
            }
            if pci_bytes.len() >= 3 {
                let st = at(2);
                let meaning = match st {
                    0x00..=0x7F => format!("{st} ms"),
                    0xF1..=0xF9 => format!("{} us", u32::from(st & 0x0F) * 100),
                    _ => "reserved (127 ms)".into(),
                };
                text.push_str(&format!("# STmin: 0x{st:02X} = {meaning}"));
            }
            (text, Vec::new(), None)
        }
        None => (format!("[??] PCI 0x{first:02X}"), Vec::new(), None),
    };
    FrameView {
        kind,
        address_byte,
        pci,
        data: payload,
        message_length,
        problem,
    }
}

/// `[8]` for a classic frame, `[08]` for CAN FD (as isotpdump), with `BRS` marked.
pub fn length_field(frame: &Frame) -> String {
    if frame.is_fd() {
        format!(
            "[{:02}]{}",
            frame.len(),
            if frame.is_brs() { "*" } else { "" }
        )
    } else {
        format!("[{}]", frame.len())
    }
}

/// The bytes after the PCI, spaced, for a frame view.
pub fn data_text(view: &FrameView) -> String {
    hex::spaced(&view.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotp_core::CanId;

    fn frame(data: &[u8]) -> Frame {
        Frame::new(CanId::standard(0x7E0).unwrap(), data).unwrap()
    }

    #[test]
    fn single_frame() {
        let v = explain(&frame(&[0x03, 0x22, 0xF1, 0x90, 0xCC, 0xCC, 0xCC, 0xCC]), 0);
        assert_eq!(v.kind, Some(PciType::SingleFrame));
        assert_eq!(v.pci, "[SF] ln: 3    data:");
        assert_eq!(data_text(&v), "22 F1 90");
        assert_eq!(v.problem, None);
    }

    #[test]
    fn first_and_consecutive_frames() {
        let v = explain(&frame(&[0x10, 0x14, 0x62, 0xF1, 0x90, 1, 2, 3]), 0);
        assert_eq!(v.pci, "[FF] ln: 20   data:");
        assert_eq!(v.message_length, Some(20));
        assert_eq!(v.data, vec![0x62, 0xF1, 0x90, 1, 2, 3]);
        let v = explain(&frame(&[0x2A, 1, 2]), 0);
        assert_eq!(v.pci, "[CF] sn: A    data:");
        assert_eq!(v.data, vec![1, 2]);
    }

    #[test]
    fn escaped_first_frame() {
        let v = explain(&frame(&[0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0xAA, 0xBB]), 0);
        assert_eq!(v.message_length, Some(4096));
        assert_eq!(v.data, vec![0xAA, 0xBB]);
        assert_eq!(v.problem, None);
    }

    #[test]
    fn flow_control() {
        let v = explain(&frame(&[0x30, 0x00, 0x00]), 0);
        assert_eq!(v.pci, "[FC] FC: 0 = CTS # BS: 0 = off # STmin: 0x00 = 0 ms");
        let v = explain(&frame(&[0x31, 0x08, 0xF3]), 0);
        assert_eq!(v.pci, "[FC] FC: 1 = WT # BS: 8 # STmin: 0xF3 = 300 us");
        let v = explain(&frame(&[0x35, 0x00, 0x80]), 0);
        assert!(v.pci.contains("reserved"));
        assert!(v.problem.unwrap().contains("invalid flow status 5"));
    }

    #[test]
    fn address_byte_and_broken_frames() {
        let v = explain(&frame(&[0xF1, 0x02, 0x3E, 0x00]), 1);
        assert_eq!(v.address_byte, Some(0xF1));
        assert_eq!(v.data, vec![0x3E, 0x00]);
        let v = explain(&frame(&[]), 0);
        assert_eq!(v.kind, None);
        assert!(v.problem.is_some());
        let v = explain(&frame(&[0xF1]), 1);
        assert_eq!(v.pci, "[??] no PCI byte");
        let v = explain(&frame(&[0x45, 1]), 0);
        assert_eq!(v.pci, "[??] PCI 0x45");
        // A single frame announcing more than it holds: shown, and flagged.
        let v = explain(&frame(&[0x07, 1, 2]), 0);
        assert_eq!(v.data, vec![1, 2]);
        assert!(v.problem.is_some());
        // A first frame in a short CAN frame does not panic.
        let v = explain(&frame(&[0x10]), 0);
        assert_eq!(v.kind, Some(PciType::FirstFrame));
        assert!(v.problem.is_some());
    }

    #[test]
    fn length_fields() {
        assert_eq!(length_field(&frame(&[1, 2, 3])), "[3]");
        let fd = Frame::new_fd(CanId::standard(1).unwrap(), &[0; 12], true).unwrap();
        assert_eq!(length_field(&fd), "[12]*");
    }
}
