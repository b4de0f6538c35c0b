//! Vector ASC, the text trace of CANoe and CANalyzer (also written by python-can's `ASCWriter`):
//!
//! ```text
//! date Tue Nov 14 22:13:20.000 2023
//! base hex  timestamps absolute
//! internal events logged
//! Begin Triggerblock Tue Nov 14 22:13:20.000 2023
//!    0.000000 Start of measurement
//!    0.001000 1  7E0             Rx   d 4 03 22 F1 90
//!    0.001450 CANFD   1 Rx      7E8  1 0 9 12 10 14 62 F1 90 00 00 00 00 00 00 00 0 0 3000 0 0 0 0 0
//! End TriggerBlock
//! ```
//!
//! Times are offsets from the start of the trigger block (`timestamps absolute`) or from the previous
//! event (`timestamps relative`); with a date in the header they become wall-clock times. The file
//! does not say its time zone: the date is read and written in the [`Zone`] given, local time by
//! default, as Vector's tools write it. Ids and data are hex, or decimal under `base dec`; a 29-bit
//! id ends with `x`. Events other than CAN frames (statistics, status, J1939 and LIN lines...) are
//! passed over.

use std::io::{BufRead, Write};
use std::time::Duration;

use isotp_core::hex;
use isotp_core::wire::dlc;
use isotp_core::{CanId, Frame, MAX_EXTENDED_ID, MAX_STANDARD_ID};

use super::civil::{self, DateTime, Zone};
use super::error::{shorten, Error, Position};
use super::record::{time_after, Channel, ChannelName, Direction, Record};
use super::text::{byte, dec_u32, fields, seconds, Lines};
use super::Skipped;

/// CANFD line flags (Vector's documentation of the ASC format).
const FLAG_REMOTE: u32 = 0x10;
const FLAG_EDL: u32 = 0x1000;
const FLAG_BRS: u32 = 0x2000;
const FLAG_ESI: u32 = 0x4000;

pub(crate) struct AscReader<R> {
    lines: Lines<R>,
    pub(crate) skipped: Skipped,
    decimal: bool,
    relative: bool,
    start: Option<Duration>,
    /// The time of the previous event, for relative timestamps.
    last: Duration,
    zone: Zone,
}

impl<R: BufRead> AscReader<R> {
    pub(crate) fn new(input: R, zone: Zone) -> AscReader<R> {
        AscReader {
            zone,
            lines: Lines::new(input),
            skipped: Skipped::default(),
            decimal: false,
            relative: false,
            start: None,
            last: Duration::ZERO,
        }
    }
}

enum Event {
    Frame(Frame, Channel, Option<Direction>),
    Remote,
    ErrorFrame,
    Other,
}

