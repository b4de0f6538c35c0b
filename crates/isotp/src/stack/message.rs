//! [`Message`]: a complete message a link delivers.

use isotp_core::{Direction, TargetAddressType};

/// A complete message delivered by a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The message bytes.
    pub payload: Vec<u8>,
    /// Physical or functional.
    pub target_address_type: TargetAddressType,
    /// [`Rx`](Direction::Rx): sent to this link's receive address. [`Tx`](Direction::Tx): listen
    /// mode only, sent on this link's transmit address by the node it mirrors (see
    /// [`ObservedMessages`](super::ObservedMessages)).
    pub direction: Direction,
    /// When its last frame arrived.
    pub at: std::time::Instant,
}
