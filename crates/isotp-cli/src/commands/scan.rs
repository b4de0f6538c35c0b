//! `isotp scan`: which ids of a range are ISO-TP receivers, and on which id each answers.

use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use isotp::discovery::{Answer, FoundEndpoint, IdRange, Probe, Scan, ScanAddressing};

use crate::commands::send::require_iface;
use crate::error::{CliError, CliResult};
use crate::hex;
use crate::iface::{self, IfaceArg};
use crate::link_options::{parse_ext_addr, parse_seconds, ExtAddr};
use crate::output::{note, seconds_text, JsonObject, Out};

/// `isotp scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub iface: IfaceArg,

    /// The ids to probe (hex, FIRST-LAST or one id); nothing is sent on any other id
    #[arg(long, value_name = "RANGE", value_parser = parse_range, default_value = "000-7FF")]
    pub ids: IdRange,

    /// Extended addressing: every probe leads with this target address byte (hex)
    #[arg(short = 'x', value_name = "ADDR", value_parser = parse_ext_addr, conflicts_with = "extended")]
    pub ext: Option<ExtAddr>,

    /// Extended addressing with every target address byte 00-FF on each id (256 probes per id)
    #[arg(long)]
    pub extended: bool,

    /// The probe: a first frame (answered by a flow control; its consecutive frames never follow,
    /// so the receiver gives up after N_Cr) or a single-frame TesterPresent 3E 00
    #[arg(long, value_enum, default_value_t = ProbeArg::FirstFrame)]
    pub probe: ProbeArg,

    /// Time between two probes: the rate limit
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "0.02")]
    pub interval: Duration,

    /// How long a candidate's second, lone probe waits for its answer
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "0.2")]
    pub wait: Duration,

    /// Stop probing after this long (the endpoints found so far are printed)
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub limit: Option<Duration>,

    /// One JSON object per endpoint, one per line
    #[arg(long)]
    pub json: bool,
}

/// `--probe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProbeArg {
    /// A first frame of an 8-byte TesterPresent
    FirstFrame,
    /// A single-frame TesterPresent (3E 00)
    TesterPresent,
}

fn parse_range(text: &str) -> Result<IdRange, String> {
    text.parse().map_err(|e| format!("{e}"))
}

/// Runs `isotp scan`.
pub fn run(args: &ScanArgs) -> CliResult {
    let addressing = match (args.ext, args.extended) {
        (Some(ExtAddr { rx: Some(_), .. }), _) => {
            return Err(CliError::usage(
                "scan -x takes one byte, the target address of the probes (the answers' byte is reported)",
            ))
        }
        (Some(ExtAddr { any: true, .. }), _) => {
            return Err(CliError::usage(
                "scan -x takes the target address byte of the probes; for every byte use --extended",
            ))
        }
        (Some(x), _) => ScanAddressing::Extended(x.tx),
        (None, true) => ScanAddressing::ExtendedAll,
        (None, false) => ScanAddressing::Normal,
    };
    let probe = match args.probe {
        ProbeArg::FirstFrame => Probe::FirstFrame,
        ProbeArg::TesterPresent => Probe::TesterPresent,
    };
    let mut scan = Scan::new(args.ids)
        .with_addressing(addressing)
        .with_probe(probe)
        .with_interval(args.interval)
        .with_confirm_wait(args.wait);
    if let Some(limit) = args.limit {
        scan = scan.with_limit(limit);
    }
    let bus = iface::open(require_iface(args.iface.iface.as_deref())?)?;
    note(&format!(
        "probing {} ({} probes, one every {}){}",
        args.ids,
        scan.candidates(),
        seconds_text(args.interval),
        if probe == Probe::FirstFrame {
            "; receivers that answer wait for consecutive frames that never come, and give up after their N_Cr"
        } else {
            ""
        }
    ));
    let start = Instant::now();
    let report = scan
        .run(&isotp::Node::new(bus))
        .map_err(|e| CliError::failure(e.to_string()))?;
    let mut out = Out::live();
    if !args.json && !report.endpoints.is_empty() {
        out.line(&format!(
            "{:<12}{:<12}{:<16}{:<10}{:>4}  STmin",
            "request", "response", "addressing", "answer", "BS"
        ))?;
    }
    for e in &report.endpoints {
        out.line(&if args.json { json(e) } else { row(e) })?;
    }
    note(&format!(
        "{} endpoint(s) found with {} probes in {}{}{}{}",
        report.endpoints.len(),
        report.probes,
        seconds_text(start.elapsed()),
        answers_anything_text(&report.answers_anything),
        if report.chatter.is_empty() {
            String::new()
        } else {
            let ids: Vec<String> = report.chatter.iter().map(|id| id.to_string()).collect();
            format!(
                "; other traffic on {} was not taken for answers",
                ids.join(", ")
            )
        },
        if report.complete {
            ""
        } else {
            "; the time limit stopped the scan before the end of the range"
        },
    ));
    Ok(())
}

/// The note on responders that answer any probe: a few of their ids, and how many there are.
fn answers_anything_text(ids: &[isotp::CanId]) -> String {
    const SHOWN: usize = 8;
    if ids.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = ids.iter().take(SHOWN).map(|id| id.to_string()).collect();
    let more = if ids.len() > SHOWN {
        format!(" and {} more", ids.len() - SHOWN)
    } else {
        String::new()
    };
    format!(
        "; {}{more} answered probes on more than {} ids (responders that answer anything, not listed as endpoints)",
        shown.join(", "),
        isotp::discovery::ANSWERS_ANYTHING_AFTER
    )
}

fn with_byte(id: impl std::fmt::Display, byte: Option<u8>) -> String {
    match byte {
        Some(b) => format!("{id}[{b:02X}]"),
        None => id.to_string(),
    }
}

fn row(e: &FoundEndpoint) -> String {
    let (answer, bs, st_min) = match &e.answer {
        Answer::FlowControl {
            status,
            block_size,
            st_min,
        } => (
            format!("FC {}", flow_status(*status)),
            block_size.to_string(),
            st_min.to_string(),
        ),
        Answer::Response(p) => (hex::spaced(p), "-".into(), "-".into()),
    };
    format!(
        "{:<12}{:<12}{:<16}{:<10}{:>4}  {}",
        with_byte(e.request_id, e.target_address),
        with_byte(e.response_id, e.source_address),
        e.addressing.name(),
        answer,
        bs,
        st_min
    )
}

fn flow_status(s: isotp::wire::FlowStatus) -> &'static str {
    match s {
        isotp::wire::FlowStatus::ContinueToSend => "CTS",
        isotp::wire::FlowStatus::Wait => "WAIT",
        isotp::wire::FlowStatus::Overflow => "OVFLW",
    }
}

fn json(e: &FoundEndpoint) -> String {
    let byte = |b: Option<u8>| b.map(|b| format!("{b:02X}"));
    let o = JsonObject::new()
        .string("request_id", &e.request_id.to_string())
        .string("response_id", &e.response_id.to_string())
        .string("addressing", e.addressing.name())
        .opt_string("target_address", byte(e.target_address).as_deref())
        .opt_string("source_address", byte(e.source_address).as_deref());
    match &e.answer {
        Answer::FlowControl {
            status,
            block_size,
            st_min,
        } => o
            .string("answer", "flow_control")
            .string("flow_status", flow_status(*status))
            .int("block_size", u64::from(*block_size))
            .string("st_min", &format!("{:02X}", st_min.to_byte()))
            .micros("st_min_us", st_min.duration()),
        Answer::Response(p) => o
            .string("answer", "response")
            .string("payload", &hex::compact(p)),
    }
    .finish()
}
