//! Every case of Zephyr's ISO-TP conformance suite (tests/subsys/canbus/isotp/conformance), in virtual
//! time: the node under test sends on 0x10 and receives on 0x11 (or the reverse), timeouts must fire
//! within 1000-1100 ms (here: exactly at 1000 ms), STmin gaps within STmin..STmin+5 ms (here: exactly).
use crate::common::*;

const DATA_SEND_LENGTH: usize = 272;
const EXT_ADDR: u8 = 5;

fn random_data(n: usize) -> Vec<u8> {
    let mut r = XorShift::new(0x2E9);
    let mut v = vec![0; n];
    r.fill(&mut v);
    v
}

/// The node sending on 0x10 and receiving flow control on 0x11.
fn sender(config: Config) -> Solo {
    Solo::with_address(Address::normal_11(0x10, 0x11).unwrap(), config, sid(0x11))
}

/// The node receiving on 0x10 and sending flow control on 0x11.
fn receiver(config: Config) -> Solo {
    Solo::with_address(Address::normal_11(0x11, 0x10).unwrap(), config, sid(0x10))
}

fn fc_opts(bs: u8, st_min: u8) -> Config {
    config(|c| {
        c.block_size = bs;
        c.st_min = StMin::from_byte(st_min);
    })
}

/// prepare_cf_frames: the CFs of `data` after the FF's 6 bytes.
fn cf_frames(data: &[u8]) -> Vec<Vec<u8>> {
    data[6..]
        .chunks(7)
        .enumerate()
        .map(|(i, c)| cat(&[&[0x20 | ((i + 1) & 0xF) as u8], c]))
        .collect()
}

fn ff_frame(data: &[u8]) -> Vec<u8> {
    let n = data.len();
    cat(&[&[0x10 | (n >> 8) as u8, n as u8], &data[..6]])
}

#[test]
fn test_send_sf() {
    let data = random_data(7);
    let mut s = sender(Config::default());
    let id = s.send(&data);
    let f = s.expect_tx(&cat(&[&[0x07], &data]));
    assert_eq!(f.id(), sid(0x10));
    assert_eq!(f.len(), 8);
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
    s.expect_no_tx();
}

#[test]
fn test_receive_sf() {
    let data = random_data(7);
    let mut s = receiver(fc_opts(0, 0));
    s.rx(&cat(&[&[0x07], &data]));
    assert_eq!(s.expect_received(), data);
    // SF_DL 8 does not fit an 8-byte frame: ignored.
    s.rx(&cat(&[&[0x08], &data]));
    assert!(no_warnings(s.take_events()).is_empty());
}

#[test]
fn test_receive_sf_requires_rx_padding() {
    // CONFIG_ISOTP_REQUIRE_RX_PADDING: a 7-byte single frame is dropped.
    let data = random_data(6);
    let mut s = receiver(config(|c| {
        c.rx_padding = Some(0xCC);
        c.rx_padding_check = PaddingCheck::Length;
    }));
    s.rx(&cat(&[&[0x06], &data]));
    assert!(s
        .take_events()
        .iter()
        .all(|e| !matches!(e, Event::Received { .. })));
}

#[test]
fn test_send_sf_ext() {
    let data = random_data(6);
    let a = Address::extended_11(0x10, 0x11, EXT_ADDR, EXT_ADDR).unwrap();
    let mut s = Solo::with_address(a, Config::default(), sid(0x11));
    s.send(&data);
    let f = s.expect_tx(&cat(&[&[EXT_ADDR, 0x06], &data]));
    assert_eq!(f.len(), 8);
    s.expect_sent(1);
}

#[test]
fn test_receive_sf_ext() {
    let data = random_data(6);
    let a = Address::extended_11(0x11, 0x10, EXT_ADDR, EXT_ADDR).unwrap();
    let mut s = Solo::with_address(a, fc_opts(0, 0), sid(0x10));
    s.rx(&cat(&[&[EXT_ADDR, 0x06], &data]));
    assert_eq!(s.expect_received(), data);
    // SF_DL 7 with an address byte does not fit: ignored.
    s.rx(&cat(&[&[EXT_ADDR, 0x07], &data]));
    assert!(no_warnings(s.take_events()).is_empty());
}

#[test]
fn test_send_sf_fixed() {
    let data = random_data(7);
    let a = Address::normal_fixed_29(0x02, 0x01).unwrap();
    let mut s = Solo::with_address(a, Config::default(), xid(0x18DA0102));
    s.send(&data);
    let f = s.expect_tx(&cat(&[&[0x07], &data]));
    assert_eq!(f.id(), xid(0x18DA0201));
    s.expect_sent(1);
}

