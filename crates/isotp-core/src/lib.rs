#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod addressing;
pub mod candump;
mod config;
mod direction;
mod endpoint;
mod error;
mod event;
mod frame;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod hex;
mod link_layer;
pub mod manual;
pub mod monitor;
mod rate_limit;
mod router;
mod time;
pub mod uds;
pub mod wire;

pub use addressing::{
    Address, AddressBuilder, AddressBytes, AddressingMode, IdPair, TargetAddressType,
};
pub use config::{Config, PaddingCheck, RateLimit};
pub use direction::Direction;
pub use endpoint::Endpoint;
pub use error::{
    ATimer, AddressError, ConfigError, FrameError, NothingToConfirm, ParseFrameError,
    ProtocolError, SendError, Warning,
};
pub use event::{Event, MessageId, ReceptionProgress};
pub use frame::{CanId, Frame, MAX_EXTENDED_ID, MAX_STANDARD_ID};
pub use link_layer::LinkLayer;
pub use router::{LinkKey, Route, Router, Targets};
pub use time::Instant;

/// Durations are `core::time::Duration`; re-exported for convenience.
pub use core::time::Duration;
