//! The candump log format of can-utils (`candump -l`, `candump -L`), also written by python-can's
//! `CanutilsLogWriter`:
//!
//! ```text
//! (1700000000.123456) can0 7E0#0322F190
//! (1700000000.124001) can0 18DAF110#037F2231
//! (1700000000.125000) can0 7E8##1101422F19001020304050607
//! ```
//!
//! `ID#DATA` is a classic frame, `ID##<flags><DATA>` a CAN FD frame whose flags nibble carries the
//! bit rate switch (0x1). Ids follow can-utils: 3 hex digits are an 11-bit id, 8 digits a 29-bit id
//! (other widths: up to 3 digits 11-bit, more 29-bit). Remote frames (`ID#R`) and error frames (id
//! with 0x20000000) are passed over; a trailing direction mark (`T` or `R`, candump -x) is read.

use std::io::{BufRead, Write};
use std::time::Duration;

use isotp_core::wire::dlc;
use isotp_core::{CanId, Frame, MAX_EXTENDED_ID, MAX_STANDARD_ID};

use super::error::{shorten, Error, Position};
use super::record::{Channel, ChannelName, Direction, Record};
use super::text::{hex_digit, hex_u32, Lines};
use super::Skipped;

const CAN_ERR_FLAG: u32 = 0x2000_0000;

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
            match self.lines.advance() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            let at = Position::Line(self.lines.number);
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
                                    "interface name '{}' is not text of 1 to {} bytes",
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
        || secs.len() > 12
        || frac.len() > 9
        || !secs.iter().all(u8::is_ascii_digit)
        || !frac.iter().all(u8::is_ascii_digit)
    {
        return Err(bad());
    }
    let secs = secs
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
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

/// The id text of a frame: 3 hex digits or fewer are an 11-bit id, more a 29-bit id.
fn parse_id(text: &[u8]) -> Result<Option<CanId>, String> {
    let raw = hex_u32(text).ok_or_else(|| format!("bad CAN id '{}'", shorten(text)))?;
    if text.len() == 8 && raw & CAN_ERR_FLAG != 0 {
        return Ok(None); // error frame
    }
    let extended = text.len() > 3;
    if (!extended && raw > MAX_STANDARD_ID) || raw > MAX_EXTENDED_ID {
        return Err(format!("CAN id '{}' is out of range", shorten(text)));
    }
    CanId::new(raw, extended)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn parse_frame(s: &[u8]) -> Result<Parsed, String> {
    let Some(hash) = s.iter().position(|&b| b == b'#') else {
        return Err(format!(
            "'{}' is not a frame: expected ID#DATA or ID##FLAGS DATA",
            shorten(s)
        ));
    };
    let Some(id) = parse_id(&s[..hash])? else {
        return Ok(Parsed::Error);
    };
    let rest = &s[hash + 1..];
    let mut data = [0u8; dlc::FD_MAX_LEN];
    if let Some(fd) = rest.strip_prefix(b"#") {
        let Some((&flags, digits)) = fd.split_first() else {
            return Err(format!(
                "CAN FD frame '{}' lacks its flags digit",
                shorten(s)
            ));
        };
        if flags == b'#' {
            return Err("CAN XL frames (ID###...) are not supported".into());
        }
        let flags = hex_digit(flags)
            .ok_or_else(|| format!("CAN FD frame '{}' lacks its flags digit", shorten(s)))?;
        let len = parse_data(digits, &mut data)?;
        if !dlc::is_valid_fd_len(len) {
            return Err(format!(
                "a CAN FD frame cannot have {len} data bytes (0-8, 12, 16, 20, 24, 32, 48 or 64)"
            ));
        }
        return Frame::new_fd(id, &data[..len], flags & 0x1 != 0)
            .map(Parsed::Frame)
            .map_err(|e| e.to_string());
    }
    if matches!(rest.first(), Some(b'R' | b'r')) {
        return Ok(Parsed::Remote);
    }
    // candump writes the DLC of an 8-byte frame whose DLC is above 8 as a `_D` suffix.
    let rest = match rest.iter().position(|&b| b == b'_') {
        Some(i) if rest.len() == i + 2 && hex_digit(rest[i + 1]).is_some() => &rest[..i],
        Some(_) => return Err(format!("bad data '{}'", shorten(rest))),
        None => rest,
    };
    let len = parse_data(rest, &mut data)?;
    if len > dlc::CLASSIC_MAX_LEN {
        return Err(format!(
            "a classic CAN frame cannot have {len} data bytes (use ID##FLAGS DATA for CAN FD)"
        ));
    }
    Frame::new(id, &data[..len])
        .map(Parsed::Frame)
        .map_err(|e| e.to_string())
}

/// Hex data, optionally with `.` between bytes (candump's input form), into `out`; the length.
fn parse_data(s: &[u8], out: &mut [u8; dlc::FD_MAX_LEN]) -> Result<usize, String> {
    let mut len = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'.' {
            i += 1;
            continue;
        }
        let Some(&lo) = s.get(i + 1) else {
            return Err(format!(
                "data '{}' has an odd number of hex digits (truncated line?)",
                shorten(s)
            ));
        };
        if len == out.len() {
            return Err(format!("data '{}' is longer than 64 bytes", shorten(s)));
        }
        match (hex_digit(s[i]), hex_digit(lo)) {
            (Some(h), Some(l)) => out[len] = h << 4 | l,
            _ if lo == b'.' => {
                return Err(format!(
                    "data '{}' has an odd number of hex digits (truncated line?)",
                    shorten(s)
                ))
            }
            _ => return Err(format!("data '{}' is not hexadecimal", shorten(s))),
        }
        len += 1;
        i += 2;
    }
    Ok(len)
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
        // To the nearest microsecond (BLF times have nanoseconds).
        let micros = (r.time.as_nanos() + 500) / 1000;
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

    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(error("(1.3) can0 800#00").contains("out of range"));
        assert!(error("(1.3) can0 123456789#00").contains("bad CAN id"));
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
            .contains("CAN FD frame cannot have 9"));
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
        assert!(error("(1.1) can0 7E0#0G").contains("not hexadecimal"));
        assert!(error("(1.2) can0 7E0").contains("is not a frame"));
        assert!(error("(x) can0 7E0#00").contains("bad timestamp"));
        assert!(error("(1.4) can0 7E0#112233445566778899").contains("classic CAN frame"));
        assert!(error("(1.4) can0 7E0#11_99").contains("bad data"));
    }

    #[test]
    fn times_to_the_nanosecond() {
        assert_eq!(
            frame("(12.123456789) c 1#").0,
            Duration::new(12, 123_456_789)
        );
        assert_eq!(frame("(12.5) c 1#").0, Duration::new(12, 500_000_000));
        assert_eq!(frame("(12) c 1#").0, Duration::new(12, 0));
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
        let log = "(1700000000.000001) can0 7E0#0322F190\n(1700000000.100000) vcan1 18DAF110##1037F22310000000000000000\n";
        let mut w = CandumpWriter::new(Vec::new());
        for r in CandumpReader::new(log.as_bytes()) {
            w.write(&r.unwrap()).unwrap();
        }
        assert_eq!(String::from_utf8(w.finish().unwrap()).unwrap(), log);
    }
}
