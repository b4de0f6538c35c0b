//! A queue that blocking threads and async tasks can both wait on.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Unbounded FIFO with blocking and (feature `tokio`) async waiting.
pub(crate) struct Mailbox<T> {
    queue: Mutex<Inner<T>>,
    ready: Condvar,
    #[cfg(feature = "tokio")]
    notify: tokio::sync::Notify,
}

struct Inner<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> Mailbox<T> {
    pub(crate) fn new() -> Mailbox<T> {
        Mailbox {
            queue: Mutex::new(Inner {
                items: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            #[cfg(feature = "tokio")]
            notify: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, item: T) {
        self.lock().items.push_back(item);
        self.wake();
    }

    fn wake(&self) {
        self.ready.notify_all();
        #[cfg(feature = "tokio")]
        self.notify.notify_waiters();
    }

    /// No more items will come; waiters return at once.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.wake();
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub(crate) fn clear(&self) {
        self.lock().items.clear();
    }

    pub(crate) fn try_pop(&self) -> Option<T> {
        self.lock().items.pop_front()
    }

    /// Removes the first item `pick` accepts, if any.
    pub(crate) fn take_where(&self, mut pick: impl FnMut(&T) -> bool) -> Option<T> {
        let mut q = self.lock();
        let pos = q.items.iter().position(&mut pick)?;
        q.items.remove(pos)
    }

    /// Waits up to `timeout` (forever with `None`) for an item `pick` accepts. `Err(())` when the
    /// mailbox was closed, `Ok(None)` on timeout.
    pub(crate) fn wait_where(
        &self,
        timeout: Option<Duration>,
        mut pick: impl FnMut(&T) -> bool,
    ) -> Result<Option<T>, ()> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut q = self.lock();
        loop {
            if let Some(pos) = q.items.iter().position(&mut pick) {
                return Ok(q.items.remove(pos));
            }
            if q.closed {
                return Err(());
            }
            q = match deadline {
                None => self.ready.wait(q).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Ok(None);
                    }
                    self.ready
                        .wait_timeout(q, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Async form of [`Mailbox::wait_where`] without a timeout (use `tokio::time::timeout`).
    #[cfg(feature = "tokio")]
    pub(crate) async fn wait_where_async(&self, mut pick: impl FnMut(&T) -> bool) -> Result<T, ()> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before checking, so a push between the check and the await is not missed.
            notified.as_mut().enable();
            {
                let mut q = self.lock();
                if let Some(pos) = q.items.iter().position(&mut pick) {
                    if let Some(item) = q.items.remove(pos) {
                        return Ok(item);
                    }
                }
                if q.closed {
                    return Err(());
                }
            }
            notified.await;
        }
    }
}
