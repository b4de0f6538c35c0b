//! Hand-made recordings with one known fault each, and clean recordings of two engines.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::wire::ParseError;
use crate::{CanId, Config, LinkLayer};

fn f(raw: u32, data: &[u8]) -> Frame {
    Frame::new(CanId::standard(raw).unwrap(), data).unwrap()
}

fn fd(raw: u32, data: &[u8]) -> Frame {
    Frame::new_fd(CanId::standard(raw).unwrap(), data).unwrap()
}

fn ms(n: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(n)
}

/// Every finding of a recording (times in milliseconds): kind name, frame, frame measured from.
fn check(frames: &[(u64, Frame)]) -> Vec<(&'static str, u64, Option<u64>)> {
    findings(frames, CheckConfig::discovering(Discovery::Normal))
        .iter()
        .map(|x| (x.kind.name(), x.frame.index, x.since.map(|s| s.index)))
        .collect()
}

fn findings(frames: &[(u64, Frame)], settings: CheckConfig) -> Vec<Finding> {
    let mut c = Checker::new(settings);
    for (t, frame) in frames {
        c.handle_frame(frame, ms(*t));
    }
    c.finish();
    core::iter::from_fn(|| c.poll_finding()).collect()
}

const ECU: u32 = 0x7E8;
const TESTER: u32 = 0x7E0;

/// A 20-byte response from the ECU: first frame, flow control (BS, STmin), 2 consecutive frames.
fn response(fc: [u8; 3], cf_times: [u64; 2]) -> Vec<(u64, Frame)> {
    vec![
        (0, f(ECU, &[0x10, 20, 1, 2, 3, 4, 5, 6])),
        (1, f(TESTER, &fc)),
        (cf_times[0], f(ECU, &[0x21, 7, 8, 9, 10, 11, 12, 13])),
        (cf_times[1], f(ECU, &[0x22, 14, 15, 16, 17, 18, 19, 20])),
    ]
}

#[test]
fn a_clean_transfer_gives_nothing() {
    assert_eq!(check(&response([0x30, 0, 10], [11, 21])), []);
}

#[test]
fn st_min_violated() {
    assert_eq!(
        check(&response([0x30, 0, 10], [11, 15])),
        [("st_min_violated", 3, Some(2))]
    );
    let found = findings(
        &response([0x30, 0, 10], [11, 15]),
        CheckConfig::discovering(Discovery::Normal),
    );
    assert_eq!(
        found[0].kind,
        FindingKind::StMinViolated {
            st_min: StMin::from_byte(10),
            gap: Duration::from_millis(4)
        }
    );
    assert_eq!(found[0].severity(), Severity::Violation);
    assert_eq!(found[0].conversation.to_string(), "7E8/7E0");
    // Within the tolerance: 9.95 ms against 10 ms is fair.
    let mut near = Checker::new(CheckConfig::discovering(Discovery::Normal));
    let frames = response([0x30, 0, 10], [11, 21]);
    for (i, (t, frame)) in frames.iter().enumerate() {
        let time = if i == 3 {
            Instant::from_micros(t * 1000 - 50)
        } else {
            ms(*t)
        };
        near.handle_frame(frame, time);
    }
    near.finish();
    assert_eq!(near.poll_finding(), None);
}

#[test]
fn block_size_ignored() {
    // 34 bytes: FF and 4 CFs; BS 2 asks for a flow control after CF 2.
    let frames = [
        (0, f(ECU, &[0x10, 34, 1, 2, 3, 4, 5, 6])),
        (1, f(TESTER, &[0x30, 2, 0])),
        (2, f(ECU, &[0x21, 0, 0, 0, 0, 0, 0, 0])),
        (3, f(ECU, &[0x22, 0, 0, 0, 0, 0, 0, 0])),
        (4, f(ECU, &[0x23, 0, 0, 0, 0, 0, 0, 0])),
        (5, f(ECU, &[0x24, 0, 0, 0, 0, 0, 0, 0])),
    ];
    assert_eq!(check(&frames), [("block_size_exceeded", 4, Some(3))]);
    // With the flow control it asked for, clean.
    let mut ok = frames.to_vec();
    ok.insert(4, (3, f(TESTER, &[0x30, 2, 0])));
    assert_eq!(check(&ok), []);
}

#[test]
fn n_bs_exceeded() {
    let mut frames = response([0x30, 0, 0], [1502, 1503]);
    frames[1].0 = 1501;
    assert_eq!(check(&frames), [("n_bs_exceeded", 1, Some(0))]);
    // Slower than N_Br, within N_Bs: a warning.
    let mut slow = response([0x30, 0, 0], [952, 953]);
    slow[1].0 = 951;
    let found = findings(&slow, CheckConfig::discovering(Discovery::Normal));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind.name(), "n_br_exceeded");
    assert_eq!(found[0].severity(), Severity::Warning);
}

