//! `isotp request`, `isotp scan` and `isotp conformance` against the simulated vehicle and hostile
//! nodes, through an in-process hub.

use isotp::bus::CanBus;
use isotp_hub::Hub;

use crate::common::isotp;

#[allow(dead_code)] // the library's tests use more of it
#[path = "../../../isotp/tests/isotp/vehicle.rs"]
mod vehicle;

struct Car {
    iface: String,
    _vehicle: vehicle::Vehicle,
    _hub: Hub,
}

fn car() -> Car {
    let hub = Hub::bind("127.0.0.1:0").expect("hub");
    let iface = format!("socketcand://{}/car", hub.local_addr());
    let ports: Vec<_> = (0..16).map(|_| hub.attach("car").expect("port")).collect();
    let ports = std::sync::Mutex::new(ports);
    let v = vehicle::start(|| {
        Box::new(ports.lock().unwrap().pop().expect("enough ports")) as Box<dyn CanBus>
    });
    Car {
        iface,
        _vehicle: v,
        _hub: hub,
    }
}

fn lines(out: &[u8]) -> Vec<String> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn request_prints_one_line_per_responder() {
    let car = car();
    let out = isotp()
        .args([
            "request",
            "-i",
            &car.iface,
            "--functional",
            "7DF",
            "--collect",
            "7E8-7EF",
        ])
        .args(["--timeout", "1", "09", "02"])
        .assert()
        .success();
    let mut got = lines(&out.get_output().stdout);
    got.sort();
    let vin = "49 02 01 57 56 57 5A 5A 5A 31 4A 5A 58 57 30 30 30 30 30 31";
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0], format!("7E8  {vin}"));
    assert_eq!(got[1], format!("7E9  {vin}"));
    assert_eq!(got[2], "7EA  49 02 01 4E 4F");
    assert!(got[3].starts_with("7ED  49 02 01 41 42"), "{got:?}");
}

#[test]
fn request_json_on_29_bit_ids() {
    let car = car();
    let out = isotp()
        .args([
            "request",
            "-i",
            &car.iface,
            "--functional",
            "18DB33F1",
            "--format",
            "json",
        ])
        .args(["--timeout", "1", "22F190"])
        .assert()
        .success();
    let mut got = lines(&out.get_output().stdout);
    got.sort();
    assert_eq!(
        got,
        [
            r#"{"id":"18DAF110","payload":"62F1905744423231313034323141313233343536"}"#,
            r#"{"id":"18DAF117","payload":"62F190424D53"}"#
        ]
    );
}

#[test]
fn request_mistakes_are_usage_errors_and_silence_a_failure() {
    let car = car();
    let run = |args: &[&str]| {
        isotp()
            .arg("request")
            .args(["-i", &car.iface])
            .args(args)
            .assert()
    };
    let e = run(&["--functional", "123", "01"]).code(2);
    let err = String::from_utf8(e.get_output().stderr.clone()).unwrap();
    assert!(err.contains("give the response ids"), "{err}");
    let e = run(&["--functional", "7DF", "--collect", "7EF-7E8", "01"]).code(2);
    let err = String::from_utf8(e.get_output().stderr.clone()).unwrap();
    assert!(err.contains("backwards"), "{err}");
    run(&["--functional", "7DF", "01 02 03 04 05 06 07 08"]).code(2);
    run(&["--functional", "7DF", "zz"]).code(2);
    // Nobody answers mode 01 in this vehicle.
    let e = run(&["--functional", "7DF", "--timeout", "0.1", "01", "00"]).code(1);
    let err = String::from_utf8(e.get_output().stderr.clone()).unwrap();
    assert!(err.contains("no complete answer within"), "{err}");
}

#[test]
fn scan_prints_a_table_and_json() {
    let car = car();
    let out = isotp()
        .args([
            "scan",
            "-i",
            &car.iface,
            "--ids",
            "7DF-7EF",
            "--interval",
            "0.01",
            "--wait",
            "0.5",
        ])
        .assert()
        .success();
    let got = lines(&out.get_output().stdout);
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(
        got[0].starts_with("request     response    addressing"),
        "{got:?}"
    );
    assert_eq!(
        got[2],
        "7E1         7E9         Normal_11bits   FC CTS       8  5 ms"
    );
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("5 endpoint(s) found"), "{err}");
    assert!(
        err.contains("other traffic on ") && err.contains("5A0"),
        "{err}"
    );

    let out = isotp()
        .args([
            "scan",
            "-i",
            &car.iface,
            "--ids",
            "7E0-7E3",
            "--probe",
            "tester-present",
            "--json",
        ])
        .assert()
        .success();
    let got = lines(&out.get_output().stdout);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        got[0],
        r#"{"request_id":"7E0","response_id":"7E8","addressing":"Normal_11bits","target_address":null,"source_address":null,"answer":"response","payload":"7E00"}"#
    );
}

