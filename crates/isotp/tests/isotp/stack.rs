//! The blocking Stack over the virtual bus: delivery, errors, control calls, shutdown.

use std::time::{Duration, Instant};

use isotp::bus::{CanBus, VirtualBus};
use isotp::{Address, Config, Direction, ProtocolError, Stack, StackError, TargetAddressType};
use isotp_core::{wire::StMin, CanId, Frame};

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

fn pair_with(config: Config) -> (VirtualBus, Stack, Stack) {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let a = Stack::new(bus.attach(), address, config).unwrap();
    let b = Stack::new(bus.attach(), address.mirrored().unwrap(), config).unwrap();
    (bus, a, b)
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + len).to_le_bytes()[0]).collect()
}

#[test]
fn messages_of_every_size_class_arrive_intact() {
    let mut config = Config::default();
    config.max_frame_size = 100_000;
    let (_bus, a, b) = pair_with(config);
    for len in [1, 6, 7, 8, 62, 100, 4095, 4096, 10_000, 66_000] {
        let data = payload(len);
        a.send_blocking(&data, WAIT).unwrap();
        assert_eq!(b.recv(WAIT).unwrap().as_deref(), Some(&data[..]), "{len}");
    }
}

#[test]
fn both_directions_at_once() {
    let (_bus, a, b) = pair_with(Config::default());
    let x = payload(3000);
    let y = payload(2000);
    a.send(&x).unwrap();
    b.send(&y).unwrap();
    assert_eq!(b.recv(WAIT).unwrap(), Some(x));
    assert_eq!(a.recv(WAIT).unwrap(), Some(y));
}

#[test]
fn queued_messages_go_out_in_order() {
    let (_bus, a, b) = pair_with(Config::default());
    for i in 0..20u8 {
        a.send(&[i; 50]).unwrap();
    }
    for i in 0..20u8 {
        assert_eq!(b.recv(WAIT).unwrap(), Some(vec![i; 50]));
    }
}

#[test]
fn can_fd_with_block_size_and_st_min() {
    let mut config = Config::default();
    config.link_layer.can_fd = true;
    config.link_layer.tx_data_length = 64;
    config.link_layer.bitrate_switch = true;
    config.block_size = 4;
    config.st_min = StMin::from_byte(0xF1);
    let (_bus, a, b) = pair_with(config);
    let data = payload(4000);
    a.send_blocking(&data, WAIT).unwrap();
    assert_eq!(b.recv(WAIT).unwrap(), Some(data));
}

#[test]
fn st_min_makes_the_transfer_take_at_least_its_gaps() {
    let mut config = Config::default();
    config.st_min = StMin::from_byte(2); // 2 ms
    let (_bus, a, b) = pair_with(config);
    let data = payload(7 * 11 + 6); // FF + 11 CFs: 10 gaps
    let start = Instant::now();
    a.send_blocking(&data, WAIT).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(b.recv(WAIT).unwrap(), Some(data));
}

#[test]
fn send_blocking_reports_a_missing_flow_control() {
    let bus = VirtualBus::new();
    let mut config = Config::default();
    config.n_bs = Duration::from_millis(50);
    let a = Stack::new(
        bus.attach(),
        Address::normal_11(0x7E0, 0x7E8).unwrap(),
        config,
    )
    .unwrap();
    let start = Instant::now();
    let err = a.send_blocking(&payload(100), WAIT).unwrap_err();
    assert!(
        matches!(err, StackError::Protocol(ProtocolError::TimeoutBs { .. })),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "no flow control received within N_Bs = 50 ms"
    );
    assert!(start.elapsed() >= Duration::from_millis(50));
    // The failure is also reported asynchronously.
    let reported = a.errors().recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(matches!(
        reported,
        StackError::Protocol(ProtocolError::TimeoutBs { .. })
    ));
    assert!(!a.transmitting());
}

