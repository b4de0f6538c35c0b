//! API misuse returns `Err` and never panics; configuration validation with exact messages; the
//! `Display` text of every error and warning.
use crate::common::*;

fn cfg_err(f: impl FnOnce(&mut Config)) -> String {
    let c = config(f);
    let e = c.validate().unwrap_err();
    assert_eq!(Endpoint::new(tester_address(), c).unwrap_err(), e);
    e.to_string()
}

// ---------------------------------------------------------------- configuration

#[test]
fn default_config_is_valid_and_has_iso_defaults() {
    let c = Config::default();
    assert!(c.validate().is_ok());
    assert_eq!(c.block_size, 0);
    assert_eq!(c.st_min, StMin::ZERO);
    assert_eq!(c.wft_max, 10);
    assert_eq!(c.link_layer.tx_data_length, 8);
    assert_eq!(c.max_frame_size, 4095);
    assert_eq!(
        (c.n_as, c.n_ar, c.n_bs, c.n_cr),
        (ms(1000), ms(1000), ms(1000), ms(1000))
    );
    assert_eq!(c.tx_queue_limit, 64);
}

#[test]
fn every_valid_tx_data_length_is_accepted() {
    for dl in [8u8, 12, 16, 20, 24, 32, 48, 64] {
        let c = config(|c| {
            c.link_layer.tx_data_length = dl;
            c.link_layer.can_fd = dl > 8;
        });
        assert!(c.validate().is_ok(), "{dl}");
    }
}

#[test]
fn invalid_tx_data_lengths_are_refused() {
    for dl in [0u8, 1, 7, 9, 10, 11, 13, 63, 65, 255] {
        assert_eq!(
            cfg_err(|c| {
                c.link_layer.tx_data_length = dl;
                c.link_layer.can_fd = true;
            }),
            format!(
                "link_layer.tx_data_length = {dl} is not allowed: 8, 12, 16, 20, 24, 32, 48 or 64"
            )
        );
    }
}

#[test]
fn tx_data_length_above_8_needs_can_fd() {
    assert_eq!(
        cfg_err(|c| c.link_layer.tx_data_length = 64),
        "tx_data_length above 8 needs CAN FD: set link_layer.can_fd = true"
    );
}

#[test]
fn invalid_tx_data_min_lengths_are_refused() {
    for m in [0u8, 9, 10, 13, 65] {
        assert_eq!(
            cfg_err(|c| {
                c.link_layer.tx_data_min_length = Some(m);
                c.link_layer.can_fd = true;
                c.link_layer.tx_data_length = 64;
            }),
            format!("link_layer.tx_data_min_length = {m} is not allowed: 1-8, 12, 16, 20, 24, 32, 48 or 64")
        );
    }
}

#[test]
fn tx_data_min_length_above_8_needs_can_fd() {
    assert_eq!(
        cfg_err(|c| c.link_layer.tx_data_min_length = Some(12)),
        "tx_data_min_length above 8 needs CAN FD: set link_layer.can_fd = true"
    );
}

#[test]
fn tx_data_min_length_above_tx_data_length_is_refused_like_can_isotp() {
    assert_eq!(
        cfg_err(|c| {
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = 32;
            c.link_layer.tx_data_min_length = Some(64);
        }),
        "tx_data_min_length must not exceed tx_data_length"
    );
    assert_eq!(
        cfg_err(|c| {
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_min_length = Some(12);
        }),
        "tx_data_min_length must not exceed tx_data_length"
    );
}

#[test]
fn bitrate_switch_needs_can_fd() {
    assert_eq!(
        cfg_err(|c| c.link_layer.bitrate_switch = true),
        "bitrate_switch is a CAN FD feature: set link_layer.can_fd = true"
    );
}

#[test]
fn max_frame_size_zero_is_refused() {
    assert_eq!(
        cfg_err(|c| c.max_frame_size = 0),
        "max_frame_size = 0 is not allowed: 1 to 4294967295 bytes"
    );
}

