//! The seven addressing modes of can-isotp, functional addressing, asymmetric addresses, receive
//! filtering, and address validation (exact error texts).
use crate::common::*;

/// The tester address of each mode, shared with the other suites.
fn build(mode: AddressingMode) -> Address {
    address_for(mode)
}

/// Expected (tx id, rx id, tx prefix, rx prefix) of the tester side.
fn expected(mode: AddressingMode) -> (CanId, CanId, Option<u8>, Option<u8>) {
    match mode {
        AddressingMode::Normal11 => (sid(0x7E0), sid(0x7E8), None, None),
        AddressingMode::Normal29 => (xid(0x18DA10F1), xid(0x18DAF110), None, None),
        AddressingMode::NormalFixed29 => (xid(0x18DA10F1), xid(0x18DAF110), None, None),
        AddressingMode::Extended11 => (sid(0x6F1), sid(0x610), Some(0x10), Some(0xF1)),
        AddressingMode::Extended29 => (xid(0x1BAD0001), xid(0x1BAD0002), Some(0x10), Some(0xF1)),
        AddressingMode::Mixed11 => (sid(0x7E0), sid(0x7E8), Some(0x99), Some(0x99)),
        AddressingMode::Mixed29 => (xid(0x18CE10F1), xid(0x18CEF110), Some(0x99), Some(0x99)),
    }
}

fn frames_of_mode(mode: AddressingMode) {
    let addr = build(mode);
    let (tx_id, rx_id, tx_prefix, rx_prefix) = expected(mode);
    assert_eq!(addr.mode(), mode);
    assert_eq!(addr.tx_id(TargetAddressType::Physical), Some(tx_id));
    assert_eq!(addr.tx_prefix(), tx_prefix);
    assert_eq!(addr.rx_prefix(), rx_prefix);
    let mut p = Pair::new(addr, Config::default(), Config::default());
    let data = payload(30, 0);
    p.send(Side::A, &data);
    p.send(Side::B, &payload(3, 9));
    p.run();
    assert_eq!(p.received(Side::B), vec![data.clone()]);
    assert_eq!(p.received(Side::A), vec![payload(3, 9)]);
    let layout = Layout {
        prefix: tx_prefix,
        ..Layout::classic()
    };
    let from_a: Vec<&Record> = p.frames_from(Side::A);
    let expected_a = expected_frames(&data, &layout);
    assert_eq!(from_a.len(), expected_a.len());
    for (r, e) in from_a.iter().zip(&expected_a) {
        assert_eq!(r.frame.id(), tx_id);
        assert_eq!(r.frame.data(), &e[..]);
    }
    // B's frames (FC, then its SF) go on A's receive id, led by A's expected byte.
    for r in p.frames_from(Side::B) {
        assert_eq!(r.frame.id(), rx_id);
        if let Some(b) = rx_prefix {
            assert_eq!(r.frame.data()[0], b);
        }
    }
    let fc = p
        .frames_from(Side::B)
        .into_iter()
        .map(|r| r.frame)
        .find(|f| f.data()[mode.address_len().bytes()] >> 4 == 3)
        .expect("a flow control");
    let fc_expected: Vec<u8> = rx_prefix.into_iter().chain([0x30, 0, 0]).collect();
    assert_eq!(fc.data(), &fc_expected[..]);
}

fn single_frame_capacity_of_mode(mode: AddressingMode) {
    let addr = build(mode);
    let ep = Endpoint::new(addr, Config::default()).unwrap();
    let cap = 7 - mode.address_len().bytes();
    assert_eq!(ep.single_frame_capacity(), cap);
    let fd = Endpoint::new(
        addr,
        config(|c| {
            c.link_layer.can_fd = true;
            c.link_layer.tx_data_length = 64;
        }),
    )
    .unwrap();
    assert_eq!(fd.single_frame_capacity(), 62 - mode.address_len().bytes());
    // The largest SF goes as one frame, one more byte needs a FF.
    let mut s = Solo::with_address(addr, Config::default(), expected(mode).1);
    s.send(&payload(cap, 0));
    assert_eq!(
        s.tx().unwrap().data()[mode.address_len().bytes()],
        cap as u8
    );
    s.send(&payload(cap + 1, 0));
    assert_eq!(s.tx().unwrap().data()[mode.address_len().bytes()] >> 4, 1);
    s.expect_sent(1);
}

