//! `isotp perf`: throughput and round-trip latency of ISO-TP stacks, in-process on a virtual bus or
//! over a real link between two nodes (like isotpperf).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use isotp::bus::{CanBus, VirtualBus};
use isotp::Stack;
use isotp_core::{Address, CanId, Config};

use crate::cli::{PerfArgs, Role};
use crate::error::{from_stack, CliError, CliResult};
use crate::iface;
use crate::link_options::{self, Needs};
use crate::measure::{self, CountingBus, FrameCount, Percentiles};
use crate::output::{seconds_text, JsonObject, Out};

/// What a run measured.
struct Report {
    mode: &'static str,
    pdus: u64,
    size: u32,
    elapsed: Duration,
    frames: u64,
    corrupt: u64,
    rtt: Option<Percentiles>,
}

/// Runs `isotp perf`.
pub fn run(args: &PerfArgs) -> CliResult {
    let config = link_options::config(&args.link, Some(&args.flow))?;
    let mut ids = args.address.clone();
    // Without ids, the classic diagnostic pair.
    if ids.tx_id.is_none() && ids.rx_id.is_none() {
        ids.tx_id = CanId::standard(0x7E0).ok();
        ids.rx_id = CanId::standard(0x7E8).ok();
    }
    let address = link_options::link_address(&ids, Needs::Both)?;
    let report = match (iface_given(args), args.role) {
        (None, None) => local(args, address, config)?,
        (None, Some(_)) => {
            return Err(CliError::usage(
                "--role needs -i IFACE; without -i both ends run in this process",
            ))
        }
        (Some(_), None) => {
            return Err(CliError::usage(
                "with -i, give --role send on one node and --role recv on the other",
            ))
        }
        (Some(spec), Some(role)) => remote(args, spec, role, address, config)?,
    };
    let mut out = Out::live();
    if args.json {
        out.line(&json(&report, &config))?;
    } else {
        for line in summary(&report, &config) {
            out.line(&line)?;
        }
    }
    if report.corrupt > 0 {
        return Err(CliError::failure(format!(
            "{} of {} PDUs arrived corrupted",
            report.corrupt, report.pdus
        )));
    }
    Ok(())
}

/// The interface, if given on the command line. ISOTP_IFACE alone does not turn the in-process
/// measurement into a remote one unless --role asks for it.
fn iface_given(args: &PerfArgs) -> Option<&str> {
    let spec = args.iface.iface.as_deref()?;
    let from_env = std::env::var("ISOTP_IFACE").is_ok_and(|v| v == spec);
    if from_env && args.role.is_none() {
        None
    } else {
        Some(spec)
    }
}

