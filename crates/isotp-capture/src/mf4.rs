//! ASAM MDF 4 (MF4) bus logging: CAN data frames in `CAN_DataFrame` channel groups.
//!
//! A file is a 64-byte identification block (`MDF     4.xx`) followed by blocks that link to each
//! other by file offset: the header (`##HD`, start time in nanoseconds since the epoch, UTC) lists
//! data groups (`##DG`), each with channel groups (`##CG`) whose channels (`##CN`) say where each
//! value sits in a fixed-size record. The records are in data blocks: plain (`##DT`), deflated
//! (`##DZ`, optionally transposed first: byte `c` of every record together), listed by `##DL`
//! blocks, themselves behind an `##HL` block. All integers are little-endian.
//!
//! The bus logging layout: a master channel with the time in seconds since the header's start, and a
//! structure channel `CAN_DataFrame` whose members `CAN_DataFrame.BusChannel`, `.ID`, `.IDE`,
//! `.DLC`, `.DataLength`, `.DataBytes`, `.Dir`, `.EDL`, `.BRS`, `.ESI` are fields of the record.
//! `CAN_ErrorFrame` and `CAN_RemoteFrame` groups are counted as skipped.
//!
//! Links point anywhere (writers put the channel descriptions after the data), so reading needs
//! [`Seek`]: a file is read in place, one data block at a time (a plain block in 1 MiB pieces, a
//! deflated one whole, up to [`MAX_BLOCK`]); other input is first read into memory, up to
//! [`MAX_IN_MEMORY`]. Several data frame groups are merged in time order.
//!
//! `BusChannel` is python-can's channel number (0-based); a [`Channel::Number`] is 1-based, so
//! `BusChannel` n is channel n + 1, as python-can's BLF reader and writer count.

use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use isotp_core::wire::dlc;
use isotp_core::{CanId, Frame};

use super::error::{Error, Position};
use super::record::{Channel, ChannelNumbers, Direction, Record};
use super::Skipped;

/// Input that is not a file is read into memory up to this size.
pub(crate) const MAX_IN_MEMORY: u64 = 1 << 30;
/// The largest uncompressed data block read whole (DZ blocks; DT blocks are read in pieces).
pub(crate) const MAX_BLOCK: u64 = 256 << 20;
/// A plain data block is read this much at a time.
const PIECE: u64 = 1 << 20;

/// What [`Format::sniff`](super::Format::sniff) looks for.
pub(crate) fn is_mf4_magic(head: &[u8]) -> bool {
    head.starts_with(b"MDF     4.") || head.starts_with(b"UnFinMF ")
}

/// Any seekable input.
pub(crate) trait Source: Read + Seek + Send {}
impl<T: Read + Seek + Send> Source for T {}

fn corrupt(at: u64, what: impl Into<String>) -> Error {
    Error::corrupt(Position::Offset(at), what)
}

fn unsupported(at: u64, what: impl Into<String>) -> Error {
    Error::fatal(
        Position::Offset(at),
        super::ErrorKind::Unsupported,
        what.into(),
    )
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// One block: its links and its data, read whole (only the small description blocks are).
struct Block {
    at: u64,
    links: Vec<u64>,
    data: Vec<u8>,
}

impl Block {
    fn link(&self, i: usize) -> u64 {
        self.links.get(i).copied().unwrap_or(0)
    }

    /// The data, checked to hold at least `len` bytes.
    fn data(&self, len: usize, id: &str) -> Result<&[u8], Error> {
        if self.data.len() < len {
            return Err(corrupt(
                self.at,
                format!(
                    "{id} block holds {} data bytes, needs {len}",
                    self.data.len()
                ),
            ));
        }
        Ok(&self.data)
    }
}

struct File {
    src: Box<dyn Source>,
    len: u64,
    /// The blocks of the chains walked so far (each is in one chain once).
    visited: std::collections::HashSet<u64>,
}

impl File {
    /// Refuses a block met a second time: a chain that loops.
    fn visit(&mut self, at: u64, chain: &str) -> Result<(), Error> {
        if self.visited.insert(at) {
            Ok(())
        } else {
            Err(corrupt(at, format!("the {chain} chain loops")))
        }
    }

    fn read_at(&mut self, at: u64, len: u64, what: &str) -> Result<Vec<u8>, Error> {
        if at.checked_add(len).map_or(true, |end| end > self.len) {
            return Err(corrupt(
                at,
                format!(
                    "{what} of {len} bytes runs past the end of the file ({} bytes)",
                    self.len
                ),
            ));
        }
        let mut buf = vec![0; usize::try_from(len).map_err(|_| corrupt(at, "block too large"))?];
        self.src
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.src.read_exact(&mut buf))
            .map_err(|e| Error::io(Position::Offset(at), &e))?;
        Ok(buf)
    }

    /// The 24-byte header at `at`: id, total length, link count; checked against the file.
    fn header(&mut self, at: u64, ids: &[&[u8; 4]]) -> Result<([u8; 4], u64, u64), Error> {
        let h = self.read_at(at, 24, "block header")?;
        let id: [u8; 4] = [h[0], h[1], h[2], h[3]];
        if !ids.contains(&&id) {
            let want: Vec<String> = ids
                .iter()
                .map(|i| String::from_utf8_lossy(&i[..]).into_owned())
                .collect();
            return Err(corrupt(
                at,
                format!(
                    "expected a {} block, found '{}'",
                    want.join(" or "),
                    super::error::shorten(&id)
                ),
            ));
        }
        let (len, links) = (u64_at(&h, 8), u64_at(&h, 16));
        if len < 24 || links > (len - 24) / 8 || at.checked_add(len).map_or(true, |e| e > self.len)
        {
            return Err(corrupt(
                at,
                format!(
                    "{} block of {len} bytes with {links} links does not fit the file ({} bytes)",
                    String::from_utf8_lossy(&id),
                    self.len
                ),
            ));
        }
        Ok((id, len, links))
    }

    /// A whole description block (not a data block), checked to be one of `ids`.
    fn block(&mut self, at: u64, ids: &[&[u8; 4]]) -> Result<Block, Error> {
        let (_, len, links) = self.header(at, ids)?;
        if len > 1 << 24 {
            return Err(corrupt(at, format!("description block of {len} bytes")));
        }
        let b = self.read_at(at + 24, len - 24, "block")?;
        // `header` checked that the links fit the block.
        let (links, data) = usize::try_from(links * 8)
            .ok()
            .and_then(|n| b.split_at_checked(n))
            .ok_or_else(|| {
                corrupt(
                    at,
                    format!("{links} links do not fit a block of {len} bytes"),
                )
            })?;
        Ok(Block {
            at,
            links: links.chunks_exact(8).map(|c| u64_at(c, 0)).collect(),
            data: data.to_vec(),
        })
    }

    /// The text of a TX (or MD) block, empty for a null link.
    fn text(&mut self, at: u64) -> Result<String, Error> {
        if at == 0 {
            return Ok(String::new());
        }
        let b = self.block(at, &[b"##TX", b"##MD"])?;
        let end = b.data.iter().position(|&c| c == 0).unwrap_or(b.data.len());
        Ok(String::from_utf8_lossy(&b.data[..end]).into_owned())
    }
}

/// How a field's bits are read.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Unsigned,
    Float,
    /// A string: `Dir` may be `Rx`/`Tx` text.
    Text,
    Bytes,
}

