//! What `perf` measures with: a bus wrapper that counts a link's frames, the test payloads, and
//! latency percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use isotp::bus::{BusError, CanBus};
use isotp_core::{Address, Frame};

/// Frames counted on one link, and when the first one went by.
#[derive(Default)]
pub struct FrameCount {
    frames: AtomicU64,
    first: OnceLock<Instant>,
}

impl FrameCount {
    fn count(&self) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        let _ = self.first.set(Instant::now());
    }

    /// Frames so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// When the first frame went by.
    pub fn first(&self) -> Option<Instant> {
        self.first.get().copied()
    }
}

/// A bus that counts the frames one link sends, and those it receives that are addressed to it
/// (other traffic on a real bus is not counted).
pub struct CountingBus<B> {
    inner: B,
    address: Address,
    count: Arc<FrameCount>,
}

impl<B: CanBus> CountingBus<B> {
    /// Wraps `inner` for a link with `address`.
    pub fn new(inner: B, address: Address) -> (CountingBus<B>, Arc<FrameCount>) {
        let count = Arc::new(FrameCount::default());
        (
            CountingBus {
                inner,
                address,
                count: count.clone(),
            },
            count,
        )
    }
}

impl<B: CanBus> CanBus for CountingBus<B> {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.inner.send(frame)?;
        self.count.count();
        Ok(())
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        let got = self.inner.recv(timeout)?;
        if let Some(f) = &got {
            if self.address.accepts(f).is_some() {
                self.count.count();
            }
        }
        Ok(got)
    }

    fn interrupt(&self) {
        self.inner.interrupt()
    }

    fn capabilities(&self) -> isotp::bus::Capabilities {
        self.inner.capabilities()
    }
}

/// The `seq`-th test payload of `size` bytes: byte k is `seq + k` (mod 256), so any corruption or
/// reordering within a PDU shows.
pub fn payload(seq: u64, size: usize) -> Vec<u8> {
    (0..size)
        .map(|k| (seq as u8).wrapping_add(k as u8))
        .collect()
}

/// True when `data` is a test payload of `size` bytes.
pub fn is_intact(data: &[u8], size: usize) -> bool {
    data.len() == size
        && data
            .iter()
            .enumerate()
            .all(|(k, &b)| b == data[0].wrapping_add(k as u8))
}

/// Latency statistics in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percentiles {
    /// Smallest.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples`; `None` without samples.
    pub fn of(samples: &[Duration]) -> Option<Percentiles> {
        if samples.is_empty() {
            return None;
        }
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let n = us.len();
            let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
            us[i]
        };
        Some(Percentiles {
            min: us[0],
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: us[us.len() - 1],
            mean: us.iter().sum::<f64>() / us.len() as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotp::bus::VirtualBus;
    use isotp_core::CanId;

    #[test]
    fn payloads_are_checkable() {
        let p = payload(7, 300);
        assert_eq!(p[0], 7);
        assert_eq!(p[299], 7u8.wrapping_add(299u16 as u8));
        assert!(is_intact(&p, 300));
        let mut bad = p.clone();
        bad[100] ^= 1;
        assert!(!is_intact(&bad, 300));
        assert!(!is_intact(&p[..299], 300));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let p = Percentiles::of(&samples).unwrap();
        assert_eq!(
            (p.min, p.p50, p.p90, p.p99, p.max),
            (1.0, 50.0, 90.0, 99.0, 100.0)
        );
        assert!((p.mean - 50.5).abs() < 1e-9);
        assert_eq!(Percentiles::of(&[]), None);
        let one = Percentiles::of(&[Duration::from_micros(5)]).unwrap();
        assert_eq!(one.p99, 5.0);
    }

    #[test]
    fn counting_bus_counts_own_traffic_only() {
        let bus = VirtualBus::new();
        let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
        let (counted, count) = CountingBus::new(bus.attach(), address);
        let other = bus.attach();
        counted
            .send(&Frame::new(CanId::standard(0x7E0).unwrap(), &[1]).unwrap())
            .unwrap();
        other
            .send(&Frame::new(CanId::standard(0x7E8).unwrap(), &[2]).unwrap())
            .unwrap();
        other
            .send(&Frame::new(CanId::standard(0x123).unwrap(), &[3]).unwrap())
            .unwrap();
        while counted.recv(Some(Duration::ZERO)).unwrap().is_some() {}
        assert_eq!(count.frames(), 2);
        assert!(count.first().is_some());
    }
}
