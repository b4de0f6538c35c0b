//! The socketcand ASCII protocol: splitting a TCP byte stream into `< ... >` messages, parsing them,
//! and formatting them. Shared by the client ([`super::SocketcandBus`]) and the `isotp-hub` server.
//!
//! Everything here is total: any input gives a value or a [`ParseError`], never a panic, and the
//! [`Framer`] never holds more than [`MAX_MESSAGE_LEN`] bytes.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Duration;

use isotp_core::hex;
use isotp_core::wire::dlc;
use isotp_core::{CanId, Frame};

/// Longest message accepted, `<` and `>` included. The longest legitimate one, an `fdsend` of 64
/// bytes written with a space before each byte, is about 230 characters.
pub const MAX_MESSAGE_LEN: usize = 512;

/// `canfd_frame.flags` bits as socketcand writes them in `fdframe`/`fdsend`.
pub const CANFD_BRS: u8 = 0x01;
/// Set by the kernel on every CAN FD frame it hands out; ignored on input.
pub const CANFD_FDF: u8 = 0x04;

/// One piece of the incoming byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// A complete `< ... >` message (brackets included).
    Message(String),
    /// This many bytes outside any message were skipped (whitespace between messages is not counted).
    Junk(usize),
    /// A message longer than [`MAX_MESSAGE_LEN`] was skipped; this many bytes were dropped.
    TooLong(usize),
    /// A message was cut short by a `<` starting the next one; the partial text.
    Unterminated(String),
}

/// Splits a byte stream into `< ... >` messages, whatever the TCP segmentation: several messages in
/// one read, a message split across reads, junk between messages.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    in_message: bool,
    /// Bytes dropped from the message being skipped for length.
    overflow: Option<usize>,
}

impl Framer {
    /// A framer with nothing buffered.
    #[must_use]
    pub fn new() -> Framer {
        Framer::default()
    }

    /// True when part of a message is buffered.
    #[must_use]
    pub fn is_mid_message(&self) -> bool {
        self.in_message
    }

    /// Feeds bytes; appends what they complete to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut VecDeque<Chunk>) {
        let mut junk = 0usize;
        for &b in data {
            if let Some(dropped) = self.overflow.as_mut() {
                *dropped += 1;
                if b == b'>' {
                    out.push_back(Chunk::TooLong(*dropped));
                    self.overflow = None;
                    self.in_message = false;
                }
                continue;
            }
            if !self.in_message {
                match b {
                    b'<' => {
                        if junk > 0 {
                            out.push_back(Chunk::Junk(junk));
                            junk = 0;
                        }
                        self.in_message = true;
                        self.buf.clear();
                        self.buf.push(b);
                    }
                    b' ' | b'\t' | b'\r' | b'\n' | 0 => {}
                    _ => junk += 1,
                }
                continue;
            }
            match b {
                b'>' => {
                    self.buf.push(b);
                    self.in_message = false;
                    out.push_back(Chunk::Message(
                        String::from_utf8_lossy(&self.buf).into_owned(),
                    ));
                    self.buf.clear();
                }
                b'<' => {
                    out.push_back(Chunk::Unterminated(
                        String::from_utf8_lossy(&self.buf).into_owned(),
                    ));
                    self.buf.clear();
                    self.buf.push(b);
                }
                _ => {
                    self.buf.push(b);
                    if self.buf.len() >= MAX_MESSAGE_LEN {
                        self.overflow = Some(self.buf.len());
                        self.buf = Vec::new();
                    }
                }
            }
        }
        if junk > 0 {
            out.push_back(Chunk::Junk(junk));
        }
    }
}

/// A parsed socketcand message (in either direction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `< hi >`: the server's greeting.
    Hi,
    /// `< ok >`: a command succeeded.
    Ok,
    /// `< echo >`.
    Echo,
    /// `< error TEXT >`: from a server, a bus error frame or a refused command.
    Error(String),
    /// `< open NAME >`.
    Open(String),
    /// `< rawmode >`.
    RawMode,
    /// `< bcmmode >`.
    BcmMode,
    /// `< frame ... >` or `< fdframe ... >`: a received frame (server to client) and its capture
    /// time, since the epoch on the server's clock.
    Frame(Frame, Duration),
    /// `< send ... >` or `< fdsend ... >`: a frame to transmit (client to server).
    Send(Frame),
    /// Any other well-formed command (its first word), e.g. `rtr`, `stat`, `subscribe`.
    Other(String),
}

