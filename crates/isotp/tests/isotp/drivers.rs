//! What the drivers promise beyond delivery: errors at once, bounded receive memory with ISO-TP's own
//! back-pressure, waits that wake only their waiter, the P2-style receive, capability checks.

use std::time::Duration;

use isotp::bus::{BusError, CanBus, Capabilities, FaultInjector, Faults, VirtualBus, VirtualPort};
use isotp::{
    Address, Config, DriverOptions, Node, ProtocolError, Stack, StackError, TargetAddressType,
};
use isotp_core::{wire::StMin, Frame};

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

fn address() -> Address {
    Address::normal_11(0x7E0, 0x7E8).unwrap()
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 + len).to_le_bytes()[0]).collect()
}

#[test]
fn send_blocking_returns_the_bus_error_at_once() {
    let bus = VirtualBus::new();
    let refusing = FaultInjector::new(bus.attach(), Faults::seeded(1).refuse_send(100));
    let mut config = Config::default();
    // Were the error left to N_As, the call would end with a timeout instead.
    config.n_as = Duration::from_secs(60);
    let a = Stack::new(refusing, address(), config).unwrap();
    let _b = Stack::new(bus.attach(), address().mirrored().unwrap(), config).unwrap();
    for len in [3, 4095] {
        match a.send_blocking(&payload(len), Some(Duration::from_secs(30))) {
            Err(StackError::Bus(BusError::Io { .. })) => {}
            other => panic!("{len} bytes: expected the bus's error, got {other:?}"),
        }
    }
    // The same error is on the error channel too, and the link still works for the next message.
    assert!(matches!(a.errors().try_recv(), Some(StackError::Bus(_))));
}

#[test]
fn a_transfer_survives_duplicated_and_delayed_frames() {
    let bus = VirtualBus::new();
    let faults = Faults::seeded(9).duplicate(5);
    let a = Stack::new(
        FaultInjector::new(bus.attach(), faults),
        address(),
        Config::default(),
    )
    .unwrap();
    let b = Stack::new(
        bus.attach(),
        address().mirrored().unwrap(),
        Config::default(),
    )
    .unwrap();
    // Duplicated flow control frames are ignored by the sender (a warning), so the data arrives.
    let data = payload(2000);
    a.send_blocking(&data, WAIT).unwrap();
    assert_eq!(b.recv(WAIT).unwrap(), Some(data));
}

/// A bus that says it carries classic frames only.
struct Classic(VirtualPort);

impl CanBus for Classic {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.0.send(frame)
    }
    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        self.0.recv(timeout)
    }
    fn interrupt(&self) {
        self.0.interrupt()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::CLASSIC
    }
}

#[test]
fn a_can_fd_configuration_on_a_classic_bus_is_refused_when_built() {
    let bus = VirtualBus::new();
    let mut config = Config::default();
    config.link_layer.can_fd = true;
    config.link_layer.tx_data_length = 64;
    let err = Stack::new(Classic(bus.attach()), address(), config).err();
    assert!(matches!(err, Some(StackError::CanFdUnsupported)), "{err:?}");
    assert!(err.unwrap().to_string().contains("classic"));
    assert!(Stack::new(Classic(bus.attach()), address(), Config::default()).is_ok());
    assert!(Stack::new(bus.attach(), address(), config).is_ok());
}

fn back_pressure_pair(queue: usize, config: Config) -> (VirtualBus, Stack, Stack) {
    let bus = VirtualBus::new();
    let a = Stack::new(bus.attach(), address(), config).unwrap();
    let b = Stack::with_options(
        bus.attach(),
        address().mirrored().unwrap(),
        config,
        DriverOptions::default().with_receive_queue(queue),
    )
    .unwrap();
    (bus, a, b)
}

