//! Finding ISO-TP endpoints: a harmless probe on each candidate id, and a note of who answers.
//!
//! The default probe is a first frame announcing an 8-byte TesterPresent (`3E 00` and padding): an
//! ISO-TP receiver answers it with a flow control, which tells its response id and its BS and STmin.
//! The consecutive frames are never sent, so the receiver drops the reception after N_Cr (1 s by
//! default) and no request ever reaches its application. The other probe is a single-frame
//! TesterPresent (`3E 00`), which a UDS server answers with `7E 00`.
//!
//! Frames are sent only on the ids of the range asked. Each candidate is probed again alone before it
//! is reported, so frames of other traffic that happen to look like answers are not taken for
//! endpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant as StdInstant};

use isotp_core::wire::{AddressLength, FlowStatus, Pdu, StMin};
use isotp_core::{
    Address, AddressError, AddressingMode, CanId, Config, ConfigError, Endpoint, Frame,
    TargetAddressType,
};

use crate::bus::BusError;
use crate::discovery::IdRange;
use crate::stack::{Feed, NodeTap, Tapped};
use crate::Node;

/// The message the probes carry: TesterPresent, padded to a length that needs a first frame.
const TESTER_PRESENT: [u8; 8] = [0x3E, 0x00, 0, 0, 0, 0, 0, 0];

/// What a probe sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Probe {
    /// A first frame of an 8-byte TesterPresent; a receiver answers with a flow control, and the
    /// consecutive frames never follow (the receiver ends the reception at N_Cr).
    #[default]
    FirstFrame,
    /// A single-frame TesterPresent `3E 00`; a UDS server answers `7E 00` (or a negative response).
    TesterPresent,
}

/// How candidate ids are addressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ScanAddressing {
    /// Normal addressing: the PCI is the first byte.
    #[default]
    Normal,
    /// Extended addressing with this target address byte leading every probe.
    Extended(u8),
    /// Extended addressing, every target address byte 00-FF on each id (256 probes per id).
    ExtendedAll,
}

/// What answered a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A flow control frame, with its parameters.
    FlowControl {
        /// FS.
        status: FlowStatus,
        /// BS.
        block_size: u8,
        /// STmin.
        st_min: StMin,
    },
    /// A single-frame response to TesterPresent (`7E 00`, or `7F 3E NRC`).
    Response(Vec<u8>),
}

/// An endpoint found by a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundEndpoint {
    /// The id the probe went out on (the endpoint's receive id).
    pub request_id: CanId,
    /// The id the answer came on (the endpoint's transmit id).
    pub response_id: CanId,
    /// Normal or extended addressing, 11- or 29-bit.
    pub addressing: AddressingMode,
    /// Extended addressing: the target address byte of the probe.
    pub target_address: Option<u8>,
    /// Extended addressing: the address byte leading the answer.
    pub source_address: Option<u8>,
    /// The answer.
    pub answer: Answer,
}

/// What a scan found, and whether it probed every candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanReport {
    /// Endpoints, in the order of their request ids.
    pub endpoints: Vec<FoundEndpoint>,
    /// Probes sent (the first pass and the confirmations).
    pub probes: u64,
    /// False when the time limit stopped the scan before every candidate was probed.
    pub complete: bool,
    /// Ids that sent frames looking like answers without being probed (other traffic): not
    /// reported as endpoints.
    pub chatter: Vec<CanId>,
    /// Response ids that answered lone probes on more than [`ANSWERS_ANYTHING_AFTER`] different
    /// probes: responders that answer anything (a misconfigured node, a gateway that answers for
    /// every id, a hostile device), not reported as endpoints of each id probed.
    pub answers_anything: Vec<CanId>,
}

/// How many different probes one response id may answer alone and still be an endpoint's: an
/// ECU answers its physical id, perhaps a functional id (7DF) and a second diagnostic id too.
pub const ANSWERS_ANYTHING_AFTER: usize = 3;

