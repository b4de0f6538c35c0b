//! The Linux calls on file descriptors that [`SocketCanBus`](crate::bus::socketcan::SocketCanBus)
//! and [`KernelSocket`](crate::kernel::KernelSocket) share: waiting on a descriptor with an eventfd
//! to wake the waiter early (`ppoll`, eventfd), and setting and reading socket options. Each has
//! its one wrapper here; the calls only one of them makes stay with it (the kernel socket's in
//! `kernel::sys`).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// `ppoll` on `fd` (and `wake`, when given) for `events`, up to `timeout`.
/// Returns (revents of fd, wake readable); EINTR counts as "nothing happened".
pub(crate) fn poll(
    fd: RawFd,
    events: libc::c_short,
    wake: Option<RawFd>,
    timeout: Option<Duration>,
) -> io::Result<(libc::c_short, bool)> {
    let mut fds = [
        libc::pollfd {
            fd,
            events,
            revents: 0,
        },
        libc::pollfd {
            fd: wake.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 10^9, so it fits a c_long of any width (From<u32> exists only for a 64-bit one).
        #[allow(clippy::cast_lossless, clippy::cast_possible_wrap)]
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    let n: libc::nfds_t = if wake.is_some() { 2 } else { 1 };
    // SAFETY: fds and ts live across the call; n never exceeds the array's length.
    let rc = unsafe { libc::ppoll(fds.as_mut_ptr(), n, ts_ptr, std::ptr::null()) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok((0, false));
        }
        return Err(e);
    }
    Ok((fds[0].revents, fds[1].revents & libc::POLLIN != 0))
}

/// `setsockopt(fd, level, name, value, sizeof value)`: the kernel compares the length with the
/// option's type exactly, so `T` must be that type (a `c_int`, a `u32`, a `repr(C)` struct
/// without padding).
pub(crate) fn set_socket_option<T: Copy>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: value points to a live, initialised T of exactly len bytes.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The size of `T` as the kernel's socket calls take it.
// The socket structures passed are a few bytes: far below socklen_t's 32 bits.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn socklen_of<T>() -> libc::socklen_t {
    std::mem::size_of::<T>() as libc::socklen_t
}

/// `getsockopt(fd, level, name)` of an option whose value is an `int` (`SO_RCVBUF`, `SO_ERROR`).
pub(crate) fn int_socket_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = socklen_of::<libc::c_int>();
    // SAFETY: value and len are live and sized for an int option.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(value)
    }
}

/// A non-blocking eventfd, to wake a thread blocked in [`poll`].
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the result is checked before use.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Signals an eventfd.
pub(crate) fn eventfd_signal(fd: RawFd) {
    let one = 1u64;
    // SAFETY: writes 8 bytes from a live u64. A saturated counter gives EAGAIN, which is fine: the
    // waiter is woken anyway.
    unsafe {
        libc::write(fd, (&one as *const u64).cast(), std::mem::size_of::<u64>());
    }
}

/// Resets an eventfd.
pub(crate) fn eventfd_drain(fd: RawFd) {
    let mut value = 0u64;
    // SAFETY: reads 8 bytes into a live u64; the eventfd is non-blocking.
    unsafe {
        libc::read(
            fd,
            (&mut value as *mut u64).cast(),
            std::mem::size_of::<u64>(),
        );
    }
}
