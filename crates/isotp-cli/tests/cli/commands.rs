//! Every command in one process, run as a user would: good and bad input, exit codes.
//!
//! Commands that need two parties in one process (demo, perf) run on in-process virtual buses;
//! the `hub` module covers the commands across processes through `isotp hub`.

use std::io::Write;
use std::path::PathBuf;

use predicates::prelude::*;

use crate::common::{isotp, stdout_of};

/// A diagnostic conversation: request, a 20-byte answer with flow control, a functional
/// TesterPresent, a CAN FD exchange on 29-bit ids, and remote/error frames to pass over.
const LOG: &str = "\
(1700000000.000000) can0 7E0#0322F190
(1700000000.000400) can0 7E8#101462F190575657
(1700000000.000500) can0 7E0#300000
(1700000000.000800) can0 7E8#215A5A5A314A5A58
(1700000000.001100) can0 7E8#2257303030303031
(1700000000.002000) can0 7DF#023E00
(1700000000.002500) can0 123#R
(1700000000.002600) can0 20000080#0000000000000000
(1700000000.003000) can0 18DA10F1##110CB62F1A0CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC
";

/// Writes `text` to a fresh file and returns its path.
fn log_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("isotp-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    path
}

// ---- help -------------------------------------------------------------------------------------

#[test]
fn help_lists_every_command() {
    let a = isotp().arg("--help").assert().success();
    let out = stdout_of(&a);
    for cmd in ["send", "recv", "dump", "sniff", "perf", "hub", "demo"] {
        assert!(
            out.contains(&format!("  {cmd} ")),
            "{cmd} missing from:\n{out}"
        );
    }
    assert!(out.contains("Exit codes"));
}

#[test]
fn each_command_help_lists_its_options_with_defaults() {
    let expect: &[(&str, &[&str])] = &[
        (
            "send",
            &[
                "-i, --iface",
                "ISOTP_IFACE",
                "-s, --tx-id",
                "-d, --rx-id",
                "-x, --ext-addr",
                "-p, --padding",
                "-P, --pad-check",
                "-L, --link",
                "[default: 16:8:0]",
                "-w, --wftmax",
                "[default: 0A]",
                "--max-size",
                "[default: 4095]",
                "--data",
                "--file",
                "-l, --loop",
                "[default: 1]",
                "-g, --gap",
                "[default: 0]",
                "--functional",
                "--timeout",
            ],
        ),
        (
            "recv",
            &[
                "-b, --block-size",
                "-m, --stmin",
                "[default: 00]",
                "-n, --count",
                "-l, --loop",
                "--format",
                "[default: hex]",
                "--timeout",
                "-u, --uds",
            ],
        ),
        (
            "dump",
            &[
                "--log",
                "-t, --timestamp",
                "[default: n]",
                "-a, --ascii",
                "-u, --uds",
                "-s, --tx-id",
            ],
        ),
        (
            "sniff",
            &[
                "--log",
                "--format",
                "[default: text]",
                "[default: a]",
                "--max-size",
            ],
        ),
        (
            "perf",
            &[
                "--role",
                "--size",
                "[default: 4095]",
                "--count",
                "[default: 100]",
                "--rtt",
                "--json",
                "-L, --link",
                "-b, --block-size",
                "[default: 5]",
            ],
        ),
        ("hub", &["--listen", "[default: 127.0.0.1:29536]"]),
        ("demo", &["--quiet"]),
    ];
    for (cmd, options) in expect {
        let a = isotp().args([cmd, "--help"]).assert().success();
        let out = stdout_of(&a);
        for o in *options {
            assert!(out.contains(o), "`isotp {cmd} --help` lacks {o}:\n{out}");
        }
    }
}

#[test]
fn an_unknown_option_is_a_usage_error() {
    isotp().args(["send", "--bogus"]).assert().code(2);
}

// ---- demo -------------------------------------------------------------------------------------

