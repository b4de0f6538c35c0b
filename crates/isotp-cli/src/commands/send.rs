//! `isotp send`: one PDU (or `-l N` of them), like isotpsend; exits 0 once the last frame is out.

use std::io::Read;
use std::time::Duration;

use isotp::Stack;
use isotp_core::TargetAddressType;

use crate::cli::{Repeat, SendArgs};
use crate::error::{from_stack, CliError, CliResult};
use crate::hex;
use crate::iface;
use crate::link_options::{self, Needs};

/// Runs `isotp send`.
pub fn run(args: &SendArgs) -> CliResult {
    let needs = if args.functional {
        Needs::TxOnly
    } else {
        Needs::Both
    };
    let address = link_options::link_address(&args.address, needs)?;
    let config = link_options::config(&args.link, None)?;
    let payload = payload(args)?;
    let spec = require_iface(args.iface.iface.as_deref())?;
    let bus = iface::open(spec)?;
    let stack = Stack::new(bus, address, config).map_err(from_stack)?;
    let target = if args.functional {
        TargetAddressType::Functional
    } else {
        TargetAddressType::Physical
    };
    let mut sent: u64 = 0;
    loop {
        if let Repeat::Times(n) = args.repeat {
            if sent >= n {
                return Ok(());
            }
        }
        if sent > 0 && args.gap_us > 0 {
            std::thread::sleep(Duration::from_micros(args.gap_us));
        }
        stack
            .send_blocking_to(&payload, target, args.timeout)
            .map_err(|e| match e {
                isotp::StackError::Timeout { waited, .. } => CliError::failure(format!(
                    "timed out after {} waiting for the PDU to be sent",
                    crate::output::seconds_text(waited)
                )),
                e => from_stack(e),
            })?;
        sent += 1;
    }
}

/// The interface of `-i`, or a usage error naming the forms.
pub fn require_iface(iface: Option<&str>) -> CliResult<&str> {
    iface.ok_or_else(|| {
        CliError::usage(format!(
            "give an interface with -i IFACE or ISOTP_IFACE ({})",
            iface::FORMS
        ))
    })
}

/// The payload of `--data`, `--file` or standard input.
fn payload(args: &SendArgs) -> CliResult<Vec<u8>> {
    let bytes = if let Some(text) = &args.data {
        hex::parse_bytes(text).map_err(|e| CliError::usage(format!("bad hex in --data: {e}")))?
    } else if let Some(path) = &args.file {
        std::fs::read(path)
            .map_err(|e| CliError::usage(format!("cannot read '{}': {e}", path.display())))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::usage(format!("cannot read standard input as text: {e}")))?;
        hex::parse_bytes(&text)
            .map_err(|e| CliError::usage(format!("bad hex on standard input: {e}")))?
    };
    if bytes.is_empty() {
        return Err(CliError::usage(
            "nothing to send: the payload is empty (give --data, --file or hex bytes on standard input)",
        ));
    }
    Ok(bytes)
}
