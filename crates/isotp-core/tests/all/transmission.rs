//! Transmission, frame by frame in virtual time: every behaviour python can-isotp 2.0.7's
//! test_transport_layer_logic.py checks on the send side (classic CAN), with exact bytes and DLCs.
use crate::common::*;

fn params() -> Config {
    config(|c| {
        c.block_size = 8;
        c.st_min = StMin::from_byte(1);
        c.wft_max = 0;
    })
}

/// Sends `p` with the FC sequence of can-isotp's perform_multiframe_test_no_stmin and checks every CF.
fn send_with_block_size(size: usize, bs: u8) {
    let mut s = Solo::new(params());
    let p = payload(size, 0);
    s.send(&p);
    s.expect_tx(&cat(&[&[0x10 | (size >> 8) as u8, size as u8], &p[..6]]));
    s.expect_no_tx();
    s.fc(0, bs, 0);
    let mut n = 6;
    let mut sn = 1u8;
    let mut in_block = 0;
    while n < size {
        if bs != 0 && in_block == bs {
            s.expect_no_tx();
            assert!(s.ep.is_transmitting());
            s.fc(0, bs, 0);
            in_block = 0;
        }
        let end = (n + 7).min(size);
        s.expect_tx(&cat(&[&[0x20 | sn], &p[n..end]]));
        n = end;
        sn = (sn + 1) & 0xF;
        in_block += 1;
    }
    s.expect_no_tx();
    assert!(matches!(s.take_events().as_slice(), [Event::Sent { .. }]));
    assert!(!s.ep.is_transmitting());
}

macro_rules! single_frame_lengths {
    ($($name:ident: $n:expr,)*) => {$(
        #[test]
        fn $name() {
            let mut s = Solo::new(params());
            let p = payload($n, $n);
            s.send(&p);
            let f = s.expect_tx(&cat(&[&[$n as u8], &p]));
            assert_eq!(f.id(), sid(0x7E0));
            assert_eq!(f.len(), $n + 1, "optimised length without padding");
            assert_eq!(f.dlc(), $n + 1);
            assert!(!f.is_fd());
            s.expect_no_tx();
            s.expect_sent(1);
        }
    )*};
}

single_frame_lengths! {
    send_single_frame_of_1_byte_has_dlc_2: 1,
    send_single_frame_of_2_bytes_has_dlc_3: 2,
    send_single_frame_of_3_bytes_has_dlc_4: 3,
    send_single_frame_of_4_bytes_has_dlc_5: 4,
    send_single_frame_of_5_bytes_has_dlc_6: 5,
    send_single_frame_of_6_bytes_has_dlc_7: 6,
    send_single_frame_of_7_bytes_has_dlc_8: 7,
}

macro_rules! padded_single_frame_lengths {
    ($($name:ident: $n:expr,)*) => {$(
        #[test]
        fn $name() {
            let mut s = Solo::new(config(|c| c.tx_padding = Some(0xAA)));
            let p = payload($n, $n);
            s.send(&p);
            let mut expected = cat(&[&[$n as u8], &p]);
            expected.resize(8, 0xAA);
            let f = s.expect_tx(&expected);
            assert_eq!(f.dlc(), 8);
            s.expect_sent(1);
        }
    )*};
}

padded_single_frame_lengths! {
    padded_single_frame_of_1_byte_has_dlc_8: 1,
    padded_single_frame_of_2_bytes_has_dlc_8: 2,
    padded_single_frame_of_3_bytes_has_dlc_8: 3,
    padded_single_frame_of_4_bytes_has_dlc_8: 4,
    padded_single_frame_of_5_bytes_has_dlc_8: 5,
    padded_single_frame_of_6_bytes_has_dlc_8: 6,
    padded_single_frame_of_7_bytes_has_dlc_8: 7,
}

#[test]
fn several_single_frames_queued_go_out_in_one_poll_in_order() {
    let mut s = Solo::new(params());
    let mut ids = Vec::new();
    for i in 1..=7usize {
        ids.push(s.send(&payload(i, i as u8)));
    }
    assert_eq!(s.ep.queued(), 7);
    let frames = s.tx_data();
    assert_eq!(frames.len(), 7);
    for (i, f) in frames.iter().enumerate() {
        let n = i + 1;
        assert_eq!(f, &cat(&[&[n as u8], &payload(n, n as u8)]));
    }
    let sent: Vec<Event> = ids.iter().map(|&id| Event::Sent { id }).collect();
    assert_eq!(s.take_events(), sent);
    assert_eq!(
        ids.iter().map(|i| i.get()).collect::<Vec<_>>(),
        (0..7).collect::<Vec<_>>()
    );
}

