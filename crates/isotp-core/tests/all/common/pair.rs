//! quinn-proto style test harness: two endpoints joined by a [`Link`], driven in virtual time.
//!
//! Every frame put on the bus is recorded with its virtual timestamp and direction, every event with the
//! time it was reported. `run` advances virtual time to the earliest deadline of either endpoint (or the
//! link's next delivery) until nothing is left to do, and fails loudly when an endpoint asks to be woken
//! in the past without making progress (a livelock) or never goes idle.

use core::time::Duration;

use isotp_core::{Address, Config, Endpoint, Event, Frame, Instant, MessageId, TargetAddressType};

use super::link::{Link, Side};

/// One frame seen on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When it was put on the bus (virtual time).
    pub t: Instant,
    /// Who sent it.
    pub from: Side,
    /// The frame.
    pub frame: Frame,
}

/// How the harness confirms transmitted frames to an endpoint built `with_tx_confirmation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// At once, when the frame is taken from `poll_transmit`.
    Immediately,
    /// After a bus delay.
    After(Duration),
    /// Never (the frame is stuck in the controller: N_As / N_Ar must fire).
    Never,
}

/// Two endpoints, a link, a clock and a recorder.
pub struct Pair {
    /// The endpoints, indexed by [`Side::index`].
    pub eps: [Endpoint; 2],
    /// Virtual time.
    pub now: Instant,
    /// The wire.
    pub link: Link,
    /// Every frame put on the bus, in order.
    pub log: Vec<Record>,
    /// Every event, with the time it was polled, per side.
    pub events: [Vec<(Instant, Event)>; 2],
    /// Confirmation policy per side (only used when the endpoint's config asks for confirmations).
    pub confirm: [Confirm; 2],
    pending_confirm: [Option<Instant>; 2],
    /// Give up after this many loop iterations (a hang is a bug).
    pub max_iterations: u64,
}

impl Pair {
    /// Two endpoints on a perfect zero-latency link: `a` uses `address`, `b` its mirror.
    pub fn new(address: Address, config_a: Config, config_b: Config) -> Pair {
        Pair::with_link(address, config_a, config_b, Link::perfect(Duration::ZERO))
    }

    /// Both sides with the same configuration, normal 11-bit addressing 0x7E0 / 0x7E8.
    pub fn symmetric(config: Config) -> Pair {
        Pair::new(super::tester_address(), config, config)
    }

    /// Both sides with the same configuration, confirming every transmitted frame
    /// (`Endpoint::with_tx_confirmation`) as `confirm` says.
    pub fn symmetric_confirming(config: Config) -> Pair {
        let address = super::tester_address();
        let a = Endpoint::new(address, config)
            .expect("config a")
            .with_tx_confirmation();
        let b = Endpoint::new(address.mirrored().expect("mirror"), config)
            .expect("config b")
            .with_tx_confirmation();
        Pair::from_endpoints(a, b, Link::perfect(Duration::ZERO))
    }

    /// Two endpoints on the given link.
    pub fn with_link(address: Address, config_a: Config, config_b: Config, link: Link) -> Pair {
        let a = Endpoint::new(address, config_a).expect("config a");
        let b = Endpoint::new(address.mirrored().expect("mirror"), config_b).expect("config b");
        Pair::from_endpoints(a, b, link)
    }

    /// A pair from ready-made endpoints.
    pub fn from_endpoints(a: Endpoint, b: Endpoint, link: Link) -> Pair {
        Pair {
            eps: [a, b],
            now: Instant::ZERO,
            link,
            log: Vec::new(),
            events: [Vec::new(), Vec::new()],
            confirm: [Confirm::Immediately, Confirm::Immediately],
            pending_confirm: [None, None],
            max_iterations: 10_000_000,
        }
    }

    /// The endpoint of `side`.
    pub fn ep(&mut self, side: Side) -> &mut Endpoint {
        &mut self.eps[side.index()]
    }

    /// Side A.
    pub fn a(&mut self) -> &mut Endpoint {
        &mut self.eps[0]
    }

    /// Side B.
    pub fn b(&mut self) -> &mut Endpoint {
        &mut self.eps[1]
    }

    /// Queues a physical message on `side`.
    pub fn send(&mut self, side: Side, payload: &[u8]) -> MessageId {
        self.ep(side)
            .send(payload, TargetAddressType::Physical)
            .expect("send")
    }

    /// Queues a message with the given target address type.
    pub fn send_to(&mut self, side: Side, payload: &[u8], target: TargetAddressType) -> MessageId {
        self.ep(side).send(payload, target).expect("send")
    }

    /// Delivers `frame` to `side` now, as if it came from the bus (it is logged as sent by the peer).
    pub fn inject(&mut self, side: Side, frame: Frame) {
        self.log.push(Record {
            t: self.now,
            from: side.peer(),
            frame,
        });
        let now = self.now;
        self.ep(side).handle_frame(&frame, now);
        self.collect_events();
    }