/// Why a message could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Parses one message as returned by [`Framer`] (`<` ... `>`, spaces inside optional at the ends).
///
/// # Errors
///
/// A [`ParseError`] that says what is wrong with a message that is not socketcand's: not enclosed
/// in `<` and `>`, control or non-ASCII characters, an unknown command word, wrong arguments, a bad
/// id, length or data byte.
pub fn parse(message: &str) -> Result<Message, ParseError> {
    let inner = message
        .strip_prefix('<')
        .and_then(|m| m.strip_suffix('>'))
        .ok_or_else(|| ParseError("a message must be enclosed in `<` and `>`".into()))?;
    if !inner
        .bytes()
        .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
    {
        return err("the message contains control or non-ASCII characters");
    }
    let mut words = inner.split_ascii_whitespace();
    let Some(command) = words.next() else {
        return err("empty message `< >`");
    };
    let rest: Vec<&str> = words.collect();
    let no_args = |m: Message| {
        if rest.is_empty() {
            Ok(m)
        } else {
            err(format!("`{command}` takes no arguments"))
        }
    };
    match command {
        "hi" => no_args(Message::Hi),
        "ok" => no_args(Message::Ok),
        "echo" => no_args(Message::Echo),
        "rawmode" => no_args(Message::RawMode),
        "bcmmode" => no_args(Message::BcmMode),
        "error" => Ok(Message::Error(rest.join(" "))),
        "open" => match rest.as_slice() {
            [name] => Ok(Message::Open((*name).to_string())),
            [] => err("`open` needs a bus name, e.g. `< open can0 >`"),
            _ => err("`open` takes one bus name without spaces"),
        },
        "frame" => parse_frame(&rest, false).map(|(f, at)| Message::Frame(f, at)),
        "fdframe" => parse_frame(&rest, true).map(|(f, at)| Message::Frame(f, at)),
        "send" => parse_send(&rest, false).map(Message::Send),
        "fdsend" => parse_send(&rest, true).map(Message::Send),
        other => {
            if other
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                Ok(Message::Other(other.to_string()))
            } else {
                err(format!("`{other}` is not a command word"))
            }
        }
    }
}

fn hex_u32(s: &str, what: &str) -> Result<u32, ParseError> {
    hex::number(s.as_bytes())
        .ok_or_else(|| ParseError(format!("{what} `{s}` is not 1 to 8 hex digits")))
}

/// A CAN id by the core's digit rule ([`isotp_core::candump`]): socketcand writes `%03X` (11-bit) and
/// `%08X` (29-bit); up to 3 digits are 11-bit, 4 to 8 digits 29-bit.
///
/// # Errors
///
/// A [`ParseError`] for text that is not a CAN id by that rule (a `0x` prefix, a non-hex digit,
/// more than 8 digits, an id above 7FF or 1FFFFFFF).
pub fn parse_id(s: &str) -> Result<CanId, ParseError> {
    if s.starts_with("0x") || s.starts_with("0X") {
        return err(format!("CAN id `{s}`: socketcand writes bare hex digits"));
    }
    s.parse()
        .map_err(|e| ParseError(format!("CAN id `{s}`: {e}")))
}

/// Data bytes: each token of one or two hex digits is a byte (with or without a leading zero, any
/// case); a longer token of even length is a run of two-digit bytes (socketcand writes `11223344`).
fn parse_data(tokens: &[&str]) -> Result<Vec<u8>, ParseError> {
    let mut data = Vec::new();
    for t in tokens {
        let bytes = hex::parse(t.as_bytes(), hex::Syntax::SOCKETCAND).map_err(|e| match e {
            hex::HexError::OddDigits { .. } => {
                ParseError(format!("data `{t}` has an odd number of hex digits"))
            }
            _ => ParseError(format!("data `{t}` is not hex")),
        })?;
        if data.len() + bytes.len() > dlc::FD_MAX_LEN {
            return err(format!("more than {} data bytes", dlc::FD_MAX_LEN));
        }
        data.extend(bytes);
    }
    Ok(data)
}

