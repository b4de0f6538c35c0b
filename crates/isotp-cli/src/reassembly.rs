//! Reassembles the PDUs of conversations the program only watches (listen mode), for `sniff`.
//!
//! Each conversation is an [`Endpoint`] of isotp-core in listen mode, fed with the captured frames
//! and their capture times: the engine is sans-IO, so a log is replayed in its own time, with N_Cr
//! measured between the logged frames, and a live bus in real time.
//!
//! With ids given (-s/-d) there is one conversation. Without them, conversations are discovered:
//! every id that carries a single or first frame is followed on its own, and an id that answers a
//! first frame with a flow control is paired with the first frame's sender (the frames of the
//! transfer in progress are replayed into the pair, so nothing is lost).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use isotp_core::wire::{AddressLength, PciType, Pdu};
use isotp_core::{
    Address, AddressBytes, CanId, Config, Endpoint, Event, Instant, ProtocolError,
    TargetAddressType,
};

use crate::output::Timestamp;

/// How long a first frame waits for the flow control that pairs its sender with a peer (N_Bs).
const PAIRING_WINDOW_US: u64 = 1_000_000;
/// Frames of one transfer kept for replay when its conversation is paired.
const PENDING_LIMIT: usize = 1 << 16;

/// A complete PDU that went by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sniffed {
    /// When its last frame was captured.
    pub time: Timestamp,
    /// The id it was sent on.
    pub from: CanId,
    /// The id of the peer, when known.
    pub to: Option<CanId>,
    /// Physical or functional.
    pub target: TargetAddressType,
    /// The message.
    pub payload: Vec<u8>,
}

/// What watching found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// A complete PDU.
    Message(Sniffed),
    /// A transfer that failed (timeout, wrong sequence number, too large...).
    Failure {
        /// When.
        time: Timestamp,
        /// The conversation: `7E8`, or `7E0/7E8` for a pair.
        conversation: String,
        /// Why.
        error: ProtocolError,
    },
}

struct Conversation {
    /// The id whose messages the endpoint reports as `Observed`.
    tx: Option<CanId>,
    /// The id whose messages the endpoint reports as `Received`.
    rx: Option<CanId>,
    endpoint: Endpoint,
    /// Discovery: frames of the transfer in progress on `rx`, for replay into a pair.
    pending: Vec<(isotp_core::Frame, Instant)>,
    /// Discovery: when `rx` sent a first frame that no flow control has answered yet.
    awaiting_flow_control: Option<Instant>,
}

/// Watches conversations and reassembles their PDUs.
pub struct Tracker {
    discover: bool,
    config: Config,
    conversations: BTreeMap<u64, Conversation>,
    next_key: u64,
    /// Discovery: which conversation an id belongs to.
    by_id: HashMap<CanId, u64>,
    /// Conversations with a transfer in progress (the only ones with timers).
    busy: BTreeSet<u64>,
    /// Core time never goes backwards, even if a log does.
    last: Instant,
}

impl Tracker {
    fn config(max_size: u32) -> Config {
        let mut c = Config::default();
        c.listen_mode = true;
        c.max_frame_size = max_size;
        c
    }

    /// Watches the conversation of `address`, whose transmit id is `tx` (-s) and receive id `rx` (-d).
    pub fn fixed(
        address: Address,
        tx: Option<CanId>,
        rx: Option<CanId>,
        max_size: u32,
    ) -> Result<Tracker, String> {
        let config = Tracker::config(max_size);
        let endpoint = Endpoint::new(address, config).map_err(|e| e.to_string())?;
        let mut t = Tracker::empty(false, config);
        t.insert(Conversation {
            tx,
            rx,
            endpoint,
            pending: Vec::new(),
            awaiting_flow_control: None,
        });
        Ok(t)
    }

    /// Discovers and follows every conversation with normal addressing.
    pub fn discovering(max_size: u32) -> Tracker {
        Tracker::empty(true, Tracker::config(max_size))
    }

    fn empty(discover: bool, config: Config) -> Tracker {
        Tracker {
            discover,
            config,
            conversations: BTreeMap::new(),
            next_key: 0,
            by_id: HashMap::new(),
            busy: BTreeSet::new(),
            last: Instant::ZERO,
        }
    }

