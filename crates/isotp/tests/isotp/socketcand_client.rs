//! `SocketcandBus` against scripted fake servers: handshake variants, what real servers send
//! (socketcand's run-together hex, spaced bytes, lower case, no leading zeros, several messages per
//! read, `< error >`), malformed input, disconnects, and the exact text the client sends.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use isotp::bus::socketcand::SocketcandBus;
use isotp::bus::{BusError, CanBus};
use isotp::{CanId, Frame};

const T: Option<Duration> = Some(Duration::from_secs(2));

fn std_frame(id: u32, data: &[u8]) -> Frame {
    Frame::new(CanId::standard(id).unwrap(), data).unwrap()
}

fn ext_frame(id: u32, data: &[u8]) -> Frame {
    Frame::new(CanId::extended(id).unwrap(), data).unwrap()
}

/// Reads one `< ... >` message (the fake server's side; the client never splits its commands
/// badly, but TCP may join them, so read byte by byte).
fn read_message(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        let n = s.read(&mut b).expect("read from client");
        assert!(
            n == 1,
            "client closed; got so far {:?}",
            String::from_utf8_lossy(&out)
        );
        if out.is_empty() && b[0] != b'<' {
            continue;
        }
        out.push(b[0]);
        if b[0] == b'>' {
            return String::from_utf8(out).unwrap();
        }
    }
}

/// A fake server: accepts one client, greets it, answers `open` and `rawmode`, then runs `script`.
/// `after_rawmode` is written in the same `write` as the `< ok >` answering `< rawmode >`.
fn fake_server(
    after_rawmode: &'static str,
    script: impl FnOnce(TcpStream) + Send + 'static,
) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"< hi >").unwrap();
        assert_eq!(read_message(&mut s), "< open vcan0 >");
        s.write_all(b"< ok >").unwrap();
        assert_eq!(read_message(&mut s), "< rawmode >");
        s.write_all(format!("< ok >{after_rawmode}").as_bytes())
            .unwrap();
        script(s);
    });
    (addr, h)
}

#[test]
fn frames_sent_with_the_rawmode_ok_are_not_lost() {
    let (addr, server) = fake_server(
        "< frame 123 1.000000 11 >< frame 18DAF110 2.5 0102 >",
        |s| {
            // Keep the connection open until the client is done.
            let mut s = s;
            let _ = s.read(&mut [0u8; 1]);
        },
    );
    let bus = SocketcandBus::connect(addr, "vcan0").unwrap();
    assert_eq!(bus.recv(T).unwrap(), Some(std_frame(0x123, &[0x11])));
    assert_eq!(bus.recv(T).unwrap(), Some(ext_frame(0x18DA_F110, &[1, 2])));
    assert_eq!(bus.recv(Some(Duration::ZERO)).unwrap(), None);
    drop(bus);
    server.join().unwrap();
}

#[test]
fn accepts_every_way_real_servers_write_frames() {
    let (addr, server) = fake_server("", |mut s| {
        let msgs: &[&[u8]] = &[
            // socketcand: run-together upper-case hex; empty data with two spaces.
            b"< frame 7E8 1700000000.000001 0250030032 >",
            b"< frame 7E8 1700000000.000002  >",
            // protocol.md's spaced bytes, lower case, no leading zeros.
            b"< frame 7e8 23.424242 11 2 3a 4B >",
            // Several messages in one write, with newlines between them.
            b"< frame 001 1.0 aa >\n< frame 00000001 1.0 bb >\r\n",
        ];
        for m in msgs {
            s.write_all(m).unwrap();
        }
        // One message split over many writes.
        for piece in [&b"< fra"[..], b"me 12", b"3 5.", b"5 CAF", b"E >"] {
            s.write_all(piece).unwrap();
            s.flush().unwrap();
        }
        let _ = s.read(&mut [0u8; 1]);
    });
    let bus = SocketcandBus::connect(addr, "vcan0").unwrap();
    let expect = [
        std_frame(0x7E8, &[0x02, 0x50, 0x03, 0x00, 0x32]),
        std_frame(0x7E8, &[]),
        std_frame(0x7E8, &[0x11, 0x02, 0x3A, 0x4B]),
        std_frame(0x001, &[0xAA]),
        ext_frame(0x001, &[0xBB]),
        std_frame(0x123, &[0xCA, 0xFE]),
    ];
    for e in expect {
        assert_eq!(bus.recv(T).unwrap(), Some(e));
    }
    drop(bus);
    server.join().unwrap();
}

