//! [`Stack`]: one ISO-TP link with its own bus and thread.

use std::ops::Deref;

use isotp_core::{Address, Config};

use super::error::StackError;
use super::link::Link;
use super::node::Node;
use super::options::DriverOptions;
use crate::bus::CanBus;

/// A blocking ISO-TP link on its own bus, driven by one background thread — the counterpart of
/// can-isotp's `CanStack`.
///
/// Sending happens on the caller's thread, and a caller waiting in `recv` or `send_blocking` reads the
/// bus itself, so a request/response round trip costs one thread wake-up per direction. The
/// background thread drives the link while nobody waits. Both sleep on the bus until the next frame
/// or until 300 µs before the engine's next deadline (no polling period), then poll the bus until
/// that deadline, so STmin gaps are never shorter than asked and late by little more than one poll
/// of the bus ([`manual::time`](crate::manual::time)). All the methods of [`Link`] are available on
/// a `Stack`. Dropping the stack stops its thread.
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
    link: Link,
    _node: Node,
}

impl Stack {
    /// Starts a link with `address` and `config` on `bus`.
    pub fn new(bus: impl CanBus, address: Address, config: Config) -> Result<Stack, StackError> {
        Stack::with_options(bus, address, config, DriverOptions::default())
    }

    /// [`Stack::new`] with thread and queue settings.
    pub fn with_options(
        bus: impl CanBus,
        address: Address,
        config: Config,
        options: DriverOptions,
    ) -> Result<Stack, StackError> {
        let node = Node::with_options(bus, options);
        let link = node.add(address, config)?;
        Ok(Stack { link, _node: node })
    }

    /// The link, for code that works with any [`Link`].
    pub fn link(&self) -> &Link {
        &self.link
    }
}

impl Deref for Stack {
    type Target = Link;
    fn deref(&self) -> &Link {
        &self.link
    }
}
