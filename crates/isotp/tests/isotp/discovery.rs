//! Functional requests and scans on a simulated vehicle with background traffic.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use isotp::bus::{CanBus, Tracer, VirtualBus};
use isotp::discovery::{Answer, Answers, FunctionalRequest, IdRange, Probe, Response, Scan};
use isotp::wire::{FlowStatus, StMin};
use isotp::Direction;
use isotp::{CanId, Config, Frame, Node, ProtocolError};

use crate::vehicle::{self, SLOW};

fn vehicle_on(bus: &VirtualBus) -> vehicle::Vehicle {
    let b = bus.clone();
    vehicle::start(move || Box::new(b.attach()) as Box<dyn CanBus>)
}

/// The responses of a request that ended within its overall limit.
fn complete(answers: Answers) -> Vec<Response> {
    assert!(answers.cut_off.is_none(), "{answers:?}");
    answers.responses
}

fn range(text: &str) -> IdRange {
    text.parse().unwrap()
}

#[test]
fn an_obd_request_collects_every_answer_with_flow_control_on_each_responders_id() {
    let bus = VirtualBus::new();
    let _vehicle = vehicle_on(&bus);
    // The tester's flow controls ask for consecutive frames 60 ms apart: the 100-byte answer takes
    // longer than the window, and is still followed to its end.
    let mut config = Config::default();
    config.st_min = StMin::from_byte(60);
    let request = FunctionalRequest::obd()
        .with_window(Duration::from_millis(600))
        .with_config(config);
    let answers = complete(
        request
            .run(&Node::new(bus.attach()), &[0x09, 0x02])
            .unwrap(),
    );
    let by_id = |id: u32| {
        answers
            .iter()
            .find(|a| a.response_id.raw() == id)
            .unwrap_or_else(|| panic!("no answer from {id:X}: {answers:?}"))
    };
    for ecu in vehicle::ecus().iter().filter(|e| e.request_id <= 0x7FF) {
        match &ecu.vin_answer {
            Some(expected) => {
                let a = by_id(ecu.response_id);
                assert_eq!(a.outcome.as_ref().unwrap(), expected, "{}", ecu.name);
                assert_eq!(a.request_id().unwrap().raw(), ecu.request_id);
            }
            None => assert!(answers
                .iter()
                .all(|a| a.response_id.raw() != ecu.response_id)),
        }
    }
    assert_eq!(answers.len(), 4, "{answers:?}");
    // In the order they completed; the slow ECU's answer came after its delay, the long answer
    // after its 14 consecutive frames 60 ms apart.
    assert!(answers.windows(2).all(|w| w[0].after <= w[1].after));
    assert!(by_id(0x7EA).after >= SLOW);
    assert!(by_id(0x7ED).after >= Duration::from_millis(60 * 13));
}

#[test]
fn a_29_bit_request_to_all_is_answered_by_each_fixed_address() {
    let bus = VirtualBus::new();
    let _vehicle = vehicle_on(&bus);
    let request = FunctionalRequest::normal_fixed_29(0x33, vehicle::TESTER)
        .unwrap()
        .with_window(Duration::from_secs(1));
    let answers = complete(
        request
            .run(&Node::new(bus.attach()), &[0x22, 0xF1, 0x90])
            .unwrap(),
    );
    let mut ids: Vec<u32> = answers.iter().map(|a| a.response_id.raw()).collect();
    ids.sort();
    assert_eq!(ids, [0x18DA_F110, 0x18DA_F117], "{answers:?}");
    let gateway = answers
        .iter()
        .find(|a| a.response_id.raw() == 0x18DA_F110)
        .unwrap();
    assert_eq!(
        &gateway.outcome.as_ref().unwrap()[3..],
        b"WDB2110421A123456"
    );
    assert_eq!(gateway.request_id().unwrap().raw(), 0x18DA_10F1);
}

#[test]
fn a_responder_that_stops_midway_is_reported_with_its_error() {
    let bus = VirtualBus::new();
    let rogue = bus.attach();
    let tester = Node::new(bus.attach());
    let mut config = Config::default();
    config.n_cr = Duration::from_millis(100);
    let request = FunctionalRequest::obd()
        .with_window(Duration::from_millis(100))
        .with_config(config);
    let answers = std::thread::scope(|s| {
        s.spawn(|| {
            // Answers the request with a first frame, and never sends the rest.
            if rogue.recv(Some(Duration::from_secs(10))).unwrap().is_some() {
                let ff = Frame::new(
                    CanId::standard(0x7EC).unwrap(),
                    &[0x10, 0x14, 0x49, 2, 1, 0x57, 0x56, 0x57],
                )
                .unwrap();
                rogue.send(&ff).unwrap();
                // The flow control goes to the rogue's own request id.
                let fc = rogue.recv(Some(Duration::from_secs(10))).unwrap().unwrap();
                assert_eq!(fc.id().raw(), 0x7E4);
                assert_eq!(fc.data()[0] & 0xF0, 0x30);
            }
        });
        complete(request.run(&tester, &[0x09, 0x02]).unwrap())
    });
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].response_id.raw(), 0x7EC);
    assert!(matches!(
        answers[0].outcome,
        Err(ProtocolError::TimeoutCr { .. })
    ));
}

