//! `isotp echo`: a responder that sends back every message it receives, a reference device under
//! test for `isotp conformance` and for testing testers.

use std::time::Duration;

use clap::Args;
use isotp::{Stack, StackError};

use crate::commands::send::require_iface;
use crate::error::{from_stack, CliResult};
use crate::iface::{self, IfaceArg};
use crate::link_options::{self, AddressArgs, FlowArgs, LinkArgs, Needs};
use crate::output::{note, Out};

/// How often the loop looks at the stack's error channel.
const SLICE: Duration = Duration::from_millis(50);

/// `isotp echo`.
#[derive(Args, Debug)]
pub struct EchoArgs {
    #[command(flatten)]
    pub iface: IfaceArg,
    #[command(flatten)]
    pub address: AddressArgs,
    #[command(flatten)]
    pub link: LinkArgs,
    #[command(flatten)]
    pub flow: FlowArgs,

    /// Exit after echoing COUNT messages [default: run until interrupted]
    #[arg(short = 'n', long, value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Print nothing on standard output (by default each echoed message, as recv prints it)
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Runs `isotp echo`.
pub fn run(args: &EchoArgs) -> CliResult {
    let address = link_options::link_address(&args.address, Needs::Both)?;
    let config = link_options::config(&args.link, Some(&args.flow))?;
    let spec = require_iface(args.iface.iface.as_deref())?;
    let stack = Stack::new(iface::open(spec)?, address, config).map_err(from_stack)?;
    let errors = stack.errors();
    let mut out = Out::live();
    let mut echoed = 0u64;
    while args.count.map_or(true, |n| echoed < n) {
        let got = stack.recv(Some(SLICE)).map_err(from_stack)?;
        for e in errors.try_iter() {
            report(e)?;
        }
        let Some(message) = got else { continue };
        // The reply waits for the tester's flow control, so it may fail; the echo goes on. A failed
        // transfer also reaches the error channel, where it is reported once.
        match stack.send_blocking(&message, None) {
            Ok(()) | Err(StackError::Protocol(_) | StackError::Timeout { .. }) => {}
            Err(other) => return Err(from_stack(other)),
        }
        echoed += 1;
        if !args.quiet {
            out.line(&crate::hex::spaced(&message))?;
        }
    }
    Ok(())
}

/// A failed transfer is reported and echoing goes on; a failing bus ends the command.
fn report(e: StackError) -> CliResult {
    match e {
        StackError::Protocol(p) => {
            note(&format!("echo: {p}"));
            Ok(())
        }
        StackError::Timeout { .. } => {
            note(&format!("echo: {e}"));
            Ok(())
        }
        other => Err(from_stack(other)),
    }
}
