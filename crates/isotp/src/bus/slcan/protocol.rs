//! The SLCAN (Lawicel) ASCII protocol: commands, frame lines and the `\r`-terminated reply stream.
//! Total functions: any input gives a value or an error text, never a panic; buffers are capped.

// Without feature `serial` only the bit-rate tables are used (by interface-string parsing).
#![cfg_attr(not(feature = "serial"), allow(dead_code))]

use std::collections::VecDeque;
use std::fmt::Write as _;

use isotp_core::hex;
use isotp_core::wire::dlc;
use isotp_core::{CanId, Frame};

/// Longest line accepted: `B` + 8 id digits + DLC + 128 data digits + a 4-digit timestamp is 142.
pub(crate) const MAX_LINE_LEN: usize = 256;

/// Nominal bit rates and their `S` commands. S7 is 800 kbit/s in Lawicel's original and 750 kbit/s
/// in CANable firmware; both name it. S9 (83.3 kbit/s) exists on CANable-style firmware only.
pub(crate) const BITRATES: &[(u32, &str)] = &[
    (10_000, "S0"),
    (20_000, "S1"),
    (50_000, "S2"),
    (100_000, "S3"),
    (125_000, "S4"),
    (250_000, "S5"),
    (500_000, "S6"),
    (750_000, "S7"),
    (800_000, "S7"),
    (1_000_000, "S8"),
    (83_333, "S9"),
];

/// CAN FD data-phase bit rates and their `Y` commands (CANable 2.0 and compatible firmware).
pub(crate) const DATA_BITRATES: &[(u32, &str)] = &[
    (500_000, "Y0"),
    (1_000_000, "Y1"),
    (2_000_000, "Y2"),
    (3_000_000, "Y3"),
    (4_000_000, "Y4"),
    (5_000_000, "Y5"),
    (8_000_000, "Y8"),
];