/// Why a scan could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// A probe address could not be built.
    #[error("{0}")]
    Address(#[from] AddressError),
    /// The configuration is not valid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The probe cannot be sent with this configuration (for example a single frame too short).
    #[error("the probe cannot be sent: {0}")]
    Probe(String),
    /// The bus failed.
    #[error("{0}")]
    Bus(#[from] BusError),
}

/// A probe: its id and, in extended addressing, its target address byte.
type Key = (CanId, Option<u8>);

/// A response id seen in the first pass, and the probes it may have answered.
#[derive(Default)]
struct Candidate {
    direct: Vec<Key>,
    earlier: Vec<Key>,
}

/// Probes a candidate keeps as answered directly: one more than an endpoint answers, so that a
/// responder answering anything is still told apart, and no more (it may answer every probe).
const DIRECT_KEPT: usize = ANSWERS_ANYTHING_AFTER + 1;
/// Earlier probes a candidate keeps (a slow ECU's own probe is among the last ones before its
/// answer, newest first).
const EARLIER_KEPT: usize = 256;

/// Notes an answer on `response_id` now: a candidate for the last probe sent (direct) and, since an
/// ECU may be slow, for the probes sent within `wait` before it (earlier, newest first).
fn note(
    candidates: &mut BTreeMap<CanId, Candidate>,
    sent: &[(StdInstant, Key)],
    response_id: CanId,
    wait: Duration,
) {
    let now = StdInstant::now();
    let c = candidates.entry(response_id).or_default();
    let mut recent = sent
        .iter()
        .rev()
        .take_while(|(t, _)| now.duration_since(*t) <= wait);
    if let Some((_, k)) = recent.next() {
        if !c.direct.contains(k) && c.direct.len() < DIRECT_KEPT {
            c.direct.push(*k);
        }
    }
    for (_, k) in recent.take(EARLIER_KEPT) {
        if c.earlier.len() >= EARLIER_KEPT {
            break;
        }
        if !c.earlier.contains(k) {
            c.earlier.push(*k);
        }
    }
}

/// The lone probes each responder (response id, and its address byte in extended addressing)
/// answered.
type Answered = BTreeMap<(CanId, Option<u8>), BTreeSet<Key>>;

/// True when `responder` answered more different lone probes than an endpoint would.
fn answers_anything(answered: &Answered, responder: (CanId, Option<u8>)) -> bool {
    answered
        .get(&responder)
        .is_some_and(|keys| keys.len() > ANSWERS_ANYTHING_AFTER)
}

/// A scan of a range of ids for ISO-TP endpoints.
///
/// ```
/// use std::time::Duration;
/// use isotp::bus::VirtualBus;
/// use isotp::discovery::{Answer, Scan};
/// use isotp::{Address, Config, Node, Stack};
///
/// let bus = VirtualBus::new();
/// let _ecu = Stack::new(bus.attach(), Address::normal_11(0x7E8, 0x7E0)?, Config::default())?;
/// let report = Scan::new("7E0-7E3".parse()?)
///     .with_interval(Duration::from_millis(20))
///     .run(&Node::new(bus.attach()))?;
/// assert_eq!(report.endpoints.len(), 1);
/// assert_eq!(report.endpoints[0].request_id.raw(), 0x7E0);
/// assert_eq!(report.endpoints[0].response_id.raw(), 0x7E8);
/// assert!(matches!(report.endpoints[0].answer, Answer::FlowControl { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Scan {
    ids: IdRange,
    addressing: ScanAddressing,
    probe: Probe,
    interval: Duration,
    confirm_wait: Duration,
    limit: Option<Duration>,
    config: Config,
}

