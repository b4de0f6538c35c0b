//! Property tests: exact round trips over every addressing mode, frame size, block size, STmin and
//! padding; transfers over a lossy, duplicating, reordering link never deliver a wrong payload and
//! never hang past the protocol timeouts; the wire parser is total and emit/parse round-trip; the
//! endpoint survives arbitrary frame and time sequences.
use crate::common::*;
use proptest::prelude::*;

/// The case count, or `PROPTEST_CASES` when set (for longer runs: `PROPTEST_CASES=5000 cargo test`).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const TX_DLS: [u8; 8] = [8, 12, 16, 20, 24, 32, 48, 64];
const ST_MINS: [u8; 7] = [0x00, 0x01, 0x05, 0x14, 0xF1, 0xF5, 0xF9];

#[derive(Clone, Debug)]
struct Setup {
    mode: AddressingMode,
    tx_dl: u8,
    block_size: u8,
    st_min: u8,
    padding: Option<u8>,
    len: usize,
    seed: u8,
}

fn payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 1usize..=64,
        3 => 65usize..=600,
        2 => 600usize..=4200,
        1 => 4200usize..=10_000,
    ]
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop::sample::select(AddressingMode::ALL.to_vec()),
        prop::sample::select(TX_DLS.to_vec()),
        0u8..=16,
        prop::sample::select(ST_MINS.to_vec()),
        prop::option::of(any::<u8>()),
        payload_len(),
        any::<u8>(),
    )
        .prop_map(
            |(mode, tx_dl, block_size, st_min, padding, len, seed)| Setup {
                mode,
                tx_dl,
                block_size,
                st_min,
                padding,
                len,
                seed,
            },
        )
}

fn config_of(s: &Setup) -> Config {
    config(|c| {
        c.link_layer.can_fd = s.tx_dl > 8;
        c.link_layer.tx_data_length = s.tx_dl;
        c.block_size = s.block_size;
        c.st_min = StMin::from_byte(s.st_min);
        c.tx_padding = s.padding;
        c.max_frame_size = 10_000;
    })
}

fn data_of(s: &Setup) -> Vec<u8> {
    let mut r = XorShift::new(u64::from(s.seed) << 32 | s.len as u64);
    let mut v = vec![0; s.len];
    r.fill(&mut v);
    v
}

fn valid_len(f: &Frame) -> bool {
    if f.is_fd() {
        isotp_core::wire::dlc::is_valid_fd_len(f.len())
    } else {
        f.len() <= 8
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(96), ..ProptestConfig::default() })]

    #[test]
    fn any_payload_round_trips_exactly_on_a_perfect_link(s in setup()) {
        let c = config_of(&s);
        let mut p = Pair::new(address_for(s.mode), c, c);
        let data = data_of(&s);
        let id = p.send(Side::A, &data);
        p.run();
        prop_assert_eq!(p.received(Side::B), vec![data.clone()]);
        prop_assert_eq!(p.event_list(Side::A), vec![Event::Sent { id }]);
        prop_assert!(p.event_list(Side::B).is_empty(), "{:?}", p.event_list(Side::B));
        prop_assert!(p.idle());
        for r in &p.log {
            prop_assert!(valid_len(&r.frame));
            prop_assert_eq!(r.frame.is_fd(), s.tx_dl > 8);
            if r.from == Side::A && r.frame.len() > 8 {
                prop_assert!(r.frame.len() <= usize::from(s.tx_dl));
            }
        }
        // The frames match the independent reference model.
        let layout = Layout {
            tx_dl: usize::from(s.tx_dl),
            prefix: address_for(s.mode).tx_prefix(),
            padding: s.padding,
            min_len: None,
            fd: s.tx_dl > 8,
        };
        let from_a: Vec<Vec<u8>> = p.frames_from(Side::A).iter().map(|r| r.frame.data().to_vec()).collect();
        prop_assert_eq!(from_a, expected_frames(&data, &layout));
        // One flow control per block.
        let cfs = expected_frames(&data, &layout).len() - 1;
        let fcs = p.frames_from(Side::B).len();
        let expected_fcs = if cfs == 0 { 0 } else if s.block_size == 0 { 1 } else { 1 + (cfs - 1) / usize::from(s.block_size) };
        prop_assert_eq!(fcs, expected_fcs);
    }

    #[test]
    fn both_directions_at_once_round_trip(s in setup(), len_b in payload_len()) {
        let c = config_of(&s);
        let mut p = Pair::new(address_for(s.mode), c, c);
        let a = data_of(&s);
        let b = payload(len_b, 3);
        p.send(Side::A, &a);
        p.send(Side::B, &b);
        p.run();
        prop_assert_eq!(p.received(Side::B), vec![a]);
        prop_assert_eq!(p.received(Side::A), vec![b]);
    }

    #[test]
    fn empty_payload_is_always_refused(s in setup()) {
        let mut ep = Endpoint::new(address_for(s.mode), config_of(&s)).unwrap();
        prop_assert_eq!(ep.send(&[], TargetAddressType::Physical), Err(SendError::EmptyPayload));
        prop_assert_eq!(ep.send(&[], TargetAddressType::Functional), Err(SendError::EmptyPayload));
        prop_assert!(!ep.is_transmitting());
    }
}

