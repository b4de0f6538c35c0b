//! UDS (ISO 14229) timing over reassembled messages: each request paired with its response per
//! tester-ECU pair, P2 and P2* measured, "response pending" (NRC 0x78) chains followed.
//!
//! A [`UdsTiming`] is fed the [`MonitoredMessage`]s a [`Monitor`](crate::monitor::Monitor) reassembles and
//! knows nothing of frames or ISO-TP: a request is a message whose service id has bit 6 clear, its
//! positive response carries the service id + 0x40, its negative response `7F SID NRC`. P2 is
//! measured on the bus from the request's last frame to the first frame of the first response;
//! after a `7F SID 78` (response pending) the next response must start within P2* of the pending
//! response's last frame. A positive DiagnosticSessionControl response
//! (`50 session P2hi P2lo P2*hi P2*lo`) carries the ECU's own P2server_max and P2*server_max
//! (in 10 ms units); with [`SessionTiming::Adopt`] they become the limits for that pair.
//!
//! ```
//! use isotp_core::monitor::{Discovery, Monitor, MonitorConfig, MonitorEvent};
//! use isotp_core::uds::{UdsConfig, UdsEvent, UdsFindingKind, UdsTiming};
//! use isotp_core::{CanId, Duration, Frame, Instant};
//!
//! let mut monitor = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
//! let mut uds = UdsTiming::new(UdsConfig::default()); // P2 50 ms
//! let frame = |id, data: &[u8]| Frame::new(CanId::standard(id).unwrap(), data).unwrap();
//! let traffic = [
//!     (0, frame(0x7E0, &[0x03, 0x22, 0xF1, 0x90])),      // ReadDataByIdentifier VIN
//!     (80, frame(0x7E8, &[0x04, 0x62, 0xF1, 0x90, 0x41])), // its response, 80 ms later
//! ];
//! let mut findings = Vec::new();
//! for (ms, f) in &traffic {
//!     monitor.handle_frame(f, Instant::ZERO + Duration::from_millis(*ms));
//!     while let Some(event) = monitor.poll_event() {
//!         if let MonitorEvent::Message(m) = event {
//!             uds.handle_message(&m);
//!         }
//!     }
//! }
//! uds.finish(Instant::ZERO + Duration::from_millis(80));
//! while let Some(event) = uds.poll_event() {
//!     if let UdsEvent::Finding(f) = event {
//!         findings.push((f.kind, f.frame.index, f.since.map(|s| s.index)));
//!     }
//! }
//! let p2 = UdsFindingKind::P2Exceeded {
//!     measured: Duration::from_millis(80),
//!     limit: Duration::from_millis(50),
//! };
//! assert_eq!(findings, [(p2, 1, Some(0))]);
//! ```

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;

use crate::monitor::check::Severity;
use crate::monitor::{FrameRef, MonitoredMessage, Party};
use crate::{Duration, TargetAddressType};

/// The most requests awaiting their response at once (and tester-ECU pairs with limits of their
/// own); beyond, the oldest is given up without a finding.
const PAIR_LIMIT: usize = 1024;

/// The negative response service id.
const NEGATIVE_RESPONSE: u8 = 0x7F;
/// NRC requestCorrectlyReceived-ResponsePending.
const RESPONSE_PENDING: u8 = 0x78;
/// DiagnosticSessionControl.
const SESSION_CONTROL: u8 = 0x10;

/// Whether the limits a DiagnosticSessionControl response announces replace the configured ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionTiming {
    /// A positive session response's P2server_max and P2*server_max become the limits of its
    /// tester-ECU pair from then on.
    Adopt,
    /// The configured limits hold throughout.
    Ignore,
}

/// The limits a [`UdsTiming`] judges by.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdsConfig {
    /// P2server_max: request end to response start (ISO 14229-2 default 50 ms).
    pub p2: Duration,
    /// P2*server_max: a response pending's end to the next response's start (default 5000 ms).
    pub p2_star: Duration,
    /// Whether a session response's own limits replace these.
    pub session_timing: SessionTiming,
}

impl Default for UdsConfig {
    fn default() -> Self {
        UdsConfig {
            p2: Duration::from_millis(50),
            p2_star: Duration::from_millis(5000),
            session_timing: SessionTiming::Adopt,
        }
    }
}

