#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

// The project README's Rust examples are complete programs, compiled and run as doctests here.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ProjectReadme;

pub mod bus;
pub mod discovery;
// The bodies of the fuzz targets (fuzz/) and of their seeded tests: not part of the API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(all(target_os = "linux", feature = "socketcan"))]
pub mod kernel;
// The Linux descriptor calls the SocketCAN bus and the kernel socket share.
#[cfg(all(target_os = "linux", feature = "socketcan"))]
mod linux_fd;
pub mod manual;

pub use isotp_core as core;
// The engine's vocabulary, so a driver user needs no second dependency.
pub use isotp_core::wire::{self, StMin};
pub use isotp_core::{
    Address, AddressBuilder, AddressBytes, AddressError, AddressingMode, CanId, Config,
    ConfigError, Direction, Frame, FrameError, IdPair, LinkLayer, MessageId, PaddingCheck,
    ParseFrameError, ProtocolError, RateLimit, SendError, TargetAddressType, Warning,
};
mod stack;

#[cfg(feature = "tokio")]
pub use stack::AsyncStack;
pub use stack::{
    DriverOptions, Errors, IgnoredFrames, Link, Message, Node, ObservedMessages, PendingSend,
    Reconfigured, Stack, StackError, DEFAULT_RECEIVE_QUEUE, DEFAULT_SPIN_BEFORE_PARK,
};
