//! Recorded logs in every format: `dump` and `sniff` read them, `convert` converts between them, and
//! input that is not a log is refused with what it looks like (exit 2).

use std::path::PathBuf;

use crate::common::isotp;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("isotp-capture-tests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir().join(name);
    std::fs::write(&p, bytes).unwrap();
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

const LOG: &str = "\
(1700000000.042000) can0 7E0#0322F190
(1700000000.042400) can0 7E8#101462F190575657
(1700000000.042500) can0 7E0#3000000000000000
(1700000000.042700) can0 7E8#215A5A5A314A5A58
(1700000000.042900) can0 7E8#2257303030303031
(1700000000.043000) can0 7E0#R
(1700000000.044000) can1 18DA10F1##1100C62F19001020304050607
";

/// A hand-written TRC 1.1 file with the first exchange of LOG.
const TRC_1_1: &str = "\
;$FILEVERSION=1.1
;$STARTTIME=45244.925925925926
;   Start time: 14.11.2023 22:13:20.000
     1)        42.0  Tx         07E0  8  03 22 F1 90 00 00 00 00
     2)        42.4  Rx         07E8  8  10 14 62 F1 90 57 56 57
     3)        42.5  Tx         07E0  8  30 00 00 00 00 00 00 00
     4)        42.7  Rx         07E8  8  21 5A 5A 5A 31 4A 5A 58
     5)        42.9  Rx         07E8  8  22 57 30 30 30 30 30 31
";