/// A classic message (`send`, `frame`) with more than 8 bytes of a valid CAN FD length is taken as
/// CAN FD without bit rate switch: python-can's client writes CAN FD messages as `< send >`.
fn build(id: CanId, data: &[u8], fd: bool, flags: u8) -> Result<Frame, ParseError> {
    let fd = fd || (data.len() > dlc::CLASSIC_MAX_LEN && dlc::is_valid_fd_len(data.len()));
    let f = if fd {
        Frame::new_fd(id, data).map(|f| f.with_brs(flags & CANFD_BRS != 0))
    } else {
        Frame::new(id, data)
    };
    f.map_err(|e| {
        if data.len() > dlc::CLASSIC_MAX_LEN {
            ParseError(format!(
                "{} data bytes is neither a classic CAN length (0-8) nor a CAN FD one (12, 16, 20, 24, 32, 48, 64)",
                data.len()
            ))
        } else {
            ParseError(e.to_string())
        }
    })
}

/// `SECONDS.FRACTION` (socketcand writes six digits of microseconds) as a time since the epoch.
/// Fraction digits beyond nanoseconds are ignored.
fn parse_timestamp(s: &str) -> Result<Duration, ParseError> {
    let mut parts = s.splitn(2, '.');
    let secs = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("0");
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(secs) && digits(frac)) {
        return err(format!("timestamp `{s}` is not SECONDS.MICROSECONDS"));
    }
    let Ok(secs) = secs.parse::<u64>() else {
        return err(format!("timestamp `{s}`: the seconds are out of range"));
    };
    let nanos = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    Ok(Duration::new(secs, nanos))
}

/// `frame ID SECS.USECS DATA` or `fdframe ID FLAGS SECS.USECS DATA`: the frame and its capture time
/// (since the epoch, on the server's clock).
fn parse_frame(args: &[&str], fd: bool) -> Result<(Frame, Duration), ParseError> {
    let (id, flags, ts, data) = match (fd, args) {
        (false, [id, ts, data @ ..]) => (id, 0, ts, data),
        (true, [id, flags, ts, data @ ..]) => (id, hex_u32(flags, "flags")?, ts, data),
        (false, _) => {
            return err("`frame` needs an id and a timestamp: `< frame 123 23.424242 11223344 >`")
        }
        (true, _) => {
            return err(
                "`fdframe` needs an id, flags and a timestamp: `< fdframe 123 05 23.424242 1122 >`",
            )
        }
    };
    let id = parse_id(id)?;
    let at = parse_timestamp(ts)?;
    let data = parse_data(data)?;
    Ok((build(id, &data, fd, (flags & 0xFF) as u8)?, at))
}

/// `send ID LEN B0 B1 ...` or `fdsend ID FLAGS LEN B0 B1 ...`. LEN is decimal as socketcand reads it;
/// python-can writes it in hex, which reads the same up to 9, so a LEN that matches the byte count
/// only when read as hex is accepted too.
fn parse_send(args: &[&str], fd: bool) -> Result<Frame, ParseError> {
    let (id, flags, len, data) = match (fd, args) {
        (false, [id, len, data @ ..]) => (id, 0, len, data),
        (true, [id, flags, len, data @ ..]) => (id, hex_u32(flags, "flags")?, len, data),
        (false, _) => return err("`send` needs an id and a length: `< send 123 2 11 22 >`"),
        (true, _) => {
            return err("`fdsend` needs an id, flags and a length: `< fdsend 123 1 2 11 22 >`")
        }
    };
    let id = parse_id(id)?;
    let data = parse_data(data)?;
    let matches = |radix| usize::from_str_radix(len, radix).ok() == Some(data.len());
    if !(matches(10) || matches(16)) {
        return err(format!(
            "the length field `{len}` does not match the {} data bytes that follow",
            data.len()
        ));
    }
    build(id, &data, fd, (flags & 0xFF) as u8)
}

