//! The engine thread: one bus, any number of links, event-driven timing.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use isotp_core::{CanId, Config, Endpoint, Event, Frame, Instant, MessageId, ProtocolError};

use super::clock::Clock;
use super::error::{Message, MessageDirection, StackError};
use super::link::Link;
use super::mailbox::Mailbox;
use crate::bus::CanBus;

/// Below this distance to a deadline the engine thread spins instead of sleeping, so STmin gaps are
/// never short and rarely late (an OS sleep can overshoot by tens of microseconds or more).
const SPIN_WINDOW: Duration = Duration::from_micros(300);
/// Asynchronous errors kept per link when nobody reads them.
const ERROR_QUEUE: usize = 256;

/// How a message a caller waits for ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Sent,
    Failed(ProtocolError),
    /// Dropped by `stop_sending`, `reset` or `set_address`.
    Dropped,
}

/// Where a link's results go; shared by the link handle and the engine.
pub(crate) struct LinkMail {
    pub(crate) messages: Mailbox<Message>,
    pub(crate) outcomes: Mailbox<(MessageId, Outcome)>,
    pub(crate) errors_tx: crossbeam_channel::Sender<StackError>,
    pub(crate) errors_rx: crossbeam_channel::Receiver<StackError>,
}

impl LinkMail {
    fn new() -> LinkMail {
        let (errors_tx, errors_rx) = crossbeam_channel::bounded(ERROR_QUEUE);
        LinkMail {
            messages: Mailbox::new(),
            outcomes: Mailbox::new(),
            errors_tx,
            errors_rx,
        }
    }

    pub(crate) fn report(&self, error: StackError) {
        if self.errors_tx.try_send(error).is_err() {
            log::warn!("error queue full ({ERROR_QUEUE}); read Stack::errors() to see errors");
        }
    }

    fn close(&self) {
        self.messages.close();
        self.outcomes.close();
    }
}

pub(crate) struct LinkState {
    pub(crate) endpoint: Endpoint,
    scheduled: Option<Instant>,
    /// Messages whose outcome a `send_blocking` caller waits for.
    pub(crate) awaited: std::collections::HashSet<MessageId>,
    pub(crate) mail: Arc<LinkMail>,
}

#[derive(Default)]
pub(crate) struct State {
    links: Vec<Option<LinkState>>,
    free: Vec<usize>,
    by_id: HashMap<CanId, Vec<usize>>,
    /// Links whose receive ids cannot be indexed (fixed modes, listen mode): offered every frame.
    fallback: Vec<usize>,
    timers: BTreeSet<(Instant, usize)>,
}

impl State {
    pub(crate) fn link_mut(&mut self, idx: usize) -> Option<&mut LinkState> {
        self.links.get_mut(idx).and_then(Option::as_mut)
    }

    fn index(&mut self, idx: usize) {
        let Some(link) = self.links.get(idx).and_then(Option::as_ref) else {
            return;
        };
        let ep = &link.endpoint;
        match ep.address().rx_ids() {
            Some((physical, functional)) if !ep.config().listen_mode => {
                for id in std::iter::once(physical).chain(functional) {
                    self.by_id.entry(id).or_default().push(idx);
                }
            }
            _ => self.fallback.push(idx),
        }
    }

    fn unindex(&mut self, idx: usize) {
        for v in self.by_id.values_mut() {
            v.retain(|&i| i != idx);
        }
        self.by_id.retain(|_, v| !v.is_empty());
        self.fallback.retain(|&i| i != idx);
    }
}

/// Everything the engine thread and the handles share.
pub(crate) struct Shared {
    pub(crate) bus: Box<dyn CanBus>,
    pub(crate) clock: Clock,
    state: Mutex<State>,
    /// The instant (µs) the engine thread sleeps until; `u64::MAX` while it waits for frames only.
    sleeping_until: AtomicU64,
    kicked: AtomicBool,
    stop: AtomicBool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends what link `idx` has due, delivers its events and reschedules its timer.
    pub(crate) fn service(&self, st: &mut State, idx: usize, now: Instant) {
        let Some(link) = st.link_mut(idx) else {
            return;
        };
        link.endpoint.handle_timeout(now);
        while let Some(frame) = link.endpoint.poll_transmit(now) {
            match self.bus.send(&frame) {
                Ok(()) => {
                    let sent = self.clock.now_ceil();
                    link.endpoint.handle_timeout(sent);
                    // Err only when N_As/N_Ar expired during the send: already reported.
                    let _ = link.endpoint.handle_tx_confirmation(sent);
                }
                Err(e) => {
                    // Left unconfirmed, the frame's transfer fails with N_As/N_Ar.
                    link.mail.report(StackError::Bus(e));
                    break;
                }
            }
        }
        while let Some(event) = link.endpoint.poll_event() {
            dispatch(link, event, &self.clock, now);
        }
        let next = link.endpoint.poll_timeout();
        let old = link.scheduled;
        if old != next {
            link.scheduled = next;
            if let Some(old) = old {
                st.timers.remove(&(old, idx));
            }
            if let Some(new) = next {
                st.timers.insert((new, idx));
            }
        }
    }

