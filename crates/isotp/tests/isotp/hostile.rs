//! Hostile responders and devices under test on the virtual bus, generated from seeds: whatever
//! they do, a functional request, a scan and a conformance run end within their limits and say why.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use isotp::bus::{BusError, CanBus, Capabilities, VirtualBus, VirtualPort};
use isotp::discovery::{FunctionalRequest, Scan, ANSWERS_ANYTHING_AFTER};
use isotp::{Address, CanId, Config, Frame, Node, Stack};
use isotp_conformance::{Dut, Options, TestResult, Value, Verdict};

use crate::worker::Worker;

/// A small deterministic generator (xorshift64*), so that a failing seed replays exactly.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `range`.
    fn within(&mut self, range: std::ops::RangeInclusive<u64>) -> u64 {
        range.start() + self.next() % (range.end() - range.start() + 1)
    }

    /// A number in `range`, as the type wanted (the range must fit it).
    fn within_as<T: TryFrom<u64, Error: std::fmt::Debug>>(
        &mut self,
        range: std::ops::RangeInclusive<u64>,
    ) -> T {
        T::try_from(self.within(range)).expect("the range fits the type")
    }
}

/// A responder playing on its own port until dropped.
fn responder(
    port: VirtualPort,
    play: impl FnOnce(&VirtualPort, &AtomicBool) + Send + 'static,
) -> Worker {
    Worker::spawn(move |stop| play(&port, stop))
}

fn frame(id: u32, data: &[u8]) -> Frame {
    Frame::new(CanId::standard(id).unwrap(), data).unwrap()
}

/// How a hostile OBD responder keeps a functional request waiting.
#[derive(Clone, Copy, Debug)]
enum Stalling {
    /// Restarts its answer with a new first frame every so often (never a consecutive frame).
    RestartsFirstFrame(Duration),
    /// Says "response pending" (7F 09 78) every so often, and never answers.
    EndlessPending(Duration),
}

impl Stalling {
    fn generate(rng: &mut Rng) -> Stalling {
        let every = Duration::from_millis(rng.within(20..=150));
        if rng.next() % 2 == 0 {
            Stalling::RestartsFirstFrame(every)
        } else {
            Stalling::EndlessPending(every)
        }
    }

    /// Answers the first request on 7E8 the hostile way until stopped.
    fn play(self, port: &VirtualPort, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(Some(_)) = port.recv(Some(Duration::from_millis(20))) {
                break;
            }
        }
        let (data, every): (&[u8], Duration) = match self {
            Stalling::RestartsFirstFrame(every) => {
                (&[0x10, 0x40, 0x49, 2, 1, 0x57, 0x56, 0x57], every)
            }
            Stalling::EndlessPending(every) => (&[0x03, 0x7F, 0x09, 0x78], every),
        };
        while !stop.load(Ordering::Relaxed) {
            let _ = port.send(&frame(0x7E8, data));
            thread::sleep(every);
        }
    }
}

#[test]
fn a_responder_that_never_finishes_cannot_extend_a_functional_request_forever() {
    let limit = Duration::from_millis(800);
    for seed in 1..=4 {
        let mut rng = Rng::new(seed);
        let stalling = Stalling::generate(&mut rng);
        let bus = VirtualBus::new();
        let _responder = responder(bus.attach(), move |p, s| stalling.play(p, s));
        let tester = Node::new(bus.attach());
        let request = FunctionalRequest::obd()
            .with_window(Duration::from_millis(200))
            .with_pending_window(Duration::from_millis(300))
            .with_overall_limit(limit);
        let start = Instant::now();
        let answers = request.run(&tester, &[0x09, 0x02]).unwrap();
        let took = start.elapsed();
        let cut_off = answers
            .cut_off
            .as_ref()
            .unwrap_or_else(|| panic!("seed {seed} ({stalling:?}): no cut-off: {answers:?}"));
        assert_eq!(cut_off.limit, limit);
        assert_eq!(
            cut_off.unfinished,
            [CanId::standard(0x7E8).unwrap()],
            "seed {seed} ({stalling:?})"
        );
        assert!(
            cut_off.to_string().contains("7E8 was still answering"),
            "{cut_off}"
        );
        assert!(took >= limit, "seed {seed}: ended after {took:?}");
        // Not a timing assertion: the bound only tells a hang from the limit on a loaded machine.
        assert!(
            took < limit * 10,
            "seed {seed} ({stalling:?}): took {took:?}"
        );
    }
}