/// The id as socketcand writes it: `%03X` or `%08X`.
fn push_id(out: &mut String, id: CanId) {
    if id.is_extended() {
        let _ = write!(out, "{:08X}", id.raw());
    } else {
        let _ = write!(out, "{:03X}", id.raw());
    }
}

/// A frame as a server reports it, exactly as socketcand writes it: `< frame 123 23.424242 11223344 >`
/// (an empty frame has two spaces before `>`, which python-can's parser needs), or
/// `< fdframe 123 05 23.424242 1122... >` for CAN FD (flags: 0x01 BRS, 0x04 FDF).
#[must_use]
pub fn format_frame(frame: &Frame, since_epoch: Duration) -> String {
    let mut s = String::with_capacity(40 + 2 * frame.len());
    if frame.is_fd() {
        s.push_str("< fdframe ");
        push_id(&mut s, frame.id());
        let flags = CANFD_FDF | if frame.is_brs() { CANFD_BRS } else { 0 };
        let _ = write!(s, " {flags:02X}");
    } else {
        s.push_str("< frame ");
        push_id(&mut s, frame.id());
    }
    let _ = write!(
        s,
        " {}.{:06} ",
        since_epoch.as_secs(),
        since_epoch.subsec_micros()
    );
    for b in frame.data() {
        let _ = write!(s, "{b:02X}");
    }
    s.push_str(" >");
    s
}

/// A frame to transmit: `< send 123 3 11 22 33 >` (LEN decimal), or
/// `< fdsend 123 1 12 11 22 ... >` for CAN FD (FLAGS hex, 0x01 = BRS), as socketcand reads them.
#[must_use]
pub fn format_send(frame: &Frame) -> String {
    let mut s = String::with_capacity(24 + 3 * frame.len());
    if frame.is_fd() {
        s.push_str("< fdsend ");
        push_id(&mut s, frame.id());
        let flags = if frame.is_brs() { CANFD_BRS } else { 0 };
        let _ = write!(s, " {flags:X} {}", frame.len());
    } else {
        s.push_str("< send ");
        push_id(&mut s, frame.id());
        let _ = write!(s, " {}", frame.len());
    }
    for b in frame.data() {
        let _ = write!(s, " {b:02X}");
    }
    s.push_str(" >");
    s
}