    /// After a caller changed a link: wake the engine thread if it sleeps past the new deadline.
    pub(crate) fn kick_if_needed(&self, st: &State) {
        if let Some(&(t, _)) = st.timers.first() {
            if t.as_micros() < self.sleeping_until.load(Ordering::SeqCst) {
                self.kicked.store(true, Ordering::SeqCst);
                self.bus.interrupt();
            }
        }
    }

    pub(crate) fn add_link(&self, endpoint: Endpoint) -> (usize, Arc<LinkMail>) {
        let mail = Arc::new(LinkMail::new());
        let mut st = self.lock();
        let state = LinkState {
            endpoint,
            scheduled: None,
            awaited: Default::default(),
            mail: mail.clone(),
        };
        let idx = match st.free.pop() {
            Some(i) => {
                st.links[i] = Some(state);
                i
            }
            None => {
                st.links.push(Some(state));
                st.links.len() - 1
            }
        };
        st.index(idx);
        (idx, mail)
    }

    pub(crate) fn remove_link(&self, idx: usize) {
        let mut st = self.lock();
        st.unindex(idx);
        if let Some(Some(link)) = st.links.get_mut(idx).map(Option::take) {
            if let Some(t) = link.scheduled {
                st.timers.remove(&(t, idx));
            }
            link.mail.close();
        }
        st.free.push(idx);
    }

    /// Re-indexes a link after its address changed.
    pub(crate) fn reindex(&self, st: &mut State, idx: usize) {
        st.unindex(idx);
        st.index(idx);
    }

    pub(crate) fn link_count(&self) -> usize {
        self.lock().links.iter().filter(|l| l.is_some()).count()
    }

    fn handle_frame(&self, frame: &Frame) {
        let mut st = self.lock();
        let now = self.clock.now();
        let mut targets: smallvec::SmallVec<[usize; 4]> = smallvec::SmallVec::new();
        if let Some(v) = st.by_id.get(&frame.id()) {
            targets.extend_from_slice(v);
        }
        targets.extend_from_slice(&st.fallback);
        for idx in targets {
            if let Some(link) = st.link_mut(idx) {
                link.endpoint.handle_frame(frame, now);
            }
            self.service(&mut st, idx, now);
        }
        self.service_due(&mut st, now);
    }

    fn service_due(&self, st: &mut State, now: Instant) {
        while let Some(&(t, idx)) = st.timers.first() {
            if t > now {
                break;
            }
            st.timers.pop_first();
            if let Some(link) = st.link_mut(idx) {
                link.scheduled = None;
            }
            self.service(st, idx, now);
        }
    }

    fn report_all(&self, error: impl Fn() -> StackError) {
        for link in self.lock().links.iter().flatten() {
            link.mail.report(error());
        }
    }

    fn close_all(&self) {
        for link in self.lock().links.iter().flatten() {
            link.mail.close();
        }
    }
}

fn dispatch(link: &mut LinkState, event: Event, clock: &Clock, now: Instant) {
    let deliver = |payload, target_address_type, direction| Message {
        payload,
        target_address_type,
        direction,
        at: clock.to_std(now),
    };
    match event {
        Event::Received {
            payload,
            target_address_type,
        } => link.mail.messages.push(deliver(
            payload,
            target_address_type,
            MessageDirection::Received,
        )),
        Event::Observed {
            payload,
            target_address_type,
        } => link.mail.messages.push(deliver(
            payload,
            target_address_type,
            MessageDirection::Observed,
        )),
        Event::Sent { id } => {
            if link.awaited.remove(&id) {
                link.mail.outcomes.push((id, Outcome::Sent));
            }
        }
        Event::SendFailed { id, error } => {
            if link.awaited.remove(&id) {
                link.mail.outcomes.push((id, Outcome::Failed(error)));
            }
            link.mail.report(StackError::Protocol(error));
        }
        Event::ReceiveFailed { error } => link.mail.report(StackError::Protocol(error)),
        Event::Warning(w) => log::debug!("{}: {w}", link.endpoint.address()),
        other => log::debug!("unhandled event {other:?}"),
    }
}

