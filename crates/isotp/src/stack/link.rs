//! A handle on one ISO-TP link of a [`Node`](super::Node): send, receive, control.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use isotp_core::{Address, Config, LinkKey, MessageId, TargetAddressType};

use super::completion::{Completion, Outcome};
use super::engine::{LinkMail, LinkState};
use super::error::StackError;
use super::errors::Errors;
use super::mailbox::Look;
use super::message::Message;
use super::node::Runner;
use super::reconfigured::Reconfigured;

/// One ISO-TP link: its own address, configuration, transmit queue and receive mailbox.
///
/// Created by [`Node::add`](super::Node::add), or inside a [`Stack`](super::Stack). All methods take
/// `&self` and may be called from any thread. Dropping the link removes it from its node.
pub struct Link {
    runner: Arc<Runner>,
    key: LinkKey,
    mail: Arc<LinkMail>,
    address: std::sync::Mutex<Address>,
}

impl Link {
    pub(crate) fn new(
        runner: Arc<Runner>,
        key: LinkKey,
        mail: Arc<LinkMail>,
        address: Address,
    ) -> Link {
        Link {
            runner,
            key,
            mail,
            address: std::sync::Mutex::new(address),
        }
    }

    /// Runs `f` on the link's state, then sends what is due and wakes the engine thread if needed.
    fn with<R>(&self, f: impl FnOnce(&mut LinkState) -> R) -> Result<R, StackError> {
        let shared = &self.runner.shared;
        let mut st = shared.lock();
        let link = st.link_mut(self.key).ok_or(StackError::Stopped)?;
        let r = f(link);
        let st = shared.service(st, self.key, shared.clock.now());
        shared.kick_if_needed(&st);
        Ok(r)
    }

    /// Reads the link's state without sending anything or waking the engine thread.
    fn peek<R>(&self, f: impl FnOnce(&LinkState) -> R) -> Option<R> {
        let mut st = self.runner.shared.lock();
        st.link_mut(self.key).map(|l| f(l))
    }

    /// Changes the link's state that does not affect what is due on the bus.
    fn peek_mut<R>(&self, f: impl FnOnce(&mut LinkState) -> R) -> Option<R> {
        let mut st = self.runner.shared.lock();
        st.link_mut(self.key).map(f)
    }

    /// Queues a message to the physical address. Returns at once; failures arrive on
    /// [`errors`](Link::errors). Use [`send_blocking`](Link::send_blocking) to wait for the outcome.
    ///
    /// # Errors
    ///
    /// Those of [`send_to`](Link::send_to).
    pub fn send(&self, payload: &[u8]) -> Result<MessageId, StackError> {
        self.send_to(payload, TargetAddressType::Physical)
    }

    /// Queues a message to the physical or functional address (functional: single frames only).
    ///
    /// # Errors
    ///
    /// [`StackError::Send`] when the message cannot be queued (empty, too long, functional and
    /// multi-frame, the transmit queue full, listen mode); [`StackError::Stopped`] after the stack
    /// stopped.
    pub fn send_to(
        &self,
        payload: &[u8],
        target: TargetAddressType,
    ) -> Result<MessageId, StackError> {
        Ok(self.with(|l| l.endpoint.send(payload, target))??)
    }

    /// Sends a message and waits until its last frame is on the bus, or the transfer fails, or
    /// `timeout` passes (then the message is still sent in the background).
    ///
    /// # Errors
    ///
    /// Those of [`send_blocking_to`](Link::send_blocking_to).
    pub fn send_blocking(
        &self,
        payload: &[u8],
        timeout: Option<Duration>,
    ) -> Result<(), StackError> {
        self.send_blocking_to(payload, TargetAddressType::Physical, timeout)
    }

    /// [`send_blocking`](Link::send_blocking) with a target address type.
    ///
    /// # Errors
    ///
    /// Those of [`send_to`](Link::send_to); then [`StackError::Protocol`] when the transfer fails
    /// (N_Bs, an overflow flow control ...), [`StackError::Bus`] when the bus fails,
    /// [`StackError::Stopped`] when the message is dropped, [`StackError::Timeout`] when `timeout`
    /// passes first.
    pub fn send_blocking_to(
        &self,
        payload: &[u8],
        target: TargetAddressType,
        timeout: Option<Duration>,
    ) -> Result<(), StackError> {
        let (id, completion) = self.queue_awaited(payload, target)?;
        let shared = &self.runner.shared;
        let unregister = || {
            completion.poll(Look::Only);
        };
        match shared.block_on(timeout, |look| completion.poll(look), unregister) {
            Some(outcome) => outcome_result(outcome),
            None => {
                self.forget(id);
                Err(StackError::Timeout {
                    waited: timeout.unwrap_or_default(),
                    what: "the message to be sent",
                })
            }
        }
    }

