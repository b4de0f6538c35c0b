//! N_As, N_Ar, N_Bs and N_Cr, measured exactly in virtual time; `poll_timeout` and `handle_timeout`.
use crate::common::*;

fn receiver(f: impl FnOnce(&mut Config)) -> (Solo, Vec<u8>) {
    let mut s = Solo::new(config(f));
    let p = payload(50, 0);
    s.rx(&cat(&[&[0x10, 50], &p[..6]]));
    (s, p)
}

// ---------------------------------------------------------------- N_Bs

#[test]
fn n_bs_expires_exactly_after_the_first_frame() {
    let mut s = Solo::new(Config::default());
    let id = s.send(&payload(20, 0));
    s.tx();
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1000)));
    s.advance_to(just_before(at_ms(1000)));
    s.expect_no_events();
    s.advance_to(at_ms(1000));
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::TimeoutBs { limit: ms(1000) }
        }]
    );
    assert!(!s.ep.is_transmitting());
    assert_eq!(s.ep.poll_timeout(), None);
}

#[test]
fn n_bs_of_200_ms_expires_then_the_next_message_recovers() {
    // can-isotp test_send_multiframe_flow_control_timeout(_recover).
    let mut s = Solo::new(config(|c| c.n_bs = ms(200)));
    let p = payload(10, 0);
    let id1 = s.send(&p);
    s.expect_tx(&cat(&[&[0x10, 0x0A], &p[..6]]));
    s.expect_no_tx();
    s.advance(ms(200));
    s.expect_no_tx();
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id: id1,
            error: ProtocolError::TimeoutBs { limit: ms(200) }
        }]
    );
    let id2 = s.send(&p);
    s.expect_tx(&cat(&[&[0x10, 0x0A], &p[..6]]));
    s.fc(0, 8, 0);
    s.expect_tx(&cat(&[&[0x21], &p[6..10]]));
    assert_eq!(s.take_events(), vec![Event::Sent { id: id2 }]);
}

#[test]
fn n_bs_runs_again_after_each_block() {
    let mut s = Solo::new(Config::default());
    let id = s.send(&payload(40, 0));
    s.tx();
    s.advance(ms(300));
    s.fc(0, 2, 0);
    s.tx_all();
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1300)));
    s.run_for(ms(2000));
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::TimeoutBs { limit: ms(1000) }
        }]
    );
    assert_eq!(s.events.len(), 0);
}

#[test]
fn n_bs_after_a_block_starts_when_the_last_frame_of_the_block_went_out() {
    let mut s = Solo::new(Config::default());
    s.send(&payload(40, 0));
    s.tx();
    s.fc(0, 3, 10); // CFs at 0, 10, 20 ms
    let frames = s.run_until(at_ms(25));
    assert_eq!(frames.len(), 3);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1020)));
}

#[test]
fn wait_restarts_n_bs_from_the_wait_frame() {
    let mut s = Solo::new(Config::default());
    s.send(&payload(40, 0));
    s.tx();
    s.advance(ms(800));
    s.fc(1, 0, 0);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1800)));
    s.advance_to(at_ms(1799));
    s.expect_no_events();
    s.fc(1, 0, 0);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(2799)));
}

#[test]
fn n_bs_microsecond_limit_is_exact() {
    let mut s = Solo::new(config(|c| c.n_bs = us(1234)));
    s.send(&payload(20, 0));
    s.tx();
    assert_eq!(s.ep.poll_timeout(), Some(at_us(1234)));
}

// ---------------------------------------------------------------- N_Cr

#[test]
fn n_cr_expires_exactly_after_the_flow_control() {
    let (mut s, _) = receiver(|c| c.n_cr = ms(200));
    s.advance(ms(3));
    s.expect_tx(&[0x30, 0, 0]); // FC goes out at 3 ms
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(203)));
    s.advance_to(just_before(at_ms(203)));
    s.expect_no_events();
    s.advance_to(at_ms(203));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::TimeoutCr { limit: ms(200) }
        }]
    );
    assert!(!s.ep.is_receiving());
}

