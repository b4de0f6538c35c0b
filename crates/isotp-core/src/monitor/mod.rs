//! Following many ISO-TP conversations without taking part: reassembly of both directions from
//! captured frames, for sniffers, loggers, gateways and protocol checkers.
//!
//! A [`Monitor`] is fed every frame of a bus (live or from a recording) with its capture time and
//! never transmits. Each conversation is an [`Endpoint`] in listen mode, so messages are reassembled
//! and transfers judged by exactly the rules of the engine; a [`Router`] offers each frame to the
//! conversations it concerns and keeps their timers, so N_Bs and N_Cr are measured in the capture's
//! own time.
//!
//! Conversations are either watched (an [`Address`] given with [`Monitor::watch`]) or discovered:
//! every end that sends a single or first frame is followed on its own, and an end that answers a
//! first frame with a flow control is paired with the first frame's sender, so both directions of
//! the pair are reassembled from then on. [`Discovery`] says where the address byte is, if any.
//!
//! ```
//! use isotp_core::monitor::{Discovery, Monitor, MonitorConfig, MonitorEvent};
//! use isotp_core::{CanId, Duration, Frame, Instant};
//!
//! let mut monitor = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
//! let frame = |id, data: &[u8]| Frame::new(CanId::standard(id).unwrap(), data).unwrap();
//! let traffic = [
//!     frame(0x7E0, &[0x03, 0x22, 0xF1, 0x90]),                 // request, single frame
//!     frame(0x7E8, &[0x10, 0x0A, 0x62, 0xF1, 0x90, 1, 2, 3]),  // response, first frame
//!     frame(0x7E0, &[0x30, 0x00, 0x00]),                       // flow control: pairs 7E8 with 7E0
//!     frame(0x7E8, &[0x21, 4, 5, 6, 7]),                       // consecutive frame
//! ];
//! let mut now = Instant::ZERO;
//! let mut messages = Vec::new();
//! for f in &traffic {
//!     now += Duration::from_millis(1);
//!     monitor.handle_frame(f, now);
//!     while let Some(event) = monitor.poll_event() {
//!         if let MonitorEvent::Message(m) = event {
//!             messages.push((m.from.to_string(), m.to.map(|p| p.to_string()), m.payload));
//!         }
//!     }
//! }
//! assert_eq!(messages, [
//!     ("7E0".to_string(), None, vec![0x22, 0xF1, 0x90]),
//!     ("7E8".to_string(), Some("7E0".to_string()), vec![0x62, 0xF1, 0x90, 1, 2, 3, 4, 5, 6, 7]),
//! ]);
//! ```
//!
//! A logger or gateway drives it like an [`Endpoint`]: [`handle_frame`](Monitor::handle_frame) for
//! every frame, [`handle_timeout`](Monitor::handle_timeout) when [`poll_timeout`](Monitor::poll_timeout)
//! has passed without traffic, and [`poll_event`](Monitor::poll_event) until `None`.

pub mod check;
mod event;

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;

pub use event::{
    Conversation, ConversationId, FrameRef, MonitorEvent, MonitoredMessage, Observation, Party,
};

use crate::wire::{AddressLength, PciType, Pdu};
use crate::{
    Address, AddressBytes, CanId, Config, ConfigError, Duration, Endpoint, Event, Frame, Instant,
    LinkKey, Route, Router,
};

/// Frames of one transfer kept while its sender waits to be paired, for replay into the pair.
const PENDING_LIMIT: usize = 1 << 12;

/// Where the frames of conversations nobody named carry their address byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Discovery {
    /// No address byte: an end is a CAN id (normal and normal fixed addressing).
    Normal,
    /// The first data byte is the target address: an end is a CAN id and that byte.
    Extended,
    /// The first data byte is the address extension, the same in both directions of a pair.
    Mixed,
}

