//! SocketCAN raw sockets (Linux): [`SocketCanBus`], and conversions between [`Frame`] and the
//! `socketcan` crate's frames.
//!
//! The conversions are free functions rather than `From`/`TryFrom` impls: both [`Frame`] (from
//! `isotp-core`) and the `socketcan` frames are foreign to this crate, and Rust's orphan rule forbids
//! implementing a foreign trait between two foreign types here.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use isotp_core::{CanId, Frame};
use socketcan::{
    id::FdFlags, CanAnyFrame, CanDataFrame, CanFdFrame, CanFdSocket, CanFrame, CanSocket,
    EmbeddedFrame, ExtendedId, Frame as _, Id, Socket, SocketOptions, StandardId,
};

use super::{BusError, CanBus, Capabilities, ClockPair};
use crate::linux_fd;

/// How long [`SocketCanBus::send`](CanBus::send) keeps retrying by default while the kernel's
/// transmit queue is full.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_millis(200);

/// A frame that has no [`Frame`] equivalent, or a [`Frame`] the requested `socketcan` type cannot
/// hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameConversionError {
    /// Remote frames (RTR) carry no data; ISO-TP never uses them.
    #[error("remote (RTR) frames have no ISO-TP meaning and are not converted")]
    RemoteFrame,
    /// Error frames report bus errors, not data.
    #[error("error frames report bus errors and are not converted")]
    ErrorFrame,
    /// A CAN FD frame asked for as a classic `CanFrame`.
    #[error("a CAN FD frame cannot become a classic CanFrame: convert it to a CanFdFrame or CanAnyFrame")]
    FdAsClassic,
    /// A data length that no CAN or CAN FD frame can have.
    #[error(
        "{len} data bytes is not a valid CAN FD frame length (0-8, 12, 16, 20, 24, 32, 48 or 64)"
    )]
    InvalidLength {
        /// The length found.
        len: usize,
    },
}

fn hal_id(id: CanId) -> Id {
    // CanId is always in range, so both constructors succeed; the fallbacks are never taken.
    if id.is_extended() {
        Id::Extended(ExtendedId::new(id.raw()).unwrap_or(ExtendedId::ZERO))
    } else {
        let raw = u16::try_from(id.raw()).unwrap_or(0);
        Id::Standard(StandardId::new(raw).unwrap_or(StandardId::ZERO))
    }
}

/// Id 0, for conversions that cannot fail in practice.
const ID_ZERO: CanId = match CanId::standard(0) {
    Ok(id) => id,
    Err(_) => panic!("0 is a valid standard id"),
};

fn core_id(id: Id) -> CanId {
    // embedded_can ids are range-checked like ours, so the fallback is never taken.
    match id {
        Id::Standard(s) => CanId::standard(u32::from(s.as_raw())),
        Id::Extended(e) => CanId::extended(e.as_raw()),
    }
    .unwrap_or(ID_ZERO)
}

/// `frame` as a `socketcan` frame of its own kind: classic frames become
/// [`CanAnyFrame::Normal`], CAN FD frames [`CanAnyFrame::Fd`] (with BRS when set).
#[must_use]
pub fn to_can_any_frame(frame: &Frame) -> CanAnyFrame {
    if frame.is_fd() {
        CanAnyFrame::Fd(to_can_fd_frame(frame))
    } else {
        match CanDataFrame::new(hal_id(frame.id()), frame.data()) {
            Some(f) => CanAnyFrame::Normal(f),
            // A classic Frame holds at most 8 bytes, so this is never taken.
            None => CanAnyFrame::Fd(to_can_fd_frame(frame)),
        }
    }
}

/// `frame` as a classic `socketcan` frame; CAN FD frames are refused.
///
/// # Errors
///
/// [`FrameConversionError::FdAsClassic`] for a CAN FD frame.
pub fn to_can_frame(frame: &Frame) -> Result<CanFrame, FrameConversionError> {
    if frame.is_fd() {
        return Err(FrameConversionError::FdAsClassic);
    }
    CanDataFrame::new(hal_id(frame.id()), frame.data())
        .map(CanFrame::Data)
        .ok_or(FrameConversionError::InvalidLength { len: frame.len() })
}

/// `frame` as a `socketcan` CAN FD frame, with the bit rate switch flag when set. A classic frame
/// becomes a CAN FD frame with the same id and data.
#[must_use]
pub fn to_can_fd_frame(frame: &Frame) -> CanFdFrame {
    let flags = if frame.is_brs() {
        FdFlags::BRS
    } else {
        FdFlags::empty()
    };
    // At most 64 bytes, so with_flags succeeds.
    CanFdFrame::with_flags(hal_id(frame.id()), frame.data(), flags).unwrap_or_default()
}

