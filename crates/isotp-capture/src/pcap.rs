//! pcapng and classic pcap captures of SocketCAN frames (LINKTYPE_CAN_SOCKETCAN, 227), the native CAN
//! format of Wireshark, tcpdump and dumpcap.
//!
//! Each packet is a SocketCAN frame: a 4-byte id in network byte order carrying the extended-frame
//! (0x80000000), remote (0x40000000) and error (0x20000000) flags, the data length, the CAN FD flags
//! (BRS 0x01, ESI 0x02, FDF 0x04 on every CAN FD frame), two reserved bytes, then the data: 8 bytes
//! for classic CAN (16 in all, CAN_MTU), 64 for CAN FD (72, CANFD_MTU). A packet of 72 bytes without
//! FDF is CAN FD too (kernels before FDF was added), as Wireshark reads it.
//!
//! pcapng: a section header block, one interface description block per channel (its name in
//! `if_name`, nanosecond times by `if_tsresol` 9), and enhanced packet blocks whose `epb_flags` say
//! the direction. Read: sections of either byte order, any `if_tsresol` and `if_tsoffset`, packets of
//! interfaces of other link types passed over. Classic pcap: a 24-byte header (microsecond or
//! nanosecond magic, either byte order) and packet records; it has no channels or directions, so
//! every record is channel 1.

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use isotp_core::wire::dlc;
use isotp_core::{CanId, Frame};

use super::error::{Error, ErrorKind, Position};
use super::record::{Channel, Direction, Record};
use super::Skipped;

/// LINKTYPE_CAN_SOCKETCAN.
pub(crate) const LINKTYPE_CAN_SOCKETCAN: u32 = 227;

const CAN_EFF_FLAG: u32 = 0x8000_0000;
const CAN_RTR_FLAG: u32 = 0x4000_0000;
const CAN_ERR_FLAG: u32 = 0x2000_0000;
const CANFD_BRS: u8 = 0x01;
const CANFD_ESI: u8 = 0x02;
const CANFD_FDF: u8 = 0x04;
const HEADER: usize = 8;
const CAN_MTU: usize = HEADER + dlc::CLASSIC_MAX_LEN;
const CANFD_MTU: usize = HEADER + dlc::FD_MAX_LEN;

/// The first four bytes of a pcapng file (the section header block type).
pub(crate) const PCAPNG_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const PCAP_MICROS: u32 = 0xA1B2_C3D4;
const PCAP_NANOS: u32 = 0xA1B2_3C4D;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const OPT_END: u16 = 0;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;
const EPB_FLAGS: u16 = 2;
const FLAG_INBOUND: u32 = 1;
const FLAG_OUTBOUND: u32 = 2;

/// A block or packet larger than this is taken as corruption rather than allocated (Wireshark's own
/// limit for pcapng blocks).
const MAX_BLOCK: usize = 16 << 20;

/// True for the first bytes of a classic pcap file (either resolution, either byte order).
pub(crate) fn is_pcap_magic(head: &[u8]) -> bool {
    let Some(m) = head.get(..4) else { return false };
    let m: [u8; 4] = m.try_into().unwrap_or_default();
    [PCAP_MICROS, PCAP_NANOS]
        .iter()
        .any(|&magic| m == magic.to_le_bytes() || m == magic.to_be_bytes())
}

/// What one SocketCAN packet holds.
enum Packet {
    Frame(Frame),
    Remote,
    ErrorFrame,
    /// CAN XL: not a frame this project carries.
    Other,
}