/// Where one value sits in a record.
#[derive(Clone, Copy, Debug)]
struct Field {
    byte: usize,
    bit: u32,
    bits: u32,
    kind: Kind,
    big_endian: bool,
}

impl Field {
    /// True when the field lies inside a `size`-byte record and is read here.
    fn fits(&self, size: usize) -> bool {
        let shape = match self.kind {
            Kind::Unsigned if self.big_endian => {
                self.bit == 0 && self.bits % 8 == 0 && self.bits <= 64
            }
            Kind::Unsigned => self.bit + self.bits <= 64,
            Kind::Float => self.bit == 0 && matches!(self.bits, 32 | 64),
            Kind::Text | Kind::Bytes => self.bit == 0,
        };
        shape && self.bit <= 7 && self.byte.saturating_add(self.bytes()) <= size
    }

    fn bytes(&self) -> usize {
        (self.bit as usize + self.bits as usize).div_ceil(8)
    }

    #[inline]
    fn uint(&self, rec: &[u8]) -> u64 {
        // The usual shapes first: whole little-endian bytes.
        match (self.bit, self.bits, self.big_endian) {
            (0, 8, _) => return u64::from(rec[self.byte]),
            (0, 32, false) => return u64::from(u32_at(rec, self.byte)),
            (0, 64, false) => return u64_at(rec, self.byte),
            _ => {}
        }
        let n = self.bytes().min(8);
        let mut w = [0u8; 8];
        let src = &rec[self.byte..self.byte + n];
        let v = if self.big_endian {
            w[8 - n..].copy_from_slice(src);
            u64::from_be_bytes(w)
        } else {
            w[..n].copy_from_slice(src);
            u64::from_le_bytes(w) >> self.bit
        };
        if self.bits >= 64 {
            v
        } else {
            v & ((1 << self.bits) - 1)
        }
    }

    fn slice<'a>(&self, rec: &'a [u8]) -> &'a [u8] {
        &rec[self.byte..self.byte + self.bytes()]
    }
}

/// The master channel: seconds as a float, or an integer with a linear conversion.
#[derive(Clone, Copy, Debug)]
struct Time {
    field: Field,
    offset: f64,
    factor: f64,
}

impl Time {
    #[inline]
    fn seconds(&self, rec: &[u8]) -> f64 {
        let raw = match (self.field.kind, self.field.bits) {
            // A 32-bit field: `uint` masks the value to 32 bits.
            #[allow(clippy::cast_possible_truncation)]
            (Kind::Float, 32) => f64::from(f32::from_bits(self.field.uint(rec) as u32)),
            (Kind::Float, _) => f64::from_bits(self.field.uint(rec)),
            _ => self.field.uint(rec) as f64,
        };
        self.offset + self.factor * raw
    }
}

/// The fields of one `CAN_DataFrame` group.
#[derive(Clone, Debug)]
struct Layout {
    time: Time,
    id: Field,
    data: Field,
    channel: Option<Field>,
    ide: Option<Field>,
    dlc: Option<Field>,
    length: Option<Field>,
    dir: Option<Field>,
    edl: Option<Field>,
    brs: Option<Field>,
    esi: Option<Field>,
}

/// The size of the records of one channel group of a data group with record ids.
#[derive(Clone, Copy, Debug)]
enum Size {
    Fixed(usize),
    /// Variable-length signal data: a u32 length, then that many bytes.
    Variable,
}

/// One data block to read.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// `len` bytes of a DT block at `at` remain.
    Plain { at: u64, len: u64 },
    /// A DZ block.
    Deflated { at: u64 },
}

/// The reading of one `CAN_DataFrame` group.
struct Group {
    layout: Layout,
    /// Bytes of a record of this group (without the record id).
    size: usize,
    /// Record id size of the data group (0 when the group has the data group to itself).
    id_size: usize,
    record_id: u64,
    /// The other groups of the data group, by record id.
    others: Vec<(u64, Size)>,
    /// Data block offsets, in order.
    blocks: Vec<u64>,
    next_block: usize,
    piece: Option<Piece>,
    buf: Vec<u8>,
    pos: usize,
    /// Where the bytes at `buf[pos]` came from, for messages.
    block_at: u64,
    pending: Option<Result<Record, Error>>,
    done: bool,
}

pub(crate) struct Mf4Reader {
    file: File,
    start: Duration,
    groups: Vec<Group>,
    pub(crate) skipped: Skipped,
    done: bool,
}

impl Mf4Reader {
    /// Reads `input` into memory (up to [`MAX_IN_MEMORY`]) and reads that.
    pub(crate) fn from_read<R: Read>(input: R) -> Result<Mf4Reader, Error> {
        let mut all = Vec::new();
        input
            .take(MAX_IN_MEMORY + 1)
            .read_to_end(&mut all)
            .map_err(|e| Error::io(Position::Start, &e))?;
        if all.len() as u64 > MAX_IN_MEMORY {
            return Err(Error::fatal(
                Position::Start,
                super::ErrorKind::Unsupported,
                format!(
                    "an MF4 input that is not a file is read into memory, up to {} MiB: open the file instead",
                    MAX_IN_MEMORY >> 20
                ),
            ));
        }
        Mf4Reader::new(Box::new(std::io::Cursor::new(all)))
    }