#[test]
fn a_full_receive_queue_answers_wait_then_overflow_and_drops_single_frames_counted() {
    let mut config = Config::default();
    config.n_br = Duration::from_millis(5);
    config.wft_max = 3;
    let (_bus, a, b) = back_pressure_pair(2, config);
    a.send_blocking(&payload(100), WAIT).unwrap();
    a.send_blocking(&payload(101), WAIT).unwrap();
    // The queue is full: three FC.WAIT, then FC.OVFLW.
    match a.send_blocking(&payload(102), WAIT) {
        Err(StackError::Protocol(ProtocolError::BufferOverflow { .. })) => {}
        other => panic!("expected FC.OVFLW, got {other:?}"),
    }
    // A single frame cannot be held back: it is dropped, and counted on the receiver's errors.
    a.send_blocking(&[1, 2, 3], WAIT).unwrap();
    let errors = b.errors();
    let dropped =
        std::iter::from_fn(|| errors.recv_timeout(Duration::from_secs(10))).find_map(|e| match e {
            StackError::ReceiveQueueFull { dropped } => Some(dropped),
            _ => None,
        });
    assert_eq!(dropped, Some(1));
    // Nothing of what was accepted is lost, and reading makes room again.
    assert_eq!(b.recv(WAIT).unwrap(), Some(payload(100)));
    assert_eq!(b.recv(WAIT).unwrap(), Some(payload(101)));
    a.send_blocking(&payload(103), WAIT).unwrap();
    assert_eq!(b.recv(WAIT).unwrap(), Some(payload(103)));
}

#[test]
fn a_reception_held_by_wait_frames_completes_once_the_application_reads() {
    let mut config = Config::default();
    config.n_br = Duration::from_millis(20);
    config.wft_max = 255;
    let (_bus, a, b) = back_pressure_pair(1, config);
    a.send_blocking(&payload(50), WAIT).unwrap();
    let sender = std::thread::spawn(move || {
        a.send_blocking(&payload(51), WAIT).unwrap();
        a
    });
    // Wait until the second first frame is being held with FC.WAIT.
    while b.reception_progress().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(b.recv(WAIT).unwrap(), Some(payload(50)));
    let _a = sender.join().unwrap();
    assert_eq!(b.recv(WAIT).unwrap(), Some(payload(51)));
}

#[test]
fn recv_started_within_bounds_the_start_only() {
    let mut config = Config::default();
    config.st_min = StMin::from_byte(1); // 1 ms between frames: ~600 ms for 4000 bytes
    let bus = VirtualBus::new();
    let tester = Stack::new(bus.attach(), address(), config).unwrap();
    let ecu = Stack::new(bus.attach(), address().mirrored().unwrap(), config).unwrap();
    assert_eq!(
        tester
            .recv_started_within(Duration::from_millis(20))
            .unwrap(),
        None
    );
    let data = payload(4000);
    ecu.send(&data).unwrap();
    let got = tester
        .recv_started_within(Duration::from_millis(50))
        .unwrap();
    assert_eq!(got.map(|m| m.payload), Some(data));
}

#[test]
fn recv_started_within_ends_with_the_error_of_a_failed_reception() {
    let mut config = Config::default();
    config.st_min = StMin::from_byte(5);
    config.n_cr = Duration::from_millis(100);
    let bus = VirtualBus::new();
    let tester = Stack::new(bus.attach(), address(), config).unwrap();
    let ecu = Stack::new(bus.attach(), address().mirrored().unwrap(), config).unwrap();
    ecu.send(&payload(4000)).unwrap();
    while tester.reception_progress().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    ecu.stop_sending();
    match tester.recv_started_within(Duration::from_millis(10)) {
        Err(StackError::Protocol(ProtocolError::TimeoutCr { .. })) => {}
        other => panic!("expected N_Cr, got {other:?}"),
    }
}

