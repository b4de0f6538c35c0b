//! Talking to many ECUs at once, and finding who speaks ISO-TP.
//!
//! - [`FunctionalRequest`]: one functional single frame, every responder's answer collected (with the
//!   flow control each segmented answer needs sent on that responder's id).
//! - [`Scan`]: a harmless probe on each id of a range, and the endpoints that answer it.
//! - [`IdRange`]: ranges of CAN ids as written on a command line (`7E8-7EF`).

mod functional;
mod id_range;
mod scan;

pub use functional::{
    Answers, CutOff, FunctionalError, FunctionalRequest, Response, DEFAULT_OVERALL_LIMIT,
    DEFAULT_PENDING_WINDOW, DEFAULT_WINDOW,
};
pub use id_range::{IdRange, IdRangeError};
pub use scan::{
    Answer, FoundEndpoint, Probe, Scan, ScanAddressing, ScanError, ScanReport,
    ANSWERS_ANYTHING_AFTER,
};
