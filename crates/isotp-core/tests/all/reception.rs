//! Reception, frame by frame in virtual time: every behaviour python can-isotp 2.0.7's
//! test_transport_layer_logic.py checks on the receive side, with exact bytes, plus the ISO rules behind
//! them.
use crate::common::*;

/// can-isotp's STACK_PARAMS in its logic tests: stmin 1, blocksize 8, wftmax 0.
fn params() -> Config {
    config(|c| {
        c.block_size = 8;
        c.st_min = StMin::from_byte(1);
        c.wft_max = 0;
    })
}

fn solo() -> Solo {
    Solo::new(params())
}

/// Sends the CFs of `data[start..]` with `per` bytes each, starting at SN 1, polling after each
/// (without checking for flow control).
fn feed_cfs(s: &mut Solo, data: &[u8], start: usize, per: usize) {
    for (i, chunk) in data[start..].chunks(per).enumerate() {
        s.rx(&cat(&[&[0x20 | ((i + 1) & 0xF) as u8], chunk]));
    }
}

#[test]
fn single_frame_is_delivered() {
    let mut s = solo();
    s.rx(&[0x05, 0x11, 0x22, 0x33, 0x44, 0x55]);
    assert_eq!(s.expect_received(), vec![0x11, 0x22, 0x33, 0x44, 0x55]);
    s.expect_no_tx();
    assert!(!s.ep.is_receiving());
}

#[test]
fn multiple_single_frames_are_delivered_in_order() {
    let mut s = solo();
    s.rx(&[0x05, 0x11, 0x22, 0x33, 0x44, 0x55]);
    assert_eq!(s.expect_received(), vec![0x11, 0x22, 0x33, 0x44, 0x55]);
    s.expect_no_events();
    s.rx(&[0x05, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE]);
    assert_eq!(s.expect_received(), vec![0xAA, 0xBB, 0xCC, 0xDD, 0xEE]);
}

#[test]
fn single_frames_back_to_back_without_polling_are_all_delivered() {
    let mut s = solo();
    s.rx(&[0x05, 0x11, 0x22, 0x33, 0x44, 0x55]);
    s.rx(&[0x05, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE]);
    assert_eq!(
        s.take_events(),
        vec![
            received(vec![0x11, 0x22, 0x33, 0x44, 0x55]),
            received(vec![0xAA, 0xBB, 0xCC, 0xDD, 0xEE])
        ]
    );
}

#[test]
fn single_frame_of_every_classic_length_is_delivered() {
    for n in 1..=7usize {
        let mut s = solo();
        let p = payload(n, n as u8);
        s.rx(&cat(&[&[n as u8], &p]));
        assert_eq!(s.expect_received(), p, "SF_DL {n}");
    }
}

#[test]
fn single_frame_padding_after_the_data_is_ignored() {
    let mut s = solo();
    s.rx(&[0x02, 0x10, 0x03, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC]);
    assert_eq!(s.expect_received(), vec![0x10, 0x03]);
}

#[test]
fn single_frame_with_length_zero_is_ignored() {
    let mut s = solo();
    s.rx(&[0x00, 0x11, 0x22]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(
            ParseError::SingleFrameEmpty
        ))]
    );
}

#[test]
fn single_frame_announcing_more_than_the_frame_holds_is_ignored() {
    let mut s = solo();
    s.rx(&[0x05, 1, 2, 3]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(
            ParseError::SingleFrameTooLong {
                declared: 5,
                available: 3
            }
        ))]
    );
}

#[test]
fn empty_frame_is_ignored() {
    let mut s = solo();
    s.rx(&[]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(ParseError::Empty))]
    );
}

#[test]
fn frames_on_other_ids_are_ignored_silently() {
    let mut s = solo();
    s.rx_frame(Frame::new(sid(0x7E9), &[0x02, 1, 2]).unwrap());
    s.rx_frame(Frame::new(xid(0x7E8), &[0x02, 1, 2]).unwrap());
    s.rx_frame(Frame::new(sid(0x7E0), &[0x02, 1, 2]).unwrap());
    s.expect_no_events();
    s.expect_no_tx();
}

