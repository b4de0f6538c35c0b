//! Reads the candump log format, as written by `candump -l`, python-can's `CanutilsLogWriter` and the
//! socketcan crate's dump module:
//!
//! ```text
//! (1700000000.123456) can0 7E0#0322F190
//! (1700000000.124001) can0 18DAF110#037F2231
//! (1700000000.125000) can0 7E8##1101422F19001020304050607
//! ```
//!
//! `ID#DATA` is a classic frame, `ID##<flags><DATA>` a CAN FD frame whose flags nibble carries the bit
//! rate switch (0x1). Remote frames (`ID#R`) and error frames (id with 0x20000000) carry no ISO-TP and
//! are passed over; a trailing direction mark (`T` or `R`, candump -x) is accepted. Every other line
//! that does not fit is a [`LogError`] with its line number, and reading goes on.

use std::fmt;
use std::io::BufRead;

use isotp_core::{Frame, ParseFrameError};

use crate::output::Timestamp;

/// One frame of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFrame {
    /// 1-based line number.
    pub line: usize,
    /// When the frame was captured.
    pub time: Timestamp,
    /// The interface name of the line (`can0`).
    pub iface: String,
    /// The frame.
    pub frame: Frame,
}

/// A line that is not a candump log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Iterates over the frames of a log: `Ok` for each frame, `Err` for each malformed line (then reading
/// continues with the next line). Lines without ISO-TP content (remote and error frames, blank
/// lines) are skipped silently.
pub struct LogReader<R> {
    input: R,
    line: usize,
    buf: Vec<u8>,
    failed: bool,
}

impl<R: BufRead> LogReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> LogReader<R> {
        LogReader {
            input,
            line: 0,
            buf: Vec::new(),
            failed: false,
        }
    }
}

impl<R: BufRead> Iterator for LogReader<R> {
    type Item = Result<LogFrame, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(LogError {
                        line: self.line + 1,
                        reason: format!("cannot read the log: {e}"),
                    }));
                }
            }
            self.line += 1;
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t,
                Err(_) => {
                    return Some(Err(LogError {
                        line: self.line,
                        reason: "not text (bytes that are not UTF-8)".into(),
                    }))
                }
            };
            match parse_line(text) {
                Ok(Some((time, iface, frame))) => {
                    return Some(Ok(LogFrame {
                        line: self.line,
                        time,
                        iface: iface.to_string(),
                        frame,
                    }))
                }
                Ok(None) => continue,
                Err(reason) => {
                    return Some(Err(LogError {
                        line: self.line,
                        reason,
                    }))
                }
            }
        }
    }
}

/// Parses one line: `Ok(None)` for a line without a data frame (blank, remote or error frame).
pub fn parse_line(text: &str) -> Result<Option<(Timestamp, &str, Frame)>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut fields = text.split_whitespace();
    let (Some(stamp), Some(iface), Some(frame)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(format!(
            "expected '(SECONDS.MICROS) INTERFACE ID#DATA', found '{}'",
            shorten(text)
        ));
    };
    match fields.next() {
        None | Some("T" | "R") => {}
        Some(extra) => return Err(format!("unexpected '{}' after the frame", shorten(extra))),
    }
    if fields.next().is_some() {
        return Err("too many fields (expected '(SECONDS.MICROS) INTERFACE ID#DATA')".into());
    }
    let time = parse_timestamp(stamp)?;
    Ok(parse_frame(frame)?.map(|f| (time, iface, f)))
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    let bad = || format!("bad timestamp '{}' (expected (SECONDS.MICROS))", shorten(s));
    let inner = s
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (secs, frac) = inner.split_once('.').unwrap_or((inner, ""));
    if secs.is_empty()
        || secs.len() > 12
        || frac.len() > 9
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let secs: u64 = secs.parse().map_err(|_| bad())?;
    // Microseconds from up to nine fraction digits.
    let micros = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(6)
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    Ok(Timestamp::from_micros(secs * 1_000_000 + micros))
}