    /// Reads the description blocks of a seekable input.
    pub(crate) fn new(mut src: Box<dyn Source>) -> Result<Mf4Reader, Error> {
        let len = src
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::io(Position::Start, &e))?;
        let mut file = File {
            src,
            len,
            visited: std::collections::HashSet::new(),
        };
        let id = file.read_at(0, 64, "identification block")?;
        if id.starts_with(b"UnFinMF ") {
            return Err(corrupt(
                0,
                "an unfinalized MF4 file (the logger did not close it): finalize it first",
            ));
        }
        if !id.starts_with(b"MDF     ") {
            return Err(corrupt(0, "not an MDF file: no 'MDF' identification"));
        }
        let version = u16_at(&id, 28);
        if !(400..500).contains(&version) {
            return Err(unsupported(
                28,
                format!("MDF version {version}: only MDF 4 is read"),
            ));
        }
        let hd = file.block(64, &[b"##HD"])?;
        let start = Duration::from_nanos(u64_at(hd.data(8, "HD")?, 0));
        let mut reader = Mf4Reader {
            file,
            start,
            groups: Vec::new(),
            skipped: Skipped::default(),
            done: false,
        };
        let mut dg_at = hd.link(0);
        while dg_at != 0 {
            reader.file.visit(dg_at, "data group")?;
            let dg = reader.file.block(dg_at, &[b"##DG"])?;
            reader.data_group(&dg)?;
            dg_at = dg.link(0);
        }
        Ok(reader)
    }

    fn data_group(&mut self, dg: &Block) -> Result<(), Error> {
        let id_size = usize::from(dg.data(1, "DG")?[0]);
        if !matches!(id_size, 0 | 1 | 2 | 4 | 8) {
            return Err(corrupt(dg.at, format!("DG block record id size {id_size}")));
        }
        let mut sizes = Vec::new();
        let mut found = Vec::new();
        let mut cg_at = dg.link(1);
        while cg_at != 0 {
            self.file.visit(cg_at, "channel group")?;
            let cg = self.file.block(cg_at, &[b"##CG"])?;
            let d = cg.data(32, "CG")?;
            let (record_id, cycles, flags) = (u64_at(d, 0), u64_at(d, 8), u16_at(d, 16));
            let size = u64::from(u32_at(d, 24)) + u64::from(u32_at(d, 28));
            let size = usize::try_from(size).map_err(|_| corrupt(cg.at, "record size"))?;
            sizes.push((
                record_id,
                if flags & 1 != 0 {
                    Size::Variable
                } else {
                    Size::Fixed(size)
                },
            ));
            match self.channel_group(&cg, size)? {
                Found::Frames(layout) => found.push((record_id, size, *layout)),
                Found::Remote => self.skipped.remote += cycles,
                Found::Error => self.skipped.error += cycles,
                Found::Other if flags & 2 != 0 => self.skipped.other += cycles,
                Found::Other => {}
            }
            cg_at = cg.link(0);
        }
        if found.is_empty() {
            return Ok(());
        }
        let blocks = self.data_blocks(dg.link(2))?;
        for (record_id, size, layout) in found {
            self.groups.push(Group {
                layout,
                size,
                id_size,
                record_id,
                others: sizes.clone(),
                blocks: blocks.clone(),
                next_block: 0,
                piece: None,
                buf: Vec::new(),
                pos: 0,
                block_at: dg.at,
                pending: None,
                done: false,
            });
        }
        Ok(())
    }

    /// The DT and DZ blocks a data group's data link leads to, in order.
    fn data_blocks(&mut self, at: u64) -> Result<Vec<u64>, Error> {
        if at == 0 {
            return Ok(Vec::new());
        }
        let (id, _, _) = self
            .file
            .header(at, &[b"##DT", b"##DZ", b"##DL", b"##HL"])?;
        let mut dl_at = match &id {
            b"##HL" => self.file.block(at, &[b"##HL"])?.link(0),
            b"##DL" => at,
            _ => return Ok(vec![at]),
        };
        let mut blocks = Vec::new();
        while dl_at != 0 {
            self.file.visit(dl_at, "data list")?;
            let dl = self.file.block(dl_at, &[b"##DL"])?;
            let count = u32_at(dl.data(8, "DL")?, 4);
            let listed = usize::try_from(count)
                .ok()
                .and_then(|c| dl.links.get(1..=c))
                .ok_or_else(|| {
                    corrupt(
                        dl.at,
                        format!(
                            "DL block lists {count} data blocks in {} links",
                            dl.links.len().saturating_sub(1)
                        ),
                    )
                })?;
            blocks.extend(listed.iter().filter(|&&l| l != 0));
            dl_at = dl.link(0);
        }
        Ok(blocks)
    }

    fn channel_group(&mut self, cg: &Block, size: usize) -> Result<Found, Error> {
        let mut names = Vec::new();
        let mut fields: Vec<(String, Field, u64)> = Vec::new();
        let mut time = None;
        let mut chains = vec![cg.link(1)];
        while let Some(mut cn_at) = chains.pop() {
            while cn_at != 0 {
                self.file.visit(cn_at, "channel")?;
                let cn = self.file.block(cn_at, &[b"##CN"])?;
                let d = cn.data(24, "CN")?;
                let name = self.file.text(cn.link(2))?;
                let (cn_type, sync, data_type) = (d[0], d[1], d[2]);
                let field = Field {
                    byte: usize::try_from(u32_at(d, 4)).unwrap_or(usize::MAX),
                    bit: u32::from(d[3]),
                    bits: u32_at(d, 8),
                    kind: match data_type {
                        0..=3 => Kind::Unsigned,
                        4 | 5 => Kind::Float,
                        6..=9 => Kind::Text,
                        _ => Kind::Bytes,
                    },
                    big_endian: matches!(data_type, 1 | 3 | 5),
                };
                if matches!(cn_type, 2 | 3) && sync == 1 {
                    if cn_type == 3 {
                        return Err(unsupported(
                            cn.at,
                            "a virtual time channel (times from the record index)",
                        ));
                    }
                    let (offset, factor) = self.conversion(cn.link(4))?;
                    time = Some((
                        cn.at,
                        Time {
                            field,
                            offset,
                            factor,
                        },
                    ));
                } else if cn.link(1) != 0 {
                    // A structure: its members follow in their own chain.
                    let (id, _, _) = self.file.header(cn.link(1), &[b"##CN", b"##CA"])?;
                    if &id == b"##CN" {
                        chains.push(cn.link(1));
                    }
                } else if cn_type == 1 && name.ends_with(".DataBytes") {
                    return Err(unsupported(
                        cn.at,
                        format!("{name} as variable-length signal data"),
                    ));
                } else {
                    fields.push((name.clone(), field, cn.at));
                }
                names.push(name);
                cn_at = cn.link(0);
            }
        }
        let has = |n: &str| names.iter().any(|x| x == n);
        if has("CAN_RemoteFrame") {
            return Ok(Found::Remote);
        }
        if has("CAN_ErrorFrame") {
            return Ok(Found::Error);
        }
        if !has("CAN_DataFrame") && !names.iter().any(|n| n.starts_with("CAN_DataFrame.")) {
            return Ok(Found::Other);
        }
        // Only the members read are checked: other channels may be of any shape.
        let get = |member: &str| -> Result<Option<Field>, Error> {
            let Some((name, f, at)) = fields
                .iter()
                .find(|(n, _, _)| n.strip_prefix("CAN_DataFrame.") == Some(member))
            else {
                return Ok(None);
            };
            if !f.fits(size) {
                return Err(unsupported(
                    *at,
                    format!(
                        "channel '{name}' of {} bits at byte {} bit {} (data type {:?}) is not read here or does not fit a {size}-byte record",
                        f.bits, f.byte, f.bit, f.kind
                    ),
                ));
            }
            Ok(Some(*f))
        };
        let missing =
            |what: &str| unsupported(cg.at, format!("CAN_DataFrame group without {what}"));
        let (_, time) = time.ok_or_else(|| missing("a time channel"))?;
        let id = get("ID")?.ok_or_else(|| missing("CAN_DataFrame.ID"))?;
        let data = get("DataBytes")?.ok_or_else(|| missing("CAN_DataFrame.DataBytes"))?;
        if !time.field.fits(size) || !matches!(time.field.kind, Kind::Unsigned | Kind::Float) {
            return Err(unsupported(
                cg.at,
                format!(
                    "a time channel of {} bits at byte {} of a {size}-byte record",
                    time.field.bits, time.field.byte
                ),
            ));
        }
        Ok(Found::Frames(Box::new(Layout {
            time,
            id,
            data,
            channel: get("BusChannel")?,
            ide: get("IDE")?,
            dlc: get("DLC")?,
            length: get("DataLength")?,
            dir: get("Dir")?,
            edl: get("EDL")?,
            brs: get("BRS")?,
            esi: get("ESI")?,
        })))
    }

    /// Offset and factor of a CC block: none, or linear.
    fn conversion(&mut self, at: u64) -> Result<(f64, f64), Error> {
        if at == 0 {
            return Ok((0.0, 1.0));
        }
        let cc = self.file.block(at, &[b"##CC"])?;
        let d = cc.data(24, "CC")?;
        match d[0] {
            0 => Ok((0.0, 1.0)),
            1 => {
                let d = cc.data(40, "CC")?;
                Ok((f64::from_bits(u64_at(d, 24)), f64::from_bits(u64_at(d, 32))))
            }
            t => Err(unsupported(
                at,
                format!("time channel conversion of type {t} (only linear is read)"),
            )),
        }
    }
}

