//! [`TaskReadiness`]: wakes an async task when a file descriptor becomes readable, through the
//! tokio reactor of the runtime that polls it (for
//! [`SocketCanBus::with_task_wakeup`](crate::bus::socketcan::SocketCanBus::with_task_wakeup)).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Mutex;
use std::task::{Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::task_wakeup::WakerSlot;

/// A descriptor owned elsewhere (the socket): the registration never closes it.
struct Borrowed(RawFd);

impl AsRawFd for Borrowed {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// The task to wake, by the reactor (the descriptor became readable) or by [`wake`](Self::wake)
/// (an interrupt, or frames another thread read and set aside).
///
/// The registration is removed from the reactor when it drops.
pub(crate) struct TaskReadiness {
    fd: RawFd,
    slot: WakerSlot,
    registration: Mutex<Option<AsyncFd<Borrowed>>>,
}

impl TaskReadiness {
    /// Readiness of `fd`.
    ///
    /// # Safety
    ///
    /// `fd` must stay open, and refer to the same socket, until this is dropped (tokio's reactor
    /// keeps it registered until then).
    pub(crate) unsafe fn new(fd: RawFd) -> TaskReadiness {
        TaskReadiness {
            fd,
            slot: WakerSlot::default(),
            registration: Mutex::new(None),
        }
    }

    /// Registers `cx`'s task for a [`wake`](Self::wake), then asks the reactor whether `fd` may be
    /// readable: `Ready(Ok)` means "read again" (a readiness seen before is cleared first, so a
    /// read that finds nothing is followed by `Pending`), `Pending` that the task will be woken.
    /// Outside a tokio runtime, an error.
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.slot.register(cx.waker());
        let mut registration = self.registration.lock().unwrap_or_else(|e| e.into_inner());
        let async_fd = match &mut *registration {
            Some(registered) => registered,
            None => {
                if tokio::runtime::Handle::try_current().is_err() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "no tokio runtime polls this task",
                    )));
                }
                // SAFETY: `new`'s contract: the descriptor outlives this registration.
                let new = unsafe {
                    AsyncFd::register_with_interest(Borrowed(self.fd), Interest::READABLE)
                };
                registration.insert(new.map_err(io::Error::from)?)
            }
        };
        match async_fd.poll_read_ready(cx) {
            Poll::Ready(Ok(mut guard)) => {
                guard.clear_ready();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Wakes the task registered last, if any.
    pub(crate) fn wake(&self) {
        self.slot.wake();
    }
}
