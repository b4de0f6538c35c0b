//! A SocketCAN send that waits for room in its socket's buffer does not stop the node's reception.
//!
//! The kernel's `plug` queueing discipline on vcan1 holds every frame sent (their copies for the
//! other sockets, and our echoes, still arrive at once), so a socket with the smallest send buffer
//! fills it after a few frames and its next write waits for room (`EAGAIN`, then `POLLOUT`).

use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isotp::bus::socketcan::SocketCanBus;
use isotp::bus::CanBus;
use isotp::{Address, Config, Node};

use super::{frame, next_ids, CaseResult};

const PLUGGED: &str = "vcan1";

/// `struct tcmsg` of `<linux/rtnetlink.h>`.
#[repr(C)]
struct TcMsg {
    family: u8,
    pad1: u8,
    pad2: u16,
    ifindex: i32,
    handle: u32,
    parent: u32,
    info: u32,
}

const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TC_H_ROOT: u32 = 0xFFFF_FFFF;
/// `struct tc_plug_qopt`'s action that holds the frames (`TCQ_PLUG_BUFFER`).
const TCQ_PLUG_BUFFER: i32 = 0;

/// A `plug` root qdisc on an interface, deleted (with the frames it holds) when dropped.
struct Plug {
    ifindex: i32,
}

impl Plug {
    fn add(iface: &str) -> Result<Plug, String> {
        let name = std::ffi::CString::new(iface).map_err(|e| e.to_string())?;
        // SAFETY: name is a valid C string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(format!("no interface {iface}"));
        }
        let plug = Plug {
            ifindex: ifindex as i32,
        };
        let mut options = Vec::new();
        options.extend_from_slice(&TCQ_PLUG_BUFFER.to_ne_bytes());
        options.extend_from_slice(&(1u32 << 20).to_ne_bytes()); // bytes held at most
        let mut attributes = attribute(TCA_KIND, b"plug\0");
        attributes.extend(attribute(TCA_OPTIONS, &options));
        let flags = libc::NLM_F_CREATE | libc::NLM_F_EXCL;
        plug.request(libc::RTM_NEWQDISC, flags, 0x1_0000, &attributes)
            .map_err(|e| format!("adding a plug qdisc on {iface} (module sch_plug): {e}"))?;
        Ok(plug)
    }

    /// Sends one rtnetlink request about the interface's root qdisc and reads its acknowledgement.
    fn request(
        &self,
        kind: u16,
        flags: libc::c_int,
        handle: u32,
        attributes: &[u8],
    ) -> std::io::Result<()> {
        let tc = TcMsg {
            family: libc::AF_UNSPEC as u8,
            pad1: 0,
            pad2: 0,
            ifindex: self.ifindex,
            handle,
            parent: TC_H_ROOT,
            info: 0,
        };
        let header_len = std::mem::size_of::<libc::nlmsghdr>();
        let len = header_len + std::mem::size_of::<TcMsg>() + attributes.len();
        let header = libc::nlmsghdr {
            nlmsg_len: len as u32,
            nlmsg_type: kind,
            nlmsg_flags: (libc::NLM_F_REQUEST | libc::NLM_F_ACK | flags) as u16,
            nlmsg_seq: 1,
            nlmsg_pid: 0,
        };
        let mut message = Vec::with_capacity(len);
        // SAFETY: both are plain C structs read as their bytes.
        unsafe {
            message.extend_from_slice(std::slice::from_raw_parts(
                (&header as *const libc::nlmsghdr).cast::<u8>(),
                header_len,
            ));
            message.extend_from_slice(std::slice::from_raw_parts(
                (&tc as *const TcMsg).cast::<u8>(),
                std::mem::size_of::<TcMsg>(),
            ));
        }
        message.extend_from_slice(attributes);
        // SAFETY: plain socket calls on a descriptor this function owns, with live buffers.
        unsafe {
            let fd = libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            );
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
            if libc::send(fd.as_raw_fd(), message.as_ptr().cast(), message.len(), 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut reply = [0u8; 4096];
            let n = libc::recv(fd.as_raw_fd(), reply.as_mut_ptr().cast(), reply.len(), 0);
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // An acknowledgement is an NLMSG_ERROR message whose error is 0.
            let n = n as usize;
            if n < header_len + 4 {
                return Err(std::io::Error::other("short rtnetlink reply"));
            }
            let kind = u16::from_ne_bytes([reply[4], reply[5]]);
            let error = i32::from_ne_bytes(reply[header_len..header_len + 4].try_into().unwrap());
            if kind != libc::NLMSG_ERROR as u16 {
                return Err(std::io::Error::other(format!(
                    "rtnetlink reply of type {kind}"
                )));
            }
            if error != 0 {
                return Err(std::io::Error::from_raw_os_error(-error));
            }
        }
        Ok(())
    }
}