#[test]
fn small_multi_frame_waits_for_flow_control() {
    let mut s = Solo::new(params());
    let p = payload(10, 0);
    let id = s.send(&p);
    let ff = s.expect_tx(&cat(&[&[0x10, 0x0A], &p[..6]]));
    assert_eq!(ff.dlc(), 8);
    s.expect_no_tx();
    s.advance(ms(500));
    s.expect_no_tx();
    s.fc(0, 8, 0);
    let cf = s.expect_tx(&cat(&[&[0x21], &p[6..10]]));
    assert_eq!(cf.dlc(), 5);
    s.expect_no_tx();
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn padded_multi_frame_pads_the_last_consecutive_frame() {
    let mut s = Solo::new(config(|c| c.tx_padding = Some(0x55)));
    let p = payload(10, 0);
    s.send(&p);
    let ff = s.expect_tx(&cat(&[&[0x10, 0x0A], &p[..6]]));
    assert_eq!(ff.dlc(), 8);
    s.expect_no_tx();
    s.fc(0, 8, 0);
    let cf = s.expect_tx(&cat(&[&[0x21], &p[6..10], &[0x55; 3]]));
    assert_eq!(cf.dlc(), 8);
    s.expect_no_tx();
    s.expect_sent(1);
}

#[test]
fn two_queued_multi_frames_go_out_one_after_the_other() {
    let mut s = Solo::new(params());
    let p1 = payload(10, 0);
    let p2 = payload(10, 1);
    let id1 = s.send(&p1);
    let id2 = s.send(&p2);
    s.expect_tx(&cat(&[&[0x10, 0x0A], &p1[..6]]));
    s.expect_no_tx();
    s.fc(0, 8, 0);
    s.expect_tx(&cat(&[&[0x21], &p1[6..10]]));
    s.expect_tx(&cat(&[&[0x10, 0x0A], &p2[..6]]));
    s.expect_no_tx();
    s.fc(0, 8, 0);
    s.expect_tx(&cat(&[&[0x21], &p2[6..10]]));
    s.expect_no_tx();
    assert_eq!(
        s.take_events(),
        vec![Event::Sent { id: id1 }, Event::Sent { id: id2 }]
    );
}

#[test]
fn unexpected_flow_control_while_idle_is_a_warning() {
    let mut s = Solo::new(params());
    s.fc(0, 8, 100);
    s.expect_no_tx();
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
}

#[test]
fn fc_overflow_after_the_first_frame_aborts_with_buffer_overflow() {
    let mut s = Solo::new(params());
    let p = payload(0x30, 0);
    let id = s.send(&p);
    s.expect_tx(&cat(&[&[0x10, 0x30], &p[..6]]));
    s.expect_no_tx();
    s.fc(2, 8, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::BufferOverflow { length: 0x30 }
        }]
    );
    s.expect_no_tx();
    assert!(!s.ep.is_transmitting());
}

#[test]
fn send_4095_bytes_with_block_size_5() {
    send_with_block_size(4095, 5);
}

macro_rules! block_sizes_128 {
    ($($name:ident: $bs:expr,)*) => {$(
        #[test]
        fn $name() {
            send_with_block_size(128, $bs);
        }
    )*};
}

block_sizes_128! {
    send_128_bytes_with_block_size_0_needs_one_flow_control: 0,
    send_128_bytes_with_block_size_1_waits_after_every_frame: 1,
    send_128_bytes_with_block_size_2_waits_every_2_frames: 2,
    send_128_bytes_with_block_size_3_waits_every_3_frames: 3,
    send_128_bytes_with_block_size_4_waits_every_4_frames: 4,
    send_128_bytes_with_block_size_5_waits_every_5_frames: 5,
    send_128_bytes_with_block_size_6_waits_every_6_frames: 6,
    send_128_bytes_with_block_size_7_waits_every_7_frames: 7,
    send_128_bytes_with_block_size_16_waits_every_16_frames: 16,
    send_128_bytes_with_block_size_255_waits_every_255_frames: 255,
}

#[test]
fn send_4095_bytes_with_block_size_0_needs_one_flow_control() {
    let mut s = Solo::new(config(|c| c.block_size = 0));
    let p = payload(4095, 0);
    s.send(&p);
    s.expect_tx(&cat(&[&[0x1F, 0xFF], &p[..6]]));
    s.fc(0, 0, 0);
    let frames = s.tx_data();
    assert_eq!(frames.len(), 585);
    for (i, f) in frames.iter().enumerate() {
        let start = 6 + 7 * i;
        assert_eq!(
            f,
            &cat(&[
                &[0x20 | ((i + 1) & 0xF) as u8],
                &p[start..(start + 7).min(4095)]
            ])
        );
    }
    s.expect_sent(1);
}