#[test]
fn skips_malformed_input_and_counts_errors() {
    let (addr, server) = fake_server("", |mut s| {
        let mut junk = Vec::new();
        junk.extend_from_slice(b"< frame 123 >"); // no timestamp
        junk.extend_from_slice(b"< frame 9999 1.0 11 >< frame 800 1.0 >"); // fine ext; bad std id
        junk.extend_from_slice(b"garbage outside messages");
        junk.extend_from_slice(b"< frame 123 1.0 112 >"); // odd digits
        junk.extend_from_slice(b"< frame 123 1.0 00112233445566778899 >"); // 10 bytes
        junk.extend_from_slice(b"< error 004 1.000000 >"); // a bus error frame
        junk.extend_from_slice(b"< rtr 123 1.0 2 >< stat 1 2 3 4 >< ok >< echo >");
        junk.push(b'<');
        junk.extend(std::iter::repeat(b'x').take(100_000)); // far over the line cap
        junk.extend_from_slice(b">< frame 123 1.0 \xff\xfe >< frame 321 1.0 42 >");
        s.write_all(&junk).unwrap();
        let _ = s.read(&mut [0u8; 1]);
    });
    let bus = SocketcandBus::connect(addr, "vcan0").unwrap();
    assert_eq!(bus.recv(T).unwrap(), Some(ext_frame(0x9999, &[0x11])));
    assert_eq!(bus.recv(T).unwrap(), Some(std_frame(0x321, &[0x42])));
    assert_eq!(bus.errors_received(), 1);
    assert_eq!(bus.recv(Some(Duration::ZERO)).unwrap(), None);
    drop(bus);
    server.join().unwrap();
}

#[test]
fn sends_what_socketcand_reads() {
    let (addr, server) = fake_server("", |mut s| {
        assert_eq!(read_message(&mut s), "< send 7E0 3 02 10 03 >");
        assert_eq!(read_message(&mut s), "< send 18DAF110 0 >");
        assert_eq!(
            read_message(&mut s),
            "< send 000 8 00 01 02 03 04 05 06 FF >"
        );
        assert_eq!(
            read_message(&mut s),
            "< fdsend 123 1 12 00 01 02 03 04 05 06 07 08 09 0A 0B >"
        );
        assert_eq!(read_message(&mut s), "< fdsend 1FFFFFFF 0 0 >");
        s.write_all(b"< frame 7E8 1.0 01 >").unwrap();
        let _ = s.read(&mut [0u8; 1]);
    });
    let bus = SocketcandBus::connect(addr, "vcan0").unwrap();
    bus.send(&std_frame(0x7E0, &[2, 0x10, 3])).unwrap();
    bus.send(&ext_frame(0x18DA_F110, &[])).unwrap();
    bus.send(&std_frame(0, &[0, 1, 2, 3, 4, 5, 6, 0xFF]))
        .unwrap();
    let data: Vec<u8> = (0..12).collect();
    bus.send(
        &Frame::new_fd(CanId::standard(0x123).unwrap(), &data)
            .unwrap()
            .with_brs(true),
    )
    .unwrap();
    bus.send(&Frame::new_fd(CanId::extended(0x1FFF_FFFF).unwrap(), &[]).unwrap())
        .unwrap();
    // The server's frame arrives only after it has checked all five lines.
    assert_eq!(bus.recv(T).unwrap(), Some(std_frame(0x7E8, &[1])));
    drop(bus);
    server.join().unwrap();
}

#[test]
fn server_disconnecting_mid_message_closes_the_bus_after_delivering_earlier_frames() {
    let (addr, server) = fake_server("", |mut s| {
        s.write_all(b"< frame 123 1.0 01 >< frame 123 1.0 02 >< frame 12")
            .unwrap();
        // Dropping `s` closes the connection mid-message.
    });
    let bus = SocketcandBus::connect(addr, "vcan0").unwrap();
    server.join().unwrap();
    assert_eq!(bus.recv(T).unwrap(), Some(std_frame(0x123, &[1])));
    assert_eq!(bus.recv(T).unwrap(), Some(std_frame(0x123, &[2])));
    let e = bus.recv(T).unwrap_err();
    assert!(matches!(e, BusError::Closed(_)), "{e}");
    assert!(e.to_string().contains("middle of a message"), "{e}");
    // It stays closed, and sending says so too.
    assert!(matches!(bus.recv(None), Err(BusError::Closed(_))));
    assert!(matches!(
        bus.send(&std_frame(1, &[])),
        Err(BusError::Closed(_))
    ));
}

#[test]
fn interrupt_wakes_a_blocked_recv() {
    let (addr, server) = fake_server("", |mut s| {
        let _ = s.read(&mut [0u8; 1]);
    });
    let bus = Arc::new(SocketcandBus::connect(addr, "vcan0").unwrap());
    let waiter = {
        let bus = bus.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let r = bus.recv(None).unwrap();
            (r, start.elapsed())
        })
    };
    bus.interrupt();
    let (r, _) = waiter.join().unwrap();
    assert_eq!(r, None);
    // A timed recv with nothing to read times out.
    let start = Instant::now();
    assert_eq!(bus.recv(Some(Duration::from_millis(20))).unwrap(), None);
    assert!(start.elapsed() >= Duration::from_millis(20));
    drop(bus);
    server.join().unwrap();
}

#[test]
fn open_refused_is_a_clear_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        // Greeting split over two writes.
        s.write_all(b"< h").unwrap();
        s.write_all(b"i >").unwrap();
        assert_eq!(read_message(&mut s), "< open nope >");
        s.write_all(b"< error could not open bus >").unwrap();
    });
    let e = SocketcandBus::connect(addr, "nope").unwrap_err();
    assert!(matches!(e, BusError::Protocol(_)), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("refused `< open nope >`") && text.contains("could not open bus"),
        "{text}"
    );
    server.join().unwrap();
}

