//! [`AsyncStack`]: the [`Stack`](super::Stack) API for tokio tasks.

use std::sync::Arc;
use std::time::Duration;

use isotp_core::{Address, Config, TargetAddressType};

use super::engine::TaskWatch;
use super::error::StackError;
use super::link::{outcome_result, Link};
use super::mailbox::Look;
use super::message::Message;
use super::options::DriverOptions;
use super::stack::Stack;
use crate::bus::CanBus;

/// An ISO-TP link for async code: `send(..).await`, `recv().await`, cloneable and usable from many
/// tasks at once.
///
/// A task that awaits `recv` or `send` reads the bus itself when the bus can wake it
/// ([`Capabilities::task_wakeup`](crate::bus::Capabilities::task_wakeup): the virtual bus,
/// socketcand, SLCAN, and SocketCAN opened with `SocketCanBus::with_task_wakeup`), so the frame it
/// waits for wakes it with no thread in between; the node's
/// thread keeps the protocol's timers (STmin, N_Bs, N_Cr) precise, and serves other buses. A poll
/// never waits for a frame to arrive: it handles what has arrived, sends at most 16 frames (each as
/// long as the bus's `send` takes: on SocketCAN, until the kernel echoes it) and returns; a longer
/// burst is left to the node's thread. Every future is cancel-safe:
/// dropping it leaves no state behind (a dropped `send` still sends its message; a dropped `recv`
/// takes none).
///
/// ```
/// use isotp::{bus::VirtualBus, Address, AsyncStack, Config};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bus = VirtualBus::new();
/// let address = Address::normal_11(0x7E0, 0x7E8)?;
/// let tester = AsyncStack::new(bus.attach(), address, Config::default())?;
/// let ecu = AsyncStack::new(bus.attach(), address.mirrored()?, Config::default())?;
///
/// let server = tokio::spawn(async move {
///     let request = ecu.recv().await?;
///     ecu.send(&[0x50, request[1]]).await
/// });
/// tester.send(&[0x10, 0x03]).await?;
/// assert_eq!(tester.recv().await?, [0x50, 0x03]);
/// server.await??;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncStack {
    /// The same link on its own node as a [`Stack`]; async methods on top.
    stack: Arc<Stack>,
}

impl AsyncStack {
    /// Starts a link with `address` and `config` on `bus`.
    ///
    /// # Errors
    ///
    /// Those of [`Stack::new`].
    pub fn new(
        bus: impl CanBus,
        address: Address,
        config: Config,
    ) -> Result<AsyncStack, StackError> {
        AsyncStack::with_options(bus, address, config, DriverOptions::default())
    }

    /// [`AsyncStack::new`] with queue settings.
    ///
    /// # Errors
    ///
    /// Those of [`Stack::new`].
    pub fn with_options(
        bus: impl CanBus,
        address: Address,
        config: Config,
        options: DriverOptions,
    ) -> Result<AsyncStack, StackError> {
        let stack = Stack::with_options(bus, address, config, options)?;
        Ok(AsyncStack {
            stack: Arc::new(stack),
        })
    }

    /// Sends a message to the physical address and waits until its last frame is on the bus.
    ///
    /// # Errors
    ///
    /// Those of [`send_to`](AsyncStack::send_to).
    pub async fn send(&self, payload: &[u8]) -> Result<(), StackError> {
        self.send_to(payload, TargetAddressType::Physical).await
    }

    /// Sends to the physical or functional address and waits until it is on the bus.
    ///
    /// # Errors
    ///
    /// Those of [`Link::send_blocking_to`], without its timeout.
    pub async fn send_to(
        &self,
        payload: &[u8],
        target: TargetAddressType,
    ) -> Result<(), StackError> {
        let (id, completion) = self.stack.link().queue_awaited(payload, target)?;
        // Dropped before the outcome (cancelled): the link stops keeping it.
        let mut forget = Forget {
            link: self.stack.link(),
            id: Some(id),
        };
        let shared = self.stack.link().shared();
        let mut watch = TaskWatch::new();
        let outcome = completion.wait(|cx| watch.poll(shared, cx)).await;
        forget.id = None;
        outcome_result(outcome)
    }

