//! Every place where native code takes the GIL (back), and the rule that keeps that safe while
//! the interpreter exits.
//!
//! From the moment CPython starts finalizing, a thread other than the finalizing one that asks for
//! the GIL is ended with `pthread_exit`. That unwinds through the Rust frames below it, which Rust
//! cannot survive: the process aborts ("FATAL: exception not rethrown"). Such threads are daemon
//! threads waiting in our calls (`recv(timeout=None)` in a thread the script forgot) and driver
//! threads calling a python-can bus.
//!
//! The rule, a handshake on two atomics: a thread about to take the GIL from native code first
//! counts itself in `NEAR_GIL`, then reads `EXITING`; if it is set, the thread never takes the GIL
//! (it parks for good: the interpreter is about to drop it). The exit handler (`interpreter_exiting`)
//! sets `EXITING`, then waits, with the GIL released, until `NEAR_GIL` is 0: every thread that counted
//! itself before `EXITING` was set has had the GIL and given it back (or is running Python code,
//! which CPython ends safely). Both sides use `SeqCst`, so at least one sees the other's write.
//! Every `allow_threads` and `with_gil` of the package goes through this module.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// Set by `interpreter_exiting`.
static EXITING: AtomicBool = AtomicBool::new(false);
/// The thread that runs the exit handler: it finalizes the interpreter and keeps the GIL.
static EXIT_THREAD: OnceLock<ThreadId> = OnceLock::new();
/// Threads that are taking, or hold, the GIL from native code.
static NEAR_GIL: AtomicUsize = AtomicUsize::new(0);

/// How long the exit handler waits for threads already on their way to the GIL.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// Counts this thread in before it takes the GIL; never returns once the interpreter exits.
fn enter() {
    NEAR_GIL.fetch_add(1, Ordering::SeqCst);
    if EXITING.load(Ordering::SeqCst) && EXIT_THREAD.get() != Some(&std::thread::current().id()) {
        NEAR_GIL.fetch_sub(1, Ordering::SeqCst);
        loop {
            std::thread::park();
        }
    }
}

fn leave() {
    NEAR_GIL.fetch_sub(1, Ordering::SeqCst);
}

/// `py.allow_threads(f)`, coming back to the GIL only while the interpreter is not exiting.
pub(crate) fn allow_threads<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> T {
    let v = py.allow_threads(|| {
        let v = f();
        enter();
        v
    });
    leave();
    v
}

/// `Python::with_gil(f)` for a thread of ours (a driver thread calling a python-can bus); never
/// returns once the interpreter exits.
pub(crate) fn with_gil<T>(f: impl FnOnce(Python<'_>) -> T) -> T {
    near_gil(|| Python::with_gil(f))
}

/// Runs `f` (which takes the GIL itself, e.g. `PyGILState_Ensure`) under the same rule.
pub(crate) fn near_gil<T>(f: impl FnOnce() -> T) -> T {
    enter();
    let v = f();
    leave();
    v
}

/// Whether the interpreter is exiting: code that would take the GIL to tidy up leaves it instead.
pub(crate) fn exiting() -> bool {
    EXITING.load(Ordering::SeqCst)
}

/// Called by the package's atexit handler once its stacks are stopped: from then on a thread
/// that would take the GIL from native code stays there, and the threads already on their way
/// have had it and given it back before this returns (up to 2 s).
#[pyfunction]
pub(crate) fn interpreter_exiting(py: Python<'_>) {
    let _ = EXIT_THREAD.set(std::thread::current().id());
    EXITING.store(true, Ordering::SeqCst);
    let until = Instant::now() + EXIT_WAIT;
    while NEAR_GIL.load(Ordering::SeqCst) > 0 && Instant::now() < until {
        py.allow_threads(|| std::thread::sleep(Duration::from_millis(1)));
    }
}