#[test]
fn send_blocking_gives_up_after_its_timeout_but_the_message_still_goes() {
    let mut config = Config::default();
    config.st_min = StMin::from_byte(10);
    let (_bus, a, b) = pair_with(config);
    let data = payload(7 * 10);
    let err = a
        .send_blocking(&data, Some(Duration::from_millis(5)))
        .unwrap_err();
    assert!(matches!(err, StackError::Timeout { .. }), "{err}");
    assert_eq!(b.recv(WAIT).unwrap(), Some(data));
}

#[test]
fn a_receive_timeout_is_reported_on_the_error_channel() {
    let bus = VirtualBus::new();
    let mut config = Config::default();
    config.n_cr = Duration::from_millis(30);
    let b = Stack::new(
        bus.attach(),
        Address::normal_11(0x7E8, 0x7E0).unwrap(),
        config,
    )
    .unwrap();
    let raw = bus.attach();
    let id = CanId::standard(0x7E0).unwrap();
    raw.send(&Frame::new(id, &[0x10, 0x20, 1, 2, 3, 4, 5, 6]).unwrap())
        .unwrap();
    // The stack answers with a flow control frame...
    let fc = raw.recv(WAIT).unwrap().unwrap();
    assert_eq!(fc.data(), &[0x30, 0x00, 0x00]);
    // ...and gives up after N_Cr without consecutive frames.
    let err = b.errors().recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        matches!(err, StackError::Protocol(ProtocolError::TimeoutCr { .. })),
        "{err}"
    );
    assert_eq!(b.recv(Some(Duration::ZERO)).unwrap(), None);
}

/// A configuration asked for while a first frame is being answered is not applied and drops
/// nothing: the reception completes, and the next ask applies it (the Python package's live
/// `params.set` relies on this).
#[test]
fn a_configuration_change_waits_for_a_reception_in_progress() {
    let bus = VirtualBus::new();
    let b = Stack::new(
        bus.attach(),
        Address::normal_11(0x7E8, 0x7E0).unwrap(),
        Config::default(),
    )
    .unwrap();
    let raw = bus.attach();
    let id = CanId::standard(0x7E0).unwrap();
    raw.send(&Frame::new(id, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6]).unwrap())
        .unwrap();
    let fc = raw.recv(WAIT).unwrap().unwrap();
    assert_eq!(fc.data(), &[0x30, 0x00, 0x00]);
    let mut slower = Config::default();
    slower.st_min = StMin::from_byte(100);
    assert_eq!(
        b.set_config_if_idle(slower).unwrap(),
        isotp::Reconfigured::Busy
    );
    raw.send(&Frame::new(id, &[0x21, 7, 8, 9, 10]).unwrap())
        .unwrap();
    assert_eq!(b.recv(WAIT).unwrap(), Some((1..=10).collect::<Vec<u8>>()));
    assert_eq!(
        b.set_config_if_idle(slower).unwrap(),
        isotp::Reconfigured::Applied
    );
    // The next flow control carries the new STmin.
    raw.send(&Frame::new(id, &[0x10, 0x0A, 1, 2, 3, 4, 5, 6]).unwrap())
        .unwrap();
    let fc = raw.recv(WAIT).unwrap().unwrap();
    assert_eq!(fc.data(), &[0x30, 0x00, 100]);
}

#[test]
fn recv_times_out_with_none() {
    let (_bus, a, _b) = pair_with(Config::default());
    let start = Instant::now();
    assert_eq!(a.recv(Some(Duration::from_millis(20))).unwrap(), None);
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(a.try_recv(), None);
    assert!(!a.available());
}

