//! Timing figures of the drivers over the in-process virtual bus (issue figures for the README).
//!
//! `cargo bench -p isotp --bench stack_figures` prints one line per figure. These are measurements,
//! not assertions: a noisy machine moves them.

// The loops of `isotp perf`, shared with it (the CLI's harness, not a library API).
#[path = "../src/measure.rs"]
#[allow(dead_code, unused_imports)]
mod measure;
use measure::Percentiles;

use std::time::{Duration, Instant};

use isotp::bus::{CanBus, VirtualBus};
use isotp::{Address, Config, DriverOptions, Node, Stack};
use isotp_core::wire::StMin;

const WAIT: Option<Duration> = Some(Duration::from_secs(30));
const TIMEOUT: Duration = Duration::from_secs(30);

fn pair(config: Config) -> (VirtualBus, Stack, Stack) {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).expect("valid address");
    let a = Stack::new(bus.attach(), address, config).expect("stack");
    let b = Stack::new(bus.attach(), address.mirrored().expect("mirror"), config).expect("stack");
    (bus, a, b)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // p is in 0..=1, so the index is at most len - 1 (and a float cast saturates at 0 below).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Frames/s of 4095-byte messages for about two seconds, with `measure`'s loops.
fn throughput() {
    let (bus, a, b) = pair(Config::default());
    // Warm up, then as many messages as go in about two seconds.
    let warm = std::thread::scope(|s| {
        let rx =
            s.spawn(|| measure::receive(b.link(), 4095, 50, false, TIMEOUT, Some(TIMEOUT), |_| {}));
        measure::send(a.link(), 4095, 50, false, TIMEOUT, |_| {}).expect("warm-up");
        rx.join().expect("receiver")
    });
    let warm = warm.expect("warm-up");
    let per_s = 50.0 / warm.elapsed.as_secs_f64().max(1e-6);
    // A float cast saturates; the clamp bounds it either way.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = ((per_s * 2.0) as u64).clamp(100, 100_000);
    let frames0 = bus.frames_sent();
    let receiver = std::thread::spawn(move || {
        measure::receive(b.link(), 4095, n, false, TIMEOUT, Some(TIMEOUT), |_| {})
    });
    let sent = measure::send(a.link(), 4095, n, false, TIMEOUT, |_| {}).expect("send");
    let received = receiver.join().expect("receiver").expect("receive");
    let start = sent.ended.expect("sent") - sent.elapsed;
    let elapsed = (received.ended.expect("received") - start).as_secs_f64();
    let frames = bus.frames_sent() - frames0;
    println!(
        "throughput 4095 B classic BS 0 STmin 0: {:.0} frames/s ({:.0} messages/s, {:.2} MB/s payload)",
        frames as f64 / elapsed,
        n as f64 / elapsed,
        n as f64 * 4095.0 / elapsed / 1e6
    );
}

fn round_trip(spin: Duration) {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).expect("valid address");
    let options = DriverOptions::default().with_spin_before_park(spin);
    let a = Stack::with_options(bus.attach(), address, Config::default(), options).expect("stack");
    let b = Stack::with_options(
        bus.attach(),
        address.mirrored().expect("mirror"),
        Config::default(),
        options,
    )
    .expect("stack");
    let iterations: u64 = std::env::var("RTT_ITER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21_000);
    let echo = std::thread::spawn(move || {
        measure::receive(
            b.link(),
            1,
            iterations,
            true,
            TIMEOUT,
            Some(TIMEOUT),
            |_| {},
        )
    });
    let cpu0 = cpu_seconds();
    let run = measure::send(a.link(), 1, iterations, true, TIMEOUT, |_| {}).expect("round trips");
    echo.join().expect("echo").expect("echo");
    // The first 5 % warm up.
    let samples = &run.round_trips[(iterations / 20) as usize..];
    let p = Percentiles::of(samples).expect("samples");
    let cpu = cpu_seconds() - cpu0;
    println!(
        "round trip 1-byte request/response, spin {} us: median {:.1} us, p99 {:.1} us, max {:.1} us ({} samples, {:.0} us CPU per round trip)",
        spin.as_micros(), p.p50, p.p99, p.max, p.count, cpu / iterations as f64 * 1e6
    );
}

