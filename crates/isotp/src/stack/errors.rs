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
    #[must_use]
    pub fn try_recv(&self) -> Option<StackError> {
        self.queue.try_recv().ok()
    }

    /// Waits up to `timeout` for an error; `None` when none came (or the link is gone and none
    /// is left).
    #[must_use]
    pub fn recv_timeout(&self, timeout: Duration) -> Option<StackError> {
        self.queue.recv_timeout(timeout).ok()
    }

    /// The errors waiting now, oldest first, without waiting for more.
    pub fn try_iter(&self) -> impl Iterator<Item = StackError> + '_ {
        self.queue.try_iter()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use isotp_core::{Address, Config, ProtocolError};

    use super::*;
    use crate::bus::VirtualBus;
    use crate::Stack;

    /// A link whose every send fails with N_Bs after `n_bs` (nobody answers its first frame).
    fn unanswered(n_bs: Duration) -> Stack {
        let mut config = Config::default();
        config.n_bs = n_bs;
        let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
        Stack::new(VirtualBus::new().attach(), address, config).unwrap()
    }

    #[test]
    fn clones_share_one_queue_and_a_dropped_link_ends_every_wait() {
        let stack = unanswered(Duration::from_millis(1));
        let errors = stack.errors();
        let other = errors.clone();
        stack.send(&[0x36; 20]).unwrap();
        assert!(matches!(
            errors.recv_timeout(Duration::from_secs(10)),
            Some(StackError::Protocol(ProtocolError::TimeoutBs { .. }))
        ));
        // Taken by one reader: the clone does not see it again.
        assert!(other.try_recv().is_none());
        stack.send(&[0x36; 20]).unwrap();
        while errors.queue.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(stack);
        // What was queued is still read; then nothing more can come, and a wait ends at once.
        assert_eq!(other.try_iter().count(), 1);
        let asked = Instant::now();
        assert!(errors.recv_timeout(Duration::from_secs(30)).is_none());
        assert!(asked.elapsed() < Duration::from_secs(15));
    }
}
