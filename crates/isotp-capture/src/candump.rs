//! The candump log format of can-utils (`candump -l`, `candump -L`), also written by python-can's
//! `CanutilsLogWriter`:
//!
//! ```text
//! (1700000000.123456) can0 7E0#0322F190
//! (1700000000.124001) can0 18DAF110#037F2231
//! (1700000000.125000) can0 7E8##1101422F19001020304050607
//! ```
//!
//! The frame field is read by the core's candump syntax ([`isotp_core::Frame`]'s `FromStr`: `ID#DATA`
//! classic, `ID##<flags><DATA>` CAN FD with the bit rate switch in bit 0 of the flags and the error
//! state indicator in bit 1; 3 hex digits are an 11-bit id, 8 digits a 29-bit id). Remote frames
//! (`ID#R`) and error frames (id with 0x20000000) are passed over; a trailing direction mark (`T` or
//! `R`, as candump -x and python-can write it) is read. The writer writes none, as `candump -l`:
//! Wireshark's candump reader (4.0) refuses lines that carry one.

use std::io::{BufRead, Write};
use std::time::Duration;

use isotp_core::{Frame, ParseFrameError};

use super::error::{shorten, Error};
use super::record::{Channel, ChannelName, Direction, Record};
use super::text::Lines;
use super::Skipped;

/// What one line holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// A data frame.
    Frame {
        time: Duration,
        iface: &'a [u8],
        frame: Frame,
        direction: Option<Direction>,
    },
    /// Nothing (a blank line).
    Blank,
    /// A remote frame.
    Remote,
    /// An error frame.
    ErrorFrame,
}

pub(crate) struct CandumpReader<R> {
    lines: Lines<R>,
    pub(crate) skipped: Skipped,
    /// The interface of the previous line: logs name a few interfaces many times.
    last: Option<ChannelName>,
}

impl<R: BufRead> CandumpReader<R> {
    pub(crate) fn new(input: R) -> CandumpReader<R> {
        CandumpReader {
            lines: Lines::new(input),
            skipped: Skipped::default(),
            last: None,
        }
    }
}

impl<R: BufRead> Iterator for CandumpReader<R> {
    type Item = Result<Record, Error>;

    #[inline]
    fn next(&mut self) -> Option<Result<Record, Error>> {
        loop {
            let at = match self.lines.next_position()? {
                Ok(at) => at,
                Err(e) => return Some(Err(e)),
            };
            let line = self.lines.line();
            match parse_line(line) {
                Ok(Line::Frame {
                    time,
                    iface,
                    frame,
                    direction,
                }) => {
                    let known = self.last.filter(|n| n.as_str().as_bytes() == iface);
                    let name = known
                        .or_else(|| std::str::from_utf8(iface).ok().and_then(ChannelName::new));
                    self.last = name;
                    let channel = match name {
                        Some(name) => Channel::Name(name),
                        None => {
                            return Some(Err(Error::malformed(
                                at,
                                format!(
                                    "interface name '{}' is not printable text of 1 to {} bytes",
                                    shorten(iface),
                                    ChannelName::MAX
                                ),
                            )))
                        }
                    };
                    return Some(Ok(Record {
                        time,
                        channel,
                        direction,
                        frame,
                    }));
                }
                Ok(Line::Blank) => {}
                Ok(Line::Remote) => self.skipped.remote += 1,
                Ok(Line::ErrorFrame) => self.skipped.error += 1,
                Err(reason) => return Some(Err(Error::malformed(at, reason))),
            }
        }
    }
}

fn split_field(s: &[u8]) -> (&[u8], &[u8]) {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let s = &s[start..];
    let end = s
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

const EXPECTED: &str = "expected '(SECONDS.MICROS) INTERFACE ID#DATA'";

/// Parses one line (without its line ending).
pub(crate) fn parse_line(line: &[u8]) -> Result<Line<'_>, String> {
    let (stamp, rest) = split_field(line);
    if stamp.is_empty() {
        return Ok(Line::Blank);
    }
    let (iface, rest) = split_field(rest);
    let (frame, rest) = split_field(rest);
    if frame.is_empty() {
        return Err(format!(
            "{EXPECTED}, found '{}'",
            shorten(super::trim(line))
        ));
    }
    let (mark, rest) = split_field(rest);
    let direction = match mark {
        b"" => None,
        b"R" => Some(Direction::Rx),
        b"T" => Some(Direction::Tx),
        other => return Err(format!("unexpected '{}' after the frame", shorten(other))),
    };
    if !split_field(rest).0.is_empty() {
        return Err(format!("too many fields ({EXPECTED})"));
    }
    let time = parse_timestamp(stamp)?;
    Ok(match parse_frame(frame)? {
        Parsed::Frame(frame) => Line::Frame {
            time,
            iface,
            frame,
            direction,
        },
        Parsed::Remote => Line::Remote,
        Parsed::Error => Line::ErrorFrame,
    })
}