#[test]
fn timers_must_be_positive_and_at_most_an_hour() {
    assert_eq!(
        cfg_err(|c| c.n_as = Duration::ZERO),
        "n_as = 0 is not allowed: more than 0 and at most 3600 s (value in microseconds)"
    );
    assert_eq!(
        cfg_err(|c| c.n_ar = Duration::ZERO),
        "n_ar = 0 is not allowed: more than 0 and at most 3600 s (value in microseconds)"
    );
    assert_eq!(
        cfg_err(|c| c.n_bs = Duration::from_secs(3601)),
        "n_bs = 3601000000 is not allowed: more than 0 and at most 3600 s (value in microseconds)"
    );
    assert_eq!(
        cfg_err(|c| c.n_cr = Duration::from_secs(3601)),
        "n_cr = 3601000000 is not allowed: more than 0 and at most 3600 s (value in microseconds)"
    );
    assert!(config(|c| c.n_cr = Duration::from_secs(3600))
        .validate()
        .is_ok());
}

#[test]
fn override_st_min_above_a_second_is_refused() {
    assert_eq!(
        cfg_err(|c| c.override_receiver_st_min = Some(Duration::from_millis(1001))),
        "override_receiver_st_min = 1001000 is not allowed: 0 to 1 s (value in microseconds)"
    );
}

#[test]
fn tx_queue_limit_zero_is_refused() {
    assert_eq!(
        cfg_err(|c| c.tx_queue_limit = 0),
        "tx_queue_limit = 0 is not allowed: at least 1"
    );
}

// ---------------------------------------------------------------- misuse

#[test]
fn send_errors_have_user_readable_messages() {
    assert_eq!(
        SendError::EmptyPayload.to_string(),
        "cannot send an empty message: ISO-TP needs at least 1 byte"
    );
    assert_eq!(
        SendError::TooLong { len: 5_000_000_000 }.to_string(),
        "a message of 5000000000 bytes is longer than ISO-TP's limit of 4294967295 bytes"
    );
    assert_eq!(
        SendError::NoTransmitAddress.to_string(),
        "the address is receive-only: give it a transmit id"
    );
    assert_eq!(
        SendError::QueueFull { limit: 3 }.to_string(),
        "the transmit queue already holds 3 messages; wait for some to go out"
    );
}

#[test]
fn time_going_backwards_does_not_panic() {
    let mut ep = Endpoint::new(tester_address(), Config::default()).unwrap();
    ep.send(&payload(100, 0), TargetAddressType::Physical)
        .unwrap();
    ep.poll_transmit(at_ms(1000)).unwrap();
    ep.handle_frame(&Frame::new(sid(0x7E8), &[0x30, 0, 5]).unwrap(), at_ms(500));
    let _ = ep.poll_transmit(Instant::ZERO);
    let _ = ep.poll_transmit(Instant::MAX);
    ep.handle_timeout(Instant::ZERO);
    ep.handle_timeout(Instant::MAX);
    let _ = ep.poll_transmit(Instant::ZERO);
    while ep.poll_event().is_some() {}
}

#[test]
fn instant_max_never_overflows() {
    let mut s = Solo::new(config(|c| c.n_bs = Duration::from_secs(3600)));
    s.advance_to(Instant::MAX);
    s.send(&payload(20, 0));
    s.tx();
    assert_eq!(s.ep.poll_timeout(), Some(Instant::MAX));
    s.fc(0, 0, 0x7F);
    s.tx_all();
    s.timers();
    s.expect_sent(1);
}

#[test]
fn confirming_without_tx_confirmation_is_an_error_not_a_panic() {
    let mut ep = Endpoint::new(tester_address(), Config::default()).unwrap();
    assert!(ep.handle_tx_confirmation(Instant::ZERO).is_err());
    ep.send(&[1], TargetAddressType::Physical).unwrap();
    ep.poll_transmit(Instant::ZERO).unwrap();
    assert!(ep.handle_tx_confirmation(Instant::ZERO).is_err());
}

#[test]
fn reset_returns_to_the_initial_state() {
    let mut s = Solo::confirming(Config::default());
    s.send(&payload(100, 0));
    s.send(&payload(10, 0));
    s.tx();
    s.rx(&cat(&[&[0x10, 20], &[0; 6]]));
    s.ep.reset();
    assert!(!s.ep.is_transmitting() && !s.ep.is_receiving());
    assert_eq!(s.ep.poll_timeout(), None);
    assert_eq!(s.ep.poll_event(), None);
    s.expect_no_tx();
    assert!(s.ep.handle_tx_confirmation(s.now).is_err());
    s.send(&[7]);
    s.expect_tx(&[0x01, 7]);
}