/// A received `socketcan` frame as a [`Frame`]; remote and error frames are refused.
///
/// # Errors
///
/// [`FrameConversionError::RemoteFrame`] and [`FrameConversionError::ErrorFrame`] for frames that
/// carry no data, [`FrameConversionError::InvalidLength`] for a CAN FD length between the valid
/// steps (9 to 11, 13 to 15 ...).
pub fn from_can_any_frame(frame: &CanAnyFrame) -> Result<Frame, FrameConversionError> {
    match frame {
        CanAnyFrame::Normal(f) => from_data_frame(f),
        CanAnyFrame::Fd(f) => from_can_fd_frame(f),
        CanAnyFrame::Remote(_) => Err(FrameConversionError::RemoteFrame),
        CanAnyFrame::Error(_) => Err(FrameConversionError::ErrorFrame),
    }
}

/// A classic `socketcan` frame as a [`Frame`]; remote and error frames are refused.
///
/// # Errors
///
/// [`FrameConversionError::RemoteFrame`] and [`FrameConversionError::ErrorFrame`] for frames that
/// carry no data.
pub fn from_can_frame(frame: &CanFrame) -> Result<Frame, FrameConversionError> {
    match frame {
        CanFrame::Data(f) => from_data_frame(f),
        CanFrame::Remote(_) => Err(FrameConversionError::RemoteFrame),
        CanFrame::Error(_) => Err(FrameConversionError::ErrorFrame),
    }
}

fn from_data_frame(frame: &CanDataFrame) -> Result<Frame, FrameConversionError> {
    let data = frame.data();
    Frame::new(core_id(frame.id()), data)
        .map_err(|_| FrameConversionError::InvalidLength { len: data.len() })
}

/// A `socketcan` CAN FD frame as a CAN FD [`Frame`] (BRS kept).
///
/// # Errors
///
/// [`FrameConversionError::ErrorFrame`] for an error frame, [`FrameConversionError::InvalidLength`]
/// for a length between the CAN FD steps (9 to 11, 13 to 15 ...).
pub fn from_can_fd_frame(frame: &CanFdFrame) -> Result<Frame, FrameConversionError> {
    if frame.is_error_frame() {
        return Err(FrameConversionError::ErrorFrame);
    }
    let data = frame.data();
    Frame::new_fd(core_id(frame.id()), data)
        .map(|f| f.with_brs(frame.is_brs()))
        .map_err(|_| FrameConversionError::InvalidLength { len: data.len() })
}

enum RawSocket {
    /// CAN_RAW_FD_FRAMES enabled: classic and FD frames.
    Fd(CanFdSocket),
    /// Kernels without CAN_RAW_FD_FRAMES (before 3.6): classic frames only.
    Classic(CanSocket),
}

impl RawSocket {
    #[cfg(feature = "tokio")]
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        match self {
            RawSocket::Fd(s) => s.as_fd(),
            RawSocket::Classic(s) => s.as_fd(),
        }
    }

    fn fd(&self) -> RawFd {
        match self {
            RawSocket::Fd(s) => s.as_raw_fd(),
            RawSocket::Classic(s) => s.as_raw_fd(),
        }
    }

    fn write(&self, frame: &CanAnyFrame) -> io::Result<()> {
        match (self, frame) {
            (RawSocket::Fd(s), f) => s.write_frame(f),
            (RawSocket::Classic(s), CanAnyFrame::Normal(f)) => s.write_frame(f),
            (RawSocket::Classic(_), _) => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }
}

/// A SocketCAN raw socket (Linux) as a [`CanBus`]: classic CAN and CAN FD frames on one interface.
///
/// - Receives every data frame other sockets put on the interface (not its own), skipping remote and
///   error frames.
/// - [`recv`](CanBus::recv) sleeps in `ppoll` on the socket and an eventfd, so
///   [`interrupt`](CanBus::interrupt) wakes it at once, and its timeout has microsecond resolution.
/// - [`send`](CanBus::send) retries for up to [`send_timeout`](SocketCanBus::send_timeout) while the
///   kernel's transmit queue is full (`ENOBUFS`) or the socket buffer is (`EAGAIN`).
/// - On a classic-only interface (MTU 16) CAN FD frames are refused with [`BusError::Unsupported`].
///
/// ```no_run
/// use isotp::{bus::socketcan::SocketCanBus, Address, Config, Stack};
/// use std::time::Duration;
///
/// let bus = SocketCanBus::open("can0")?;
/// let stack = Stack::new(bus, Address::normal_11(0x7E0, 0x7E8)?, Config::default())?;
/// stack.send_blocking(&[0x22, 0xF1, 0x90], Some(Duration::from_secs(1)))?;
/// let response = stack.recv(Some(Duration::from_secs(1)))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SocketCanBus {
    /// Set by [`with_task_wakeup`](SocketCanBus::with_task_wakeup).
    #[cfg(feature = "tokio")]
    tasks: Option<super::fd_readiness::TaskReadiness>,
    socket: RawSocket,
    wake: OwnedFd,
    iface: String,
    fd_capable: bool,
    send_timeout: Duration,
    /// Transmit confirmation from the kernel's echo of our own frames (`CAN_RAW_RECV_OWN_MSGS`);
    /// `None` when the kernel refused the option.
    echo: Option<Echo>,
    /// Held while reading the socket, so frames read by a sender waiting for its echo keep their
    /// order (they wait in the echo's stash for `recv`).
    read_lock: Mutex<()>,
    /// The ids asked for by `set_receive_filter` (`None`: every frame), and the ids we sent, which
    /// the kernel's filter must also pass for their echoes to reach us.
    filter: Mutex<(Option<Vec<CanId>>, Vec<CanId>)>,
    /// The kernel stamps each received frame (`SO_TIMESTAMPNS`, or `SO_TIMESTAMP` on kernels
    /// without it); `false` when it refused both, and frames are then stamped when read.
    stamped: bool,
    /// Error frames (`CAN_ERR_FLAG`) read and passed over.
    error_frames: AtomicU64,
}

