#![deny(missing_docs)]
//! Recorded CAN traffic: reading and writing the log formats that capture tools produce.
//!
//! It depends on `isotp-core` only (its [`Frame`](isotp_core::Frame) and
//! [`CanId`](isotp_core::CanId)), so a log tool needs no driver, and a driver user builds no log
//! format: the `isotp` crate's stacks and this crate meet in the `isotp` command (`sniff --log`,
//! `dump -w`, `check`, `convert`, `extcap`) and in the Python package's `isotp.capture`. Decoding
//! the ISO-TP messages in a recording is `isotp-core`'s [`monitor`](isotp_core::monitor). How the
//! crates depend on each other is the `isotp` crate's manual (`isotp::manual::layers`).
//!
//! | format | extension | read | write |
//! | --- | --- | --- | --- |
//! | candump (can-utils, python-can's `CanutilsLogWriter`) | `.log` | yes | yes |
//! | Vector ASC (classic and CAN FD lines) | `.asc` | yes | yes |
//! | Vector BLF (zlib log containers) | `.blf` | yes | yes |
//! | PEAK TRC, versions 1.0 to 2.1 | `.trc` | yes | no |
//! | pcapng, SocketCAN link type (Wireshark, dumpcap) | `.pcapng` | yes | yes |
//! | classic pcap, SocketCAN link type (tcpdump) | `.pcap` | yes | yes |
//! | ASAM MDF 4 bus logging, `CAN_DataFrame` groups (CAN loggers, python-can's `MF4Writer`) | `.mf4` | yes | yes |
//!
//! A [`Reader`] is an iterator of [`Record`]s (a frame, its time and channel) that holds one line or one
//! log container at a time, so a recording of any size is read in constant memory (an MF4 file,
//! whose links are file offsets, is read in place by [`Reader::open`], one data block at a time). A malformed line is
//! an `Err` item that says where and what was expected, and reading goes on; an input that is not in
//! the format at all, a corrupt binary file or an I/O failure is a fatal `Err`, after which the reader
//! ends ([`Error::is_fatal`]). Remote frames, error frames and events that carry no data frame are
//! passed over and counted ([`Reader::skipped`]).
//!
//! The calendar dates in ASC and BLF headers are read and written in local time, as Vector's tools
//! write them; [`Reader::with_zone`] and [`Writer::with_zone`] take [`Zone::Utc`] for files that
//! follow the other convention. TRC start times are UTC (as PEAK's and python-can's writers use).
//!
//! ```
//! use isotp_capture::{Format, Reader, Writer};
//!
//! let log = "(1700000000.000000) can0 7E0#0322F190\n(1700000000.000450) can0 7E8##1037F2231\n";
//! let mut reader = Reader::new(log.as_bytes(), Format::Candump)?;
//! let mut writer = Writer::new(std::io::Cursor::new(Vec::new()), Format::Asc)?;
//! for record in &mut reader {
//!     let record = record?;
//!     assert_eq!(record.channel.to_string(), "can0");
//!     writer.write(&record)?;
//! }
//! let asc = String::from_utf8(writer.finish()?.into_inner()).unwrap();
//! assert!(asc.contains("7E0             Rx   d 4 03 22 F1 90"));
//! # Ok::<(), isotp_capture::Error>(())
//! ```

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

mod asc;
mod blf;
mod candump;
mod civil;
mod error;
// The body of the fuzz targets (fuzz/) and of their seeded test: not part of the API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod mf4;
mod pcap;
mod record;
mod text;
mod trc;

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};
use std::path::Path;

pub use civil::Zone;
pub use error::{Error, ErrorKind, Position};
pub use record::{Channel, ChannelName, Direction, Record};

/// The log formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// can-utils' candump log (`candump -l`): `(1700000000.123456) can0 7E0#0322F190`.
    Candump,
    /// Vector ASC, the text trace of CANoe/CANalyzer.
    Asc,
    /// Vector BLF, the binary logging format.
    Blf,
    /// PEAK TRC, the trace of PCAN-View and PCAN-Explorer.
    Trc,
    /// pcapng with SocketCAN packets (link type 227), Wireshark's own format.
    Pcapng,
    /// Classic pcap with SocketCAN packets (link type 227); written with nanosecond times.
    Pcap,
    /// ASAM MDF 4 (MF4) bus logging: `CAN_DataFrame` channel groups, plain or deflated data blocks.
    Mf4,
}