/// A bus that records every frame the scan sends on an id outside `allowed`.
fn traced(
    bus: &VirtualBus,
    allowed: IdRange,
) -> (Arc<Tracer<isotp::bus::VirtualPort>>, Arc<Mutex<Vec<Frame>>>) {
    let outside = Arc::new(Mutex::new(Vec::new()));
    let o = outside.clone();
    let tracer = Tracer::new(bus.attach()).with_watch(move |direction, frame| {
        if direction == Direction::Tx && !allowed.contains(frame.id()) {
            o.lock().unwrap().push(*frame);
        }
        direction == Direction::Tx
    });
    (Arc::new(tracer), outside)
}

#[test]
fn a_first_frame_scan_finds_every_iso_tp_receiver_and_its_flow_control() {
    let bus = VirtualBus::new();
    let _vehicle = vehicle_on(&bus);
    let ids = range("7D0-7EF");
    let (tracer, outside) = traced(&bus, ids);
    let report = Scan::new(ids)
        .with_interval(Duration::from_millis(10))
        .with_confirm_wait(Duration::from_millis(500))
        .run(&Node::new(tracer.clone()))
        .unwrap();
    assert!(outside.lock().unwrap().is_empty());
    assert!(report.complete);
    assert!(report.probes >= u64::from(ids.len()));
    assert_eq!(tracer.sent(), report.probes);
    let found: Vec<(u32, u32)> = report
        .endpoints
        .iter()
        .map(|e| (e.request_id.raw(), e.response_id.raw()))
        .collect();
    // The silent body controller still answers a first frame: it speaks ISO-TP.
    assert_eq!(
        found,
        [
            (0x7E0, 0x7E8),
            (0x7E1, 0x7E9),
            (0x7E2, 0x7EA),
            (0x7E3, 0x7EB),
            (0x7E5, 0x7ED)
        ],
        "{report:?}"
    );
    let transmission = &report.endpoints[1];
    assert_eq!(
        transmission.answer,
        Answer::FlowControl {
            status: FlowStatus::ContinueToSend,
            block_size: 8,
            st_min: StMin::from_byte(5)
        }
    );
    // The background node that sends flow-control-like bytes is told apart (and so are the others,
    // when one of their frames happened to look like an answer).
    assert!(report.chatter.contains(&CanId::standard(0x5A0).unwrap()));
    assert!(report
        .chatter
        .iter()
        .all(|id| vehicle::BACKGROUND_IDS.contains(&id.raw())));
}

#[test]
fn a_tester_present_scan_finds_the_slow_ecu_on_its_own_id() {
    let bus = VirtualBus::new();
    let _vehicle = vehicle_on(&bus);
    let ids = range("7E0-7E7");
    let (tracer, outside) = traced(&bus, ids);
    // Probes 10 ms apart: the slow ECU answers several probes later, and is still placed right.
    let report = Scan::new(ids)
        .with_probe(Probe::TesterPresent)
        .with_interval(Duration::from_millis(10))
        .with_confirm_wait(Duration::from_millis(500))
        .run(&Node::new(tracer.clone()))
        .unwrap();
    assert!(outside.lock().unwrap().is_empty());
    let found: Vec<(u32, u32)> = report
        .endpoints
        .iter()
        .map(|e| (e.request_id.raw(), e.response_id.raw()))
        .collect();
    assert_eq!(
        found,
        [
            (0x7E0, 0x7E8),
            (0x7E1, 0x7E9),
            (0x7E2, 0x7EA),
            (0x7E5, 0x7ED)
        ],
        "{report:?}"
    );
    assert!(report
        .endpoints
        .iter()
        .all(|e| e.answer == Answer::Response(vec![0x7E, 0x00])));
}

#[test]
fn a_29_bit_scan_and_a_time_limit() {
    let bus = VirtualBus::new();
    let _vehicle = vehicle_on(&bus);
    let ids = range("18DA10F0-18DA10F2");
    let (tracer, outside) = traced(&bus, ids);
    let report = Scan::new(ids)
        .with_interval(Duration::from_millis(10))
        .with_confirm_wait(Duration::from_millis(500))
        .run(&Node::new(tracer.clone()))
        .unwrap();
    assert!(outside.lock().unwrap().is_empty());
    assert_eq!(report.endpoints.len(), 1, "{report:?}");
    assert_eq!(report.endpoints[0].request_id.raw(), 0x18DA_10F1);
    assert_eq!(report.endpoints[0].response_id.raw(), 0x18DA_F110);
    assert_eq!(
        report.endpoints[0].addressing,
        isotp::AddressingMode::Normal29
    );

    let none = Scan::new(range("700-7FF"))
        .with_limit(Duration::ZERO)
        .run(&Node::new(bus.attach()))
        .unwrap();
    assert!(!none.complete);
    assert_eq!(none.probes, 0);
    assert!(none.endpoints.is_empty());
}