/// Frames a writer waiting for its echo sets aside for the reader, at most.
const ECHO_STASH_LIMIT: usize = 4096;

/// Own-echo bookkeeping: frames written and echoes seen (the kernel echoes in order), and data
/// frames read by a sender while it looked for its echo.
#[derive(Default)]
struct Echo {
    /// Held by a writer from its write to its ticket (the kernel echoes in write order, so the
    /// tickets must follow it), across a write that may wait for room in the device's queue. Only
    /// writers take it: the reader never waits for a writer.
    writing: Mutex<()>,
    state: Mutex<EchoState>,
}

#[derive(Default)]
struct EchoState {
    written: u64,
    confirmed: u64,
    stash: std::collections::VecDeque<(Frame, Instant)>,
}

impl std::fmt::Debug for SocketCanBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketCanBus")
            .field("iface", &self.iface)
            .field("fd_capable", &self.fd_capable)
            .field("send_timeout", &self.send_timeout)
            .finish()
    }
}

fn open_error(iface: &str, e: io::Error) -> BusError {
    let hint = match e.raw_os_error() {
        Some(libc::EAFNOSUPPORT) | Some(libc::EPROTONOSUPPORT) => {
            " (this kernel has no SocketCAN support: load it with `modprobe can-raw`, or run on a kernel built with CONFIG_CAN_RAW)"
        }
        Some(libc::ENODEV) | Some(libc::ENXIO) => {
            " (no such network interface: see `ip link show`; a virtual one is made with `ip link add dev vcan0 type vcan && ip link set vcan0 up`)"
        }
        Some(libc::EPERM) | Some(libc::EACCES) => " (permission denied)",
        _ => "",
    };
    BusError::io(format!("opening SocketCAN interface {iface}{hint}"), e)
}

/// The interface's MTU: 16 for classic CAN, 72 for CAN FD.
fn interface_mtu(fd: RawFd, iface: &str) -> io::Result<i32> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let name = iface.as_bytes();
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (dst, &src) in req.ifr_name.iter_mut().zip(name) {
        *dst = libc::c_char::from_ne_bytes([src]);
    }
    // SAFETY: fd is an open socket and req a valid, NUL-terminated ifreq that outlives the call;
    // SIOCGIFMTU only writes ifr_mtu inside it.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCGIFMTU as _, &mut req as *mut libc::ifreq) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFMTU succeeded, so the union holds ifru_mtu.
    Ok(unsafe { req.ifr_ifru.ifru_mtu })
}

