//! Readers against damaged input: whatever the bytes, a reader returns records or errors and ends;
//! it never panics, and never returns more items than the input could hold.

use super::{Format, Reader, Record};
use crate::fuzzing::{encode, sample, Rng};

fn read_everything(bytes: &[u8], format: Format) -> Vec<Result<Record, super::Error>> {
    match Reader::new(bytes, format) {
        Ok(reader) => reader.take(100_000).collect(),
        Err(e) => vec![Err(e)],
    }
}

#[test]
fn writers_round_trip_through_readers() {
    let records = sample(300);
    for format in [Format::Candump, Format::Asc, Format::Blf] {
        let got: Vec<Record> = read_everything(&encode(&records, format), format)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got.len(), records.len(), "{format}");
        for (g, r) in got.iter().zip(&records) {
            assert_eq!((g.time, g.frame), (r.time, r.frame), "{format}");
            if format != Format::Candump {
                assert_eq!(
                    (g.channel, g.direction),
                    (r.channel, r.direction),
                    "{format}"
                );
            }
        }
    }
}

#[test]
fn damaged_input_never_panics() {
    let records = sample(300);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let text_trc = b";$FILEVERSION=2.1\n;$STARTTIME=45000.5\n;$COLUMNS=N,O,T,B,I,d,R,L,D\n      1   1.000 DT 1 07E0 Rx - 4 03 22 F1 90\n      2   2.000 FB 1 07E8 Tx - 9 10 14 62 F1 90 00 00 00 00 00 00 00\n".to_vec();
    let originals = [
        (Format::Candump, encode(&records, Format::Candump)),
        (Format::Asc, encode(&records, Format::Asc)),
        (Format::Blf, encode(&records, Format::Blf)),
        (Format::Trc, text_trc),
    ];
    // An uncompressed BLF too, so that damage reaches the object parser directly.
    let mut plain = encode(&records[..20], Format::Blf);
    if let Some(pos) = plain.windows(4).position(|w| w == b"LOBJ") {
        plain.truncate(pos);
        let mut objects = Vec::new();
        for r in &records[..20] {
            let mut one = encode(std::slice::from_ref(r), Format::Blf);
            let inner: Vec<u8> = read_container(&mut one);
            objects.extend_from_slice(&inner);
        }
        plain.extend_from_slice(b"LOBJ");
        plain.extend_from_slice(&16u16.to_le_bytes());
        plain.extend_from_slice(&1u16.to_le_bytes());
        plain.extend_from_slice(&((32 + objects.len()) as u32).to_le_bytes());
        plain.extend_from_slice(&10u32.to_le_bytes());
        plain.extend_from_slice(&[0u8; 8]);
        plain.extend_from_slice(&(objects.len() as u32).to_le_bytes());
        plain.extend_from_slice(&[0u8; 4]);
        plain.extend_from_slice(&objects);
        let got = read_everything(&plain, Format::Blf);
        assert_eq!(
            got.iter().filter(|r| r.is_ok()).count(),
            20,
            "uncompressed container"
        );
    }
    let mut cases = 0;
    for (format, original) in originals.iter().chain([(Format::Blf, plain)].iter()) {
        for _ in 0..300 {
            let mut bytes = original.clone();
            match rng.below(4) {
                0 => {
                    let n = rng.below(bytes.len() + 1);
                    bytes.truncate(n);
                }
                1 => {
                    for _ in 0..1 + rng.below(8) {
                        let i = rng.below(bytes.len());
                        bytes[i] = rng.next_u64() as u8;
                    }
                }
                2 => {
                    let i = rng.below(bytes.len());
                    let junk: Vec<u8> = (0..rng.below(40)).map(|_| rng.next_u64() as u8).collect();
                    bytes.splice(i..i, junk);
                }
                _ => {
                    let i = rng.below(bytes.len());
                    let j = (i + rng.below(200)).min(bytes.len());
                    bytes.drain(i..j);
                }
            }
            let got = read_everything(&bytes, *format);
            assert!(got.len() <= bytes.len() + 1, "{format}");
            cases += 1;
        }
        // Random bytes as each format.
        for _ in 0..50 {
            let n = rng.below(600);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            for f in Format::ALL {
                read_everything(&bytes, f);
            }
        }
    }
    assert!(cases >= 1500);
}

/// The uncompressed objects of a one-record BLF file.
fn read_container(file: &mut [u8]) -> Vec<u8> {
    use std::io::Read;
    let pos = file.windows(4).position(|w| w == b"LOBJ").unwrap();
    let container = &file[pos..];
    let mut z = flate2::read::ZlibDecoder::new(&container[32..]);
    let mut out = Vec::new();
    z.read_to_end(&mut out).unwrap();
    out
}