impl Scan {
    /// Probes every id of `ids` with the default probe (a first frame), normal addressing, one probe
    /// every 20 ms, no time limit.
    #[must_use]
    pub fn new(ids: IdRange) -> Scan {
        // Padded probes: some ECUs ignore frames shorter than 8 bytes.
        let mut config = Config::default();
        config.tx_padding = Some(0xCC);
        Scan {
            ids,
            addressing: ScanAddressing::Normal,
            probe: Probe::FirstFrame,
            interval: Duration::from_millis(20),
            confirm_wait: Duration::from_millis(200),
            limit: None,
            config,
        }
    }

    /// The addressing of the probes.
    #[must_use]
    pub fn with_addressing(mut self, addressing: ScanAddressing) -> Scan {
        self.addressing = addressing;
        self
    }

    /// The probe.
    #[must_use]
    pub fn with_probe(mut self, probe: Probe) -> Scan {
        self.probe = probe;
        self
    }

    /// The time between two probes of the first pass, during which answers are awaited: the rate
    /// limit. Answers slower than this are still found if they come within the confirmation wait.
    #[must_use]
    pub fn with_interval(mut self, interval: Duration) -> Scan {
        self.interval = interval;
        self
    }

    /// How long a candidate's second, lone probe waits for its answer (default 200 ms).
    #[must_use]
    pub fn with_confirm_wait(mut self, wait: Duration) -> Scan {
        self.confirm_wait = wait;
        self
    }

    /// Sends no probe after `limit`, in the first pass or the confirmations (the report then says
    /// it is not complete; what was confirmed is reported).
    #[must_use]
    pub fn with_limit(mut self, limit: Duration) -> Scan {
        self.limit = Some(limit);
        self
    }

    /// Frame format of the probes (padding, CAN FD).
    #[must_use]
    pub fn with_config(mut self, config: Config) -> Scan {
        self.config = config;
        self
    }

    /// How many probes the first pass sends.
    #[must_use]
    pub fn candidates(&self) -> u64 {
        let per_id = match self.addressing {
            ScanAddressing::ExtendedAll => 256,
            _ => 1,
        };
        u64::from(self.ids.len()) * per_id
    }

