//! An in-process CAN bus: any number of ports, each receiving every frame the others send.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use isotp_core::Frame;

use super::task_wakeup::WakerSlot;
use super::{BusError, CanBus, Capabilities};

/// Frames a port may hold unread. A sender to a full port waits for it to drain, as a CAN controller
/// holds back transmission (the bus has no bit rate to slow a fast sender down otherwise).
const PORT_QUEUE_LIMIT: usize = 1 << 16;
/// How long a sender waits for a full port before dropping the frame for it (and counting it), so a
/// port nobody reads cannot stall the bus forever.
const FULL_PORT_PATIENCE: Duration = Duration::from_secs(1);

enum Delivery {
    /// A frame and the moment it was put on the bus.
    Frame(Frame, Instant),
    Wake,
}

#[derive(Clone)]
struct PortEntry {
    id: u64,
    tx: Sender<Delivery>,
    dropped: Arc<AtomicU64>,
    /// Set when the port stayed full past the patience: frames for it are then dropped at once until
    /// it drains, so one port nobody reads stalls the bus once, not for every frame.
    stalled: Arc<AtomicBool>,
    /// The task waiting in the port's `poll_recv`.
    task: Arc<WakerSlot>,
}

#[derive(Default)]
struct BusInner {
    /// Copy-on-write: senders take a snapshot and never hold the lock while delivering.
    ports: Mutex<Arc<Vec<PortEntry>>>,
    next_id: AtomicU64,
    frames: AtomicU64,
    /// Held while a frame is handed to every port, so all ports see all frames in one order (a
    /// reply sent by a fast port cannot overtake, at a third port, the frame it answers).
    order: Mutex<()>,
}

/// An in-process CAN bus for tests, demos and benchmarks.
///
/// ```
/// use isotp::bus::{CanBus, VirtualBus};
/// use isotp_core::{CanId, Frame};
/// use std::time::{Duration, Instant};
///
/// let bus = VirtualBus::new();
/// let a = bus.attach();
/// let b = bus.attach();
/// a.send(&Frame::new(CanId::standard(0x123)?, &[1, 2, 3])?)?;
/// let got = b.recv(Some(Duration::from_secs(1)))?.expect("b sees a's frame");
/// assert_eq!(got.data(), &[1, 2, 3]);
/// assert!(a.recv(Some(Duration::ZERO))?.is_none()); // a does not see its own frame
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct VirtualBus {
    inner: Arc<BusInner>,
}

fn registry() -> &'static Mutex<HashMap<String, Weak<BusInner>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Weak<BusInner>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl VirtualBus {
    /// A new, empty bus.
    #[must_use]
    pub fn new() -> VirtualBus {
        VirtualBus::default()
    }

    /// The bus called `name` in this process, created on first use (so `virtual:demo` given twice
    /// names one bus). It lives as long as some handle or port of it does.
    pub fn named(name: &str) -> VirtualBus {
        let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(inner) = reg.get(name).and_then(Weak::upgrade) {
            return VirtualBus { inner };
        }
        let bus = VirtualBus::new();
        reg.insert(name.to_string(), Arc::downgrade(&bus.inner));
        bus
    }

    /// A new port on the bus: it receives every frame sent by other ports from now on.
    #[must_use]
    pub fn attach(&self) -> VirtualPort {
        let (tx, rx) = crossbeam_channel::unbounded();
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let dropped = Arc::new(AtomicU64::new(0));
        let task = Arc::new(WakerSlot::default());
        let mut ports = self.lock_ports();
        let mut next = Vec::clone(&ports);
        next.push(PortEntry {
            id,
            tx: tx.clone(),
            dropped: dropped.clone(),
            stalled: Arc::new(AtomicBool::new(false)),
            task: task.clone(),
        });
        *ports = Arc::new(next);
        drop(ports);
        VirtualPort {
            bus: self.clone(),
            id,
            rx,
            wake: tx,
            wake_pending: AtomicBool::new(false),
            dropped,
            task,
        }
    }

    /// Frames sent on the bus so far.
    #[must_use]
    pub fn frames_sent(&self) -> u64 {
        self.inner.frames.load(Ordering::Relaxed)
    }

    fn lock_ports(&self) -> std::sync::MutexGuard<'_, Arc<Vec<PortEntry>>> {
        self.inner.ports.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One node's connection to a [`VirtualBus`]. Detaches when dropped.