/// How a [`Monitor`] follows traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MonitorConfig {
    /// Discover the conversations nobody named, with this layout; `None` follows only the watched
    /// ones.
    pub discovery: Option<Discovery>,
    /// The configuration every conversation is judged by: `max_frame_size`, `n_bs` (also how long a
    /// first frame waits for the flow control that pairs its sender), `n_cr`, padding checks.
    /// Listen mode is always on.
    pub config: Config,
    /// Report every frame as a [`MonitorEvent::Frame`] (for protocol checkers).
    pub observe_frames: bool,
    /// Discovery: the most conversations followed at once (watched ones do not count). A new end
    /// past it evicts the discovered conversation quiet the longest. Default
    /// [`MonitorConfig::DEFAULT_MAX_CONVERSATIONS`].
    pub max_conversations: usize,
    /// Discovery: the most frames kept, all ends together, for replay into a pair while first
    /// frames wait for their flow control (one frame is under 100 bytes). Past it, frames are not
    /// kept (the transfers they belong to cannot be replayed) and counted. Default
    /// [`MonitorConfig::DEFAULT_MAX_BUFFERED_FRAMES`].
    pub max_buffered_frames: usize,
    /// Discovery: a conversation without a frame for this long is evicted (its ends are
    /// discovered anew if they speak again). Default [`MonitorConfig::DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
}

impl Default for MonitorConfig {
    /// Watched conversations only, the default [`Config`], no frame observations, the default
    /// limits.
    fn default() -> Self {
        MonitorConfig {
            discovery: None,
            config: Config::default(),
            observe_frames: false,
            max_conversations: Self::DEFAULT_MAX_CONVERSATIONS,
            max_buffered_frames: Self::DEFAULT_MAX_BUFFERED_FRAMES,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
        }
    }
}

impl MonitorConfig {
    /// Far more ends than a vehicle bus has, yet a few tens of MiB at most.
    pub const DEFAULT_MAX_CONVERSATIONS: usize = 10_000;
    /// About 10 MiB of frames.
    pub const DEFAULT_MAX_BUFFERED_FRAMES: usize = 100_000;
    /// Longer than any pause within a diagnostic session (tester present comes every 2 s).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

    /// Discovers every conversation laid out as `discovery` says.
    #[must_use]
    pub fn discovering(discovery: Discovery) -> MonitorConfig {
        MonitorConfig {
            discovery: Some(discovery),
            ..MonitorConfig::default()
        }
    }
}

/// Which way a frame goes in a conversation's endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// From the rx end (reported as `Received`).
    Rx = 0,
    /// From the tx end (reported as `Observed`).
    Tx = 1,
}

/// Discovered conversations a [`Monitor`] stopped following, and frames it did not keep, to stay
/// within its limits ([`MonitorConfig::max_conversations`], [`MonitorConfig::idle_timeout`],
/// [`MonitorConfig::max_buffered_frames`]). Transfers in progress in an evicted conversation are
/// lost; a replay without its frames fails. Nonzero counts deserve a mention in any report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Evictions {
    /// Conversations evicted for a new end past `max_conversations`.
    pub over_limit: u64,
    /// Conversations evicted after `idle_timeout` without a frame.
    pub idle: u64,
    /// Frames not kept for replay, past `max_buffered_frames`.
    pub frames_not_buffered: u64,
    /// A [`Checker`](check::Checker)'s: transfers in progress it stopped judging when more were in
    /// progress at once than it follows (no finding is given for them).
    pub unjudged_transfers: u64,
}

impl Evictions {
    /// True when nothing was evicted or dropped.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Evictions::default()
    }
}

struct Conv {
    info: Conversation,
    endpoint: Endpoint,
    /// The other direction's address (listen mode), to tell which end sent a frame.
    mirror: Option<Address>,
    watched: bool,
    /// Per side: the single or first frame of the message in progress.
    started: [Option<FrameRef>; 2],
    /// Discovery, an end followed alone: frames of its transfer in progress, for replay into a pair.
    pending: Vec<(Frame, FrameRef)>,
    /// Discovery, an end followed alone: when its first frame began waiting for a flow control
    /// (mirrored in [`Monitor::awaiting`]).
    awaiting_flow_control: Option<Instant>,
    /// Discovery: the capture time of its last frame (mirrored in [`Monitor::activity`]).
    active: Instant,
}

impl Conv {
    fn side_of(&self, frame: &Frame) -> Option<(Side, Party)> {
        let party = |a: &Address| Party {
            id: frame.id(),
            address_byte: a.rx_prefix(),
        };
        if self.endpoint.address().accepts(frame).is_some() {
            Some((Side::Rx, party(self.endpoint.address())))
        } else {
            let m = self.mirror.as_ref()?;
            m.accepts(frame).map(|_| (Side::Tx, party(m)))
        }
    }

