//! `isotp dump`: every CAN frame with its ISO-TP PCI explained, like isotpdump, live or from a log.

use isotp_core::wire::PciType;
use isotp_core::{Address, Frame};

use crate::cli::DumpArgs;
use crate::decode::{self, FrameView};
use crate::error::{CliError, CliResult};
use crate::hex;
use crate::link_options::{self, AddressArgs};
use crate::output::{Color, ColorChoice, Out, Palette, Stamper, TimeMode};
use crate::source::{Captured, FrameSource, Next};
use crate::uds;

/// Which frames are shown, and how many address bytes lead them.
#[derive(Clone, Copy, Debug)]
pub struct Filter {
    /// The link of -s/-d/-x as the -s side sees it, and as its peer does; `None` shows every frame.
    address: Option<(Address, Address)>,
    address_len: usize,
}

/// Which side sent a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The -s id.
    Tx,
    /// The -d id.
    Rx,
    /// No ids were given.
    Any,
}

impl Filter {
    /// From -s/-d/-x; without ids every frame is shown.
    pub fn new(args: &AddressArgs) -> CliResult<Filter> {
        let address = match (args.tx_id, args.rx_id) {
            (None, None) => None,
            (tx, rx) => {
                let own = link_options::address_for(tx, rx, args.ext)?;
                let peer = own.mirrored().map_err(|e| CliError::usage(e.to_string()))?;
                Some((own, peer))
            }
        };
        Ok(Filter {
            address,
            address_len: usize::from(args.ext.is_some()),
        })
    }

    /// The side of a frame that is shown, or `None` for a frame filtered out.
    pub fn side(&self, frame: &Frame) -> Option<Side> {
        let Some((own, peer)) = &self.address else {
            return Some(Side::Any);
        };
        // The -s side's frames are what its peer receives.
        if peer.accepts(frame).is_some() {
            Some(Side::Tx)
        } else if own.accepts(frame).is_some() {
            Some(Side::Rx)
        } else {
            None
        }
    }

    /// Address bytes before the PCI.
    pub fn address_len(&self) -> usize {
        self.address_len
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
    pub fn line(&mut self, c: &Captured, side: Side, address_len: usize) -> String {
        let view = decode::explain(&c.frame, address_len);
        let stamp = self.stamper.stamp(c.time);
        let mut line = format!("{stamp} {}  {}", c.iface, c.frame.id());
        if let Some(b) = view.address_byte {
            line.push_str(&format!("{{{b:02X}}}"));
        }
        line.push_str(&format!("  {}  ", decode::length_field(&c.frame)));
        let pci = self.pci_text(&view, side);
        line.push_str(&pci);
        if !view.data.is_empty() {
            line.push(' ');
            match self.max_data {
                Some(max) if view.data.len() > max => {
                    line.push_str(&hex::spaced(&view.data[..max]));
                    line.push_str(" ...");
                }
                _ => line.push_str(&decode::data_text(&view)),
            }
            if self.ascii {
                line.push_str(&format!("  - '{}'", hex::ascii(&view.data)));
            }
        }
        if self.uds && matches!(view.kind, Some(PciType::SingleFrame | PciType::FirstFrame)) {
            if let Some(text) = uds::describe(&view.data) {
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

    fn pci_text(&self, view: &FrameView, side: Side) -> String {
        if side != Side::Any {
            // The whole line is coloured by side.
            return view.pci.clone();
        }
        let color = match view.kind {
            Some(PciType::SingleFrame) => Color::Green,
            Some(PciType::FirstFrame) => Color::Bold,
            Some(PciType::ConsecutiveFrame) => return view.pci.clone(),
            Some(PciType::FlowControl) => Color::Yellow,
            None => Color::Dim,
        };
        self.palette.paint(&view.pci, color)
    }
}

/// Runs `isotp dump`.
pub fn run(args: &DumpArgs, color: ColorChoice) -> CliResult {
    let mut source = FrameSource::open(&args.source)?;
    let filter = Filter::new(&args.address)?;
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
                let Some(side) = filter.side(&c.frame) else {
                    continue;
                };
                if let Err(e) = out.line(&formatter.line(&c, side, filter.address_len())) {
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
        let frame = |id, data: &[u8]| Frame::new(parse_can_id(id).unwrap(), data).unwrap();
        assert_eq!(f.side(&frame("6F1", &[0x10, 0x01, 0x3E])), Some(Side::Tx));
        assert_eq!(f.side(&frame("6F1", &[0x11, 0x01, 0x3E])), None);
        assert_eq!(f.side(&frame("610", &[0xF1, 0x01, 0x7E])), Some(Side::Rx));
        assert_eq!(f.side(&frame("123", &[0xF1])), None);
        assert_eq!(f.address_len(), 1);
        let all = Filter::new(&AddressArgs::default()).unwrap();
        assert_eq!(all.side(&frame("123", &[])), Some(Side::Any));
        let tx_only = Filter::new(&AddressArgs {
            tx_id: parse_can_id("7E0").ok(),
            ..AddressArgs::default()
        })
        .unwrap();
        assert_eq!(tx_only.side(&frame("7E0", &[1, 2])), Some(Side::Tx));
        assert_eq!(tx_only.side(&frame("7E8", &[1, 2])), None);
    }

    #[test]
    fn lines_look_like_isotpdump() {
        let mut f = plain_formatter(Palette::plain(), true, None);
        let line = f.line(&captured("7E0", &[0x03, 0x22, 0xF1, 0x90]), Side::Tx, 0);
        assert_eq!(
            line,
            " can0  7E0  [4]  [SF] ln: 3    data: 22 F1 90  [ReadDataByIdentifier VIN (F190)]"
        );
        f.ascii = true;
        f.stamper = Stamper::new(TimeMode::Absolute);
        let line = f.line(&captured("7E8", &[0x30, 0x00, 0x00]), Side::Rx, 0);
        assert_eq!(
            line,
            "(1700000000.000000)  can0  7E8  [3]  [FC] FC: 0 = CTS # BS: 0 = off # STmin: 0x00 = 0 ms"
        );
        let line = f.line(&captured("7E8", &[0x21, b'A', b'B']), Side::Rx, 0);
        assert!(
            line.ends_with("[CF] sn: 1    data: 41 42  - 'AB'"),
            "{line}"
        );
        let line = f.line(&captured("7E8", &[0x07, 0x01]), Side::Rx, 0);
        assert!(line.contains("(invalid: "), "{line}");
        f.max_data = Some(2);
        f.ascii = false;
        let line = f.line(&captured("7E8", &[0x21, 1, 2, 3]), Side::Rx, 0);
        assert!(line.ends_with("data: 01 02 ..."), "{line}");
    }
}
