//! Hostile responders and devices under test on the virtual bus, generated from seeds: whatever
//! they do, a functional request, a scan and a conformance run end within their limits and say why.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use isotp::bus::{CanBus, VirtualBus, VirtualPort};
use isotp::discovery::FunctionalRequest;
use isotp::{CanId, Frame};

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
}

/// A thread playing a responder on its own port until dropped.
struct Responder {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Responder {
    fn start(
        port: VirtualPort,
        mut play: impl FnMut(&VirtualPort, &AtomicBool) + Send + 'static,
    ) -> Responder {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || play(&port, &flag));
        Responder {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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
        let _responder = Responder::start(bus.attach(), move |p, s| stalling.play(p, s));
        let tester = bus.attach();
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
