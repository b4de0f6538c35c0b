//! `AsyncStack` on `SocketCanBus::with_task_wakeup`: the awaiting tasks read the socket themselves,
//! woken by tokio's reactor. Ids 6A0-6AF, which the transfer matrix does not use.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isotp::bus::socketcan::SocketCanBus;
use isotp::bus::{CanBus, Tracer};
use isotp::Direction;
use isotp::{Address, AsyncStack, Config};

use super::{bus, payload, CaseResult, Failure};

/// Counts the frames read, and those read by a thread other than the node's `isotp-engine`.
#[derive(Clone, Default)]
struct Readers {
    by_task: Arc<AtomicUsize>,
    all: Arc<AtomicUsize>,
}

impl Readers {
    fn trace(&self, bus: SocketCanBus) -> Tracer<SocketCanBus> {
        let (by_task, all) = (self.by_task.clone(), self.all.clone());
        Tracer::new(bus).with_watch(move |direction, _| {
            if direction == Direction::Rx {
                all.fetch_add(1, Ordering::Relaxed);
                if std::thread::current().name() != Some("isotp-engine") {
                    by_task.fetch_add(1, Ordering::Relaxed);
                }
            }
            true
        })
    }
}

/// 300 single-frame round trips, then 20 of 1000 bytes with block size 8, between two tasks on
/// one current-thread runtime: most frames must be read by the tasks (before this bus could wake
/// a task, none were); the round trip is reported.
pub(super) fn tasks_read_the_socket() -> CaseResult {
    let tester_bus = bus()?.with_task_wakeup();
    let ecu_bus = bus()?.with_task_wakeup();
    if !tester_bus.capabilities().task_wakeup {
        return Err("with_task_wakeup did not set Capabilities::task_wakeup".into());
    }
    let readers = Readers::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let address = Address::normal_11(0x6A0, 0x6A8)?;
    let mut config = Config::default();
    config.block_size = 8;
    let samples = runtime.block_on(async {
        let tester = AsyncStack::new(readers.trace(tester_bus), address, config)?;
        let ecu = AsyncStack::new(readers.trace(ecu_bus), address.mirrored()?, config)?;
        let server = tokio::spawn(async move {
            for _ in 0..320 {
                let got = ecu.recv().await?;
                ecu.send(&got).await?;
            }
            Ok::<(), isotp::StackError>(())
        });
        let mut samples = Vec::new();
        let long = payload(1000);
        for i in 0..320 {
            let request = if i < 300 {
                vec![0x3E, i as u8]
            } else {
                long.clone()
            };
            let t = Instant::now();
            tester.send(&request).await?;
            let answer = tokio::time::timeout(Duration::from_secs(10), tester.recv())
                .await
                .map_err(|_| format!("no answer to request {i}"))??;
            if answer != request {
                return Err(format!("request {i}: the echo differs").into());
            }
            if i < 300 {
                samples.push(t.elapsed());
            }
        }
        server.await??;
        Ok::<_, Failure>(samples)
    })?;
    let by_task = readers.by_task.load(Ordering::Relaxed);
    let all = readers.all.load(Ordering::Relaxed);
    // 300 x 2 single frames; 20 x 2 x (FF + 142 CF + 18 FC).
    let expected = 600 + 20 * 2 * (1 + 142 + 18);
    ensure!(all == expected, "{all} frames read, expected {expected}");
    ensure!(
        by_task * 2 > all,
        "only {by_task} of {all} frames were read by the awaiting tasks"
    );
    let mut us: Vec<u128> = samples[30..].iter().map(Duration::as_micros).collect();
    us.sort_unstable();
    ensure!(!us.is_empty(), "no samples");
    // Nearest rank, as `isotp perf` reports them.
    let rank = |q: usize| us[(us.len() * q).div_ceil(100).clamp(1, us.len()) - 1];
    Ok(format!(
        "{by_task} of {all} frames read by the tasks; round trip median {} us, p99 {} us (TCG guest)",
        rank(50),
        rank(99)
    ))
}
