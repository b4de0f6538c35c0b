//! Throughput of the engine alone: two endpoints joined back to back in memory, exchanging messages
//! as fast as the CPU allows (classic CAN, BS 0, STmin 0). Reported in CAN frames per second, counting
//! every frame on the bus: first frame, consecutive frames and the receiver's flow control.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use isotp_core::{Address, Config, Endpoint, Event, Instant, TargetAddressType};

fn pair(config: Config) -> (Endpoint, Endpoint) {
    let tester = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let a = Endpoint::new(tester, config).unwrap();
    let b = Endpoint::new(tester.mirrored().unwrap(), config).unwrap();
    (a, b)
}

/// Sends `payload` from `a` to `b`; returns the number of frames that crossed the bus.
fn transfer(a: &mut Endpoint, b: &mut Endpoint, payload: &[u8]) -> u64 {
    let now = Instant::ZERO;
    a.send(payload, TargetAddressType::Physical).unwrap();
    let mut frames = 0;
    loop {
        let mut moved = false;
        while let Some(f) = a.poll_transmit(now) {
            b.handle_frame(&f, now);
            frames += 1;
            moved = true;
        }
        while let Some(f) = b.poll_transmit(now) {
            a.handle_frame(&f, now);
            frames += 1;
            moved = true;
        }
        if !moved {
            break;
        }
    }
    while let Some(e) = a.poll_event() {
        black_box(e);
    }
    while let Some(e) = b.poll_event() {
        if let Event::Received { payload, .. } = e {
            black_box(payload);
        }
    }
    frames
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("transfer");
    let cases: [(&str, usize, Config); 3] = [
        ("classic", 4095, Config::default()),
        ("classic", 64, Config::default()),
        ("fd64", 4095, {
            let mut c = Config::default();
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = 64;
            c
        }),
    ];
    for (name, size, config) in cases {
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let (mut a, mut b) = pair(config);
        let frames = transfer(&mut a, &mut b, &payload);
        group.throughput(Throughput::Elements(frames));
        group.bench_with_input(
            BenchmarkId::new(format!("{name}_{frames}_frames"), size),
            &payload,
            |bench, payload| {
                bench.iter(|| transfer(&mut a, &mut b, black_box(payload)));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
