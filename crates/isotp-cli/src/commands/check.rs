//! `isotp check`: every transfer of a recorded log judged against ISO 15765-2, by isotp-core's
//! [`Checker`]; a report per conversation, or one JSON object per finding.

use std::collections::BTreeMap;
use std::time::Duration;

use isotp_core::monitor::check::{CheckConfig, Checker, Finding, Severity};
use isotp_core::monitor::FrameRef;
use isotp_core::Instant;

use crate::cli::CheckArgs;
use crate::error::{CliError, CliResult};
use crate::link_options::{self, Watch};
use crate::output::{EvictionNotes, JsonObject, Out, Timestamp};
use crate::source::{FrameSource, Next};

mod html;
pub mod layers;

/// Runs `isotp check`.
pub fn run(args: &CheckArgs) -> CliResult {
    if args.source.log.is_none() {
        return Err(CliError::usage(
            "check reads a recording: give it with --log FILE (- = standard input)",
        ));
    }
    if args.source.count.is_some() || args.source.timeout.is_some() {
        return Err(CliError::usage(
            "check judges the whole recording: -n and --timeout are for live sources",
        ));
    }
    let (settings, watched) = settings_for(args)?;
    let mut layers = layers::Layers::new(&args.layers, &settings, watched)?;
    let mut checker = Checker::new(settings);
    if let Some(address) = watched {
        checker
            .watch(address)
            .map_err(|e| CliError::usage(e.to_string()))?;
    }
    let mut source = FrameSource::open(&args.source)?;
    let mut out = Out::buffered();
    let mut report = Report::new(args.json);
    let mut evictions = EvictionNotes::default();
    loop {
        match source.next(None)? {
            Next::Frame(c) => {
                let time = Instant::from_micros(c.time.as_micros());
                checker.handle_frame(&c.frame, time);
                evictions.watch(checker.evictions());
                while let Some(f) = checker.poll_finding() {
                    layers.finding(&f);
                    report.finding(&mut out, &f)?;
                }
                layers.frame(&c.frame, time);
            }
            Next::Idle(_) => {}
            Next::End => break,
        }
    }
    checker.finish();
    while let Some(f) = checker.poll_finding() {
        layers.finding(&f);
        report.finding(&mut out, &f)?;
    }
    layers.finish();
    source.finish();
    if !args.json {
        report.summary(&mut out, &checker)?;
    }
    let source_name = args
        .source
        .log
        .as_ref()
        .map_or_else(String::new, |p| p.display().to_string());
    layers.write(&mut out, args.json, &source_name)?;
    out.flush()?;
    evictions.summary(checker.evictions());
    let violations = report.violations;
    let uds_violations = layers.violations();
    if violations > 0 || uds_violations > 0 {
        let mut text = Vec::new();
        if violations > 0 {
            text.push(format!(
                "{violations} violation{} of ISO 15765-2",
                plural(violations)
            ));
        }
        if uds_violations > 0 {
            text.push(format!(
                "{uds_violations} violation{} of ISO 14229 timing",
                plural(uds_violations)
            ));
        }
        return Err(CliError::failure(format!("{} found", text.join(" and "))));
    }
    Ok(())
}

/// The checker's settings for the options, and the conversation of -s/-d/-x if one is named
/// (else the settings discover).
fn settings_for(args: &CheckArgs) -> CliResult<(CheckConfig, Option<isotp_core::Address>)> {
    let ms = Duration::from_millis;
    let mut settings = CheckConfig::default();
    settings.n_bs = ms(args.n_bs);
    settings.n_cr = ms(args.n_cr);
    // ISO's performance requirements: (N_Br + N_Ar) < 0.9 N_Bs, (N_Cs + N_As) < 0.9 N_Cr.
    settings.n_br = args.n_br.map_or(settings.n_bs * 9 / 10, ms);
    settings.n_cs = args.n_cs.map_or(settings.n_cr * 9 / 10, ms);
    settings.wft_max = args.wft_max;
    settings.st_min_tolerance = Duration::from_micros(args.st_min_tolerance);
    match link_options::watch_for(&args.address, args.discover)? {
        Watch::Discover(discovery) => {
            settings.discovery = Some(discovery);
            Ok((settings, None))
        }
        Watch::Address(address) => Ok((settings, Some(address))),
    }
}

/// A frame for people: its number in the log (from 1) and its capture time.
fn frame_text(at: FrameRef) -> String {
    format!("{} ({})", at.index + 1, seconds(at.time))
}

fn seconds(t: Instant) -> String {
    Timestamp::from_micros(t.as_micros()).seconds()
}

fn plural<N: PartialEq + From<u8>>(n: N) -> &'static str {
    if n == N::from(1) {
        ""
    } else {
        "s"
    }
}