impl SocketCanBus {
    /// Opens a raw CAN socket on `iface` (e.g. `can0`, `vcan0`) that carries classic and CAN FD
    /// frames.
    ///
    /// The interface must exist; it may be down (frames then fail to send until it is up). On a
    /// classic-only interface the bus still opens and refuses CAN FD frames in `send`.
    ///
    /// # Errors
    ///
    /// [`BusError::Io`] when the socket cannot be opened (no such interface, no SocketCAN in the
    /// kernel, no permission: the message says which) or set up.
    pub fn open(iface: &str) -> Result<SocketCanBus, BusError> {
        let socket = match CanFdSocket::open(iface) {
            Ok(s) => RawSocket::Fd(s),
            // Kernels before 3.6 have no CAN_RAW_FD_FRAMES: classic frames only.
            Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
                RawSocket::Classic(CanSocket::open(iface).map_err(|e| open_error(iface, e))?)
            }
            Err(e) => return Err(open_error(iface, e)),
        };
        let nonblocking = match &socket {
            RawSocket::Fd(s) => s.set_nonblocking(true),
            RawSocket::Classic(s) => s.set_nonblocking(true),
        };
        nonblocking
            .map_err(|e| BusError::io(format!("making the socket on {iface} non-blocking"), e))?;
        let fd_capable = matches!(socket, RawSocket::Fd(_))
            && interface_mtu(socket.fd(), iface)
                .map(|mtu| usize::try_from(mtu).is_ok_and(|mtu| mtu >= libc::CANFD_MTU))
                // Unknown MTU: let the kernel decide at send time.
                .unwrap_or(true);
        let wake = linux_fd::eventfd()
            .map_err(|e| BusError::io(format!("creating the wake-up eventfd for {iface}"), e))?;
        let echo = match own_messages(socket.fd()) {
            Ok(()) => Some(Echo::default()),
            Err(e) => {
                log::debug!("{iface}: no own-echo transmit confirmation ({e})");
                None
            }
        };
        let stamped = match kernel_timestamps(socket.fd()) {
            Ok(()) => true,
            Err(e) => {
                log::debug!(
                    "{iface}: no kernel receive timestamps ({e}); frames are stamped when read"
                );
                false
            }
        };
        Ok(SocketCanBus {
            #[cfg(feature = "tokio")]
            tasks: None,
            stamped,
            error_frames: AtomicU64::new(0),
            socket,
            wake,
            iface: iface.to_string(),
            fd_capable,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            echo,
            read_lock: Mutex::new(()),
            filter: Mutex::new((None, Vec::new())),
        })
    }

    /// How many error frames (`CAN_ERR_FLAG`) this socket has read and passed over. The kernel
    /// delivers them only to sockets that ask for them: see
    /// [`set_error_frames`](SocketCanBus::set_error_frames).
    pub fn error_frames(&self) -> u64 {
        self.error_frames.load(Ordering::Relaxed)
    }

    /// Asks the kernel for every class of error frame (`CAN_RAW_ERR_FILTER` = `CAN_ERR_MASK`), or
    /// for none (`false`, the default of a raw socket). They carry no ISO-TP data: `recv` passes
    /// over them and counts them ([`error_frames`](SocketCanBus::error_frames)), so asking only
    /// costs wake-ups, and shows how noisy the bus is.
    ///
    /// # Errors
    ///
    /// [`BusError::Io`] when the kernel refuses the socket option.
    pub fn set_error_frames(&self, yes: bool) -> Result<(), BusError> {
        let mask: u32 = if yes { libc::CAN_ERR_MASK } else { 0 };
        linux_fd::set_socket_option(
            self.socket.fd(),
            libc::SOL_CAN_RAW,
            libc::CAN_RAW_ERR_FILTER,
            &mask,
        )
        .map_err(|e| {
            BusError::io(
                format!("setting the error frame filter on {}", self.iface),
                e,
            )
        })
    }

    /// The interface name.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// True when the interface carries CAN FD frames (MTU 72).
    pub fn supports_fd(&self) -> bool {
        self.fd_capable
    }

    /// How long `send` retries while the kernel's transmit queue is full.
    pub fn send_timeout(&self) -> Duration {
        self.send_timeout
    }

    /// Sets how long `send` retries while the kernel's transmit queue is full (default 200 ms).
    /// Keep it below the links' N_As so that a stuck bus ends a transfer with a clear error.
    pub fn set_send_timeout(&mut self, timeout: Duration) {
        self.send_timeout = timeout;
    }

    /// Lets a task awaiting an [`AsyncStack`](crate::AsyncStack) on this bus read the socket itself,
    /// woken by the tokio reactor when a frame arrives ([`Capabilities::task_wakeup`]): a round trip
    /// then needs no thread between the socket and the task. Without it, the node's thread reads
    /// for async waiters.
    ///
    /// The tasks must run on a tokio runtime with its I/O driver (`#[tokio::main]`,
    /// `#[tokio::test]` and `Builder::enable_all` have it); tokio refuses a registration without
    /// it. Polled outside any tokio runtime, the node's thread takes over.
    #[cfg(feature = "tokio")]
    #[must_use]
    pub fn with_task_wakeup(mut self) -> SocketCanBus {
        match super::fd_readiness::TaskReadiness::new(self.socket.as_fd()) {
            Ok(tasks) => self.tasks = Some(tasks),
            // Without it the node's thread reads for the tasks, as on any other bus.
            Err(e) => log::warn!(
                "{}: no task wake-up (duplicating the socket: {e})",
                self.iface
            ),
        }
        self
    }

    /// Builder form of [`set_send_timeout`](SocketCanBus::set_send_timeout).
    #[must_use]
    pub fn with_send_timeout(mut self, timeout: Duration) -> SocketCanBus {
        self.send_timeout = timeout;
        self
    }

    /// Receive only frames whose id matches one of `filters` (`(id, mask)` pairs as the kernel's
    /// `CAN_RAW_FILTER`: a frame passes when `frame_id & mask == id & mask`; set `CAN_EFF_FLAG`
    /// (0x8000_0000) in both to match 29-bit ids only). An empty slice receives nothing.
    ///
    /// # Errors
    ///
    /// [`BusError::Io`] when the kernel refuses the filters.
    pub fn set_filters(&self, filters: &[(u32, u32)]) -> Result<(), BusError> {
        let r = match &self.socket {
            RawSocket::Fd(s) => s.set_filters(filters),
            RawSocket::Classic(s) => s.set_filters(filters),
        };
        r.map_err(|e| BusError::io(format!("setting receive filters on {}", self.iface), e))
    }

    /// Asks the kernel to buffer up to `bytes` of received frames (`SO_RCVBUFFORCE` when the
    /// process may, else `SO_RCVBUF`, which `net.core.rmem_max` caps). Each frame takes several
    /// hundred bytes of buffer: raise it when a fast sender (a virtual bus, STmin 0) meets a slow
    /// machine. Returns the size the kernel granted.
    ///
    /// # Errors
    ///
    /// [`BusError::Io`] when the kernel refuses both options or the size cannot be read back.
    pub fn set_recv_buffer_size(&self, bytes: usize) -> Result<usize, BusError> {
        let fd = self.socket.fd();
        let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        let set = |name| linux_fd::set_socket_option(fd, libc::SOL_SOCKET, name, &value);
        if let Err(e) = set(libc::SO_RCVBUFFORCE).or_else(|_| set(libc::SO_RCVBUF)) {
            return Err(BusError::io(
                format!(
                    "setting the receive buffer of {} to {bytes} bytes",
                    self.iface
                ),
                e,
            ));
        }
        let granted =
            linux_fd::int_socket_option(fd, libc::SOL_SOCKET, libc::SO_RCVBUF).map_err(|e| {
                BusError::io(
                    format!("reading the receive buffer size of {}", self.iface),
                    e,
                )
            })?;
        Ok(usize::try_from(granted).unwrap_or(0))
    }

    /// Reads one frame without blocking: `Ok(None)` when none is waiting. Remote and error frames
    /// are skipped (error frames counted); echoes of our own frames are counted as transmit
    /// confirmations.
    fn try_read(&self) -> Result<Option<(Frame, Instant)>, BusError> {
        let _reading = self.read_lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(echo) = &self.echo {
            if let Some(f) = echo.lock().stash.pop_front() {
                return Ok(Some(f));
            }
        }
        self.read_echoing(self.echo.as_ref())
    }

    /// Reads until a data frame from another socket (returned with its capture time) or nothing is
    /// waiting, counting the echoes of ours on the way. Called with `read_lock` held.
    fn read_echoing(&self, echo: Option<&Echo>) -> Result<Option<(Frame, Instant)>, BusError> {
        loop {
            match read_with_flags(self.socket.fd()) {
                Ok(Some(read)) => {
                    if read.error {
                        self.error_frames.fetch_add(1, Ordering::Relaxed);
                    }
                    if read.own {
                        if let Some(echo) = echo {
                            echo.lock().confirmed += 1;
                        }
                    } else if let Some(f) = read.frame {
                        return Ok(Some((f, read.at)));
                    }
                }
                Ok(None) => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error("receiving", e)),
            }
        }
    }

    /// After writing frame number `ticket`: waits until the kernel echoed it (it is on the bus, or
    /// at least accepted by the driver), reading the socket meanwhile if nobody else does.
    fn wait_echo(&self, echo: &Echo, ticket: u64, frame: &Frame) -> Result<(), BusError> {
        let deadline = Instant::now() + self.send_timeout;
        loop {
            if echo.lock().confirmed >= ticket {
                return Ok(());
            }
            if let Ok(_reading) = self.read_lock.try_lock() {
                let mut stashed = false;
                // Frames read past are set aside for the reader, up to a bound: past it, this
                // waits for the reader to take them (it takes the set-aside ones first).
                while echo.lock().stash.len() < ECHO_STASH_LIMIT {
                    let Some(f) = self.read_echoing(Some(echo))? else {
                        break;
                    };
                    echo.lock().stash.push_back(f);
                    stashed = true;
                }
                if stashed {
                    // A `recv` may be asleep on the socket these frames came from.
                    self.interrupt();
                }
                if echo.lock().confirmed >= ticket {
                    return Ok(());
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(BusError::io(
                    format!(
                        "sending {frame} on {}: the kernel did not confirm it within {:?} (no echo of our own \
                         frame: is the bus connected and is another node acknowledging frames?)",
                        self.iface, self.send_timeout
                    ),
                    io::Error::from(io::ErrorKind::TimedOut),
                ));
            }
            // Another thread may be reading: look again soon.
            let _ = self.wait(
                libc::POLLIN,
                Some((deadline - now).min(Duration::from_micros(200))),
            );
        }
    }

    fn io_error(&self, what: &str, e: io::Error) -> BusError {
        match e.raw_os_error() {
            Some(libc::ENODEV) | Some(libc::EBADF) => BusError::Closed(format!(
                "{what} on {}: the interface is gone ({e})",
                self.iface
            )),
            Some(libc::ENETDOWN) => BusError::io(
                format!(
                    "{what} on {}: the interface is down (`ip link set {} up`)",
                    self.iface, self.iface
                ),
                e,
            ),
            _ => BusError::io(format!("{what} on {}", self.iface), e),
        }
    }

    /// Waits for `events` on the socket (or the wake-up eventfd) for up to `timeout`.
    /// Returns (socket revents, woken).
    fn wait(
        &self,
        events: libc::c_short,
        timeout: Option<Duration>,
    ) -> io::Result<(libc::c_short, bool)> {
        linux_fd::poll(
            self.socket.fd(),
            events,
            Some(self.wake.as_raw_fd()),
            timeout,
        )
    }

    fn send_any(&self, frame: &Frame, any: &CanAnyFrame) -> Result<(), BusError> {
        let deadline = Instant::now().checked_add(self.send_timeout);
        let mut backoff = Duration::from_micros(50);
        loop {
            let err = match self.socket.write(any) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let out_of_time = remaining == Some(Duration::ZERO);
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) if out_of_time => {
                    return Err(BusError::io(
                        format!(
                            "sending {frame} on {}: the transmit queue stayed full for {:?}; is the bus \
                             connected, terminated and acknowledged by another node? (a longer queue: \
                             `ip link set {} txqueuelen 1000`; a longer retry: SocketCanBus::set_send_timeout)",
                            self.iface, self.send_timeout, self.iface
                        ),
                        err,
                    ))
                }
                Some(libc::ENOBUFS) => {
                    // The device queue is full; poll() cannot tell when it drains.
                    let pause = remaining.map_or(backoff, |r| r.min(backoff));
                    std::thread::sleep(pause);
                    backoff = (backoff * 2).min(Duration::from_millis(2));
                }
                Some(libc::EAGAIN) => {
                    self.wait(libc::POLLOUT, remaining.or(Some(Duration::from_millis(10))))
                        .map_err(|e| self.io_error("waiting to send", e))?;
                }
                Some(libc::EINVAL) if frame.is_fd() => {
                    return Err(BusError::Unsupported(format!(
                        "{} refused the CAN FD frame {frame}: the interface is classic CAN only \
                         (set its MTU with `ip link set {} mtu 72`, or configure the link for classic \
                         CAN: link_layer = LinkLayer::classic())",
                        self.iface, self.iface
                    )))
                }
                _ => return Err(self.io_error(&format!("sending {frame}"), err)),
            }
        }
    }
}

