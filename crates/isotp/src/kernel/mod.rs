//! The Linux kernel's own ISO-TP implementation (`CAN_ISOTP` sockets) behind the send/receive
//! surface of [`Stack`](crate::Stack): [`KernelSocket`], the counterpart of can-isotp's
//! `isotp.socket`.
//!
//! The kernel does the segmentation, flow control and timing; this module configures the socket
//! ([`KernelOptions`]), moves whole messages in and out of it, and turns its `errno`s into
//! [`KernelError`]s that say what happened.
//!
//! What the kernel (as of Linux 6.1) does differently from [`Stack`](crate::Stack):
//! - N_Bs and N_Cr are fixed at 1 s; N_As is `frame_txtime` (default 50 µs) and is added to every
//!   gap between consecutive frames, so STmin 0 means 50 µs unless `frame_txtime` is zero.
//! - The sender takes BS and STmin from the first flow control frame of a message only, and follows
//!   any number of FC.WAIT (no WFTmax). The receiver never sends FC.WAIT.
//! - One message at a time per direction: a second `send` waits for the first to finish.
//! - Errors are reported on the socket without saying which transfer they belong to, and only the
//!   last one is kept.
//! - Messages are at most 66000 bytes on Linux 6.1 (newer kernels: the module parameter
//!   `max_pdu_size`).
//! - A CAN FD socket accepts only CAN FD frames, a classic one only classic frames.
//!
//! ```no_run
//! use isotp::kernel::{KernelOptions, KernelSocket};
//! use isotp_core::CanId;
//! use std::time::Duration;
//!
//! let options = KernelOptions::new(CanId::standard(0x7E0)?, CanId::standard(0x7E8)?).tx_padding(0xCC);
//! let socket = KernelSocket::open("can0", options)?;
//! socket.send_blocking(&[0x22, 0xF1, 0x90], Some(Duration::from_secs(2)))?;
//! if let Some(response) = socket.recv(Some(Duration::from_secs(2)))? {
//!     println!("{response:02X?}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod options;
mod sys;

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::bus::LogThrottle;
use isotp_core::wire::{AddressLength, Pdu};

pub use error::{KernelError, KernelProtocolError};
pub use options::{FlowControlOptions, KernelOptions};

/// The largest message Linux 6.1's CAN_ISOTP sends or receives (its `MAX_MSG_LENGTH`).
pub const LINUX_6_1_MAX_MESSAGE: usize = 66_000;

/// How long a write keeps retrying while the interface's transmit queue is full.
const ENOBUFS_RETRY: Duration = Duration::from_millis(200);

/// Errors kept for `recv` at most: a socket whose receiver nobody reads while sends keep failing
/// must not grow without bound. Past it the oldest go, counted in rate-limited warnings.
const MAX_UNCLAIMED: usize = 64;

/// Errors taken from the socket that belong to someone else than the caller who took them.
#[derive(Default)]
struct Pending {
    /// For `recv` (receive-side errors, and errors of sends nobody waits for), at most
    /// [`MAX_UNCLAIMED`].
    unclaimed: VecDeque<KernelProtocolError>,
    /// Errors dropped from `unclaimed` because it was full.
    unclaimed_dropped: LogThrottle,
    /// For the `send_blocking` that waits.
    tx: Option<KernelProtocolError>,
    /// `send_blocking` calls waiting for their transfer.
    tx_waiters: usize,
}

/// A kernel CAN_ISOTP socket on one interface and one pair of ids.
///
/// All methods take `&self`; one thread may receive while another sends. See the
/// [module documentation](self) for how the kernel differs from [`Stack`](crate::Stack).
pub struct KernelSocket {
    fd: OwnedFd,
    wake: OwnedFd,
    iface: String,
    options: KernelOptions,
    pending: Mutex<Pending>,
    recv_lock: Mutex<()>,
}

impl std::fmt::Debug for KernelSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelSocket")
            .field("iface", &self.iface)
            .field("options", &self.options)
            .finish()
    }
}

fn setup(context: impl Into<String>, source: std::io::Error) -> KernelError {
    KernelError::Setup {
        context: context.into(),
        source,
    }
}

