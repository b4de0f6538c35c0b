//! The pcap reader (and every writer after it) on any bytes: see `isotp_capture::fuzzing::capture`.
#![no_main]

use isotp_capture::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| isotp_capture::fuzzing::capture(Format::Pcap, data));