fn conformance_options(only: &str) -> Options {
    let mut o = Options::new(Address::normal_11(0x7E0, 0x7E8).unwrap(), Dut::Echo);
    o.only = Some(only.into());
    o.tolerance = Duration::from_micros(300);
    o.response_timeout = Duration::from_millis(300);
    o
}

/// The result of the test `options.only` names (a prefix that may select others too).
fn only_result(bus: &VirtualBus, options: &Options) -> TestResult {
    let name = options.only.as_deref().unwrap();
    let results = isotp_conformance::run(&bus.attach(), options).unwrap();
    results
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no result of {name}"))
}

/// Answers every first frame of the tester with FC.WAIT, again and again within N_Bs, until the
/// tester sends its next frame.
fn wait_forever(every: Duration) -> impl FnMut(&VirtualPort, &AtomicBool) + Send + 'static {
    move |port, stop| {
        let mut waiting = false;
        while !stop.load(Ordering::Relaxed) {
            let timeout = if waiting {
                every
            } else {
                Duration::from_millis(20)
            };
            match port.recv(Some(timeout)) {
                Ok(Some(f)) if f.id().raw() == 0x7E0 => {
                    waiting = f.data().first().is_some_and(|b| b >> 4 == 1);
                }
                Ok(_) => {}
                Err(_) => return,
            }
            if waiting {
                let _ = port.send(&frame(0x7E8, &[0x31, 0x00, 0x00]));
            }
        }
    }
}

#[test]
fn a_dut_that_answers_fc_wait_forever_meets_the_testers_wftmax() {
    for seed in 1..=3 {
        let mut rng = Rng::new(seed);
        let bus = VirtualBus::new();
        let every = Duration::from_millis(rng.within(5..=40));
        let _dut = responder(bus.attach(), wait_forever(every));
        let mut o = conformance_options("rx.multi_frame");
        o.wft_max = rng.within_as(0..=4);
        let r = only_result(&bus, &o);
        assert_eq!(r.verdict, Verdict::Fail, "seed {seed}: {}", r.detail);
        let expected = format!("the DUT sent {} FC.WAIT in a row", o.wft_max + 1);
        assert!(r.detail.contains(&expected), "seed {seed}: {}", r.detail);
    }
}

#[test]
fn a_test_the_dut_keeps_going_fails_at_its_time_limit() {
    let bus = VirtualBus::new();
    let _dut = responder(bus.attach(), wait_forever(Duration::from_millis(20)));
    let mut o = conformance_options("rx.multi_frame");
    o.wft_max = u8::MAX; // WAITs alone would take 5 s
    o.test_limit = Duration::from_millis(700);
    let start = Instant::now();
    let r = only_result(&bus, &o);
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.detail);
    assert!(
        r.detail
            .contains("did not end within its time limit of 700ms"),
        "{}",
        r.detail
    );
    // Not a timing assertion: the bound only tells a hang from the limit on a loaded machine.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

/// Answers each message of the tester with a first frame announcing `ff_dl` bytes, then sends
/// consecutive frames every millisecond, whatever the tester answers, until the tester's next
/// message.
fn endless_answer(ff_dl: u32) -> impl FnMut(&VirtualPort, &AtomicBool) + Send + 'static {
    move |port, stop| {
        let mut sn: Option<u8> = None;
        while !stop.load(Ordering::Relaxed) {
            let timeout = if sn.is_some() {
                Duration::from_millis(1)
            } else {
                Duration::from_millis(20)
            };
            match port.recv(Some(timeout)) {
                Ok(Some(f))
                    if f.id().raw() == 0x7E0 && f.data().first().is_some_and(|b| b >> 4 <= 1) =>
                {
                    // A first frame, escaped when the length needs 32 bits.
                    let data: Vec<u8> = if ff_dl <= 0xFFF {
                        let [.., high, low] = ff_dl.to_be_bytes();
                        vec![0x10 | high, low, 1, 2, 3, 4, 5, 6]
                    } else {
                        let l = ff_dl.to_be_bytes();
                        vec![0x10, 0x00, l[0], l[1], l[2], l[3], 1, 2]
                    };
                    let _ = port.send(&frame(0x7E8, &data));
                    sn = Some(1);
                    continue;
                }
                Ok(_) => {}
                Err(_) => return,
            }
            if let Some(n) = sn {
                let _ = port.send(&frame(0x7E8, &[0x20 | n, 7, 7, 7, 7, 7, 7, 7]));
                sn = Some((n + 1) % 16);
            }
        }
    }
}

