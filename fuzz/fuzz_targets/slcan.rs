//! SLCAN line splitting and decoding on any byte stream: see `isotp::fuzzing::slcan`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| isotp::fuzzing::slcan(data));