fn decode(p: &[u8]) -> Result<Packet, String> {
    if p.len() < HEADER {
        return Err(format!(
            "a SocketCAN packet of {} bytes (at least 8: id, length, flags)",
            p.len()
        ));
    }
    let raw = u32::from_be_bytes([p[0], p[1], p[2], p[3]]);
    let (len, flags) = (usize::from(p[4]), p[5]);
    // CAN XL frames have their XLF flag where the others have the length; no length reaches 0x80.
    if len & 0x80 != 0 {
        return Ok(Packet::Other);
    }
    if raw & CAN_ERR_FLAG != 0 {
        return Ok(Packet::ErrorFrame);
    }
    if raw & CAN_RTR_FLAG != 0 {
        return Ok(Packet::Remote);
    }
    let extended = raw & CAN_EFF_FLAG != 0;
    let id = CanId::new(raw & !CAN_EFF_FLAG, extended).map_err(|e| format!("CAN id: {e}"))?;
    let data = p.get(HEADER..HEADER + len).ok_or_else(|| {
        format!(
            "a SocketCAN packet of {} bytes cannot hold the {len} data bytes it declares",
            p.len()
        )
    })?;
    let fd = flags & CANFD_FDF != 0 || p.len() == CANFD_MTU;
    let frame = if fd {
        Frame::new_fd(id, data).map(|f| {
            f.with_brs(flags & CANFD_BRS != 0)
                .with_esi(flags & CANFD_ESI != 0)
        })
    } else {
        Frame::new(id, data)
    };
    frame.map(Packet::Frame).map_err(|e| e.to_string())
}

/// Appends the SocketCAN packet of `f`: 16 bytes for classic CAN, 72 for CAN FD.
fn encode(f: &Frame, out: &mut Vec<u8>) {
    let mut raw = f.id().raw();
    if f.id().is_extended() {
        raw |= CAN_EFF_FLAG;
    }
    out.extend_from_slice(&raw.to_be_bytes());
    out.push(super::len_byte(f));
    let flags = if f.is_fd() {
        CANFD_FDF | if f.is_brs() { CANFD_BRS } else { 0 } | if f.is_esi() { CANFD_ESI } else { 0 }
    } else {
        0
    };
    out.extend_from_slice(&[flags, 0, 0]);
    out.extend_from_slice(f.data());
    out.resize(out.len() + packet_len(f) - HEADER - f.len(), 0);
}

/// The SocketCAN packet of `f`: 16 bytes for classic CAN, 72 for CAN FD.
fn packet_len(f: &Frame) -> usize {
    if f.is_fd() {
        CANFD_MTU
    } else {
        CAN_MTU
    }
}

/// A packet length (at most [`CANFD_MTU`], 72) as the formats' 32-bit length field.
#[allow(clippy::cast_possible_truncation)] // 72 fits
const fn len_field(len: usize) -> u32 {
    len as u32
}

/// Integers in the byte order of the section (pcapng) or file (pcap).
#[derive(Clone, Copy)]
struct Order {
    big: bool,
}

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let b: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
}

/// Reads exactly `buf`; `Ok(false)` at a clean end of input before its first byte.
fn read_or_end<R: Read>(input: &mut R, buf: &mut [u8], at: u64, what: &str) -> Result<bool, Error> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => {
                return Err(Error::corrupt(
                    Position::Offset(at),
                    format!("the file ends inside {what}"),
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(Position::Offset(at + got as u64), &e)),
        }
    }
    Ok(true)
}

fn read_all<R: Read>(input: &mut R, buf: &mut [u8], at: u64, what: &str) -> Result<(), Error> {
    if buf.is_empty() || read_or_end(input, buf, at, what)? {
        Ok(())
    } else {
        Err(Error::corrupt(
            Position::Offset(at),
            format!("the file ends before {what}"),
        ))
    }
}

/// A time of `ts` units of which `per_second` make a second, plus `offset` seconds.
fn time(ts: u64, per_second: u64, offset: i64) -> Option<Duration> {
    let secs = ts / per_second;
    let nanos = u128::from(ts % per_second) * 1_000_000_000 / u128::from(per_second);
    let secs = secs.checked_add_signed(offset)?;
    Some(Duration::new(secs, u32::try_from(nanos).ok()?))
}

/// An interface of a pcapng section.
struct Interface {
    /// Packets of other link types are passed over.
    can: bool,
    channel: Channel,
    per_second: u64,
    offset: i64,
}

/// The options of a block: `(code, value)` until the end option or the end of `b`.
fn options(b: &[u8], order: Order) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let code = order.u16(b, at)?;
        let len = usize::from(order.u16(b, at + 2)?);
        if code == OPT_END {
            return None;
        }
        let value = b.get(at + 4..at + 4 + len)?;
        at += 4 + len.div_ceil(4) * 4;
        Some((code, value))
    })
}

fn not_a_section() -> Error {
    Error::not_the_format_because(
        super::Format::Pcapng,
        None,
        None,
        Some("it does not start with a section header block"),
    )
}

