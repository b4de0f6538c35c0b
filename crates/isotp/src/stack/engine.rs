//! The engine of a node: its links' endpoints, the routing of frames to them, and the one loop that
//! reads the bus and runs the timers, driven by whichever thread leads (see [`lead`](super::lead)).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
#[cfg(feature = "tokio")]
use std::task::{Context, Poll};
use std::time::Duration;

use isotp_core::{
    CanId, Direction, Endpoint, Event, Frame, Instant, LinkKey, MessageId, ProtocolError, Route,
    Router, Warning,
};

use super::alarm::Alarm;
use super::clock::Clock;
use super::completion::{Completion, Outcome};
use super::error::StackError;
#[cfg(feature = "tokio")]
use super::lead::TaskLead;
use super::lead::{Follow, Lead, Turn};
use super::mailbox::{Look, Mailbox};
use super::message::Message;
use super::options::DriverOptions;
use super::tap::{Feed, Tap, Tapped, TAP_LINKS};
use crate::bus::{BusError, CanBus};

/// Below this distance to a protocol deadline the leader spins instead of sleeping, so STmin gaps are
/// never short and rarely late (an OS sleep can overshoot by tens of microseconds or more).
const SPIN_WINDOW: Duration = Duration::from_micros(300);
/// Polls of the bus between two yields of a spinning thread: when the peer's thread shares this
/// one's CPU (two stacks in one process on a loaded machine), the peer runs only after a yield.
const SPINS_PER_YIELD: u32 = 8;
/// How long the background thread leaves the lead free after a waiting thread gave it up: the
/// waiter usually comes back at once (request, then response) and then needs no hand-over. Due
/// timers are run on time regardless; a frame arriving meanwhile waits at most this long, far
/// inside ISO-TP's N_Br/N_Cr budgets. 200 µs gave a p99 round trip ten times worse on a loaded
/// 2-core machine (a preempted waiter came back after the background thread had taken over).
const LINGER: Duration = Duration::from_micros(1000);
/// Asynchronous errors kept per link when nobody reads them.
const ERROR_QUEUE: usize = 256;
/// Frames an async waiter handles in one poll before it lets its runtime run other tasks.
#[cfg(feature = "tokio")]
const TASK_FRAME_BUDGET: u32 = 128;
/// Frames an async waiter sends in one poll: a block of consecutive frames up to BS 16, or a flow
/// control and a response. A longer burst is left to the node's thread (a slow bus, SLCAN at
/// 115200 baud or CAN at 125 kbit/s, would otherwise hold the runtime's thread for long).
#[cfg(feature = "tokio")]
const TASK_SEND_BUDGET: u32 = 16;

/// What the leader does after the node sent a frame, while no frame is in: a thread that waits for
/// a reply polls the bus for a while (see [`DriverOptions::spin_before_park`]); the background
/// thread sleeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterSend {
    PollForReply,
    Sleep,
}

/// Where a link's results go; shared by the link handle and the engine.
pub(crate) struct LinkMail {
    pub(crate) messages: Mailbox<Message>,
    /// What becomes of listen mode's messages of the other direction.
    observed: super::options::ObservedMessages,
    /// Whether ignored frames are reported on the error channel.
    ignored_frames: super::options::IgnoredFrames,
    /// The engine told the endpoint the queue is full; the reader that makes room says otherwise.
    pub(crate) not_ready: AtomicBool,
    /// A segmented reception has started and not ended yet.
    pub(crate) receiving: AtomicBool,
    /// Why the last segmented reception failed, if it did.
    pub(crate) reception_failed: Mutex<Option<ProtocolError>>,
    /// The link's transmissions, as last seen by the engine (written under the state lock): a
    /// message is being sent or queued.
    pub(crate) transmitting: AtomicBool,
    /// How many times the link's transmissions ended (all sent or failed), and when (µs on the
    /// clock) they last did: a receive timeout asked for meanwhile counts from then.
    pub(crate) tx_ends: AtomicU64,
    pub(crate) tx_ended_at: AtomicU64,
    pub(crate) errors_tx: crossbeam_channel::Sender<StackError>,
    pub(crate) errors_rx: crossbeam_channel::Receiver<StackError>,
}