impl<R: BufRead> Iterator for AscReader<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Result<Record, Error>> {
        loop {
            let at = match self.lines.next_position()? {
                Ok(at) => at,
                Err(e) => return Some(Err(e)),
            };
            let line = self.lines.line();
            let line = super::trim(line);
            let mut f = fields(line);
            let Some(first) = f.next() else { continue };
            let Some(offset) = first
                .first()
                .filter(|b| b.is_ascii_digit())
                .and_then(|_| seconds(first))
            else {
                // Not an event: a header line.
                let lower = line.to_ascii_lowercase();
                if lower.starts_with(b"date ") {
                    match parse_date(&line[5..], self.zone) {
                        Some(t) => self.start = Some(t),
                        None => return Some(Err(bad_date(at, &line[5..]))),
                    }
                } else if lower.starts_with(b"base ") {
                    let words: Vec<&[u8]> = fields(&lower).collect();
                    match words.get(1).copied() {
                        Some(b"hex") => self.decimal = false,
                        Some(b"dec") => self.decimal = true,
                        _ => {
                            return Some(Err(Error::malformed(
                                at,
                                format!(
                                    "expected 'base hex' or 'base dec', found '{}'",
                                    shorten(line)
                                ),
                            )))
                        }
                    }
                    if let Some(i) = words.iter().position(|w| *w == b"timestamps") {
                        self.relative = words.get(i + 1) == Some(&&b"relative"[..]);
                    }
                } else if lower.starts_with(b"begin triggerblock") {
                    let rest = super::trim(&line[18..]);
                    if !rest.is_empty() {
                        match parse_date(rest, self.zone) {
                            Some(t) => self.start = Some(t),
                            None => return Some(Err(bad_date(at, rest))),
                        }
                    }
                    self.last = Duration::ZERO;
                } else if lower.starts_with(b"end triggerblock")
                    || lower.starts_with(b"//")
                    || lower.starts_with(b"internal events logged")
                    || lower.starts_with(b"no internal events logged")
                {
                } else {
                    return Some(Err(Error::malformed(
                        at,
                        format!(
                            "expected an event 'SECONDS CHANNEL ...' or a header line, found '{}'",
                            shorten(line)
                        ),
                    )));
                }
                continue;
            };
            let time = if self.relative {
                match self.last.checked_add(offset) {
                    Some(t) => self.last = t,
                    None => {
                        return Some(Err(Error::malformed(
                            at,
                            "relative timestamps add up past the representable range",
                        )))
                    }
                }
                self.last
            } else {
                offset
            };
            let time = match time_after(self.start, time) {
                Ok(t) => t,
                Err(reason) => return Some(Err(Error::malformed(at, reason))),
            };
            let event = match f.next() {
                Some(b"Start") => continue, // of measurement
                Some(b"CANFD") => self.fd_line(f),
                Some(ch) if ch.iter().all(u8::is_ascii_digit) => self.classic_line(ch, f),
                _ => Ok(Event::Other),
            };
            match event {
                Ok(Event::Frame(frame, channel, direction)) => {
                    return Some(Ok(Record {
                        time,
                        channel,
                        direction,
                        frame,
                    }))
                }
                Ok(Event::Remote) => self.skipped.remote += 1,
                Ok(Event::ErrorFrame) => self.skipped.error += 1,
                Ok(Event::Other) => self.skipped.other += 1,
                Err(reason) => return Some(Err(Error::malformed(at, reason))),
            }
        }
    }
}

fn bad_date(at: Position, text: &[u8]) -> Error {
    Error::malformed(
        at,
        format!(
            "cannot read the date '{}' (expected e.g. 'Tue Nov 14 22:13:20.000 2023'); times count from the start",
            shorten(text)
        ),
    )
}

/// `Tue Nov 14 22:13:20.000 2023`, `Sam Sep 30 15:06:13.191 2017`, `Mon Nov 27 08:33:20 pm 2023`:
/// weekday, month, day, time, optional am/pm, year, in `zone`.
fn parse_date(text: &[u8], zone: Zone) -> Option<Duration> {
    let words: Vec<&[u8]> = fields(text).collect();
    let (month, rest) = match words.as_slice() {
        [_weekday, m, rest @ ..] if civil::month(m).is_some() => (civil::month(m)?, rest),
        [m, rest @ ..] => (civil::month(m)?, rest),
        [] => return None,
    };
    let (day, clock, ampm, year) = match rest {
        [d, t, y] => (d, t, None, y),
        [d, t, ap, y] => (d, t, Some(ap.to_ascii_lowercase()), y),
        _ => return None,
    };
    let mut parts = clock.split(|&b| b == b':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (s, frac) = match s.iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[][..]),
    };
    // Vector writes milliseconds with three digits; python-can's ASCWriter writes them unpadded
    // (`.5` for 5 ms), so fewer than three digits are a count of milliseconds.
    let nanos = match frac.len() {
        0 => 0,
        1..=2 => dec_u32(frac)? * 1_000_000,
        _ => u32::try_from(super::text::fixed(&[b"0.", frac].concat(), 9)?).ok()?,
    };
    let mut hour = dec_u32(h)?;
    match ampm.as_deref() {
        None => {}
        Some(b"am") if (1..=12).contains(&hour) => hour %= 12,
        Some(b"pm") if (1..=12).contains(&hour) => hour = hour % 12 + 12,
        Some(_) => return None,
    }
    DateTime {
        year: i64::from(dec_u32(year)?),
        month,
        day: dec_u32(day)?,
        hour,
        minute: dec_u32(m)?,
        second: dec_u32(s)?,
        nanos,
    }
    .valid()
    .map(|d| zone.unix(d))
}

impl<R> AscReader<R> {
    fn number(&self, s: &[u8]) -> Option<u32> {
        if self.decimal {
            dec_u32(s)
        } else {
            hex::number(s)
        }
    }

