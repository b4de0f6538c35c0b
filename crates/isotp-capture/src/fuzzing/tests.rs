//! The capture readers' fuzz body on stable: recordings of every format mutated by the seeded
//! generator, for a bounded time (see `isotp_core::fuzzing`).

use isotp_core::fuzzing::run;

use super::*;

const ASC_RELATIVE: &[u8] = b"date Sam Sep 30 15:06:13.191 2017\nbase dec  timestamps relative\nBegin Triggerblock\n   0.5 1  2016 Rx d 2 2 16\n   0.5 CANFD   1 Rx      7E8  1 0 9 12 10 14 62 F1 90 00 00 00 00 00 00 00 0 0 3000 0 0 0 0 0\nEnd TriggerBlock\n";
const TRC_2_1: &[u8] = b";$FILEVERSION=2.1\n;$STARTTIME=45000.5\n;$COLUMNS=N,O,T,B,I,d,R,L,D\n      1   1.000 DT 1 07E0 Rx - 4 03 22 F1 90\n      2   2.000 FB 1 07E8 Tx - 9 10 14 62 F1 90 00 00 00 00 00 00 00\n";
const TRC_1_1: &[u8] = b";$FILEVERSION=1.1\n;$STARTTIME=45244.9258333333\n     1)        42.0  Rx         07E0  8  03 22 F1 90 00 00 00 00\n     2)        42.9  Rx         07E8  8  10 14 62 F1 90 57 56 57\n";

/// Every reader, and every writer after it, on mutated recordings of its format (BLF: compressed
/// containers as the writer makes them).
#[test]
fn capture_readers_survive_mutated_recordings() {
    for format in Format::ALL {
        let mut seeds = Vec::new();
        if format.is_writable() {
            seeds.push(encode(&sample(12), format));
        }
        match format {
            Format::Asc => seeds.push(ASC_RELATIVE.to_vec()),
            Format::Trc => seeds.extend([TRC_2_1.to_vec(), TRC_1_1.to_vec()]),
            _ => {}
        }
        if seeds.is_empty() {
            continue;
        }
        let cases = run(&format!("capture-{format}"), &seeds, 300, |data| {
            capture(format, data)
        });
        assert!(cases >= 300, "{format}: {cases}");
    }
}