impl LinkMail {
    fn new(options: &super::options::DriverOptions) -> LinkMail {
        let (errors_tx, errors_rx) = crossbeam_channel::bounded(ERROR_QUEUE);
        LinkMail {
            messages: Mailbox::new(options.receive_queue),
            observed: options.observed_messages,
            ignored_frames: options.ignored_frames,
            not_ready: AtomicBool::new(false),
            receiving: AtomicBool::new(false),
            reception_failed: Mutex::new(None),
            transmitting: AtomicBool::new(false),
            tx_ends: AtomicU64::new(0),
            tx_ended_at: AtomicU64::new(0),
            errors_tx,
            errors_rx,
        }
    }

    /// True once the transmissions of the link have ended `ends` times or more, or a message
    /// waits (or the link is closed); with [`Look::ThenPark`], the calling thread is woken by
    /// either.
    pub(crate) fn transmission_ended_or_message(&self, ends: u64, look: Look) -> bool {
        // Registered before looking at the count, so an end between the two still wakes us.
        self.messages.poll_ready(look) || self.tx_ends.load(Ordering::SeqCst) != ends
    }

    pub(crate) fn report(&self, error: StackError) {
        if self.errors_tx.try_send(error).is_err() {
            log::debug!("error queue full ({ERROR_QUEUE}); read Link::errors() to see errors");
        }
    }
}

pub(crate) struct LinkState {
    pub(crate) endpoint: Endpoint,
    /// Messages whose sender waits for the outcome.
    pub(crate) awaited: HashMap<MessageId, Arc<Completion>>,
    pub(crate) mail: Arc<LinkMail>,
    /// A thread is putting this link's frame on the bus (outside the lock): others leave the link's
    /// transmissions to it, so frames keep their order.
    tx_busy: bool,
    /// The last error of the bus, for the waiter of the transfer it ended.
    bus_error: Option<Arc<BusError>>,
    /// A link made for a tap's responder: its events go to the tap.
    tap: Option<TapLink>,
}

/// Whose responder a link made for a tap is.
struct TapLink {
    tap: Arc<Tap>,
    /// The id of the responder's frame that made the link.
    response_id: CanId,
}

impl LinkState {
    /// Publishes whether the link transmits; when its transmissions have ended, records when and
    /// wakes the receivers whose timeout waits for that (see [`Link::recv`](super::Link::recv)).
    fn track_transmission(&mut self, now: Instant) {
        let transmitting = self.endpoint.is_transmitting();
        if transmitting == self.mail.transmitting.load(Ordering::SeqCst) {
            return;
        }
        if !transmitting {
            self.mail
                .tx_ended_at
                .store(now.as_micros(), Ordering::SeqCst);
            self.mail.tx_ends.fetch_add(1, Ordering::SeqCst);
        }
        self.mail.transmitting.store(transmitting, Ordering::SeqCst);
        if !transmitting {
            self.mail.messages.wake_all();
        }
    }

    /// Ends every awaited message with `outcome`.
    pub(crate) fn drop_awaited(&mut self, outcome: Outcome) {
        for (_, c) in self.awaited.drain() {
            c.complete(outcome.clone());
        }
    }
}

/// The node's links, routed by receive id, with their timers (the core's sans-IO [`Router`]).
pub(crate) struct Links {
    router: Router<LinkState>,
    /// Discoveries running on the node (see [`tap`](super::tap)).
    taps: Vec<TapEntry>,
}

struct TapEntry {
    tap: Arc<Tap>,
    /// The links made for its responders.
    links: Vec<LinkKey>,
    /// Their mail, which nobody reads (their events go to the tap).
    mail: Arc<LinkMail>,
}

impl Links {
    pub(crate) fn link_mut(&mut self, key: LinkKey) -> Option<&mut LinkState> {
        self.router.get_mut(key)
    }

    /// Every id some link listens to; `None` when a link or a tap takes every frame.
    fn ids(&self) -> Option<Vec<CanId>> {
        if !self.taps.is_empty() {
            return None;
        }
        let mut ids = Vec::new();
        for (key, _) in self.router.iter() {
            match self.router.route(key) {
                Some(Route::Ids(v)) => ids.extend(v.iter().copied()),
                Some(_) => return None,
                None => {}
            }
        }
        ids.sort_by_key(|id| (id.is_extended(), id.raw()));
        ids.dedup();
        Some(ids)
    }

