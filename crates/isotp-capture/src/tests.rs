//! Readers against damaged input: whatever the bytes, a reader returns records or errors and ends;
//! it never panics, and never returns more items than the input could hold.

use std::time::Duration;

use isotp_core::{CanId, Frame};

use super::{Channel, Direction, Format, Reader, Record};
use crate::fuzzing::{encode, sample};
use isotp_core::fuzzing::Rng;

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
        (Format::Pcapng, encode(&records, Format::Pcapng)),
        (Format::Pcap, encode(&records, Format::Pcap)),
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
    assert!(cases >= 2100);
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

/// Random frames over the edges: ids 0, 7FF, 0 and 1FFFFFFF extended and random ones, every length
/// from 0 to 64, BRS and ESI, both directions and none, two channels (1 appears first, as channel
/// names are numbered in order of appearance), times to the nanosecond.
fn random_records(rng: &mut Rng, n: usize) -> Vec<Record> {
    let mut time =
        Duration::from_secs(1_700_000_000) + Duration::from_nanos(rng.next_u64() % 1_000_000_000);
    (0..n)
        .map(|i| {
            time += Duration::from_nanos(1 + rng.next_u64() % 5_000_000);
            let id = match rng.below(6) {
                0 => CanId::standard(0).unwrap(),
                1 => CanId::standard(0x7FF).unwrap(),
                2 => CanId::extended(0).unwrap(),
                3 => CanId::extended(0x1FFF_FFFF).unwrap(),
                4 => CanId::standard(rng.below(0x800) as u32).unwrap(),
                _ => CanId::extended(rng.below(0x2000_0000) as u32).unwrap(),
            };
            let fd = rng.below(2) == 0;
            let lengths = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];
            let len = if fd {
                lengths[rng.below(16)]
            } else {
                rng.below(9)
            };
            let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let frame = if fd {
                Frame::new_fd(id, &data)
                    .unwrap()
                    .with_brs(rng.below(2) == 0)
                    .with_esi(rng.below(2) == 0)
            } else {
                Frame::new(id, &data).unwrap()
            };
            Record {
                time,
                channel: Channel::Number(if i == 0 { 1 } else { 1 + rng.below(2) as u16 }),
                direction: [None, Some(Direction::Rx), Some(Direction::Tx)][rng.below(3)],
                frame,
            }
        })
        .collect()
}

/// What of `r` a format carries, read back: every bit of the frame in all of them; candump and
/// ASC times to the microsecond; candump names channels (`can0` for channel 1) and writes no
/// direction (as `candump -l`, for Wireshark's reader), ASC, BLF and MF4 number channels (and write
/// an unknown direction as received), pcap has neither channels nor directions.
fn carried(format: Format, mut r: Record) -> Record {
    let micros = |t: Duration| Duration::from_micros(((t.as_nanos() + 500) / 1000) as u64);
    match format {
        Format::Candump => {
            r.time = micros(r.time);
            r.direction = None;
            if let Channel::Number(n) = r.channel {
                r.channel = Channel::from_name(&format!("can{}", n - 1)).unwrap();
            }
        }
        Format::Asc | Format::Blf | Format::Mf4 => {
            if format == Format::Asc {
                r.time = micros(r.time);
            }
            if let Channel::Name(name) = r.channel {
                let n: u16 = name.as_str().trim_start_matches("can").parse().unwrap();
                r.channel = Channel::Number(n + 1);
            }
            r.direction = r.direction.or(Some(Direction::Rx));
        }
        Format::Pcap => {
            r.channel = Channel::Number(1);
            r.direction = None;
        }
        _ => {}
    }
    r
}

#[test]
fn every_pair_of_formats_keeps_what_both_carry() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let records = random_records(&mut rng, 600);
    assert!(records.iter().any(|r| r.frame.is_esi()) && records.iter().any(|r| r.frame.is_brs()));
    let writable: Vec<Format> = Format::ALL
        .into_iter()
        .filter(|f| f.is_writable())
        .collect();
    for &a in &writable {
        let once: Vec<Record> = read_everything(&encode(&records, a), a)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        let want_once: Vec<Record> = records.iter().map(|&r| carried(a, r)).collect();
        assert_eq!(once, want_once, "{a}");
        for &b in &writable {
            let twice: Vec<Record> = read_everything(&encode(&once, b), b)
                .into_iter()
                .map(|r| r.unwrap())
                .collect();
            let want: Vec<Record> = want_once.iter().map(|&r| carried(b, r)).collect();
            assert_eq!(twice.len(), want.len(), "{a} -> {b}");
            for (i, (got, want)) in twice.iter().zip(&want).enumerate() {
                assert_eq!(got, want, "{a} -> {b}, record {i}");
            }
        }
    }
}
