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

/// Round trips between two AsyncStacks whose buses note, for each frame received, whether the
/// thread that read it was a task's (not the node's `isotp-engine` thread). Returns (frames read
/// by tasks, all frames read).
async fn round_trips_noting_readers<B: isotp::bus::CanBus>(
    tester_bus: B,
    ecu_bus: B,
    config: Config,
    request: Vec<u8>,
    count: usize,
) -> (usize, usize) {
    use isotp::bus::Tracer;
    use isotp::Direction;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let by_task = Arc::new(AtomicUsize::new(0));
    let all = Arc::new(AtomicUsize::new(0));
    let trace = |bus: B| {
        let (by_task, all) = (by_task.clone(), all.clone());
        Tracer::new(bus).with_watch(move |direction, _| {
            if direction == Direction::Rx {
                all.fetch_add(1, Ordering::Relaxed);
                if std::thread::current().name() != Some("isotp-engine") {
                    by_task.fetch_add(1, Ordering::Relaxed);
                }
            }
            true
        })
    };
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let tester = AsyncStack::new(trace(tester_bus), address, config).unwrap();
    let ecu = AsyncStack::new(trace(ecu_bus), address.mirrored().unwrap(), config).unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..count {
            let got = ecu.recv().await.unwrap();
            ecu.send(&got).await.unwrap();
        }
    });
    for _ in 0..count {
        tester.send(&request).await.unwrap();
        assert_eq!(tester.recv().await.unwrap(), request);
    }
    server.await.unwrap();
    (by_task.load(Ordering::Relaxed), all.load(Ordering::Relaxed))
}

/// The task that awaits reads the bus itself: the frame it waits for wakes it directly. (Before,
/// the node's thread read every frame and woke the task: two hand-offs per frame awaited.) The
/// node's thread may still read a frame now and then (it leads while no task watches, e.g.
/// between two awaits on a busy machine), hence "most".
#[tokio::test(flavor = "current_thread")]
async fn an_awaiting_task_reads_the_bus_itself() {
    let bus = VirtualBus::new();
    let (by_task, all) = round_trips_noting_readers(
        bus.attach(),
        bus.attach(),
        Config::default(),
        vec![0x3E],
        200,
    )
    .await;
    assert_eq!(all, 400);
    assert!(
        by_task * 2 > all,
        "{by_task} of {all} frames read by the awaiting tasks"
    );
}

/// The same with segmented messages and flow control (block size 8): the flow controls and the
/// consecutive frames are read by the tasks; the node's thread keeps the timers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_read_flow_controls_and_consecutive_frames() {
    let bus = VirtualBus::new();
    let mut config = Config::default();
    config.block_size = 8;
    let request: Vec<u8> = (0..4095u32).map(|i| i.to_le_bytes()[0]).collect();
    let (by_task, all) =
        round_trips_noting_readers(bus.attach(), bus.attach(), config, request, 20).await;
    // 4095 bytes: FF + 585 CF, 74 FC, both ways.
    assert_eq!(all, 20 * 2 * (1 + 585 + 74));
    assert!(
        by_task * 2 > all,
        "{by_task} of {all} frames read by the awaiting tasks"
    );
}

/// Over socketcand (the in-process hub and two TCP clients) tasks read their frames too.
#[tokio::test(flavor = "current_thread")]
async fn tasks_read_a_socketcand_bus_themselves() {
    use isotp::bus::socketcand::SocketcandBus;
    use isotp_hub::Hub;
    let hub = Hub::bind("127.0.0.1:0").unwrap();
    let a = SocketcandBus::connect(hub.local_addr(), "vcan0").unwrap();
    let b = SocketcandBus::connect(hub.local_addr(), "vcan0").unwrap();
    let (by_task, all) =
        round_trips_noting_readers(a, b, Config::default(), vec![0x22, 0xF1, 0x90], 100).await;
    assert_eq!(all, 200);
    assert!(
        by_task * 2 > all,
        "{by_task} of {all} frames read by the awaiting tasks"
    );
}

/// While a task awaits its send and watches the bus, STmin is still kept by the node's thread:
/// the transfer takes at least its gaps, and the N_Bs timeout of a send nobody answers fires.
#[tokio::test(flavor = "current_thread")]
async fn timers_are_kept_while_tasks_watch_the_bus() {
    use isotp::StMin;
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let mut slow = Config::default();
    slow.st_min = StMin::from_byte(2);
    let a = AsyncStack::new(bus.attach(), address, Config::default()).unwrap();
    let b = AsyncStack::new(bus.attach(), address.mirrored().unwrap(), slow).unwrap();
    // b asks for 2 ms between consecutive frames; 400 bytes is FF + 57 CF: 56 gaps.
    let receiving = tokio::spawn(async move { b.recv().await });
    let started = std::time::Instant::now();
    let data = vec![0x5A; 400];
    a.send(&data).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(56 * 2));
    assert_eq!(receiving.await.unwrap().unwrap(), data);

    let mut config = Config::default();
    config.n_bs = Duration::from_millis(50);
    let lonely = AsyncStack::new(
        bus.attach(),
        Address::normal_11(0x600, 0x601).unwrap(),
        config,
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = lonely.send(&[0; 100]).await.unwrap_err();
    assert!(matches!(
        err,
        StackError::Protocol(ProtocolError::TimeoutBs { .. })
    ));
    assert!(started.elapsed() >= Duration::from_millis(50));
}