#[test]
fn n_cr_exceeded() {
    assert_eq!(
        check(&response([0x30, 0, 0], [2, 1100])),
        [("n_cr_exceeded", 3, Some(2))]
    );
    let found = findings(
        &response([0x30, 0, 0], [2, 950]),
        CheckConfig::discovering(Discovery::Normal),
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind.name(), "n_cs_exceeded");
}

#[test]
fn wrong_sequence_number() {
    let frames = [
        (0, f(ECU, &[0x10, 30, 1, 2, 3, 4, 5, 6])),
        (1, f(TESTER, &[0x30, 0, 0])),
        (2, f(ECU, &[0x21, 0, 0, 0, 0, 0, 0, 0])),
        (3, f(ECU, &[0x23, 0, 0, 0, 0, 0, 0, 0])),
        (4, f(ECU, &[0x24, 0, 0, 0, 0, 0, 0, 0])),
        (5, f(ECU, &[0x25, 0, 0, 0, 0, 0, 0, 0])),
    ];
    assert_eq!(check(&frames), [("wrong_sequence_number", 3, Some(2))]);
}

#[test]
fn classic_first_frame_shorter_than_8_bytes() {
    let frames = [
        (0, f(ECU, &[0x10, 10, 1, 2, 3, 4, 5])),
        (1, f(TESTER, &[0x30, 0, 0])),
        (2, f(ECU, &[0x21, 6, 7, 8, 9, 10])),
    ];
    let found = findings(&frames, CheckConfig::discovering(Discovery::Normal));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].kind,
        FindingKind::Malformed(ParseError::FirstFrameTooShort { frame_len: 7 })
    );
    assert_eq!(found[0].frame.index, 0);
}

#[test]
fn escaped_single_frame_in_8_bytes() {
    let frames = [(0, f(TESTER, &[0x00, 3, 0x22, 0xF1, 0x90, 0xCC, 0xCC, 0xCC]))];
    assert_eq!(check(&frames), [("malformed", 0, None)]);
}

#[test]
fn escaped_first_frame_below_4096() {
    let frames = [
        (0, f(ECU, &[0x10, 0, 0, 0, 0, 20, 1, 2])),
        (1, f(TESTER, &[0x30, 0, 0])),
        (2, f(ECU, &[0x21, 3, 4, 5, 6, 7, 8, 9])),
        (3, f(ECU, &[0x22, 10, 11, 12, 13, 14, 15, 16])),
        (4, f(ECU, &[0x23, 17, 18, 19, 20])),
    ];
    let found = findings(&frames, CheckConfig::discovering(Discovery::Normal));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].kind,
        FindingKind::Malformed(ParseError::FirstFrameEscapeNotAllowed { length: 20 })
    );
}

#[test]
fn first_frame_that_fits_a_single_frame() {
    let frames = [
        (0, f(ECU, &[0x10, 7, 1, 2, 3, 4, 5, 6])),
        (1, f(TESTER, &[0x30, 0, 0])),
        (2, f(ECU, &[0x21, 7])),
    ];
    assert_eq!(check(&frames), [("malformed", 0, None)]);
    let found = findings(&frames, CheckConfig::discovering(Discovery::Normal));
    assert!(matches!(
        found[0].kind,
        FindingKind::Malformed(ParseError::FirstFrameLengthTooSmall { length: 7, .. })
    ));
}

#[test]
fn consecutive_frame_of_the_wrong_length() {
    let frames = [
        (0, f(ECU, &[0x10, 20, 1, 2, 3, 4, 5, 6])),
        (1, f(TESTER, &[0x30, 0, 0])),
        (2, f(ECU, &[0x21, 7, 8, 9, 10])),
        (3, f(ECU, &[0x22, 11, 12, 13, 14, 15, 16, 17])),
        (4, f(ECU, &[0x23, 18, 19, 20, 21, 22, 23, 24])),
    ];
    assert_eq!(check(&frames), [("consecutive_frame_length", 2, None)]);
}

