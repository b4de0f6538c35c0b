//! A range of CAN ids, as written on a command line: `7E8-7EF`, `18DAF100-18DAF1FF`, or one id.

use std::fmt;
use std::str::FromStr;

use isotp_core::{CanId, ParseFrameError};

/// An inclusive range of CAN ids of one width (11-bit or 29-bit).
///
/// ```
/// use isotp::discovery::IdRange;
/// let r: IdRange = "7E8-7EF".parse()?;
/// assert_eq!(r.len(), 8);
/// assert_eq!(r.iter().next().unwrap().raw(), 0x7E8);
/// assert_eq!(r.to_string(), "7E8-7EF");
/// let one: IdRange = "18DB33F1".parse()?;
/// assert!(one.first().is_extended() && one.len() == 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdRange {
    first: CanId,
    last: CanId,
}

/// Why a text is not an [`IdRange`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdRangeError {
    /// One end is not a CAN id.
    #[error("'{text}' is not a CAN id: {error}")]
    Id {
        /// The end at fault.
        text: String,
        /// Why.
        error: ParseFrameError,
    },
    /// The ends differ in width (`7E8-18DAF1FF`).
    #[error("the ends of {0} are not both 11-bit or both 29-bit ids")]
    MixedWidths(String),
    /// The first id is above the last.
    #[error("the range {0} is backwards: its first id is above its last")]
    Backwards(String),
}

impl IdRange {
    /// The ids `first..=last`; both of the same width, `first <= last`.
    ///
    /// # Errors
    ///
    /// [`IdRangeError::MixedWidths`] when one end is an 11-bit id and the other a 29-bit one,
    /// [`IdRangeError::Backwards`] when `first` is above `last`.
    pub fn new(first: CanId, last: CanId) -> Result<IdRange, IdRangeError> {
        let text = format!("{first}-{last}");
        if first.is_extended() != last.is_extended() {
            return Err(IdRangeError::MixedWidths(text));
        }
        if first.raw() > last.raw() {
            return Err(IdRangeError::Backwards(text));
        }
        Ok(IdRange { first, last })
    }

    /// One id.
    #[must_use]
    pub fn single(id: CanId) -> IdRange {
        IdRange {
            first: id,
            last: id,
        }
    }

    /// The lowest id.
    #[must_use]
    pub fn first(&self) -> CanId {
        self.first
    }

    /// The highest id.
    #[must_use]
    pub fn last(&self) -> CanId {
        self.last
    }

    /// How many ids (at least 1).
    #[allow(clippy::len_without_is_empty)] // never empty
    #[must_use]
    pub fn len(&self) -> u32 {
        self.last.raw() - self.first.raw() + 1
    }

    /// True when `id` is in the range (same width, between the ends).
    #[must_use]
    pub fn contains(&self, id: CanId) -> bool {
        id.is_extended() == self.first.is_extended()
            && (self.first.raw()..=self.last.raw()).contains(&id.raw())
    }

    /// The ids in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = CanId> + '_ {
        let extended = self.first.is_extended();
        (self.first.raw()..=self.last.raw()).filter_map(move |raw| CanId::new(raw, extended).ok())
    }
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl FromStr for IdRange {
    type Err = IdRangeError;

    /// `ID` or `FIRST-LAST`, each end by [`CanId`]'s digit rule (1-3 hex digits: 11-bit; 4-8: 29-bit).
    fn from_str(text: &str) -> Result<IdRange, IdRangeError> {
        let end = |t: &str| {
            t.trim().parse::<CanId>().map_err(|error| IdRangeError::Id {
                text: t.trim().to_string(),
                error,
            })
        };
        match text.split_once('-') {
            None => Ok(IdRange::single(end(text)?)),
            Some((a, b)) => IdRange::new(end(a)?, end(b)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_and_single_ids() {
        let r: IdRange = "7e8-7EF".parse().unwrap();
        assert_eq!(
            (r.first().raw(), r.last().raw(), r.len()),
            (0x7E8, 0x7EF, 8)
        );
        assert!(r.contains(CanId::standard(0x7EA).unwrap()));
        assert!(!r.contains(CanId::standard(0x7E7).unwrap()));
        assert!(!r.contains(CanId::extended(0x7EA).unwrap()));
        let ids: Vec<u32> = r.iter().map(CanId::raw).collect();
        assert_eq!(ids, (0x7E8..=0x7EF).collect::<Vec<_>>());
        let x: IdRange = "18DAF100-18DAF1FF".parse().unwrap();
        assert_eq!(x.len(), 256);
        assert_eq!(x.to_string(), "18DAF100-18DAF1FF");
        assert_eq!("7DF".parse::<IdRange>().unwrap().len(), 1);
    }

    #[test]
    fn bad_ranges_are_errors_naming_the_fault() {
        let e = "7E8-18DAF1FF".parse::<IdRange>().unwrap_err();
        assert!(matches!(e, IdRangeError::MixedWidths(_)), "{e}");
        let e = "7EF-7E8".parse::<IdRange>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "the range 7EF-7E8 is backwards: its first id is above its last"
        );
        let e = "7G8-7EF".parse::<IdRange>().unwrap_err();
        assert!(e.to_string().starts_with("'7G8' is not a CAN id"), "{e}");
        for bad in ["", "-", "7E8-", "-7E8", "800", "1-2-3"] {
            assert!(bad.parse::<IdRange>().is_err(), "{bad:?}");
        }
    }
}