#[derive(Clone, Debug)]
struct Lossy {
    setup: Setup,
    faults: Faults,
    latency_us: u64,
    link_seed: u64,
}

fn lossy() -> impl Strategy<Value = Lossy> {
    (
        setup(),
        0u32..=150,
        0u32..=150,
        0u32..=150,
        0u64..=3000,
        0u64..=500,
        any::<u64>(),
    )
        .prop_map(|(mut setup, d, u, r, delay, latency_us, link_seed)| {
            setup.len = setup.len.min(3000);
            Lossy {
                setup,
                faults: Faults {
                    drop_per_mille: d,
                    duplicate_per_mille: u,
                    reorder_per_mille: r,
                    reorder_delay: us(delay),
                },
                latency_us,
                link_seed,
            }
        })
}

fn run_lossy(l: &Lossy) -> Result<(), TestCaseError> {
    let c = config_of(&l.setup);
    let link = Link::faulty(us(l.latency_us), l.faults, l.link_seed);
    let mut p = Pair::with_link(address_for(l.setup.mode), c, c, link);
    let data = data_of(&l.setup);
    let id = p.send(Side::A, &data);
    let end = p.run();
    let a = p.event_list(Side::A);
    let b = p.event_list(Side::B);
    let delivered: Vec<&Vec<u8>> = b
        .iter()
        .filter_map(|e| match e {
            Event::Received { payload, .. } => Some(payload),
            _ => None,
        })
        .collect();
    // Never a wrong payload.
    for d in &delivered {
        prop_assert_eq!(*d, &data);
    }
    // The sender reports exactly one outcome.
    let outcomes: Vec<&Event> = a
        .iter()
        .filter(|e| matches!(e, Event::Sent { .. } | Event::SendFailed { .. }))
        .collect();
    prop_assert_eq!(outcomes.len(), 1, "{:?}", a);
    let sent = matches!(outcomes[0], Event::Sent { id: i } if *i == id);
    let receiver_failed = b.iter().any(|e| matches!(e, Event::ReceiveFailed { .. }));
    // A failed send is never delivered.
    if !sent {
        prop_assert!(
            delivered.is_empty(),
            "send failed but delivered: {:?} {:?}",
            a,
            b
        );
    }
    // Without faults the transfer succeeds.
    let stats = p.link.stats;
    if stats.dropped == 0 && stats.duplicated == 0 && stats.reordered == 0 {
        prop_assert!(sent && delivered.len() == 1, "{:?} {:?}", a, b);
    }
    // Losses alone: a delivery implies the sender finished, and a receiver that started a segmented
    // reception of a failed send reports an error too.
    if stats.duplicated == 0 && stats.reordered == 0 {
        if !delivered.is_empty() {
            prop_assert!(sent);
        }
        let receiver_saw_ff = p.log.iter().any(|r| r.from == Side::B);
        if !sent && receiver_saw_ff {
            prop_assert!(receiver_failed, "{:?} {:?}", a, b);
        }
        if delivered.is_empty() && receiver_saw_ff {
            prop_assert!(receiver_failed, "{:?} {:?}", a, b);
        }
    }
    // Nobody stays busy past the protocol timeouts after the last frame on the bus.
    prop_assert!(p.idle());
    let last = p.log.iter().map(|r| r.t).max().unwrap_or(Instant::ZERO);
    let bound = last + ms(1000) + l.faults.reorder_delay + us(l.latency_us);
    prop_assert!(
        end <= bound,
        "idle only at {:?}, last frame at {:?}",
        end,
        last
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(160), ..ProptestConfig::default() })]

    #[test]
    fn lossy_link_delivers_exactly_or_reports_and_never_hangs(l in lossy()) {
        run_lossy(&l)?;
    }
}

