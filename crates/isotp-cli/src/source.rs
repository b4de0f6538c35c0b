//! Frames for `dump` and `sniff`: from a live interface, or from a candump log (a file or standard
//! input), with the time each was captured.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::time::{Duration, Instant};

use isotp::bus::CanBus;
use isotp_core::Frame;

use crate::candump_log::LogReader;
use crate::cli::SourceArgs;
use crate::error::{CliError, CliResult};
use crate::iface;
use crate::output::{note, LiveClock, Timestamp};

/// Malformed log lines reported one by one; the rest are only counted.
const WARNINGS_SHOWN: u64 = 10;
/// Malformed lines before any frame after which a file is taken for something else than a log.
const NOT_A_LOG_AFTER: u64 = 10;

/// A captured frame.
#[derive(Clone, Debug)]
pub struct Captured {
    /// When it was captured.
    pub time: Timestamp,
    /// The interface name to show (`can0`).
    pub iface: String,
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
    /// A candump log.
    Log {
        /// The parser.
        reader: LogReader<Box<dyn BufRead>>,
        /// Malformed lines seen so far.
        malformed: u64,
        /// Frames read so far.
        frames: u64,
        /// The log as given, for messages.
        name: String,
    },
    /// A live bus.
    Live {
        /// The bus.
        bus: Box<dyn CanBus>,
        /// Its short name.
        name: String,
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
            if path.is_dir() {
                return Err(CliError::usage(format!(
                    "--log '{}' is a directory: give a candump log file",
                    path.display()
                )));
            }
            let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
                Box::new(BufReader::new(io::stdin()))
            } else {
                let f = File::open(path).map_err(|e| {
                    CliError::usage(format!("cannot open log '{}': {e}", path.display()))
                })?;
                Box::new(BufReader::new(f))
            };
            return Ok(FrameSource::Log {
                reader: LogReader::new(input),
                malformed: 0,
                frames: 0,
                name: if path.as_os_str() == "-" {
                    "standard input".into()
                } else {
                    format!("'{}'", path.display())
                },
            });
        }
        let Some(spec) = args.iface.iface.clone() else {
            return Err(CliError::usage(format!(
                "give an interface with -i IFACE ({}) or a candump log with --log FILE",
                iface::FORMS
            )));
        };
        let bus = iface::open(&spec)?;
        Ok(FrameSource::Live {
            bus,
            name: iface::short_name(&spec),
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
                frames,
                name,
            } => loop {
                match reader.next() {
                    None if *frames == 0 && *malformed > 0 => {
                        return Err(not_a_log(name, *malformed))
                    }
                    None => return Ok(Next::End),
                    Some(Ok(f)) => {
                        *frames += 1;
                        return Ok(Next::Frame(Captured {
                            time: f.time,
                            iface: f.iface,
                            frame: f.frame,
                        }));
                    }
                    Some(Err(e)) => {
                        *malformed += 1;
                        if *frames == 0 && *malformed >= NOT_A_LOG_AFTER {
                            return Err(not_a_log(name, *malformed));
                        }
                        if *malformed <= WARNINGS_SHOWN {
                            note(&format!("skipped log {e}"));
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

    /// Reports skipped log lines at the end of a run.
    pub fn finish(&self) {
        if let FrameSource::Log { malformed, .. } = self {
            if *malformed > WARNINGS_SHOWN {
                note(&format!(
                    "(only the first {WARNINGS_SHOWN} malformed lines were shown)"
                ));
            }
            if *malformed > 0 {
                note(&format!(
                    "{malformed} malformed log line{} skipped",
                    if *malformed == 1 { "" } else { "s" }
                ));
            }
        }
    }
}

/// A file whose first lines are all malformed is not a candump log at all.
fn not_a_log(name: &str, malformed: u64) -> CliError {
    CliError::usage(format!(
        "{name} is not a candump log: its first {malformed} line{} hold no frame; a candump log \
         line looks like `(1700000000.000000) can0 7E0#0322F190` (candump -L)",
        if malformed == 1 { "" } else { "s" }
    ))
}
