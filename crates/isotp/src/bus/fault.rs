//! [`FaultInjector`]: a bus wrapper that loses, duplicates, delays, corrupts and refuses frames at
//! random, from a seed, so a test that fails can be replayed exactly.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use isotp_core::Frame;

use super::{BusError, CanBus, Capabilities};

/// How often each fault happens, in percent of frames (0 to 100), and the seed of the random choices.
///
/// Received frames may be dropped, duplicated, delayed or corrupted; sent frames may be dropped
/// (the bus says it sent them) or refused (the bus returns an error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Faults {
    /// Seed of the random choices: the same seed and the same traffic give the same faults.
    pub seed: u64,
    /// Received frames lost.
    pub drop_received: u8,
    /// Sent frames lost on the wire although `send` succeeded.
    pub drop_sent: u8,
    /// Received frames delivered twice.
    pub duplicate: u8,
    /// Received frames held back for [`delay`](Faults::delay) (later frames overtake them).
    pub delay_chance: u8,
    /// How long a delayed frame is held.
    pub delay: Duration,
    /// Received frames with one data bit flipped.
    pub corrupt: u8,
    /// Sends refused with [`BusError::Io`].
    pub refuse_send: u8,
}

impl Faults {
    /// No faults, with `seed` for those set afterwards.
    #[must_use]
    pub fn seeded(seed: u64) -> Faults {
        Faults {
            seed,
            ..Faults::default()
        }
    }
    /// Sets [`drop_received`](Faults::drop_received).
    #[must_use]
    pub fn drop_received(mut self, percent: u8) -> Faults {
        self.drop_received = percent.min(100);
        self
    }
    /// Sets [`drop_sent`](Faults::drop_sent).
    #[must_use]
    pub fn drop_sent(mut self, percent: u8) -> Faults {
        self.drop_sent = percent.min(100);
        self
    }
    /// Sets [`duplicate`](Faults::duplicate).
    #[must_use]
    pub fn duplicate(mut self, percent: u8) -> Faults {
        self.duplicate = percent.min(100);
        self
    }
    /// Sets [`delay_chance`](Faults::delay_chance) and [`delay`](Faults::delay).
    #[must_use]
    pub fn delay(mut self, percent: u8, by: Duration) -> Faults {
        self.delay_chance = percent.min(100);
        self.delay = by;
        self
    }
    /// Sets [`corrupt`](Faults::corrupt).
    #[must_use]
    pub fn corrupt(mut self, percent: u8) -> Faults {
        self.corrupt = percent.min(100);
        self
    }
    /// Sets [`refuse_send`](Faults::refuse_send).
    #[must_use]
    pub fn refuse_send(mut self, percent: u8) -> Faults {
        self.refuse_send = percent.min(100);
        self
    }
}

/// What a [`FaultInjector`] did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultCounts {
    /// Received frames dropped.
    pub dropped_received: u64,
    /// Sent frames dropped.
    pub dropped_sent: u64,
    /// Received frames duplicated.
    pub duplicated: u64,
    /// Received frames delayed.
    pub delayed: u64,
    /// Received frames corrupted.
    pub corrupted: u64,
    /// Sends refused.
    pub refused: u64,
}

struct Inner {
    rng: u64,
    /// Frames to hand out before reading the bus again: duplicates, and delayed frames once due.
    ready: VecDeque<Frame>,
    held: Vec<(Instant, Frame)>,
    counts: FaultCounts,
}

/// Wraps a bus and injects [`Faults`], for users' own robustness tests (smoltcp's fault injector
/// is the model).
///
/// ```
/// use isotp::bus::{CanBus, FaultInjector, Faults, VirtualBus};
/// use isotp::{Address, Config, Stack};
/// use std::time::Duration;
///
/// let bus = VirtualBus::new();
/// let faults = Faults::seeded(7).duplicate(20).delay(5, Duration::from_millis(2));
/// let address = Address::normal_11(0x7E0, 0x7E8)?;
/// let a = Stack::new(FaultInjector::new(bus.attach(), faults), address, Config::default())?;
/// let b = Stack::new(bus.attach(), address.mirrored()?, Config::default())?;
/// b.send(&[0x50, 0x03])?;
/// // Duplicated or late, a single frame still arrives once.
/// assert_eq!(a.recv(Some(Duration::from_secs(1)))?, Some(vec![0x50, 0x03]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FaultInjector<B> {
    inner: B,
    faults: Faults,
    state: Mutex<Inner>,
    sends: AtomicU64,
}

impl<B: CanBus> FaultInjector<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, faults: Faults) -> FaultInjector<B> {
        FaultInjector {
            inner,
            faults,
            state: Mutex::new(Inner {
                // xorshift needs a non-zero state.
                rng: faults.seed ^ 0x9E37_79B9_7F4A_7C15,
                ready: VecDeque::new(),
                held: Vec::new(),
                counts: FaultCounts::default(),
            }),
            sends: AtomicU64::new(0),
        }
    }

    /// What was injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.lock().counts
    }

    /// The wrapped bus.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves held frames whose time has come to the ready queue; returns when the next one is due.
    fn release_due(st: &mut Inner, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut i = 0;
        while i < st.held.len() {
            if st.held[i].0 <= now {
                let (_, f) = st.held.remove(i);
                st.ready.push_back(f);
            } else {
                next = Some(next.map_or(st.held[i].0, |n: Instant| n.min(st.held[i].0)));
                i += 1;
            }
        }
        next
    }
}

