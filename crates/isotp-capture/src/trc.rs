//! PEAK TRC, the trace of PCAN-View and PCAN-Explorer (also written by python-can's `TRCWriter`),
//! versions 1.0 to 2.1. A header of `;` lines carries `;$FILEVERSION=2.1`, `;$STARTTIME=` (days since
//! 1899-12-30, as a decimal) and, from 2.0, `;$COLUMNS=` naming the columns of each record:
//!
//! ```text
//! ;$FILEVERSION=2.1
//! ;$STARTTIME=45244.925925926
//! ;$COLUMNS=N,O,T,B,I,d,R,L,D
//!       1         1.000 DT 1     07E0 Rx -  4    03 22 F1 90
//!       2         1.450 FB 1     07E8 Tx -  9    10 14 62 F1 90 00 00 00 00 00 00 00
//! ```
//!
//! Version 1.x records are `N) OFFSET [BUS] [Rx|Tx] ID [-] DLC DATA...`. Offsets are milliseconds from
//! the start time. An id of more than 4 hex digits is a 29-bit id. Types 2.x: `DT` classic data,
//! `FD`/`FB`/`FE`/`BI` CAN FD (B = bit rate switch, E and I = error state indicator), `RR` remote, `ER` error frame; status and event
//! records are passed over.

use std::io::BufRead;
use std::time::Duration;

use isotp_core::hex;
use isotp_core::wire::dlc;
use isotp_core::{CanId, Frame};

use super::error::{shorten, Error, Position};
use super::record::{time_after, Channel, Direction, Record};
use super::text::{byte, dec_u32, fields, fixed, Lines};
use super::Skipped;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
    V2,
}

pub(crate) struct TrcReader<R> {
    lines: Lines<R>,
    pub(crate) skipped: Skipped,
    version: Version,
    start: Option<Duration>,
    /// Column letters (2.x).
    columns: Vec<u8>,
}

/// Days from 1899-12-30 (the TRC and OLE epoch) to 1970-01-01.
const EPOCH_DAYS: u128 = 25_569;

impl<R: BufRead> TrcReader<R> {
    pub(crate) fn new(input: R) -> TrcReader<R> {
        TrcReader {
            lines: Lines::new(input),
            skipped: Skipped::default(),
            version: Version::V1_0,
            start: None,
            columns: Vec::new(),
        }
    }

    fn header(&mut self, line: &[u8], at: Position) -> Result<(), Error> {
        let Some(rest) = line.strip_prefix(b";$") else {
            return Ok(());
        };
        let (key, value) = match rest.iter().position(|&b| b == b'=') {
            Some(i) => (&rest[..i], super::trim(&rest[i + 1..])),
            None => return Ok(()),
        };
        match key {
            b"FILEVERSION" => {
                self.version = match value {
                    b"1.0" => Version::V1_0,
                    b"1.1" => Version::V1_1,
                    b"1.2" => Version::V1_2,
                    b"1.3" => Version::V1_3,
                    b"2.0" => {
                        self.columns.get_or_insert_default_columns(b"NOTIdlD");
                        Version::V2
                    }
                    b"2.1" => {
                        self.columns.get_or_insert_default_columns(b"NOTBIdRLD");
                        Version::V2
                    }
                    _ => {
                        return Err(Error::fatal(
                            at,
                            super::ErrorKind::Unsupported,
                            format!(
                                "TRC file version '{}' (expected 1.0 to 2.1)",
                                shorten(value)
                            ),
                        ))
                    }
                }
            }
            b"STARTTIME" => {
                // Days as a decimal, to the picoday, then nanoseconds rounded to the microsecond
                // (writers print a binary floating-point number).
                let days = fixed(value, 12).ok_or_else(|| {
                    Error::malformed(
                        at,
                        format!(
                            "bad start time '{}' (expected days since 1899-12-30)",
                            shorten(value)
                        ),
                    )
                })?;
                let ns = days * 86_400 / 1_000;
                let ns = (ns + 500) / 1_000 * 1_000;
                let epoch = EPOCH_DAYS * 86_400 * 1_000_000_000;
                self.start = ns
                    .checked_sub(epoch)
                    .and_then(|ns| u64::try_from(ns).ok())
                    .map(Duration::from_nanos);
            }
            b"COLUMNS" => {
                let cols: Vec<&[u8]> = value.split(|&b| b == b',').map(super::trim).collect();
                if cols.iter().any(|c| c.len() != 1)
                    || !cols.contains(&&b"T"[..])
                    || !cols.contains(&&b"O"[..])
                    || !cols.contains(&&b"I"[..])
                {
                    return Err(Error::fatal(
                        at,
                        super::ErrorKind::Corrupt,
                        format!(
                            "bad column list '{}' (expected letters such as N,O,T,B,I,d,R,L,D)",
                            shorten(value)
                        ),
                    ));
                }
                self.columns = cols.iter().map(|c| c[0]).collect();
            }
            _ => {}
        }
        Ok(())
    }
}

