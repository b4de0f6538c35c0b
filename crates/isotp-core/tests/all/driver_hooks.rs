//! What a driver tells the endpoint beyond frames and time: negative transmit confirmations, receive
//! back-pressure; and what it can learn: first frame indications and reception progress.

use crate::common::*;

// ---------------------------------------------------------------- negative transmit confirmation

#[test]
fn a_refused_single_frame_fails_at_once_and_the_next_message_follows() {
    let mut s = Solo::confirming(Config::default());
    let first = s.send(&[1, 2, 3]);
    let second = s.send(&[4, 5]);
    s.expect_tx(&[0x03, 1, 2, 3]);
    s.ep.handle_tx_failure().unwrap();
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id: first,
            error: ProtocolError::BusFailure {
                pci: PciType::SingleFrame
            }
        }]
    );
    s.expect_tx(&[0x02, 4, 5]);
    s.ep.handle_tx_confirmation(s.now).unwrap();
    assert_eq!(s.take_events(), vec![Event::Sent { id: second }]);
}

#[test]
fn a_refused_first_frame_ends_the_transfer_without_waiting_for_n_as() {
    let mut s = Solo::confirming(Config::default());
    let id = s.send(&payload(20, 0));
    s.tx().unwrap();
    s.advance(ms(3));
    s.ep.handle_tx_failure().unwrap();
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::BusFailure {
                pci: PciType::FirstFrame
            }
        }]
    );
    assert!(!s.ep.is_transmitting());
    assert_eq!(s.ep.poll_timeout(), None);
    // A flow control frame for the abandoned transfer is only a warning now.
    s.fc(0, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
}

#[test]
fn a_refused_consecutive_frame_ends_the_transfer() {
    let mut s = Solo::confirming(Config::default());
    let id = s.send(&payload(20, 0));
    s.tx().unwrap();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.fc(0, 0, 0);
    s.tx().unwrap();
    s.ep.handle_tx_failure().unwrap();
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::BusFailure {
                pci: PciType::ConsecutiveFrame
            }
        }]
    );
    s.expect_no_tx();
}

#[test]
fn a_refused_flow_control_frame_ends_the_reception() {
    let mut s = Solo::confirming(Config::default());
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5, 6]);
    s.expect_tx(&[0x30, 0, 0]);
    s.ep.handle_tx_failure().unwrap();
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::BusFailure {
                pci: PciType::FlowControl
            }
        }]
    );
    assert!(!s.ep.is_receiving());
    assert_eq!(s.ep.poll_timeout(), None);
}

#[test]
fn a_failure_with_nothing_in_flight_is_an_error_not_a_panic() {
    let mut s = Solo::new(Config::default());
    s.send(&[1]);
    s.tx().unwrap();
    // Without transmit confirmation the frame counted as sent when it was handed out.
    assert_eq!(s.ep.handle_tx_failure(), Err(isotp_core::NothingToConfirm));
    s.expect_sent(1);
    let mut s = Solo::confirming(Config::default());
    assert_eq!(s.ep.handle_tx_failure(), Err(isotp_core::NothingToConfirm));
    s.send(&[1]);
    s.tx().unwrap();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    assert_eq!(s.ep.handle_tx_failure(), Err(isotp_core::NothingToConfirm));
    assert!(matches!(s.take_events().as_slice(), [Event::Sent { .. }]));
}

// ---------------------------------------------------------------- indications and progress

fn indicating(config: Config) -> Solo {
    let ep = Endpoint::new(tester_address(), config).unwrap();
    Solo::from_endpoint(ep.with_first_frame_indication(), sid(0x7E8))
}

#[test]
fn first_frame_indication_and_progress_follow_a_reception() {
    let mut s = indicating(Config::default());
    let data = payload(20, 0);
    assert_eq!(s.ep.reception_progress(), None);
    s.rx(&cat(&[&[0x10, 20], &data[..6]]));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceptionStarted {
            length: 20,
            target_address_type: TargetAddressType::Physical
        }]
    );
    assert_eq!(
        s.ep.reception_progress(),
        Some(ReceptionProgress {
            received: 6,
            length: 20
        })
    );
    s.expect_tx(&[0x30, 0, 0]);
    s.rx(&cat(&[&[0x21], &data[6..13]]));
    assert_eq!(
        s.ep.reception_progress(),
        Some(ReceptionProgress {
            received: 13,
            length: 20
        })
    );
    s.expect_no_events();
    s.rx(&cat(&[&[0x22], &data[13..]]));
    assert_eq!(s.expect_received(), data);
    assert_eq!(s.ep.reception_progress(), None);
}

