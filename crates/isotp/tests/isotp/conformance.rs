//! `isotp_conformance` against DUTs on the virtual bus: our own Stack as an echo passes every
//! test, classic and CAN FD; deliberately broken DUTs get the failing verdicts they deserve.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use isotp::bus::{CanBus, VirtualBus};
use isotp::{Address, Config, Frame, LinkLayer, Stack};
use isotp_conformance::{Dut, Options, TestResult, Verdict};

use crate::worker::Worker;

/// Runs a Stack on `bus` that sends back every message, until dropped.
fn echo_dut(bus: impl CanBus, config: Config) -> Worker {
    let stack = Stack::new(bus, Address::normal_11(0x7E8, 0x7E0).unwrap(), config).unwrap();
    Worker::spawn(move |stop| {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(Some(m)) = stack.recv(Some(Duration::from_millis(50))) {
                let _ = stack.send_blocking(&m, Some(Duration::from_secs(5)));
            }
        }
    })
}

fn options(link: LinkLayer) -> Options {
    let mut o = Options::new(Address::normal_11(0x7E0, 0x7E8).unwrap(), Dut::Echo);
    o.link_layer = link;
    // Generous for a loaded machine; the virtual bus stamps frames when sent.
    o.tolerance = Duration::from_micros(300);
    o
}

fn verdicts(results: &[TestResult]) -> BTreeMap<&'static str, (Verdict, String)> {
    results
        .iter()
        .map(|r| (r.name, (r.verdict, r.detail.clone())))
        .collect()
}

fn echo_config(link: LinkLayer) -> Config {
    let mut c = Config::default();
    c.link_layer = link;
    c.block_size = 8; // so that rx.block_size has blocks to judge
    c
}

#[test]
fn our_echo_passes_every_classic_test() {
    let bus = VirtualBus::new();
    let _dut = echo_dut(bus.attach(), echo_config(LinkLayer::classic()));
    let results = isotp_conformance::run(&bus.attach(), &options(LinkLayer::classic())).unwrap();
    assert_eq!(results.len(), isotp_conformance::catalogue().len());
    for r in &results {
        let expected = if r.name.starts_with("fd.") {
            Verdict::Skip
        } else {
            Verdict::Pass
        };
        assert_eq!(r.verdict, expected, "{}: {}", r.name, r.detail);
    }
}

#[test]
fn our_echo_passes_every_fd_test() {
    let bus = VirtualBus::new();
    let link = LinkLayer::fd(64, true);
    let _dut = echo_dut(bus.attach(), echo_config(link));
    let results = isotp_conformance::run(&bus.attach(), &options(link)).unwrap();
    for r in &results {
        assert_eq!(r.verdict, Verdict::Pass, "{}: {}", r.name, r.detail);
    }
}

#[test]
fn a_dut_that_ignores_stmin_and_wait_fails_those_tests() {
    let bus = VirtualBus::new();
    let mut config = echo_config(LinkLayer::classic());
    config.override_receiver_st_min = Some(Duration::ZERO); // sends CFs back to back
    config.wft_max = 0; // any FC.WAIT aborts
    let _dut = echo_dut(bus.attach(), config);
    let mut o = options(LinkLayer::classic());
    o.only = Some("tx.".into());
    o.stmin_trials = 3; // a real violation shows in every trial
    let v = verdicts(&isotp_conformance::run(&bus.attach(), &o).unwrap());
    assert_eq!(v["tx.stmin"].0, Verdict::Fail, "{:?}", v["tx.stmin"]);
    assert_eq!(
        v["tx.stmin_reserved"].0,
        Verdict::Fail,
        "{:?}",
        v["tx.stmin_reserved"]
    );
    assert_eq!(
        v["tx.flow_control_wait"].0,
        Verdict::Fail,
        "{:?}",
        v["tx.flow_control_wait"]
    );
    assert_eq!(
        v["tx.block_size"].0,
        Verdict::Pass,
        "{:?}",
        v["tx.block_size"]
    );
}

/// A careless receiver: every frame whose first nibble is 0 is taken as a single frame of the
/// length in its low nibble (or of the whole frame when that is 0), and sent back as is.
fn start_naive_sf_echo(bus: &VirtualBus) -> Worker {
    let port = bus.attach();
    Worker::spawn(move |stop| {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(Some(f)) = port.recv(Some(Duration::from_millis(50))) {
                if f.id().raw() == 0x7E0 && f.data().first().is_some_and(|b| b >> 4 == 0) {
                    let reply =
                        Frame::new(isotp::CanId::standard(0x7E8).unwrap(), f.data()).unwrap();
                    let _ = port.send(&reply);
                }
            }
        }
    })
}