#[test]
fn available_and_try_recv() {
    let (_bus, a, b) = pair_with(Config::default());
    a.send_blocking(&[1, 2, 3], WAIT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !b.available() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(b.available());
    assert_eq!(b.try_recv(), Some(vec![1, 2, 3]));
    assert!(!b.available());
}

#[test]
fn functional_requests_are_single_frames_only() {
    let bus = VirtualBus::new();
    let tester = Address::builder(isotp::AddressingMode::Normal11)
        .txid(0x7E0)
        .rxid(0x7E8)
        .functional_txid(0x7DF)
        .build()
        .unwrap();
    let ecu = tester.mirrored().unwrap();
    let a = Stack::new(bus.attach(), tester, Config::default()).unwrap();
    let b = Stack::new(bus.attach(), ecu, Config::default()).unwrap();
    a.send_to(&[0x3E, 0x00], TargetAddressType::Functional)
        .unwrap();
    let m = b.recv_message(WAIT).unwrap().unwrap();
    assert_eq!(m.payload, [0x3E, 0x00]);
    assert_eq!(m.target_address_type, TargetAddressType::Functional);
    assert_eq!(m.direction, Direction::Rx);
    let err = a
        .send_to(&payload(20), TargetAddressType::Functional)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a functional message of 20 bytes does not fit a single frame (at most 7); send it physically"
    );
}

#[test]
fn stop_sending_releases_a_blocked_sender() {
    let bus = VirtualBus::new();
    let a = std::sync::Arc::new(
        Stack::new(
            bus.attach(),
            Address::normal_11(0x7E0, 0x7E8).unwrap(),
            Config::default(),
        )
        .unwrap(),
    );
    let sender = {
        let a = a.clone();
        std::thread::spawn(move || a.send_blocking(&payload(100), WAIT))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !a.transmitting() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(5));
    a.stop_sending();
    let result = sender.join().unwrap();
    assert!(matches!(result, Err(StackError::Stopped)), "{result:?}");
    assert!(!a.transmitting());
}

#[test]
fn reset_empties_the_mailbox() {
    let (_bus, a, b) = pair_with(Config::default());
    a.send_blocking(&[9; 3], WAIT).unwrap();
    a.send_blocking(&[8; 3], WAIT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.link().config().is_some() && !b.available() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(20));
    b.reset();
    assert_eq!(b.try_recv(), None);
}

#[test]
fn set_address_moves_the_link_to_new_ids() {
    let (bus, a, b) = pair_with(Config::default());
    let c = Stack::new(
        bus.attach(),
        Address::normal_11(0x7E9, 0x7E1).unwrap(),
        Config::default(),
    )
    .unwrap();
    a.set_address(Address::normal_11(0x7E1, 0x7E9).unwrap());
    assert_eq!(a.address(), Address::normal_11(0x7E1, 0x7E9).unwrap());
    a.send_blocking(&payload(30), WAIT).unwrap();
    assert_eq!(c.recv(WAIT).unwrap(), Some(payload(30)));
    assert_eq!(b.recv(Some(Duration::from_millis(20))).unwrap(), None);
}

#[test]
fn listen_mode_observes_both_directions_without_transmitting() {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let a = Stack::new(bus.attach(), address, Config::default()).unwrap();
    let b = Stack::new(bus.attach(), address.mirrored().unwrap(), Config::default()).unwrap();
    let mut listen = Config::default();
    listen.listen_mode = true;
    // The sniffer poses as `a`: what `a` receives is Received, what `a` sends is Observed.
    let sniffer = Stack::new(bus.attach(), address, listen).unwrap();
    let frames_before = bus.frames_sent();
    a.send_blocking(&payload(300), WAIT).unwrap();
    assert_eq!(b.recv(WAIT).unwrap(), Some(payload(300)));
    b.send_blocking(&payload(20), WAIT).unwrap();
    assert_eq!(a.recv(WAIT).unwrap(), Some(payload(20)));
    let first = sniffer.recv_message(WAIT).unwrap().unwrap();
    assert_eq!(first.direction, Direction::Tx);
    assert_eq!(first.payload, payload(300));
    let second = sniffer.recv_message(WAIT).unwrap().unwrap();
    assert_eq!(second.direction, Direction::Rx);
    assert_eq!(second.payload, payload(20));
    // 300 bytes: FF + 42 CFs + 1 FC; 20 bytes: FF + 2 CFs + 1 FC. Nothing from the sniffer.
    assert_eq!(bus.frames_sent() - frames_before, 44 + 4);
    assert!(matches!(
        sniffer.send(&[1]),
        Err(StackError::Send(isotp_core::SendError::ListenMode))
    ));
}