pub struct VirtualPort {
    bus: VirtualBus,
    id: u64,
    rx: Receiver<Delivery>,
    wake: Sender<Delivery>,
    /// A `Wake` is in the queue: further interrupts add none (one wakes the reader all the same).
    wake_pending: AtomicBool,
    dropped: Arc<AtomicU64>,
    task: Arc<WakerSlot>,
}

impl VirtualPort {
    /// Frames this port lost because it held 65536 unread frames for more than a second.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The bus this port is attached to.
    pub fn bus(&self) -> &VirtualBus {
        &self.bus
    }
}

impl CanBus for VirtualPort {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        // Room is waited for before the bus-wide order is taken, so a sender held back by a full
        // port holds back no other port's traffic. Senders that found room together may overfill
        // a port by one frame each: its queue stays bounded by the limit plus the senders.
        let ports = Arc::clone(&self.bus.lock_ports());
        let mut full = smallvec::SmallVec::<[u64; 4]>::new();
        for p in ports.iter().filter(|p| p.id != self.id) {
            if p.tx.len() >= PORT_QUEUE_LIMIT && !wait_for_room(p) {
                full.push(p.id);
            }
        }
        let _order = self
            .bus
            .inner
            .order
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let at = Instant::now();
        for p in ports.iter().filter(|p| p.id != self.id) {
            if full.contains(&p.id) {
                p.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if p.stalled.load(Ordering::Relaxed) && p.tx.len() < PORT_QUEUE_LIMIT {
                p.stalled.store(false, Ordering::Relaxed);
            }
            // A port being dropped concurrently is not an error for the sender.
            let _ = p.tx.send(Delivery::Frame(*frame, at));
            p.task.wake();
        }
        self.bus.inner.frames.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        Ok(self.recv_timestamped(timeout)?.map(|(f, _)| f))
    }

    /// The instant is when the sender put the frame on the bus (exact gaps for monitors and
    /// measurements, whatever the receiving thread's scheduling).
    fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, Instant)>, BusError> {
        let got = match timeout {
            None => self.rx.recv().ok(),
            Some(t) if t.is_zero() => self.rx.try_recv().ok(),
            Some(t) => self.rx.recv_timeout(t).ok(),
        };
        Ok(match got {
            Some(Delivery::Frame(f, at)) => Some((f, at)),
            Some(Delivery::Wake) => {
                self.wake_pending.store(false, Ordering::SeqCst);
                None
            }
            None => None,
        })
    }

    fn interrupt(&self) {
        if !self.wake_pending.swap(true, Ordering::SeqCst) {
            let _ = self.wake.send(Delivery::Wake);
        }
        self.task.wake();
    }

    fn poll_recv(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Option<(Frame, Instant)>, BusError>> {
        self.task.poll(cx, || loop {
            match self.rx.try_recv() {
                Ok(Delivery::Frame(f, at)) => return Some(Ok(Some((f, at)))),
                // The interrupt has been noticed: the task is running.
                Ok(Delivery::Wake) => self.wake_pending.store(false, Ordering::SeqCst),
                Err(_) => return None,
            }
        })
    }

    fn capabilities(&self) -> Capabilities {
        // Frames are handed to every port before `send` returns.
        Capabilities::CLASSIC
            .with_can_fd(true)
            .with_tx_confirmation(true)
            .with_timestamps(true)
            .with_cheap_poll(true)
            .with_task_wakeup(true)
    }
}

