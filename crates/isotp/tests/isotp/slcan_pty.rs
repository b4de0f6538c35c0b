//! `SlcanBus` against a fake adapter on the master side of a pseudo-terminal: the bus opens the
//! slave path like a real `/dev/ttyACM0`, and a thread answers its commands like firmware would.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use isotp::bus::slcan::{SlcanBus, SlcanOptions};
use isotp::bus::{BusError, CanBus};
use isotp::{CanId, Frame};

const T: Option<Duration> = Some(Duration::from_secs(2));

/// How the fake adapter behaves.
#[derive(Clone, Copy, Default)]
struct Firmware {
    /// Answer BEL to `Z0` (old firmware) and append a timestamp to every frame.
    no_z0: bool,
    /// Answer BEL to `O`.
    refuse_open: bool,
    /// Answer nothing at all.
    silent: bool,
    /// Vanish (close the master side) right after answering `O`, like an unplugged adapter.
    unplug_after_open: bool,
}

struct Adapter {
    master: Arc<Mutex<File>>,
    /// Every command line the bus wrote, in order.
    commands: Receiver<String>,
    thread: Option<JoinHandle<()>>,
    path: String,
    /// The test's own handle on the slave side, closed once the bus has opened it.
    slave: Option<OwnedFd>,
}

impl Adapter {
    fn start(fw: Firmware) -> Adapter {
        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: openpty writes two fds and a NUL-terminated name into the buffers given.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                name.as_mut_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty succeeded, so both fds are open and owned by us from here on.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        // Raw mode from the start: the default line discipline echoes and turns `\r` into `\n`.
        // SAFETY: plain termios calls on an open tty fd.
        unsafe {
            use std::os::fd::AsRawFd;
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
            libc::cfmakeraw(&mut t);
            assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
        }
        // SAFETY: `name` is NUL-terminated by openpty.
        let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        let master = File::from(master);
        let reader = master.try_clone().unwrap();
        let master = Arc::new(Mutex::new(master));
        let (tx, commands) = crossbeam_channel::unbounded();
        let thread = {
            let master = master.clone();
            std::thread::spawn(move || firmware(reader, master, tx, fw))
        };
        Adapter {
            master,
            commands,
            thread: Some(thread),
            path,
            slave: Some(slave),
        }
    }

    /// Lets the adapter notice when the bus closes the port: the master reads EIO once no slave fd
    /// is open.
    fn release_slave(&mut self) {
        self.slave = None;
    }

    fn inject(&self, bytes: &[u8]) {
        self.master.lock().unwrap().write_all(bytes).unwrap();
    }

    fn next_command(&self) -> String {
        self.commands
            .recv_timeout(Duration::from_secs(2))
            .expect("a command from the bus")
    }

    /// The non-empty commands up to and including `last`.
    fn commands_until(&self, last: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let c = self.next_command();
            if c.is_empty() {
                continue;
            }
            let done = c == last;
            out.push(c);
            if done {
                return out;
            }
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.release_slave();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.commands.try_iter().collect()
    }
}

/// The fake firmware: reads `\r`-terminated commands, records them, answers them.
fn firmware(
    mut reader: File,
    out: Arc<Mutex<File>>,
    tx: crossbeam_channel::Sender<String>,
    fw: Firmware,
) {
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => return, // EIO: every slave fd is closed
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b != b'\r' {
                line.push(b);
                continue;
            }
            let cmd = String::from_utf8_lossy(&line).into_owned();
            line.clear();
            let reply: &[u8] = match cmd.as_str() {
                _ if fw.silent => b"",
                "" => b"\x07",
                "Z0" if fw.no_z0 => b"\x07",
                "O" if fw.refuse_open => b"\x07",
                c if c.starts_with('t') => b"z\r",
                c if c.starts_with('T') => b"Z\r",
                _ => b"\r",
            };
            let unplug = fw.unplug_after_open && cmd == "O";
            let _ = tx.send(cmd);
            if !reply.is_empty() {
                let _ = out.lock().unwrap().write_all(reply);
            }
            if unplug {
                return;
            }
        }
    }
}

fn std_frame(id: u32, data: &[u8]) -> Frame {
    Frame::new(CanId::standard(id).unwrap(), data).unwrap()
}

fn ext_frame(id: u32, data: &[u8]) -> Frame {
    Frame::new(CanId::extended(id).unwrap(), data).unwrap()
}