#[test]
fn test_receive_sf_fixed() {
    // The node: SA 0x02, talking to 0x01.
    let data = random_data(7);
    let a = Address::normal_fixed_29(0x01, 0x02).unwrap();
    let mut s = Solo::with_address(a, fc_opts(0, 0), xid(0x18DA0201));
    let sf = cat(&[&[0x07], &data]);
    // Default source address.
    s.rx_frame(Frame::new(xid(0x18DA0201), &sf).unwrap());
    assert_eq!(s.expect_received(), data);
    // Different priority.
    s.rx_frame(Frame::new(xid(0x18DA0201 | (7 << 26)), &sf).unwrap());
    assert_eq!(s.expect_received(), data);
    // Different target address: ignored.
    s.rx_frame(Frame::new(xid(0x18DA0201 | 0xFF00), &sf).unwrap());
    s.expect_no_events();
    // Different source address: Zephyr accepts any SA; this engine (like can-isotp) only its peer's.
    s.rx_frame(Frame::new(xid(0x18DA0201 | 0xFF), &sf).unwrap());
    s.expect_no_events();
}

#[test]
fn test_send_data() {
    let data = random_data(DATA_SEND_LENGTH);
    let mut s = sender(Config::default());
    let id = s.send(&data);
    s.expect_tx(&ff_frame(&data));
    s.fc(0, 0, 0);
    let frames = s.tx_data();
    assert_eq!(frames, cf_frames(&data));
    assert_eq!(
        frames.last().unwrap().len(),
        (DATA_SEND_LENGTH - 6 - 1) % 7 + 2
    );
    assert_eq!(s.take_events(), vec![Event::Sent { id }]);
}

#[test]
fn test_send_data_blocks() {
    let data = random_data(DATA_SEND_LENGTH);
    let cfs = cf_frames(&data);
    let mut s = sender(Config::default());
    s.send(&data);
    s.expect_tx(&ff_frame(&data));
    s.fc(0, 8, 0);
    assert_eq!(s.tx_data(), cfs[0..8]);
    assert!(s.run_for(ms(50)).is_empty());
    // Dynamic BS: the next FC asks for 2.
    s.fc(0, 2, 0);
    assert_eq!(s.tx_data(), cfs[8..10]);
    assert!(s.run_for(ms(50)).is_empty());
    // Then all the rest.
    s.fc(0, 0, 0);
    assert_eq!(s.tx_data(), cfs[10..]);
    assert!(s.run_for(ms(50)).is_empty());
    assert!(matches!(s.take_events().as_slice(), [Event::Sent { .. }]));
}

#[test]
fn test_receive_data() {
    let data = random_data(DATA_SEND_LENGTH);
    let mut s = receiver(fc_opts(0, 0));
    s.rx(&ff_frame(&data));
    let fc = s.expect_tx(&[0x30, 0, 0]);
    assert_eq!(fc.id(), sid(0x11));
    for cf in cf_frames(&data) {
        s.rx(&cf);
    }
    assert_eq!(s.expect_received(), data);
    s.expect_no_tx();
}

#[test]
fn test_receive_data_blocks() {
    let data = random_data(DATA_SEND_LENGTH);
    let cfs = cf_frames(&data);
    let mut s = receiver(fc_opts(8, 0));
    s.rx(&ff_frame(&data));
    for block in cfs.chunks(8) {
        s.expect_tx(&[0x30, 8, 0]);
        s.expect_no_tx();
        for cf in block {
            s.rx(cf);
        }
    }
    s.expect_no_tx();
    assert_eq!(s.expect_received(), data);
}

#[test]
fn test_send_timeouts_first_flow_control() {
    let mut s = sender(Config::default());
    let id = s.send(&random_data(DATA_SEND_LENGTH));
    s.tx();
    s.run_until(at_ms(1100));
    assert_eq!(
        std::mem::take(&mut s.events)
            .into_iter()
            .collect::<Vec<_>>(),
        vec![(
            at_ms(1000),
            Event::SendFailed {
                id,
                error: ProtocolError::TimeoutBs { limit: ms(1000) }
            }
        )]
    );
}

#[test]
fn test_send_timeouts_consecutive_flow_control() {
    let mut s = sender(Config::default());
    let id = s.send(&random_data(DATA_SEND_LENGTH));
    s.tx();
    s.fc(0, 8, 0);
    assert_eq!(s.tx_all().len(), 8);
    let start = s.now;
    s.run_until(start + ms(1100));
    assert_eq!(
        std::mem::take(&mut s.events)
            .into_iter()
            .collect::<Vec<_>>(),
        vec![(
            start + ms(1000),
            Event::SendFailed {
                id,
                error: ProtocolError::TimeoutBs { limit: ms(1000) }
            }
        )]
    );
}