#[test]
fn consecutive_frame_after_n_cr_is_unexpected() {
    // can-isotp test_receive_timeout_consecutive_frame_after_first_frame.
    let (mut s, p) = receiver(|c| c.n_cr = ms(200));
    s.tx_all();
    s.advance(ms(200));
    s.rx(&cat(&[&[0x21], &p[6..13]]));
    assert_eq!(
        s.take_events(),
        vec![
            Event::ReceiveFailed {
                error: ProtocolError::TimeoutCr { limit: ms(200) }
            },
            Event::Warning(Warning::UnexpectedConsecutiveFrame)
        ]
    );
}

#[test]
fn n_cr_expires_after_the_second_flow_control() {
    // can-isotp test_receive_timeout_consecutive_frame_after_2nd_flow_control.
    let (mut s, p) = receiver(|c| {
        c.n_cr = ms(200);
        c.block_size = 2;
    });
    s.expect_tx(&[0x30, 2, 0]);
    s.advance(ms(10));
    s.rx(&cat(&[&[0x21], &p[6..13]]));
    s.rx(&cat(&[&[0x22], &p[13..20]]));
    s.expect_tx(&[0x30, 2, 0]);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(210)));
    s.advance(ms(200));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::TimeoutCr { limit: ms(200) }
        }]
    );
}

#[test]
fn n_cr_restarts_with_every_consecutive_frame() {
    let (mut s, p) = receiver(|_| {});
    s.tx_all();
    for (i, chunk) in p[6..].chunks(7).enumerate() {
        s.advance(ms(999));
        s.expect_no_events();
        s.rx(&cat(&[&[0x21 + i as u8], chunk]));
        if 6 + 7 * (i + 1) < 50 {
            assert_eq!(s.ep.poll_timeout(), Some(s.now + ms(1000)));
        }
    }
    assert_eq!(s.expect_received(), p);
}

#[test]
fn reception_recovers_after_an_n_cr_timeout() {
    // can-isotp test_receive_recover_timeout_consecutive_frame.
    let mut s = Solo::new(config(|c| c.n_cr = ms(200)));
    let p1 = payload(10, 0);
    let p2 = payload(10, 1);
    s.rx(&cat(&[&[0x10, 10], &p1[..6]]));
    s.tx_all();
    s.advance(ms(200));
    s.rx(&cat(&[&[0x21], &p1[6..10]]));
    s.rx(&cat(&[&[0x10, 10], &p2[..6]]));
    s.tx_all();
    s.rx(&cat(&[&[0x21], &p2[6..10]]));
    assert_eq!(
        s.take_events(),
        vec![
            Event::ReceiveFailed {
                error: ProtocolError::TimeoutCr { limit: ms(200) }
            },
            Event::Warning(Warning::UnexpectedConsecutiveFrame),
            received(p2)
        ]
    );
}

#[test]
fn n_cr_does_not_run_while_our_flow_control_waits_to_be_sent() {
    let (mut s, _) = receiver(|_| {});
    // The driver is slow to poll: the FC is due at once and N_Cr only starts when it goes out.
    assert_eq!(s.ep.poll_timeout(), Some(Instant::ZERO));
    s.advance(ms(5000));
    s.expect_no_events();
    s.expect_tx(&[0x30, 0, 0]);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(6000)));
}

// ---------------------------------------------------------------- poll_timeout / handle_timeout

#[test]
fn idle_endpoint_has_no_deadline() {
    let s = Solo::new(Config::default());
    assert_eq!(s.ep.poll_timeout(), None);
}

#[test]
fn queued_message_is_due_at_once() {
    let mut s = Solo::new(Config::default());
    s.send(&[1]);
    assert!(s.ep.poll_timeout().is_some_and(|t| t <= s.now));
    s.expect_tx(&[0x01, 1]);
    s.expect_sent(1);
}

