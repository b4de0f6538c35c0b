//! `isotp request` and `isotp scan` against the simulated vehicle, through an in-process hub.

use isotp::bus::socketcand::server::Hub;
use isotp::bus::CanBus;

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