#[test]
fn opens_with_the_lawicel_sequence_and_exchanges_frames() {
    let mut adapter = Adapter::start(Firmware::default());
    let bus = SlcanBus::open(&adapter.path, 500_000).unwrap();
    adapter.release_slave();
    assert_eq!(adapter.commands_until("O"), ["C", "S6", "Z0", "O"]);

    bus.send(&std_frame(0x7E0, &[0x02, 0x10, 0x03])).unwrap();
    assert_eq!(adapter.next_command(), "t7E03021003");
    bus.send(&ext_frame(0x18DA_F110, &[])).unwrap();
    assert_eq!(adapter.next_command(), "T18DAF1100");
    let fd = Frame::new_fd(CanId::standard(0x123).unwrap(), &[0xAB; 12])
        .unwrap()
        .with_brs(true);
    bus.send(&fd).unwrap();
    assert_eq!(adapter.next_command(), format!("b1239{}", "AB".repeat(12)));
    let fd = Frame::new_fd(CanId::extended(0x1).unwrap(), &[1; 64]).unwrap();
    bus.send(&fd).unwrap();
    assert_eq!(
        adapter.next_command(),
        format!("D00000001F{}", "01".repeat(64))
    );

    // Frames from the bus, several per write, one split over writes, lower-case hex.
    adapter.inject(b"t7E83065003\rT18DAF1101FF\rt0010\r");
    adapter.inject(b"t12");
    adapter.inject(b"32ca");
    adapter.inject(b"fe\r");
    adapter.inject(format!("d7E8A{}\rB1FFFFFFF0\r", "11".repeat(16)).as_bytes());
    assert_eq!(
        bus.recv(T).unwrap(),
        Some(std_frame(0x7E8, &[0x06, 0x50, 0x03]))
    );
    assert_eq!(bus.recv(T).unwrap(), Some(ext_frame(0x18DA_F110, &[0xFF])));
    assert_eq!(bus.recv(T).unwrap(), Some(std_frame(0x001, &[])));
    assert_eq!(bus.recv(T).unwrap(), Some(std_frame(0x123, &[0xCA, 0xFE])));
    let got = bus.recv(T).unwrap().unwrap();
    assert!(got.is_fd() && !got.is_brs() && got.data() == [0x11; 16]);
    let got = bus.recv(T).unwrap().unwrap();
    assert!(got.is_fd() && got.is_brs() && got.is_empty() && got.id().is_extended());
    assert_eq!(bus.recv(Some(Duration::ZERO)).unwrap(), None);

    drop(bus);
    // Closing the bus closes the channel.
    assert_eq!(adapter.finish(), ["C"]);
}

#[test]
fn skips_malformed_lines_and_counts_bel_replies() {
    let mut adapter = Adapter::start(Firmware::default());
    let bus = SlcanBus::open(&adapter.path, 125_000).unwrap();
    adapter.release_slave();
    assert_eq!(adapter.commands_until("O"), ["C", "S4", "Z0", "O"]);
    let mut junk = Vec::new();
    junk.extend_from_slice(b"t12\r"); // short
    junk.extend_from_slice(b"t8001\r"); // id out of range
    junk.extend_from_slice(b"t1239\r"); // classic DLC 9
    junk.extend_from_slice(b"t1232AA\r"); // missing data
    junk.extend_from_slice(b"t1231GG\r"); // not hex
    junk.extend_from_slice(b"?what\r\n"); // unknown
    junk.extend_from_slice(b"r1232\rV1013\r"); // remote frame, version: ignored
    junk.extend(std::iter::repeat(b'x').take(10_000)); // far over the line cap
    junk.extend_from_slice(b"\r\x07\x07");
    junk.extend_from_slice(b"t3211AA\r");
    adapter.inject(&junk);
    assert_eq!(bus.recv(T).unwrap(), Some(std_frame(0x321, &[0xAA])));
    assert_eq!(bus.rejected(), 2);
    assert_eq!(bus.recv(Some(Duration::ZERO)).unwrap(), None);
    drop(bus);
    adapter.finish();
}

#[test]
fn old_firmware_without_z0_still_works() {
    let mut adapter = Adapter::start(Firmware {
        no_z0: true,
        ..Firmware::default()
    });
    let options = SlcanOptions::new(1_000_000).data_bitrate(2_000_000);
    let bus = SlcanBus::open_with(&adapter.path, &options).unwrap();
    adapter.release_slave();
    assert_eq!(adapter.commands_until("O"), ["C", "S8", "Y2", "Z0", "O"]);
    // Frames carry a 4-digit timestamp.
    adapter.inject(b"t1232AABB1F2E\rT000000010EA60\r");
    assert_eq!(bus.recv(T).unwrap(), Some(std_frame(0x123, &[0xAA, 0xBB])));
    assert_eq!(bus.recv(T).unwrap(), Some(ext_frame(1, &[])));
    drop(bus);
    adapter.finish();
}

