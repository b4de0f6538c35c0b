//! What `isotp check` runs beside the ISO-TP checker: UDS timing (`--uds`) and the HTML report
//! (`--html`). Both follow the recording with a monitor of their own, set up as the checker's, so
//! they see the same conversations, and take the checker's findings as they come.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use isotp_core::monitor::check::{CheckConfig, Finding, Severity};
use isotp_core::monitor::{Monitor, MonitorEvent, Party};
use isotp_core::uds::{Exchange, SessionTiming, UdsConfig, UdsEvent, UdsFinding, UdsTiming};
use isotp_core::{Frame, Instant};

use super::html::Report;
use super::{frame_text, json_measures, plural, seconds};
use crate::error::{CliError, CliResult};
use crate::output::{JsonObject, Out};

/// The options of `check` for the layers above ISO-TP and the report.
#[derive(clap::Args, Debug, Clone)]
pub struct LayerArgs {
    /// Also judge UDS (ISO 14229) timing: requests paired with their responses per tester-ECU
    /// pair, P2 and P2* (response pending chains followed)
    #[arg(long)]
    pub uds: bool,

    /// P2server_max for --uds, in milliseconds [default: 50, or what a DiagnosticSessionControl
    /// response in the log announces]
    #[arg(long = "p2", value_name = "MS")]
    pub p2: Option<u64>,

    /// P2*server_max for --uds, in milliseconds [default: 5000, or what a DiagnosticSessionControl
    /// response in the log announces]
    #[arg(long = "p2-star", value_name = "MS")]
    pub p2_star: Option<u64>,

    /// Also write a self-contained HTML report (timeline per conversation, findings, summary)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Exchanges of one tester-ECU pair, for the summary.
#[derive(Default)]
struct PairStats {
    exchanges: u64,
    unanswered: u64,
    negative: u64,
    longest_p2: Duration,
}

/// The layers asked for; does nothing when neither `--uds` nor `--html` was given.
pub struct Layers {
    monitor: Option<Monitor>,
    uds: Option<UdsTiming>,
    found: Vec<UdsFinding>,
    pairs: BTreeMap<(String, String), PairStats>,
    report: Option<(PathBuf, Report)>,
    last: Option<Instant>,
}

impl Layers {
    /// The layers of `args`, following conversations as `check` does with `settings`.
    pub fn new(
        args: &LayerArgs,
        settings: &CheckConfig,
        watched: Option<isotp_core::Address>,
    ) -> CliResult<Layers> {
        if !args.uds && (args.p2.is_some() || args.p2_star.is_some()) {
            return Err(CliError::usage("--p2 and --p2-star are limits of --uds"));
        }
        let wanted = args.uds || args.html.is_some();
        let monitor = if wanted {
            let mut monitor = Monitor::new(settings.monitor_config());
            if let Some(address) = watched {
                monitor
                    .watch(address)
                    .map_err(|e| CliError::usage(e.to_string()))?;
            }
            Some(monitor)
        } else {
            None
        };
        let uds = args.uds.then(|| {
            let mut uds = UdsConfig::default();
            if args.p2.is_some() || args.p2_star.is_some() {
                uds.session_timing = SessionTiming::Ignore;
            }
            uds.p2 = args.p2.map_or(uds.p2, Duration::from_millis);
            uds.p2_star = args.p2_star.map_or(uds.p2_star, Duration::from_millis);
            UdsTiming::new(uds)
        });
        Ok(Layers {
            monitor,
            uds,
            found: Vec::new(),
            pairs: BTreeMap::new(),
            report: args.html.clone().map(|p| (p, Report::new())),
            last: None,
        })
    }

    /// A finding of the ISO-TP checker.
    pub fn finding(&mut self, f: &Finding) {
        if let Some((_, report)) = &mut self.report {
            report.finding(f);
        }
    }

    /// The next frame of the recording.
    pub fn frame(&mut self, frame: &Frame, time: Instant) {
        let Some(monitor) = &mut self.monitor else {
            return;
        };
        self.last = Some(time);
        monitor.handle_frame(frame, time);
        while let Some(event) = monitor.poll_event() {
            match event {
                MonitorEvent::Frame(o) => {
                    if let Some((_, report)) = &mut self.report {
                        report.observe(&o);
                    }
                }
                MonitorEvent::Message(m) => {
                    if let Some(uds) = &mut self.uds {
                        uds.handle_message(&m);
                    }
                }
                _ => {}
            }
        }
        self.drain_uds();
    }

