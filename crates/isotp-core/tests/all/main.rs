//! The isotp-core test suite, one binary: every rule of the engine, frame by frame in virtual time.

mod common;

mod addressing;
mod api;
mod can_fd;
mod driver_hooks;
mod flow_control;
mod harness;
mod listen_mode;
mod padding;
mod policy;
mod properties;
mod rate_limit;
mod reception;
mod timers;
mod transmission;
mod zephyr_conformance;