fn parse_timestamp(s: &[u8]) -> Result<Duration, String> {
    let bad = || format!("bad timestamp '{}' (expected (SECONDS.MICROS))", shorten(s));
    let inner = s
        .strip_prefix(b"(")
        .and_then(|r| r.strip_suffix(b")"))
        .ok_or_else(bad)?;
    let (secs, frac) = match inner.iter().position(|&b| b == b'.') {
        Some(i) => (&inner[..i], &inner[i + 1..]),
        None => (inner, &[][..]),
    };
    if secs.is_empty()
        || frac.len() > 9
        || !secs.iter().all(u8::is_ascii_digit)
        || !frac.iter().all(u8::is_ascii_digit)
    {
        return Err(bad());
    }
    // Any whole number of seconds a `Duration` holds (what the writer may write), no more.
    let secs = secs
        .iter()
        .try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or_else(bad)?;
    let nanos = frac
        .iter()
        .copied()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Ok(Duration::new(secs, nanos))
}

enum Parsed {
    Frame(Frame),
    Remote,
    Error,
}

/// The frame field, by the core's candump syntax (`FromStr for Frame`: one id rule for the whole
/// project). Remote and error frames are not errors here: the reader counts them.
fn parse_frame(s: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(s).map_err(|_| format!("'{}' is not text", shorten(s)))?;
    match text.parse::<Frame>() {
        Ok(f) => Ok(Parsed::Frame(f)),
        Err(ParseFrameError::RemoteFrame) => Ok(Parsed::Remote),
        Err(ParseFrameError::ErrorFrame) => Ok(Parsed::Error),
        Err(e) => Err(format!("'{}': {e}", shorten(s))),
    }
}

/// Writes records as candump log lines. Channel numbers become `can0`, `can1`... (number - 1);
/// times are written to the nearest microsecond, as candump does.
pub(crate) struct CandumpWriter<W> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> CandumpWriter<W> {
    pub(crate) fn new(out: W) -> CandumpWriter<W> {
        CandumpWriter {
            out,
            line: Vec::with_capacity(200),
        }
    }

    pub(crate) fn write(&mut self, r: &Record) -> std::io::Result<()> {
        use std::io::Write as _;
        self.line.clear();
        // To the nearest microsecond (BLF times have nanoseconds), short of a second more than
        // a Duration holds (which no reader could take back).
        let micros =
            ((r.time.as_nanos() + 500) / 1000).min(u128::from(u64::MAX) * 1_000_000 + 999_999);
        let _ = write!(
            self.line,
            "({}.{:06}) ",
            micros / 1_000_000,
            micros % 1_000_000
        );
        match r.channel {
            Channel::Name(n) => self.line.extend_from_slice(n.as_str().as_bytes()),
            Channel::Number(n) => {
                let _ = write!(self.line, "can{}", n.saturating_sub(1));
            }
        }
        let _ = write!(self.line, " {}", r.frame);
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Position;
    use isotp_core::CanId;

    fn frame(line: &str) -> (Duration, String, Frame) {
        match parse_line(line.as_bytes()).unwrap() {
            Line::Frame {
                time, iface, frame, ..
            } => (time, String::from_utf8(iface.to_vec()).unwrap(), frame),
            other => panic!("{other:?}"),
        }
    }

    fn error(line: &str) -> String {
        parse_line(line.as_bytes()).unwrap_err()
    }

    /// What the writer writes, the reader takes back: the latest time a record can have, and an
    /// interface name with a control character is refused when read (it would make the log binary).
    #[test]
    fn the_writer_writes_only_what_the_reader_reads() {
        use crate::{Channel, Format, Reader, Record, Writer};
        let record = Record {
            time: Duration::MAX,
            channel: Channel::Number(1),
            direction: None,
            frame: Frame::new(CanId::standard(0x7E0).unwrap(), &[1]).unwrap(),
        };
        let mut w = Writer::new(std::io::Cursor::new(Vec::new()), Format::Candump).unwrap();
        w.write(&record).unwrap();
        let text = w.finish().unwrap().into_inner();
        assert_eq!(text, b"(18446744073709551615.999999) can0 7E0#01\n");
        let back: Vec<_> = Reader::new(&text[..], Format::Candump).unwrap().collect();
        assert_eq!(back.len(), 1);
        assert_eq!(
            back[0].as_ref().unwrap().time,
            Duration::new(u64::MAX, 999_999_000)
        );
        let e = Reader::new(&b"(1.0) can\x01 7E0#01\n"[..], Format::Candump)
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("not printable text"), "{e}");
    }

    #[test]
    fn classic_frames() {
        let (t, iface, f) = frame("(1700000000.123456) can0 7E0#0322F190");
        assert_eq!(t, Duration::new(1_700_000_000, 123_456_000));
        assert_eq!(iface, "can0");
        assert_eq!(f.id(), CanId::standard(0x7E0).unwrap());
        assert_eq!(f.data(), &[0x03, 0x22, 0xF1, 0x90]);
        assert!(!f.is_fd());
    }

