//! The outcome of one message whose sender waits for it: set once by the engine, read once by the
//! waiter, which alone is woken.

#[cfg(feature = "tokio")]
use std::future::Future;
#[cfg(feature = "tokio")]
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
#[cfg(feature = "tokio")]
use std::task::{Context, Poll};
use std::thread::Thread;

use isotp_core::ProtocolError;

use super::mailbox::Look;
use crate::bus::BusError;

/// How a message a caller waits for ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Sent,
    Failed(ProtocolError),
    /// The bus refused a frame of the message.
    BusFailed(Arc<BusError>),
    /// Dropped by `stop_sending`, `reset`, `set_address`, or the link went away.
    Dropped,
}

#[derive(Default)]
struct Inner {
    outcome: Option<Outcome>,
    thread: Option<Thread>,
    waker: Option<Waker>,
}

/// One message's outcome slot, shared by the engine and the waiter.
#[derive(Default)]
pub(crate) struct Completion {
    inner: Mutex<Inner>,
}

impl Completion {
    pub(crate) fn new() -> Arc<Completion> {
        Arc::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the outcome (the first one wins) and wakes the waiter.
    pub(crate) fn complete(&self, outcome: Outcome) {
        let mut c = self.lock();
        if c.outcome.is_some() {
            return;
        }
        c.outcome = Some(outcome);
        let (thread, waker) = (c.thread.take(), c.waker.take());
        drop(c);
        if let Some(t) = thread {
            t.unpark();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The outcome if known; with [`Look::ThenPark`], the calling thread is unparked when it
    /// becomes known.
    pub(crate) fn poll(&self, look: Look) -> Option<Outcome> {
        let mut c = self.lock();
        if c.outcome.is_none() && look == Look::ThenPark {
            c.thread = Some(std::thread::current());
        }
        c.outcome.clone()
    }

    /// Waits for the outcome in async code; `drive` runs at each poll that finds none, with the
    /// task's context (it may read the bus and complete this itself).
    #[cfg(feature = "tokio")]
    pub(crate) fn wait<D: FnMut(&mut Context<'_>) + Unpin>(
        self: &Arc<Completion>,
        drive: D,
    ) -> Wait<D> {
        Wait(self.clone(), drive)
    }

    #[cfg(feature = "tokio")]
    fn poll_outcome(&self, cx: &mut Context<'_>) -> Option<Outcome> {
        let mut c = self.lock();
        if c.outcome.is_none() {
            c.waker = Some(cx.waker().clone());
        }
        c.outcome.clone()
    }
}

/// Future of [`Completion::wait`].
#[cfg(feature = "tokio")]
pub(crate) struct Wait<D>(Arc<Completion>, D);

#[cfg(feature = "tokio")]
impl<D: FnMut(&mut Context<'_>) + Unpin> Future for Wait<D> {
    type Output = Outcome;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let this = self.get_mut();
        if let Some(o) = this.0.poll_outcome(cx) {
            return Poll::Ready(o);
        }
        (this.1)(cx);
        match this.0.poll_outcome(cx) {
            Some(o) => Poll::Ready(o),
            None => Poll::Pending,
        }
    }
}
