//! `isotp_conformance` against the kernel's CAN_ISOTP as an echo peer on vcan0, classic CAN and
//! CAN FD, asserting the verdict each test deserves.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use isotp::bus::socketcan::{from_can_any_frame, SocketCanBus};
use isotp::bus::{BusError, CanBus, Capabilities, ClockPair};
use isotp::kernel::KernelOptions;
use isotp::{Address, CanId, Frame, LinkLayer, StMin};
use isotp_conformance::{Dut, Options, Verdict};
use socketcan::{CanFdSocket, Socket, SocketOptions};

use super::{bus, kernel, next_ids, CaseResult, Failure, IFACE};

/// The tester's bus: sends on a [`SocketCanBus`], receives on a second raw socket whose frames
/// carry the kernel's timestamps (taken when a frame is sent, while the runner keeps timestamping
/// on), so that gaps are measured on the bus and not when the emulated tester gets to read them.
struct StampedBus {
    tx: SocketCanBus,
    rx: CanFdSocket,
}

impl StampedBus {
    fn open() -> Result<StampedBus, Failure> {
        let rx = CanFdSocket::open(IFACE).map_err(|e| format!("tester socket: {e}"))?;
        rx.set_recv_timestamp(true)
            .map_err(|e| format!("tester socket: {e}"))?;
        Ok(StampedBus { tx: bus()?, rx })
    }
}

impl CanBus for StampedBus {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.tx.send(frame)
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        Ok(self.recv_timestamped(timeout)?.map(|(f, _)| f))
    }

    fn interrupt(&self) {}

    fn capabilities(&self) -> Capabilities {
        Capabilities::CLASSIC
            .with_can_fd(true)
            .with_timestamps(true)
    }

    fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, Instant)>, BusError> {
        // A zero SO_RCVTIMEO would mean "forever".
        let timeout = timeout.map(|t| t.max(Duration::from_micros(1)));
        let io_err = |e| BusError::Io {
            context: "reading the tester socket".into(),
            source: e,
        };
        self.rx.set_read_timeout(timeout).map_err(io_err)?;
        match self.rx.read_frame_with_timestamp() {
            Ok((any, stamp)) => {
                let Ok(frame) = from_can_any_frame(&any) else {
                    return Ok(None);
                };
                // The stamp is wall-clock time: mapped onto the monotonic clock by its age.
                let read = ClockPair::now();
                let at = stamp
                    .duration_since(UNIX_EPOCH)
                    .map_or(read.monotonic(), |s| read.instant_of(s));
                Ok(Some((frame, at)))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(io_err(e)),
        }
    }
}

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
    let (tester_tx, tester_rx) = (CanId::standard(a)?, CanId::standard(b)?);
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
    let mut options = Options::new(Address::normal_11(a, b)?, Dut::Echo);
    options.link_layer = link;
    // Frames carry the kernel's timestamps; 200 us absorb the jitter of an emulated machine's
    // clock reads and still judge every STmin from 500 us up.
    options.tolerance = Duration::from_micros(200);
    let raw = StampedBus::open()?;
    let results = isotp_conformance::run_each(&raw, &options, |r| {
        let measured: Vec<String> = r
            .measured
            .iter()
            .map(|m| format!("{}={:?}", m.name, m.value))
            .collect();
        println!(
            "    {:<34} {:<4} {} [{}]",
            r.name,
            r.verdict,
            r.detail,
            measured.join(" ")
        );
    });
    stop.store(true, Ordering::Relaxed);
    let _ = echo_thread.join();
    let results = results?;
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
        Err(wrong.join("; ").into())
    }
}