#[test]
fn set_address_switches_ids_and_drops_transfers() {
    let mut s = Solo::new(Config::default());
    s.send(&payload(100, 0));
    s.tx();
    s.ep.set_address(Address::normal_11(0x700, 0x708).unwrap());
    assert!(!s.ep.is_transmitting());
    s.send(&[1]);
    assert_eq!(s.tx().unwrap().id(), sid(0x700));
    s.take_events();
    s.rx_id = sid(0x708);
    s.rx(&[0x01, 0x55]);
    assert_eq!(s.expect_received(), vec![0x55]);
    assert_eq!(
        s.ep.address().tx_id(TargetAddressType::Physical),
        Some(sid(0x700))
    );
}

#[test]
fn stop_receiving_while_the_flow_control_awaits_confirmation() {
    let mut s = Solo::confirming(Config::default());
    s.rx(&cat(&[&[0x10, 20], &[0; 6]]));
    s.tx();
    s.ep.stop_receiving();
    assert!(s.ep.handle_tx_confirmation(s.now).is_err());
    assert_eq!(s.ep.poll_timeout(), None);
}

#[test]
fn stop_sending_while_a_frame_awaits_confirmation() {
    let mut s = Solo::confirming(Config::default());
    s.send(&payload(100, 0));
    s.tx();
    assert_eq!(s.ep.stop_sending(), 1);
    assert!(s.ep.handle_tx_confirmation(s.now).is_err());
    s.send(&[1]);
    s.expect_tx(&[0x01, 1]);
}

#[test]
fn endpoint_accessors() {
    let c = config(|c| c.block_size = 3);
    let ep = Endpoint::new(tester_address(), c).unwrap();
    assert_eq!(ep.config(), &c);
    assert_eq!(ep.address(), &tester_address());
    assert_eq!(ep.single_frame_capacity(), 7);
    assert_eq!(ep.queued(), 0);
}

// ---------------------------------------------------------------- Display texts