fn lookup(table: &[(u32, &'static str)], rate: u32) -> Option<&'static str> {
    table.iter().find(|(r, _)| *r == rate).map(|(_, c)| *c)
}

fn list(table: &[(u32, &str)]) -> String {
    table
        .iter()
        .map(|(r, _)| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `S` command for a bit rate, or an error naming the rates accepted.
pub(crate) fn bitrate_command(bitrate: u32) -> Result<&'static str, String> {
    lookup(BITRATES, bitrate).ok_or_else(|| {
        format!(
            "{bitrate} bit/s is not an SLCAN bit rate; use one of {}",
            list(BITRATES)
        )
    })
}

/// The `Y` command for a CAN FD data bit rate, or an error naming the rates accepted.
pub(crate) fn data_bitrate_command(bitrate: u32) -> Result<&'static str, String> {
    lookup(DATA_BITRATES, bitrate).ok_or_else(|| {
        format!(
            "{bitrate} bit/s is not an SLCAN CAN FD data bit rate; use one of {}",
            list(DATA_BITRATES)
        )
    })
}

/// The transmit command for a frame, `\r` included: `t` / `T` for classic frames, `d` / `D` for CAN
/// FD, `b` / `B` for CAN FD with bit rate switch (lower case: 11-bit id, upper case: 29-bit).
pub(crate) fn encode(frame: &Frame) -> String {
    let ext = frame.id().is_extended();
    let kind = match (frame.is_fd(), frame.is_brs(), ext) {
        (false, _, false) => 't',
        (false, _, true) => 'T',
        (true, false, false) => 'd',
        (true, false, true) => 'D',
        (true, true, false) => 'b',
        (true, true, true) => 'B',
    };
    let mut s = String::with_capacity(12 + 2 * frame.len());
    s.push(kind);
    if ext {
        let _ = write!(s, "{:08X}", frame.id().raw());
    } else {
        let _ = write!(s, "{:03X}", frame.id().raw());
    }
    let _ = write!(s, "{:X}", frame.dlc());
    for b in frame.data() {
        let _ = write!(s, "{b:02X}");
    }
    s.push('\r');
    s
}

/// One line from the adapter, terminator removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// A received frame.
    Frame(Frame),
    /// An empty line: `\r` alone, the reply to a successful command.
    Ack,
    /// `z` or `Z`: Lawicel's reply to a successful `t` / `T`.
    TxAck,
    /// Something valid but of no use here (a remote frame, a version or status reply).
    Other(String),
    /// `e...`: an error frame (bus errors, as the Linux slcan driver and some firmware report them).
    BusError(String),
}

/// A field of fixed width (at most 8 digits) in hex.
fn number(s: &[u8], what: &str) -> Result<u32, String> {
    hex::number(s).ok_or_else(|| format!("{what} {:?} is not hex", String::from_utf8_lossy(s)))
}

/// Parses one line (without its `\r`).
pub(crate) fn decode(line: &[u8]) -> Result<Line, String> {
    let Some((&kind, rest)) = line.split_first() else {
        return Ok(Line::Ack);
    };
    let (ext, fd, brs) = match kind {
        b't' => (false, false, false),
        b'T' | b'x' => (true, false, false),
        b'd' => (false, true, false),
        b'D' => (true, true, false),
        b'b' => (false, true, true),
        b'B' => (true, true, true),
        b'z' | b'Z' if rest.is_empty() => return Ok(Line::TxAck),
        b'r' | b'R' => return Ok(Line::Other("remote frame".into())),
        b'e' => return Ok(Line::BusError(String::from_utf8_lossy(rest).into_owned())),
        b'V' | b'v' | b'N' | b'F' | b'f' | b'E' | b'I' | b'i' => {
            return Ok(Line::Other(String::from_utf8_lossy(line).into_owned()))
        }
        _ => {
            return Err(format!(
                "unknown line {:?}",
                String::from_utf8_lossy(&line[..line.len().min(40)])
            ))
        }
    };
    let id_len = if ext { 8 } else { 3 };
    if rest.len() < id_len + 1 {
        return Err(format!(
            "frame line {:?} is too short",
            String::from_utf8_lossy(line)
        ));
    }
    let (id_text, rest) = rest.split_at(id_len);
    let raw = number(id_text, "CAN id")?;
    let id = CanId::new(raw, ext).map_err(|e| e.to_string())?;
    // The length check above leaves the DLC digit.
    let (&dlc_char, data_text) = rest.split_first().ok_or("frame line has no DLC")?;
    let code =
        hex::digit(dlc_char).ok_or_else(|| format!("DLC {:?} is not hex", char::from(dlc_char)))?;
    let len = if fd {
        dlc::dlc_to_len(code).ok_or("bad DLC")?
    } else if code <= 8 {
        usize::from(code)
    } else {
        return Err(format!("DLC {code} of a classic frame is above 8"));
    };
    // Data, then an optional 4-digit timestamp (if the adapter ignored `Z0`).
    let extra = data_text.len().checked_sub(2 * len);
    if !matches!(extra, Some(0) | Some(4)) {
        return Err(format!(
            "frame line {:?}: {} data digits for a length of {len}",
            String::from_utf8_lossy(line),
            data_text.len()
        ));
    }
    let (data_digits, timestamp) = data_text.split_at(2 * len);
    let mut data = [0u8; 64];
    let bytes = hex::parse(data_digits, hex::Syntax::CANDUMP)
        .map_err(|_| format!("data {:?} is not hex", String::from_utf8_lossy(data_digits)))?;
    for (slot, b) in data.iter_mut().zip(bytes) {
        *slot = b;
    }
    if extra == Some(4) {
        number(timestamp, "timestamp")?;
    }
    let frame = if fd {
        Frame::new_fd(id, &data[..len]).map(|f| f.with_brs(brs))
    } else {
        Frame::new(id, &data[..len])
    };
    frame.map(Line::Frame).map_err(|e| e.to_string())
}

/// One piece of the adapter's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A `\r`-terminated line, terminator removed.
    Line(Vec<u8>),
    /// BEL (0x07): the adapter rejected a command.
    Bell,
    /// A line longer than [`MAX_LINE_LEN`] was dropped (this many bytes).
    TooLong(usize),
}

/// Splits the adapter's byte stream at `\r` and BEL; ignores `\n`; never holds more than
/// [`MAX_LINE_LEN`] bytes.
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    buf: Vec<u8>,
    overflow: Option<usize>,
}

