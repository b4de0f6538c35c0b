//! The capture readers' fuzz body on stable: recordings of every format mutated by the seeded
//! generator, for a bounded time (see `isotp_core::fuzzing`).

use isotp_core::fuzzing::run;

use super::*;

/// Every reader, and every writer after it, on mutated recordings of its format (BLF: compressed
/// containers as the writer makes them).
#[test]
fn capture_readers_survive_mutated_recordings() {
    for format in Format::ALL {
        let seeds = seeds(format);
        assert!(!seeds.is_empty(), "{format}: no seeds");
        let cases = run(&format!("capture-{format}"), &seeds, 300, |data| {
            capture(format, data)
        });
        assert!(cases >= 300, "{format}: {cases}");
    }
}
