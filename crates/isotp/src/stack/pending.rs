//! [`PendingSend`]: a queued message whose outcome its sender awaits in steps, for callers that
//! must stay responsive while they wait (a Python binding checking for Ctrl-C, a UI).

use std::sync::Arc;
use std::time::Duration;

use isotp_core::{MessageId, TargetAddressType};

use super::completion::Completion;
use super::link::{outcome_result, Link};
use super::mailbox::Look;
use super::StackError;

/// A message queued by [`Link::send_pending`]. [`wait`](PendingSend::wait) as often as needed;
/// dropping the handle stops keeping the outcome (the message is still sent).
///
/// ```
/// use std::time::Duration;
/// use isotp::{bus::VirtualBus, Address, Config, Stack};
///
/// let bus = VirtualBus::new();
/// let address = Address::normal_11(0x7E0, 0x7E8)?;
/// let tester = Stack::new(bus.attach(), address, Config::default())?;
/// let _ecu = Stack::new(bus.attach(), address.mirrored()?, Config::default())?;
/// let mut pending = tester.send_pending(&[0x22; 100], isotp::TargetAddressType::Physical)?;
/// let outcome = loop {
///     // Between two steps the caller may look at other things (signals, a cancel button).
///     if let Some(outcome) = pending.wait(Some(Duration::from_millis(50))) {
///         break outcome;
///     }
/// };
/// assert!(outcome.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping the handle stops keeping the outcome"]
pub struct PendingSend<'a> {
    link: &'a Link,
    id: MessageId,
    completion: Arc<Completion>,
    finished: bool,
}

impl PendingSend<'_> {
    /// The message's id (as [`Link::send_to`] returns it).
    #[must_use]
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// Waits up to `timeout` (forever with `None`) for the outcome: `Some` once the message is
    /// sent or has failed (the same outcome again on later calls is not given: `None` then), `None`
    /// while it is still queued or in transmission.
    ///
    /// # Errors
    /// Inside the `Some`: the protocol error that ended the transmission (N_Bs, an overflow flow
    /// control ...), the bus's error, or [`StackError::Stopped`] when the message was dropped.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Option<Result<(), StackError>> {
        if self.finished {
            return None;
        }
        let completion = &self.completion;
        let outcome = self.link.runner_shared().block_on(
            timeout,
            |look| completion.poll(look),
            || {
                completion.poll(Look::Only);
            },
        )?;
        self.finished = true;
        Some(outcome_result(outcome))
    }
}

impl Drop for PendingSend<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.link.forget(self.id);
        }
    }
}

impl Link {
    /// Queues a message and returns a handle to await its outcome in steps
    /// ([`send_blocking_to`](Link::send_blocking_to) waits in one).
    ///
    /// # Errors
    /// [`StackError::Send`] when the message cannot be queued (empty, too long, functional and
    /// multi-frame, the transmit queue full, listen mode); [`StackError::Stopped`] after the stack
    /// stopped.
    pub fn send_pending(
        &self,
        payload: &[u8],
        target: TargetAddressType,
    ) -> Result<PendingSend<'_>, StackError> {
        let (id, completion) = self.queue_awaited(payload, target)?;
        Ok(PendingSend {
            link: self,
            id,
            completion,
            finished: false,
        })
    }
}
