use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::wire::FlowStatus;
use crate::{
    AddressingMode, Config, Duration, Endpoint, ProtocolError, TargetAddressType, Warning,
};

fn sid(raw: u32) -> CanId {
    CanId::standard(raw).unwrap()
}

fn f(raw: u32, data: &[u8]) -> Frame {
    Frame::new(sid(raw), data).unwrap()
}

fn fx(raw: u32, data: &[u8]) -> Frame {
    Frame::new(CanId::extended(raw).unwrap(), data).unwrap()
}

fn ms(n: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(n)
}

fn feed(m: &mut Monitor, frames: &[(u64, Frame)]) -> Vec<MonitorEvent> {
    let mut out = Vec::new();
    for (t, frame) in frames {
        m.handle_frame(frame, ms(*t));
        out.extend(core::iter::from_fn(|| m.poll_event()));
    }
    out
}

/// (from, to, payload) of every message.
fn messages(events: &[MonitorEvent]) -> Vec<(String, Option<String>, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            MonitorEvent::Message(m) => Some((
                m.from.to_string(),
                m.to.map(|p| p.to_string()),
                m.payload.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn failures(events: &[MonitorEvent]) -> Vec<ProtocolError> {
    events
        .iter()
        .filter_map(|e| match e {
            MonitorEvent::Failed { error, .. } => Some(*error),
            _ => None,
        })
        .collect()
}

fn s(x: &str) -> String {
    x.to_string()
}

/// A request in a single frame, a response in three frames, a request again.
fn conversation() -> Vec<(u64, Frame)> {
    vec![
        (0, f(0x7E0, &[0x03, 0x22, 0xF1, 0x90])),
        (1, f(0x7E8, &[0x10, 0x0A, 0x62, 0xF1, 0x90, 1, 2, 3])),
        (2, f(0x7E0, &[0x30, 0x00, 0x00])),
        (3, f(0x7E8, &[0x21, 4, 5, 6, 7])),
        (10, f(0x7E0, &[0x02, 0x3E, 0x00])),
    ]
}

const RESPONSE: [u8; 10] = [0x62, 0xF1, 0x90, 1, 2, 3, 4, 5, 6, 7];

#[test]
fn a_watched_address_reassembles_both_directions() {
    let mut m = Monitor::new(MonitorConfig::default());
    m.watch(Address::normal_11(0x7E0, 0x7E8).unwrap()).unwrap();
    let events = feed(&mut m, &conversation());
    assert_eq!(
        messages(&events),
        vec![
            (s("7E0"), Some(s("7E8")), vec![0x22, 0xF1, 0x90]),
            (s("7E8"), Some(s("7E0")), RESPONSE.to_vec()),
            (s("7E0"), Some(s("7E8")), vec![0x3E, 0x00]),
        ]
    );
    // Nothing else: the traffic is clean.
    assert_eq!(events.len(), 3);
}

#[test]
fn without_discovery_other_traffic_is_not_followed() {
    let mut m = Monitor::new(MonitorConfig::default());
    m.watch(Address::normal_11(0x7E0, 0x7E8).unwrap()).unwrap();
    let events = feed(&mut m, &[(0, f(0x123, &[0x01, 0xAA]))]);
    assert!(events.is_empty());
    assert_eq!(m.conversations().count(), 1);
}

#[test]
fn messages_carry_their_first_and_last_frame() {
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    let events = feed(&mut m, &conversation());
    let found: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            MonitorEvent::Message(m) => Some((m.first_frame, m.last_frame)),
            _ => None,
        })
        .collect();
    let at = |index, t| FrameRef { index, time: ms(t) };
    assert_eq!(
        found,
        vec![
            (at(0, 0), at(0, 0)),
            (at(1, 1), at(3, 3)),
            (at(4, 10), at(4, 10))
        ]
    );
}

#[test]
fn discovery_pairs_ends_through_flow_control() {
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    let mut frames = conversation();
    frames.push((11, f(0x123, &[0x01, 0xAA])));
    let events = feed(&mut m, &frames);
    assert_eq!(
        messages(&events),
        vec![
            (s("7E0"), None, vec![0x22, 0xF1, 0x90]),
            (s("7E8"), Some(s("7E0")), RESPONSE.to_vec()),
            (s("7E0"), Some(s("7E8")), vec![0x3E, 0x00]),
            (s("123"), None, vec![0xAA]),
        ]
    );
    let names: Vec<String> = m.conversations().map(|c| c.to_string()).collect();
    assert_eq!(names, vec![s("7E8/7E0"), s("123")]);
}

#[test]
fn pairing_keeps_the_peers_own_transfer() {
    // 7E0 sends a first frame before it answers 7E8's: both transfers complete.
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    let events = feed(
        &mut m,
        &[
            (
                0,
                f(0x7E0, &[0x10, 0x08, 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5]),
            ),
            (
                1,
                f(0x7E8, &[0x10, 0x09, 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5]),
            ),
            (2, f(0x7E0, &[0x30, 0x00, 0x00])), // answers 7E8's first frame: pairs
            (3, f(0x7E8, &[0x30, 0x00, 0x00])), // answers 7E0's
            (4, f(0x7E8, &[0x21, 0xB6, 0xB7, 0xB8])),
            (5, f(0x7E0, &[0x21, 0xA6, 0xA7])),
        ],
    );
    assert_eq!(
        messages(&events),
        vec![
            (
                s("7E8"),
                Some(s("7E0")),
                vec![0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8]
            ),
            (
                s("7E0"),
                Some(s("7E8")),
                vec![0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7]
            ),
        ]
    );
    assert!(failures(&events).is_empty(), "{events:?}");
}

#[test]
fn a_flow_control_long_after_the_first_frame_pairs_nothing() {
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    // N_Bs is 1 s: the first frame has timed out (N_Cr, 1 s) by the time the flow control comes.
    let events = feed(
        &mut m,
        &[
            (0, f(0x7E8, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6])),
            (1500, f(0x7E0, &[0x30, 0x00, 0x00])),
        ],
    );
    assert_eq!(m.conversations().count(), 1);
    assert!(matches!(
        failures(&events).as_slice(),
        [ProtocolError::TimeoutCr { .. }]
    ));
}