#[test]
fn a_dut_announcing_more_than_the_max_size_is_refused_not_followed() {
    for seed in 1..=3 {
        let mut rng = Rng::new(seed);
        let max_size = [64, 4095][rng.within_as::<usize>(0..=1)];
        let ff_dl = if rng.next() % 2 == 0 {
            u32::MAX
        } else {
            max_size + 1 + rng.within_as::<u32>(0..=1000)
        };
        for (test, verdict) in [
            ("rx.single_frame", Verdict::Fail),
            ("tx.n_cs", Verdict::Skip),
        ] {
            let bus = VirtualBus::new();
            let _dut = responder(bus.attach(), endless_answer(ff_dl));
            let mut o = conformance_options(test);
            o.max_size = max_size;
            o.n_timeout = Duration::from_millis(300);
            // A short request, in a single frame the DUT answers.
            o.dut = Dut::Uds {
                request: vec![0x22, 0xF1, 0x90],
            };
            let start = Instant::now();
            let r = only_result(&bus, &o);
            let expected = format!(
                "a first frame announcing {ff_dl} bytes, more than the tester accepts (max size {max_size})"
            );
            assert_eq!(r.verdict, verdict, "seed {seed} {test}: {}", r.detail);
            assert!(
                r.detail.contains(&expected),
                "seed {seed} {test}: {}",
                r.detail
            );
            // Not a timing assertion: the bound only tells a hang from an answer.
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{:?}",
                start.elapsed()
            );
        }
    }
}

/// A bus that, like SocketCAN with transmit confirmation, returns from `send` only a while after
/// the frame went out (when its echo came back); the DUT's answer is stamped before that.
struct LateConfirmation(VirtualPort);

impl CanBus for LateConfirmation {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.0.send(frame)?;
        thread::sleep(Duration::from_millis(5));
        Ok(())
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        self.0.recv(timeout)
    }

    fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, Instant)>, BusError> {
        self.0.recv_timestamped(timeout)
    }

    fn interrupt(&self) {
        self.0.interrupt()
    }

    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
}

/// Answers every first frame at once with FC.CTS, and every single frame with a first frame of
/// 20 bytes whose consecutive frames follow the tester's flow control at once.
fn quick_dut() -> impl FnMut(&VirtualPort, &AtomicBool) + Send + 'static {
    move |port, stop| {
        while !stop.load(Ordering::Relaxed) {
            let Ok(Some(f)) = port.recv(Some(Duration::from_millis(20))) else {
                continue;
            };
            if f.id().raw() != 0x7E0 {
                continue;
            }
            let answer: &[&[u8]] = match f.data().first().map(|b| b >> 4) {
                Some(0) => &[&[0x10, 20, 1, 2, 3, 4, 5, 6]],
                Some(1) => &[&[0x30, 0, 0]],
                Some(3) => &[
                    &[0x21, 7, 8, 9, 10, 11, 12, 13],
                    &[0x22, 14, 15, 16, 17, 18, 19, 20],
                ],
                _ => &[],
            };
            for data in answer {
                let _ = port.send(&frame(0x7E8, data));
            }
        }
    }
}

#[test]
fn reaction_times_are_measured_from_when_the_testers_frame_went_out() {
    let bus = VirtualBus::new();
    let _dut = responder(bus.attach(), quick_dut());
    let tester = LateConfirmation(bus.attach());
    let mut o = conformance_options("rx.n_br");
    o.dut = Dut::Uds {
        request: vec![0x22, 0xF1, 0x90],
    };
    let time = |results: &[TestResult], name: &str| -> Duration {
        let m = results[0]
            .measured
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no {name}: {results:?}"));
        match m.value {
            Value::Time(d) => d,
            Value::Count(_) => panic!("{name} is a count"),
        }
    };
    let results = isotp_conformance::run(&tester, &o).unwrap();
    // The DUT answered before `send` returned: measured from the return, N_Br was 0.
    assert!(time(&results, "n_br_max") > Duration::ZERO, "{results:?}");
    o.only = Some("tx.n_cs".into());
    let results = isotp_conformance::run(&tester, &o).unwrap();
    assert!(
        time(&results, "first_cf_after_fc") > Duration::ZERO,
        "{results:?}"
    );
}

/// Answers every probe on an id of 7E0-7EF with a flow control from each of `responders` ids
/// from 600 up, as a gateway answering for everything would.
fn answer_everything(responders: u32) -> impl FnMut(&VirtualPort, &AtomicBool) + Send + 'static {
    move |port, stop| {
        while !stop.load(Ordering::Relaxed) {
            let Ok(Some(f)) = port.recv(Some(Duration::from_millis(20))) else {
                continue;
            };
            if (0x7E0..=0x7EF).contains(&f.id().raw()) {
                for i in 0..responders {
                    let _ = port.send(&frame(0x600 + i, &[0x30, 0x00, 0x00]));
                }
            }
        }
    }
}

