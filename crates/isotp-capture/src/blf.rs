//! Vector BLF, the binary logging format. A 144-byte file header (`LOGG`, the start time) is followed by
//! objects (`LOBJ` and a header), most of them log containers whose zlib-deflated data hold the frame
//! objects; an object may continue in the next container. Read here: CAN_MESSAGE (1),
//! CAN_MESSAGE2 (86), CAN_FD_MESSAGE (100), CAN_FD_MESSAGE_64 (101). Error frames (2, 73, 104) and
//! every other object are passed over. All integers are little-endian.

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use flate2::{Decompress, FlushDecompress, Status};
use isotp_core::wire::dlc;
use isotp_core::{CanId, Frame};

use super::civil::{self, DateTime, Zone};
use super::error::{Error, Position};
use super::record::{time_after, Channel, ChannelNumbers, Direction, Record};
use super::Skipped;

const FILE_SIGNATURE: &[u8; 4] = b"LOGG";
const OBJ_SIGNATURE: &[u8; 4] = b"LOBJ";
const FILE_HEADER_SIZE: usize = 144;
const BASE_HEADER_SIZE: usize = 16;

const CAN_MESSAGE: u32 = 1;
const CAN_ERROR: u32 = 2;
const LOG_CONTAINER: u32 = 10;
const CAN_ERROR_EXT: u32 = 73;
const CAN_MESSAGE2: u32 = 86;
const CAN_FD_MESSAGE: u32 = 100;
const CAN_FD_MESSAGE_64: u32 = 101;
const CAN_FD_ERROR_64: u32 = 104;

const NO_COMPRESSION: u16 = 0;
const ZLIB_DEFLATE: u16 = 2;

/// Bit 31 of an id: a 29-bit id.
const ID_EXTENDED: u32 = 0x8000_0000;
const FLAG_TX: u8 = 0x01;
const FLAG_REMOTE: u8 = 0x80;
const FD_EDL: u8 = 0x01;
const FD_BRS: u8 = 0x02;
const FD_ESI: u8 = 0x04;
const FD64_REMOTE: u32 = 0x0010;
const FD64_EDL: u32 = 0x1000;
const FD64_BRS: u32 = 0x2000;
const FD64_ESI: u32 = 0x4000;
/// Object header flag: timestamps in units of 10 µs (else 1 ns).
const TIME_TEN_MICS: u32 = 0x1;

/// A container larger than this (compressed or not) is taken as corruption rather than allocated:
/// writers use 128 KiB.
const MAX_CONTAINER: usize = 64 << 20;

#[inline]
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
#[inline]
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

pub(crate) struct BlfReader<R> {
    input: R,
    /// File offset of the next top-level byte.
    offset: u64,
    start: Option<Duration>,
    /// Uncompressed objects: `data[pos..]` is unread.
    data: Vec<u8>,
    pos: usize,
    /// File offset of the container whose data follow the tail, for messages.
    container: u64,
    /// Bytes at the start of `data` left from the previous container (an object split between two).
    tail: usize,
    /// Where that tail starts: container and uncompressed offset.
    tail_origin: (u64, u64),
    compressed: Vec<u8>,
    inflater: Decompress,
    pub(crate) skipped: Skipped,
    done: bool,
}

impl<R: BufRead> BlfReader<R> {
    pub(crate) fn new(mut input: R, zone: Zone) -> Result<BlfReader<R>, Error> {
        let mut head = [0u8; 72];
        read_exact(&mut input, &mut head, 0, "the file header")?;
        if &head[..4] != FILE_SIGNATURE {
            return Err(Error::not_the_format(super::Format::Blf, None, None));
        }
        let header_size = u32_at(&head, 4) as usize;
        if !(head.len()..=4096).contains(&header_size) {
            return Err(Error::corrupt(
                Position::Offset(4),
                format!("file header size {header_size} (expected 72 to 4096, usually 144)"),
            ));
        }
        let mut rest = vec![0; header_size - head.len()];
        read_exact(&mut input, &mut rest, 72, "the file header")?;
        Ok(BlfReader {
            input,
            offset: header_size as u64,
            start: system_time(&head[40..56], zone),
            data: Vec::with_capacity(256 << 10),
            pos: 0,
            container: 0,
            tail: 0,
            tail_origin: (0, 0),
            compressed: Vec::new(),
            inflater: Decompress::new(true),
            skipped: Skipped::default(),
            done: false,
        })
    }
}