#[test]
fn scan_options_are_checked() {
    isotp()
        .args(["scan", "-i", "virtual:x", "--ids", "7E8-18DA00F1"])
        .assert()
        .code(2);
    isotp()
        .args(["scan", "-i", "virtual:x", "-x", "55:F1"])
        .assert()
        .code(2);
    isotp()
        .args(["scan", "-i", "virtual:x", "-x", "55", "--extended"])
        .assert()
        .code(2);
    // An empty bus: nothing found, and the limit stops the scan early.
    let out = isotp()
        .args([
            "scan",
            "-i",
            "virtual:x",
            "--ids",
            "000-7FF",
            "--limit",
            "0.1",
            "--json",
        ])
        .assert()
        .success();
    assert!(out.get_output().stdout.is_empty());
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("the time limit stopped the scan"), "{err}");
}

/// A hostile node on its own hub bus: after the first frame on 7DF/7E0-7EF it runs `play` with
/// its port until the test ends.
struct Hostile {
    iface: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    _hub: Hub,
}

impl Hostile {
    fn start(play: impl Fn(&dyn CanBus, &isotp::Frame) + Send + 'static) -> Hostile {
        use std::sync::atomic::Ordering;
        let hub = Hub::bind("127.0.0.1:0").expect("hub");
        let iface = format!("socketcand://{}/hostile", hub.local_addr());
        let port = hub.attach("hostile").expect("port");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if let Ok(Some(f)) = port.recv(Some(std::time::Duration::from_millis(20))) {
                    if (0x7DF..=0x7EF).contains(&f.id().raw()) && !f.id().is_extended() {
                        play(&port, &f);
                    }
                }
            }
        });
        Hostile {
            iface,
            stop,
            thread: Some(thread),
            _hub: hub,
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn frame(id: u32, data: &[u8]) -> isotp::Frame {
    isotp::Frame::new(isotp::CanId::standard(id).unwrap(), data).unwrap()
}

#[test]
fn request_ends_at_its_limit_when_a_responder_is_pending_forever() {
    // "Response pending" every 50 ms, for a second after each request: longer than the limit.
    let hostile = Hostile::start(|port, f| {
        if f.id().raw() == 0x7DF {
            for _ in 0..20 {
                let _ = port.send(&frame(0x7E8, &[0x03, 0x7F, 0x09, 0x78]));
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    });
    let out = isotp()
        .args(["request", "-i", &hostile.iface, "--functional", "7DF"])
        .args(["--timeout", "0.1", "--limit", "0.4", "09", "02"])
        .assert()
        .code(1);
    let stdout = lines(&out.get_output().stdout);
    assert!(stdout.iter().all(|l| l == "7E8  7F 09 78"), "{stdout:?}");
    assert!(!stdout.is_empty());
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("the overall limit of 400ms ended the wait while 7E8 was still answering"),
        "{err}"
    );
}

#[test]
fn scan_names_a_responder_that_answers_every_probe_once() {
    // Ten ids answer every probe with a flow control.
    let hostile = Hostile::start(|port, f| {
        if f.id().raw() != 0x7DF {
            for i in 0..10 {
                let _ = port.send(&frame(0x600 + i, &[0x30, 0x00, 0x00]));
            }
        }
    });
    let out = isotp()
        .args(["scan", "-i", &hostile.iface, "--ids", "7E0-7EF"])
        .args(["--interval", "0.005", "--wait", "0.1", "--json"])
        .assert()
        .success();
    assert!(out.get_output().stdout.is_empty(), "{out:?}");
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("0 endpoint(s) found")
            && err.contains("600, 601, 602, 603, 604, 605, 606, 607 and 2 more answered probes on more than 3 ids"),
        "{err}"
    );
}

#[test]
fn conformance_against_a_dut_that_waits_forever_fails_at_wftmax() {
    // FC.WAIT every 20 ms, 100 times, after each first frame.
    let hostile = Hostile::start(|port, f| {
        if f.id().raw() == 0x7E0 && f.data().first().is_some_and(|b| b >> 4 == 1) {
            for _ in 0..100 {
                let _ = port.send(&frame(0x7E8, &[0x31, 0x00, 0x00]));
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    });
    let out = isotp()
        .args([
            "conformance",
            "-i",
            &hostile.iface,
            "-s",
            "7E0",
            "-d",
            "7E8",
        ])
        .args(["--only", "rx.multi_frame", "-w", "2"])
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("the DUT sent 3 FC.WAIT in a row, more than WFTmax"),
        "{stdout}"
    );
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("1 of 1 tests failed"), "{err}");
}
