//! Tests of the test harness itself: the pair, the link, the fault injector and the reference model.
use crate::common::*;

#[test]
fn pair_delivers_a_single_frame_and_records_it() {
    let mut p = Pair::symmetric(Config::default());
    p.send(Side::A, &[1, 2, 3]);
    p.run();
    assert_eq!(p.received(Side::B), vec![vec![1, 2, 3]]);
    assert_eq!(p.log.len(), 1);
    assert_eq!(p.log[0].from, Side::A);
    assert_eq!(p.log[0].t, Instant::ZERO);
    assert_eq!(p.log[0].frame.id(), sid(0x7E0));
    assert_eq!(p.log[0].frame.data(), &[0x03, 1, 2, 3]);
    assert!(p.idle());
}

#[test]
fn pair_records_both_directions_of_a_segmented_transfer() {
    let mut p = Pair::symmetric(Config::default());
    let data = payload(20, 0);
    p.send(Side::A, &data);
    p.run();
    assert_eq!(p.received(Side::B), vec![data.clone()]);
    let dirs: Vec<Side> = p.log.iter().map(|r| r.from).collect();
    assert_eq!(dirs, vec![Side::A, Side::B, Side::A, Side::A]);
    let expected = expected_frames(&data, &Layout::classic());
    let from_a: Vec<Vec<u8>> = p
        .frames_from(Side::A)
        .iter()
        .map(|r| r.frame.data().to_vec())
        .collect();
    assert_eq!(from_a, expected);
}

#[test]
fn pair_run_advances_virtual_time_to_timeouts() {
    let mut p = Pair::symmetric(Config::default());
    // B never answers: put it in listen mode so it sends no flow control.
    let b = Endpoint::new(ecu_address(), config(|c| c.listen_mode = true)).unwrap();
    p.eps[1] = b;
    p.send(Side::A, &payload(100, 0));
    let end = p.run();
    assert_eq!(end, at_ms(1000), "N_Bs fires exactly 1000 ms after the FF");
    assert!(p
        .event_list(Side::A)
        .iter()
        .any(|e| is_send_failed(e, |err| matches!(err, ProtocolError::TimeoutBs { .. }))));
}

#[test]
fn link_latency_delays_every_frame() {
    let mut p = Pair::with_link(
        tester_address(),
        Config::default(),
        Config::default(),
        Link::perfect(ms(2)),
    );
    p.send(Side::A, &payload(20, 1));
    p.run();
    let times: Vec<Instant> = p.log.iter().map(|r| r.t).collect();
    // FF at 0, FC at 2 ms (FF arrived), CFs at 4 ms (FC arrived).
    assert_eq!(times, vec![at_ms(0), at_ms(2), at_ms(4), at_ms(4)]);
    assert_eq!(p.received(Side::B), vec![payload(20, 1)]);
}

#[test]
fn fault_injector_is_deterministic_for_a_seed() {
    let faults = Faults {
        drop_per_mille: 100,
        duplicate_per_mille: 100,
        reorder_per_mille: 100,
        reorder_delay: us(300),
    };
    let run = |seed| {
        let mut p = Pair::with_link(
            tester_address(),
            Config::default(),
            Config::default(),
            Link::faulty(Duration::ZERO, faults, seed),
        );
        for i in 0..20u8 {
            p.send(Side::A, &payload(40 + usize::from(i), i));
        }
        p.run();
        (p.log.clone(), p.link.stats, p.event_list(Side::B))
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7).0, run(8).0);
}

#[test]
fn fault_injector_drops_duplicates_and_reorders() {
    let faults = Faults {
        drop_per_mille: 200,
        duplicate_per_mille: 200,
        reorder_per_mille: 200,
        reorder_delay: us(500),
    };
    let mut link = Link::faulty(Duration::ZERO, faults, 42);
    let f = |n: u8| Frame::new(sid(0x7E0), &[n]).unwrap();
    for n in 0..200 {
        link.push(Instant::ZERO, Side::A, f(n));
    }
    let mut got = Vec::new();
    while let Some((to, frame)) = link.pop_due(Instant::from_millis(1)) {
        assert_eq!(to, Side::B);
        got.push(frame.data()[0]);
    }
    let s = link.stats;
    assert_eq!(s.carried, 200);
    assert!(
        s.dropped > 10 && s.duplicated > 10 && s.reordered > 10,
        "{s:?}"
    );
    assert_eq!(got.len() as u64, 200 - s.dropped + s.duplicated);
    assert!(got.windows(2).any(|w| w[0] > w[1]), "some frames overtaken");
}

#[test]
fn xorshift_is_reproducible_and_spreads() {
    let mut a = XorShift::new(1);
    let mut b = XorShift::new(1);
    let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
    let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
    assert_eq!(xs, ys);
    let mut r = XorShift::new(0);
    let mut buckets = [0u32; 10];
    for _ in 0..10_000 {
        buckets[r.below(10) as usize] += 1;
    }
    assert!(
        buckets.iter().all(|&n| (800..1200).contains(&n)),
        "{buckets:?}"
    );
}

#[test]
fn reference_model_matches_can_isotp_examples() {
    // can-isotp test_send_small_multiframe / test_padding_multi_frame.
    let p = payload(10, 0);
    assert_eq!(
        expected_frames(&p, &Layout::classic()),
        vec![cat(&[&[0x10, 0x0A], &p[..6]]), cat(&[&[0x21], &p[6..]])]
    );
    let padded = Layout {
        padding: Some(0x55),
        ..Layout::classic()
    };
    assert_eq!(
        expected_frames(&p, &padded)[1],
        cat(&[&[0x21], &p[6..], &[0x55; 3]])
    );
}

#[test]
fn pair_inject_delivers_a_raw_frame_and_logs_it() {
    let mut p = Pair::symmetric(Config::default());
    p.inject(
        Side::B,
        Frame::new(sid(0x7E0), &[0x02, 0x3E, 0x00]).unwrap(),
    );
    assert_eq!(p.log.len(), 1);
    assert_eq!(p.log[0].from, Side::A);
    assert_eq!(p.received(Side::B), vec![vec![0x3E, 0x00]]);
    // A raw first frame makes B answer with a flow control on the next run.
    p.inject(
        Side::B,
        Frame::new(sid(0x7E0), &[0x10, 0x0A, 1, 2, 3, 4, 5, 6]).unwrap(),
    );
    p.run_for(ms(10));
    assert_eq!(p.log[2].from, Side::B);
    assert_eq!(p.log[2].frame.data(), &[0x30, 0, 0]);
    // A receives an FC it did not ask for.
    assert_eq!(
        p.event_list(Side::A),
        vec![Event::Warning(Warning::UnexpectedFlowControl)]
    );
}

#[test]
#[should_panic(expected = "stray events left at the end of the test")]
fn solo_refuses_to_end_with_an_event_nobody_looked_at() {
    let mut s = Solo::new(Config::default());
    s.rx(&[0x01, 0x42]);
}

#[test]
#[should_panic(expected = "stray frame left at the end of the test")]
fn solo_refuses_to_end_with_a_frame_nobody_took() {
    let mut s = Solo::new(Config::default());
    s.send(&[1]);
}
