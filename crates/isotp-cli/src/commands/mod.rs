//! One module per command.

pub mod check;
pub mod conformance;
pub mod convert;
pub mod demo;
pub mod dump;
pub mod echo;
pub mod extcap;
pub mod hub;
pub mod perf;
pub mod recv;
pub mod request;
pub mod scan;
pub mod send;
pub mod sniff;
