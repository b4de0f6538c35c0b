//! The lead token (lead.rs, compiled again over shuttle's primitives) under a model check: waiting
//! threads that take the lead or follow as `Shared::block_on` does, a peer whose frames only the
//! leader can read, and the background thread's turns. Every waiter must get its result (no
//! thread parked forever: shuttle reports a deadlock) and at most one thread may read the bus at a
//! time.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shuttle::sync::{Condvar, Mutex};
use shuttle::thread;

#[allow(dead_code)] // the model uses the threads' side of the token only
mod platform {
    pub(crate) use shuttle::sync::{Mutex, MutexGuard};
    pub(crate) use shuttle::thread::{current, Thread};
}

// Deliberately the same file as `super::lead`, over other primitives.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "lead.rs"]
mod lead;

use lead::{Follow, Lead, Turn};

use super::mailbox::Look;

/// The bus: frames for waiters by number; only the leader reads it. A reader with nothing to read
/// sleeps until a frame comes or it is interrupted (rule 5's handshake is `alarm`'s model).
#[derive(Default)]
struct Bus {
    frames: Mutex<(Vec<usize>, bool)>,
    cv: Condvar,
    readers: AtomicUsize,
}

impl Bus {
    fn put(&self, to: usize) {
        self.frames.lock().unwrap().0.push(to);
        self.cv.notify_all();
    }

    fn interrupt(&self) {
        self.frames.lock().unwrap().1 = true;
        self.cv.notify_all();
    }

    /// One read by the leader: a frame, or `None` when interrupted.
    fn read(&self) -> Option<usize> {
        assert_eq!(
            self.readers.fetch_add(1, Ordering::SeqCst),
            0,
            "two readers"
        );
        let mut f = self.frames.lock().unwrap();
        let got = loop {
            if let Some(to) = f.0.pop() {
                break Some(to);
            }
            if f.1 {
                f.1 = false;
                break None;
            }
            f = self.cv.wait(f).unwrap();
        };
        self.readers.fetch_sub(1, Ordering::SeqCst);
        got
    }
}

/// A waiter's result, as a link's mailbox: set by whoever reads its frame, waking it if parked.
#[derive(Default)]
struct Slot {
    got: AtomicBool,
    parked: Mutex<Option<platform::Thread>>,
}

impl Slot {
    fn ready(&self, look: Look) -> bool {
        let mut p = self.parked.lock().unwrap();
        if self.got.load(Ordering::SeqCst) {
            return true;
        }
        if look == Look::ThenPark {
            *p = Some(thread::current());
        }
        false
    }

    fn deliver(&self) {
        let mut p = self.parked.lock().unwrap();
        self.got.store(true, Ordering::SeqCst);
        if let Some(t) = p.take() {
            t.unpark();
        }
    }

    fn unregister(&self) {
        *self.parked.lock().unwrap() = None;
    }
}

struct World {
    lead: Lead,
    bus: Bus,
    slots: Vec<Slot>,
    stop: AtomicBool,
}

impl World {
    /// What the leader does with a read: the frame's waiter gets its result.
    fn drive(&self) {
        if let Some(to) = self.bus.read() {
            self.slots[to].deliver();
        }
    }

    /// `Shared::block_on` without timeouts: lead while waiting, or follow parked.
    fn wait(&self, me: usize) {
        let slot = &self.slots[me];
        let mut leading = false;
        while !slot.ready(Look::Only) {
            if !leading {
                match self.lead.follow() {
                    Follow::Leads => {
                        // As block_on: look again before reading (without this, a result
                        // delivered between the look and the lead is slept past).
                        leading = true;
                        continue;
                    }
                    follow => {
                        let got = slot.ready(Look::ThenPark);
                        if !got {
                            if matches!(follow, Follow::ParkedBehindBackground) {
                                self.bus.interrupt();
                            }
                            thread::park();
                        }
                        self.lead.unfollow();
                        slot.unregister();
                        continue;
                    }
                }
            }
            self.drive();
        }
        if leading {
            self.lead.release(None);
        }
    }

    /// `Shared::background` with no timers: its turns until the model stops.
    fn background(&self) {
        let mut seen = 0;
        while !self.stop.load(Ordering::SeqCst) {
            match self
                .lead
                .background_turn(Duration::ZERO, Duration::ZERO, None, &mut seen)
            {
                Turn::Lead => {
                    while !self.stop.load(Ordering::SeqCst) && !self.lead.wanted() {
                        self.drive();
                    }
                    self.lead.release(None);
                }
                Turn::Wait(_) => thread::yield_now(),
                Turn::Park => thread::park(),
            }
        }
    }
}

/// `waiters` threads each wait for one frame that the peer sends; with `background`, the
/// background thread takes its turns too.
fn run(waiters: usize, background: bool) {
    let world = Arc::new(World {
        lead: Lead::default(),
        bus: Bus::default(),
        slots: (0..waiters).map(|_| Slot::default()).collect(),
        stop: AtomicBool::new(false),
    });
    let bg = background.then(|| {
        let w = world.clone();
        let t = thread::spawn(move || w.background());
        world.lead.set_background(t.thread().clone());
        t
    });
    let threads: Vec<_> = (0..waiters)
        .map(|me| {
            let w = world.clone();
            thread::spawn(move || w.wait(me))
        })
        .collect();
    for to in 0..waiters {
        world.bus.put(to);
    }
    for t in threads {
        t.join().unwrap();
    }
    world.stop.store(true, Ordering::SeqCst);
    world.bus.interrupt();
    if let Some(bg) = bg {
        bg.thread().unpark();
        bg.join().unwrap();
    }
}

#[test]
fn every_waiter_gets_its_result_and_one_thread_reads_at_a_time() {
    shuttle::check_pct(|| run(2, false), 2000, 3);
    shuttle::check_pct(|| run(2, true), 2000, 3);
    shuttle::check_random(|| run(3, true), 1000);
}