    fn is_alone(&self) -> bool {
        !self.watched && self.info.tx.is_none()
    }
}

/// Follows many conversations in listen mode and reports their messages; see the
/// [module documentation](self).
///
/// A logger watching one known conversation, with the loop a live driver runs: frames as they come,
/// the timers when the bus is quiet until [`poll_timeout`](Monitor::poll_timeout).
///
/// ```
/// use isotp_core::monitor::{Monitor, MonitorConfig, MonitorEvent};
/// use isotp_core::{Address, CanId, Duration, Frame, Instant, ProtocolError};
///
/// let mut monitor = Monitor::new(MonitorConfig::default());
/// monitor.watch(Address::normal_11(0x7E0, 0x7E8)?)?;
/// let ecu = CanId::standard(0x7E8)?;
/// // The ECU starts a 20-byte response, the tester asks for it all, then the ECU falls silent.
/// let traffic = [
///     (0, Frame::new(ecu, &[0x10, 0x14, 0x62, 0xF1, 0x90, 1, 2, 3])?),
///     (1, Frame::new(CanId::standard(0x7E0)?, &[0x30, 0x00, 0x00])?),
///     (2, Frame::new(ecu, &[0x21, 4, 5, 6, 7, 8, 9, 10])?),
/// ];
/// let mut log = Vec::new();
/// for (ms, frame) in &traffic {
///     monitor.handle_frame(frame, Instant::ZERO + Duration::from_millis(*ms));
/// }
/// // No more frames: the driver sleeps until the monitor's next deadline, then runs its timers.
/// let deadline = monitor.poll_timeout().expect("a transfer in progress");
/// assert_eq!(deadline, Instant::ZERO + Duration::from_millis(1002)); // N_Cr after the last frame
/// monitor.handle_timeout(deadline);
/// while let Some(event) = monitor.poll_event() {
///     if let MonitorEvent::Failed { conversation, error, time, .. } = event {
///         log.push(format!("{time} {conversation}: {error}"));
///         assert!(matches!(error, ProtocolError::TimeoutCr { .. }));
///     }
/// }
/// assert_eq!(log.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Monitor {
    settings: MonitorConfig,
    router: Router<Conv>,
    /// Discovered conversations by end.
    by_party: BTreeMap<Party, LinkKey>,
    /// Ends followed alone whose first frame waits for a flow control: by the address extension a
    /// flow control must carry to pair with it (mixed addressing; `None` otherwise), then by when
    /// it began waiting. A flow control finds its first frame here without a scan.
    awaiting: BTreeMap<Option<u8>, BTreeSet<(Instant, LinkKey)>>,
    /// Discovered conversations by the time of their last frame: the quietest first, for eviction.
    activity: BTreeSet<(Instant, LinkKey)>,
    /// Frames held in `pending`, all conversations together.
    buffered: usize,
    evictions: Evictions,
    next_conversation: u64,
    next_frame: u64,
    /// Core time never goes backwards, even when a recording does.
    last: Instant,
    events: VecDeque<MonitorEvent>,
    scratch: Vec<(LinkKey, Side, Party)>,
}

impl core::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Monitor")
            .field("settings", &self.settings)
            .field("conversations", &self.router.len())
            .field("frames", &self.next_frame)
            .finish()
    }
}