#[test]
fn protocol_error_messages() {
    let cases: Vec<(ProtocolError, &str)> = vec![
        (ProtocolError::TimeoutA { timer: ATimer::As, limit: ms(1000) }, "frame not confirmed on the bus within N_As = 1000 ms"),
        (
            ProtocolError::TimeoutA { timer: ATimer::Ar, limit: us(1500) },
            "flow control frame not confirmed on the bus within N_Ar = 1.500 ms",
        ),
        (ProtocolError::TimeoutBs { limit: ms(1000) }, "no flow control received within N_Bs = 1000 ms"),
        (ProtocolError::TimeoutCr { limit: ms(250) }, "no consecutive frame received within N_Cr = 250 ms"),
        (
            ProtocolError::WrongSn { expected: 2, received: 3 },
            "consecutive frame with sequence number 3, expected 2; reception aborted",
        ),
        (ProtocolError::InvalidFs { value: 7 }, "flow control with invalid flow status 7; transmission aborted"),
        (
            ProtocolError::UnexpectedPdu { interrupted_by: PciType::FirstFrame, received: 6, expected: 100 },
            "a new first frame interrupted the reception after 6 of 100 bytes",
        ),
        (
            ProtocolError::WftOverrun { wft_max: 10 },
            "the receiver sent more than wft_max = 10 flow control WAIT frames in a row",
        ),
        (
            ProtocolError::BufferOverflow { length: 5120 },
            "the receiver answered overflow (FC.OVFLW): a message of 5120 bytes is larger than its buffer",
        ),
        (
            ProtocolError::MessageTooLarge { length: 5000, max_frame_size: 4095 },
            "refused a message of 5000 bytes (max_frame_size = 4095); sent FC.OVFLW",
        ),
        (
            ProtocolError::FrameLengthMismatch { expected: 32, received: 20 },
            "consecutive frame of 20 bytes where the first frame set 32; reception aborted",
        ),
        (ProtocolError::InvalidPadding { pci: PciType::SingleFrame }, "single frame failed the receive padding check"),
    ];
    for (e, text) in cases {
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn warning_messages() {
    let cases: Vec<(Warning, &str)> = vec![
        (
            Warning::Malformed(ParseError::UnknownPciType { pci: 0x45 }),
            "ignored a malformed frame: unknown PCI type 4 (byte 0x45)",
        ),
        (
            Warning::UnexpectedConsecutiveFrame,
            "ignored a consecutive frame: no reception in progress",
        ),
        (
            Warning::UnexpectedFlowControl,
            "ignored a flow control frame: no transmission is waiting for one",
        ),
        (
            Warning::FunctionalMultiFrame,
            "ignored a first or consecutive frame sent to a functional address",
        ),
        (
            Warning::NotForThisAddress,
            "ignored a frame this address does not handle",
        ),
    ];
    for (w, text) in cases {
        assert_eq!(w.to_string(), text);
    }
}

#[test]
fn pdu_error_messages() {
    let cases: Vec<(ParseError, &str)> = vec![
        (ParseError::InvalidFrameLength { len: 9 }, "9 bytes is not a CAN frame length: 0-8, 12, 16, 20, 24, 32, 48 or 64"),
        (ParseError::Empty, "the frame has no protocol control information byte"),
        (ParseError::SingleFrameEmpty, "single frame with data length 0"),
        (ParseError::SingleFrameTooLong { declared: 9, available: 6 }, "single frame announces 9 bytes but carries only 6"),
        (
            ParseError::SingleFrameNotEscaped,
            "CAN FD frame longer than 8 bytes with a 4-bit single frame length (escape form required)",
        ),
        (ParseError::FirstFrameTooShort { frame_len: 7 }, "first frame in a 7-byte CAN frame (at least 8 required)"),
        (
            ParseError::FirstFrameLengthTooSmall { length: 5, single_frame_max: 7 },
            "first frame announces 5 bytes, which fit in a single frame (up to 7)",
        ),
        (
            ParseError::FirstFrameEscapeNotAllowed { length: 33 },
            "first frame uses the 32-bit length escape for 33 bytes (allowed only above 4095)",
        ),
        (ParseError::FlowControlTooShort { len: 2 }, "flow control frame of 2 bytes (3 required)"),
        (ParseError::InvalidFlowStatus { value: 3 }, "flow control with invalid flow status 3"),
    ];
    for (e, text) in cases {
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn emit_error_messages() {
    let cases: Vec<(EmitError, &str)> = vec![
        (EmitError::BufferTooSmall { needed: 8, available: 4 }, "PDU needs 8 bytes, buffer has 4"),
        (EmitError::TooLong { len: 65 }, "PDU of 65 bytes does not fit a CAN FD frame (64 bytes)"),
        (EmitError::SingleFrameDataLength { len: 63 }, "a single frame cannot carry 63 bytes (1 to 62)"),
        (
            EmitError::SingleFrameNeedsEscape { len: 8 },
            "a single frame of 8 bytes does not fit 8 bytes: use the escaped (CAN FD) form",
        ),
        (
            EmitError::FirstFrameNotFull { frame_len: 5 },
            "a first frame must fill its frame: 5 bytes is not 8 or a CAN FD length",
        ),
        (
            EmitError::FirstFrameCarriesAll { length: 6, carried: 6 },
            "a first frame announcing 6 bytes cannot carry 6: send fewer, or a single frame",
        ),
        (
            EmitError::FirstFrameLengthTooSmall { length: 7, single_frame_max: 7 },
            "a message of 7 bytes fits a single frame (up to 7); receivers ignore such a first frame",
        ),
        (EmitError::SequenceNumberOutOfRange { sequence_number: 16 }, "sequence number 16 is above 15"),
    ];
    for (e, text) in cases {
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn st_min_display() {
    assert_eq!(StMin::from_byte(5).to_string(), "5 ms");
    assert_eq!(StMin::from_byte(0xF3).to_string(), "300 us");
    assert_eq!(StMin::from_byte(0x80).to_string(), "reserved (127 ms)");
}

#[test]
fn instant_display() {
    assert_eq!(Instant::from_micros(1_234_567).to_string(), "1.234567s");
}
