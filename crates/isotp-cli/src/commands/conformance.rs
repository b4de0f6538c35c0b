//! `isotp conformance`: runs the library's ISO 15765-2 conformance tests against a device and
//! prints a table of verdicts, or one JSON object per test.

use std::time::Duration;

use clap::{Args, ValueEnum};
use isotp_conformance::{Dut, Measure, Options, RunError, TestResult, Value, Verdict};

use crate::commands::send::require_iface;
use crate::error::{CliError, CliResult};
use crate::iface::{self, IfaceArg};
use crate::link_options::{self, parse_seconds, AddressArgs, LinkArgs, Needs};
use crate::output::{Color, ColorChoice, JsonObject, Out, Palette};

/// What the device under test is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DutKind {
    /// It sends back every message it receives (isotp echo, or any echo responder)
    Echo,
    /// A diagnostic server answering requests (give --request)
    Uds,
}

/// `isotp conformance`.
#[derive(Args, Debug)]
pub struct ConformanceArgs {
    #[command(flatten)]
    pub iface: IfaceArg,
    #[command(flatten)]
    pub address: AddressArgs,
    #[command(flatten)]
    pub link: LinkArgs,

    /// What the device under test does with a message: echo it, or answer it as a UDS server
    #[arg(long, value_enum, default_value_t = DutKind::Echo)]
    pub dut: DutKind,

    /// With --dut uds: a request (hex) whose answer is a multi-frame message, e.g. 22F190
    #[arg(long, value_name = "HEX")]
    pub request: Option<String>,

    /// Run only the tests whose name starts with PREFIX (e.g. tx. or rx.overflow)
    #[arg(long, value_name = "PREFIX")]
    pub only: Option<String>,

    /// Print one JSON object per test instead of the table
    #[arg(long)]
    pub json: bool,

    /// How far a measured time may fall short of its bound, in microseconds (bus timestamps jitter)
    #[arg(long, value_name = "USECS", default_value_t = 100)]
    pub tolerance: u64,

    /// How many times an STmin value may be measured before a short gap fails it (give 3 over
    /// socketcand, whose frames are timed when they arrive)
    #[arg(long = "stmin-trials", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=10))]
    pub stmin_trials: u8,

    /// N_Bs and N_Cr of the device, in milliseconds
    #[arg(long = "n-timeout", value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub n_timeout: u64,

    /// Longest one test may take, in seconds: a device that keeps a test going (endless FC.WAIT
    /// or consecutive frames) fails it when the time is up
    #[arg(long = "test-limit", value_name = "SECONDS", value_parser = parse_seconds, default_value = "60")]
    pub test_limit: Duration,

    /// List the tests with the clause each checks, and exit
    #[arg(long)]
    pub list: bool,
}

/// Runs `isotp conformance`.
pub fn run(args: &ConformanceArgs, color: ColorChoice) -> CliResult {
    let mut out = Out::live();
    if args.list {
        for (name, clause) in isotp_conformance::catalogue() {
            out.line(&format!("{name:<34} ISO 15765-2:2016 {clause}"))?;
        }
        return out.flush();
    }
    let address = link_options::link_address(&args.address, Needs::Both)?;
    let config = link_options::config(&args.link, None)?;
    let dut =
        match (args.dut, &args.request) {
            (DutKind::Echo, None) => Dut::Echo,
            (DutKind::Echo, Some(_)) => {
                return Err(CliError::usage("--request is for --dut uds"));
            }
            (DutKind::Uds, None) => return Err(CliError::usage(
                "--dut uds needs --request HEX, a request with a multi-frame answer (e.g. 22F190)",
            )),
            (DutKind::Uds, Some(text)) => Dut::Uds {
                request: crate::hex::parse_bytes(text)
                    .map_err(|e| CliError::usage(format!("bad hex in --request: {e}")))?,
            },
        };
    let mut options = Options::new(address, dut);
    options.link_layer = config.link_layer;
    options.tx_padding = config.tx_padding;
    options.tolerance = Duration::from_micros(args.tolerance);
    options.n_timeout = Duration::from_millis(args.n_timeout);
    options.stmin_trials = args.stmin_trials;
    options.wft_max = config.wft_max;
    options.max_size = config.max_frame_size;
    options.test_limit = args.test_limit;
    options.only = args.only.clone();
    let spec = require_iface(args.iface.iface.as_deref())?;
    let bus = iface::open(spec)?;
    let palette = Palette::for_stdout(color);
    let mut write_error = None;
    let results = isotp_conformance::run_each(&*bus, &options, |r| {
        let line = if args.json { json(r) } else { row(r, &palette) };
        if let Err(e) = out.line(&line) {
            write_error.get_or_insert(e);
        }
    })
    .map_err(|e| match e {
        RunError::Options(m) => CliError::usage(m),
        other => CliError::usage(format!("{spec}: {other}")),
    })?;
    if let Some(e) = write_error {
        return Err(e);
    }
    let tally = |v| results.iter().filter(|r| r.verdict == v).count();
    let (passed, failed, skipped) = (
        tally(Verdict::Pass),
        tally(Verdict::Fail),
        tally(Verdict::Skip),
    );
    if !args.json {
        let summary = format!(
            "{} tests: {passed} passed, {failed} failed, {skipped} skipped ({})",
            results.len(),
            link_text(&config.link_layer)
        );
        out.line(&palette.paint(&summary, Color::Bold))?;
    }
    out.flush()?;
    if failed > 0 {
        Err(CliError::failure(format!(
            "{failed} of {} tests failed",
            results.len()
        )))
    } else {
        Ok(())
    }
}

/// The tester's link layer, for the summary line: `CAN FD, DL 64, BRS`.
fn link_text(link: &isotp::LinkLayer) -> String {
    match (link.can_fd, link.bitrate_switch) {
        (false, _) => "CAN".to_string(),
        (true, brs) => format!(
            "CAN FD, DL {}{}",
            link.tx_data_length,
            if brs { ", BRS" } else { "" }
        ),
    }
}

fn measured_text(m: &[Measure]) -> String {
    m.iter()
        .map(|m| match m.value {
            Value::Time(d) => format!("{}={}", m.name, isotp_conformance::duration_text(d)),
            Value::Count(n) => format!("{}={n}", m.name),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn row(r: &TestResult, palette: &Palette) -> String {
    let verdict = match r.verdict {
        Verdict::Pass => palette.paint("pass", Color::Green),
        Verdict::Fail => palette.paint("FAIL", Color::Red),
        Verdict::Skip => palette.paint("skip", Color::Yellow),
    };
    let measured = measured_text(&r.measured);
    let measured = if measured.is_empty() {
        String::new()
    } else {
        format!("  {}", palette.paint(&format!("[{measured}]"), Color::Dim))
    };
    format!("{:<34} {verdict}  {}{measured}", r.name, r.detail)
}

fn json(r: &TestResult) -> String {
    let mut measured = JsonObject::new();
    for m in &r.measured {
        measured = match m.value {
            Value::Time(d) => measured.micros(&format!("{}_us", m.name), d),
            Value::Count(n) => measured.int(&m.name, n),
        };
    }
    JsonObject::new()
        .string("test", r.name)
        .string("verdict", r.verdict.as_str())
        .string("clause", &format!("ISO 15765-2:2016 {}", r.clause))
        .string("detail", &r.detail)
        .raw("measured", &measured.finish())
        .finish()
}