    /// Queues a message without waiting for it to go out.
    ///
    /// # Errors
    ///
    /// Those of [`Link::send`].
    pub fn send_nowait(&self, payload: &[u8]) -> Result<(), StackError> {
        self.stack.link().send(payload).map(|_| ())
    }

    /// Waits for the next message.
    ///
    /// # Errors
    ///
    /// [`StackError::Stopped`] when the stack has stopped.
    pub async fn recv(&self) -> Result<Vec<u8>, StackError> {
        Ok(self.recv_message().await?.payload)
    }

    /// Waits for the next message, with its metadata.
    ///
    /// # Errors
    ///
    /// [`StackError::Stopped`] when the stack has stopped.
    pub async fn recv_message(&self) -> Result<Message, StackError> {
        let shared = self.stack.link().shared();
        let mut watch = TaskWatch::new();
        let got = self
            .stack
            .link()
            .mail()
            .messages
            .next_async(|cx| watch.poll(shared, cx))
            .await;
        self.stack.link().made_room();
        got.map_err(|()| StackError::Stopped)
    }

    /// Waits up to `timeout` for the next message; `Ok(None)` on timeout. A timeout asked for
    /// while this link transmits starts counting when that transmission ends, as
    /// [`Link::recv`]'s.
    ///
    /// # Errors
    ///
    /// [`StackError::Stopped`] when the stack has stopped.
    pub async fn recv_timeout(&self, timeout: Duration) -> Result<Option<Vec<u8>>, StackError> {
        let link = self.stack.link();
        let timeout = match link.transmission_in_progress() {
            None => timeout,
            Some(ends) => {
                let mut watch = TaskWatch::new();
                let shared = link.shared();
                let mail = link.mail();
                mail.messages
                    .wait_async(
                        |cx| watch.poll(shared, cx),
                        || {
                            mail.transmission_ended_or_message(ends, Look::Only)
                                .then_some(())
                        },
                    )
                    .await;
                link.timeout_left(ends, timeout)
            }
        };
        match tokio::time::timeout(timeout, self.recv()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The underlying link: `available`, `transmitting`, `stop_sending`, `reset`, `set_address`,
    /// `errors` and the rest.
    #[must_use]
    pub fn link(&self) -> &Link {
        self.stack.link()
    }
}

/// Forgets an awaited message when its future is dropped before the outcome.
struct Forget<'a> {
    link: &'a Link,
    id: Option<isotp_core::MessageId>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.link.forget(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::VirtualBus;
    use isotp_core::wire::StMin;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropped_futures_leave_nothing_behind() {
        let mut config = Config::default();
        config.st_min = StMin::from_byte(2);
        let bus = VirtualBus::new();
        let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
        let a = AsyncStack::new(bus.attach(), address, config).unwrap();
        let b = AsyncStack::new(bus.attach(), address.mirrored().unwrap(), config).unwrap();
        // A send cancelled while its ~60 frames go out: its outcome is not kept, the message still
        // arrives.
        let data = vec![0x11; 400];
        let cancelled = tokio::time::timeout(Duration::from_millis(20), a.send(&data)).await;
        assert!(cancelled.is_err(), "the send should still be running");
        assert_eq!(a.link().awaited(), 0);
        assert_eq!(b.recv().await.unwrap(), data);
        // A receive cancelled before anything came takes nothing: the next one gets the message.
        assert!(tokio::time::timeout(Duration::from_millis(5), b.recv())
            .await
            .is_err());
        a.send(&[1, 2, 3]).await.unwrap();
        assert_eq!(b.recv().await.unwrap(), [1, 2, 3]);
        assert_eq!(a.link().awaited(), 0);
    }
}
