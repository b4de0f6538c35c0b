//! Transmit padding (tx_padding, tx_data_min_length, mandatory CAN FD padding) and the receive padding
//! checks of the Linux kernel (CAN_ISOTP_CHK_PAD_LEN / CAN_ISOTP_CHK_PAD_DATA).
use crate::common::*;

fn invalid_padding(pci: PciType) -> Event {
    Event::ReceiveFailed {
        error: ProtocolError::InvalidPadding { pci },
    }
}

// ---------------------------------------------------------------- transmit

#[test]
fn without_padding_every_classic_frame_has_its_optimised_length() {
    let mut p = Pair::symmetric(Config::default());
    p.send(Side::A, &payload(10, 0));
    p.send(Side::A, &[1, 2]);
    p.run();
    let lens: Vec<usize> = p.log.iter().map(|r| r.frame.len()).collect();
    // FF 8, FC 3, last CF 5, SF 3.
    assert_eq!(lens, vec![8, 3, 5, 3]);
}

#[test]
fn tx_padding_pads_every_classic_frame_to_8_bytes_with_the_byte() {
    let mut p = Pair::symmetric(config(|c| c.tx_padding = Some(0xA5)));
    p.send(Side::A, &payload(10, 0));
    p.send(Side::A, &[1, 2]);
    p.run();
    for r in &p.log {
        assert_eq!(r.frame.len(), 8, "{:?}", r.frame);
    }
    assert_eq!(
        p.log[1].frame.data(),
        &[0x30, 0, 0, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5]
    );
    assert_eq!(
        p.log[3].frame.data(),
        &[0x02, 1, 2, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5]
    );
}

#[test]
fn min_length_6_with_padding_pads_a_single_frame_to_6() {
    // can-isotp test_transmit_single_frame_txdl_8_min_length_6.
    let mut s = Solo::new(config(|c| {
        c.link_layer.tx_data_min_length = Some(6);
        c.tx_padding = Some(0xAA);
    }));
    let p = payload(3, 0);
    s.send(&p);
    let f = s.expect_tx(&cat(&[&[0x03], &p, &[0xAA; 2]]));
    assert_eq!(f.dlc(), 6);
    s.expect_sent(1);
}

#[test]
fn no_min_length_with_padding_pads_to_8() {
    // can-isotp test_transmit_single_frame_txdl_8_no_min_length.
    let mut s = Solo::new(config(|c| c.tx_padding = Some(0xAA)));
    let p = payload(3, 0);
    s.send(&p);
    let f = s.expect_tx(&cat(&[&[0x03], &p, &[0xAA; 4]]));
    assert_eq!(f.dlc(), 8);
    s.expect_sent(1);
}

macro_rules! classic_min_length {
    ($($name:ident: $min:expr,)*) => {$(
        #[test]
        fn $name() {
            let mut s = Solo::new(config(|c| c.link_layer.tx_data_min_length = Some($min)));
            s.send(&[0x42]);
            let f = s.tx().unwrap();
            let len = 2usize.max($min);
            let mut expected = vec![0x01, 0x42];
            expected.resize(len, 0xCC);
            assert_eq!(f.data(), &expected[..], "min {}", $min);
            s.expect_sent(1);
            // The flow control of the same endpoint obeys it too.
            let mut s = Solo::new(config(|c| c.link_layer.tx_data_min_length = Some($min)));
            s.rx(&cat(&[&[0x10, 10], &[0; 6]]));
            let fc = s.tx().unwrap();
            assert_eq!(fc.len(), 3usize.max($min));
        }
    )*};
}

classic_min_length! {
    classic_min_length_1_changes_nothing: 1,
    classic_min_length_2_changes_nothing: 2,
    classic_min_length_3_pads_to_3: 3,
    classic_min_length_4_pads_to_4: 4,
    classic_min_length_5_pads_to_5: 5,
    classic_min_length_6_pads_to_6: 6,
    classic_min_length_7_pads_to_7: 7,
    classic_min_length_8_pads_to_8: 8,
}

fn fd_min_length(min: u8) {
    for tx_dl in [12u8, 16, 20, 24, 32, 48, 64] {
        if min > tx_dl {
            continue;
        }
        let c = config(|c| {
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = tx_dl;
            c.link_layer.tx_data_min_length = Some(min);
            c.max_frame_size = 100_000;
        });
        for size in [1usize, 3, 6, 7, 8, 10, 20, 62, 63, 200] {
            let mut s = Solo::new(c);
            let p = payload(size, 0);
            s.send(&p);
            let layout = Layout {
                min_len: Some(usize::from(min)),
                ..Layout::fd(usize::from(tx_dl))
            };
            let expected = expected_frames(&p, &layout);
            let mut got = vec![s.tx().unwrap().data().to_vec()];
            if expected.len() > 1 {
                s.fc(0, 0, 0);
                got.extend(s.tx_data());
            }
            assert_eq!(got, expected, "min {min} tx_dl {tx_dl} size {size}");
            s.expect_sent(1);
            for f in &got {
                assert!(f.len() >= usize::from(min));
            }
            // And the receiver reassembles it.
            let mut pair = Pair::symmetric(c);
            pair.send(Side::A, &p);
            pair.run();
            assert_eq!(
                pair.received(Side::B),
                vec![p.clone()],
                "min {min} tx_dl {tx_dl} size {size}"
            );
        }
    }
}

