//! One endpoint driven frame by frame by the test, in virtual time: the test plays the peer by injecting
//! raw frames and checks every frame the endpoint puts on the bus, with its timestamp.

use core::time::Duration;

use isotp_core::{
    Address, CanId, Config, Endpoint, Event, Frame, Instant, MessageId, TargetAddressType,
};

/// A single endpoint under test.
pub struct Solo {
    /// The endpoint.
    pub ep: Endpoint,
    /// Virtual time.
    pub now: Instant,
    /// The id the peer sends on (the endpoint's receive id).
    pub rx_id: CanId,
    /// Every frame the endpoint transmitted, with the time.
    pub sent: Vec<(Instant, Frame)>,
    /// Every event, with the time (not yet taken by the test).
    pub events: Vec<(Instant, Event)>,
}

impl Solo {
    /// Normal 11-bit addressing: the endpoint sends on 0x7E0 and receives on 0x7E8.
    pub fn new(config: Config) -> Solo {
        Solo::with_address(
            super::tester_address(),
            config,
            CanId::standard(0x7E8).unwrap(),
        )
    }

    /// Normal 11-bit addressing, the test confirming each transmitted frame itself
    /// (`Endpoint::with_tx_confirmation`).
    pub fn confirming(config: Config) -> Solo {
        let ep = Endpoint::new(super::tester_address(), config).expect("valid endpoint");
        Solo::from_endpoint(ep.with_tx_confirmation(), CanId::standard(0x7E8).unwrap())
    }

    /// A ready-made endpoint; `rx_id` is the id `rx`/`rx_fd` use.
    pub fn from_endpoint(ep: Endpoint, rx_id: CanId) -> Solo {
        Solo {
            ep,
            now: Instant::ZERO,
            rx_id,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Default configuration.
    pub fn default_config() -> Solo {
        Solo::new(Config::default())
    }

    /// Any address; `rx_id` is the id `rx`/`rx_fd` use.
    pub fn with_address(address: Address, config: Config, rx_id: CanId) -> Solo {
        Solo::from_endpoint(
            Endpoint::new(address, config).expect("valid endpoint"),
            rx_id,
        )
    }

    fn collect(&mut self) {
        while let Some(e) = self.ep.poll_event() {
            self.events.push((self.now, e));
        }
    }

    /// The peer sends a classic frame with `data` on the receive id.
    pub fn rx(&mut self, data: &[u8]) {
        let f = Frame::new(self.rx_id, data).expect("classic frame");
        self.rx_frame(f);
    }

    /// The peer sends a CAN FD frame (with BRS) with `data` on the receive id.
    pub fn rx_fd(&mut self, data: &[u8]) {
        let f = Frame::new_fd(self.rx_id, data)
            .expect("fd frame")
            .with_brs(true);
        self.rx_frame(f);
    }

    /// The peer sends `frame`.
    pub fn rx_frame(&mut self, frame: Frame) {
        let now = self.now;
        self.ep.handle_frame(&frame, now);
        self.collect();
    }

    /// The peer sends a flow control frame (classic, unpadded).
    pub fn fc(&mut self, fs: u8, bs: u8, st_min: u8) {
        self.rx(&[0x30 | fs, bs, st_min]);
    }

    /// Queues a physical message.
    pub fn send(&mut self, payload: &[u8]) -> MessageId {
        self.ep
            .send(payload, TargetAddressType::Physical)
            .expect("send accepted")
    }

    /// The next frame due now, if any (recorded).
    pub fn tx(&mut self) -> Option<Frame> {
        let now = self.now;
        let f = self.ep.poll_transmit(now);
        if let Some(f) = f {
            self.sent.push((now, f));
        }
        self.collect();
        f
    }

    /// Every frame due now.
    pub fn tx_all(&mut self) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(f) = self.tx() {
            out.push(f);
            assert!(out.len() < 1_000_000, "endpoint never stops transmitting");
        }
        out
    }

    /// Data of every frame due now.
    pub fn tx_data(&mut self) -> Vec<Vec<u8>> {
        self.tx_all().iter().map(|f| f.data().to_vec()).collect()
    }

    /// Asserts that the next frame due now has exactly `data` and returns it.
    #[track_caller]
    pub fn expect_tx(&mut self, data: &[u8]) -> Frame {
        let f = self
            .tx()
            .unwrap_or_else(|| panic!("expected a frame {data:02X?} at {:?}, got none", self.now));
        assert_eq!(f.data(), data, "frame at {:?}", self.now);
        f
    }

    /// Asserts that nothing is due now.
    #[track_caller]
    pub fn expect_no_tx(&mut self) {
        if let Some(f) = self.tx() {
            panic!("expected no frame at {:?}, got {f:?}", self.now);
        }
    }

    /// Moves the clock forward by `d` and runs the timers that expired (frames that became due are not
    /// taken: call `tx`).
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.timers();
    }