pub(crate) struct PcapngReader<R> {
    input: R,
    /// File offset of the next block.
    offset: u64,
    order: Order,
    interfaces: Vec<Interface>,
    block: Vec<u8>,
    pub(crate) skipped: Skipped,
    done: bool,
}

impl<R: BufRead> PcapngReader<R> {
    pub(crate) fn new(input: R) -> PcapngReader<R> {
        PcapngReader {
            input,
            offset: 0,
            order: Order { big: false },
            interfaces: Vec::new(),
            block: Vec::with_capacity(256),
            skipped: Skipped::default(),
            done: false,
        }
    }

    /// A whole packet or other block already in the input's buffer (the usual case): copied out
    /// in one go, without the two reads of [`next_block`](Self::next_block).
    fn buffered_block(&mut self) -> Option<u32> {
        let buf = self.input.fill_buf().ok()?;
        let kind = self.order.u32(buf, 0)?;
        let total_field = self.order.u32(buf, 4)?;
        let total = total_field as usize;
        if self.offset == 0
            || kind == SHB
            || !(12..=MAX_BLOCK).contains(&total)
            || total % 4 != 0
            || buf.len() < total
            || self.order.u32(buf, total - 4) != Some(total_field)
        {
            return None;
        }
        self.block.clear();
        self.block.extend_from_slice(&buf[8..total - 4]);
        self.input.consume(total);
        self.offset += total as u64;
        Some(kind)
    }

    /// Reads the next block into `self.block` (its body); its type, or `None` at the end.
    fn next_block(&mut self) -> Result<Option<u32>, Error> {
        if let Some(kind) = self.buffered_block() {
            return Ok(Some(kind));
        }
        let at = self.offset;
        if at == 0 {
            let head = self
                .input
                .fill_buf()
                .map_err(|e| Error::io(Position::Start, &e))?;
            if !head.is_empty() && !head.starts_with(&PCAPNG_MAGIC[..head.len().min(4)]) {
                return Err(not_a_section());
            }
        }
        let mut head = [0u8; 12];
        if !read_or_end(&mut self.input, &mut head[..8], at, "a block header")? {
            return Ok(None);
        }
        let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let kind = if le == SHB {
            // A new section: its byte-order magic says how to read everything in it.
            read_all(&mut self.input, &mut head[8..], at + 8, "a section header")?;
            let magic = &head[8..12];
            self.order = if magic == BYTE_ORDER_MAGIC.to_le_bytes() {
                Order { big: false }
            } else if magic == BYTE_ORDER_MAGIC.to_be_bytes() {
                Order { big: true }
            } else {
                return Err(Error::corrupt(
                    Position::Offset(at + 8),
                    format!("bad byte-order magic {magic:02X?} in a section header"),
                ));
            };
            SHB
        } else if at == 0 {
            return Err(not_a_section());
        } else {
            self.order.u32(&head, 0).unwrap_or_default()
        };
        let total_field = self.order.u32(&head, 4).unwrap_or_default();
        let total = total_field as usize;
        if total < 12 || total % 4 != 0 || total > MAX_BLOCK {
            return Err(Error::corrupt(
                Position::Offset(at + 4),
                format!("block length {total} (expected a multiple of 4 from 12 to 16 MiB)"),
            ));
        }
        let got = if kind == SHB { 12 } else { 8 };
        self.block.clear();
        self.block.extend_from_slice(&head[8..got]);
        let start = self.block.len();
        self.block.resize(total - 8, 0);
        read_all(
            &mut self.input,
            &mut self.block[start..],
            at + got as u64,
            "a block",
        )?;
        let trailer = self.order.u32(&self.block, total - 12);
        if trailer != Some(total_field) {
            return Err(Error::corrupt(
                Position::Offset(at),
                format!(
                    "block of length {total} ends with the length {}",
                    trailer.unwrap_or_default()
                ),
            ));
        }
        self.block.truncate(total - 12);
        self.offset += total as u64;
        Ok(Some(kind))
    }