fn functional_of_mode(mode: AddressingMode) {
    let addr = build(mode);
    let mut p = Pair::new(addr, Config::default(), Config::default());
    p.send_to(Side::A, &[0x3E, 0x00], TargetAddressType::Functional);
    p.run();
    let ev = p.take_events(Side::B);
    assert_eq!(
        ev.into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
        vec![Event::Received {
            payload: vec![0x3E, 0x00],
            target_address_type: TargetAddressType::Functional
        }]
    );
    let f = p.log[0].frame;
    assert_eq!(Some(f.id()), addr.tx_id(TargetAddressType::Functional));
}

fn wrong_prefix_or_id_ignored(mode: AddressingMode) {
    let addr = build(mode);
    let (_, rx_id, _, rx_prefix) = expected(mode);
    let mut s = Solo::with_address(addr, Config::default(), rx_id);
    let lead: Vec<u8> = rx_prefix.into_iter().collect();
    s.rx(&cat(&[&lead, &[0x01, 0x42]]));
    assert_eq!(s.expect_received(), vec![0x42]);
    if let Some(b) = rx_prefix {
        s.rx(&[b ^ 0xFF, 0x01, 0x42]);
        s.expect_no_events();
    }
    // Same raw id with the other id width.
    let other = CanId::new(rx_id.raw(), !rx_id.is_extended());
    if let Ok(other) = other {
        s.rx_frame(Frame::new(other, &cat(&[&lead, &[0x01, 0x42]])).unwrap());
        s.expect_no_events();
    }
    // A different id.
    let near = CanId::new(rx_id.raw() ^ 1, rx_id.is_extended()).unwrap();
    s.rx_frame(Frame::new(near, &cat(&[&lead, &[0x01, 0x42]])).unwrap());
    s.expect_no_events();
}

macro_rules! per_mode {
    ($($m:ident => $frames:ident, $cap:ident, $func:ident, $filter:ident;)*) => {$(
        #[test]
        fn $frames() { frames_of_mode(AddressingMode::$m); }
        #[test]
        fn $cap() { single_frame_capacity_of_mode(AddressingMode::$m); }
        #[test]
        fn $func() { functional_of_mode(AddressingMode::$m); }
        #[test]
        fn $filter() { wrong_prefix_or_id_ignored(AddressingMode::$m); }
    )*};
}

per_mode! {
    Normal11 => normal_11bits_frames_ids_and_bytes, normal_11bits_single_frame_holds_7, normal_11bits_functional_single_frame, normal_11bits_ignores_other_ids;
    Normal29 => normal_29bits_frames_ids_and_bytes, normal_29bits_single_frame_holds_7, normal_29bits_functional_single_frame, normal_29bits_ignores_other_ids;
    NormalFixed29 => normal_fixed_29bits_frames_ids_and_bytes, normal_fixed_29bits_single_frame_holds_7, normal_fixed_29bits_functional_single_frame, normal_fixed_29bits_ignores_other_ids;
    Extended11 => extended_11bits_frames_ids_and_bytes, extended_11bits_single_frame_holds_6, extended_11bits_functional_single_frame, extended_11bits_ignores_other_ids_and_target_bytes;
    Extended29 => extended_29bits_frames_ids_and_bytes, extended_29bits_single_frame_holds_6, extended_29bits_functional_single_frame, extended_29bits_ignores_other_ids_and_target_bytes;
    Mixed11 => mixed_11bits_frames_ids_and_bytes, mixed_11bits_single_frame_holds_6, mixed_11bits_functional_single_frame, mixed_11bits_ignores_other_ids_and_extensions;
    Mixed29 => mixed_29bits_frames_ids_and_bytes, mixed_29bits_single_frame_holds_6, mixed_29bits_functional_single_frame, mixed_29bits_ignores_other_ids_and_extensions;
}