macro_rules! unknown_pci_type_is_ignored {
    ($($name:ident: $ty:expr,)*) => {$(
        #[test]
        fn $name() {
            let mut s = solo();
            let pci: u8 = $ty << 4;
            s.rx(&[pci, 0x00, 0x00]);
            assert_eq!(
                s.take_events(),
                vec![Event::Warning(Warning::Malformed(ParseError::UnknownPciType { pci }))]
            );
            s.expect_no_tx();
            // Nothing changed: a message still goes through.
            s.rx(&[0x01, 0x42]);
            assert_eq!(s.expect_received(), vec![0x42]);
        }
    )*};
}

unknown_pci_type_is_ignored! {
    unknown_pci_type_4_is_ignored: 4,
    unknown_pci_type_5_is_ignored: 5,
    unknown_pci_type_6_is_ignored: 6,
    unknown_pci_type_7_is_ignored: 7,
    unknown_pci_type_8_is_ignored: 8,
    unknown_pci_type_9_is_ignored: 9,
    unknown_pci_type_10_is_ignored: 10,
    unknown_pci_type_11_is_ignored: 11,
    unknown_pci_type_12_is_ignored: 12,
    unknown_pci_type_13_is_ignored: 13,
    unknown_pci_type_14_is_ignored: 14,
    unknown_pci_type_15_is_ignored: 15,
}

#[test]
fn unknown_pci_type_during_a_reception_does_not_disturb_it() {
    let mut s = solo();
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[..6]]));
    s.expect_tx(&[0x30, 8, 1]);
    s.rx(&[0x40, 0, 0]);
    s.rx(&cat(&[&[0x21], &p[6..]]));
    let ev = s.take_events();
    assert_eq!(ev.last(), Some(&received(p)));
}

#[test]
fn multi_frame_of_10_bytes_is_reassembled_after_a_flow_control() {
    let mut s = solo();
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[0..6]]));
    assert!(s.ep.is_receiving());
    let fc = s.expect_tx(&[0x30, 0x08, 0x01]);
    assert_eq!(fc.id(), sid(0x7E0));
    assert!(!fc.is_fd());
    s.expect_no_events();
    s.rx(&cat(&[&[0x21], &p[6..10]]));
    assert_eq!(s.expect_received(), p);
    assert!(!s.ep.is_receiving());
    s.expect_no_tx();
}

#[test]
fn two_multi_frames_in_a_row_are_both_delivered() {
    let mut s = solo();
    let p = payload(10, 0);
    for _ in 0..2 {
        s.rx(&cat(&[&[0x10, 10], &p[0..6]]));
        s.expect_tx(&[0x30, 0x08, 0x01]);
        s.rx(&cat(&[&[0x21], &p[6..10]]));
        assert_eq!(s.expect_received(), p);
    }
}

#[test]
fn flow_control_carries_the_configured_block_size_and_st_min() {
    let mut s = Solo::new(config(|c| {
        c.block_size = 5;
        c.st_min = StMin::from_byte(2);
    }));
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[0..6]]));
    s.expect_tx(&[0x30, 0x05, 0x02]);
    s.expect_no_events();
    s.rx(&cat(&[&[0x21], &p[6..10]]));
    assert_eq!(s.expect_received(), p);
}

#[test]
fn flow_control_with_microsecond_st_min_is_encoded_f1_to_f9() {
    for byte in 0xF1..=0xF9u8 {
        let mut s = Solo::new(config(|c| c.st_min = StMin::from_byte(byte)));
        s.rx(&cat(&[&[0x10, 10], &[0; 6]]));
        s.expect_tx(&[0x30, 0x00, byte]);
    }
}