#[test]
fn extended_addressing_scans_find_the_target_address_byte() {
    let bus = VirtualBus::new();
    // An ECU on 6A0/6A8 with address 0x10, answering the tester 0xF1.
    let _ecu = isotp::Stack::new(
        bus.attach(),
        isotp::Address::extended_11(0x6A8, 0x6A0, 0xF1, 0x10).unwrap(),
        Config::default(),
    )
    .unwrap();
    let expected = |target| isotp::discovery::FoundEndpoint {
        request_id: CanId::standard(0x6A0).unwrap(),
        response_id: CanId::standard(0x6A8).unwrap(),
        addressing: isotp::AddressingMode::Extended11,
        target_address: Some(target),
        source_address: Some(0xF1),
        answer: Answer::FlowControl {
            status: FlowStatus::ContinueToSend,
            block_size: 0,
            st_min: StMin::ZERO,
        },
    };
    let one = Scan::new(range("69F-6A1"))
        .with_addressing(isotp::discovery::ScanAddressing::Extended(0x10))
        .with_interval(Duration::from_millis(10))
        .with_confirm_wait(Duration::from_millis(500))
        .run(&Node::new(bus.attach()))
        .unwrap();
    assert_eq!(one.endpoints, [expected(0x10)]);
    // Every byte on one id: only 0x10 answers.
    let scan = Scan::new(range("6A0"))
        .with_addressing(isotp::discovery::ScanAddressing::ExtendedAll)
        .with_interval(Duration::from_millis(2))
        .with_confirm_wait(Duration::from_millis(500));
    assert_eq!(scan.candidates(), 256);
    let all = scan.run(&Node::new(bus.attach())).unwrap();
    assert_eq!(all.endpoints, [expected(0x10)]);
    assert!(all.probes > 256);
}

#[test]
fn a_response_pending_answer_extends_the_wait_for_the_final_one() {
    let bus = VirtualBus::new();
    let ecu = bus.attach();
    let tester = Node::new(bus.attach());
    let request = FunctionalRequest::obd()
        .with_window(Duration::from_millis(100))
        .with_pending_window(Duration::from_secs(2));
    let answers = std::thread::scope(|s| {
        s.spawn(|| {
            if ecu.recv(Some(Duration::from_secs(10))).unwrap().is_some() {
                let id = CanId::standard(0x7E8).unwrap();
                ecu.send(&Frame::new(id, &[0x03, 0x7F, 0x09, 0x78]).unwrap())
                    .unwrap();
                // The final answer comes after the window, within the pending window.
                std::thread::sleep(Duration::from_millis(300));
                ecu.send(&Frame::new(id, &[0x03, 0x49, 0x02, 0x01]).unwrap())
                    .unwrap();
            }
        });
        complete(request.run(&tester, &[0x09, 0x02]).unwrap())
    });
    let got: Vec<&[u8]> = answers
        .iter()
        .map(|a| a.outcome.as_deref().unwrap())
        .collect();
    assert_eq!(got, [&[0x7F, 0x09, 0x78][..], &[0x49, 0x02, 0x01][..]]);
}

#[test]
fn a_functional_request_shares_its_node_with_a_link_that_goes_on_talking() {
    let bus = VirtualBus::new();
    let _vehicle = vehicle_on(&bus);
    let tester = Node::new(bus.attach());
    // The tester's own link to the engine ECU (7E0/7E8): its answers are its own, not the request's.
    let engine = tester
        .add(
            isotp::Address::normal_11(0x7E0, 0x7E8).unwrap(),
            Config::default(),
        )
        .unwrap();
    let answers = complete(
        FunctionalRequest::obd()
            .with_window(Duration::from_millis(600))
            .run(&tester, &[0x09, 0x02])
            .unwrap(),
    );
    assert!(!answers.is_empty(), "{answers:?}");
    assert!(
        answers.iter().all(|a| a.response_id.raw() != 0x7E8),
        "{answers:?}"
    );
    // The engine's answer to the functional request went to the link; the responders' links are
    // gone with the request, and the link goes on talking.
    let vin = engine.recv(Some(Duration::from_secs(5))).unwrap().unwrap();
    assert_eq!(vin[..2], [0x49, 0x02]);
    assert_eq!(tester.len(), 1);
    engine.send(&[0x09, 0x02]).unwrap();
    let again = engine.recv(Some(Duration::from_secs(5))).unwrap().unwrap();
    assert_eq!(again, vin);
}
