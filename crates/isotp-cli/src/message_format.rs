//! How complete PDUs are printed by `recv` and `sniff` (`--format text|hex|ascii|raw|json`).
//!
//! `hex` is exactly isotprecv's line: two-digit uppercase bytes separated by single spaces, and
//! nothing else. `text` adds the time, the ids with the direction of travel, and the length.

use isotp_core::monitor::Party;
use isotp_core::TargetAddressType;

use crate::cli::PduFormat;
use crate::error::CliResult;
use crate::hex;
use crate::output::{Color, JsonObject, Out, Palette, Stamper, Timestamp};
use crate::uds;

/// One PDU to print.
#[derive(Clone, Copy, Debug)]
pub struct MessageLine<'a> {
    /// When its last frame arrived.
    pub time: Timestamp,
    /// The end that sent it: its id and address byte.
    pub from: Party,
    /// The other end, when known.
    pub to: Option<Party>,
    /// Physical or functional.
    pub target: TargetAddressType,
    /// The message.
    pub payload: &'a [u8],
}

/// Prints PDUs in one format.
pub struct MessagePrinter {
    format: PduFormat,
    stamper: Stamper,
    palette: Palette,
    uds: bool,
}

impl MessagePrinter {
    /// A printer for `format`; `stamper`, `palette` and `uds` shape the text format.
    pub fn new(format: PduFormat, stamper: Stamper, palette: Palette, uds: bool) -> MessagePrinter {
        MessagePrinter {
            format,
            stamper,
            palette,
            uds,
        }
    }

    /// Writes one PDU to `out`.
    pub fn print(&mut self, out: &mut Out, m: &MessageLine<'_>) -> CliResult {
        match self.format {
            PduFormat::Hex => out.line(&hex::spaced(m.payload)),
            PduFormat::Ascii => out.line(&hex::ascii(m.payload)),
            PduFormat::Raw => out.bytes(m.payload),
            PduFormat::Json => out.line(&self.json(m)),
            PduFormat::Text => {
                let line = self.text(m);
                out.line(&line)
            }
        }
    }

    fn text(&mut self, m: &MessageLine<'_>) -> String {
        let stamp = self.stamper.stamp(m.time);
        let to = m.to.map_or_else(|| "?".to_string(), |t| t.to_string());
        let mut line = format!(
            "{stamp}{} -> {}  [{}]  ",
            self.palette.paint(&m.from.to_string(), Color::Bold),
            to,
            m.payload.len()
        );
        line.push_str(&hex::spaced(m.payload));
        if m.target == TargetAddressType::Functional {
            line.push_str(&self.palette.paint("  (functional)", Color::Yellow));
        }
        if self.uds {
            if let Some(text) = uds::describe(m.payload) {
                line.push_str(&self.palette.paint(&format!("  [{text}]"), Color::Cyan));
            }
        }
        line
    }

    fn json(&self, m: &MessageLine<'_>) -> String {
        let mut j = JsonObject::new()
            .raw("time", &m.time.seconds())
            .string("from", &m.from.to_string())
            .opt_string("to", m.to.map(|t| t.to_string()).as_deref())
            .string(
                "target",
                match m.target {
                    TargetAddressType::Physical => "physical",
                    TargetAddressType::Functional => "functional",
                },
            )
            .int("length", m.payload.len() as u64)
            .string("data", &hex::compact(m.payload));
        if self.uds {
            j = j.opt_string("uds", uds::describe(m.payload).as_deref());
        }
        j.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotp_core::CanId;

    fn party(id: u32) -> Party {
        Party {
            id: CanId::standard(id).unwrap(),
            address_byte: None,
        }
    }
    use crate::output::TimeMode;

    fn line(format: PduFormat, uds: bool) -> String {
        let mut p = MessagePrinter::new(
            format,
            Stamper::new(TimeMode::Absolute),
            Palette::plain(),
            uds,
        );
        let m = MessageLine {
            time: Timestamp::from_micros(1_700_000_000_123_456),
            from: party(0x7E0),
            to: Some(party(0x7E8)),
            target: TargetAddressType::Physical,
            payload: &[0x22, 0xF1, 0x90],
        };
        match format {
            PduFormat::Text => p.text(&m),
            PduFormat::Json => p.json(&m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn text_lines() {
        assert_eq!(
            line(PduFormat::Text, true),
            "(1700000000.123456) 7E0 -> 7E8  [3]  22 F1 90  [ReadDataByIdentifier VIN (F190)]"
        );
    }

    #[test]
    fn json_lines() {
        assert_eq!(
            line(PduFormat::Json, false),
            r#"{"time":1700000000.123456,"from":"7E0","to":"7E8","target":"physical","length":3,"data":"22F190"}"#
        );
    }
}
