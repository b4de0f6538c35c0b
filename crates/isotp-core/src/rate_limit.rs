//! A sliding-window cap on transmitted bits.

use alloc::collections::VecDeque;
use core::time::Duration;

use crate::config::RateLimit;
use crate::time::Instant;

/// Remembers the frames sent within the last window and how many bits they carried.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    window: Duration,
    budget_bits: u64,
    sent: VecDeque<(Instant, u32)>,
    in_window: u64,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> RateLimiter {
        let budget = u128::from(limit.max_bitrate) * limit.window.as_micros() / 1_000_000;
        RateLimiter {
            window: limit.window,
            budget_bits: u64::try_from(budget).unwrap_or(u64::MAX),
            sent: VecDeque::new(),
            in_window: 0,
        }
    }

    fn forget_before(&mut self, now: Instant) {
        while let Some(&(t, bits)) = self.sent.front() {
            if t + self.window > now {
                break;
            }
            self.in_window -= u64::from(bits);
            self.sent.pop_front();
        }
    }

    /// The earliest time a frame of `bits` may go out, `now` or later.
    pub(crate) fn earliest(&mut self, now: Instant, bits: u32) -> Instant {
        self.forget_before(now);
        let mut total = self.in_window;
        for &(t, b) in &self.sent {
            if total + u64::from(bits) <= self.budget_bits {
                break;
            }
            total -= u64::from(b);
            // Once this frame leaves the window, its bits are available again.
            let free_at = t + self.window;
            if total + u64::from(bits) <= self.budget_bits {
                return free_at.max(now);
            }
        }
        now
    }

    pub(crate) fn record(&mut self, now: Instant, bits: u32) {
        self.sent.push_back((now, bits));
        self.in_window += u64::from(bits);
    }

    pub(crate) fn clear(&mut self) {
        self.sent.clear();
        self.in_window = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_old_frames_leave_the_window() {
        let mut r = RateLimiter::new(RateLimit {
            max_bitrate: 6400,
            window: Duration::from_millis(100),
        }); // 640 bits per window = 10 frames of 8 bytes
        let t0 = Instant::ZERO;
        for i in 0..10 {
            let t = Instant::from_millis(i);
            assert_eq!(r.earliest(t, 64), t);
            r.record(t, 64);
        }
        assert_eq!(
            r.earliest(Instant::from_millis(10), 64),
            t0 + Duration::from_millis(100)
        );
        assert_eq!(
            r.earliest(Instant::from_millis(100), 128),
            Instant::from_millis(101)
        );
    }
}
