//! What a [`Monitor`](super::Monitor) reports.

use alloc::vec::Vec;
use core::fmt;

use crate::error::{ProtocolError, Warning};
use crate::wire::{AddressLength, ParseError, Pdu};
use crate::{CanId, Frame, Instant, TargetAddressType};

/// One end of a conversation: the CAN id it sends on and, with extended or mixed addressing, the
/// address byte its frames lead with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Party {
    /// The CAN id of its frames.
    pub id: CanId,
    /// The address byte before the PCI (target address or address extension), if the addressing
    /// has one.
    pub address_byte: Option<u8>,
}

impl fmt::Display for Party {
    /// `7E8`, or `6F1[10]` with an address byte.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address_byte {
            Some(b) => write!(f, "{}[{b:02X}]", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}

/// Identifies a conversation for as long as it lasts. A discovered conversation that becomes a pair
/// (a flow control answered one of its first frames) continues under a new id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConversationId(pub(crate) u64);

impl ConversationId {
    /// The number of the conversation, in order of appearance.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A conversation and what is known of its two ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conversation {
    /// Its identity.
    pub id: ConversationId,
    /// The end on the transmit side of the address followed (for a discovered pair: the sender of the
    /// first frame that paired it), once known.
    pub tx: Option<Party>,
    /// The other end, once known.
    pub rx: Option<Party>,
}

impl Conversation {
    /// The end that is not `party`.
    #[must_use]
    pub fn peer_of(&self, party: Party) -> Option<Party> {
        match (self.tx, self.rx) {
            (Some(t), r) if t == party => r,
            (t, Some(r)) if r == party => t,
            _ => None,
        }
    }
}

impl fmt::Display for Conversation {
    /// `7E0/7E8` for a pair, `7E8` for an end seen alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.tx, self.rx) {
            (Some(t), Some(r)) => write!(f, "{t}/{r}"),
            (Some(one), None) | (None, Some(one)) => write!(f, "{one}"),
            (None, None) => write!(f, "#{}", self.id.0),
        }
    }
}

/// A frame's place in the monitored traffic: its number (0 for the first frame given to the monitor)
/// and when it was captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameRef {
    /// The frame's number, counting every frame handed to the monitor.
    pub index: u64,
    /// Its capture time.
    pub time: Instant,
}

/// Every frame, as the monitor saw it (with [`MonitorConfig::observe_frames`](super::MonitorConfig)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Which frame.
    pub at: FrameRef,
    /// The frame.
    pub frame: Frame,
    /// The conversation it went to, if any.
    pub conversation: Option<Conversation>,
    /// The end that sent it, when it belongs to a conversation.
    pub from: Option<Party>,
}

impl Observation {
    /// The PDU in the frame, parsed by the same rules as the engine (after the address byte of
    /// its sender, if any).
    ///
    /// # Errors
    ///
    /// The [`ParseError`] of a frame that is no valid PDU (the monitor observes every frame, valid
    /// or not).
    pub fn pdu(&self) -> Result<Pdu<'_>, ParseError> {
        let address_len = AddressLength::from_prefix(self.from.and_then(|p| p.address_byte));
        Pdu::parse(self.frame.data(), address_len)
    }
}

/// A complete message that went by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitoredMessage {
    /// The conversation it belongs to.
    pub conversation: Conversation,
    /// The end that sent it.
    pub from: Party,
    /// The end it went to, when known.
    pub to: Option<Party>,
    /// Physical or functional.
    pub target_address_type: TargetAddressType,
    /// The message.
    pub payload: Vec<u8>,
    /// Its single frame or first frame.
    pub first_frame: FrameRef,
    /// The frame that completed it (the same as `first_frame` for a single frame).
    pub last_frame: FrameRef,
}

/// Something a [`Monitor`](super::Monitor) found, from [`poll_event`](super::Monitor::poll_event),
/// in the order of the frames and timers that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorEvent {
    /// A frame was handed to the monitor (only with `observe_frames`); it comes before anything the
    /// frame completes.
    Frame(Observation),
    /// A message was reassembled.
    Message(MonitoredMessage),
    /// A transfer failed and its data was dropped: a timeout, a wrong sequence number, a message
    /// larger than `max_frame_size`...
    Failed {
        /// Where.
        conversation: Conversation,
        /// Why.
        error: ProtocolError,
        /// When: the frame that caused it, or for a timeout its deadline.
        time: Instant,
        /// The frame that caused it; `None` for a timeout.
        frame: Option<u64>,
    },
    /// A frame of a conversation was ignored by the rules of the standard (malformed, unexpected).
    Ignored {
        /// Where.
        conversation: Conversation,
        /// Why.
        warning: Warning,
        /// The frame.
        frame: FrameRef,
    },
}
