//! The trc reader (and every writer after it) on any bytes: see `isotp::fuzzing::capture`.
#![no_main]

use isotp::capture::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| isotp::fuzzing::capture(Format::Trc, data));
