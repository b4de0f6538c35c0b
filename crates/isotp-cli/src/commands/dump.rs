//! `isotp dump`: every CAN frame with its ISO-TP PCI explained, like isotpdump, live or from a log.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::time::Duration;

use isotp_capture::{Channel, Format, Record, Writer};
use isotp_core::wire::{explain, AddressLength, FrameView, PciType};
use isotp_core::{Address, CanId, Frame};

use crate::cli::{DumpArgs, RxExt};
use crate::commands::convert::Output;
use crate::error::{CliError, CliResult};
use crate::hex;
use crate::link_options::{self, AddressArgs};
use crate::output::{Color, ColorChoice, Out, Palette, Stamper, TimeMode};
use crate::source::{Captured, FrameSource, Next};
use crate::uds;

/// Which frames are shown: those of the conversation of -s/-d/-x, or all without ids.
#[derive(Clone, Debug)]
pub struct Filter {
    /// The conversation, as the -d side sees it, and as the -s side sees it.
    sides: Option<(Address, Option<Address>)>,
    /// isotpdump's -b: a broadcast id shown as the -s side.
    broadcast: Option<CanId>,
    /// isotpdump's -X any: the -d id, whatever its address byte.
    rx_any: Option<CanId>,
    /// isotpdump's -x any: the -s id, whatever its address byte.
    tx_any: Option<CanId>,
}

/// Which side sent a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The -s side.
    Tx,
    /// The -d side.
    Rx,
    /// No ids were given.
    Any,
}

impl Filter {
    /// From -s/-d/-x; without ids every frame is shown.
    pub fn new(args: &AddressArgs) -> CliResult<Filter> {
        if args.tx_id.is_none() && args.rx_id.is_none() {
            if args.ext.is_some() {
                return Err(CliError::usage(
                    "-x needs -s and/or -d: which ids lead with the address byte",
                ));
            }
            return Ok(Filter {
                sides: None,
                broadcast: None,
                rx_any: None,
                tx_any: None,
            });
        }
        let address = link_options::address_for(args.tx_id, args.rx_id, args.ext)?;
        let mirror = address.mirrored().ok().filter(Address::can_receive);
        Ok(Filter {
            sides: Some((address, mirror)),
            broadcast: None,
            rx_any: None,
            tx_any: None,
        })
    }

    /// From isotpdump's options: -s/-d/-x, -X (the address byte of the frames on -d, or any) and -b
    /// (a broadcast id shown as the -s side).
    pub fn for_dump(args: &DumpArgs) -> CliResult<Filter> {
        let mut address = args.address.clone();
        let tx_any = address.ext.is_some_and(|x| x.any);
        if let Some(ext) = address.ext.as_mut() {
            if tx_any {
                // Frames on -s are matched by id alone; the byte stands for the one they carry.
                ext.any = false;
            }
            if let Some(RxExt::Byte(rx)) = args.rx_ext {
                ext.rx = Some(rx);
            }
        }
        let mut filter = Filter::new(&address)?;
        filter.broadcast = args.broadcast;
        // -x any without -X: any byte on -d too, as -x names the byte of both directions.
        if args.rx_ext == Some(RxExt::Any) || (tx_any && args.rx_ext.is_none()) {
            filter.rx_any = args.address.rx_id;
        }
        if tx_any {
            filter.tx_any = args.address.tx_id;
        }
        Ok(filter)
    }

    /// The side that sent a frame and the address bytes before its PCI, or `None` for a frame
    /// filtered out.
    pub fn side(&self, frame: &Frame) -> Option<(Side, AddressLength)> {
        let Some((address, mirror)) = &self.sides else {
            let any = if self.broadcast == Some(frame.id()) {
                Side::Tx
            } else {
                Side::Any
            };
            return Some((any, AddressLength::Zero));
        };
        if self.broadcast == Some(frame.id()) {
            return Some((Side::Tx, address.tx_address_len()));
        }
        if self.rx_any == Some(frame.id()) && !frame.is_empty() {
            return Some((Side::Rx, address.rx_address_len()));
        }
        if self.tx_any == Some(frame.id()) && !frame.is_empty() {
            return Some((Side::Tx, AddressLength::One));
        }
        if address.accepts(frame).is_some() {
            Some((Side::Rx, address.rx_address_len()))
        } else {
            let m = mirror.as_ref()?;
            m.accepts(frame).map(|_| (Side::Tx, m.rx_address_len()))
        }
    }
}

