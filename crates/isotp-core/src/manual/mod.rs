//! The manual: how the engine behaves and why, beyond the API reference.
//!
//! - [`behaviour`]: where ISO 15765-2, the Linux kernel and python can-isotp disagree, what this engine
//!   does, and the test that holds it to it.
//!
//! How the drivers run this engine (the crates and their dependencies, the threads of a node, who
//! reads the bus and who sleeps, the clock and capture times, the bounded queues) is the `isotp`
//! crate's manual, `isotp::manual` ([on docs.rs](https://docs.rs/isotp/latest/isotp/manual/index.html)).

pub mod behaviour {
    #![doc = include_str!("behaviour.md")]
}