fn read_exact<R: Read>(input: &mut R, buf: &mut [u8], at: u64, what: &str) -> Result<(), Error> {
    input.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::corrupt(Position::Offset(at), format!("the file ends inside {what}"))
        } else {
            Error::io(Position::Offset(at), &e)
        }
    })
}

/// A Windows SYSTEMTIME (year, month, weekday, day, hour, minute, second, milliseconds) in `zone`
/// (Vector writes local time); `None` when unset or invalid.
fn system_time(b: &[u8], zone: Zone) -> Option<Duration> {
    let f = |i: usize| u32::from(u16_at(b, 2 * i));
    DateTime {
        year: i64::from(f(0)),
        month: f(1),
        day: f(3),
        hour: f(4),
        minute: f(5),
        second: f(6),
        nanos: f(7).checked_mul(1_000_000)?,
    }
    .valid()
    .map(|d| zone.unix(d))
}

enum Parsed {
    Record(Record),
    Skip,
    /// The object continues in the next container.
    Incomplete,
}

impl<R: BufRead> BlfReader<R> {
    fn at(&self, pos: usize) -> Position {
        if pos >= self.tail {
            Position::InContainer {
                container: self.container,
                offset: (pos - self.tail) as u64,
            }
        } else {
            Position::InContainer {
                container: self.tail_origin.0,
                offset: self.tail_origin.1 + pos as u64,
            }
        }
    }

    /// Keeps the unread bytes, which now precede the data of the container at `container`.
    fn start_container(&mut self, container: u64) {
        let origin = match self.at(self.pos) {
            Position::InContainer { container, offset } => (container, offset),
            _ => (container, 0),
        };
        self.compact();
        self.tail = self.data.len();
        self.tail_origin = origin;
        self.container = container;
    }

    /// Reads top-level objects until the next container's data is appended to `data`; false at the
    /// end of the file.
    fn refill(&mut self) -> Result<bool, Error> {
        let at = self.offset;
        let mut header = [0u8; BASE_HEADER_SIZE];
        // The end of the file: only between objects (a few bytes of trailing padding are allowed).
        let mut got = 0;
        while got < header.len() {
            match self.input.read(&mut header[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(Position::Offset(at + got as u64), &e)),
            }
        }
        if got == 0 || (got < 4 && header[..got].iter().all(|&b| b == 0)) {
            return Ok(false);
        }
        if got < header.len() {
            return Err(Error::corrupt(
                Position::Offset(at),
                "the file ends inside an object header",
            ));
        }
        if &header[..4] != OBJ_SIGNATURE {
            return Err(Error::corrupt(
                Position::Offset(at),
                format!(
                    "expected an object signature 'LOBJ', found {:02X?}",
                    &header[..4]
                ),
            ));
        }
        let size = u32_at(&header, 8) as usize;
        let kind = u32_at(&header, 12);
        if !(BASE_HEADER_SIZE..=MAX_CONTAINER).contains(&size) {
            return Err(Error::corrupt(
                Position::Offset(at),
                format!("object size {size} is out of range"),
            ));
        }
        let body_len = size - BASE_HEADER_SIZE;
        // Top-level objects are followed by padding to a multiple of 4 of their size.
        let padding = size % 4;
        self.offset += (size + padding) as u64;
        if kind != LOG_CONTAINER {
            // A frame object outside a container: parse it like one inside.
            self.start_container(at);
            self.data.extend_from_slice(&header);
            let start = self.data.len();
            self.data.resize(start + body_len + padding, 0);
            read_exact(
                &mut self.input,
                &mut self.data[start..],
                at + 16,
                "an object",
            )?;
            self.data.truncate(start + body_len);
            return Ok(true);
        }
        self.compressed.resize(body_len + padding, 0);
        read_exact(
            &mut self.input,
            &mut self.compressed,
            at + 16,
            "a log container",
        )?;
        if body_len < 16 {
            return Err(Error::corrupt(
                Position::Offset(at),
                "log container too short for its header",
            ));
        }
        let method = u16_at(&self.compressed, 0);
        let declared = u32_at(&self.compressed, 8) as usize;
        self.start_container(at);
        match method {
            NO_COMPRESSION => {
                let payload = &self.compressed[16..body_len];
                self.data.extend_from_slice(payload);
            }
            ZLIB_DEFLATE => {
                if declared > MAX_CONTAINER {
                    return Err(Error::corrupt(
                        Position::Offset(at),
                        format!("log container declares {declared} uncompressed bytes"),
                    ));
                }
                self.inflate(at, body_len, declared)?;
            }
            other => {
                return Err(Error::corrupt(
                    Position::Offset(at),
                    format!("unknown compression method {other} (expected 0 or 2, zlib)"),
                ))
            }
        }
        Ok(true)
    }

