//! Settings of a driver's threads and queues (the protocol's settings are in [`Config`](crate::Config)).

use std::time::Duration;

/// How a [`Node`](super::Node), [`Stack`](super::Stack) or `AsyncStack` runs.
///
/// ```
/// use isotp::{bus::VirtualBus, Address, Config, DriverOptions, Stack};
/// use std::time::Duration;
///
/// let options = DriverOptions::default()
///     .with_receive_queue(64)
///     .with_spin_before_park(Duration::from_micros(50));
/// let stack = Stack::with_options(
///     VirtualBus::new().attach(),
///     Address::normal_11(0x7E0, 0x7E8)?,
///     Config::default(),
///     options,
/// )?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverOptions {
    /// How long after the node's last transmission a thread that waits (in `recv` or
    /// `send_blocking`) polls the bus before it sleeps: a reply (a flow control, the next
    /// consecutive frame, a response) usually comes within microseconds, and polling saves the
    /// wake-up of a sleeping core, which costs tens of microseconds on a virtual machine or a
    /// laptop saving power. A thread that has sent nothing lately sleeps at once.
    ///
    /// `None` (the default): [`DEFAULT_SPIN_BEFORE_PARK`] on a bus whose
    /// [`Capabilities::cheap_poll`](crate::bus::Capabilities::cheap_poll) is set, else no polling
    /// (polling a python-can bus would hold the interpreter lock other threads need).
    pub spin_before_park: Option<Duration>,
    /// Complete messages a link holds unread. When it is full, new first frames are answered with
    /// FC.WAIT and then FC.OVFLW, and single frames are dropped with a warning.
    pub receive_queue: usize,
    /// In listen mode, whether a link also delivers the messages of the direction it mirrors
    /// ([`Message::direction`](super::Message::direction) [`Tx`](isotp_core::Direction::Tx)).
    pub observed_messages: ObservedMessages,
    /// Whether a frame a link ignores (malformed, unexpected) is reported on
    /// [`Link::errors`](super::Link::errors) as [`StackError::FrameIgnored`](super::StackError::FrameIgnored).
    pub ignored_frames: IgnoredFrames,
}

/// What a link does when it ignores a frame sent to it (a [`Warning`](isotp_core::Warning) of the
/// engine).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IgnoredFrames {
    /// Logged at debug level only.
    #[default]
    Logged,
    /// Also reported on the link's error channel (can-isotp reports them to its error handler).
    Reported,
}

/// What a link in listen mode does with the messages sent on its transmit address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObservedMessages {
    /// Delivered by `recv_message` with [`Direction::Tx`](isotp_core::Direction::Tx).
    #[default]
    Delivered,
    /// Dropped: `recv` gives only the messages sent to the receive address (can-isotp's listen
    /// mode).
    Dropped,
}

/// How long a waiting thread polls a bus that polls cheaply, by default (see
/// [`DriverOptions::spin_before_park`]).
pub const DEFAULT_SPIN_BEFORE_PARK: Duration = Duration::from_micros(50);

/// Default of [`DriverOptions::receive_queue`].
pub const DEFAULT_RECEIVE_QUEUE: usize = 4096;

impl Default for DriverOptions {
    fn default() -> DriverOptions {
        DriverOptions {
            spin_before_park: None,
            receive_queue: DEFAULT_RECEIVE_QUEUE,
            observed_messages: ObservedMessages::Delivered,
            ignored_frames: IgnoredFrames::Logged,
        }
    }
}

impl DriverOptions {
    /// Sets [`spin_before_park`](DriverOptions::spin_before_park) whatever the bus (zero: never
    /// poll).
    #[must_use]
    pub fn with_spin_before_park(mut self, spin: Duration) -> DriverOptions {
        self.spin_before_park = Some(spin);
        self
    }

    /// The polling time on a bus with `capabilities`.
    pub(crate) fn spin_for(&self, capabilities: crate::bus::Capabilities) -> Duration {
        self.spin_before_park.unwrap_or(if capabilities.cheap_poll {
            DEFAULT_SPIN_BEFORE_PARK
        } else {
            Duration::ZERO
        })
    }

    /// Sets [`observed_messages`](DriverOptions::observed_messages).
    #[must_use]
    pub fn with_observed_messages(mut self, observed: ObservedMessages) -> DriverOptions {
        self.observed_messages = observed;
        self
    }

    /// Sets [`ignored_frames`](DriverOptions::ignored_frames).
    #[must_use]
    pub fn with_ignored_frames(mut self, ignored: IgnoredFrames) -> DriverOptions {
        self.ignored_frames = ignored;
        self
    }

    /// Sets [`receive_queue`](DriverOptions::receive_queue) (at least 1).
    #[must_use]
    pub fn with_receive_queue(mut self, messages: usize) -> DriverOptions {
        self.receive_queue = messages.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Capabilities;

    #[test]
    fn polling_defaults_to_buses_that_poll_cheaply() {
        let cheap = Capabilities::CLASSIC.with_cheap_poll(true);
        let costly = Capabilities::CLASSIC;
        let default = DriverOptions::default();
        assert_eq!(default.spin_for(cheap), DEFAULT_SPIN_BEFORE_PARK);
        assert_eq!(default.spin_for(costly), Duration::ZERO);
        let set = default.with_spin_before_park(Duration::from_micros(7));
        assert_eq!(set.spin_for(cheap), Duration::from_micros(7));
        assert_eq!(set.spin_for(costly), Duration::from_micros(7));
        let off = default.with_spin_before_park(Duration::ZERO);
        assert_eq!(off.spin_for(cheap), Duration::ZERO);
    }
}