#[test]
fn every_format_converts_and_decodes_to_the_same_pdus() {
    let log = file("conv.log", LOG.as_bytes());
    let (code, reference, _) = run(&["sniff", "--format", "json", "--log", log.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(reference.lines().count(), 2, "{reference}");
    for ext in ["asc", "blf", "log", "pcapng", "pcap", "mf4"] {
        let out = dir().join(format!("conv-out.{ext}"));
        let (code, _, err) = run(&["convert", log.to_str().unwrap(), out.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("6 frames converted from candump to"), "{err}");
        assert!(err.contains("not carried: 1 remote frame"), "{err}");
        let (code, pdus, err) = run(&["sniff", "--format", "json", "--log", out.to_str().unwrap()]);
        assert_eq!((code, &pdus), (0, &reference), "{ext}: {err}");
        let (code, frames, _) = run(&["dump", "--log", out.to_str().unwrap()]);
        assert_eq!((code, frames.lines().count()), (0, 6), "{ext}");
        let (code, _, err) = run(&["check", "--log", out.to_str().unwrap()]);
        assert_eq!(code, 0, "{ext}: {err}");
    }
    // dump -w records what it reads, as pcapng by default on standard output.
    let out = isotp()
        .args(["dump", "--log", log.to_str().unwrap(), "-w", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let piped = file("piped.pcapng", &out.stdout);
    let (code, pdus, err) = run(&[
        "sniff",
        "--format",
        "json",
        "--log",
        piped.to_str().unwrap(),
    ]);
    assert_eq!((code, &pdus), (0, &reference), "{err}");
    // Text formats to standard output, and --from/--to over standard input.
    let out = isotp()
        .args(["convert", "--from", "candump", "-", "-", "--to", "asc"])
        .write_stdin(LOG)
        .output()
        .unwrap();
    let asc = String::from_utf8_lossy(&out.stdout);
    assert!(
        asc.contains("   0.000400 1  7E8             Rx   d 8 10 14 62 F1 90 57 56 57"),
        "{asc}"
    );
    let (code, _, err) = run(&["convert", log.to_str().unwrap(), "-", "--to", "blf"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["convert", log.to_str().unwrap(), "out.trc"]);
    assert_eq!(code, 2);
    assert!(err.contains("not supported"), "{err}");
}

#[test]
fn trc_files_are_read() {
    let trc = file("hand.trc", TRC_1_1.as_bytes());
    let (code, out, err) = run(&["sniff", "-t", "A", "--log", trc.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("(2023-11-14 22:13:20.042000) 7E0 -> ?  [3]  22 F1 90"),
        "{out}"
    );
    assert!(
        out.contains("(2023-11-14 22:13:20.042900) 7E8 -> 7E0  [20]"),
        "{out}"
    );
}

#[test]
fn input_in_another_format_or_no_format_is_refused() {
    let blf = dir().join("real.blf");
    let log = file("src.log", LOG.as_bytes());
    run(&["convert", log.to_str().unwrap(), blf.to_str().unwrap()]);
    let renamed = file("looks.log", &std::fs::read(&blf).unwrap());
    let (code, _, err) = run(&["sniff", "--log", renamed.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not a candump log: it looks like a Vector BLF file"),
        "{err}"
    );
    // Plain text that is no log at all: one message, not one warning per line.
    let text: String = (0..500)
        .map(|i| format!("line {i} of a letter\n"))
        .collect();
    let letter = file("letter.asc", text.as_bytes());
    let (code, out, err) = run(&["sniff", "--log", letter.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a Vector ASC file"), "{err}");
    let (code, _, err) = run(&["dump", "--log", dir().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("directory"), "{err}");
    let (code, _, err) = run(&["dump", "--log", log.to_str().unwrap(), "-i", "virtual:x"]);
    assert_eq!(code, 2);
    assert!(err.contains("not both"), "{err}");
}

#[test]
fn malformed_records_are_capped() {
    let mut text = String::from(LOG);
    for i in 0..40 {
        text.push_str(&format!("(1700000001.{i:06}) can0 7E0#0\n"));
    }
    let log = file("many-bad.log", text.as_bytes());
    let (code, _, err) = run(&["dump", "--log", log.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(err.matches("odd number of hex digits").count(), 10, "{err}");
    assert!(
        err.contains("further malformed records are counted, not shown"),
        "{err}"
    );
    assert!(err.contains("40 malformed log lines skipped"), "{err}");
}

#[test]
fn isotpdump_and_isotpsniffer_options() {
    let log = file("opts.log", LOG.as_bytes());
    let log = log.to_str().unwrap();
    // isotpsniffer: -c colour, -t A, -f 1 (hex), -h head, -L (CAN FD, accepted).
    let (code, out, err) = run(&[
        "sniff", "-s", "7E0", "-d", "7E8", "-c", "-L", "-f", "1", "-h", "2", "--log", log,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "22 F1\n62 F1\n");
    let (_, out, _) = run(&[
        "sniff", "-s", "7E0", "-d", "7E8", "-c", "-t", "A", "--log", log,
    ]);
    assert!(
        out.contains("\x1b[") && out.contains("(2023-11-14 22:13:20.042000)"),
        "{out}"
    );
    let (_, out, _) = run(&["sniff", "-f", "2", "--log", log]);
    assert!(out.contains("b..WVWZZZ1JZXW000001"), "{out}");
    // isotpdump: -b broadcast id shown with -s/-d, -x with -X (the -d side's address byte or any).
    let fx = "(1.0) can0 7DF#023E00\n(1.1) can0 7E0#F1023E00\n(1.2) can0 7E8#F2027E00\n(1.3) can0 7E8#F3027E00\n";
    let ext = file("ext.log", fx.as_bytes());
    let ext = ext.to_str().unwrap();
    let (_, out, _) = run(&["dump", "-s", "7E0", "-d", "7E8", "-b", "7DF", "--log", ext]);
    assert!(out.contains("7DF"), "{out}");
    let (_, out, _) = run(&[
        "dump", "-s", "7E0", "-d", "7E8", "-x", "F1", "-X", "F2", "--log", ext,
    ]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (_, out, _) = run(&[
        "dump", "-s", "7E0", "-d", "7E8", "-x", "F1", "-X", "any", "--log", ext,
    ]);
    assert_eq!(out.lines().count(), 3, "{out}");
    let (code, _, _) = run(&["dump", "-X", "F2", "--log", ext]);
    assert_eq!(code, 2);
    // -x any: any byte on -s, and on -d unless -X names one.
    let (code, out, err) = run(&["dump", "-s", "7E0", "-d", "7E8", "-x", "any", "--log", ext]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains("7E0{F1}") && out.contains("7E8{F3}"), "{out}");
    let (_, out, _) = run(&[
        "dump", "-s", "7E0", "-d", "7E8", "-x", "any", "-X", "F2", "--log", ext,
    ]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("7E8{F2}") && !out.contains("{F3}"), "{out}");
    // Only dump watches for any byte: the other commands want the byte.
    let (code, _, err) = run(&["sniff", "-s", "7E0", "-d", "7E8", "-x", "any", "--log", ext]);
    assert_eq!(code, 2);
    assert!(err.contains("only `dump` takes it"), "{err}");
}