#[test]
fn flow_control_is_padded_with_tx_padding() {
    let mut s = Solo::new(config(|c| {
        c.tx_padding = Some(0x22);
        c.block_size = 5;
        c.st_min = StMin::from_byte(2);
    }));
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[0..6]]));
    let fc = s.expect_tx(&[0x30, 0x05, 0x02, 0x22, 0x22, 0x22, 0x22, 0x22]);
    assert_eq!(fc.len(), 8);
    s.rx(&cat(&[&[0x21], &p[6..10]]));
    assert_eq!(s.expect_received(), p);
}

#[test]
fn block_size_3_sends_a_second_flow_control_after_three_consecutive_frames() {
    let mut s = Solo::new(config(|c| {
        c.block_size = 3;
        c.st_min = StMin::from_byte(5);
    }));
    let p = payload(30, 0);
    s.rx(&cat(&[&[0x10, 30], &p[0..6]]));
    s.expect_tx(&[0x30, 3, 5]);
    s.rx(&cat(&[&[0x21], &p[6..13]]));
    s.expect_no_tx();
    s.rx(&cat(&[&[0x22], &p[13..20]]));
    s.expect_no_tx();
    s.rx(&cat(&[&[0x23], &p[20..27]]));
    s.expect_tx(&[0x30, 3, 5]);
    s.expect_no_events();
    s.rx(&cat(&[&[0x24], &p[27..30]]));
    assert_eq!(s.expect_received(), p);
    s.expect_no_tx();
}

#[test]
fn block_size_0_sends_a_single_flow_control() {
    let mut s = Solo::new(config(|c| {
        c.block_size = 0;
        c.st_min = StMin::from_byte(5);
    }));
    let p = payload(30, 0);
    s.rx(&cat(&[&[0x10, 30], &p[0..6]]));
    s.expect_tx(&[0x30, 0, 5]);
    for (i, chunk) in p[6..].chunks(7).enumerate() {
        s.rx(&cat(&[&[0x21 + i as u8], chunk]));
        s.expect_no_tx();
    }
    assert_eq!(s.expect_received(), p);
}

#[test]
fn wrong_sequence_number_aborts_the_reception() {
    let mut s = Solo::new(config(|c| c.block_size = 1));
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[0..6]]));
    assert!(s.tx().is_some());
    s.rx(&cat(&[&[0x22], &p[6..10]]));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::WrongSn {
                expected: 1,
                received: 2
            }
        }]
    );
    s.expect_no_tx();
    assert!(!s.ep.is_receiving());
    // A CF that follows is unexpected now.
    s.rx(&cat(&[&[0x21], &p[6..10]]));
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedConsecutiveFrame)]
    );
}

#[test]
fn wrong_sequence_number_in_the_middle_of_a_long_message_aborts() {
    let mut s = solo();
    let p = payload(100, 0);
    s.rx(&cat(&[&[0x10, 100], &p[0..6]]));
    s.tx_all();
    s.rx(&cat(&[&[0x21], &p[6..13]]));
    s.rx(&cat(&[&[0x22], &p[13..20]]));
    s.rx(&cat(&[&[0x22], &p[13..20]])); // duplicate
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::WrongSn {
                expected: 3,
                received: 2
            }
        }]
    );
}

#[test]
fn sequence_number_wraps_from_15_to_0() {
    let mut s = Solo::new(Config::default());
    let p = payload(6 + 7 * 17, 3);
    s.rx(&cat(&[&[0x10, p.len() as u8], &p[0..6]]));
    s.expect_tx(&[0x30, 0, 0]);
    let sns: Vec<u8> = (1..=17).map(|i| (i & 0xF) as u8).collect();
    assert_eq!(sns[14..], [15, 0, 1]);
    for (i, chunk) in p[6..].chunks(7).enumerate() {
        s.rx(&cat(&[&[0x20 | sns[i]], chunk]));
    }
    assert_eq!(s.expect_received(), p);
}

