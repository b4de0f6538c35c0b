//! Every rule of "Behaviour policy" in DESIGN.md, including where the engine deliberately differs from
//! can-isotp 2.0.7. One test per rule, named after it.
use crate::common::*;

fn start_reception(s: &mut Solo, len: u8) -> Vec<u8> {
    let p = payload(usize::from(len), 0);
    s.rx(&cat(&[&[0x10, len], &p[..6]]));
    s.expect_tx(&[0x30, 0, 0]);
    p
}

#[test]
fn reserved_st_min_means_127_ms_where_can_isotp_rejects_the_flow_control() {
    let mut p = Pair::new(
        tester_address(),
        Config::default(),
        config(|c| c.st_min = StMin::from_byte(0xA0)),
    );
    let data = payload(6 + 7 * 3, 0);
    p.send(Side::A, &data);
    p.run();
    assert_eq!(p.received(Side::B), vec![data]);
    let cf_times: Vec<Instant> = p.frames_from(Side::A).iter().skip(1).map(|r| r.t).collect();
    assert_eq!(cf_times, vec![at_ms(0), at_ms(127), at_ms(254)]);
}

#[test]
fn single_frame_during_a_reception_reports_unexpected_pdu_and_stops_its_timer() {
    let mut s = Solo::new(Config::default());
    start_reception(&mut s, 50);
    s.advance(ms(500));
    s.rx(&[0x01, 0x42]);
    assert_eq!(
        s.take_events(),
        vec![
            Event::ReceiveFailed {
                error: ProtocolError::UnexpectedPdu {
                    interrupted_by: PciType::SingleFrame,
                    received: 6,
                    expected: 50
                }
            },
            received(vec![0x42])
        ]
    );
    // can-isotp leaves N_Cr running; here nothing is left to time out.
    assert_eq!(s.ep.poll_timeout(), None);
    s.advance(ms(5000));
    s.expect_no_events();
}

#[test]
fn first_frame_during_a_reception_restarts_the_timers_for_the_new_one() {
    let mut s = Solo::new(Config::default());
    start_reception(&mut s, 50);
    s.advance(ms(500));
    let p2 = payload(20, 7);
    s.rx(&cat(&[&[0x10, 20], &p2[..6]]));
    assert!(matches!(
        s.take_events().as_slice(),
        [Event::ReceiveFailed {
            error: ProtocolError::UnexpectedPdu {
                interrupted_by: PciType::FirstFrame,
                ..
            }
        }]
    ));
    s.expect_tx(&[0x30, 0, 0]);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1500)));
    s.advance_to(at_ms(1000));
    s.expect_no_events();
    s.rx(&cat(&[&[0x21], &p2[6..13]]));
    s.rx(&cat(&[&[0x22], &p2[13..20]]));
    assert_eq!(s.expect_received(), p2);
}

#[test]
fn consecutive_frame_while_idle_changes_nothing() {
    let mut s = Solo::new(Config::default());
    let id = s.send(&payload(20, 0));
    s.tx();
    s.rx(&[0x21, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedConsecutiveFrame)]
    );
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1000)));
    s.fc(0, 0, 0);
    s.tx_all();
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn flow_control_while_not_waiting_changes_nothing() {
    let mut s = Solo::new(Config::default());
    let p = start_reception(&mut s, 20);
    s.fc(0, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
    s.rx(&cat(&[&[0x21], &p[6..13]]));
    s.rx(&cat(&[&[0x22], &p[13..20]]));
    assert_eq!(s.expect_received(), p);
}

#[test]
fn unknown_pci_type_changes_nothing() {
    let mut s = Solo::new(Config::default());
    let p = start_reception(&mut s, 20);
    for pci in 4..16u8 {
        s.rx(&[pci << 4, 1, 2]);
    }
    assert_eq!(s.take_events().len(), 12);
    s.rx(&cat(&[&[0x21], &p[6..13]]));
    s.rx(&cat(&[&[0x22], &p[13..20]]));
    assert_eq!(s.expect_received(), p);
}

#[test]
fn flow_status_3_or_more_aborts_with_invalid_fs() {
    let mut s = Solo::new(Config::default());
    let id = s.send(&payload(20, 0));
    s.tx();
    s.fc(0xF, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::InvalidFs { value: 15 }
        }]
    );
}

#[test]
fn fc_overflow_aborts_with_buffer_overflow() {
    let mut s = Solo::new(Config::default());
    let id = s.send(&payload(20, 0));
    s.tx();
    s.fc(2, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::BufferOverflow { length: 20 }
        }]
    );
}

#[test]
fn wait_frames_are_limited_by_wft_max_unlike_the_kernel() {
    let mut s = Solo::new(config(|c| c.wft_max = 3));
    let id = s.send(&payload(20, 0));
    s.tx();
    for _ in 0..4 {
        s.fc(1, 0, 0);
    }
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::WftOverrun { wft_max: 3 }
        }]
    );
}