#[test]
fn send_10000_bytes_uses_the_escaped_first_frame() {
    let mut s = Solo::new(Config::default());
    let p = payload(10000, 0);
    s.send(&p);
    let ff = s.expect_tx(&cat(&[&[0x10, 0, 0, 0, 0x27, 0x10], &p[..2]]));
    assert_eq!(ff.dlc(), 8);
    s.fc(0, 0, 0);
    let frames = s.tx_all();
    assert_eq!(frames.len(), 1429); // ceil(9998 / 7)
    for (i, f) in frames.iter().enumerate() {
        let start = 2 + 7 * i;
        let expected = cat(&[
            &[0x20 | ((i + 1) & 0xF) as u8],
            &p[start..(start + 7).min(10000)],
        ]);
        assert_eq!(f.data(), &expected[..]);
        assert_eq!(usize::from(f.dlc()), f.len());
    }
    s.expect_sent(1);
}

#[test]
fn send_4096_bytes_uses_the_escaped_first_frame() {
    let mut s = Solo::new(Config::default());
    let p = payload(4096, 0);
    s.send(&p);
    s.expect_tx(&cat(&[&[0x10, 0, 0, 0, 0x10, 0x00], &p[..2]]));
    s.fc(0, 0, 0);
    let frames = s.tx_all();
    assert_eq!(frames.len(), 585);
    assert_eq!(
        frames.last().unwrap().data(),
        &cat(&[&[0x20 | (585 & 0xF) as u8], &p[4090..]])[..]
    );
    s.expect_sent(1);
}

#[test]
fn send_4095_bytes_uses_the_12_bit_first_frame() {
    let mut s = Solo::new(Config::default());
    let p = payload(4095, 0);
    s.send(&p);
    s.expect_tx(&cat(&[&[0x1F, 0xFF], &p[..6]]));
}

#[test]
fn send_8_bytes_is_the_smallest_multi_frame_on_classic_can() {
    let mut s = Solo::new(Config::default());
    let p = payload(8, 0);
    s.send(&p);
    s.expect_tx(&cat(&[&[0x10, 8], &p[..6]]));
    s.fc(0, 0, 0);
    s.expect_tx(&cat(&[&[0x21], &p[6..]]));
    s.expect_sent(1);
}

#[test]
fn empty_payload_is_refused_and_nothing_is_sent() {
    let mut s = Solo::new(params());
    for _ in 0..3 {
        assert_eq!(
            s.ep.send(&[], TargetAddressType::Physical),
            Err(SendError::EmptyPayload)
        );
    }
    s.expect_no_tx();
    assert!(!s.ep.is_transmitting());
}

#[test]
fn single_frame_after_a_refused_empty_payload_goes_out() {
    let mut s = Solo::new(params());
    assert!(s.ep.send(&[], TargetAddressType::Physical).is_err());
    s.send(&[0x55]);
    assert!(s.ep.send(&[], TargetAddressType::Physical).is_err());
    s.expect_tx(&[0x01, 0x55]);
    s.expect_no_tx();
    s.expect_sent(1);
}

