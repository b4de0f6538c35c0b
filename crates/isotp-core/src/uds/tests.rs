use alloc::vec::Vec;

use super::*;
use crate::monitor::{Conversation, ConversationId};
use crate::{CanId, Instant};

fn party(id: u32) -> Party {
    Party {
        id: CanId::standard(id).unwrap(),
        address_byte: None,
    }
}

const TESTER: u32 = 0x7E0;
const ECU: u32 = 0x7E8;

/// A message from `from` to `to` whose frames are at `first_ms` and `last_ms` (frame numbers:
/// the milliseconds).
fn message(
    from: u32,
    to: Option<u32>,
    first_ms: u64,
    last_ms: u64,
    payload: &[u8],
) -> MonitoredMessage {
    let at = |ms: u64| FrameRef {
        index: ms,
        time: Instant::from_millis(ms),
    };
    MonitoredMessage {
        conversation: Conversation {
            id: ConversationId(0),
            tx: Some(party(TESTER)),
            rx: Some(party(ECU)),
        },
        from: party(from),
        to: to.map(party),
        target_address_type: if to == Some(0x7DF) {
            TargetAddressType::Functional
        } else {
            TargetAddressType::Physical
        },
        payload: payload.to_vec(),
        first_frame: at(first_ms),
        last_frame: at(last_ms),
    }
}

fn run(
    settings: UdsConfig,
    messages: &[MonitoredMessage],
    end_ms: u64,
) -> (Vec<Exchange>, Vec<UdsFinding>) {
    let mut uds = UdsTiming::new(settings);
    for m in messages {
        uds.handle_message(m);
    }
    uds.finish(Instant::from_millis(end_ms));
    let (mut exchanges, mut findings) = (Vec::new(), Vec::new());
    while let Some(e) = uds.poll_event() {
        match e {
            UdsEvent::Exchange(x) => exchanges.push(x),
            UdsEvent::Finding(f) => findings.push(f),
        }
    }
    (exchanges, findings)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn p2_is_measured_from_the_request_end_to_the_response_start() {
    // A segmented request ending at 10 ms, its response starting 50 ms later: on the limit.
    let traffic = [
        message(
            TESTER,
            Some(ECU),
            0,
            10,
            &[0x2E, 0xF1, 0x90, 1, 2, 3, 4, 5, 6],
        ),
        message(ECU, Some(TESTER), 60, 70, &[0x6E, 0xF1, 0x90]),
    ];
    let (exchanges, findings) = run(UdsConfig::default(), &traffic, 70);
    assert_eq!(findings, []);
    assert_eq!(exchanges.len(), 1);
    let x = exchanges[0];
    assert_eq!(
        (x.service, x.outcome, x.p2),
        (0x2E, Outcome::Positive, Some(ms(50)))
    );
    assert_eq!(x.ecu, Some(party(ECU)));
    // One millisecond later is a violation, measured between those two frames.
    let late = [
        traffic[0].clone(),
        message(ECU, Some(TESTER), 61, 61, &[0x6E, 0xF1, 0x90]),
    ];
    let (_, findings) = run(UdsConfig::default(), &late, 70);
    assert_eq!(findings.len(), 1);
    let f = findings[0];
    assert_eq!(
        f.kind,
        UdsFindingKind::P2Exceeded {
            measured: ms(51),
            limit: ms(50)
        }
    );
    assert_eq!((f.frame.index, f.since.map(|s| s.index)), (61, Some(10)));
    assert_eq!(f.severity(), Severity::Violation);
}

#[test]
fn response_pending_chains_are_judged_by_p2_star() {
    let traffic = [
        message(TESTER, Some(ECU), 0, 0, &[0x31, 0x01, 0xFF, 0x00]),
        message(ECU, Some(TESTER), 20, 20, &[0x7F, 0x31, 0x78]),
        message(ECU, Some(TESTER), 4020, 4020, &[0x7F, 0x31, 0x78]),
        message(ECU, Some(TESTER), 9100, 9100, &[0x71, 0x01, 0xFF, 0x00]),
    ];
    let (exchanges, findings) = run(UdsConfig::default(), &traffic, 9100);
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].pending, 2);
    assert_eq!(exchanges[0].p2, Some(ms(20)));
    assert_eq!(exchanges[0].response.map(|r| r.0.index), Some(9100));
    assert_eq!(findings.len(), 1);
    assert_eq!(
        findings[0].kind,
        UdsFindingKind::P2StarExceeded {
            measured: ms(5080),
            limit: ms(5000)
        }
    );
    assert_eq!(findings[0].since.map(|s| s.index), Some(4020));
}

#[test]
fn negative_responses_end_the_exchange_and_strays_are_warnings() {
    let traffic = [
        message(TESTER, Some(ECU), 0, 0, &[0x27, 0x02, 1, 2]),
        message(ECU, Some(TESTER), 5, 5, &[0x7F, 0x27, 0x35]),
        message(ECU, Some(TESTER), 9, 9, &[0x67, 0x02]),
    ];
    let (exchanges, findings) = run(UdsConfig::default(), &traffic, 10);
    assert_eq!(exchanges[0].outcome, Outcome::Negative(0x35));
    assert_eq!(findings.len(), 1);
    assert_eq!(
        findings[0].kind,
        UdsFindingKind::UnexpectedResponse { service: 0x27 }
    );
    assert_eq!(findings[0].severity(), Severity::Warning);
}