    /// Runs the scan on `node`'s bus. Blocks about `candidates() × interval`, plus the
    /// confirmations.
    ///
    /// The scan runs on the node's driver: it sees every frame the node reads (the node's links
    /// still get theirs), and the calling thread reads the bus while it waits, unless another
    /// thread of the node does.
    ///
    /// # Errors
    ///
    /// [`ScanError::Address`] or [`ScanError::Config`] when a probe's address or the configuration
    /// is not valid, [`ScanError::Probe`] when a probe cannot be sent with the configuration,
    /// [`ScanError::Bus`] when the bus fails.
    pub fn run(&self, node: &Node) -> Result<ScanReport, ScanError> {
        let bus = &node.tap(Feed::Frames);
        let start = StdInstant::now();
        let mut probes = 0;
        let mut complete = true;
        // First pass: one probe per interval. An answer is a candidate for the probe it followed
        // (direct) and, since an ECU may be slow, for the probes sent within the confirmation wait
        // before it (earlier, newest first).
        let mut sent: Vec<(StdInstant, Key)> = Vec::new();
        let mut candidates: BTreeMap<CanId, Candidate> = BTreeMap::new();
        // Ids that sent frames which answer nothing: other nodes' traffic.
        let mut busy: BTreeSet<CanId> = BTreeSet::new();
        'ids: for id in self.ids.iter() {
            for target in self.targets() {
                if self.limit.is_some_and(|l| start.elapsed() >= l) {
                    complete = false;
                    break 'ids;
                }
                probes += 1;
                sent.push((StdInstant::now(), (id, target)));
                for found in self.probe_once(bus, id, target, self.interval, &mut busy)? {
                    note(&mut candidates, &sent, found.response_id, self.confirm_wait);
                }
            }
        }
        // Late answers to the last probes still count.
        let sample = self.targets()[0];
        let last = sent.last().map(|s| s.1 .0);
        let mut chatter: BTreeSet<CanId> = BTreeSet::new();
        if let Some(last) = last {
            self.listen(bus, self.confirm_wait, |frame| {
                match self.recognise(last, sample, frame) {
                    Some(found) => {
                        note(&mut candidates, &sent, found.response_id, self.confirm_wait)
                    }
                    None => {
                        busy.insert(frame.id());
                    }
                }
            })?;
        }
        // Frames of other nodes may look like answers: ids that send them unprompted, now that the
        // answers to the first pass had time to arrive, are not endpoints.
        if !candidates.is_empty() {
            self.listen(bus, self.confirm_wait, |frame| {
                if self.recognise(frame.id(), sample, frame).is_some() {
                    chatter.insert(frame.id());
                } else {
                    busy.insert(frame.id());
                }
            })?;
        }
        candidates.retain(|id, _| !chatter.contains(id) && !busy.contains(id));
        // Confirmation: a candidate is probed again alone and kept if the same id answers. Every
        // direct candidate is tried; the earlier ones only until one answers.
        let mut lone: Vec<(Key, Vec<FoundEndpoint>)> = Vec::new();
        let mut confirmed: Vec<FoundEndpoint> = Vec::new();
        // Which lone probes each responder (response id and address byte) answered.
        let mut answered: Answered = BTreeMap::new();
        'candidates: for (&response_id, c) in &candidates {
            let mut any = false;
            let tries = c.direct.iter().map(|k| (k, true));
            for (key, direct) in tries.chain(c.earlier.iter().map(|k| (k, false))) {
                if any && !direct {
                    break;
                }
                if answered
                    .range((response_id, None)..=(response_id, Some(u8::MAX)))
                    .any(|(r, _)| answers_anything(&answered, *r))
                {
                    // Known to answer anything: more probes would only repeat it.
                    continue 'candidates;
                }
                if self.limit.is_some_and(|l| start.elapsed() >= l) {
                    complete = false;
                    break 'candidates;
                }
                let answers = match lone.iter().find(|(k, _)| k == key) {
                    Some((_, answers)) => answers.clone(),
                    None => {
                        probes += 1;
                        let answers =
                            self.probe_once(bus, key.0, key.1, self.confirm_wait, &mut busy)?;
                        for f in &answers {
                            answered
                                .entry((f.response_id, f.source_address))
                                .or_default()
                                .insert(*key);
                        }
                        lone.push((*key, answers.clone()));
                        answers
                    }
                };
                if let Some(found) = answers.into_iter().find(|f| f.response_id == response_id) {
                    any = true;
                    confirmed.push(found);
                }
            }
        }
        // A response id that also carried frames answering nothing, or that sent answers unprompted,
        // belongs to other traffic.
        let mut endpoints = Vec::new();
        let mut anything: Vec<CanId> = answered
            .keys()
            .filter(|r| answers_anything(&answered, **r))
            .map(|r| r.0)
            .collect();
        anything.dedup();
        for e in confirmed {
            if busy.contains(&e.response_id) || chatter.contains(&e.response_id) {
                chatter.insert(e.response_id);
            } else if answers_anything(&answered, (e.response_id, e.source_address)) {
                // Reported once, as a responder that answers anything.
            } else if !endpoints.contains(&e) {
                endpoints.push(e);
            }
        }
        endpoints.sort_by_key(|e| (e.request_id.raw(), e.target_address, e.response_id.raw()));
        let mut chatter: Vec<CanId> = chatter.into_iter().collect();
        chatter.sort_by_key(|id| id.raw());
        Ok(ScanReport {
            endpoints,
            probes,
            complete,
            chatter,
            answers_anything: anything,
        })
    }

    /// Passes every frame received during `time` to `each`.
    fn listen(
        &self,
        bus: &NodeTap,
        time: Duration,
        mut each: impl FnMut(&Frame),
    ) -> Result<(), ScanError> {
        let end = StdInstant::now() + time;
        while StdInstant::now() < end {
            if let Some(Tapped::Frame(frame)) = bus.recv(end)? {
                each(&frame);
            }
        }
        Ok(())
    }

    fn targets(&self) -> Vec<Option<u8>> {
        match self.addressing {
            ScanAddressing::Normal => vec![None],
            ScanAddressing::Extended(t) => vec![Some(t)],
            ScanAddressing::ExtendedAll => (0..=255).map(Some).collect(),
        }
    }

    fn mode(&self, id: CanId) -> AddressingMode {
        match (self.addressing, id.is_extended()) {
            (ScanAddressing::Normal, false) => AddressingMode::Normal11,
            (ScanAddressing::Normal, true) => AddressingMode::Normal29,
            (_, false) => AddressingMode::Extended11,
            (_, true) => AddressingMode::Extended29,
        }
    }

    /// The probe's frame, built by the engine: a transmit-only link on `id` queues the message and
    /// its first frame (or single frame) is taken; the rest is never sent.
    fn probe_frame(&self, id: CanId, target: Option<u8>) -> Result<Frame, ScanError> {
        let mut builder = Address::builder(self.mode(id)).txid(id.raw()).tx_only();
        if let Some(t) = target {
            builder = builder.target_address(t);
        }
        let mut endpoint = Endpoint::new(builder.build()?, self.config)?;
        let message: &[u8] = match self.probe {
            Probe::FirstFrame => &TESTER_PRESENT,
            Probe::TesterPresent => &TESTER_PRESENT[..2],
        };
        endpoint
            .send(message, TargetAddressType::Physical)
            .map_err(|e| ScanError::Probe(e.to_string()))?;
        endpoint
            .poll_transmit(isotp_core::Instant::ZERO)
            .ok_or_else(|| ScanError::Probe("the engine produced no frame".into()))
    }

    /// Sends one probe on `id` and returns what answered within `wait`.
    fn probe_once(
        &self,
        bus: &NodeTap,
        id: CanId,
        target: Option<u8>,
        wait: Duration,
        busy: &mut BTreeSet<CanId>,
    ) -> Result<Vec<FoundEndpoint>, ScanError> {
        let frame = self.probe_frame(id, target)?;
        bus.send(&frame)?;
        let end = StdInstant::now() + wait;
        let mut found: Vec<FoundEndpoint> = Vec::new();
        loop {
            if StdInstant::now() >= end {
                return Ok(found);
            }
            let Some(Tapped::Frame(answer)) = bus.recv(end)? else {
                continue;
            };
            if answer.id() == id || found.iter().any(|f| f.response_id == answer.id()) {
                continue;
            }
            match self.recognise(id, target, &answer) {
                Some(e) => found.push(e),
                None => {
                    busy.insert(answer.id());
                }
            }
        }
    }

    /// The endpoint `answer` reveals, if it answers this probe.
    fn recognise(&self, id: CanId, target: Option<u8>, answer: &Frame) -> Option<FoundEndpoint> {
        let address_len = match target {
            None => AddressLength::Zero,
            Some(_) => AddressLength::One,
        };
        let source_address = target.and_then(|_| answer.data().first().copied());
        let answer_kind = match (self.probe, Pdu::parse(answer.data(), address_len).ok()?) {
            (
                Probe::FirstFrame,
                Pdu::FlowControl {
                    status,
                    block_size,
                    st_min,
                },
            ) => Answer::FlowControl {
                status,
                block_size,
                st_min,
            },
            (Probe::TesterPresent, Pdu::SingleFrame { data, .. })
                if matches!(data, [0x7E, 0x00, ..] | [0x7F, 0x3E, _, ..]) =>
            {
                Answer::Response(data.to_vec())
            }
            _ => return None,
        };
        Some(FoundEndpoint {
            request_id: id,
            response_id: answer.id(),
            addressing: self.mode(id),
            target_address: target,
            source_address,
            answer: answer_kind,
        })
    }
}