enum Found {
    Frames(Box<Layout>),
    Remote,
    Error,
    Other,
}

impl Group {
    /// Makes `len` bytes available at `buf[pos..]`, loading data blocks; false at the end of the data.
    fn fill(&mut self, file: &mut File, len: usize) -> Result<bool, Error> {
        while self.buf.len() - self.pos < len {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            let piece = match self.piece.take() {
                Some(p) => p,
                None => {
                    let Some(&at) = self.blocks.get(self.next_block) else {
                        return Ok(false);
                    };
                    self.next_block += 1;
                    let (id, blen, links) = file.header(at, &[b"##DT", b"##DZ"])?;
                    let data_at = at + 24 + links * 8;
                    let data_len = blen - 24 - links * 8;
                    if &id == b"##DT" {
                        Piece::Plain {
                            at: data_at,
                            len: data_len,
                        }
                    } else {
                        Piece::Deflated { at }
                    }
                }
            };
            match piece {
                Piece::Plain { at, len } => {
                    let n = len.min(PIECE);
                    self.block_at = at;
                    let b = file.read_at(at, n, "DT block data")?;
                    self.buf.extend_from_slice(&b);
                    if len > n {
                        self.piece = Some(Piece::Plain {
                            at: at + n,
                            len: len - n,
                        });
                    }
                }
                Piece::Deflated { at } => {
                    self.block_at = at;
                    let (_, blen, links) = file.header(at, &[b"##DZ"])?;
                    let body =
                        file.read_at(at + 24 + links * 8, blen - 24 - links * 8, "DZ block")?;
                    inflate_dz(at, &body, &mut self.buf)?;
                }
            }
        }
        Ok(true)
    }

