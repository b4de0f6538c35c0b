//! Measuring links: checkable payloads, the sending and receiving loops of a throughput or
//! round-trip run, and latency percentiles. One harness for `cargo bench`, `isotp perf` and the
//! side-by-side comparison with can-isotp, so their figures mean the same thing.
//!
//! The harness of the command, not a library API: `benches/stack_figures.rs` and
//! `examples/compare_bench.rs` include this file, so that their figures and `isotp perf`'s come from
//! the same loops.

use std::time::{Duration, Instant};

use isotp::{Link, StackError};

/// The `seq`-th test payload of `size` bytes: byte k is `seq + k` (mod 256), so any corruption or
/// reordering within a message shows.
pub fn payload(seq: u64, size: usize) -> Vec<u8> {
    let first = seq.to_le_bytes()[0];
    std::iter::successors(Some(first), |b| Some(b.wrapping_add(1)))
        .take(size)
        .collect()
}

/// True when `data` is a test payload of `size` bytes.
pub fn is_intact(data: &[u8], size: usize) -> bool {
    data.len() == size && data.windows(2).all(|w| w[1] == w[0].wrapping_add(1))
}

/// A run that stopped: which message, at which step, and why.
#[derive(Debug, thiserror::Error)]
#[error("message {number} ({step}): {error}")]
#[non_exhaustive]
pub struct Failure {
    /// The message's number, from 1.
    pub number: u64,
    /// What was being done with it.
    pub step: Step,
    /// Why it failed (a [`StackError::Timeout`] when it did not come in time).
    #[source]
    pub error: StackError,
}

/// A step of a measuring loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Sending a message.
    Send,
    /// Waiting for a message's echo.
    Echo,
    /// Waiting for a message.
    Receive,
    /// Sending a message back.
    SendBack,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Send => "sending it",
            Step::Echo => "waiting for its echo",
            Step::Receive => "waiting for it",
            Step::SendBack => "sending it back",
        })
    }
}

/// What one side of a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Run {
    /// Messages sent (by [`send`]) or received (by [`receive`]).
    pub messages: u64,
    /// From the first send to the last echo ([`send`]), or from the first message to the last
    /// ([`receive`]).
    pub elapsed: Duration,
    /// Messages (or echoes) that were not the payload sent.
    pub corrupt: u64,
    /// With echo, each round trip, from the send to the echo's arrival.
    pub round_trips: Vec<Duration>,
    /// When the last message arrived ([`receive`]) or the last send or echo ended ([`send`]).
    pub ended: Option<Instant>,
}

/// Sends `count` payloads of `size` bytes with `send_blocking`; with `echo`, waits for each to
/// come back before the next and records the round trip. `progress` is called after each message.
pub fn send(
    link: &Link,
    size: usize,
    count: u64,
    echo: bool,
    timeout: Duration,
    mut progress: impl FnMut(u64),
) -> Result<Run, Failure> {
    let mut run = Run::default();
    let start = Instant::now();
    for seq in 0..count {
        let fail = |step, error| Failure {
            number: seq + 1,
            step,
            error,
        };
        let data = payload(seq, size);
        let t0 = Instant::now();
        link.send_blocking(&data, Some(timeout))
            .map_err(|e| fail(Step::Send, e))?;
        if echo {
            let back = link
                .recv(Some(timeout))
                .map_err(|e| fail(Step::Echo, e))?
                .ok_or_else(|| {
                    fail(
                        Step::Echo,
                        StackError::Timeout {
                            waited: timeout,
                            what: "the echo of a message",
                        },
                    )
                })?;
            run.round_trips.push(t0.elapsed());
            if !is_intact(&back, size) {
                run.corrupt += 1;
            }
        }
        run.messages += 1;
        progress(run.messages);
    }
    let end = Instant::now();
    run.elapsed = end - start;
    run.ended = Some(end);
    Ok(run)
}

/// Receives `count` payloads of `size` bytes, checking each; with `echo`, sends each back at once.
/// The first message is awaited for `first_timeout` (`None`: forever), the others for `timeout`.
pub fn receive(
    link: &Link,
    size: usize,
    count: u64,
    echo: bool,
    timeout: Duration,
    first_timeout: Option<Duration>,
    mut progress: impl FnMut(u64),
) -> Result<Run, Failure> {
    let mut run = Run::default();
    let mut first = None;
    for n in 0..count {
        let fail = |step, error| Failure {
            number: n + 1,
            step,
            error,
        };
        let wait = if n == 0 { first_timeout } else { Some(timeout) };
        let m = link
            .recv(wait)
            .map_err(|e| fail(Step::Receive, e))?
            .ok_or_else(|| {
                fail(
                    Step::Receive,
                    StackError::Timeout {
                        waited: wait.unwrap_or_default(),
                        what: "a message",
                    },
                )
            })?;
        let now = Instant::now();
        first.get_or_insert(now);
        run.ended = Some(now);
        if !is_intact(&m, size) {
            run.corrupt += 1;
        }
        if echo {
            link.send_blocking(&m, Some(timeout))
                .map_err(|e| fail(Step::SendBack, e))?;
        }
        run.messages += 1;
        progress(run.messages);
    }
    if let (Some(f), Some(e)) = (first, run.ended) {
        run.elapsed = e - f;
    }
    Ok(run)
}

/// Latency statistics in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Percentiles {
    /// Smallest.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Samples.
    pub count: usize,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples`; `None` without samples.
    pub fn of(samples: &[Duration]) -> Option<Percentiles> {
        if samples.is_empty() {
            return None;
        }
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let n = us.len();
        // q is at most 1: the rank is at most n, and a float cast saturates at 0 below.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rank = |q: f64| us[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Some(Percentiles {
            min: us[0],
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: us[n - 1],
            mean: us.iter().sum::<f64>() / n as f64,
            count: n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_checkable() {
        let p = payload(7, 300);
        assert_eq!(p[0], 7);
        assert_eq!(p[299], 50); // 7 + 299, modulo 256
        assert!(is_intact(&p, 300));
        let mut bad = p.clone();
        bad[100] ^= 1;
        assert!(!is_intact(&bad, 300));
        assert!(!is_intact(&p[..299], 300));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let p = Percentiles::of(&samples).unwrap();
        assert_eq!(
            (p.min, p.p50, p.p90, p.p99, p.max, p.count),
            (1.0, 50.0, 90.0, 99.0, 100.0, 100)
        );
        assert!((p.mean - 50.5).abs() < 1e-9);
        assert_eq!(Percentiles::of(&[]), None);
        assert_eq!(
            Percentiles::of(&[Duration::from_micros(5)]).unwrap().p99,
            5.0
        );
    }
}