#[test]
fn each_message_wakes_one_of_several_waiting_threads() {
    let bus = VirtualBus::new();
    let a = Stack::new(bus.attach(), address(), Config::default()).unwrap();
    let b = std::sync::Arc::new(
        Stack::new(
            bus.attach(),
            address().mirrored().unwrap(),
            Config::default(),
        )
        .unwrap(),
    );
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let b = b.clone();
            std::thread::spawn(move || b.recv(WAIT).unwrap())
        })
        .collect();
    for i in 0..4u8 {
        a.send_blocking(&[i; 20], WAIT).unwrap();
    }
    let mut got: Vec<Vec<u8>> = waiters
        .into_iter()
        .map(|w| w.join().unwrap().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, (0..4u8).map(|i| vec![i; 20]).collect::<Vec<_>>());
}

#[test]
fn threads_waiting_on_many_links_of_one_node_share_the_bus() {
    let bus = VirtualBus::new();
    let testers = Node::new(bus.attach());
    let ecus = Node::new(bus.attach());
    let mut threads = Vec::new();
    for i in 0..16u32 {
        let address = Address::normal_11(0x600 + i, 0x680 + i).unwrap();
        let t = testers.add(address, Config::default()).unwrap();
        let e = ecus
            .add(address.mirrored().unwrap(), Config::default())
            .unwrap();
        threads.push(std::thread::spawn(move || {
            for round in 0..20u8 {
                t.send_blocking_to(
                    &payload(300 + round as usize),
                    TargetAddressType::Physical,
                    WAIT,
                )
                .unwrap();
                let request = e.recv(WAIT).unwrap().unwrap();
                e.send(&request[..10]).unwrap();
                assert_eq!(t.recv(WAIT).unwrap().unwrap(), request[..10]);
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
}

/// A bus that records the receive filters a node asks for.
struct Filtered(
    VirtualPort,
    std::sync::Arc<std::sync::Mutex<Vec<Option<Vec<u32>>>>>,
);

impl CanBus for Filtered {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.0.send(frame)
    }
    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        self.0.recv(timeout)
    }
    fn interrupt(&self) {
        self.0.interrupt()
    }
    fn set_receive_filter(&self, ids: Option<&[isotp::CanId]>) -> Result<(), BusError> {
        let ids = ids.map(|ids| ids.iter().map(|id| id.raw()).collect());
        self.1.lock().unwrap().push(ids);
        Ok(())
    }
}

#[test]
fn a_node_asks_the_bus_for_its_links_ids_only() {
    let bus = VirtualBus::new();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let node = Node::new(Filtered(bus.attach(), asked.clone()));
    let last = || asked.lock().unwrap().last().cloned().flatten();
    let a = node
        .add(Address::normal_11(0x7E0, 0x7E8).unwrap(), Config::default())
        .unwrap();
    assert_eq!(last(), Some(vec![0x7E8]));
    let b = node
        .add(Address::normal_11(0x7E1, 0x7E9).unwrap(), Config::default())
        .unwrap();
    assert_eq!(last(), Some(vec![0x7E8, 0x7E9]));
    b.set_address(Address::normal_11(0x7E2, 0x7EA).unwrap());
    assert_eq!(last(), Some(vec![0x7E8, 0x7EA]));
    // A listen-mode link follows both directions: both ids.
    let mut listen = Config::default();
    listen.listen_mode = true;
    let l = node
        .add(Address::normal_11(0x700, 0x708).unwrap(), listen)
        .unwrap();
    assert_eq!(last(), Some(vec![0x700, 0x708, 0x7E8, 0x7EA]));
    // A fixed-addressing link's ids carry a pattern: every frame.
    let fixed = node
        .add(
            Address::normal_fixed_29(0xF1, 0x10).unwrap(),
            Config::default(),
        )
        .unwrap();
    assert_eq!(asked.lock().unwrap().last().cloned(), Some(None));
    drop(fixed);
    drop(l);
    drop(b);
    assert_eq!(last(), Some(vec![0x7E8]));
    drop(a);
}
