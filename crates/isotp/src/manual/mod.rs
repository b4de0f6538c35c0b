//! The manual: how the crates fit, which thread does what, and where a frame goes between the bus
//! and the application. It is built with the code, so its links are checked with it.
//!
//! The rules of the protocol engine itself (what it does where ISO 15765-2, the Linux kernel and
//! python can-isotp disagree, and the drivers' receive timeouts) are
//! [`isotp_core::manual::behaviour`]; which driver to pick is the table "Which driver" on the
//! [front page](crate).
//!
//! - [`layers`]: the crates, what each is for, which depends on which and why, and where to look.
//! - [`driver`]: the threads of a node, and the lead protocol that decides who reads the bus and who
//!   sleeps.
//! - [`time`]: the clock of a node, the capture time of a frame, sleeping, spinning and STmin.
//! - [`bounds`]: every queue and its bound, and which locks are held across bus I/O.
//! - [`data_path`]: a frame's way from the bus to the application and back, and watching a bus
//!   without taking part.

pub mod bounds;
pub mod data_path;
pub mod driver;
pub mod layers;
pub mod time;
