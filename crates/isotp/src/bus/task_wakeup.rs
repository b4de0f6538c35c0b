//! [`WakerSlot`]: the async task a bus wakes when a frame arrives (see
//! [`CanBus::poll_recv`](crate::bus::CanBus::poll_recv)).

use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// The waker of the task that last found a bus empty. A backend registers it in `poll_recv`
/// before it looks at its queue a second time, and wakes it after it queues a frame: the mutex
/// orders the two, so a frame is either seen by that second look or wakes the task.
#[derive(Default)]
pub(crate) struct WakerSlot {
    waker: Mutex<Option<Waker>>,
}

impl WakerSlot {
    /// Wakes `waker` at the next [`wake`](WakerSlot::wake) (instead of the task registered before).
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// A backend's `poll_recv`: `look` at its queue; when it has nothing, registers `cx`'s task
    /// and looks once more (see the type's documentation), so nothing queued in between is missed.
    pub(crate) fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        mut look: impl FnMut() -> Option<T>,
    ) -> Poll<T> {
        if let Some(found) = look() {
            return Poll::Ready(found);
        }
        self.register(cx.waker());
        look().map_or(Poll::Pending, Poll::Ready)
    }

    /// Wakes the registered task, if any (once).
    pub(crate) fn wake(&self) {
        let waker = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}
