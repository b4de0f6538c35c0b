//! What stack calls return and report.

use std::time::Duration;

use isotp_core::{ConfigError, ProtocolError, SendError, Warning};

use crate::bus::BusError;

/// Something a stack could not do, or a transfer that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// A transfer failed (timeout, wrong sequence number, overflow, ...).
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    /// The message was refused before anything was sent.
    #[error("{0}")]
    Send(#[from] SendError),
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The configuration asks for CAN FD and the bus carries classic frames only.
    #[error("the configuration asks for CAN FD but this bus carries classic CAN frames only (open the interface in CAN FD mode, or set link_layer.can_fd = false)")]
    CanFdUnsupported,
    /// The bus failed.
    #[error("{0}")]
    Bus(#[from] BusError),
    /// A blocking call gave up.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// How long the call waited.
        waited: Duration,
        /// What it waited for.
        what: &'static str,
    },
    /// Messages arrived while the link's receive queue was full, and were dropped.
    #[error("receive queue full: {dropped} message(s) dropped so far")]
    ReceiveQueueFull {
        /// Messages dropped since the link was created.
        dropped: u64,
    },
    /// A frame for this link was ignored (malformed, a consecutive frame with no reception in
    /// progress, a flow control with no transmission waiting for one ...): reported on
    /// [`Link::errors`](super::Link::errors) with
    /// [`IgnoredFrames::Reported`](super::IgnoredFrames::Reported), as can-isotp reports it to its
    /// error handler; nothing failed.
    #[error("{0}")]
    FrameIgnored(Warning),
    /// The message was dropped by `stop_sending`/`reset`/`set_address`, or the stack has stopped.
    #[error("the stack stopped before the operation completed")]
    Stopped,
}
