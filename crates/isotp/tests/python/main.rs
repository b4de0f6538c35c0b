//! The tests that need Python packages from PyPI, in one test binary. Each is `#[ignore]`d with its
//! reason, so a plain `cargo test` lists them as ignored; run without their prerequisite they fail
//! rather than pass without having tested anything.
//!
//! `interop`, `discovery` and `conformance` run python can-isotp 2.0.7 as our peer through the hub
//! (`scripts/interop-tests`). The logs written by python-can's own writers are read by
//! isotp-capture's `python_can` test (`scripts/capture-tests`).

mod conformance;
mod discovery;
mod interop;

/// The venv's python, from this variable (`scripts/interop-tests` sets it).
pub const PYTHON_ENV: &str = "ISOTP_INTEROP_PYTHON";
/// The can-isotp release the venv holds.
pub const CAN_ISOTP_VERSION: &str = "2.0.7";

/// The venv python. The tests are `#[ignore]`d, so a plain `cargo test` lists them as ignored with
/// the reason; run with `--include-ignored` (as `scripts/interop-tests` does) without the variable,
/// they fail rather than pass without having tested anything.
pub fn python() -> String {
    match std::env::var(PYTHON_ENV) {
        Ok(p) if !p.trim().is_empty() => p,
        _ => panic!(
            "{PYTHON_ENV} is not set: run scripts/interop-tests, which creates .venv with can-isotp \
             {CAN_ISOTP_VERSION} and python-can 4 from PyPI and sets it"
        ),
    }
}