    fn section(&mut self, at: u64) -> Result<(), Error> {
        let major = self.order.u16(&self.block, 4);
        if major != Some(1) {
            return Err(Error::fatal(
                Position::Offset(at),
                ErrorKind::Unsupported,
                format!(
                    "pcapng version {} (expected 1)",
                    major.map_or("?".into(), |m| m.to_string())
                ),
            ));
        }
        self.interfaces.clear();
        Ok(())
    }

    fn interface(&mut self) -> Result<(), String> {
        let b = &self.block;
        let order = self.order;
        let linktype = order
            .u16(b, 0)
            .ok_or("interface description block too short")?;
        let mut interface = Interface {
            can: u32::from(linktype) == LINKTYPE_CAN_SOCKETCAN,
            channel: Channel::Number(u16::try_from(self.interfaces.len() + 1).unwrap_or(u16::MAX)),
            per_second: 1_000_000,
            offset: 0,
        };
        for (code, value) in options(b.get(8..).unwrap_or_default(), order) {
            match code {
                IF_NAME => {
                    let name = std::str::from_utf8(value).unwrap_or_default();
                    if let Some(c) = Channel::from_name(name.trim_end_matches('\0')) {
                        interface.channel = c;
                    }
                }
                IF_TSRESOL => {
                    let v = *value.first().ok_or("empty if_tsresol")?;
                    let exp = u32::from(v & 0x7F);
                    interface.per_second = if v & 0x80 == 0 {
                        10u64.checked_pow(exp)
                    } else {
                        1u64.checked_shl(exp).filter(|_| exp < 64)
                    }
                    .ok_or_else(|| format!("if_tsresol {v:#04X} is out of range"))?;
                }
                IF_TSOFFSET => {
                    // A signed field: the same 64 bits read as an i64.
                    #[allow(clippy::cast_possible_wrap)]
                    let offset = order.u64(value, 0).ok_or("short if_tsoffset")? as i64;
                    interface.offset = offset;
                }
                _ => {}
            }
        }
        self.interfaces.push(interface);
        Ok(())
    }

    /// An enhanced packet block.
    fn packet(&mut self) -> Result<Option<Record>, String> {
        let b = &self.block;
        let order = self.order;
        let short = || "enhanced packet block too short".to_string();
        let index = order.u32(b, 0).ok_or_else(short)? as usize;
        let ts = u64::from(order.u32(b, 4).ok_or_else(short)?) << 32
            | u64::from(order.u32(b, 8).ok_or_else(short)?);
        let captured = order.u32(b, 12).ok_or_else(short)? as usize;
        let data = b.get(20..).and_then(|d| d.get(..captured)).ok_or_else(|| {
            format!("enhanced packet block too short for its {captured} captured bytes")
        })?;
        let interface = self.interfaces.get(index).ok_or_else(|| {
            format!(
                "packet of interface {index}, but the section describes {}",
                self.interfaces.len()
            )
        })?;
        if !interface.can {
            self.skipped.other += 1;
            return Ok(None);
        }
        let mut direction = None;
        for (code, value) in options(
            b.get(20 + captured.div_ceil(4) * 4..).unwrap_or_default(),
            order,
        ) {
            if code == EPB_FLAGS {
                direction = match order.u32(value, 0).map(|f| f & 3) {
                    Some(FLAG_INBOUND) => Some(Direction::Rx),
                    Some(FLAG_OUTBOUND) => Some(Direction::Tx),
                    _ => None,
                };
            }
        }
        let time = time(ts, interface.per_second, interface.offset)
            .ok_or("packet time out of range (before 1970)")?;
        let channel = interface.channel;
        Ok(match decode(data)? {
            Packet::Frame(frame) => Some(Record {
                time,
                channel,
                direction,
                frame,
            }),
            Packet::Remote => {
                self.skipped.remote += 1;
                None
            }
            Packet::ErrorFrame => {
                self.skipped.error += 1;
                None
            }
            Packet::Other => {
                self.skipped.other += 1;
                None
            }
        })
    }
}

