//! What goes wrong while reading or writing a log, and where.

use std::fmt;

use super::Format;

/// Where in the input a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Before any content (opening, the first bytes).
    Start,
    /// A 1-based line of a text format.
    Line(u64),
    /// A byte offset in the file (binary formats).
    Offset(u64),
    /// A byte of the uncompressed data of the BLF log container that starts at `container` in the
    /// file.
    InContainer {
        /// File offset of the container.
        container: u64,
        /// Offset in its uncompressed data.
        offset: u64,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Start => f.write_str("start of input"),
            Position::Line(n) => write!(f, "line {n}"),
            Position::Offset(n) => write!(f, "byte {n}"),
            Position::InContainer { container, offset } => write!(
                f,
                "log container at byte {container}, uncompressed byte {offset}"
            ),
        }
    }
}

/// The kind of a [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// One record is malformed; the others are read on.
    Malformed,
    /// The input is not in the format asked for (it may say what it looks like).
    NotTheFormat {
        /// The format that was asked for.
        expected: Format,
        /// The format the input looks like, when it looks like one.
        looks_like: Option<Format>,
    },
    /// A binary file whose structure is broken past recovery.
    Corrupt,
    /// Reading or writing failed.
    Io,
    /// A record the output format cannot hold.
    Unsupported,
}

/// An error of a [`Reader`](super::Reader) or [`Writer`](super::Writer): where, what kind, and what was
/// expected in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Where.
    pub position: Position,
    /// What kind.
    pub kind: ErrorKind,
    /// What is wrong, in words.
    pub message: String,
}

impl Error {
    pub(crate) fn malformed(position: Position, message: impl Into<String>) -> Error {
        Error {
            position,
            kind: ErrorKind::Malformed,
            message: message.into(),
        }
    }

    pub(crate) fn fatal(position: Position, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            position,
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn corrupt(position: Position, message: impl Into<String>) -> Error {
        Error::fatal(position, ErrorKind::Corrupt, message)
    }

    pub(crate) fn io(position: Position, e: &std::io::Error) -> Error {
        Error::fatal(position, ErrorKind::Io, format!("cannot read: {e}"))
    }

    pub(crate) fn not_the_format(
        expected: Format,
        looks_like: Option<Format>,
        first: Option<Error>,
    ) -> Error {
        Error::not_the_format_because(expected, looks_like, first, None)
    }

    /// The input is not `expected`: it looks like another format, or it is `reason`, or its first
    /// records are all bad (`first` is the first of them).
    pub(crate) fn not_the_format_because(
        expected: Format,
        looks_like: Option<Format>,
        first: Option<Error>,
        reason: Option<&str>,
    ) -> Error {
        let mut message = format!("not {}", expected.description());
        if let Some(other) = looks_like {
            message.push_str(&format!(": it looks like {}", other.description()));
        } else if let Some(reason) = reason {
            message.push_str(&format!(": {reason}"));
        } else if let Some(first) = &first {
            message.push_str(&format!(
                ": no valid record among the first lines ({}: {})",
                first.position, first.message
            ));
        }
        Error {
            position: Position::Start,
            kind: ErrorKind::NotTheFormat {
                expected,
                looks_like,
            },
            message,
        }
    }

    /// True when reading cannot go on after this error (the reader then ends).
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        !matches!(self.kind, ErrorKind::Malformed)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Position::Start => f.write_str(&self.message),
            p => write!(f, "{p}: {}", self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Up to 60 characters of `bytes`, for messages.
pub(crate) fn shorten(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let s: String = String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    if s.chars().count() <= MAX {
        s
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}...")
    }
}