fn run(shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let next = {
            let st = shared.lock();
            let next = st.timers.first().map(|&(t, _)| t);
            shared
                .sleeping_until
                .store(next.map_or(u64::MAX, Instant::as_micros), Ordering::SeqCst);
            next
        };
        let received = match next {
            None => shared.bus.recv(None),
            Some(t) => {
                let remaining = t - shared.clock.now();
                if remaining > SPIN_WINDOW {
                    shared.bus.recv(Some(remaining - SPIN_WINDOW))
                } else {
                    spin_until(&shared, t)
                }
            }
        };
        shared.sleeping_until.store(0, Ordering::SeqCst);
        shared.kicked.store(false, Ordering::SeqCst);
        match received {
            Ok(Some(frame)) => shared.handle_frame(&frame),
            Ok(None) => {
                let mut st = shared.lock();
                shared.service_due(&mut st, shared.clock.now());
            }
            Err(crate::bus::BusError::Closed(why)) => {
                log::error!("bus closed: {why}");
                shared.report_all(|| StackError::Bus(crate::bus::BusError::Closed(why.clone())));
                break;
            }
            Err(e) => {
                log::warn!("bus receive failed: {e}");
                let text = e.to_string();
                shared.report_all(|| StackError::Bus(crate::bus::BusError::Protocol(text.clone())));
                // Do not spin on a persistently failing bus.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    shared.close_all();
}

/// Polls the bus without sleeping until `deadline`, a frame, or a kick.
fn spin_until(shared: &Shared, deadline: Instant) -> Result<Option<Frame>, crate::bus::BusError> {
    let mut spins = 0u32;
    loop {
        if let Some(f) = shared.bus.recv(Some(Duration::ZERO))? {
            return Ok(Some(f));
        }
        if shared.clock.now() >= deadline || shared.kicked.load(Ordering::SeqCst) {
            return Ok(None);
        }
        spins = spins.wrapping_add(1);
        if spins % 64 == 0 {
            // Let the other threads of a busy machine run.
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Owns the engine thread; the last handle to go stops it.
pub(crate) struct Runner {
    pub(crate) shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.bus.interrupt();
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

/// Many ISO-TP links on one bus, driven by one thread.
///
/// A tester with one link per ECU, or a gateway: each [`Link`] has its own address, configuration,
/// queue and receive mailbox, and they all share the bus and the engine thread. Received frames are
/// dispatched by CAN id in constant time, so hundreds of links cost little more than one.
///
/// ```
/// use isotp::{bus::VirtualBus, Address, Config, Node};
/// use std::time::Duration;
///
/// let bus = VirtualBus::new();
/// let tester = Node::new(bus.attach());
/// let ecus = Node::new(bus.attach());
/// let mut pairs = Vec::new();
/// for i in 0..8u32 {
///     let address = Address::normal_11(0x700 + i, 0x708 + i)?;
///     pairs.push((
///         tester.add(address, Config::default())?,
///         ecus.add(address.mirrored()?, Config::default())?,
///     ));
/// }
/// for (i, (t, _)) in pairs.iter().enumerate() {
///     t.send(&[0x22, 0xF1, 0x90, i as u8])?;
/// }
/// for (i, (_, e)) in pairs.iter().enumerate() {
///     assert_eq!(e.recv(Some(Duration::from_secs(5)))?, Some(vec![0x22, 0xF1, 0x90, i as u8]));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Node {
    runner: Arc<Runner>,
}

impl Node {
    /// Starts the engine thread on `bus`.
    pub fn new(bus: impl CanBus) -> Node {
        let shared = Arc::new(Shared {
            bus: Box::new(bus),
            clock: Clock::new(),
            state: Mutex::new(State::default()),
            sleeping_until: AtomicU64::new(0),
            kicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("isotp-engine".into())
                .spawn(move || run(shared))
                .ok()
        };
        if thread.is_none() {
            log::error!("could not start the engine thread");
            shared.close_all();
        }
        Node {
            runner: Arc::new(Runner {
                shared,
                thread: Mutex::new(thread),
            }),
        }
    }

    /// Adds a link with its own address and configuration.
    pub fn add(&self, address: isotp_core::Address, config: Config) -> Result<Link, StackError> {
        // The driver confirms every frame once the bus accepted it, which gives N_As/N_Ar meaning
        // and turns a failed bus write into a failed transfer instead of a silent loss.
        let endpoint = Endpoint::new(address, config)?.with_tx_confirmation();
        let (idx, mail) = self.runner.shared.add_link(endpoint);
        Ok(Link::new(self.runner.clone(), idx, mail, address))
    }

    /// Number of links.
    pub fn len(&self) -> usize {
        self.runner.shared.link_count()
    }

    /// True when the node has no links.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