    fn insert(&mut self, c: Conversation) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        for id in [c.tx, c.rx].into_iter().flatten() {
            self.by_id.insert(id, key);
        }
        self.conversations.insert(key, c);
        key
    }

    fn instant(&mut self, t: Timestamp) -> Instant {
        self.last = self.last.max(Instant::from_micros(t.as_micros()));
        self.last
    }

    /// Feeds a captured frame; what it completes is appended to `found`.
    pub fn frame(&mut self, frame: &isotp_core::Frame, time: Timestamp, found: &mut Vec<Found>) {
        let now = self.instant(time);
        self.expire(now, found);
        let key = if self.discover {
            match self.route(frame, now) {
                Some(k) => k,
                None => return,
            }
        } else {
            match self.conversations.keys().next() {
                Some(&k) => k,
                None => return,
            }
        };
        let Some(c) = self.conversations.get_mut(&key) else {
            return;
        };
        c.endpoint.handle_frame(frame, now);
        if self.discover && c.tx.is_none() {
            // Keep the frames of the transfer in progress, in case a flow control pairs it.
            match Pdu::parse(frame.data(), AddressLength::Zero) {
                Ok(Pdu::FirstFrame { .. }) => {
                    c.pending.clear();
                    c.pending.push((*frame, now));
                    c.awaiting_flow_control = Some(now);
                }
                Ok(Pdu::ConsecutiveFrame { .. }) if !c.pending.is_empty() => {
                    c.awaiting_flow_control = None;
                    if c.pending.len() < PENDING_LIMIT {
                        c.pending.push((*frame, now));
                    }
                }
                _ => {}
            }
            if !c.endpoint.is_receiving() {
                c.pending.clear();
                c.awaiting_flow_control = None;
            }
        }
        self.collect(key, time, found);
    }

    /// Which conversation a frame belongs to in discovery, creating or pairing conversations.
    fn route(&mut self, frame: &isotp_core::Frame, now: Instant) -> Option<u64> {
        let id = frame.id();
        if let Some(&k) = self.by_id.get(&id) {
            let c = self.conversations.get(&k)?;
            let is_fc = PciType::of(*frame.data().first()?) == Some(PciType::FlowControl);
            if !(is_fc && c.tx.is_none()) {
                return Some(k);
            }
            // A flow control from an id followed alone: it answers someone else's first frame.
        }
        let pci = PciType::of(*frame.data().first()?)?;
        match pci {
            PciType::FlowControl => self.pair_with(id, now),
            PciType::SingleFrame | PciType::FirstFrame => {
                if let Some(&k) = self.by_id.get(&id) {
                    return Some(k);
                }
                let endpoint = Endpoint::new(single_address(id)?, self.config).ok()?;
                Some(self.insert(Conversation {
                    tx: None,
                    rx: Some(id),
                    endpoint,
                    pending: Vec::new(),
                    awaiting_flow_control: None,
                }))
            }
            PciType::ConsecutiveFrame => None,
        }
    }

    /// A flow control on `peer`: pairs it with the id whose first frame awaits one most recently.
    fn pair_with(&mut self, peer: CanId, now: Instant) -> Option<u64> {
        let (&key, sender) = self
            .conversations
            .iter()
            .filter(|(_, c)| c.tx.is_none() && c.rx != Some(peer))
            .filter_map(|(k, c)| {
                let since = c.awaiting_flow_control?;
                (now.saturating_duration_since(since).as_micros() <= u128::from(PAIRING_WINDOW_US))
                    .then_some((k, c))
            })
            .max_by_key(|(_, c)| c.awaiting_flow_control)?;
        let sender_id = sender.rx?;
        let address = pair_address(sender_id, peer)?;
        let endpoint = Endpoint::new(address, self.config).ok()?;
        let old = self.conversations.remove(&key)?;
        self.busy.remove(&key);
        if let Some(k) = self.by_id.remove(&peer) {
            // The peer was followed alone: its own transfer in progress, if any, is dropped.
            self.conversations.remove(&k);
            self.busy.remove(&k);
        }
        self.by_id.remove(&sender_id);
        let new_key = self.insert(Conversation {
            tx: Some(sender_id),
            rx: Some(peer),
            endpoint,
            pending: Vec::new(),
            awaiting_flow_control: None,
        });
        if let Some(c) = self.conversations.get_mut(&new_key) {
            for (f, t) in &old.pending {
                c.endpoint.handle_frame(f, *t);
            }
            // Nothing completes during the replay (the transfer is still waiting for this flow
            // control), but drain to keep the endpoint's queue empty.
            while c.endpoint.poll_event().is_some() {}
        }
        Some(new_key)
    }

    /// Moves the endpoint's events of conversation `key` into `found`.
    fn collect(&mut self, key: u64, time: Timestamp, found: &mut Vec<Found>) {
        let Some(c) = self.conversations.get_mut(&key) else {
            return;
        };
        while let Some(event) = c.endpoint.poll_event() {
            match event {
                Event::Received {
                    payload,
                    target_address_type,
                } => {
                    if let Some(from) = c.rx {
                        found.push(Found::Message(Sniffed {
                            time,
                            from,
                            to: c.tx,
                            target: target_address_type,
                            payload,
                        }));
                    }
                }
                Event::Observed {
                    payload,
                    target_address_type,
                } => {
                    if let Some(from) = c.tx {
                        found.push(Found::Message(Sniffed {
                            time,
                            from,
                            to: c.rx,
                            target: target_address_type,
                            payload,
                        }));
                    }
                }
                Event::ReceiveFailed { error } | Event::SendFailed { error, .. } => {
                    let conversation = match (c.tx, c.rx) {
                        (Some(t), Some(r)) => format!("{t}/{r}"),
                        (Some(one), None) | (None, Some(one)) => one.to_string(),
                        (None, None) => "?".into(),
                    };
                    found.push(Found::Failure {
                        time,
                        conversation,
                        error,
                    });
                }
                _ => {}
            }
        }
        if c.endpoint.is_receiving() {
            self.busy.insert(key);
        } else {
            self.busy.remove(&key);
        }
    }

    fn expire(&mut self, now: Instant, found: &mut Vec<Found>) {
        let due: Vec<u64> = self
            .busy
            .iter()
            .copied()
            .filter(|k| {
                self.conversations
                    .get(k)
                    .and_then(|c| c.endpoint.poll_timeout())
                    .is_some_and(|d| d <= now)
            })
            .collect();
        for key in due {
            if let Some(c) = self.conversations.get_mut(&key) {
                c.endpoint.handle_timeout(now);
            }
            self.collect(key, Timestamp::from_micros(now.as_micros()), found);
        }
    }

    /// Runs the timers at `time` (live: when nothing arrived for a while).
    pub fn tick(&mut self, time: Timestamp, found: &mut Vec<Found>) {
        let now = self.instant(time);
        self.expire(now, found);
    }

    /// The ids of transfers still in progress (at the end of a log).
    pub fn unfinished(&self) -> Vec<CanId> {
        self.busy
            .iter()
            .filter_map(|k| self.conversations.get(k))
            .filter_map(|c| c.rx.or(c.tx))
            .collect()
    }
}

