//! The bodies of the fuzz targets in `fuzz/` (libFuzzer through cargo-fuzz, on a nightly toolchain)
//! and of the seeded, time-bounded tests below (`cargo test`, on stable): one function per parser of
//! untrusted bytes, with its invariants, so that both runs check the same things.
//!
//! Built for tests and with the `fuzzing` feature only; not part of the API.

use std::collections::VecDeque;
use std::io::Cursor;

use crate::bus::slcan::protocol as slcan;
use crate::bus::socketcand::protocol as socketcand;
use std::time::Duration;

use isotp_core::{CanId, Frame};

use crate::capture::{Channel, Direction, Format, Reader, Record, Writer};

/// A recording of `format`: read to the end (whatever the bytes: records or errors, never a panic,
/// never more items than bytes), and what is read written in every writable format (errors allowed,
/// panics not), candump text read back to the same frames.
pub fn capture(format: Format, data: &[u8]) {
    let Ok(reader) = Reader::new(data, format) else {
        return;
    };
    let mut records = Vec::new();
    let mut items = 0usize;
    for item in reader {
        items += 1;
        assert!(items <= data.len() + 1, "{format}: more items than bytes");
        if let Ok(record) = item {
            records.push(record);
        }
    }
    for out in Format::ALL.into_iter().filter(|f| f.is_writable()) {
        let Ok(mut writer) = Writer::new(Cursor::new(Vec::new()), out) else {
            continue;
        };
        let mut written = Vec::new();
        for r in &records {
            if writer.write(r).is_ok() {
                written.push(r.frame);
            }
        }
        let Ok(bytes) = writer.finish().map(Cursor::into_inner) else {
            continue;
        };
        if out == Format::Candump {
            let back: Vec<_> = Reader::new(&bytes[..], out)
                .expect("candump text written here reads")
                .map(|r| r.expect("candump text written here reads").frame)
                .collect();
            assert_eq!(back, written, "{format} to candump and back");
        }
    }
}

/// A socketcand byte stream, cut into reads of the size of its first byte: the framer yields
/// messages within the length limit whatever the cuts; every message parses or is refused; a frame
/// formatted again parses to the same frame.
pub fn socketcand(data: &[u8]) {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let mut framer = socketcand::Framer::new();
    let mut chunks = VecDeque::new();
    for read in data.chunks(usize::from(cut % 64) + 1) {
        framer.push(read, &mut chunks);
    }
    let mut whole = VecDeque::new();
    socketcand::Framer::new().push(data, &mut whole);
    // Junk is counted per read; what is not junk does not depend on the cuts.
    let junk = |c: &VecDeque<socketcand::Chunk>| -> usize {
        c.iter()
            .map(|c| match c {
                socketcand::Chunk::Junk(n) => *n,
                _ => 0,
            })
            .sum()
    };
    let not_junk = |c: &VecDeque<socketcand::Chunk>| -> Vec<socketcand::Chunk> {
        c.iter()
            .filter(|c| !matches!(c, socketcand::Chunk::Junk(_)))
            .cloned()
            .collect()
    };
    assert_eq!(
        not_junk(&chunks),
        not_junk(&whole),
        "framing depends on the cuts"
    );
    assert_eq!(junk(&chunks), junk(&whole), "junk depends on the cuts");
    for chunk in chunks {
        let text = match chunk {
            socketcand::Chunk::Message(m) | socketcand::Chunk::Unterminated(m) => m,
            socketcand::Chunk::Junk(_) | socketcand::Chunk::TooLong(_) => continue,
        };
        // Characters, not bytes: each byte that is not UTF-8 reads as U+FFFD (three bytes), and
        // the parser refuses it.
        assert!(
            text.chars().count() <= socketcand::MAX_MESSAGE_LEN,
            "a message of {} characters",
            text.chars().count()
        );
        match socketcand::parse(&text) {
            Ok(socketcand::Message::Frame(frame, at)) => {
                match socketcand::parse(&socketcand::format_frame(&frame, at)) {
                    Ok(socketcand::Message::Frame(again, _)) => assert_eq!(again, frame, "{text}"),
                    other => panic!("{text}: formatted again, {other:?}"),
                }
            }
            Ok(socketcand::Message::Send(frame)) => {
                let again = socketcand::parse(&socketcand::format_send(&frame));
                assert_eq!(again, Ok(socketcand::Message::Send(frame)), "{text}");
            }
            _ => {}
        }
    }
}