impl Format {
    /// Every format, in the order of the table above.
    pub const ALL: [Format; 7] = [
        Format::Candump,
        Format::Asc,
        Format::Blf,
        Format::Trc,
        Format::Pcapng,
        Format::Pcap,
        Format::Mf4,
    ];

    /// The format a file name's extension stands for (`.log`, `.asc`, `.blf`, `.trc`, `.pcapng`,
    /// `.pcap`, `.mf4`, any case).
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Format::ALL.into_iter().find(|f| f.extension() == ext)
    }

    /// The usual extension, without the dot.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Format::Candump => "log",
            Format::Asc => "asc",
            Format::Blf => "blf",
            Format::Trc => "trc",
            Format::Pcapng => "pcapng",
            Format::Pcap => "pcap",
            Format::Mf4 => "mf4",
        }
    }

    /// The short name used on command lines: `candump`, `asc`, `blf`, `trc`, `pcapng`, `pcap`,
    /// `mf4`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Candump => "candump",
            Format::Asc => "asc",
            Format::Blf => "blf",
            Format::Trc => "trc",
            Format::Pcapng => "pcapng",
            Format::Pcap => "pcap",
            Format::Mf4 => "mf4",
        }
    }

    /// What the format is, for messages: `a Vector ASC file`.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Format::Candump => "a candump log",
            Format::Asc => "a Vector ASC file",
            Format::Blf => "a Vector BLF file",
            Format::Trc => "a PEAK TRC file",
            Format::Pcapng => "a pcapng file",
            Format::Pcap => "a pcap file",
            Format::Mf4 => "an MF4 (ASAM MDF 4) file",
        }
    }

    /// True when the format can be written by [`Writer`].
    #[must_use]
    pub fn is_writable(self) -> bool {
        !matches!(self, Format::Trc)
    }

    /// True for the binary formats (BLF, pcapng, pcap, MF4); the others are text.
    #[must_use]
    pub fn is_binary(self) -> bool {
        matches!(
            self,
            Format::Blf | Format::Pcapng | Format::Pcap | Format::Mf4
        )
    }

    /// True when [`Writer`] writes the format without seeking back (all but BLF and MF4, whose
    /// headers are completed at the end): it can go to a pipe or standard output.
    #[must_use]
    pub fn is_streamable(self) -> bool {
        self.is_writable() && !matches!(self, Format::Blf | Format::Mf4)
    }

    /// Guesses the format from the first bytes of a file; `None` when they look like none of them.
    ///
    /// ```
    /// use isotp_capture::Format;
    /// assert_eq!(Format::sniff(b"LOGG\x90\0\0\0"), Some(Format::Blf));
    /// assert_eq!(Format::sniff(b"date Mon Nov 27 08:33:20.000 2023\n"), Some(Format::Asc));
    /// assert_eq!(Format::sniff(b";$FILEVERSION=2.1\n"), Some(Format::Trc));
    /// assert_eq!(Format::sniff(b"(1.000000) can0 123#00\n"), Some(Format::Candump));
    /// assert_eq!(Format::sniff(b"\x0A\x0D\x0D\x0A\x1C\0\0\0"), Some(Format::Pcapng));
    /// assert_eq!(Format::sniff(b"\x4D\x3C\xB2\xA1"), Some(Format::Pcap));
    /// assert_eq!(Format::sniff(b"MDF     4.10    "), Some(Format::Mf4));
    /// assert_eq!(Format::sniff(b"hello"), None);
    /// ```
    #[must_use]
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if head.starts_with(b"LOGG") {
            return Some(Format::Blf);
        }
        if head.starts_with(&pcap::PCAPNG_MAGIC) {
            return Some(Format::Pcapng);
        }
        if pcap::is_pcap_magic(head) {
            return Some(Format::Pcap);
        }
        if mf4::is_mf4_magic(head) {
            return Some(Format::Mf4);
        }
        let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        for line in text.split(|&b| b == b'\n').take(40) {
            let line = trim(line);
            if line.is_empty() {
                continue;
            }
            let lower = line.to_ascii_lowercase();
            if lower.starts_with(b";$fileversion") || lower.starts_with(b";$starttime") {
                return Some(Format::Trc);
            }
            if lower.starts_with(b"date ")
                || lower.starts_with(b"base hex")
                || lower.starts_with(b"base dec")
                || lower.starts_with(b"begin triggerblock")
            {
                return Some(Format::Asc);
            }
            if line[0] == b'(' && candump::parse_line(line).is_ok() {
                return Some(Format::Candump);
            }
            if line[0] == b';' || line.starts_with(b"//") {
                continue;
            }
            if trc::looks_like_v1_record(line) {
                return Some(Format::Trc);
            }
            return None;
        }
        None
    }
}

