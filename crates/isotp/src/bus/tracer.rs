//! [`Tracer`]: a bus wrapper that counts and shows the frames passing through it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use isotp_core::{Direction, Frame};

use super::{BusError, CanBus, Capabilities};

type Watch = Box<dyn Fn(Direction, &Frame) -> bool + Send + Sync>;

/// Wraps a bus and counts the frames that pass, both ways; an optional watcher sees each frame and
/// says whether it counts (for example only a link's own ids on a busy bus).
///
/// ```
/// use isotp::bus::{CanBus, Tracer, VirtualBus};
/// use isotp_core::{CanId, Frame};
///
/// let bus = VirtualBus::new();
/// let traced = Tracer::new(bus.attach()).with_watch(|direction, frame| {
///     println!("{direction:?} {frame}");
///     frame.id().raw() != 0x123 // not counted
/// });
/// traced.send(&Frame::new(CanId::standard(0x7E0)?, &[0x02, 0x10, 0x03])?)?;
/// traced.send(&Frame::new(CanId::standard(0x123)?, &[0])?)?;
/// assert_eq!(traced.sent(), 1);
/// assert_eq!(traced.received(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Tracer<B> {
    inner: B,
    watch: Option<Watch>,
    sent: AtomicU64,
    received: AtomicU64,
    first: OnceLock<Instant>,
}

impl<B: CanBus> Tracer<B> {
    /// Wraps `inner`, counting every frame.
    pub fn new(inner: B) -> Tracer<B> {
        Tracer {
            inner,
            watch: None,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            first: OnceLock::new(),
        }
    }

    /// Calls `watch` for each frame, with its direction ([`Direction::Tx`]: sent by the wrapped
    /// bus's user, [`Direction::Rx`]: received from the bus); frames for which it returns false
    /// are not counted.
    #[must_use]
    pub fn with_watch(
        mut self,
        watch: impl Fn(Direction, &Frame) -> bool + Send + Sync + 'static,
    ) -> Tracer<B> {
        self.watch = Some(Box::new(watch));
        self
    }

    /// Frames sent and counted.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Frames received and counted.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Counted frames both ways.
    pub fn frames(&self) -> u64 {
        self.sent() + self.received()
    }

    /// When the first counted frame passed.
    pub fn first(&self) -> Option<Instant> {
        self.first.get().copied()
    }

    /// The wrapped bus.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    fn note(&self, direction: Direction, frame: &Frame) {
        if self.watch.as_ref().is_some_and(|w| !w(direction, frame)) {
            return;
        }
        let counter = match direction {
            Direction::Tx => &self.sent,
            Direction::Rx => &self.received,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let _ = self.first.set(Instant::now());
    }
}

impl<B: CanBus> CanBus for Tracer<B> {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.inner.send(frame)?;
        self.note(Direction::Tx, frame);
        Ok(())
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        let got = self.inner.recv(timeout)?;
        if let Some(f) = &got {
            self.note(Direction::Rx, f);
        }
        Ok(got)
    }

    fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, Instant)>, BusError> {
        let got = self.inner.recv_timestamped(timeout)?;
        if let Some((f, _)) = &got {
            self.note(Direction::Rx, f);
        }
        Ok(got)
    }

    fn set_receive_filter(&self, ids: Option<&[isotp_core::CanId]>) -> Result<(), BusError> {
        self.inner.set_receive_filter(ids)
    }

    fn interrupt(&self) {
        self.inner.interrupt()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn poll_recv(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Option<(Frame, Instant)>, BusError>> {
        let got = self.inner.poll_recv(cx);
        if let std::task::Poll::Ready(Ok(Some((f, _)))) = &got {
            self.note(Direction::Rx, f);
        }
        got
    }
}