#[test]
fn consecutive_frame_while_idle_is_ignored_with_a_warning() {
    let mut s = solo();
    s.rx(&[0x21, 1, 2, 3]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedConsecutiveFrame)]
    );
    s.expect_no_tx();
    assert!(!s.ep.is_receiving());
}

#[test]
fn consecutive_frame_before_our_flow_control_went_out_is_ignored() {
    let mut s = solo();
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[0..6]]));
    s.rx(&cat(&[&[0x21], &p[6..10]])); // the sender did not wait for our FC
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedConsecutiveFrame)]
    );
    s.expect_tx(&[0x30, 8, 1]);
    s.rx(&cat(&[&[0x21], &p[6..10]]));
    assert_eq!(s.expect_received(), p);
}

#[test]
fn overflow_12_bit_first_frame_is_answered_with_fc_overflow() {
    let mut s = Solo::new(config(|c| {
        c.st_min = StMin::ZERO;
        c.block_size = 0;
        c.max_frame_size = 32;
    }));
    let p = payload(33, 0);
    s.rx(&cat(&[&[0x10, 33], &p[0..6]]));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::MessageTooLarge {
                length: 33,
                max_frame_size: 32
            }
        }]
    );
    s.expect_tx(&[0x32, 0, 0]);
    assert!(!s.ep.is_receiving());
    s.rx(&cat(&[&[0x21], &p[6..13]]));
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedConsecutiveFrame)]
    );
    // Exactly max_frame_size is accepted.
    s.rx(&cat(&[&[0x10, 32], &p[0..6]]));
    s.expect_tx(&[0x30, 0, 0]);
    s.expect_no_events();
}

#[test]
fn overflow_escaped_first_frame_is_answered_with_fc_overflow() {
    let mut s = Solo::new(config(|c| c.max_frame_size = 5000));
    let p = payload(8, 0);
    // FF_DL = 5001 > max_frame_size.
    s.rx(&cat(&[&[0x10, 0, 0, 0, 0x13, 0x89], &p[0..2]]));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::MessageTooLarge {
                length: 5001,
                max_frame_size: 5000
            }
        }]
    );
    s.expect_tx(&[0x32, 0, 0]);
    s.rx(&[0x21, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedConsecutiveFrame)]
    );
    // FF_DL = 5000 is accepted.
    s.rx(&cat(&[&[0x10, 0, 0, 0, 0x13, 0x88], &p[0..2]]));
    s.expect_tx(&[0x30, 0, 0]);
    s.expect_no_events();
}

#[test]
fn escaped_first_frame_with_a_12_bit_length_is_ignored_unlike_can_isotp() {
    // can-isotp answers FC.OVFLW to `10 00 00 00 00 21` (FF_DL 33 > max 32); ISO allows the escape only
    // above 4095, so the frame is malformed and ignored.
    let mut s = Solo::new(config(|c| c.max_frame_size = 32));
    s.rx(&[0x10, 0, 0, 0, 0, 33, 0, 1]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(
            ParseError::FirstFrameEscapeNotAllowed { length: 33 }
        ))]
    );
    s.expect_no_tx();
}

#[test]
fn first_frame_interrupting_a_reception_starts_the_new_one() {
    let mut s = solo();
    let p1 = payload(10, 0);
    let p2 = payload(10, 1);
    s.rx(&cat(&[&[0x10, 10], &p1[0..6]]));
    s.expect_tx(&[0x30, 8, 1]);
    s.rx(&cat(&[&[0x10, 10], &p2[0..6]]));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::UnexpectedPdu {
                interrupted_by: PciType::FirstFrame,
                received: 6,
                expected: 10
            }
        }]
    );
    s.expect_tx(&[0x30, 8, 1]);
    s.rx(&cat(&[&[0x21], &p2[6..10]]));
    assert_eq!(s.expect_received(), p2);
}