    fn collect_events(&mut self) {
        for side in [Side::A, Side::B] {
            while let Some(e) = self.eps[side.index()].poll_event() {
                self.events[side.index()].push((self.now, e));
            }
        }
    }

    fn uses_confirmation(&self, side: Side) -> bool {
        self.eps[side.index()].confirms_transmissions()
    }

    /// Everything that can happen at the current instant: timers, transmissions, deliveries,
    /// confirmations. Returns true if anything did.
    pub fn step(&mut self) -> bool {
        let now = self.now;
        let mut progress = false;
        for side in [Side::A, Side::B] {
            let i = side.index();
            if let Some(t) = self.pending_confirm[i] {
                if t <= now {
                    self.pending_confirm[i] = None;
                    self.eps[i]
                        .handle_tx_confirmation(now)
                        .expect("a frame awaits confirmation");
                    progress = true;
                }
            }
            if self.eps[i].poll_timeout().is_some_and(|t| t <= now) {
                self.eps[i].handle_timeout(now);
            }
        }
        for side in [Side::A, Side::B] {
            let i = side.index();
            while let Some(frame) = self.eps[i].poll_transmit(now) {
                progress = true;
                self.log.push(Record {
                    t: now,
                    from: side,
                    frame,
                });
                self.link.push(now, side, frame);
                if self.uses_confirmation(side) {
                    match self.confirm[i] {
                        Confirm::Immediately => {
                            self.eps[i].handle_tx_confirmation(now).expect("confirm");
                        }
                        Confirm::After(d) => self.pending_confirm[i] = Some(now + d),
                        Confirm::Never => {}
                    }
                }
            }
        }
        while let Some((to, frame)) = self.link.pop_due(now) {
            progress = true;
            self.eps[to.index()].handle_frame(&frame, now);
        }
        let before = self.events[0].len() + self.events[1].len();
        self.collect_events();
        progress || self.events[0].len() + self.events[1].len() != before
    }

    /// The next instant something is due: an endpoint deadline, a delivery or a confirmation.
    pub fn next_wakeup(&self) -> Option<Instant> {
        [
            self.eps[0].poll_timeout(),
            self.eps[1].poll_timeout(),
            self.link.next_delivery(),
            self.pending_confirm[0],
            self.pending_confirm[1],
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs until nothing is due any more (both endpoints idle, link empty). Returns the final time.
    pub fn run(&mut self) -> Instant {
        self.run_until(Instant::MAX)
    }

    /// Runs until nothing is due or the next wakeup would be after `limit`; the clock ends at the last
    /// instant processed (never beyond `limit`).
    pub fn run_until(&mut self, limit: Instant) -> Instant {
        let mut iterations = 0u64;
        loop {
            iterations += 1;
            assert!(
                iterations < self.max_iterations,
                "harness: no quiescence after {iterations} iterations at {:?}",
                self.now
            );
            if self.step() {
                continue;
            }
            match self.next_wakeup() {
                None => return self.now,
                Some(t) if t > limit => return self.now,
                Some(t) if t <= self.now => {
                    // Something claims to be due now, but a full step did nothing.
                    panic!(
                        "livelock: wakeup requested at {t:?} (now {:?}) but nothing happens; a: {:?} b: {:?}",
                        self.now,
                        self.eps[0].poll_timeout(),
                        self.eps[1].poll_timeout()
                    );
                }
                Some(t) => self.now = t,
            }
        }
    }

    /// Runs for `d` of virtual time (processing everything due up to `now + d`), then sets the clock to
    /// `now + d`.
    pub fn run_for(&mut self, d: Duration) -> Instant {
        let limit = self.now + d;
        self.run_until(limit);
        self.now = limit;
        self.step();
        self.now
    }

    /// Drains and returns the events of `side` (with timestamps).
    pub fn take_events(&mut self, side: Side) -> Vec<(Instant, Event)> {
        core::mem::take(&mut self.events[side.index()])
    }

    /// Payloads `side` received, in order (drained).
    pub fn received(&mut self, side: Side) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.events[side.index()].retain(|(_, e)| match e {
            Event::Received { payload, .. } => {
                out.push(payload.clone());
                false
            }
            _ => true,
        });
        out
    }

    /// Events of `side` without timestamps (not drained).
    pub fn event_list(&self, side: Side) -> Vec<Event> {
        self.events[side.index()]
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Frames sent by `side`, in order.
    pub fn frames_from(&self, side: Side) -> Vec<&Record> {
        self.log.iter().filter(|r| r.from == side).collect()
    }

    /// Both endpoints idle: nothing sent, queued or received.
    pub fn idle(&self) -> bool {
        self.eps
            .iter()
            .all(|e| !e.is_transmitting() && !e.is_receiving())
    }
}
