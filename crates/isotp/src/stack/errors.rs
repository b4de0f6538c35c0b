//! [`Errors`]: the asynchronous errors of a link.

use std::time::Duration;

use super::error::StackError;

/// The asynchronous errors of a link, from [`Link::errors`](super::Link::errors): failed transfers
/// in both directions and bus failures, oldest first.
///
/// A handle may be moved to another thread and cloned; the clones share one queue, so each error
/// is taken by one reader. Once the link is dropped, the errors still queued can be read, and then
/// every call returns `None` at once.
///
/// ```
/// use isotp::{bus::VirtualBus, Address, Config, ProtocolError, Stack, StackError};
/// use std::time::Duration;
///
/// let mut config = Config::default();
/// config.n_bs = Duration::from_millis(10);
/// let tester = Stack::new(VirtualBus::new().attach(), Address::normal_11(0x7E0, 0x7E8)?, config)?;
/// tester.send(&[0x36; 20])?; // nobody answers its first frame
/// let error = tester.errors().recv_timeout(Duration::from_secs(5));
/// assert!(matches!(error, Some(StackError::Protocol(ProtocolError::TimeoutBs { .. }))));
/// assert!(tester.errors().try_recv().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Errors {
    queue: crossbeam_channel::Receiver<StackError>,
}

impl Errors {
    pub(crate) fn new(queue: crossbeam_channel::Receiver<StackError>) -> Errors {
        Errors { queue }
    }

    /// The oldest error if one is waiting.
    pub fn try_recv(&self) -> Option<StackError> {
        self.queue.try_recv().ok()
    }

    /// Waits up to `timeout` for an error; `None` when none came (or the link is gone and none
    /// is left).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<StackError> {
        self.queue.recv_timeout(timeout).ok()
    }

    /// The errors waiting now, oldest first, without waiting for more.
    pub fn try_iter(&self) -> impl Iterator<Item = StackError> + '_ {
        self.queue.try_iter()
    }
}
