//! STmin, the minimum separation time between consecutive frames, as carried in a flow control frame.

use core::fmt;
use core::time::Duration;

/// The STmin byte of a flow control frame.
///
/// Encodings: `0x00..=0x7F` are 0 to 127 ms; `0xF1..=0xF9` are 100 to 900 µs. Every other value is
/// reserved, and a sender that receives one waits 127 ms (ISO 15765-2, the Linux kernel and Zephyr do the
/// same; can-isotp 2.0.7 rejects the frame instead).
///
/// ```
/// use core::time::Duration;
/// use isotp_core::wire::StMin;
/// assert_eq!(StMin::from_byte(0x05).duration(), Duration::from_millis(5));
/// assert_eq!(StMin::from_byte(0xF3).duration(), Duration::from_micros(300));
/// assert_eq!(StMin::from_byte(0x80).duration(), Duration::from_millis(127)); // reserved
/// assert_eq!(StMin::from_duration(Duration::from_micros(250)).unwrap().to_byte(), 0xF3);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StMin(u8);

impl StMin {
    /// No separation: consecutive frames back to back.
    pub const ZERO: StMin = StMin(0);
    /// What a reserved value means for the sender.
    pub const RESERVED_MEANS: Duration = Duration::from_millis(127);

    /// The value as found in a flow control frame; any byte is accepted.
    #[must_use]
    pub const fn from_byte(byte: u8) -> StMin {
        StMin(byte)
    }

    /// The byte to put in a flow control frame.
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        self.0
    }

    /// True for the reserved encodings (0x80-0xF0, 0xFA-0xFF).
    #[must_use]
    pub const fn is_reserved(self) -> bool {
        !matches!(self.0, 0x00..=0x7F | 0xF1..=0xF9)
    }

    /// The separation time this value asks for (127 ms for reserved values).
    #[must_use]
    pub const fn duration(self) -> Duration {
        match self.0 {
            ms @ 0x00..=0x7F => Duration::from_millis(ms as u64),
            us @ 0xF1..=0xF9 => Duration::from_micros((us - 0xF0) as u64 * 100),
            _ => StMin::RESERVED_MEANS,
        }
    }

    /// The smallest encoding whose time is at least `d`; `None` above 127 ms.
    #[must_use]
    pub fn from_duration(d: Duration) -> Option<StMin> {
        let micros = d.as_micros();
        if micros == 0 && d.subsec_nanos() == 0 {
            return Some(StMin(0));
        }
        if micros < 900 || (micros == 900 && d.subsec_nanos() % 1000 == 0) {
            let hundreds = d.as_nanos().div_ceil(100_000).max(1);
            // 1 to 9 hundreds of microseconds: F1 to F9.
            return u8::try_from(hundreds)
                .ok()
                .filter(|&h| h <= 9)
                .map(|h| StMin(0xF0 + h));
        }
        let millis = d.as_nanos().div_ceil(1_000_000);
        u8::try_from(millis).ok().filter(|&m| m <= 0x7F).map(StMin)
    }
}

impl fmt::Debug for StMin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StMin(0x{:02X} = {:?})", self.0, self.duration())
    }
}

impl fmt::Display for StMin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ms @ 0x00..=0x7F => write!(f, "{ms} ms"),
            us @ 0xF1..=0xF9 => write!(f, "{} us", u32::from(us - 0xF0) * 100),
            _ => f.write_str("reserved (127 ms)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_decodes_to_at_most_127_ms() {
        for b in 0..=255u8 {
            assert!(StMin::from_byte(b).duration() <= Duration::from_millis(127));
        }
    }

    #[test]
    fn microsecond_encodings_are_hundreds_of_microseconds() {
        for (byte, us) in (0xF1..=0xF9u8).zip((100..=900).step_by(100)) {
            assert_eq!(StMin::from_byte(byte).duration(), Duration::from_micros(us));
        }
    }

    #[test]
    fn reserved_values_mean_127_ms() {
        for b in (0x80..=0xF0u8).chain(0xFA..=0xFF) {
            assert!(StMin::from_byte(b).is_reserved());
            assert_eq!(StMin::from_byte(b).duration(), Duration::from_millis(127));
        }
    }

    #[test]
    fn from_duration_never_encodes_less_than_asked() {
        for us in (0..=130_000u64).step_by(37) {
            let d = Duration::from_micros(us);
            match StMin::from_duration(d) {
                Some(s) => assert!(s.duration() >= d, "{us}"),
                None => assert!(us > 127_000),
            }
        }
    }

    #[test]
    fn from_duration_picks_the_exact_encoding_when_there_is_one() {
        assert_eq!(StMin::from_duration(Duration::ZERO), Some(StMin(0)));
        assert_eq!(
            StMin::from_duration(Duration::from_micros(100)),
            Some(StMin(0xF1))
        );
        assert_eq!(
            StMin::from_duration(Duration::from_micros(900)),
            Some(StMin(0xF9))
        );
        assert_eq!(
            StMin::from_duration(Duration::from_micros(901)),
            Some(StMin(1))
        );
        assert_eq!(
            StMin::from_duration(Duration::from_millis(127)),
            Some(StMin(127))
        );
        assert_eq!(StMin::from_duration(Duration::from_micros(127_001)), None);
    }
}