    fn id(&self, s: &[u8]) -> Result<CanId, String> {
        let (digits, extended) = match s.strip_suffix(b"x").or_else(|| s.strip_suffix(b"X")) {
            Some(d) => (d, true),
            None => (s, false),
        };
        let raw = self
            .number(digits)
            .ok_or_else(|| format!("bad CAN id '{}'", shorten(s)))?;
        let max = if extended {
            MAX_EXTENDED_ID
        } else {
            MAX_STANDARD_ID
        };
        if raw > max {
            return Err(format!(
                "CAN id '{}' is out of range{}",
                shorten(s),
                if extended {
                    ""
                } else {
                    " (a 29-bit id ends with x)"
                }
            ));
        }
        CanId::new(raw, extended).map_err(|e| e.to_string())
    }

    fn data<'a>(
        &self,
        f: &mut impl Iterator<Item = &'a [u8]>,
        len: usize,
        out: &mut [u8; dlc::FD_MAX_LEN],
    ) -> Result<(), String> {
        for (i, slot) in out[..len].iter_mut().enumerate() {
            let b = f
                .next()
                .ok_or_else(|| format!("expected {len} data bytes, found {i}"))?;
            *slot =
                byte(b, self.decimal).ok_or_else(|| format!("bad data byte '{}'", shorten(b)))?;
        }
        Ok(())
    }

    /// `CH ID Rx|Tx d DLC DATA...` or `CH ID Rx|Tx r [DLC]` or `CH ErrorFrame ...`.
    fn classic_line<'a>(
        &self,
        ch: &[u8],
        mut f: impl Iterator<Item = &'a [u8]>,
    ) -> Result<Event, String> {
        let channel = channel(ch)?;
        let Some(id) = f.next() else {
            return Ok(Event::Other);
        };
        if id.eq_ignore_ascii_case(b"ErrorFrame") {
            return Ok(Event::ErrorFrame);
        }
        let direction = match f.next() {
            Some(b"Rx") => Direction::Rx,
            Some(b"Tx") => Direction::Tx,
            _ => return Ok(Event::Other), // statistics, status, J1939TP and other events
        };
        let id = self.id(id)?;
        match f.next() {
            Some(b"d" | b"D") => {}
            Some(b"r" | b"R") => return Ok(Event::Remote),
            other => {
                return Err(format!(
                    "expected 'd' (data) or 'r' (remote) after the direction, found '{}'",
                    shorten(other.unwrap_or_default())
                ))
            }
        }
        let code = f.next().ok_or("expected the DLC after 'd'")?;
        let code = self
            .number(code)
            .filter(|&c| c <= 15)
            .ok_or_else(|| format!("bad DLC '{}' (0-F)", shorten(code)))?;
        let len = (code as usize).min(dlc::CLASSIC_MAX_LEN);
        let mut data = [0; dlc::FD_MAX_LEN];
        self.data(&mut f, len, &mut data)?;
        let frame = Frame::new(id, &data[..len]).map_err(|e| e.to_string())?;
        Ok(Event::Frame(frame, channel, Some(direction)))
    }

    /// `CANFD CH Rx|Tx ID [NAME] BRS ESI DLC LEN DATA... [DURATION LENGTH FLAGS ...]`.
    fn fd_line<'a>(&self, mut f: impl Iterator<Item = &'a [u8]>) -> Result<Event, String> {
        let ch = f.next().ok_or("expected the channel after CANFD")?;
        let channel = channel(ch)?;
        let direction = match f.next() {
            Some(b"Rx") => Direction::Rx,
            Some(b"Tx") => Direction::Tx,
            other => {
                return Err(format!(
                    "expected Rx or Tx after the channel, found '{}'",
                    shorten(other.unwrap_or_default())
                ))
            }
        };
        let id = f.next().ok_or("expected the CAN id")?;
        if id.eq_ignore_ascii_case(b"ErrorFrame") {
            return Ok(Event::ErrorFrame);
        }
        let id = self.id(id)?;
        let mut brs = f.next().ok_or("expected the BRS flag")?;
        if !brs.iter().all(u8::is_ascii_digit) {
            brs = f
                .next()
                .ok_or("expected the BRS flag after the symbolic name")?; // a name
        }
        let esi = f.next().ok_or("expected the ESI flag")?;
        if !matches!(brs, b"0" | b"1") || !matches!(esi, b"0" | b"1") {
            return Err(format!(
                "expected BRS and ESI flags (0 or 1), found '{}' '{}'",
                shorten(brs),
                shorten(esi)
            ));
        }
        let code = f.next().ok_or("expected the DLC")?;
        let code = hex::number(code)
            .and_then(|c| u8::try_from(c).ok())
            .filter(|&c| c <= 15)
            .ok_or_else(|| format!("bad DLC '{}' (0-F)", shorten(code)))?;
        let len_text = f.next().ok_or("expected the data length")?;
        let len = dec_u32(len_text)
            .map(|l| l as usize)
            .filter(|&l| dlc::is_valid_fd_len(l))
            .ok_or_else(|| {
                format!(
                    "bad data length '{}' (0-8, 12, 16, 20, 24, 32, 48 or 64)",
                    shorten(len_text)
                )
            })?;
        if dlc::dlc_to_len(code) != Some(len) && len != 0 {
            return Err(format!("DLC {code:X} does not give {len} data bytes"));
        }
        let mut data = [0; dlc::FD_MAX_LEN];
        self.data(&mut f, len, &mut data)?;
        // Duration and bit count, then the flags that say whether it is a CAN FD frame at all.
        let flags = f.nth(2).and_then(hex::number);
        let fd = flags.map_or(true, |fl| fl & FLAG_EDL != 0);
        if flags.is_some_and(|fl| fl & FLAG_REMOTE != 0) {
            return Ok(Event::Remote);
        }
        let frame = if fd {
            Frame::new_fd(id, &data[..len]).map(|f| {
                f.with_brs(brs == b"1" || flags.is_some_and(|fl| fl & FLAG_BRS != 0))
                    .with_esi(esi == b"1" || flags.is_some_and(|fl| fl & FLAG_ESI != 0))
            })
        } else {
            Frame::new(id, &data[..len])
        }
        .map_err(|e| e.to_string())?;
        Ok(Event::Frame(frame, channel, Some(direction)))
    }
}