#[test]
fn handle_timeout_early_or_repeated_is_harmless() {
    let mut s = Solo::new(Config::default());
    let p = payload(20, 0);
    s.send(&p);
    s.tx();
    for t in [0, 1, 500, 999] {
        s.ep.handle_timeout(at_ms(t));
        s.ep.handle_timeout(at_ms(t));
    }
    s.expect_no_events();
    s.fc(0, 0, 0);
    assert_eq!(s.tx_all().len(), 2);
    s.expect_sent(1);
}

#[test]
fn timers_use_the_time_given_not_a_clock() {
    // The same inputs at a later epoch give the same outputs shifted in time.
    let run = |start: u64| {
        let mut s = Solo::new(Config::default());
        s.advance_to(at_ms(start));
        s.send(&payload(20, 0));
        s.tx();
        s.fc(0, 0, 7);
        let frames = s.run_for(ms(100));
        s.expect_sent(1);
        frames
            .iter()
            .map(|(t, f)| (t.as_micros() - start * 1000, f.data().to_vec()))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(0), run(123_456));
}

// ---------------------------------------------------------------- N_As / N_Ar with confirmation

#[test]
fn n_as_expires_when_a_single_frame_is_never_confirmed() {
    let mut s = Solo::confirming(config(|c| c.n_as = ms(50)));
    let id = s.send(&[1, 2, 3]);
    s.advance(ms(7));
    s.expect_tx(&[0x03, 1, 2, 3]);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(57)));
    s.advance_to(just_before(at_ms(57)));
    s.expect_no_events();
    s.advance_to(at_ms(57));
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::TimeoutA {
                timer: ATimer::As,
                limit: ms(50)
            }
        }]
    );
    assert!(!s.ep.is_transmitting());
    assert_eq!(
        s.ep.handle_tx_confirmation(s.now),
        Err(isotp_core::NothingToConfirm)
    );
}

#[test]
fn n_as_expires_when_a_consecutive_frame_is_never_confirmed() {
    let mut s = Solo::confirming(config(|_| {}));
    let id = s.send(&payload(20, 0));
    s.tx();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.fc(0, 0, 0);
    assert!(s.tx().is_some());
    s.expect_no_tx(); // one frame outstanding at a time
    s.advance(ms(1000));
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::TimeoutA {
                timer: ATimer::As,
                limit: ms(1000)
            }
        }]
    );
}

#[test]
fn confirmed_frames_release_the_next_one() {
    let mut s = Solo::confirming(config(|_| {}));
    let id = s.send(&payload(20, 0));
    s.tx();
    s.expect_no_tx();
    s.advance(ms(1));
    s.ep.handle_tx_confirmation(s.now).unwrap();
    // N_Bs runs from the confirmation.
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1001)));
    s.fc(0, 0, 0);
    s.tx();
    s.expect_no_tx();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.tx();
    s.expect_no_events();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn st_min_is_measured_from_the_confirmation() {
    let mut s = Solo::confirming(config(|_| {}));
    s.send(&payload(6 + 7 * 3, 0));
    s.tx();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.fc(0, 0, 10);
    s.tx(); // CF1 at 0
    s.advance(ms(3));
    s.ep.handle_tx_confirmation(s.now).unwrap(); // on the bus at 3 ms
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(13)));
}

#[test]
fn n_ar_expires_when_our_flow_control_is_never_confirmed() {
    let mut s = Solo::confirming(config(|c| c.n_ar = ms(70)));
    s.rx(&cat(&[&[0x10, 20], &payload(6, 0)]));
    s.expect_tx(&[0x30, 0, 0]);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(70)));
    s.advance(ms(70));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::TimeoutA {
                timer: ATimer::Ar,
                limit: ms(70)
            }
        }]
    );
    assert!(!s.ep.is_receiving());
}

#[test]
fn n_cr_starts_when_the_flow_control_is_confirmed() {
    let mut s = Solo::confirming(config(|_| {}));
    s.rx(&cat(&[&[0x10, 20], &payload(6, 0)]));
    s.tx();
    s.advance(ms(4));
    s.ep.handle_tx_confirmation(s.now).unwrap();
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1004)));
}