#[test]
fn single_frame_interrupting_a_reception_is_delivered_then_a_new_one_recovers() {
    let mut s = solo();
    let p1 = payload(16, 0);
    let p2 = payload(16, 1);
    let sf = payload(5, 2);
    s.rx(&cat(&[&[0x10, 16], &p1[0..6]]));
    s.tx_all();
    s.rx(&cat(&[&[0x21], &p1[6..13]]));
    s.rx(&cat(&[&[0x05], &sf]));
    assert_eq!(
        s.take_events(),
        vec![
            Event::ReceiveFailed {
                error: ProtocolError::UnexpectedPdu {
                    interrupted_by: PciType::SingleFrame,
                    received: 13,
                    expected: 16
                }
            },
            received(sf.clone())
        ]
    );
    s.rx(&cat(&[&[0x10, 16], &p2[0..6]]));
    s.expect_tx(&[0x30, 8, 1]);
    s.rx(&cat(&[&[0x21], &p2[6..13]]));
    s.rx(&cat(&[&[0x22], &p2[13..16]]));
    assert_eq!(s.expect_received(), p2);
}

#[test]
fn receive_4095_bytes_with_12_bit_first_frame() {
    let mut s = Solo::new(Config::default());
    let p = payload(4095, 0);
    s.rx(&cat(&[&[0x1F, 0xFF], &p[0..6]]));
    s.expect_tx(&[0x30, 0, 0]);
    feed_cfs(&mut s, &p, 6, 7);
    assert_eq!(s.expect_received(), p);
}

#[test]
fn receive_4096_bytes_with_escaped_first_frame() {
    let mut s = Solo::new(config(|c| c.max_frame_size = 5000));
    let p = payload(4096, 0);
    s.rx(&cat(&[&[0x10, 0, 0, 0, 0x10, 0x00], &p[0..2]]));
    s.expect_tx(&[0x30, 0, 0]);
    feed_cfs(&mut s, &p, 2, 7);
    assert_eq!(s.expect_received(), p);
}

#[test]
fn receive_10000_bytes_with_escaped_first_frame() {
    let mut s = Solo::new(config(|c| c.max_frame_size = 11000));
    let p = payload(10000, 0);
    s.rx(&cat(&[&[0x10, 0, 0, 0, 0x27, 0x10], &p[0..2]]));
    s.expect_tx(&[0x30, 0, 0]);
    feed_cfs(&mut s, &p, 2, 7);
    assert_eq!(s.expect_received(), p);
}

#[test]
fn receive_4096_bytes_is_refused_with_the_default_max_frame_size() {
    let mut s = Solo::new(Config::default());
    s.rx(&[0x10, 0, 0, 0, 0x10, 0x00, 0, 0]);
    s.expect_tx(&[0x32, 0, 0]);
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::MessageTooLarge {
                length: 4096,
                max_frame_size: 4095
            }
        }]
    );
}

/// can-isotp perform_receive_4095_multiframe_check_blocksize: a FC after every `bs` CFs, none after the
/// last, stmin 2 in each.
fn receive_4095_with_block_size(bs: u8) {
    let mut s = Solo::new(config(|c| {
        c.block_size = bs;
        c.st_min = StMin::from_byte(2);
    }));
    let p = payload(4095, 0);
    s.rx(&cat(&[&[0x1F, 0xFF], &p[0..6]]));
    s.expect_tx(&[0x30, bs, 2]);
    let chunks: Vec<&[u8]> = p[6..].chunks(7).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        s.rx(&cat(&[&[0x20 | ((i + 1) & 0xF) as u8], chunk]));
        let n = i + 1;
        let last = n == chunks.len();
        if bs != 0 && n % usize::from(bs) == 0 && !last {
            s.expect_tx(&[0x30, bs, 2]);
        } else {
            s.expect_no_tx();
        }
    }
    assert_eq!(s.expect_received(), p);
}

macro_rules! block_size_tests {
    ($($name:ident: $bs:expr,)*) => {$(
        #[test]
        fn $name() {
            receive_4095_with_block_size($bs);
        }
    )*};
}

