//! [`Direction`]: which way a frame or a message went.

/// Which way a frame or a message went, as seen by one node: the one that recorded a log, the
/// user of a traced bus, or a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received by the node.
    Rx,
    /// Transmitted by the node (for a link in listen mode: by the node it mirrors).
    Tx,
}
