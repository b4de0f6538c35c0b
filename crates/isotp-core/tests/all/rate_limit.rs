//! Rate limiting (can-isotp's rate_limit_max_bitrate / rate_limit_window_size): never more than
//! max_bitrate * window bits of frame data in any window; the sender waits instead.
use crate::common::*;

fn limited(bitrate: u32, window: Duration) -> Config {
    config(|c| {
        c.rate_limit = Some(RateLimit {
            max_bitrate: bitrate,
            window,
        })
    })
}

#[test]
fn single_frames_beyond_the_budget_wait_for_the_window() {
    // can-isotp test_multiple_single_frames_rate_limited, with a budget of 8 frames of 8 bytes per second.
    let mut s = Solo::new(limited(512, ms(1000)));
    for i in 0..20 {
        s.send(&payload(7, i));
    }
    let frames = s.run_until(at_ms(5000));
    let times: Vec<u64> = frames.iter().map(|(t, _)| t.as_micros() / 1000).collect();
    assert_eq!(times, [vec![0; 8], vec![1000; 8], vec![2000; 4]].concat());
    s.expect_sent(20);
}

#[test]
fn poll_timeout_reports_when_the_budget_frees_up() {
    let mut s = Solo::new(limited(512, ms(1000)));
    for i in 0..9 {
        s.send(&payload(7, i));
    }
    assert_eq!(s.tx_all().len(), 8);
    assert_eq!(s.ep.poll_timeout(), Some(at_ms(1000)));
    s.advance_to(just_before(at_ms(1000)));
    s.expect_no_tx();
    s.advance_to(at_ms(1000));
    assert!(s.tx().is_some());
    s.expect_sent(9);
}

#[test]
fn big_multi_frame_is_sent_at_the_limited_rate() {
    // can-isotp test_send_big_multiframe_rate_limited: 2000 bytes at 5000 bit/s, 200 ms window.
    let window = ms(200);
    let mut p = Pair::new(tester_address(), limited(5000, window), Config::default());
    let data = payload(2000, 0);
    p.send(Side::A, &data);
    p.run();
    assert_eq!(p.received(Side::B), vec![data]);
    let frames: Vec<(u64, u64)> = p
        .frames_from(Side::A)
        .iter()
        .map(|r| (r.t.as_micros(), r.frame.len() as u64 * 8))
        .collect();
    // No window of 200 ms holds more than 1000 bits.
    for (i, &(t0, _)) in frames.iter().enumerate() {
        let bits: u64 = frames[i..]
            .iter()
            .take_while(|(t, _)| *t < t0 + 200_000)
            .map(|(_, b)| b)
            .sum();
        assert!(bits <= 1000, "{bits} bits in the window from {t0} us");
    }
    let total_bits: u64 = frames.iter().map(|(_, b)| b).sum();
    let duration = frames.last().unwrap().0 - frames[0].0;
    let rate = total_bits as f64 / (duration as f64 / 1e6);
    assert!(
        (5000.0 * 0.90..=5000.0 * 1.05).contains(&rate),
        "measured {rate} bit/s"
    );
}

#[test]
fn rate_limit_counts_fd_frame_lengths() {
    let c = config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
        c.rate_limit = Some(RateLimit {
            max_bitrate: 1024,
            window: ms(1000),
        }); // two 64-byte frames
    });
    let mut s = Solo::new(c);
    for i in 0..3 {
        s.send(&payload(62, i));
    }
    let frames = s.run_until(at_ms(3000));
    let times: Vec<u64> = frames.iter().map(|(t, _)| t.as_micros() / 1000).collect();
    assert_eq!(times, vec![0, 0, 1000]);
    s.expect_sent(3);
}

#[test]
fn without_rate_limit_everything_goes_at_once() {
    let mut s = Solo::new(Config::default());
    for i in 0..20 {
        s.send(&payload(7, i));
    }
    assert_eq!(s.tx_all().len(), 20);
    s.expect_sent(20);
}

#[test]
fn stop_sending_forgets_the_rate_limit_history() {
    let mut s = Solo::new(limited(512, ms(1000)));
    for i in 0..8 {
        s.send(&payload(7, i));
    }
    s.tx_all();
    s.send(&[1]);
    s.expect_no_tx();
    s.ep.stop_sending();
    s.send(&[2]);
    s.expect_tx(&[0x01, 2]);
    s.expect_sent(9);
}

#[test]
fn rate_limit_config_is_validated() {
    let e = |r: RateLimit| {
        Endpoint::new(tester_address(), config(|c| c.rate_limit = Some(r)))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        e(RateLimit {
            max_bitrate: 0,
            window: ms(200)
        }),
        "rate_limit.max_bitrate = 0 is not allowed: at least 1 bit/s"
    );
    assert_eq!(
        e(RateLimit {
            max_bitrate: 100_000,
            window: us(999)
        }),
        "rate_limit.window = 999 is not allowed: 1 ms to 60 s (value in microseconds)"
    );
    assert_eq!(
        e(RateLimit {
            max_bitrate: 100_000,
            window: Duration::from_secs(61)
        }),
        "rate_limit.window = 61000000 is not allowed: 1 ms to 60 s (value in microseconds)"
    );
    // The budget is measured against this link's largest frame (TX_DL bytes): two classic frames
    // per second is a usable limit, half a classic frame is not.
    assert!(Endpoint::new(tester_address(), limited(128, ms(1000))).is_ok());
    assert_eq!(
        e(RateLimit {
            max_bitrate: 63,
            window: ms(1000)
        }),
        "rate_limit: max_bitrate * window must allow at least one frame of TX_DL bytes"
    );
    let fd = |c: &mut Config| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
        c.rate_limit = Some(RateLimit {
            max_bitrate: 511,
            window: ms(1000),
        });
    };
    assert_eq!(
        Endpoint::new(tester_address(), config(fd))
            .unwrap_err()
            .to_string(),
        "rate_limit: max_bitrate * window must allow at least one frame of TX_DL bytes"
    );
}

#[test]
fn two_classic_frames_per_second() {
    // can-isotp's test_multiple_single_frames_rate_limited: 128 bits per 1 s window, TX_DL 8.
    let mut s = Solo::new(limited(128, ms(1000)));
    for i in 0..6 {
        s.send(&payload(7, i));
    }
    let frames = s.run_until(at_ms(3500));
    let times: Vec<u64> = frames.iter().map(|(t, _)| t.as_micros() / 1000).collect();
    assert_eq!(times, vec![0, 0, 1000, 1000, 2000, 2000]);
    s.expect_sent(6);
}
