//! The hub against `SocketcandBus` clients, in-process ports and raw TCP clients that behave like
//! python-can's socketcand interface or misbehave.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use isotp::bus::socketcand::SocketcandBus;
use isotp::bus::CanBus;
use isotp::{CanId, Frame};
use isotp_hub::{Hub, HubConfig};

const T: Option<Duration> = Some(Duration::from_secs(2));

fn std_frame(id: u32, data: &[u8]) -> Frame {
    Frame::new(CanId::standard(id).unwrap(), data).unwrap()
}

fn ext_frame(id: u32, data: &[u8]) -> Frame {
    Frame::new(CanId::extended(id).unwrap(), data).unwrap()
}

fn hub() -> Hub {
    Hub::bind("127.0.0.1:0").unwrap()
}

/// Waits (bounded) for a condition the hub reaches asynchronously.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A raw TCP client, to control every byte.
struct Raw {
    s: TcpStream,
    pending: Vec<u8>,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.set_nodelay(true).unwrap();
        Raw {
            s,
            pending: Vec::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// One `recv` as python-can's `_expect_msg` does it: whatever a single read returns.
    fn read_once(&mut self) -> String {
        assert!(self.pending.is_empty());
        let mut buf = [0u8; 256];
        let n = self.s.read(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// The next whole `< ... >` message.
    fn message(&mut self) -> String {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'>') {
                let msg: Vec<u8> = self.pending.drain(..=end).collect();
                let text = String::from_utf8(msg).unwrap();
                return text.trim_start().to_string();
            }
            let mut buf = [0u8; 4096];
            let n = self.s.read(&mut buf).unwrap();
            assert!(n > 0, "hub closed the connection");
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// The python-can handshake, checking each answer arrives alone as python-can requires.
    fn handshake(addr: SocketAddr, bus: &str) -> Raw {
        let mut c = Raw::connect(addr);
        assert_eq!(c.read_once(), "< hi >");
        c.write(format!("< open {bus} >").as_bytes());
        assert_eq!(c.read_once(), "< ok >");
        c.write(b"< rawmode >");
        assert_eq!(c.read_once(), "< ok >");
        c
    }

    fn expect_eof(&mut self) {
        let mut buf = [0u8; 65536];
        loop {
            match self.s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

/// `< frame ID SECS.USECS HEX >` as python-can parses it: `[8:-2]` split in three at spaces.
fn python_can_parse(msg: &str) -> (u32, bool, Vec<u8>) {
    assert!(
        msg.starts_with("< frame ") && msg.ends_with(" >"),
        "{msg:?}"
    );
    let inner = &msg[8..msg.len() - 2];
    let parts: Vec<&str> = inner.splitn(3, ' ').collect();
    assert_eq!(parts.len(), 3, "python-can needs three parts in {msg:?}");
    let id = u32::from_str_radix(parts[0], 16).unwrap();
    let (secs, micros) = parts[1].split_once('.').unwrap();
    assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{msg:?}");
    let data = (0..parts[2].len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&parts[2][i..i + 2], 16).unwrap())
        .collect();
    (id, parts[0].len() != 3, data)
}

#[test]
fn two_clients_exchange_frames_of_every_kind() {
    let hub = hub();
    let a = SocketcandBus::connect(hub.local_addr(), "vcan0").unwrap();
    let b = SocketcandBus::connect(hub.local_addr(), "vcan0").unwrap();
    let frames = [
        std_frame(0x7E0, &[0x02, 0x10, 0x03]),
        std_frame(0x000, &[]),
        std_frame(0x7FF, &[0xFF; 8]),
        ext_frame(0x18DA_F110, &[1, 2, 3, 4, 5, 6, 7, 8]),
        ext_frame(0x0000_0001, &[]),
        Frame::new_fd(CanId::standard(0x123).unwrap(), &[0xA5; 64])
            .unwrap()
            .with_brs(true),
        Frame::new_fd(CanId::extended(0x1FFF_FFFF).unwrap(), &[1; 12]).unwrap(),
    ];
    for f in &frames {
        a.send(f).unwrap();
    }
    for f in &frames {
        assert_eq!(b.recv(T).unwrap().as_ref(), Some(f));
    }
    // Not back to the sender.
    assert_eq!(a.recv(Some(Duration::from_millis(30))).unwrap(), None);
    for f in &frames {
        b.send(f).unwrap();
    }
    for f in &frames {
        assert_eq!(a.recv(T).unwrap().as_ref(), Some(f));
    }
    assert_eq!(hub.clients(), 2);
    assert_eq!(hub.bus_names(), vec!["vcan0".to_string()]);
}

#[test]
fn buses_are_separate_and_in_process_ports_share_them() {
    let hub = hub();
    let local = hub.attach("one").unwrap();
    let one = SocketcandBus::connect(hub.local_addr(), "one").unwrap();
    let two = SocketcandBus::connect(hub.local_addr(), "two").unwrap();
    let local_two = hub.attach("two").unwrap();
    local.send(&std_frame(0x100, &[1])).unwrap();
    assert_eq!(one.recv(T).unwrap(), Some(std_frame(0x100, &[1])));
    one.send(&std_frame(0x101, &[2])).unwrap();
    assert_eq!(local.recv(T).unwrap(), Some(std_frame(0x101, &[2])));
    two.send(&std_frame(0x200, &[3])).unwrap();
    assert_eq!(local_two.recv(T).unwrap(), Some(std_frame(0x200, &[3])));
    // Nothing crossed between the buses.
    assert_eq!(local.recv(Some(Duration::ZERO)).unwrap(), None);
    assert_eq!(two.recv(Some(Duration::from_millis(30))).unwrap(), None);
    assert_eq!(one.recv(Some(Duration::ZERO)).unwrap(), None);
    assert_eq!(hub.bus_names(), vec!["one".to_string(), "two".to_string()]);
    assert!(hub.attach("bad name").is_err());
}

#[test]
fn speaks_to_python_can_exactly() {
    let hub = hub();
    let local = hub.attach("vcan0").unwrap();
    // Traffic on the bus while the client connects must not break its handshake: python-can reads
    // each `< ok >` with a single recv and compares it whole.
    let noisy = hub.attach("vcan0").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noise = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                noisy.send(&std_frame(0x7FF, &[0xEE])).unwrap();
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let mut py = Raw::handshake(hub.local_addr(), "vcan0");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    noise.join().unwrap();

    // python-can's `< send >`: upper-case id, length in hex, bytes `{:x}` (lower case, no leading
    // zero), several commands in one TCP write.
    py.write(b"< send 7E0 8 2 10 3 0 0 0 0 aa >< send 18DAF110 0  >< send 001 1 f >");
    let quiet = |bus: &isotp::bus::VirtualPort| loop {
        let f = bus.recv(T).unwrap().expect("a frame");
        if f.id() != CanId::standard(0x7FF).unwrap() {
            return f;
        }
    };
    assert_eq!(
        quiet(&local),
        std_frame(0x7E0, &[2, 0x10, 3, 0, 0, 0, 0, 0xAA])
    );
    assert_eq!(quiet(&local), ext_frame(0x18DA_F110, &[]));
    assert_eq!(quiet(&local), std_frame(0x001, &[0x0F]));

    // Frames come as socketcand writes them, which python-can's parser accepts (empty ones too).
    // Skip the noise frames still queued from before.
    local.send(&std_frame(0x7E8, &[0x02, 0x50, 0x03])).unwrap();
    local.send(&std_frame(0x7E8, &[])).unwrap();
    local.send(&ext_frame(0x18DA_F110, &[0xAB])).unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        let m = py.message();
        let parsed = python_can_parse(&m);
        if parsed.0 != 0x7FF {
            got.push(parsed);
        }
    }
    assert_eq!(
        got,
        vec![
            (0x7E8, false, vec![0x02, 0x50, 0x03]),
            (0x7E8, false, vec![]),
            (0x18DA_F110, true, vec![0xAB]),
        ]
    );
    py.write(b"< echo >");
    loop {
        let m = py.message();
        if m == "< echo >" {
            break;
        }
        assert!(m.starts_with("< frame 7FF "), "{m:?}");
    }
}

#[test]
fn handles_several_messages_per_read_and_messages_split_across_reads() {
    let hub = hub();
    let local = hub.attach("bus").unwrap();
    let mut c = Raw::handshake(hub.local_addr(), "bus");
    c.write(b"< send 100 1 01 >< send 100 1 02 >\r\n< send 100 1 03 >");
    let split = b"< send 1ABCDEF0 3 0A 0B 0C >";
    for byte in split.iter() {
        c.write(&[*byte]);
    }
    for i in 1..=3 {
        assert_eq!(local.recv(T).unwrap(), Some(std_frame(0x100, &[i])));
    }
    assert_eq!(
        local.recv(T).unwrap(),
        Some(ext_frame(0x1ABC_DEF0, &[0xA, 0xB, 0xC]))
    );
}

#[test]
fn malformed_commands_get_errors_before_raw_mode_and_are_skipped_in_it() {
    let hub = hub();
    let local = hub.attach("a").unwrap();
    let mut c = Raw::connect(hub.local_addr());
    assert_eq!(c.message(), "< hi >");
    // Before raw mode, errors are answered (python-can then reports them from its handshake).
    c.write(b"< send 123 0 >");
    assert!(c.message().starts_with("< error open a bus first"));
    c.write(b"< rawmode >");
    assert!(c.message().starts_with("< error "));
    c.write(b"< open a b >");
    assert!(c.message().starts_with("< error malformed message"));
    c.write(b"< open a>");
    assert_eq!(c.message(), "< ok >");
    c.write(b"< open b >");
    assert!(c.message().contains("already open"));
    c.write(b"< subscribe 0 0 123 >< send 12G 1 1 >");
    assert!(c.message().contains("subscribe is not supported"));
    let m = c.message();
    assert!(
        m.contains("12G") && !m[1..m.len() - 1].contains(['<', '>']),
        "{m:?}"
    );
    c.write(b"< rawmode >");
    assert_eq!(c.message(), "< ok >");

    // In raw mode they are only logged: python-can's client fails on `< error >`s it cannot parse.
    let mut bad = Vec::new();
    bad.extend_from_slice(b"< send 12G 1 1 >"); // bad id
    bad.extend_from_slice(b"< send 123 3 1 2 >"); // length mismatch
    bad.extend_from_slice(b"< send 123 9 1 2 3 4 5 6 7 8 9 >"); // no CAN length
    bad.extend_from_slice(b"< subscribe 0 0 123 >"); // BCM command
    bad.extend_from_slice(b"< frame 123 1.0 11 >"); // a server message
    bad.extend_from_slice(b"junk outside"); // bytes outside messages
    bad.extend_from_slice(b"< ba-d >");
    bad.push(b'<');
    bad.extend(std::iter::repeat(b'y').take(50_000)); // far over the line cap
    bad.extend_from_slice(b"><\x01\xff>< send 123 1 BB >< echo >");
    c.write(&bad);
    assert_eq!(c.message(), "< echo >");
    // Only the valid frame reached the bus; the session still works both ways.
    assert_eq!(local.recv(T).unwrap(), Some(std_frame(0x123, &[0xBB])));
    assert_eq!(local.recv(Some(Duration::ZERO)).unwrap(), None);
    local.send(&std_frame(0x321, &[1])).unwrap();
    assert!(c.message().starts_with("< frame 321 "));
    // bcmmode stops delivery (the BCM commands are not implemented), rawmode resumes it.
    c.write(b"< bcmmode >");
    assert_eq!(c.message(), "< ok >");
    local.send(&std_frame(0x321, &[2])).unwrap();
    c.write(b"< echo >");
    assert_eq!(c.message(), "< echo >");
    c.write(b"< rawmode >");
    assert_eq!(c.message(), "< ok >");
    local.send(&std_frame(0x321, &[3])).unwrap();
    let m = c.message();
    assert!(
        m.starts_with("< frame 321 ") && m.ends_with(" 03 >"),
        "{m:?}"
    );
    // python-can writes CAN FD frames as `< send >` with a hex length: taken as CAN FD.
    c.write(b"< send 7E0 C 0 1 2 3 4 5 6 7 8 9 a b >");
    let fd = local.recv(T).unwrap().unwrap();
    assert!(fd.is_fd() && fd.len() == 12 && fd.data()[11] == 0xB);
}

#[test]
fn a_client_disconnecting_mid_message_does_not_disturb_the_others() {
    let hub = hub();
    let a = SocketcandBus::connect(hub.local_addr(), "bus").unwrap();
    let b = SocketcandBus::connect(hub.local_addr(), "bus").unwrap();
    {
        let mut c = Raw::handshake(hub.local_addr(), "bus");
        c.write(b"< send 123 2 11");
        c.s.shutdown(Shutdown::Both).unwrap();
    }
    // A client that connects and goes at once, and one that never says anything.
    drop(TcpStream::connect(hub.local_addr()).unwrap());
    let _silent = TcpStream::connect(hub.local_addr()).unwrap();
    eventually("the two short-lived clients are gone", || {
        hub.clients() == 3
    });
    a.send(&std_frame(0x1, &[1])).unwrap();
    assert_eq!(b.recv(T).unwrap(), Some(std_frame(0x1, &[1])));
    b.send(&std_frame(0x2, &[2])).unwrap();
    assert_eq!(a.recv(T).unwrap(), Some(std_frame(0x2, &[2])));
}

#[test]
fn a_slow_client_is_dropped_without_stalling_the_others() {
    let hub = Hub::bind_with("127.0.0.1:0", HubConfig::default().client_queue(64)).unwrap();
    let sender = hub.attach("bus").unwrap();
    let fast = SocketcandBus::connect(hub.local_addr(), "bus").unwrap();
    let mut slow = Raw::handshake(hub.local_addr(), "bus");
    // The echo comes back once the hub has started forwarding frames to it (after the short pause
    // that follows `< ok >` to `< rawmode >`); from then on it never reads.
    slow.write(b"< echo >");
    assert_eq!(slow.message(), "< echo >");
    assert_eq!(hub.clients(), 2);
    let start = Instant::now();
    let mut sent: u32 = 0;
    // In rounds, so the fast client is never more than one round behind.
    while hub.clients() == 2 {
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "slow client never dropped"
        );
        for _ in 0..32 {
            sent += 1;
            sender.send(&ext_frame(sent, &sent.to_be_bytes())).unwrap();
        }
        for i in sent - 31..=sent {
            assert_eq!(fast.recv(T).unwrap(), Some(ext_frame(i, &i.to_be_bytes())));
        }
    }
    // The fast client got everything and keeps working.
    fast.send(&std_frame(0x42, &[])).unwrap();
    assert_eq!(sender.recv(T).unwrap(), Some(std_frame(0x42, &[])));
    assert_eq!(fast.dropped(), 0);
    slow.expect_eof();
}

#[test]
fn refuses_clients_over_the_limit() {
    let hub = Hub::bind_with("127.0.0.1:0", HubConfig::default().max_clients(1)).unwrap();
    let _one = SocketcandBus::connect(hub.local_addr(), "bus").unwrap();
    let mut two = Raw::connect(hub.local_addr());
    assert!(two.message().contains("too many clients"));
    two.expect_eof();
    let e = SocketcandBus::connect(hub.local_addr(), "bus").unwrap_err();
    assert!(e.to_string().contains("too many clients"), "{e}");
}

#[test]
fn refuses_buses_over_the_limit() {
    let hub = Hub::bind_with("127.0.0.1:0", HubConfig::default().max_buses(1)).unwrap();
    let _a = hub.attach("a").unwrap();
    assert!(hub.attach("b").is_err());
    let e = SocketcandBus::connect(hub.local_addr(), "b").unwrap_err();
    assert!(e.to_string().contains("refused `< open b >`"), "{e}");
    assert!(SocketcandBus::connect(hub.local_addr(), "a").is_ok());
}

#[test]
fn shutdown_disconnects_clients_and_frees_the_port() {
    let hub = hub();
    let addr = hub.local_addr();
    let local = hub.attach("bus").unwrap();
    let client = SocketcandBus::connect(addr, "bus").unwrap();
    let mut raw = Raw::handshake(addr, "bus");
    hub.shutdown();
    hub.shutdown(); // twice is fine
    assert_eq!(hub.clients(), 0);
    assert!(matches!(
        client.recv(T),
        Err(isotp::bus::BusError::Closed(_))
    ));
    raw.expect_eof();
    // In-process ports keep working.
    let other = hub.attach("bus").unwrap();
    local.send(&std_frame(1, &[])).unwrap();
    assert_eq!(other.recv(T).unwrap(), Some(std_frame(1, &[])));
    drop(hub);
    // The port can be bound again.
    let again = Hub::bind(addr).unwrap();
    assert_eq!(again.local_addr(), addr);
}

#[test]
fn bind_errors_say_what_to_do() {
    let hub = hub();
    let e = Hub::bind(hub.local_addr()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("cannot listen on") && text.contains("port 0"),
        "{text}"
    );
}

#[test]
fn a_closed_connection_frees_its_slot_at_once() {
    let hub = Hub::bind_with("127.0.0.1:0", HubConfig::default().max_clients(2)).unwrap();
    for _ in 0..50 {
        let a = Raw::handshake(hub.local_addr(), "churn");
        let b = Raw::connect(hub.local_addr());
        drop(a);
        drop(b);
        eventually("both slots free", || hub.clients() == 0);
    }
    let mut c = Raw::handshake(hub.local_addr(), "churn");
    c.write(b"< echo >");
    assert_eq!(c.message(), "< echo >");
}

#[test]
fn a_client_that_opens_no_bus_in_time_is_dropped() {
    let hub = Hub::bind_with(
        "127.0.0.1:0",
        HubConfig::default().handshake_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let mut idle = Raw::connect(hub.local_addr());
    assert_eq!(idle.message(), "< hi >");
    idle.expect_eof();
    eventually("the slot is free", || hub.clients() == 0);
    // A client that did open a bus stays, however quiet.
    let mut quiet = Raw::handshake(hub.local_addr(), "q");
    std::thread::sleep(Duration::from_millis(400));
    quiet.write(b"< echo >");
    assert_eq!(quiet.message(), "< echo >");
}

#[test]
fn a_transfer_completes_while_hostile_clients_churn_and_send_garbage() {
    use isotp::{Address, Config, Stack};
    let hub = Hub::bind_with(
        "127.0.0.1:0",
        HubConfig::default()
            .max_clients(12)
            .handshake_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    let addr = hub.local_addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut hostile = Vec::new();
    for kind in 0..6u32 {
        let stop = stop.clone();
        hostile.push(std::thread::spawn(move || {
            let mut rounds = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(addr) else {
                    continue;
                };
                let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
                let junk: &[u8] = match kind {
                    0 => b"garbage without brackets \x00\xff\r\n",
                    1 => b"< send 7E0 9 01 >< open >< frobnicate >< hi >",
                    2 => &[b'<'; 3000],
                    3 => b"< open churn >< rawmode >< send zz 1 00 >",
                    // Connects and says nothing (the handshake timeout takes it).
                    _ => b"",
                };
                let _ = s.write_all(junk);
                if kind == 5 && rounds % 4 == 0 {
                    std::thread::sleep(Duration::from_millis(400));
                }
                drop(s);
                rounds += 1;
            }
            rounds
        }));
    }
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let connect = || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match SocketcandBus::connect(addr, "work") {
                Ok(b) => return b,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "a legitimate client was refused: {e}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    };
    let tester = Stack::new(connect(), address, Config::default()).unwrap();
    let ecu = Stack::new(connect(), address.mirrored().unwrap(), Config::default()).unwrap();
    let data: Vec<u8> = (0..4095u32).map(|i| i as u8).collect();
    for _ in 0..10 {
        tester
            .send_blocking(&data, Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(
            ecu.recv(Some(Duration::from_secs(10))).unwrap().as_deref(),
            Some(&data[..])
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rounds: u32 = hostile.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(rounds > 0);
    // A newcomer still gets in once the churn is over.
    drop(connect());
}

#[test]
fn clients_get_the_capture_time_the_hub_sends() {
    let hub = hub();
    let local = hub.attach("vcan0").unwrap();
    let client = SocketcandBus::connect(hub.local_addr(), "vcan0").unwrap();
    assert!(client.capabilities().timestamps);
    let first_sent = Instant::now();
    local.send(&std_frame(0x100, &[1])).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let second_sent = Instant::now();
    local.send(&std_frame(0x100, &[2])).unwrap();
    // Read late: the stamps say when the frames were on the bus, not when they were read.
    std::thread::sleep(Duration::from_millis(100));
    let mut stamps = Vec::new();
    for want in [1u8, 2] {
        let (f, at) = client.recv_timestamped(T).unwrap().expect("a frame");
        let returned = Instant::now();
        assert_eq!(f, std_frame(0x100, &[want]));
        assert!(at <= returned, "frame {want} stamped after recv returned");
        // Microsecond stamps and two clocks read a moment apart: a little slack before the send.
        assert!(
            at + Duration::from_millis(5) >= first_sent,
            "frame {want} stamped before it was sent"
        );
        assert!(
            returned - at >= Duration::from_millis(80),
            "frame {want} stamped when read ({:?} before), not when sent",
            returned - at
        );
        stamps.push(at);
    }
    let apart = stamps[1] - stamps[0];
    let sent_apart = second_sent - first_sent;
    assert!(
        apart + Duration::from_millis(5) >= Duration::from_millis(20)
            && apart <= sent_apart + Duration::from_millis(500),
        "stamps {apart:?} apart, sends {sent_apart:?} apart"
    );
}
