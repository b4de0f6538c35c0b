//! The kernel's CAN_ISOTP user-space interface (include/uapi/linux/can/isotp.h) and thin, checked
//! wrappers around the system calls [`super::KernelSocket`] makes: every one of them goes through
//! this module. The calls it shares with the SocketCAN bus (`ppoll`, eventfd, socket options) have
//! their one wrapper in `crate::linux_fd`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::linux_fd;

/// `SOL_CAN_BASE + CAN_ISOTP`.
pub(crate) const SOL_CAN_ISOTP: libc::c_int = libc::SOL_CAN_BASE + libc::CAN_ISOTP;

pub(crate) const CAN_ISOTP_OPTS: libc::c_int = 1;
pub(crate) const CAN_ISOTP_RECV_FC: libc::c_int = 2;
pub(crate) const CAN_ISOTP_TX_STMIN: libc::c_int = 3;
pub(crate) const CAN_ISOTP_RX_STMIN: libc::c_int = 4;
pub(crate) const CAN_ISOTP_LL_OPTS: libc::c_int = 5;

pub(crate) const CAN_ISOTP_LISTEN_MODE: u32 = 0x0001;
pub(crate) const CAN_ISOTP_EXTEND_ADDR: u32 = 0x0002;
pub(crate) const CAN_ISOTP_TX_PADDING: u32 = 0x0004;
pub(crate) const CAN_ISOTP_RX_PADDING: u32 = 0x0008;
pub(crate) const CAN_ISOTP_CHK_PAD_LEN: u32 = 0x0010;
pub(crate) const CAN_ISOTP_CHK_PAD_DATA: u32 = 0x0020;
pub(crate) const CAN_ISOTP_HALF_DUPLEX: u32 = 0x0040;
pub(crate) const CAN_ISOTP_FORCE_TXSTMIN: u32 = 0x0080;
pub(crate) const CAN_ISOTP_FORCE_RXSTMIN: u32 = 0x0100;
pub(crate) const CAN_ISOTP_RX_EXT_ADDR: u32 = 0x0200;
pub(crate) const CAN_ISOTP_WAIT_TX_DONE: u32 = 0x0400;
pub(crate) const CAN_ISOTP_SF_BROADCAST: u32 = 0x0800;
pub(crate) const CAN_ISOTP_CF_BROADCAST: u32 = 0x1000;

/// `frame_txtime` value meaning "zero" (0 means "keep the current value").
pub(crate) const CAN_ISOTP_FRAME_TXTIME_ZERO: u32 = 0xFFFF_FFFF;

/// `struct can_isotp_options`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CanIsotpOptions {
    pub(crate) flags: u32,
    pub(crate) frame_txtime: u32,
    pub(crate) ext_address: u8,
    pub(crate) txpad_content: u8,
    pub(crate) rxpad_content: u8,
    pub(crate) rx_ext_address: u8,
}

/// `struct can_isotp_fc_options`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CanIsotpFcOptions {
    pub(crate) bs: u8,
    pub(crate) stmin: u8,
    pub(crate) wftmax: u8,
}

/// `struct can_isotp_ll_options`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CanIsotpLlOptions {
    pub(crate) mtu: u8,
    pub(crate) tx_dl: u8,
    pub(crate) tx_flags: u8,
}

// The kernel compares optlen with sizeof exactly.
const _: () = assert!(std::mem::size_of::<CanIsotpOptions>() == 12);
const _: () = assert!(std::mem::size_of::<CanIsotpFcOptions>() == 3);
const _: () = assert!(std::mem::size_of::<CanIsotpLlOptions>() == 3);

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// `socket(PF_CAN, SOCK_DGRAM, CAN_ISOTP)`.
pub(crate) fn isotp_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with constant arguments; the result is checked.
    let fd = check(unsafe {
        libc::socket(
            libc::PF_CAN,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::CAN_ISOTP,
        )
    })?;
    // SAFETY: fd is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(fd, SOL_CAN_ISOTP, name, value, sizeof value)`.
pub(crate) fn set_isotp_option<T: Copy>(
    fd: &OwnedFd,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    linux_fd::set_socket_option(fd.as_raw_fd(), SOL_CAN_ISOTP, name, value)
}

/// The interface index of `iface`.
pub(crate) fn if_index(iface: &str) -> io::Result<libc::c_int> {
    let name = CString::new(iface).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: name is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    libc::c_int::try_from(index).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))
}

/// Binds an ISO-TP socket to `ifindex` with the given raw (flag-carrying) ids.
pub(crate) fn bind_isotp(
    fd: &OwnedFd,
    ifindex: libc::c_int,
    rx_id: u32,
    tx_id: u32,
) -> io::Result<()> {
    // SAFETY: sockaddr_can is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_can = unsafe { std::mem::zeroed() };
    // AF_CAN is 29: it fits the 16-bit family field.
    #[allow(clippy::cast_possible_truncation)]
    let family = libc::AF_CAN as libc::sa_family_t;
    addr.can_family = family;
    addr.can_ifindex = ifindex;
    addr.can_addr.tp = libc::__c_anonymous_sockaddr_can_tp { rx_id, tx_id };
    let len = linux_fd::socklen_of::<libc::sockaddr_can>();
    // SAFETY: addr is a valid sockaddr_can that outlives the call, len is its size.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_can).cast(),
            len,
        )
    })
    .map(|_| ())
}

/// `getsockopt(SO_ERROR)`: takes (and clears) the error the kernel reported asynchronously.
pub(crate) fn take_socket_error(fd: RawFd) -> io::Result<Option<i32>> {
    let err = linux_fd::int_socket_option(fd, libc::SOL_SOCKET, libc::SO_ERROR)?;
    Ok((err != 0).then_some(err))
}

/// `send(fd, data, flags)`; returns bytes sent.
pub(crate) fn send(fd: RawFd, data: &[u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: data is a live slice of data.len() bytes.
    let n = unsafe {
        libc::send(
            fd,
            data.as_ptr().cast(),
            data.len(),
            flags | libc::MSG_NOSIGNAL,
        )
    };
    // Negative on error, else the bytes sent.
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `recv(fd, buf, flags)`; returns the kernel's return value (the full datagram length with
/// `MSG_TRUNC`) and whether the datagram was cut short.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<(usize, bool)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero is a valid (empty) value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: msg points to one iovec describing buf, both live across the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, flags) };
    // Negative on error, else the datagram's length.
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    Ok((n, msg.msg_flags & libc::MSG_TRUNC != 0))
}

// `ppoll` and the eventfd wake-up, shared with `SocketCanBus`.
pub(crate) use crate::linux_fd::{eventfd, eventfd_drain, eventfd_signal, poll};