#[test]
fn without_the_option_no_indication_is_reported() {
    let mut s = Solo::new(Config::default());
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5, 6]);
    s.expect_tx(&[0x30, 0, 0]);
    s.expect_no_events();
    assert_eq!(
        s.ep.reception_progress(),
        Some(ReceptionProgress {
            received: 6,
            length: 20
        })
    );
}

#[test]
fn a_refused_first_frame_is_not_indicated() {
    let mut s = indicating(config(|c| c.max_frame_size = 10));
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5, 6]);
    assert!(matches!(
        s.take_events().as_slice(),
        [Event::ReceiveFailed {
            error: ProtocolError::MessageTooLarge { .. }
        }]
    ));
    s.expect_tx(&[0x32, 0, 0]);
}

// ---------------------------------------------------------------- receive back-pressure

fn not_ready(f: impl FnOnce(&mut Config)) -> Solo {
    let mut s = Solo::new(config(|c| {
        c.n_br = ms(100);
        c.wft_max = 3;
        f(c);
    }));
    s.ep.set_receive_ready(false);
    assert!(!s.ep.is_receive_ready());
    s
}

#[test]
fn not_ready_a_first_frame_gets_wait_renewed_every_n_br_then_overflow() {
    let mut s = not_ready(|_| {});
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5, 6]);
    let sent = s.run_for(ms(1000));
    let frames: Vec<(Instant, Vec<u8>)> =
        sent.iter().map(|(t, f)| (*t, f.data().to_vec())).collect();
    assert_eq!(
        frames,
        vec![
            (at_ms(0), vec![0x31, 0, 0]),
            (at_ms(100), vec![0x31, 0, 0]),
            (at_ms(200), vec![0x31, 0, 0]),
            (at_ms(300), vec![0x32, 0, 0]),
        ]
    );
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::ReceiverNotReady { wft_max: 3 }
        }]
    );
    assert!(!s.ep.is_receiving());
    assert_eq!(s.ep.poll_timeout(), None);
}

#[test]
fn the_next_wait_is_due_exactly_n_br_after_the_last() {
    let mut s = not_ready(|c| c.n_br = ms(250));
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5, 6]);
    s.expect_tx(&[0x31, 0, 0]);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(250)));
    s.advance_to(just_before(at_ms(250)));
    s.expect_no_tx();
    s.advance_to(at_ms(250));
    s.expect_tx(&[0x31, 0, 0]);
    s.expect_no_events();
}

#[test]
fn ready_again_a_held_reception_continues_with_cts_at_once() {
    let mut s = not_ready(|_| {});
    let data = payload(20, 0);
    s.rx(&cat(&[&[0x10, 20], &data[..6]]));
    s.expect_tx(&[0x31, 0, 0]);
    s.advance(ms(150));
    s.expect_tx(&[0x31, 0, 0]);
    s.advance(ms(30));
    s.ep.set_receive_ready(true);
    s.expect_tx(&[0x30, 0, 0]);
    // N_Cr runs from the FC.CTS.
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(180) + ms(1000)));
    s.rx(&cat(&[&[0x21], &data[6..13]]));
    s.rx(&cat(&[&[0x22], &data[13..]]));
    assert_eq!(s.expect_received(), data);
}

#[test]
fn the_wait_count_starts_again_after_each_hold() {
    let mut s = not_ready(|c| c.wft_max = 1);
    let data = payload(20, 0);
    s.rx(&cat(&[&[0x10, 20], &data[..6]]));
    s.expect_tx(&[0x31, 0, 0]);
    s.ep.set_receive_ready(true);
    s.expect_tx(&[0x30, 0, 0]);
    s.rx(&cat(&[&[0x21], &data[6..13]]));
    s.rx(&cat(&[&[0x22], &data[13..]]));
    assert_eq!(s.expect_received(), data);
    // A second message while not ready gets its own wft_max.
    s.ep.set_receive_ready(false);
    let start = s.now;
    s.rx(&cat(&[&[0x10, 20], &data[..6]]));
    let sent = s.run_for(ms(500));
    let frames: Vec<(Instant, Vec<u8>)> =
        sent.iter().map(|(t, f)| (*t, f.data().to_vec())).collect();
    assert_eq!(
        frames,
        vec![
            (start, vec![0x31, 0, 0]),
            (start + ms(100), vec![0x32, 0, 0])
        ]
    );
    assert!(matches!(
        s.take_events().as_slice(),
        [Event::ReceiveFailed {
            error: ProtocolError::ReceiverNotReady { wft_max: 1 }
        }]
    ));
}

