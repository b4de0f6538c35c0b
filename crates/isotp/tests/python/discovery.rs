//! Functional requests and scans with python can-isotp 2.0.7 ECUs (interop/ecus.py) on our hub.
//!
//! Run by `scripts/interop-tests` (which sets `ISOTP_INTEROP_PYTHON` to a venv with can-isotp and
//! python-can); ignored by a plain `cargo test`, and failing when run without the variable.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use isotp::discovery::{Answer, FunctionalRequest, Scan};
use isotp::wire::{FlowStatus, StMin};
use isotp::Node;
use isotp_hub::Hub;

use crate::python;

fn vin() -> Vec<u8> {
    let mut v = vec![0x49, 0x02, 0x01];
    v.extend_from_slice(b"WVWZZZ1JZXW000001");
    v
}

fn long() -> Vec<u8> {
    let mut v = vec![0x49, 0x02, 0x01];
    v.extend((0..197u32).map(|i| (i * 7).to_le_bytes()[0]));
    v
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02X}")).collect()
}

/// Python ECUs on a hub bus; killed on drop.
struct PythonEcus {
    child: Child,
}

impl Drop for PythonEcus {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn python_ecus(hub: &Hub, channel: &str) -> PythonEcus {
    let spec = format!(
        r#"[{{"request": 2016, "response": 2024, "answer": "{}"}},
            {{"request": 2017, "response": 2025, "answer": "{}", "blocksize": 4, "stmin": 2}},
            {{"request": 2018, "response": 2026, "answer": null}}]"#,
        hex(&vin()),
        hex(&long())
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/ecus.py");
    let addr = hub.local_addr();
    let mut child = Command::new(python())
        .arg(script)
        .args([
            addr.ip().to_string(),
            addr.port().to_string(),
            channel.to_string(),
            spec,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let ecus = PythonEcus { child };
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the python ECUs start");
    assert_eq!(line.trim(), "READY", "python ECUs: {line:?}");
    ecus
}

#[test]
#[ignore = "needs python can-isotp: run scripts/interop-tests"]
fn a_functional_request_collects_python_ecus_answers() {
    let hub = Hub::bind("127.0.0.1:0").expect("hub");
    let _ecus = python_ecus(&hub, "functional");
    let tester = Node::new(hub.attach("functional").expect("port"));
    let answers = FunctionalRequest::obd()
        .with_window(Duration::from_secs(1))
        .run(&tester, &[0x09, 0x02])
        .expect("request");
    let mut got: Vec<(u32, Option<Vec<u8>>)> = answers
        .responses
        .iter()
        .map(|a| (a.response_id.raw(), a.outcome.clone().ok()))
        .collect();
    got.sort_by_key(|g| g.0);
    assert_eq!(
        got,
        [(0x7E8, Some(vin())), (0x7E9, Some(long()))],
        "{answers:?}"
    );
}

#[test]
#[ignore = "needs python can-isotp: run scripts/interop-tests"]
fn a_scan_finds_python_ecus_and_their_flow_control() {
    let hub = Hub::bind("127.0.0.1:0").expect("hub");
    let _ecus = python_ecus(&hub, "scan");
    let tester = Node::new(hub.attach("scan").expect("port"));
    let report = Scan::new("7E0-7E7".parse().expect("range"))
        .with_interval(Duration::from_millis(20))
        .with_confirm_wait(Duration::from_millis(500))
        .run(&tester)
        .expect("scan");
    let found: Vec<(u32, u32, Answer)> = report
        .endpoints
        .iter()
        .map(|e| (e.request_id.raw(), e.response_id.raw(), e.answer.clone()))
        .collect();
    let fc = |block_size, st| Answer::FlowControl {
        status: FlowStatus::ContinueToSend,
        block_size,
        st_min: StMin::from_byte(st),
    };
    assert_eq!(
        found,
        [
            (0x7E0, 0x7E8, fc(0, 0)),
            (0x7E1, 0x7E9, fc(4, 2)),
            (0x7E2, 0x7EA, fc(0, 0))
        ],
        "{report:?}"
    );
}
