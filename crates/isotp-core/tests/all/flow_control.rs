//! The sender's side of flow control: CTS with BS and STmin (from every FC), WAIT and wft_max, OVFLW,
//! invalid flow status, malformed and unexpected flow control frames, STmin timing in virtual time.
use crate::common::*;

fn sender(f: impl FnOnce(&mut Config)) -> (Solo, Vec<u8>, MessageId) {
    let mut s = Solo::new(config(f));
    let p = payload(20, 0);
    let id = s.send(&p);
    s.expect_tx(&cat(&[&[0x10, 20], &p[..6]]));
    (s, p, id)
}

// ---------------------------------------------------------------- WAIT and wft_max

#[test]
fn wait_frames_are_respected_and_restart_n_bs() {
    let (mut s, p, id) = sender(|c| {
        c.wft_max = 15;
        c.n_bs = ms(500);
    });
    for _ in 0..10 {
        s.fc(1, 1, 0);
        s.expect_no_tx();
        s.advance(ms(200));
    }
    s.fc(0, 1, 0);
    s.expect_tx(&cat(&[&[0x21], &p[6..13]]));
    for _ in 0..10 {
        s.fc(1, 1, 0);
        s.expect_no_tx();
        s.advance(ms(200));
    }
    s.fc(0, 1, 0);
    s.expect_tx(&cat(&[&[0x22], &p[13..20]]));
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn wait_frames_then_silence_time_out_after_n_bs() {
    let (mut s, _, id) = sender(|c| {
        c.wft_max = 15;
        c.n_bs = ms(500);
    });
    for _ in 0..3 {
        s.fc(1, 1, 0);
        s.advance(ms(200));
    }
    // The last WAIT came at 400 ms: N_Bs expires at 900 ms exactly.
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(900)));
    s.advance_to(just_before(at_ms(900)));
    s.expect_no_events();
    s.advance_to(at_ms(900));
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::TimeoutBs { limit: ms(500) }
        }]
    );
    s.fc(0, 1, 0);
    s.expect_no_tx();
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
}

#[test]
fn wait_after_first_frame_with_wft_max_0_aborts() {
    let (mut s, _, id) = sender(|c| c.wft_max = 0);
    s.fc(1, 8, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::WftOverrun { wft_max: 0 }
        }]
    );
    s.advance(ms(10));
    s.fc(0, 8, 0);
    s.expect_no_tx();
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
}

#[test]
fn wait_after_a_block_with_wft_max_0_aborts() {
    let (mut s, p, id) = sender(|c| c.wft_max = 0);
    s.fc(0, 1, 0);
    s.expect_tx(&cat(&[&[0x21], &p[6..13]]));
    s.expect_no_events();
    s.fc(1, 1, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::WftOverrun { wft_max: 0 }
        }]
    );
}

#[test]
fn wait_after_first_frame_beyond_wft_max_aborts() {
    let (mut s, _, id) = sender(|c| c.wft_max = 5);
    for i in 0..6 {
        s.fc(1, 1, 0);
        s.advance(ms(200));
        if i < 5 {
            s.expect_no_events();
        }
    }
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::WftOverrun { wft_max: 5 }
        }]
    );
    s.fc(0, 1, 0);
    s.expect_no_tx();
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
}

#[test]
fn wait_after_a_block_beyond_wft_max_aborts() {
    let (mut s, _, id) = sender(|c| c.wft_max = 5);
    s.fc(0, 1, 0);
    s.tx();
    for _ in 0..6 {
        s.fc(1, 1, 0);
        s.advance(ms(200));
    }
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::WftOverrun { wft_max: 5 }
        }]
    );
    s.fc(0, 1, 0);
    s.expect_no_tx();
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
}

#[test]
fn exactly_wft_max_waits_are_accepted() {
    let (mut s, p, id) = sender(|c| c.wft_max = 5);
    for _ in 0..5 {
        s.fc(1, 0, 0);
    }
    s.fc(0, 0, 0);
    s.expect_tx(&cat(&[&[0x21], &p[6..13]]));
    s.expect_tx(&cat(&[&[0x22], &p[13..20]]));
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn default_wft_max_is_10_waits() {
    assert_eq!(Config::default().wft_max, 10);
    let (mut s, _, id) = sender(|_| {});
    for _ in 0..10 {
        s.fc(1, 0, 0);
    }
    s.expect_no_events();
    s.fc(1, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::WftOverrun { wft_max: 10 }
        }]
    );
}