/// A frame by the core's candump syntax ([`isotp_core::candump`]); remote and error frames are `None`.
fn parse_frame(s: &str) -> Result<Option<Frame>, String> {
    match s.parse::<Frame>() {
        Ok(frame) => Ok(Some(frame)),
        Err(ParseFrameError::RemoteFrame | ParseFrameError::ErrorFrame) => Ok(None),
        Err(e) => Err(format!("'{}': {e}", shorten(s))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotp_core::CanId;

    fn frames(text: &str) -> Vec<Result<LogFrame, LogError>> {
        LogReader::new(text.as_bytes()).collect()
    }

    #[test]
    fn classic_frames() {
        let (t, iface, f) = parse_line("(1700000000.123456) can0 7E0#0322F190\n")
            .unwrap()
            .unwrap();
        assert_eq!(t.as_micros(), 1_700_000_000_123_456);
        assert_eq!(iface, "can0");
        assert_eq!(f.id(), CanId::standard(0x7E0).unwrap());
        assert_eq!(f.data(), &[0x03, 0x22, 0xF1, 0x90]);
        assert!(!f.is_fd());
    }

    #[test]
    fn extended_ids_and_empty_frames() {
        let (_, _, f) = parse_line("(0.5) vcan0 18DAF110#").unwrap().unwrap();
        assert!(f.id().is_extended());
        assert!(f.is_empty());
        let (_, _, f) = parse_line("(1.0) vcan0 00000123#11").unwrap().unwrap();
        assert!(f.id().is_extended());
    }

    #[test]
    fn fd_frames_with_flags() {
        let data = "00".repeat(12);
        let (_, _, f) = parse_line(&format!("(1.000001) can0 7E8##1{data}"))
            .unwrap()
            .unwrap();
        assert!(f.is_fd() && f.is_brs());
        assert_eq!(f.len(), 12);
        let (_, _, f) = parse_line("(1.0) can0 123##4112233").unwrap().unwrap();
        assert!(f.is_fd() && !f.is_brs());
        assert!(parse_line(&format!("(1.0) can0 7E8##1{}", "00".repeat(9)))
            .unwrap_err()
            .contains("9 bytes is not a CAN FD frame length"));
    }

    #[test]
    fn remote_and_error_frames_are_skipped() {
        assert_eq!(parse_line("(1.0) can0 123#R").unwrap(), None);
        assert_eq!(parse_line("(1.0) can0 123#R4").unwrap(), None);
        assert_eq!(
            parse_line("(1.0) can0 20000080#0000000000000000").unwrap(),
            None
        );
    }

    #[test]
    fn direction_marks_and_separators() {
        assert!(parse_line("(1.0) can0 123#11.22 R").unwrap().is_some());
        assert!(parse_line("(1.0) can0 123#1122334455667788_9 T")
            .unwrap()
            .is_some());
    }

    #[test]
    fn malformed_lines_are_errors_and_reading_continues() {
        let log = "(1.0) can0 7E0#0210\n\
                   garbage\n\
                   (1.1) can0 7E0#02100\n\
                   (1.2) can0 7E0\n\
                   (x) can0 7E0#00\n\
                   (1.3) can0 800#00\n\
                   (1.4) can0 7E0#112233445566778899\n\
                   \n\
                   (1.5) can0 7E8#0250\n";
        let got = frames(log);
        let lines: Vec<Result<usize, usize>> = got
            .iter()
            .map(|r| r.as_ref().map(|f| f.line).map_err(|e| e.line))
            .collect();
        assert_eq!(
            lines,
            vec![Ok(1), Err(2), Err(3), Err(4), Err(5), Err(6), Err(7), Ok(9)]
        );
        let e = got[2].as_ref().unwrap_err();
        assert!(e.to_string().starts_with("line 3: "), "{e}");
        assert!(e.reason.contains("odd number"));
    }

    #[test]
    fn truncated_last_line() {
        let got = frames("(1.0) can0 7E0#0210\n(1.1) can0 7E");
        assert!(got[0].is_ok());
        assert_eq!(got[1].as_ref().unwrap_err().line, 2);
    }

    #[test]
    fn non_utf8_is_an_error() {
        let input: &[u8] = b"(1.0) can0 7E0#00\n\xFF\xFE\n(1.0) can0 7E0#01\n";
        let got: Vec<_> = LogReader::new(input).collect();
        assert!(got[0].is_ok() && got[1].is_err() && got[2].is_ok());
    }

    #[test]
    fn nanosecond_and_short_fractions() {
        let (t, _, _) = parse_line("(12.123456789) c 1#").unwrap().unwrap();
        assert_eq!(t.as_micros(), 12_123_456);
        let (t, _, _) = parse_line("(12.5) c 1#").unwrap().unwrap();
        assert_eq!(t.as_micros(), 12_500_000);
        let (t, _, _) = parse_line("(12) c 1#").unwrap().unwrap();
        assert_eq!(t.as_micros(), 12_000_000);
    }
}