#[test]
fn all_seven_modes_are_listed_with_can_isotp_names() {
    let names: Vec<&str> = AddressingMode::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "Normal_11bits",
            "Normal_29bits",
            "NormalFixed_29bits",
            "Extended_11bits",
            "Extended_29bits",
            "Mixed_11bits",
            "Mixed_29bits"
        ]
    );
    for m in AddressingMode::ALL {
        assert_eq!(m.to_string(), m.name());
    }
}

// ---------------------------------------------------------------- fixed addressing details

#[test]
fn normal_fixed_accepts_any_priority_and_data_page() {
    let ecu = Address::normal_fixed_29(0xF1, 0x10).unwrap();
    for prio in 0..8u32 {
        for dp in 0..2u32 {
            let id = (prio << 26) | (dp << 24) | 0x00DA_10F1;
            let f = Frame::new(xid(id), &[0x01, 0x42]).unwrap();
            assert_eq!(ecu.accepts(&f), Some(TargetAddressType::Physical), "{id:X}");
        }
    }
}

#[test]
fn normal_fixed_rejects_another_target_or_source_address() {
    // Zephyr test_receive_sf_fixed: a different TA must be ignored; a different SA is another peer.
    let ecu = Address::normal_fixed_29(0xF1, 0x10).unwrap();
    let f = |id: u32| Frame::new(xid(id), &[0x01, 0x42]).unwrap();
    assert_eq!(ecu.accepts(&f(0x18DA_11F1)), None);
    assert_eq!(ecu.accepts(&f(0x18DA_10F2)), None);
    assert_eq!(ecu.accepts(&f(0x18DC_10F1)), None);
    assert_eq!(
        ecu.accepts(&Frame::new(sid(0x7F1), &[0x01, 0x42]).unwrap()),
        None
    );
    assert_eq!(
        ecu.accepts(&f(0x18DB_10F1)),
        Some(TargetAddressType::Functional)
    );
}

#[test]
fn fixed_modes_accept_custom_base_ids() {
    let tester = Address::builder(AddressingMode::NormalFixed29)
        .target_address(0x10)
        .source_address(0xF1)
        .physical_id(0x14DA_0000)
        .functional_id(0x14DB_0000)
        .build()
        .unwrap();
    assert_eq!(
        tester.tx_id(TargetAddressType::Physical),
        Some(xid(0x14DA_10F1))
    );
    assert_eq!(
        tester.tx_id(TargetAddressType::Functional),
        Some(xid(0x14DB_10F1))
    );
    let mut p = Pair::new(tester, Config::default(), Config::default());
    p.send(Side::A, &payload(40, 0));
    p.run();
    assert_eq!(p.received(Side::B), vec![payload(40, 0)]);
}

#[test]
fn mixed_29_uses_0x18ce_and_0x18cd() {
    let a = build(AddressingMode::Mixed29);
    assert_eq!(a.tx_id(TargetAddressType::Physical), Some(xid(0x18CE_10F1)));
    assert_eq!(
        a.tx_id(TargetAddressType::Functional),
        Some(xid(0x18CD_10F1))
    );
}

#[test]
fn functional_receive_id_of_an_ecu_delivers_functional_messages() {
    let ecu = Address::builder(AddressingMode::Normal11)
        .txid(0x7E8)
        .rxid(0x7E0)
        .functional_rxid(0x7DF)
        .build()
        .unwrap();
    let mut s = Solo::with_address(ecu, Config::default(), sid(0x7DF));
    s.rx(&[0x02, 0x3E, 0x00]);
    assert_eq!(
        s.take_events(),
        vec![Event::Received {
            payload: vec![0x3E, 0x00],
            target_address_type: TargetAddressType::Functional
        }]
    );
}

