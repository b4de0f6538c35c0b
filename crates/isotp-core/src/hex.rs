//! Bytes and numbers written in hexadecimal text: the one place the project reads them, for
//! candump frames, socketcand and SLCAN lines, log files and command lines.
//!
//! The tools spell bytes differently, and each reader keeps its tool's spelling: candump and SLCAN
//! write two digits a byte (`0322F190`); socketcand and isotpsend users also write a byte as one
//! digit (`7` is 0x07); a command line may put `0x` before a token. [`Syntax`] names the spelling a
//! caller accepts, and [`parse`] reads one token (text without separators: splitting a line into
//! tokens is the caller's syntax) by it.
//!
//! ```
//! use isotp_core::hex::{self, HexError, Syntax};
//!
//! let bytes: Vec<u8> = hex::parse(b"0322F190", Syntax::CANDUMP)?.collect();
//! assert_eq!(bytes, [0x03, 0x22, 0xF1, 0x90]);
//! assert_eq!(hex::parse(b"7", Syntax::SOCKETCAND)?.collect::<Vec<_>>(), [0x07]);
//! assert_eq!(hex::parse(b"0xAB", Syntax::COMMAND_LINE)?.collect::<Vec<_>>(), [0xAB]);
//! assert_eq!(hex::parse(b"7", Syntax::CANDUMP).err(), Some(HexError::OddDigits { digits: 1 }));
//! assert_eq!(hex::byte(b"0A", Syntax::SOCKETCAND), Some(0x0A));
//! assert_eq!(hex::number(b"18DAF110"), Some(0x18DA_F110));
//! # Ok::<(), HexError>(())
//! ```

use core::fmt;

/// How a token spells bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Digits {
    /// Two digits a byte, any number of bytes (none included): `0322F190`.
    Pairs,
    /// A token of one or two digits is one byte, with or without its leading zero (`7` is 0x07);
    /// a longer one of even length is two digits a byte (`112233`). A token has at least one digit.
    ShortOrPairs,
}

/// Whether a `0x` (or `0X`) may lead a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// Digits only.
    Bare,
    /// `0x` or `0X` may come first (as people type on a command line); it must be followed by digits.
    Optional0x,
}

/// The spelling of hex bytes a reader accepts. The constants name the tools whose spelling they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Syntax {
    /// How digits make bytes.
    pub digits: Digits,
    /// Whether `0x` may lead a token.
    pub prefix: Prefix,
}

impl Syntax {
    /// candump and SLCAN: two digits a byte, nothing else.
    pub const CANDUMP: Syntax = Syntax {
        digits: Digits::Pairs,
        prefix: Prefix::Bare,
    };
    /// socketcand (and the data bytes of text logs): a byte of one or two digits, or a run of
    /// two-digit bytes.
    pub const SOCKETCAND: Syntax = Syntax {
        digits: Digits::ShortOrPairs,
        prefix: Prefix::Bare,
    };
    /// Typed by people (isotpsend's input, command-line options): as [`Syntax::SOCKETCAND`], with
    /// an optional `0x`.
    pub const COMMAND_LINE: Syntax = Syntax {
        digits: Digits::ShortOrPairs,
        prefix: Prefix::Optional0x,
    };
}

/// Why a token is not hex bytes in the [`Syntax`] asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HexError {
    /// No digits where a token needs some: an empty token, or `0x` alone.
    NoDigits,
    /// A character that is not a hex digit, at this byte offset of the token.
    NotHex {
        /// Byte offset in the token (the prefix counted).
        at: usize,
    },
    /// An odd number of digits where each byte takes two.
    OddDigits {
        /// The number of digits (without the prefix).
        digits: usize,
    },
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HexError::NoDigits => f.write_str("no hex digits"),
            HexError::NotHex { at } => {
                write!(f, "not a hex digit at offset {at} (expected 0-9, a-f, A-F)")
            }
            HexError::OddDigits { digits } => write!(
                f,
                "{digits} hex digits, an odd number: write each byte as two digits"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HexError {}

const INVALID: u8 = 0xFF;
// A table: log readers look up every digit of multi-gigabyte files.
static DIGIT: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut d: u8 = 0;
    while d < 10 {
        t[(b'0' + d) as usize] = d;
        d += 1;
    }
    let mut d: u8 = 0;
    while d < 6 {
        t[(b'a' + d) as usize] = 10 + d;
        t[(b'A' + d) as usize] = 10 + d;
        d += 1;
    }
    t
};