impl Drop for Plug {
    fn drop(&mut self) {
        if let Err(e) = self.request(libc::RTM_DELQDISC, 0, 0, &[]) {
            println!("deleting the plug qdisc: {e}");
        }
    }
}

/// One rtnetlink attribute, padded to 4 bytes.
fn attribute(kind: u16, data: &[u8]) -> Vec<u8> {
    let len = 4 + data.len();
    let mut a = Vec::with_capacity(len.next_multiple_of(4));
    a.extend_from_slice(&(len as u16).to_ne_bytes());
    a.extend_from_slice(&kind.to_ne_bytes());
    a.extend_from_slice(data);
    a.resize(len.next_multiple_of(4), 0);
    a
}

/// A writer fills its socket's send buffer and waits for room; meanwhile another node's single
/// frame for one of our links must be received (before, the writer held the lock the reader
/// needed for as long as it waited, up to its send timeout).
pub(crate) fn send_waiting_for_room_does_not_stop_reception() -> CaseResult {
    let plug = Plug::add(PLUGGED)?;
    let bus = SocketCanBus::open(PLUGGED)
        .map_err(|e| e.to_string())?
        .with_send_timeout(Duration::from_secs(30));
    ensure!(
        bus.capabilities().tx_confirmation,
        "no transmit confirmation on {PLUGGED}: the writer would not wait for its echoes"
    );
    let smallest: libc::c_int = 0;
    // SAFETY: a live descriptor and an int option.
    let rc = unsafe {
        libc::setsockopt(
            bus.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&smallest as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    ensure!(rc == 0, "SO_SNDBUF: {}", std::io::Error::last_os_error());
    let bus = Arc::new(bus);
    let node = Node::new(bus.clone());
    // The link transmits on `tx` and receives on `rx`.
    let (tx, rx) = next_ids(false);
    let link = node
        .add(
            Address::normal_11(tx, rx).map_err(|e| e.to_string())?,
            Config::default(),
        )
        .map_err(|e| e.to_string())?;
    let peer = SocketCanBus::open(PLUGGED).map_err(|e| e.to_string())?;

    // The writer: frames of another link, written until one waits for room.
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (bus, written, stop) = (bus.clone(), written.clone(), stop.clone());
        std::thread::spawn(move || -> Result<(), String> {
            while !stop.load(Ordering::SeqCst) {
                bus.send(&frame(0x7F0, false, &[0xAA; 8]))
                    .map_err(|e| e.to_string())?;
                written.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        })
    };
    let result = (|| -> CaseResult {
        // Waiting: no frame written for 300 ms (a write takes well under a millisecond).
        let mut last = (written.load(Ordering::SeqCst), Instant::now());
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            std::thread::sleep(Duration::from_millis(20));
            let now = written.load(Ordering::SeqCst);
            if now != last.0 {
                last = (now, Instant::now());
            } else if now > 0 && last.1.elapsed() >= Duration::from_millis(300) {
                break;
            }
            ensure!(
                Instant::now() < give_up,
                "the writer never waited for room ({now} frames written)"
            );
            ensure!(!writer.is_finished(), "the writer ended after {now} frames");
        }
        let stuck_at = last.0;
        peer.send(&frame(rx, false, &[0x03, 0x22, 0xF1, 0x90]))
            .map_err(|e| e.to_string())?;
        let got = link
            .recv(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        ensure!(
            got.as_deref() == Some(&[0x22, 0xF1, 0x90][..]),
            "nothing received while the writer waited for room (got {got:?})"
        );
        ensure!(
            written.load(Ordering::SeqCst) == stuck_at && !writer.is_finished(),
            "the writer stopped waiting before the message came: the case proved nothing"
        );
        Ok(format!(
            "received while a send waited for room ({stuck_at} frames filled the buffer)"
        ))
    })();
    stop.store(true, Ordering::SeqCst);
    // Releases the frames it holds: the waiting write gets its room and the writer ends.
    drop(plug);
    let ended = writer
        .join()
        .map_err(|_| "the writer panicked".to_string())?;
    let verdict = result?;
    ended.map_err(|e| format!("the writer: {e}"))?;
    Ok(verdict)
}