#[test]
fn fd_frame_padded_beyond_the_next_length() {
    // 10 bytes of a single frame: 12 bytes of frame, not 16.
    let mut sf = [0u8; 16];
    sf[1] = 10;
    let frames = [(0, fd(TESTER, &sf))];
    assert_eq!(check(&frames), [("fd_padding", 0, None)]);
    let frames = [(0, fd(TESTER, &sf[..12]))];
    assert_eq!(check(&frames), []);
    // A last consecutive frame of 3 bytes in 64: 8 would do.
    let mut ff = [0xAAu8; 64];
    ff[0] = 0x10;
    ff[1] = 64;
    let mut cf = [0u8; 64];
    cf[0] = 0x21;
    let frames = [
        (0, fd(ECU, &ff)),
        (1, f(TESTER, &[0x30, 0, 0])),
        (2, fd(ECU, &cf)),
    ];
    assert_eq!(check(&frames), [("fd_padding", 2, None)]);
    let frames = [
        (0, fd(ECU, &ff)),
        (1, f(TESTER, &[0x30, 0, 0])),
        (2, fd(ECU, &cf[..8])),
    ];
    assert_eq!(check(&frames), []);
}

#[test]
fn wait_overrun() {
    let mut frames = vec![(0, f(ECU, &[0x10, 20, 1, 2, 3, 4, 5, 6]))];
    for i in 1..=11 {
        frames.push((i * 10, f(TESTER, &[0x31, 0, 0])));
    }
    frames.push((120, f(TESTER, &[0x30, 0, 0])));
    frames.push((121, f(ECU, &[0x21, 7, 8, 9, 10, 11, 12, 13])));
    frames.push((122, f(ECU, &[0x22, 14, 15, 16, 17, 18, 19, 20])));
    assert_eq!(check(&frames), [("wait_overrun", 11, None)]);
    // Ten are allowed.
    frames.remove(11);
    assert_eq!(check(&frames), []);
}

#[test]
fn unanswered_first_frame() {
    let frames = [
        (0, f(ECU, &[0x10, 20, 1, 2, 3, 4, 5, 6])),
        (2000, f(ECU, &[0x03, 0x7F, 0x22, 0x78])),
    ];
    let found = findings(&frames, CheckConfig::discovering(Discovery::Normal));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].kind,
        FindingKind::UnansweredFirstFrame { length: 20 }
    );
    assert_eq!(found[0].frame.index, 0);
}

#[test]
fn abandoned_reception() {
    let frames = [
        (0, f(ECU, &[0x10, 20, 1, 2, 3, 4, 5, 6])),
        (1, f(TESTER, &[0x30, 0, 0])),
        (2, f(ECU, &[0x21, 7, 8, 9, 10, 11, 12, 13])),
        (3000, f(ECU, &[0x03, 0x7F, 0x22, 0x78])),
    ];
    let found = findings(&frames, CheckConfig::discovering(Discovery::Normal));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].kind,
        FindingKind::AbandonedReception {
            received: 13,
            length: 20
        }
    );
    assert_eq!(
        (found[0].frame.index, found[0].since.map(|s| s.index)),
        (2, Some(0))
    );
    assert_eq!(found[0].frame.time, ms(2));
}

#[test]
fn a_recording_that_stops_during_a_transfer() {
    let frames = [
        (0, f(ECU, &[0x10, 20, 1, 2, 3, 4, 5, 6])),
        (1, f(TESTER, &[0x30, 0, 0])),
        (2, f(ECU, &[0x21, 7, 8, 9, 10, 11, 12, 13])),
    ];
    let found = findings(&frames, CheckConfig::discovering(Discovery::Normal));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind.name(), "cut_by_recording_end");
    assert_eq!(found[0].severity(), Severity::Warning);
}

#[test]
fn watched_conversations_with_an_address_byte() {
    let address = Address::extended_11(0x6F1, 0x610, 0x10, 0xF1).unwrap();
    let mut c = Checker::new(CheckConfig::default());
    c.watch(address).unwrap();
    let frames = [
        (0, f(0x610, &[0xF1, 0x10, 20, 1, 2, 3, 4, 5])),
        (1, f(0x6F1, &[0x10, 0x30, 0, 20])),
        (2, f(0x610, &[0xF1, 0x21, 6, 7, 8, 9, 10, 11])),
        (3, f(0x610, &[0xF1, 0x22, 12, 13, 14, 15, 16, 17])),
        (30, f(0x610, &[0xF1, 0x23, 18, 19, 20])),
        (31, f(0x123, &[0x21, 0, 0])),
    ];
    for (t, frame) in &frames {
        c.handle_frame(frame, ms(*t));
    }
    c.finish();
    let found: Vec<_> = core::iter::from_fn(|| c.poll_finding()).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].kind.name(), "st_min_violated");
    assert_eq!(
        (found[0].frame.index, found[0].since.map(|s| s.index)),
        (3, Some(2))
    );
    assert_eq!(c.frames(), 6);
}