macro_rules! fd_min_lengths {
    ($($name:ident: $min:expr,)*) => {$(
        #[test]
        fn $name() {
            fd_min_length($min);
        }
    )*};
}

fd_min_lengths! {
    fd_min_length_1_round_trips: 1,
    fd_min_length_4_round_trips: 4,
    fd_min_length_8_round_trips: 8,
    fd_min_length_12_pads_every_frame_and_uses_the_escape: 12,
    fd_min_length_16_pads_every_frame_and_uses_the_escape: 16,
    fd_min_length_20_pads_every_frame_and_uses_the_escape: 20,
    fd_min_length_24_pads_every_frame_and_uses_the_escape: 24,
    fd_min_length_32_pads_every_frame_and_uses_the_escape: 32,
    fd_min_length_48_pads_every_frame_and_uses_the_escape: 48,
    fd_min_length_64_pads_every_frame_and_uses_the_escape: 64,
}

#[test]
fn single_frame_padded_beyond_8_bytes_uses_the_escape_form() {
    let mut s = Solo::new(config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
        c.link_layer.tx_data_min_length = Some(12);
    }));
    s.send(&[1, 2, 3]);
    s.expect_tx(&[
        0x00, 0x03, 1, 2, 3, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC,
    ]);
    s.expect_sent(1);
}

#[test]
fn fd_tx_padding_pads_short_frames_to_8_like_the_kernel() {
    // The kernel pads to 8 at least (CAN_ISOTP_TX_PADDING); can-isotp would send 4 bytes here.
    let mut s = Solo::new(config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
        c.tx_padding = Some(0x55);
    }));
    s.send(&[1, 2, 3]);
    s.expect_tx(&[0x03, 1, 2, 3, 0x55, 0x55, 0x55, 0x55]);
    s.expect_sent(1);
}

#[test]
fn fd_mandatory_padding_uses_cc_without_tx_padding() {
    let mut s = Solo::new(config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
    }));
    s.send(&payload(9, 0));
    let f = s.tx().unwrap();
    assert_eq!(f.len(), 12);
    assert_eq!(&f.data()[11..], &[0xCC]);
    s.expect_sent(1);
}

#[test]
fn fd_mandatory_padding_uses_the_tx_padding_byte() {
    let mut s = Solo::new(config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
        c.tx_padding = Some(0x00);
    }));
    s.send(&payload(9, 0));
    let f = s.tx().unwrap();
    assert_eq!(f.len(), 12);
    assert_eq!(&f.data()[11..], &[0x00]);
    s.expect_sent(1);
}

// ---------------------------------------------------------------- receive checks

fn checking(check: PaddingCheck, pad: Option<u8>) -> Solo {
    Solo::new(config(|c| {
        c.rx_padding_check = check;
        c.rx_padding = pad;
    }))
}

#[test]
fn no_check_accepts_any_padding() {
    let mut s = checking(PaddingCheck::Off, Some(0xCC));
    s.rx(&[0x02, 1, 2, 0x11, 0x22]);
    assert_eq!(s.expect_received(), vec![1, 2]);
}

#[test]
fn length_check_with_padding_rejects_an_unpadded_single_frame() {
    // Zephyr CONFIG_ISOTP_REQUIRE_RX_PADDING: a 7-byte SF frame is dropped.
    let mut s = checking(PaddingCheck::Length, Some(0xCC));
    s.rx(&[0x06, 1, 2, 3, 4, 5, 6]);
    assert_eq!(s.take_events(), vec![invalid_padding(PciType::SingleFrame)]);
    s.rx(&[0x06, 1, 2, 3, 4, 5, 6, 0x00]);
    assert_eq!(
        s.expect_received(),
        vec![1, 2, 3, 4, 5, 6],
        "length only: content not checked"
    );
}

#[test]
fn length_check_without_padding_requires_optimised_frames() {
    let mut s = checking(PaddingCheck::Length, None);
    s.rx(&[0x02, 1, 2]);
    assert_eq!(s.expect_received(), vec![1, 2]);
    s.rx(&[0x02, 1, 2, 0xCC]);
    assert_eq!(s.take_events(), vec![invalid_padding(PciType::SingleFrame)]);
}

#[test]
fn content_check_rejects_a_wrong_padding_byte() {
    let mut s = checking(PaddingCheck::Content, Some(0xCC));
    s.rx(&[0x02, 1, 2, 0xCC, 0xCC, 0xAA, 0xCC, 0xCC]);
    assert_eq!(s.take_events(), vec![invalid_padding(PciType::SingleFrame)]);
    s.rx(&[0x02, 1, 2, 0xCC, 0xCC]);
    assert_eq!(
        s.expect_received(),
        vec![1, 2],
        "content only: length not checked"
    );
}

