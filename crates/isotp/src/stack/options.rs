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
    /// How long a thread that waits (in `recv` or `send_blocking`) polls the bus before it sleeps.
    /// Polling saves the wake-up of a sleeping core when the reply comes quickly, at the price of that
    /// core's time; zero (the default) sleeps at once.
    pub spin_before_park: Duration,
    /// Complete messages a link holds unread. When it is full, new first frames are answered with
    /// FC.WAIT and then FC.OVFLW, and single frames are dropped with a warning.
    pub receive_queue: usize,
}

/// Default of [`DriverOptions::receive_queue`].
pub const DEFAULT_RECEIVE_QUEUE: usize = 4096;

impl Default for DriverOptions {
    fn default() -> DriverOptions {
        DriverOptions {
            spin_before_park: Duration::ZERO,
            receive_queue: DEFAULT_RECEIVE_QUEUE,
        }
    }
}

impl DriverOptions {
    /// Sets [`spin_before_park`](DriverOptions::spin_before_park).
    #[must_use]
    pub fn with_spin_before_park(mut self, spin: Duration) -> DriverOptions {
        self.spin_before_park = spin;
        self
    }

    /// Sets [`receive_queue`](DriverOptions::receive_queue) (at least 1).
    #[must_use]
    pub fn with_receive_queue(mut self, messages: usize) -> DriverOptions {
        self.receive_queue = messages.max(1);
        self
    }
}
