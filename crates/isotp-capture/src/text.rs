//! What the text formats share: lines read one at a time with a length cap, hex and decimal
//! fields, and fixed-point times.

use std::io::BufRead;
use std::time::Duration;

use isotp_core::hex;

use super::error::{Error, Position};

/// Longer lines are reported and skipped: no line of any format comes near it, and a binary file read
/// as text must not fill memory.
pub(crate) const MAX_LINE: usize = 4096;

/// Lines of a text input, numbered from 1, without their line ending. The input is read in large
/// blocks into one buffer and each line is handed out where it lies, never copied.
pub(crate) struct Lines<R> {
    input: R,
    buf: Vec<u8>,
    /// `buf[start..filled]` is not yet handed out.
    start: usize,
    filled: usize,
    /// The line last handed out: `buf[line.0..line.1]`.
    line: (usize, usize),
    /// The number of the line last returned.
    pub(crate) number: u64,
    eof: bool,
    failed: bool,
}

const BLOCK: usize = 1 << 16;

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(input: R) -> Lines<R> {
        Lines {
            input,
            buf: vec![0; BLOCK + MAX_LINE],
            start: 0,
            filled: 0,
            line: (0, 0),
            number: 0,
            eof: false,
            failed: false,
        }
    }

    /// The line read last by [`Lines::advance`].
    pub(crate) fn line(&self) -> &[u8] {
        &self.buf[self.line.0..self.line.1]
    }

    /// The next line, `Ok(None)` at the end; an over-long line is an error and is skipped.
    #[cfg(test)]
    pub(crate) fn next_line(&mut self) -> Result<Option<&[u8]>, Error> {
        Ok(self.advance()?.then(|| self.line()))
    }

    /// For a reader's `Iterator::next`: advances to the next line ([`Lines::line`]) and says where
    /// it is; `None` at the end; the error of a line that could not be read (reading goes on
    /// after it).
    pub(crate) fn next_position(&mut self) -> Option<Result<Position, Error>> {
        match self.advance() {
            Ok(true) => Some(Ok(Position::Line(self.number))),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// Moves the unread bytes to the front and reads more; false at the end of the input.
    fn fill(&mut self) -> Result<bool, Error> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        loop {
            match self.input.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.filled += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = true;
                    return Err(Error::io(Position::Line(self.number + 1), &e));
                }
            }
        }
    }

    /// Reads the next line ([`Lines::line`]); false at the end. An over-long line is an error and
    /// is skipped.
    fn advance(&mut self) -> Result<bool, Error> {
        if self.failed {
            return Ok(false);
        }
        let mut searched = self.start;
        let end = loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[searched..self.filled]) {
                break searched + i;
            }
            if self.filled - self.start >= MAX_LINE {
                // Skip to the end of this line, then report it.
                self.number += 1;
                let number = self.number;
                loop {
                    self.start = self.filled;
                    if !self.fill()? {
                        break;
                    }
                    if let Some(i) = memchr::memchr(b'\n', &self.buf[..self.filled]) {
                        self.start = i + 1;
                        break;
                    }
                }
                return Err(too_long(number));
            }
            searched = self.filled - self.start;
            if !self.fill()? {
                if self.start == self.filled {
                    return Ok(false);
                }
                break self.filled; // a last line without a line ending
            }
        };
        self.number += 1;
        if end - self.start > MAX_LINE {
            self.start = (end + 1).min(self.filled);
            return Err(too_long(self.number));
        }
        let mut line_end = end;
        while line_end > self.start && self.buf[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        self.line = (self.start, line_end);
        self.start = (end + 1).min(self.filled);
        Ok(true)
    }
}

/// The error of line `number`, longer than [`MAX_LINE`].
fn too_long(number: u64) -> Error {
    Error::malformed(
        Position::Line(number),
        format!("line longer than {MAX_LINE} bytes (is this a text log?)"),
    )
}

