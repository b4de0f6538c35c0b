//! Logs written by python-can's own writers (CanutilsLogWriter, ASCWriter, BLFWriter, TRCWriter,
//! MF4Writer),
//! generated at test time by scripts/capture-tests into the folder named by ISOTP_CAPTURE_CORPUS: every
//! reader must return exactly the frames the generator sent, with their times and channels.
//!
//! Ignored in a plain `cargo test` (it needs Python and python-can from PyPI): scripts/capture-tests
//! runs it with `--ignored`, and without the variable the test fails rather than passes.

use std::path::{Path, PathBuf};

use isotp_capture::{Channel, Format, Reader, Record};

fn corpus() -> PathBuf {
    PathBuf::from(std::env::var_os("ISOTP_CAPTURE_CORPUS").expect(
        "ISOTP_CAPTURE_CORPUS is not set: run scripts/capture-tests, which writes the python-can files",
    ))
}

/// `MICROS CHANNEL ID EXTENDED FD BRS DATA` lines, as the candump text of each frame.
fn expected(dir: &Path, classic_only: bool) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("expected.txt")).expect("expected.txt");
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (ext, fd, brs) = (f[3] == "1", f[4] == "1", f[5] == "1");
            if classic_only && fd {
                return None;
            }
            let id = u32::from_str_radix(f[2], 16).unwrap();
            let id = if ext {
                format!("{id:08X}")
            } else {
                format!("{id:03X}")
            };
            let data = if f[6] == "-" { "" } else { f[6] };
            let frame = if fd {
                format!("{id}##{}{data}", u8::from(brs))
            } else {
                format!("{id}#{data}")
            };
            Some(format!("{} ch{} {frame}", f[0], f[1]))
        })
        .collect()
}

fn channel_number(c: Channel) -> u16 {
    match c {
        Channel::Number(n) => n,
        // python-can writes channel N (0-based) as canN in candump logs.
        Channel::Name(name) => name
            .as_str()
            .strip_prefix("can")
            .and_then(|n| n.parse::<u16>().ok())
            .map(|n| n + 1)
            .expect("a canN name"),
    }
}

fn read(path: &Path) -> (Vec<String>, isotp_capture::Skipped) {
    let mut reader = Reader::open(path, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let got = reader
        .by_ref()
        .map(|r| {
            let r: Record = r.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // To the nearest microsecond: python-can computes BLF's nanoseconds in floating point.
            format!(
                "{} ch{} {}",
                (r.time.as_nanos() + 500) / 1000,
                channel_number(r.channel),
                r.frame
            )
        })
        .collect();
    (got, reader.skipped())
}

#[test]
#[ignore = "needs the python-can files: run scripts/capture-tests"]
fn python_can_files_decode_to_the_frames_sent() {
    let dir = corpus();
    let all = expected(&dir, false);
    let classic = expected(&dir, true);
    assert!(all.len() > 20 && classic.len() < all.len(), "{all:?}");
    let mut checked = 0;
    for (file, want, format) in [
        ("corpus.log", &all, Format::Candump),
        ("corpus-classic.log", &classic, Format::Candump),
        ("corpus.asc", &all, Format::Asc),
        ("corpus-relative.asc", &all, Format::Asc),
        ("corpus.blf", &all, Format::Blf),
        ("corpus-uncompressed.blf", &all, Format::Blf),
        ("corpus-split.blf", &all, Format::Blf),
        ("corpus.trc", &classic, Format::Trc),
        ("corpus.mf4", &all, Format::Mf4),
        ("corpus-deflate.mf4", &all, Format::Mf4),
        ("corpus-uncompressed.mf4", &all, Format::Mf4),
    ] {
        let path = dir.join(file);
        if file == "corpus-relative.asc" && !path.exists() {
            println!("SKIPPED {file}: this python-can writes no relative ASC timestamps");
            continue;
        }
        let (got, skipped) = read(&path);
        assert_eq!(Reader::open(&path, None).unwrap().format(), format);
        assert_eq!(&got, want, "{file}");
        // The remote and the error frame are passed over, and counted.
        if file != "corpus.trc" && !file.contains("classic") {
            assert_eq!(
                (skipped.remote, skipped.error),
                (1, 1),
                "{file}: {skipped:?}"
            );
        }
        println!("PASS {file}: {} frames", got.len());
        checked += 1;
    }
    assert!(checked >= 10);
}