#[test]
fn sent_is_reported_only_after_the_last_consecutive_frame() {
    let mut s = Solo::new(Config::default());
    let p = payload(30, 0);
    let id = s.send(&p);
    s.tx();
    s.expect_no_events();
    s.fc(0, 2, 0);
    s.tx_all();
    s.expect_no_events();
    s.fc(0, 2, 0);
    s.tx_all();
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn message_ids_count_up_from_zero() {
    let mut s = Solo::new(Config::default());
    for i in 0..5 {
        assert_eq!(s.send(&[i as u8 + 1]).get(), i);
    }
    assert_eq!(
        s.tx_data(),
        (1..=5u8).map(|i| vec![0x01, i]).collect::<Vec<_>>()
    );
    s.expect_sent(5);
}

#[test]
fn send_vec_takes_ownership_and_behaves_like_send() {
    let mut s = Solo::new(Config::default());
    let id =
        s.ep.send_vec(vec![1, 2, 3], TargetAddressType::Physical)
            .unwrap();
    s.expect_tx(&[0x03, 1, 2, 3]);
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
    assert_eq!(
        s.ep.send_vec(Vec::new(), TargetAddressType::Physical),
        Err(SendError::EmptyPayload)
    );
}

#[test]
fn is_transmitting_covers_the_queue_and_the_active_message() {
    let mut s = Solo::new(Config::default());
    assert!(!s.ep.is_transmitting());
    s.send(&payload(20, 0));
    assert!(s.ep.is_transmitting());
    s.tx();
    assert!(s.ep.is_transmitting());
    s.fc(0, 0, 0);
    s.tx_all();
    assert!(!s.ep.is_transmitting());
    s.expect_sent(1);
}

#[test]
fn stop_sending_drops_the_active_message_and_the_queue_silently() {
    let mut s = Solo::new(Config::default());
    s.send(&payload(20, 0));
    s.send(&payload(20, 1));
    s.send(&payload(3, 2));
    s.tx();
    assert_eq!(s.ep.queued(), 2);
    assert_eq!(s.ep.stop_sending(), 3);
    assert!(!s.ep.is_transmitting());
    assert_eq!(s.ep.poll_timeout(), None);
    s.expect_no_tx();
    s.fc(0, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
    // The next message starts afresh.
    s.send(&[9]);
    s.expect_tx(&[0x01, 9]);
    s.expect_sent(1);
}

#[test]
fn queue_limit_refuses_extra_messages() {
    let mut s = Solo::new(config(|c| c.tx_queue_limit = 2));
    s.send(&[1]);
    s.send(&[2]);
    assert_eq!(
        s.ep.send(&[3], TargetAddressType::Physical),
        Err(SendError::QueueFull { limit: 2 })
    );
    s.tx_all();
    s.send(&[3]);
    s.expect_tx(&[0x01, 3]);
    s.expect_sent(3);
}

#[test]
fn a_message_queued_behind_a_failed_one_still_goes_out() {
    let mut s = Solo::new(Config::default());
    let p = payload(20, 0);
    let id1 = s.send(&p);
    let id2 = s.send(&[0x42]);
    s.tx();
    s.fc(2, 0, 0); // overflow
    s.expect_tx(&[0x01, 0x42]);
    assert_eq!(
        s.take_events(),
        vec![
            Event::SendFailed {
                id: id1,
                error: ProtocolError::BufferOverflow { length: 20 }
            },
            Event::Sent { id: id2 }
        ]
    );
}

#[test]
fn consecutive_frames_use_the_physical_transmit_id() {
    let addr = Address::builder(AddressingMode::Normal11)
        .txid(0x7E0)
        .rxid(0x7E8)
        .functional_txid(0x7DF)
        .build()
        .unwrap();
    let mut s = Solo::with_address(addr, Config::default(), sid(0x7E8));
    s.send(&payload(20, 0));
    let ff = s.tx().unwrap();
    s.fc(0, 0, 0);
    let cfs = s.tx_all();
    assert_eq!(ff.id(), sid(0x7E0));
    assert!(cfs.iter().all(|f| f.id() == sid(0x7E0)));
    s.expect_sent(1);
}

#[test]
fn functional_single_frame_uses_the_functional_id() {
    let addr = Address::builder(AddressingMode::Normal11)
        .txid(0x7E0)
        .rxid(0x7E8)
        .functional_txid(0x7DF)
        .build()
        .unwrap();
    let mut s = Solo::with_address(addr, Config::default(), sid(0x7E8));
    s.ep.send(&[0x3E, 0x80], TargetAddressType::Functional)
        .unwrap();
    let f = s.expect_tx(&[0x02, 0x3E, 0x80]);
    assert_eq!(f.id(), sid(0x7DF));
    s.expect_sent(1);
}

#[test]
fn classic_segmentation_matches_the_reference_for_many_sizes() {
    for size in (1..=300).chain([1000, 4094, 4095, 4096, 4097, 8191]) {
        let mut s = Solo::new(config(|c| c.max_frame_size = u32::MAX));
        let p = payload(size, size as u8);
        s.send(&p);
        let expected = expected_frames(&p, &Layout::classic());
        let mut got = vec![s.tx().unwrap().data().to_vec()];
        if expected.len() > 1 {
            s.fc(0, 0, 0);
            got.extend(s.tx_data());
        }
        assert_eq!(got, expected, "size {size}");
        s.expect_sent(1);
    }
}

#[test]
fn pair_round_trips_many_classic_sizes() {
    let mut p = Pair::symmetric(config(|c| c.max_frame_size = 20_000));
    let sizes = [1, 6, 7, 8, 13, 14, 15, 62, 63, 64, 4095, 4096, 10_000];
    for &n in &sizes {
        p.send(Side::A, &payload(n, n as u8));
    }
    p.run();
    let got = p.received(Side::B);
    assert_eq!(got.len(), sizes.len());
    for (g, &n) in got.iter().zip(&sizes) {
        assert_eq!(g, &payload(n, n as u8));
    }
}
