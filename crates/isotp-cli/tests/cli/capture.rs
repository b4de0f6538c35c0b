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
fn convert_never_writes_to_its_input() {
    let log = file("keep.log", LOG.as_bytes());
    // A hard link and a symbolic link: other names of the input, which path names do not reveal.
    let hard = dir().join("keep-hard.asc");
    let soft = dir().join("keep-soft.asc");
    let _ = std::fs::remove_file(&hard);
    let _ = std::fs::remove_file(&soft);
    std::fs::hard_link(&log, &hard).unwrap();
    std::os::unix::fs::symlink(&log, &soft).unwrap();
    for out in [&hard, &soft, &log] {
        let (code, _, err) = run(&["convert", log.to_str().unwrap(), out.to_str().unwrap()]);
        assert_eq!(code, 2, "{}: {err}", out.display());
        assert!(err.contains("is the input"), "{err}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), LOG);
    }
    // An existing output is replaced whole, through a new file: its other names keep the old text,
    // and nothing is left beside it.
    let sub = dir().join("replace");
    let _ = std::fs::remove_dir_all(&sub);
    std::fs::create_dir(&sub).unwrap();
    let out = sub.join("out.asc");
    let other_name = sub.join("other-name.txt");
    std::fs::write(&out, "old text\n").unwrap();
    std::fs::hard_link(&out, &other_name).unwrap();
    let (code, _, err) = run(&["convert", log.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("Begin Triggerblock"));
    assert_eq!(std::fs::read_to_string(&other_name).unwrap(), "old text\n");
    let mut names: Vec<String> = std::fs::read_dir(&sub)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["other-name.txt", "out.asc"]);
    // A conversion that fails (fatal input error) leaves the old output as it was.
    let bad = file("bad.blf", b"LOGG not really a blf file at all, just text");
    let (code, _, _) = run(&[
        "convert",
        "--from",
        "blf",
        bad.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("Begin Triggerblock"));
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

/// Mutated recordings of every format through every command that reads one: each ends within the
/// command timeout with exit 0, 1 or 2, never a panic, and convert leaves its input as it was.
#[test]
fn mutated_recordings_through_every_command() {
    use isotp_core::fuzzing::{mutate, Rng};

    let log = file("mut-src.log", LOG.as_bytes());
    let mut seeds = vec![(String::from("log"), LOG.as_bytes().to_vec())];
    for ext in ["asc", "blf"] {
        let out = dir().join(format!("mut-src.{ext}"));
        let (code, _, err) = run(&["convert", log.to_str().unwrap(), out.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        seeds.push((ext.to_string(), std::fs::read(&out).unwrap()));
    }
    seeds.push((String::from("trc"), TRC_1_1.as_bytes().to_vec()));
    let pool: Vec<Vec<u8>> = seeds.iter().map(|(_, b)| b.clone()).collect();
    let mut rng = Rng(0x5DEE_CE66_D1CE_B00B);
    for (ext, seed) in &seeds {
        for i in 0..5 {
            let bytes = mutate(&mut rng, seed, &pool);
            let input = file(&format!("mut-{i}.{ext}"), &bytes);
            let path = input.to_str().unwrap();
            let converted = dir().join(format!("mut-{i}-out.log"));
            let commands: [&[&str]; 5] = [
                &["sniff", "--log", path],
                &["dump", "--log", path],
                &["check", "--log", path],
                &["check", "--json", "--log", path],
                &["convert", path, converted.to_str().unwrap()],
            ];
            for args in commands {
                let (code, _, err) = run(args);
                assert!(
                    (0..=2).contains(&code) && !err.contains("panicked"),
                    "{args:?} ended with {code}: {err}"
                );
            }
            assert_eq!(
                std::fs::read(&input).unwrap(),
                bytes,
                "convert changed its input"
            );
        }
    }
}

/// An ASC event time past the range (it panicked every command): each command reads on and names
/// the line.
#[test]
fn an_event_time_past_the_range_names_its_line() {
    let asc = file(
        "far.asc",
        b"date Tue Nov 14 22:13:20.000 2023\nbase hex  timestamps absolute\nBegin Triggerblock Tue Nov 14 22:13:20.000 2023\n   18446744073709551615.0 1  7E0 Rx d 4 03 22 F1 90\n",
    );
    let out = dir().join("far-out.log");
    let path = asc.to_str().unwrap();
    let commands: [&[&str]; 4] = [
        &["sniff", "--log", path],
        &["dump", "--log", path],
        &["check", "--log", path],
        &["convert", path, out.to_str().unwrap()],
    ];
    for args in commands {
        let (code, _, err) = run(args);
        assert!((0..=2).contains(&code), "{args:?}: exit {code}: {err}");
        assert!(
            err.contains("line 4") && err.contains("out of range"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn sniff_takes_isotpsniffers_link_layer_argument() {
    // A CAN FD conversation: a 100-byte message in 64-byte frames (FF, FC, CF).
    let mut ff = vec![0x10, 100];
    ff.extend(0u8..62);
    let mut cf = vec![0x21];
    cf.extend(62u8..100);
    cf.resize(48, 0xCC);
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02X}")).collect::<String>();
    let text = format!(
        "(1.000000) can0 7E0##1{}\n(1.001000) can0 7E8##1300000000000000\n(1.002000) can0 7E0##1{}\n",
        hex(&ff),
        hex(&cf)
    );
    let log = file("fd-sniff.log", text.as_bytes());
    let log = log.to_str().unwrap();
    let expected: String = (0..100u8).map(|b| format!("{b:02X} ")).collect();
    for link in [&["-L", "72:64:1"][..], &["-L"], &[]] {
        let mut args = vec!["sniff", "-s", "7E0", "-d", "7E8", "-f", "1"];
        args.extend_from_slice(link);
        args.extend_from_slice(&["--log", log]);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{link:?}: {err}");
        assert_eq!(out.trim_end(), expected.trim_end(), "{link:?}");
    }
    // Validated as isotpsend's -L.
    let (code, _, err) = run(&["sniff", "-L", "99:64:1", "--log", log]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("MTU '99'"), "{err}");
}
