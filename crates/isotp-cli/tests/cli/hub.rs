//! The commands across processes: `isotp hub` on 127.0.0.1 (a free port) and clients on
//! `socketcand://127.0.0.1:PORT/BUS`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

use crate::common::isotp;

/// A running `isotp hub`, killed when dropped.
struct Hub {
    child: Child,
    port: u16,
    log: Receiver<String>,
    seen: Vec<String>,
}

impl Hub {
    fn start() -> Hub {
        let mut child = StdCommand::new(cargo_bin("isotp"))
            .args(["hub", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("isotp hub starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        let (tx, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Hub {
            child,
            port,
            log,
            seen: Vec::new(),
        }
    }

    fn iface(&self, bus: &str) -> String {
        format!("socketcand://127.0.0.1:{}/{bus}", self.port)
    }

    /// Waits until the hub has logged `needle` `times` times in all.
    fn wait_for(&mut self, needle: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.seen.iter().filter(|l| l.contains(needle)).count() >= times {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "the hub never logged {needle:?} x{times}; it logged {:?}",
                    self.seen
                ),
            }
        }
    }
}

impl Hub {
    /// Waits until `clients` clients have opened `bus`, plus a moment for their `< rawmode >`
    /// round trip (the hub logs the open, not the mode switch that follows it at once).
    fn wait_for_clients(&mut self, bus: &str, clients: usize) {
        self.wait_for(&format!("opened bus \"{bus}\""), clients);
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a long-running client whose output is collected at the end.
fn spawn(args: &[&str]) -> Child {
    StdCommand::new(cargo_bin("isotp"))
        .args(args)
        .env_remove("ISOTP_IFACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a spawned client to exit (at most 20 s) and returns its exit code, stdout and stderr.
fn finish(mut child: Child) -> (Option<i32>, String, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = child.wait().unwrap();
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), out, err)
}

const VIN_RESPONSE: &str = "62 F1 90 57 56 57 5A 5A 5A 31 4A 5A 58 57 30 30 30 30 30 31";

#[test]
fn hub_logs_connects_and_disconnects() {
    let mut hub = Hub::start();
    let stream = std::net::TcpStream::connect(("127.0.0.1", hub.port)).unwrap();
    hub.wait_for("connected", 1);
    drop(stream);
    hub.wait_for("disconnected", 1);
}

#[test]
fn hub_on_a_busy_port_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let a = isotp()
        .args(["hub", "--listen", &format!("127.0.0.1:{port}")])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.matches("cannot listen on").count(), 1, "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn send_and_recv_across_processes() {
    let mut hub = Hub::start();
    let bus = hub.iface("sendrecv");
    let recv = spawn(&[
        "recv",
        "-i",
        &bus,
        "-s",
        "7E8",
        "-d",
        "7E0",
        "-n",
        "2",
        "--timeout",
        "10",
    ]);
    hub.wait_for_clients("sendrecv", 1);
    isotp()
        .args([
            "send",
            "-i",
            &bus,
            "-s",
            "7E0",
            "-d",
            "7E8",
            "--data",
            VIN_RESPONSE,
        ])
        .assert()
        .success();
    isotp()
        .args(["send", "-i", &bus, "-s", "7E0", "-d", "7E8"])
        .write_stdin("3E 00\n")
        .assert()
        .success();
    let (code, out, err) = finish(recv);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, format!("{VIN_RESPONSE}\n3E 00\n"));
}

#[test]
fn dump_and_sniff_watch_a_live_conversation() {
    let mut hub = Hub::start();
    let bus = hub.iface("watch");
    let dump = spawn(&[
        "dump",
        "-i",
        &bus,
        "-s",
        "7E0",
        "-d",
        "7E8",
        "-n",
        "5",
        "--timeout",
        "10",
    ]);
    let sniff = spawn(&[
        "sniff",
        "-i",
        &bus,
        "-s",
        "7E0",
        "-d",
        "7E8",
        "--format",
        "hex",
        "-n",
        "2",
        "--timeout",
        "10",
    ]);
    let recv = spawn(&[
        "recv",
        "-i",
        &bus,
        "-s",
        "7E8",
        "-d",
        "7E0",
        "--timeout",
        "10",
    ]);
    // dump -w records the same frames live, as pcapng.
    let recording = std::env::temp_dir().join(format!("isotp-live-{}.pcapng", std::process::id()));
    let record = spawn(&[
        "dump",
        "-i",
        &bus,
        "-w",
        recording.to_str().unwrap(),
        "-n",
        "5",
        "--timeout",
        "10",
    ]);
    hub.wait_for_clients("watch", 4);
    // Tester to ECU: 20 bytes (first frame, flow control, two consecutive frames).
    isotp()
        .args([
            "send",
            "-i",
            &bus,
            "-s",
            "7E0",
            "-d",
            "7E8",
            "--data",
            VIN_RESPONSE,
        ])
        .assert()
        .success();
    // ECU to tester: one single frame (nobody needs to answer it).
    isotp()
        .args([
            "send", "-i", &bus, "-s", "7E8", "-d", "7E0", "--data", "7E 00",
        ])
        .assert()
        .success();

    let (code, out, err) = finish(recv);
    assert_eq!(
        (code, out.as_str()),
        (Some(0), format!("{VIN_RESPONSE}\n").as_str()),
        "{err}"
    );
    let (code, out, err) = finish(sniff);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, format!("{VIN_RESPONSE}\n7E 00\n"));
    let (code, out, err) = finish(dump);
    assert_eq!(code, Some(0), "{err}");
    let kinds: Vec<&str> = out
        .lines()
        .map(|l| {
            l.split("  ")
                .nth(3)
                .unwrap_or("")
                .split(' ')
                .next()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(kinds, ["[FF]", "[FC]", "[CF]", "[CF]", "[SF]"], "{out}");
    let (code, _, err) = finish(record);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("5 frames written to"), "{err}");
    let out = isotp()
        .args([
            "sniff",
            "--format",
            "hex",
            "--log",
            recording.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&recording);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{VIN_RESPONSE}\n7E 00\n")
    );
}

