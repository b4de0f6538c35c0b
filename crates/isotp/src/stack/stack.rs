//! [`Stack`]: one ISO-TP link with its own bus and thread.

use std::time::Duration;

use isotp_core::{Address, Config, MessageId, ReceptionProgress, TargetAddressType};

use super::error::StackError;
use super::errors::Errors;
use super::link::Link;
use super::message::Message;
use super::node::Node;
use super::options::DriverOptions;
use super::pending::PendingSend;
use super::reconfigured::Reconfigured;
use crate::bus::CanBus;

/// A blocking ISO-TP link on its own bus, driven by one background thread — the counterpart of
/// can-isotp's `CanStack`.
///
/// Sending happens on the caller's thread, and a caller waiting in `recv` or `send_blocking` reads the
/// bus itself, so a request/response round trip costs one thread wake-up per direction. The
/// background thread drives the link while nobody waits. Both sleep on the bus until the next frame
/// or until 300 µs before the engine's next deadline (no polling period), then poll the bus until
/// that deadline, so STmin gaps are never shorter than asked and late by little more than one poll
/// of the bus ([`manual::time`](crate::manual::time)). A `Stack` has the methods of a [`Link`], documented there;
/// [`link`](Stack::link) lends the link itself to code that works with any link. Dropping the stack
/// stops its thread.
///
/// ```
/// use isotp::{bus::VirtualBus, Address, Config, Stack};
/// use std::time::Duration;
///
/// let bus = VirtualBus::new();
/// let address = Address::normal_11(0x7E0, 0x7E8)?;
/// let tester = Stack::new(bus.attach(), address, Config::default())?;
/// let ecu = Stack::new(bus.attach(), address.mirrored()?, Config::default())?;
///
/// tester.send_blocking(&[0x22, 0xF1, 0x90], Some(Duration::from_secs(1)))?;
/// let request = ecu.recv(Some(Duration::from_secs(1)))?.expect("a request");
/// ecu.send(&[0x62, 0xF1, 0x90, b'W', b'V', b'W', b'Z', b'Z', b'Z', b'1', b'J', b'Z'])?;
/// let response = tester.recv(Some(Duration::from_secs(1)))?.expect("a response");
/// assert_eq!(request, [0x22, 0xF1, 0x90]);
/// assert_eq!(&response[3..], b"WVWZZZ1JZ");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Stack {
    /// The only link of a node of its own: the link keeps the node's thread running.
    link: Link,
}

impl Stack {
    /// Starts a link with `address` and `config` on `bus`.
    ///
    /// # Errors
    ///
    /// Those of [`Node::add`]: [`StackError::Config`] for an invalid configuration,
    /// [`StackError::CanFdUnsupported`] for CAN FD on a bus that carries classic frames only.
    pub fn new(bus: impl CanBus, address: Address, config: Config) -> Result<Stack, StackError> {
        Stack::with_options(bus, address, config, DriverOptions::default())
    }

    /// [`Stack::new`] with thread and queue settings.
    ///
    /// # Errors
    ///
    /// Those of [`Stack::new`].
    pub fn with_options(
        bus: impl CanBus,
        address: Address,
        config: Config,
        options: DriverOptions,
    ) -> Result<Stack, StackError> {
        let link = Node::with_options(bus, options).add(address, config)?;
        Ok(Stack { link })
    }

    /// The link, for code that works with any [`Link`].
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Queues a message to the physical address: [`Link::send`].
    ///
    /// # Errors
    ///
    /// Those of [`Link::send`].
    pub fn send(&self, payload: &[u8]) -> Result<MessageId, StackError> {
        self.link.send(payload)
    }

    /// Queues a message to the physical or functional address: [`Link::send_to`].
    ///
    /// # Errors
    ///
    /// Those of [`Link::send_to`].
    pub fn send_to(
        &self,
        payload: &[u8],
        target: TargetAddressType,
    ) -> Result<MessageId, StackError> {
        self.link.send_to(payload, target)
    }

    /// Sends a message and waits until it is on the bus: [`Link::send_blocking`].
    ///
    /// # Errors
    ///
    /// Those of [`Link::send_blocking`].
    pub fn send_blocking(
        &self,
        payload: &[u8],
        timeout: Option<Duration>,
    ) -> Result<(), StackError> {
        self.link.send_blocking(payload, timeout)
    }