    /// The next frame record of this group, or a record that is not a frame (`Ok(None)` inside).
    fn next(&mut self, file: &mut File, start: Duration) -> Option<Result<Record, Error>> {
        loop {
            if self.done {
                return None;
            }
            match self.step(file, start) {
                Ok(Some(r)) => return Some(r),
                Ok(None) => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// One record: `Ok(Some)` a result for the caller, `Ok(None)` a record of another group.
    fn step(
        &mut self,
        file: &mut File,
        start: Duration,
    ) -> Result<Option<Result<Record, Error>>, Error> {
        let id_size = self.id_size;
        if !self.fill(file, id_size.max(1))? {
            self.done = true;
            return if self.buf.len() > self.pos {
                Err(corrupt(
                    self.block_at,
                    format!(
                        "the data ends inside a record ({} bytes left over)",
                        self.buf.len() - self.pos
                    ),
                ))
            } else {
                Ok(None)
            };
        }
        let mut size = self.size;
        let mut ours = true;
        if id_size > 0 {
            let mut w = [0u8; 8];
            w[..id_size].copy_from_slice(&self.buf[self.pos..self.pos + id_size]);
            let rid = u64::from_le_bytes(w);
            ours = rid == self.record_id;
            size = match self.others.iter().find(|(r, _)| *r == rid) {
                Some((_, Size::Fixed(n))) => *n,
                Some((_, Size::Variable)) => {
                    if !self.fill(file, id_size + 4)? {
                        return Err(corrupt(self.block_at, "the data ends inside a record"));
                    }
                    4 + u32_at(&self.buf, self.pos + id_size) as usize
                }
                None => {
                    return Err(corrupt(
                        self.block_at,
                        format!("record of unknown record id {rid}"),
                    ))
                }
            };
        }
        if u64::try_from(id_size + size).unwrap_or(u64::MAX) > MAX_BLOCK {
            return Err(corrupt(self.block_at, format!("record of {size} bytes")));
        }
        if !self.fill(file, id_size + size)? {
            return Err(corrupt(
                self.block_at,
                "the data ends inside a record".to_string(),
            ));
        }
        let at = self.pos + id_size;
        self.pos += id_size + size;
        if !ours {
            return Ok(None);
        }
        let rec = &self.buf[at..at + size];
        Ok(Some(decode(&self.layout, rec, start).map_err(|m| {
            Error::malformed(Position::Offset(self.block_at), m)
        })))
    }
}

/// Inflates the body of a DZ block (after its header) onto `out`, undoing the transposition.
fn inflate_dz(at: u64, body: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    if body.len() < 24 {
        return Err(corrupt(at, "DZ block too short"));
    }
    if &body[..2] != b"DT" {
        return Err(unsupported(
            at,
            format!(
                "DZ block of '{}' data (only DT is read)",
                super::error::shorten(&body[..2])
            ),
        ));
    }
    let (zip, param) = (body[2], u32_at(body, 4) as usize);
    let (org_len, len) = (u64_at(body, 8), u64_at(body, 16));
    let org = match usize::try_from(org_len) {
        Ok(org) if org_len <= MAX_BLOCK => org,
        _ => {
            return Err(unsupported(
                at,
                format!("DZ block of {org_len} bytes uncompressed (at most {MAX_BLOCK})"),
            ))
        }
    };
    let packed = usize::try_from(len)
        .ok()
        .and_then(|l| body.get(24..24 + l))
        .ok_or_else(|| corrupt(at, format!("DZ block declares {len} compressed bytes")))?;
    // Deflate packs at most 1032 to 1: a larger claim is corrupt, and is not allocated.
    if org_len > packed.len() as u64 * 1032 + 1024 {
        return Err(corrupt(
            at,
            format!(
                "DZ block claims {org_len} bytes from {} compressed",
                packed.len()
            ),
        ));
    }
    let mut plain = vec![0u8; org];
    let mut z = Decompress::new(true);
    let status = z
        .decompress(packed, &mut plain, FlushDecompress::Finish)
        .map_err(|e| corrupt(at, format!("DZ block: bad deflate data: {e}")))?;
    if status != Status::StreamEnd {
        return Err(corrupt(
            at,
            format!("DZ block: the deflate data goes on past the {org_len} bytes declared"),
        ));
    }
    if z.total_out() != org_len {
        return Err(corrupt(
            at,
            format!(
                "DZ block inflates to {} bytes, declares {org_len}",
                z.total_out()
            ),
        ));
    }
    match zip {
        0 => out.extend_from_slice(&plain),
        1 => {
            if param == 0 {
                return Err(corrupt(at, "DZ block transposed over 0 columns"));
            }
            let rows = org / param;
            let base = out.len();
            out.resize(base + org, 0);
            let dst = &mut out[base..];
            // In tiles of 64 rows: the tile's records stay in cache while each column is read
            // in order.
            const TILE: usize = 64;
            for r0 in (0..rows).step_by(TILE) {
                let r1 = (r0 + TILE).min(rows);
                let tile = &mut dst[r0 * param..r1 * param];
                for c in 0..param {
                    let col = &plain[c * rows + r0..c * rows + r1];
                    for (row, &b) in tile.chunks_exact_mut(param).zip(col) {
                        row[c] = b;
                    }
                }
            }
            dst[rows * param..].copy_from_slice(&plain[rows * param..]);
        }
        z => return Err(unsupported(at, format!("DZ block zip type {z}"))),
    }
    Ok(())
}

/// One record of a `CAN_DataFrame` group as a [`Record`].
#[inline]
fn decode(l: &Layout, rec: &[u8], start: Duration) -> Result<Record, String> {
    let flag = |f: Option<Field>| f.is_some_and(|f| f.uint(rec) != 0);
    let seconds = l.time.seconds(rec);
    let nanos = (seconds * 1e9).round();
    if !(-1.8e19..1.8e19).contains(&nanos) {
        return Err(format!("frame time {seconds:e} s is outside the recording"));
    }
    // Below 1.8e19 by the check above, so within u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let offset = Duration::from_nanos(nanos.abs() as u64);
    let time = if nanos >= 0.0 {
        start.checked_add(offset)
    } else {
        start.checked_sub(offset)
    }
    .ok_or_else(|| format!("frame time {seconds:e} s is outside the recording"))?;
    let raw = l.id.uint(rec);
    let raw = u32::try_from(raw).map_err(|_| format!("CAN id {raw:#X} is wider than 32 bits"))?;
    let extended = match l.ide {
        Some(f) => f.uint(rec) != 0,
        // Without IDE, the top bit of a 32-bit ID says it (as CAN_DataFrame.ID is often written).
        None => raw & 0x8000_0000 != 0,
    };
    let id = CanId::new(raw & 0x1FFF_FFFF, extended).map_err(|e| e.to_string())?;
    let fd = flag(l.edl);
    let stored = l.data.slice(rec);
    let len = match (l.length, l.dlc) {
        // Too long for any data: refused below.
        (Some(f), _) => usize::try_from(f.uint(rec)).unwrap_or(usize::MAX),
        (None, Some(f)) => {
            let code = f.uint(rec);
            let code = u8::try_from(code).map_err(|_| format!("DLC {code}"))?;
            if fd {
                dlc::dlc_to_len(code).ok_or_else(|| format!("DLC {code}"))?
            } else {
                usize::from(code).min(8)
            }
        }
        (None, None) => stored.len(),
    };
    let data = stored.get(..len).ok_or_else(|| {
        format!(
            "data length {len} but CAN_DataFrame.DataBytes holds {}",
            stored.len()
        )
    })?;
    let frame = if fd {
        Frame::new_fd(id, data).map(|f| f.with_brs(flag(l.brs)).with_esi(flag(l.esi)))
    } else {
        Frame::new(id, &data[..len.min(dlc::CLASSIC_MAX_LEN)])
    }
    .map_err(|e| e.to_string())?;
    let channel = match l.channel {
        Some(f) => Channel::Number(u16::try_from(f.uint(rec)).unwrap_or(u16::MAX - 1) + 1),
        None => Channel::Number(1),
    };
    let direction = match l.dir {
        None => None,
        Some(f) if f.kind == Kind::Text => Some(if f.slice(rec).starts_with(b"Tx") {
            Direction::Tx
        } else {
            Direction::Rx
        }),
        Some(f) => Some(if f.uint(rec) != 0 {
            Direction::Tx
        } else {
            Direction::Rx
        }),
    };
    Ok(Record {
        time,
        channel,
        direction,
        frame,
    })
}

impl Iterator for Mf4Reader {
    type Item = Result<Record, Error>;

    #[inline]
    fn next(&mut self) -> Option<Result<Record, Error>> {
        if self.done {
            return None;
        }
        let (file, start) = (&mut self.file, self.start);
        if let [only] = self.groups.as_mut_slice() {
            let r = only.next(file, start);
            if r.as_ref()
                .map_or(true, |r| r.as_ref().is_err_and(Error::is_fatal))
            {
                self.done = true;
            }
            return r;
        }
        // Several groups: the earliest of their next records.
        let mut best: Option<(usize, Duration)> = None;
        for (i, g) in self.groups.iter_mut().enumerate() {
            if g.pending.is_none() {
                g.pending = g.next(file, start);
            }
            match &g.pending {
                Some(Ok(r)) if best.map_or(true, |(_, t)| r.time < t) => {
                    best = Some((i, r.time));
                }
                Some(Ok(_)) => {}
                // Errors first, as soon as they are met.
                Some(Err(_)) => {
                    best = Some((i, Duration::ZERO));
                    break;
                }
                None => {}
            }
        }
        let r = best.and_then(|(i, _)| self.groups[i].pending.take());
        if r.as_ref()
            .map_or(true, |r| r.as_ref().is_err_and(Error::is_fatal))
        {
            self.done = true;
        }
        r
    }
}

/// The record the writer writes, as python-can's MF4Writer does: time f64, BusChannel u8, ID u32,
/// IDE u8, DLC u8, DataLength u8, DataBytes [64], Dir u8, EDL u8, BRS u8, ESI u8.
const RECORD_BYTES: u32 = 84;
const RECORD: usize = RECORD_BYTES as usize;
/// Records per DZ block: about 1 MiB uncompressed.
const BLOCK_RECORDS: usize = (1 << 20) / RECORD;
/// The members of `CAN_DataFrame`: name, byte offset, bits, MDF data type (0 unsigned, 10 bytes).
const MEMBERS: [(&str, u32, u32, u8); 10] = [
    ("BusChannel", 8, 8, 0),
    ("ID", 9, 32, 0),
    ("IDE", 13, 8, 0),
    ("DLC", 14, 8, 0),
    ("DataLength", 15, 8, 0),
    ("DataBytes", 16, 512, 10),
    ("Dir", 80, 8, 0),
    ("EDL", 81, 8, 0),
    ("BRS", 82, 8, 0),
    ("ESI", 83, 8, 0),
];
/// Channel flag: a bus event channel.
const CN_BUS_EVENT: u32 = 1 << 10;
const HD_SIZE: usize = 104;

/// How the writer stores its data blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Packing {
    /// DT blocks.
    #[cfg_attr(not(test), allow(dead_code))]
    Plain,
    /// DZ blocks, deflated.
    #[cfg_attr(not(test), allow(dead_code))]
    Deflated,
    /// DZ blocks, transposed then deflated (the smallest; python-can's default).
    Transposed,
}

pub(crate) struct Mf4Writer<W: Write + Seek> {
    out: W,
    packing: Packing,
    /// Where the next block goes.
    at: u64,
    start: Option<Duration>,
    records: Vec<u8>,
    count: u64,
    /// File offset and uncompressed size of each DZ block written.
    blocks: Vec<(u64, u64)>,
    channels: ChannelNumbers,
}

/// A block: header, links, data, then zeros up to the next multiple of 8 bytes (the next block's
/// alignment), which the block's length does not count: a data block's length is its records.
fn block(id: &[u8; 4], links: &[u64], data: &[u8]) -> Vec<u8> {
    let len = 24 + links.len() * 8 + data.len();
    let mut b = Vec::with_capacity(len + 7);
    b.extend_from_slice(id);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&(len as u64).to_le_bytes());
    b.extend_from_slice(&(links.len() as u64).to_le_bytes());
    for l in links {
        b.extend_from_slice(&l.to_le_bytes());
    }
    b.extend_from_slice(data);
    b.resize(len.next_multiple_of(8), 0);
    b
}

/// Description blocks laid out one after another from `at`.
struct Blocks {
    at: u64,
    bytes: Vec<u8>,
}

impl Blocks {
    fn add(&mut self, id: &[u8; 4], links: &[u64], data: &[u8]) -> u64 {
        let at = self.at + self.bytes.len() as u64;
        self.bytes.extend_from_slice(&block(id, links, data));
        at
    }

