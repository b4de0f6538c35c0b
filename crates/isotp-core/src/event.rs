//! What an endpoint reports to its driver.

use alloc::vec::Vec;

use crate::addressing::TargetAddressType;
use crate::error::{ProtocolError, Warning};

/// Identifies a message given to [`crate::Endpoint::send`], so its outcome can be matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub(crate) u64);

impl MessageId {
    /// The sequence number of the message (0 for the first one sent by an endpoint).
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Something that happened, from [`crate::Endpoint::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A complete message arrived on the receive address.
    Received {
        /// The message.
        payload: Vec<u8>,
        /// Physical or functional.
        target_address_type: TargetAddressType,
    },
    /// Listen mode: a complete message went out on the transmit address (sent by the node whose
    /// address this endpoint mirrors).
    Observed {
        /// The message.
        payload: Vec<u8>,
        /// Physical or functional.
        target_address_type: TargetAddressType,
    },
    /// A message was sent completely (after its last frame, or its confirmation when the driver
    /// confirms transmissions).
    Sent {
        /// The message.
        id: MessageId,
    },
    /// A message could not be sent; the next queued message, if any, follows.
    SendFailed {
        /// The message.
        id: MessageId,
        /// Why.
        error: ProtocolError,
    },
    /// A first frame started a segmented reception (N_USData_FF.indication); only on endpoints built
    /// with [`crate::Endpoint::with_first_frame_indication`]. Its end is a `Received` or a
    /// `ReceiveFailed`; [`crate::Endpoint::reception_progress`] tells how far it is meanwhile.
    ReceptionStarted {
        /// FF_DL: the announced message length.
        length: u32,
        /// Physical (a first frame is never functional).
        target_address_type: TargetAddressType,
    },
    /// A reception failed and its data was dropped.
    ReceiveFailed {
        /// Why.
        error: ProtocolError,
    },
    /// A frame was ignored.
    Warning(Warning),
}

/// How far a segmented reception is, from [`crate::Endpoint::reception_progress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReceptionProgress {
    /// Bytes received so far.
    pub received: u32,
    /// FF_DL: the announced message length.
    pub length: u32,
}