    fn inflate(&mut self, at: u64, body_len: usize, declared: usize) -> Result<(), Error> {
        self.inflater.reset(true);
        let input = &self.compressed[16..body_len];
        let start = self.data.len();
        self.data.reserve(declared.max(1024));
        let mut consumed = 0;
        loop {
            if self.data.capacity() == self.data.len() {
                if self.data.len() - start >= MAX_CONTAINER {
                    return Err(Error::corrupt(
                        Position::Offset(at),
                        "log container inflates past 64 MiB",
                    ));
                }
                self.data.reserve(64 << 10);
            }
            let status = self
                .inflater
                .decompress_vec(&input[consumed..], &mut self.data, FlushDecompress::Finish)
                .map_err(|e| {
                    Error::corrupt(
                        Position::Offset(at),
                        format!("bad zlib data in a log container: {e}"),
                    )
                })?;
            // Reset above, the inflater counts what it took of `input`: never more than its length.
            consumed = usize::try_from(self.inflater.total_in())
                .map_or(input.len(), |n| n.min(input.len()));
            match status {
                Status::StreamEnd => return Ok(()),
                Status::Ok | Status::BufError => {
                    if consumed >= input.len() && self.data.len() < self.data.capacity() {
                        return Err(Error::corrupt(
                            Position::Offset(at),
                            "truncated zlib data in a log container",
                        ));
                    }
                }
            }
        }
    }

    /// Drops the bytes already read.
    fn compact(&mut self) {
        if self.pos > 0 {
            self.data.drain(..self.pos);
            self.pos = 0;
        }
    }

    #[inline]
    fn parse(&mut self) -> Result<Parsed, Error> {
        let d = &self.data[self.pos..];
        // Objects inside containers are padded to 4 bytes in some writers and not in others: look for
        // the signature a few bytes ahead.
        let skip = if d.starts_with(OBJ_SIGNATURE) {
            0
        } else {
            match (1..5).find(|&i| d.len() >= i + 4 && &d[i..i + 4] == OBJ_SIGNATURE) {
                Some(i) => i,
                None if d.len() < 8 => return Ok(Parsed::Incomplete),
                None => {
                    return Err(Error::corrupt(
                        self.at(self.pos),
                        format!(
                            "expected an object signature 'LOBJ', found {:02X?}",
                            &d[..4]
                        ),
                    ))
                }
            }
        };
        let d = &d[skip..];
        if d.len() < BASE_HEADER_SIZE {
            return Ok(Parsed::Incomplete);
        }
        let header_size = usize::from(u16_at(d, 4));
        let header_version = u16_at(d, 6);
        let size = u32_at(d, 8) as usize;
        let kind = u32_at(d, 12);
        if size < BASE_HEADER_SIZE || header_size < BASE_HEADER_SIZE || header_size > size {
            return Err(Error::corrupt(
                self.at(self.pos + skip),
                format!("object of size {size} with a header of {header_size}"),
            ));
        }
        if size > MAX_CONTAINER {
            return Err(Error::corrupt(
                self.at(self.pos + skip),
                format!("object size {size} is out of range"),
            ));
        }
        if d.len() < size {
            return Ok(Parsed::Incomplete);
        }
        let object = &d[..size];
        self.pos += skip + size;
        let (flags, stamp) = match header_version {
            1 | 2 if header_size >= 32 => (u32_at(object, 16), u64_at(object, 24)),
            _ => {
                self.skipped.other += 1;
                return Ok(Parsed::Skip);
            }
        };
        let offset = if flags & TIME_TEN_MICS != 0 {
            Duration::from_micros(stamp.saturating_mul(10))
        } else {
            Duration::from_nanos(stamp)
        };
        let time = match time_after(self.start, offset) {
            Ok(t) => t,
            Err(reason) => return Err(Error::malformed(self.at(self.pos - size), reason)),
        };
        let body = &object[header_size..];
        let parsed = match kind {
            CAN_MESSAGE | CAN_MESSAGE2 => can_message(body),
            CAN_FD_MESSAGE => can_fd_message(body),
            CAN_FD_MESSAGE_64 => can_fd_message_64(body, object, header_size),
            CAN_ERROR | CAN_ERROR_EXT | CAN_FD_ERROR_64 => Ok(Object::Error),
            _ => Ok(Object::Other),
        };
        match parsed {
            Ok(Object::Frame(frame, channel, tx)) => Ok(Parsed::Record(Record {
                time,
                channel: Channel::Number(channel),
                direction: Some(if tx { Direction::Tx } else { Direction::Rx }),
                frame,
            })),
            Ok(Object::Remote) => {
                self.skipped.remote += 1;
                Ok(Parsed::Skip)
            }
            Ok(Object::Error) => {
                self.skipped.error += 1;
                Ok(Parsed::Skip)
            }
            Ok(Object::Other) => {
                self.skipped.other += 1;
                Ok(Parsed::Skip)
            }
            Err(reason) => Err(Error::malformed(self.at(self.pos - size), reason)),
        }
    }
}