/// True when `name` can be a socketcand bus name: 1 to 64 printable ASCII characters without spaces,
/// `<` or `>`. Returns why not otherwise.
///
/// # Errors
///
/// Why the name cannot be a bus name: empty, longer than 64 characters, or with a space, `<`, `>`
/// or a character that is not printable ASCII.
pub fn check_bus_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the bus name is empty".into());
    }
    if name.len() > 64 {
        return Err(format!(
            "the bus name is {} characters long; at most 64",
            name.len()
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
    {
        return Err("a bus name is printable ASCII without spaces, `<` or `>`".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Chunk> {
        let mut f = Framer::new();
        let mut out = VecDeque::new();
        for c in chunks {
            f.push(c, &mut out);
        }
        out.into_iter().collect()
    }

    fn msg(s: &str) -> Chunk {
        Chunk::Message(s.to_string())
    }

    #[test]
    fn framer_handles_several_per_read_and_splits() {
        assert_eq!(
            split(&[b"< hi >< ok >\n< frame 123 1.0 11 >"]),
            vec![msg("< hi >"), msg("< ok >"), msg("< frame 123 1.0 11 >")]
        );
        assert_eq!(
            split(&[b"< fra", b"me 123 1.", b"0 11 >< o", b"k >"]),
            vec![msg("< frame 123 1.0 11 >"), msg("< ok >")]
        );
        let bytes = b"< send 123 2 1 2 >";
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(split(&singles), vec![msg("< send 123 2 1 2 >")]);
    }

    #[test]
    fn framer_skips_junk_and_bounds_length() {
        assert_eq!(
            split(&[b"xyz< ok >zz"]),
            vec![Chunk::Junk(3), msg("< ok >"), Chunk::Junk(2)]
        );
        assert_eq!(
            split(&[b"< frame 1", b"< ok >"]),
            vec![Chunk::Unterminated("< frame 1".into()), msg("< ok >")]
        );
        let mut long = vec![b'<'];
        long.extend(std::iter::repeat(b'a').take(10_000));
        long.extend_from_slice(b">< ok >");
        let mut f = Framer::new();
        let mut out = VecDeque::new();
        f.push(&long, &mut out);
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0], Chunk::TooLong(n) if n == 10_002));
        assert_eq!(out[1], msg("< ok >"));
        assert!(f.buf.capacity() <= MAX_MESSAGE_LEN * 2);
    }

    #[test]
    fn framer_never_buffers_unbounded() {
        let mut f = Framer::new();
        let mut out = VecDeque::new();
        f.push(b"<", &mut out);
        for _ in 0..1000 {
            f.push(&[b'x'; 1000], &mut out);
            assert!(f.buf.len() < MAX_MESSAGE_LEN);
        }
        assert!(out.is_empty());
        f.push(b"> < ok >", &mut out);
        assert!(matches!(out[0], Chunk::TooLong(_)));
        assert_eq!(out[1], msg("< ok >"));
    }

    fn frame(id: CanId, data: &[u8]) -> Frame {
        Frame::new(id, data).unwrap()
    }

    #[test]
    fn parses_frames_like_real_servers_send_them() {
        let std = CanId::standard(0x123).unwrap();
        // socketcand: concatenated upper-case hex.
        assert_eq!(
            parse("< frame 123 1700000000.123456 11223344 >"),
            Ok(Message::Frame(
                frame(std, &[0x11, 0x22, 0x33, 0x44]),
                Duration::new(1_700_000_000, 123_456_000)
            ))
        );
        // protocol.md: spaced bytes; some servers drop leading zeros or use lower case.
        assert_eq!(
            parse("< frame 123 23.424242 11 2 3a 4B >"),
            Ok(Message::Frame(
                frame(std, &[0x11, 0x02, 0x3A, 0x4B]),
                Duration::new(23, 424_242_000)
            ))
        );
        // Empty frame: socketcand writes two spaces.
        assert_eq!(
            parse("< frame 123 23.424242  >"),
            Ok(Message::Frame(
                frame(std, &[]),
                Duration::new(23, 424_242_000)
            ))
        );
        assert_eq!(
            parse("< frame 123 23 >"),
            Ok(Message::Frame(frame(std, &[]), Duration::from_secs(23)))
        );
        let ext = CanId::extended(0x18DA_F110).unwrap();
        assert_eq!(
            parse("< frame 18DAF110 1.5 0102 >"),
            Ok(Message::Frame(
                frame(ext, &[1, 2]),
                Duration::from_millis(1500)
            ))
        );
        // An id not 3 digits long is extended, even if small.
        assert_eq!(
            parse("< frame 00000123 1.5 >"),
            Ok(Message::Frame(
                frame(CanId::extended(0x123).unwrap(), &[]),
                Duration::from_millis(1500)
            ))
        );
        let fd = parse("< fdframe 7E0 05 1.000001 00112233445566778899AABB >").unwrap();
        let Message::Frame(fd, at) = fd else { panic!() };
        assert_eq!(at, Duration::new(1, 1_000));
        assert!(fd.is_fd() && fd.is_brs());
        assert_eq!(fd.len(), 12);
    }

    #[test]
    fn rejects_malformed_frames() {
        for bad in [
            "< frame >",
            "< frame 123 >",
            "< frame 800 1.0 >",
            "< frame 2FFFFFFF 1.0 >",
            "< frame 12G 1.0 >",
            "< frame 123 x.y 11 >",
            "< frame 123 99999999999999999999999.5 11 >",
            "< frame 123 1. 11 >",
            "< frame 123 .5 11 >",
            "< frame 123 1.0 112 >",
            "< frame 123 1.0 zz >",
            "< frame 123 1.0 112233445566778899 >",
            "< fdframe 123 1.0 11 >",
            "< fdframe 123 00 1.0 112233445566778899 >",
            "< frame 123 1.0 \u{1}1 >",
            "< >",
            "hi",
            "< a-b >",
            "< ok now >",
            "< open >",
            "< open a b >",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn parses_send_as_python_can_and_socketcand_write_it() {
        let std = CanId::standard(0x7E0).unwrap();
        // python-can: `{length:X}` and `{x:x}` bytes (no leading zero, lower case).
        assert_eq!(
            parse("< send 7E0 8 2 10 3 0 0 0 0 aa >"),
            Ok(Message::Send(frame(std, &[2, 0x10, 3, 0, 0, 0, 0, 0xAA])))
        );
        assert_eq!(
            parse("< send 1AAAAAAA 2 1 F1 >"),
            Ok(Message::Send(frame(
                CanId::extended(0x1AAA_AAAA).unwrap(),
                &[1, 0xF1]
            )))
        );
        assert_eq!(
            parse("< send 123 0 >"),
            Ok(Message::Send(frame(CanId::standard(0x123).unwrap(), &[])))
        );
        assert!(parse("< send 123 3 1 2 >").is_err());
        assert!(parse("< send 123 9 1 2 3 4 5 6 7 8 9 >").is_err());
        // python-can's CAN FD: `< send >` with the length in hex.
        let Ok(Message::Send(fd)) = parse("< send 123 C 0 1 2 3 4 5 6 7 8 9 a b >") else {
            panic!()
        };
        assert!(fd.is_fd() && !fd.is_brs() && fd.len() == 12);
        assert!(parse("< send 123 >").is_err());
        let Ok(Message::Send(fd)) = parse("< fdsend 123 1 12 0 1 2 3 4 5 6 7 8 9 a b >") else {
            panic!()
        };
        assert!(fd.is_fd() && fd.is_brs() && fd.len() == 12);
        assert!(
            parse("< fdsend 123 0 9 0 1 2 3 4 5 6 7 8 >").is_err(),
            "9 is no FD length"
        );
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse("< hi >"), Ok(Message::Hi));
        assert_eq!(parse("<ok>"), Ok(Message::Ok));
        assert_eq!(parse("< open vcan0 >"), Ok(Message::Open("vcan0".into())));
        assert_eq!(parse("< rawmode >"), Ok(Message::RawMode));
        assert_eq!(
            parse("< error 004 1.000000 >"),
            Ok(Message::Error("004 1.000000".into()))
        );
        assert_eq!(parse("< error >"), Ok(Message::Error(String::new())));
        assert_eq!(
            parse("< subscribe 0 0 123 >"),
            Ok(Message::Other("subscribe".into()))
        );
    }

    #[test]
    fn formats_round_trip() {
        let ts = Duration::new(1_700_000_000, 123_456_000);
        let std = CanId::standard(0x12).unwrap();
        let ext = CanId::extended(0x18DA_F110).unwrap();
        assert_eq!(
            format_frame(&frame(std, &[0xAB, 1]), ts),
            "< frame 012 1700000000.123456 AB01 >"
        );
        assert_eq!(
            format_frame(&frame(std, &[]), ts),
            "< frame 012 1700000000.123456  >"
        );
        assert_eq!(
            format_send(&frame(ext, &[1, 0xF1])),
            "< send 18DAF110 2 01 F1 >"
        );
        assert_eq!(format_send(&frame(std, &[])), "< send 012 0 >");
        let fd = Frame::new_fd(ext, &[7; 64]).unwrap().with_brs(true);
        let fd_nobrs = Frame::new_fd(std, &[7; 12]).unwrap();
        for f in [
            frame(std, &[]),
            frame(ext, &[1, 2, 3, 4, 5, 6, 7, 8]),
            fd,
            fd_nobrs,
        ] {
            assert_eq!(parse(&format_frame(&f, ts)), Ok(Message::Frame(f, ts)));
            assert_eq!(parse(&format_send(&f)), Ok(Message::Send(f)));
            assert!(format_send(&f).len() < MAX_MESSAGE_LEN);
        }
    }

    #[test]
    fn bus_names() {
        assert!(check_bus_name("vcan0").is_ok());
        assert!(check_bus_name("").is_err());
        assert!(check_bus_name("a b").is_err());
        assert!(check_bus_name("a>").is_err());
        assert!(check_bus_name(&"x".repeat(65)).is_err());
    }
}