    fn drain_uds(&mut self) {
        let Some(uds) = &mut self.uds else {
            return;
        };
        while let Some(event) = uds.poll_event() {
            match event {
                UdsEvent::Exchange(x) => {
                    let stats = self.pairs.entry(pair_names(&x)).or_default();
                    stats.exchanges += 1;
                    match x.outcome {
                        isotp_core::uds::Outcome::Unanswered => stats.unanswered += 1,
                        isotp_core::uds::Outcome::Negative(_) => stats.negative += 1,
                        _ => {}
                    }
                    stats.longest_p2 = stats.longest_p2.max(x.p2.unwrap_or_default());
                    if let Some((_, report)) = &mut self.report {
                        report.exchange(&x);
                    }
                }
                UdsEvent::Finding(f) => {
                    if let Some((_, report)) = &mut self.report {
                        report.uds_finding(&f);
                    }
                    self.found.push(f);
                }
                _ => {}
            }
        }
    }

    /// The recording ended.
    pub fn finish(&mut self) {
        if let (Some(uds), Some(end)) = (&mut self.uds, self.last) {
            uds.finish(end);
        }
        self.drain_uds();
    }

    /// UDS violations found.
    pub fn violations(&self) -> usize {
        self.found
            .iter()
            .filter(|f| f.severity() == Severity::Violation)
            .count()
    }

    /// Writes the UDS findings (a table, or JSON lines) and the HTML report.
    pub fn write(&mut self, out: &mut Out, json: bool, source: &str) -> CliResult {
        if self.uds.is_some() {
            if json {
                for f in &self.found {
                    out.line(&uds_json(f))?;
                }
            } else {
                self.table(out)?;
            }
        }
        if let Some((path, report)) = self.report.take() {
            let file = std::fs::File::create(&path).map_err(|e| {
                CliError::usage(format!("cannot write the report {}: {e}", path.display()))
            })?;
            let mut w = std::io::BufWriter::new(file);
            report
                .write(&mut w, source, self.uds.is_some())
                .and_then(|()| std::io::Write::flush(&mut w))
                .map_err(|e| {
                    CliError::usage(format!("cannot write the report {}: {e}", path.display()))
                })?;
        }
        Ok(())
    }

    fn table(&self, out: &mut Out) -> CliResult {
        out.line("UDS (ISO 14229) timing:")?;
        if self.pairs.is_empty() {
            out.line("  no UDS exchange found")?;
        }
        for ((tester, ecu), s) in &self.pairs {
            out.line(&format!(
                "  {tester} -> {ecu}: {} exchange{}, {} negative, {} unanswered, longest P2 {:.1} ms",
                s.exchanges,
                plural(s.exchanges),
                s.negative,
                s.unanswered,
                s.longest_p2.as_secs_f64() * 1e3
            ))?;
        }
        if !self.found.is_empty() {
            out.line(&format!(
                "  {:<26} {:<26} {:<9} {:<17} {:<20} detail",
                "frame (time)", "since", "severity", "tester -> ECU", "finding"
            ))?;
        }
        for f in &self.found {
            out.line(&format!(
                "  {:<26} {:<26} {:<9} {:<17} {:<20} {}",
                frame_text(f.frame),
                f.since.map_or_else(|| "-".to_string(), frame_text),
                f.severity().to_string(),
                format!("{} -> {}", party_name(f.tester), party_name(f.ecu)),
                f.kind.name(),
                f.kind
            ))?;
        }
        let violations = self.violations();
        out.line(&format!(
            "  {violations} violation{}, {} warning{}",
            plural(violations),
            self.found.len() - violations,
            plural(self.found.len() - violations)
        ))
    }
}

fn party_name(p: Option<Party>) -> String {
    p.map_or_else(|| "?".to_string(), |p| p.to_string())
}

fn pair_names(x: &Exchange) -> (String, String) {
    (x.tester.to_string(), party_name(x.ecu))
}

/// One UDS finding as a JSON object, in the fields of the ISO-TP findings.
fn uds_json(f: &UdsFinding) -> String {
    let j = JsonObject::new()
        .string("layer", "uds")
        .string(
            "conversation",
            &format!("{}/{}", party_name(f.tester), party_name(f.ecu)),
        )
        .string("severity", &f.severity().to_string())
        .string("kind", f.kind.name())
        .opt_string("from", f.ecu.map(|p| p.to_string()).as_deref())
        .int("frame", f.frame.index + 1)
        .raw("time", &seconds(f.frame.time));
    json_measures(j, f.since, f.kind.timing())
        .string("detail", &f.kind.to_string())
        .finish()
}