#[test]
fn first_consecutive_frame_after_flow_control_is_immediate_and_st_min_separates_the_rest() {
    let mut s = Solo::new(Config::default());
    s.send(&payload(6 + 7 * 3, 0));
    s.tx();
    s.advance(ms(42));
    s.fc(0, 0, 10);
    let f = s.run_for(ms(100));
    assert_eq!(
        f.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![at_ms(42), at_ms(52), at_ms(62)]
    );
    s.expect_sent(1);
}

#[test]
fn single_frame_escape_in_8_bytes_or_less_is_ignored() {
    let mut s = Solo::new(Config::default());
    for len in 2..=8usize {
        let mut f = vec![0x00, (len - 2) as u8];
        f.resize(len, 0xAB);
        s.rx(&f);
    }
    let ev = s.take_events();
    assert_eq!(ev.len(), 7);
    assert!(ev
        .iter()
        .all(|e| *e == Event::Warning(Warning::Malformed(ParseError::SingleFrameEmpty))));
}

#[test]
fn first_frame_escape_with_length_up_to_4095_is_ignored() {
    for len in [8u32, 100, 4095] {
        let mut s = Solo::new(config(|c| c.max_frame_size = 100_000));
        let b = len.to_be_bytes();
        s.rx(&[0x10, 0x00, b[0], b[1], b[2], b[3], 0, 0]);
        assert_eq!(
            s.take_events(),
            vec![Event::Warning(Warning::Malformed(
                ParseError::FirstFrameEscapeNotAllowed { length: len }
            ))]
        );
        s.expect_no_tx();
    }
}

#[test]
fn first_frame_escape_with_length_zero_is_ignored() {
    let mut s = Solo::new(Config::default());
    s.rx(&[0x10, 0x00, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(
            ParseError::FirstFrameEscapeNotAllowed { length: 0 }
        ))]
    );
}

#[test]
fn first_frame_whose_length_fits_a_single_frame_is_ignored() {
    let mut s = Solo::new(Config::default());
    for len in 1..=7u8 {
        s.rx(&[0x10, len, 1, 2, 3, 4, 5, 6]);
    }
    assert_eq!(s.take_events().len(), 7);
    s.expect_no_tx();
    // With an address byte, 7 bytes need a FF.
    let a = Address::extended_11(0x6F1, 0x610, 0x10, 0xF1).unwrap();
    let mut s = Solo::with_address(a, Config::default(), sid(0x610));
    s.rx(&[0xF1, 0x10, 7, 1, 2, 3, 4, 5]);
    assert_eq!(s.tx().map(|f| f.data()[1]), Some(0x30));
}

#[test]
fn first_frame_longer_than_max_frame_size_is_answered_with_overflow_and_reported() {
    let mut s = Solo::new(config(|c| c.max_frame_size = 1000));
    s.rx(&[0x13, 0xE9, 0, 0, 0, 0, 0, 0]); // 1001
    s.expect_tx(&[0x32, 0, 0]);
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::MessageTooLarge {
                length: 1001,
                max_frame_size: 1000
            }
        }]
    );
    assert!(!s.ep.is_receiving());
}

#[test]
fn consecutive_frame_with_a_different_can_dl_aborts() {
    let mut s = Solo::new(config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
    }));
    let p = payload(200, 0);
    s.rx_fd(&cat(&[&[0x10, 200], &p[..62]]));
    s.tx_all();
    s.rx_fd(&cat(&[&[0x21], &p[62..109]])); // 48 bytes, not the last
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::FrameLengthMismatch {
                expected: 64,
                received: 48
            }
        }]
    );
}

#[test]
fn functional_messages_longer_than_a_single_frame_are_refused_at_send() {
    let mut s = Solo::new(Config::default());
    let e =
        s.ep.send(&payload(8, 0), TargetAddressType::Functional)
            .unwrap_err();
    assert_eq!(e, SendError::FunctionalTooLong { len: 8, max: 7 });
    assert_eq!(
        e.to_string(),
        "a functional message of 8 bytes does not fit a single frame (at most 7); send it physically"
    );
    s.ep.send(&payload(7, 0), TargetAddressType::Functional)
        .unwrap();
    s.expect_tx(&[0x07, 0, 1, 2, 3, 4, 5, 6]);
    s.expect_sent(1);
    let fd = Endpoint::new(
        tester_address(),
        config(|c| {
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = 64;
        }),
    );
    let mut fd = fd.unwrap();
    assert_eq!(
        fd.send(&payload(63, 0), TargetAddressType::Functional),
        Err(SendError::FunctionalTooLong { len: 63, max: 62 })
    );
}

fn functional_ecu() -> Solo {
    let ecu = Address::builder(AddressingMode::Normal11)
        .txid(0x7E8)
        .rxid(0x7E0)
        .functional_rxid(0x7DF)
        .build()
        .unwrap();
    Solo::with_address(ecu, Config::default(), sid(0x7DF))
}

#[test]
fn first_frame_on_a_functional_id_is_ignored() {
    let mut s = functional_ecu();
    s.rx(&cat(&[&[0x10, 20], &[0; 6]]));
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::FunctionalMultiFrame)]
    );
    s.expect_no_tx();
    assert!(!s.ep.is_receiving());
}