/// An id followed alone: receive only.
fn single_address(id: CanId) -> Option<Address> {
    Address::from_ids(None, Some(id), AddressBytes::None).ok()
}

/// A pair: `sender` sent the first frame (observed as our transmit side), `peer` answered.
fn pair_address(sender: CanId, peer: CanId) -> Option<Address> {
    Address::from_ids(Some(sender), Some(peer), AddressBytes::None).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotp_core::Frame;

    fn id(raw: u32) -> CanId {
        CanId::standard(raw).unwrap()
    }

    fn f(raw: u32, data: &[u8]) -> Frame {
        Frame::new(id(raw), data).unwrap()
    }

    fn feed(t: &mut Tracker, frames: &[(u64, Frame)]) -> Vec<Found> {
        let mut found = Vec::new();
        for (ms, frame) in frames {
            t.frame(
                frame,
                Timestamp::from_micros(1_000_000_000 + ms * 1000),
                &mut found,
            );
        }
        found
    }

    fn messages(found: &[Found]) -> Vec<(u32, Option<u32>, Vec<u8>)> {
        found
            .iter()
            .filter_map(|x| match x {
                Found::Message(m) => Some((m.from.raw(), m.to.map(|t| t.raw()), m.payload.clone())),
                Found::Failure { .. } => None,
            })
            .collect()
    }

    fn conversation() -> Vec<(u64, Frame)> {
        vec![
            (0, f(0x7E0, &[0x03, 0x22, 0xF1, 0x90])),
            (1, f(0x7E8, &[0x10, 0x0A, 0x62, 0xF1, 0x90, 1, 2, 3])),
            (2, f(0x7E0, &[0x30, 0x00, 0x00])),
            (3, f(0x7E8, &[0x21, 4, 5, 6, 7])),
        ]
    }

    #[test]
    fn fixed_ids_reassemble_both_directions() {
        let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
        let mut t = Tracker::fixed(address, Some(id(0x7E0)), Some(id(0x7E8)), 4095).unwrap();
        let found = feed(&mut t, &conversation());
        assert_eq!(
            messages(&found),
            vec![
                (0x7E0, Some(0x7E8), vec![0x22, 0xF1, 0x90]),
                (
                    0x7E8,
                    Some(0x7E0),
                    vec![0x62, 0xF1, 0x90, 1, 2, 3, 4, 5, 6, 7]
                ),
            ]
        );
    }

    #[test]
    fn discovery_pairs_ids_through_flow_control() {
        let mut t = Tracker::discovering(4095);
        let mut frames = conversation();
        frames.push((10, f(0x7E0, &[0x02, 0x3E, 0x00])));
        frames.push((11, f(0x123, &[0x01, 0xAA])));
        let found = feed(&mut t, &frames);
        assert_eq!(
            messages(&found),
            vec![
                (0x7E0, None, vec![0x22, 0xF1, 0x90]),
                (
                    0x7E8,
                    Some(0x7E0),
                    vec![0x62, 0xF1, 0x90, 1, 2, 3, 4, 5, 6, 7]
                ),
                (0x7E0, Some(0x7E8), vec![0x3E, 0x00]),
                (0x123, None, vec![0xAA]),
            ]
        );
    }

    #[test]
    fn timeouts_are_measured_in_log_time() {
        let mut t = Tracker::discovering(4095);
        let found = feed(
            &mut t,
            &[
                (0, f(0x7E8, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6])),
                (5000, f(0x7E8, &[0x21, 7, 8, 9, 10])),
            ],
        );
        assert!(matches!(
            found.as_slice(),
            [Found::Failure {
                error: ProtocolError::TimeoutCr { .. },
                ..
            }]
        ));
        assert!(t.unfinished().is_empty());
    }

    #[test]
    fn an_unfinished_transfer_is_reported() {
        let mut t = Tracker::discovering(4095);
        let found = feed(&mut t, &[(0, f(0x7E8, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6]))]);
        assert!(found.is_empty());
        assert_eq!(t.unfinished(), vec![id(0x7E8)]);
    }

    #[test]
    fn oversized_transfers_fail_and_stay_quiet() {
        let mut t = Tracker::discovering(8);
        let found = feed(&mut t, &[(0, f(0x7E8, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6]))]);
        assert!(matches!(
            found.as_slice(),
            [Found::Failure {
                error: ProtocolError::MessageTooLarge { .. },
                ..
            }]
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let mut t = Tracker::discovering(4095);
        let mut found = Vec::new();
        for i in 0..2000u32 {
            let b = i.to_le_bytes();
            let data = [b[0] ^ 0x5A, b[1], b[0].wrapping_mul(7), 0x10, b[0], 0, 0, 0];
            let len = (i % 9) as usize;
            t.frame(
                &f(i % 5, &data[..len]),
                Timestamp::from_micros(u64::from(i) * 100),
                &mut found,
            );
        }
        t.tick(Timestamp::from_micros(u64::MAX / 2), &mut found);
    }
}
