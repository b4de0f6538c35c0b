//! Rate-limited warnings: a count per kind instead of a line per event, so a hostile client or an
//! error-frame storm cannot flood the log.

use std::time::{Duration, Instant};

/// Between two lines about one kind of event, at least this long.
const QUIET: Duration = Duration::from_secs(5);

/// Counts events of one kind and says when one should be logged: the first at once, then at most
/// one line every 5 s covering the events counted since, so a hostile peer or an error-frame storm
/// cannot flood the log. Used by the backends and the `isotp-hub` server.
///
/// ```
/// use isotp::bus::LogThrottle;
///
/// let mut refused = LogThrottle::default();
/// assert_eq!(refused.note(), Some(1)); // log "1 frame refused"
/// assert_eq!(refused.note(), None); // counted, logged with the next line
/// assert_eq!(refused.unreported(), 1);
/// ```
#[derive(Debug, Default)]
pub struct LogThrottle {
    /// Events since the last line.
    pending: u64,
    last: Option<Instant>,
}

impl LogThrottle {
    /// Counts an event; `Some(n)` when a line should be logged now, covering `n` events.
    pub fn note(&mut self) -> Option<u64> {
        self.pending += 1;
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < QUIET) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.pending))
    }

    /// Events counted but not logged yet (for a summary when a client leaves).
    #[must_use]
    pub fn unreported(&self) -> u64 {
        self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_event_is_logged_and_the_rest_are_counted() {
        let mut w = LogThrottle::default();
        assert_eq!(w.note(), Some(1));
        for _ in 0..999 {
            assert_eq!(w.note(), None);
        }
        assert_eq!(w.unreported(), 999);
    }
}