#[test]
fn consecutive_frame_on_a_functional_id_is_ignored_and_does_not_disturb_a_physical_reception() {
    let mut s = functional_ecu();
    let p = payload(20, 0);
    s.rx_frame(Frame::new(sid(0x7E0), &cat(&[&[0x10, 20], &p[..6]])).unwrap());
    s.expect_tx(&[0x30, 0, 0]);
    s.rx(&[0x21, 9, 9, 9, 9, 9, 9, 9]); // on 0x7DF
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::FunctionalMultiFrame)]
    );
    s.rx_frame(Frame::new(sid(0x7E0), &cat(&[&[0x21], &p[6..13]])).unwrap());
    s.rx_frame(Frame::new(sid(0x7E0), &cat(&[&[0x22], &p[13..20]])).unwrap());
    assert_eq!(s.expect_received(), p);
}

// ---------------------------------------------------------------- memory bounded by bytes received

mod memory {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
    use std::cell::Cell;

    /// Counts the bytes each thread holds, so parallel tests do not disturb each other.
    struct Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: isize) {
        let _ = LIVE.try_with(|l| {
            let v = l.get() + n;
            l.set(v);
            let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
        });
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
            add(layout.size() as isize);
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
            add(-(layout.size() as isize));
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
            add(new_size as isize - layout.size() as isize);
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    fn live() -> isize {
        LIVE.with(|l| l.get())
    }

    fn reset_peak() {
        PEAK.with(|p| p.set(LIVE.with(|l| l.get())));
    }

    fn peak() -> isize {
        PEAK.with(|p| p.get())
    }

    /// Slack for the event queue and bookkeeping, independent of the message size.
    const SLACK: isize = 256;

    fn endpoint(f: impl FnOnce(&mut Config)) -> Endpoint {
        let mut ep = Endpoint::new(tester_address(), config(f)).unwrap();
        // Warm up the event queue so its first allocation is not counted.
        ep.handle_frame(
            &Frame::new(sid(0x7E8), &[0x01, 0x00]).unwrap(),
            Instant::ZERO,
        );
        while ep.poll_event().is_some() {}
        ep
    }

    fn feed(ep: &mut Endpoint, f: Frame) {
        ep.handle_frame(&f, Instant::ZERO);
        while ep.poll_transmit(Instant::ZERO).is_some() {}
    }

    #[test]
    fn hostile_first_frame_of_4_gib_allocates_at_most_a_frame() {
        let mut ep = endpoint(|c| c.max_frame_size = u32::MAX);
        let before = live();
        reset_peak();
        feed(
            &mut ep,
            Frame::new(sid(0x7E8), &[0x10, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2]).unwrap(),
        );
        assert!(ep.is_receiving());
        let grown = peak() - before;
        assert!(
            grown <= 64 + SLACK,
            "a 4 GiB first frame made the endpoint allocate {grown} bytes"
        );
        // Growth is amortised (geometric) but follows the bytes received: at most twice them, plus a
        // frame; while the buffer moves, old and new are both held for a moment.
        let mut reallocations = 0;
        let mut last = live();
        for i in 0..1000usize {
            let cf = [0x20 | ((i + 1) & 0xF) as u8, 1, 2, 3, 4, 5, 6, 7];
            feed(&mut ep, Frame::new(sid(0x7E8), &cf).unwrap());
            let received = 2 + 7 * (i as isize + 1);
            let held = live() - before;
            assert!(
                held <= 2 * received + 64 + SLACK,
                "after {received} bytes the reception holds {held}"
            );
            if live() != last {
                reallocations += 1;
                last = live();
            }
        }
        assert!(
            reallocations <= 16,
            "{reallocations} reallocations for 1000 frames"
        );
        let received = 2 + 7 * 1000;
        assert!(peak() - before <= 3 * received + 64 + SLACK);
        assert!(ep.is_receiving());
    }

    #[test]
    fn hostile_fd_first_frame_allocates_at_most_a_frame() {
        let mut ep = endpoint(|c| {
            c.max_frame_size = u32::MAX;
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = 64;
        });
        let before = live();
        reset_peak();
        let mut ff = vec![0x10, 0x00, 0xFF, 0xFF, 0xFF, 0xFF];
        ff.resize(64, 0xAA);
        feed(&mut ep, Frame::new_fd(sid(0x7E8), &ff).unwrap());
        assert!(ep.is_receiving());
        assert!(peak() - before <= 64 + SLACK, "{}", peak() - before);
    }

    #[test]
    fn hostile_first_frame_then_silence_frees_everything() {
        let mut ep = endpoint(|c| c.max_frame_size = u32::MAX);
        let before = live();
        feed(
            &mut ep,
            Frame::new(sid(0x7E8), &[0x10, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2]).unwrap(),
        );
        ep.handle_timeout(at_ms(1000));
        while ep.poll_event().is_some() {}
        assert!(!ep.is_receiving());
        assert!(live() - before <= 0, "{}", live() - before);
    }
}