#[test]
fn extended_addressing_is_discovered_by_id_and_target_address() {
    // A tester (0xF1) on 6F1 talks to ECUs 0x10 and 0x11, which answer on 610 and 611.
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Extended));
    let events = feed(
        &mut m,
        &[
            (0, f(0x6F1, &[0x10, 0x02, 0x10, 0x03])),
            (1, f(0x6F1, &[0x11, 0x02, 0x10, 0x03])),
            (2, f(0x610, &[0xF1, 0x10, 0x08, 0x50, 0x03, 0, 0x32, 1])),
            (3, f(0x6F1, &[0x10, 0x30, 0x00, 0x00])),
            (4, f(0x610, &[0xF1, 0x21, 0xF4, 0x01, 0x02])),
            (5, f(0x611, &[0xF1, 0x03, 0x7F, 0x10, 0x11])),
        ],
    );
    assert_eq!(
        messages(&events),
        vec![
            (s("6F1[10]"), None, vec![0x10, 0x03]),
            (s("6F1[11]"), None, vec![0x10, 0x03]),
            (
                s("610[F1]"),
                Some(s("6F1[10]")),
                vec![0x50, 0x03, 0, 0x32, 1, 0xF4, 0x01, 0x02]
            ),
            (s("611[F1]"), None, vec![0x7F, 0x10, 0x11]),
        ]
    );
}