/// Round trips between two `AsyncStack`s on one current-thread runtime (the tester and the echoing
/// ECU are two tasks).
fn async_round_trip() {
    use isotp::AsyncStack;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let iterations: usize = std::env::var("RTT_ITER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21_000);
    let samples = runtime.block_on(async {
        let bus = VirtualBus::new();
        let address = Address::normal_11(0x7E0, 0x7E8).expect("valid address");
        let a = AsyncStack::new(bus.attach(), address, Config::default()).expect("stack");
        let b = AsyncStack::new(
            bus.attach(),
            address.mirrored().expect("mirror"),
            Config::default(),
        )
        .expect("stack");
        let echo = tokio::spawn(async move {
            for _ in 0..iterations {
                let got = b.recv().await.expect("request");
                b.send(&got).await.expect("response");
            }
        });
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..iterations {
            let t = Instant::now();
            a.send(&[i.to_le_bytes()[0]]).await.expect("request");
            a.recv().await.expect("response");
            samples.push(t.elapsed());
        }
        echo.await.expect("echo");
        samples
    });
    let p = Percentiles::of(&samples[iterations / 20..]).expect("samples");
    println!(
        "round trip 1-byte request/response, two AsyncStacks on one current-thread runtime: median {:.1} us, p99 {:.1} us, max {:.1} us ({} samples)",
        p.p50, p.p99, p.max, p.count
    );
}

fn st_min_gaps(byte: u8) {
    let mut config = Config::default();
    config.st_min = StMin::from_byte(byte);
    config.max_frame_size = 1 << 20;
    let asked = StMin::from_byte(byte).duration().as_secs_f64() * 1e6;
    let (bus, a, b) = pair(config);
    let monitor = bus.attach();
    let cfs = if byte < 0x80 { 300 } else { 2000 };
    let data = vec![0xA5u8; 6 + 7 * cfs];
    a.send_blocking(&data, WAIT).expect("send");
    b.recv(WAIT).expect("recv").expect("message");
    let mut last_cf: Option<Instant> = None;
    let mut gaps = Vec::new();
    while let Some((frame, at)) = monitor
        .recv_timestamped(Some(Duration::from_millis(100)))
        .expect("virtual port")
    {
        if frame.data().first().map(|b| b >> 4) == Some(2) {
            if let Some(prev) = last_cf {
                gaps.push((at - prev).as_secs_f64() * 1e6);
            }
            last_cf = Some(at);
        }
    }
    gaps.sort_by(f64::total_cmp);
    let mean = gaps.iter().sum::<f64>() / gaps.len().max(1) as f64;
    println!(
        "STmin 0x{byte:02X} ({asked:.0} us): gaps mean {mean:.1} us, p99 {:.1} us, min {:.1} us ({} gaps)",
        percentile(&gaps, 0.99),
        gaps.first().copied().unwrap_or(f64::NAN),
        gaps.len()
    );
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

fn idle_cpu() {
    let (_bus, a, _b) = pair(Config::default());
    std::thread::sleep(Duration::from_millis(200));
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let cpu = cpu_seconds() - cpu0;
    println!(
        "idle CPU of two Stacks: {:.3} % of one core over {:.1} s",
        cpu / start.elapsed().as_secs_f64() * 100.0,
        start.elapsed().as_secs_f64()
    );
    drop(a);
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

fn node_500() {
    let bus = VirtualBus::new();
    let testers = Node::new(bus.attach());
    let ecus = Node::new(bus.attach());
    let rss0 = rss_bytes();
    let mut links = Vec::new();
    for i in 0..500u32 {
        let address = Address::normal_29(0x10_0000 + i, 0x20_0000 + i).expect("address");
        links.push((
            testers.add(address, Config::default()).expect("link"),
            ecus.add(address.mirrored().expect("mirror"), Config::default())
                .expect("link"),
        ));
    }
    let per_link = (rss_bytes().saturating_sub(rss0)) as f64 / 1000.0;
    let data = vec![0x11u8; 4095];
    let rounds = 4;
    let frames0 = bus.frames_sent();
    let start = Instant::now();
    for _ in 0..rounds {
        for (t, _) in &links {
            t.send(&data).expect("send");
        }
        for (_, e) in &links {
            e.recv(WAIT).expect("recv").expect("message");
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let frames = bus.frames_sent() - frames0;
    println!(
        "Node, 500 links receiving at once (4095 B each, {rounds} rounds): {:.0} frames/s aggregate, {:.0} messages/s; ~{:.1} KiB RSS per link",
        frames as f64 / elapsed,
        (500 * rounds) as f64 / elapsed,
        per_link / 1024.0
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it, and
    // then there is nothing to measure.
    if !std::env::args().any(|a| a == "--bench") {
        println!("stack_figures: run `cargo bench -p isotp --bench stack_figures` for the figures");
        return;
    }
    // A filter argument selects figures by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if want("throughput") {
        throughput();
    }
    if want("rtt") {
        round_trip(Duration::ZERO);
        round_trip(Duration::from_micros(50));
    }
    if want("async") {
        async_round_trip();
    }
    if want("stmin") {
        st_min_gaps(0x01);
        st_min_gaps(0xF1);
    }
    if want("idle") {
        idle_cpu();
    }
    if want("node") {
        node_500();
    }
}