#[test]
fn wait_counter_restarts_after_each_cts() {
    let (mut s, p, id) = sender(|c| c.wft_max = 2);
    s.fc(1, 1, 0);
    s.fc(1, 1, 0);
    s.fc(0, 1, 0);
    s.expect_tx(&cat(&[&[0x21], &p[6..13]]));
    s.fc(1, 1, 0);
    s.fc(1, 1, 0);
    s.fc(0, 1, 0);
    s.expect_tx(&cat(&[&[0x22], &p[13..20]]));
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

// ---------------------------------------------------------------- OVFLW, invalid FS, malformed FC

#[test]
fn overflow_after_a_block_aborts_with_buffer_overflow() {
    let (mut s, _, id) = sender(|_| {});
    s.fc(0, 1, 0);
    s.tx();
    s.fc(2, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::BufferOverflow { length: 20 }
        }]
    );
    s.expect_no_tx();
}

macro_rules! invalid_flow_status {
    ($($name:ident: $fs:expr,)*) => {$(
        #[test]
        fn $name() {
            let (mut s, _, id) = sender(|_| {});
            s.fc($fs, 0, 0);
            assert_eq!(
                s.take_events(),
                vec![Event::SendFailed { id, error: ProtocolError::InvalidFs { value: $fs } }]
            );
            s.expect_no_tx();
            assert!(!s.ep.is_transmitting());
        }
    )*};
}

invalid_flow_status! {
    flow_status_3_aborts_with_invalid_fs: 3,
    flow_status_4_aborts_with_invalid_fs: 4,
    flow_status_5_aborts_with_invalid_fs: 5,
    flow_status_6_aborts_with_invalid_fs: 6,
    flow_status_7_aborts_with_invalid_fs: 7,
    flow_status_8_aborts_with_invalid_fs: 8,
    flow_status_9_aborts_with_invalid_fs: 9,
    flow_status_10_aborts_with_invalid_fs: 10,
    flow_status_11_aborts_with_invalid_fs: 11,
    flow_status_12_aborts_with_invalid_fs: 12,
    flow_status_13_aborts_with_invalid_fs: 13,
    flow_status_14_aborts_with_invalid_fs: 14,
    flow_status_15_aborts_with_invalid_fs: 15,
}

#[test]
fn invalid_flow_status_while_not_waiting_is_only_a_warning() {
    let mut s = Solo::new(Config::default());
    s.fc(3, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(
            ParseError::InvalidFlowStatus { value: 3 }
        ))]
    );
}

#[test]
fn invalid_flow_status_after_a_block_aborts() {
    let (mut s, _, id) = sender(|_| {});
    s.fc(0, 1, 0);
    s.tx();
    s.fc(7, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::InvalidFs { value: 7 }
        }]
    );
}

#[test]
fn flow_control_shorter_than_3_bytes_aborts_the_waiting_sender() {
    let (mut s, _, id) = sender(|_| {});
    s.rx(&[0x30, 0x00]);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::FlowControlTooShort { len: 2 }
        }]
    );
}

#[test]
fn flow_control_shorter_than_3_bytes_while_idle_is_a_warning() {
    let mut s = Solo::new(Config::default());
    s.rx(&[0x30]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(
            ParseError::FlowControlTooShort { len: 1 }
        ))]
    );
}

#[test]
fn flow_control_while_sending_consecutive_frames_is_ignored() {
    let mut s = Solo::new(Config::default());
    let p = payload(40, 0);
    let id = s.send(&p);
    s.tx();
    s.fc(0, 0, 10); // 10 ms between CFs
    s.expect_tx(&cat(&[&[0x21], &p[6..13]]));
    s.fc(0, 0, 0); // not waiting for one: ignored, STmin unchanged
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
    s.expect_no_tx();
    let rest = s.run_for(ms(100));
    let times: Vec<Instant> = rest.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![at_ms(10), at_ms(20), at_ms(30), at_ms(40)]);
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn flow_control_is_padded_and_checked_like_any_frame_with_trailing_bytes() {
    let (mut s, p, _) = sender(|_| {});
    s.rx(&[0x30, 0, 0, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA]);
    let frames = s.tx_data();
    assert_eq!(frames.first(), Some(&cat(&[&[0x21], &p[6..13]])));
    s.expect_sent(1);
}

// ---------------------------------------------------------------- BS and STmin from every FC

