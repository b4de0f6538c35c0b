//! The fuzz targets' bodies on stable: inputs mutated from a small corpus by a seeded generator, for
//! a bounded time per body (`ISOTP_FUZZ_SECONDS`, default 1; `ISOTP_FUZZ_SEED` picks another
//! sequence). An input that fails is saved under `target/fuzz-failures/` and named in the message.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::*;

fn budget() -> Duration {
    let secs = std::env::var("ISOTP_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs)
}

fn seed() -> u64 {
    std::env::var("ISOTP_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15)
        | 1
}

/// Runs `body` on the seeds, then on mutations of them until the time budget is spent (and at least
/// `min_cases`); returns how many inputs ran.
fn run(name: &str, seeds: &[Vec<u8>], min_cases: usize, body: impl Fn(&[u8])) -> usize {
    let mut rng = Rng(seed());
    let started = Instant::now();
    let budget = budget();
    let mut cases = 0;
    let check = |input: &[u8], cases: usize| {
        if catch_unwind(AssertUnwindSafe(|| body(input))).is_err() {
            let dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{name}-{:x}-{cases}.bin", seed()));
            let _ = std::fs::write(&path, input);
            panic!(
                "{name}: input {cases} (seed {}) failed; saved to {}",
                seed(),
                path.display()
            );
        }
    };
    for s in seeds {
        check(s, cases);
        cases += 1;
    }
    let mut pool: Vec<Vec<u8>> = seeds.to_vec();
    while cases < min_cases || started.elapsed() < budget {
        let parent = &pool[rng.below(pool.len())];
        let input = mutate(&mut rng, parent, seeds);
        check(&input, cases);
        // Mutations of mutations reach deeper; the pool stays small.
        if pool.len() < 256 {
            pool.push(input);
        } else {
            let i = rng.below(pool.len());
            pool[i] = input;
        }
        cases += 1;
    }
    // Shown with --nocapture: what a longer run (ISOTP_FUZZ_SECONDS) covered.
    eprintln!("{name}: {cases} inputs in {:?}", started.elapsed());
    cases
}

const ASC_RELATIVE: &[u8] = b"date Sam Sep 30 15:06:13.191 2017\nbase dec  timestamps relative\nBegin Triggerblock\n   0.5 1  2016 Rx d 2 2 16\n   0.5 CANFD   1 Rx      7E8  1 0 9 12 10 14 62 F1 90 00 00 00 00 00 00 00 0 0 3000 0 0 0 0 0\nEnd TriggerBlock\n";
const TRC_2_1: &[u8] = b";$FILEVERSION=2.1\n;$STARTTIME=45000.5\n;$COLUMNS=N,O,T,B,I,d,R,L,D\n      1   1.000 DT 1 07E0 Rx - 4 03 22 F1 90\n      2   2.000 FB 1 07E8 Tx - 9 10 14 62 F1 90 00 00 00 00 00 00 00\n";
const TRC_1_1: &[u8] = b";$FILEVERSION=1.1\n;$STARTTIME=45244.9258333333\n     1)        42.0  Rx         07E0  8  03 22 F1 90 00 00 00 00\n     2)        42.9  Rx         07E8  8  10 14 62 F1 90 57 56 57\n";

/// Every reader, and every writer after it, on mutated recordings of its format (BLF: compressed
/// containers as the writer makes them).
#[test]
fn capture_readers_survive_mutated_recordings() {
    for format in Format::ALL {
        let mut seeds = Vec::new();
        if format.is_writable() {
            seeds.push(encode(&sample(12), format));
        }
        match format {
            Format::Asc => seeds.push(ASC_RELATIVE.to_vec()),
            Format::Trc => seeds.extend([TRC_2_1.to_vec(), TRC_1_1.to_vec()]),
            _ => {}
        }
        if seeds.is_empty() {
            continue;
        }
        let cases = run(&format!("capture-{format}"), &seeds, 300, |data| {
            capture(format, data)
        });
        assert!(cases >= 300, "{format}: {cases}");
    }
}

#[test]
fn socketcand_framer_and_parser_survive_mutated_streams() {
    let seeds: Vec<Vec<u8>> = [
        &b"\x07< hi >< ok >< frame 7E8 1700000000.000001 0322F190 >< frame 123 23.424242  >"[..],
        b"\x03< fdframe 18DAF110 05 1.000001 00112233445566778899AABB >< error bus off >junk",
        b"\x01< send 7E0 3 11 22 33 >< fdsend 7E0 1 12 00 11 22 33 44 55 66 77 88 99 AA BB >",
        b"\x20< open can0 >< rawmode >< echo >< subscribe 0 0 7E8 >< frame 7E8 1.5 00",
    ]
    .iter()
    .map(|s| s.to_vec())
    .chain([
        // Found by cargo-fuzz: bytes that are not UTF-8 in a message within the length limit.
        [
            &b"\x01\x00<70@"[..],
            &[0xD7; 83],
            &[0xFF; 93],
            &[0xD7; 20],
            &[0xF2; 15],
            b"\xD7e77>\x01",
        ]
        .concat(),
    ])
    .collect();
    run("socketcand", &seeds, 2_000, socketcand);
}

#[test]
fn slcan_decoding_survives_mutated_streams() {
    let seeds: Vec<Vec<u8>> = [
        &b"\x05t7E080322F190AAAAAAAA\rT18DAF1108101462F190575657\rz\r\r"[..],
        b"\x02d7E8C00112233445566778899AABB\rb7E89000102030405060708090A0B\rB18DAF110F\x07",
        b"\x0Bt1230\rr1234\rV1013\rN0001\re1\r\nt7E0803221F1900000001234\r",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    run("slcan", &seeds, 2_000, slcan);
}
