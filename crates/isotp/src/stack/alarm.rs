//! The bus reader's sleep and the kick that cuts it short: the one handshake between the thread
//! that reads the bus and a caller that sets an earlier deadline. Written once for the standard
//! atomics (the engine) and once for shuttle's (the model check below).

macro_rules! alarm {
    ($u64:ty, $bool:ty) => {
        /// Until when the thread that reads the bus sleeps, so that a caller that sets an earlier
        /// deadline wakes it.
        pub(crate) struct Alarm {
            /// µs on the engine's clock; `u64::MAX` while it sleeps until a frame comes; 0 while it
            /// is awake (it reads the deadlines again before it sleeps).
            sleeping_until: $u64,
            /// A caller asked the sleeper to look at the deadlines again (ends its spinning).
            kicked: $bool,
        }

        impl Alarm {
            pub(crate) fn new() -> Alarm {
                Alarm {
                    sleeping_until: <$u64>::new(0),
                    kicked: <$bool>::new(false),
                }
            }

            /// The reader is about to sleep until `next` (µs; `None`: a frame), the earliest
            /// deadline it read under the state lock that `held` holds, released here once the
            /// sleep is published: a caller that sets a deadline holds that lock too, so either the
            /// reader read it or the caller sees this and kicks. (Published after the release, a
            /// deadline set in between was compared with 0, and the sleep outlasted it.)
            pub(crate) fn sleep_until<G>(&self, held: G, next: Option<u64>) {
                self.sleeping_until.store(
                    next.unwrap_or(u64::MAX),
                    std::sync::atomic::Ordering::SeqCst,
                );
                drop(held);
            }

            /// The reader is awake: it reads the deadlines again before it sleeps.
            pub(crate) fn woke(&self) {
                self.sleeping_until
                    .store(0, std::sync::atomic::Ordering::SeqCst);
                self.kicked
                    .store(false, std::sync::atomic::Ordering::SeqCst);
            }

            /// A caller that holds the state lock (`_held`) set a deadline at `at` µs: true when the
            /// reader sleeps past it and must be interrupted.
            pub(crate) fn kick<G>(&self, _held: &G, at: u64) -> bool {
                if at
                    < self
                        .sleeping_until
                        .load(std::sync::atomic::Ordering::SeqCst)
                {
                    self.kicked.store(true, std::sync::atomic::Ordering::SeqCst);
                    return true;
                }
                false
            }

            /// True once a caller kicked since the reader last woke.
            #[allow(dead_code)] // the model's reader does not spin
            pub(crate) fn kicked(&self) -> bool {
                self.kicked.load(std::sync::atomic::Ordering::SeqCst)
            }
        }
    };
}

alarm!(std::sync::atomic::AtomicU64, std::sync::atomic::AtomicBool);

/// The handshake under shuttle: every interleaving of a reader that sleeps until its next
/// deadline, callers that set deadlines and kick, and a close, within a bounded number of
/// schedules. A lost wake-up leaves the reader asleep with a deadline due: shuttle reports the
/// deadlock.
#[cfg(test)]
mod model {
    use shuttle::sync::{Condvar, Mutex};
    use shuttle::thread;
    use std::sync::Arc;

    alarm!(
        shuttle::sync::atomic::AtomicU64,
        shuttle::sync::atomic::AtomicBool
    );

    /// A bus that never carries a frame: a wait with a deadline ends at it (time passes), a wait
    /// without one ends only when interrupted.
    #[derive(Default)]
    struct Bus {
        interrupted: Mutex<bool>,
        cv: Condvar,
    }

    impl Bus {
        fn recv(&self, timeout: bool) {
            let mut i = self.interrupted.lock().unwrap();
            while !timeout && !*i {
                i = self.cv.wait(i).unwrap();
            }
            *i = false;
        }

        fn interrupt(&self) {
            *self.interrupted.lock().unwrap() = true;
            self.cv.notify_all();
        }
    }

    #[derive(Default)]
    struct State {
        /// Deadlines set by callers, µs; a fired one is removed.
        deadlines: Vec<u64>,
        fired: usize,
        closed: bool,
    }

    /// `senders` callers each set one deadline (as a non-blocking send sets N_Bs); the reader
    /// must fire them all. `close`: a caller closes the node meanwhile (then the reader stops).
    fn run(senders: u64, close: bool) {
        let state = Arc::new(Mutex::new(State::default()));
        let alarm = Arc::new(Alarm::new());
        let bus = Arc::new(Bus::default());
        let reader = {
            let (state, alarm, bus) = (state.clone(), alarm.clone(), bus.clone());
            thread::spawn(move || loop {
                let st = state.lock().unwrap();
                if st.closed || st.fired == usize::try_from(senders).unwrap() {
                    return;
                }
                let next = st.deadlines.iter().copied().min();
                alarm.sleep_until(st, next);
                bus.recv(next.is_some());
                alarm.woke();
                let mut st = state.lock().unwrap();
                if let Some(t) = next {
                    st.deadlines.retain(|d| *d != t);
                    st.fired += 1;
                }
            })
        };
        let callers: Vec<_> = (0..senders)
            .map(|i| {
                let (state, alarm, bus) = (state.clone(), alarm.clone(), bus.clone());
                thread::spawn(move || {
                    let mut st = state.lock().unwrap();
                    let at = 1000 - i;
                    st.deadlines.push(at);
                    if alarm.kick(&st, at) {
                        bus.interrupt();
                    }
                })
            })
            .collect();
        if close {
            let mut st = state.lock().unwrap();
            st.closed = true;
            drop(st);
            bus.interrupt();
        }
        for c in callers {
            c.join().unwrap();
        }
        reader.join().unwrap();
    }

    #[test]
    fn a_deadline_set_while_the_reader_goes_to_sleep_wakes_it() {
        shuttle::check_dfs(|| run(1, false), None);
        shuttle::check_pct(|| run(2, false), 300, 3);
        shuttle::check_pct(|| run(2, true), 300, 3);
    }
}