/// A task awaiting a message on a socketcand bus learns that the connection closed (it reads the
/// bus itself, so the close reaches it through `poll_recv`), instead of waiting forever.
#[tokio::test(flavor = "current_thread")]
async fn an_awaiting_task_learns_that_the_bus_closed() {
    use isotp::bus::socketcand::SocketcandBus;
    use isotp_hub::Hub;
    let hub = Hub::bind("127.0.0.1:0").unwrap();
    let bus = SocketcandBus::connect(hub.local_addr(), "vcan0").unwrap();
    let a = AsyncStack::new(
        bus,
        Address::normal_11(0x7E0, 0x7E8).unwrap(),
        Config::default(),
    )
    .unwrap();
    let shutdown = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        hub.shutdown();
    });
    let got = tokio::time::timeout(Duration::from_secs(10), a.recv())
        .await
        .expect("the wait ends when the bus closes");
    assert!(matches!(got, Err(StackError::Stopped)), "{got:?}");
    shutdown.await.unwrap();
}

/// A thread blocked in the link's `recv` and a task awaiting a segmented `send` on the same stack:
/// whichever leads, both complete (the thread reads the flow controls for the task, or the task
/// for the thread).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_thread_and_an_awaiting_task_share_the_bus() {
    let (_bus, a, b) = pair();
    let reader = {
        let a = a.clone();
        std::thread::spawn(move || a.link().recv(Some(Duration::from_secs(10))))
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 3).to_le_bytes()[0]).collect();
    a.send(&data).await.unwrap();
    assert_eq!(b.recv().await.unwrap(), data);
    b.send(&data[..100]).await.unwrap();
    let got = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.as_deref(), Some(&data[..100]));
}

/// A task sends at most a block's worth of consecutive frames in one poll (16); a longer burst
/// goes out from the node's thread, so the runtime's thread is not held through it on a slow bus.
#[tokio::test(flavor = "current_thread")]
async fn a_task_leaves_long_bursts_to_the_nodes_thread() {
    use isotp::bus::Tracer;
    use isotp::Direction;
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let (by_task, all) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let traced = {
        let (by_task, all) = (by_task.clone(), all.clone());
        Tracer::new(bus.attach()).with_watch(move |direction, _| {
            if direction == Direction::Tx {
                all.fetch_add(1, Ordering::Relaxed);
                if std::thread::current().name() != Some("isotp-engine") {
                    by_task.fetch_add(1, Ordering::Relaxed);
                }
            }
            true
        })
    };
    let a = AsyncStack::new(traced, address, Config::default()).unwrap();
    let b = AsyncStack::new(bus.attach(), address.mirrored().unwrap(), Config::default()).unwrap();
    let receiving = tokio::spawn(async move { b.recv().await });
    let data: Vec<u8> = (0..4095u32).map(|i| i.to_le_bytes()[0]).collect();
    // The most frames the task sent in one poll of the send.
    let mut most_in_one_poll = 0;
    let mut send = Box::pin(a.send(&data));
    std::future::poll_fn(|cx| {
        let before = by_task.load(Ordering::Relaxed);
        let poll = send.as_mut().poll(cx);
        most_in_one_poll = most_in_one_poll.max(by_task.load(Ordering::Relaxed) - before);
        poll
    })
    .await
    .unwrap();
    assert_eq!(receiving.await.unwrap().unwrap(), data);
    // FF + 585 CF; in its first poll the task sent the FF and at most 16 CFs.
    assert_eq!(all.load(Ordering::Relaxed), 586);
    assert!(
        (1..=17).contains(&most_in_one_poll),
        "{most_in_one_poll} frames sent in one poll"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_timeout_starts_when_the_request_has_been_sent() {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8).unwrap();
    let tester = AsyncStack::new(bus.attach(), address, Config::default()).unwrap();
    let mut ecu_config = Config::default();
    ecu_config.block_size = 8;
    ecu_config.st_min = isotp_core::wire::StMin::from_byte(1);
    let ecu = AsyncStack::new(bus.attach(), address.mirrored().unwrap(), ecu_config).unwrap();
    let ecu = tokio::spawn(async move {
        let request = ecu.recv().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        ecu.send(&[0x76, request[1]]).await.unwrap();
    });
    let mut request = vec![0x55; 4095];
    request[..2].copy_from_slice(&[0x36, 0x01]);
    let start = std::time::Instant::now();
    tester.send_nowait(&request).unwrap();
    let response = tester
        .recv_timeout(Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(response, Some(vec![0x76, 0x01]));
    assert!(start.elapsed() >= Duration::from_millis(500));
    ecu.await.unwrap();
}
