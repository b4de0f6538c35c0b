//! `isotp`: ISO 15765-2 (ISO-TP) from the shell, the front end of the project's crates.
//!
//! The command owns its arguments, its output formats and the `perf` harness (`measure`); the
//! protocol is the libraries': `isotp-core` (frames explained, conversations followed, UDS timing),
//! `isotp` (drivers and buses), `isotp-capture` (recordings), `isotp-conformance` (device tests) and
//! `isotp-hub` (`isotp hub`). Its manual is the crate's README (the page docs.rs shows), docs/cli.md
//! and `isotp --help`.

mod cli;
mod commands;
mod ecu;
mod error;
mod hex;
mod iface;
mod link_options;
mod logger;
mod measure;
mod message_format;
mod output;
mod source;
mod uds;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliResult;

fn run(cli: &Cli) -> CliResult {
    match &cli.command {
        Command::Send(a) => commands::send::run(a),
        Command::Recv(a) => commands::recv::run(a, cli.color),
        Command::Dump(a) => commands::dump::run(a, cli.color),
        Command::Sniff(a) => commands::sniff::run(a, cli.color),
        Command::Perf(a) => commands::perf::run(a),
        Command::Hub(a) => commands::hub::run(a),
        Command::Demo(a) => commands::demo::run(a, cli.color),
        Command::Conformance(a) => commands::conformance::run(a, cli.color),
        Command::Echo(a) => commands::echo::run(a),
        Command::Convert(a) => commands::convert::run(a),
        Command::Request(a) => commands::request::run(a),
        Command::Scan(a) => commands::scan::run(a),
        Command::Check(a) => commands::check::run(a),
        Command::Extcap(a) => commands::extcap::run(a),
    }
}

fn main() -> ExitCode {
    // Usage errors exit with 2 (clap's convention, and ours); --help and --version with 0.
    // Run as `isotp-extcap` (the link Wireshark's extcap folder holds), the arguments are those of
    // `isotp extcap`.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let extcap = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_stem())
        .is_some_and(|name| name == "isotp-extcap");
    if extcap {
        args.insert(1, "extcap".into());
    }
    let cli = Cli::parse_from(args);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                output::note(&e.message);
            }
            ExitCode::from(e.code)
        }
    }
}