block_size_tests! {
    receive_4095_with_block_size_0_sends_one_flow_control: 0,
    receive_4095_with_block_size_1_sends_flow_control_after_every_frame: 1,
    receive_4095_with_block_size_2_sends_flow_control_every_2_frames: 2,
    receive_4095_with_block_size_3_sends_flow_control_every_3_frames: 3,
    receive_4095_with_block_size_4_sends_flow_control_every_4_frames: 4,
    receive_4095_with_block_size_5_sends_flow_control_every_5_frames: 5,
    receive_4095_with_block_size_6_sends_flow_control_every_6_frames: 6,
    receive_4095_with_block_size_7_sends_flow_control_every_7_frames: 7,
    receive_4095_with_block_size_8_sends_flow_control_every_8_frames: 8,
    receive_4095_with_block_size_9_sends_flow_control_every_9_frames: 9,
    receive_4095_with_block_size_255_sends_flow_control_every_255_frames: 255,
}

#[test]
fn first_frame_shorter_than_8_bytes_is_ignored_like_the_kernel() {
    // can-isotp accepts `10 14 01 02 03 04 05` (7 bytes); the kernel requires the FF to fill its frame.
    let mut s = solo();
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(
            ParseError::FirstFrameTooShort { frame_len: 7 }
        ))]
    );
    s.expect_no_tx();
}

#[test]
fn first_frame_whose_length_fits_a_single_frame_is_ignored() {
    let mut s = solo();
    s.rx(&[0x10, 7, 1, 2, 3, 4, 5, 6]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(
            ParseError::FirstFrameLengthTooSmall {
                length: 7,
                single_frame_max: 7
            }
        ))]
    );
    s.expect_no_tx();
    // 8 is the smallest FF_DL on classic CAN.
    s.rx(&[0x10, 8, 1, 2, 3, 4, 5, 6]);
    assert_eq!(s.tx().map(|f| f.data()[0]), Some(0x30));
}

#[test]
fn flow_control_received_while_only_receiving_is_a_warning() {
    let mut s = solo();
    s.rx(&cat(&[&[0x10, 10], &[0; 6]]));
    s.tx_all();
    s.fc(0, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
    assert!(s.ep.is_receiving());
}

#[test]
fn last_consecutive_frame_may_be_shorter_than_the_others() {
    let mut s = solo();
    let p = payload(14, 0);
    s.rx(&cat(&[&[0x10, 14], &p[0..6]]));
    s.tx_all();
    s.rx(&cat(&[&[0x21], &p[6..13]]));
    s.rx(&[0x22, p[13]]);
    assert_eq!(s.expect_received(), p);
}

#[test]
fn consecutive_frame_shorter_than_the_first_frame_before_the_end_aborts() {
    let mut s = solo();
    let p = payload(20, 0);
    s.rx(&cat(&[&[0x10, 20], &p[0..6]]));
    s.tx_all();
    s.rx(&cat(&[&[0x21], &p[6..12]])); // 7 bytes, but 14 remain
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::FrameLengthMismatch {
                expected: 8,
                received: 7
            }
        }]
    );
    assert!(!s.ep.is_receiving());
}

#[test]
fn reception_state_is_cleared_by_stop_receiving() {
    let mut s = solo();
    s.rx(&cat(&[&[0x10, 20], &[0; 6]]));
    s.tx_all();
    assert!(s.ep.is_receiving());
    s.ep.stop_receiving();
    assert!(!s.ep.is_receiving());
    assert_eq!(s.ep.poll_timeout(), None);
    s.rx(&[0x21, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedConsecutiveFrame)]
    );
}

#[test]
fn extra_bytes_in_the_last_consecutive_frame_are_not_delivered() {
    let mut s = solo();
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[0..6]]));
    s.tx_all();
    s.rx(&cat(&[&[0x21], &p[6..10], &[0xDE, 0xAD, 0xBE]]));
    assert_eq!(s.expect_received(), p);
}