/// Conversations the summary names with their counts; past that many, the rest are counted
/// together, so that the summary stays small whatever the recording.
const MAX_NAMED: usize = 10_000;

/// The findings as they come, one line each (a table row, or a JSON object), and counts for the
/// summary: never the findings themselves.
struct Report {
    json: bool,
    violations: u64,
    warnings: u64,
    /// Conversations with findings, in order of their first one: name, violations, warnings.
    named: Vec<(String, u64, u64)>,
    index: BTreeMap<String, usize>,
    /// Findings of conversations past [`MAX_NAMED`]: violations, warnings.
    others: (u64, u64),
}

impl Report {
    fn new(json: bool) -> Report {
        Report {
            json,
            violations: 0,
            warnings: 0,
            named: Vec::new(),
            index: BTreeMap::new(),
            others: (0, 0),
        }
    }

    fn finding(&mut self, out: &mut Out, f: &Finding) -> CliResult {
        let violation = f.severity() == Severity::Violation;
        let (v, w) = (u64::from(violation), u64::from(!violation));
        let total = self.violations + self.warnings;
        self.violations += v;
        self.warnings += w;
        let name = f.conversation.to_string();
        match self.index.get(&name) {
            Some(&i) => {
                self.named[i].1 += v;
                self.named[i].2 += w;
            }
            None if self.named.len() < MAX_NAMED => {
                self.index.insert(name.clone(), self.named.len());
                self.named.push((name.clone(), v, w));
            }
            None => self.others = (self.others.0 + v, self.others.1 + w),
        }
        if self.json {
            return out.line(&json(f));
        }
        if total == 0 {
            out.line(&format!(
                "{:<26} {:<26} {:<9} {:<18} {:<14} {:<30} detail",
                "frame (time)", "since", "severity", "conversation", "by", "finding"
            ))?;
        }
        out.line(&format!(
            "{:<26} {:<26} {:<9} {:<18} {:<14} {:<30} {}",
            frame_text(f.frame),
            f.since.map_or_else(|| "-".to_string(), frame_text),
            f.severity().to_string(),
            name,
            f.from.map_or_else(|| "-".to_string(), |p| p.to_string()),
            f.kind.name(),
            f.kind
        ))
    }

    /// Each conversation's counts (clean ones too), then the totals.
    fn summary(&self, out: &mut Out, checker: &Checker) -> CliResult {
        for (name, violations, warnings) in &self.named {
            out.line(&format!(
                "{name}: {violations} violation{}, {warnings} warning{}",
                plural(*violations),
                plural(*warnings)
            ))?;
        }
        let (v, w) = self.others;
        let more = v + w > 0;
        if more {
            out.line(&format!(
                "further conversations (past the first {MAX_NAMED} with findings): {v} violation{}, {w} warning{}",
                plural(v),
                plural(w)
            ))?;
        }
        let mut clean = 0u64;
        // Without every name at hand, a conversation cannot be called clean.
        if !more {
            for c in checker.conversations() {
                let c = c.to_string();
                if !self.index.contains_key(&c) {
                    out.line(&format!("{c}: clean"))?;
                    clean += 1;
                }
            }
        }
        let with_findings = self.named.len() as u64;
        out.line(&format!(
            "{} frame{}, {}{} conversation{} with findings, {} clean: {} violation{}, {} warning{}",
            checker.frames(),
            plural(checker.frames()),
            with_findings,
            if more { " or more" } else { "" },
            plural(with_findings),
            clean,
            self.violations,
            plural(self.violations),
            self.warnings,
            plural(self.warnings)
        ))
    }
}

/// One finding as a JSON object.
fn json(f: &Finding) -> String {
    let j = JsonObject::new()
        .string("conversation", &f.conversation.to_string())
        .string("severity", &f.severity().to_string())
        .string("kind", f.kind.name())
        .opt_string("from", f.from.map(|p| p.to_string()).as_deref())
        .int("frame", f.frame.index + 1)
        .raw("time", &seconds(f.frame.time));
    json_measures(j, f.since, f.kind.timing())
        .string("detail", &f.kind.to_string())
        .finish()
}

/// A finding's `since_frame`, `since_time`, `measured_us` and `limit_us` (null when it has none).
fn json_measures(
    mut j: JsonObject,
    since: Option<FrameRef>,
    timing: Option<(Duration, Duration)>,
) -> JsonObject {
    j = match since {
        Some(s) => j
            .int("since_frame", s.index + 1)
            .raw("since_time", &seconds(s.time)),
        None => j.raw("since_frame", "null").raw("since_time", "null"),
    };
    match timing {
        Some((measured, limit)) => j.micros("measured_us", measured).micros("limit_us", limit),
        None => j.raw("measured_us", "null").raw("limit_us", "null"),
    }
}