fn progress(count: u64, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(count);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} PDUs {per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn timed_out(what: &str, waited: Duration) -> CliError {
    CliError::failure(format!(
        "timed out after {} waiting for {what}",
        seconds_text(waited)
    ))
}

/// Sender and receiver stacks on an in-process virtual bus.
fn local(args: &PerfArgs, address: Address, config: Config) -> CliResult<Report> {
    let bus = VirtualBus::new();
    let (sender_bus, count) = CountingBus::new(bus.attach(), address);
    let sender = Stack::new(sender_bus, address, config).map_err(from_stack)?;
    let peer = address
        .mirrored()
        .map_err(|e| CliError::usage(e.to_string()))?;
    let receiver = Arc::new(Stack::new(bus.attach(), peer, config).map_err(from_stack)?);
    let size = args.size as usize;
    let count_pdus = args.count;
    let timeout = args.timeout;
    let rtt = args.rtt;
    let bar = progress(count_pdus, args.json);

    // The receiving end: checks every PDU and, with --rtt, echoes it.
    let rx = receiver.clone();
    let rx_bar = bar.clone();
    let echo = std::thread::spawn(move || -> CliResult<(u64, Option<Instant>)> {
        let mut corrupt = 0;
        let mut last = None;
        for n in 0..count_pdus {
            let m = rx
                .recv(Some(timeout))
                .map_err(from_stack)?
                .ok_or_else(|| timed_out(&format!("PDU {} of {count_pdus}", n + 1), timeout))?;
            last = Some(Instant::now());
            if !measure::is_intact(&m, size) {
                corrupt += 1;
            }
            if rtt {
                rx.send_blocking(&m, Some(timeout)).map_err(from_stack)?;
            } else {
                rx_bar.inc(1);
            }
        }
        Ok((corrupt, last))
    });

    let start = Instant::now();
    let mut samples = Vec::new();
    // Without --rtt the receiving thread counts progress.
    let sent = drive(&sender, args, rtt.then_some(&bar), &mut samples);
    let sent_at = Instant::now();
    let received = echo
        .join()
        .map_err(|_| CliError::failure("the receiving stack's thread failed"))?;
    bar.finish_and_clear();
    let echo_corrupt = sent?;
    let (corrupt, last) = received?;
    // Throughput ends when the receiver has the last PDU; round trips when the sender has the echo.
    let end = if rtt {
        sent_at
    } else {
        last.unwrap_or(sent_at)
    };
    Ok(Report {
        mode: "local",
        pdus: count_pdus,
        size: args.size,
        elapsed: end.saturating_duration_since(start),
        frames: count.frames(),
        corrupt: corrupt + echo_corrupt,
        rtt: if rtt { Percentiles::of(&samples) } else { None },
    })
}

/// Sends the PDUs; with --rtt waits for each echo and records the round trip. Returns the number of
/// corrupted echoes; advances `bar` per PDU when given.
fn drive(
    sender: &Stack,
    args: &PerfArgs,
    bar: Option<&ProgressBar>,
    samples: &mut Vec<Duration>,
) -> CliResult<u64> {
    let size = args.size as usize;
    let mut corrupt = 0;
    for seq in 0..args.count {
        let data = measure::payload(seq, size);
        let t0 = Instant::now();
        sender
            .send_blocking(&data, Some(args.timeout))
            .map_err(|e| match e {
                isotp::StackError::Timeout { waited, .. } => timed_out(
                    &format!("PDU {} of {} to be sent", seq + 1, args.count),
                    waited,
                ),
                e => from_stack(e),
            })?;
        if args.rtt {
            let back = sender
                .recv(Some(args.timeout))
                .map_err(from_stack)?
                .ok_or_else(|| {
                    timed_out(
                        &format!("the echo of PDU {} of {}", seq + 1, args.count),
                        args.timeout,
                    )
                })?;
            samples.push(t0.elapsed());
            if !measure::is_intact(&back, size) {
                corrupt += 1;
            }
        }
        if let Some(bar) = bar {
            bar.inc(1);
        }
    }
    Ok(corrupt)
}

/// One end of a real link.
fn remote(
    args: &PerfArgs,
    spec: &str,
    role: Role,
    address: Address,
    config: Config,
) -> CliResult<Report> {
    let bus: Box<dyn CanBus> = iface::open(spec)?;
    let (counted, count) = CountingBus::new(bus, address);
    let stack = Stack::new(counted, address, config).map_err(from_stack)?;
    let bar = progress(args.count, args.json);
    let result = match role {
        Role::Send => remote_send(&stack, args, &bar, &count),
        Role::Recv => remote_recv(&stack, args, &bar, &count),
    };
    bar.finish_and_clear();
    result
}

fn remote_send(
    stack: &Stack,
    args: &PerfArgs,
    bar: &ProgressBar,
    count: &FrameCount,
) -> CliResult<Report> {
    let start = Instant::now();
    let mut samples = Vec::new();
    let corrupt = drive(stack, args, Some(bar), &mut samples)?;
    Ok(Report {
        mode: "send",
        pdus: args.count,
        size: args.size,
        elapsed: start.elapsed(),
        frames: count.frames(),
        corrupt,
        rtt: Percentiles::of(&samples),
    })
}

fn remote_recv(
    stack: &Stack,
    args: &PerfArgs,
    bar: &ProgressBar,
    count: &FrameCount,
) -> CliResult<Report> {
    let size = args.size as usize;
    let mut corrupt = 0;
    let mut last = Instant::now();
    for n in 0..args.count {
        // The first PDU may be a while coming: the other node starts when it starts.
        let wait = if n == 0 { None } else { Some(args.timeout) };
        let m = stack
            .recv(wait)
            .map_err(from_stack)?
            .ok_or_else(|| timed_out(&format!("PDU {} of {}", n + 1, args.count), args.timeout))?;
        last = Instant::now();
        if !measure::is_intact(&m, size) {
            corrupt += 1;
        }
        if args.rtt {
            stack
                .send_blocking(&m, Some(args.timeout))
                .map_err(from_stack)?;
        }
        bar.inc(1);
    }
    let start = count.first().unwrap_or(last);
    Ok(Report {
        mode: "recv",
        pdus: args.count,
        size: args.size,
        elapsed: last.saturating_duration_since(start),
        frames: count.frames(),
        corrupt,
        rtt: None,
    })
}

fn rate(n: f64, elapsed: Duration) -> f64 {
    let s = elapsed.as_secs_f64();
    if s > 0.0 {
        n / s
    } else {
        0.0
    }
}

fn human_bytes(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} MB/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} kB/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} B/s")
    }
}

fn summary(r: &Report, config: &Config) -> Vec<String> {
    let bytes = r.pdus as f64 * f64::from(r.size) * if r.rtt.is_some() { 2.0 } else { 1.0 };
    let bps = rate(bytes, r.elapsed);
    let mut lines = vec![format!(
        "{} PDUs of {} bytes in {:.3} s: {:.0} frames/s, {} payload ({:.0} bytes/s); {}",
        r.pdus,
        r.size,
        r.elapsed.as_secs_f64(),
        rate(r.frames as f64, r.elapsed),
        human_bytes(bps),
        bps,
        link_options::describe(config)
    )];
    if let Some(p) = r.rtt {
        lines.push(format!(
            "round trip: min {:.0} us, p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, max {:.0} us",
            p.min, p.p50, p.p90, p.p99, p.max
        ));
    }
    lines
}

fn json(r: &Report, config: &Config) -> String {
    let bytes = r.pdus as f64 * f64::from(r.size) * if r.rtt.is_some() { 2.0 } else { 1.0 };
    let mut j = JsonObject::new()
        .string("mode", r.mode)
        .int("pdus", r.pdus)
        .int("size", u64::from(r.size))
        .float("seconds", r.elapsed.as_secs_f64(), 6)
        .int("frames", r.frames)
        .float("frames_per_sec", rate(r.frames as f64, r.elapsed), 1)
        .float("bytes_per_sec", rate(bytes, r.elapsed), 1)
        .string(
            "can",
            if config.link_layer.can_fd {
                "CAN FD"
            } else {
                "CAN"
            },
        )
        .int("tx_dl", u64::from(config.link_layer.tx_data_length))
        .bool("brs", config.link_layer.bitrate_switch)
        .int("bs", u64::from(config.block_size))
        .string("stmin", &format!("0x{:02X}", config.st_min.to_byte()))
        .int("corrupt", r.corrupt);
    if let Some(p) = r.rtt {
        let rtt = JsonObject::new()
            .float("min", p.min, 1)
            .float("p50", p.p50, 1)
            .float("p90", p.p90, 1)
            .float("p99", p.p99, 1)
            .float("max", p.max, 1)
            .float("mean", p.mean, 1)
            .finish();
        j = j.raw("rtt_us", &rtt);
    }
    j.finish()
}
