//! CAN buses: the [`CanBus`] trait and its backends.
//!
//! A driver runs on anything that implements [`CanBus`]; [`open`] takes one string for every
//! backend. What each backend can do ([`Capabilities`]) decides how the driver uses it:
//!
//! | backend | string | CAN FD | transmit confirmation | capture times | task wake-up |
//! |---|---|---|---|---|---|
//! | [`VirtualBus`] port | `virtual:NAME` | yes | yes (every port has the frame) | when sent | yes |
//! | `socketcan::SocketCanBus` (Linux) | `socketcan:can0` | when the interface is | the kernel's echo of our frame | the kernel's | with `with_task_wakeup` |
//! | [`socketcand::SocketcandBus`] | `socketcand://HOST:PORT/CHANNEL` | yes (`fdsend`, when the server has it) | no: written to the connection | the server's, by their age | yes |
//! | [`slcan::SlcanBus`] | `slcan:/dev/ttyACM0?bitrate=500000` | with a data bit rate | no: written to the port | when taken from the port's queue | yes |
//!
//! Every backend here polls cheaply ([`Capabilities::cheap_poll`]). [`Tracer`] and [`FaultInjector`]
//! wrap any bus (a tracer keeps its capabilities, a fault injector all but task wake-up). How the
//! driver reads, sleeps and spins on a bus is the [`manual`](crate::manual::driver).

use std::task::{Context, Poll};
use std::time::Duration;

use isotp_core::{CanId, Frame};

mod virtual_bus;

#[cfg(all(target_os = "linux", feature = "socketcan", feature = "tokio"))]
mod fd_readiness;
#[cfg(all(target_os = "linux", feature = "socketcan"))]
pub mod socketcan;

mod clock_pair;
mod fault;
mod inbox;
mod log_throttle;
mod open;
pub mod slcan;
pub mod socketcand;
mod task_wakeup;
mod tracer;

pub use clock_pair::ClockPair;
pub use fault::{FaultCounts, FaultInjector, Faults};
pub use log_throttle::LogThrottle;
pub use open::{open, InterfaceSpec, OpenError, DEFAULT_SLCAN_BITRATE, INTERFACE_SYNTAX};
pub use tracer::Tracer;
pub use virtual_bus::{VirtualBus, VirtualPort};

/// A CAN bus as a stack needs it: send a frame, receive one with a timeout, and be woken early.
///
/// Methods take `&self`: a stack sends from the caller's thread (for latency) and receives on its own
/// thread at the same time, so implementations synchronise internally.
///
/// Implement it to plug in your own driver; see [`VirtualBus`] for an in-process bus.
pub trait CanBus: Send + Sync + 'static {
    /// Puts one frame on the bus. Returns once the frame is queued for transmission (or, when
    /// [`Capabilities::tx_confirmation`] is true, once it has been sent).
    ///
    /// # Errors
    ///
    /// [`BusError::Unsupported`] for a frame the bus cannot carry (CAN FD on a classic bus),
    /// [`BusError::Closed`] when the bus or its connection is gone, [`BusError::Io`] or
    /// [`BusError::Protocol`] when the backend fails. A node reports them as
    /// [`StackError::Bus`](crate::StackError::Bus).
    fn send(&self, frame: &Frame) -> Result<(), BusError>;

    /// Waits up to `timeout` (forever with `None`) for the next frame sent by another node.
    /// Returns `Ok(None)` on timeout or when [`interrupt`](CanBus::interrupt) was called.
    ///
    /// # Errors
    ///
    /// [`BusError::Closed`] when the bus or its connection is gone, [`BusError::Io`] or
    /// [`BusError::Protocol`] when the backend fails.
    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError>;

    /// Makes a `recv` that is blocked (or the next one) return `Ok(None)` at once. Called by a stack
    /// when it needs its receive thread to reconsider its deadline.
    fn interrupt(&self);

    /// What the bus can do. The default says: classic CAN only, no transmit confirmation, no
    /// capture timestamps; a backend that can do more says so, and a stack refuses a CAN FD
    /// configuration on a bus that cannot carry it when it is built.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Like [`recv`](CanBus::recv), with the moment the frame was captured. The default stamps it
    /// when `recv` returns; a backend that knows better (the virtual bus: when it was sent) says
    /// so, and sets [`Capabilities::timestamps`].
    ///
    /// # Errors
    ///
    /// Those of [`recv`](CanBus::recv).
    fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, std::time::Instant)>, BusError> {
        Ok(self.recv(timeout)?.map(|f| (f, std::time::Instant::now())))
    }

    /// Asks the bus to deliver only frames with one of `ids` (`None`: every frame), so that a busy
    /// bus does not wake a node for traffic that is not its own. A hint: a bus without filters
    /// (the default) delivers everything, and the node still ignores what is not for it.
    ///
    /// # Errors
    ///
    /// A [`BusError`] when the backend cannot set its filter (the default never fails).
    fn set_receive_filter(&self, ids: Option<&[CanId]>) -> Result<(), BusError> {
        let _ = ids;
        Ok(())
    }

    /// For a task that waits in async code: the next frame if one is there (as
    /// [`recv_timestamped`](CanBus::recv_timestamped) with a zero timeout), else `Poll::Pending`
    /// with `cx`'s waker registered, to be woken when a frame arrives or
    /// [`interrupt`](CanBus::interrupt) is called. The task that waits then reads the bus itself,
    /// with no thread in between.
    ///
    /// Called only when [`Capabilities::task_wakeup`] is set. The default, for a bus that cannot
    /// wake a task, looks without waiting and never returns `Pending`.
    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<(Frame, std::time::Instant)>, BusError>> {
        let _ = cx;
        Poll::Ready(self.recv_timestamped(Some(Duration::ZERO)))
    }
}

