//! `Pdu::parse` is total: any bytes give a PDU or an error, never a panic; a parsed PDU can be
//! emitted again and parses back to itself; `emit` never panics on any buffer.
#![no_main]

use isotp_core::wire::Pdu;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&head, bytes)) = data.split_first() else {
        return;
    };
    let address_len = usize::from(head % 3);
    let bytes = &bytes[..bytes.len().min(64)];
    if let Ok(pdu) = Pdu::parse(bytes, address_len) {
        let mut out = [0u8; 64];
        let used = pdu
            .emit(&mut out, address_len)
            .expect("a parsed PDU can be emitted");
        assert!(used <= bytes.len(), "emitting {pdu:?} grew the frame");
        assert_eq!(Pdu::parse(&out[..used], address_len), Ok(pdu));
        // Emitting into every shorter buffer fails cleanly.
        for n in 0..used {
            assert!(pdu.emit(&mut out[..n], address_len).is_err());
        }
    }
});