/// The value of one hex digit (`0-9`, `a-f`, `A-F`).
///
/// ```
/// assert_eq!(isotp_core::hex::digit(b'c'), Some(12));
/// assert_eq!(isotp_core::hex::digit(b'g'), None);
/// ```
#[must_use]
#[inline]
pub fn digit(b: u8) -> Option<u8> {
    let v = DIGIT[usize::from(b)];
    (v != INVALID).then_some(v)
}

/// A number of 1 to 8 hex digits, any case, nothing else (CAN ids, DLC codes, flags); `None` for
/// anything else.
///
/// ```
/// use isotp_core::hex::number;
/// assert_eq!(number(b"7E0"), Some(0x7E0));
/// assert_eq!(number(b"FFFFFFFF"), Some(u32::MAX));
/// assert_eq!(number(b"100000000"), None);
/// assert_eq!(number(b""), None);
/// ```
#[must_use]
pub fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |acc, &b| Some(acc << 4 | u32::from(digit(b)?)))
}

/// Checks one token by `syntax`; the bytes come from the returned iterator (whose length is known
/// before they are taken, so a caller can refuse too many first).
///
/// # Errors
///
/// [`HexError`] names the first thing wrong: no digits, a character that is not a hex digit, or an
/// odd number of digits where each byte takes two.
pub fn parse(token: &[u8], syntax: Syntax) -> Result<HexBytes<'_>, HexError> {
    let (skip, digits) = without_prefix(token, syntax.prefix)?;
    if let Some(at) = digits.iter().position(|&b| digit(b).is_none()) {
        return Err(HexError::NotHex { at: skip + at });
    }
    match syntax.digits {
        Digits::ShortOrPairs if digits.is_empty() => Err(HexError::NoDigits),
        Digits::ShortOrPairs if digits.len() <= 2 => Ok(HexBytes {
            digits,
            short: true,
        }),
        _ if digits.len() % 2 != 0 => Err(HexError::OddDigits {
            digits: digits.len(),
        }),
        _ => Ok(HexBytes {
            digits,
            short: false,
        }),
    }
}

/// Exactly one byte by `syntax` (`7`, `0A`, and `0x7` where a prefix is allowed); `None` for
/// anything else, several bytes included.
///
/// ```
/// use isotp_core::hex::{byte, Syntax};
/// assert_eq!(byte(b"f", Syntax::SOCKETCAND), Some(0x0F));
/// assert_eq!(byte(b"0x55", Syntax::COMMAND_LINE), Some(0x55));
/// assert_eq!(byte(b"1234", Syntax::SOCKETCAND), None);
/// assert_eq!(byte(b"f", Syntax::CANDUMP), None);
/// ```
#[must_use]
pub fn byte(token: &[u8], syntax: Syntax) -> Option<u8> {
    // The rule of `parse` for a token of one byte, without its iterator: log readers take every
    // data byte here.
    match (syntax.digits, without_prefix(token, syntax.prefix).ok()?.1) {
        (Digits::ShortOrPairs, [d]) => digit(*d),
        (_, [high, low]) => Some(digit(*high)? << 4 | digit(*low)?),
        _ => None,
    }
}

/// The digits of `token` after the prefix `prefix` allows, and where they start; `0x` alone has
/// none.
fn without_prefix(token: &[u8], prefix: Prefix) -> Result<(usize, &[u8]), HexError> {
    match (prefix, token) {
        (Prefix::Optional0x, [b'0', b'x' | b'X']) => Err(HexError::NoDigits),
        (Prefix::Optional0x, [b'0', b'x' | b'X', rest @ ..]) => Ok((2, rest)),
        _ => Ok((0, token)),
    }
}

/// The bytes of a token [`parse`] has checked, first to last.
#[derive(Clone, Debug)]
pub struct HexBytes<'a> {
    /// Checked hex digits: one or two of a single byte when `short`, else an even number.
    digits: &'a [u8],
    short: bool,
}

impl Iterator for HexBytes<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let value = |b| digit(b).unwrap_or(0);
        if self.short {
            self.short = false;
            let (last, high) = self.digits.split_last()?;
            self.digits = &[];
            return Some(high.first().map_or(0, |&h| value(h) << 4) | value(*last));
        }
        let (pair, rest) = self.digits.split_at_checked(2)?;
        self.digits = rest;
        Some(value(pair[0]) << 4 | value(pair[1]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = if self.short { 1 } else { self.digits.len() / 2 };
        (n, Some(n))
    }
}

