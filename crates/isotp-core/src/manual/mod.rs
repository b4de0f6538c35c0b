//! The manual: how the engine behaves and why, beyond the API reference.
//!
//! - [`behaviour`]: where ISO 15765-2, the Linux kernel and python can-isotp disagree, what this engine
//!   does, and the test that holds it to it.

pub mod behaviour {
    #![doc = include_str!("behaviour.md")]
}