// ---------------------------------------------------------------- wire

fn address_length() -> impl Strategy<Value = AddressLength> {
    prop_oneof![Just(AddressLength::Zero), Just(AddressLength::One)]
}

fn flow_status() -> impl Strategy<Value = FlowStatus> {
    prop_oneof![
        Just(FlowStatus::ContinueToSend),
        Just(FlowStatus::Wait),
        Just(FlowStatus::Overflow)
    ]
}

/// Any PDU value at all, valid or not: every input `emit` accepts.
#[derive(Clone, Debug)]
enum AnyPdu {
    Single(Vec<u8>, bool),
    First(u32, Vec<u8>),
    Consecutive(u8, Vec<u8>),
    Flow(FlowStatus, u8, u8),
}

impl AnyPdu {
    fn pdu(&self) -> Pdu<'_> {
        match self {
            AnyPdu::Single(data, escaped) => Pdu::SingleFrame {
                data,
                escaped: *escaped,
            },
            AnyPdu::First(length, data) => Pdu::FirstFrame {
                length: *length,
                data,
            },
            AnyPdu::Consecutive(sn, data) => Pdu::ConsecutiveFrame {
                sequence_number: *sn,
                data,
            },
            AnyPdu::Flow(status, bs, st) => Pdu::FlowControl {
                status: *status,
                block_size: *bs,
                st_min: StMin::from_byte(*st),
            },
        }
    }
}

fn ff_length() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..=80, 4090u32..=4100, any::<u32>()]
}

fn any_pdu() -> impl Strategy<Value = AnyPdu> {
    let data = || prop::collection::vec(any::<u8>(), 0..=70);
    prop_oneof![
        (data(), any::<bool>()).prop_map(|(d, e)| AnyPdu::Single(d, e)),
        (ff_length(), data()).prop_map(|(l, d)| AnyPdu::First(l, d)),
        (any::<u8>(), data()).prop_map(|(sn, d)| AnyPdu::Consecutive(sn, d)),
        (flow_status(), any::<u8>(), any::<u8>()).prop_map(|(s, b, t)| AnyPdu::Flow(s, b, t)),
    ]
}

/// The frame a sender makes of emitted bytes: padded to a CAN FD length, an escaped single frame beyond
/// 8 bytes.
fn as_frame(pdu: &Pdu<'_>, emitted: &[u8]) -> Vec<u8> {
    let min = match pdu {
        Pdu::SingleFrame { escaped: true, .. } => 9,
        _ => 0,
    };
    let len = isotp_core::wire::dlc::round_up(emitted.len().max(min)).unwrap();
    let mut frame = emitted.to_vec();
    frame.resize(len, 0xCC);
    frame
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(3000), ..ProptestConfig::default() })]

    #[test]
    fn parse_and_explain_never_panic_and_agree(
        bytes in prop::collection::vec(any::<u8>(), 0..=80),
        alen in address_length(),
    ) {
        let parsed = Pdu::parse(&bytes, alen);
        let view = explain(&bytes, alen);
        prop_assert_eq!(view.problem, parsed.err());
        if let Ok(pdu) = parsed {
            prop_assert_eq!(view.pci.pci_type(), Some(pdu.pci_type()));
            prop_assert_eq!(view.data, pdu.data());
            prop_assert!(pdu.buffer_len(alen) <= bytes.len());
            prop_assert_eq!(pdu.header_len() + alen.bytes() + pdu.data().len(), pdu.buffer_len(alen));
        }
        let _ = view.pci.to_string();
    }

    #[test]
    fn a_parsed_pdu_emits_its_own_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..=64),
        alen in address_length(),
    ) {
        if let Ok(pdu) = Pdu::parse(&bytes, alen) {
            let mut out = [0u8; 64];
            let used = pdu.emit(&mut out, alen).expect("a parsed PDU can be emitted");
            prop_assert_eq!(used, pdu.buffer_len(alen));
            prop_assert_eq!(&out[alen.bytes()..used], &bytes[alen.bytes()..used]);
            // With the original padding the frame parses back to the same PDU.
            out[used..bytes.len()].copy_from_slice(&bytes[used..]);
            prop_assert_eq!(Pdu::parse(&out[..bytes.len()], alen), Ok(pdu));
        }
    }

    #[test]
    fn whatever_emit_accepts_parses_back(p in any_pdu(), alen in address_length(), buf_len in 0usize..=70) {
        let pdu = p.pdu();
        let mut out = vec![0u8; buf_len];
        match pdu.emit(&mut out, alen) {
            Ok(used) => {
                prop_assert_eq!(used, pdu.buffer_len(alen));
                let frame = as_frame(&pdu, &out[..used]);
                let back = Pdu::parse(&frame, alen);
                match (pdu, back) {
                    // The padding of a consecutive frame reads as data: the receiver knows where the
                    // message ends.
                    (
                        Pdu::ConsecutiveFrame { sequence_number, data },
                        Ok(Pdu::ConsecutiveFrame { sequence_number: sn, data: read }),
                    ) => {
                        prop_assert_eq!(sn, sequence_number);
                        prop_assert_eq!(&read[..data.len()], data);
                    }
                    (pdu, back) => prop_assert_eq!(back, Ok(pdu)),
                }
            }
            Err(EmitError::BufferTooSmall { needed, available }) => {
                prop_assert_eq!((needed, available), (pdu.buffer_len(alen), buf_len));
                // The same PDU in a big enough buffer is fine.
                let mut big = [0u8; 64];
                prop_assert!(pdu.emit(&mut big, alen).is_ok());
            }
            Err(_) => {}
        }
    }

    #[test]
    fn st_min_from_duration_never_undershoots(us_ in 0u64..=130_000) {
        let d = Duration::from_micros(us_);
        match StMin::from_duration(d) {
            Some(s) => prop_assert!(s.duration() >= d && !s.is_reserved()),
            None => prop_assert!(us_ > 127_000),
        }
    }

    #[test]
    fn st_min_every_byte_has_a_duration_and_text(b in any::<u8>()) {
        let s = StMin::from_byte(b);
        prop_assert!(s.duration() <= StMin::RESERVED_MEANS);
        prop_assert_eq!(s.to_byte(), b);
        prop_assert!(!s.to_string().is_empty());
    }
}