impl Inner {
    /// xorshift64*: small, seedable, good enough to pick faults.
    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn chance(&mut self, percent: u8) -> bool {
        percent > 0 && self.next() % 100 < u64::from(percent)
    }
}

impl<B: CanBus> CanBus for FaultInjector<B> {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.sends.fetch_add(1, Ordering::Relaxed);
        {
            let mut st = self.lock();
            if st.chance(self.faults.refuse_send) {
                st.counts.refused += 1;
                return Err(BusError::io(
                    "sending through the fault injector",
                    std::io::Error::other("refused by the fault injector"),
                ));
            }
            if st.chance(self.faults.drop_sent) {
                st.counts.dropped_sent += 1;
                return Ok(());
            }
        }
        self.inner.send(frame)
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let now = Instant::now();
            let next_held = {
                let mut st = self.lock();
                let next = Self::release_due(&mut st, now);
                if let Some(f) = st.ready.pop_front() {
                    return Ok(Some(f));
                }
                next
            };
            if deadline.is_some_and(|d| now >= d) && timeout != Some(Duration::ZERO) {
                return Ok(None);
            }
            // Wake for the first held frame if it is due before the caller's deadline.
            let until = match (deadline, next_held) {
                (Some(d), Some(h)) => Some(d.min(h)),
                (d, h) => d.or(h),
            };
            let wait = until.map(|u| u.saturating_duration_since(now));
            let Some(mut frame) = self.inner.recv(wait)? else {
                if next_held.is_some_and(|h| Instant::now() >= h) {
                    continue;
                }
                return Ok(None);
            };
            let mut st = self.lock();
            let f = self.faults;
            if st.chance(f.drop_received) {
                st.counts.dropped_received += 1;
            } else if st.chance(f.delay_chance) {
                st.counts.delayed += 1;
                st.held.push((Instant::now() + f.delay, frame));
            } else {
                if st.chance(f.corrupt) && !frame.data().is_empty() {
                    st.counts.corrupted += 1;
                    let r = st.next();
                    let mut data = frame.data().to_vec();
                    // Below data.len(), so it fits a usize.
                    #[allow(clippy::cast_possible_truncation)]
                    let byte = (r % data.len() as u64) as usize;
                    data[byte] ^= 1 << ((r >> 32) % 8);
                    let rebuilt = if frame.is_fd() {
                        Frame::new_fd(frame.id(), &data).map(|f| f.with_brs(frame.is_brs()))
                    } else {
                        Frame::new(frame.id(), &data)
                    };
                    if let Ok(c) = rebuilt {
                        frame = c;
                    }
                }
                if st.chance(f.duplicate) {
                    st.counts.duplicated += 1;
                    st.ready.push_back(frame);
                }
                return Ok(Some(frame));
            }
            if timeout == Some(Duration::ZERO) {
                return Ok(None);
            }
        }
    }

    fn interrupt(&self) {
        self.inner.interrupt()
    }

    fn set_receive_filter(&self, ids: Option<&[isotp_core::CanId]>) -> Result<(), BusError> {
        self.inner.set_receive_filter(ids)
    }

    /// The inner bus's, without [`task_wakeup`](Capabilities::task_wakeup): faults are applied in
    /// `recv`, so async waiters are served through it.
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities().with_task_wakeup(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::VirtualBus;
    use isotp_core::CanId;

    fn run(faults: Faults) -> (Vec<Vec<u8>>, FaultCounts) {
        let bus = VirtualBus::new();
        let tx = bus.attach();
        let rx = FaultInjector::new(bus.attach(), faults);
        for i in 0..200u8 {
            tx.send(&Frame::new(CanId::standard(0x10).unwrap(), &[i, 0]).unwrap())
                .unwrap();
        }
        let mut got = Vec::new();
        while let Some(f) = rx.recv(Some(Duration::from_millis(30))).unwrap() {
            got.push(f.data().to_vec());
        }
        (got, rx.counts())
    }

    #[test]
    fn the_same_seed_gives_the_same_faults_and_every_fault_is_counted() {
        let faults = Faults::seeded(42)
            .drop_received(10)
            .duplicate(10)
            .corrupt(10)
            .delay(10, Duration::from_millis(5));
        let (a, ca) = run(faults);
        let (b, cb) = run(faults);
        assert_eq!(ca, cb);
        assert_eq!(a.len(), b.len());
        assert!(ca.dropped_received > 0 && ca.duplicated > 0 && ca.corrupted > 0 && ca.delayed > 0);
        assert_eq!(
            a.len() as u64,
            200 - ca.dropped_received + ca.duplicated,
            "every frame is delivered, lost or doubled as counted"
        );
        let (_, other) = run(Faults::seeded(43).drop_received(10));
        assert_ne!(other.dropped_received, 0);
    }

    #[test]
    fn refused_sends_are_errors() {
        let bus = VirtualBus::new();
        let tx = FaultInjector::new(bus.attach(), Faults::seeded(1).refuse_send(100));
        let f = Frame::new(CanId::standard(0x10).unwrap(), &[1]).unwrap();
        assert!(matches!(tx.send(&f), Err(BusError::Io { .. })));
        assert_eq!(tx.counts().refused, 1);
    }
}