    /// Queues a message whose outcome the caller waits for.
    pub(crate) fn queue_awaited(
        &self,
        payload: &[u8],
        target: TargetAddressType,
    ) -> Result<(MessageId, Arc<Completion>), StackError> {
        // Registered under the same lock as the send: the outcome may come before we wait.
        Ok(self.with(|l| {
            let id = l.endpoint.send(payload, target)?;
            let completion = Completion::new();
            l.awaited.insert(id, completion.clone());
            Ok::<_, isotp_core::SendError>((id, completion))
        })??)
    }

    /// Stops keeping the outcome of `id` (its waiter gave up); the message is still sent.
    pub(crate) fn forget(&self, id: MessageId) {
        let _ = self.peek_mut(|l| l.awaited.remove(&id));
    }

    /// Messages whose outcome is kept for a waiter.
    #[cfg(test)]
    pub(crate) fn awaited(&self) -> usize {
        self.peek(|l| l.awaited.len()).unwrap_or(0)
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn mail(&self) -> &LinkMail {
        &self.mail
    }

    /// The node's engine, for waiters of this crate.
    pub(crate) fn runner_shared(&self) -> &Arc<super::engine::Shared> {
        &self.runner.shared
    }

    /// The node's engine, for async waiters that drive it.
    #[cfg(feature = "tokio")]
    pub(crate) fn shared(&self) -> &Arc<super::engine::Shared> {
        &self.runner.shared
    }

    /// Waits up to `timeout` (forever with `None`) for the next message; `Ok(None)` on timeout.
    ///
    /// A timeout asked for while this link transmits (a message being sent or queued) starts
    /// counting when that transmission ends, sent or failed: a response cannot begin before its
    /// request has ended, and UDS starts its P2 timeout at the request's confirmation (ISO
    /// 14229-2, T_Data.con). So `send` then `recv(Some(p2))` waits as long as
    /// [`send_blocking`](Link::send_blocking) then `recv(Some(p2))`. A message that arrives
    /// meanwhile is returned at once.
    ///
    /// # Errors
    ///
    /// [`StackError::Stopped`] when the stack has stopped.
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Option<Vec<u8>>, StackError> {
        Ok(self.recv_message(timeout)?.map(|m| m.payload))
    }

    /// Like [`recv`](Link::recv), with the target address type, direction and arrival time.
    ///
    /// # Errors
    ///
    /// [`StackError::Stopped`] when the stack has stopped.
    pub fn recv_message(&self, timeout: Option<Duration>) -> Result<Option<Message>, StackError> {
        let timeout = timeout.map(|t| self.timeout_after_transmission(t));
        let messages = &self.mail.messages;
        let got = self.runner.shared.block_on(
            timeout,
            |look| messages.poll(look),
            || messages.unpark_registration(),
        );
        self.made_room();
        match got {
            Some(Ok(m)) => Ok(Some(m)),
            Some(Err(())) => Err(StackError::Stopped),
            None => Ok(None),
        }
    }

    /// What is left of a receive timeout of `timeout` asked for now, once this link's
    /// transmission has ended (see [`recv`](Link::recv)); waits for that end, or for a message.
    /// A zero timeout is a poll: it never waits.
    fn timeout_after_transmission(&self, timeout: Duration) -> Duration {
        if timeout.is_zero() {
            return timeout;
        }
        let Some(ends) = self.transmission_in_progress() else {
            return timeout;
        };
        let mail = &self.mail;
        self.runner.shared.block_on(
            None,
            |look| mail.transmission_ended_or_message(ends, look).then_some(()),
            || mail.messages.unpark_registration(),
        );
        self.timeout_left(ends, timeout)
    }

    /// While the link transmits: how many of its transmissions had ended so far, to tell when
    /// this one has.
    pub(crate) fn transmission_in_progress(&self) -> Option<u64> {
        self.peek(|l| {
            l.mail
                .transmitting
                .load(Ordering::SeqCst)
                .then(|| l.mail.tx_ends.load(Ordering::SeqCst))
        })
        .flatten()
    }

    /// `timeout` counted from the end of the transmission that was in progress when
    /// [`transmission_in_progress`](Link::transmission_in_progress) gave `ends`; all of it while
    /// that transmission goes on (a message came first).
    pub(crate) fn timeout_left(&self, ends: u64, timeout: Duration) -> Duration {
        let mail = &self.mail;
        if mail.tx_ends.load(Ordering::SeqCst) == ends {
            return timeout;
        }
        let clock = self.runner.shared.clock;
        let ended = isotp_core::Instant::from_micros(mail.tx_ended_at.load(Ordering::SeqCst));
        (clock.to_std(ended) + timeout).saturating_duration_since(std::time::Instant::now())
    }

    /// Waits up to `start` for a message to begin, then for as long as its reception runs: what
    /// UDS's P2 timeout means (the server must start its response within P2; a long response may
    /// take longer to arrive). `Ok(None)` when no message started in time; a reception that starts
    /// but fails ends the wait with its error (the same error is also on [`errors`](Link::errors)).
    ///
    /// ```
    /// use isotp::{bus::VirtualBus, Address, Config, Stack};
    /// use std::time::Duration;
    ///
    /// let bus = VirtualBus::new();
    /// let address = Address::normal_11(0x7E0, 0x7E8)?;
    /// let tester = Stack::new(bus.attach(), address, Config::default())?;
    /// let ecu = Stack::new(bus.attach(), address.mirrored()?, Config::default())?;
    /// ecu.send(&[0x62; 4000])?; // about 570 frames: longer than the 50 ms below on a slow bus
    /// let response = tester.recv_started_within(Duration::from_millis(50))?;
    /// assert_eq!(response.map(|m| m.payload.len()), Some(4000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`StackError::Protocol`] when the reception that started fails (N_Cr, a wrong sequence
    /// number ...), [`StackError::Stopped`] when the stack has stopped.
    pub fn recv_started_within(&self, start: Duration) -> Result<Option<Message>, StackError> {
        if let Some(m) = self.recv_message(Some(start))? {
            return Ok(Some(m));
        }
        let mail = &self.mail;
        let got = self.runner.shared.block_on(
            None,
            |look| match mail.messages.poll(look) {
                Some(r) => Some(r.map(Some)),
                None if !mail.receiving.load(Ordering::SeqCst) => Some(Ok(None)),
                None => None,
            },
            || mail.messages.unpark_registration(),
        );
        self.made_room();
        match got {
            Some(Ok(Some(m))) => Ok(Some(m)),
            Some(Err(())) => Err(StackError::Stopped),
            // The reception ended without a message: it failed, and said why.
            _ => match *mail
                .reception_failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
            {
                Some(e) => Err(StackError::Protocol(e)),
                None => Ok(None),
            },
        }
    }

    /// How far the segmented reception in progress is (bytes so far and FF_DL), if one is.
    pub fn reception_progress(&self) -> Option<isotp_core::ReceptionProgress> {
        self.peek(|l| l.endpoint.reception_progress()).flatten()
    }

    /// The next message if one is waiting.
    pub fn try_recv(&self) -> Option<Vec<u8>> {
        let m = self.mail.messages.try_pop().map(|m| m.payload);
        self.made_room();
        m
    }

    /// After the application took a message: if the engine had told the endpoint the queue was
    /// full, there is room again (a held reception gets its FC.CTS now).
    pub(crate) fn made_room(&self) {
        let mail = &self.mail;
        if mail.not_ready.load(Ordering::SeqCst)
            && mail.messages.len() < mail.messages.capacity()
            && mail.not_ready.swap(false, Ordering::SeqCst)
        {
            let _ = self.with(|l| l.endpoint.set_receive_ready(true));
        }
    }

    /// True when a message is waiting to be read.
    pub fn available(&self) -> bool {
        self.mail.messages.len() > 0
    }

    /// Waits up to `timeout` (forever with `None`) for a message to be readable, taking nothing:
    /// true when one waits (or the stack stopped, so that `recv` answers at once). For callers that
    /// take the message elsewhere, e.g. an event loop that must not lose a message to a waiter it
    /// cancelled.
    pub fn wait_available(&self, timeout: Option<Duration>) -> bool {
        let messages = &self.mail.messages;
        self.runner
            .shared
            .block_on(
                timeout,
                |look| messages.poll_ready(look).then_some(()),
                || messages.unpark_registration(),
            )
            .is_some()
    }

    /// True while a message is being sent or queued.
    pub fn transmitting(&self) -> bool {
        self.peek(|l| l.endpoint.is_transmitting()).unwrap_or(false)
    }

    /// True while a segmented message is being received.
    pub fn receiving(&self) -> bool {
        self.peek(|l| l.endpoint.is_receiving()).unwrap_or(false)
    }

    /// Asynchronous errors: failed transfers in both directions and bus failures (the last 256 are
    /// kept when nobody reads them).
    pub fn errors(&self) -> Errors {
        Errors::new(self.mail.errors_rx.clone())
    }

    /// Abandons the message being sent and the queue; `send_blocking` callers get
    /// [`StackError::Stopped`].
    pub fn stop_sending(&self) {
        let _ = self.with(|l| {
            l.endpoint.stop_sending();
            l.drop_awaited(Outcome::Dropped);
        });
        // A receiver whose timeout waited for the transmission to end may be the thread reading
        // the bus, with no timer left to wake it.
        self.runner.shared.bus.interrupt();
    }

    /// Abandons the message being received.
    pub fn stop_receiving(&self) {
        let _ = self.with(|l| l.endpoint.stop_receiving());
    }

    /// Abandons both directions and empties the receive mailbox.
    pub fn reset(&self) {
        self.stop_sending();
        let _ = self.with(|l| l.endpoint.reset());
        self.mail.messages.clear();
        self.made_room();
    }

    /// Changes the configuration if the link is idle: nothing being sent or queued, no segmented
    /// message being received. The check and the change happen under one lock, so a first frame
    /// that arrives meanwhile is never dropped by the change: either it came before (nothing
    /// changes, [`Reconfigured::Busy`]) or it is received with the new configuration.
    ///
    /// ```
    /// use isotp::{bus::VirtualBus, Address, Config, Reconfigured, Stack, StMin};
    ///
    /// let address = Address::normal_11(0x7E0, 0x7E8)?;
    /// let stack = Stack::new(VirtualBus::new().attach(), address, Config::default())?;
    /// let mut config = Config::default();
    /// config.st_min = StMin::from_byte(100); // 100 ms
    /// assert_eq!(stack.link().set_config_if_idle(config)?, Reconfigured::Applied);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`set_config`](Link::set_config).
    pub fn set_config_if_idle(&self, config: Config) -> Result<Reconfigured, StackError> {
        config.validate()?;
        self.runner.refuse_unsupported_fd(&config)?;
        self.with(|l| {
            let e = &mut l.endpoint;
            if e.is_transmitting() || e.is_receiving() || e.queued() > 0 {
                return Ok(Reconfigured::Busy);
            }
            e.set_config(config).map(|()| Reconfigured::Applied)
        })?
        .map_err(StackError::from)
    }

    /// Changes the configuration (transfers in progress and queued messages are dropped, their
    /// senders told [`StackError::Stopped`]); received messages not yet read are kept.
    ///
    /// # Errors
    /// [`StackError::Config`] when `config` is invalid, [`StackError::CanFdUnsupported`] when it
    /// asks for CAN FD on a bus that carries classic frames only (nothing changes then);
    /// [`StackError::Stopped`] after the stack stopped.
    pub fn set_config(&self, config: Config) -> Result<(), StackError> {
        config.validate()?;
        self.runner.refuse_unsupported_fd(&config)?;
        self.stop_sending();
        self.with(|l| l.endpoint.set_config(config))??;
        Ok(())
    }

    /// Changes the address (transfers in progress are abandoned).
    pub fn set_address(&self, address: Address) {
        self.stop_sending();
        let shared = &self.runner.shared;
        let mut st = shared.lock();
        if let Some(l) = st.link_mut(self.key) {
            l.endpoint.set_address(address);
        }
        shared.reroute(&mut st, self.key);
        drop(st);
        shared.update_filter();
        *self.address.lock().unwrap_or_else(|e| e.into_inner()) = address;
    }

    /// The link's address.
    pub fn address(&self) -> Address {
        *self.address.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The link's configuration.
    pub fn config(&self) -> Option<Config> {
        self.peek(|l| *l.endpoint.config())
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.runner.shared.remove_link(self.key);
    }
}

/// What a waiting sender returns for its message's outcome.
pub(crate) fn outcome_result(outcome: Outcome) -> Result<(), StackError> {
    match outcome {
        Outcome::Sent => Ok(()),
        Outcome::Failed(e) => Err(StackError::Protocol(e)),
        Outcome::BusFailed(e) => Err(StackError::Bus(e.duplicate())),
        Outcome::Dropped => Err(StackError::Stopped),
    }
}