enum Object {
    Frame(Frame, u16, bool),
    Remote,
    Error,
    Other,
}

fn too_short(what: &str) -> String {
    format!("{what} object too short")
}

fn id(raw: u32) -> Result<CanId, String> {
    CanId::new(raw & !ID_EXTENDED, raw & ID_EXTENDED != 0).map_err(|e| e.to_string())
}

/// channel u16, flags u8, dlc u8, id u32, data [8].
#[inline]
fn can_message(b: &[u8]) -> Result<Object, String> {
    if b.len() < 16 {
        return Err(too_short("CAN_MESSAGE"));
    }
    if b[2] & FLAG_REMOTE != 0 {
        return Ok(Object::Remote);
    }
    let len = usize::from(b[3]).min(8);
    let frame = Frame::new(id(u32_at(b, 4))?, &b[8..8 + len]).map_err(|e| e.to_string())?;
    Ok(Object::Frame(frame, u16_at(b, 0), b[2] & FLAG_TX != 0))
}

/// channel u16, flags u8, dlc u8, id u32, frame length u32, bit count u8, FD flags u8, valid data
/// bytes u8, 5 reserved, data [64].
fn can_fd_message(b: &[u8]) -> Result<Object, String> {
    if b.len() < 20 {
        return Err(too_short("CAN_FD_MESSAGE"));
    }
    let fd = b[13] & FD_EDL != 0;
    if b[2] & FLAG_REMOTE != 0 && !fd {
        return Ok(Object::Remote);
    }
    let len = usize::from(b[14]);
    let data = b.get(20..20 + len).ok_or_else(|| {
        format!(
            "CAN_FD_MESSAGE of {len} valid bytes holds only {}",
            b.len().saturating_sub(20)
        )
    })?;
    let frame = fd_or_classic(
        id(u32_at(b, 4))?,
        data,
        fd,
        b[13] & FD_BRS != 0,
        b[13] & FD_ESI != 0,
    )?;
    Ok(Object::Frame(frame, u16_at(b, 0), b[2] & FLAG_TX != 0))
}

