//! `isotp::conformance` against the kernel's CAN_ISOTP as an echo peer on vcan0, classic CAN and
//! CAN FD, asserting the verdict each test deserves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use isotp::conformance::{self, Dut, Options, Verdict};
use isotp::kernel::KernelOptions;
use isotp::{Address, CanId, LinkLayer, StMin};

use super::{bus, kernel, next_ids, CaseResult};

/// Tests the kernel (6.1) does not pass, classic and CAN FD alike, with why; every other one must
/// pass (the `fd.` ones are skipped on classic CAN).
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    // isotp_rcv_ff() takes the 32-bit FF_DL escape for any length, also one below 4096.
    (
        "rx.escaped_first_frame_small",
        "accepts an escaped FF announcing 100 bytes",
    ),
    // Its check that FF_DL exceeds a single frame lets FF_DL = 7 (classic) and 62 (64-byte CAN FD)
    // through: it compares FF_DL + the PCI size with RX_DL.
    (
        "rx.first_frame_too_short_length",
        "accepts an FF that a single frame could carry",
    ),
    // FF_DL = 1000000000 is answered with FC.OVFLW, but FF_DL = 4294967295 is silently ignored: the
    // same check adds the PCI size to FF_DL in 32 bits, which wraps below RX_DL.
    ("rx.overflow", "no FC.OVFLW for FF_DL 0xFFFFFFFF"),
];

/// Runs every test against a kernel echo socket with block size 8 on `link`.
pub(super) fn kernel_echo(link: LinkLayer) -> CaseResult {
    let (a, b) = next_ids(false);
    let (tester_tx, tester_rx) = (
        CanId::standard(a).map_err(|e| e.to_string())?,
        CanId::standard(b).map_err(|e| e.to_string())?,
    );
    let echo = kernel(
        KernelOptions::new(tester_rx, tester_tx)
            .link_layer(link)
            .flow_control(8, StMin::ZERO),
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let echo_thread = std::thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            if let Ok(Some(m)) = echo.recv(Some(Duration::from_millis(50))) {
                let _ = echo.send_blocking(&m, Some(Duration::from_secs(5)));
            }
        }
    });
    let mut options = Options::new(
        Address::normal_11(a, b).map_err(|e| e.to_string())?,
        Dut::Echo,
    );
    options.link_layer = link;
    // Frames are timed when the tester reads them, in an emulated machine: 2 ms of tolerance
    // still judges STmin from 5 ms up and the reserved 127 ms.
    options.tolerance = Duration::from_millis(2);
    let raw = bus()?;
    let results = conformance::run_each(&raw, &options, |r| {
        println!("    {:<34} {:<4} {}", r.name, r.verdict, r.detail);
    });
    stop.store(true, Ordering::Relaxed);
    let _ = echo_thread.join();
    let results = results.map_err(|e| e.to_string())?;
    let mut wrong = Vec::new();
    for r in &results {
        let expected = if r.name.starts_with("fd.") && !link.can_fd {
            Verdict::Skip
        } else if EXPECTED_FAILURES.iter().any(|(n, _)| *n == r.name) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        if r.verdict != expected {
            wrong.push(format!(
                "{} {} (expected {expected}): {}",
                r.name, r.verdict, r.detail
            ));
        }
    }
    if wrong.is_empty() {
        Ok(format!(
            "{} tests with the expected verdicts",
            results.len()
        ))
    } else {
        Err(wrong.join("; "))
    }
}
