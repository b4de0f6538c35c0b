//! Frames for `dump` and `sniff`: from a live interface, or from a recorded log (candump, ASC, BLF,
//! TRC, pcapng, pcap or MF4; a file or standard input), with the time each was captured.

use std::io::{self, BufRead, BufReader};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isotp::bus::CanBus;
use isotp_capture::{Format, Zone};
use isotp_core::Frame;

use crate::cli::SourceArgs;
use crate::error::{CliError, CliResult};
use crate::iface;
use crate::output::{note, LiveClock, Timestamp};

/// A captured frame.
#[derive(Clone, Debug)]
pub struct Captured {
    /// When it was captured.
    pub time: Timestamp,
    /// The interface name to show (`can0`), shared rather than allocated for each frame.
    pub iface: Arc<str>,
    /// The frame.
    pub frame: Frame,
}

/// What [`FrameSource::next`] found.
#[derive(Debug)]
pub enum Next {
    /// A frame.
    Frame(Captured),
    /// Live: no frame within the wait; the time now.
    Idle(Timestamp),
    /// The log ended.
    End,
}

/// Where frames come from.
pub enum FrameSource {
    /// A recorded log.
    Log {
        /// The reader (boxed: it holds a record and its buffers' bookkeeping).
        reader: Box<isotp_capture::Reader<Box<dyn BufRead>>>,
        /// Malformed records seen so far.
        malformed: u64,
        /// The names of the channels seen so far (a log names a few, many times).
        names: Vec<(isotp_capture::Channel, Arc<str>)>,
    },
    /// A live bus.
    Live {
        /// The bus.
        bus: Box<dyn CanBus>,
        /// Its short name.
        name: Arc<str>,
        /// Capture times.
        clock: LiveClock,
        /// Give up after this long without a frame.
        idle_limit: Option<Duration>,
        /// When the last frame came.
        last_frame: Instant,
        /// The interface as given.
        spec: String,
    },
}

impl FrameSource {
    /// The log of `--log` if given, else the interface of `-i`.
    pub fn open(args: &SourceArgs) -> CliResult<FrameSource> {
        args.check_one_source()?;
        if let Some(path) = &args.log {
            return Ok(FrameSource::Log {
                reader: Box::new(open_log(path, args.log_format, zone(args.utc))?),
                malformed: 0,
                names: Vec::new(),
            });
        }
        let Some(spec) = args.iface.iface.clone() else {
            return Err(CliError::usage(format!(
                "give an interface with -i IFACE ({}) or a recorded log with --log FILE",
                iface::FORMS
            )));
        };
        let bus = iface::open(&spec)?;
        Ok(FrameSource::Live {
            bus,
            name: iface::short_name(&spec).into(),
            clock: LiveClock::new(),
            idle_limit: args.timeout,
            last_frame: Instant::now(),
            spec,
        })
    }

    /// True for a log (offline analysis).
    pub fn is_log(&self) -> bool {
        matches!(self, FrameSource::Log { .. })
    }

    /// The next frame. Live, waits at most `wait` (forever with `None`, or until the idle limit);
    /// malformed log lines are reported on standard error and skipped.
    pub fn next(&mut self, wait: Option<Duration>) -> CliResult<Next> {
        match self {
            FrameSource::Log {
                reader,
                malformed,
                names,
            } => loop {
                match reader.next() {
                    None => return Ok(Next::End),
                    Some(Ok(r)) => {
                        return Ok(Next::Frame(Captured {
                            // BLF has nanoseconds: to the nearest microsecond.
                            time: Timestamp::from_micros(
                                u64::try_from((r.time.as_nanos() + 500) / 1000).unwrap_or(u64::MAX),
                            ),
                            iface: channel_name(names, r.channel),
                            frame: r.frame,
                        }));
                    }
                    Some(Err(e)) if e.is_fatal() => return Err(CliError::usage(e.to_string())),
                    Some(Err(e)) => {
                        *malformed += 1;
                        if *malformed <= MAX_WARNINGS {
                            note(&format!("skipped log {e}"));
                        }
                        if *malformed == MAX_WARNINGS {
                            note("further malformed records are counted, not shown");
                        }
                    }
                }
            },
            FrameSource::Live {
                bus,
                name,
                clock,
                idle_limit,
                last_frame,
                spec,
            } => {
                let idle_left = idle_limit.map(|l| l.saturating_sub(last_frame.elapsed()));
                let wait = match (wait, idle_left) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                match bus.recv(wait) {
                    Ok(Some(frame)) => {
                        *last_frame = Instant::now();
                        Ok(Next::Frame(Captured {
                            time: clock.now(),
                            iface: name.clone(),
                            frame,
                        }))
                    }
                    Ok(None) => {
                        if let Some(limit) = idle_limit {
                            if last_frame.elapsed() >= *limit {
                                return Err(CliError::failure(format!(
                                    "timed out after {} waiting for a CAN frame on {spec}",
                                    crate::output::seconds_text(*limit)
                                )));
                            }
                        }
                        Ok(Next::Idle(clock.now()))
                    }
                    Err(e) => Err(CliError::failure(format!("{spec}: {e}"))),
                }
            }
        }
    }