impl SocketCanBus {
    fn task_wakeup(&self) -> bool {
        #[cfg(feature = "tokio")]
        return self.tasks.is_some();
        #[cfg(not(feature = "tokio"))]
        false
    }

    /// Installs `CAN_RAW_FILTER` for `ids` plus the ids we sent (their echoes confirm our frames).
    fn apply_filter(&self, ids: &Option<Vec<CanId>>, sent: &[CanId]) -> Result<(), BusError> {
        let all: Option<Vec<CanId>> = ids.as_ref().map(|ids| {
            let mut all = ids.clone();
            if self.echo.is_some() {
                all.extend(sent.iter().filter(|s| !ids.contains(s)));
            }
            all
        });
        let ids = all.as_deref();
        let filters: Vec<(u32, u32)> = match ids {
            // id 0, mask 0: every frame.
            None => vec![(0, 0)],
            Some(ids) => ids
                .iter()
                .map(|id| {
                    if id.is_extended() {
                        let flag = libc::CAN_EFF_FLAG;
                        (id.raw() | flag, libc::CAN_EFF_MASK | flag)
                    } else {
                        // The EFF flag in the mask keeps an 11-bit filter from matching 29-bit ids.
                        (id.raw(), libc::CAN_SFF_MASK | libc::CAN_EFF_FLAG)
                    }
                })
                .collect(),
        };
        self.set_filters(&filters)
    }