impl Splitter {
    pub(crate) fn push(&mut self, data: &[u8], out: &mut VecDeque<Piece>) {
        for &b in data {
            match b {
                b'\r' => match self.overflow.take() {
                    Some(n) => out.push_back(Piece::TooLong(n)),
                    None => out.push_back(Piece::Line(std::mem::take(&mut self.buf))),
                },
                0x07 => {
                    // A BEL ends whatever partial line came before it.
                    self.overflow = None;
                    self.buf.clear();
                    out.push_back(Piece::Bell);
                }
                b'\n' => {}
                _ => {
                    if let Some(n) = self.overflow.as_mut() {
                        *n += 1;
                    } else {
                        self.buf.push(b);
                        if self.buf.len() > MAX_LINE_LEN {
                            self.overflow = Some(self.buf.len());
                            self.buf = Vec::new();
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_id(raw: u32) -> CanId {
        CanId::standard(raw).unwrap()
    }

    #[test]
    fn encodes_every_kind() {
        let ext = CanId::extended(0x18DA_F110).unwrap();
        assert_eq!(
            encode(&Frame::new(std_id(0x7E0), &[2, 0x10, 3]).unwrap()),
            "t7E03021003\r"
        );
        assert_eq!(encode(&Frame::new(std_id(1), &[]).unwrap()), "t0010\r");
        assert_eq!(encode(&Frame::new(ext, &[0xAB]).unwrap()), "T18DAF1101AB\r");
        let fd = Frame::new_fd(std_id(0x123), &[0x55; 12]).unwrap();
        assert_eq!(encode(&fd), format!("d1239{}\r", "55".repeat(12)));
        let fd = Frame::new_fd(ext, &[0; 64]).unwrap().with_brs(true);
        assert_eq!(encode(&fd), format!("B18DAF110F{}\r", "00".repeat(64)));
        let fd = Frame::new_fd(std_id(0x123), &[1]).unwrap().with_brs(true);
        assert!(encode(&fd).starts_with("b1231"));
        let fd = Frame::new_fd(ext, &[1]).unwrap();
        assert!(encode(&fd).starts_with("D18DAF1101"));
    }

    #[test]
    fn decodes_what_it_encodes() {
        let ext = CanId::extended(0x1FFF_FFFF).unwrap();
        for f in [
            Frame::new(std_id(0x7FF), &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap(),
            Frame::new(std_id(0), &[]).unwrap(),
            Frame::new(ext, &[9]).unwrap(),
            Frame::new_fd(std_id(5), &[7; 48]).unwrap().with_brs(true),
            Frame::new_fd(ext, &[7; 20]).unwrap(),
        ] {
            let line = encode(&f);
            assert_eq!(
                decode(line.trim_end_matches('\r').as_bytes()),
                Ok(Line::Frame(f))
            );
        }
    }

    #[test]
    fn decodes_adapter_lines() {
        assert_eq!(
            decode(b"t12321122"),
            Ok(Line::Frame(
                Frame::new(std_id(0x123), &[0x11, 0x22]).unwrap()
            ))
        );
        assert_eq!(
            decode(b"t1232aabbEA5F"),
            Ok(Line::Frame(
                Frame::new(std_id(0x123), &[0xAA, 0xBB]).unwrap()
            )),
            "lower-case data and a timestamp"
        );
        assert_eq!(decode(b""), Ok(Line::Ack));
        assert_eq!(decode(b"z"), Ok(Line::TxAck));
        assert_eq!(decode(b"Z"), Ok(Line::TxAck));
        assert!(matches!(decode(b"r1232"), Ok(Line::Other(_))));
        assert!(matches!(decode(b"V1013"), Ok(Line::Other(_))));
        for bad in [
            &b"t12"[..],
            b"t8001",
            b"t1239",
            b"t12321",
            b"t123211223",
            b"t1232zz22",
            b"T1",
            b"T200000000",
            b"d123G",
            b"q",
            b"Z1",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn splits_lines_bells_and_caps_length() {
        let mut s = Splitter::default();
        let mut out = VecDeque::new();
        s.push(b"t1230\r\r\x07t12", &mut out);
        s.push(b"31AA\r\n", &mut out);
        assert_eq!(
            out.drain(..).collect::<Vec<_>>(),
            vec![
                Piece::Line(b"t1230".to_vec()),
                Piece::Line(vec![]),
                Piece::Bell,
                Piece::Line(b"t1231AA".to_vec()),
            ]
        );
        s.push(&[b'x'; 5000], &mut out);
        assert!(s.buf.len() <= MAX_LINE_LEN);
        s.push(b"\rt1230\r", &mut out);
        assert!(matches!(out[0], Piece::TooLong(n) if n == 5000));
        assert_eq!(out[1], Piece::Line(b"t1230".to_vec()));
    }

    #[test]
    fn bitrates() {
        assert_eq!(bitrate_command(500_000), Ok("S6"));
        assert_eq!(bitrate_command(800_000), Ok("S7"));
        assert!(bitrate_command(123).unwrap_err().contains("500000"));
        assert_eq!(data_bitrate_command(2_000_000), Ok("Y2"));
        assert!(data_bitrate_command(7).is_err());
    }
}
