//! Taps: clients of a node's engine other than its links' applications. A discovery
//! ([`FunctionalRequest`](crate::discovery::FunctionalRequest), [`Scan`](crate::discovery::Scan))
//! runs on a [`Node`](super::Node)'s driver instead of reading the bus itself: the thread that leads
//! hands a tap a copy of each frame it reads, or the events of the links it made on the fly for the
//! responders the tap finds; the tap's owner waits on the tap as a link's reader waits on its
//! mailbox, leading meanwhile when no other thread does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use isotp_core::{Address, CanId, Config, Event, Frame, LinkKey};

use super::mailbox::Mailbox;
use super::node::Runner;
use crate::bus::BusError;

/// Items a tap holds unread; past it, items are dropped and counted (its owner reads it as fast as
/// the node reads the bus, so only a stalled owner loses any).
const TAP_QUEUE: usize = 4096;
/// Links a tap may have the engine make: more responders than any functional request has, few
/// enough that a flood of made-up response ids cannot grow the node without bound.
pub(crate) const TAP_LINKS: usize = 1024;

/// Names the tester's address toward the sender of a frame, if the sender is a responder.
pub(crate) type FindResponder = Box<dyn Fn(&Frame) -> Option<Address> + Send + Sync>;

/// What a tap is fed.
pub(crate) enum Feed {
    /// A copy of every frame the node reads.
    Frames,
    /// The events of links made for the responders `find` names: a frame that no link of the node
    /// accepts is offered to `find`, and a link on the address it returns (with `config`) is made
    /// and given the frame.
    Responders { find: FindResponder, config: Config },
}

/// One item of a tap.
pub(crate) enum Tapped {
    /// A frame the node read.
    Frame(Frame),
    /// An event of a link made for a responder: the start, end or failure of a reception.
    Event {
        /// The link, for the owner to tell responders apart.
        link: LinkKey,
        /// The tester's address toward the responder.
        address: Address,
        /// The id the responder's first frame came on.
        response_id: CanId,
        event: Event,
        /// When the engine handled it.
        at: std::time::Instant,
    },
}

pub(crate) struct Tap {
    pub(crate) feed: Feed,
    items: Mailbox<Tapped>,
    /// Why the tap ended: the bus failed (or the node stopped).
    failure: Mutex<Option<BusError>>,
    dropped: AtomicU64,
}

impl Tap {
    pub(crate) fn new(feed: Feed) -> Tap {
        Tap {
            feed,
            items: Mailbox::new(TAP_QUEUE),
            failure: Mutex::new(None),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues `item` unless the queue is full. Called under the engine's state lock, so the length
    /// checked is the length pushed to.
    pub(crate) fn push(&self, item: Tapped) {
        if self.items.len() >= self.items.capacity() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                log::warn!("a discovery's queue is full: {dropped} item(s) dropped so far");
            }
            return;
        }
        self.items.push(item);
    }

    /// Passes an event of a link made for a responder on to the owner (receptions only: the rest
    /// is the link's own business).
    pub(crate) fn deliver(
        &self,
        link: LinkKey,
        address: Address,
        response_id: CanId,
        event: Event,
        at: std::time::Instant,
    ) {
        if matches!(
            event,
            Event::ReceptionStarted { .. } | Event::Received { .. } | Event::ReceiveFailed { .. }
        ) {
            self.push(Tapped::Event {
                link,
                address,
                response_id,
                event,
                at,
            });
        }
    }

    /// Ends the tap with `error` (the first one given is kept); what it holds is still read.
    pub(crate) fn fail(&self, error: BusError) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if failure.is_none() {
            *failure = Some(error);
        }
        drop(failure);
        self.items.close();
    }

    fn failure(&self) -> BusError {
        match &*self.failure.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => e.duplicate(),
            None => BusError::Closed("the node stopped".into()),
        }
    }
}

/// A tap on a node, removed (with the links made for it) when dropped.
pub(crate) struct NodeTap {
    runner: Arc<Runner>,
    tap: Arc<Tap>,
}

impl NodeTap {
    pub(crate) fn new(runner: Arc<Runner>, feed: Feed) -> NodeTap {
        let tap = runner.shared.add_tap(Tap::new(feed));
        NodeTap { runner, tap }
    }

    /// The next item, waiting until `until` at most (`Ok(None)` then), driving the node meanwhile
    /// when no other thread does; the bus's error once it failed and every item was read.
    pub(crate) fn recv(&self, until: std::time::Instant) -> Result<Option<Tapped>, BusError> {
        let items = &self.tap.items;
        let timeout = until.saturating_duration_since(std::time::Instant::now());
        let got = self.runner.shared.block_on(
            Some(timeout),
            |park| items.poll(park),
            || items.unpark_registration(),
        );
        match got {
            Some(Ok(item)) => Ok(Some(item)),
            Some(Err(())) => Err(self.tap.failure()),
            None => Ok(None),
        }
    }

    /// Puts `frame` on the node's bus as it is (a probe, a functional request's single frame).
    pub(crate) fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.runner.shared.send_frame(frame)
    }
}

impl Drop for NodeTap {
    fn drop(&mut self) {
        self.runner.shared.remove_tap(&self.tap);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::bus::{CanBus, VirtualBus};
    use crate::Node;

    #[test]
    fn a_flood_of_responders_makes_a_bounded_number_of_links_all_removed_with_the_tap() {
        let bus = VirtualBus::new();
        let node = Node::new(bus.attach());
        let tap = node.tap(Feed::Responders {
            find: Box::new(|frame| Address::normal_11(0x100, frame.id().raw()).ok()),
            config: Config::default(),
        });
        let peer = bus.attach();
        let flood = TAP_LINKS + 100;
        for i in 0..flood {
            let id = CanId::standard(0x200 + u32::try_from(i).unwrap()).unwrap();
            peer.send(&Frame::new(id, &[0x01, 0x3E]).unwrap()).unwrap();
        }
        let mut links = std::collections::BTreeSet::new();
        let mut received = 0;
        let until = Instant::now() + Duration::from_secs(2);
        while let Some(item) = tap.recv(until).unwrap() {
            if let Tapped::Event { link, event, .. } = item {
                assert!(matches!(event, Event::Received { .. }));
                links.insert(link);
                received += 1;
            }
        }
        assert_eq!(received, TAP_LINKS);
        assert_eq!(links.len(), TAP_LINKS);
        assert_eq!(node.len(), TAP_LINKS);
        drop(tap);
        assert_eq!(node.len(), 0);
    }

    /// A bus whose reads fail.
    struct Unreadable;

    impl CanBus for Unreadable {
        fn send(&self, _: &Frame) -> Result<(), BusError> {
            Ok(())
        }
        fn recv(&self, _: Option<Duration>) -> Result<Option<Frame>, BusError> {
            Err(BusError::io(
                "reading the test bus",
                std::io::Error::from(std::io::ErrorKind::ConnectionReset),
            ))
        }
        fn interrupt(&self) {}
    }

    #[test]
    fn a_bus_that_fails_ends_the_tap_with_its_error() {
        let node = Node::new(Unreadable);
        let tap = node.tap(Feed::Frames);
        let e = tap
            .recv(Instant::now() + Duration::from_secs(5))
            .err()
            .expect("the bus's error");
        assert!(e.to_string().contains("reading the test bus"), "{e}");
    }
}