    /// Before sending with `id`: makes sure the kernel's filter lets its echo through.
    fn pass_echoes_of(&self, id: CanId) -> Result<(), BusError> {
        let mut f = self.filter.lock().unwrap_or_else(|e| e.into_inner());
        if f.1.contains(&id) {
            return Ok(());
        }
        f.1.push(id);
        if f.0.is_some() {
            let (ids, sent) = (&f.0, &f.1);
            self.apply_filter(ids, sent)?;
        }
        Ok(())
    }
}

impl Echo {
    fn lock(&self) -> std::sync::MutexGuard<'_, EchoState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Asks the kernel to hand our own frames back once sent (flagged `MSG_CONFIRM`).
fn own_messages(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    linux_fd::set_socket_option(fd, libc::SOL_CAN_RAW, libc::CAN_RAW_RECV_OWN_MSGS, &on)
}

/// Asks the kernel to stamp every received frame: `SO_TIMESTAMPNS` (nanoseconds), or
/// `SO_TIMESTAMP` (microseconds) where that is refused.
fn kernel_timestamps(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    let set = |name| linux_fd::set_socket_option(fd, libc::SOL_SOCKET, name, &on);
    set(libc::SO_TIMESTAMPNS).or_else(|_| set(libc::SO_TIMESTAMP))
}

/// A kernel timestamp (seconds and nanoseconds since the epoch) as a duration; `None` for a
/// moment before the epoch, which no frame was captured at.
fn since_epoch(secs: libc::time_t, nanos: libc::c_long) -> Option<Duration> {
    let secs = u64::try_from(secs).ok()?;
    let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
    Some(Duration::new(secs, nanos))
}

/// Whether a control message is long enough to carry a `T` (a timestamp).
// A timespec or timeval is 16 bytes: it fits the c_uint CMSG_LEN takes, and a c_uint a usize;
// cmsg_len is a size_t with glibc and a socklen_t with musl.
#[allow(clippy::cast_possible_truncation, clippy::unnecessary_cast)]
fn carries<T>(h: &libc::cmsghdr) -> bool {
    // SAFETY: CMSG_LEN only computes a length.
    let needed = unsafe { libc::CMSG_LEN(std::mem::size_of::<T>() as libc::c_uint) };
    h.cmsg_len as usize >= needed as usize
}

/// One `recvmsg` result.
struct Read {
    /// The data frame; `None` for remote and error frames and malformed reads.
    frame: Option<Frame>,
    /// The echo of one of our own frames (`MSG_CONFIRM`).
    own: bool,
    /// An error frame (`CAN_ERR_FLAG`).
    error: bool,
    /// When the frame was captured: the kernel's stamp when it gave one, else when it was read.
    at: Instant,
}

/// Reads one frame with `recvmsg`: `Ok(None)` when none is waiting, else the frame, its flags and
/// its capture time.
fn read_with_flags(fd: RawFd) -> io::Result<Option<Read>> {
    // struct canfd_frame: can_id (u32, native order), len, flags, two reserved bytes, 64 data bytes;
    // struct can_frame is its first 16 bytes.
    let mut buf = [0u8; 72];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for the timestamp control messages, aligned as cmsghdr needs.
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain old data; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg points at one live iovec over `buf` and at `control`, both outliving the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    // Negative on error, else the frame's length.
    let Ok(n) = usize::try_from(n) else {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        };
    };
    let mut stamp: Option<Duration> = None;
    // SAFETY: recvmsg filled msg_control/msg_controllen; the CMSG_* macros walk within them, and
    // each payload is read unaligned with the size its type says.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let h = &*cmsg;
            if h.cmsg_level == libc::SOL_SOCKET {
                if h.cmsg_type == libc::SCM_TIMESTAMPNS && carries::<libc::timespec>(h) {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    stamp = since_epoch(ts.tv_sec, ts.tv_nsec);
                } else if h.cmsg_type == libc::SCM_TIMESTAMP && carries::<libc::timeval>(h) {
                    let tv: libc::timeval = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    stamp = since_epoch(tv.tv_sec, tv.tv_usec.saturating_mul(1000));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    // The kernel stamps with the realtime clock when the interface hands the frame over; the
    // clocks are read only for a stamped frame.
    let at = stamp.map_or_else(Instant::now, |s| ClockPair::now().instant_of(s));
    let own = msg.msg_flags & libc::MSG_CONFIRM != 0;
    let raw_id = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let error = raw_id & libc::CAN_ERR_FLAG != 0;
    if error || raw_id & libc::CAN_RTR_FLAG != 0 || (n != 16 && n != 72) {
        return Ok(Some(Read {
            frame: None,
            own,
            error,
            at,
        }));
    }
    let id = if raw_id & libc::CAN_EFF_FLAG != 0 {
        CanId::extended(raw_id & libc::CAN_EFF_MASK)
    } else {
        CanId::standard(raw_id & libc::CAN_SFF_MASK)
    };
    let len = usize::from(buf[4]).min(if n == 16 { 8 } else { 64 });
    let data = &buf[8..8 + len];
    let frame = id.ok().and_then(|id| {
        if n == 16 {
            Frame::new(id, data).ok()
        } else {
            Frame::new_fd(id, data)
                .ok()
                .map(|f| f.with_brs(libc::c_int::from(buf[5]) & libc::CANFD_BRS != 0))
        }
    });
    Ok(Some(Read {
        frame,
        own,
        error,
        at,
    }))
}

impl AsRawFd for SocketCanBus {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.fd()
    }
}

impl CanBus for SocketCanBus {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        if frame.is_fd() && !self.fd_capable {
            return Err(BusError::Unsupported(format!(
                "{} is a classic CAN interface (MTU 16) and cannot send the CAN FD frame {frame}: \
                 set its MTU with `ip link set {} mtu 72` (if the controller supports CAN FD), or \
                 configure the link for classic CAN (link_layer = LinkLayer::classic())",
                self.iface, self.iface
            )));
        }
        let Some(echo) = &self.echo else {
            return self.send_any(frame, &to_can_any_frame(frame));
        };
        self.pass_echoes_of(frame.id())?;
        // Tickets in write order: the kernel echoes in that order.
        let ticket = {
            let _writing = echo.writing.lock().unwrap_or_else(|e| e.into_inner());
            self.send_any(frame, &to_can_any_frame(frame))?;
            let mut st = echo.lock();
            st.written += 1;
            st.written
        };
        self.wait_echo(echo, ticket, frame)
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        Ok(self.recv_timestamped(timeout)?.map(|(f, _)| f))
    }

