//! Reading recorded logs: frames per second of the candump, BLF, ASC and pcapng readers over the
//! same 1,000,000 frames of diagnostic traffic (a request, a first frame, a flow control and two
//! consecutive frames, over and over), generated in memory.
//!
//! `cargo bench -p isotp --bench capture`

use std::io::Cursor;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use isotp_capture::{Channel, ChannelName, Format, Reader, Record, Writer};
use isotp_core::{CanId, Frame};

const FRAMES: usize = 1_000_000;

fn records() -> Vec<Record> {
    let pattern: [(u32, [u8; 8]); 5] = [
        (0x7E0, [0x03, 0x22, 0xF1, 0x90, 0xCC, 0xCC, 0xCC, 0xCC]),
        (0x7E8, [0x10, 0x14, 0x62, 0xF1, 0x90, 0x57, 0x56, 0x57]),
        (0x7E0, [0x30, 0, 0, 0, 0, 0, 0, 0]),
        (0x7E8, [0x21, 0x5A, 0x5A, 0x5A, 0x31, 0x4A, 0x5A, 0x58]),
        (0x7E8, [0x22, 0x57, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31]),
    ];
    let channel = Channel::Name(ChannelName::new("can0").unwrap());
    let mut time = Duration::from_secs(1_700_000_000);
    (0..FRAMES)
        .map(|i| {
            let (id, data) = pattern[i % pattern.len()];
            time += Duration::from_micros(100 + (i as u64 * 37) % 300);
            Record {
                time,
                channel,
                direction: None,
                frame: Frame::new(CanId::standard(id).unwrap(), &data).unwrap(),
            }
        })
        .collect()
}

fn encode(records: &[Record], format: Format) -> Vec<u8> {
    let mut w = Writer::new(Cursor::new(Vec::new()), format).unwrap();
    for r in records {
        w.write(r).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn read_all(bytes: &[u8], format: Format) -> usize {
    let reader = Reader::new(bytes, format).unwrap();
    let mut n = 0;
    for r in reader {
        let r = r.unwrap();
        n += usize::from(r.frame.data()[0] != 0xFF);
    }
    n
}

fn bench(c: &mut Criterion) {
    let records = records();
    let mut group = c.benchmark_group("capture read");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(FRAMES as u64));
    for format in [
        Format::Candump,
        Format::Blf,
        Format::Asc,
        Format::Pcapng,
        Format::Mf4,
    ] {
        let bytes = encode(&records, format);
        assert_eq!(read_all(&bytes, format), FRAMES);
        group.bench_function(format!("{format} 1M frames ({} bytes)", bytes.len()), |b| {
            b.iter(|| read_all(&bytes, format))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