impl<R: BufRead> Iterator for PcapngReader<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Result<Record, Error>> {
        while !self.done {
            let at = self.offset;
            let kind = match self.next_block() {
                Ok(Some(kind)) => kind,
                Ok(None) => break,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            let result = match kind {
                SHB => match self.section(at) {
                    Ok(()) => Ok(None),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
                IDB => self.interface().map(|()| None),
                EPB => self.packet(),
                OPB | SPB => {
                    // Obsolete and simple packet blocks carry no time or no interface; writers of
                    // CAN captures use enhanced ones.
                    self.skipped.other += 1;
                    Ok(None)
                }
                // Name resolution, statistics, secrets, custom blocks: nothing to carry.
                _ => Ok(None),
            };
            match result {
                Ok(Some(record)) => return Some(Ok(record)),
                Ok(None) => {}
                Err(reason) => return Some(Err(Error::malformed(Position::Offset(at), reason))),
            }
        }
        self.done = true;
        None
    }
}

pub(crate) struct PcapReader<R> {
    input: R,
    offset: u64,
    order: Order,
    per_second: u64,
    packet: Vec<u8>,
    pub(crate) skipped: Skipped,
    done: bool,
}

impl<R: BufRead> PcapReader<R> {
    pub(crate) fn new(mut input: R) -> Result<PcapReader<R>, Error> {
        let mut head = [0u8; 24];
        read_all(&mut input, &mut head, 0, "the file header")?;
        let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let (big, per_second) = match magic {
            PCAP_MICROS => (false, 1_000_000),
            PCAP_NANOS => (false, 1_000_000_000),
            _ if magic.swap_bytes() == PCAP_MICROS => (true, 1_000_000),
            _ if magic.swap_bytes() == PCAP_NANOS => (true, 1_000_000_000),
            _ => return Err(Error::not_the_format(super::Format::Pcap, None, None)),
        };
        let order = Order { big };
        let linktype = order.u32(&head, 20).unwrap_or_default() & 0xFFFF;
        if linktype != LINKTYPE_CAN_SOCKETCAN {
            return Err(Error::fatal(
                Position::Offset(20),
                ErrorKind::Unsupported,
                format!("link type {linktype} is not SocketCAN (LINKTYPE_CAN_SOCKETCAN, 227)"),
            ));
        }
        Ok(PcapReader {
            input,
            offset: 24,
            order,
            per_second,
            packet: Vec::with_capacity(CANFD_MTU),
            skipped: Skipped::default(),
            done: false,
        })
    }
}

impl<R: BufRead> Iterator for PcapReader<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Result<Record, Error>> {
        while !self.done {
            let at = self.offset;
            let mut head = [0u8; 16];
            let fatal = match read_or_end(&mut self.input, &mut head, at, "a packet header") {
                Ok(true) => None,
                Ok(false) => break,
                Err(e) => Some(e),
            };
            let order = self.order;
            let captured = order.u32(&head, 8).unwrap_or_default() as usize;
            let fatal = fatal.or_else(|| {
                (captured > MAX_BLOCK).then(|| {
                    Error::corrupt(
                        Position::Offset(at + 8),
                        format!("packet of {captured} bytes is out of range"),
                    )
                })
            });
            let fatal = fatal.or_else(|| {
                self.packet.resize(captured, 0);
                read_all(&mut self.input, &mut self.packet, at + 16, "a packet").err()
            });
            if let Some(e) = fatal {
                self.done = true;
                return Some(Err(e));
            }
            self.offset += 16 + captured as u64;
            let secs = order.u32(&head, 0).unwrap_or_default();
            let frac = order.u32(&head, 4).unwrap_or_default();
            let record = (u64::from(frac) < self.per_second)
                .then(|| time(u64::from(frac), self.per_second, i64::from(secs)))
                .flatten()
                .ok_or_else(|| format!("bad packet time {secs}.{frac}"))
                .and_then(|time| decode(&self.packet).map(|p| (time, p)));
            match record {
                Ok((time, Packet::Frame(frame))) => {
                    return Some(Ok(Record {
                        time,
                        channel: Channel::Number(1),
                        direction: None,
                        frame,
                    }))
                }
                Ok((_, Packet::Remote)) => self.skipped.remote += 1,
                Ok((_, Packet::ErrorFrame)) => self.skipped.error += 1,
                Ok((_, Packet::Other)) => self.skipped.other += 1,
                Err(reason) => return Some(Err(Error::malformed(Position::Offset(at), reason))),
            }
        }
        self.done = true;
        None
    }
}