/// channel u8, dlc u8, valid data bytes u8, tx count u8, id u32, frame length u32, flags u32, two bit
/// rates u32, two time offsets u32, bit count u16, direction u8, extended data offset u8, crc u32,
/// then the data.
fn can_fd_message_64(b: &[u8], object: &[u8], header_size: usize) -> Result<Object, String> {
    const FIXED: usize = 40;
    if b.len() < FIXED {
        return Err(too_short("CAN_FD_MESSAGE_64"));
    }
    let flags = u32_at(b, 12);
    if flags & FD64_REMOTE != 0 {
        return Ok(Object::Remote);
    }
    let len = usize::from(b[2]);
    // Some writers declare more valid bytes than they store (python-can issue 1905): the rest is zero,
    // as Vector's own reader does.
    let ext = usize::from(b[35]);
    let end = if ext != 0 {
        ext.min(object.len())
    } else {
        object.len()
    };
    let stored = end.saturating_sub(header_size + FIXED).min(len);
    let mut data = [0u8; dlc::FD_MAX_LEN];
    if len > data.len() {
        return Err(format!("CAN_FD_MESSAGE_64 declares {len} data bytes"));
    }
    data[..stored].copy_from_slice(&b[FIXED..FIXED + stored]);
    let frame = fd_or_classic(
        id(u32_at(b, 4))?,
        &data[..len],
        flags & FD64_EDL != 0,
        flags & FD64_BRS != 0,
        flags & FD64_ESI != 0,
    )?;
    Ok(Object::Frame(frame, u16::from(b[0]), b[34] != 0))
}

fn fd_or_classic(id: CanId, data: &[u8], fd: bool, brs: bool, esi: bool) -> Result<Frame, String> {
    if fd {
        Frame::new_fd(id, data).map(|f| f.with_brs(brs).with_esi(esi))
    } else {
        Frame::new(id, &data[..data.len().min(8)])
    }
    .map_err(|e| e.to_string())
}

impl<R: BufRead> Iterator for BlfReader<R> {
    type Item = Result<Record, Error>;