/// What is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UdsFindingKind {
    /// The first response started later than P2 after the request.
    P2Exceeded {
        /// Request end to response start.
        measured: Duration,
        /// P2server_max.
        limit: Duration,
    },
    /// After a response pending, the next response started later than P2*.
    P2StarExceeded {
        /// Pending response end to next response start.
        measured: Duration,
        /// P2*server_max.
        limit: Duration,
    },
    /// A request that needed a response got none within its limit, before the tester's next
    /// request or the end of the recording.
    NoResponse {
        /// Its service id.
        service: u8,
        /// The limit that ran out (P2, or P2* after a response pending).
        limit: Duration,
    },
    /// A response with no request of its service awaiting one.
    UnexpectedResponse {
        /// The service it answers.
        service: u8,
    },
}

impl UdsFindingKind {
    /// How bad it is: a missed limit is a violation, a stray response a warning.
    #[must_use]
    pub fn severity(&self) -> Severity {
        match self {
            UdsFindingKind::UnexpectedResponse { .. } => Severity::Warning,
            _ => Severity::Violation,
        }
    }

    /// A short machine name, `p2_exceeded`...
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            UdsFindingKind::P2Exceeded { .. } => "p2_exceeded",
            UdsFindingKind::P2StarExceeded { .. } => "p2_star_exceeded",
            UdsFindingKind::NoResponse { .. } => "no_response",
            UdsFindingKind::UnexpectedResponse { .. } => "unexpected_response",
        }
    }

    /// The measured time and its limit, for the timing findings.
    #[must_use]
    pub fn timing(&self) -> Option<(Duration, Duration)> {
        match *self {
            UdsFindingKind::P2Exceeded { measured, limit }
            | UdsFindingKind::P2StarExceeded { measured, limit } => Some((measured, limit)),
            _ => None,
        }
    }
}

impl fmt::Display for UdsFindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UdsFindingKind::P2Exceeded { measured, limit } => write!(
                f,
                "response started {} µs after the request, P2 is {} µs",
                measured.as_micros(),
                limit.as_micros()
            ),
            UdsFindingKind::P2StarExceeded { measured, limit } => write!(
                f,
                "response started {} µs after the response pending, P2* is {} µs",
                measured.as_micros(),
                limit.as_micros()
            ),
            UdsFindingKind::NoResponse { service, limit } => write!(
                f,
                "no response to service 0x{service:02X} within {} µs",
                limit.as_micros()
            ),
            UdsFindingKind::UnexpectedResponse { service } => {
                write!(
                    f,
                    "response to service 0x{service:02X} with no request awaiting it"
                )
            }
        }
    }
}

/// One fault, where it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdsFinding {
    /// What.
    pub kind: UdsFindingKind,
    /// The requesting end (the receiving end for an unexpected response), when known.
    pub tester: Option<Party>,
    /// The answering end (the sender of an unexpected response), when known.
    pub ecu: Option<Party>,
    /// The frame that shows it: the late response's first frame, the unanswered request's last.
    pub frame: FrameRef,
    /// What it is measured from: the request's last frame or the pending response's.
    pub since: Option<FrameRef>,
}

impl UdsFinding {
    /// How bad it is.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }
}

/// How an exchange ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// A positive response.
    Positive,
    /// A negative response with this code (never 0x78, which is followed).
    Negative(u8),
    /// No final response.
    Unanswered,
}

/// A request and what answered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The requesting end.
    pub tester: Party,
    /// The answering end, when one answered or the request named it.
    pub ecu: Option<Party>,
    /// The request's service id.
    pub service: u8,
    /// Physical, or functional (to every ECU).
    pub target_address_type: TargetAddressType,
    /// The request's first and last frames.
    pub request: (FrameRef, FrameRef),
    /// The final response's first and last frames.
    pub response: Option<(FrameRef, FrameRef)>,
    /// The response pending (0x78) answers before the final one.
    pub pending: u32,
    /// Request end to the first response's start, when one came.
    pub p2: Option<Duration>,
    /// How it ended.
    pub outcome: Outcome,
}

/// What a [`UdsTiming`] reports, in the order of the messages that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UdsEvent {
    /// An exchange ended (answered, or given up).
    Exchange(Exchange),
    /// A fault.
    Finding(UdsFinding),
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    exchange: Exchange,
    /// Whether a positive response is suppressed (sub-function bit 7).
    suppressed: bool,
    /// What the next response is measured from.
    since: FrameRef,
    limits: (Duration, Duration),
    /// For a functional request: the ECUs that answered it.
    answers: u32,
}

impl Pending {
    fn limit(&self) -> Duration {
        if self.exchange.pending == 0 {
            self.limits.0
        } else {
            self.limits.1
        }
    }
}

