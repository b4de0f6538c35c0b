//! [`TaskReadiness`]: wakes an async task when a file descriptor becomes readable, through the
//! tokio reactor of the runtime that polls it (for
//! [`SocketCanBus::with_task_wakeup`](crate::bus::socketcan::SocketCanBus::with_task_wakeup)).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Mutex;
use std::task::{Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::task_wakeup::WakerSlot;

/// The task to wake, by the reactor (the descriptor became readable) or by [`wake`](Self::wake)
/// (an interrupt, or frames another thread read and set aside).
///
/// It owns a duplicate of the descriptor, and the registration owns its own: each is closed only
/// after it left the reactor, whatever becomes of the original.
pub(crate) struct TaskReadiness {
    fd: OwnedFd,
    slot: WakerSlot,
    registration: Mutex<Option<AsyncFd<OwnedFd>>>,
}

impl TaskReadiness {
    /// Readiness of `fd`'s socket (through a duplicate of the descriptor).
    pub(crate) fn new(fd: BorrowedFd<'_>) -> io::Result<TaskReadiness> {
        Ok(TaskReadiness {
            fd: fd.try_clone_to_owned()?,
            slot: WakerSlot::default(),
            registration: Mutex::new(None),
        })
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
                let fd = self.fd.try_clone()?;
                // SAFETY: the registration owns `fd`, an `OwnedFd` whose `as_raw_fd` never
                // changes and which is closed only when the registration drops.
                let new = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
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