#[test]
fn unanswered_requests_past_their_limit_are_violations_unless_suppressed() {
    let traffic = [
        message(TESTER, Some(ECU), 0, 0, &[0x22, 0xF1, 0x90]),
        // The tester gives up and asks again after 100 ms; that one is answered.
        message(TESTER, Some(ECU), 100, 100, &[0x22, 0xF1, 0x90]),
        message(ECU, Some(TESTER), 110, 110, &[0x62, 0xF1, 0x90, 0]),
        // TesterPresent without a positive response, then the recording ends.
        message(TESTER, Some(ECU), 200, 200, &[0x3E, 0x80]),
    ];
    let (exchanges, findings) = run(UdsConfig::default(), &traffic, 2000);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        findings[0].kind,
        UdsFindingKind::NoResponse {
            service: 0x22,
            limit: ms(50)
        }
    );
    assert_eq!(findings[0].frame.index, 0);
    let outcomes: Vec<_> = exchanges.iter().map(|x| x.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Unanswered, Outcome::Positive, Outcome::Unanswered]
    );
    // A recording cut within P2 of the request is no fault.
    let (_, findings) = run(UdsConfig::default(), &traffic[..1], 30);
    assert_eq!(findings, []);
}

#[test]
fn a_session_response_sets_the_limits_of_its_pair() {
    // The ECU announces P2 = 100 ms and P2* = 2000 ms.
    let traffic = [
        message(TESTER, Some(ECU), 0, 0, &[0x10, 0x03]),
        message(
            ECU,
            Some(TESTER),
            10,
            10,
            &[0x50, 0x03, 0x00, 0x64, 0x00, 0xC8],
        ),
        message(TESTER, Some(ECU), 100, 100, &[0x22, 0xF1, 0x90]),
        message(ECU, Some(TESTER), 190, 190, &[0x7F, 0x22, 0x78]),
        message(ECU, Some(TESTER), 2300, 2300, &[0x62, 0xF1, 0x90, 0]),
    ];
    let (_, findings) = run(UdsConfig::default(), &traffic, 2300);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        findings[0].kind,
        UdsFindingKind::P2StarExceeded {
            measured: ms(2110),
            limit: ms(2000)
        }
    );
    // Ignoring the session's limits, 90 ms is a P2 violation and 2110 ms within P2*.
    let fixed = UdsConfig {
        session_timing: SessionTiming::Ignore,
        ..UdsConfig::default()
    };
    let (_, findings) = run(fixed, &traffic, 2300);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(matches!(
        findings[0].kind,
        UdsFindingKind::P2Exceeded { .. }
    ));
}

#[test]
fn functional_requests_pair_with_every_answering_ecu() {
    let traffic = [
        message(TESTER, Some(0x7DF), 0, 0, &[0x22, 0xF1, 0x90]),
        message(ECU, Some(TESTER), 10, 10, &[0x62, 0xF1, 0x90, 1]),
        message(0x7E9, None, 70, 70, &[0x62, 0xF1, 0x90, 2]),
    ];
    let (exchanges, findings) = run(UdsConfig::default(), &traffic, 1000);
    let ecus: Vec<_> = exchanges.iter().map(|x| x.ecu).collect();
    assert_eq!(ecus, [Some(party(ECU)), Some(party(0x7E9))]);
    assert_eq!(findings.len(), 1);
    assert!(matches!(
        findings[0].kind,
        UdsFindingKind::P2Exceeded { .. }
    ));
    assert_eq!(findings[0].ecu, Some(party(0x7E9)));
}

#[test]
fn a_response_with_no_known_peer_pairs_with_an_open_request_of_its_service() {
    // Single-frame traffic in discovery: neither end knows its peer.
    let traffic = [
        message(TESTER, None, 0, 0, &[0x3E, 0x00]),
        message(ECU, None, 5, 5, &[0x7E, 0x00]),
        message(ECU, None, 9, 9, &[]),
        message(ECU, None, 9, 9, &[0x7F]),
    ];
    let (exchanges, findings) = run(UdsConfig::default(), &traffic, 10);
    assert_eq!(findings, []);
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].ecu, Some(party(ECU)));
}

#[test]
fn open_requests_are_bounded() {
    let mut uds = UdsTiming::new(UdsConfig::default());
    for i in 0..(PAIR_LIMIT as u32 + 100) {
        let mut m = message(TESTER, Some(ECU), 0, 0, &[0x22, 0xF1, 0x90]);
        m.to = Some(Party {
            id: CanId::extended(0x18DA_0000 + i).unwrap(),
            address_byte: None,
        });
        uds.handle_message(&m);
        while uds.poll_event().is_some() {}
    }
    assert_eq!(uds.pending.len(), PAIR_LIMIT);
}
