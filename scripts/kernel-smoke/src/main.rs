//! kernel-smoke: end-to-end check of `scripts/kernel-vm` without the project crates.
//!
//! Runs inside the qemu guest (statically linked) and checks that
//! * the working directory is a tmpfs holding the `--file` copies,
//! * vcan0 and vcan1 exist with MTU 72 (CAN FD),
//! * two kernel CAN_ISOTP sockets with swapped ids exchange a 100-byte message
//!   (FF + FC + 14 CF on the bus, seen by a CAN_RAW sniffer),
//! * a single frame written by a CAN_RAW socket reaches a CAN_ISOTP socket,
//! * CAN FD frames pass between two CAN_RAW sockets on vcan1.
//!
//! Usage: kernel-smoke [--expect-file NAME]

use std::ffi::CString;
use std::io;
use std::mem;
use std::time::Instant;

const PF_CAN: libc::c_int = 29;
const CAN_RAW: libc::c_int = 1;
const CAN_ISOTP: libc::c_int = 6;
const SOL_CAN_RAW: libc::c_int = 100 + CAN_RAW;
const CAN_RAW_FD_FRAMES: libc::c_int = 5;
const CAN_MTU: usize = 16;
const CANFD_MTU: usize = 72;
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// `struct sockaddr_can` (24 bytes) with the `tp` member of its address union.
#[repr(C)]
struct SockaddrCan {
    can_family: u16,
    can_ifindex: libc::c_int,
    rx_id: u32,
    tx_id: u32,
    _rest: [u32; 2],
}

/// `struct canfd_frame`; a classic `struct can_frame` is its first 16 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
struct CanFdFrame {
    can_id: u32,
    len: u8,
    flags: u8,
    _res0: u8,
    _res1: u8,
    data: [u8; 64],
}

impl CanFdFrame {
    fn new(can_id: u32, data: &[u8]) -> Self {
        let mut f = CanFdFrame { can_id, len: data.len() as u8, flags: 0, _res0: 0, _res1: 0, data: [0; 64] };
        f.data[..data.len()].copy_from_slice(data);
        f
    }
}

type Result<T> = std::result::Result<T, String>;

fn os_err(what: &str) -> String {
    format!("{what}: {}", io::Error::last_os_error())
}

struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        unsafe { libc::close(self.0) };
    }
}