fn channel(s: &[u8]) -> Result<Channel, String> {
    dec_u32(s)
        .and_then(|n| u16::try_from(n).ok())
        .map(Channel::Number)
        .ok_or_else(|| format!("bad channel '{}'", shorten(s)))
}

/// Writes an ASC trace: the header on the first record (its date in the writer's [`Zone`]), then one
/// line per frame, times as offsets from the first record's millisecond (`timestamps absolute`).
/// Named channels are numbered from 1 in the order they first appear.
pub(crate) struct AscWriter<W> {
    out: W,
    zone: Zone,
    start: Option<Duration>,
    names: Vec<ChannelName>,
    line: Vec<u8>,
}

impl<W: Write> AscWriter<W> {
    pub(crate) fn new(out: W, zone: Zone) -> AscWriter<W> {
        AscWriter {
            out,
            zone,
            start: None,
            names: Vec::new(),
            line: Vec::with_capacity(300),
        }
    }

    fn header(&mut self, start: Duration) -> std::io::Result<()> {
        let d = self.zone.civil(start);
        let date = format!(
            "{} {} {:02} {:02}:{:02}:{:02}.{:03} {}",
            civil::WEEKDAYS[d.weekday() as usize],
            civil::MONTHS[d.month as usize - 1],
            d.day,
            d.hour,
            d.minute,
            d.second,
            d.nanos / 1_000_000,
            d.year
        );
        write!(
            self.out,
            "date {date}\nbase hex  timestamps absolute\ninternal events logged\nBegin Triggerblock {date}\n   0.000000 Start of measurement\n"
        )
    }

    fn number(&mut self, channel: Channel) -> u16 {
        match channel {
            Channel::Number(n) => n.max(1),
            Channel::Name(name) => {
                let i = match self.names.iter().position(|n| *n == name) {
                    Some(i) => i,
                    None => {
                        self.names.push(name);
                        self.names.len() - 1
                    }
                };
                u16::try_from(i + 1).unwrap_or(u16::MAX)
            }
        }
    }

