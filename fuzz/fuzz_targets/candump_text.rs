//! candump text is read totally: any string gives a frame or id, or an error, never a panic; what is
//! read writes back as text that reads the same.
#![no_main]

use isotp_core::{CanId, Frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(frame) = text.parse::<Frame>() {
        assert_eq!(frame.to_string().parse::<Frame>(), Ok(frame));
    }
    if let Ok(id) = text.parse::<CanId>() {
        assert_eq!(id.to_string().parse::<CanId>(), Ok(id));
    }
});
