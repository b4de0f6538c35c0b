//! `isotp recv`: receives PDUs like isotprecv and prints each on one line; diagnostics go to stderr.

use std::time::{Duration, Instant};

use isotp::{Stack, StackError};
use isotp_core::monitor::Party;

use crate::cli::RecvArgs;
use crate::commands::send::require_iface;
use crate::error::{from_stack, CliError, CliResult};
use crate::iface;
use crate::link_options::{self, Needs};
use crate::message_format::{MessageLine, MessagePrinter};
use crate::output::{note, seconds_text, ColorChoice, LiveClock, Out, Palette, Stamper, TimeMode};

/// How often the wait for a PDU looks at the stack's error channel.
const SLICE: Duration = Duration::from_millis(50);

/// Runs `isotp recv`.
pub fn run(args: &RecvArgs, color: ColorChoice) -> CliResult {
    let address = link_options::link_address(&args.address, Needs::Both)?;
    let config = link_options::config(&args.link, Some(&args.flow))?;
    let spec = require_iface(args.iface.iface.as_deref())?;
    let bus = iface::open(spec)?;
    let stack = Stack::new(bus, address, config).map_err(from_stack)?;
    let errors = stack.errors();
    let clock = LiveClock::new();
    let mut printer = MessagePrinter::new(
        args.format,
        Stamper::new(TimeMode::Absolute),
        Palette::for_stdout(color),
        args.uds,
    );
    let mut out = Out::live();
    let (Some(rx_id), tx_id) = (args.address.rx_id, args.address.tx_id) else {
        return Err(CliError::usage("give -d ID, the CAN id to receive on"));
    };
    let mut received = 0u64;
    while args.forever || received < args.count {
        let deadline = args.timeout.and_then(|t| Instant::now().checked_add(t));
        let message = loop {
            let slice = deadline.map_or(SLICE, |d| {
                d.saturating_duration_since(Instant::now()).min(SLICE)
            });
            let got = stack.recv_message(Some(slice)).map_err(from_stack)?;
            for e in errors.try_iter() {
                report(e)?;
            }
            if let Some(m) = got {
                break m;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(CliError::failure(format!(
                    "timed out after {} waiting for a PDU on {rx_id}",
                    seconds_text(args.timeout.unwrap_or_default())
                )));
            }
        };
        printer.print(
            &mut out,
            &MessageLine {
                time: clock.at(message.at),
                from: Party {
                    id: rx_id,
                    address_byte: address.rx_prefix(),
                },
                to: tx_id.map(|id| Party {
                    id,
                    address_byte: address.tx_prefix(),
                }),
                target: message.target_address_type,
                payload: &message.payload,
            },
        )?;
        received += 1;
    }
    Ok(())
}

/// A failed reception is reported and waiting goes on; a failing bus ends the command.
fn report(e: StackError) -> CliResult {
    match e {
        StackError::Protocol(p) => {
            note(&format!("reception failed: {p}"));
            Ok(())
        }
        other => Err(from_stack(other)),
    }
}