    pub(crate) fn write(&mut self, r: &Record) -> std::io::Result<()> {
        let start = match self.start {
            Some(s) => s,
            None => {
                let s = civil::whole_millis(r.time);
                self.header(s)?;
                self.start = Some(s);
                s
            }
        };
        // Records before the start (out of order) are written at the start.
        let offset = r.time.saturating_sub(start);
        let ch = self.number(r.channel);
        let f = &r.frame;
        let mut id = format!("{:X}", f.id().raw());
        if f.id().is_extended() {
            id.push('x');
        }
        let dir = match r.direction {
            Some(Direction::Tx) => "Tx",
            _ => "Rx",
        };
        let line = &mut self.line;
        line.clear();
        // To the nearest microsecond (BLF times have nanoseconds).
        let micros = (offset.as_nanos() + 500) / 1000;
        write!(line, "{:>4}.{:06} ", micros / 1_000_000, micros % 1_000_000)?;
        if f.is_fd() {
            let mut flags = FLAG_EDL;
            if f.is_brs() {
                flags |= FLAG_BRS;
            }
            if f.is_esi() {
                flags |= FLAG_ESI;
            }
            write!(
                line,
                "CANFD {ch:>3} {dir:<4} {id:>8}  {} {} {:x} {:>2}",
                u8::from(f.is_brs()),
                u8::from(f.is_esi()),
                f.dlc(),
                f.len()
            )?;
            for b in f.data() {
                write!(line, " {b:02X}")?;
            }
            writeln!(line, " 0 0 {flags:>8X} 0 0 0 0 0")?;
        } else {
            write!(line, "{ch}  {id:<15} {dir:<4} d {:x}", f.len())?;
            for b in f.data() {
                write!(line, " {b:02X}")?;
            }
            line.push(b'\n');
        }
        self.out.write_all(&self.line)
    }

    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        if self.start.is_none() {
            self.header(Duration::ZERO)?;
        }
        self.out.write_all(b"End TriggerBlock\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Result<Record, Error>> {
        AscReader::new(text.as_bytes(), Zone::Utc).collect()
    }

    const HEADER: &str = "date Tue Nov 14 22:13:20.000 2023\nbase hex  timestamps absolute\ninternal events logged\n// version 9.0.0\nBegin Triggerblock Tue Nov 14 22:13:20.000 2023\n   0.000000 Start of measurement\n";

    #[test]
    fn classic_and_fd_lines() {
        let text = format!(
            "{HEADER}   0.001000 1  7E0             Rx   d 4 03 22 F1 90  Length = 0 BitCount = 0 ID = 2016\n   0.002000 2  18DAF110x       Tx   d 8 10 14 62 F1 90 57 56 57\n   0.003000 CANFD   1 Rx      7E8  Some_Name  1 0 9 12 10 14 62 F1 90 00 00 00 00 00 00 00 0 0 3000 0 0 0 0 0\n   0.004000 CANFD   3 Tx      123  0 0 8  8 01 02 03 04 05 06 07 08 0 0 0 0 0 0 0 0\nEnd TriggerBlock\n"
        );
        let got: Vec<Record> = read(&text).into_iter().map(Result::unwrap).collect();
        assert_eq!(got.len(), 4);
        let start = Duration::from_secs(1_700_000_000);
        assert_eq!(got[0].time, start + Duration::from_millis(1));
        assert_eq!(got[0].channel, Channel::Number(1));
        assert_eq!(got[0].frame.to_string(), "7E0#0322F190");
        assert_eq!(got[1].direction, Some(Direction::Tx));
        assert_eq!(got[1].frame.to_string(), "18DAF110#101462F190575657");
        assert!(got[2].frame.is_fd() && got[2].frame.is_brs() && got[2].frame.len() == 12);
        // Flags without EDL: a classic frame written on a CANFD line.
        assert!(!got[3].frame.is_fd());
    }