impl Monitor {
    /// A monitor following nothing yet but what `settings.discovery` finds.
    #[must_use]
    pub fn new(mut settings: MonitorConfig) -> Monitor {
        settings.config.listen_mode = true;
        Monitor {
            settings,
            router: Router::new(),
            by_party: BTreeMap::new(),
            awaiting: BTreeMap::new(),
            activity: BTreeSet::new(),
            buffered: 0,
            evictions: Evictions::default(),
            next_conversation: 0,
            next_frame: 0,
            last: Instant::ZERO,
            events: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// Follows the conversation of `address` (both directions: its transmit side is reported as
    /// the `tx` end). Its frames are not offered to discovery.
    ///
    /// # Errors
    ///
    /// Those of [`Config::validate`] for the monitor's configuration.
    pub fn watch(&mut self, address: Address) -> Result<ConversationId, ConfigError> {
        let endpoint = Endpoint::new(address, self.settings.config)?;
        let exact = |ids: Option<(CanId, Option<CanId>)>, byte| {
            ids.map(|(id, _)| Party {
                id,
                address_byte: byte,
            })
        };
        let mirror = address.mirrored().ok().filter(Address::can_receive);
        let tx = mirror
            .as_ref()
            .and_then(|m| exact(m.rx_ids(), m.rx_prefix()));
        let rx = exact(address.rx_ids(), address.rx_prefix());
        Ok(self.insert(endpoint, mirror, true, tx, rx, self.last).id)
    }

    /// Feeds a captured frame and its capture time. Timers due before `now` run first, at their
    /// own deadlines.
    pub fn handle_frame(&mut self, frame: &Frame, now: Instant) {
        let now = self.clock(now);
        self.expire(now);
        let at = FrameRef {
            index: self.next_frame,
            time: now,
        };
        self.next_frame += 1;

        // Reused between frames: a frame costs no allocation here.
        let mut sides = core::mem::take(&mut self.scratch);
        sides.clear();
        sides.extend(self.router.targets(frame.id()).filter_map(|k| {
            let c = self.router.get(k).filter(|c| c.watched)?;
            let (side, party) = c.side_of(frame)?;
            Some((k, side, party))
        }));
        if sides.is_empty() {
            if let Some(d) = self.settings.discovery {
                if let Some((k, side, party)) = self.discover(frame, now, d) {
                    sides.push((k, side, party));
                }
            }
        }

        if self.settings.observe_frames {
            let first = sides.first().copied();
            self.events.push_back(MonitorEvent::Frame(Observation {
                at,
                frame: *frame,
                conversation: first.and_then(|(k, _, _)| self.router.get(k).map(|c| c.info)),
                from: first.map(|(_, _, p)| p),
            }));
        }
        for &(key, side, party) in &sides {
            self.deliver(key, side, party, frame, at);
        }
        self.scratch = sides;
    }

    /// Runs the timers due at `now` (call when [`poll_timeout`](Monitor::poll_timeout) has passed
    /// and no frame came).
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        self.expire(now);
    }

    /// When the next timer expires: a transfer in progress whose next frame is overdue then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.router.next_deadline()
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<MonitorEvent> {
        self.events.pop_front()
    }

    /// The conversations with a transfer in progress (at the end of a recording: transfers it cut).
    pub fn in_progress(&self) -> impl Iterator<Item = Conversation> + '_ {
        self.router
            .iter()
            .filter(|(k, _)| self.router.deadline(*k).is_some())
            .map(|(_, c)| c.info)
    }