/// Formats frames as isotpdump lines.
pub struct FrameFormatter {
    /// Colours.
    pub palette: Palette,
    /// Timestamps.
    pub stamper: Stamper,
    /// Show data as ASCII too.
    pub ascii: bool,
    /// Annotate UDS services.
    pub uds: bool,
    /// Show at most this many data bytes per frame (the rest as `...`).
    pub max_data: Option<usize>,
}

impl FrameFormatter {
    /// One line for a captured frame sent by `side`.
    pub fn line(&mut self, c: &Captured, side: Side, address_len: AddressLength) -> String {
        let view = explain(c.frame.data(), address_len);
        let stamp = self.stamper.stamp(c.time);
        let mut line = format!("{stamp} {}  {}", c.iface, c.frame.id());
        if let Some(b) = view.address_byte {
            line.push_str(&format!("{{{b:02X}}}"));
        }
        line.push_str(&format!("  {}  ", length_field(&c.frame)));
        let pci = self.pci_text(&view, side);
        line.push_str(&pci);
        if !view.data.is_empty() {
            line.push(' ');
            match self.max_data {
                Some(max) if view.data.len() > max => {
                    line.push_str(&hex::spaced(&view.data[..max]));
                    line.push_str(" ...");
                }
                _ => line.push_str(&hex::spaced(view.data)),
            }
            if self.ascii {
                line.push_str(&format!("  - '{}'", hex::ascii(view.data)));
            }
        }
        let kind = view.pci.pci_type();
        if self.uds && matches!(kind, Some(PciType::SingleFrame | PciType::FirstFrame)) {
            if let Some(text) = uds::describe(view.data) {
                line.push_str(&self.palette.paint(&format!("  [{text}]"), Color::Cyan));
            }
        }
        if let Some(problem) = &view.problem {
            line.push_str(
                &self
                    .palette
                    .paint(&format!("  (invalid: {problem})"), Color::Yellow),
            );
        }
        match side {
            Side::Tx => self.palette.paint(&line, Color::Red),
            Side::Rx => self.palette.paint(&line, Color::Blue),
            Side::Any => line,
        }
    }

    fn pci_text(&self, view: &FrameView<'_>, side: Side) -> String {
        let kind = view.pci.pci_type();
        // isotpdump's layout: frames that carry data end their PCI in a column, then "data:".
        let text = match kind {
            Some(PciType::SingleFrame | PciType::FirstFrame | PciType::ConsecutiveFrame) => {
                format!("{:<13} data:", view.pci.to_string())
            }
            _ => view.pci.to_string(),
        };
        if side != Side::Any {
            // The whole line is coloured by side.
            return text;
        }
        let color = match kind {
            Some(PciType::SingleFrame) => Color::Green,
            Some(PciType::FirstFrame) => Color::Bold,
            Some(PciType::ConsecutiveFrame) => return text,
            Some(PciType::FlowControl) => Color::Yellow,
            None => Color::Dim,
        };
        self.palette.paint(&text, color)
    }
}