#[test]
fn refusals_and_silence_are_clear_errors() {
    let adapter = Adapter::start(Firmware {
        refuse_open: true,
        ..Firmware::default()
    });
    let e = SlcanBus::open(&adapter.path, 500_000).unwrap_err();
    assert!(matches!(e, BusError::Protocol(_)), "{e}");
    assert!(e.to_string().contains("refused `O`"), "{e}");
    adapter.finish();

    let adapter = Adapter::start(Firmware {
        silent: true,
        ..Firmware::default()
    });
    let start = Instant::now();
    let options = SlcanOptions::new(500_000).reply_timeout(Duration::from_millis(100));
    let e = SlcanBus::open_with(&adapter.path, &options).unwrap_err();
    assert!(
        e.to_string().contains("no reply") && e.to_string().contains("SLCAN adapter"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
    adapter.finish();

    let e = SlcanBus::open("/dev/null/none", 500_000).unwrap_err();
    assert!(matches!(e, BusError::Io { .. }), "{e}");
    assert!(e.to_string().contains("/dev/null/none"), "{e}");
    let e = SlcanBus::open("/dev/null/none", 12_345).unwrap_err();
    assert!(matches!(e, BusError::Unsupported(_)), "{e}");
    assert!(e.to_string().contains("500000"), "{e}");
}

#[test]
fn interrupt_wakes_recv_and_a_vanished_adapter_closes_the_bus() {
    let mut adapter = Adapter::start(Firmware {
        unplug_after_open: true,
        ..Firmware::default()
    });
    let bus = Arc::new(SlcanBus::open(&adapter.path, 500_000).unwrap());
    adapter.release_slave();
    if let Some(t) = adapter.thread.take() {
        t.join().unwrap(); // the firmware is gone; the test's master handle is the last one
    }
    let waiter = {
        let bus = bus.clone();
        std::thread::spawn(move || bus.recv(None))
    };
    bus.interrupt();
    assert_eq!(waiter.join().unwrap().unwrap(), None);

    // The adapter is unplugged: the last master handle goes away.
    drop(adapter);
    let e = loop {
        match bus.recv(T) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the bus should report the closed device"),
            Err(e) => break e,
        }
    };
    assert!(matches!(e, BusError::Closed(_)), "{e}");
    assert!(bus.send(&std_frame(1, &[])).is_err());
}

/// `t` line of a classic 11-bit frame, as an adapter writes it.
fn slcan_line(f: &Frame) -> String {
    let hex: String = f.data().iter().map(|b| format!("{b:02X}")).collect();
    format!("t{:03X}{}{hex}\r", f.id().raw(), f.data().len())
}

/// The frame of a `t` command the bus wrote.
fn parse_t(cmd: &str) -> Option<Frame> {
    let rest = cmd.strip_prefix('t')?;
    let id = u32::from_str_radix(rest.get(..3)?, 16).ok()?;
    let len: usize = rest.get(3..4)?.parse().ok()?;
    let data: Vec<u8> = (0..len)
        .map(|i| u8::from_str_radix(rest.get(4 + 2 * i..6 + 2 * i)?, 16).ok())
        .collect::<Option<_>>()?;
    Frame::new(CanId::standard(id).ok()?, &data).ok()
}

/// The seed's known defect, over SLCAN: a 4095-byte transfer from a peer behind the adapter, with
/// `errors` error frames (`e` lines) slipped among its frames. Returns how long it took.
fn transfer_through_error_frames(errors: u64) -> Duration {
    use isotp::core::{Endpoint, Instant as CoreInstant};
    use isotp::{Address, Config, Stack, TargetAddressType};
    let mut adapter = Adapter::start(Firmware::default());
    let bus = Arc::new(SlcanBus::open(&adapter.path, 500_000).unwrap());
    adapter.release_slave();
    adapter.commands_until("O");
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let tester = Stack::new(bus.clone(), address, Config::default()).unwrap();
    let mut peer = Endpoint::new(address.mirrored().unwrap(), Config::default()).unwrap();
    let data: Vec<u8> = (0..4095u32).map(|i| (i * 3).to_le_bytes()[0]).collect();
    let start = Instant::now();
    let now = || CoreInstant::from_micros(u64::try_from(start.elapsed().as_micros()).unwrap());
    peer.send(&data, TargetAddressType::Physical).unwrap();
    let receiver = std::thread::spawn(move || tester.recv(Some(Duration::from_secs(30))));
    let (mut injected, mut frames) = (0u64, 0u64);
    while !receiver.is_finished() {
        while let Some(f) = peer.poll_transmit(now()) {
            let mut out = slcan_line(&f);
            frames += 1;
            for _ in 0..20.min(errors - injected) {
                out.push_str("e1A0400000000\r");
                injected += 1;
            }
            adapter.inject(out.as_bytes());
        }
        if let Ok(cmd) = adapter.commands.recv_timeout(Duration::from_millis(1)) {
            if let Some(f) = parse_t(&cmd) {
                peer.handle_frame(&f, now());
            }
        }
        peer.handle_timeout(now());
    }
    let got = receiver.join().unwrap().unwrap();
    let took = start.elapsed();
    assert_eq!(got.as_deref(), Some(&data[..]));
    assert_eq!(
        injected, errors,
        "the storm was sent among the {frames} frames"
    );
    assert_eq!(bus.bus_errors(), errors);
    took
}

#[test]
fn a_transfer_completes_through_ten_thousand_error_frames() {
    let clean = transfer_through_error_frames(0);
    let storm = transfer_through_error_frames(10_000);
    println!("4095-byte transfer over SLCAN: clean {clean:?}, with 10,000 error frames {storm:?}");
}
