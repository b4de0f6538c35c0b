//! [`Inbox`]: the receive side of a backend whose connection is read by a background thread
//! (`SlcanBus`, `SocketcandBus`).
//!
//! The reader thread hands frames to an [`InboxSender`] and, when the connection ends, closes it
//! with the reason; [`Inbox::recv`] waits on what it delivers, and [`Inbox::interrupt`] wakes it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use isotp_core::Frame;

use crate::bus::task_wakeup::WakerSlot;
use crate::bus::BusError;

/// Frames held unread before new ones are dropped (like a CAN controller's overrun).
const QUEUE_LIMIT: usize = 1 << 16;

enum Delivery {
    Frame(Frame, Instant),
    Wake,
    Closed,
}

/// What the reader thread tells the bus besides frames.
struct InboxStatus {
    /// Set (with the reason) once the connection is gone.
    closed: Mutex<Option<String>>,
    dropped: AtomicU64,
    /// The task waiting in [`Inbox::poll_recv`].
    task: WakerSlot,
    /// A `Wake` is in the queue: further interrupts add none (one wakes the reader all the same).
    wake_pending: AtomicBool,
}

/// What a bus receives: frames from its reader thread, wake-ups from
/// [`interrupt`](crate::bus::CanBus::interrupt), and the end of the connection.
pub(crate) struct Inbox {
    rx: Receiver<Delivery>,
    tx: InboxSender,
    /// Prefixes the reason in [`BusError::Closed`], e.g. `slcan /dev/ttyACM0`.
    label: String,
}

/// The reader thread's end of an [`Inbox`].
#[derive(Clone)]
pub(crate) struct InboxSender {
    tx: Sender<Delivery>,
    state: Arc<InboxStatus>,
}

impl Inbox {
    /// An empty, open inbox; `label` names the connection in [`BusError::Closed`] errors.
    pub(crate) fn new(label: String) -> Inbox {
        let (tx, rx) = crossbeam_channel::unbounded();
        let state = Arc::new(InboxStatus {
            closed: Mutex::new(None),
            dropped: AtomicU64::new(0),
            task: WakerSlot::default(),
            wake_pending: AtomicBool::new(false),
        });
        Inbox {
            rx,
            tx: InboxSender { tx, state },
            label,
        }
    }

    /// A sender for the reader thread.
    pub(crate) fn sender(&self) -> InboxSender {
        self.tx.clone()
    }

    /// Why the connection ended, once it has.
    pub(crate) fn closed(&self) -> Option<String> {
        self.tx
            .state
            .closed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `Ok` while the connection is open, else [`BusError::Closed`] with the reason.
    pub(crate) fn ensure_open(&self) -> Result<(), BusError> {
        match self.closed() {
            Some(reason) => Err(BusError::Closed(format!("{}: {reason}", self.label))),
            None => Ok(()),
        }
    }

    /// Frames dropped because [`QUEUE_LIMIT`] were already waiting.
    pub(crate) fn dropped(&self) -> u64 {
        self.tx.state.dropped.load(Ordering::Relaxed)
    }

    /// [`CanBus::recv`](crate::bus::CanBus::recv): the next frame within `timeout` (forever with
    /// `None`), `Ok(None)` on timeout or after [`interrupt`](Inbox::interrupt), and
    /// [`BusError::Closed`] once the connection is gone and every frame received before is read.
    pub(crate) fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        Ok(self.recv_timestamped(timeout)?.map(|(f, _)| f))
    }

    /// Like [`recv`](Inbox::recv), with the frame's capture time (see [`InboxSender::deliver_at`]).
    pub(crate) fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, Instant)>, BusError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let got = match self.rx.try_recv() {
                Ok(d) => Some(d),
                Err(_) => {
                    self.ensure_open()?;
                    match (timeout, deadline) {
                        (Some(t), _) if t.is_zero() => None,
                        (Some(_), Some(d)) => self.rx.recv_deadline(d).ok(),
                        _ => self.rx.recv().ok(),
                    }
                }
            };
            return match got {
                Some(Delivery::Frame(f, at)) => Ok(Some((f, at))),
                Some(Delivery::Wake) => {
                    self.tx.state.wake_pending.store(false, Ordering::SeqCst);
                    Ok(None)
                }
                None => Ok(None),
                // Look again: frames queued before the close are still delivered first.
                Some(Delivery::Closed) => continue,
            };
        }
    }

    /// [`CanBus::interrupt`](crate::bus::CanBus::interrupt): makes a blocked `recv` (or the next
    /// one) return `Ok(None)`.
    pub(crate) fn interrupt(&self) {
        if !self.tx.state.wake_pending.swap(true, Ordering::SeqCst) {
            let _ = self.tx.tx.send(Delivery::Wake);
        }
        self.tx.state.task.wake();
    }

    /// [`CanBus::poll_recv`](crate::bus::CanBus::poll_recv): the next frame, or `Pending` with the
    /// task woken by the next delivery, interrupt or close.
    pub(crate) fn poll_recv(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Option<(Frame, Instant)>, BusError>> {
        self.tx.state.task.poll(cx, || loop {
            match self.rx.try_recv() {
                Ok(Delivery::Frame(f, at)) => return Some(Ok(Some((f, at)))),
                // An interrupt is noticed by the task being polled; a close by the check below.
                Ok(Delivery::Wake) => self.tx.state.wake_pending.store(false, Ordering::SeqCst),
                Ok(Delivery::Closed) => {}
                Err(_) => return self.ensure_open().err().map(Err),
            }
        })
    }
}

impl InboxSender {
    /// Queues `frame`, stamped now, for [`Inbox::recv`], or drops it when [`QUEUE_LIMIT`] frames are waiting
    /// already. Returns the number of frames dropped so far when this one was dropped.
    #[cfg_attr(not(feature = "serial"), allow(dead_code))]
    pub(crate) fn deliver(&self, frame: Frame) -> Option<u64> {
        self.deliver_at(frame, Instant::now())
    }

    /// Like [`deliver`](InboxSender::deliver), for a frame captured at `at` (a timestamp the
    /// connection carried, mapped to this machine's clock).
    pub(crate) fn deliver_at(&self, frame: Frame, at: Instant) -> Option<u64> {
        if self.tx.len() >= QUEUE_LIMIT {
            Some(self.state.dropped.fetch_add(1, Ordering::Relaxed) + 1)
        } else {
            let _ = self.tx.send(Delivery::Frame(frame, at));
            self.state.task.wake();
            None
        }
    }

    /// Marks the connection gone for `reason` and wakes [`Inbox::recv`], which returns
    /// [`BusError::Closed`] once the frames queued before are read.
    pub(crate) fn close(&self, reason: String) {
        *self.state.closed.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        let _ = self.tx.send(Delivery::Closed);
        self.state.task.wake();
    }
}