#[test]
fn length_and_content_check_needs_both() {
    let mut s = checking(PaddingCheck::LengthAndContent, Some(0xAA));
    s.rx(&[0x02, 1, 2, 0xAA, 0xAA]);
    s.rx(&[0x02, 1, 2, 0xAA, 0xAA, 0xAA, 0xAA, 0xCC]);
    assert_eq!(
        s.take_events(),
        vec![
            invalid_padding(PciType::SingleFrame),
            invalid_padding(PciType::SingleFrame)
        ]
    );
    s.rx(&[0x02, 1, 2, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA]);
    assert_eq!(s.expect_received(), vec![1, 2]);
}

#[test]
fn last_consecutive_frame_padding_is_checked_and_aborts() {
    let mut s = checking(PaddingCheck::LengthAndContent, Some(0xCC));
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[..6]]));
    s.tx_all();
    s.rx(&cat(&[&[0x21], &p[6..], &[0xCC, 0xCC, 0x00]]));
    assert_eq!(
        s.take_events(),
        vec![invalid_padding(PciType::ConsecutiveFrame)]
    );
    assert!(!s.ep.is_receiving());
}

#[test]
fn last_consecutive_frame_with_correct_padding_is_accepted() {
    let mut s = checking(PaddingCheck::LengthAndContent, Some(0xCC));
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[..6]]));
    s.tx_all();
    s.rx(&cat(&[&[0x21], &p[6..], &[0xCC, 0xCC, 0xCC]]));
    assert_eq!(s.expect_received(), p);
}

#[test]
fn unpadded_last_consecutive_frame_fails_the_length_check() {
    let mut s = checking(PaddingCheck::Length, Some(0xCC));
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[..6]]));
    s.tx_all();
    s.rx(&cat(&[&[0x21], &p[6..]]));
    assert_eq!(
        s.take_events(),
        vec![invalid_padding(PciType::ConsecutiveFrame)]
    );
}

#[test]
fn flow_control_padding_is_checked_by_the_sender() {
    let mut s = checking(PaddingCheck::LengthAndContent, Some(0xCC));
    let id = s.send(&payload(20, 0));
    s.tx();
    s.rx(&[0x30, 0, 0]);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::InvalidPadding {
                pci: PciType::FlowControl
            }
        }]
    );
    assert!(!s.ep.is_transmitting());
}

#[test]
fn correctly_padded_flow_control_is_accepted_by_a_checking_sender() {
    let mut s = checking(PaddingCheck::LengthAndContent, Some(0xCC));
    let id = s.send(&payload(10, 0));
    s.tx();
    s.rx(&[0x30, 0, 0, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC]);
    s.tx_all();
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn fd_single_frame_length_check_without_padding_follows_the_kernel() {
    let mut s = Solo::new(config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
        c.rx_padding_check = PaddingCheck::Length;
    }));
    // 10 payload bytes + 2 PCI = 12: optimal.
    s.rx_fd(&cat(&[&[0x00, 10], &payload(10, 0)]));
    assert_eq!(s.expect_received(), payload(10, 0));
    // 9 payload bytes in a 16-byte frame: 11 would fit 12.
    s.rx_fd(&cat(&[&[0x00, 9], &payload(9, 0), &[0xCC; 5]]));
    assert_eq!(s.take_events(), vec![invalid_padding(PciType::SingleFrame)]);
}

#[test]
fn fd_frames_above_8_bytes_pass_the_length_check_with_padding() {
    let mut s = Solo::new(config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
        c.rx_padding_check = PaddingCheck::LengthAndContent;
        c.rx_padding = Some(0xCC);
    }));
    s.rx_fd(&cat(&[&[0x00, 9], &payload(9, 0), &[0xCC; 5]]));
    assert_eq!(s.expect_received(), payload(9, 0));
}

#[test]
fn content_check_needs_an_expected_padding_byte() {
    for check in [PaddingCheck::Content, PaddingCheck::LengthAndContent] {
        let err =
            Endpoint::new(tester_address(), config(|c| c.rx_padding_check = check)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rx_padding_check of the content needs rx_padding: set the expected padding byte"
        );
    }
}

#[test]
fn pair_with_padding_on_both_sides_and_full_checks_round_trips() {
    let c = config(|c| {
        c.tx_padding = Some(0xCC);
        c.rx_padding = Some(0xCC);
        c.rx_padding_check = PaddingCheck::LengthAndContent;
    });
    let mut p = Pair::symmetric(c);
    for n in [1, 7, 8, 20, 100, 4095] {
        p.send(Side::A, &payload(n, 1));
        p.send(Side::B, &payload(n, 2));
    }
    p.run();
    assert_eq!(p.received(Side::B).len(), 6);
    assert_eq!(p.received(Side::A).len(), 6);
    assert!(p
        .events
        .iter()
        .flatten()
        .all(|(_, e)| matches!(e, Event::Sent { .. })));
}

#[test]
fn pair_without_padding_and_length_check_round_trips() {
    let c = config(|c| c.rx_padding_check = PaddingCheck::Length);
    let mut p = Pair::symmetric(c);
    for n in [1, 7, 8, 20, 100] {
        p.send(Side::A, &payload(n, 1));
    }
    p.run();
    assert_eq!(p.received(Side::B).len(), 5);
}