/// Appends a pcapng block of `kind` around `body` (padded to 4 bytes), in little-endian order.
fn block(out: &mut Vec<u8>, kind: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    body(out);
    out.resize(start + (out.len() - start).div_ceil(4) * 4, 0);
    // The blocks written hold a frame or a short name: far below 4 GiB.
    let total = u32::try_from(out.len() - start + 4).unwrap_or(u32::MAX);
    out[start + 4..start + 8].copy_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
}

fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    // The options written hold a name or a number: far below 64 KiB.
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (4 - value.len() % 4) % 4, 0);
}

/// Writes a pcapng file: the section header at once (so that a reader of a stream can start), an
/// interface description block when a channel first appears (its name: the interface name, or the
/// channel number), an enhanced packet block per frame. Never seeks: standard output will do.
pub(crate) struct PcapngWriter<W> {
    out: W,
    channels: Vec<Channel>,
    buffer: Vec<u8>,
}

impl<W: Write> PcapngWriter<W> {
    pub(crate) fn new(mut out: W) -> std::io::Result<PcapngWriter<W>> {
        let mut buffer = Vec::with_capacity(256);
        block(&mut buffer, SHB, |b| {
            b.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&0u16.to_le_bytes());
            b.extend_from_slice(&(-1i64).to_le_bytes()); // section length not given
            option(
                b,
                SHB_USERAPPL,
                concat!("isotp ", env!("CARGO_PKG_VERSION")).as_bytes(),
            );
            option(b, OPT_END, &[]);
        });
        out.write_all(&buffer)?;
        Ok(PcapngWriter {
            out,
            channels: Vec::new(),
            buffer,
        })
    }

    pub(crate) fn write(&mut self, r: &Record) -> std::io::Result<()> {
        self.buffer.clear();
        let index = match self.channels.iter().position(|c| *c == r.channel) {
            Some(i) => i,
            None => {
                self.channels.push(r.channel);
                let name = r.channel.to_string();
                block(&mut self.buffer, IDB, |b| {
                    // 227 fits the 16 bits of an interface's link type.
                    #[allow(clippy::cast_possible_truncation)]
                    b.extend_from_slice(&(LINKTYPE_CAN_SOCKETCAN as u16).to_le_bytes());
                    b.extend_from_slice(&0u16.to_le_bytes());
                    b.extend_from_slice(&len_field(CANFD_MTU).to_le_bytes());
                    option(b, IF_NAME, name.as_bytes());
                    option(b, IF_TSRESOL, &[9]);
                    option(b, OPT_END, &[]);
                });
                self.channels.len() - 1
            }
        };
        let index = u32::try_from(index).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "more than 2^32 channels in one pcapng section",
            )
        })?;
        let ns = u64::try_from(r.time.as_nanos())
            .unwrap_or(u64::MAX)
            .to_le_bytes();
        block(&mut self.buffer, EPB, |b| {
            b.extend_from_slice(&index.to_le_bytes());
            // The high 32 bits of the time, then the low ones, each little-endian.
            b.extend_from_slice(&ns[4..]);
            b.extend_from_slice(&ns[..4]);
            let len = len_field(packet_len(&r.frame));
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
            encode(&r.frame, b);
            if let Some(d) = r.direction {
                let flags = match d {
                    Direction::Rx => FLAG_INBOUND,
                    Direction::Tx => FLAG_OUTBOUND,
                };
                option(b, EPB_FLAGS, &flags.to_le_bytes());
                option(b, OPT_END, &[]);
            }
        });
        self.out.write_all(&self.buffer)
    }

    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes a classic pcap file with nanosecond times. It has no channels or directions (pcapng has).
pub(crate) struct PcapWriter<W> {
    out: W,
    buffer: Vec<u8>,
}

