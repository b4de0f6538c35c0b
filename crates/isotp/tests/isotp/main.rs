//! The integration tests of the `isotp` crate, in one test binary (one link step, one process).
//!
//! `kernel_interop` (in the qemu guest, `scripts/kernel-tests`) and `python` (needs python
//! can-isotp, `scripts/interop-tests`) stay separate targets: they need what a plain `cargo test`
//! does not have.

#[cfg(feature = "tokio")]
mod async_stack;
mod conformance;
mod discovery;
mod drivers;
mod hostile;
mod lead;
mod node;
#[cfg(all(unix, feature = "serial"))]
mod slcan_pty;
mod socketcand_client;
mod stack;
pub mod vehicle;
mod worker;
