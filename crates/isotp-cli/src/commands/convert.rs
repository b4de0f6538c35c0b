//! `isotp convert`: a recorded log from one format to another, frame for frame.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use isotp::capture::{Format, Writer};

use crate::cli::ConvertArgs;
use crate::error::{CliError, CliResult};
use crate::output::note;
use crate::source::{open_log, zone};

/// At most this many malformed records are described; the rest are counted.
const MAX_WARNINGS: u64 = 10;

/// Runs `isotp convert`.
pub fn run(args: &ConvertArgs) -> CliResult {
    let to = args
        .to
        .or_else(|| Format::from_path(&args.output))
        .ok_or_else(|| {
            CliError::usage(format!(
                "cannot tell the output format of '{}' from its extension: give --to candump|asc|blf|pcapng|pcap",
                args.output.display()
            ))
        })?;
    if !to.is_writable() {
        return Err(CliError::usage(format!(
            "writing {} is not supported: convert to candump, asc, blf, pcapng, pcap or mf4",
            to.description()
        )));
    }
    let mut reader = open_log(&args.input, args.from, zone(args.utc))?;
    let from = reader.format();
    let stdout = args.output.as_os_str() == "-";
    if stdout && !to.is_streamable() {
        return Err(CliError::usage(
            "BLF and MF4 are written to a file (their headers are completed at the end), not to standard output",
        ));
    }
    if !stdout && same_file(&args.input, &args.output) {
        return Err(CliError::usage("the output would overwrite the input"));
    }
    let out: Output = if stdout {
        Output::Stdout(BufWriter::with_capacity(1 << 16, io::stdout()))
    } else {
        let f = File::create(&args.output).map_err(|e| {
            CliError::usage(format!("cannot create '{}': {e}", args.output.display()))
        })?;
        Output::File(BufWriter::with_capacity(1 << 16, f))
    };
    let mut writer =
        Writer::with_zone(out, to, zone(args.utc)).map_err(|e| CliError::failure(e.to_string()))?;
    let (mut frames, mut malformed) = (0u64, 0u64);
    for item in &mut reader {
        match item {
            Ok(record) => {
                writer.write(&record).map_err(|e| write_failed(&e))?;
                frames += 1;
            }
            Err(e) if e.is_fatal() => {
                return Err(CliError::usage(format!("{}: {e}", args.input.display())))
            }
            Err(e) => {
                malformed += 1;
                if malformed <= MAX_WARNINGS {
                    note(&format!("skipped {e}"));
                }
                if malformed == MAX_WARNINGS {
                    note("further malformed records are counted, not shown");
                }
            }
        }
    }
    writer.finish().map_err(|e| write_failed(&e))?;
    let skipped = reader.skipped();
    let mut summary = format!("{frames} frames converted from {from} to {to}");
    let passed = [
        (skipped.remote, "remote frame"),
        (skipped.error, "error frame"),
        (skipped.other, "other event"),
        (malformed, "malformed record"),
    ];
    let parts: Vec<String> = passed
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if !parts.is_empty() {
        summary.push_str(&format!("; not carried: {}", parts.join(", ")));
    }
    note(&summary);
    Ok(())
}

fn write_failed(e: &isotp::capture::Error) -> CliError {
    if e.message.contains("Broken pipe") {
        return CliError::output(io::Error::from(io::ErrorKind::BrokenPipe));
    }
    CliError::failure(e.to_string())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A file, or standard output for the formats that never seek ([`Format::is_streamable`]).
pub(crate) enum Output {
    File(BufWriter<File>),
    Stdout(BufWriter<io::Stdout>),
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::File(w) => w.write(buf),
            Output::Stdout(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::File(w) => w.flush(),
            Output::Stdout(w) => w.flush(),
        }
    }
}

impl Seek for Output {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Output::File(w) => w.seek(pos),
            Output::Stdout(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "standard output cannot seek",
            )),
        }
    }
}