#[test]
fn mixed_addressing_pairs_only_the_same_address_extension() {
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Mixed));
    let events = feed(
        &mut m,
        &[
            (0, f(0x700, &[0x55, 0x10, 0x08, 1, 2, 3, 4, 5])),
            (1, f(0x701, &[0x56, 0x10, 0x08, 9, 9, 9, 9, 9])),
            // AE 0x55: answers 700's first frame, not the more recent one of 701.
            (2, f(0x708, &[0x55, 0x30, 0x00, 0x00])),
            (3, f(0x700, &[0x55, 0x21, 6, 7, 8])),
        ],
    );
    assert_eq!(
        messages(&events),
        vec![(
            s("700[55]"),
            Some(s("708[55]")),
            vec![1, 2, 3, 4, 5, 6, 7, 8]
        )]
    );
    let names: Vec<String> = m.conversations().map(|c| c.to_string()).collect();
    assert!(names.contains(&s("700[55]/708[55]")), "{names:?}");
}

#[test]
fn fixed_addressing_is_watched_by_its_pattern() {
    // NormalFixed29: the ids carry the addresses; the ends are learnt from the traffic.
    let mut m = Monitor::new(MonitorConfig::default());
    m.watch(Address::normal_fixed_29(0x10, 0xF1).unwrap())
        .unwrap();
    let events = feed(
        &mut m,
        &[
            (0, fx(0x18DA_10F1, &[0x02, 0x3E, 0x00])),
            (1, fx(0x18DA_F110, &[0x10, 0x08, 1, 2, 3, 4, 5, 6])),
            (2, fx(0x18DA_10F1, &[0x30, 0x00, 0x00])),
            (3, fx(0x18DA_F110, &[0x21, 7, 8])),
        ],
    );
    assert_eq!(
        messages(&events),
        vec![
            (s("18DA10F1"), None, vec![0x3E, 0x00]),
            (
                s("18DAF110"),
                Some(s("18DA10F1")),
                vec![1, 2, 3, 4, 5, 6, 7, 8]
            ),
        ]
    );
}

#[test]
fn timeouts_are_measured_in_capture_time_at_their_deadline() {
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    let events = feed(
        &mut m,
        &[
            (0, f(0x7E8, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6])),
            (5000, f(0x7E8, &[0x21, 7, 8, 9, 10])),
        ],
    );
    match events.as_slice() {
        [MonitorEvent::Failed {
            error: ProtocolError::TimeoutCr { .. },
            time,
            frame: None,
            ..
        }, MonitorEvent::Ignored {
            warning: Warning::UnexpectedConsecutiveFrame,
            ..
        }] => assert_eq!(*time, ms(1000)),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.in_progress().count(), 0);
}

#[test]
fn timers_run_without_traffic() {
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    feed(&mut m, &[(0, f(0x7E8, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6]))]);
    assert_eq!(m.poll_timeout(), Some(ms(1000)));
    m.handle_timeout(ms(999));
    assert_eq!(m.poll_event(), None);
    m.handle_timeout(ms(1000));
    assert!(matches!(
        m.poll_event(),
        Some(MonitorEvent::Failed {
            error: ProtocolError::TimeoutCr { .. },
            ..
        })
    ));
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn an_unfinished_transfer_is_in_progress() {
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    let events = feed(&mut m, &[(0, f(0x7E8, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6]))]);
    assert!(events.is_empty());
    let cut: Vec<String> = m.in_progress().map(|c| c.to_string()).collect();
    assert_eq!(cut, vec![s("7E8")]);
}

#[test]
fn oversized_transfers_fail() {
    let mut settings = MonitorConfig::discovering(Discovery::Normal);
    settings.config.max_frame_size = 8;
    let mut m = Monitor::new(settings);
    let events = feed(&mut m, &[(0, f(0x7E8, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6]))]);
    assert!(matches!(
        failures(&events).as_slice(),
        [ProtocolError::MessageTooLarge { length: 10, .. }]
    ));
}

