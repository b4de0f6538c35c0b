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

#[derive(Default)]
struct State {
    /// Someone leads.
    held: bool,
    /// The leader is the background thread (which gives the lead up when a waiter asks).
    background_leads: bool,
    /// Waiting threads that want the lead.
    followers: VecDeque<Thread>,
    background: Option<Thread>,
}

/// The token; see the module documentation.
#[derive(Default)]
pub(crate) struct Lead {
    state: Mutex<State>,
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
        let next = s
            .followers
            .front()
            .cloned()
            .or_else(|| s.background.clone());
        drop(s);
        if let Some(t) = next {
            t.unpark();
        }
    }

    /// The background thread takes the lead, unless it is held or a waiting thread wants it.
    pub(crate) fn try_lead_background(&self) -> bool {
        let mut s = self.lock();
        if s.held || !s.followers.is_empty() {
            return false;
        }
        s.held = true;
        s.background_leads = true;
        true
    }

    /// True when a waiting thread wants the lead the background thread holds.
    pub(crate) fn wanted(&self) -> bool {
        !self.lock().followers.is_empty()
    }

    /// Gives the lead up: to the first follower, else back to the background thread.
    pub(crate) fn release(&self) {
        let mut s = self.lock();
        s.held = false;
        s.background_leads = false;
        let next = s
            .followers
            .front()
            .cloned()
            .or_else(|| s.background.clone());
        drop(s);
        if let Some(t) = next {
            t.unpark();
        }
    }
}