/// Waits for a full port to drain below the limit; false when it did not within the patience (or
/// already failed to before and has not drained since).
fn wait_for_room(p: &PortEntry) -> bool {
    if p.stalled.load(Ordering::Relaxed) {
        return false;
    }
    let give_up = Instant::now() + FULL_PORT_PATIENCE;
    while p.tx.len() >= PORT_QUEUE_LIMIT {
        if Instant::now() >= give_up {
            log::warn!("a virtual bus port is not read: dropping frames for it until it drains");
            p.stalled.store(true, Ordering::Relaxed);
            return false;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    true
}

impl Drop for VirtualPort {
    fn drop(&mut self) {
        let mut ports = self.bus.lock_ports();
        let next: Vec<PortEntry> = ports.iter().filter(|p| p.id != self.id).cloned().collect();
        *ports = Arc::new(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotp_core::CanId;

    #[test]
    fn every_port_sees_every_frame_in_one_order() {
        const ROUNDS: u16 = 3000;
        let bus = VirtualBus::new();
        let asker = bus.attach();
        let responder = bus.attach();
        let observer = bus.attach();
        // Answers each frame at once: the race a third port must not see.
        let echo = std::thread::spawn(move || {
            for _ in 0..ROUNDS {
                let f = responder
                    .recv(Some(Duration::from_secs(10)))
                    .unwrap()
                    .unwrap();
                let reply = Frame::new(CanId::standard(0x7E8).unwrap(), f.data()).unwrap();
                responder.send(&reply).unwrap();
            }
        });
        for i in 0..ROUNDS {
            let ask = Frame::new(CanId::standard(0x7E0).unwrap(), &i.to_be_bytes()).unwrap();
            asker.send(&ask).unwrap();
            asker.recv(Some(Duration::from_secs(10))).unwrap().unwrap();
        }
        echo.join().unwrap();
        let mut seen = Vec::new();
        while let Some(f) = observer.recv(Some(Duration::ZERO)).unwrap() {
            seen.push((f.id().raw(), f.data().to_vec()));
        }
        assert_eq!(seen.len(), usize::from(ROUNDS) * 2);
        for (i, pair) in (0u16..).zip(seen.chunks(2)) {
            let n = i.to_be_bytes().to_vec();
            assert_eq!(pair[0], (0x7E0, n.clone()), "round {i}: the question first");
            assert_eq!(pair[1], (0x7E8, n), "round {i}: then its answer");
        }
    }

    #[test]
    fn a_sender_waiting_for_a_full_port_lets_that_port_send_and_drain() {
        let bus = VirtualBus::new();
        let full = bus.attach();
        let filler = bus.attach();
        let frame = Frame::new(CanId::standard(0x10).unwrap(), &[1]).unwrap();
        for _ in 0..PORT_QUEUE_LIMIT {
            filler.send(&frame).unwrap();
        }
        // The filler's next frame waits for room at the full port...
        let waiting = std::thread::spawn(move || filler.send(&frame));
        std::thread::sleep(Duration::from_millis(50));
        // ...while the full port's owner sends (a flow control, say) and then reads.
        let start = Instant::now();
        full.send(&Frame::new(CanId::standard(0x20).unwrap(), &[2]).unwrap())
            .unwrap();
        assert!(
            start.elapsed() < FULL_PORT_PATIENCE / 2,
            "the full port's own send waited {:?}",
            start.elapsed()
        );
        let mut read = 0;
        while full
            .recv(Some(Duration::from_millis(200)))
            .unwrap()
            .is_some()
        {
            read += 1;
        }
        waiting.join().unwrap().unwrap();
        assert_eq!(read, PORT_QUEUE_LIMIT + 1, "the waiting frame arrived");
        assert_eq!(full.dropped(), 0);
    }

    #[test]
    fn interrupts_queue_one_wake_up_at_most() {
        let bus = VirtualBus::new();
        let port = bus.attach();
        for _ in 0..10_000 {
            port.interrupt();
        }
        assert_eq!(port.rx.len(), 1);
        assert_eq!(port.recv(Some(Duration::ZERO)).unwrap(), None);
        assert_eq!(port.rx.len(), 0);
        // The next interrupt wakes the next wait.
        port.interrupt();
        let start = Instant::now();
        assert_eq!(port.recv(Some(Duration::from_secs(5))).unwrap(), None);
        assert!(start.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn a_port_nobody_reads_stalls_senders_once_then_loses_frames_counted() {
        let bus = VirtualBus::new();
        let sender = bus.attach();
        let idle = bus.attach();
        let frame = Frame::new(CanId::standard(0x10).unwrap(), &[1]).unwrap();
        for _ in 0..PORT_QUEUE_LIMIT {
            sender.send(&frame).unwrap();
        }
        let start = Instant::now();
        sender.send(&frame).unwrap(); // waits the patience once
        for _ in 0..100 {
            sender.send(&frame).unwrap(); // then drops at once
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= FULL_PORT_PATIENCE);
        assert!(elapsed < FULL_PORT_PATIENCE * 3);
        assert_eq!(idle.dropped(), 101);
        // Once it drains, it receives again.
        while idle.recv(Some(Duration::ZERO)).unwrap().is_some() {}
        sender.send(&frame).unwrap();
        assert!(idle.recv(Some(Duration::ZERO)).unwrap().is_some());
    }
}