    /// Every conversation followed (evicted ones no longer are).
    pub fn conversations(&self) -> impl Iterator<Item = Conversation> + '_ {
        self.router.iter().map(|(_, c)| c.info)
    }

    /// What was evicted so far to stay within the limits of the [`MonitorConfig`].
    ///
    /// ```
    /// use isotp_core::monitor::{Discovery, Monitor, MonitorConfig};
    /// use isotp_core::{CanId, Frame, Instant};
    ///
    /// let mut settings = MonitorConfig::discovering(Discovery::Normal);
    /// settings.max_conversations = 2;
    /// let mut monitor = Monitor::new(settings);
    /// for id in 0x700..0x705 {
    ///     let single_frame = Frame::new(CanId::standard(id)?, &[0x01, 0x3E])?;
    ///     monitor.handle_frame(&single_frame, Instant::ZERO);
    /// }
    /// assert_eq!(monitor.conversations().count(), 2);
    /// assert_eq!(monitor.evictions().over_limit, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn evictions(&self) -> Evictions {
        self.evictions
    }

    fn clock(&mut self, now: Instant) -> Instant {
        self.last = self.last.max(now);
        self.last
    }

    fn insert(
        &mut self,
        endpoint: Endpoint,
        mirror: Option<Address>,
        watched: bool,
        tx: Option<Party>,
        rx: Option<Party>,
        now: Instant,
    ) -> Conversation {
        if !watched {
            while self.activity.len() >= self.settings.max_conversations.max(1) {
                let Some(&(_, quietest)) = self.activity.first() else {
                    break;
                };
                self.remove(quietest);
                self.evictions.over_limit += 1;
            }
        }
        let info = Conversation {
            id: ConversationId(self.next_conversation),
            tx,
            rx,
        };
        self.next_conversation += 1;
        let route = Route::for_endpoint(&endpoint);
        let key = self.router.insert(
            Conv {
                info,
                endpoint,
                mirror,
                watched,
                started: [None; 2],
                pending: Vec::new(),
                awaiting_flow_control: None,
                active: now,
            },
            route,
        );
        if !watched {
            for p in [tx, rx].into_iter().flatten() {
                self.by_party.insert(p, key);
            }
            self.activity.insert((now, key));
        }
        info
    }

    /// Notes a frame of discovered conversation `key` at `now`.
    fn touch(&mut self, key: LinkKey, now: Instant) {
        let Some(c) = self.router.get_mut(key).filter(|c| !c.watched) else {
            return;
        };
        if self.activity.remove(&(c.active, key)) {
            self.activity.insert((now, key));
        }
        c.active = now;
    }

    /// The address extension a flow control must carry to pair with `rx`'s first frame: the same
    /// in both directions under mixed addressing; any otherwise.
    fn pairing_byte(&self, rx: Option<Party>) -> Option<u8> {
        match self.settings.discovery {
            Some(Discovery::Mixed) => rx.and_then(|p| p.address_byte),
            _ => None,
        }
    }

    /// Sets when the first frame of `key` began waiting for a flow control, in the conversation
    /// and in the index of [`Monitor::pair`].
    fn set_awaiting(&mut self, key: LinkKey, since: Option<Instant>) {
        let Some(c) = self.router.get_mut(key) else {
            return;
        };
        let old = core::mem::replace(&mut c.awaiting_flow_control, since);
        let rx = c.info.rx;
        let byte = self.pairing_byte(rx);
        if let Some(t) = old {
            if let Some(set) = self.awaiting.get_mut(&byte) {
                set.remove(&(t, key));
                if set.is_empty() {
                    self.awaiting.remove(&byte);
                }
            }
        }
        if let Some(t) = since {
            self.awaiting.entry(byte).or_default().insert((t, key));
        }
    }

    /// Evicts the discovered conversations without a frame for `idle_timeout`.
    fn evict_idle(&mut self, now: Instant) {
        while let Some(&(active, key)) = self.activity.first() {
            if now.saturating_duration_since(active) < self.settings.idle_timeout {
                break;
            }
            self.remove(key);
            self.evictions.idle += 1;
        }
    }

    fn expire(&mut self, now: Instant) {
        self.evict_idle(now);
        while let Some(t) = self.router.next_deadline().filter(|&t| t <= now) {
            let Some(key) = self.router.pop_due(t) else {
                break;
            };
            if let Some(c) = self.router.get_mut(key) {
                c.endpoint.handle_timeout(t);
            }
            self.collect(key, None, t);
        }
    }

    fn deliver(&mut self, key: LinkKey, side: Side, party: Party, frame: &Frame, at: FrameRef) {
        self.touch(key, at.time);
        let room = self
            .settings
            .max_buffered_frames
            .saturating_sub(self.buffered);
        let Some(c) = self.router.get_mut(key) else {
            return;
        };
        let held = c.pending.len();
        let mut awaiting = None;
        let mut refused = 0;
        // Watched conversations learn their ends from the traffic (fixed modes have no exact ids).
        let end = match side {
            Side::Rx => &mut c.info.rx,
            Side::Tx => &mut c.info.tx,
        };
        if end.is_none() {
            *end = Some(party);
        }
        let address_len = AddressLength::from_prefix(party.address_byte);
        let pdu = Pdu::parse(frame.data(), address_len);
        if matches!(pdu, Ok(Pdu::SingleFrame { .. } | Pdu::FirstFrame { .. })) {
            c.started[side as usize] = Some(at);
        }
        let alone = c.is_alone();
        if alone {
            // A first frame the rules say to ignore may still be answered (not every stack checks
            // them): it waits for its flow control all the same, so that the pair is found.
            let pci = frame
                .data()
                .get(address_len.bytes())
                .copied()
                .and_then(PciType::of);
            match (pci, pdu) {
                (Some(PciType::FirstFrame), _) => {
                    c.pending.clear();
                    if room + held > 0 {
                        c.pending.push((*frame, at));
                    } else {
                        refused += 1;
                    }
                    awaiting = Some(Some(at.time));
                }
                (_, Ok(Pdu::ConsecutiveFrame { .. })) if !c.pending.is_empty() => {
                    // Someone else's flow control went by unseen (or the sender does not wait).
                    awaiting = Some(None);
                    if c.pending.len() < PENDING_LIMIT && room > 0 {
                        c.pending.push((*frame, at));
                    } else {
                        refused += 1;
                    }
                }
                _ => {}
            }
        }
        let now_held = c.pending.len();
        self.buffered = self.buffered - held + now_held;
        self.evictions.frames_not_buffered += refused;
        if let Some(since) = awaiting {
            self.set_awaiting(key, since);
        }
        let Some(c) = self.router.get_mut(key) else {
            return;
        };
        let malformed_first_frame = alone
            && pdu.is_err()
            && frame
                .data()
                .get(address_len.bytes())
                .copied()
                .and_then(PciType::of)
                == Some(PciType::FirstFrame);
        c.endpoint.handle_frame(frame, at.time);
        self.collect(key, Some((party, at)), at.time);
        if malformed_first_frame {
            // The engine ignored it, so no transfer is in progress, but a peer may still answer it.
            self.set_awaiting(key, Some(at.time));
        }
    }

    /// Moves the events of conversation `key` into the monitor's queue and reschedules its timer.
    fn collect(&mut self, key: LinkKey, frame: Option<(Party, FrameRef)>, time: Instant) {
        let Some(c) = self.router.get_mut(key) else {
            return;
        };
        while let Some(event) = c.endpoint.poll_event() {
            let info = c.info;
            let message =
                |payload, target_address_type, side: Side, started: &[Option<FrameRef>; 2]| {
                    let (from, last) = frame?;
                    Some(MonitorEvent::Message(MonitoredMessage {
                        conversation: info,
                        from,
                        to: info.peer_of(from),
                        target_address_type,
                        payload,
                        first_frame: started[side as usize].unwrap_or(last),
                        last_frame: last,
                    }))
                };
            let found = match event {
                Event::Received {
                    payload,
                    target_address_type,
                } => message(payload, target_address_type, Side::Rx, &c.started),
                Event::Observed {
                    payload,
                    target_address_type,
                } => message(payload, target_address_type, Side::Tx, &c.started),
                Event::ReceiveFailed { error } | Event::SendFailed { error, .. } => {
                    Some(MonitorEvent::Failed {
                        conversation: info,
                        error,
                        time,
                        frame: frame.map(|(_, at)| at.index),
                    })
                }
                Event::Warning(warning) => frame.map(|(_, at)| MonitorEvent::Ignored {
                    conversation: info,
                    warning,
                    frame: at,
                }),
                _ => None,
            };
            self.events.extend(found);
        }
        let deadline = c.endpoint.poll_timeout();
        if deadline.is_none() {
            // No transfer in progress: nothing to replay into a pair.
            self.buffered -= c.pending.len();
            c.pending = Vec::new();
        }
        self.router.set_deadline(key, deadline);
        if deadline.is_none() {
            self.set_awaiting(key, None);
        }
    }

    /// Which discovered conversation a frame belongs to, creating or pairing conversations.
    fn discover(
        &mut self,
        frame: &Frame,
        now: Instant,
        d: Discovery,
    ) -> Option<(LinkKey, Side, Party)> {
        let address_byte = match d {
            Discovery::Normal => None,
            Discovery::Extended | Discovery::Mixed => Some(*frame.data().first()?),
        };
        let party = Party {
            id: frame.id(),
            address_byte,
        };
        let pci = PciType::of(
            *frame
                .data()
                .get(AddressLength::from_prefix(address_byte).bytes())?,
        )?;
        let known = self.by_party.get(&party).copied();
        if let Some(k) = known {
            let c = self.router.get(k)?;
            // A flow control from an end followed alone answers someone else's first frame: pair.
            if !(pci == PciType::FlowControl && c.is_alone()) {
                let (side, party) = c.side_of(frame)?;
                return Some((k, side, party));
            }
        }
        let key = match pci {
            PciType::FlowControl => self.pair(party, now, d)?,
            PciType::SingleFrame | PciType::FirstFrame => match known {
                Some(k) => k,
                None => {
                    let endpoint =
                        Endpoint::new(address_of(None, Some(party))?, self.settings.config).ok()?;
                    self.insert(endpoint, None, false, None, Some(party), now);
                    *self.by_party.get(&party)?
                }
            },
            PciType::ConsecutiveFrame => return None,
        };
        let (side, party) = self.router.get(key)?.side_of(frame)?;
        Some((key, side, party))
    }

    /// A flow control from `peer`: pairs it with the end whose first frame waits for one, most
    /// recent first, within N_Bs. An index lookup: at most one waiting end (`peer` itself) is
    /// passed over.
    fn pair(&mut self, peer: Party, now: Instant, d: Discovery) -> Option<LinkKey> {
        let window = self.settings.config.n_bs;
        // Mixed addressing: both directions carry the same address extension.
        let byte = if d == Discovery::Mixed {
            peer.address_byte
        } else {
            None
        };
        let (sender_key, sender) = self
            .awaiting
            .get(&byte)?
            .iter()
            .rev()
            .take_while(|(since, _)| now.saturating_duration_since(*since) <= window)
            .find_map(|&(_, k)| {
                let c = self.router.get(k)?;
                (c.is_alone() && c.info.rx != Some(peer)).then_some((k, c.info.rx))
            })?;
        let sender = sender?;
        let address = address_of(Some(sender), Some(peer))?;
        let endpoint = Endpoint::new(address, self.settings.config).ok()?;
        let mirror = address.mirrored().ok().filter(Address::can_receive);

        let old_sender = self.remove(sender_key)?;
        // The peer followed alone keeps its own transfer in progress: replayed too.
        let old_peer = match self.by_party.get(&peer) {
            Some(&k) => self.remove(k),
            None => None,
        };
        self.insert(endpoint, mirror, false, Some(sender), Some(peer), now);
        let key = *self.by_party.get(&peer)?;
        let mut replay: Vec<(Frame, FrameRef)> = old_sender.pending;
        let mut started = [None, old_sender.started[Side::Rx as usize]];
        if let Some(p) = old_peer {
            replay.extend(p.pending);
            started[Side::Rx as usize] = p.started[Side::Rx as usize];
        }
        replay.sort_by_key(|(_, at)| at.index);
        if let Some(c) = self.router.get_mut(key) {
            c.started = started;
            for (f, at) in &replay {
                c.endpoint.handle_frame(f, at.time);
            }
            // The frames were reported when they first came: what they do again is not news.
            while c.endpoint.poll_event().is_some() {}
            let deadline = c.endpoint.poll_timeout();
            self.router.set_deadline(key, deadline);
        }
        Some(key)
    }

    fn remove(&mut self, key: LinkKey) -> Option<Conv> {
        self.set_awaiting(key, None);
        let c = self.router.remove(key)?;
        self.buffered -= c.pending.len();
        self.activity.remove(&(c.active, key));
        for p in [c.info.tx, c.info.rx].into_iter().flatten() {
            if self.by_party.get(&p) == Some(&key) {
                self.by_party.remove(&p);
            }
        }
        Some(c)
    }
}

/// The address of a discovered conversation: `tx` (the end whose messages are reported as
/// observed) and `rx`, each with the address byte its frames lead with. Whatever the byte means
/// (target address or address extension), extended addressing expresses it both ways.
fn address_of(tx: Option<Party>, rx: Option<Party>) -> Option<Address> {
    let byte = |p: Option<Party>| p.and_then(|p| p.address_byte);
    let bytes = match (byte(tx), byte(rx)) {
        (None, None) => AddressBytes::None,
        (Some(t), Some(r)) => AddressBytes::Extended { tx: t, rx: r },
        (Some(b), None) | (None, Some(b)) => AddressBytes::Extended { tx: b, rx: b },
    };
    Address::from_ids(tx.map(|p| p.id), rx.map(|p| p.id), bytes).ok()
}

#[cfg(test)]
mod tests;
