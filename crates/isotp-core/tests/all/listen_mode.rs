//! Listen mode: never transmit, reassemble both directions of a conversation, follow the observed flow
//! control (block size, WAIT, OVFLW) and time out like a receiver.
use crate::common::*;

fn listener() -> Endpoint {
    Endpoint::new(tester_address(), config(|c| c.listen_mode = true)).unwrap()
}

/// Replays every frame of the pair's log into `l` at its time; returns the listener's events.
fn replay(p: &Pair, l: &mut Endpoint) -> Vec<Event> {
    let mut out = Vec::new();
    for r in &p.log {
        if l.poll_timeout().is_some_and(|t| t <= r.t) {
            l.handle_timeout(r.t);
        }
        l.handle_frame(&r.frame, r.t);
        assert_eq!(l.poll_transmit(r.t), None, "listen mode never transmits");
        while let Some(e) = l.poll_event() {
            out.push(e);
        }
    }
    out
}

#[test]
fn listen_mode_receives_a_multi_frame_without_sending_flow_control() {
    // can-isotp test_receive_multiframe_check_no_flowcontrol_listen_mode.
    let mut s = Solo::new(config(|c| {
        c.listen_mode = true;
        c.block_size = 5;
        c.st_min = StMin::from_byte(2);
    }));
    let p = payload(10, 0);
    s.rx(&cat(&[&[0x10, 10], &p[..6]]));
    s.expect_no_tx();
    s.expect_no_events();
    s.rx(&cat(&[&[0x21], &p[6..]]));
    assert_eq!(s.expect_received(), p);
    s.expect_no_tx();
}

#[test]
fn listen_mode_refuses_to_send() {
    let mut l = listener();
    assert_eq!(
        l.send(&[1], TargetAddressType::Physical),
        Err(SendError::ListenMode)
    );
    assert_eq!(
        SendError::ListenMode.to_string(),
        "the endpoint is in listen mode and never transmits"
    );
}

#[test]
fn listen_mode_reassembles_both_directions() {
    let mut p = Pair::new(
        tester_address(),
        Config::default(),
        config(|c| c.block_size = 3),
    );
    let request = payload(100, 1);
    let response = payload(300, 2);
    p.send(Side::A, &request);
    p.send(Side::B, &response);
    p.send(Side::A, &[0x3E, 0x00]);
    p.run();
    let mut l = listener();
    let events = replay(&p, &mut l);
    let observed: Vec<&Vec<u8>> = events
        .iter()
        .filter_map(|e| match e {
            Event::Observed { payload, .. } => Some(payload),
            _ => None,
        })
        .collect();
    let received: Vec<&Vec<u8>> = events
        .iter()
        .filter_map(|e| match e {
            Event::Received { payload, .. } => Some(payload),
            _ => None,
        })
        .collect();
    // The tester's messages (sent on its tx id) are observed; the ECU's are received.
    assert_eq!(observed, vec![&request, &vec![0x3E, 0x00]]);
    assert_eq!(received, vec![&response]);
    assert!(
        events
            .iter()
            .all(|e| matches!(e, Event::Observed { .. } | Event::Received { .. })),
        "{events:?}"
    );
}

#[test]
fn listen_mode_follows_the_observed_block_size() {
    for bs in [1u8, 2, 5, 8, 0] {
        let mut p = Pair::new(
            tester_address(),
            Config::default(),
            config(|c| c.block_size = bs),
        );
        let data = payload(6 + 7 * 17, bs);
        p.send(Side::A, &data);
        p.run();
        let mut l = listener();
        assert_eq!(
            replay(&p, &mut l),
            vec![Event::Observed {
                payload: data,
                target_address_type: TargetAddressType::Physical
            }],
            "bs {bs}"
        );
    }
}

#[test]
fn listen_mode_reassembles_can_fd_conversations() {
    let c = config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
    });
    let mut p = Pair::symmetric(c);
    p.send(Side::A, &payload(1000, 0));
    p.send(Side::B, &payload(62, 1));
    p.run();
    let mut l = Endpoint::new(
        tester_address(),
        config(|c| {
            c.listen_mode = true;
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = 64;
        }),
    )
    .unwrap();
    let ev = replay(&p, &mut l);
    assert_eq!(ev.len(), 2, "{ev:?}");
}

#[test]
fn listen_mode_times_out_a_stalled_reception() {
    let mut s = Solo::new(config(|c| {
        c.listen_mode = true;
        c.n_cr = ms(300);
    }));
    s.rx(&cat(&[&[0x10, 20], &[0; 6]]));
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(300)));
    s.advance(ms(300));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::TimeoutCr { limit: ms(300) }
        }]
    );
}

#[test]
fn listen_mode_observed_wait_restarts_the_timer() {
    // The peer of the observed reception (our tx id side) sends WAIT.
    let mut s = Solo::new(config(|c| {
        c.listen_mode = true;
        c.n_cr = ms(300);
    }));
    s.rx(&cat(&[&[0x10, 20], &[0; 6]]));
    s.advance(ms(200));
    s.rx_frame(Frame::new(sid(0x7E0), &[0x31, 0, 0]).unwrap());
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(500)));
    s.rx_frame(Frame::new(sid(0x7E0), &[0x30, 0, 0]).unwrap());
    let p = payload(20, 0);
    s.rx(&cat(&[&[0x21], &p[6..13]]));
    s.rx(&cat(&[&[0x22], &p[13..20]]));
    assert_eq!(s.take_events().len(), 1);
}

#[test]
fn listen_mode_observed_overflow_drops_the_reception() {
    let mut s = Solo::new(config(|c| c.listen_mode = true));
    s.rx(&cat(&[&[0x10, 20], &[0; 6]]));
    assert!(s.ep.is_receiving());
    s.rx_frame(Frame::new(sid(0x7E0), &[0x32, 0, 0]).unwrap());
    assert!(!s.ep.is_receiving());
    s.expect_no_events();
}

#[test]
fn listen_mode_reports_an_oversized_first_frame_without_answering() {
    let mut s = Solo::new(config(|c| {
        c.listen_mode = true;
        c.max_frame_size = 100;
    }));
    s.rx(&cat(&[&[0x10, 200], &[0; 6]]));
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::MessageTooLarge {
                length: 200,
                max_frame_size: 100
            }
        }]
    );
    s.expect_no_tx();
}

#[test]
fn listen_mode_observes_single_frames_both_ways() {
    let mut s = Solo::new(config(|c| c.listen_mode = true));
    s.rx(&[0x02, 0x50, 0x03]);
    s.rx_frame(Frame::new(sid(0x7E0), &[0x02, 0x10, 0x03]).unwrap());
    assert_eq!(
        s.take_events(),
        vec![
            received(vec![0x50, 0x03]),
            Event::Observed {
                payload: vec![0x10, 0x03],
                target_address_type: TargetAddressType::Physical
            }
        ]
    );
}

#[test]
fn listen_mode_with_the_ecu_address_swaps_received_and_observed() {
    let mut p = Pair::symmetric(Config::default());
    p.send(Side::A, &payload(50, 0));
    p.run();
    let mut l = Endpoint::new(ecu_address(), config(|c| c.listen_mode = true)).unwrap();
    assert_eq!(replay(&p, &mut l), vec![received(payload(50, 0))]);
}
