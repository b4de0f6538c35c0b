#![deny(missing_docs)]
//! Conformance tests of another node's ISO-TP: drive a device under test (DUT) over a raw
//! [`CanBus`] with correct and deliberately wrong frames, and judge its reactions against
//! ISO 15765-2:2016.
//!
//! Every test has a stable [name](TestResult::name), cites the [clause](TestResult::clause) it checks,
//! and returns a [`Verdict`] with what it measured. Frames are built with [`isotp::wire`]'s `emit`
//! (a wrong frame is an emitted one with one field changed) and timed with
//! [`CanBus::recv_timestamped`].
//!
//! It drives any bus of the `isotp` crate (SocketCAN, socketcand, SLCAN, the virtual bus) and builds
//! on `isotp-core`'s wire format; the `isotp conformance` command is its front end.
//!
//! ```
//! use std::time::Duration;
//! use isotp::bus::VirtualBus;
//! use isotp_conformance::{Dut, Options, Verdict};
//! use isotp::{Address, Config, Stack};
//!
//! let bus = VirtualBus::new();
//! // The DUT: a Stack that sends back every message it receives.
//! let dut = Stack::new(bus.attach(), Address::normal_11(0x7E8, 0x7E0)?, Config::default())?;
//! std::thread::spawn(move || {
//!     while let Ok(Some(m)) = dut.recv(Some(Duration::from_secs(30))) {
//!         let _ = dut.send_blocking(&m, Some(Duration::from_secs(5)));
//!     }
//! });
//! let mut options = Options::new(Address::normal_11(0x7E0, 0x7E8)?, Dut::Echo);
//! options.only = Some("rx.single_frame".into());
//! let results = isotp_conformance::run(&bus.attach(), &options)?;
//! assert!(results.iter().all(|r| r.verdict == Verdict::Pass));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod fd;
mod rx;
mod tester;
mod tx;

use std::fmt;
use std::time::Duration;

use isotp_core::{Address, LinkLayer};

use isotp::bus::{BusError, CanBus};
use tester::Tester;

/// What the device under test does with the messages it receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dut {
    /// It sends back every message it receives, so both of its directions can be tested and every
    /// received message checked byte for byte.
    Echo,
    /// A diagnostic server: it answers requests. Any answer proves that a request was reassembled.
    Uds {
        /// A request whose answer is a multi-frame message (e.g. `22 F1 90`), for the tests of the
        /// DUT's sending side; other requests are this one lengthened or shortened.
        request: Vec<u8>,
    },
}

/// How to reach the DUT and how strictly to judge it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The tester's address: it transmits to the DUT and receives the DUT's frames.
    pub address: Address,
    /// Frames the tester sends (classic CAN or CAN FD with its TX_DL). CAN FD adds the `fd.` tests.
    pub link_layer: LinkLayer,
    /// Padding byte of the tester's frames (`None`: classic frames as short as their data).
    pub tx_padding: Option<u8>,
    /// The DUT's role.
    pub dut: Dut,
    /// N_Bs and N_Cr assumed of the DUT (ISO 15765-2:2016 table 16: 1000 ms).
    pub n_timeout: Duration,
    /// How far a measured time may fall short of the standard's bound (bus timestamps jitter). Pauses
    /// meant to exceed a timeout exceed it by at least this much as well.
    pub tolerance: Duration,
    /// How many times `tx.stmin` and `tx.stmin_reserved` may measure an STmin value before a short
    /// gap fails it (default 1: the first short gap fails). Over a transport that stamps frames when
    /// they arrive rather than when they were sent (socketcand), one late frame makes the next gap
    /// look short; a real violation shows in every trial.
    pub stmin_trials: u8,
    /// How long the tester waits for an answer that is due.
    pub response_timeout: Duration,
    /// How long the DUT must stay silent when it is expected to ignore a frame.
    pub silence: Duration,
    /// FC.WAIT frames the tester accepts in a row from the DUT before it abandons a transmission
    /// (N_WFTmax; ISO 15765-2 leaves the value to the user, default 10).
    pub wft_max: u8,
    /// Largest message the tester accepts from the DUT: a first frame announcing more is answered
    /// with FC.OVFLW and the reply judged wrong (default 4095).
    pub max_size: u32,
    /// Longest one test may take: a DUT that keeps it going (endless WAITs or consecutive frames)
    /// fails it when the time is up (default [`DEFAULT_TEST_LIMIT`]).
    pub test_limit: Duration,
    /// Runs only the tests whose name starts with this.
    pub only: Option<String>,
}

impl Options {
    /// Classic CAN, no padding, the standard's 1000 ms timeouts, 100 µs timing tolerance.
    #[must_use]
    pub fn new(address: Address, dut: Dut) -> Options {
        Options {
            address,
            link_layer: LinkLayer::classic(),
            tx_padding: None,
            dut,
            n_timeout: Duration::from_millis(1000),
            tolerance: Duration::from_micros(100),
            stmin_trials: 1,
            response_timeout: Duration::from_millis(1000),
            silence: Duration::from_millis(250),
            wft_max: 10,
            max_size: 4095,
            test_limit: DEFAULT_TEST_LIMIT,
            only: None,
        }
    }
}

