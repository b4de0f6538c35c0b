//! # isotp-core
//!
//! A complete ISO 15765-2 (ISO-TP) engine: segmentation of messages into single, first and
//! consecutive frames, reassembly, flow control (block size, STmin, WAIT, overflow), the N_As, N_Ar,
//! N_Bs and N_Cr timers, classic CAN and CAN FD, the seven addressing modes of can-isotp, padding,
//! listen mode and rate limiting.
//!
//! The crate is `no_std` (it needs `alloc`), sans-IO and deterministic: it never reads a clock, sleeps,
//! spawns or touches a bus. Drivers — the `isotp` crate's `Stack`, an embedded main loop, a test — feed
//! an [`Endpoint`] with received [`Frame`]s and the current [`Instant`], and send the frames it hands out.
//! The same inputs always give the same outputs, so every rule is tested exactly in virtual time.
//!
//! ```
//! use isotp_core::{Address, Config, Endpoint, Event, Instant, TargetAddressType};
//!
//! let mut ecu = Endpoint::new(Address::normal_11(0x7E8, 0x7E0)?, Config::default())?;
//! let request = isotp_core::Frame::new(isotp_core::CanId::standard(0x7E0)?, &[0x02, 0x10, 0x03])?;
//! ecu.handle_frame(&request, Instant::ZERO);
//! assert_eq!(
//!     ecu.poll_event(),
//!     Some(Event::Received { payload: vec![0x10, 0x03], target_address_type: TargetAddressType::Physical })
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layout: [`wire`] parses and emits the protocol's bytes; [`Endpoint`] holds the state machines;
//! [`Config`] and [`Address`] describe a link; errors are one enum per concern.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod addressing;
pub mod candump;
mod config;
mod endpoint;
mod error;
mod event;
mod frame;
mod link_layer;
mod rate_limit;
mod router;
mod time;
pub mod wire;

pub use addressing::{
    Address, AddressBuilder, AddressBytes, AddressingMode, Direction, TargetAddressType,
};
pub use config::{Config, PaddingCheck, RateLimit};
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
