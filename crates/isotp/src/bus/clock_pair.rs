//! Capture times stamped on the realtime clock (a kernel's `SO_TIMESTAMPNS`, a socketcand
//! server's stamp, a python-can message's `timestamp`) as `Instant`s, the driver's clock.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The realtime clock and the monotonic clock read at (nearly) the same moment, to map a realtime
/// capture stamp onto an [`Instant`] by its age.
///
/// `Instant` has no fixed relation to the realtime clock (which can be set or slewed), so only a
/// frame's age, a short interval, crosses between the clocks: the stamp becomes
/// `monotonic - (realtime - stamp)`. A step of the realtime clock between the capture and the
/// read shows as an error of that step at most.
///
/// The two clocks are read between two reads of the monotonic clock, and again (up to four
/// times) while those are more than 20 µs apart: a thread preempted between the reads would
/// otherwise put that pause, milliseconds on a loaded machine, into the stamp, and two frames
/// sent 20 ms apart would look 18.6 ms apart.
///
/// ```
/// use std::time::Duration;
/// use isotp::bus::ClockPair;
///
/// // A frame the kernel stamped 5 ms before it was read:
/// let read = ClockPair::now();
/// let stamp = read.realtime() - Duration::from_millis(5);
/// assert_eq!(read.monotonic() - read.instant_of(stamp), Duration::from_millis(5));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ClockPair {
    realtime: Duration,
    monotonic: Instant,
}

/// Reads further apart than this are taken again.
const TIGHT: Duration = Duration::from_micros(20);
/// Reads of the pair at most.
const TRIES: usize = 4;

impl ClockPair {
    /// Both clocks now (the tightest of up to four readings).
    #[must_use]
    pub fn now() -> ClockPair {
        let read = || {
            let before = Instant::now();
            let realtime = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let after = Instant::now();
            let width = after.duration_since(before);
            (
                width,
                ClockPair {
                    realtime,
                    monotonic: before + width / 2,
                },
            )
        };
        let (mut best_width, mut best) = read();
        for _ in 1..TRIES {
            if best_width <= TIGHT {
                break;
            }
            let (width, pair) = read();
            if width < best_width {
                (best_width, best) = (width, pair);
            }
        }
        best
    }

    /// The pair made of these readings (realtime as a time since the Unix epoch), for tests and
    /// for clocks read elsewhere.
    #[must_use]
    pub fn from_readings(realtime: Duration, monotonic: Instant) -> ClockPair {
        ClockPair {
            realtime,
            monotonic,
        }
    }

    /// The realtime reading, since the Unix epoch.
    #[must_use]
    pub fn realtime(&self) -> Duration {
        self.realtime
    }

    /// The monotonic reading.
    #[must_use]
    pub fn monotonic(&self) -> Instant {
        self.monotonic
    }

    /// The `Instant` of `stamp` (since the Unix epoch, on the realtime clock). A stamp from the
    /// future (the realtime clock stepped back) is taken as the monotonic reading: a capture
    /// time is never later than the moment the frame was read.
    #[must_use]
    pub fn instant_of(&self, stamp: Duration) -> Instant {
        self.instant_of_recent(stamp, Duration::MAX)
    }

    /// [`instant_of`](Self::instant_of), except that a stamp older than `max_age` is also taken
    /// as the monotonic reading: for stamps from another clock (a server's, an adapter's), where
    /// a great age says more about the clocks than about the frame.
    #[must_use]
    pub fn instant_of_recent(&self, stamp: Duration, max_age: Duration) -> Instant {
        match self.realtime.checked_sub(stamp) {
            Some(age) if age <= max_age => {
                self.monotonic.checked_sub(age).unwrap_or(self.monotonic)
            }
            _ => self.monotonic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_map_by_their_age() {
        let now = Instant::now();
        let real = Duration::new(1_700_000_000, 500_000_000);
        let pair = ClockPair::from_readings(real, now);
        assert_eq!(
            now - pair.instant_of(real - Duration::from_millis(7)),
            Duration::from_millis(7)
        );
        // From the future: the reading, never later.
        assert_eq!(pair.instant_of(real + Duration::from_secs(1)), now);
        assert_eq!(
            pair.instant_of_recent(real + Duration::from_secs(1), Duration::from_secs(2)),
            now
        );
        // Older than the limit: the clocks disagree; the reading.
        let old = real - Duration::from_secs(23);
        assert_eq!(pair.instant_of_recent(old, Duration::from_secs(2)), now);
        assert_eq!(
            now - pair.instant_of_recent(real - Duration::from_secs(1), Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        // Older than the monotonic clock itself: the reading.
        assert_eq!(
            ClockPair::from_readings(Duration::MAX, now).instant_of(Duration::ZERO),
            now
        );
    }

    #[test]
    fn the_readings_are_close_together() {
        let before = Instant::now();
        let pair = ClockPair::now();
        let after = Instant::now();
        assert!(pair.monotonic() >= before && pair.monotonic() <= after);
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(pair.realtime() <= real);
    }
}