#[test]
fn not_ready_with_wft_max_zero_refuses_at_once() {
    let mut s = not_ready(|c| c.wft_max = 0);
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5, 6]);
    s.expect_tx(&[0x32, 0, 0]);
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::ReceiverNotReady { wft_max: 0 }
        }]
    );
    assert!(!s.ep.is_receiving());
}

#[test]
fn not_ready_a_single_frame_is_dropped_and_counted() {
    let mut s = not_ready(|_| {});
    s.rx(&[0x02, 1, 2]);
    s.rx(&[0x01, 3]);
    assert_eq!(
        s.take_events(),
        vec![
            Event::Warning(Warning::ReceiverNotReady {
                pci: PciType::SingleFrame
            });
            2
        ]
    );
    assert_eq!(s.ep.not_ready_drops(), 2);
    s.expect_no_tx();
    s.ep.set_receive_ready(true);
    s.rx(&[0x01, 4]);
    assert_eq!(s.expect_received(), vec![4]);
    assert_eq!(s.ep.not_ready_drops(), 2);
}

#[test]
fn a_consecutive_frame_while_held_is_unexpected() {
    let mut s = not_ready(|_| {});
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5, 6]);
    s.expect_tx(&[0x31, 0, 0]);
    s.rx(&[0x21, 7, 8, 9, 10, 11, 12, 13]);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedConsecutiveFrame)]
    );
    assert_eq!(
        s.ep.reception_progress(),
        Some(ReceptionProgress {
            received: 6,
            length: 20
        })
    );
}

#[test]
fn a_reception_past_its_flow_control_completes_when_the_queue_fills() {
    let mut s = Solo::new(Config::default());
    let data = payload(20, 0);
    s.rx(&cat(&[&[0x10, 20], &data[..6]]));
    s.expect_tx(&[0x30, 0, 0]);
    s.ep.set_receive_ready(false);
    s.rx(&cat(&[&[0x21], &data[6..13]]));
    s.rx(&cat(&[&[0x22], &data[13..]]));
    assert_eq!(s.expect_received(), data);
}

#[test]
fn with_confirmation_the_next_wait_counts_from_the_confirmation() {
    let mut s = Solo::confirming(config(|c| {
        c.n_br = ms(100);
        c.wft_max = 2;
    }));
    s.ep.set_receive_ready(false);
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5, 6]);
    s.expect_tx(&[0x31, 0, 0]);
    s.advance(ms(7));
    s.ep.handle_tx_confirmation(s.now).unwrap();
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(107)));
    s.advance_to(at_ms(107));
    s.expect_tx(&[0x31, 0, 0]);
    // Ready while the second WAIT awaits its confirmation: CTS follows it.
    s.ep.set_receive_ready(true);
    s.expect_no_tx();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.expect_tx(&[0x30, 0, 0]);
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.expect_no_events();
}

#[test]
fn listen_mode_not_ready_drops_new_messages() {
    let mut s = not_ready(|c| c.listen_mode = true);
    s.rx(&[0x10, 20, 1, 2, 3, 4, 5, 6]);
    s.rx(&[0x01, 1]);
    assert_eq!(
        s.take_events(),
        vec![
            Event::Warning(Warning::ReceiverNotReady {
                pci: PciType::FirstFrame
            }),
            Event::Warning(Warning::ReceiverNotReady {
                pci: PciType::SingleFrame
            }),
        ]
    );
    assert_eq!(s.ep.not_ready_drops(), 2);
    s.expect_no_tx();
}

#[test]
fn a_sender_waits_out_the_receivers_hold_and_completes() {
    let mut p = Pair::symmetric(config(|c| c.n_br = ms(100)));
    p.b().set_receive_ready(false);
    let data = payload(100, 3);
    let id = p.send(Side::A, &data);
    p.run_for(ms(250));
    assert!(p.b().is_receiving());
    p.b().set_receive_ready(true);
    p.run_for(ms(10));
    let waits = p
        .log
        .iter()
        .filter(|r| r.from == Side::B && r.frame.data()[0] == 0x31)
        .map(|r| r.t)
        .collect::<Vec<_>>();
    assert_eq!(waits, vec![at_ms(0), at_ms(100), at_ms(200)]);
    let events = |p: &mut Pair, side| -> Vec<Event> {
        p.take_events(side).into_iter().map(|(_, e)| e).collect()
    };
    assert_eq!(events(&mut p, Side::B), vec![received(data)]);
    assert_eq!(events(&mut p, Side::A), vec![Event::Sent { id }]);
}

#[test]
fn n_br_is_validated() {
    let c = config(|c| c.n_br = Duration::ZERO);
    assert!(matches!(
        c.validate(),
        Err(ConfigError::OutOfRange { field: "n_br", .. })
    ));
}
