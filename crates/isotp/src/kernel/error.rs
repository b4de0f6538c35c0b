//! What [`KernelSocket`](super::KernelSocket) calls return.

use std::io;
use std::time::Duration;

/// A transfer failure the kernel reported (an `errno` of the CAN_ISOTP socket).
///
/// The kernel reports protocol errors asynchronously, on the socket, without saying which transfer
/// they belong to; [`KernelSocket`](super::KernelSocket) hands transmit-side errors to a waiting
/// `send_blocking` and the others to `recv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KernelProtocolError {
    /// `ECOMM`: no flow control frame within N_Bs (1 s in the kernel), or a sent frame was not
    /// echoed by the interface within 2 s. Sender side.
    NoFlowControl,
    /// `EMSGSIZE`: the receiver answered FC.OVFLW (the message is larger than its buffer). Sender side.
    Overflow,
    /// `EBADMSG`: a malformed flow control frame (too short, bad padding) as sender, or a frame that
    /// failed the padding checks as receiver.
    MalformedFrame,
    /// `EILSEQ`: a consecutive frame with the wrong sequence number. Receiver side.
    WrongSequenceNumber,
    /// `ETIMEDOUT`: no consecutive frame within N_Cr (1 s in the kernel). Receiver side.
    ConsecutiveFrameTimeout,
    /// `ENOBUFS`: the interface's transmit queue is full.
    NoBufferSpace,
    /// `ENETDOWN`: the interface is down.
    InterfaceDown,
    /// `ENODEV`: the interface disappeared.
    InterfaceGone,
    /// Any other errno.
    Other(i32),
}

impl KernelProtocolError {
    /// The error for an errno the CAN_ISOTP socket reported.
    #[must_use]
    pub fn from_errno(errno: i32) -> KernelProtocolError {
        match errno {
            libc::ECOMM => KernelProtocolError::NoFlowControl,
            libc::EMSGSIZE => KernelProtocolError::Overflow,
            libc::EBADMSG => KernelProtocolError::MalformedFrame,
            libc::EILSEQ => KernelProtocolError::WrongSequenceNumber,
            libc::ETIMEDOUT => KernelProtocolError::ConsecutiveFrameTimeout,
            libc::ENOBUFS => KernelProtocolError::NoBufferSpace,
            libc::ENETDOWN => KernelProtocolError::InterfaceDown,
            libc::ENODEV => KernelProtocolError::InterfaceGone,
            other => KernelProtocolError::Other(other),
        }
    }

    /// The errno.
    #[must_use]
    pub fn errno(self) -> i32 {
        match self {
            KernelProtocolError::NoFlowControl => libc::ECOMM,
            KernelProtocolError::Overflow => libc::EMSGSIZE,
            KernelProtocolError::MalformedFrame => libc::EBADMSG,
            KernelProtocolError::WrongSequenceNumber => libc::EILSEQ,
            KernelProtocolError::ConsecutiveFrameTimeout => libc::ETIMEDOUT,
            KernelProtocolError::NoBufferSpace => libc::ENOBUFS,
            KernelProtocolError::InterfaceDown => libc::ENETDOWN,
            KernelProtocolError::InterfaceGone => libc::ENODEV,
            KernelProtocolError::Other(e) => e,
        }
    }

    /// True for errors only a sender gets.
    #[must_use]
    pub fn is_sender_side(self) -> bool {
        matches!(
            self,
            KernelProtocolError::NoFlowControl | KernelProtocolError::Overflow
        )
    }

    /// True for errors only a receiver gets.
    #[must_use]
    pub fn is_receiver_side(self) -> bool {
        matches!(
            self,
            KernelProtocolError::WrongSequenceNumber | KernelProtocolError::ConsecutiveFrameTimeout
        )
    }
}

impl std::fmt::Display for KernelProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KernelProtocolError::NoFlowControl => f.write_str(
                "no flow control frame arrived within N_Bs (1 s), or the interface did not confirm a \
                 frame (ECOMM): is the receiver up, on the right ids and frame type (classic/FD)?",
            ),
            KernelProtocolError::Overflow => f.write_str(
                "the receiver answered FC.OVFLW: the message is larger than its buffer (EMSGSIZE)",
            ),
            KernelProtocolError::MalformedFrame => f.write_str(
                "a malformed frame: a flow control frame too short or badly padded, or a received \
                 frame that failed the padding checks (EBADMSG); compare both sides' padding settings",
            ),
            KernelProtocolError::WrongSequenceNumber => f.write_str(
                "a consecutive frame with the wrong sequence number; reception aborted (EILSEQ)",
            ),
            KernelProtocolError::ConsecutiveFrameTimeout => f.write_str(
                "no consecutive frame arrived within N_Cr (1 s); reception aborted (ETIMEDOUT)",
            ),
            KernelProtocolError::NoBufferSpace => f.write_str(
                "the interface's transmit queue is full (ENOBUFS): is the bus up and acknowledged?",
            ),
            KernelProtocolError::InterfaceDown => {
                f.write_str("the interface is down (ENETDOWN): `ip link set <iface> up`")
            }
            KernelProtocolError::InterfaceGone => {
                f.write_str("the interface disappeared (ENODEV)")
            }
            KernelProtocolError::Other(e) => write!(
                f,
                "the kernel reported: {}",
                io::Error::from_raw_os_error(*e)
            ),
        }
    }
}

/// Something a [`KernelSocket`](super::KernelSocket) could not do, or a transfer that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// The options are inconsistent; nothing was opened.
    #[error("invalid kernel ISO-TP socket options: {0}")]
    InvalidOptions(String),
    /// Creating, configuring or binding the socket failed.
    #[error("{context}: {source}")]
    Setup {
        /// What was being done, with a hint.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A transfer failed.
    #[error("{0}")]
    Protocol(KernelProtocolError),
    /// The message cannot be sent as it is.
    #[error("{0}")]
    InvalidPayload(String),
    /// A call with a timeout gave up.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// How long the call waited.
        waited: Duration,
        /// What it waited for.
        what: &'static str,
    },
    /// Another system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl KernelError {
    /// The protocol error, when this is one.
    #[must_use]
    pub fn protocol(&self) -> Option<KernelProtocolError> {
        match self {
            KernelError::Protocol(p) => Some(*p),
            _ => None,
        }
    }
}

impl From<KernelProtocolError> for KernelError {
    fn from(e: KernelProtocolError) -> Self {
        KernelError::Protocol(e)
    }
}
