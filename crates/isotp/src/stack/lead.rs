//! Who drives the bus: the leader/follower token. The whole protocol (this token, the engine's
//! loop, the reader's sleep in [`alarm`](super::alarm)) is stated in the manual:
//! [`manual::driver`](crate::manual::driver), "Who reads the bus and who sleeps".
//!
//! One thread at a time reads the bus and runs the timers (the leader), so frames are handled in the
//! order they arrived. A thread that waits for a result leads while it waits, so the frame that
//! completes its wait wakes it directly; other waiting threads follow, parked, and are woken by the
//! delivery they wait for or when the lead is free. The background thread leads only when no waiting
//! thread does.
//!
//! An async task that waits leads during its polls: it reads what the bus has, then leaves the bus
//! to wake it (see [`CanBus::poll_recv`](crate::bus::CanBus::poll_recv)). While such tasks watch
//! the bus, the background thread only runs the timers, leading just before each is due, so frames
//! wake the waiting task and not the thread in between.

use std::collections::VecDeque;
use std::task::Waker;
use std::time::{Duration, Instant};

// The standard primitives; the model check compiles this file again over shuttle's.
use super::platform::{current, Mutex, MutexGuard, Thread};

/// Who holds the lead and who wants it.
#[derive(Default)]
struct Claims {
    /// Someone leads.
    held: bool,
    /// Releases so far, and when the last one was: the background thread waits a little after a
    /// release before it leads, as the waiter that released usually comes back at once.
    releases: u64,
    released_at: Option<Instant>,
    /// The background thread sleeps until a release wakes it.
    background_parked: bool,
    /// The leader is the background thread (which gives the lead up when a waiter asks).
    background_leads: bool,
    /// Waiting threads that want the lead.
    followers: VecDeque<Thread>,
    /// Async tasks that want the lead (all woken when it is free).
    tasks: Vec<Waker>,
    /// Async waiters watching the bus, by id (see [`Lead::watch`]). The bus wakes only the one
    /// that polled it last; when a watcher leaves, the others are woken so one takes its place.
    watchers: Vec<(u64, Waker)>,
    #[cfg(feature = "tokio")]
    next_watcher: u64,
    /// A bus error made the tasks stop driving: the background thread serves them.
    tasks_off: bool,
    /// While tasks watch: when the background thread wakes for the next timer (`None`: parked).
    background_until: Option<Instant>,
    background: Option<Thread>,
}

impl Claims {
    /// Who takes a free lead: the first follower, else the background thread if it sleeps (and
    /// no task watches the bus).
    fn next_to_wake(&self) -> Option<Thread> {
        match self.followers.front() {
            Some(t) => Some(t.clone()),
            None if self.background_parked && !self.watching() => self.background.clone(),
            None => None,
        }
    }

    fn watching(&self) -> bool {
        !self.watchers.is_empty() && !self.tasks_off
    }

    /// While tasks watch: the background thread, if a timer due at `next` comes before it wakes.
    fn timer_keeper(&mut self, next: Option<Instant>) -> Option<Thread> {
        let next = next?;
        if !self.watching() || self.background_until.is_some_and(|b| b <= next) {
            return None;
        }
        self.background_until = Some(next);
        self.background.clone()
    }
}

/// What [`Lead::try_lead_task`] found.
#[cfg(feature = "tokio")]
pub(crate) enum TaskLead {
    /// The task leads until [`Lead::release`].
    Leads,
    /// A waiting thread or another task leads; the task is woken when the lead is free.
    Waits,
    /// The background thread leads: interrupt its wait so it gives the lead up; the task is woken
    /// when the lead is free.
    WaitsBehindBackground,
}

/// The token; see the module documentation.
#[derive(Default)]
pub(crate) struct Lead {
    state: Mutex<Claims>,
}

/// What the background thread should do, from [`Lead::background_turn`].
pub(crate) enum Turn {
    /// It leads now.
    Lead,
    /// Look again after this long.
    Wait(Duration),
    /// Sleep until a release wakes it.
    Park,
}

/// What [`Lead::follow`] found.
pub(crate) enum Follow {
    /// The lead was free and is now the caller's.
    Leads,
    /// A waiting thread leads: it will wake the caller when it leaves.
    Parked,
    /// The background thread leads: interrupt its wait so it gives the lead up.
    ParkedBehindBackground,
}

