//! `isotp sniff`: complete PDUs of both directions, watched without transmitting, live or from a log.
//!
//! The reassembly is isotp-core's [`Monitor`]: a log is replayed in its own time (N_Bs and N_Cr
//! measured between the logged frames), a live bus in real time.

use std::time::Duration;

use isotp_core::monitor::{Monitor, MonitorConfig, MonitorEvent};
use isotp_core::{Instant, ProtocolError};

use crate::cli::{RxExt, SniffArgs};
use crate::error::{CliError, CliResult};
use crate::link_options::{self, Watch};
use crate::message_format::{MessageLine, MessagePrinter};
use crate::output::{note, ColorChoice, EvictionNotes, Out, Palette, Stamper, Timestamp};
use crate::source::{FrameSource, Next};

/// How often a live sniffer wakes without traffic to run the protocol timers.
const TICK: Duration = Duration::from_millis(100);

/// Runs `isotp sniff`.
pub fn run(args: &SniffArgs, color: ColorChoice) -> CliResult {
    let color = if args.colour {
        ColorChoice::Always
    } else {
        color
    };
    let mut monitor = monitor_for(args)?;
    let mut source = FrameSource::open(&args.source)?;
    let mut printer = MessagePrinter::new(
        args.pdu_format(),
        Stamper::new(args.time),
        Palette::for_stdout(color),
        args.uds,
    );
    let mut out = if source.is_log() {
        Out::buffered()
    } else {
        Out::live()
    };
    let limit = args.source.count;
    let mut printed = 0u64;
    let mut last_time: Option<Timestamp> = None;
    let mut evictions = EvictionNotes::default();
    let result = loop {
        if limit.is_some_and(|n| printed >= n) {
            break Ok(());
        }
        match source.next(Some(TICK)) {
            Ok(Next::Frame(c)) => {
                last_time = Some(c.time);
                monitor.handle_frame(&c.frame, instant(c.time));
                evictions.watch(monitor.evictions());
            }
            Ok(Next::Idle(now)) => monitor.handle_timeout(instant(now)),
            Ok(Next::End) => break Ok(()),
            Err(e) => break Err(e),
        }
        if let Err(e) = report(
            &mut monitor,
            &mut printer,
            &mut out,
            &mut printed,
            limit,
            args.head,
        ) {
            break Err(e);
        }
    };
    out.flush()?;
    if result.is_ok() && source.is_log() && limit.map_or(true, |n| printed < n) {
        for c in monitor.in_progress() {
            note(&format!(
                "the log ended during a transfer from {c}{}",
                last_time.map_or_else(String::new, |t| format!(" (last frame at {})", t.seconds()))
            ));
        }
    }
    evictions.summary(monitor.evictions());
    source.finish();
    result
}

/// The monitor for the options: the conversation of -s/-d/-x, or discovery.
fn monitor_for(args: &SniffArgs) -> CliResult<Monitor> {
    let mut address = args.address.clone();
    if let (Some(ext), Some(RxExt::Byte(rx))) = (address.ext.as_mut(), args.rx_ext) {
        ext.rx = Some(rx);
    }
    if args.rx_ext == Some(RxExt::Any) {
        return Err(CliError::usage(
            "-X any is isotpdump's: sniff needs the address byte",
        ));
    }
    let a = &address;
    let mut settings = MonitorConfig::default();
    settings.config.max_frame_size = args.max_size;
    match link_options::watch_for(a, args.discover)? {
        Watch::Discover(discovery) => {
            settings.discovery = Some(discovery);
            Ok(Monitor::new(settings))
        }
        Watch::Address(address) => {
            let mut monitor = Monitor::new(settings);
            monitor
                .watch(address)
                .map_err(|e| CliError::usage(e.to_string()))?;
            Ok(monitor)
        }
    }
}

fn instant(t: Timestamp) -> Instant {
    Instant::from_micros(t.as_micros())
}

fn report(
    monitor: &mut Monitor,
    printer: &mut MessagePrinter,
    out: &mut Out,
    printed: &mut u64,
    limit: Option<u64>,
    head: Option<usize>,
) -> CliResult {
    while let Some(event) = monitor.poll_event() {
        match event {
            MonitorEvent::Message(m) => {
                if limit.is_some_and(|n| *printed >= n) {
                    continue;
                }
                printer.print(
                    out,
                    &MessageLine {
                        time: Timestamp::from_micros(m.last_frame.time.as_micros()),
                        from: m.from,
                        to: m.to,
                        target: m.target_address_type,
                        payload: &m.payload
                            [..head.map_or(m.payload.len(), |h| h.min(m.payload.len()))],
                    },
                )?;
                *printed += 1;
            }
            MonitorEvent::Failed {
                conversation,
                error,
                time,
                ..
            } => {
                let why = match error {
                    ProtocolError::MessageTooLarge {
                        length,
                        max_frame_size,
                    } => format!(
                        "a message of {length} bytes is larger than --max-size {max_frame_size}; skipped"
                    ),
                    e => format!("transfer failed: {e}"),
                };
                let time = Timestamp::from_micros(time.as_micros());
                note(&format!("({}) {conversation}: {why}", time.seconds()));
            }
            // Frames the standard says to ignore are dump's business; sniff shows messages.
            _ => {}
        }
    }
    Ok(())
}