impl Format {
    /// The format to read `path` as: `given` when there is one, else the one its extension names,
    /// else the one its first bytes (`head`) look like, else candump.
    ///
    /// ```
    /// use std::path::Path;
    /// use isotp_capture::Format;
    /// assert_eq!(Format::detect(None, Path::new("trace.BLF"), b""), Format::Blf);
    /// assert_eq!(Format::detect(None, Path::new("-"), b";$FILEVERSION=1.1\n"), Format::Trc);
    /// assert_eq!(Format::detect(Some(Format::Asc), Path::new("x.log"), b""), Format::Asc);
    /// ```
    #[must_use]
    pub fn detect(given: Option<Format>, path: &Path, head: &[u8]) -> Format {
        given
            .or_else(|| Format::from_path(path))
            .or_else(|| Format::sniff(head))
            .unwrap_or(Format::Candump)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// `candump` (or `log`), `asc`, `blf`, `trc`, `pcapng`, `pcap`, `mf4`.
    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "candump" | "log" => Ok(Format::Candump),
            "asc" => Ok(Format::Asc),
            "blf" => Ok(Format::Blf),
            "trc" => Ok(Format::Trc),
            "pcapng" => Ok(Format::Pcapng),
            "pcap" => Ok(Format::Pcap),
            "mf4" | "mdf" => Ok(Format::Mf4),
            _ => Err(format!(
                "unknown log format '{s}' (expected candump, asc, blf, trc, pcapng, pcap or mf4)"
            )),
        }
    }
}

/// Text logs hold no NUL and few control bytes; a binary file has many in its first bytes.
/// The data length of `frame` as the byte the binary formats store: a frame holds at most 64
/// bytes, so this does not saturate.
pub(crate) fn len_byte(frame: &isotp_core::Frame) -> u8 {
    u8::try_from(frame.len()).unwrap_or(u8::MAX)
}

fn looks_binary(head: &[u8]) -> bool {
    let head = &head[..head.len().min(512)];
    let odd = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !b.is_ascii_whitespace()) || b == 0x7F)
        .count();
    head.contains(&0) || odd * 10 > head.len()
}

pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// A time since the Unix epoch as a UTC calendar date, to the microsecond:
/// `2023-11-14 22:13:20.000000` (what isotpdump's `-t A` shows).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(isotp_capture::utc_text(Duration::from_secs(1_700_000_000)), "2023-11-14 22:13:20.000000");
/// ```
#[must_use]
pub fn utc_text(time: std::time::Duration) -> String {
    let d = civil::DateTime::from_unix(time);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        d.year,
        d.month,
        d.day,
        d.hour,
        d.minute,
        d.second,
        d.nanos / 1000
    )
}

/// What a reader passed over because it carries no data frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Remote (RTR) frames.
    pub remote: u64,
    /// Error frames.
    pub error: u64,
    /// Other events or objects (bus statistics, status lines, markers, unknown BLF objects...).
    pub other: u64,
}

/// Reading stops treating bad records as individual faults after this many, none of them valid: the
/// input is then not in the format at all.
const NOT_THE_FORMAT_AFTER: usize = 10;

enum Inner<R> {
    Candump(candump::CandumpReader<R>),
    Asc(asc::AscReader<R>),
    Blf(blf::BlfReader<R>),
    Trc(trc::TrcReader<R>),
    Pcapng(pcap::PcapngReader<R>),
    Pcap(pcap::PcapReader<R>),
    Mf4(mf4::Mf4Reader),
}

/// Reads the records of a log, whatever its format (see the [module](self) documentation).
pub struct Reader<R> {
    inner: Inner<R>,
    format: Format,
    /// Errors held back until a first record shows the input is in the format.
    held: std::collections::VecDeque<Error>,
    seen_record: bool,
    pending: Option<Record>,
    done: bool,
}