// ---------------------------------------------------------------- endpoint robustness

#[derive(Clone, Debug)]
enum Op {
    Frame { to_rx: u8, fd: bool, data: Vec<u8> },
    Advance(u64),
    Send(usize, bool),
    Poll,
    Timeout,
    Confirm,
    StopSending,
    StopReceiving,
    TxFailure,
    SendVec(usize),
    SwapAddress,
    ToggleReady,
}

fn op() -> impl Strategy<Value = Op> {
    let pci_biased = prop_oneof![
        Just(0x00u8),
        Just(0x01),
        Just(0x07),
        Just(0x10),
        Just(0x1F),
        Just(0x21),
        Just(0x2F),
        Just(0x30),
        Just(0x31),
        Just(0x32),
        Just(0x35),
        any::<u8>()
    ];
    prop_oneof![
        6 => (0u8..4, any::<bool>(), pci_biased, prop::collection::vec(any::<u8>(), 0..=63))
            .prop_map(|(to_rx, fd, pci, rest)| {
                let mut data = vec![0xF1, pci];
                data.extend(rest);
                Op::Frame { to_rx, fd, data }
            }),
        2 => prop_oneof![0u64..=10, 0u64..=2_000, 0u64..=1_200_000].prop_map(Op::Advance),
        1 => (1usize..=300, any::<bool>()).prop_map(|(n, f)| Op::Send(n, f)),
        2 => Just(Op::Poll),
        1 => Just(Op::Timeout),
        1 => Just(Op::Confirm),
        1 => Just(Op::StopSending),
        1 => Just(Op::StopReceiving),
        1 => Just(Op::TxFailure),
        1 => (1usize..=100).prop_map(Op::SendVec),
        1 => Just(Op::SwapAddress),
        1 => Just(Op::ToggleReady),
    ]
}