/// What a [`CanBus`] can do, from [`CanBus::capabilities`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Carries CAN FD frames.
    pub can_fd: bool,
    /// `send` returns only once the frame is on the bus, so N_As and N_Ar measure the bus.
    pub tx_confirmation: bool,
    /// Received frames carry the moment the hardware or the kernel captured them.
    pub timestamps: bool,
    /// A `recv` with a zero timeout is cheap (a queue or a non-blocking system call, no lock shared
    /// with other work such as an interpreter's), so a thread that expects a reply may poll the bus
    /// for a few microseconds instead of sleeping (see
    /// [`DriverOptions::spin_before_park`](crate::DriverOptions::spin_before_park)).
    pub cheap_poll: bool,
    /// [`CanBus::poll_recv`] wakes a waiting task when a frame arrives, so an async waiter drives
    /// the bus itself instead of being woken by the node's thread.
    pub task_wakeup: bool,
}

impl Capabilities {
    /// Classic CAN, nothing more.
    pub const CLASSIC: Capabilities = Capabilities {
        can_fd: false,
        tx_confirmation: false,
        timestamps: false,
        cheap_poll: false,
        task_wakeup: false,
    };

    /// Sets [`can_fd`](Capabilities::can_fd).
    #[must_use]
    pub const fn with_can_fd(mut self, yes: bool) -> Capabilities {
        self.can_fd = yes;
        self
    }

    /// Sets [`tx_confirmation`](Capabilities::tx_confirmation).
    #[must_use]
    pub const fn with_tx_confirmation(mut self, yes: bool) -> Capabilities {
        self.tx_confirmation = yes;
        self
    }

    /// Sets [`timestamps`](Capabilities::timestamps).
    #[must_use]
    pub const fn with_timestamps(mut self, yes: bool) -> Capabilities {
        self.timestamps = yes;
        self
    }

    /// Sets [`cheap_poll`](Capabilities::cheap_poll).
    #[must_use]
    pub const fn with_cheap_poll(mut self, yes: bool) -> Capabilities {
        self.cheap_poll = yes;
        self
    }

    /// Sets [`task_wakeup`](Capabilities::task_wakeup).
    #[must_use]
    pub const fn with_task_wakeup(mut self, yes: bool) -> Capabilities {
        self.task_wakeup = yes;
        self
    }
}

/// A bus behind a smart pointer is that bus: every method goes to it (one list of methods for
/// every pointer, so a method added to the trait cannot be forgotten in one of them).
macro_rules! forward_can_bus {
    ($($pointer:ty),+) => {$(
        impl<B: CanBus + ?Sized> CanBus for $pointer {
            fn send(&self, frame: &Frame) -> Result<(), BusError> {
                (**self).send(frame)
            }
            fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
                (**self).recv(timeout)
            }
            fn interrupt(&self) {
                (**self).interrupt()
            }
            fn recv_timestamped(
                &self,
                timeout: Option<Duration>,
            ) -> Result<Option<(Frame, std::time::Instant)>, BusError> {
                (**self).recv_timestamped(timeout)
            }
            fn set_receive_filter(&self, ids: Option<&[CanId]>) -> Result<(), BusError> {
                (**self).set_receive_filter(ids)
            }
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            fn poll_recv(
                &self,
                cx: &mut Context<'_>,
            ) -> Poll<Result<Option<(Frame, std::time::Instant)>, BusError>> {
                (**self).poll_recv(cx)
            }
        }
    )+};
}

forward_can_bus!(std::sync::Arc<B>, Box<B>);

/// A bus failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The operating system reported an error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. "sending on can0".
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The bus or its connection is gone.
    #[error("the bus is closed: {0}")]
    Closed(String),
    /// The bus cannot carry this frame (for example CAN FD on a classic-only interface).
    #[error("the bus cannot carry this frame: {0}")]
    Unsupported(String),
    /// The peer (a server or an adapter) sent something that breaks its protocol.
    #[error("protocol error from the bus peer: {0}")]
    Protocol(String),
}

impl BusError {
    /// A copy for a second recipient (an I/O error keeps its kind and text).
    pub(crate) fn duplicate(&self) -> BusError {
        match self {
            BusError::Io { context, source } => BusError::Io {
                context: context.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            BusError::Closed(s) => BusError::Closed(s.clone()),
            BusError::Unsupported(s) => BusError::Unsupported(s.clone()),
            BusError::Protocol(s) => BusError::Protocol(s.clone()),
        }
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> BusError {
        BusError::Io {
            context: context.into(),
            source,
        }
    }
}