impl ExactSizeIterator for HexBytes<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn bytes(token: &str, syntax: Syntax) -> Result<Vec<u8>, HexError> {
        parse(token.as_bytes(), syntax).map(Iterator::collect)
    }

    #[test]
    fn pairs_are_two_digits_a_byte() {
        assert_eq!(
            bytes("0322f190", Syntax::CANDUMP),
            Ok(alloc::vec![0x03, 0x22, 0xF1, 0x90])
        );
        assert_eq!(bytes("", Syntax::CANDUMP), Ok(Vec::new()));
        assert_eq!(
            bytes("7", Syntax::CANDUMP),
            Err(HexError::OddDigits { digits: 1 })
        );
        assert_eq!(
            bytes("123", Syntax::CANDUMP),
            Err(HexError::OddDigits { digits: 3 })
        );
        assert_eq!(
            bytes("0x12", Syntax::CANDUMP),
            Err(HexError::NotHex { at: 1 })
        );
    }

    #[test]
    fn short_tokens_are_one_byte_and_long_ones_pairs() {
        for (token, want) in [
            ("7", &[0x07][..]),
            ("0a", &[0x0A]),
            ("FF", &[0xFF]),
            ("112233", &[0x11, 0x22, 0x33]),
        ] {
            assert_eq!(
                bytes(token, Syntax::SOCKETCAND).as_deref(),
                Ok(want),
                "{token}"
            );
        }
        assert_eq!(bytes("", Syntax::SOCKETCAND), Err(HexError::NoDigits));
        assert_eq!(
            bytes("123", Syntax::SOCKETCAND),
            Err(HexError::OddDigits { digits: 3 })
        );
        assert_eq!(
            bytes("1G", Syntax::SOCKETCAND),
            Err(HexError::NotHex { at: 1 })
        );
    }

    #[test]
    fn the_prefix_only_where_allowed() {
        assert_eq!(bytes("0x7", Syntax::COMMAND_LINE), Ok(alloc::vec![0x07]));
        assert_eq!(
            bytes("0XaBcD", Syntax::COMMAND_LINE),
            Ok(alloc::vec![0xAB, 0xCD])
        );
        assert_eq!(bytes("0x", Syntax::COMMAND_LINE), Err(HexError::NoDigits));
        assert_eq!(
            bytes("0x0x12", Syntax::COMMAND_LINE),
            Err(HexError::NotHex { at: 3 })
        );
        assert_eq!(
            bytes("0x7", Syntax::SOCKETCAND),
            Err(HexError::NotHex { at: 1 })
        );
        // Without a prefix, a leading 0 is a digit like any other.
        assert_eq!(bytes("07", Syntax::COMMAND_LINE), Ok(alloc::vec![0x07]));
    }

    #[test]
    fn non_ascii_is_not_hex() {
        assert_eq!(
            bytes("1é", Syntax::COMMAND_LINE),
            Err(HexError::NotHex { at: 1 })
        );
    }

    #[test]
    fn the_length_is_known_before_the_bytes_are_taken() {
        let run = parse(b"00112233", Syntax::CANDUMP).unwrap();
        assert_eq!(run.len(), 4);
        assert_eq!(parse(b"A", Syntax::SOCKETCAND).unwrap().len(), 1);
        assert_eq!(parse(b"", Syntax::CANDUMP).unwrap().len(), 0);
    }

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=u8::MAX {
            let text = alloc::format!("{b:02x}");
            assert_eq!(byte(text.as_bytes(), Syntax::CANDUMP), Some(b));
            let upper = alloc::format!("{b:X}");
            assert_eq!(byte(upper.as_bytes(), Syntax::SOCKETCAND), Some(b));
        }
    }

    #[test]
    fn byte_takes_what_parse_reads_as_one_byte() {
        let syntaxes = [Syntax::CANDUMP, Syntax::SOCKETCAND, Syntax::COMMAND_LINE];
        for token in [
            "", "7", "0a", "FF", "123", "1234", "0x", "0x7", "0xAB", "0x123", "0X7f", "G", "1G",
            "é",
        ] {
            for syntax in syntaxes {
                let one = parse(token.as_bytes(), syntax)
                    .ok()
                    .filter(|b| b.len() == 1)
                    .and_then(|mut b| b.next());
                assert_eq!(byte(token.as_bytes(), syntax), one, "{token} {syntax:?}");
            }
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"0"), Some(0));
        assert_eq!(number(b"1fffFFFF"), Some(0x1FFF_FFFF));
        assert_eq!(number(b"123456789"), None);
        assert_eq!(number(b"12 3"), None);
        assert_eq!(number(b"-1"), None);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        use alloc::string::ToString;
        assert!(HexError::OddDigits { digits: 3 }
            .to_string()
            .contains("odd number"));
        assert!(HexError::NotHex { at: 2 }.to_string().contains("offset 2"));
    }
}
