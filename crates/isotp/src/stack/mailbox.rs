//! A link's receive queue: bounded by its owner, waited on by blocking threads and async tasks, waking one waiter
//! per message.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::thread::Thread;

/// What a waiter's look for a result does when there is none yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Look {
    /// Nothing more: the caller will not sleep.
    Only,
    /// Registers the calling thread to be unparked when the result may have come: the caller
    /// parks next.
    ThenPark,
}

/// FIFO meant to hold at most `capacity` items. A push wakes one parked thread and one task, not
/// every waiter.
pub(crate) struct Mailbox<T> {
    queue: Mutex<Inner<T>>,
    capacity: usize,
    #[cfg(feature = "tokio")]
    notify: tokio::sync::Notify,
}

struct Inner<T> {
    items: VecDeque<T>,
    closed: bool,
    /// Threads parked until an item comes (see [`Mailbox::poll`]).
    parked: VecDeque<Thread>,
}

impl<T> Inner<T> {
    fn register_current(&mut self) {
        let me = std::thread::current();
        if !self.parked.iter().any(|t| t.id() == me.id()) {
            self.parked.push_back(me);
        }
    }
}

impl<T> Mailbox<T> {
    pub(crate) fn new(capacity: usize) -> Mailbox<T> {
        Mailbox {
            queue: Mutex::new(Inner {
                items: VecDeque::new(),
                closed: false,
                parked: VecDeque::new(),
            }),
            capacity: capacity.max(1),
            #[cfg(feature = "tokio")]
            notify: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` and returns how many items are queued now. The capacity is for the caller
    /// to enforce (see [`capacity`](Mailbox::capacity)): an item that arrives anyway is kept.
    pub(crate) fn push(&self, item: T) -> usize {
        let mut q = self.lock();
        q.items.push_back(item);
        let len = q.items.len();
        let thread = q.parked.pop_front();
        drop(q);
        if let Some(t) = thread {
            t.unpark();
        }
        #[cfg(feature = "tokio")]
        self.notify.notify_one();
        len
    }

    /// Items the owner wants to hold at most.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Wakes every waiter without an item (something else they watch changed).
    pub(crate) fn wake_all(&self) {
        let parked: Vec<Thread> = self.lock().parked.drain(..).collect();
        for t in parked {
            t.unpark();
        }
        #[cfg(feature = "tokio")]
        self.notify.notify_waiters();
    }

    /// No more items will come; every waiter returns.
    pub(crate) fn close(&self) {
        let mut q = self.lock();
        q.closed = true;
        let parked: Vec<Thread> = q.parked.drain(..).collect();
        drop(q);
        for t in parked {
            t.unpark();
        }
        #[cfg(feature = "tokio")]
        self.notify.notify_waiters();
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

    /// The next item (`Some(Ok)`), or `Some(Err(()))` once closed and empty, or `None`; with
    /// [`Look::ThenPark`], the calling thread is registered to be unparked by the next push.
    pub(crate) fn poll(&self, look: Look) -> Option<Result<T, ()>> {
        let mut q = self.lock();
        if let Some(item) = q.items.pop_front() {
            return Some(Ok(item));
        }
        if q.closed {
            return Some(Err(()));
        }
        if look == Look::ThenPark {
            q.register_current();
        }
        None
    }

    /// True when an item waits or the mailbox is closed, taking nothing; `look` as in
    /// [`poll`](Mailbox::poll).
    pub(crate) fn poll_ready(&self, look: Look) -> bool {
        let mut q = self.lock();
        if !q.items.is_empty() || q.closed {
            return true;
        }
        if look == Look::ThenPark {
            q.register_current();
        }
        false
    }

    /// Removes the calling thread's registration (it stopped waiting). If it was woken for an item
    /// it did not take, the next parked thread is woken instead, so no item waits unseen.
    pub(crate) fn unpark_registration(&self) {
        let mut q = self.lock();
        let me = std::thread::current().id();
        let before = q.parked.len();
        q.parked.retain(|t| t.id() != me);
        let was_woken = q.parked.len() == before;
        if was_woken && !q.items.is_empty() {
            if let Some(t) = q.parked.pop_front() {
                t.unpark();
            }
        }
    }

    /// Waits for the next item without blocking the runtime; cancel-safe (an item is only taken by
    /// the poll that returns it, and a wake-up given to a dropped waiter passes to the next one).
    /// `drive` runs at each poll that finds nothing, with the task's context: it may read the bus
    /// and deliver the item itself.
    #[cfg(feature = "tokio")]
    pub(crate) async fn next_async(
        &self,
        drive: impl FnMut(&mut std::task::Context<'_>),
    ) -> Result<T, ()> {
        self.wait_async(drive, || self.poll(Look::Only)).await
    }

    /// Waits until `look` gives a result, looking again after every push, [`wake_all`] and
    /// [`close`]; `drive` as in [`next_async`](Mailbox::next_async).
    ///
    /// [`wake_all`]: Mailbox::wake_all
    /// [`close`]: Mailbox::close
    #[cfg(feature = "tokio")]
    pub(crate) async fn wait_async<R>(
        &self,
        mut drive: impl FnMut(&mut std::task::Context<'_>),
        mut look: impl FnMut() -> Option<R>,
    ) -> R {
        use std::future::Future;
        use std::task::Poll;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before looking, so a push between the look and the await is not missed.
            notified.as_mut().enable();
            if let Some(r) = look() {
                return r;
            }
            std::future::poll_fn(|cx| {
                if notified.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                drive(cx);
                notified.as_mut().poll(cx)
            })
            .await;
        }
    }
}
