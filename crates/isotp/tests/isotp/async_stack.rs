//! AsyncStack: the same stack from tokio tasks.

use std::time::Duration;

use isotp::bus::VirtualBus;
use isotp::{Address, AsyncStack, Config, ProtocolError, StackError};

fn pair() -> (VirtualBus, AsyncStack, AsyncStack) {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let a = AsyncStack::new(bus.attach(), address, Config::default()).unwrap();
    let b = AsyncStack::new(bus.attach(), address.mirrored().unwrap(), Config::default()).unwrap();
    (bus, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_send_and_receive_through_one_stack() {
    let (_bus, a, b) = pair();
    let mut senders = Vec::new();
    for i in 0..16u8 {
        let a = a.clone();
        senders.push(tokio::spawn(async move { a.send(&[i; 200]).await }));
    }
    for s in senders {
        s.await.unwrap().unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..16 {
        got.push(b.recv().await.unwrap());
    }
    got.sort();
    let expected: Vec<Vec<u8>> = (0..16u8).map(|i| vec![i; 200]).collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn recv_timeout_returns_none() {
    let (_bus, a, _b) = pair();
    assert_eq!(
        a.recv_timeout(Duration::from_millis(10)).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn send_reports_protocol_errors() {
    let bus = VirtualBus::new();
    let mut config = Config::default();
    config.n_bs = Duration::from_millis(20);
    let a = AsyncStack::new(bus.attach(), Address::normal_11(1, 2).unwrap(), config).unwrap();
    let err = a.send(&[0; 100]).await.unwrap_err();
    assert!(matches!(
        err,
        StackError::Protocol(ProtocolError::TimeoutBs { .. })
    ));
}

#[tokio::test]
async fn a_dropped_recv_future_loses_nothing() {
    let (_bus, a, b) = pair();
    // A recv that times out must not swallow the message that arrives afterwards.
    assert_eq!(
        b.recv_timeout(Duration::from_millis(5)).await.unwrap(),
        None
    );
    a.send(&[1, 2, 3]).await.unwrap();
    assert_eq!(b.recv().await.unwrap(), vec![1, 2, 3]);
}