fn robust_config() -> impl Strategy<Value = (bool, Config)> {
    (0u8..6, any::<bool>(), 0u8..3).prop_map(|(preset, confirm, check)| {
        let c = config(|c| {
            match preset {
                0 => {}
                1 => {
                    c.link_layer.can_fd = true;
                    c.link_layer.tx_data_length = 64;
                    c.max_frame_size = u32::MAX;
                }
                2 => c.listen_mode = true,
                3 => {
                    c.block_size = 2;
                    c.st_min = StMin::from_byte(0xF3);
                    c.wft_max = 1;
                }
                4 => {
                    c.rate_limit = Some(RateLimit {
                        max_bitrate: 10_000,
                        window: ms(100),
                    })
                }
                _ => {
                    c.link_layer.can_fd = true;
                    c.link_layer.tx_data_length = 12;
                    c.link_layer.tx_data_min_length = Some(12);
                    c.tx_padding = Some(0x55);
                }
            }
            match check {
                0 => {}
                1 => c.rx_padding_check = PaddingCheck::Length,
                _ => {
                    c.rx_padding_check = PaddingCheck::LengthAndContent;
                    c.rx_padding = Some(0xCC);
                }
            }
        });
        (confirm, c)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), ..ProptestConfig::default() })]

    #[test]
    fn endpoint_survives_arbitrary_frames_and_times(
        (confirm, cfg) in robust_config(),
        extended in any::<bool>(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let address = if extended {
            Address::extended_11(0x6F1, 0x610, 0x10, 0xF1).unwrap()
        } else {
            Address::normal_11(0x6F1, 0x610).unwrap()
        };
        let mut ep = Endpoint::new(address, cfg).unwrap().with_first_frame_indication();
        if confirm {
            ep = ep.with_tx_confirmation();
        }
        let mut now = Instant::ZERO;
        let tx_ids = [address.tx_id(TargetAddressType::Physical).unwrap()];
        let twin = if extended {
            Address::extended_11(0x6F1, 0x610, 0x11, 0xF1).unwrap()
        } else {
            Address::normal_11(0x6F1, 0x610).unwrap()
        };
        for op in ops {
            match op {
                Op::Frame { to_rx, fd, mut data } => {
                    let id = match to_rx { 0 | 1 => sid(0x610), 2 => sid(0x6F1), _ => sid(0x123) };
                    if !extended { data.remove(0); }
                    let frame = if fd {
                        let n = isotp_core::wire::dlc::round_up(data.len()).unwrap_or(64);
                        data.resize(n, 0xCC);
                        Frame::new_fd(id, &data).unwrap()
                    } else {
                        data.truncate(8);
                        Frame::new(id, &data).unwrap()
                    };
                    ep.handle_frame(&frame, now);
                }
                Op::Advance(us_) => now += us(us_),
                Op::Send(n, functional) => {
                    let t = if functional { TargetAddressType::Functional } else { TargetAddressType::Physical };
                    let _ = ep.send(&payload(n, 1), t);
                }
                Op::Poll => {
                    let mut count = 0;
                    while let Some(f) = ep.poll_transmit(now) {
                        prop_assert!(valid_len(&f));
                        prop_assert!(tx_ids.contains(&f.id()) || f.id() == sid(0x7DF) || f.id() == sid(0x6F1));
                        prop_assert_eq!(f.is_fd(), cfg.link_layer.can_fd);
                        prop_assert!(!cfg.listen_mode, "listen mode transmitted {:?}", f);
                        count += 1;
                        prop_assert!(count < 10_000);
                    }
                }
                Op::Timeout => ep.handle_timeout(now),
                Op::Confirm => { let _ = ep.handle_tx_confirmation(now); }
                Op::StopSending => { ep.stop_sending(); }
                Op::StopReceiving => ep.stop_receiving(),
                Op::TxFailure => { let _ = ep.handle_tx_failure(); }
                Op::SendVec(n) => { let _ = ep.send_vec(payload(n, 2), TargetAddressType::Physical); }
                Op::SwapAddress => {
                    // Back and forth between the address and its twin on the same ids.
                    let current = *ep.address();
                    ep.set_address(if current == address { twin } else { address });
                    prop_assert!(!ep.is_transmitting() && !ep.is_receiving());
                }
                Op::ToggleReady => ep.set_receive_ready(!ep.is_receive_ready()),
            }
            if let Some(p) = ep.reception_progress() {
                prop_assert!(p.received < p.length);
            }
            while ep.poll_event().is_some() {}
            // Liveness: once the timers ran and the due frames are out, the next wakeup is in the future.
            if ep.poll_timeout().is_some_and(|t| t <= now) {
                ep.handle_timeout(now);
                while ep.poll_transmit(now).is_some() {}
                while ep.poll_event().is_some() {}
                let next = ep.poll_timeout();
                prop_assert!(!matches!(next, Some(t) if t <= now), "wakeup {:?} not after now {:?}", next, now);
            }
        }
    }
}

// ---------------------------------------------------------------- candump text