/// Runs `isotp dump`.
pub fn run(args: &DumpArgs, color: ColorChoice) -> CliResult {
    let color = if args.colour {
        ColorChoice::Always
    } else {
        color
    };
    let mut source = FrameSource::open(&args.source)?;
    let filter = Filter::for_dump(args)?;
    if let Some(path) = &args.write {
        return record(
            path,
            args.write_format,
            args.source.count,
            &mut source,
            &filter,
        );
    }
    let mut formatter = FrameFormatter {
        palette: Palette::for_stdout(color),
        stamper: Stamper::new(args.time),
        ascii: args.ascii,
        uds: args.uds,
        max_data: None,
    };
    let mut out = if source.is_log() {
        Out::buffered()
    } else {
        Out::live()
    };
    let mut shown = 0u64;
    let result = loop {
        if args.source.count.is_some_and(|n| shown >= n) {
            break Ok(());
        }
        match source.next(None) {
            Ok(Next::Frame(c)) => {
                let Some((side, address_len)) = filter.side(&c.frame) else {
                    continue;
                };
                if let Err(e) = out.line(&formatter.line(&c, side, address_len)) {
                    break Err(e);
                }
                shown += 1;
            }
            Ok(Next::Idle(_)) => {}
            Ok(Next::End) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    out.flush()?;
    source.finish();
    result
}

/// `isotp dump -w` (and `isotp extcap --capture`): at most `count` frames that pass the filter into a
/// recording at `path` (`-`: standard output; a fifo will do), in `format` or the one its extension
/// names (pcapng for standard output).
pub fn record(
    path: &Path,
    format: Option<Format>,
    count: Option<u64>,
    source: &mut FrameSource,
    filter: &Filter,
) -> CliResult {
    let stdout = path.as_os_str() == "-";
    let format = match format {
        Some(f) => f,
        None if stdout => Format::Pcapng,
        None => Format::from_path(path).ok_or_else(|| {
            CliError::usage(format!(
                "cannot tell the format of '{}' from its extension: give --write-format pcapng|pcap|candump|asc|blf|mf4",
                path.display()
            ))
        })?,
    };
    if !format.is_writable() {
        return Err(CliError::usage(format!(
            "writing {} is not supported: record pcapng, pcap, candump, asc, blf or mf4",
            format.description()
        )));
    }
    let live = !source.is_log();
    if !format.is_streamable() && (stdout || live) {
        return Err(CliError::usage(
            "BLF and MF4 complete their headers at the end, so they are written to a file from a log: record live traffic as pcapng (or candump, ASC) and convert it",
        ));
    }
    let out = if stdout {
        Output::Stdout(BufWriter::with_capacity(1 << 16, io::stdout()))
    } else {
        let f = File::create(path)
            .map_err(|e| CliError::usage(format!("cannot create '{}': {e}", path.display())))?;
        Output::File(BufWriter::with_capacity(1 << 16, f))
    };
    let failed = |e: isotp_capture::Error| {
        if e.message.contains("Broken pipe") {
            CliError::output(io::Error::from(io::ErrorKind::BrokenPipe))
        } else {
            CliError::failure(format!("{}: {e}", written_to(path)))
        }
    };
    let mut writer = Writer::new(out, format).map_err(failed)?;
    // Live, what is recorded reaches the file or pipe at once: a capture is stopped by Ctrl-C,
    // and a reader of the pipe shows frames as they come.
    writer.flush().map_err(failed)?;
    let mut written = 0u64;
    let result = loop {
        if count.is_some_and(|n| written >= n) {
            break Ok(());
        }
        match source.next(None) {
            Ok(Next::Frame(c)) => {
                if filter.side(&c.frame).is_none() {
                    continue;
                }
                let record = Record {
                    time: Duration::from_micros(c.time.as_micros()),
                    channel: Channel::from_name(&c.iface).unwrap_or(Channel::Number(1)),
                    direction: None,
                    frame: c.frame,
                };
                writer.write(&record).map_err(failed)?;
                if live {
                    writer.flush().map_err(failed)?;
                }
                written += 1;
            }
            Ok(Next::Idle(_)) => {}
            Ok(Next::End) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    writer.finish().map_err(failed)?;
    source.finish();
    if !stdout {
        crate::output::note(&format!("{written} frames written to {}", written_to(path)));
    }
    result
}

fn written_to(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard output".into()
    } else {
        path.display().to_string()
    }
}

/// `[8]` for a classic frame, `[08]` for CAN FD (as isotpdump), `*` marking the bit rate switch.
pub fn length_field(frame: &Frame) -> String {
    if frame.is_fd() {
        format!(
            "[{:02}]{}",
            frame.len(),
            if frame.is_brs() { "*" } else { "" }
        )
    } else {
        format!("[{}]", frame.len())
    }
}

/// A formatter without timestamps or extras (used by the demo), showing at most `max_data` data
/// bytes per frame.
pub fn plain_formatter(palette: Palette, uds: bool, max_data: Option<usize>) -> FrameFormatter {
    FrameFormatter {
        palette,
        stamper: Stamper::new(TimeMode::None),
        ascii: false,
        uds,
        max_data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link_options::{parse_can_id, parse_ext_addr};
    use crate::output::Timestamp;
    use isotp_core::Frame;

    fn captured(id: &str, data: &[u8]) -> Captured {
        Captured {
            time: Timestamp::from_micros(1_700_000_000_000_000),
            iface: "can0".into(),
            frame: Frame::new(parse_can_id(id).unwrap(), data).unwrap(),
        }
    }

    #[test]
    fn filters_by_ids_and_address_bytes() {
        let args = AddressArgs {
            tx_id: parse_can_id("6F1").ok(),
            rx_id: parse_can_id("610").ok(),
            ext: parse_ext_addr("10:F1").ok(),
        };
        let f = Filter::new(&args).unwrap();
        let side = |id, data: &[u8]| f.side(&captured(id, data).frame);
        let one = AddressLength::One;
        assert_eq!(side("6F1", &[0x10, 0x01, 0x3E]), Some((Side::Tx, one)));
        assert_eq!(side("6F1", &[0x11, 0x01, 0x3E]), None);
        assert_eq!(side("610", &[0xF1, 0x01, 0x7E]), Some((Side::Rx, one)));
        assert_eq!(side("123", &[0xF1]), None);
        let all = Filter::new(&AddressArgs::default()).unwrap();
        assert_eq!(
            all.side(&captured("123", &[]).frame),
            Some((Side::Any, AddressLength::Zero))
        );
        let only_tx = Filter::new(&AddressArgs {
            tx_id: parse_can_id("7E0").ok(),
            ..AddressArgs::default()
        })
        .unwrap();
        assert_eq!(
            only_tx.side(&captured("7E0", &[0x02, 0x3E, 0x00]).frame),
            Some((Side::Tx, AddressLength::Zero))
        );
        assert_eq!(
            only_tx.side(&captured("7E8", &[0x02, 0x7E, 0x00]).frame),
            None
        );
        let bad = AddressArgs {
            ext: parse_ext_addr("10").ok(),
            ..AddressArgs::default()
        };
        assert!(Filter::new(&bad).is_err());
    }

    #[test]
    fn length_fields() {
        assert_eq!(length_field(&captured("7E0", &[1, 2, 3]).frame), "[3]");
        let fd = Frame::new_fd(parse_can_id("001").unwrap(), &[0; 12])
            .unwrap()
            .with_brs(true);
        assert_eq!(length_field(&fd), "[12]*");
    }

    #[test]
    fn lines_look_like_isotpdump() {
        let mut f = plain_formatter(Palette::plain(), true, None);
        let line = f.line(
            &captured("7E0", &[0x03, 0x22, 0xF1, 0x90]),
            Side::Tx,
            AddressLength::Zero,
        );
        assert_eq!(
            line,
            " can0  7E0  [4]  [SF] ln: 3    data: 22 F1 90  [ReadDataByIdentifier VIN (F190)]"
        );
        f.ascii = true;
        f.stamper = Stamper::new(TimeMode::Absolute);
        let line = f.line(
            &captured("7E8", &[0x30, 0x00, 0x00]),
            Side::Rx,
            AddressLength::Zero,
        );
        assert_eq!(
            line,
            "(1700000000.000000)  can0  7E8  [3]  [FC] FC: 0 = CTS # BS: 0 = off # STmin: 0x00 = 0 ms"
        );
        let line = f.line(
            &captured("7E8", &[0x21, b'A', b'B']),
            Side::Rx,
            AddressLength::Zero,
        );
        assert!(
            line.ends_with("[CF] sn: 1    data: 41 42  - 'AB'"),
            "{line}"
        );
        let line = f.line(
            &captured("7E8", &[0x07, 0x01]),
            Side::Rx,
            AddressLength::Zero,
        );
        assert!(line.contains("(invalid: "), "{line}");
        f.max_data = Some(2);
        f.ascii = false;
        let line = f.line(
            &captured("7E8", &[0x21, 1, 2, 3]),
            Side::Rx,
            AddressLength::Zero,
        );
        assert!(line.ends_with("data: 01 02 ..."), "{line}");
    }
}