    /// The kernel's receive timestamp, mapped to an `Instant` (see [`Capabilities::timestamps`]).
    fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, Instant)>, BusError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if let Some(frame) = self.try_read()? {
                return Ok(Some(frame));
            }
            let remaining = match (timeout, deadline) {
                (None, _) => None,
                (Some(_), Some(d)) => Some(d.saturating_duration_since(Instant::now())),
                // A timeout too large for Instant: as good as forever.
                (Some(_), None) => None,
            };
            if remaining == Some(Duration::ZERO) {
                return Ok(None);
            }
            let (revents, woken) = self
                .wait(libc::POLLIN, remaining)
                .map_err(|e| self.io_error("waiting for frames", e))?;
            if woken {
                linux_fd::eventfd_drain(self.wake.as_raw_fd());
                return Ok(None);
            }
            if revents & libc::POLLNVAL != 0 {
                return Err(BusError::Closed(format!(
                    "the socket on {} was closed",
                    self.iface
                )));
            }
            // POLLIN or POLLERR: the next read returns the frame or the error.
        }
    }

    fn interrupt(&self) {
        linux_fd::eventfd_signal(self.wake.as_raw_fd());
        #[cfg(feature = "tokio")]
        if let Some(tasks) = &self.tasks {
            tasks.wake();
        }
    }

    /// With [`with_task_wakeup`](SocketCanBus::with_task_wakeup): a frame, or `Pending` until the
    /// reactor sees the socket readable (or an interrupt, or frames a sender set aside).
    #[cfg(feature = "tokio")]
    fn poll_recv(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Option<(Frame, Instant)>, BusError>> {
        use std::task::Poll;
        let Some(tasks) = &self.tasks else {
            return Poll::Ready(self.try_read());
        };
        loop {
            match self.try_read() {
                Ok(Some(f)) => return Poll::Ready(Ok(Some(f))),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            match tasks.poll_readable(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Unsupported => {
                    return Poll::Ready(Err(BusError::Unsupported(format!(
                        "{}: {e}; the node's thread reads for async waiters",
                        self.iface
                    ))))
                }
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(self.io_error("waiting for frames", e)))
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::CLASSIC
            .with_can_fd(self.fd_capable)
            .with_tx_confirmation(self.echo.is_some())
            .with_timestamps(self.stamped)
            .with_cheap_poll(true)
            .with_task_wakeup(self.task_wakeup())
    }

    fn set_receive_filter(&self, ids: Option<&[isotp_core::CanId]>) -> Result<(), BusError> {
        let mut f = self.filter.lock().unwrap_or_else(|e| e.into_inner());
        f.0 = ids.map(<[CanId]>::to_vec);
        self.apply_filter(&f.0, &f.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id11(raw: u32) -> CanId {
        CanId::standard(raw).unwrap()
    }

    #[test]
    fn classic_frames_round_trip() {
        for ext in [false, true] {
            let id = CanId::new(if ext { 0x18DA_F110 } else { 0x7E0 }, ext).unwrap();
            let f = Frame::new(id, &[0x02, 0x10, 0x03]).unwrap();
            let any = to_can_any_frame(&f);
            assert!(matches!(any, CanAnyFrame::Normal(_)));
            assert_eq!(any.is_extended(), ext);
            assert_eq!(from_can_any_frame(&any).unwrap(), f);
            let classic = to_can_frame(&f).unwrap();
            assert_eq!(from_can_frame(&classic).unwrap(), f);
        }
    }

    #[test]
    fn fd_frames_keep_length_and_brs() {
        for brs in [false, true] {
            let data: Vec<u8> = (0..64).collect();
            let f = Frame::new_fd(id11(0x123), &data).unwrap().with_brs(brs);
            let any = to_can_any_frame(&f);
            let CanAnyFrame::Fd(fd) = any else {
                panic!("expected an FD frame")
            };
            assert_eq!(fd.is_brs(), brs);
            assert_eq!(fd.data(), &data[..]);
            assert_eq!(from_can_any_frame(&any).unwrap(), f);
            assert_eq!(to_can_frame(&f), Err(FrameConversionError::FdAsClassic));
        }
        // A short FD frame stays an FD frame.
        let short = Frame::new_fd(id11(0x7E8), &[0x30, 0, 0]).unwrap();
        let back = from_can_any_frame(&to_can_any_frame(&short)).unwrap();
        assert!(back.is_fd());
        assert_eq!(back, short);
    }

    #[test]
    fn classic_frame_as_fd_frame() {
        let f = Frame::new(id11(0x7E0), &[1, 2, 3]).unwrap();
        let fd = to_can_fd_frame(&f);
        assert_eq!(fd.data(), &[1, 2, 3]);
        let back = from_can_fd_frame(&fd).unwrap();
        assert!(back.is_fd());
        assert_eq!(back.data(), f.data());
    }

    #[test]
    fn remote_and_error_frames_are_refused() {
        let remote =
            socketcan::CanRemoteFrame::new_remote(StandardId::new(0x100).unwrap(), 2).unwrap();
        assert_eq!(
            from_can_any_frame(&CanAnyFrame::Remote(remote)),
            Err(FrameConversionError::RemoteFrame)
        );
        assert_eq!(
            from_can_frame(&CanFrame::Remote(remote)),
            Err(FrameConversionError::RemoteFrame)
        );
        let err = socketcan::CanErrorFrame::new_error(0x004, &[0; 8]).unwrap();
        assert_eq!(
            from_can_any_frame(&CanAnyFrame::Error(err)),
            Err(FrameConversionError::ErrorFrame)
        );
    }

    #[test]
    fn open_reports_what_went_wrong() {
        // This machine may lack AF_CAN or the interface: either way the error names the interface.
        match SocketCanBus::open("isotp-test-nonexistent0") {
            Ok(_) => panic!("an interface with this name should not exist"),
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("isotp-test-nonexistent0"), "{text}");
            }
        }
    }
}