#[test]
fn every_frame_is_observed_with_its_pci_before_what_it_completes() {
    let mut settings = MonitorConfig::discovering(Discovery::Normal);
    settings.observe_frames = true;
    let mut m = Monitor::new(settings);
    let events = feed(&mut m, &conversation());
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e {
            MonitorEvent::Frame(o) => {
                let pdu = match o.pdu() {
                    Ok(Pdu::SingleFrame { .. }) => s("SF"),
                    Ok(Pdu::FirstFrame { length, .. }) => alloc::format!("FF{length}"),
                    Ok(Pdu::ConsecutiveFrame {
                        sequence_number, ..
                    }) => alloc::format!("CF{sequence_number}"),
                    Ok(Pdu::FlowControl {
                        status: FlowStatus::ContinueToSend,
                        block_size,
                        st_min,
                    }) => alloc::format!("FC{block_size}/{}", st_min.to_byte()),
                    other => alloc::format!("{other:?}"),
                };
                alloc::format!(
                    "#{} {} {} {pdu}",
                    o.at.index,
                    o.from.map_or(s("-"), |p| p.to_string()),
                    o.conversation.map_or(s("-"), |c| c.to_string()),
                )
            }
            MonitorEvent::Message(m) => alloc::format!("message from {}", m.from),
            other => alloc::format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            s("#0 7E0 7E0 SF"),
            s("message from 7E0"),
            s("#1 7E8 7E8 FF10"),
            s("#2 7E0 7E8/7E0 FC0/0"),
            s("#3 7E8 7E8/7E0 CF1"),
            s("message from 7E8"),
            s("#4 7E0 7E8/7E0 SF"),
            s("message from 7E0"),
        ]
    );
}

