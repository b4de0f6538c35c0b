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
use crate::output::{JsonObject, Out, Timestamp};
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
    let mut found = Vec::new();
    loop {
        match source.next(None)? {
            Next::Frame(c) => {
                let time = Instant::from_micros(c.time.as_micros());
                checker.handle_frame(&c.frame, time);
                let new = found.len();
                found.extend(std::iter::from_fn(|| checker.poll_finding()));
                found[new..].iter().for_each(|f| layers.finding(f));
                layers.frame(&c.frame, time);
            }
            Next::Idle(_) => {}
            Next::End => break,
        }
    }
    checker.finish();
    let new = found.len();
    found.extend(std::iter::from_fn(|| checker.poll_finding()));
    found[new..].iter().for_each(|f| layers.finding(f));
    layers.finish();
    source.finish();

    let mut out = Out::buffered();
    if args.json {
        for f in &found {
            out.line(&json(f))?;
        }
    } else {
        report(&mut out, &checker, &found)?;
    }
    let source_name = args
        .source
        .log
        .as_ref()
        .map_or_else(String::new, |p| p.display().to_string());
    layers.write(&mut out, args.json, &source_name)?;
    out.flush()?;
    let violations = found
        .iter()
        .filter(|f| f.severity() == Severity::Violation)
        .count();
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

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The text report: the findings of each conversation in a table, then a summary.
fn report(out: &mut Out, checker: &Checker, found: &[Finding]) -> CliResult {
    // Conversations in order of their first finding; a discovered end keeps its name once paired.
    let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for f in found {
        let name = f.conversation.to_string();
        let i = *index.entry(name.clone()).or_insert_with(|| {
            groups.push((name, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(f);
    }
    for (name, findings) in &groups {
        let violations = findings
            .iter()
            .filter(|f| f.severity() == Severity::Violation)
            .count();
        let warnings = findings.len() - violations;
        out.line(&format!(
            "{name}: {violations} violation{}, {warnings} warning{}",
            plural(violations),
            plural(warnings)
        ))?;
        out.line(&format!(
            "  {:<26} {:<26} {:<9} {:<14} {:<30} detail",
            "frame (time)", "since", "severity", "by", "finding"
        ))?;
        for f in findings {
            out.line(&format!(
                "  {:<26} {:<26} {:<9} {:<14} {:<30} {}",
                frame_text(f.frame),
                f.since.map_or_else(|| "-".to_string(), frame_text),
                f.severity().to_string(),
                f.from.map_or_else(|| "-".to_string(), |p| p.to_string()),
                f.kind.name(),
                f.kind
            ))?;
        }
    }
    let clean: Vec<String> = checker
        .conversations()
        .map(|c| c.to_string())
        .filter(|c| !index.contains_key(c))
        .collect();
    for c in &clean {
        out.line(&format!("{c}: clean"))?;
    }
    let violations = found
        .iter()
        .filter(|f| f.severity() == Severity::Violation)
        .count();
    out.line(&format!(
        "{} frame{}, {} conversation{} with findings, {} clean: {violations} violation{}, {} warning{}",
        checker.frames(),
        plural(checker.frames() as usize),
        groups.len(),
        plural(groups.len()),
        clean.len(),
        plural(violations),
        found.len() - violations,
        plural(found.len() - violations)
    ))
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
        Some((measured, limit)) => j
            .int("measured_us", measured.as_micros() as u64)
            .int("limit_us", limit.as_micros() as u64),
        None => j.raw("measured_us", "null").raw("limit_us", "null"),
    }
}