/// Default of [`Options::test_limit`]: the slowest test of the catalogue takes a few N_Bs/N_Cr
/// periods (1 s each by default).
pub const DEFAULT_TEST_LIMIT: Duration = Duration::from_secs(60);

/// A test's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The DUT behaved as the clause requires.
    Pass,
    /// It did not.
    Fail,
    /// The test could not judge (the reason is in the detail), e.g. a CAN FD test on classic CAN.
    Skip,
}

impl Verdict {
    /// `pass`, `fail` or `skip`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One measured quantity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A time.
    Time(Duration),
    /// A number of frames, bytes, trials.
    Count(u64),
}

/// A named measurement of a test, e.g. `min_gap` = 512 µs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measure {
    /// What was measured, in snake case.
    pub name: String,
    /// Its value.
    pub value: Value,
}

/// One test's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    /// The stable name, e.g. `tx.stmin`.
    pub name: &'static str,
    /// The clause of ISO 15765-2:2016 checked.
    pub clause: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub detail: String,
    /// What was measured.
    pub measured: Vec<Measure>,
}

/// A verdict with its reason, as a test function returns it.
#[derive(Debug)]
pub(crate) struct Judgement {
    verdict: Verdict,
    detail: String,
}

pub(crate) fn pass(detail: impl Into<String>) -> Judgement {
    Judgement {
        verdict: Verdict::Pass,
        detail: detail.into(),
    }
}

pub(crate) fn fail(detail: impl Into<String>) -> Judgement {
    Judgement {
        verdict: Verdict::Fail,
        detail: detail.into(),
    }
}

pub(crate) fn skip(detail: impl Into<String>) -> Judgement {
    Judgement {
        verdict: Verdict::Skip,
        detail: detail.into(),
    }
}

/// A test's body: drives the DUT through the tester, records measurements, judges.
type TestFn = fn(&mut Tester<'_>, &mut Vec<Measure>) -> Result<Judgement, BusError>;

/// A test of the catalogue.
pub(crate) struct Test {
    name: &'static str,
    clause: &'static str,
    run: TestFn,
}

/// Every test, in the order they run: name and clause.
#[must_use]
pub fn catalogue() -> Vec<(&'static str, &'static str)> {
    tests().iter().map(|t| (t.name, t.clause)).collect()
}

fn tests() -> Vec<Test> {
    let mut all = rx::tests();
    all.extend(tx::tests());
    all.extend(fd::tests());
    all
}

/// Why a run could not start or go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The options cannot work (an address that cannot both send and receive, an invalid link
    /// layer, a `--only` prefix that names no test, an empty UDS request).
    #[error("{0}")]
    Options(String),
}

/// Runs the selected tests one after the other on `bus` and returns their results.
///
/// # Errors
///
/// [`RunError::Options`] for options that cannot work (checked before the first test),
/// [`RunError::Bus`] when the bus fails during a test. A test the DUT fails is no error: it is a
/// [`TestResult`] with a failing verdict.
pub fn run(bus: &dyn CanBus, options: &Options) -> Result<Vec<TestResult>, RunError> {
    run_each(bus, options, |_| {})
}

/// [`run`], calling `progress` with each result as soon as it is known.
///
/// # Errors
///
/// Those of [`run`].
pub fn run_each(
    bus: &dyn CanBus,
    options: &Options,
    mut progress: impl FnMut(&TestResult),
) -> Result<Vec<TestResult>, RunError> {
    let selected: Vec<Test> = tests()
        .into_iter()
        .filter(|t| {
            options
                .only
                .as_deref()
                .map_or(true, |p| t.name.starts_with(p))
        })
        .collect();
    if selected.is_empty() {
        return Err(RunError::Options(format!(
            "no test name starts with '{}'",
            options.only.as_deref().unwrap_or_default()
        )));
    }
    let mut tester = Tester::new(bus, options).map_err(RunError::Options)?;
    let mut results = Vec::with_capacity(selected.len());
    for test in selected {
        tester.start_test();
        tester.settle()?;
        let mut measured = Vec::new();
        let mut judgement = (test.run)(&mut tester, &mut measured)?;
        if tester.out_of_time() {
            // Whatever the test concluded, it was from a wait cut short.
            judgement = fail(format!(
                "the test did not end within its time limit of {:?} (the DUT kept it going: {})",
                options.test_limit, judgement.detail
            ));
        }
        let result = TestResult {
            name: test.name,
            clause: test.clause,
            verdict: judgement.verdict,
            detail: judgement.detail,
            measured,
        };
        progress(&result);
        results.push(result);
    }
    Ok(results)
}

pub(crate) fn time(measured: &mut Vec<Measure>, name: &str, d: Duration) {
    measured.push(Measure {
        name: name.into(),
        value: Value::Time(d),
    });
}

pub(crate) fn count(measured: &mut Vec<Measure>, name: &str, n: u64) {
    measured.push(Measure {
        name: name.into(),
        value: Value::Count(n),
    });
}

/// A duration as people read it: `512 us`, `12.3 ms`.
#[must_use]
pub fn duration_text(d: Duration) -> String {
    let us = d.as_micros();
    if us < 10_000 {
        format!("{us} us")
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}