    /// Reports skipped log records at the end of a run.
    pub fn finish(&self) {
        if let FrameSource::Log {
            malformed, reader, ..
        } = self
        {
            if *malformed > 0 {
                let what = match reader.format() {
                    Format::Blf => "object",
                    Format::Pcapng => "block",
                    Format::Pcap => "packet",
                    _ => "line",
                };
                note(&format!(
                    "{malformed} malformed log {what}{} skipped",
                    if *malformed == 1 { "" } else { "s" }
                ));
            }
        }
    }
}

/// The name of `channel`, from `names` when it was seen before; the first [`MAX_NAMES`] channels
/// are remembered.
fn channel_name(
    names: &mut Vec<(isotp_capture::Channel, Arc<str>)>,
    channel: isotp_capture::Channel,
) -> Arc<str> {
    if let Some((_, name)) = names.iter().find(|(c, _)| *c == channel) {
        return name.clone();
    }
    let name: Arc<str> = channel.to_string().into();
    if names.len() < MAX_NAMES {
        names.push((channel, name.clone()));
    }
    name
}

/// How many channel names a log source remembers.
const MAX_NAMES: usize = 32;

/// At most this many malformed records are described; the rest are counted.
const MAX_WARNINGS: u64 = 10;

/// The zone of `--utc`: UTC when given, else local time.
pub fn zone(utc: bool) -> Zone {
    if utc {
        Zone::Utc
    } else {
        Zone::Local
    }
}

/// Opens a log for reading: `-` is standard input. The format is `format`, else the file's extension,
/// else what its first bytes look like, else candump; header dates are read in `zone`.
pub fn open_log(
    path: &std::path::Path,
    format: Option<Format>,
    zone: Zone,
) -> CliResult<isotp_capture::Reader<Box<dyn BufRead>>> {
    let mut input: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(BufReader::with_capacity(1 << 16, io::stdin()))
    } else {
        if path.is_dir() {
            return Err(CliError::usage(format!(
                "cannot read log '{}': it is a directory",
                path.display()
            )));
        }
        let f = std::fs::File::open(path)
            .map_err(|e| CliError::usage(format!("cannot open log '{}': {e}", path.display())))?;
        Box::new(BufReader::with_capacity(1 << 16, f))
    };
    let head = input
        .fill_buf()
        .map_err(|e| CliError::usage(format!("cannot read log '{}': {e}", path.display())))?;
    let format = Format::detect(format, path, head);
    if format == Format::Mf4
        && path.as_os_str() != "-"
        && isotp_capture::Format::sniff(head) == Some(Format::Mf4)
    {
        // Read in place: MF4 links are file offsets.
        let f = std::fs::File::open(path)
            .map_err(|e| CliError::usage(format!("cannot open log '{}': {e}", path.display())))?;
        return isotp_capture::Reader::mf4_in_place(BufReader::with_capacity(1 << 16, f))
            .map_err(|e| CliError::usage(format!("{}: {e}", path.display())));
    }
    isotp_capture::Reader::with_zone(input, format, zone)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}