    #[test]
    fn times_past_the_range_are_errors_naming_the_line() {
        // An absolute time that does not fit once the trigger block's date is added.
        let text = "date Tue Nov 14 22:13:20.000 2023\nbase hex  timestamps absolute\nBegin Triggerblock Tue Nov 14 22:13:20.000 2023\n   18446744073709551615.0 1  7E0 Rx d 4 03 22 F1 90\n   1.0 1  7E0 Rx d 1 01\n";
        let got = read(text);
        assert_eq!(got.len(), 2, "{got:?}");
        let e = got[0].as_ref().unwrap_err();
        assert_eq!(e.position, Position::Line(4));
        assert!(e.message.contains("out of range"), "{e}");
        assert!(got[1].is_ok(), "reading goes on after the bad line");
        // Relative times whose sum leaves the range.
        let text = "base hex  timestamps relative\nBegin Triggerblock\n   18446744073709551615.0 1  7E0 Rx d 1 01\n   18446744073709551615.0 1  7E0 Rx d 1 01\n";
        let got = read(text);
        assert!(got[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("out of range"));
        let e = got[1].as_ref().unwrap_err();
        assert_eq!(e.position, Position::Line(4));
        assert!(e.message.contains("relative timestamps"), "{e}");
        // Times past what a candump log holds (which convert wrote, and the candump reader then
        // refused): out of range too.
        let text = "base hex  timestamps absolute\nBegin Triggerblock\n   999999999999.0 1  7E0 Rx d 1 01\n   1000000000000.0 1  7E0 Rx d 1 01\n";
        let got = read(text);
        assert_eq!(got[0].as_ref().unwrap().time.as_secs(), 999_999_999_999);
        let e = got[1].as_ref().unwrap_err();
        assert_eq!(e.position, Position::Line(4));
        assert!(e.message.contains("out of range"), "{e}");
    }

    #[test]
    fn relative_times_decimal_base_and_other_events() {
        let text = "date Sam Sep 30 15:06:13.191 2017\nbase dec  timestamps relative\n\
                    Begin Triggerblock\n\
                       0.5 1  2016 Rx d 2 2 16\n\
                       0.5 1  Statistic: D 0 R 0 XD 0 XR 0 E 0 O 0 B 0.00%\n\
                       0.25 CAN 1 Status:chip status error active\n\
                       0.25 1 ErrorFrame\n\
                       0.25 2 100 Tx r\n\
                       0.25 1  418119424x Rx d 1 255\n";
        let got = read(text);
        let start = DateTime {
            year: 2017,
            month: 9,
            day: 30,
            hour: 15,
            minute: 6,
            second: 13,
            nanos: 191_000_000,
        }
        .to_unix();
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.time, start + Duration::from_millis(500));
        assert_eq!(first.frame.to_string(), "7E0#0210");
        let last = got[1].as_ref().unwrap();
        assert_eq!(last.time, start + Duration::from_millis(2000));
        assert_eq!(last.frame.to_string(), "18EBFF00#FF");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn dates() {
        let t = parse_date(b"Mon Nov 27 08:33:20.5 pm 2023", Zone::Utc).unwrap();
        let d = DateTime::from_unix(t);
        assert_eq!((d.hour, d.nanos), (20, 5_000_000));
        assert!(parse_date(b"Mon Xyz 27 08:33:20 2023", Zone::Utc).is_none());
        assert!(parse_date(b"Mon Nov 31 08:33:20 2023", Zone::Utc).is_none());
        assert!(parse_date(b"Di Dez 05 08:33:20.123 2023", Zone::Utc).is_some());
    }

    #[test]
    fn malformed_lines_say_what_was_expected() {
        let text = format!(
            "{HEADER}   0.1 1  7E0 Rx d 4 03 22\n   0.2 1  7E0 Rx d G\n   0.3 1  800 Rx d 1 00\n   0.4 CANFD 1 Rx 7E8 1 0 9 11 00\n   0.5 1  7E0 Rx q 1 00\nhello\n"
        );
        let got = read(&text);
        let errs: Vec<String> = got
            .iter()
            .map(|r| r.as_ref().unwrap_err().to_string())
            .collect();
        assert!(
            errs[0].starts_with("line 7: expected 4 data bytes, found 2"),
            "{errs:?}"
        );
        assert!(errs[1].contains("bad DLC"));
        assert!(errs[2].contains("ends with x"));
        assert!(errs[3].contains("bad data length '11'"));
        assert!(errs[4].contains("expected 'd'"));
        assert!(errs[5].contains("expected an event"));
    }

    #[test]
    fn writer_output_reads_back() {
        let text = format!(
            "{HEADER}   0.001000 1  7E0             Rx   d 4 03 22 F1 90\n   0.003000 CANFD   2 Tx      7E8  1 0 9 12 10 14 62 F1 90 00 00 00 00 00 00 00 0 0 3000 0 0 0 0 0\n"
        );
        let records: Vec<Record> = read(&text).into_iter().map(Result::unwrap).collect();
        let mut w = AscWriter::new(Vec::new(), Zone::Utc);
        for r in &records {
            w.write(r).unwrap();
        }
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert!(
            out.starts_with("date Tue Nov 14 22:13:20.001 2023\n"),
            "{out}"
        );
        let again: Vec<Record> = read(&out).into_iter().map(Result::unwrap).collect();
        assert_eq!(again, records);
    }
}
