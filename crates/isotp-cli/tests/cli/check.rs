//! `isotp check`: a recording judged frame by frame; exit 1 for a violation, 0 when clean (warnings
//! allowed), 2 for bad options or input.

use std::path::PathBuf;

use crate::common::isotp;

fn file(name: &str, text: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("isotp-check-tests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = isotp().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A request and a 20-byte response whose consecutive frames are 3 ms apart, STmin 10 ms asked.
const TOO_FAST: &str = "\
(1700000000.000000) can0 7E0#0322F190
(1700000000.001000) can0 7E8#101462F190575657
(1700000000.002000) can0 7E0#30000A
(1700000000.012000) can0 7E8#215A5A5A314A5A58
(1700000000.015000) can0 7E8#2257303030303031
";

#[test]
fn a_violation_is_reported_with_its_frames_and_exit_code_1() {
    let log = file("too_fast.log", TOO_FAST);
    let (code, out, err) = run(&["check", "--log", log.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("1 violation"), "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{out}");
    let f = &lines[0];
    assert_eq!(f["kind"], "st_min_violated");
    assert_eq!(f["severity"], "violation");
    assert_eq!(f["conversation"], "7E8/7E0");
    assert_eq!(f["from"], "7E8");
    assert_eq!(f["frame"], 5);
    assert_eq!(f["since_frame"], 4);
    assert_eq!(f["measured_us"], 3000);
    assert_eq!(f["limit_us"], 10000);
    assert_eq!(f["time"].as_f64().unwrap(), 1700000000.015);

    // The text report names the same frames; a larger tolerance forgives the gap.
    let (code, out, _) = run(&["check", "--log", log.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("7E8/7E0: 1 violation, 0 warnings"), "{out}");
    assert!(out.contains("5 (1700000000.015000)"), "{out}");
    let (code, out, _) = run(&[
        "check",
        "--log",
        log.to_str().unwrap(),
        "--st-min-tolerance",
        "7000",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("7E8/7E0: clean"), "{out}");
}

#[test]
fn watched_addresses_and_warnings_exit_0() {
    // The flow control comes after 950 ms: slower than N_Br (900 ms), within N_Bs.
    let log = file(
        "slow.log",
        "\
(1700000000.000000) can0 7E8#101462F190575657
(1700000000.950000) can0 7E0#300000
(1700000000.951000) can0 7E8#215A5A5A314A5A58
(1700000000.952000) can0 7E8#2257303030303031
(1700000000.953000) can0 123#2100
",
    );
    let path = log.to_str().unwrap();
    let (code, out, err) = run(&["check", "--log", path, "-s", "7E0", "-d", "7E8", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let f: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(f["kind"], "n_br_exceeded");
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        (f["frame"].clone(), f["since_frame"].clone()),
        (2.into(), 1.into())
    );
    // With N_Bs at 900 ms the same wait is a violation.
    let (code, out, _) = run(&["check", "--log", path, "--n-bs", "900", "--json"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"n_bs_exceeded\""), "{out}");
}

#[test]
fn usage_and_input_errors_exit_2() {
    let (code, _, err) = run(&["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("--log"), "{err}");
    let (code, _, err) = run(&["check", "--log", "/nonexistent/drive.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot open log"), "{err}");
    let log = file("ok.log", TOO_FAST);
    let (code, _, err) = run(&["check", "--log", log.to_str().unwrap(), "-n", "3"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = run(&["check", "--log", log.to_str().unwrap(), "-x", "F1"]);
    assert_eq!(code, 2);
    let bin = file("not_a_log.blf", "LOGG");
    let (code, _, _) = run(&["check", "--log", bin.to_str().unwrap()]);
    assert_eq!(code, 2);
}

/// Findings go out as they are found, in the table and in JSON: a recording still being written
/// (standard input left open) already shows its findings, and memory does not grow with them.
#[test]
fn findings_stream_before_the_recording_ends() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    for json in [false, true] {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("isotp"));
        cmd.args(["check", "--log", "-", "--log-format", "candump"]);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A single frame, then stray consecutive frames from its end, a finding each: more output
        // than any buffer holds.
        let mut stdin = child.stdin.take().unwrap();
        let text: String = std::iter::once("(1699999999.000000) can0 7E8#023E00\n".to_string())
            .chain((0..2_000).map(|i| {
                format!(
                    "({}.{:06}) can0 7E8#2101020304050607\n",
                    1_700_000_000 + i / 1000,
                    i % 1000
                )
            }))
            .collect();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first.map(|l| l.unwrap_or_default()));
            lines.count()
        });
        let first = rx.recv_timeout(Duration::from_secs(20));
        drop(stdin);
        let first = first.expect("no finding printed while the recording was still open");
        let first = first.expect("output ended");
        if json {
            assert!(
                first.contains("\"unexpected_consecutive_frame\""),
                "{first}"
            );
        } else {
            assert!(first.starts_with("frame (time)"), "{first}");
        }
        let rest = reader.join().unwrap();
        assert!(child.wait().unwrap().success());
        // JSON: one line per finding; the table: a header, the rows, the summary.
        assert_eq!(
            rest + 1,
            if json { 2_000 } else { 2_000 + 1 + 2 },
            "json: {json}"
        );
    }
}

/// More ends at once than a monitor follows: sniff and check say so as it happens and count the
/// evictions at the end.
#[test]
fn evictions_are_reported_by_sniff_and_check() {
    let text: String = (0..10_050u32)
        .map(|i| {
            format!(
                "(1700000000.{:06}) can0 {:08X}#023E00\n",
                i % 1_000_000,
                0x100_0000 + i
            )
        })
        .collect();
    let log = file("many-ends.log", &text);
    for command in ["sniff", "check"] {
        let (code, out, err) = run(&[command, "--log", log.to_str().unwrap()]);
        assert_eq!(code, 0, "{command}: {err}");
        assert!(
            err.contains("evicted and counted at the end"),
            "{command}: {err}"
        );
        assert!(
            err.contains("evicted: 50 conversations past the limit, 0 idle conversations"),
            "{command}: {err}"
        );
        if command == "sniff" {
            assert_eq!(out.lines().count(), 10_050);
        }
    }
}