    /// [`send_blocking`](Stack::send_blocking) with a target address type:
    /// [`Link::send_blocking_to`].
    ///
    /// # Errors
    ///
    /// Those of [`Link::send_blocking_to`].
    pub fn send_blocking_to(
        &self,
        payload: &[u8],
        target: TargetAddressType,
        timeout: Option<Duration>,
    ) -> Result<(), StackError> {
        self.link.send_blocking_to(payload, target, timeout)
    }

    /// Queues a message and returns a handle to await its outcome in steps:
    /// [`Link::send_pending`].
    ///
    /// # Errors
    ///
    /// Those of [`Link::send_pending`].
    pub fn send_pending(
        &self,
        payload: &[u8],
        target: TargetAddressType,
    ) -> Result<PendingSend<'_>, StackError> {
        self.link.send_pending(payload, target)
    }

    /// Waits up to `timeout` for the next message: [`Link::recv`].
    ///
    /// # Errors
    ///
    /// Those of [`Link::recv`].
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Option<Vec<u8>>, StackError> {
        self.link.recv(timeout)
    }

    /// [`recv`](Stack::recv) with the message's metadata: [`Link::recv_message`].
    ///
    /// # Errors
    ///
    /// Those of [`Link::recv_message`].
    pub fn recv_message(&self, timeout: Option<Duration>) -> Result<Option<Message>, StackError> {
        self.link.recv_message(timeout)
    }

    /// Waits up to `start` for a message to begin, then for as long as it arrives:
    /// [`Link::recv_started_within`].
    ///
    /// # Errors
    ///
    /// Those of [`Link::recv_started_within`].
    pub fn recv_started_within(&self, start: Duration) -> Result<Option<Message>, StackError> {
        self.link.recv_started_within(start)
    }

    /// The next message if one is waiting: [`Link::try_recv`].
    pub fn try_recv(&self) -> Option<Vec<u8>> {
        self.link.try_recv()
    }

    /// True when a message is waiting to be read: [`Link::available`].
    pub fn available(&self) -> bool {
        self.link.available()
    }

    /// Waits up to `timeout` for a message to be readable, taking nothing:
    /// [`Link::wait_available`].
    pub fn wait_available(&self, timeout: Option<Duration>) -> bool {
        self.link.wait_available(timeout)
    }

    /// How far the segmented reception in progress is: [`Link::reception_progress`].
    pub fn reception_progress(&self) -> Option<ReceptionProgress> {
        self.link.reception_progress()
    }

    /// True while a message is being sent or queued: [`Link::transmitting`].
    pub fn transmitting(&self) -> bool {
        self.link.transmitting()
    }

    /// True while a segmented message is being received: [`Link::receiving`].
    pub fn receiving(&self) -> bool {
        self.link.receiving()
    }

    /// The link's asynchronous errors: [`Link::errors`].
    pub fn errors(&self) -> Errors {
        self.link.errors()
    }

    /// Abandons the message being sent and the queue: [`Link::stop_sending`].
    pub fn stop_sending(&self) {
        self.link.stop_sending();
    }

    /// Abandons the message being received: [`Link::stop_receiving`].
    pub fn stop_receiving(&self) {
        self.link.stop_receiving();
    }

    /// Abandons both directions and empties the receive mailbox: [`Link::reset`].
    pub fn reset(&self) {
        self.link.reset();
    }

    /// Changes the configuration: [`Link::set_config`].
    ///
    /// # Errors
    ///
    /// Those of [`Link::set_config`].
    pub fn set_config(&self, config: Config) -> Result<(), StackError> {
        self.link.set_config(config)
    }

    /// Changes the configuration if the link is idle: [`Link::set_config_if_idle`].
    ///
    /// # Errors
    /// As [`Link::set_config`].
    pub fn set_config_if_idle(&self, config: Config) -> Result<Reconfigured, StackError> {
        self.link.set_config_if_idle(config)
    }

    /// Changes the address: [`Link::set_address`].
    pub fn set_address(&self, address: Address) {
        self.link.set_address(address);
    }

    /// The link's address.
    pub fn address(&self) -> Address {
        self.link.address()
    }

    /// The link's configuration (`None` once the stack stopped).
    pub fn config(&self) -> Option<Config> {
        self.link.config()
    }
}
