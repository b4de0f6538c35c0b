//! `wire` is total: `Pdu::parse` and `explain` take any bytes and any address length without panicking
//! and agree on what is valid; a parsed PDU emits its own bytes again; any PDU value `emit` accepts
//! parses back; `emit` never panics on any buffer.
#![no_main]

use isotp_core::wire::{dlc, explain, AddressLength, FlowStatus, Pdu, StMin};
use libfuzzer_sys::fuzz_target;

fn address_length(byte: u8) -> AddressLength {
    if byte & 1 == 0 {
        AddressLength::Zero
    } else {
        AddressLength::One
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, bytes)) = data.split_first() else {
        return;
    };
    let alen = address_length(head);
    if head & 2 == 0 {
        // Received bytes.
        let bytes = &bytes[..bytes.len().min(80)];
        let parsed = Pdu::parse(bytes, alen);
        let view = explain(bytes, alen);
        assert_eq!(view.problem, parsed.err());
        let _ = view.pci.to_string();
        if let Ok(pdu) = parsed {
            assert_eq!(view.data, pdu.data());
            let mut out = [0u8; 64];
            let used = pdu.emit(&mut out, alen).expect("a parsed PDU can be emitted");
            assert_eq!(used, pdu.buffer_len(alen));
            assert_eq!(&out[alen.bytes()..used], &bytes[alen.bytes()..used]);
            out[used..bytes.len()].copy_from_slice(&bytes[used..]);
            assert_eq!(Pdu::parse(&out[..bytes.len()], alen), Ok(pdu));
            for n in 0..used {
                assert!(pdu.emit(&mut out[..n], alen).is_err());
            }
        }
    } else {
        // A PDU value built from the bytes: [kind, a, b, c, d, buffer length, data...].
        let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
        let payload = bytes.get(6..).unwrap_or(&[]);
        let pdu = match at(0) % 4 {
            0 => Pdu::SingleFrame {
                data: payload,
                escaped: at(1) & 1 != 0,
            },
            1 => Pdu::FirstFrame {
                length: u32::from_le_bytes([at(1), at(2), at(3), at(4)]),
                data: payload,
            },
            2 => Pdu::ConsecutiveFrame {
                sequence_number: at(1),
                data: payload,
            },
            _ => Pdu::FlowControl {
                status: [FlowStatus::ContinueToSend, FlowStatus::Wait, FlowStatus::Overflow]
                    [usize::from(at(1) % 3)],
                block_size: at(2),
                st_min: StMin::from_byte(at(3)),
            },
        };
        let mut out = vec![0u8; usize::from(at(5))];
        if let Ok(used) = pdu.emit(&mut out, alen) {
            let escaped = matches!(pdu, Pdu::SingleFrame { escaped: true, .. });
            let len = dlc::round_up(used.max(if escaped { 9 } else { 0 })).unwrap();
            let mut frame = out[..used].to_vec();
            frame.resize(len, 0xCC);
            match (pdu, Pdu::parse(&frame, alen)) {
                (
                    Pdu::ConsecutiveFrame { sequence_number, data },
                    Ok(Pdu::ConsecutiveFrame { sequence_number: sn, data: read }),
                ) => assert!(sn == sequence_number && read.starts_with(data)),
                (pdu, back) => assert_eq!(back, Ok(pdu)),
            }
        }
    }
});