/// Follows UDS exchanges in reassembled messages; see the [module documentation](self).
#[derive(Debug)]
pub struct UdsTiming {
    settings: UdsConfig,
    /// Requests awaiting a response, oldest first.
    pending: VecDeque<Pending>,
    /// Limits announced by session responses, per (tester, ECU).
    announced: Vec<((Party, Party), (Duration, Duration))>,
    events: VecDeque<UdsEvent>,
}

impl UdsTiming {
    /// Judges by `settings`.
    #[must_use]
    pub fn new(settings: UdsConfig) -> UdsTiming {
        UdsTiming {
            settings,
            pending: VecDeque::new(),
            announced: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// The next exchange or finding.
    pub fn poll_event(&mut self) -> Option<UdsEvent> {
        self.events.pop_front()
    }

    /// Feeds a reassembled message.
    pub fn handle_message(&mut self, m: &MonitoredMessage) {
        let Some(&sid) = m.payload.first() else {
            return;
        };
        if sid & 0x40 == 0 {
            self.request(m, sid);
        } else if sid == NEGATIVE_RESPONSE {
            // A negative response too short to name its service answers nothing.
            if let Some(&service) = m.payload.get(1) {
                let nrc = m.payload.get(2).copied().unwrap_or(0);
                self.response(m, service, Outcome::Negative(nrc));
            }
        } else {
            self.response(m, sid & !0x40, Outcome::Positive);
        }
    }

    /// The recording ended at `end`: requests still awaiting a response past their limit are
    /// reported, and every open exchange ends unanswered.
    pub fn finish(&mut self, end: crate::Instant) {
        for p in core::mem::take(&mut self.pending) {
            self.give_up(p, end);
        }
    }

    fn limits_for(&self, tester: Party, ecu: Option<Party>) -> (Duration, Duration) {
        ecu.and_then(|ecu| {
            self.announced
                .iter()
                .find(|(pair, _)| *pair == (tester, ecu))
                .map(|(_, l)| *l)
        })
        .unwrap_or((self.settings.p2, self.settings.p2_star))
    }

    fn request(&mut self, m: &MonitoredMessage, service: u8) {
        let functional = m.target_address_type == TargetAddressType::Functional;
        // The tester's earlier request to the same ECU, and its earlier functional request, are
        // over, answered or not.
        let mut i = 0;
        while i < self.pending.len() {
            let p = &self.pending[i].exchange;
            let earlier_functional =
                p.target_address_type == TargetAddressType::Functional && p.ecu.is_none();
            let same_ecu = !functional
                && p.target_address_type == TargetAddressType::Physical
                && p.ecu == m.to;
            if p.tester == m.from && (earlier_functional || same_ecu) {
                if let Some(p) = self.pending.remove(i) {
                    self.give_up(p, m.first_frame.time);
                }
            } else {
                i += 1;
            }
        }
        if self.pending.len() >= PAIR_LIMIT {
            self.pending.pop_front();
        }
        let ecu = if functional { None } else { m.to };
        let suppressed =
            has_suppress_bit(service) && m.payload.get(1).is_some_and(|b| b & 0x80 != 0);
        self.pending.push_back(Pending {
            exchange: Exchange {
                tester: m.from,
                ecu,
                service,
                target_address_type: m.target_address_type,
                request: (m.first_frame, m.last_frame),
                response: None,
                pending: 0,
                p2: None,
                outcome: Outcome::Unanswered,
            },
            suppressed,
            since: m.last_frame,
            limits: self.limits_for(m.from, ecu),
            answers: 0,
        });
    }

    /// The request a response of `service` from `m.from` answers: one naming that ECU first, then
    /// one whose ECU is unknown (a conversation not yet paired, a functional request).
    fn awaiting(&self, m: &MonitoredMessage, service: u8) -> Option<usize> {
        let fits = |p: &Pending| {
            p.exchange.service == service
                && p.exchange.tester != m.from
                && m.to.map_or(true, |to| to == p.exchange.tester)
        };
        self.pending
            .iter()
            .position(|p| fits(p) && p.exchange.ecu == Some(m.from))
            .or_else(|| {
                self.pending
                    .iter()
                    .position(|p| fits(p) && p.exchange.ecu.is_none())
            })
    }

    fn response(&mut self, m: &MonitoredMessage, service: u8, outcome: Outcome) {
        let Some(i) = self.awaiting(m, service) else {
            self.events.push_back(UdsEvent::Finding(UdsFinding {
                kind: UdsFindingKind::UnexpectedResponse { service },
                tester: m.to,
                ecu: Some(m.from),
                frame: m.first_frame,
                since: None,
            }));
            return;
        };
        let mut p = if self.pending[i].exchange.target_address_type == TargetAddressType::Functional
        {
            // Every ECU may answer a functional request: this one gets an exchange of its own and
            // the request stays open for the others.
            self.pending[i].answers += 1;
            let mut own = self.pending[i];
            own.exchange.ecu = Some(m.from);
            own.limits = self.limits_for(own.exchange.tester, Some(m.from));
            own
        } else {
            match self.pending.remove(i) {
                Some(p) => p,
                None => return,
            }
        };
        p.exchange.ecu = Some(m.from);
        let measured = m.first_frame.time.saturating_duration_since(p.since.time);
        let limit = p.limit();
        if measured > limit {
            let kind = if p.exchange.pending == 0 {
                UdsFindingKind::P2Exceeded { measured, limit }
            } else {
                UdsFindingKind::P2StarExceeded { measured, limit }
            };
            self.events.push_back(UdsEvent::Finding(UdsFinding {
                kind,
                tester: Some(p.exchange.tester),
                ecu: Some(m.from),
                frame: m.first_frame,
                since: Some(p.since),
            }));
        }
        if p.exchange.pending == 0 {
            p.exchange.p2 = Some(measured);
        }
        if outcome == Outcome::Negative(RESPONSE_PENDING) {
            p.exchange.pending += 1;
            p.since = m.last_frame;
            if self.pending.len() >= PAIR_LIMIT {
                self.pending.pop_front();
            }
            self.pending.push_back(p);
            return;
        }
        p.exchange.response = Some((m.first_frame, m.last_frame));
        p.exchange.outcome = outcome;
        if service == SESSION_CONTROL && outcome == Outcome::Positive {
            self.adopt_session_limits(p.exchange.tester, m.from, &m.payload);
        }
        self.events.push_back(UdsEvent::Exchange(p.exchange));
    }

    /// `50 session P2hi P2lo P2*hi P2*lo`: P2 in ms, P2* in 10 ms.
    fn adopt_session_limits(&mut self, tester: Party, ecu: Party, payload: &[u8]) {
        if self.settings.session_timing != SessionTiming::Adopt {
            return;
        }
        let [_, _, p2_hi, p2_lo, star_hi, star_lo, ..] = *payload else {
            return;
        };
        let limits = (
            Duration::from_millis(u16::from_be_bytes([p2_hi, p2_lo]).into()),
            Duration::from_millis(u64::from(u16::from_be_bytes([star_hi, star_lo])) * 10),
        );
        if let Some(entry) = self.announced.iter_mut().find(|(k, _)| *k == (tester, ecu)) {
            entry.1 = limits;
        } else if self.announced.len() < PAIR_LIMIT {
            self.announced.push(((tester, ecu), limits));
        }
    }

    /// `p` gets no (more) response: it is over at `now`.
    fn give_up(&mut self, p: Pending, now: crate::Instant) {
        let waited = now.saturating_duration_since(p.since.time);
        let answered_before = p.exchange.response.is_some() || p.exchange.p2.is_some();
        let functional = p.exchange.target_address_type == TargetAddressType::Functional;
        // A suppressed positive response, a functional request (any ECU may stay silent) and a
        // recording that ends within the limit are not faults; an ECU that said "pending" must
        // answer, whoever it was asked.
        let silence_allowed = (functional || p.suppressed) && !answered_before;
        if !silence_allowed && waited > p.limit() {
            self.events.push_back(UdsEvent::Finding(UdsFinding {
                kind: UdsFindingKind::NoResponse {
                    service: p.exchange.service,
                    limit: p.limit(),
                },
                tester: Some(p.exchange.tester),
                ecu: p.exchange.ecu,
                frame: p.since,
                since: Some(p.exchange.request.1),
            }));
        }
        // A functional request answered by some ECUs lives on in their exchanges.
        if !(functional && p.exchange.ecu.is_none() && p.answers > 0) {
            self.events.push_back(UdsEvent::Exchange(p.exchange));
        }
    }
}

/// Services whose sub-function byte carries suppressPosRspMsgIndicationBit.
fn has_suppress_bit(service: u8) -> bool {
    matches!(
        service,
        0x10 | 0x11 | 0x27 | 0x28 | 0x29 | 0x2C | 0x31 | 0x3E | 0x83 | 0x85 | 0x86 | 0x87
    )
}

#[cfg(test)]
mod tests;