    fn text(&mut self, s: &str) -> u64 {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.add(b"##TX", &[], &d)
    }

    /// A CN block: links next, composition, name, source, conversion, data, unit, comment.
    #[allow(clippy::too_many_arguments)]
    fn channel(
        &mut self,
        links: [u64; 8],
        cn_type: u8,
        sync: u8,
        data_type: u8,
        byte: u32,
        bits: u32,
        flags: u32,
    ) -> u64 {
        let mut d = vec![cn_type, sync, data_type, 0];
        d.extend_from_slice(&byte.to_le_bytes());
        d.extend_from_slice(&bits.to_le_bytes());
        d.extend_from_slice(&flags.to_le_bytes());
        d.extend_from_slice(&[0; 4]); // invalidation bit
        d.extend_from_slice(&[0; 4]); // precision, reserved, attachment count
        d.extend_from_slice(&[0; 48]); // value range, limits, extended limits
        self.add(b"##CN", &links, &d)
    }
}

impl<W: Write + Seek> Mf4Writer<W> {
    pub(crate) fn new(out: W) -> std::io::Result<Mf4Writer<W>> {
        Mf4Writer::with_packing(out, Packing::Transposed)
    }

    pub(crate) fn with_packing(mut out: W, packing: Packing) -> std::io::Result<Mf4Writer<W>> {
        let mut id = Vec::with_capacity(64);
        id.extend_from_slice(b"MDF     4.10    isotp   ");
        id.extend_from_slice(&[0; 4]);
        id.extend_from_slice(&410u16.to_le_bytes());
        id.resize(64, 0);
        out.write_all(&id)?;
        // The header is written at the end, when its links and the start time are known.
        out.write_all(&[0; HD_SIZE])?;
        Ok(Mf4Writer {
            out,
            packing,
            at: (64 + HD_SIZE) as u64,
            start: None,
            records: Vec::with_capacity(BLOCK_RECORDS * RECORD),
            count: 0,
            blocks: Vec::new(),
            channels: ChannelNumbers::default(),
        })
    }

    pub(crate) fn write(&mut self, r: &Record) -> std::io::Result<()> {
        let start = *self.start.get_or_insert(r.time);
        let f = &r.frame;
        let data = f.data();
        let mut rec = [0u8; RECORD];
        // A frame older than the first (an unordered log) gets a negative time.
        let t = match r.time.checked_sub(start) {
            Some(d) => d.as_secs_f64(),
            None => -(start - r.time).as_secs_f64(),
        };
        rec[0..8].copy_from_slice(&t.to_le_bytes());
        rec[8] = u8::try_from(self.channels.number(r.channel).saturating_sub(1)).unwrap_or(u8::MAX);
        rec[9..13].copy_from_slice(&f.id().raw().to_le_bytes());
        rec[13] = u8::from(f.id().is_extended());
        rec[14] = dlc::len_to_dlc(data.len()).unwrap_or(0);
        rec[15] = super::len_byte(f);
        rec[16..16 + data.len()].copy_from_slice(data);
        rec[80] = u8::from(r.direction == Some(Direction::Tx));
        rec[81] = u8::from(f.is_fd());
        rec[82] = u8::from(f.is_brs());
        rec[83] = u8::from(f.is_esi());
        self.records.extend_from_slice(&rec);
        self.count += 1;
        if self.records.len() >= BLOCK_RECORDS * RECORD {
            self.write_block()?;
        }
        Ok(())
    }

    /// The records so far as one data block.
    fn write_block(&mut self) -> std::io::Result<()> {
        let org = &self.records;
        if self.packing == Packing::Plain {
            let b = block(b"##DT", &[], org);
            self.out.write_all(&b)?;
            self.blocks.push((self.at, org.len() as u64));
            self.at += b.len() as u64;
            self.records.clear();
            return Ok(());
        }
        let transposed = self.packing == Packing::Transposed;
        let rows = org.len() / RECORD;
        let input = if transposed {
            let mut t = vec![0u8; org.len()];
            for (r, rec) in org.chunks_exact(RECORD).enumerate() {
                for (c, &b) in rec.iter().enumerate() {
                    t[c * rows + r] = b;
                }
            }
            t
        } else {
            org.clone()
        };
        let mut z = Compress::new(Compression::default(), true);
        let mut packed = Vec::with_capacity(org.len() / 2 + 64);
        loop {
            // A new compressor: its total is what it took of `input`, never more than its length.
            let before = usize::try_from(z.total_in()).map_or(input.len(), |n| n.min(input.len()));
            packed.reserve(64 << 10);
            let status = z
                .compress_vec(&input[before..], &mut packed, FlushCompress::Finish)
                .map_err(std::io::Error::other)?;
            if status == Status::StreamEnd {
                break;
            }
        }
        let mut d = Vec::with_capacity(24 + packed.len());
        d.extend_from_slice(b"DT");
        d.push(u8::from(transposed)); // 0 deflate, 1 transposition + deflate
        d.push(0);
        let columns = if transposed { RECORD_BYTES } else { 0 };
        d.extend_from_slice(&columns.to_le_bytes());
        d.extend_from_slice(&(org.len() as u64).to_le_bytes());
        d.extend_from_slice(&(packed.len() as u64).to_le_bytes());
        d.extend_from_slice(&packed);
        let b = block(b"##DZ", &[], &d);
        self.out.write_all(&b)?;
        self.blocks.push((self.at, org.len() as u64));
        self.at += b.len() as u64;
        self.records.clear();
        Ok(())
    }

    /// Writes out the complete blocks; the records of the current one stay until it is full.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        if !self.records.is_empty() {
            self.write_block()?;
        }
        let mut m = Blocks {
            at: self.at,
            bytes: Vec::new(),
        };
        let comment = m.add(
            b"##MD",
            &[],
            format!(
                "<FHcomment><TX>created</TX><tool_id>isotp</tool_id><tool_vendor>isotp</tool_vendor><tool_version>{}</tool_version></FHcomment>",
                env!("CARGO_PKG_VERSION")
            )
            .as_bytes(),
        );
        let start = self.start.unwrap_or_default();
        let start_ns = u64::try_from(start.as_nanos()).unwrap_or(u64::MAX);
        let mut fh = start_ns.to_le_bytes().to_vec();
        fh.extend_from_slice(&[0; 4]); // time zone and daylight saving offsets
        fh.push(0); // time flags: UTC
        fh.extend_from_slice(&[0; 3]);
        let fh = m.add(b"##FH", &[0, comment], &fh);
        // The data: an HL block over a DL block that lists the DZ blocks. The data group comes
        // last, so that a file cut short anywhere after the data has lost it.
        let data = if self.blocks.is_empty() {
            0
        } else {
            let mut links = vec![0];
            let mut d = vec![0u8; 4];
            let count = u32::try_from(self.blocks.len()).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "more than 2^32 data blocks in one MF4 file",
                )
            })?;
            d.extend_from_slice(&count.to_le_bytes());
            let mut offset = 0u64;
            for &(at, len) in &self.blocks {
                links.push(at);
                d.extend_from_slice(&offset.to_le_bytes());
                offset += len;
            }
            let dl = m.add(b"##DL", &links, &d);
            match self.packing {
                Packing::Plain => dl,
                Packing::Deflated => m.add(b"##HL", &[dl], &[0; 8]),
                Packing::Transposed => m.add(b"##HL", &[dl], &[0, 0, 1, 0, 0, 0, 0, 0]),
            }
        };
        let cg = data_frame_group(&mut m, self.count, 0);
        let dg = m.add(b"##DG", &[0, cg, data, 0], &[0; 8]);

        self.out.write_all(&m.bytes)?;
        let mut hd = start_ns.to_le_bytes().to_vec();
        hd.extend_from_slice(&[0; 4]); // time zone and daylight saving offsets
        hd.push(0); // time flags: UTC
        hd.extend_from_slice(&[0; 3]); // time class, flags, reserved
        hd.extend_from_slice(&[0; 16]); // start angle, start distance
        let hd = block(b"##HD", &[dg, fh, 0, 0, 0, 0], &hd);
        debug_assert_eq!(hd.len(), HD_SIZE);
        self.out.seek(SeekFrom::Start(64))?;
        self.out.write_all(&hd)?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The description of a `CAN_DataFrame` channel group of `count` records as the writer lays them