// ---------------------------------------------------------------- asymmetric, tx-only, rx-only

#[test]
fn asymmetric_address_sends_with_one_mode_and_receives_with_another() {
    let tx = Address::builder(AddressingMode::Normal11)
        .txid(0x7E0)
        .tx_only()
        .build()
        .unwrap();
    let rx = Address::builder(AddressingMode::Extended11)
        .rxid(0x7E8)
        .source_address(0xF1)
        .rx_only()
        .build()
        .unwrap();
    let tester = Address::asymmetric(tx, rx).unwrap();
    assert_eq!(tester.tx_prefix(), None);
    assert_eq!(tester.rx_prefix(), Some(0xF1));
    assert_eq!(tester.to_string(), "Extended_11bits tx 7E0 rx 7E8[F1]");
    let mut p = Pair::new(tester, Config::default(), Config::default());
    p.send(Side::A, &payload(20, 0));
    p.send(Side::B, &payload(20, 1));
    p.run();
    assert_eq!(p.received(Side::B), vec![payload(20, 0)]);
    assert_eq!(p.received(Side::A), vec![payload(20, 1)]);
    for r in &p.log {
        match r.from {
            Side::A => {
                assert_eq!(r.frame.id(), sid(0x7E0));
                assert_ne!(r.frame.data()[0], 0xF1);
            }
            Side::B => {
                assert_eq!(r.frame.id(), sid(0x7E8));
                assert_eq!(r.frame.data()[0], 0xF1);
            }
        }
    }
}

#[test]
fn asymmetric_needs_a_transmit_and_a_receive_side() {
    let tx_only = Address::builder(AddressingMode::Normal11)
        .txid(0x7E0)
        .tx_only()
        .build()
        .unwrap();
    let rx_only = Address::builder(AddressingMode::Normal11)
        .rxid(0x7E8)
        .rx_only()
        .build()
        .unwrap();
    assert_eq!(
        Address::asymmetric(rx_only, rx_only)
            .unwrap_err()
            .to_string(),
        "the address has no transmit side"
    );
    assert_eq!(
        Address::asymmetric(tx_only, tx_only)
            .unwrap_err()
            .to_string(),
        "the address has no receive side"
    );
}

#[test]
fn tx_only_address_receives_nothing() {
    let a = Address::builder(AddressingMode::Normal11)
        .txid(0x7E0)
        .tx_only()
        .build()
        .unwrap();
    assert!(a.can_transmit() && !a.can_receive());
    let mut s = Solo::with_address(a, Config::default(), sid(0x7E8));
    s.rx(&[0x01, 0x42]);
    s.expect_no_events();
    s.send(&[1, 2, 3]);
    s.expect_tx(&[0x03, 1, 2, 3]);
    // A segmented message can never get its flow control: N_Bs ends it.
    let id = s.send(&payload(20, 0));
    s.tx();
    s.advance(ms(1000));
    assert!(s.take_events().contains(&Event::SendFailed {
        id,
        error: ProtocolError::TimeoutBs { limit: ms(1000) }
    }));
}

#[test]
fn rx_only_address_cannot_send_and_cannot_answer_a_first_frame() {
    let a = Address::builder(AddressingMode::Normal11)
        .rxid(0x7E8)
        .rx_only()
        .build()
        .unwrap();
    assert!(!a.can_transmit() && a.can_receive());
    let mut s = Solo::with_address(a, Config::default(), sid(0x7E8));
    assert_eq!(
        s.ep.send(&[1], TargetAddressType::Physical),
        Err(SendError::NoTransmitAddress)
    );
    s.rx(&[0x01, 0x42]);
    assert_eq!(s.expect_received(), vec![0x42]);
    s.rx(&cat(&[&[0x10, 20], &[0; 6]]));
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::NotForThisAddress)]
    );
    s.expect_no_tx();
    assert!(!s.ep.is_receiving());
}