/// An SLCAN adapter's byte stream, cut into reads of the size of its first byte: the splitter's
/// lines stay within the length limit; every line decodes or is refused; a decoded frame encodes to
/// a line that decodes to the same frame.
pub fn slcan(data: &[u8]) {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let mut splitter = slcan::Splitter::default();
    let mut pieces = VecDeque::new();
    for read in data.chunks(usize::from(cut % 64) + 1) {
        splitter.push(read, &mut pieces);
    }
    for piece in pieces {
        let slcan::Piece::Line(line) = piece else {
            continue;
        };
        assert!(
            line.len() <= slcan::MAX_LINE_LEN,
            "a line of {}",
            line.len()
        );
        if let Ok(slcan::Line::Frame(frame)) = slcan::decode(&line) {
            let text = slcan::encode(&frame);
            let text = text.strip_suffix('\r').expect("encode ends a line");
            assert_eq!(
                slcan::decode(text.as_bytes()),
                Ok(slcan::Line::Frame(frame)),
                "{}",
                String::from_utf8_lossy(&line)
            );
        }
    }
}

/// Records of every kind a recording holds (classic and CAN FD, 11- and 29-bit ids, channels 1-3,
/// both directions), `n` of them: seeds for the readers, written by [`encode`].
pub fn sample(n: u32) -> Vec<Record> {
    let mut out = Vec::new();
    let mut time = Duration::from_secs(1_700_000_000);
    for i in 0..n {
        time += Duration::from_micros(u64::from(i % 7) * 113 + 50);
        let id = |raw, extended| CanId::new(raw, extended).expect("valid ids");
        let frame = match i % 4 {
            0 => Frame::new(id(0x7E0, false), &[0x02, 0x10, i as u8]),
            1 => Frame::new(id(0x18DA_F110, true), &[0x21; 8]),
            2 => Frame::new_fd(id(0x7E8, false), &[i as u8; 64], true),
            _ => Frame::new_fd(id(0x456, true), &[7; 12], false),
        }
        .expect("valid frames");
        out.push(Record {
            time,
            channel: Channel::Number(1 + (i % 3) as u16),
            direction: Some(if i % 2 == 0 {
                Direction::Rx
            } else {
                Direction::Tx
            }),
            frame,
        });
    }
    out
}

/// `records` written in `format` (a writable one).
pub fn encode(records: &[Record], format: Format) -> Vec<u8> {
    let mut w = Writer::new(Cursor::new(Vec::new()), format).expect("a writable format");
    for r in records {
        w.write(r).expect("writing to memory");
    }
    w.finish().expect("writing to memory").into_inner()
}

/// A small deterministic generator (xorshift), so that a failure reproduces from its seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Numbers a hostile file may hold where a time, a length or an id goes.
const EXTREMES: &[&[u8]] = &[
    b"18446744073709551615.999999",
    b"18446744073709551616",
    b"99999999999999999999999999999999.9",
    b"4294967295",
    b"4294967296",
    b"-1",
    b"0",
    b"0.000000001",
    b"1e309",
    b"FFFFFFFF",
    b"1FFFFFFF",
    b"7FF",
    b"800",
    b"65535",
    b"99999",
    b"",
];

/// One mutation of `input`: bytes flipped, inserted, removed, a piece of another seed spliced in,
/// or a number replaced by an extreme one.
pub fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(7) {
            0 => b.truncate(at),
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next_u64() as u8;
            }
            2 => {
                let junk: Vec<u8> = (0..rng.below(16)).map(|_| rng.next_u64() as u8).collect();
                b.splice(at..at, junk);
            }
            3 => {
                let end = (at + rng.below(64)).min(b.len());
                b.drain(at..end);
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let to = (from + rng.below(200)).min(other.len());
                b.splice(at..at, other[from..to].iter().copied());
            }
            _ => {
                // The next run of digits, hex digits and dots from `at` becomes an extreme.
                let start = (at..b.len())
                    .find(|&i| b[i].is_ascii_hexdigit())
                    .unwrap_or(b.len());
                let end = (start..b.len())
                    .find(|&i| !(b[i].is_ascii_hexdigit() || b[i] == b'.'))
                    .unwrap_or(b.len());
                let extreme = EXTREMES[rng.below(EXTREMES.len())];
                b.splice(start..end, extreme.iter().copied());
            }
        }
    }
    b
}

#[cfg(test)]
mod tests;