    /// Gives the taps a frame the node read: a copy to those fed frames; to those fed responders,
    /// when no link in `targets` accepts it, a link made for the first that names its sender,
    /// added to `targets`.
    fn offer_to_taps(&mut self, frame: &Frame, targets: &mut smallvec::SmallVec<[LinkKey; 4]>) {
        for entry in &self.taps {
            if matches!(entry.tap.feed, Feed::Frames) {
                entry.tap.push(Tapped::Frame(*frame));
            }
        }
        let router = &self.router;
        if targets.iter().any(|k| {
            router
                .get(*k)
                .is_some_and(|l| l.endpoint.address().accepts(frame).is_some())
        }) {
            return;
        }
        for entry in &mut self.taps {
            let Feed::Responders { find, config } = &entry.tap.feed else {
                continue;
            };
            let Some(address) = find(frame) else {
                continue;
            };
            if entry.links.len() >= TAP_LINKS {
                log::warn!(
                    "{address}: not followed, a discovery follows {TAP_LINKS} responders at most"
                );
                return;
            }
            let endpoint = match Endpoint::new(address, *config) {
                Ok(e) => e.with_tx_confirmation().with_first_frame_indication(),
                Err(e) => {
                    log::warn!("{address}: not followed: {e}");
                    return;
                }
            };
            let route = Route::for_endpoint(&endpoint);
            let link = LinkState {
                endpoint,
                awaited: HashMap::new(),
                mail: entry.mail.clone(),
                tx_busy: false,
                bus_error: None,
                tap: Some(TapLink {
                    tap: entry.tap.clone(),
                    response_id: frame.id(),
                }),
            };
            let key = self.router.insert(link, route);
            entry.links.push(key);
            targets.push(key);
            return;
        }
    }
}

/// Closes the node when a call into the bus (a user's `CanBus`, a `Tracer`'s watcher) panics on
/// this thread: every waiter then returns with an error instead of waiting for a leader that is
/// gone, and the leader's lead is given up.
struct CloseOnPanic<'a> {
    shared: &'a Shared,
    /// The thread leads (it reads the bus).
    leads: bool,
}

impl Drop for CloseOnPanic<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        log::error!("a call into the bus panicked: the node stops");
        let why = "a call into the bus panicked";
        self.shared
            .report_all(|| StackError::Bus(BusError::Closed(why.into())));
        self.shared.fail_taps(|| BusError::Closed(why.into()));
        self.shared.close_all();
        if self.leads {
            self.shared.lead.release(None);
        }
    }
}

/// Everything the threads of a node share.
pub(crate) struct Shared {
    pub(crate) bus: Box<dyn CanBus>,
    pub(crate) clock: Clock,
    pub(crate) options: DriverOptions,
    /// How long a waiting thread polls the bus after the node's last transmission.
    spin: Duration,
    /// When (µs on `clock`) the node last put a frame on the bus: a reply is expected soon after.
    last_tx: AtomicU64,
    /// The bus wakes async tasks itself ([`Capabilities::task_wakeup`](crate::bus::Capabilities)).
    task_wakeup: bool,
    links: Mutex<Links>,
    pub(crate) lead: Lead,
    /// Until when the leader sleeps: a caller that sets an earlier deadline wakes it.
    alarm: Alarm,
    pub(crate) stop: AtomicBool,
}

impl Shared {
    pub(crate) fn new(bus: Box<dyn CanBus>, options: DriverOptions) -> Shared {
        let capabilities = bus.capabilities();
        let spin = options.spin_for(capabilities);
        Shared {
            task_wakeup: capabilities.task_wakeup,
            bus,
            clock: Clock::new(),
            options,
            spin,
            last_tx: AtomicU64::new(0),
            links: Mutex::new(Links {
                router: Router::new(),
                taps: Vec::new(),
            }),
            lead: Lead::default(),
            alarm: Alarm::new(),
            stop: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends what link `key` has due, delivers its events and reschedules its timer. The lock is
    /// released while a frame is on its way to the bus.
    pub(crate) fn service<'a>(
        &'a self,
        st: MutexGuard<'a, Links>,
        key: LinkKey,
        now: Instant,
    ) -> MutexGuard<'a, Links> {
        let mut unlimited = u32::MAX;
        self.service_within(st, key, now, &mut unlimited)
    }

