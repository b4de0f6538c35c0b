//! [`Reconfigured`]: what [`Link::set_config_if_idle`](super::Link::set_config_if_idle) did.

/// What [`Link::set_config_if_idle`](super::Link::set_config_if_idle) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Reconfigured {
    /// The link was idle: the new configuration applies from now on.
    Applied,
    /// A message was being sent, queued or received: nothing changed; ask again when it is done.
    Busy,
}