#[test]
fn demo_shows_frames_and_messages() {
    let a = isotp().arg("demo").assert().success();
    let out = stdout_of(&a);
    for needle in [
        "[SF] ln: 2    data: 10 03",
        "[FF] ln: 20",
        "[FC] FC: 0 = CTS # BS: 4",
        "[CF] sn: 1",
        "tester -> ECU",
        "ECU -> tester",
        "ReadDataByIdentifier positive response VIN (F190)",
        "(functional)",
        "requestOutOfRange",
        "CAN FD, DL 64, BRS",
        "[64]*",
        "[FF] ln: 203",
    ] {
        assert!(out.contains(needle), "demo output lacks {needle:?}:\n{out}");
    }
    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn demo_quiet_prints_messages_only() {
    let a = isotp().args(["demo", "--quiet"]).assert().success();
    let out = stdout_of(&a);
    assert!(out.contains("tester -> ECU"));
    assert!(!out.contains("[CF]"));
}

// ---- send -------------------------------------------------------------------------------------

#[test]
fn send_a_single_frame_succeeds_without_a_peer() {
    isotp()
        .args([
            "send",
            "-i",
            "virtual:send-sf",
            "-s",
            "7E0",
            "-d",
            "7E8",
            "--data",
            "3E 00",
        ])
        .assert()
        .success()
        .stdout("");
}

#[test]
fn send_reads_hex_from_stdin_and_the_interface_from_the_environment() {
    isotp()
        .env("ISOTP_IFACE", "virtual:send-env")
        .args(["send", "-s", "7E0", "-d", "7E8"])
        .write_stdin("02\n3e")
        .assert()
        .success();
}

#[test]
fn send_reads_a_binary_file() {
    let path = log_file("payload.bin", "\x01\x02\x03");
    isotp()
        .args([
            "send",
            "-i",
            "virtual:send-file",
            "-s",
            "7E0",
            "-d",
            "7E8",
            "--file",
        ])
        .arg(&path)
        .assert()
        .success();
}

#[test]
fn send_to_a_peer_that_never_answers_fails_with_n_bs() {
    isotp()
        .args([
            "send",
            "-i",
            "virtual:send-nobody",
            "-s",
            "7E0",
            "-d",
            "7E8",
        ])
        .args(["--data", "11 22 33 44 55 66 77 88 99"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no flow control received within N_Bs = 1000 ms",
        ));
}

#[test]
fn send_bad_hex_on_stdin_is_a_usage_error() {
    isotp()
        .args(["send", "-i", "virtual:send-bad", "-s", "7E0", "-d", "7E8"])
        .write_stdin("11 22\n33 zz\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("'zz' at line 2, column 4"));
    isotp()
        .args(["send", "-i", "virtual:send-bad", "-s", "7E0", "-d", "7E8"])
        .write_stdin("123")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("odd number of hex digits"));
}

#[test]
fn send_empty_payload_is_a_usage_error() {
    isotp()
        .args(["send", "-i", "virtual:send-empty", "-s", "7E0", "-d", "7E8"])
        .write_stdin(" \n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("payload is empty"));
}

#[test]
fn ids_out_of_range_are_usage_errors() {
    for bad in ["20000000", "123456789", "7G0", "-5"] {
        isotp()
            .args([
                "send",
                "-i",
                "virtual:ids",
                "-s",
                bad,
                "-d",
                "7E8",
                "--data",
                "11",
            ])
            .assert()
            .code(2);
    }
    isotp()
        .args([
            "send",
            "-i",
            "virtual:ids",
            "-s",
            "7E0",
            "-d",
            "7E0",
            "--data",
            "11",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("same"));
}

#[test]
fn bad_link_options_are_usage_errors() {
    for args in [
        &["-L", "16:64:0"][..],
        &["-L", "72:10:1"],
        &["-p", "XY"],
        &["-P", "c"],
        &["-x", "100"],
    ] {
        isotp()
            .args([
                "send",
                "-i",
                "virtual:opts",
                "-s",
                "7E0",
                "-d",
                "7E8",
                "--data",
                "11",
            ])
            .args(args)
            .assert()
            .code(2);
    }
}

#[test]
fn send_with_fd_padding_and_extended_addressing() {
    isotp()
        .args([
            "send",
            "-i",
            "virtual:send-fd",
            "-s",
            "18DA10F1",
            "-d",
            "18DAF110",
        ])
        .args([
            "-L", "72:64:1", "-p", "CC:", "-x", "10:F1", "--data", "22F1A0",
        ])
        .assert()
        .success();
}

#[test]
fn unknown_interface_is_a_one_line_usage_error() {
    let a = isotp()
        .args([
            "send",
            "-i",
            "carrier-pigeon:1",
            "-s",
            "7E0",
            "-d",
            "7E8",
            "--data",
            "11",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown interface kind"), "{err}");
}

#[test]
fn unreachable_interface_is_a_usage_error() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    isotp()
        .args(["send", "-i", &format!("socketcand://127.0.0.1:{port}/x")])
        .args(["-s", "7E0", "-d", "7E8", "--data", "11"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot open"));
}

#[test]
fn missing_interface_is_a_usage_error() {
    isotp()
        .args(["send", "-s", "7E0", "-d", "7E8", "--data", "11"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("-i IFACE"));
}

#[test]
fn functional_sends_need_a_single_frame() {
    isotp()
        .args([
            "send",
            "-i",
            "virtual:func",
            "-s",
            "7DF",
            "--functional",
            "--data",
            "3E00",
        ])
        .assert()
        .success();
    isotp()
        .args(["send", "-i", "virtual:func", "-s", "7DF", "--functional"])
        .args(["--data", "1122334455667788"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not fit a single frame"));
}

#[test]
fn send_needs_both_ids_for_physical_messages() {
    isotp()
        .args(["send", "-i", "virtual:ids2", "-s", "7E0", "--data", "11"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("-d ID"));
}

// ---- recv -------------------------------------------------------------------------------------

#[test]
fn recv_times_out_naming_what_it_awaited() {
    isotp()
        .args([
            "recv",
            "-i",
            "virtual:recv-none",
            "-s",
            "7E8",
            "-d",
            "7E0",
            "--timeout",
            "0.2",
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "timed out after 0.2 s waiting for a PDU on 7E0",
        ));
}

#[test]
fn recv_needs_ids() {
    isotp()
        .args([
            "recv",
            "-i",
            "virtual:recv-ids",
            "-s",
            "7E8",
            "--timeout",
            "0.1",
        ])
        .assert()
        .code(2);
}

// ---- dump -------------------------------------------------------------------------------------

#[test]
fn dump_explains_every_frame_of_a_log() {
    let path = log_file("dump.log", LOG);
    let a = isotp()
        .args(["dump", "-t", "z", "-u", "--log"])
        .arg(&path)
        .assert()
        .success();
    let out = stdout_of(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7, "{out}");
    assert_eq!(
        lines[0],
        "(0.000000)  can0  7E0  [4]  [SF] ln: 3    data: 22 F1 90  [ReadDataByIdentifier VIN (F190)]"
    );
    assert!(
        lines[1].starts_with("(0.000400)  can0  7E8  [8]  [FF] ln: 20   data: 62 F1 90 57 56 57")
    );
    assert_eq!(
        lines[2],
        "(0.000500)  can0  7E0  [3]  [FC] FC: 0 = CTS # BS: 0 = off # STmin: 0x00 = 0 ms"
    );
    assert_eq!(
        lines[3],
        "(0.000800)  can0  7E8  [8]  [CF] sn: 1    data: 5A 5A 5A 31 4A 5A 58"
    );
    assert!(lines[5].contains("7DF  [3]  [SF] ln: 2    data: 3E 00  [TesterPresent]"));
    assert!(
        lines[6].contains("18DA10F1  [64]*  [FF] ln: 203  data: 62 F1 A0 CC"),
        "{}",
        lines[6]
    );
}

#[test]
fn dump_filters_by_ids_reads_stdin_and_shows_ascii() {
    let a = isotp()
        .args(["dump", "--log", "-", "-s", "7E0", "-d", "7E8", "-a"])
        .write_stdin(LOG)
        .assert()
        .success();
    let out = stdout_of(&a);
    assert_eq!(out.lines().count(), 5, "{out}");
    assert!(out.contains("- 'ZZZ1JZX'"), "{out}");
    assert!(!out.contains("7DF"));
}

#[test]
fn dump_skips_truncated_and_garbled_lines_and_goes_on() {
    let log = "\
(1700000000.000000) can0 7E0#0322F190
this is not a candump line
(1700000000.000400) can0 7E8#101462F19057565
(1700000000.000500) can0 7E8#0362F1
(1700000000.000600) can0 7E8#03
(1700000000.000700) can0 7E
";
    let a = isotp()
        .args(["dump", "--log", "-"])
        .write_stdin(log)
        .assert()
        .success();
    let out = stdout_of(&a);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(err.contains("line 2:"), "{err}");
    assert!(err.contains("line 3:"), "{err}");
    assert!(err.contains("line 6:"), "{err}");
    assert!(err.contains("3 malformed log lines skipped"), "{err}");
    // A well-formed frame that breaks ISO-TP is shown and flagged, not skipped.
    assert!(out.contains("(invalid: "), "{out}");
}

#[test]
fn dump_colours_only_when_asked_or_on_a_terminal() {
    let path = log_file("colour.log", LOG);
    let plain = isotp()
        .args(["dump", "--log"])
        .arg(&path)
        .assert()
        .success();
    assert!(!stdout_of(&plain).contains('\x1b'));
    let coloured = isotp()
        .args([
            "--color", "always", "dump", "-s", "7E0", "-d", "7E8", "--log",
        ])
        .arg(&path)
        .assert()
        .success();
    let out = stdout_of(&coloured);
    assert!(out.contains("\x1b[31m"), "tx in red: {out:?}");
    assert!(out.contains("\x1b[34m"), "rx in blue: {out:?}");
}

#[test]
fn dump_needs_a_source() {
    isotp()
        .arg("dump")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--log FILE"));
    isotp()
        .args(["dump", "--log", "/nonexistent/isotp.log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot open log"));
}

#[test]
fn a_log_and_an_interface_together_are_a_usage_error() {
    for cmd in ["dump", "sniff"] {
        isotp()
            .args([cmd, "-i", "virtual:both", "--log", "-"])
            .write_stdin(LOG)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not both"));
    }
    // The interface of ISOTP_IFACE is a default: a log given on the command line wins.
    isotp()
        .env("ISOTP_IFACE", "virtual:default")
        .args(["dump", "--log", "-"])
        .write_stdin(LOG)
        .assert()
        .success();
}

#[test]
fn a_directory_is_not_a_log() {
    let dir = std::env::temp_dir();
    for cmd in ["dump", "sniff"] {
        isotp()
            .args([cmd, "--log"])
            .arg(&dir)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is a directory"));
    }
}

#[test]
fn a_file_that_is_not_a_candump_log_is_refused_saying_what_it_looks_like() {
    // A Vector ASC trace read as candump: refused at once, naming the format it looks like.
    let mut asc =
        String::from("date Mon Nov 27 10:00:00.000 am 2023\nbase hex  timestamps absolute\n");
    for i in 0..500 {
        asc.push_str(&format!(
            "   {}.000100 1  7E0             Tx   d 3 02 3E 00\n",
            i
        ));
    }
    for cmd in ["dump", "sniff"] {
        let a = isotp()
            .args([cmd, "--log", "-", "--log-format", "candump"])
            .write_stdin(asc.clone())
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert!(err.contains("not a candump log"), "{err}");
        assert!(err.contains("it looks like a Vector ASC file"), "{err}");
        // One error, not a warning per line.
        assert!(err.lines().count() <= 2, "{err}");
        assert!(stdout_of(&a).is_empty());
    }
    // Prose is no log of any format: refused with the first line at fault.
    let prose = "Dear all, please find the trace\n".repeat(500);
    let a = isotp()
        .args(["dump", "--log", "-"])
        .write_stdin(prose)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("not a candump log"), "{err}");
    assert!(err.contains("line 1"), "{err}");
    assert!(err.lines().count() <= 2, "{err}");
    // A short file of nothing but garbage too.
    isotp()
        .args(["sniff", "--log", "-"])
        .write_stdin("hello\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a candump log"));
}

#[test]
fn malformed_lines_of_a_real_log_are_counted_beyond_the_first_few() {
    let mut log = String::from("(1700000000.000000) can0 7E0#0322F190\n");
    for _ in 0..30 {
        log.push_str("garbage\n");
    }
    let a = isotp()
        .args(["dump", "--log", "-"])
        .write_stdin(log)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.matches("skipped log line").count(), 10, "{err}");
    assert!(err.contains("30 malformed log lines skipped"), "{err}");
}

#[test]
fn address_bytes_are_named_in_good_english() {
    isotp()
        .args([
            "send",
            "-i",
            "virtual:x",
            "-s",
            "7E0",
            "-d",
            "7E8",
            "-x",
            "1G",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not an address byte"));
}

#[test]
fn dump_live_gives_up_after_the_idle_timeout() {
    isotp()
        .args(["dump", "-i", "virtual:dump-idle", "--timeout", "0.2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("waiting for a CAN frame"));
}

// ---- sniff ------------------------------------------------------------------------------------

#[test]
fn sniff_hex_is_exactly_the_recv_format() {
    let path = log_file("sniff.log", LOG);
    isotp()
        .args([
            "sniff", "-s", "7E0", "-d", "7E8", "--format", "hex", "--log",
        ])
        .arg(&path)
        .assert()
        .success()
        .stdout("22 F1 90\n62 F1 90 57 56 57 5A 5A 5A 31 4A 5A 58 57 30 30 30 30 30 31\n");
}

#[test]
fn sniff_discovers_conversations() {
    let path = log_file("discover.log", LOG);
    let a = isotp()
        .args(["sniff", "-u", "--log"])
        .arg(&path)
        .assert()
        .success();
    let out = stdout_of(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "(1700000000.000000) 7E0 -> ?  [3]  22 F1 90  [ReadDataByIdentifier VIN (F190)]"
    );
    assert!(
        lines[1].starts_with("(1700000000.001100) 7E8 -> 7E0  [20]  62 F1 90"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("(1700000000.002000) 7DF -> ?  [2]  3E 00"),
        "{out}"
    );
    assert_eq!(lines.len(), 3, "{out}");
    // The CAN FD first frame on 18DA10F1 never completes.
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("the log ended during a transfer from 18DA10F1"),
        "{err}"
    );
}

#[test]
fn sniff_json_lines() {
    let a = isotp()
        .args([
            "sniff", "--format", "json", "-s", "7E0", "-d", "7E8", "--log", "-",
        ])
        .write_stdin(LOG)
        .assert()
        .success();
    let out = stdout_of(&a);
    let second: serde_json::Value = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["from"], "7E8");
    assert_eq!(second["to"], "7E0");
    assert_eq!(second["length"], 20);
    assert_eq!(second["target"], "physical");
    assert_eq!(second["data"], "62F1905756575A5A5A314A5A5857303030303031");
}

#[test]
fn sniff_reports_broken_transfers_in_log_time() {
    // The second consecutive frame comes 2 s late: N_Cr (1 s) expired in the log's own time.
    let log = "\
(10.000000) can0 7E8#101462F190575657
(10.000100) can0 7E0#300000
(10.000200) can0 7E8#215A5A5A314A5A58
(12.000000) can0 7E8#2257303030303031
(12.100000) can0 7E8#023E00
";
    let a = isotp()
        .args([
            "sniff", "-s", "7E0", "-d", "7E8", "--format", "hex", "--log", "-",
        ])
        .write_stdin(log)
        .assert()
        .success()
        .stdout("3E 00\n");
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("N_Cr"), "{err}");
}

#[test]
fn sniff_with_extended_addressing_needs_ids() {
    isotp()
        .args(["sniff", "-x", "F1", "--log", "-"])
        .write_stdin(LOG)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--discover extended"));
}

#[test]
fn sniff_discovers_extended_addressing() {
    // A tester (F1) on 6F1 asks ECU 10; the ECU answers on 610 in three frames.
    let log = "\
(1700000000.000000) can0 6F1#10022E00
(1700000000.000100) can0 610#F1100962F1900102
(1700000000.000200) can0 6F1#10300000
(1700000000.000300) can0 610#F12103040506
";
    isotp()
        .args(["sniff", "--discover", "extended", "-t", "n", "--log", "-"])
        .write_stdin(log)
        .assert()
        .success()
        .stdout("6F1[10] -> ?  [2]  2E 00\n610[F1] -> 6F1[10]  [9]  62 F1 90 01 02 03 04 05 06\n");
}

// ---- perf -------------------------------------------------------------------------------------

#[test]
fn perf_in_process_prints_a_summary() {
    let a = isotp()
        .args([
            "perf", "--size", "300", "--count", "10", "-L", "72:64:1", "-b", "2",
        ])
        .assert()
        .success();
    let out = stdout_of(&a);
    assert!(out.starts_with("10 PDUs of 300 bytes in "), "{out}");
    assert!(out.contains("frames/s"), "{out}");
    assert!(out.contains("bytes/s"), "{out}");
    assert!(
        out.contains("CAN FD, DL 64, BRS, BS 2, STmin 0x00"),
        "{out}"
    );
}

#[test]
fn perf_json_with_round_trips() {
    let a = isotp()
        .args(["perf", "--size", "100", "--count", "20", "--rtt", "--json"])
        .assert()
        .success();
    let out = stdout_of(&a);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert!(v["frames_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["bytes_per_sec"].as_f64().unwrap() > 0.0);
    // 100 bytes: a first frame, 14 consecutive frames and one flow control, both ways.
    assert_eq!(v["frames"], 20 * 2 * 16);
    assert_eq!(v["corrupt"], 0);
    let p50 = v["rtt_us"]["p50"].as_f64().unwrap();
    let p99 = v["rtt_us"]["p99"].as_f64().unwrap();
    assert!(p50 > 0.0 && p99 >= p50, "{v}");
}

#[test]
fn perf_roles_need_an_interface_and_vice_versa() {
    isotp().args(["perf", "--role", "send"]).assert().code(2);
    isotp()
        .args(["perf", "-i", "virtual:perf-x"])
        .assert()
        .code(2);
    isotp()
        .env("ISOTP_IFACE", "virtual:perf-env")
        .args(["perf", "--count", "2", "--size", "10", "--json"])
        .assert()
        .success();
}

#[test]
fn perf_recv_without_sender_times_out() {
    isotp()
        .args(["perf", "-i", "virtual:perf-nobody", "--role", "recv"])
        .args(["--count", "1", "--timeout", "0.3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("waiting for PDU 1 of 1"));
}

#[test]
fn perf_send_without_receiver_times_out() {
    isotp()
        .args([
            "perf",
            "-i",
            "virtual:perf-alone",
            "--role",
            "send",
            "--count",
            "1",
        ])
        .args(["--size", "100", "--timeout", "0.3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("waiting for PDU 1 of 1"));
}