/// Every finding of two of our engines talking, any size, any layout, classic and CAN FD.
#[test]
fn our_engines_break_no_rule() {
    let fd = LinkLayer::fd(64, true);
    let cases: [(Address, Discovery, u8, u8, LinkLayer); 4] = [
        (
            Address::normal_11(0x7E0, 0x7E8).unwrap(),
            Discovery::Normal,
            0,
            0,
            LinkLayer::classic(),
        ),
        (
            Address::extended_11(0x6F1, 0x610, 0x10, 0xF1).unwrap(),
            Discovery::Extended,
            3,
            2,
            LinkLayer::classic(),
        ),
        (
            Address::mixed_11(0x700, 0x708, 0x55).unwrap(),
            Discovery::Mixed,
            8,
            0xF5,
            LinkLayer::classic(),
        ),
        (
            Address::normal_11(0x7E0, 0x7E8).unwrap(),
            Discovery::Normal,
            4,
            1,
            fd,
        ),
    ];
    for (address, discovery, block_size, st_min, link_layer) in cases {
        let config = Config {
            block_size,
            st_min: StMin::from_byte(st_min),
            link_layer,
            ..Config::default()
        };
        let sizes = [1usize, 6, 7, 8, 13, 14, 62, 63, 100, 500, 4095, 5000];
        let requests: Vec<Vec<u8>> = sizes
            .iter()
            .map(|&n| (0..n).map(|i| (i * 7) as u8).collect())
            .collect();
        let responses: Vec<Vec<u8>> = requests.iter().rev().cloned().collect();
        let capture = crate::monitor::tests::exchange(address, config, &requests, &responses);
        assert!(capture.len() > 100);
        let mut c = Checker::new(CheckConfig::discovering(discovery));
        for (t, frame) in &capture {
            c.handle_frame(frame, *t);
        }
        c.finish();
        let found: Vec<String> = core::iter::from_fn(|| c.poll_finding())
            .map(|x| alloc::format!("{} at {}: {}", x.kind.name(), x.frame.index, x.kind))
            .collect();
        assert_eq!(found, Vec::<String>::new(), "{address:?}");
    }
}

/// Any frames at any times, in every discovery layout: findings or none, never a panic, and every
/// finding points at a frame that was given.
#[test]
fn any_traffic_is_judged_without_panicking() {
    for discovery in [Discovery::Normal, Discovery::Extended, Discovery::Mixed] {
        let mut c = Checker::new(CheckConfig::discovering(discovery));
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut time = 0u64;
        let n = 100_000u64;
        for _ in 0..n {
            let r = next();
            let lens = [0usize, 1, 2, 3, 7, 8, 12, 16, 64];
            let len = lens[(r % 9) as usize];
            let mut data = [0u8; 64];
            for (i, b) in data.iter_mut().enumerate().take(len) {
                *b = (next() >> (i % 8)) as u8;
            }
            // Mostly valid PCI types, on a handful of ids, so that transfers start and go on.
            if len > 1 {
                data[(r >> 8) as usize % 2] = [0x10, 0x21, 0x30, 0x02, 0x00, 0x31]
                    [(r >> 16) as usize % 6]
                    | ((r >> 24) as u8 & 0x0F);
            }
            let id = 0x7E0 + ((r >> 32) % 4) as u32 * 8;
            let frame = if len > 8 {
                fd(id, &data[..len])
            } else {
                f(id, &data[..len])
            };
            time += (r >> 40) % 3000;
            c.handle_frame(&frame, Instant::from_micros(time));
        }
        c.finish();
        let mut found = 0;
        while let Some(x) = c.poll_finding() {
            assert!(x.frame.index < n);
            assert!(x.since.map_or(true, |s| s.index <= x.frame.index));
            found += 1;
        }
        assert!(found > 0);
    }
}

#[test]
fn transfers_in_progress_are_bounded_and_the_rest_counted() {
    // Twice the limit and one more first frames, none ever continued: the quietest half is no
    // longer judged (counted), the rest are judged at the end.
    let mut checker = Checker::new(CheckConfig::discovering(Discovery::Normal));
    let limit = MonitorConfig::DEFAULT_MAX_CONVERSATIONS;
    let n = 2 * limit as u32 + 1;
    for i in 0..n {
        let ff = Frame::new(
            CanId::extended(0x100_0000 + i).unwrap(),
            &[0x10, 0x20, 0, 0, 0, 0, 0, 0],
        )
        .unwrap();
        checker.handle_frame(&ff, Instant::from_micros(u64::from(i)));
        while checker.poll_finding().is_some() {}
    }
    assert_eq!(checker.transfers.len(), limit);
    assert_eq!(
        checker.evictions().unjudged_transfers,
        u64::from(n) - limit as u64
    );
    checker.finish();
    let judged = core::iter::from_fn(|| checker.poll_finding()).count();
    assert_eq!(judged, limit);
}
