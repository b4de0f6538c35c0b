//! Hexadecimal bytes in and out: payloads typed by people, and the one-line output of `recv`.

use std::fmt;

use isotp_core::hex;

/// Why a text is not a list of hex bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexError {
    /// The offending token, as typed.
    pub token: String,
    /// 1-based line of the token.
    pub line: usize,
    /// 1-based position of the token on its line.
    pub column: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' at line {}, column {} {}",
            self.token, self.line, self.column, self.reason
        )
    }
}

/// Parses hex bytes separated by white space, as isotpsend reads them: a token of one or two hex
/// digits is one byte (`7` is 0x07); a longer token of even length is several bytes (`112233`).
/// A `0x` prefix on a token is allowed.
///
/// ```text
/// "11 22 33"        -> [0x11, 0x22, 0x33]
/// "112233\n44"      -> [0x11, 0x22, 0x33, 0x44]
/// "1 2 0xAB"        -> [0x01, 0x02, 0xAB]
/// ```
pub fn parse_bytes(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::new();
    for (line_index, line) in text.lines().enumerate() {
        let mut rest = line;
        let mut consumed = 0;
        while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
            let after = &rest[start..];
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            let token = &after[..end];
            let column = consumed + start + 1;
            let error = |reason| HexError {
                token: token.to_string(),
                line: line_index + 1,
                column,
                reason,
            };
            let bytes = hex::parse(token.as_bytes(), hex::Syntax::COMMAND_LINE).map_err(|e| {
                error(match e {
                    hex::HexError::NoDigits => "has no hex digits",
                    hex::HexError::OddDigits { .. } => {
                        "has an odd number of hex digits (write each byte as two digits)"
                    }
                    _ => "is not hexadecimal (expected bytes such as 0A or 1F2E3D)",
                })
            })?;
            out.extend(bytes);
            consumed += start + end;
            rest = &after[end..];
        }
    }
    Ok(out)
}

/// `11 22 33`: two-digit uppercase bytes separated by single spaces (the `recv` format).
pub fn spaced(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        push_byte(&mut s, *b);
    }
    s
}

/// `112233`: two-digit uppercase bytes without separators (candump's and JSON's format).
pub fn compact(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        push_byte(&mut s, *b);
    }
    s
}

fn push_byte(s: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    s.push(char::from(DIGITS[usize::from(b >> 4)]));
    s.push(char::from(DIGITS[usize::from(b & 0x0F)]));
}

/// The bytes as text: printable ASCII as is, everything else as `.` (as isotpdump's `-a`).
pub fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7F).contains(&b) {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tokens_are_single_bytes() {
        assert_eq!(parse_bytes("11 22 3").unwrap(), vec![0x11, 0x22, 0x03]);
    }

    #[test]
    fn long_even_tokens_are_several_bytes() {
        assert_eq!(
            parse_bytes("112233\n\t44  0xaBcD").unwrap(),
            vec![0x11, 0x22, 0x33, 0x44, 0xAB, 0xCD]
        );
    }

    #[test]
    fn empty_input_is_no_bytes() {
        assert_eq!(parse_bytes("  \n \n").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn bad_tokens_are_located() {
        let e = parse_bytes("11 22\n33 zz 44").unwrap_err();
        assert_eq!((e.token.as_str(), e.line, e.column), ("zz", 2, 4));
        assert!(e.to_string().contains("not hexadecimal"));
        let e = parse_bytes("123").unwrap_err();
        assert!(e.to_string().contains("odd number"));
        assert!(parse_bytes("0x").is_err());
        assert!(parse_bytes("1é").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(spaced(&[0x01, 0xAB, 0xFF]), "01 AB FF");
        assert_eq!(spaced(&[]), "");
        assert_eq!(compact(&[0x01, 0xAB]), "01AB");
        assert_eq!(ascii(b"Hi\x00\x7F~"), "Hi..~");
    }
}
