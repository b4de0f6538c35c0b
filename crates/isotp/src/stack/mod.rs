//! Drivers that run the engine on a bus: [`Stack`] (one link), [`Node`] (many links), and
//! `AsyncStack` (tokio).

mod alarm;
#[cfg(feature = "tokio")]
mod async_stack;
mod clock;
mod completion;
mod engine;
mod error;
mod errors;
mod lead;
#[cfg(test)]
mod lead_model;
mod link;
mod mailbox;
mod message;
mod node;
mod options;
mod pending;
mod reconfigured;
// The file is named for the type it defines, as every public type's is.
#[allow(clippy::module_inception)]
mod stack;
mod tap;
/// The primitives of the lead protocol (see [`lead`]).
mod platform {
    pub(crate) use std::sync::{Mutex, MutexGuard};
    pub(crate) use std::thread::{current, Thread};
}

#[cfg(feature = "tokio")]
pub use async_stack::AsyncStack;
pub use error::StackError;
pub use errors::Errors;
pub use link::Link;
pub use message::Message;
pub use node::Node;
pub use options::{
    DriverOptions, IgnoredFrames, ObservedMessages, DEFAULT_RECEIVE_QUEUE, DEFAULT_SPIN_BEFORE_PARK,
};
pub use pending::PendingSend;
pub use reconfigured::Reconfigured;
pub use stack::Stack;
pub(crate) use tap::{Feed, NodeTap, Tapped};