#[test]
fn test_send_timeouts_reset_by_a_late_flow_control() {
    let mut s = sender(Config::default());
    let id = s.send(&random_data(DATA_SEND_LENGTH));
    s.tx();
    s.run_until(at_ms(800));
    s.now = at_ms(800);
    s.expect_no_events();
    s.fc(0, 8, 0);
    s.tx_all();
    s.run_until(at_ms(1900));
    assert_eq!(
        std::mem::take(&mut s.events)
            .into_iter()
            .collect::<Vec<_>>(),
        vec![(
            at_ms(1800),
            Event::SendFailed {
                id,
                error: ProtocolError::TimeoutBs { limit: ms(1000) }
            }
        )]
    );
}

#[test]
fn test_receive_timeouts() {
    let data = random_data(DATA_SEND_LENGTH);
    let mut s = receiver(fc_opts(8, 0));
    s.rx(&ff_frame(&data));
    s.tx();
    s.run_until(at_ms(1100));
    assert_eq!(
        std::mem::take(&mut s.events)
            .into_iter()
            .collect::<Vec<_>>(),
        vec![(
            at_ms(1000),
            Event::ReceiveFailed {
                error: ProtocolError::TimeoutCr { limit: ms(1000) }
            }
        )]
    );
}

#[test]
fn test_stmin() {
    let data = random_data(6 + 7 * 4);
    let mut s = sender(Config::default());
    s.send(&data);
    s.expect_tx(&ff_frame(&data));
    s.fc(0, 2, 5);
    let block = s.run_for(ms(100));
    assert_eq!(block.len(), 2);
    assert_eq!(block[1].0 - block[0].0, ms(5));
    s.fc(0, 2, 50);
    let block = s.run_for(ms(100));
    assert_eq!(block.len(), 2);
    assert_eq!(block[1].0 - block[0].0, ms(50));
    s.expect_sent(1);
}

#[test]
fn test_receiver_fc_errors_wrong_sn() {
    let data = random_data(DATA_SEND_LENGTH);
    let mut cfs = cf_frames(&data);
    cfs[1][0] = 0x23; // SN should be 2
    let mut s = receiver(fc_opts(8, 0));
    s.rx(&ff_frame(&data));
    s.expect_tx(&[0x30, 8, 0]);
    for cf in &cfs[..8] {
        s.rx(cf);
    }
    let ev = no_warnings(s.take_events());
    assert_eq!(
        ev,
        vec![Event::ReceiveFailed {
            error: ProtocolError::WrongSn {
                expected: 2,
                received: 3
            }
        }]
    );
}

#[test]
fn test_receiver_fc_errors_buffer_overflow() {
    let mut s = receiver(config(|c| c.max_frame_size = 128));
    s.rx(&[0x1F, 0xFF, 0, 0, 0, 0, 0, 0]);
    s.expect_tx(&[0x32, 0, 0]);
    assert_eq!(
        s.take_events(),
        vec![Event::ReceiveFailed {
            error: ProtocolError::MessageTooLarge {
                length: 4095,
                max_frame_size: 128
            }
        }]
    );
}

#[test]
fn test_sender_fc_errors_invalid_flow_status() {
    let mut s = sender(Config::default());
    let id = s.send(&random_data(DATA_SEND_LENGTH));
    s.tx();
    s.fc(3, 8, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::InvalidFs { value: 3 }
        }]
    );
}

#[test]
fn test_sender_fc_errors_buffer_overflow_from_a_receiver() {
    let mut p = Pair::new(
        Address::normal_11(0x10, 0x11).unwrap(),
        Config::default(),
        Config::default(),
    );
    let data = random_data(5 * 1024);
    let id = p.send(Side::A, &data);
    p.run();
    assert_eq!(
        p.event_list(Side::A),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::BufferOverflow { length: 5 * 1024 }
        }]
    );
    assert_eq!(
        p.event_list(Side::B),
        vec![Event::ReceiveFailed {
            error: ProtocolError::MessageTooLarge {
                length: 5120,
                max_frame_size: 4095
            }
        }]
    );
}

#[test]
fn test_sender_fc_errors_overflow_frame() {
    let mut s = sender(Config::default());
    let id = s.send(&random_data(DATA_SEND_LENGTH));
    s.tx();
    s.fc(2, 8, 0);
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::BufferOverflow {
                length: DATA_SEND_LENGTH as u32
            }
        }]
    );
}

#[test]
fn test_sender_fc_errors_wft_overrun() {
    let mut s = sender(Config::default());
    let id = s.send(&random_data(DATA_SEND_LENGTH));
    s.tx();
    for _ in 0..=10 {
        s.fc(1, 8, 0);
    }
    assert_eq!(
        s.take_events(),
        vec![Event::SendFailed {
            id,
            error: ProtocolError::WftOverrun { wft_max: 10 }
        }]
    );
}