    /// [`service`](Shared::service) sending at most `budget` frames (counted down). What is left
    /// is marked due at once, for the thread that keeps the timers: an async task does not hold
    /// its runtime's thread through a long burst of consecutive frames on a slow bus.
    fn service_within<'a>(
        &'a self,
        mut st: MutexGuard<'a, Links>,
        key: LinkKey,
        mut now: Instant,
        budget: &mut u32,
    ) -> MutexGuard<'a, Links> {
        let mut left_over = false;
        if let Some(link) = st.link_mut(key) {
            // A message queued, or a transmission ended by a frame, since the engine last looked.
            link.track_transmission(now);
        }
        loop {
            let Some(link) = st.link_mut(key) else {
                return st;
            };
            link.endpoint.handle_timeout(now);
            if link.tx_busy {
                break;
            }
            if *budget == 0 {
                left_over = true;
                break;
            }
            let Some(frame) = link.endpoint.poll_transmit(now) else {
                break;
            };
            link.tx_busy = true;
            *budget -= 1;
            drop(st);
            let panic_guard = CloseOnPanic {
                shared: self,
                leads: false,
            };
            let result = self.bus.send(&frame);
            drop(panic_guard);
            let sent = self.clock.now_ceil();
            self.last_tx.fetch_max(sent.as_micros(), Ordering::Relaxed);
            st = self.lock();
            let Some(link) = st.link_mut(key) else {
                return st;
            };
            link.tx_busy = false;
            now = now.max(sent);
            match result {
                Ok(()) => {
                    link.endpoint.handle_timeout(sent);
                    // Err only when N_As/N_Ar expired during the send: already reported.
                    let _ = link.endpoint.handle_tx_confirmation(sent);
                }
                Err(e) => {
                    // The negative confirmation ends the frame's transfer now (not N_As later);
                    // its waiter gets the bus's own error (a tap's owner too).
                    if let Some(t) = &link.tap {
                        t.tap.fail(e.duplicate());
                    }
                    link.mail.report(StackError::Bus(e.duplicate()));
                    link.bus_error = Some(Arc::new(e));
                    let _ = link.endpoint.handle_tx_failure();
                }
            }
        }
        let Some(link) = st.link_mut(key) else {
            return st;
        };
        if let Some(t) = &link.tap {
            let address = *link.endpoint.address();
            while let Some(event) = link.endpoint.poll_event() {
                let at = self.clock.to_std(now);
                t.tap.deliver(key, address, t.response_id, event, at);
            }
        } else {
            while let Some(event) = link.endpoint.poll_event() {
                dispatch(link, event, &self.clock, now);
            }
        }
        link.track_transmission(now);
        let next = if left_over {
            Some(now)
        } else {
            link.endpoint.poll_timeout()
        };
        st.router.set_deadline(key, next);
        st
    }

    /// After a caller changed a link: wake the leader if it sleeps past the new deadline (and,
    /// while async tasks watch the bus, the background thread that keeps the timers).
    pub(crate) fn kick_if_needed(&self, st: &Links) {
        if let Some(t) = st.router.next_deadline() {
            if self.alarm.kick(st, t.as_micros()) {
                self.bus.interrupt();
            }
            if self.task_wakeup {
                self.lead.timer_set(self.clock.to_std(t));
            }
        }
    }

    /// When the next protocol timer is due, for [`Lead::release`].
    fn next_timer(&self) -> Option<std::time::Instant> {
        let next = self.lock().router.next_deadline();
        next.map(|t| self.clock.to_std(t))
    }

    /// Tells the bus which ids the links listen to (every id while one link cannot say).
    pub(crate) fn update_filter(&self) {
        let ids = self.lock().ids();
        if let Err(e) = self.bus.set_receive_filter(ids.as_deref()) {
            log::warn!("cannot set the bus's receive filter: {e}");
        }
    }

    pub(crate) fn add_link(&self, endpoint: Endpoint) -> (LinkKey, Arc<LinkMail>) {
        let mail = Arc::new(LinkMail::new(&self.options));
        let route = Route::for_endpoint(&endpoint);
        let state = LinkState {
            endpoint,
            awaited: HashMap::new(),
            mail: mail.clone(),
            tx_busy: false,
            bus_error: None,
            tap: None,
        };
        let key = self.lock().router.insert(state, route);
        self.update_filter();
        (key, mail)
    }

    pub(crate) fn remove_link(&self, key: LinkKey) {
        let removed = self.lock().router.remove(key);
        if let Some(mut link) = removed {
            link.drop_awaited(Outcome::Dropped);
            link.mail.messages.close();
        }
        self.update_filter();
    }

    /// Runs `tap` on the node until [`remove_tap`](Shared::remove_tap).
    pub(crate) fn add_tap(&self, tap: Tap) -> Arc<Tap> {
        let tap = Arc::new(tap);
        let mail = Arc::new(LinkMail::new(&self.options));
        let mut st = self.lock();
        st.taps.push(TapEntry {
            tap: tap.clone(),
            links: Vec::new(),
            mail,
        });
        if self.stop.load(Ordering::SeqCst) {
            // Closed before the tap came: it would wait for nothing.
            tap.fail(BusError::Closed("the node stopped".into()));
        }
        drop(st);
        self.update_filter();
        tap
    }

    /// Removes `tap` and the links made for it.
    pub(crate) fn remove_tap(&self, tap: &Arc<Tap>) {
        let mut st = self.lock();
        let Some(i) = st.taps.iter().position(|e| Arc::ptr_eq(&e.tap, tap)) else {
            return;
        };
        let entry = st.taps.swap_remove(i);
        for key in entry.links {
            st.router.remove(key);
        }
        drop(st);
        self.update_filter();
    }

    /// Puts `frame` on the bus as it is, outside any lock.
    pub(crate) fn send_frame(&self, frame: &Frame) -> Result<(), BusError> {
        let panic_guard = CloseOnPanic {
            shared: self,
            leads: false,
        };
        let result = self.bus.send(frame);
        drop(panic_guard);
        // A reply is expected soon: a waiter polls the bus for it before it sleeps.
        let sent = self.clock.now_ceil();
        self.last_tx.fetch_max(sent.as_micros(), Ordering::Relaxed);
        result
    }

    /// Ends every tap with the bus's `error`.
    fn fail_taps(&self, error: impl Fn() -> BusError) {
        for entry in &self.lock().taps {
            entry.tap.fail(error());
        }
    }

    /// Re-routes a link after its address changed.
    pub(crate) fn reroute(&self, st: &mut Links, key: LinkKey) {
        if let Some(route) = st.router.get(key).map(|l| Route::for_endpoint(&l.endpoint)) {
            st.router.set_route(key, route);
        }
    }

    pub(crate) fn link_count(&self) -> usize {
        self.lock().router.len()
    }

    /// Handles a frame captured at `captured`: the endpoints and the delivered message see that
    /// moment, not when this thread got to it.
    /// `budget`: frames it may send (see [`service_within`](Shared::service_within)).
    fn handle_frame(&self, frame: &Frame, captured: std::time::Instant, budget: &mut u32) {
        let mut st = self.lock();
        let now = self.clock.to_core(captured).min(self.clock.now());
        let mut targets: smallvec::SmallVec<[LinkKey; 4]> = st.router.targets(frame.id()).collect();
        if !st.taps.is_empty() {
            st.offer_to_taps(frame, &mut targets);
        }
        for key in targets {
            if let Some(link) = st.link_mut(key) {
                link.endpoint.handle_frame(frame, now);
            }
            st = self.service_within(st, key, now, budget);
        }
        self.service_due(st, now, budget);
    }

    fn service_due<'a>(&'a self, mut st: MutexGuard<'a, Links>, now: Instant, budget: &mut u32) {
        if *budget == 0 {
            // Left for the thread that keeps the timers (it would find itself due again at once).
            return;
        }
        while let Some(key) = st.router.pop_due(now) {
            st = self.service_within(st, key, now, budget);
        }
    }

    fn report_all(&self, error: impl Fn() -> StackError) {
        for (_, link) in self.lock().router.iter() {
            link.mail.report(error());
        }
    }

    /// Ends every wait: the bus is gone or the node stops.
    pub(crate) fn close_all(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let mut st = self.lock();
        for (_, link) in st.router.iter_mut() {
            link.drop_awaited(Outcome::Dropped);
            link.mail.messages.close();
        }
        for entry in &st.taps {
            entry.tap.fail(BusError::Closed("the node stopped".into()));
        }
    }

    /// One step of the leader: waits for a frame or the next deadline (or `until`), and handles it.
    fn drive(&self, until: Option<Instant>, after_send: AfterSend) {
        let _panic_guard = CloseOnPanic {
            shared: self,
            leads: true,
        };
        let st = self.lock();
        let timer = st.router.next_deadline();
        let next = match (timer, until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.alarm.sleep_until(st, next.map(Instant::as_micros));
        let received = self.wait_for_frame(next, timer, after_send);
        let mut unlimited = u32::MAX;
        self.alarm.woke();
        match received {
            Ok(Some((frame, at))) => self.handle_frame(&frame, at, &mut unlimited),
            Ok(None) => self.service_due(self.lock(), self.clock.now(), &mut unlimited),
            Err(e) => {
                self.bus_failed(e);
                // Do not spin on a persistently failing bus.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Reports a failed receive to every link; a closed bus ends every wait.
    fn bus_failed(&self, error: BusError) {
        match error {
            BusError::Closed(why) => {
                log::error!("bus closed: {why}");
                self.report_all(|| StackError::Bus(BusError::Closed(why.clone())));
                self.fail_taps(|| BusError::Closed(why.clone()));
                self.close_all();
            }
            e => {
                log::warn!("bus receive failed: {e}");
                self.report_all(|| StackError::Bus(e.duplicate()));
                // A discovery ends with the bus's error (its owner decides whether to retry).
                self.fail_taps(|| e.duplicate());
            }
        }
    }

    /// Whether an async waiter should watch the bus (see [`poll_drive`](Shared::poll_drive)).
    #[cfg(feature = "tokio")]
    fn tasks_can_drive(&self) -> bool {
        self.task_wakeup && !self.lead.tasks_off()
    }

    /// One poll of an async waiter that watches the bus (see [`TaskWatch`]): if the lead is free,
    /// handles the frames the bus has and the due timers, and leaves the bus to wake `cx`'s task
    /// when the next frame arrives; else the task is woken when the lead is free. The background
    /// thread keeps the timers meanwhile. Called by [`TaskWatch::poll`], which checked
    /// [`tasks_can_drive`](Shared::tasks_can_drive).
    #[cfg(feature = "tokio")]
    fn poll_drive(&self, cx: &mut Context<'_>) {
        if self.stop.load(Ordering::SeqCst) {
            return;
        }
        match self.lead.try_lead_task(cx.waker()) {
            TaskLead::Leads => {}
            TaskLead::Waits => return,
            TaskLead::WaitsBehindBackground => {
                self.bus.interrupt();
                return;
            }
        }
        let panic_guard = CloseOnPanic {
            shared: self,
            leads: true,
        };
        // A bounded share of the runtime's thread: past it, the task yields and comes back, and
        // frames it may not send are left to the thread that keeps the timers.
        let mut budget = TASK_FRAME_BUDGET;
        let mut sends = TASK_SEND_BUDGET;
        loop {
            match self.bus.poll_recv(cx) {
                Poll::Ready(Ok(Some((frame, at)))) => self.handle_frame(&frame, at, &mut sends),
                Poll::Ready(Ok(None)) => {}
                Poll::Ready(Err(BusError::Unsupported(why))) => {
                    // This bus cannot wake this task after all: the background thread reads.
                    log::debug!("{why}");
                    self.lead.stop_tasks();
                    break;
                }
                Poll::Ready(Err(e)) => {
                    self.bus_failed(e);
                    self.lead.stop_tasks();
                    break;
                }
                Poll::Pending => break,
            }
            budget -= 1;
            if budget == 0 {
                cx.waker().wake_by_ref();
                break;
            }
        }
        self.service_due(self.lock(), self.clock.now(), &mut sends);
        drop(panic_guard);
        self.lead.release(self.next_timer());
    }

    fn wait_for_frame(
        &self,
        next: Option<Instant>,
        timer: Option<Instant>,
        after_send: AfterSend,
    ) -> Result<Option<(Frame, std::time::Instant)>, BusError> {
        let now = self.clock.now();
        let remaining = next.map(|t| t - now);
        // Spin only toward protocol deadlines (STmin); a caller's own timeout is slept through.
        if let (Some(r), Some(t)) = (remaining, timer) {
            if r <= SPIN_WINDOW && Some(t) == next {
                return self.spin_until(t);
            }
        }
        // Poll while a reply to the node's last frame may come (bounded by the next deadline).
        let spin_end = Instant::from_micros(self.last_tx.load(Ordering::Relaxed)) + self.spin;
        if after_send == AfterSend::PollForReply && spin_end > now {
            let stop_at = next.map_or(spin_end, |t| t.min(spin_end));
            let mut spins = 0u32;
            while self.clock.now() < stop_at && !self.alarm.kicked() {
                if let Some(f) = self.bus.recv_timestamped(Some(Duration::ZERO))? {
                    return Ok(Some(f));
                }
                spins = spins.wrapping_add(1);
                if spins % SPINS_PER_YIELD == 0 {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
        let sleep = match (remaining, timer) {
            (Some(r), Some(t)) if Some(t) == next => Some(r.saturating_sub(SPIN_WINDOW)),
            (r, _) => r,
        };
        self.bus.recv_timestamped(sleep)
    }

    /// Polls the bus without sleeping until `deadline`, a frame, or a kick.
    fn spin_until(
        &self,
        deadline: Instant,
    ) -> Result<Option<(Frame, std::time::Instant)>, BusError> {
        let mut spins = 0u32;
        loop {
            if let Some(f) = self.bus.recv_timestamped(Some(Duration::ZERO))? {
                return Ok(Some(f));
            }
            if self.clock.now() >= deadline || self.alarm.kicked() {
                return Ok(None);
            }
            spins = spins.wrapping_add(1);
            if spins % SPINS_PER_YIELD == 0 {
                // Let the other threads of a busy machine run.
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }

    /// Waits until `ready` gives a result or `timeout` passes, driving the bus meanwhile when no
    /// other thread does. `ready(Look::ThenPark)` registers the calling thread to be unparked when
    /// the result may have come; `unregister` undoes that.
    pub(crate) fn block_on<T>(
        &self,
        timeout: Option<Duration>,
        mut ready: impl FnMut(Look) -> Option<T>,
        unregister: impl Fn(),
    ) -> Option<T> {
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        let mut leading = false;
        let result = loop {
            if let Some(v) = ready(Look::Only) {
                break Some(v);
            }
            let now = std::time::Instant::now();
            if deadline.is_some_and(|d| now >= d) || self.stop.load(Ordering::SeqCst) {
                break ready(Look::Only);
            }
            if !leading {
                match self.lead.follow() {
                    Follow::Leads => {
                        // Look again before reading the bus: the leader before may have delivered
                        // the result after the look above, then released.
                        leading = true;
                        continue;
                    }
                    follow => {
                        let got = ready(Look::ThenPark);
                        if got.is_none() {
                            if matches!(follow, Follow::ParkedBehindBackground) {
                                self.bus.interrupt();
                            }
                            match deadline {
                                None => std::thread::park(),
                                Some(d) => {
                                    std::thread::park_timeout(d.saturating_duration_since(now))
                                }
                            }
                        }
                        self.lead.unfollow();
                        unregister();
                        if got.is_some() {
                            break got;
                        }
                        continue;
                    }
                }
            }
            let until = deadline.map(|d| self.clock.to_core(d));
            self.drive(until, AfterSend::PollForReply);
        };
        if leading {
            self.lead.release(self.next_timer());
        }
        result
    }

    /// How long until the next protocol timer is due (zero when it is).
    fn timer_in(&self) -> Option<Duration> {
        let next = self.lock().router.next_deadline();
        next.map(|t| t - self.clock.now())
    }

    /// The background thread: leads while no waiting thread does.
    pub(crate) fn background(&self) {
        let mut seen = 0;
        while !self.stop.load(Ordering::SeqCst) {
            let timer_in = self.timer_in();
            match self
                .lead
                .background_turn(LINGER, SPIN_WINDOW, timer_in, &mut seen)
            {
                Turn::Lead => {
                    while !self.stop.load(Ordering::SeqCst) && !self.lead.wanted() {
                        self.drive(None, AfterSend::Sleep);
                        // While tasks watch the bus, this thread only keeps the timers.
                        if self.lead.tasks_watch()
                            && !self.timer_in().is_some_and(|t| t <= SPIN_WINDOW)
                        {
                            break;
                        }
                    }
                    self.lead.release(self.next_timer());
                }
                Turn::Wait(d) => std::thread::park_timeout(d),
                Turn::Park => std::thread::park(),
            }
        }
    }
}

/// An async waiter watching the bus, from its first poll until it is dropped (see
/// [`Lead::watch`]).
#[cfg(feature = "tokio")]
pub(crate) struct TaskWatch {
    watching: Option<(Arc<Shared>, u64)>,
}

#[cfg(feature = "tokio")]
impl TaskWatch {
    pub(crate) fn new() -> TaskWatch {
        TaskWatch { watching: None }
    }

    /// Drives the bus for the task being polled, if the bus can wake it.
    pub(crate) fn poll(&mut self, shared: &Arc<Shared>, cx: &mut Context<'_>) {
        if !shared.tasks_can_drive() {
            return;
        }
        let known = self.watching.as_ref().map(|(_, id)| *id);
        let id = shared.lead.watch(known, cx.waker());
        if known.is_none() {
            self.watching = Some((shared.clone(), id));
        }
        shared.poll_drive(cx);
    }
}

#[cfg(feature = "tokio")]
impl Drop for TaskWatch {
    fn drop(&mut self) {
        if let Some((shared, id)) = self.watching.take() {
            shared.lead.unwatch(id);
        }
    }
}

fn dispatch(link: &mut LinkState, event: Event, clock: &Clock, now: Instant) {
    let (payload, target_address_type, direction) = match event {
        Event::Received {
            payload,
            target_address_type,
        } => (payload, target_address_type, Direction::Rx),
        Event::Observed {
            payload,
            target_address_type,
        } => (payload, target_address_type, Direction::Tx),
        Event::Sent { id } => {
            if let Some(c) = link.awaited.remove(&id) {
                c.complete(Outcome::Sent);
            }
            return;
        }
        Event::SendFailed { id, error } => {
            if let Some(c) = link.awaited.remove(&id) {
                c.complete(match (&error, &link.bus_error) {
                    (ProtocolError::BusFailure { .. }, Some(e)) => Outcome::BusFailed(e.clone()),
                    _ => Outcome::Failed(error),
                });
            }
            link.mail.report(StackError::Protocol(error));
            return;
        }
        Event::ReceiveFailed { error } => {
            *link
                .mail
                .reception_failed
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(error);
            link.mail.receiving.store(false, Ordering::SeqCst);
            link.mail.messages.wake_all();
            link.mail.report(StackError::Protocol(error));
            return;
        }
        Event::ReceptionStarted { .. } => {
            *link
                .mail
                .reception_failed
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None;
            link.mail.receiving.store(true, Ordering::SeqCst);
            return;
        }
        Event::Warning(Warning::ReceiverNotReady { .. }) => {
            let dropped = link.endpoint.not_ready_drops();
            if dropped.is_power_of_two() {
                log::warn!(
                    "{}: receive queue full, {dropped} single frame(s) dropped so far; read the link",
                    link.endpoint.address()
                );
            }
            link.mail.report(StackError::ReceiveQueueFull { dropped });
            return;
        }
        Event::Warning(Warning::NotForThisAddress) => return,
        Event::Warning(w) => {
            log::debug!("{}: {w}", link.endpoint.address());
            if link.mail.ignored_frames == super::options::IgnoredFrames::Reported {
                link.mail.report(StackError::FrameIgnored(w));
            }
            return;
        }
        other => {
            log::debug!("unhandled event {other:?}");
            return;
        }
    };
    if direction == Direction::Tx && link.mail.observed == super::options::ObservedMessages::Dropped
    {
        return;
    }
    let message = Message {
        payload,
        target_address_type,
        direction,
        at: clock.to_std(now),
    };
    link.mail.receiving.store(false, Ordering::SeqCst);
    // Receptions past their first flow control still complete (the core lets them): the queue
    // holds at most one more message per direction than its capacity.
    if link.mail.messages.push(message) >= link.mail.messages.capacity() {
        link.endpoint.set_receive_ready(false);
        link.mail.not_ready.store(true, Ordering::SeqCst);
    }
}