impl<W: Write> PcapWriter<W> {
    pub(crate) fn new(mut out: W) -> std::io::Result<PcapWriter<W>> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&PCAP_NANOS.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]); // time zone, accuracy
        h.extend_from_slice(&len_field(CANFD_MTU).to_le_bytes());
        h.extend_from_slice(&LINKTYPE_CAN_SOCKETCAN.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            buffer: Vec::with_capacity(16 + CANFD_MTU),
        })
    }

    pub(crate) fn write(&mut self, r: &Record) -> std::io::Result<()> {
        let secs = u32::try_from(r.time.as_secs()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "a time of {} s since 1970 is past what classic pcap holds (2106): write pcapng",
                    r.time.as_secs()
                ),
            )
        })?;
        let b = &mut self.buffer;
        b.clear();
        b.extend_from_slice(&secs.to_le_bytes());
        b.extend_from_slice(&r.time.subsec_nanos().to_le_bytes());
        let len = len_field(packet_len(&r.frame));
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        encode(&r.frame, b);
        self.out.write_all(b)
    }

    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChannelName;

    fn record(ns: u64, channel: Channel, direction: Option<Direction>, frame: &str) -> Record {
        Record {
            time: Duration::from_nanos(ns),
            channel,
            direction,
            frame: frame.parse().unwrap(),
        }
    }

    fn records() -> Vec<Record> {
        let can0 = Channel::Name(ChannelName::new("can0").unwrap());
        vec![
            record(
                1_700_000_000_000_000_001,
                can0,
                Some(Direction::Rx),
                "7E0#0322F190",
            ),
            record(
                1_700_000_000_100_000_000,
                Channel::Number(2),
                Some(Direction::Tx),
                "1FFFFFFF##3AABB",
            ),
            record(1_700_000_000_200_000_000, can0, None, "000##0"),
            record(1_700_000_000_300_000_000, Channel::Number(2), None, "7FF#"),
            record(
                1_700_000_000_400_000_000,
                can0,
                Some(Direction::Tx),
                &format!("00000000##2{}", "5A".repeat(64)),
            ),
        ]
    }

    fn pcapng(records: &[Record]) -> Vec<u8> {
        let mut w = PcapngWriter::new(Vec::new()).unwrap();
        for r in records {
            w.write(r).unwrap();
        }
        w.finish().unwrap()
    }

    fn read_ng(bytes: &[u8]) -> (Vec<Result<Record, Error>>, Skipped) {
        let mut r = PcapngReader::new(bytes);
        let got = r.by_ref().collect();
        (got, r.skipped)
    }

    #[test]
    fn pcapng_round_trips_every_field() {
        let records = records();
        let (got, _) = read_ng(&pcapng(&records));
        let got: Vec<Record> = got.into_iter().map(Result::unwrap).collect();
        assert_eq!(got, records);
    }

    #[test]
    fn pcap_keeps_frames_and_times() {
        let records = records();
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for r in &records {
            w.write(r).unwrap();
        }
        let bytes = w.finish().unwrap();
        let got: Vec<Record> = PcapReader::new(&bytes[..])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (g, r) in got.iter().zip(&records) {
            assert_eq!(
                (g.time, g.frame, g.channel, g.direction),
                (r.time, r.frame, Channel::Number(1), None)
            );
        }
        assert_eq!(got.len(), records.len());
        let late = record(
            u64::from(u32::MAX) * 1_000_000_000 + 1_000_000_000,
            Channel::Number(1),
            None,
            "1#",
        );
        assert!(PcapWriter::new(Vec::new())
            .unwrap()
            .write(&late)
            .unwrap_err()
            .to_string()
            .contains("2106"));
    }

    /// A big-endian section written by hand: microsecond times (the default resolution), a time
    /// offset, an interface of another link type, and packets of every kind.
    #[test]
    fn big_endian_sections_and_what_is_passed_over() {
        fn be_block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
            let total = (12 + body.len().div_ceil(4) * 4) as u32;
            out.extend_from_slice(&kind.to_be_bytes());
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(body);
            out.resize(out.len() + (4 - body.len() % 4) % 4, 0);
            out.extend_from_slice(&total.to_be_bytes());
        }
        fn epb(interface: u32, us: u64, packet: &[u8], flags: Option<u32>) -> Vec<u8> {
            let mut b = Vec::new();
            b.extend_from_slice(&interface.to_be_bytes());
            b.extend_from_slice(&((us >> 32) as u32).to_be_bytes());
            b.extend_from_slice(&(us as u32).to_be_bytes());
            b.extend_from_slice(&(packet.len() as u32).to_be_bytes());
            b.extend_from_slice(&(packet.len() as u32).to_be_bytes());
            b.extend_from_slice(packet);
            b.resize(b.len().div_ceil(4) * 4, 0);
            if let Some(f) = flags {
                b.extend_from_slice(&EPB_FLAGS.to_be_bytes());
                b.extend_from_slice(&4u16.to_be_bytes());
                b.extend_from_slice(&f.to_be_bytes());
            }
            b
        }
        let mut f = Vec::new();
        let mut shb = BYTE_ORDER_MAGIC.to_be_bytes().to_vec();
        shb.extend_from_slice(&[0, 1, 0, 0]);
        shb.extend_from_slice(&[0xFF; 8]);
        be_block(&mut f, SHB, &shb);
        let mut idb = vec![0, 227, 0, 0, 0, 0, 0, 72];
        idb.extend_from_slice(&IF_TSOFFSET.to_be_bytes());
        idb.extend_from_slice(&8u16.to_be_bytes());
        idb.extend_from_slice(&1_000i64.to_be_bytes());
        be_block(&mut f, IDB, &idb);
        be_block(&mut f, IDB, &[0, 1, 0, 0, 0, 0, 0, 0]); // Ethernet
                                                          // A 72-byte packet without FDF is CAN FD; a short classic one; the direction flag.
        let mut fd = vec![0, 0, 0x07, 0xE8, 12, CANFD_BRS, 0, 0];
        fd.resize(72, 0x11);
        be_block(&mut f, EPB, &epb(0, 2_500_000, &fd, Some(FLAG_OUTBOUND)));
        be_block(
            &mut f,
            EPB,
            &epb(0, 3_000_000, &[0x80, 0, 0, 1, 1, 0, 0, 0, 0xAA], None),
        );
        be_block(&mut f, EPB, &epb(1, 3_000_000, &[0; 60], None));
        be_block(
            &mut f,
            EPB,
            &epb(0, 4_000_000, &[0x40, 0, 1, 0x23, 0, 0, 0, 0], None),
        );
        be_block(
            &mut f,
            EPB,
            &epb(0, 4_000_000, &[0x20, 0, 0, 4, 8, 0, 0, 0], None),
        );
        be_block(
            &mut f,
            EPB,
            &epb(0, 4_000_000, &[0, 0, 0, 1, 0x80, 0, 0, 0], None),
        );
        be_block(&mut f, 5, &[0; 8]); // interface statistics: nothing to carry
                                      // A packet declaring more data than it holds.
        be_block(
            &mut f,
            EPB,
            &epb(0, 5_000_000, &[0, 0, 1, 0x23, 8, 0, 0, 0, 1], None),
        );
        let (got, skipped) = read_ng(&f);
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.time, Duration::from_millis(1_002_500));
        assert_eq!(first.direction, Some(Direction::Tx));
        assert!(first.frame.is_fd() && first.frame.is_brs() && first.frame.len() == 12);
        assert_eq!(got[1].as_ref().unwrap().frame.to_string(), "00000001#AA");
        assert!(got[2]
            .as_ref()
            .unwrap_err()
            .message
            .contains("cannot hold the 8 data bytes"));
        assert_eq!(got.len(), 3);
        assert_eq!(
            skipped,
            Skipped {
                remote: 1,
                error: 1,
                other: 2
            }
        );
    }

    #[test]
    fn broken_files_say_where() {
        let mut bytes = pcapng(&records());
        let n = bytes.len();
        bytes[n - 1] ^= 1; // the last block's trailing length
        let (got, _) = read_ng(&bytes);
        let e = got.last().unwrap().as_ref().unwrap_err();
        assert!(
            e.is_fatal() && e.to_string().contains("ends with the length"),
            "{e}"
        );
        let (got, _) = read_ng(&bytes[..n - 2]);
        assert!(got
            .last()
            .unwrap()
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("the file ends inside a block"));
        let (got, _) = read_ng(b"\x01\0\0\0\x0C\0\0\0\x0C\0\0\0");
        assert!(matches!(
            got[0].as_ref().unwrap_err().kind,
            ErrorKind::NotTheFormat { .. }
        ));
        let mut pcap = PcapWriter::new(Vec::new()).unwrap().finish().unwrap();
        pcap[20] = 1;
        assert!(PcapReader::new(&pcap[..])
            .err()
            .unwrap()
            .to_string()
            .contains("link type 1"));
    }
}