impl Pending {
    /// Keeps `err` for `recv`; the oldest kept error goes when [`MAX_UNCLAIMED`] are kept.
    fn keep_for_recv(&mut self, err: KernelProtocolError) {
        if self.unclaimed.len() >= MAX_UNCLAIMED {
            if let Some(old) = self.unclaimed.pop_front() {
                if let Some(n) = self.unclaimed_dropped.note() {
                    log::warn!(
                        "kernel socket: {n} error(s) nobody received dropped (the latest: {old})"
                    );
                }
            }
        }
        self.unclaimed.push_back(err);
    }
}

struct WaiterGuard<'a>(&'a KernelSocket);

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        let mut p = self.0.pending();
        p.tx_waiters = p.tx_waiters.saturating_sub(1);
        if p.tx_waiters == 0 {
            // Nobody left to claim it: let recv report it.
            if let Some(e) = p.tx.take() {
                p.keep_for_recv(e);
            }
        }
    }
}

impl KernelSocket {
    /// Opens a CAN_ISOTP socket on `iface` (e.g. `can0`, `vcan0`) configured by `options`.
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidOptions`] for options the kernel would refuse
    /// ([`KernelOptions::validate`]), [`KernelError::Setup`] when creating, configuring or binding
    /// the socket fails (no CAN_ISOTP in the kernel, no such interface: the message says which).
    pub fn open(iface: &str, options: KernelOptions) -> Result<KernelSocket, KernelError> {
        options.validate()?;
        let fd = sys::isotp_socket().map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EAFNOSUPPORT) => {
                    " (this kernel has no SocketCAN: it needs CONFIG_CAN and the can module)"
                }
                Some(libc::EPROTONOSUPPORT) => {
                    " (the kernel has no CAN_ISOTP: `modprobe can-isotp`, Linux 5.10 or later)"
                }
                _ => "",
            };
            setup(format!("creating a CAN_ISOTP socket{hint}"), e)
        })?;
        let opt = |name: &str, e: std::io::Error| {
            setup(
                format!("setting {name} on the CAN_ISOTP socket (values: {options:?})"),
                e,
            )
        };
        sys::set_isotp_option(&fd, sys::CAN_ISOTP_OPTS, &options.sys_options())
            .map_err(|e| opt("CAN_ISOTP_OPTS", e))?;
        sys::set_isotp_option(&fd, sys::CAN_ISOTP_RECV_FC, &options.sys_fc_options())
            .map_err(|e| opt("CAN_ISOTP_RECV_FC", e))?;
        if let Some(gap) = options.force_tx_st_min {
            sys::set_isotp_option(&fd, sys::CAN_ISOTP_TX_STMIN, &options::nanos_u32(gap))
                .map_err(|e| opt("CAN_ISOTP_TX_STMIN", e))?;
        }
        if let Some(gap) = options.force_rx_st_min {
            sys::set_isotp_option(&fd, sys::CAN_ISOTP_RX_STMIN, &options::nanos_u32(gap))
                .map_err(|e| opt("CAN_ISOTP_RX_STMIN", e))?;
        }
        sys::set_isotp_option(&fd, sys::CAN_ISOTP_LL_OPTS, &options.sys_ll_options())
            .map_err(|e| opt("CAN_ISOTP_LL_OPTS", e))?;
        let ifindex = sys::if_index(iface).map_err(|e| {
            setup(
                format!("finding interface {iface} (see `ip link show`; a virtual one: `ip link add dev vcan0 type vcan`)"),
                e,
            )
        })?;
        let (rx_id, tx_id) = options.raw_ids();
        sys::bind_isotp(&fd, ifindex, rx_id, tx_id).map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EINVAL) if options.link_layer.can_fd => format!(
                    " ({iface} does not carry CAN FD frames: `ip link set {iface} mtu 72`, or use LinkLayer::classic())"
                ),
                Some(libc::EADDRNOTAVAIL) => " (tx and rx ids must differ)".to_string(),
                Some(libc::ENODEV) => format!(" ({iface} is not a CAN interface)"),
                _ => String::new(),
            };
            setup(
                format!(
                    "binding the CAN_ISOTP socket to {iface} with tx id {} and rx id {}{hint}",
                    options.tx_id, options.rx_id
                ),
                e,
            )
        })?;
        let wake = sys::eventfd().map_err(|e| setup("creating the wake-up eventfd", e))?;
        Ok(KernelSocket {
            fd,
            wake,
            iface: iface.to_string(),
            options,
            pending: Mutex::new(Pending::default()),
            recv_lock: Mutex::new(()),
        })
    }

    /// The interface name.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The options the socket was opened with.
    pub fn options(&self) -> &KernelOptions {
        &self.options
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), KernelError> {
        if payload.is_empty() {
            return Err(KernelError::InvalidPayload(
                "an empty message cannot be sent: ISO-TP messages have at least 1 byte".into(),
            ));
        }
        Ok(())
    }

    fn refused(&self, len: usize) -> KernelError {
        if self.options.sf_broadcast {
            KernelError::InvalidPayload(format!(
                "the kernel refused a message of {len} bytes (EINVAL): with sf_broadcast only single \
                 frames are sent (at most {} bytes with tx_dl {})",
                single_frame_capacity(&self.options),
                self.options.link_layer.tx_data_length
            ))
        } else {
            KernelError::InvalidPayload(format!(
                "the kernel refused a message of {len} bytes (EINVAL): Linux 6.1 takes at most \
                 {LINUX_6_1_MAX_MESSAGE} bytes, newer kernels the can-isotp module parameter \
                 max_pdu_size (default 8300)"
            ))
        }
    }

    /// Writes one message. With a deadline the write never blocks in the kernel while a previous
    /// transfer runs; without one it waits there.
    fn write(
        &self,
        payload: &[u8],
        deadline: Option<Instant>,
        waited: Duration,
    ) -> Result<(), KernelError> {
        let started = Instant::now();
        let mut backoff = Duration::from_micros(100);
        loop {
            let flags = if deadline.is_some() {
                libc::MSG_DONTWAIT
            } else {
                0
            };
            let e = match sys::send(self.fd.as_raw_fd(), payload, flags) {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match e.raw_os_error() {
                Some(libc::EINTR) => {}
                Some(libc::EAGAIN) => {
                    // A previous message is still being sent (the kernel holds one at a time).
                    let remaining = remaining(deadline);
                    if remaining == Some(Duration::ZERO) {
                        return Err(KernelError::Timeout {
                            waited,
                            what:
                                "the previous message to be sent (the kernel sends one at a time)",
                        });
                    }
                    let (revents, _) =
                        sys::poll(self.fd.as_raw_fd(), libc::POLLOUT, None, remaining).map_err(
                            |e| self.io("waiting for the previous message to be sent", e),
                        )?;
                    if revents & libc::POLLERR != 0 {
                        // The previous transfer's outcome: not ours, recv reports it.
                        if let Some(err) = self.take_socket_error()? {
                            self.pending().keep_for_recv(err);
                        }
                    }
                }
                Some(libc::ENOBUFS) => {
                    if started.elapsed() >= ENOBUFS_RETRY {
                        return Err(KernelError::Protocol(KernelProtocolError::NoBufferSpace));
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(5));
                }
                Some(libc::EINVAL) => return Err(self.refused(payload.len())),
                Some(errno) if is_protocol_errno(errno) => {
                    let err = KernelProtocolError::from_errno(errno);
                    if err.is_receiver_side() {
                        // WAIT_TX_DONE returns whatever error the socket holds: a reception's
                        // error is for recv.
                        self.pending().keep_for_recv(err);
                        return Ok(());
                    }
                    return Err(KernelError::Protocol(err));
                }
                _ => {
                    return Err(self.io(&format!("sending a message of {} bytes", payload.len()), e))
                }
            }
        }
    }

    fn io(&self, what: &str, e: std::io::Error) -> KernelError {
        KernelError::Io {
            context: format!("{what} on {}", self.iface),
            source: e,
        }
    }

    fn take_socket_error(&self) -> Result<Option<KernelProtocolError>, KernelError> {
        sys::take_socket_error(self.fd.as_raw_fd())
            .map(|e| e.map(KernelProtocolError::from_errno))
            .map_err(|e| self.io("reading the socket's error", e))
    }

    /// Sends a message and returns once the kernel has accepted it (after its first frame). When a
    /// previous message is still being sent, waits for it first (the kernel holds one at a time).
    ///
    /// Failures of the transfer are reported later, by [`recv`](KernelSocket::recv) or
    /// [`take_error`](KernelSocket::take_error) — unless the socket was opened with
    /// [`wait_tx_done`](KernelOptions::wait_tx_done), which makes `send` wait for the outcome.
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidPayload`] for an empty message or one the kernel refuses (longer than
    /// it takes), [`KernelError::Protocol`] when the kernel has no buffer for it or (with
    /// `wait_tx_done`) the transfer failed, [`KernelError::Io`] when a system call fails.
    pub fn send(&self, payload: &[u8]) -> Result<(), KernelError> {
        self.check_payload(payload)?;
        self.write(payload, None, Duration::ZERO)
    }

    /// Sends a message and waits until its last frame is on the bus or the transfer failed, for up
    /// to `timeout` (forever with `None`).
    ///
    /// With [`wait_tx_done`](KernelOptions::wait_tx_done) the kernel itself blocks the write until
    /// the end of the transfer, so `timeout` only bounds the wait for a previous message.
    ///
    /// # Errors
    ///
    /// Those of [`send`](KernelSocket::send); [`KernelError::Protocol`] when the transfer fails,
    /// [`KernelError::Timeout`] when `timeout` passes first.
    pub fn send_blocking(
        &self,
        payload: &[u8],
        timeout: Option<Duration>,
    ) -> Result<(), KernelError> {
        self.check_payload(payload)?;
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let waited = timeout.unwrap_or_default();
        self.pending().tx_waiters += 1;
        let _guard = WaiterGuard(self);
        // A deadline too far away for Instant is as good as none.
        self.write(payload, deadline.or(timeout.map(|_| far_future())), waited)?;
        if self.options.wait_tx_done {
            return Ok(());
        }
        loop {
            let remaining = remaining(deadline);
            let (revents, _) = if remaining == Some(Duration::ZERO) {
                (0, false)
            } else {
                sys::poll(self.fd.as_raw_fd(), libc::POLLOUT, None, remaining)
                    .map_err(|e| self.io("waiting for the message to be sent", e))?
            };
            let idle = revents & libc::POLLOUT != 0;
            {
                let mut p = self.pending();
                // Taken under the lock, so an error recv takes meanwhile is already in p.tx.
                if let Some(err) = self.take_socket_error()? {
                    // EBADMSG is ours only if it ended our transfer (a bad flow control frame).
                    let ours = !err.is_receiver_side()
                        && (err != KernelProtocolError::MalformedFrame || idle);
                    if ours {
                        return Err(KernelError::Protocol(err));
                    }
                    p.keep_for_recv(err);
                }
                if let Some(err) = p.tx.take() {
                    return Err(KernelError::Protocol(err));
                }
            }
            if idle {
                return Ok(());
            }
            if remaining == Some(Duration::ZERO) {
                return Err(KernelError::Timeout {
                    waited,
                    what: "the message to be sent",
                });
            }
        }
    }

    /// Handles an error recv found: returns it unless a `send_blocking` waits for it.
    fn claim_for_recv(
        &self,
        p: &mut Pending,
        err: KernelProtocolError,
    ) -> Option<KernelProtocolError> {
        let senders = p.tx_waiters > 0;
        if senders && (err.is_sender_side() || err == KernelProtocolError::MalformedFrame) {
            p.tx = Some(err);
            None
        } else {
            Some(err)
        }
    }

    /// Reads one waiting message without blocking.
    fn read_message(&self) -> Result<Option<Vec<u8>>, KernelError> {
        let _reader = self.recv_lock.lock().unwrap_or_else(|e| e.into_inner());
        let fd = self.fd.as_raw_fd();
        // The pending error (if any) comes first: the kernel returns it before data.
        let result = sys::recv(
            fd,
            &mut [],
            libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_DONTWAIT,
        )
        .and_then(|(len, _)| {
            let mut buf = vec![0u8; len];
            let (n, truncated) = sys::recv(fd, &mut buf, libc::MSG_DONTWAIT)?;
            if truncated {
                log::warn!(
                    "{}: a message was cut to {len} bytes by a concurrent reader",
                    self.iface
                );
            }
            buf.truncate(n.min(len));
            Ok(buf)
        });
        match result {
            Ok(buf) => Ok(Some(buf)),
            Err(e) => match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(None),
                Some(errno) if is_protocol_errno(errno) => {
                    let mut p = self.pending();
                    match self.claim_for_recv(&mut p, KernelProtocolError::from_errno(errno)) {
                        Some(err) => Err(KernelError::Protocol(err)),
                        None => Ok(None),
                    }
                }
                _ => Err(self.io("receiving", e)),
            },
        }
    }

    /// Waits up to `timeout` (forever with `None`) for the next message; `Ok(None)` on timeout or
    /// after [`interrupt`](KernelSocket::interrupt).
    ///
    /// Errors the kernel reported (a failed reception, or a failed transfer of a
    /// [`send`](KernelSocket::send) nobody waits for) are returned here, one per call, in order.
    ///
    /// # Errors
    ///
    /// [`KernelError::Protocol`] for an error the kernel reported (see above), [`KernelError::Io`]
    /// when a system call fails.
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Option<Vec<u8>>, KernelError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if let Some(err) = self.pending().unclaimed.pop_front() {
                return Err(KernelError::Protocol(err));
            }
            if let Some(message) = self.read_message()? {
                return Ok(Some(message));
            }
            let remaining = match timeout {
                None => None,
                Some(_) => remaining(deadline),
            };
            if remaining == Some(Duration::ZERO) {
                return Ok(None);
            }
            let (revents, woken) = sys::poll(
                self.fd.as_raw_fd(),
                libc::POLLIN,
                Some(self.wake.as_raw_fd()),
                remaining,
            )
            .map_err(|e| self.io("waiting for a message", e))?;
            if woken {
                sys::eventfd_drain(self.wake.as_raw_fd());
                return Ok(None);
            }
            if revents & libc::POLLERR != 0 {
                let mut p = self.pending();
                if let Some(err) = self.take_socket_error()? {
                    if let Some(err) = self.claim_for_recv(&mut p, err) {
                        return Err(KernelError::Protocol(err));
                    }
                }
            }
            if revents & libc::POLLNVAL != 0 {
                return Err(self.io(
                    "waiting for a message",
                    std::io::Error::from_raw_os_error(libc::EBADF),
                ));
            }
        }
    }

    /// The next message if one is waiting (or the next error the kernel reported).
    ///
    /// # Errors
    ///
    /// Those of [`recv`](KernelSocket::recv).
    pub fn try_recv(&self) -> Result<Option<Vec<u8>>, KernelError> {
        self.recv(Some(Duration::ZERO))
    }

    /// True when a message is waiting to be read.
    pub fn available(&self) -> bool {
        sys::poll(
            self.fd.as_raw_fd(),
            libc::POLLIN,
            None,
            Some(Duration::ZERO),
        )
        .map(|(r, _)| r & libc::POLLIN != 0)
        .unwrap_or(false)
    }

    /// True while the kernel is sending a message.
    pub fn transmitting(&self) -> bool {
        sys::poll(
            self.fd.as_raw_fd(),
            libc::POLLOUT,
            None,
            Some(Duration::ZERO),
        )
        .map(|(r, _)| r & libc::POLLOUT == 0)
        .unwrap_or(false)
    }

    /// The oldest error the kernel reported that nobody has seen yet, if any.
    ///
    /// # Errors
    ///
    /// [`KernelError::Io`] when the socket's error cannot be read.
    pub fn take_error(&self) -> Result<Option<KernelProtocolError>, KernelError> {
        let mut p = self.pending();
        if let Some(err) = p.unclaimed.pop_front() {
            return Ok(Some(err));
        }
        self.take_socket_error()
    }

    /// Makes a `recv` that is blocked (or the next one) return `Ok(None)` at once.
    pub fn interrupt(&self) {
        sys::eventfd_signal(self.wake.as_raw_fd());
    }
}

impl AsRawFd for KernelSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn is_protocol_errno(errno: i32) -> bool {
    matches!(
        errno,
        libc::ECOMM
            | libc::EMSGSIZE
            | libc::EBADMSG
            | libc::EILSEQ
            | libc::ETIMEDOUT
            | libc::ENETDOWN
            | libc::ENODEV
    )
}

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(86_400 * 365))
        .unwrap_or(now)
}

/// Largest single-frame payload for the options (what the kernel computes in isotp_sendmsg).
fn single_frame_capacity(options: &KernelOptions) -> usize {
    Pdu::single_frame_capacity(
        usize::from(options.link_layer.tx_data_length),
        AddressLength::from_prefix(options.ext_address),
    )
}
