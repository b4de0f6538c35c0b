//! `isotp perf`: throughput and round-trip latency of ISO-TP stacks, in-process on a virtual bus or
//! over a real link between two nodes (like isotpperf).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use crate::measure::{self, Percentiles, Step};
use indicatif::{ProgressBar, ProgressStyle};
use isotp::bus::{CanBus, Tracer, VirtualBus};
use isotp::{Direction, Stack, StackError};
use isotp_core::{Address, CanId, Config};

use crate::cli::{PerfArgs, Role};
use crate::error::{from_stack, CliError, CliResult};
use crate::iface;
use crate::link_options::{self, Needs};
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
    // Without ids, the classic diagnostic pair; the receiving node is its mirror.
    if ids.tx_id.is_none() && ids.rx_id.is_none() {
        let (tx, rx) = match args.role {
            Some(Role::Recv) => (0x7E8, 0x7E0),
            _ => (0x7E0, 0x7E8),
        };
        ids.tx_id = CanId::standard(tx).ok();
        ids.rx_id = CanId::standard(rx).ok();
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

/// A bus that counts the frames of one link: those it sends, and those it receives that are
/// addressed to it (other traffic on a real bus is not counted).
fn traced<B: CanBus>(bus: B, address: Address) -> Arc<Tracer<B>> {
    Arc::new(Tracer::new(bus).with_watch(move |direction, frame| {
        direction == Direction::Tx || address.accepts(frame).is_some()
    }))
}

/// What a measuring loop's failure means to the user.
fn run_error(count: u64) -> impl Fn(measure::Failure) -> CliError {
    move |f| {
        let which = format!("PDU {} of {count}", f.number);
        match (f.error, f.step) {
            (StackError::Timeout { waited, .. }, Step::Send | Step::SendBack) => {
                timed_out(&format!("{which} to be sent"), waited)
            }
            (StackError::Timeout { waited, .. }, Step::Echo) => {
                timed_out(&format!("the echo of {which}"), waited)
            }
            (StackError::Timeout { waited, .. }, _) => timed_out(&which, waited),
            (e, _) => from_stack(e),
        }
    }
}

/// Sender and receiver stacks on an in-process virtual bus.
fn local(args: &PerfArgs, address: Address, config: Config) -> CliResult<Report> {
    let bus = VirtualBus::new();
    let sender_bus = traced(bus.attach(), address);
    let sender = Stack::new(sender_bus.clone(), address, config).map_err(from_stack)?;
    let peer = address
        .mirrored()
        .map_err(|e| CliError::usage(e.to_string()))?;
    let receiver = Stack::new(bus.attach(), peer, config).map_err(from_stack)?;
    let (size, count, timeout, rtt) = (args.size as usize, args.count, args.timeout, args.rtt);
    let bar = progress(count, args.json);

    // The receiving end checks every PDU and, with --rtt, echoes it; without --rtt it counts
    // progress.
    let rx_bar = bar.clone();
    let echo = std::thread::spawn(move || {
        measure::receive(
            receiver.link(),
            size,
            count,
            rtt,
            timeout,
            Some(timeout),
            |_| {
                if !rtt {
                    rx_bar.inc(1);
                }
            },
        )
    });
    let sent = measure::send(sender.link(), size, count, rtt, timeout, |_| {
        if rtt {
            bar.inc(1);
        }
    });
    let received = echo
        .join()
        .map_err(|_| CliError::failure("the receiving stack's thread failed"))?;
    bar.finish_and_clear();
    let sent = sent.map_err(run_error(count))?;
    let received = received.map_err(run_error(count))?;
    // Throughput ends when the receiver has the last PDU; round trips when the sender has the echo.
    let start = sent.ended.and_then(|e| e.checked_sub(sent.elapsed));
    let elapsed = match (rtt, start, received.ended) {
        (false, Some(start), Some(last)) => last.saturating_duration_since(start),
        _ => sent.elapsed,
    };
    Ok(Report {
        mode: "local",
        pdus: count,
        size: args.size,
        elapsed,
        frames: sender_bus.frames(),
        corrupt: received.corrupt + sent.corrupt,
        rtt: Percentiles::of(&sent.round_trips),
    })
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
    let counted = traced(bus, address);
    let stack = Stack::new(counted.clone(), address, config).map_err(from_stack)?;
    let bar = progress(args.count, args.json);
    let (size, count, timeout) = (args.size as usize, args.count, args.timeout);
    let result = match role {
        Role::Send => measure::send(stack.link(), size, count, args.rtt, timeout, |_| bar.inc(1)),
        // --timeout bounds the first PDU too: start the sender within it (or raise it).
        Role::Recv => measure::receive(
            stack.link(),
            size,
            count,
            args.rtt,
            timeout,
            Some(timeout),
            |_| bar.inc(1),
        ),
    };
    bar.finish_and_clear();
    let run = result.map_err(run_error(count))?;
    let elapsed = match role {
        Role::Send => run.elapsed,
        // From the first frame of the link, as isotpperf counts.
        Role::Recv => match (counted.first(), run.ended) {
            (Some(f), Some(e)) => e.saturating_duration_since(f),
            _ => run.elapsed,
        },
    };
    Ok(Report {
        mode: match role {
            Role::Send => "send",
            Role::Recv => "recv",
        },
        pdus: count,
        size: args.size,
        elapsed,
        frames: counted.frames(),
        corrupt: run.corrupt,
        rtt: Percentiles::of(&run.round_trips),
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