fn any_frame() -> impl Strategy<Value = Frame> {
    (
        any::<bool>(),
        any::<u32>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..=64),
    )
        .prop_map(|(extended, raw, fd, brs, mut data)| {
            let id = if extended {
                xid(raw & 0x1FFF_FFFF)
            } else {
                sid(raw & 0x7FF)
            };
            if fd {
                data.truncate(
                    isotp_core::wire::dlc::round_up(data.len()).map_or(64, |_| data.len()),
                );
                let n = isotp_core::wire::dlc::round_up(data.len()).unwrap();
                data.resize(n, 0);
                Frame::new_fd(id, &data).unwrap().with_brs(brs)
            } else {
                data.truncate(8);
                Frame::new(id, &data).unwrap()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), ..ProptestConfig::default() })]

    #[test]
    fn frames_read_back_what_they_write(frame in any_frame()) {
        prop_assert_eq!(frame.to_string().parse::<Frame>(), Ok(frame));
        prop_assert_eq!(frame.id().to_string().parse::<CanId>(), Ok(frame.id()));
    }

    #[test]
    fn any_text_gives_a_frame_or_an_error(text in "[0-9A-Fa-fxXrR#._ \u{e9}]{0,40}") {
        if let Ok(f) = text.parse::<Frame>() {
            // A frame read from text writes the same id and bytes back.
            let back = f.to_string();
            prop_assert_eq!(back.parse::<Frame>(), Ok(f));
        }
        let _ = text.parse::<CanId>();
    }

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        let _ = text.parse::<Frame>();
        let _ = text.parse::<CanId>();
    }

    #[test]
    fn ids_follow_the_digit_rule(raw in 0u32..=0x1FFF_FFFF, digits in 1usize..=8) {
        let text = format!("{raw:0digits$X}");
        let parsed = text.parse::<CanId>();
        match text.len() {
            1..=3 if raw <= 0x7FF => prop_assert_eq!(parsed, Ok(sid(raw))),
            1..=3 => prop_assert_eq!(parsed, Err(ParseFrameError::StandardIdOutOfRange { id: raw })),
            4..=8 => prop_assert_eq!(parsed, Ok(xid(raw))),
            _ => prop_assert_eq!(parsed, Err(ParseFrameError::InvalidId)),
        }
    }
}

// ---------------------------------------------------------------- addresses from ids

fn any_id() -> impl Strategy<Value = CanId> {
    prop_oneof![
        (0u32..=0x7FF).prop_map(sid),
        (0u32..=0x1FFF_FFFF).prop_map(xid),
    ]
}

fn any_bytes() -> impl Strategy<Value = isotp_core::AddressBytes> {
    use isotp_core::AddressBytes;
    prop_oneof![
        Just(AddressBytes::None),
        any::<u8>().prop_map(AddressBytes::Mixed),
        (any::<u8>(), any::<u8>()).prop_map(|(tx, rx)| AddressBytes::Extended { tx, rx }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), ..ProptestConfig::default() })]

    #[test]
    fn from_ids_and_ids_are_inverse(
        tx in prop::option::of(any_id()),
        rx in prop::option::of(any_id()),
        bytes in any_bytes(),
    ) {
        if let Ok(a) = Address::from_ids(tx, rx, bytes) {
            let (t, r, b) = a.ids().unwrap();
            prop_assert_eq!((t, r), (tx, rx));
            let again = Address::from_ids(t, r, b).unwrap();
            prop_assert_eq!(again.tx_id(TargetAddressType::Physical), a.tx_id(TargetAddressType::Physical));
            prop_assert_eq!(again.rx_ids(), a.rx_ids());
            prop_assert_eq!((again.tx_prefix(), again.rx_prefix()), (a.tx_prefix(), a.rx_prefix()));
        } else {
            // Refused only without ids, or when both directions would look the same on the wire.
            prop_assert!(tx.is_none() && rx.is_none() || tx == rx);
        }
    }

    #[test]
    fn any_link_layer_is_validated_without_panicking(
        can_fd in any::<bool>(),
        tx_dl in any::<u8>(),
        brs in any::<bool>(),
        min in prop::option::of(any::<u8>()),
    ) {
        let mut l = if can_fd { isotp_core::LinkLayer::fd(tx_dl, brs) } else { isotp_core::LinkLayer::classic() };
        l.tx_data_length = tx_dl;
        l.bitrate_switch = brs;
        l.tx_data_min_length = min;
        let mut c = Config::default();
        c.link_layer = l;
        prop_assert_eq!(c.validate().is_ok(), l.validate().is_ok());
        if l.validate().is_ok() {
            prop_assert!(Endpoint::new(address_for(AddressingMode::Normal11), c).is_ok());
        }
    }
}
