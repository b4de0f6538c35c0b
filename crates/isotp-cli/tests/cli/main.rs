//! The `isotp` binary, run as a user would: one test crate, a module per concern.
//!
//! `commands`: every command in one process (good and bad input, exit codes; two parties on
//! in-process virtual buses); `capture`: recorded logs in every format, `convert`; `discovery`: `request`, `scan` and `conformance` against a simulated vehicle and hostile nodes; `hub`: the commands across processes through `isotp hub`.

mod capture;
mod check;
mod check_uds;
mod commands;
mod common;
mod discovery;
mod hub;