#[test]
fn server_closing_during_handshake_is_a_clear_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"< hi >").unwrap();
        let _ = read_message(&mut s);
    });
    let e = SocketcandBus::connect(addr, "vcan0").unwrap_err();
    assert!(matches!(e, BusError::Closed(_)), "{e}");
    assert!(e.to_string().contains("after `< open vcan0 >`"), "{e}");
    server.join().unwrap();
}

#[test]
fn a_server_that_is_not_socketcand_is_a_clear_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").unwrap();
        let _ = s.read(&mut [0u8; 16]);
    });
    let e = SocketcandBus::connect_timeout(addr, "vcan0", Duration::from_millis(200)).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("no `< hi >` greeting") && text.contains("socketcand server"),
        "{text}"
    );
    server.join().unwrap();

    // A server answering with something else than `< ok >`.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"< hi >").unwrap();
        let _ = read_message(&mut s);
        s.write_all(b"< what >").unwrap();
        let _ = s.read(&mut [0u8; 16]);
    });
    let e = SocketcandBus::connect(addr, "vcan0").unwrap_err();
    assert!(e.to_string().contains("instead of `< ok >`"), "{e}");
    server.join().unwrap();
}

#[test]
fn nothing_listening_and_bad_channels_are_clear_errors() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = SocketcandBus::connect(("127.0.0.1", port), "vcan0").unwrap_err();
    assert!(matches!(e, BusError::Io { .. }), "{e}");
    assert!(e.to_string().contains("is the server running"), "{e}");
    for bad in ["", "two words", "a>b"] {
        let e = SocketcandBus::connect(("127.0.0.1", port), bad).unwrap_err();
        assert!(e.to_string().contains("channel"), "{e}");
    }
}

/// A proxy between one client and a socketcand server that slips `errors` `< error ... >` messages
/// (bus error frames) into the server's stream, about 20 after each message once raw mode is on.
fn error_storm_proxy(server: SocketAddr, errors: usize) -> (SocketAddr, JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let upstream = TcpStream::connect(server).unwrap();
        let (mut c_read, mut u_write) =
            (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut c_read, &mut u_write);
            let _ = u_write.shutdown(std::net::Shutdown::Both);
        });
        let (mut from_server, mut to_client) = (upstream, client);
        let mut pending = Vec::new();
        let mut messages = 0usize;
        let mut injected = 0usize;
        let mut buf = [0u8; 4096];
        loop {
            let n = match from_server.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            let mut out = Vec::new();
            while let Some(end) = pending.iter().position(|&b| b == b'>') {
                out.extend(pending.drain(..=end));
                messages += 1;
                // After `< hi >`, `< ok >` (open) and `< ok >` (rawmode).
                if messages > 3 {
                    for _ in 0..20.min(errors - injected) {
                        out.extend_from_slice(
                            b"< error 20000004 1700000000.000001 0004000000000000 >",
                        );
                        injected += 1;
                    }
                }
            }
            if to_client.write_all(&out).is_err() {
                break;
            }
        }
        injected
    });
    (addr, h)
}

/// The seed's known defect: a storm of error frames during a transfer. 10,000 `< error >` messages
/// arrive among the 4095-byte transfer's frames; the transfer completes, every error is counted,
/// and the time is printed against a clean run (a figure, not a bound).
#[test]
fn a_transfer_completes_through_ten_thousand_error_messages() {
    use isotp::{Address, Config, Stack};
    use isotp_hub::Hub;
    let hub = Hub::bind("127.0.0.1:0").unwrap();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let data: Vec<u8> = (0..4095u32).map(|i| (i * 7).to_le_bytes()[0]).collect();
    let mut times = Vec::new();
    for errors in [0, 10_000] {
        let (proxy, injector) = error_storm_proxy(hub.local_addr(), errors);
        let bus = std::sync::Arc::new(SocketcandBus::connect(proxy, "storm").unwrap());
        let tester = Stack::new(bus.clone(), address, Config::default()).unwrap();
        let ecu = Stack::new(
            hub.attach("storm").unwrap(),
            address.mirrored().unwrap(),
            Config::default(),
        )
        .unwrap();
        let start = Instant::now();
        ecu.send_blocking(&data, Some(Duration::from_secs(30)))
            .unwrap();
        assert_eq!(
            tester
                .recv(Some(Duration::from_secs(30)))
                .unwrap()
                .as_deref(),
            Some(&data[..])
        );
        times.push(start.elapsed());
        // The storm came before the last frame, in the same stream: all of it is counted.
        assert_eq!(bus.errors_received(), errors as u64);
        drop(tester);
        drop(bus);
        let injected = injector.join().unwrap();
        assert_eq!(
            injected, errors,
            "the storm was not all sent during the transfer"
        );
    }
    println!(
        "4095-byte transfer through socketcand: clean {:?}, with 10,000 error messages {:?}",
        times[0], times[1]
    );
}