#[test]
fn perf_measures_a_link_between_two_processes() {
    let mut hub = Hub::start();
    let bus = hub.iface("perf");
    let receiver = spawn(&[
        // Default ids: the mirror of the sender's 7E0/7E8.
        "perf", "-i", &bus, "--role", "recv", "--count", "10", "--size", "200", "--rtt", "--json",
    ]);
    hub.wait_for_clients("perf", 1);
    let a = isotp()
        .args([
            "perf", "-i", &bus, "--role", "send", "--count", "10", "--size", "200",
        ])
        .args(["--rtt", "--json"])
        .assert()
        .success();
    let sent: serde_json::Value =
        serde_json::from_slice(&a.get_output().stdout).expect("one JSON object");
    assert_eq!(sent["mode"], "send");
    assert_eq!(sent["corrupt"], 0);
    assert!(sent["rtt_us"]["p99"].as_f64().unwrap() > 0.0, "{sent}");
    let (code, out, err) = finish(receiver);
    assert_eq!(code, Some(0), "{err}");
    let received: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(received["mode"], "recv");
    assert_eq!(received["pdus"], 10);
    assert!(
        received["bytes_per_sec"].as_f64().unwrap() > 0.0,
        "{received}"
    );
}

// ---- conformance and echo ------------------------------------------------------------------------

#[test]
fn our_echo_passes_every_conformance_test() {
    let mut hub = Hub::start();
    let bus = hub.iface("conformance");
    let echo = spawn(&[
        "echo", "-i", &bus, "-s", "7E8", "-d", "7E0", "-b", "8", "-q",
    ]);
    hub.wait_for_clients("conformance", 1);
    // Over socketcand frames are timed when they reach the tester, after two TCP hops that may
    // bunch them on a loaded machine: a generous tolerance (the virtual-bus test in crates/isotp
    // judges the timing exactly).
    let a = isotp()
        .timeout(Duration::from_secs(60))
        .args([
            "conformance",
            "-i",
            &bus,
            "-s",
            "7E0",
            "-d",
            "7E8",
            "--json",
            "--tolerance",
            "20000",
            "--stmin-trials",
            "3",
        ])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 23, "{out}");
    for line in lines {
        let expected = if line.contains("\"test\":\"fd.") {
            "skip"
        } else {
            "pass"
        };
        assert!(
            line.contains(&format!("\"verdict\":\"{expected}\"")),
            "{line}"
        );
    }
    drop(hub);
    let (_, _, err) = finish(echo);
    assert!(
        err.contains("FC.OVFLW"),
        "the echo reports the refused message: {err}"
    );
}

#[test]
fn conformance_without_a_dut_fails_and_bad_options_are_usage_errors() {
    let hub = Hub::start();
    let bus = hub.iface("nodut");
    isotp()
        .args([
            "conformance",
            "-i",
            &bus,
            "-s",
            "7E0",
            "-d",
            "7E8",
            "--only",
            "rx.overflow",
        ])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("FAIL"))
        .stdout(predicates::str::contains("0 passed, 1 failed"));
    for bad in [
        &["--only", "nope"][..],
        &["--dut", "uds"][..],
        &["--dut", "uds", "--request", "2G"][..],
        &["--request", "22F190"][..],
    ] {
        isotp()
            .args(["conformance", "-i", &bus, "-s", "7E0", "-d", "7E8"])
            .args(bad)
            .assert()
            .code(2);
    }
    isotp()
        .args(["conformance", "--list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("tx.stmin_reserved"));
}
