//! The bodies of the fuzz targets in `fuzz/` (libFuzzer through cargo-fuzz, on a nightly toolchain)
//! and of the seeded, time-bounded tests below (`cargo test`, on stable): one function per parser of
//! untrusted bytes, with its invariants, so that both runs check the same things.
//!
//! Built for tests and with the `fuzzing` feature only; not part of the API.

use std::collections::VecDeque;

use crate::bus::slcan::protocol as slcan;
use crate::bus::socketcand::protocol as socketcand;

/// A socketcand byte stream, cut into reads of the size of its first byte: the framer yields
/// messages within the length limit whatever the cuts; every message parses or is refused; a frame
/// formatted again parses to the same frame.
pub fn socketcand(data: &[u8]) {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let mut framer = socketcand::Framer::new();
    let mut chunks = VecDeque::new();
    for read in data.chunks(usize::from(cut % 64) + 1) {
        framer.push(read, &mut chunks);
    }
    let mut whole = VecDeque::new();
    socketcand::Framer::new().push(data, &mut whole);
    // Junk is counted per read; what is not junk does not depend on the cuts.
    let junk = |c: &VecDeque<socketcand::Chunk>| -> usize {
        c.iter()
            .map(|c| match c {
                socketcand::Chunk::Junk(n) => *n,
                _ => 0,
            })
            .sum()
    };
    let not_junk = |c: &VecDeque<socketcand::Chunk>| -> Vec<socketcand::Chunk> {
        c.iter()
            .filter(|c| !matches!(c, socketcand::Chunk::Junk(_)))
            .cloned()
            .collect()
    };
    assert_eq!(
        not_junk(&chunks),
        not_junk(&whole),
        "framing depends on the cuts"
    );
    assert_eq!(junk(&chunks), junk(&whole), "junk depends on the cuts");
    for chunk in chunks {
        let text = match chunk {
            socketcand::Chunk::Message(m) | socketcand::Chunk::Unterminated(m) => m,
            socketcand::Chunk::Junk(_) | socketcand::Chunk::TooLong(_) => continue,
        };
        // Characters, not bytes: each byte that is not UTF-8 reads as U+FFFD (three bytes), and
        // the parser refuses it.
        assert!(
            text.chars().count() <= socketcand::MAX_MESSAGE_LEN,
            "a message of {} characters",
            text.chars().count()
        );
        match socketcand::parse(&text) {
            Ok(socketcand::Message::Frame(frame, at)) => {
                match socketcand::parse(&socketcand::format_frame(&frame, at)) {
                    Ok(socketcand::Message::Frame(again, _)) => assert_eq!(again, frame, "{text}"),
                    other => panic!("{text}: formatted again, {other:?}"),
                }
            }
            Ok(socketcand::Message::Send(frame)) => {
                let again = socketcand::parse(&socketcand::format_send(&frame));
                assert_eq!(again, Ok(socketcand::Message::Send(frame)), "{text}");
            }
            _ => {}
        }
    }
}

/// An SLCAN adapter's byte stream, cut into reads of the size of its first byte: the splitter's
/// lines stay within the length limit; every line decodes or is refused; a decoded frame encodes to
/// a line that decodes to the same frame.
pub fn slcan(data: &[u8]) {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let mut splitter = slcan::Splitter::default();
    let mut pieces = VecDeque::new();
    for read in data.chunks(usize::from(cut % 64) + 1) {
        splitter.push(read, &mut pieces);
    }
    for piece in pieces {
        let slcan::Piece::Line(line) = piece else {
            continue;
        };
        assert!(
            line.len() <= slcan::MAX_LINE_LEN,
            "a line of {}",
            line.len()
        );
        if let Ok(slcan::Line::Frame(frame)) = slcan::decode(&line) {
            let text = slcan::encode(&frame);
            let text = text.strip_suffix('\r').expect("encode ends a line");
            assert_eq!(
                slcan::decode(text.as_bytes()),
                Ok(slcan::Line::Frame(frame)),
                "{}",
                String::from_utf8_lossy(&line)
            );
        }
    }
}

#[cfg(test)]
mod tests;