macro_rules! canfd_mandatory_padding {
    ($($name:ident: $tx_dl:expr,)*) => {$(
        #[test]
        fn $name() {
            let data = random_data(8);
            let mut s = sender(config(|c| {
                c.link_layer.can_fd = true;
                c.link_layer.tx_data_length = $tx_dl;
                c.link_layer.bitrate_switch = true;
            }));
            s.send(&data);
            let f = s.expect_tx(&cat(&[&[0x00, 0x08], &data, &[0xCC, 0xCC]]));
            assert_eq!(f.len(), 12);
            assert!(f.is_fd() && f.is_brs());
            s.expect_sent(1);
        }
    )*};
}

canfd_mandatory_padding! {
    test_canfd_mandatory_padding_tx_dl_12: 12,
    test_canfd_mandatory_padding_tx_dl_16: 16,
    test_canfd_mandatory_padding_tx_dl_20: 20,
    test_canfd_mandatory_padding_tx_dl_24: 24,
    test_canfd_mandatory_padding_tx_dl_32: 32,
    test_canfd_mandatory_padding_tx_dl_48: 48,
    test_canfd_mandatory_padding_tx_dl_64: 64,
}

#[test]
fn test_canfd_rx_dl_validation() {
    let data = random_data(14 + 2 * 11);
    let mut s = receiver(config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = 64;
    }));
    s.rx_fd(&cat(&[&[0x10, data.len() as u8], &data[..14]])); // FF with CAN_DL 16
    s.expect_tx(&[0x30, 0, 0]);
    s.rx_fd(&cat(&[&[0x21], &data[14..25]])); // CAN_DL 12
    s.rx_fd(&cat(&[&[0x22], &data[25..36]]));
    let ev = no_warnings(s.take_events());
    assert_eq!(
        ev,
        vec![Event::ReceiveFailed {
            error: ProtocolError::FrameLengthMismatch {
                expected: 16,
                received: 12
            }
        }]
    );
}

fn fd_node(tx_dl: u8) -> Config {
    config(|c| {
        c.link_layer.can_fd = true;
        c.link_layer.tx_data_length = tx_dl;
        c.link_layer.bitrate_switch = true;
    })
}

macro_rules! fd_mode_sf {
    ($($send:ident, $recv:ident: $tx_dl:expr,)*) => {$(
        #[test]
        fn $send() {
            // CONFIG_TEST_USE_CAN_FD_MODE: DATA_SIZE_SF = TX_DL - 2 with the escape.
            let data = random_data($tx_dl - 2);
            let mut s = sender(fd_node($tx_dl));
            s.send(&data);
            let f = s.expect_tx(&cat(&[&[0x00, ($tx_dl - 2) as u8], &data]));
            assert_eq!(f.len(), $tx_dl);
            s.expect_sent(1);
        }
        #[test]
        fn $recv() {
            let data = random_data($tx_dl - 2);
            let mut s = receiver(fd_node($tx_dl));
            let mut sf = cat(&[&[0x00, ($tx_dl - 2) as u8], &data]);
            s.rx_fd(&sf);
            assert_eq!(s.expect_received(), data);
            sf[1] += 1; // too big: dropped
            s.rx_fd(&sf);
            assert!(no_warnings(s.take_events()).is_empty());
        }
    )*};
}

fd_mode_sf! {
    test_send_sf_fd_tx_dl_12, test_receive_sf_fd_tx_dl_12: 12,
    test_send_sf_fd_tx_dl_16, test_receive_sf_fd_tx_dl_16: 16,
    test_send_sf_fd_tx_dl_20, test_receive_sf_fd_tx_dl_20: 20,
    test_send_sf_fd_tx_dl_24, test_receive_sf_fd_tx_dl_24: 24,
    test_send_sf_fd_tx_dl_32, test_receive_sf_fd_tx_dl_32: 32,
    test_send_sf_fd_tx_dl_48, test_receive_sf_fd_tx_dl_48: 48,
    test_send_sf_fd_tx_dl_64, test_receive_sf_fd_tx_dl_64: 64,
}

#[test]
fn test_send_data_fd_tx_dl_64() {
    let tx_dl = 64;
    let data = random_data(100 + 62 + 8 * 63);
    let mut s = sender(fd_node(tx_dl));
    s.send(&data);
    let mut got = vec![s.tx().unwrap().data().to_vec()];
    s.fc(0, 0, 0);
    got.extend(s.tx_data());
    assert_eq!(got, expected_frames(&data, &Layout::fd(64)));
    s.expect_sent(1);
}
