//! Our half of `scripts/compare-bench`: a pair of [`Stack`]s on one [`VirtualBus`], measured the same
//! way `interop/bench.py` measures a pair of python can-isotp `CanStack`s on python-can's `virtual`
//! bus. Prints one JSON object on stdout.
//!
//! ```text
//! cargo run --release -p isotp-cli --example compare_bench -- \
//!     [--sizes 64,4095] [--block-sizes 0,8] [--messages 64=2000,4095=100] [--round-trips 2000]
//! ```
//!
//! Both loops are `measure`'s, as in `isotp perf` and `cargo bench`.
//!
//! - Throughput: one thread sends `messages` messages of `size` bytes with `send_blocking`, another
//!   receives them; the time runs from the first send until the last message is received. STmin 0,
//!   the receiver asks for the block size given, classic CAN frames, no padding.
//! - Round trip: a 1-byte request from A (`send_blocking`), B echoes it as soon as it has it; the
//!   time runs from A's send until A's `recv` returns. Median and 99th percentile over `round-trips`.

// The loops of `isotp perf`, shared with it (the CLI's harness, not a library API).
#[path = "../src/measure.rs"]
#[allow(dead_code, unused_imports)]
mod measure;

use std::collections::BTreeMap;
use std::time::Duration;

use isotp::bus::VirtualBus;
use isotp::{Address, Config, Stack};
use isotp_core::wire::StMin;

const TIMEOUT: Duration = Duration::from_secs(30);

struct Args {
    sizes: Vec<usize>,
    block_sizes: Vec<u8>,
    messages: BTreeMap<usize, usize>,
    round_trips: usize,
}

fn parse_list<T: std::str::FromStr>(s: &str, what: &str) -> Vec<T> {
    s.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .unwrap_or_else(|_| panic!("bad value {x:?} in {what}"))
        })
        .collect()
}

fn args() -> Args {
    let mut a = Args {
        sizes: vec![64, 4095],
        block_sizes: vec![0, 8],
        messages: BTreeMap::from([(64, 2000), (4095, 100)]),
        round_trips: 2000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--sizes" => a.sizes = parse_list(&value(), "--sizes"),
            "--block-sizes" => a.block_sizes = parse_list(&value(), "--block-sizes"),
            "--messages" => {
                for pair in value().split(',') {
                    let (size, n) = pair
                        .split_once('=')
                        .unwrap_or_else(|| panic!("--messages takes SIZE=COUNT,...: {pair:?}"));
                    a.messages.insert(
                        size.trim().parse().expect("size"),
                        n.trim().parse().expect("count"),
                    );
                }
            }
            "--round-trips" => a.round_trips = value().parse().expect("--round-trips"),
            other => panic!(
                "unknown argument {other:?}; see the doc comment of examples/compare_bench.rs"
            ),
        }
    }
    a
}

fn pair(config: Config) -> (Stack, Stack) {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).expect("valid address");
    let a = Stack::new(bus.attach(), address, config).expect("stack");
    let b = Stack::new(bus.attach(), address.mirrored().expect("mirror"), config).expect("stack");
    (a, b)
}

fn config(block_size: u8) -> Config {
    let mut c = Config::default();
    c.block_size = block_size;
    c.st_min = StMin::ZERO;
    c
}

/// Seconds to move `messages` messages of `size` bytes from one stack to the other.
fn throughput(size: usize, block_size: u8, messages: usize) -> f64 {
    let (a, b) = pair(config(block_size));
    let n = messages as u64;
    // Warm up both threads and the allocator.
    let warm = std::thread::scope(|s| {
        let rx =
            s.spawn(|| measure::receive(b.link(), size, 3, false, TIMEOUT, Some(TIMEOUT), |_| {}));
        measure::send(a.link(), size, 3, false, TIMEOUT, |_| {}).expect("warm-up");
        rx.join().expect("receiver")
    });
    warm.expect("warm-up");
    let receiver = std::thread::spawn(move || {
        measure::receive(b.link(), size, n, false, TIMEOUT, Some(TIMEOUT), |_| {})
    });
    let sent = measure::send(a.link(), size, n, false, TIMEOUT, |_| {}).expect("send");
    let received = receiver.join().expect("receiver thread").expect("receive");
    assert_eq!(received.corrupt, 0);
    let start = sent.ended.expect("sent") - sent.elapsed;
    (received.ended.expect("received") - start).as_secs_f64()
}

/// Round-trip times of a 1-byte request and 1-byte response, in microseconds, sorted.
fn round_trips(n: usize) -> Vec<f64> {
    let (a, b) = pair(config(0));
    let total = n as u64 + 20;
    let responder = std::thread::spawn(move || {
        measure::receive(b.link(), 1, total, true, TIMEOUT, Some(TIMEOUT), |_| {})
    });
    let run = measure::send(a.link(), 1, total, true, TIMEOUT, |_| {}).expect("round trips");
    assert_eq!(
        responder.join().expect("responder").expect("echo").corrupt,
        0
    );
    // The first 20 warm up.
    let mut times: Vec<f64> = run.round_trips[20..]
        .iter()
        .map(|d| d.as_secs_f64() * 1e6)
        .collect();
    times.sort_by(|x, y| x.total_cmp(y));
    times
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    // p is in 0..=1, so the index is at most len - 1 (and a float cast saturates at 0 below).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let args = args();
    let mut rows = Vec::new();
    for &size in &args.sizes {
        for &bs in &args.block_sizes {
            let messages = *args.messages.get(&size).unwrap_or(&100);
            let seconds = throughput(size, bs, messages);
            rows.push(format!(
                r#"{{"size": {size}, "block_size": {bs}, "st_min": 0, "messages": {messages}, "seconds": {seconds:.6}, "messages_per_s": {:.3}, "kib_per_s": {:.3}}}"#,
                messages as f64 / seconds,
                (messages * size) as f64 / seconds / 1024.0
            ));
        }
    }
    let rtt = round_trips(args.round_trips);
    let mean = rtt.iter().sum::<f64>() / rtt.len() as f64;
    println!(
        r#"{{"implementation": "isotp (Rust) Stack on VirtualBus", "throughput": [{}], "round_trip": {{"size": 1, "count": {}, "median_us": {:.1}, "p99_us": {:.1}, "mean_us": {:.1}, "min_us": {:.1}, "max_us": {:.1}}}}}"#,
        rows.join(", "),
        rtt.len(),
        percentile(&rtt, 0.5),
        percentile(&rtt, 0.99),
        mean,
        rtt[0],
        rtt[rtt.len() - 1],
    );
}
