//! `isotp check --uds` and `--html` on recorded flash sessions (tests/data, written by
//! scripts/report_corpus.py): the planted faults found exactly, the clean twin clean.

use std::path::PathBuf;

use crate::common::isotp;

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = isotp().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_planted_p2_violation_is_found_with_its_frames() {
    let (code, out, err) = run(&["check", "--log", &data("uds_flash.log"), "--uds", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("1 violation of ISO 15765-2 and 1 violation of ISO 14229 timing"),
        "{err}"
    );
    let found = json_lines(&out);
    assert_eq!(found.len(), 2, "{out}");
    let st_min = &found[0];
    assert_eq!(st_min["kind"], "st_min_violated");
    assert_eq!(st_min["frame"], 682);
    // RequestTransferExit (frame 1303) answered 120 ms later (frame 1304); the session response
    // announced P2 = 50 ms.
    let p2 = &found[1];
    assert_eq!(p2["layer"], "uds");
    assert_eq!(p2["kind"], "p2_exceeded");
    assert_eq!(p2["severity"], "violation");
    assert_eq!(p2["conversation"], "7E0/7E8");
    assert_eq!(p2["from"], "7E8");
    assert_eq!(
        (p2["frame"].clone(), p2["since_frame"].clone()),
        (1304.into(), 1303.into())
    );
    assert_eq!(p2["measured_us"], 120_000);
    assert_eq!(p2["limit_us"], 50_000);

    // The table says the same; a P2 limit of 150 ms given on the command line forgives it.
    let (code, out, _) = run(&["check", "--log", &data("uds_flash.log"), "--uds"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("7E0 -> 7E8: 8 exchanges, 0 negative, 0 unanswered"),
        "{out}"
    );
    assert!(out.contains("1304 (1700000001.600250)"), "{out}");
    let (_, out, _) = run(&[
        "check",
        "--log",
        &data("uds_flash.log"),
        "--uds",
        "--p2",
        "150",
        "--json",
    ]);
    assert!(!out.contains("p2_exceeded"), "{out}");
}

#[test]
fn the_clean_twin_is_clean_and_response_pending_is_no_fault() {
    // Its first TransferData is answered after two "response pending" 30 ms apart.
    let (code, out, err) = run(&[
        "check",
        "--log",
        &data("uds_flash_clean.log"),
        "--uds",
        "--json",
    ]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    // With P2* at 20 ms the second pending and the final response come too late.
    let (code, out, _) = run(&[
        "check",
        "--log",
        &data("uds_flash_clean.log"),
        "--uds",
        "--p2-star",
        "20",
        "--json",
    ]);
    assert_eq!(code, 1);
    let kinds: Vec<_> = json_lines(&out).iter().map(|f| f["kind"].clone()).collect();
    assert_eq!(kinds, ["p2_star_exceeded", "p2_star_exceeded"], "{out}");
    // Without --uds, UDS timing is not judged.
    let (code, out, _) = run(&["check", "--log", &data("uds_flash.log"), "--json"]);
    assert_eq!(code, 1);
    assert!(!out.contains("\"uds\""), "{out}");
    let (code, _, err) = run(&["check", "--log", &data("uds_flash.log"), "--p2", "10"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--uds"), "{err}");
}

#[test]
fn the_html_report_is_one_file_holding_the_findings() {
    let dir = std::env::temp_dir().join(format!("isotp-check-uds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("flash.html");
    let (code, _, err) = run(&[
        "check",
        "--log",
        &data("uds_flash.log"),
        "--uds",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("/*DATA*/"));
    for needle in [
        "\"kind\":\"st_min_violated\"",
        "\"kind\":\"p2_exceeded\"",
        "\"frame\":682",
    ] {
        assert!(html.contains(needle), "{needle} not in the report");
    }
    // Nothing from outside: no http(s) address anywhere but the SVG namespace.
    let outside: Vec<_> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 40).min(html.len())])
        .filter(|s| !s.starts_with("http://www.w3.org/2000/svg") && !s.starts_with("http-equiv"))
        .collect();
    assert_eq!(outside, Vec::<&str>::new());
    let (code, _, err) = run(&[
        "check",
        "--log",
        &data("uds_flash.log"),
        "--html",
        "/nonexistent/dir/r.html",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot write the report"), "{err}");
}