impl Reader<BufReader<File>> {
    /// Opens a file; the format is `format`, else the one its extension names, else the one its
    /// first bytes look like, else candump.
    ///
    /// # Errors
    ///
    /// An [`ErrorKind::Io`] error when the file cannot be opened or read, and those of
    /// [`Reader::with_zone`] for content that is not in the format.
    pub fn open(path: &Path, format: Option<Format>) -> Result<Reader<BufReader<File>>, Error> {
        let file = File::open(path).map_err(|e| {
            Error::fatal(
                Position::Start,
                ErrorKind::Io,
                format!("cannot open '{}': {e}", path.display()),
            )
        })?;
        let mut input = BufReader::with_capacity(1 << 16, file);
        let format = Format::detect(format, path, head(&mut input)?);
        if format == Format::Mf4 {
            // Read in place: MF4 links are file offsets.
            refuse_other(&mut input, format)?;
            return Ok(Reader::from_inner(
                Inner::Mf4(mf4::Mf4Reader::new(Box::new(input))?),
                format,
            ));
        }
        Reader::new(input, format)
    }
}

/// Refuses an input whose first bytes are clearly another format than `format`.
fn refuse_other<R: BufRead>(input: &mut R, format: Format) -> Result<(), Error> {
    match Format::sniff(head(input)?).filter(|&f| f != format) {
        Some(other) => Err(Error::not_the_format(format, Some(other), None)),
        None => Ok(()),
    }
}

fn head<R: BufRead>(input: &mut R) -> Result<&[u8], Error> {
    input
        .fill_buf()
        .map_err(|e| Error::fatal(Position::Start, ErrorKind::Io, format!("cannot read: {e}")))
}

