//! `isotp convert`: a recorded log from one format to another, frame for frame.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use isotp_capture::{Format, Writer};
use tempfile::NamedTempFile;

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
        return Err(CliError::usage(format!(
            "the output '{}' is the input '{}' (the same file): it would be overwritten",
            args.output.display(),
            args.input.display()
        )));
    }
    let out: Output = if stdout {
        Output::Stdout(BufWriter::with_capacity(1 << 16, io::stdout()))
    } else {
        Output::Temp(BufWriter::with_capacity(1 << 16, beside(&args.output)?))
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
    if let Output::Temp(file) = writer.finish().map_err(|e| write_failed(&e))? {
        put_in_place(file, &args.output)?;
    }
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

fn write_failed(e: &isotp_capture::Error) -> CliError {
    if e.message.contains("Broken pipe") {
        return CliError::output(io::Error::from(io::ErrorKind::BrokenPipe));
    }
    CliError::failure(e.to_string())
}

/// True when both paths name one file: the same device and inode, so that a hard link or a symbolic
/// link to the input counts as the input (comparing path names does not see hard links).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(a), Ok(b)) => {
            use std::os::unix::fs::MetadataExt;
            (a.dev(), a.ino()) == (b.dev(), b.ino())
        }
        #[cfg(not(unix))]
        (Ok(_), Ok(_)) => matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b),
        _ => false,
    }
}

/// A new temporary file in the directory of `output`: the conversion is written there and renamed
/// into place when complete, so that a failed conversion leaves no partial file and the file it
/// replaces (or any other name of that file) is never written to.
fn beside(output: &Path) -> CliResult<NamedTempFile> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".isotp-convert-").suffix(".tmp");
    // The mode a plain create would give (before the umask), not the private 0600 of temporary files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir).map_err(|e| {
        CliError::usage(format!(
            "cannot create a file beside '{}': {e}",
            output.display()
        ))
    })
}

/// Flushes the finished temporary file to disk and renames it to `output`.
fn put_in_place(file: BufWriter<NamedTempFile>, output: &Path) -> CliResult {
    let cannot = |e: &dyn std::fmt::Display| {
        CliError::failure(format!("cannot write '{}': {e}", output.display()))
    };
    let file = file.into_inner().map_err(|e| cannot(e.error()))?;
    file.as_file().sync_all().map_err(|e| cannot(&e))?;
    file.persist(output).map_err(|e| cannot(&e.error))?;
    Ok(())
}

/// Where a writer's bytes go: a file written live (`dump -w`), a temporary file renamed into place
/// when complete (`convert`), or standard output for the formats that never seek
/// ([`Format::is_streamable`]).
pub(crate) enum Output {
    File(BufWriter<File>),
    Temp(BufWriter<NamedTempFile>),
    Stdout(BufWriter<io::Stdout>),
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::File(w) => w.write(buf),
            Output::Temp(w) => w.write(buf),
            Output::Stdout(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::File(w) => w.flush(),
            Output::Temp(w) => w.flush(),
            Output::Stdout(w) => w.flush(),
        }
    }
}

impl Seek for Output {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Output::File(w) => w.seek(pos),
            Output::Temp(w) => w.seek(pos),
            Output::Stdout(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "standard output cannot seek",
            )),
        }
    }
}
