//! One frame of a recording, with when and where it was seen.

use std::fmt;
use std::time::Duration;

use isotp_core::Frame;

/// Received or transmitted, as seen by the node that recorded (the engine's direction type).
pub use isotp_core::Direction;

/// A CAN data frame as a log recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// When the frame was seen: since the Unix epoch (UTC) when the log says when it was recorded,
    /// else since the start of the recording.
    pub time: Duration,
    /// The bus it was seen on.
    pub channel: Channel,
    /// Received or transmitted by the logging node, when the log says.
    pub direction: Option<Direction>,
    /// The frame.
    pub frame: Frame,
}

/// The latest time a record may carry: the twelve digits of seconds a candump log holds (the year
/// 33658). Readers refuse later times, so that every writer, and every consumer counting
/// microseconds in a `u64`, can take what a reader gives.
pub(crate) const MAX_TIME: Duration = Duration::from_secs(999_999_999_999);

/// `offset` after `start` (the recording's start when the log says it, else zero), or why that time
/// cannot be: readers take both from the input and must not overflow on a hostile one.
pub(crate) fn time_after(start: Option<Duration>, offset: Duration) -> Result<Duration, String> {
    start
        .unwrap_or(Duration::ZERO)
        .checked_add(offset)
        .filter(|t| *t <= MAX_TIME)
        .ok_or_else(|| {
            format!(
                "time offset {} s after the start is out of range (times end at {} s)",
                offset.as_secs(),
                MAX_TIME.as_secs()
            )
        })
}

/// The bus a frame was seen on: an interface name (candump's `can0`) or a channel number (Vector and
/// PEAK tools count from 1).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A 1-based channel number.
    Number(u16),
    /// An interface name of up to 15 bytes (Linux's limit).
    Name(ChannelName),
}

/// An interface name, stored inline so that records never allocate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelName {
    len: u8,
    bytes: [u8; ChannelName::MAX],
}

impl ChannelName {
    /// The longest name, in bytes.
    pub const MAX: usize = 15;

    /// `None` for an empty name, one longer than [`ChannelName::MAX`] bytes, or one with white space
    /// or a control character (a name is written into text logs as one field).
    ///
    /// ```
    /// use isotp_capture::ChannelName;
    /// assert_eq!(ChannelName::new("vcan0").unwrap().as_str(), "vcan0");
    /// assert!(ChannelName::new("a-name-longer-than-15").is_none());
    /// assert!(ChannelName::new("can\0").is_none());
    /// ```
    #[must_use]
    pub fn new(name: &str) -> Option<ChannelName> {
        let b = name.as_bytes();
        if b.is_empty()
            || b.len() > Self::MAX
            || b.iter()
                .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
        {
            return None;
        }
        let mut bytes = [0; Self::MAX];
        bytes[..b.len()].copy_from_slice(b);
        Some(ChannelName {
            len: u8::try_from(b.len()).ok()?,
            bytes,
        })
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Built from a &str only, so always UTF-8.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("?")
    }
}

impl Channel {
    /// The channel a name stands for: a number for `1`, `2`... (as [`Display`](fmt::Display) writes
    /// numbered channels), else an interface name; `None` for `0` or a name that
    /// [`ChannelName::new`] refuses.
    ///
    /// ```
    /// use isotp_capture::Channel;
    /// assert_eq!(Channel::from_name("2"), Some(Channel::Number(2)));
    /// assert_eq!(Channel::from_name("vcan0").unwrap().to_string(), "vcan0");
    /// assert_eq!(Channel::from_name("0"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Channel> {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            return name
                .parse::<u16>()
                .ok()
                .filter(|&n| n >= 1)
                .map(Channel::Number);
        }
        ChannelName::new(name).map(Channel::Name)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Number(n) => write!(f, "{n}"),
            Channel::Name(n) => f.write_str(n.as_str()),
        }
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Numbers for channels in a format that has only numbers: a number stays, a name gets the next
/// free number in order of appearance (1, 2...).
#[derive(Default)]
pub(crate) struct ChannelNumbers {
    names: Vec<ChannelName>,
}

impl ChannelNumbers {
    /// The 1-based number of `channel`.
    pub(crate) fn number(&mut self, channel: Channel) -> u16 {
        match channel {
            Channel::Number(n) => n.max(1),
            Channel::Name(name) => {
                let i = self
                    .names
                    .iter()
                    .position(|n| *n == name)
                    .unwrap_or_else(|| {
                        self.names.push(name);
                        self.names.len() - 1
                    });
                u16::try_from(i + 1).unwrap_or(u16::MAX)
            }
        }
    }
}