impl Fd {
    fn set_rcv_timeout_ms(&self, ms: i64) -> Result<()> {
        let tv = libc::timeval { tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000 };
        let r = unsafe {
            libc::setsockopt(
                self.0,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r < 0 { Err(os_err("setsockopt(SO_RCVTIMEO)")) } else { Ok(()) }
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        let n = unsafe { libc::write(self.0, buf.as_ptr() as *const libc::c_void, buf.len()) };
        if n < 0 { Err(os_err("write")) } else { Ok(n as usize) }
    }

    /// Ok(None) on receive timeout.
    fn read(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        let n = unsafe { libc::read(self.0, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) => Ok(None),
            _ => Err(format!("read: {e}")),
        }
    }

    fn write_frame(&self, f: &CanFdFrame, mtu: usize) -> Result<()> {
        let bytes = unsafe { std::slice::from_raw_parts(f as *const CanFdFrame as *const u8, mtu) };
        let n = self.write(bytes)?;
        if n != mtu { Err(format!("short frame write: {n} of {mtu} bytes")) } else { Ok(()) }
    }

    /// Returns the frame and the number of bytes read (16 classic, 72 FD), None on timeout.
    fn read_frame(&self) -> Result<Option<(CanFdFrame, usize)>> {
        let mut f = CanFdFrame::new(0, &[]);
        let bytes = unsafe { std::slice::from_raw_parts_mut(&mut f as *mut CanFdFrame as *mut u8, CANFD_MTU) };
        Ok(self.read(bytes)?.map(|n| (f, n)))
    }
}

fn ifindex(name: &str) -> Result<libc::c_int> {
    let c = CString::new(name).unwrap();
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 { Err(os_err(&format!("if_nametoindex({name})"))) } else { Ok(idx as libc::c_int) }
}

fn bind_can(fd: &Fd, ifname: &str, rx_id: u32, tx_id: u32) -> Result<()> {
    let addr = SockaddrCan {
        can_family: PF_CAN as u16,
        can_ifindex: ifindex(ifname)?,
        rx_id,
        tx_id,
        _rest: [0; 2],
    };
    let r = unsafe {
        libc::bind(
            fd.0,
            &addr as *const SockaddrCan as *const libc::sockaddr,
            mem::size_of::<SockaddrCan>() as libc::socklen_t,
        )
    };
    if r < 0 { Err(os_err(&format!("bind({ifname})"))) } else { Ok(()) }
}

fn open_isotp(ifname: &str, tx_id: u32, rx_id: u32) -> Result<Fd> {
    let s = unsafe { libc::socket(PF_CAN, libc::SOCK_DGRAM, CAN_ISOTP) };
    if s < 0 {
        return Err(os_err("socket(PF_CAN, SOCK_DGRAM, CAN_ISOTP)"));
    }
    let fd = Fd(s);
    fd.set_rcv_timeout_ms(2000)?;
    bind_can(&fd, ifname, rx_id, tx_id)?;
    Ok(fd)
}

fn open_raw(ifname: &str, fd_frames: bool) -> Result<Fd> {
    let s = unsafe { libc::socket(PF_CAN, libc::SOCK_RAW, CAN_RAW) };
    if s < 0 {
        return Err(os_err("socket(PF_CAN, SOCK_RAW, CAN_RAW)"));
    }
    let fd = Fd(s);
    if fd_frames {
        let on: libc::c_int = 1;
        let r = unsafe {
            libc::setsockopt(
                fd.0,
                SOL_CAN_RAW,
                CAN_RAW_FD_FRAMES,
                &on as *const _ as *const libc::c_void,
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(os_err("setsockopt(CAN_RAW_FD_FRAMES)"));
        }
    }
    fd.set_rcv_timeout_ms(200)?;
    bind_can(&fd, ifname, 0, 0)?;
    Ok(fd)
}

fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<()> {
    if cond { Ok(()) } else { Err(msg()) }
}

fn check_workdir(expect_file: Option<&str>) -> Result<()> {
    let cwd = std::env::current_dir().map_err(|e| format!("getcwd: {e}"))?;
    let mut st: libc::statfs = unsafe { mem::zeroed() };
    let path = CString::new(".").unwrap();
    if unsafe { libc::statfs(path.as_ptr(), &mut st) } < 0 {
        return Err(os_err("statfs(.)"));
    }
    check(st.f_type as i64 == TMPFS_MAGIC, || {
        format!("working directory {} is not a tmpfs (f_type {:#x})", cwd.display(), st.f_type)
    })?;
    std::fs::write("probe.tmp", b"x").map_err(|e| format!("working directory not writable: {e}"))?;
    if let Some(name) = expect_file {
        let meta = std::fs::metadata(name).map_err(|e| format!("--file copy {name} missing in {}: {e}", cwd.display()))?;
        check(meta.len() > 0, || format!("--file copy {name} is empty"))?;
    }
    println!("  working directory {} is a writable tmpfs{}", cwd.display(), match expect_file {
        Some(n) => format!(", holds {n}"),
        None => String::new(),
    });
    Ok(())
}

fn check_interfaces() -> Result<()> {
    for ifname in ["vcan0", "vcan1"] {
        let mtu = std::fs::read_to_string(format!("/sys/class/net/{ifname}/mtu"))
            .map_err(|e| format!("{ifname}: {e}"))?;
        check(mtu.trim() == "72", || format!("{ifname} has MTU {} (want 72 for CAN FD)", mtu.trim()))?;
        let state = std::fs::read_to_string(format!("/sys/class/net/{ifname}/flags")).unwrap_or_default();
        let flags = u32::from_str_radix(state.trim().trim_start_matches("0x"), 16).unwrap_or(0);
        check(flags & 1 == 1, || format!("{ifname} is not up (flags {})", state.trim()))?;
        println!("  {ifname}: ifindex {}, mtu 72, up", ifindex(ifname)?);
    }
    Ok(())
}

fn isotp_to_isotp() -> Result<()> {
    let sniffer = open_raw("vcan0", false)?;
    let a = open_isotp("vcan0", 0x7E0, 0x7E8)?;
    let b = open_isotp("vcan0", 0x7E8, 0x7E0)?;
    let msg: Vec<u8> = (0..100u32).map(|i| (i * 7 + 3) as u8).collect();
    let t0 = Instant::now();
    let n = a.write(&msg)?;
    check(n == msg.len(), || format!("isotp write returned {n}"))?;
    let mut buf = [0u8; 4096];
    let n = b.read(&mut buf)?.ok_or("isotp read timed out (2 s)")?;
    let dt = t0.elapsed();
    check(n == msg.len() && buf[..n] == msg[..], || format!("received {n} bytes, payload differs"))?;

    let mut frames = Vec::new();
    while let Some((f, len)) = sniffer.read_frame()? {
        check(len == CAN_MTU, || format!("sniffer read {len} bytes, want a classic frame"))?;
        frames.push(f);
    }
    let ff = frames.first().ok_or("sniffer saw no frames")?;
    check(ff.can_id == 0x7E0 && ff.data[0] == 0x10 && ff.data[1] == 100, || {
        format!("first frame is {:03X} {:02X?}, want FF 10 64 on 7E0", ff.can_id, &ff.data[..ff.len as usize])
    })?;
    let fcs = frames.iter().filter(|f| f.can_id == 0x7E8 && f.data[0] & 0xF0 == 0x30).count();
    let cfs = frames.iter().filter(|f| f.can_id == 0x7E0 && f.data[0] & 0xF0 == 0x20).count();
    check(fcs == 1 && cfs == 14 && frames.len() == 16, || {
        format!("bus had {} frames ({fcs} FC, {cfs} CF), want 16 (FF, 1 FC, 14 CF)", frames.len())
    })?;
    println!(
        "  100 bytes CAN_ISOTP 7E0 -> 7E8 in {:.2} ms; CAN_RAW sniffer saw {} frames (FF, {fcs} FC, {cfs} CF)",
        dt.as_secs_f64() * 1e3,
        frames.len()
    );
    Ok(())
}

fn raw_to_isotp() -> Result<()> {
    let raw = open_raw("vcan0", false)?;
    let iso = open_isotp("vcan0", 0x6E8, 0x6E0)?;
    raw.write_frame(&CanFdFrame::new(0x6E0, &[0x03, 0x11, 0x22, 0x33, 0xCC, 0xCC, 0xCC, 0xCC]), CAN_MTU)?;
    let mut buf = [0u8; 64];
    let n = iso.read(&mut buf)?.ok_or("isotp read of the raw SF timed out")?;
    check(buf[..n] == [0x11, 0x22, 0x33], || format!("got {:02X?}, want [11, 22, 33]", &buf[..n]))?;
    println!("  CAN_RAW single frame 6E0 [03 11 22 33 CC..] -> CAN_ISOTP socket got 3 bytes");
    Ok(())
}

fn raw_fd_on_vcan1() -> Result<()> {
    let tx = open_raw("vcan1", true)?;
    let rx = open_raw("vcan1", true)?;
    let payload: Vec<u8> = (0..64u8).collect();
    let mut f = CanFdFrame::new(0x123, &payload);
    f.flags = 0x01; // CANFD_BRS
    tx.write_frame(&f, CANFD_MTU)?;
    let (g, len) = rx.read_frame()?.ok_or("CAN FD frame not received on vcan1")?;
    check(len == CANFD_MTU && g.can_id == 0x123 && g.len == 64 && g.data == f.data, || {
        format!("got {len} bytes, id {:X}, len {}", g.can_id, g.len)
    })?;
    println!("  CAN_RAW CAN FD frame (64 data bytes) on vcan1 received");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let expect_file = match args.as_slice() {
        [] => None,
        [flag, name] if flag == "--expect-file" => Some(name.as_str()),
        _ => {
            eprintln!("usage: kernel-smoke [--expect-file NAME]");
            std::process::exit(2);
        }
    };

    let checks: [(&str, Box<dyn Fn() -> Result<()>>); 5] = [
        ("working directory", Box::new(move || check_workdir(expect_file))),
        ("vcan interfaces", Box::new(check_interfaces)),
        ("CAN_ISOTP -> CAN_ISOTP", Box::new(isotp_to_isotp)),
        ("CAN_RAW -> CAN_ISOTP", Box::new(raw_to_isotp)),
        ("CAN FD on vcan1", Box::new(raw_fd_on_vcan1)),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (name, f) in checks.iter() {
        match f() {
            Ok(()) => {
                println!("ok   {name}");
                passed += 1;
            }
            Err(e) => {
                println!("FAIL {name}: {e}");
                failed += 1;
            }
        }
    }
    println!("kernel-smoke: {passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