impl<R: BufRead> Reader<R> {
    /// Reads `input` as `format`. An input whose first bytes are clearly another format is refused
    /// here, with what it looks like.
    ///
    /// ```
    /// use isotp_capture::{Format, Reader};
    /// let err = Reader::new(&b"LOGG\x90\0\0\0"[..], Format::Asc).err().unwrap();
    /// assert!(err.to_string().contains("looks like a Vector BLF file"), "{err}");
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Reader::with_zone`].
    pub fn new(input: R, format: Format) -> Result<Reader<R>, Error> {
        Reader::with_zone(input, format, Zone::Local)
    }

    /// Reads `input` as `format`, the dates of ASC and BLF headers in `zone`.
    ///
    /// MF4 is read from memory (up to 1 GiB) when it does not come from [`Reader::open`], which
    /// reads a file in place.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotTheFormat`] when the first bytes are another format's (or binary data for a
    /// text format), [`ErrorKind::Corrupt`] for a binary header that cannot be read,
    /// [`ErrorKind::Unsupported`] for a header of a version or kind this crate cannot read (or MF4
    /// data above 1 GiB to read from memory), and [`ErrorKind::Io`] when reading fails. Errors in the records come later, from the iterator.
    pub fn with_zone(mut input: R, format: Format, zone: Zone) -> Result<Reader<R>, Error> {
        refuse_other(&mut input, format)?;
        if !format.is_binary() && looks_binary(head(&mut input)?) {
            return Err(Error::not_the_format_because(
                format,
                None,
                None,
                Some("it is binary data, not text"),
            ));
        }
        let inner = match format {
            Format::Candump => Inner::Candump(candump::CandumpReader::new(input)),
            Format::Asc => Inner::Asc(asc::AscReader::new(input, zone)),
            Format::Blf => Inner::Blf(blf::BlfReader::new(input, zone)?),
            Format::Trc => Inner::Trc(trc::TrcReader::new(input)),
            Format::Pcapng => Inner::Pcapng(pcap::PcapngReader::new(input)),
            Format::Pcap => Inner::Pcap(pcap::PcapReader::new(input)?),
            Format::Mf4 => Inner::Mf4(mf4::Mf4Reader::from_read(input)?),
        };
        Ok(Reader::from_inner(inner, format))
    }

    /// Reads an MF4 file in place, seeking to the blocks its links name (one data block in memory
    /// at a time), whatever the input type `R` of the program's other readers.
    ///
    /// ```
    /// use std::io::{BufRead, Cursor};
    /// use isotp_capture::{Format, Reader, Writer};
    ///
    /// let mf4 = Writer::new(Cursor::new(Vec::new()), Format::Mf4)?.finish()?;
    /// let reader: Reader<Box<dyn BufRead>> = Reader::mf4_in_place(mf4)?;
    /// assert_eq!(reader.format(), Format::Mf4);
    /// # Ok::<(), isotp_capture::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Reader::with_zone`] for an MF4 input.
    pub fn mf4_in_place<S: std::io::Read + Seek + Send + 'static>(
        input: S,
    ) -> Result<Reader<R>, Error> {
        Ok(Reader::from_inner(
            Inner::Mf4(mf4::Mf4Reader::new(Box::new(input))?),
            Format::Mf4,
        ))
    }

    fn from_inner(inner: Inner<R>, format: Format) -> Reader<R> {
        Reader {
            inner,
            format,
            held: std::collections::VecDeque::new(),
            seen_record: false,
            pending: None,
            done: false,
        }
    }

    /// The format being read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// What was passed over so far.
    pub fn skipped(&self) -> Skipped {
        match &self.inner {
            Inner::Candump(r) => r.skipped,
            Inner::Asc(r) => r.skipped,
            Inner::Blf(r) => r.skipped,
            Inner::Trc(r) => r.skipped,
            Inner::Pcapng(r) => r.skipped,
            Inner::Pcap(r) => r.skipped,
            Inner::Mf4(r) => r.skipped,
        }
    }

    #[inline]
    fn next_raw(&mut self) -> Option<Result<Record, Error>> {
        match &mut self.inner {
            Inner::Candump(r) => r.next(),
            Inner::Asc(r) => r.next(),
            Inner::Blf(r) => r.next(),
            Inner::Trc(r) => r.next(),
            Inner::Pcapng(r) => r.next(),
            Inner::Pcap(r) => r.next(),
            Inner::Mf4(r) => r.next(),
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Record, Error>;

    #[inline]
    fn next(&mut self) -> Option<Result<Record, Error>> {
        if self.seen_record {
            if let Some(e) = self.held.pop_front() {
                return Some(Err(e));
            }
        }
        if self.pending.is_some() {
            return self.pending.take().map(Ok);
        }
        if self.done {
            return None;
        }
        loop {
            match self.next_raw() {
                None => {
                    self.done = true;
                    if self.seen_record || self.held.is_empty() {
                        return None;
                    }
                    // Nothing but bad records: the input is not in this format.
                    let first = self.held.pop_front();
                    self.held.clear();
                    return Some(Err(Error::not_the_format(self.format, None, first)));
                }
                Some(Ok(r)) => {
                    self.seen_record = true;
                    match self.held.pop_front() {
                        None => return Some(Ok(r)),
                        Some(e) => {
                            // The held errors first, in file order, then this record.
                            self.pending = Some(r);
                            return Some(Err(e));
                        }
                    }
                }
                Some(Err(e)) if e.is_fatal() => {
                    self.done = true;
                    self.held.clear();
                    return Some(Err(e));
                }
                Some(Err(e)) if self.seen_record => return Some(Err(e)),
                Some(Err(e)) => {
                    self.held.push_back(e);
                    if self.held.len() >= NOT_THE_FORMAT_AFTER {
                        self.done = true;
                        let first = self.held.pop_front();
                        self.held.clear();
                        return Some(Err(Error::not_the_format(self.format, None, first)));
                    }
                }
            }
        }
    }
}

enum Output<W: Write + Seek> {
    Candump(candump::CandumpWriter<W>),
    Asc(asc::AscWriter<W>),
    Blf(blf::BlfWriter<W>),
    Pcapng(pcap::PcapngWriter<W>),
    Pcap(pcap::PcapWriter<W>),
    Mf4(mf4::Mf4Writer<W>),
}

/// Writes records in candump, ASC, BLF, pcapng, pcap or MF4 format. BLF and MF4 patch their
/// headers at the end, so their output must be seekable (a file, or a `Cursor`); the others never seek
/// ([`Format::is_streamable`]), so a `Write` whose `seek` fails, such as a pipe, will do for them.
pub struct Writer<W: Write + Seek> {
    output: Output<W>,
    format: Format,
}

impl Writer<BufWriter<File>> {
    /// Creates (or truncates) a file; the format is `format`, else the one its extension names.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] when no format is given and the extension names none, or the
    /// format cannot be written (TRC); [`ErrorKind::Io`] when the file cannot be created or its header
    /// written.
    pub fn create(path: &Path, format: Option<Format>) -> Result<Writer<BufWriter<File>>, Error> {
        let format = format.or_else(|| Format::from_path(path)).ok_or_else(|| {
            Error::fatal(
                Position::Start,
                ErrorKind::Unsupported,
                format!(
                    "cannot tell the format of '{}' from its extension (.log, .asc, .blf, .pcapng, .pcap, .mf4)",
                    path.display()
                ),
            )
        })?;
        if !format.is_writable() {
            return Err(unwritable(format));
        }
        let file = File::create(path).map_err(|e| {
            Error::fatal(
                Position::Start,
                ErrorKind::Io,
                format!("cannot create '{}': {e}", path.display()),
            )
        })?;
        Writer::new(BufWriter::with_capacity(1 << 16, file), format)
    }
}

fn unwritable(format: Format) -> Error {
    Error::fatal(
        Position::Start,
        ErrorKind::Unsupported,
        format!(
            "writing {} is not supported (write candump, asc, blf, pcapng, pcap or mf4)",
            format.description()
        ),
    )
}

fn write_error(e: std::io::Error) -> Error {
    Error::fatal(Position::Start, ErrorKind::Io, format!("cannot write: {e}"))
}

impl<W: Write + Seek> Writer<W> {
    /// A writer of `format` into `out`; the dates of ASC and BLF headers in local time.
    ///
    /// # Errors
    ///
    /// As [`Writer::with_zone`].
    pub fn new(out: W, format: Format) -> Result<Writer<W>, Error> {
        Writer::with_zone(out, format, Zone::Local)
    }

    /// A writer of `format` into `out`, the dates of ASC and BLF headers in `zone`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] for a format that cannot be written (TRC), [`ErrorKind::Io`] when
    /// the header cannot be written.
    pub fn with_zone(out: W, format: Format, zone: Zone) -> Result<Writer<W>, Error> {
        let output = match format {
            Format::Candump => Output::Candump(candump::CandumpWriter::new(out)),
            Format::Asc => Output::Asc(asc::AscWriter::new(out, zone)),
            Format::Blf => Output::Blf(blf::BlfWriter::new(out, zone).map_err(write_error)?),
            Format::Pcapng => Output::Pcapng(pcap::PcapngWriter::new(out).map_err(write_error)?),
            Format::Pcap => Output::Pcap(pcap::PcapWriter::new(out).map_err(write_error)?),
            Format::Mf4 => Output::Mf4(mf4::Mf4Writer::new(out).map_err(write_error)?),
            Format::Trc => return Err(unwritable(format)),
        };
        Ok(Writer { output, format })
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Writes one record.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the output fails, or when the record does not fit the format (a time
    /// after 2106 in classic pcap).
    pub fn write(&mut self, record: &Record) -> Result<(), Error> {
        match &mut self.output {
            Output::Candump(w) => w.write(record),
            Output::Asc(w) => w.write(record),
            Output::Blf(w) => w.write(record),
            Output::Pcapng(w) => w.write(record),
            Output::Pcap(w) => w.write(record),
            Output::Mf4(w) => w.write(record),
        }
        .map_err(write_error)
    }

    /// Hands what is written so far to the output, for a live capture read as it grows (BLF
    /// holds its current container back until it is full or finished, MF4 its current data
    /// block, and an MF4 file is readable only once finished).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the output fails.
    pub fn flush(&mut self) -> Result<(), Error> {
        match &mut self.output {
            Output::Candump(w) => w.flush(),
            Output::Asc(w) => w.flush(),
            Output::Blf(w) => w.flush(),
            Output::Pcapng(w) => w.flush(),
            Output::Pcap(w) => w.flush(),
            Output::Mf4(w) => w.flush(),
        }
        .map_err(write_error)
    }

    /// Writes what the format puts at the end and flushes; the output back.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the output fails (or cannot seek, for BLF and MF4).
    pub fn finish(self) -> Result<W, Error> {
        match self.output {
            Output::Candump(w) => w.finish(),
            Output::Asc(w) => w.finish(),
            Output::Blf(w) => w.finish(),
            Output::Pcapng(w) => w.finish(),
            Output::Pcap(w) => w.finish(),
            Output::Mf4(w) => w.finish(),
        }
        .map_err(write_error)
    }
}

#[cfg(test)]
mod tests;