/// A decimal number of 1 to 9 digits.
pub(crate) fn dec_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// A byte written as hex (`1`, `0A`) or, with `decimal`, as decimal (`10`, `255`).
pub(crate) fn byte(s: &[u8], decimal: bool) -> Option<u8> {
    if decimal {
        dec_u32(s).and_then(|v| u8::try_from(v).ok())
    } else {
        hex::byte(s, hex::Syntax::SOCKETCAND)
    }
}

/// A non-negative decimal number `digits[.digits]` scaled by 10^`scale` into an integer, rounding
/// the digits past `scale` to nearest: `fixed(b"1.5", 6)` is 1_500_000. Up to 20 integer digits.
pub(crate) fn fixed(s: &[u8], scale: u32) -> Option<u128> {
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[][..]),
    };
    if (int.is_empty() && frac.is_empty()) || int.len() > 20 || frac.len() > 30 {
        return None;
    }
    if !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u128 = 0;
    for &d in int {
        v = v * 10 + u128::from(d - b'0');
    }
    // Fewer than 30 digits kept, so `keep` fits any integer type.
    let keep = u32::try_from(frac.len()).map_or(scale, |n| n.min(scale));
    for &d in &frac[..keep as usize] {
        v = v * 10 + u128::from(d - b'0');
    }
    v *= 10u128.pow(scale - keep);
    if frac.get(keep as usize).is_some_and(|&d| d >= b'5') {
        v += 1;
    }
    Some(v)
}

/// Seconds as a decimal number (`12.345678`) to a duration, to the nanosecond.
pub(crate) fn seconds(s: &[u8]) -> Option<Duration> {
    let ns = fixed(s, 9)?;
    let secs = u64::try_from(ns / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (ns % 1_000_000_000) as u32))
}

/// White-space separated fields of a line.
pub(crate) fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(hex::number(b"1FFFFFFF"), Some(0x1FFF_FFFF));
        assert_eq!(hex::number(b"123456789"), None);
        assert_eq!(hex::number(b"G"), None);
        assert_eq!(dec_u32(b"123"), Some(123));
        assert_eq!(byte(b"FF", false), Some(255));
        assert_eq!(byte(b"255", true), Some(255));
        assert_eq!(byte(b"256", true), None);
        assert_eq!(fixed(b"1.5", 6), Some(1_500_000));
        assert_eq!(fixed(b"0.0000005", 6), Some(1));
        assert_eq!(fixed(b"12", 3), Some(12_000));
        assert_eq!(fixed(b"1.2.3", 3), None);
        assert_eq!(fixed(b".", 3), None);
        assert_eq!(
            seconds(b"1700000000.123456789"),
            Some(Duration::new(1_700_000_000, 123_456_789))
        );
    }

    #[test]
    fn lines_are_capped_and_numbered() {
        let long = "x".repeat(MAX_LINE + 10);
        let input = format!("a\r\n{long}\nb");
        let mut lines = Lines::new(input.as_bytes());
        assert_eq!(lines.next_line().unwrap(), Some(&b"a"[..]));
        let e = lines.next_line().map(|l| l.map(<[u8]>::len)).unwrap_err();
        assert_eq!(e.position, Position::Line(2));
        assert_eq!(lines.next_line().unwrap(), Some(&b"b"[..]));
        assert_eq!(lines.number, 3);
        assert_eq!(lines.next_line().unwrap(), None);
        // Longer than the whole buffer, with and without a line ending after it.
        for tail in ["\nok\n", ""] {
            let input = format!("{}{tail}", "y".repeat(3 * BLOCK));
            let mut lines = Lines::new(input.as_bytes());
            let e = lines.next_line().map(|l| l.map(<[u8]>::len)).unwrap_err();
            assert_eq!(e.position, Position::Line(1));
            let next = lines.next_line().unwrap().map(<[u8]>::to_vec);
            assert_eq!(next.as_deref(), (!tail.is_empty()).then_some(&b"ok"[..]));
        }
    }
}