#[test]
fn frames_of_nobody_are_observed_too() {
    let settings = MonitorConfig {
        observe_frames: true,
        ..MonitorConfig::default()
    };
    let mut m = Monitor::new(settings);
    let events = feed(&mut m, &[(0, f(0x100, &[0x21, 1]))]);
    match events.as_slice() {
        [MonitorEvent::Frame(o)] => {
            assert_eq!((o.at.index, o.conversation, o.from), (0, None, None));
            assert!(matches!(o.pdu(), Ok(Pdu::ConsecutiveFrame { .. })));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_recording_that_goes_back_in_time_does_not_break_timers() {
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    let events = feed(
        &mut m,
        &[
            (500, f(0x7E8, &[0x10, 0x08, 1, 2, 3, 4, 5, 6])),
            (100, f(0x7E8, &[0x21, 7, 8])),
        ],
    );
    assert_eq!(
        messages(&events),
        vec![(s("7E8"), None, vec![1, 2, 3, 4, 5, 6, 7, 8])]
    );
}

#[test]
fn functional_requests_are_reported_as_such() {
    let mut m = Monitor::new(MonitorConfig::default());
    let address = Address::builder(AddressingMode::Normal11)
        .txid(0x7E0)
        .rxid(0x7E8)
        .functional_txid(0x7DF)
        .build()
        .unwrap();
    m.watch(address).unwrap();
    let events = feed(&mut m, &[(0, f(0x7DF, &[0x02, 0x3E, 0x80]))]);
    match events.as_slice() {
        [MonitorEvent::Message(msg)] => {
            assert_eq!(msg.target_address_type, TargetAddressType::Functional);
            assert_eq!(msg.from.to_string(), "7DF");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_never_panics() {
    for d in [Discovery::Normal, Discovery::Extended, Discovery::Mixed] {
        let mut settings = MonitorConfig::discovering(d);
        settings.observe_frames = true;
        let mut m = Monitor::new(settings);
        m.watch(Address::normal_fixed_29(0x10, 0xF1).unwrap())
            .unwrap();
        for i in 0..3000u32 {
            let b = i.to_le_bytes();
            let data = [b[0] ^ 0x5A, b[1], b[0].wrapping_mul(7), 0x10, b[0], 0, 0, 0];
            let len = (i % 9) as usize;
            let frame = if i % 7 == 0 {
                fx(0x18DA_0000 | (i & 0xFFFF), &data[..len])
            } else {
                f(i % 5, &data[..len])
            };
            m.handle_frame(&frame, Instant::from_micros(u64::from(i) * 100));
            while m.poll_event().is_some() {}
        }
        m.handle_timeout(Instant::from_micros(u64::MAX / 2));
        while m.poll_event().is_some() {}
        assert_eq!(m.poll_timeout(), None);
    }
}

/// Two engines talk; every frame they exchange, with its time, as a capture would hold it.
pub(super) fn exchange(
    address: Address,
    config: Config,
    requests: &[Vec<u8>],
    responses: &[Vec<u8>],
) -> Vec<(Instant, Frame)> {
    let mut tester = Endpoint::new(address, config).unwrap();
    let mut ecu = Endpoint::new(address.mirrored().unwrap(), config).unwrap();
    let mut capture = Vec::new();
    let mut now = Instant::ZERO;
    for (request, response) in requests.iter().zip(responses) {
        tester.send(request, TargetAddressType::Physical).unwrap();
        ecu.send(response, TargetAddressType::Physical).unwrap();
        for _ in 0..100_000 {
            let mut moved = false;
            while let Some(f) = tester.poll_transmit(now) {
                capture.push((now, f));
                ecu.handle_frame(&f, now);
                moved = true;
            }
            while let Some(f) = ecu.poll_transmit(now) {
                capture.push((now, f));
                tester.handle_frame(&f, now);
                moved = true;
            }
            if !tester.is_transmitting() && !ecu.is_transmitting() {
                break;
            }
            if !moved {
                let next = [tester.poll_timeout(), ecu.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min()
                    .expect("a transfer in progress has a deadline");
                now = next.max(now + Duration::from_micros(100));
                tester.handle_timeout(now);
                ecu.handle_timeout(now);
            }
        }
        now += Duration::from_millis(5);
        while tester.poll_event().is_some() {}
        while ecu.poll_event().is_some() {}
    }
    capture
}

#[test]
fn what_two_engines_exchange_is_what_the_monitor_reports() {
    let cases: [(Address, Discovery, u8, u8); 3] = [
        (
            Address::normal_11(0x7E0, 0x7E8).unwrap(),
            Discovery::Normal,
            0,
            0,
        ),
        (
            Address::extended_11(0x6F1, 0x610, 0x10, 0xF1).unwrap(),
            Discovery::Extended,
            3,
            2,
        ),
        (
            Address::mixed_11(0x700, 0x708, 0x55).unwrap(),
            Discovery::Mixed,
            8,
            0xF5,
        ),
    ];
    for (address, discovery, block_size, st_min) in cases {
        let config = Config {
            block_size,
            st_min: crate::wire::StMin::from_byte(st_min),
            ..Config::default()
        };
        // Sizes around every frame boundary: single frames, one and many blocks.
        let sizes = [1usize, 6, 7, 8, 13, 14, 62, 100, 500, 4095];
        let requests: Vec<Vec<u8>> = sizes
            .iter()
            .map(|&n| (0..n).map(|i| (i * 7) as u8).collect())
            .collect();
        let responses: Vec<Vec<u8>> = sizes
            .iter()
            .rev()
            .map(|&n| (0..n).map(|i| (i * 13 + 1) as u8).collect())
            .collect();
        let capture = exchange(address, config, &requests, &responses);
        let tester = address.tx_id(TargetAddressType::Physical).unwrap();
        let mut settings = MonitorConfig::discovering(discovery);
        settings.config.block_size = block_size;
        let mut m = Monitor::new(settings);
        let mut events = Vec::new();
        for (t, f) in &capture {
            m.handle_frame(f, *t);
            events.extend(core::iter::from_fn(|| m.poll_event()));
        }
        assert!(failures(&events).is_empty(), "{discovery:?}: {events:?}");
        let got: Vec<(bool, Vec<u8>)> = events
            .iter()
            .filter_map(|e| match e {
                MonitorEvent::Message(msg) => Some((msg.from.id == tester, msg.payload.clone())),
                _ => None,
            })
            .collect();
        let mut from_tester: Vec<Vec<u8>> = got
            .iter()
            .filter(|(t, _)| *t)
            .map(|(_, p)| p.clone())
            .collect();
        let mut from_ecu: Vec<Vec<u8>> = got
            .iter()
            .filter(|(t, _)| !*t)
            .map(|(_, p)| p.clone())
            .collect();
        from_tester.sort();
        from_ecu.sort();
        let mut want_requests = requests.clone();
        let mut want_responses = responses.clone();
        want_requests.sort();
        want_responses.sort();
        assert_eq!(from_tester, want_requests, "{discovery:?}");
        assert_eq!(from_ecu, want_responses, "{discovery:?}");
        assert_eq!(m.in_progress().count(), 0);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any frames at any times, in any discovery layout: no panic, and once every timer has run
    /// nothing is left in progress.
    #[test]
    fn any_traffic_is_handled(
        discovery in 0u8..3,
        frames in proptest::collection::vec(
            (0u32..8, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=8), 0u64..3_000_000),
            0..200,
        ),
    ) {
        let discovery = [Discovery::Normal, Discovery::Extended, Discovery::Mixed][usize::from(discovery)];
        let mut settings = MonitorConfig::discovering(discovery);
        settings.observe_frames = true;
        let mut m = Monitor::new(settings);
        m.watch(Address::normal_11(0x001, 0x002).unwrap()).unwrap();
        let mut observed = 0;
        for (id, data, micros) in &frames {
            // Ids 0-7 with mostly ISO-TP-looking first bytes: PCI types 0-3 come often.
            let mut data = data.clone();
            if let Some(b) = data.first_mut() {
                *b &= 0x3F;
            }
            m.handle_frame(&f(*id, &data), Instant::from_micros(*micros));
            while let Some(e) = m.poll_event() {
                observed += usize::from(matches!(e, MonitorEvent::Frame(_)));
            }
        }
        proptest::prop_assert_eq!(observed, frames.len());
        m.handle_timeout(Instant::from_micros(u64::MAX / 2));
        while m.poll_event().is_some() {}
        proptest::prop_assert_eq!(m.poll_timeout(), None);
        proptest::prop_assert_eq!(m.in_progress().count(), 0);
    }
}

/// A single frame from each of `n` ids from `first` on, at `t` ms.
fn single_frames(m: &mut Monitor, first: u32, n: u32, t: u64) {
    for i in 0..n {
        m.handle_frame(&fx(first + i, &[0x01, 0x3E]), ms(t));
        while m.poll_event().is_some() {}
    }
}

#[test]
fn discovered_conversations_are_bounded_and_each_eviction_counted() {
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    let n = MonitorConfig::DEFAULT_MAX_CONVERSATIONS as u32 + 5_000;
    single_frames(&mut m, 0x100, n, 0);
    assert_eq!(
        m.conversations().count(),
        MonitorConfig::DEFAULT_MAX_CONVERSATIONS
    );
    assert_eq!(m.evictions().over_limit, 5_000);
    assert_eq!(m.activity.len(), MonitorConfig::DEFAULT_MAX_CONVERSATIONS);
    // The quietest went first: the latest ends are still followed.
    let last = m
        .conversations()
        .filter_map(|c| c.rx)
        .max_by_key(|p| p.id.raw());
    assert_eq!(last.map(|p| p.id.raw()), Some(0x100 + n - 1));
    // Watched conversations do not count against the limit and are never evicted.
    let mut settings = MonitorConfig::discovering(Discovery::Normal);
    settings.max_conversations = 3;
    let mut m = Monitor::new(settings);
    m.watch(Address::normal_11(0x7E0, 0x7E8).unwrap()).unwrap();
    single_frames(&mut m, 0x100, 10, 0);
    assert_eq!(m.conversations().count(), 4);
    assert_eq!(m.evictions().over_limit, 7);
    let events = feed(&mut m, &[(1, f(0x7E8, &[0x01, 0x7E]))]);
    assert_eq!(messages(&events), [(s("7E8"), Some(s("7E0")), vec![0x7E])]);
}

#[test]
fn idle_conversations_are_evicted() {
    let mut settings = MonitorConfig::discovering(Discovery::Normal);
    settings.idle_timeout = Duration::from_secs(10);
    let mut m = Monitor::new(settings);
    single_frames(&mut m, 0x100, 3, 0);
    single_frames(&mut m, 0x200, 1, 5_000);
    // 0x100-0x102 have been quiet for 10 s; 0x200 for 5 s.
    m.handle_timeout(ms(10_000));
    assert_eq!(m.conversations().count(), 1);
    assert_eq!(m.evictions().idle, 3);
    // An evicted end that speaks again is discovered anew.
    let events = feed(&mut m, &[(10_001, fx(0x100, &[0x01, 0x3E]))]);
    assert_eq!(messages(&events).len(), 1);
    assert_eq!(m.conversations().count(), 2);
    assert_eq!(m.evictions().over_limit, 0);
}

#[test]
fn frames_kept_for_replay_are_bounded_overall() {
    // 4,000 interleaved first frames of 4095 bytes whose flow controls nobody saw, each followed
    // by consecutive frames: every unpaired end keeps its frames for replay, up to the limit.
    let mut settings = MonitorConfig::discovering(Discovery::Normal);
    settings.max_buffered_frames = 20_000;
    let mut m = Monitor::new(settings);
    let ends = 4_000u32;
    for i in 0..ends {
        m.handle_frame(&fx(0x1000 + i, &[0x1F, 0xFF, 0, 0, 0, 0, 0, 0]), ms(0));
    }
    for sn in 1..=20u8 {
        for i in 0..ends {
            let cf = [0x20 | (sn & 0x0F), 1, 2, 3, 4, 5, 6, 7];
            m.handle_frame(&fx(0x1000 + i, &cf), ms(u64::from(sn)));
        }
    }
    while m.poll_event().is_some() {}
    let held: usize = m.router.iter().map(|(_, c)| c.pending.len()).sum();
    assert_eq!(m.buffered, held);
    assert!(held <= 20_000, "{held} frames held");
    assert_eq!(
        m.evictions().frames_not_buffered,
        u64::from(ends) * 21 - held as u64
    );
    // Once every transfer timed out, nothing is held.
    m.handle_timeout(ms(100_000));
    while m.poll_event().is_some() {}
    assert_eq!(m.buffered, 0);
    assert!(m.router.iter().all(|(_, c)| c.pending.is_empty()));
    assert!(m.awaiting.is_empty());
}

#[cfg(feature = "std")]
#[test]
fn stray_flow_controls_pair_by_index_not_by_scan() {
    // 20,000 ends waiting for a flow control, then 100,000 flow controls from other ends after
    // N_Bs: none pairs, and each is a lookup (a scan of every conversation took minutes here).
    let started = std::time::Instant::now();
    let mut m = Monitor::new(MonitorConfig::discovering(Discovery::Normal));
    for i in 0..20_000u32 {
        m.handle_frame(&fx(0x10_0000 + i, &[0x10, 0x20, 0, 0, 0, 0, 0, 0]), ms(0));
    }
    for i in 0..100_000u32 {
        m.handle_frame(&fx(0x20_0000 + i % 5, &[0x30, 0x00, 0x00]), ms(2_000));
    }
    while m.poll_event().is_some() {}
    assert!(m.conversations().all(|c| c.tx.is_none()));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // Within N_Bs, the most recent first frame is paired, its frames replayed.
    let events = feed(
        &mut m,
        &[
            (3_000, fx(0x30_0000, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6])),
            (3_001, fx(0x30_0001, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6])),
            (3_002, fx(0x30_0000, &[0x30, 0x00, 0x00])),
            (3_003, fx(0x30_0001, &[0x21, 7, 8, 9, 10])),
        ],
    );
    assert_eq!(
        messages(&events),
        [(s("00300001"), Some(s("00300000")), (1..=10).collect())]
    );
}
