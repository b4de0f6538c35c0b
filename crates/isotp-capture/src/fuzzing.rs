//! The body of the capture fuzz targets in `fuzz/` (libFuzzer through cargo-fuzz) and of the
//! seeded, time-bounded test below (`cargo test`, on stable), so that both runs check the same
//! things; seeds for the readers' other tests.
//!
//! Built for tests and with the `fuzzing` feature only; not part of the API.

use std::io::Cursor;
use std::time::Duration;

use isotp_core::{CanId, Frame};

use crate::{Channel, Direction, Format, Reader, Record, Writer};

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

/// Records of every kind a recording holds (classic and CAN FD, 11- and 29-bit ids, channels 1-3,
/// both directions), `n` of them: seeds for the readers, written by [`encode`].
#[must_use]
pub fn sample(n: u32) -> Vec<Record> {
    let mut out = Vec::new();
    let mut time = Duration::from_secs(1_700_000_000);
    for i in 0..n {
        time += Duration::from_micros(u64::from(i % 7) * 113 + 50);
        let id = |raw, extended| CanId::new(raw, extended).expect("valid ids");
        let frame = match i % 4 {
            0 => Frame::new(id(0x7E0, false), &[0x02, 0x10, i.to_le_bytes()[0]]),
            1 => Frame::new(id(0x18DA_F110, true), &[0x21; 8]),
            2 => {
                Frame::new_fd(id(0x7E8, false), &[i.to_le_bytes()[0]; 64]).map(|f| f.with_brs(true))
            }
            _ => Frame::new_fd(id(0x456, true), &[7; 12]),
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
#[must_use]
pub fn encode(records: &[Record], format: Format) -> Vec<u8> {
    let mut w = Writer::new(Cursor::new(Vec::new()), format).expect("a writable format");
    for r in records {
        w.write(r).expect("writing to memory");
    }
    w.finish().expect("writing to memory").into_inner()
}

/// Recordings of `format` to start fuzzing from: the sample written by our writer in 1, 12 and 40
/// records (BLF: one and several compressed containers), and files as other tools write them.
/// `cargo run -p isotp-capture --features fuzzing --example fuzz_seeds` puts them in `fuzz/corpus`.
#[must_use]
pub fn seeds(format: Format) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    if format.is_writable() {
        seeds.extend([1, 12, 40].map(|n| encode(&sample(n), format)));
    }
    match format {
        Format::Asc => seeds.push(ASC_RELATIVE.to_vec()),
        Format::Trc => seeds.extend([TRC_2_1.to_vec(), TRC_1_1.to_vec()]),
        _ => {}
    }
    seeds
}

const ASC_RELATIVE: &[u8] = b"date Sam Sep 30 15:06:13.191 2017\nbase dec  timestamps relative\nBegin Triggerblock\n   0.5 1  2016 Rx d 2 2 16\n   0.5 CANFD   1 Rx      7E8  1 0 9 12 10 14 62 F1 90 00 00 00 00 00 00 00 0 0 3000 0 0 0 0 0\nEnd TriggerBlock\n";
const TRC_2_1: &[u8] = b";$FILEVERSION=2.1\n;$STARTTIME=45000.5\n;$COLUMNS=N,O,T,B,I,d,R,L,D\n      1   1.000 DT 1 07E0 Rx - 4 03 22 F1 90\n      2   2.000 FB 1 07E8 Tx - 9 10 14 62 F1 90 00 00 00 00 00 00 00\n";
const TRC_1_1: &[u8] = b";$FILEVERSION=1.1\n;$STARTTIME=45244.9258333333\n     1)        42.0  Rx         07E0  8  03 22 F1 90 00 00 00 00\n     2)        42.9  Rx         07E8  8  10 14 62 F1 90 57 56 57\n";

#[cfg(test)]
mod tests;