trait DefaultColumns {
    fn get_or_insert_default_columns(&mut self, cols: &[u8]);
}
impl DefaultColumns for Vec<u8> {
    fn get_or_insert_default_columns(&mut self, cols: &[u8]) {
        if self.is_empty() {
            self.extend_from_slice(cols);
        }
    }
}

enum Event {
    Frame(Frame, Duration, Channel, Option<Direction>),
    Remote,
    ErrorFrame,
    Other,
}

/// A version 1.x record starts `N)` then a number: used to recognise headerless TRC files.
pub(crate) fn looks_like_v1_record(line: &[u8]) -> bool {
    let mut f = fields(line);
    matches!((f.next(), f.next()), (Some(n), Some(t))
        if n.len() > 1 && n.ends_with(b")") && n[..n.len() - 1].iter().all(u8::is_ascii_digit)
            && fixed(t, 3).is_some())
}

fn id(s: &[u8]) -> Result<CanId, String> {
    let raw = hex::number(s).ok_or_else(|| format!("bad CAN id '{}'", shorten(s)))?;
    CanId::new(raw, s.len() > 4).map_err(|e| format!("CAN id '{}': {e}", shorten(s)))
}

fn millis(s: &[u8]) -> Result<Duration, String> {
    fixed(s, 6)
        .and_then(|ns| u64::try_from(ns).ok())
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("bad time offset '{}' (expected milliseconds)", shorten(s)))
}

fn direction(s: &[u8]) -> Result<Direction, String> {
    match s {
        b"Rx" => Ok(Direction::Rx),
        b"Tx" => Ok(Direction::Tx),
        _ => Err(format!("expected Rx or Tx, found '{}'", shorten(s))),
    }
}

fn bus(s: &[u8]) -> Result<Channel, String> {
    dec_u32(s)
        .and_then(|n| u16::try_from(n).ok())
        .map(Channel::Number)
        .ok_or_else(|| format!("bad bus number '{}'", shorten(s)))
}

/// The CAN FD flags a TRC 2.x type stands for: bit rate switch, error state indicator.
#[derive(Clone, Copy)]
struct FdFlags {
    brs: bool,
    esi: bool,
}

fn data<'a>(
    mut f: impl Iterator<Item = &'a [u8]>,
    len: usize,
    fd: bool,
    id: CanId,
    flags: FdFlags,
) -> Result<Frame, String> {
    let mut buf = [0u8; dlc::FD_MAX_LEN];
    for (i, slot) in buf[..len].iter_mut().enumerate() {
        let b = f
            .next()
            .ok_or_else(|| format!("expected {len} data bytes, found {i}"))?;
        *slot = byte(b, false).ok_or_else(|| format!("bad data byte '{}'", shorten(b)))?;
    }
    if fd {
        Frame::new_fd(id, &buf[..len]).map(|f| f.with_brs(flags.brs).with_esi(flags.esi))
    } else {
        Frame::new(id, &buf[..len])
    }
    .map_err(|e| e.to_string())
}

