//! The fuzz targets' bodies on stable: inputs mutated from a small corpus by a seeded generator, for
//! a bounded time per body (`ISOTP_FUZZ_SECONDS`, default 1; `ISOTP_FUZZ_SEED` picks another
//! sequence). An input that fails is saved under `target/fuzz-failures/` and named in the message.

use isotp_core::fuzzing::run;

use super::*;

#[test]
fn socketcand_framer_and_parser_survive_mutated_streams() {
    let seeds: Vec<Vec<u8>> = [
        &b"\x07< hi >< ok >< frame 7E8 1700000000.000001 0322F190 >< frame 123 23.424242  >"[..],
        b"\x03< fdframe 18DAF110 05 1.000001 00112233445566778899AABB >< error bus off >junk",
        b"\x01< send 7E0 3 11 22 33 >< fdsend 7E0 1 12 00 11 22 33 44 55 66 77 88 99 AA BB >",
        b"\x20< open can0 >< rawmode >< echo >< subscribe 0 0 7E8 >< frame 7E8 1.5 00",
    ]
    .iter()
    .map(|s| s.to_vec())
    .chain([
        // Found by cargo-fuzz: bytes that are not UTF-8 in a message within the length limit.
        [
            &b"\x01\x00<70@"[..],
            &[0xD7; 83],
            &[0xFF; 93],
            &[0xD7; 20],
            &[0xF2; 15],
            b"\xD7e77>\x01",
        ]
        .concat(),
    ])
    .collect();
    run("socketcand", &seeds, 2_000, socketcand);
}

#[test]
fn slcan_decoding_survives_mutated_streams() {
    let seeds: Vec<Vec<u8>> = [
        &b"\x05t7E080322F190AAAAAAAA\rT18DAF1108101462F190575657\rz\r\r"[..],
        b"\x02d7E8C00112233445566778899AABB\rb7E89000102030405060708090A0B\rB18DAF110F\x07",
        b"\x0Bt1230\rr1234\rV1013\rN0001\re1\r\nt7E0803221F1900000001234\r",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    run("slcan", &seeds, 2_000, slcan);
}
