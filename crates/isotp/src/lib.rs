//! # isotp
//!
//! ISO 15765-2 (ISO-TP) on real and virtual CAN buses, built on the sans-IO engine
//! [`isotp_core`].
//!
//! - [`Stack`]: a blocking link with one background thread, the counterpart of can-isotp's `CanStack`.
//! - [`Node`]: hundreds of links on one bus and one thread.
//! - `AsyncStack` (feature `tokio`): the same over tokio.
//! - [`bus`]: the [`bus::CanBus`] trait and its backends.
//! - `kernel` (Linux, feature `socketcan`): the kernel's own CAN_ISOTP socket behind the same
//!   send/receive surface.
#![deny(missing_docs)]

pub mod bus;
pub mod conformance;
#[cfg(all(target_os = "linux", feature = "socketcan"))]
pub mod kernel;
pub mod measure;

pub use isotp_core as core;
// The engine's vocabulary, so a driver user needs no second dependency.
pub use isotp_core::wire::{self, StMin};
pub use isotp_core::{
    Address, AddressBuilder, AddressBytes, AddressError, AddressingMode, CanId, Config,
    ConfigError, Frame, FrameError, LinkLayer, MessageId, PaddingCheck, ParseFrameError,
    ProtocolError, RateLimit, SendError, TargetAddressType, Warning,
};
mod stack;

#[cfg(feature = "tokio")]
pub use stack::AsyncStack;
pub use stack::{
    DriverOptions, Link, Message, MessageDirection, Node, Stack, StackError, DEFAULT_RECEIVE_QUEUE,
};