#[test]
fn a_dut_that_takes_an_escaped_single_frame_in_8_bytes_fails() {
    let bus = VirtualBus::new();
    let dut = start_naive_sf_echo(&bus);
    let mut o = options(LinkLayer::classic());
    o.only = Some("rx.escaped_single_frame_classic".into());
    let v = verdicts(&isotp_conformance::run(&bus.attach(), &o).unwrap());
    drop(dut);
    let (verdict, detail) = &v["rx.escaped_single_frame_classic"];
    assert_eq!(*verdict, Verdict::Fail, "{detail}");
    assert!(detail.contains("yet the DUT sent"), "{detail}");
}

#[test]
fn no_dut_fails_rather_than_passes() {
    let bus = VirtualBus::new();
    let mut o = options(LinkLayer::classic());
    o.only = Some("rx.single_frame".into());
    o.response_timeout = Duration::from_millis(100);
    let results = isotp_conformance::run(&bus.attach(), &o).unwrap();
    assert!(
        results.iter().all(|r| r.verdict == Verdict::Fail),
        "{results:?}"
    );
}

#[test]
fn an_unknown_prefix_is_an_error() {
    let bus = VirtualBus::new();
    let mut o = options(LinkLayer::classic());
    o.only = Some("nope".into());
    assert!(isotp_conformance::run(&bus.attach(), &o).is_err());
}

/// A diagnostic server on `bus`: `22 F1 90` gets a positive answer of `answer_len` bytes, anything
/// else the negative response "incorrect message length".
fn start_ecu(bus: &VirtualBus, answer_len: usize) -> Worker {
    let stack = Stack::new(
        bus.attach(),
        Address::normal_11(0x7E8, 0x7E0).unwrap(),
        Config::default(),
    )
    .unwrap();
    Worker::spawn(move |stop| {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(Some(m)) = stack.recv(Some(Duration::from_millis(50))) {
                let answer = if m == [0x22, 0xF1, 0x90] {
                    let mut a = vec![0x62, 0xF1, 0x90];
                    a.resize(answer_len, 0x57);
                    a
                } else {
                    vec![0x7F, m[0], 0x13]
                };
                let _ = stack.send_blocking(&answer, Some(Duration::from_secs(5)));
            }
        }
    })
}

fn uds_options() -> Options {
    let mut o = Options::new(
        Address::normal_11(0x7E0, 0x7E8).unwrap(),
        Dut::Uds {
            request: vec![0x22, 0xF1, 0x90],
        },
    );
    o.tolerance = Duration::from_micros(300);
    o
}

#[test]
fn an_ecu_with_a_long_answer_passes_every_test() {
    let bus = VirtualBus::new();
    let _ecu = start_ecu(&bus, 200);
    let results = isotp_conformance::run(&bus.attach(), &uds_options()).unwrap();
    for r in &results {
        // rx.block_size: the ECU asks for BS 0, so there are no blocks to judge.
        let expected = if r.name.starts_with("fd.") || r.name == "rx.block_size" {
            Verdict::Skip
        } else {
            Verdict::Pass
        };
        assert_eq!(r.verdict, expected, "{}: {}", r.name, r.detail);
    }
}

#[test]
fn an_ecu_with_a_short_answer_skips_what_needs_a_long_one() {
    let bus = VirtualBus::new();
    let _ecu = start_ecu(&bus, 20); // an FF and 2 CFs
    let mut o = uds_options();
    o.only = Some("tx.sequence_numbers".into());
    let v = verdicts(&isotp_conformance::run(&bus.attach(), &o).unwrap());
    let (verdict, detail) = &v["tx.sequence_numbers"];
    assert_eq!(*verdict, Verdict::Skip, "{detail}");
    assert!(detail.contains("2 consecutive frames"), "{detail}");
}

#[test]
fn a_dut_that_takes_any_length_fails_the_overflow_test() {
    let bus = VirtualBus::new();
    let mut config = echo_config(LinkLayer::classic());
    config.max_frame_size = u32::MAX; // answers FF_DL 1000000000 with FC.CTS
    let _dut = echo_dut(bus.attach(), config);
    let mut o = options(LinkLayer::classic());
    o.only = Some("rx.overflow".into());
    let v = verdicts(&isotp_conformance::run(&bus.attach(), &o).unwrap());
    let (verdict, detail) = &v["rx.overflow"];
    assert_eq!(*verdict, Verdict::Fail, "{detail}");
    assert!(detail.contains("ContinueToSend"), "{detail}");
}
