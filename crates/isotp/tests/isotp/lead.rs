//! Who reads the bus and who sleeps: regressions of the lead protocol (a lost wake-up, a failing
//! bus, a panicking bus or tracer, a sender waiting for room).

use std::time::Duration;

use isotp::bus::{BusError, CanBus, VirtualBus, VirtualPort};
use isotp::{Address, Config, ProtocolError, Stack, StackError};
use isotp_core::Frame;

fn address() -> Address {
    Address::normal_11(0x7E0, 0x7E8).unwrap()
}

/// A non-blocking send on a silent bus sets the N_Bs deadline while the engine thread is about to
/// sleep: the deadline must wake it. Each round ends with the error of the previous one, the
/// moment the engine thread goes back to sleep, which is when the wake-up used to be lost.
#[test]
fn n_bs_fires_for_every_non_blocking_send_on_a_silent_bus() {
    let bus = VirtualBus::new();
    let mut config = Config::default();
    config.n_bs = Duration::from_millis(1);
    let tester = Stack::new(bus.attach(), address(), config).unwrap();
    let errors = tester.errors();
    for round in 0..1500 {
        tester.send(&[0x36; 20]).unwrap();
        match errors.recv_timeout(Duration::from_secs(5)) {
            Some(StackError::Protocol(ProtocolError::TimeoutBs { .. })) => {}
            other => panic!("round {round}: expected N_Bs to fire, got {other:?}"),
        }
    }
}

/// A bus whose next read fails with an I/O error.
struct FailingRead {
    port: VirtualPort,
    fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CanBus for FailingRead {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.port.send(frame)
    }
    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        if self.fail.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(BusError::io(
                "reading can0",
                std::io::Error::from(std::io::ErrorKind::BrokenPipe),
            ));
        }
        self.port.recv(timeout)
    }
    fn interrupt(&self) {
        self.port.interrupt()
    }
}

#[test]
fn a_failing_bus_read_is_reported_as_the_bus_failure_it_is() {
    let bus = VirtualBus::new();
    let fail = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failing = FailingRead {
        port: bus.attach(),
        fail: fail.clone(),
    };
    let tester = Stack::new(failing, address(), Config::default()).unwrap();
    // The read after the next frame fails.
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let raw = bus.attach();
    raw.send(&Frame::new(isotp::CanId::standard(0x123).unwrap(), &[1]).unwrap())
        .unwrap();
    match tester.errors().recv_timeout(Duration::from_secs(5)) {
        Some(StackError::Bus(BusError::Io { context, source })) => {
            assert_eq!(context, "reading can0");
            assert_eq!(source.kind(), std::io::ErrorKind::BrokenPipe);
        }
        other => panic!("expected the bus's I/O error, got {other:?}"),
    }
    // The link still works.
    let ecu = Stack::new(
        bus.attach(),
        address().mirrored().unwrap(),
        Config::default(),
    )
    .unwrap();
    ecu.send(&[0x7E, 0x00]).unwrap();
    assert_eq!(
        tester.recv(Some(Duration::from_secs(5))).unwrap(),
        Some(vec![0x7E, 0x00])
    );
}

/// A bus that panics once armed, after its next read.
struct PanicsOnRead {
    port: VirtualPort,
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CanBus for PanicsOnRead {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.port.send(frame)
    }
    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        let got = self.port.recv(timeout);
        if self.armed.load(std::sync::atomic::Ordering::SeqCst) {
            panic!("a bus driver bug");
        }
        got
    }
    fn interrupt(&self) {
        self.port.interrupt()
    }
}

/// Two threads wait on a stack (one for a message, one for a send's outcome) when a call into its
/// bus panics: each returns, with the panic (the thread that made the call) or an error, and the
/// stack's error channel says why.
fn every_waiter_returns_when_the_bus_panics(
    make: impl FnOnce(VirtualPort, std::sync::Arc<std::sync::atomic::AtomicBool>) -> Box<dyn CanBus>,
) {
    let bus = VirtualBus::new();
    let armed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut config = Config::default();
    config.n_bs = Duration::from_secs(600);
    let tester = std::sync::Arc::new(
        Stack::new(make(bus.attach(), armed.clone()), address(), config).unwrap(),
    );
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let receiver = {
        let (tester, done) = (tester.clone(), done_tx.clone());
        std::thread::spawn(move || {
            let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tester.recv(None)));
            done.send(format!("recv: {got:?}")).unwrap();
        })
    };
    let sender = {
        let (tester, done) = (tester.clone(), done_tx.clone());
        std::thread::spawn(move || {
            let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                tester.send_blocking(&[0x36; 100], None)
            }));
            done.send(format!("send_blocking: {got:?}")).unwrap();
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let raw = bus.attach();
    raw.send(&Frame::new(isotp::CanId::standard(0x7E8).unwrap(), &[0x01, 0x3E]).unwrap())
        .unwrap();
    for _ in 0..2 {
        let got = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("every waiter returns");
        assert!(got.contains("Err"), "{got}");
    }
    receiver.join().unwrap();
    sender.join().unwrap();
    assert!(tester
        .errors()
        .try_iter()
        .any(|e| matches!(e, StackError::Bus(BusError::Closed(_)))));
    // Later calls fail at once too.
    assert!(tester.recv(None).is_err());
}

#[test]
fn a_panicking_bus_makes_every_waiter_return() {
    every_waiter_returns_when_the_bus_panics(|port, armed| Box::new(PanicsOnRead { port, armed }));
}

#[test]
fn a_panicking_tracer_makes_every_waiter_return() {
    every_waiter_returns_when_the_bus_panics(|port, armed| {
        Box::new(isotp::bus::Tracer::new(port).with_watch(move |_, _| {
            if armed.load(std::sync::atomic::Ordering::SeqCst) {
                panic!("a watcher bug");
            }
            true
        }))
    });
}