#[test]
fn block_size_and_st_min_are_taken_from_every_flow_control() {
    let mut s = Solo::new(Config::default());
    let p = payload(6 + 7 * 10, 0);
    s.send(&p);
    s.tx();
    s.fc(0, 2, 5);
    let b1 = s.run_for(ms(100));
    assert_eq!(
        b1.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![at_ms(0), at_ms(5)]
    );
    s.fc(0, 3, 20);
    let t0 = s.now;
    let b2 = s.run_for(ms(100));
    assert_eq!(
        b2.iter().map(|(t, _)| *t - t0).collect::<Vec<_>>(),
        vec![ms(0), ms(20), ms(40)]
    );
    s.fc(0, 0, 0);
    let t1 = s.now;
    let b3 = s.run_for(ms(100));
    assert_eq!(b3.len(), 5);
    assert!(b3.iter().all(|(t, _)| *t == t1));
    s.expect_sent(1);
}

#[test]
fn first_consecutive_frame_after_a_flow_control_goes_out_at_once() {
    let mut s = Solo::new(Config::default());
    s.send(&payload(30, 0));
    s.tx();
    s.advance(ms(3));
    s.fc(0, 1, 100);
    assert_eq!(s.tx().map(|f| f.data()[0]), Some(0x21));
    // The next FC arrives 1 ms later: the next CF goes at once although STmin is 100 ms.
    s.advance(ms(1));
    s.fc(0, 1, 100);
    assert_eq!(s.tx().map(|f| f.data()[0]), Some(0x22));
}

fn st_min_gaps(st_min: u8) -> Vec<Duration> {
    let mut s = Solo::new(Config::default());
    s.send(&payload(6 + 7 * 4, 0));
    s.tx();
    s.fc(0, 0, st_min);
    let frames = s.run_for(ms(1000));
    assert_eq!(frames.len(), 4);
    s.expect_sent(1);
    frames.windows(2).map(|w| w[1].0 - w[0].0).collect()
}

macro_rules! st_min_values {
    ($($name:ident: $byte:expr => $gap:expr,)*) => {$(
        #[test]
        fn $name() {
            assert_eq!(st_min_gaps($byte), vec![$gap; 3]);
        }
    )*};
}

st_min_values! {
    st_min_0x00_sends_back_to_back: 0x00 => Duration::ZERO,
    st_min_0x01_separates_by_1_ms: 0x01 => ms(1),
    st_min_0x05_separates_by_5_ms: 0x05 => ms(5),
    st_min_0x32_separates_by_50_ms: 0x32 => ms(50),
    st_min_0x64_separates_by_100_ms: 0x64 => ms(100),
    st_min_0x7f_separates_by_127_ms: 0x7F => ms(127),
    st_min_0xf1_separates_by_100_us: 0xF1 => us(100),
    st_min_0xf2_separates_by_200_us: 0xF2 => us(200),
    st_min_0xf3_separates_by_300_us: 0xF3 => us(300),
    st_min_0xf4_separates_by_400_us: 0xF4 => us(400),
    st_min_0xf5_separates_by_500_us: 0xF5 => us(500),
    st_min_0xf6_separates_by_600_us: 0xF6 => us(600),
    st_min_0xf7_separates_by_700_us: 0xF7 => us(700),
    st_min_0xf8_separates_by_800_us: 0xF8 => us(800),
    st_min_0xf9_separates_by_900_us: 0xF9 => us(900),
    reserved_st_min_0x80_means_127_ms: 0x80 => ms(127),
    reserved_st_min_0xc0_means_127_ms: 0xC0 => ms(127),
    reserved_st_min_0xf0_means_127_ms: 0xF0 => ms(127),
    reserved_st_min_0xfa_means_127_ms: 0xFA => ms(127),
    reserved_st_min_0xff_means_127_ms: 0xFF => ms(127),
}

#[test]
fn every_reserved_st_min_means_127_ms_not_an_error() {
    for b in (0x80..=0xF0u8).chain(0xFA..=0xFF) {
        let mut s = Solo::new(Config::default());
        s.send(&payload(6 + 7 * 2, 0));
        s.tx();
        s.fc(0, 0, b);
        let frames = s.run_for(ms(1000));
        assert_eq!(frames.len(), 2, "0x{b:02X}");
        assert_eq!(frames[1].0 - frames[0].0, ms(127), "0x{b:02X}");
        assert!(matches!(s.take_events().as_slice(), [Event::Sent { .. }]));
    }
}