#[test]
fn a_scan_reports_responders_that_answer_every_probe_once() {
    for seed in 1..=2 {
        let mut rng = Rng::new(seed);
        let responders: u32 = rng.within_as(20..=120);
        let bus = VirtualBus::new();
        let _ecu = Stack::new(
            bus.attach(),
            Address::normal_11(0x7E8, 0x7E0).unwrap(),
            Config::default(),
        )
        .unwrap();
        let _gateway = responder(bus.attach(), answer_everything(responders));
        let report = Scan::new("7E0-7EF".parse().unwrap())
            .with_interval(Duration::from_millis(5))
            .with_confirm_wait(Duration::from_millis(100))
            .run(&Node::new(bus.attach()))
            .unwrap();
        let found: Vec<(u32, u32)> = report
            .endpoints
            .iter()
            .map(|e| (e.request_id.raw(), e.response_id.raw()))
            .collect();
        assert_eq!(
            found,
            [(0x7E0, 0x7E8)],
            "seed {seed}: {} endpoints",
            found.len()
        );
        let expected: Vec<u32> = (0..responders).map(|i| 0x600 + i).collect();
        let anything: Vec<u32> = report.answers_anything.iter().map(|id| id.raw()).collect();
        assert_eq!(anything, expected, "seed {seed}");
        // A few lone probes tell them apart, not one per id and responder.
        assert!(
            report.probes < 16 + 2 * ANSWERS_ANYTHING_AFTER as u64 + 4,
            "seed {seed}: {} probes",
            report.probes
        );
    }
}

/// Answers each frame on 7DF or 7E0-7EF with up to four random frames on 7E8-7EF: random lengths,
/// random bytes, PCI types 0-3 most of the time.
fn random_answers(seed: u64) -> impl FnOnce(&VirtualPort, &AtomicBool) + Send + 'static {
    move |port, stop| {
        let mut rng = Rng::new(seed);
        while !stop.load(Ordering::Relaxed) {
            let Ok(Some(f)) = port.recv(Some(Duration::from_millis(20))) else {
                continue;
            };
            if !(0x7DF..=0x7EF).contains(&f.id().raw()) || f.id().raw() >= 0x7E8 {
                continue;
            }
            for _ in 0..rng.within(0..=4) {
                let len: usize = rng.within_as(0..=8);
                let mut data: Vec<u8> = (0..len).map(|_| rng.next().to_le_bytes()[0]).collect();
                if let Some(first) = data.first_mut() {
                    if rng.next() % 4 != 0 {
                        *first &= 0x3F;
                    }
                }
                let _ = port.send(&frame(0x7E8 + rng.within_as::<u32>(0..=7), &data));
            }
        }
    }
}

#[test]
fn random_answers_end_every_discovery_and_conformance_run_in_time() {
    for seed in 1..=3 {
        let bus = VirtualBus::new();
        let _hostile = responder(bus.attach(), random_answers(seed));
        let tester = bus.attach();
        let start = Instant::now();
        let request = FunctionalRequest::obd()
            .with_window(Duration::from_millis(100))
            .with_pending_window(Duration::from_millis(200))
            .with_overall_limit(Duration::from_secs(1));
        let answers = request
            .run(&Node::new(bus.attach()), &[0x09, 0x02])
            .unwrap();
        assert!(
            answers
                .responses
                .iter()
                .all(|a| (0x7E8..=0x7EF).contains(&a.response_id.raw())),
            "seed {seed}: {answers:?}"
        );
        Scan::new("7E0-7E3".parse().unwrap())
            .with_interval(Duration::from_millis(10))
            .with_confirm_wait(Duration::from_millis(50))
            .run(&Node::new(bus.attach()))
            .unwrap();
        let mut o = conformance_options("rx.single_frame");
        o.n_timeout = Duration::from_millis(200);
        o.silence = Duration::from_millis(50);
        o.test_limit = Duration::from_secs(2);
        let results = isotp_conformance::run(&tester, &o).unwrap();
        assert!(!results.is_empty(), "seed {seed}");
        // Not a timing assertion: the bound only tells a hang from the limits on a loaded machine.
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "seed {seed}: {:?}",
            start.elapsed()
        );
    }
}