#[test]
fn confirmation_without_a_frame_is_an_error() {
    let mut s = Solo::confirming(config(|_| {}));
    assert_eq!(
        s.ep.handle_tx_confirmation(Instant::ZERO),
        Err(isotp_core::NothingToConfirm)
    );
    assert_eq!(
        isotp_core::NothingToConfirm.to_string(),
        "no transmitted frame is awaiting confirmation"
    );
    let mut s = Solo::new(Config::default());
    s.send(&[1]);
    s.tx();
    assert_eq!(
        s.ep.handle_tx_confirmation(Instant::ZERO),
        Err(isotp_core::NothingToConfirm)
    );
    s.expect_sent(1);
}

#[test]
fn pair_with_bus_delay_confirmations_delivers() {
    let mut p = Pair::symmetric_confirming(config(|_| {}));
    p.confirm = [Confirm::After(us(250)), Confirm::After(us(250))];
    let data = payload(100, 0);
    p.send(Side::A, &data);
    p.run();
    assert_eq!(p.received(Side::B), vec![data]);
    // Each frame of A leaves 250 µs after the previous one was confirmed.
    let times: Vec<u64> = p
        .frames_from(Side::A)
        .iter()
        .map(|r| r.t.as_micros())
        .collect();
    assert!(
        times.windows(2).skip(1).all(|w| w[1] - w[0] == 250),
        "{times:?}"
    );
}

#[test]
fn n_bs_is_reported_while_our_own_flow_control_awaits_confirmation() {
    // A sends a FF and waits for an FC (N_Bs = 1000 ms) while its own FC for B's message is stuck
    // unconfirmed (N_Ar = 5000 ms). The earliest deadline is N_Bs.
    let mut s = Solo::confirming(config(|c| c.n_ar = ms(5000)));
    let id = s.send(&payload(20, 0));
    s.tx();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.rx(&cat(&[&[0x10, 20], &payload(6, 1)]));
    s.expect_tx(&[0x30, 0, 0]); // never confirmed
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1000)));
    s.run_until(at_ms(1000));
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::TimeoutBs { limit: ms(1000) }
        }]
    );
}

#[test]
fn flow_control_arriving_before_the_first_frame_is_confirmed_applies_on_confirmation() {
    let mut s = Solo::confirming(config(|_| {}));
    let p = payload(20, 0);
    let id = s.send(&p);
    s.tx();
    s.fc(0, 0, 0); // the peer answered before our driver confirmed the FF
    s.expect_no_events();
    s.expect_no_tx();
    s.advance(us(300));
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.expect_tx(&cat(&[&[0x21], &p[6..13]]));
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.expect_tx(&cat(&[&[0x22], &p[13..20]]));
    s.ep.handle_tx_confirmation(s.now).unwrap();
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn flow_control_arriving_before_the_block_end_is_confirmed_applies_on_confirmation() {
    let mut s = Solo::confirming(config(|_| {}));
    let p = payload(20, 0);
    s.send(&p);
    s.tx();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.fc(0, 1, 0);
    s.expect_tx(&cat(&[&[0x21], &p[6..13]]));
    s.fc(0, 1, 0); // early: CF1 (end of block) not yet confirmed
    s.expect_no_events();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.expect_tx(&cat(&[&[0x22], &p[13..20]]));
}

#[test]
fn early_invalid_flow_status_aborts_like_a_timely_one() {
    let mut s = Solo::confirming(config(|_| {}));
    let id = s.send(&payload(20, 0));
    s.tx();
    s.fc(5, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::InvalidFs { value: 5 }
        }]
    );
}

#[test]
fn flow_control_during_an_unconfirmed_middle_frame_is_unexpected() {
    let mut s = Solo::confirming(config(|_| {}));
    s.send(&payload(30, 0));
    s.tx();
    s.ep.handle_tx_confirmation(s.now).unwrap();
    s.fc(0, 0, 0);
    s.tx(); // CF1 of many, no FC expected after it
    s.fc(0, 0, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
}
