//! [`Node`]: many links on one bus, and the background thread that drives them while no caller does.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use isotp_core::{Config, Endpoint};

use super::engine::Shared;
use super::error::StackError;
use super::link::Link;
use super::options::DriverOptions;
use crate::bus::CanBus;

/// Owns the background thread; the last handle to go stops it.
pub(crate) struct Runner {
    pub(crate) shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Runner {
    /// Refuses a configuration that asks for CAN FD on a bus that carries classic frames only.
    pub(crate) fn refuse_unsupported_fd(&self, config: &Config) -> Result<(), StackError> {
        if config.link_layer.can_fd && !self.shared.bus.capabilities().can_fd {
            return Err(StackError::CanFdUnsupported);
        }
        Ok(())
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.bus.interrupt();
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            t.thread().unpark();
            // The last handle may be dropped on the node's own thread (a user's callable run by the
            // driver drops it: a Python object collected there): that thread ends by itself once it
            // sees `stop`, and joining itself would fail.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// Many ISO-TP links on one bus.
///
/// A tester with one link per ECU, or a gateway: each [`Link`] has its own address, configuration,
/// queue and receive mailbox, and they all share the bus. Received frames are dispatched by CAN id
/// (a lookup in an ordered map, logarithmic in the number of ids), so hundreds of links cost little
/// more than one; links with a fixed addressing mode, whose ids carry the addresses, are offered
/// every frame and decide themselves. A thread that waits on a link
/// (`recv`, `send_blocking`) reads the bus and runs every link's timers while it waits; the node's
/// background thread does so only while no caller waits.
///
/// ```
/// use isotp::{bus::VirtualBus, Address, Config, Node};
/// use std::time::Duration;
///
/// let bus = VirtualBus::new();
/// let tester = Node::new(bus.attach());
/// let ecus = Node::new(bus.attach());
/// let mut pairs = Vec::new();
/// for i in 0..8u32 {
///     let address = Address::normal_11(0x700 + i, 0x708 + i)?;
///     pairs.push((
///         tester.add(address, Config::default())?,
///         ecus.add(address.mirrored()?, Config::default())?,
///     ));
/// }
/// for (i, (t, _)) in pairs.iter().enumerate() {
///     t.send(&[0x22, 0xF1, 0x90, i as u8])?;
/// }
/// for (i, (_, e)) in pairs.iter().enumerate() {
///     assert_eq!(e.recv(Some(Duration::from_secs(5)))?, Some(vec![0x22, 0xF1, 0x90, i as u8]));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Node {
    runner: Arc<Runner>,
}

impl Node {
    /// Starts a node on `bus` with the default [`DriverOptions`].
    pub fn new(bus: impl CanBus) -> Node {
        Node::with_options(bus, DriverOptions::default())
    }

    /// Starts a node on `bus`.
    pub fn with_options(bus: impl CanBus, options: DriverOptions) -> Node {
        let shared = Arc::new(Shared::new(Box::new(bus), options));
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("isotp-engine".into())
                .spawn(move || shared.background())
                .ok()
        };
        match &thread {
            Some(t) => shared.lead.set_background(t.thread().clone()),
            None => {
                log::error!("could not start the engine thread");
                shared.close_all();
            }
        }
        Node {
            runner: Arc::new(Runner {
                shared,
                thread: Mutex::new(thread),
            }),
        }
    }

    /// Adds a link with its own address and configuration.
    ///
    /// # Errors
    ///
    /// [`StackError::CanFdUnsupported`] when `config` asks for CAN FD and the bus cannot carry it
    /// (see [`CanBus::capabilities`]), [`StackError::Config`] for an invalid configuration.
    pub fn add(&self, address: isotp_core::Address, config: Config) -> Result<Link, StackError> {
        self.runner.refuse_unsupported_fd(&config)?;
        // The driver confirms every frame once the bus accepted it, which gives N_As/N_Ar meaning
        // and turns a failed bus write into a failed transfer instead of a silent loss.
        let endpoint = Endpoint::new(address, config)?
            .with_tx_confirmation()
            .with_first_frame_indication();
        let (key, mail) = self.runner.shared.add_link(endpoint);
        Ok(Link::new(self.runner.clone(), key, mail, address))
    }

    /// Runs a discovery on the node: it is fed what `feed` says until the tap is dropped.
    pub(crate) fn tap(&self, feed: super::tap::Feed) -> super::tap::NodeTap {
        super::tap::NodeTap::new(self.runner.clone(), feed)
    }

    /// Number of links.
    #[must_use]
    pub fn len(&self) -> usize {
        self.runner.shared.link_count()
    }

    /// True when the node has no links.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
