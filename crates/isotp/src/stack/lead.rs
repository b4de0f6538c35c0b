//! Who drives the bus: the leader/follower token.
//!
//! One thread at a time reads the bus and runs the timers (the leader), so frames are handled in the
//! order they arrived. A thread that waits for a result leads while it waits, so the frame that
//! completes its wait wakes it directly; other waiting threads follow, parked, and are woken by the
//! delivery they wait for or when the lead is free. The background thread leads only when no waiting
//! thread does.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
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
    background: Option<Thread>,
}

impl State {
    /// Who takes a free lead: the first follower, else the background thread if it sleeps.
    fn next_to_wake(&self) -> Option<Thread> {
        match self.followers.front() {
            Some(t) => Some(t.clone()),
            None if self.background_parked => self.background.clone(),
            None => None,
        }
    }
}

/// The token; see the module documentation.
#[derive(Default)]
pub(crate) struct Lead {
    state: Mutex<State>,
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
    fn lock(&self) -> MutexGuard<'_, State> {
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
        let me = std::thread::current();
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
        let me = std::thread::current().id();
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
    /// `seen` is the release count at its last look.
    pub(crate) fn background_turn(
        &self,
        linger: Duration,
        timer_in: Option<Duration>,
        seen: &mut u64,
    ) -> Turn {
        let mut s = self.lock();
        s.background_parked = false;
        let now = Instant::now();
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

    /// True when a waiting thread wants the lead the background thread holds.
    pub(crate) fn wanted(&self) -> bool {
        !self.lock().followers.is_empty()
    }

    /// Gives the lead up: to the first follower, else back to the background thread (woken only
    /// if it sleeps; while it lingers it looks again by itself).
    pub(crate) fn release(&self) {
        let mut s = self.lock();
        s.held = false;
        s.background_leads = false;
        s.releases += 1;
        s.released_at = Some(Instant::now());
        let next = s.next_to_wake();
        drop(s);
        if let Some(t) = next {
            t.unpark();
        }
    }
}