#[test]
fn invalid_configuration_is_refused_with_the_field_named() {
    let bus = VirtualBus::new();
    let mut config = Config::default();
    config.link_layer.tx_data_length = 13;
    let err = Stack::new(bus.attach(), Address::normal_11(1, 2).unwrap(), config)
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "invalid configuration: link_layer.tx_data_length = 13 is not allowed: 8, 12, 16, 20, 24, 32, 48 or 64"
    );
}

#[test]
fn dropping_a_stack_stops_its_thread_promptly() {
    let bus = VirtualBus::new();
    let start = Instant::now();
    for _ in 0..50 {
        let s = Stack::new(
            bus.attach(),
            Address::normal_11(1, 2).unwrap(),
            Config::default(),
        )
        .unwrap();
        s.send(&payload(100)).unwrap(); // leaves an N_Bs timer running
        drop(s);
    }
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_flooded_bus_does_not_disturb_a_transfer() {
    let (bus, a, b) = pair_with(Config::default());
    let noise = bus.attach();
    let flood = std::thread::spawn(move || {
        let other = CanId::standard(0x100).unwrap();
        for i in 0..20_000u32 {
            let _ = noise.send(&Frame::new(other, &i.to_le_bytes()).unwrap());
        }
    });
    let data = payload(4095);
    a.send_blocking(&data, WAIT).unwrap();
    assert_eq!(b.recv(WAIT).unwrap(), Some(data));
    flood.join().unwrap();
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime writes the zeroed timespec we pass and reads nothing else.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(
        u64::try_from(t.tv_sec).unwrap(),
        u32::try_from(t.tv_nsec).unwrap(),
    )
}

/// The default polling before sleeping (`DriverOptions::spin_before_park`) follows the node's own
/// transmissions: a thread waiting for a message while its node has sent nothing sleeps, however
/// long it waits, instead of burning its core.
#[test]
fn a_waiting_thread_that_sent_nothing_sleeps() {
    let (_bus, a, b) = pair_with(Config::default());
    // Frames arriving during the wait: each ends one sleep of the waiter, which would then poll
    // again if it polled regardless of what it sent.
    let chatter = std::thread::spawn(move || {
        for i in 0..30u8 {
            b.send_blocking(&[i], WAIT).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        b
    });
    let cpu = thread_cpu();
    let mut got = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(300) {
        if a.recv(Some(Duration::from_millis(20))).unwrap().is_some() {
            got += 1;
        }
    }
    let used = thread_cpu() - cpu;
    chatter.join().unwrap();
    assert!(got > 0);
    assert!(
        used < Duration::from_millis(60),
        "{used:?} of CPU in 300 ms of waiting"
    );
}

/// A tester and an ECU that asks BS 8 and STmin 1 ms (a 4095-byte request takes about 600 ms to
/// segment) and answers each request 20 ms after its last frame.
fn slow_ecu() -> (VirtualBus, Stack, std::thread::JoinHandle<()>) {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let tester = Stack::new(bus.attach(), address, Config::default()).unwrap();
    let mut ecu_config = Config::default();
    ecu_config.block_size = 8;
    ecu_config.st_min = StMin::from_byte(1);
    let ecu = Stack::new(bus.attach(), address.mirrored().unwrap(), ecu_config).unwrap();
    let ecu = std::thread::spawn(move || {
        let request = ecu.recv(WAIT).unwrap().expect("a request");
        std::thread::sleep(Duration::from_millis(20));
        ecu.send(&[0x76, request[1]]).unwrap();
        // Until the tester has read the response.
        let _ = ecu.recv(WAIT);
    });
    (bus, tester, ecu)
}

fn long_request() -> Vec<u8> {
    let mut request = payload(4095);
    request[0] = 0x36;
    request[1] = 0x01;
    request
}

#[test]
fn a_receive_timeout_starts_when_the_request_has_been_sent() {
    let (_bus, tester, ecu) = slow_ecu();
    let start = Instant::now();
    tester.send(&long_request()).unwrap();
    // The request is still being segmented when the 50 ms would have passed.
    let response = tester.recv(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(response, Some(vec![0x76, 0x01]));
    assert!(start.elapsed() >= Duration::from_millis(500));
    tester.send(&[0x3E, 0x00]).unwrap();
    ecu.join().unwrap();
}

#[test]
fn recv_started_within_starts_when_the_request_has_been_sent() {
    let (_bus, tester, ecu) = slow_ecu();
    tester.send(&long_request()).unwrap();
    let response = tester
        .recv_started_within(Duration::from_millis(50))
        .unwrap()
        .map(|m| m.payload);
    assert_eq!(response, Some(vec![0x76, 0x01]));
    tester.send(&[0x3E, 0x00]).unwrap();
    ecu.join().unwrap();
}

#[test]
fn a_receive_timeout_still_ends_after_the_request_has_been_sent() {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let tester = Stack::new(bus.attach(), address, Config::default()).unwrap();
    let mut ecu_config = Config::default();
    ecu_config.st_min = StMin::from_byte(10);
    let ecu = Stack::new(bus.attach(), address.mirrored().unwrap(), ecu_config).unwrap();
    let start = Instant::now();
    tester.send(&payload(7 * 10)).unwrap(); // 9 consecutive frames 10 ms apart
    assert_eq!(tester.recv(Some(Duration::from_millis(50))).unwrap(), None);
    // 90 ms of segmentation, then the 50 ms.
    assert!(start.elapsed() >= Duration::from_millis(140));
    assert_eq!(ecu.recv(WAIT).unwrap(), Some(payload(70)));
}

#[test]
fn a_receive_timeout_starts_when_the_request_failed_and_the_next_request_works() {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let mut config = Config::default();
    config.n_bs = Duration::from_millis(100);
    let tester = Stack::new(bus.attach(), address, config).unwrap();
    // Nobody answers the first frame: the request fails after N_Bs.
    let start = Instant::now();
    tester.send(&payload(100)).unwrap();
    assert_eq!(tester.recv(Some(Duration::from_millis(50))).unwrap(), None);
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert!(matches!(
        tester.errors().try_recv(),
        Some(StackError::Protocol(ProtocolError::TimeoutBs { .. }))
    ));
    assert!(!tester.transmitting());
    // An ECU comes: the next request and its response go through.
    let ecu = Stack::new(bus.attach(), address.mirrored().unwrap(), Config::default()).unwrap();
    let ecu = std::thread::spawn(move || {
        let request = ecu.recv(WAIT).unwrap().expect("a request");
        ecu.send(&request).unwrap();
        let _ = ecu.recv(WAIT);
    });
    tester.send(&payload(100)).unwrap();
    assert_eq!(
        tester.recv(Some(Duration::from_secs(5))).unwrap(),
        Some(payload(100))
    );
    tester.send(&[0x3E]).unwrap();
    ecu.join().unwrap();
}

#[test]
fn stop_sending_ends_the_wait_of_a_receive_timeout_for_the_request() {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let mut config = Config::default();
    config.n_bs = Duration::from_secs(30);
    let tester = std::sync::Arc::new(Stack::new(bus.attach(), address, config).unwrap());
    tester.send(&payload(100)).unwrap();
    let stopper = {
        let tester = tester.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            tester.stop_sending();
        })
    };
    let start = Instant::now();
    assert_eq!(tester.recv(Some(Duration::from_millis(20))).unwrap(), None);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    stopper.join().unwrap();
}

#[test]
fn a_message_arriving_while_the_request_goes_out_is_returned_at_once() {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let tester = Stack::new(bus.attach(), address, Config::default()).unwrap();
    let mut ecu_config = Config::default();
    ecu_config.st_min = StMin::from_byte(100);
    let _ecu = Stack::new(bus.attach(), address.mirrored().unwrap(), ecu_config).unwrap();
    tester.send(&payload(7 * 10)).unwrap(); // 9 consecutive frames 100 ms apart
                                            // Another node's single frame on the tester's receive id (a response pending, say).
    let raw = bus.attach();
    raw.send(&Frame::new(CanId::standard(0x7E8).unwrap(), &[0x03, 0x7F, 0x36, 0x78]).unwrap())
        .unwrap();
    let start = Instant::now();
    let got = tester.recv(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(got, Some(vec![0x7F, 0x36, 0x78]));
    assert!(tester.transmitting(), "returned before the request ended");
    assert!(start.elapsed() < Duration::from_millis(800));
}

#[test]
fn set_config_changes_what_the_next_transfer_asks() {
    let bus = VirtualBus::new();
    let listener = bus.attach();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let a = Stack::new(bus.attach(), address, Config::default()).unwrap();
    let b = Stack::new(bus.attach(), address.mirrored().unwrap(), Config::default()).unwrap();
    let mut config = b.config().unwrap();
    config.st_min = StMin::from_byte(5);
    config.block_size = 2;
    b.set_config(config).unwrap();
    assert_eq!(b.config().unwrap().st_min, StMin::from_byte(5));
    let data = payload(30);
    a.send_blocking(&data, WAIT).unwrap();
    assert_eq!(b.recv(WAIT).unwrap().as_deref(), Some(&data[..]));
    let mut flow_controls = Vec::new();
    while let Some(f) = listener.recv(Some(Duration::from_millis(100))).unwrap() {
        if f.id().raw() == 0x7E8 {
            flow_controls.push(f.data()[..3].to_vec());
        }
    }
    assert_eq!(flow_controls[0], [0x30, 2, 5]);
    // An invalid configuration changes nothing.
    config.n_bs = Duration::ZERO;
    assert!(matches!(b.set_config(config), Err(StackError::Config(_))));
    assert_eq!(b.config().unwrap().block_size, 2);
}

#[test]
fn ignored_frames_are_reported_when_asked() {
    use isotp::{DriverOptions, IgnoredFrames};
    use isotp_core::Warning;
    let bus = VirtualBus::new();
    let raw = bus.attach();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let quiet = Stack::new(bus.attach(), address, Config::default()).unwrap();
    let told = Stack::with_options(
        bus.attach(),
        address,
        Config::default(),
        DriverOptions::default().with_ignored_frames(IgnoredFrames::Reported),
    )
    .unwrap();
    let stray = Frame::new(
        CanId::standard(0x7E8).unwrap(),
        &[0x21, 1, 2, 3, 4, 5, 6, 7],
    )
    .unwrap();
    raw.send(&stray).unwrap();
    assert!(matches!(
        told.errors().recv_timeout(Duration::from_secs(5)),
        Some(StackError::FrameIgnored(
            Warning::UnexpectedConsecutiveFrame
        ))
    ));
    assert!(quiet
        .errors()
        .recv_timeout(Duration::from_millis(200))
        .is_none());
}

#[test]
fn a_zero_timeout_polls_even_while_the_link_transmits() {
    // Nobody answers the first frame: the link transmits (waits for a flow control) for N_Bs.
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let tester = Stack::new(bus.attach(), address, Config::default()).unwrap();
    tester.send(&payload(100)).unwrap();
    assert!(tester.transmitting());
    let started = Instant::now();
    assert_eq!(tester.recv(Some(Duration::ZERO)).unwrap(), None);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "a poll waited {:?} for the transmission to end",
        started.elapsed()
    );
    assert!(tester.transmitting());
}