#[test]
fn st_min_100_ms_is_honoured_across_blocks() {
    // can-isotp test_stmin_requirement: 30 bytes, BS 3, STmin 100 ms.
    let mut s = Solo::new(Config::default());
    let p = payload(30, 0);
    s.send(&p);
    s.tx();
    s.fc(0, 3, 100);
    let block = s.run_for(ms(1000));
    assert_eq!(
        block
            .iter()
            .map(|(t, f)| (*t, f.data()[0]))
            .collect::<Vec<_>>(),
        vec![(at_ms(0), 0x21), (at_ms(100), 0x22), (at_ms(200), 0x23)]
    );
    s.fc(0, 3, 100);
    let rest = s.run_for(ms(1000));
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].1.data(), &cat(&[&[0x24], &p[27..30]])[..]);
    s.expect_sent(1);
}

#[test]
fn poll_timeout_reports_the_next_consecutive_frame() {
    let mut s = Solo::new(Config::default());
    s.send(&payload(30, 0));
    s.tx();
    s.fc(0, 0, 20);
    s.tx();
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(20)));
    s.advance_to(just_before(at_ms(20)));
    s.expect_no_tx();
    s.advance_to(at_ms(20));
    assert!(s.tx().is_some());
}

#[test]
fn override_receiver_st_min_zero_squashes_the_requirement() {
    // can-isotp test_override_receiver_stmin_0: 4095 bytes, FC STmin 100 ms, BS 8: every block at once.
    let mut s = Solo::new(config(|c| {
        c.override_receiver_st_min = Some(Duration::ZERO)
    }));
    let p = payload(4095, 0);
    s.send(&p);
    s.tx();
    let mut n = 6;
    let mut sn = 1u8;
    while n < 4095 {
        s.fc(0, 8, 100);
        let block = s.tx_all();
        assert!(!block.is_empty() && block.len() <= 8);
        for f in block {
            let end = (n + 7).min(4095);
            assert_eq!(f.data(), &cat(&[&[0x20 | sn], &p[n..end]])[..]);
            n = end;
            sn = (sn + 1) & 0xF;
        }
        s.advance(ms(1));
    }
    assert!(matches!(s.take_events().as_slice(), [Event::Sent { .. }]));
}

#[test]
fn override_receiver_st_min_replaces_a_larger_request() {
    let mut s = Solo::new(config(|c| c.override_receiver_st_min = Some(ms(10))));
    s.send(&payload(6 + 7 * 3, 0));
    s.tx();
    s.fc(0, 0, 100);
    let frames = s.run_for(ms(1000));
    assert_eq!(
        frames.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![at_ms(0), at_ms(10), at_ms(20)]
    );
    s.expect_sent(1);
}

#[test]
fn override_receiver_st_min_replaces_a_smaller_request() {
    let mut s = Solo::new(config(|c| c.override_receiver_st_min = Some(us(2500))));
    s.send(&payload(6 + 7 * 3, 0));
    s.tx();
    s.fc(0, 0, 0);
    let frames = s.run_for(ms(1000));
    assert_eq!(
        frames.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![
            Instant::ZERO,
            Instant::from_micros(2500),
            Instant::from_micros(5000)
        ]
    );
    s.expect_sent(1);
}

#[test]
fn st_min_in_a_pair_spaces_consecutive_frames_exactly() {
    let mut p = Pair::new(
        tester_address(),
        Config::default(),
        config(|c| c.st_min = StMin::from_byte(5)),
    );
    p.send(Side::A, &payload(6 + 7 * 5, 0));
    p.run();
    let cf_times: Vec<Instant> = p
        .frames_from(Side::A)
        .iter()
        .filter(|r| r.frame.data()[0] >> 4 == 2)
        .map(|r| r.t)
        .collect();
    assert_eq!(
        cf_times,
        vec![at_ms(0), at_ms(5), at_ms(10), at_ms(15), at_ms(20)]
    );
}

#[test]
fn block_size_in_a_pair_gives_one_flow_control_per_block() {
    for bs in 1..=8u8 {
        let mut p = Pair::new(
            tester_address(),
            Config::default(),
            config(|c| c.block_size = bs),
        );
        let data = payload(6 + 7 * 20, bs);
        p.send(Side::A, &data);
        p.run();
        assert_eq!(p.received(Side::B), vec![data]);
        let fcs = p.frames_from(Side::B).len();
        assert_eq!(fcs, 1 + (20 - 1) / usize::from(bs), "bs {bs}");
    }
}
