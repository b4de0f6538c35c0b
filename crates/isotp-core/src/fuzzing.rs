//! What the fuzz targets of every crate in the workspace share: a seeded input mutator and the
//! time-bounded runner of their stable tests (`cargo test`: inputs mutated from a small corpus, for
//! `ISOTP_FUZZ_SECONDS` per body, default 1; `ISOTP_FUZZ_SEED` picks another sequence). An input that
//! fails is saved under `target/fuzz-failures/` and named in the message.
//!
//! Built with the `fuzzing` feature only; not part of the API.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};
use std::vec::Vec;
use std::{eprintln, format, panic};

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
        // The remainder is below `n`, a `usize`.
        usize::try_from(self.next_u64() % n.max(1) as u64).unwrap_or(0)
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
    for _ in 0..=rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(7) {
            0 => b.truncate(at),
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next_u64().to_le_bytes()[0];
            }
            2 => {
                let junk: Vec<u8> = (0..rng.below(16))
                    .map(|_| rng.next_u64().to_le_bytes()[0])
                    .collect();
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

/// The time each seeded run gets: `ISOTP_FUZZ_SECONDS` (default 1).
#[must_use]
pub fn budget() -> Duration {
    let secs = std::env::var("ISOTP_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs)
}

/// The generator's seed: `ISOTP_FUZZ_SEED` picks another sequence.
#[must_use]
pub fn seed() -> u64 {
    std::env::var("ISOTP_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15)
        | 1
}

/// Runs `body` on the seeds, then on mutations of them until the time budget is spent (and at least
/// `min_cases`); returns how many inputs ran.
pub fn run(name: &str, seeds: &[Vec<u8>], min_cases: usize, body: impl Fn(&[u8])) -> usize {
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