    /// Sets the clock to `t` (not earlier than now) and runs expired timers.
    pub fn advance_to(&mut self, t: Instant) {
        assert!(t >= self.now, "time goes forward");
        self.now = t;
        self.timers();
    }

    /// Runs `handle_timeout` if the endpoint's deadline has passed.
    pub fn timers(&mut self) {
        if self.ep.poll_timeout().is_some_and(|t| t <= self.now) {
            let now = self.now;
            self.ep.handle_timeout(now);
            self.collect();
        }
    }

    /// Runs the endpoint alone until `limit` (inclusive), following its `poll_timeout`, and returns the
    /// frames it sent with their times. Fails on a livelock.
    pub fn run_until(&mut self, limit: Instant) -> Vec<(Instant, Frame)> {
        let mut out = Vec::new();
        let mut stalls = 0;
        loop {
            self.timers();
            let mut moved = false;
            while let Some(f) = self.tx() {
                out.push((self.now, f));
                moved = true;
            }
            match self.ep.poll_timeout() {
                Some(t) if t <= self.now => {
                    if moved {
                        continue;
                    }
                    self.timers();
                    stalls += 1;
                    assert!(
                        stalls < 3,
                        "livelock: deadline {t:?} <= now {:?} and nothing happens",
                        self.now
                    );
                }
                Some(t) if t <= limit => {
                    stalls = 0;
                    self.now = t;
                }
                _ => break,
            }
        }
        out
    }

    /// Runs for `d` (see [`Solo::run_until`]) and leaves the clock at `now + d`.
    pub fn run_for(&mut self, d: Duration) -> Vec<(Instant, Frame)> {
        let limit = self.now + d;
        let out = self.run_until(limit);
        self.now = limit;
        self.timers();
        out
    }

    /// Takes every event reported so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.collect();
        core::mem::take(&mut self.events)
            .into_iter()
            .map(|(_, e)| e)
            .collect()
    }

    /// Takes the events, dropping warnings.
    pub fn take_events_no_warnings(&mut self) -> Vec<Event> {
        self.take_events()
            .into_iter()
            .filter(|e| !matches!(e, Event::Warning(_)))
            .collect()
    }

    /// Takes the events, asserting there are none.
    #[track_caller]
    pub fn expect_no_events(&mut self) {
        let e = self.take_events();
        assert!(e.is_empty(), "expected no events, got {e:?}");
    }

    /// Takes the events, asserting they are exactly `n` completions ([`Event::Sent`]).
    #[track_caller]
    pub fn expect_sent(&mut self, n: usize) {
        let e = self.take_events();
        assert!(
            e.len() == n && e.iter().all(|e| matches!(e, Event::Sent { .. })),
            "expected {n} Sent events, got {e:?}"
        );
    }

    /// Takes the events and returns the single received payload.
    #[track_caller]
    pub fn expect_received(&mut self) -> Vec<u8> {
        let e = self.take_events();
        match e.as_slice() {
            [Event::Received { payload, .. }] => payload.clone(),
            other => panic!("expected exactly one Received, got {other:?}"),
        }
    }
}

impl Drop for Solo {
    /// Every test ends with nothing unaccounted for: no frame due now that the test did not take, no
    /// event it did not look at.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let now = self.now;
        if let Some(f) = self.ep.poll_transmit(now) {
            panic!("stray frame left at the end of the test: {f:?} at {now:?}");
        }
        self.collect();
        let events = core::mem::take(&mut self.events);
        assert!(
            events.is_empty(),
            "stray events left at the end of the test: {events:?}"
        );
    }
}