#[test]
fn mirrored_address_swaps_every_field() {
    for m in AddressingMode::ALL {
        let a = build(m);
        let b = a.mirrored().unwrap();
        assert_eq!(b.mirrored().unwrap(), a, "{m}");
        let (tx_id, rx_id, tx_prefix, rx_prefix) = expected(m);
        assert_eq!(b.tx_id(TargetAddressType::Physical), Some(rx_id));
        assert_eq!(b.tx_prefix(), rx_prefix);
        assert_eq!(b.rx_prefix(), tx_prefix);
        let f = Frame::new(
            tx_id,
            &tx_prefix
                .into_iter()
                .chain([0x01, 0x42])
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(b.accepts(&f), Some(TargetAddressType::Physical), "{m}");
    }
}

#[test]
fn same_id_with_different_extended_address_bytes_is_allowed() {
    let a = Address::extended_11(0x600, 0x600, 0x10, 0xF1).unwrap();
    let mut p = Pair::new(a, Config::default(), Config::default());
    p.send(Side::A, &payload(20, 0));
    p.run();
    assert_eq!(p.received(Side::B), vec![payload(20, 0)]);
    assert!(p.received(Side::A).is_empty());
}

#[test]
fn address_display_forms() {
    assert_eq!(tester_address().to_string(), "Normal_11bits tx 7E0 rx 7E8");
    assert_eq!(
        Address::extended_11(0x6F1, 0x610, 0x10, 0xF1)
            .unwrap()
            .to_string(),
        "Extended_11bits tx 6F1[10] rx 610[F1]"
    );
    assert_eq!(
        Address::normal_fixed_29(0x10, 0xF1).unwrap().to_string(),
        "NormalFixed_29bits tx 18DA10F1/18DB10F1 rx xxDAF110"
    );
    assert_eq!(
        build(AddressingMode::Normal11).to_string(),
        "Normal_11bits tx 7E0/7DF rx 7E8"
    );
    assert_eq!(
        Address::mixed_11(0x7E0, 0x7E8, 0x99).unwrap().to_string(),
        "Mixed_11bits tx 7E0[99] rx 7E8[99]"
    );
}

#[test]
fn extended_frame_without_data_is_not_accepted() {
    let a = Address::extended_11(0x6F1, 0x610, 0x10, 0xF1).unwrap();
    assert_eq!(a.accepts(&Frame::new(sid(0x610), &[]).unwrap()), None);
    let mut s = Solo::with_address(a, Config::default(), sid(0x610));
    s.rx(&[0xF1]); // the address byte but no PCI
    assert_eq!(
        s.take_events(),
        vec![Event::Warning(Warning::Malformed(ParseError::Empty))]
    );
}

// ---------------------------------------------------------------- validation errors

fn err(r: Result<Address, AddressError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn txid_out_of_range_for_11_bits() {
    assert_eq!(
        err(Address::normal_11(0x800, 0x7E8)),
        "txid 0x800 is out of range for Normal_11bits: the largest 11-bit id is 0x7FF"
    );
}

#[test]
fn rxid_out_of_range_for_11_bits() {
    assert_eq!(
        err(Address::normal_11(0x7E0, 0xFFFF)),
        "rxid 0xFFFF is out of range for Normal_11bits: the largest 11-bit id is 0x7FF"
    );
}

#[test]
fn txid_out_of_range_for_29_bits() {
    assert_eq!(
        err(Address::normal_29(0x2000_0000, 1)),
        "txid 0x20000000 is out of range for Normal_29bits: the largest 29-bit id is 0x1FFFFFFF"
    );
}

#[test]
fn functional_ids_are_range_checked() {
    assert_eq!(
        err(Address::builder(AddressingMode::Mixed11)
            .txid(1)
            .rxid(2)
            .address_extension(0)
            .functional_txid(0x800)
            .build()),
        "functional_txid 0x800 is out of range for Mixed_11bits: the largest 11-bit id is 0x7FF"
    );
    assert_eq!(
        err(Address::builder(AddressingMode::Extended11)
            .txid(1)
            .rxid(2)
            .target_address(1)
            .source_address(2)
            .functional_rxid(0x1000)
            .build()),
        "functional_rxid 0x1000 is out of range for Extended_11bits: the largest 11-bit id is 0x7FF"
    );
}

#[test]
fn fixed_base_ids_are_range_checked() {
    assert_eq!(
        err(Address::builder(AddressingMode::NormalFixed29)
            .target_address(1)
            .source_address(2)
            .physical_id(0x2000_0000)
            .build()),
        "physical_id 0x20000000 is out of range for NormalFixed_29bits: the largest 29-bit id is 0x1FFFFFFF"
    );
}

#[test]
fn missing_fields_are_named() {
    let cases: Vec<(Result<Address, AddressError>, &str)> = vec![
        (
            Address::builder(AddressingMode::Normal11).rxid(1).build(),
            "Normal_11bits addressing needs txid",
        ),
        (
            Address::builder(AddressingMode::Normal29).txid(1).build(),
            "Normal_29bits addressing needs rxid",
        ),
        (
            Address::builder(AddressingMode::NormalFixed29)
                .source_address(1)
                .build(),
            "NormalFixed_29bits addressing needs target_address",
        ),
        (
            Address::builder(AddressingMode::NormalFixed29)
                .target_address(1)
                .build(),
            "NormalFixed_29bits addressing needs source_address",
        ),
        (
            Address::builder(AddressingMode::Extended11)
                .txid(1)
                .rxid(2)
                .source_address(1)
                .build(),
            "Extended_11bits addressing needs target_address",
        ),
        (
            Address::builder(AddressingMode::Extended29)
                .txid(1)
                .rxid(2)
                .target_address(1)
                .build(),
            "Extended_29bits addressing needs source_address",
        ),
        (
            Address::builder(AddressingMode::Mixed11)
                .txid(1)
                .rxid(2)
                .build(),
            "Mixed_11bits addressing needs address_extension",
        ),
        (
            Address::builder(AddressingMode::Mixed29)
                .target_address(1)
                .source_address(2)
                .build(),
            "Mixed_29bits addressing needs address_extension",
        ),
    ];
    for (r, text) in cases {
        assert_eq!(err(r), text);
    }
}

#[test]
fn fields_a_mode_does_not_use_are_refused() {
    let cases: Vec<(Result<Address, AddressError>, &str)> = vec![
        (
            Address::builder(AddressingMode::Normal11)
                .txid(1)
                .rxid(2)
                .target_address(3)
                .build(),
            "Normal_11bits addressing does not use target_address; remove it",
        ),
        (
            Address::builder(AddressingMode::Normal29)
                .txid(1)
                .rxid(2)
                .source_address(3)
                .build(),
            "Normal_29bits addressing does not use source_address; remove it",
        ),
        (
            Address::builder(AddressingMode::Extended11)
                .txid(1)
                .rxid(2)
                .target_address(3)
                .source_address(4)
                .address_extension(5)
                .build(),
            "Extended_11bits addressing does not use address_extension; remove it",
        ),
        (
            Address::builder(AddressingMode::NormalFixed29)
                .txid(1)
                .target_address(3)
                .source_address(4)
                .build(),
            "NormalFixed_29bits addressing does not use txid; remove it",
        ),
        (
            Address::builder(AddressingMode::Mixed29)
                .rxid(1)
                .target_address(3)
                .source_address(4)
                .address_extension(5)
                .build(),
            "Mixed_29bits addressing does not use rxid; remove it",
        ),
        (
            Address::builder(AddressingMode::Normal11)
                .txid(1)
                .rxid(2)
                .physical_id(0x18DA0000)
                .build(),
            "Normal_11bits addressing does not use physical_id; remove it",
        ),
        (
            Address::builder(AddressingMode::Mixed11)
                .txid(1)
                .rxid(2)
                .address_extension(1)
                .functional_id(0)
                .build(),
            "Mixed_11bits addressing does not use functional_id; remove it",
        ),
        (
            Address::builder(AddressingMode::Normal11)
                .txid(1)
                .rxid(2)
                .tx_only()
                .build(),
            "Normal_11bits addressing does not use rxid; remove it",
        ),
        (
            Address::builder(AddressingMode::Normal11)
                .txid(1)
                .rxid(2)
                .rx_only()
                .build(),
            "Normal_11bits addressing does not use txid; remove it",
        ),
    ];
    for (r, text) in cases {
        assert_eq!(err(r), text);
    }
}

#[test]
fn identical_transmit_and_receive_addresses_are_refused() {
    assert_eq!(
        err(Address::normal_11(0x7E0, 0x7E0)),
        "Normal_11bits: transmit and receive addresses are the same; give the peer a different id or address byte"
    );
    assert_eq!(
        err(Address::extended_11(0x600, 0x600, 0x10, 0x10)),
        "Extended_11bits: transmit and receive addresses are the same; give the peer a different id or address byte"
    );
    assert_eq!(
        err(Address::mixed_11(0x600, 0x600, 0x10)),
        "Mixed_11bits: transmit and receive addresses are the same; give the peer a different id or address byte"
    );
    assert_eq!(
        err(Address::normal_fixed_29(0x10, 0x10)),
        "NormalFixed_29bits: transmit and receive addresses are the same; give the peer a different id or address byte"
    );
}

#[test]
fn can_ids_out_of_range_are_frame_errors() {
    assert_eq!(
        CanId::standard(0x800).unwrap_err().to_string(),
        "CAN id 0x800 does not fit 11 bits (largest 0x7FF); use a 29-bit id"
    );
    assert_eq!(
        CanId::extended(0x2000_0000).unwrap_err().to_string(),
        "CAN id 0x20000000 does not fit 29 bits (largest 0x1FFFFFFF)"
    );
    assert_eq!(
        Frame::new(sid(1), &[0; 9]).unwrap_err().to_string(),
        "a classic CAN frame carries at most 8 bytes, not 9; use CAN FD for more"
    );
    assert_eq!(
        Frame::new_fd(sid(1), &[0; 65]).unwrap_err().to_string(),
        "a CAN FD frame carries at most 64 bytes, not 65"
    );
    assert_eq!(
        Frame::new_fd(sid(1), &[0; 13]).unwrap_err().to_string(),
        "13 bytes is not a CAN FD frame length: use 0-8, 12, 16, 20, 24, 32, 48 or 64"
    );
}

#[test]
fn frame_debug_is_candump_style() {
    assert_eq!(
        format!(
            "{:?}",
            Frame::new(sid(0x7E0), &[0x03, 0x22, 0xF1, 0x90]).unwrap()
        ),
        "7E0#0322F190"
    );
    assert_eq!(
        format!(
            "{}",
            Frame::new_fd(xid(0x18DA10F1), &[0x01, 0x02])
                .unwrap()
                .with_brs(true)
        ),
        "18DA10F1##10102"
    );
}

// ---------------------------------------------------------------- from ids and address bytes

#[test]
fn from_ids_picks_the_mode_from_the_id_width_and_the_bytes() {
    use isotp_core::AddressBytes;
    let cases = [
        (
            sid(0x7E0),
            sid(0x7E8),
            AddressBytes::None,
            AddressingMode::Normal11,
        ),
        (
            xid(0x18DA_10F1),
            xid(0x18DA_F110),
            AddressBytes::None,
            AddressingMode::Normal29,
        ),
        (
            sid(0x6F1),
            sid(0x610),
            AddressBytes::Extended { tx: 0x10, rx: 0xF1 },
            AddressingMode::Extended11,
        ),
        (
            xid(0x1BAD_0001),
            xid(0x1BAD_0002),
            AddressBytes::Extended { tx: 0x10, rx: 0xF1 },
            AddressingMode::Extended29,
        ),
        (
            sid(0x7E0),
            sid(0x7E8),
            AddressBytes::Mixed(0x99),
            AddressingMode::Mixed11,
        ),
        // Free 29-bit ids with one byte both ways: extended addressing, the same on the wire.
        (
            xid(0x1BAD_0001),
            xid(0x1BAD_0002),
            AddressBytes::Mixed(0x99),
            AddressingMode::Extended29,
        ),
    ];
    for (tx, rx, bytes, mode) in cases {
        let a = Address::from_ids(Some(tx), Some(rx), bytes).unwrap();
        assert_eq!(a.mode(), mode, "{bytes:?}");
        assert_eq!(a.tx_id(TargetAddressType::Physical), Some(tx));
        let (t, r, b) = a.ids().unwrap();
        assert_eq!((t, r), (Some(tx), Some(rx)));
        let again = Address::from_ids(t, r, b).unwrap();
        assert_eq!(
            (again.tx_prefix(), again.rx_prefix()),
            (a.tx_prefix(), a.rx_prefix())
        );
        assert_eq!(again.rx_ids(), a.rx_ids());
    }
}

#[test]
fn from_ids_one_sided_and_asymmetric() {
    use isotp_core::AddressBytes;
    let tx_only = Address::from_ids(Some(sid(0x7DF)), None, AddressBytes::None).unwrap();
    assert!(tx_only.can_transmit() && !tx_only.can_receive());
    let rx_only = Address::from_ids(None, Some(sid(0x7E8)), AddressBytes::None).unwrap();
    assert!(!rx_only.can_transmit() && rx_only.can_receive());
    let mixed_widths =
        Address::from_ids(Some(sid(0x7E0)), Some(xid(0x18DA_F110)), AddressBytes::None).unwrap();
    assert_eq!(mixed_widths.rx_ids(), Some((xid(0x18DA_F110), None)));
    assert_eq!(
        Address::from_ids(None, None, AddressBytes::None),
        Err(AddressError::MissingDirection {
            needed: "transmit or receive"
        })
    );
    assert_eq!(
        Address::from_ids(Some(sid(0x7E0)), Some(sid(0x7E0)), AddressBytes::None),
        Err(AddressError::SameTxRx {
            mode: AddressingMode::Normal11
        })
    );
    // The same id both ways works when the address bytes tell the directions apart.
    assert!(Address::from_ids(
        Some(sid(0x7E0)),
        Some(sid(0x7E0)),
        AddressBytes::Extended { tx: 1, rx: 2 }
    )
    .is_ok());
}

#[test]
fn ids_of_fixed_modes_and_one_sided_bytes() {
    let fixed = Address::normal_fixed_29(0x10, 0xF1).unwrap();
    assert_eq!(
        fixed.ids(),
        Ok((
            Some(xid(0x18DA_10F1)),
            Some(xid(0x18DA_F110)),
            isotp_core::AddressBytes::None
        ))
    );
    let tx = Address::builder(AddressingMode::Normal11)
        .txid(0x7E0)
        .tx_only()
        .build()
        .unwrap();
    let rx = Address::builder(AddressingMode::Extended11)
        .rxid(0x7E8)
        .source_address(0xF1)
        .rx_only()
        .build()
        .unwrap();
    let a = Address::asymmetric(tx, rx).unwrap();
    assert_eq!(a.ids(), Err(AddressError::OneSidedAddressByte));
}
