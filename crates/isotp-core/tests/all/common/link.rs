//! An in-memory CAN link between the two sides of a [`super::pair::Pair`], in virtual time, with optional
//! fault injection (like smoltcp's `FaultInjector`): drop, duplicate and reorder frames, deterministically
//! from a seed.

use core::time::Duration;

use isotp_core::{Frame, Instant};

use super::rng::XorShift;

/// One side of a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The first endpoint (the tester, usually the sender).
    A,
    /// The second endpoint (the ECU, usually the receiver).
    B,
}

impl Side {
    /// The other side.
    pub fn peer(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// 0 for A, 1 for B.
    pub fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// What the fault injector does, in per mille of the frames it carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Frames lost.
    pub drop_per_mille: u32,
    /// Frames delivered twice.
    pub duplicate_per_mille: u32,
    /// Frames held back by `reorder_delay`, so that later frames overtake them.
    pub reorder_per_mille: u32,
    /// How long a reordered frame is held back.
    pub reorder_delay: Duration,
}

/// What the fault injector did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Frames carried (offered to the link).
    pub carried: u64,
    /// Frames lost.
    pub dropped: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Frames held back.
    pub reordered: u64,
}

#[derive(Clone, Debug)]
struct InTransit {
    at: Instant,
    seq: u64,
    to: Side,
    frame: Frame,
}

/// The wire between the two endpoints.
#[derive(Clone, Debug)]
pub struct Link {
    latency: Duration,
    faults: Option<(Faults, XorShift)>,
    queue: Vec<InTransit>,
    seq: u64,
    /// What the fault injector did so far.
    pub stats: FaultStats,
}

impl Link {
    /// A perfect link: every frame arrives once, in order, after `latency`.
    pub fn perfect(latency: Duration) -> Link {
        Link {
            latency,
            faults: None,
            queue: Vec::new(),
            seq: 0,
            stats: FaultStats::default(),
        }
    }

    /// A link that drops, duplicates and reorders frames as `faults` says, from the random stream of `seed`.
    pub fn faulty(latency: Duration, faults: Faults, seed: u64) -> Link {
        Link {
            faults: Some((faults, XorShift::new(seed))),
            ..Link::perfect(latency)
        }
    }

    fn enqueue(&mut self, at: Instant, to: Side, frame: Frame) {
        self.seq += 1;
        self.queue.push(InTransit {
            at,
            seq: self.seq,
            to,
            frame,
        });
    }

    /// `from` puts `frame` on the bus at `now`.
    pub fn push(&mut self, now: Instant, from: Side, frame: Frame) {
        self.stats.carried += 1;
        let to = from.peer();
        let at = now + self.latency;
        let Some((faults, rng)) = self.faults.as_mut() else {
            self.enqueue(at, to, frame);
            return;
        };
        let faults = *faults;
        if rng.chance(faults.drop_per_mille) {
            self.stats.dropped += 1;
            return;
        }
        let duplicate = rng.chance(faults.duplicate_per_mille);
        let reorder = rng.chance(faults.reorder_per_mille);
        let first_at = if reorder {
            self.stats.reordered += 1;
            at + faults.reorder_delay
        } else {
            at
        };
        self.enqueue(first_at, to, frame);
        if duplicate {
            self.stats.duplicated += 1;
            self.enqueue(at, to, frame);
        }
    }

    /// The earliest frame due at or before `now`, oldest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Side, Frame)> {
        let (i, _) = self
            .queue
            .iter()
            .enumerate()
            .filter(|(_, t)| t.at <= now)
            .min_by_key(|(_, t)| (t.at, t.seq))?;
        let t = self.queue.remove(i);
        Some((t.to, t.frame))
    }

    /// When the next frame arrives.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.iter().map(|t| t.at).min()
    }

    /// Frames on the wire.
    pub fn in_transit(&self) -> usize {
        self.queue.len()
    }
}