impl<R> TrcReader<R> {
    fn v1(&self, line: &[u8]) -> Result<Event, String> {
        let mut f = fields(line);
        let number = f.next().unwrap_or_default();
        if !number.ends_with(b")") {
            return Err(format!(
                "expected a record 'N) OFFSET ...', found '{}'",
                shorten(line)
            ));
        }
        let time = millis(f.next().ok_or("expected the time offset")?)?;
        let mut channel = Channel::Number(1);
        if matches!(self.version, Version::V1_2 | Version::V1_3) {
            channel = bus(f.next().ok_or("expected the bus number")?)?;
        }
        let mut dir = None;
        if self.version != Version::V1_0 {
            let d = f.next().ok_or("expected Rx or Tx")?;
            match d {
                b"Error" => return Ok(Event::ErrorFrame),
                b"Rx" | b"Tx" => dir = Some(direction(d)?),
                _ => return Ok(Event::Other), // warnings, status
            }
        }
        let id_text = f.next().ok_or("expected the CAN id")?;
        if self.version == Version::V1_0 && id_text == b"FFFFFFFF" {
            return Ok(Event::Other); // bus status
        }
        let id = id(id_text)?;
        if self.version == Version::V1_3 {
            f.next(); // reserved
        }
        let code = f.next().ok_or("expected the DLC")?;
        let code = dec_u32(code)
            .filter(|&c| c <= 15)
            .ok_or_else(|| format!("bad DLC '{}'", shorten(code)))?;
        let mut f = f.peekable();
        if f.peek() == Some(&&b"RTR"[..]) {
            return Ok(Event::Remote);
        }
        let no_flags = FdFlags {
            brs: false,
            esi: false,
        };
        let frame = data(f, (code as usize).min(8), false, id, no_flags)?;
        Ok(Event::Frame(frame, time, channel, dir))
    }

    fn v2(&self, line: &[u8]) -> Result<Event, String> {
        let mut time = None;
        let mut kind: &[u8] = b"";
        let mut channel = Channel::Number(1);
        let mut dir = None;
        let mut id_text: Option<&[u8]> = None;
        let mut len = None;
        let mut code = None;
        let mut f = fields(line);
        for &col in &self.columns {
            if col == b'D' {
                break; // the data: the rest of the line
            }
            let Some(v) = f.next() else {
                if matches!(kind, b"DT" | b"FD" | b"FB" | b"FE" | b"BI") {
                    return Err(format!("expected column '{}'", col as char));
                }
                return Ok(Event::Other);
            };
            match col {
                b'O' => time = Some(millis(v)?),
                b'T' => {
                    kind = v;
                    match kind {
                        b"DT" | b"FD" | b"FB" | b"FE" | b"BI" => {}
                        b"RR" => return Ok(Event::Remote),
                        b"ER" => return Ok(Event::ErrorFrame),
                        _ => return Ok(Event::Other),
                    }
                }
                b'B' => channel = bus(v)?,
                b'I' => id_text = Some(v),
                b'd' => dir = Some(direction(v)?),
                b'l' => {
                    len = Some(
                        dec_u32(v).ok_or_else(|| format!("bad data length '{}'", shorten(v)))?
                            as usize,
                    )
                }
                b'L' => {
                    code = Some(
                        dec_u32(v)
                            .and_then(|c| u8::try_from(c).ok())
                            .filter(|&c| c <= 15)
                            .ok_or_else(|| format!("bad DLC '{}'", shorten(v)))?,
                    )
                }
                _ => {}
            }
        }
        let fd = kind != b"DT";
        let flags = FdFlags {
            brs: matches!(kind, b"FB" | b"BI"),
            esi: matches!(kind, b"FE" | b"BI"),
        };
        let id = id(id_text.ok_or("no CAN id column")?)?;
        let len = match (len, code) {
            (Some(l), _) => l,
            (None, Some(c)) if fd => dlc::dlc_to_len(c).unwrap_or(64),
            (None, Some(c)) => usize::from(c).min(8),
            (None, None) => return Err("no length column (l or L)".into()),
        };
        if (fd && !dlc::is_valid_fd_len(len)) || (!fd && len > 8) {
            return Err(format!(
                "a {} frame cannot have {len} data bytes",
                if fd { "CAN FD" } else { "classic CAN" }
            ));
        }
        let frame = data(f, len, fd, id, flags)?;
        Ok(Event::Frame(
            frame,
            time.ok_or("no time offset column")?,
            channel,
            dir,
        ))
    }
}