/// out ([`MEMBERS`]); its CG block's offset.
fn data_frame_group(m: &mut Blocks, count: u64, record_id: u64) -> u64 {
    // The members of CAN_DataFrame, last first so that each links to the next.
    let mut next = 0;
    for &(name, byte, bits, data_type) in MEMBERS.iter().rev() {
        let tx = m.text(&format!("CAN_DataFrame.{name}"));
        next = m.channel(
            [next, 0, tx, 0, 0, 0, 0, 0],
            0,
            0,
            data_type,
            byte,
            bits,
            CN_BUS_EVENT,
        );
    }
    let source_name = m.text("CAN");
    let source = m.add(b"##SI", &[source_name, 0, 0], &[2, 2, 0, 0, 0, 0, 0, 0]);
    let tx = m.text("CAN_DataFrame");
    let frame = m.channel(
        [0, next, tx, source, 0, 0, 0, 0],
        0,
        0,
        10,
        8,
        (RECORD_BYTES - 8) * 8,
        CN_BUS_EVENT,
    );
    let t_name = m.text("t");
    let unit = m.text("s");
    let master = m.channel([frame, 0, t_name, 0, 0, 0, unit, 0], 2, 1, 4, 0, 64, 0);
    let mut cg = Vec::new();
    cg.extend_from_slice(&record_id.to_le_bytes());
    cg.extend_from_slice(&count.to_le_bytes());
    cg.extend_from_slice(&0b110u16.to_le_bytes()); // bus event, plain bus event
    cg.extend_from_slice(&u16::from(b'.').to_le_bytes());
    cg.extend_from_slice(&[0; 4]);
    cg.extend_from_slice(&RECORD_BYTES.to_le_bytes());
    cg.extend_from_slice(&0u32.to_le_bytes());
    m.add(b"##CG", &[0, master, source_name, source, 0, 0], &cg)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::{ChannelName, ErrorKind, Format, Reader, Writer};

    fn records(n: usize) -> Vec<Record> {
        let ids = [
            CanId::new(0, false).unwrap(),
            CanId::new(0x7FF, false).unwrap(),
            CanId::new(0x1FFF_FFFF, true).unwrap(),
            CanId::new(0x18DA_F110, true).unwrap(),
        ];
        (0..n)
            .map(|i| {
                let id = ids[i % ids.len()];
                let data: Vec<u8> = (0..64).map(|b| (i * 7 + b) as u8).collect();
                let frame = match i % 4 {
                    0 => Frame::new(id, &data[..i % 9]).unwrap(),
                    1 => Frame::new_fd(id, &data[..dlc::padded_len(i % 65)])
                        .unwrap()
                        .with_brs(i % 3 == 0)
                        .with_esi(i % 5 == 0),
                    2 => Frame::new_fd(id, &data[..64])
                        .unwrap()
                        .with_brs(true)
                        .with_esi(true),
                    _ => Frame::new(id, &data[..8]).unwrap(),
                };
                Record {
                    time: Duration::new(1_700_000_000, 123_456_789)
                        + Duration::from_micros(i as u64 * 137),
                    channel: Channel::Number(1 + (i % 3) as u16),
                    direction: Some(if i % 2 == 0 {
                        Direction::Rx
                    } else {
                        Direction::Tx
                    }),
                    frame,
                }
            })
            .collect()
    }

    fn write(records: &[Record], packing: Packing) -> Vec<u8> {
        let mut w = Mf4Writer::with_packing(Cursor::new(Vec::new()), packing).unwrap();
        for r in records {
            w.write(r).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn read(bytes: &[u8]) -> Result<Vec<Record>, Error> {
        Reader::new(bytes, Format::Mf4)?.collect()
    }

    #[test]
    fn round_trip_every_packing_and_many_blocks() {
        let recs = records(BLOCK_RECORDS * 2 + 100);
        for packing in [Packing::Plain, Packing::Deflated, Packing::Transposed] {
            let bytes = write(&recs, packing);
            assert_eq!(Format::sniff(&bytes), Some(Format::Mf4));
            let got = read(&bytes).unwrap();
            assert_eq!(got.len(), recs.len(), "{packing:?}");
            for (g, w) in got.iter().zip(&recs) {
                assert_eq!(g, w, "{packing:?}");
            }
        }
    }

    #[test]
    fn names_become_numbers_and_an_empty_log_is_empty() {
        let mut r = records(2);
        r[0].channel = Channel::Name(ChannelName::new("vcan7").unwrap());
        r[1].direction = None;
        let mut w = Writer::new(Cursor::new(Vec::new()), Format::Mf4).unwrap();
        for x in &r {
            w.write(x).unwrap();
        }
        let got = read(&w.finish().unwrap().into_inner()).unwrap();
        assert_eq!(got[0].channel, Channel::Number(1));
        assert_eq!(got[1].direction, Some(Direction::Rx));
        assert!(read(&write(&[], Packing::Transposed)).unwrap().is_empty());
    }

    #[test]
    fn a_truncated_file_is_an_error_never_a_panic() {
        let bytes = write(&records(40), Packing::Transposed);
        for len in 0..bytes.len() {
            let got = read(&bytes[..len]);
            assert!(
                got.is_err(),
                "{len} bytes read as {:?}",
                got.map(|r| r.len())
            );
        }
        let plain = write(&records(40), Packing::Plain);
        // Cut inside the data block: the metadata is gone, so is the file.
        let err = read(&plain[..200]).unwrap_err();
        assert!(err.is_fatal(), "{err}");
    }

    #[test]
    fn corrupt_bytes_never_panic() {
        for packing in [Packing::Plain, Packing::Transposed] {
            let bytes = write(&records(20), packing);
            for at in 0..bytes.len() {
                let mut b = bytes.clone();
                b[at] ^= 0xA5;
                let _ = read(&b);
            }
        }
    }

    /// The records of `recs` as the writer lays them out, times from `start`.
    fn raw_records(recs: &[Record], start: Duration) -> Vec<Vec<u8>> {
        let plain = write(recs, Packing::Plain);
        let at = 64 + HD_SIZE + 24;
        plain[at..at + recs.len() * RECORD]
            .chunks_exact(RECORD)
            .zip(recs)
            .map(|(rec, r)| {
                let mut rec = rec.to_vec();
                rec[..8].copy_from_slice(&(r.time - start).as_secs_f64().to_le_bytes());
                rec
            })
            .collect()
    }

    #[test]
    fn unsorted_data_groups_and_several_frame_groups_merge_in_time() {
        let all = records(30);
        let start = all[0].time;
        // Even records in an unsorted data group, among records of two other groups (one of
        // variable length); odd ones in a sorted group of their own.
        let (a, b): (Vec<Record>, Vec<Record>) = all
            .iter()
            .partition(|r| (r.time - start).as_micros() / 137 % 2 == 0);
        let mut file = b"MDF     4.10    test    ".to_vec();
        file.resize(28, 0);
        file.extend_from_slice(&410u16.to_le_bytes());
        file.resize(64 + HD_SIZE, 0);
        let mut unsorted = Vec::new();
        for rec in raw_records(&a, start) {
            unsorted.push(1);
            unsorted.extend_from_slice(&rec);
            unsorted.extend_from_slice(&[2, 9, 9, 9, 9]);
            unsorted.extend_from_slice(&[3, 3, 0, 0, 0, 7, 7, 7]);
        }
        let dt1 = file.len() as u64;
        file.extend_from_slice(&block(b"##DT", &[], &unsorted));
        let dt2 = file.len() as u64;
        file.extend_from_slice(&block(b"##DT", &[], &raw_records(&b, start).concat()));
        let mut m = Blocks {
            at: file.len() as u64,
            bytes: Vec::new(),
        };
        let cg_data = |id: u64, flags: u16, size: u32| {
            let mut d = id.to_le_bytes().to_vec();
            d.extend_from_slice(&[0; 8]);
            d.extend_from_slice(&flags.to_le_bytes());
            d.extend_from_slice(&[0; 6]);
            d.extend_from_slice(&size.to_le_bytes());
            d.extend_from_slice(&[0; 4]);
            d
        };
        let cg3 = m.add(b"##CG", &[0, 0, 0, 0, 0, 0], &cg_data(3, 1, 0));
        let cg2 = m.add(b"##CG", &[cg3, 0, 0, 0, 0, 0], &cg_data(2, 0, 4));
        let cg1 = data_frame_group(&mut m, a.len() as u64, 1);
        let link = (cg1 - m.at) as usize + 24;
        m.bytes[link..link + 8].copy_from_slice(&cg2.to_le_bytes());
        let cg_b = data_frame_group(&mut m, b.len() as u64, 0);
        let dg2 = m.add(b"##DG", &[0, cg_b, dt2, 0], &[0; 8]);
        let dg1 = m.add(b"##DG", &[dg2, cg1, dt1, 0], &[1, 0, 0, 0, 0, 0, 0, 0]);
        file.extend_from_slice(&m.bytes);
        let mut hd = u64::try_from(start.as_nanos())
            .unwrap()
            .to_le_bytes()
            .to_vec();
        hd.resize(32, 0);
        file[64..64 + HD_SIZE].copy_from_slice(&block(b"##HD", &[dg1, 0, 0, 0, 0, 0], &hd));

        let got = read(&file).unwrap();
        assert!(!a.is_empty() && !b.is_empty());
        assert_eq!(got, all);
        // A record id the data group does not describe.
        let mut bad = file.clone();
        bad[dt1 as usize + 24 + 1 + RECORD] = 5;
        let err = read(&bad).unwrap_err();
        assert!(err.to_string().contains("unknown record id 5"), "{err}");
    }

    /// Gives the channel of the written file at byte `byte` of `bits` bits `wider` bits instead
    /// (a CN block's byte offset and bit count follow its 24-byte header and 8 links).
    fn widen_channel(file: &mut [u8], byte: u32, bits: u32, wider: u32) {
        let cn = (0..file.len() - 100)
            .find(|&at| {
                &file[at..at + 4] == b"##CN"
                    && u32_at(file, at + 92) == byte
                    && u32_at(file, at + 96) == bits
            })
            .expect("the channel");
        file[cn + 96..cn + 100].copy_from_slice(&wider.to_le_bytes());
    }

    #[test]
    fn an_id_wider_than_32_bits_is_an_error_not_a_truncated_id() {
        let mut bytes = write(&records(3), Packing::Plain);
        // The ID channel (byte 9, 32 bits) made 64 bits wide: it takes in IDE, DLC and data.
        widen_channel(&mut bytes, 9, 32, 64);
        let err = read(&bytes).unwrap_err();
        assert!(err.to_string().contains("wider than 32 bits"), "{err}");
    }

    #[test]
    fn a_dlc_wider_than_8_bits_is_an_error_not_its_low_byte() {
        let mut bytes = write(&records(3), Packing::Plain);
        // Without a DataLength channel the DLC gives the length; made 16 bits wide, the DLC
        // channel (byte 14) takes in the data length byte after it.
        let name = bytes
            .windows(11)
            .position(|w| w == b"DataLength\0")
            .expect("the DataLength name");
        bytes[name + 9] = b'X';
        widen_channel(&mut bytes, 14, 8, 16);
        let err = read(&bytes).unwrap_err();
        assert!(err.to_string().contains("DLC"), "{err}");
    }

    #[test]
    fn errors_name_the_block() {
        let bytes = write(&records(10), Packing::Transposed);
        // The DZ block starts right after the header; spoil its deflate stream.
        let dz = 64 + HD_SIZE;
        assert_eq!(&bytes[dz..dz + 4], b"##DZ");
        let mut b = bytes.clone();
        b[dz + 24 + 24 + 4] ^= 0xFF;
        let err = read(&b).unwrap_err();
        assert!(err.to_string().contains("DZ block"), "{err}");
        assert_eq!(err.kind, ErrorKind::Corrupt);
        // A header link past the end of the file.
        let mut b = bytes.clone();
        b[64 + 24..64 + 32].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let err = read(&b).unwrap_err();
        assert!(
            err.to_string().contains("past the end of the file"),
            "{err}"
        );
        // A data group that links to itself.
        let dg = u64_at(&bytes, 64 + 24) as usize;
        let mut b = bytes.clone();
        b[dg + 24..dg + 32].copy_from_slice(&(dg as u64).to_le_bytes());
        let err = read(&b).unwrap_err();
        assert!(err.to_string().contains("loops"), "{err}");
        // An unfinalized file.
        let mut b = bytes.clone();
        b[..8].copy_from_slice(b"UnFinMF ");
        let err = read(&b).unwrap_err();
        assert!(err.to_string().contains("unfinalized"), "{err}");
    }

    #[test]
    fn transposition_keeps_a_tail_that_is_not_a_whole_row() {
        // 2 rows of 3 columns, then 2 bytes that are not transposed.
        let plain = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let stored = [1u8, 4, 2, 5, 3, 6, 7, 8];
        let mut z = Compress::new(Compression::default(), true);
        let mut packed = Vec::with_capacity(64);
        z.compress_vec(&stored, &mut packed, FlushCompress::Finish)
            .unwrap();
        let mut body = b"DT".to_vec();
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(&8u64.to_le_bytes());
        body.extend_from_slice(&(packed.len() as u64).to_le_bytes());
        body.extend_from_slice(&packed);
        let mut out = Vec::new();
        inflate_dz(0, &body, &mut out).unwrap();
        assert_eq!(out, plain);
        // A declared size the data does not have.
        body[8] = 9;
        let err = inflate_dz(0, &body, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("declares 9"), "{err}");
    }
}