impl Lead {
    fn lock(&self) -> MutexGuard<'_, Claims> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_background(&self, thread: Thread) {
        self.lock().background = Some(thread);
    }

    /// A waiting thread takes the lead, or registers to be woken when it is free.
    pub(crate) fn follow(&self) -> Follow {
        let mut s = self.lock();
        if !s.held {
            s.held = true;
            s.background_leads = false;
            return Follow::Leads;
        }
        let me = current();
        if !s.followers.iter().any(|t| t.id() == me.id()) {
            s.followers.push_back(me);
        }
        if s.background_leads {
            Follow::ParkedBehindBackground
        } else {
            Follow::Parked
        }
    }

    /// The calling thread no longer waits for the lead. If the lead is free (its release may have
    /// woken this thread, which no longer needs it), the next follower or the background thread is
    /// woken to take it, so the bus is never left undriven.
    pub(crate) fn unfollow(&self) {
        let me = current().id();
        let mut s = self.lock();
        s.followers.retain(|t| t.id() != me);
        if s.held {
            return;
        }
        let next = s.next_to_wake();
        drop(s);
        if let Some(t) = next {
            t.unpark();
        }
    }

    /// The background thread's turn: it leads once the lead has been free for `linger` (or at once
    /// when a timer is due, `timer_in` being the time to the next one); while waiting threads keep
    /// taking the lead it looks again now and then; when they stop, it sleeps until a release.
    /// `seen` is the release count at its last look. While tasks watch the bus it leads only when
    /// a timer is `window` or less away.
    pub(crate) fn background_turn(
        &self,
        linger: Duration,
        window: Duration,
        timer_in: Option<Duration>,
        seen: &mut u64,
    ) -> Turn {
        let mut s = self.lock();
        s.background_parked = false;
        // Set again below only when this turn sleeps until a timer: a stale value would keep a
        // release from waking a thread that sleeps for another reason.
        s.background_until = None;
        let now = Instant::now();
        if !s.held && s.followers.is_empty() && s.watching() {
            return match timer_in {
                Some(t) if t <= window => {
                    s.held = true;
                    s.background_leads = true;
                    Turn::Lead
                }
                Some(t) => {
                    s.background_until = Some(now + t);
                    Turn::Wait(t - window)
                }
                None => {
                    s.background_parked = true;
                    Turn::Park
                }
            };
        }
        if !s.held && s.followers.is_empty() {
            let free_for = s
                .released_at
                .map_or(linger, |r| now.saturating_duration_since(r));
            let due = timer_in.is_some_and(|t| t.is_zero());
            if free_for >= linger || due {
                s.held = true;
                s.background_leads = true;
                return Turn::Lead;
            }
            let wait = linger - free_for;
            return Turn::Wait(timer_in.map_or(wait, |t| t.min(wait)));
        }
        if s.releases != *seen {
            *seen = s.releases;
            return Turn::Wait(linger);
        }
        s.background_parked = true;
        Turn::Park
    }

    /// True when a waiting thread or task wants the lead the background thread holds.
    pub(crate) fn wanted(&self) -> bool {
        let s = self.lock();
        !s.followers.is_empty() || !s.tasks.is_empty()
    }

    /// True while async tasks watch the bus (the background thread then leads only for timers).
    pub(crate) fn tasks_watch(&self) -> bool {
        self.lock().watching()
    }

    /// Gives the lead up: to the first follower, else back to the background thread (woken only
    /// if it sleeps; while it lingers it looks again by itself). Tasks waiting for the lead are
    /// woken; `next_timer` is when the next protocol timer is due, for the background thread to
    /// keep while tasks watch the bus.
    pub(crate) fn release(&self, next_timer: Option<Instant>) {
        let mut s = self.lock();
        s.held = false;
        s.background_leads = false;
        s.releases += 1;
        s.released_at = Some(Instant::now());
        let next = s.next_to_wake();
        let keeper = s.timer_keeper(next_timer);
        let tasks = std::mem::take(&mut s.tasks);
        drop(s);
        for t in next.into_iter().chain(keeper) {
            t.unpark();
        }
        for w in tasks {
            w.wake();
        }
    }

    /// An async task takes the lead if it is free, else is woken when it is.
    #[cfg(feature = "tokio")]
    pub(crate) fn try_lead_task(&self, waker: &Waker) -> TaskLead {
        let mut s = self.lock();
        if !s.held {
            s.held = true;
            s.background_leads = false;
            return TaskLead::Leads;
        }
        if !s.tasks.iter().any(|w| w.will_wake(waker)) {
            s.tasks.push(waker.clone());
        }
        if s.background_leads {
            TaskLead::WaitsBehindBackground
        } else {
            TaskLead::Waits
        }
    }

    /// A waiter that has no lead changed a timer (now due at `next`): the background thread is
    /// woken if tasks watch the bus and it would sleep past it.
    pub(crate) fn timer_set(&self, next: Instant) {
        let keeper = self.lock().timer_keeper(Some(next));
        if let Some(t) = keeper {
            t.unpark();
        }
    }

    /// An async waiter starts watching the bus (`None`: it gets an id), or polls again.
    #[cfg(feature = "tokio")]
    pub(crate) fn watch(&self, id: Option<u64>, waker: &Waker) -> u64 {
        let mut s = self.lock();
        if let Some(id) = id {
            if let Some((_, w)) = s.watchers.iter_mut().find(|(i, _)| *i == id) {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                return id;
            }
        }
        s.next_watcher += 1;
        let id = s.next_watcher;
        s.watchers.push((id, waker.clone()));
        id
    }

    /// An async waiter stops watching the bus: the other watchers are woken (the bus may have
    /// been waking only the one leaving), or, when none is left, the background thread.
    #[cfg(feature = "tokio")]
    pub(crate) fn unwatch(&self, id: u64) {
        let mut s = self.lock();
        s.watchers.retain(|(i, _)| *i != id);
        let others: Vec<Waker> = s.watchers.iter().map(|(_, w)| w.clone()).collect();
        let background = (!s.watching() && s.background_parked && !s.held)
            .then(|| s.background.clone())
            .flatten();
        drop(s);
        for w in others {
            w.wake();
        }
        if let Some(t) = background {
            t.unpark();
        }
    }

    /// The bus failed for a task: from now on the background thread serves async waiters.
    #[cfg(feature = "tokio")]
    pub(crate) fn stop_tasks(&self) {
        let mut s = self.lock();
        s.tasks_off = true;
        let wake = s.background.clone();
        drop(s);
        if let Some(t) = wake {
            t.unpark();
        }
    }

    /// True once [`stop_tasks`](Lead::stop_tasks) was called.
    #[cfg(feature = "tokio")]
    pub(crate) fn tasks_off(&self) -> bool {
        self.lock().tasks_off
    }
}
