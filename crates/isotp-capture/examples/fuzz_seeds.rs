//! Writes the capture readers' seed recordings (`isotp_capture::fuzzing::seeds`) into a cargo-fuzz
//! corpus: `DIR/capture_FORMAT/seed-N` for each format (`scripts/fuzz-tests` runs it).
//!
//! ```text
//! cargo run -p isotp-capture --features fuzzing --example fuzz_seeds -- fuzz/corpus
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use isotp_capture::{fuzzing, Format};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz_seeds CORPUS_DIR");
        return ExitCode::from(2);
    };
    for format in Format::ALL {
        let target = dir.join(format!("capture_{format}"));
        let written = std::fs::create_dir_all(&target).and_then(|()| {
            let seeds = fuzzing::seeds(format);
            for (n, seed) in seeds.iter().enumerate() {
                std::fs::write(target.join(format!("seed-{n}")), seed)?;
            }
            Ok(seeds.len())
        });
        match written {
            Ok(n) => println!("{}: {n} seeds", target.display()),
            Err(e) => {
                eprintln!("fuzz_seeds: {}: {e}", target.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
