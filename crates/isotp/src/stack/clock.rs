//! Maps the machine's monotonic clock onto the engine's [`isotp_core::Instant`].

use std::time::Duration;

/// The stack's clock: microseconds since the stack started.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    epoch: std::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            epoch: std::time::Instant::now(),
        }
    }

    pub(crate) fn now(self) -> isotp_core::Instant {
        self.to_core(std::time::Instant::now())
    }

    /// Now, rounded up to the next microsecond: for moments after which waits are measured (a frame
    /// confirmed on the bus), so a gap measured from them is never shorter than asked.
    pub(crate) fn now_ceil(self) -> isotp_core::Instant {
        let d = std::time::Instant::now().saturating_duration_since(self.epoch);
        let us = d.as_micros() + u128::from(d.subsec_nanos() % 1000 != 0);
        isotp_core::Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    pub(crate) fn to_core(self, t: std::time::Instant) -> isotp_core::Instant {
        let us = t.saturating_duration_since(self.epoch).as_micros();
        isotp_core::Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    pub(crate) fn to_std(self, t: isotp_core::Instant) -> std::time::Instant {
        self.epoch
            .checked_add(Duration::from_micros(t.as_micros()))
            .unwrap_or_else(|| self.epoch + Duration::from_secs(86_400 * 365))
    }
}