    #[test]
    fn extended_ids_and_empty_frames() {
        let (_, _, f) = frame("(0.5) vcan0 18DAF110#");
        assert!(f.id().is_extended());
        assert!(f.is_empty());
        let (_, _, f) = frame("(1.0) vcan0 00000123#11");
        assert!(f.id().is_extended());
        assert!(error("(1.3) can0 800#00").contains("does not fit 11 bits"));
        assert!(error("(1.3) can0 123456789#00").contains("not a CAN id"));
    }

    #[test]
    fn fd_frames_with_flags() {
        let data = "00".repeat(12);
        let (_, _, f) = frame(&format!("(1.000001) can0 7E8##1{data}"));
        assert!(f.is_fd() && f.is_brs());
        assert_eq!(f.len(), 12);
        let (_, _, f) = frame("(1.0) can0 123##4112233");
        assert!(f.is_fd() && !f.is_brs());
        assert!(error(&format!("(1.0) can0 7E8##1{}", "00".repeat(9)))
            .contains("9 bytes is not a CAN FD frame length"));
        assert!(error("(1.0) can0 7E8##").contains("flags digit"));
        assert!(error("(1.0) can0 7E8###1").contains("CAN XL"));
        assert!(error(&format!("(1.0) can0 7E8##1{}", "00".repeat(65))).contains("longer than 64"));
    }

    #[test]
    fn remote_and_error_frames_are_passed_over() {
        assert_eq!(parse_line(b"(1.0) can0 123#R").unwrap(), Line::Remote);
        assert_eq!(parse_line(b"(1.0) can0 123#R4").unwrap(), Line::Remote);
        assert_eq!(
            parse_line(b"(1.0) can0 20000080#0000000000000000").unwrap(),
            Line::ErrorFrame
        );
        assert_eq!(parse_line(b"   ").unwrap(), Line::Blank);
    }

    #[test]
    fn direction_marks_and_separators() {
        let Line::Frame { direction, .. } = parse_line(b"(1.0) can0 123#11.22 R").unwrap() else {
            panic!()
        };
        assert_eq!(direction, Some(Direction::Rx));
        assert!(parse_line(b"(1.0) can0 123#1122334455667788_9 T").is_ok());
        assert!(error("(1.0) can0 123#11 X").contains("unexpected 'X'"));
        assert!(error("(1.0) can0 123#11 R R").contains("too many fields"));
    }

    #[test]
    fn malformed_lines() {
        assert!(error("garbage").contains("expected '(SECONDS.MICROS)"));
        assert!(error("(1.1) can0 7E0#02100").contains("odd number"));
        assert!(error("(1.1) can0 7E0#0G").contains("not hex bytes"));
        assert!(error("(1.2) can0 7E0").contains("not a frame"));
        assert!(error("(x) can0 7E0#00").contains("bad timestamp"));
        assert!(error("(1.4) can0 7E0#112233445566778899").contains("at most 8 bytes"));
        assert!(error("(1.4) can0 7E0#11_99").contains("not hex bytes"));
    }

    #[test]
    fn times_to_the_nanosecond() {
        assert_eq!(
            frame("(12.123456789) c 1#").0,
            Duration::new(12, 123_456_789)
        );
        assert_eq!(frame("(12.5) c 1#").0, Duration::new(12, 500_000_000));
        assert_eq!(frame("(12) c 1#").0, Duration::new(12, 0));
        // Every number of seconds a Duration holds (the writer writes them), and no more.
        assert_eq!(
            frame("(1700000000000.213000) c 1#").0,
            Duration::new(1_700_000_000_000, 213_000_000)
        );
        assert_eq!(
            frame("(18446744073709551615.999999) c 1#").0,
            Duration::new(u64::MAX, 999_999_000)
        );
        assert!(error("(18446744073709551616.0) c 1#").contains("bad timestamp"));
    }

    #[test]
    fn reader_reports_and_goes_on() {
        let log = "(1.0) can0 7E0#0210\ngarbage\n(1.1) can0 123#R\n(1.5) can0 7E8#0250\n";
        let got: Vec<_> = CandumpReader::new(log.as_bytes()).collect();
        assert_eq!(got.len(), 3);
        assert!(got[0].is_ok() && got[2].is_ok());
        assert_eq!(got[1].as_ref().unwrap_err().position, Position::Line(2));
        let long_name = "(1.0) a-name-longer-than-15 7E0#00\n";
        let got: Vec<_> = CandumpReader::new(long_name.as_bytes()).collect();
        assert!(got[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("interface name"));
    }

    #[test]
    fn writer_round_trips() {
        let log = "(1700000000.000001) can0 7E0#0322F190\n(1700000000.100000) vcan1 18DAF110##3037F22310000000000000000\n(1700000000.200000) vcan1 123##0\n";
        let mut w = CandumpWriter::new(Vec::new());
        for r in CandumpReader::new(log.as_bytes()) {
            w.write(&r.unwrap()).unwrap();
        }
        assert_eq!(String::from_utf8(w.finish().unwrap()).unwrap(), log);
    }
}