impl<R: BufRead> Iterator for TrcReader<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Result<Record, Error>> {
        loop {
            let at = match self.lines.next_position()? {
                Ok(at) => at,
                Err(e) => return Some(Err(e)),
            };
            let line = self.lines.line();
            let line = super::trim(line);
            if line.is_empty() {
                continue;
            }
            if line[0] == b';' {
                let line = line.to_vec();
                if let Err(e) = self.header(&line, at) {
                    return Some(Err(e));
                }
                continue;
            }
            let event = if self.version == Version::V2 {
                self.v2(line)
            } else {
                self.v1(line)
            };
            match event {
                Ok(Event::Frame(frame, offset, channel, direction)) => {
                    return Some(match time_after(self.start, offset) {
                        Ok(time) => Ok(Record {
                            time,
                            channel,
                            direction,
                            frame,
                        }),
                        Err(reason) => Err(Error::malformed(at, reason)),
                    })
                }
                Ok(Event::Remote) => self.skipped.remote += 1,
                Ok(Event::ErrorFrame) => self.skipped.error += 1,
                Ok(Event::Other) => self.skipped.other += 1,
                Err(reason) => return Some(Err(Error::malformed(at, reason))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Result<Record, Error>> {
        TrcReader::new(text.as_bytes()).collect()
    }

    fn frames(text: &str) -> Vec<String> {
        read(text)
            .into_iter()
            .map(|r| {
                let r = r.unwrap();
                format!("{} {} {}", r.time.as_micros(), r.channel, r.frame)
            })
            .collect()
    }

    #[test]
    fn version_2_1() {
        let text = ";$FILEVERSION=2.1\n;$STARTTIME=45244.925925925925\n;$COLUMNS=N,O,T,B,I,d,R,L,D\n;comment\n\
              1         1.000 DT 1     07E0 Rx -  4    03 22 F1 90\n\
              2         1.450 FB 2 18DAF110 Tx -  9    10 14 62 F1 90 00 00 00 00 00 00 00\n\
              3         2.000 RR 1     07E0 Rx -  0\n\
              5         2.100 BI 1     07E0 Rx -  2    AA BB\n\
              6         2.200 FE 1     07E0 Rx -  2    AA BB\n\
              4         2.000 ST 1     Rx  00000000\n";
        let got = frames(text);
        // 45244.925925925925 days = 2023-11-14 22:13:20 UTC (to the microsecond).
        assert_eq!(
            got,
            vec![
                "1700000000001000 1 7E0#0322F190",
                "1700000000001450 2 18DAF110##1101462F19000000000000000",
                "1700000000002100 1 7E0##3AABB",
                "1700000000002200 1 7E0##2AABB"
            ]
        );
    }

    #[test]
    fn version_2_0_lengths_in_bytes() {
        let text = ";$FILEVERSION=2.0\n;$STARTTIME=0\n;$COLUMNS=N,O,T,I,d,l,D\n      1      1059.900 FD 0300 Rx 12 00 01 02 03 04 05 06 07 08 09 0A 0B\n";
        assert_eq!(
            frames(text),
            vec!["1059900 1 300##000010203040506:0708090A0B".replace(':', "")]
        );
    }

    #[test]
    fn versions_1_x() {
        let v10 = "     1)      1841  0300  8  00 01 02 03 04 05 06 07\n     2)      1842  FFFFFFFF  4  00 00 00 04\n";
        assert_eq!(frames(v10), vec!["1841000 1 300#0001020304050607"]);
        let v11 = ";$FILEVERSION=1.1\n;$STARTTIME=25569.5\n     1)      1841.5  Rx         0300  3  01 02 03\n     2)      1842.0  Warng  FFFFFFFF  4  00 00 00 08  BUSHEAVY\n     3)      1843.0  Tx     18DAF110  2  01 02\n     4)      1844.0  Rx         0300  1  RTR\n";
        assert_eq!(
            frames(v11),
            vec!["43201841500 1 300#010203", "43201843000 1 18DAF110#0102"]
        );
        let v13 = ";$FILEVERSION=1.3\n     1)      1.0 2  Rx        0300 -  2  01 02\n";
        assert_eq!(frames(v13), vec!["1000 2 300#0102"]);
    }

    #[test]
    fn errors_say_where_and_what() {
        let text = ";$FILEVERSION=2.1\n;$COLUMNS=N,O,T,B,I,d,R,L,D\n      1   1.0 DT 1 07E0 Rx - 4 03 22\n      2   x DT 1 07E0 Rx - 1 00\n      3   1.0 DT 1 07E0 Up - 1 00\n";
        let errs: Vec<String> = read(text)
            .into_iter()
            .map(|r| r.unwrap_err().to_string())
            .collect();
        assert_eq!(errs[0], "line 3: expected 4 data bytes, found 2");
        assert!(errs[1].contains("bad time offset"));
        assert!(errs[2].contains("expected Rx or Tx"));
        let bad = read(";$FILEVERSION=3.0\n");
        assert!(bad[0].as_ref().unwrap_err().is_fatal());
    }
}