    #[inline]
    fn next(&mut self) -> Option<Result<Record, Error>> {
        if self.done {
            return None;
        }
        loop {
            match self.parse() {
                Ok(Parsed::Record(r)) => return Some(Ok(r)),
                Ok(Parsed::Skip) => {}
                Ok(Parsed::Incomplete) => match self.refill() {
                    Ok(true) => {}
                    Ok(false) => {
                        self.done = true;
                        let left = self.data.len() - self.pos;
                        if left > 0 && self.data[self.pos..].iter().any(|&b| b != 0) {
                            return Some(Err(Error::corrupt(
                                self.at(self.pos),
                                format!("the file ends inside an object ({left} bytes of it)"),
                            )));
                        }
                        return None;
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
                Err(e) => {
                    if e.is_fatal() {
                        self.done = true;
                    }
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Writes a BLF file as python-can and Vector's tools read it: CAN_MESSAGE objects for classic frames,
/// CAN_FD_MESSAGE_64 for CAN FD, in zlib containers of 128 KiB, with 1 ns timestamps; the file header
/// (sizes, counts, start and stop times in the writer's [`Zone`]) is written at the end, so the
/// output must be seekable.
pub(crate) struct BlfWriter<W> {
    out: W,
    zone: Zone,
    buffer: Vec<u8>,
    start: Option<Duration>,
    stop: Duration,
    objects: u32,
    uncompressed: u64,
    channels: ChannelNumbers,
}

const CONTAINER_SIZE: usize = 128 << 10;

impl<W: Write + std::io::Seek> BlfWriter<W> {
    pub(crate) fn new(mut out: W, zone: Zone) -> std::io::Result<BlfWriter<W>> {
        out.write_all(&[0u8; FILE_HEADER_SIZE])?;
        Ok(BlfWriter {
            out,
            zone,
            buffer: Vec::with_capacity(CONTAINER_SIZE + 256),
            start: None,
            stop: Duration::ZERO,
            objects: 0,
            uncompressed: FILE_HEADER_SIZE as u64,
            channels: ChannelNumbers::default(),
        })
    }

    pub(crate) fn write(&mut self, r: &Record) -> std::io::Result<()> {
        let start = *self.start.get_or_insert(civil::whole_millis(r.time));
        self.stop = self.stop.max(r.time);
        let stamp = u64::try_from(r.time.saturating_sub(start).as_nanos()).unwrap_or(u64::MAX);
        let channel = self.channels.number(r.channel);
        let f = &r.frame;
        let mut raw_id = f.id().raw();
        if f.id().is_extended() {
            raw_id |= ID_EXTENDED;
        }
        let tx = r.direction == Some(Direction::Tx);
        let mut body = Vec::with_capacity(104);
        let kind = if f.is_fd() {
            let mut flags = FD64_EDL;
            if f.is_brs() {
                flags |= FD64_BRS;
            }
            if f.is_esi() {
                flags |= FD64_ESI;
            }
            body.push(channel.min(255) as u8);
            body.push(f.dlc());
            body.push(super::len_byte(f));
            body.push(0); // tx count
            body.extend_from_slice(&raw_id.to_le_bytes());
            body.extend_from_slice(&0u32.to_le_bytes()); // frame length
            body.extend_from_slice(&flags.to_le_bytes());
            body.extend_from_slice(&[0u8; 16]); // bit rates and time offsets
            body.extend_from_slice(&0u16.to_le_bytes()); // bit count
            body.push(u8::from(tx));
            body.push(0); // extended data offset
            body.extend_from_slice(&0u32.to_le_bytes()); // crc
            body.extend_from_slice(f.data());
            CAN_FD_MESSAGE_64
        } else {
            body.extend_from_slice(&channel.to_le_bytes());
            body.push(if tx { FLAG_TX } else { 0 });
            body.push(super::len_byte(f));
            body.extend_from_slice(&raw_id.to_le_bytes());
            let mut data = [0u8; 8];
            data[..f.len()].copy_from_slice(f.data());
            body.extend_from_slice(&data);
            CAN_MESSAGE
        };
        let size = 32 + body.len();
        self.buffer.extend_from_slice(OBJ_SIGNATURE);
        self.buffer.extend_from_slice(&32u16.to_le_bytes());
        self.buffer.extend_from_slice(&1u16.to_le_bytes());
        // An object holds one frame: at most 136 bytes.
        let size_field = u32::try_from(size).unwrap_or(u32::MAX);
        self.buffer.extend_from_slice(&size_field.to_le_bytes());
        self.buffer.extend_from_slice(&kind.to_le_bytes());
        self.buffer.extend_from_slice(&2u32.to_le_bytes()); // 1 ns timestamps
        self.buffer.extend_from_slice(&0u16.to_le_bytes());
        self.buffer.extend_from_slice(&0u16.to_le_bytes());
        self.buffer.extend_from_slice(&stamp.to_le_bytes());
        self.buffer.extend_from_slice(&body);
        self.buffer
            .resize(self.buffer.len() + (4 - size % 4) % 4, 0);
        self.objects += 1;
        if self.buffer.len() >= CONTAINER_SIZE {
            self.flush_container(CONTAINER_SIZE)?;
        }
        Ok(())
    }

    fn flush_container(&mut self, max: usize) -> std::io::Result<()> {
        let take = self.buffer.len().min(max);
        if take == 0 {
            return Ok(());
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&self.buffer[..take])?;
        let compressed = z.finish()?;
        let size = BASE_HEADER_SIZE + 16 + compressed.len();
        let mut head = Vec::with_capacity(32);
        head.extend_from_slice(OBJ_SIGNATURE);
        #[allow(clippy::cast_possible_truncation)] // the constant 16
        head.extend_from_slice(&(BASE_HEADER_SIZE as u16).to_le_bytes());
        head.extend_from_slice(&1u16.to_le_bytes());
        // A container holds at most CONTAINER_SIZE bytes, compressed: far below 4 GiB.
        let size_field = u32::try_from(size).unwrap_or(u32::MAX);
        head.extend_from_slice(&size_field.to_le_bytes());
        head.extend_from_slice(&LOG_CONTAINER.to_le_bytes());
        head.extend_from_slice(&ZLIB_DEFLATE.to_le_bytes());
        head.extend_from_slice(&[0u8; 6]);
        head.extend_from_slice(&u32::try_from(take).unwrap_or(u32::MAX).to_le_bytes());
        head.extend_from_slice(&[0u8; 4]);
        self.out.write_all(&head)?;
        self.out.write_all(&compressed)?;
        self.out.write_all(&vec![0u8; size % 4])?;
        self.uncompressed += (32 + take) as u64;
        self.buffer.drain(..take);
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        while !self.buffer.is_empty() {
            self.flush_container(CONTAINER_SIZE)?;
        }
        let file_size = self.out.stream_position()?;
        let mut h = Vec::with_capacity(FILE_HEADER_SIZE);
        h.extend_from_slice(FILE_SIGNATURE);
        #[allow(clippy::cast_possible_truncation)] // the constant 144
        h.extend_from_slice(&(FILE_HEADER_SIZE as u32).to_le_bytes());
        h.extend_from_slice(&[5, 0, 0, 0, 2, 6, 8, 1]); // application, BL version
        h.extend_from_slice(&file_size.to_le_bytes());
        h.extend_from_slice(&self.uncompressed.to_le_bytes());
        h.extend_from_slice(&self.objects.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        let start = self.start.unwrap_or(Duration::ZERO);
        h.extend_from_slice(&system_time_bytes(start, self.zone));
        h.extend_from_slice(&system_time_bytes(self.stop.max(start), self.zone));
        h.resize(FILE_HEADER_SIZE, 0);
        self.out.seek(std::io::SeekFrom::Start(0))?;
        self.out.write_all(&h)?;
        self.out.seek(std::io::SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn system_time_bytes(t: Duration, zone: Zone) -> [u8; 16] {
    let d = zone.civil(t);
    // SYSTEMTIME's fields are 16 bits: the year saturates (its range ends at 30827), the others
    // are below 1000.
    let field = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    let fields = [
        u16::try_from(d.year).unwrap_or(u16::MAX),
        field(d.month),
        field(d.weekday()),
        field(d.day),
        field(d.hour),
        field(d.minute),
        field(d.second),
        field(d.nanos / 1_000_000),
    ];
    let mut out = [0u8; 16];
    for (i, v) in fields.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object: base header, a v1 or v2 header with `flags` and `stamp`, then `body`.
    fn object(kind: u32, version: u16, flags: u32, stamp: u64, body: &[u8]) -> Vec<u8> {
        let header = if version == 2 { 40 } else { 32 };
        let mut o = Vec::new();
        o.extend_from_slice(OBJ_SIGNATURE);
        o.extend_from_slice(&(header as u16).to_le_bytes());
        o.extend_from_slice(&version.to_le_bytes());
        o.extend_from_slice(&((header + body.len()) as u32).to_le_bytes());
        o.extend_from_slice(&kind.to_le_bytes());
        o.extend_from_slice(&flags.to_le_bytes());
        if version == 2 {
            o.extend_from_slice(&[0, 0, 0, 0]); // status, reserved, object version
            o.extend_from_slice(&stamp.to_le_bytes());
            o.extend_from_slice(&[0; 8]); // original time stamp
        } else {
            o.extend_from_slice(&[0, 0, 0, 0]);
            o.extend_from_slice(&stamp.to_le_bytes());
        }
        o.extend_from_slice(body);
        o
    }

    /// A file of one uncompressed container holding `objects`, starting 2023-11-14 22:13:20.
    fn file(objects: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; FILE_HEADER_SIZE];
        f[..4].copy_from_slice(FILE_SIGNATURE);
        f[4..8].copy_from_slice(&(FILE_HEADER_SIZE as u32).to_le_bytes());
        f[40..56].copy_from_slice(&system_time_bytes(
            Duration::from_secs(1_700_000_000),
            Zone::Utc,
        ));
        let size = 32 + objects.len();
        f.extend_from_slice(OBJ_SIGNATURE);
        f.extend_from_slice(&16u16.to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&(size as u32).to_le_bytes());
        f.extend_from_slice(&LOG_CONTAINER.to_le_bytes());
        f.extend_from_slice(&NO_COMPRESSION.to_le_bytes());
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&(objects.len() as u32).to_le_bytes());
        f.extend_from_slice(&[0; 4]);
        f.extend_from_slice(objects);
        f.resize(f.len() + size % 4, 0);
        f
    }

    fn read(bytes: &[u8]) -> (Vec<Result<Record, Error>>, Skipped) {
        let mut r = BlfReader::new(bytes, Zone::Utc).unwrap();
        let got = r.by_ref().collect();
        (got, r.skipped)
    }

    #[test]
    fn every_frame_object_and_what_is_passed_over() {
        let mut objects = Vec::new();
        // CAN_MESSAGE2, header v2, 10 µs units, transmitted, channel 2, 29-bit id.
        let mut m2 = vec![2, 0, FLAG_TX, 3];
        m2.extend_from_slice(&(0x18DA_F110u32 | ID_EXTENDED).to_le_bytes());
        m2.extend_from_slice(&[0x02, 0x10, 0x03, 0, 0, 0, 0, 0]);
        m2.extend_from_slice(&[0; 8]); // frame length, bit count, reserved
        objects.extend(object(CAN_MESSAGE2, 2, TIME_TEN_MICS, 150, &m2));
        // CAN_FD_MESSAGE with BRS, 12 valid bytes; 3 bytes of padding before the next object.
        let mut fd = vec![1, 0, 0, 9];
        fd.extend_from_slice(&0x7E8u32.to_le_bytes());
        fd.extend_from_slice(&[0; 4]);
        fd.extend_from_slice(&[0, FD_EDL | FD_BRS | FD_ESI, 12, 0, 0, 0, 0, 0]);
        fd.extend_from_slice(&[0xAB; 64]);
        objects.extend(object(CAN_FD_MESSAGE, 1, 2, 2_000_000, &fd));
        objects.extend_from_slice(&[0, 0, 0]);
        // CAN_FD_MESSAGE_64 declaring 16 bytes but storing 8 (the rest reads as zero).
        let mut fd64 = vec![1, 10, 16, 0];
        fd64.extend_from_slice(&0x7E0u32.to_le_bytes());
        fd64.extend_from_slice(&0u32.to_le_bytes());
        fd64.extend_from_slice(&(FD64_EDL | FD64_ESI).to_le_bytes());
        fd64.extend_from_slice(&[0; 16]);
        fd64.extend_from_slice(&[0, 0, 0, 0]); // bit count, direction rx, ext data offset
        fd64.extend_from_slice(&[0; 4]);
        fd64.extend_from_slice(&[0x11; 8]);
        objects.extend(object(CAN_FD_MESSAGE_64, 1, 2, 3_000_000, &fd64));
        // Passed over: a remote frame, an error frame, an unknown object.
        let mut remote = vec![1, 0, FLAG_REMOTE, 8];
        remote.extend_from_slice(&0x7E0u32.to_le_bytes());
        remote.extend_from_slice(&[0; 8]);
        objects.extend(object(CAN_MESSAGE, 1, 2, 4_000_000, &remote));
        objects.extend(object(CAN_ERROR_EXT, 1, 2, 5_000_000, &[0; 32]));
        objects.extend(object(65, 1, 2, 6_000_000, &[1, 2, 3, 4]));
        let (got, skipped) = read(&file(&objects));
        let got: Vec<Record> = got.into_iter().map(Result::unwrap).collect();
        let start = Duration::from_secs(1_700_000_000);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].time, start + Duration::from_micros(1500));
        assert_eq!(got[0].channel, Channel::Number(2));
        assert_eq!(got[0].direction, Some(Direction::Tx));
        assert_eq!(got[0].frame.to_string(), "18DAF110#021003");
        assert_eq!(got[1].time, start + Duration::from_millis(2));
        assert!(got[1].frame.is_fd() && got[1].frame.is_brs() && got[1].frame.is_esi());
        assert_eq!(got[1].frame.data(), &[0xAB; 12]);
        let mut want = [0u8; 16];
        want[..8].fill(0x11);
        assert_eq!(got[2].frame.data(), &want);
        assert!(got[2].frame.is_esi() && !got[2].frame.is_brs());
        assert_eq!(got[2].direction, Some(Direction::Rx));
        assert_eq!(
            skipped,
            Skipped {
                remote: 1,
                error: 1,
                other: 1
            }
        );
    }

    #[test]
    fn broken_files_say_where() {
        assert!(matches!(
            BlfReader::new(&b"LOGX"[..], Zone::Utc)
                .err()
                .map(|e| e.kind),
            Some(super::super::ErrorKind::Corrupt)
        ));
        let mut bad = file(&object(CAN_MESSAGE, 1, 2, 0, &[0; 16]));
        bad[FILE_HEADER_SIZE + 32] = b'X'; // the inner object's signature
        let (got, _) = read(&bad);
        let e = got[0].as_ref().unwrap_err();
        assert!(e.is_fatal());
        assert!(
            e.to_string()
                .contains("log container at byte 144, uncompressed byte 0"),
            "{e}"
        );
        let mut short = file(&object(CAN_MESSAGE, 1, 2, 0, &[0; 16]));
        short.truncate(short.len() - 10);
        let (got, _) = read(&short);
        assert!(got[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("ends inside a log container"));
    }
}
