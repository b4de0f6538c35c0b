//! `isotp sniff`: complete PDUs of both directions, watched without transmitting, live or from a log.

use std::time::Duration;

use isotp_core::ProtocolError;

use crate::cli::{RxExt, SniffArgs};
use crate::error::{CliError, CliResult};
use crate::link_options;
use crate::message_format::{MessageLine, MessagePrinter};
use crate::output::{note, ColorChoice, Out, Palette, Stamper, Timestamp};
use crate::reassembly::{Found, Tracker};
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
    let mut tracker = if a.tx_id.is_none() && a.rx_id.is_none() {
        if a.ext.is_some() {
            return Err(CliError::usage(
                "-x needs the ids: give -s and -d (discovery follows normal addressing only)",
            ));
        }
        Tracker::discovering(args.max_size)
    } else {
        let address = link_options::address_for(a.tx_id, a.rx_id, a.ext)?;
        Tracker::fixed(address, a.tx_id, a.rx_id, args.max_size).map_err(CliError::usage)?
    };
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
    let mut found = Vec::new();
    let mut last_time: Option<Timestamp> = None;
    let result = loop {
        if limit.is_some_and(|n| printed >= n) {
            break Ok(());
        }
        match source.next(Some(TICK)) {
            Ok(Next::Frame(c)) => {
                last_time = Some(c.time);
                tracker.frame(&c.frame, c.time, &mut found);
            }
            Ok(Next::Idle(now)) => tracker.tick(now, &mut found),
            Ok(Next::End) => break Ok(()),
            Err(e) => break Err(e),
        }
        if let Err(e) = report(
            &mut found,
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
        for id in tracker.unfinished() {
            note(&format!(
                "the log ended during a transfer from {id}{}",
                last_time.map_or_else(String::new, |t| format!(" (last frame at {})", t.seconds()))
            ));
        }
    }
    source.finish();
    result
}

fn report(
    found: &mut Vec<Found>,
    printer: &mut MessagePrinter,
    out: &mut Out,
    printed: &mut u64,
    limit: Option<u64>,
    head: Option<usize>,
) -> CliResult {
    for f in found.drain(..) {
        match f {
            Found::Message(m) => {
                if limit.is_some_and(|n| *printed >= n) {
                    continue;
                }
                printer.print(
                    out,
                    &MessageLine {
                        time: m.time,
                        from: m.from,
                        to: m.to,
                        target: m.target,
                        payload: &m.payload
                            [..head.map_or(m.payload.len(), |h| h.min(m.payload.len()))],
                    },
                )?;
                *printed += 1;
            }
            Found::Failure {
                time,
                conversation,
                error,
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
                note(&format!("({}) {conversation}: {why}", time.seconds()));
            }
        }
    }
    Ok(())
}
