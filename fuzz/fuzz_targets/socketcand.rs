//! The socketcand framer and message parser on any byte stream: see `isotp::fuzzing::socketcand`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| isotp::fuzzing::socketcand(data));
