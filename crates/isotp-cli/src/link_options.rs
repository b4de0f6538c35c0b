//! The addressing and link options shared by the commands, with can-utils' letters, and how they
//! become an [`Address`] and a [`Config`].
//!
//! `-s/-d/-x` name the ids and address bytes, `-p/-P/-L/-w/--max-size` shape the frames, `-b/-m` are
//! the flow control this program asks for as a receiver.

use clap::{Args, ValueEnum};
use isotp_core::hex;
use isotp_core::wire::StMin;
use isotp_core::{Address, AddressBytes, CanId, Config, LinkLayer, PaddingCheck};

use crate::error::{CliError, CliResult};

/// A CAN id as can-utils users type it, by the core's digit rule ([`isotp_core::candump`]): 3 hex
/// digits 11-bit, 8 digits 29-bit, optional `0x`.
pub fn parse_can_id(text: &str) -> Result<CanId, String> {
    text.parse().map_err(|e| format!("'{text}': {e}"))
}

fn parse_hex_byte(text: &str, what: &str) -> Result<u8, String> {
    hex::byte(text.as_bytes(), hex::Syntax::COMMAND_LINE)
        .ok_or_else(|| format!("'{text}' is not {what}: give one hex byte, 00 to FF"))
}

/// `-x ADDR[:RXADDR]`, or isotpdump's `-x any`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtAddr {
    /// Leads every transmitted frame.
    pub tx: u8,
    /// Must lead every received frame; `None`: the same as `tx` (mixed addressing).
    pub rx: Option<u8>,
    /// `-x any`: frames lead with an address byte of any value (only `dump` can watch for that).
    pub any: bool,
}

impl ExtAddr {
    /// `-x A:B` is extended addressing; `-x A` mixed addressing (one byte both ways).
    pub fn bytes(self) -> AddressBytes {
        match self.rx {
            Some(rx) => AddressBytes::Extended { tx: self.tx, rx },
            None => AddressBytes::Mixed(self.tx),
        }
    }
}

/// Parses `-x ADDR[:RXADDR]`.
pub fn parse_ext_addr(text: &str) -> Result<ExtAddr, String> {
    if text == "any" {
        return Ok(ExtAddr {
            tx: 0,
            rx: None,
            any: true,
        });
    }
    let (tx, rx) = match text.split_once(':') {
        Some((tx, rx)) => (tx, Some(rx)),
        None => (text, None),
    };
    Ok(ExtAddr {
        tx: parse_hex_byte(tx, "an address byte")?,
        rx: rx
            .map(|r| parse_hex_byte(r, "a receive address byte"))
            .transpose()?,
        any: false,
    })
}

/// `-p [TX]:[RX]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Padding {
    /// Padding byte for transmitted frames.
    pub tx: Option<u8>,
    /// Padding byte expected in received frames.
    pub rx: Option<u8>,
}

/// Parses `-p [TX]:[RX]` (`AA`, `AA:`, `:55`, `AA:55`).
pub fn parse_padding(text: &str) -> Result<Padding, String> {
    let (tx, rx) = match text.split_once(':') {
        Some((tx, rx)) => (tx, rx),
        None => (text, ""),
    };
    if tx.is_empty() && rx.is_empty() {
        return Err("give a transmit and/or receive padding byte, e.g. CC:, :AA or CC:AA".into());
    }
    let byte = |s: &str, what| {
        if s.is_empty() {
            Ok(None)
        } else {
            parse_hex_byte(s, what).map(Some)
        }
    };
    Ok(Padding {
        tx: byte(tx, "a transmit padding byte")?,
        rx: byte(rx, "a receive padding byte")?,
    })
}

/// `-P l|c|a`: which received padding to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PadCheck {
    /// Frame length: padded frames when `-p :RX` is given, unpadded ones otherwise.
    #[value(name = "l")]
    Length,
    /// Content: every padding byte equals the one given with `-p :RX`.
    #[value(name = "c")]
    Content,
    /// Length and content.
    #[value(name = "a")]
    All,
}

/// Parses `-L MTU:TX_DL:FLAGS` as isotpsend's link layer option (`16:8:0` classic CAN, `72:64:1` CAN
/// FD with 64-byte frames and the bit rate switch); the core checks the combination.
pub fn parse_link_layer(text: &str) -> Result<LinkLayer, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let [mtu, tx_dl, flags] = parts[..] else {
        return Err(format!(
            "'{text}' is not MTU:TX_DL:FLAGS (for example 72:64:1 for CAN FD with 64-byte frames and BRS)"
        ));
    };
    let can_fd = match mtu {
        "16" => false,
        "72" => true,
        _ => {
            return Err(format!(
                "MTU '{mtu}' must be 16 (classic CAN) or 72 (CAN FD)"
            ))
        }
    };
    let tx_dl: u8 = tx_dl
        .parse()
        .map_err(|_| format!("TX_DL '{tx_dl}' must be 8, 12, 16, 20, 24, 32, 48 or 64"))?;
    let flags = parse_hex_byte(flags, "a flags byte (01 = bit rate switch)")?;
    if !can_fd && flags != 0 {
        return Err("FLAGS are CAN FD flags: use 0 with MTU 16".into());
    }
    let mut link = if can_fd {
        LinkLayer::fd(tx_dl, flags & 0x01 != 0)
    } else {
        LinkLayer::classic()
    };
    link.tx_data_length = tx_dl;
    link.validate()
        .map_err(|e| format!("-L {text} (MTU:TX_DL:FLAGS, MTU 72 for CAN FD): {e}"))?;
    Ok(link)
}

/// Parses `-m STMIN`: the STmin byte of the flow control frames this program sends, in hex as it goes
/// on the wire (`00`-`7F` = 0-127 ms, `F1`-`F9` = 100-900 us).
pub fn parse_st_min(text: &str) -> Result<StMin, String> {
    let byte = parse_hex_byte(text, "an STmin byte")?;
    let st = StMin::from_byte(byte);
    if st.is_reserved() {
        return Err(format!(
            "STmin {byte:02X} is reserved: use 00-7F (0-127 ms) or F1-F9 (100-900 us)"
        ));
    }
    Ok(st)
}

/// Parses a decimal number, or hex with `0x`.
fn parse_number<T: TryFrom<u64>>(text: &str, what: &str, max: u64) -> Result<T, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse::<u64>(),
    };
    parsed
        .ok()
        .filter(|&v| v <= max)
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| format!("'{text}' is not {what} (0 to {max})"))
}

/// `-b` block size, hex as in can-utils (`-b 10` is 16 frames).
pub fn parse_block_size(text: &str) -> Result<u8, String> {
    parse_hex_byte(text, "a block size")
}

/// `-w` WFTmax, hex as in can-utils.
pub fn parse_wft_max(text: &str) -> Result<u8, String> {
    parse_hex_byte(text, "a number of WAIT frames")
}

/// `--max-size`.
pub fn parse_max_size(text: &str) -> Result<u32, String> {
    let v: u32 = parse_number(text, "a size in bytes", u64::from(u32::MAX))?;
    if v == 0 {
        return Err("the largest PDU must be at least 1 byte".into());
    }
    Ok(v)
}

/// `--timeout SECONDS`.
pub fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let v: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !v.is_finite() || !(0.0..=1e9).contains(&v) {
        return Err(format!("'{text}' is not a number of seconds (0 or more)"));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

/// `-s`, `-d`, `-x`: which ids and address bytes.
#[derive(Args, Debug, Clone, Default)]
pub struct AddressArgs {
    /// CAN id this program transmits on (hex; more than 3 digits or a value above 7FF is a 29-bit
    /// id, so 00000123 is 29-bit). When watching traffic: the id of one side, usually the tester
    #[arg(short = 's', long = "tx-id", value_name = "ID", value_parser = parse_can_id)]
    pub tx_id: Option<CanId>,

    /// CAN id this program receives on (hex, as -s). When watching traffic: the other side's id
    #[arg(short = 'd', long = "rx-id", value_name = "ID", value_parser = parse_can_id)]
    pub rx_id: Option<CanId>,

    /// Extended addressing: byte ADDR leads every frame on -s, frames on -d lead with RXADDR (hex).
    /// Without RXADDR both directions use ADDR (mixed addressing); dump also takes `any`
    #[arg(short = 'x', long = "ext-addr", value_name = "ADDR[:RXADDR]", value_parser = parse_ext_addr)]
    pub ext: Option<ExtAddr>,
}

/// `-p`, `-P`, `-L`, `-w`, `--max-size`: frame format and limits.
#[derive(Args, Debug, Clone)]
pub struct LinkArgs {
    /// Padding bytes (hex) for transmitted frames and expected in received frames; either may be
    /// left out (CC: pads what is sent, :AA only sets what -P checks). [default: no padding]
    #[arg(short = 'p', long = "padding", value_name = "[TX]:[RX]", value_parser = parse_padding)]
    pub padding: Option<Padding>,

    /// Check the padding of received frames: l = length, c = content (needs -p :RX), a = both
    /// [default: no check]
    #[arg(short = 'P', long = "pad-check", value_name = "l|c|a", value_enum)]
    pub pad_check: Option<PadCheck>,

    /// Link layer: MTU 16 (classic CAN) or 72 (CAN FD), bytes per transmitted frame, and CAN FD
    /// flags in hex (01 = bit rate switch). Example: 72:64:1
    #[arg(short = 'L', long = "link", value_name = "MTU:TX_DL:FLAGS", value_parser = parse_link_layer, default_value = "16:8:0")]
    pub link: LinkLayer,

    /// Most flow control WAIT frames accepted in a row before a transmission is aborted (hex, as
    /// in can-utils: 0A = 10)
    #[arg(short = 'w', long = "wftmax", value_name = "WFTMAX", value_parser = parse_wft_max, default_value = "0A")]
    pub wft_max: u8,

    /// Largest PDU accepted; a peer announcing more is refused with a flow control OVERFLOW
    #[arg(long = "max-size", value_name = "BYTES", value_parser = parse_max_size, default_value = "4095")]
    pub max_size: u32,
}

impl Default for LinkArgs {
    fn default() -> Self {
        LinkArgs {
            padding: None,
            pad_check: None,
            link: LinkLayer::classic(),
            wft_max: 10,
            max_size: 4095,
        }
    }
}

/// `-b`, `-m`: the flow control this program sends when it receives.
#[derive(Args, Debug, Clone)]
pub struct FlowArgs {
    /// Block size sent in flow control frames: consecutive frames between two flow controls
    /// (hex, as in can-utils: 10 = 16 frames; 0 = no further flow control)
    #[arg(short = 'b', long = "block-size", value_name = "BS", value_parser = parse_block_size, default_value = "0")]
    pub block_size: u8,

    /// STmin sent in flow control frames, as the hex byte on the wire: 00-7F = 0-127 ms,
    /// F1-F9 = 100-900 us
    #[arg(short = 'm', long = "stmin", value_name = "STMIN", value_parser = parse_st_min, default_value = "00")]
    pub st_min: StMin,
}

impl Default for FlowArgs {
    fn default() -> Self {
        FlowArgs {
            block_size: 0,
            st_min: StMin::ZERO,
        }
    }
}

/// Which ids a command needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Both -s and -d.
    Both,
    /// -s only (a functional single frame needs no flow control).
    TxOnly,
}

/// What a passive command (`sniff`, `check`) follows: the conversation of -s/-d/-x, or every
/// conversation it discovers.
pub enum Watch {
    /// The conversation of -s/-d/-x.
    Address(Address),
    /// Every conversation, found from first frames and their flow controls.
    Discover(isotp_core::monitor::Discovery),
}

/// The [`Watch`] of the address options and `--discover`.
pub fn watch_for(a: &AddressArgs, discover: crate::cli::DiscoveryArg) -> CliResult<Watch> {
    use crate::cli::DiscoveryArg;
    use isotp_core::monitor::Discovery;
    if a.tx_id.is_some() || a.rx_id.is_some() {
        return Ok(Watch::Address(address_for(a.tx_id, a.rx_id, a.ext)?));
    }
    if a.ext.is_some() {
        return Err(CliError::usage(
            "-x needs the ids -s and -d; to discover conversations with an address byte, use \
             --discover extended or --discover mixed",
        ));
    }
    Ok(Watch::Discover(match discover {
        DiscoveryArg::Normal => Discovery::Normal,
        DiscoveryArg::Extended => Discovery::Extended,
        DiscoveryArg::Mixed => Discovery::Mixed,
    }))
}

/// Builds the address for `tx` and `rx` ids, with the address bytes of `ext`.
pub fn address_for(
    tx: Option<CanId>,
    rx: Option<CanId>,
    ext: Option<ExtAddr>,
) -> CliResult<Address> {
    if tx.is_none() && rx.is_none() {
        return Err(CliError::usage("give the CAN ids with -s and -d"));
    }
    if ext.is_some_and(|x| x.any) {
        return Err(CliError::usage(
            "-x any (an address byte of any value) is isotpdump's: only `dump` takes it; give the byte",
        ));
    }
    Address::from_ids(tx, rx, ext.map_or(AddressBytes::None, ExtAddr::bytes)).map_err(|e| {
        let ids = [tx.map(|t| format!("-s {t}")), rx.map(|r| format!("-d {r}"))];
        let ids: Vec<String> = ids.into_iter().flatten().collect();
        CliError::usage(format!("{}: {e}", ids.join(" ")))
    })
}

/// The address of a link that talks (send, recv, perf).
pub fn link_address(args: &AddressArgs, needs: Needs) -> CliResult<Address> {
    match (args.tx_id, args.rx_id, needs) {
        (None, _, _) => Err(CliError::usage(
            "give -s ID, the CAN id to transmit on (for example -s 7E0)",
        )),
        (Some(_), None, Needs::Both) => Err(CliError::usage(
            "give -d ID, the CAN id to receive on (for example -d 7E8)",
        )),
        (tx, rx, _) => address_for(tx, rx, args.ext),
    }
}

/// The configuration from the link and flow options.
pub fn config(link: &LinkArgs, flow: Option<&FlowArgs>) -> CliResult<Config> {
    let mut c = Config::default();
    let pad = link.padding.unwrap_or_default();
    c.tx_padding = pad.tx;
    c.rx_padding = pad.rx;
    c.rx_padding_check = match link.pad_check {
        None => PaddingCheck::Off,
        Some(PadCheck::Length) => PaddingCheck::Length,
        Some(PadCheck::Content) => PaddingCheck::Content,
        Some(PadCheck::All) => PaddingCheck::LengthAndContent,
    };
    // The core's rule, said in the options' letters.
    c.rx_padding_check.validate(c.rx_padding).map_err(|_| {
        CliError::usage(
            "-P c and -P a check the padding content: give the expected byte with -p :RX (e.g. -p :CC)",
        )
    })?;
    c.link_layer = link.link;
    c.wft_max = link.wft_max;
    c.max_frame_size = link.max_size;
    if let Some(f) = flow {
        c.block_size = f.block_size;
        c.st_min = f.st_min;
    }
    c.validate()
        .map_err(|e| CliError::usage(format!("invalid link options: {e}")))?;
    Ok(c)
}

/// One line describing a link for people: `CAN FD, DL 64, BRS, BS 0, STmin 0x00 (0 ms)`.
pub fn describe(config: &Config) -> String {
    format!(
        "{}, DL {}{}, BS {}, STmin 0x{:02X} ({})",
        if config.link_layer.can_fd {
            "CAN FD"
        } else {
            "CAN"
        },
        config.link_layer.tx_data_length,
        if config.link_layer.bitrate_switch {
            ", BRS"
        } else {
            ""
        },
        config.block_size,
        config.st_min.to_byte(),
        config.st_min
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotp_core::{AddressingMode, TargetAddressType};

    #[test]
    fn ids_follow_the_digit_rule() {
        let id = parse_can_id("7E0").unwrap();
        assert!(!id.is_extended());
        assert_eq!(id.raw(), 0x7E0);
        assert!(parse_can_id("00000123").unwrap().is_extended());
        assert!(parse_can_id("0123").unwrap().is_extended());
        assert!(parse_can_id("800").unwrap_err().contains("00000800"));
        assert!(!parse_can_id("0x7FF").unwrap().is_extended());
        assert!(parse_can_id("18DAF110").unwrap().is_extended());
    }

    #[test]
    fn bad_ids_are_refused_with_a_reason() {
        assert!(parse_can_id("20000000").unwrap_err().contains("1FFFFFFF"));
        for bad in ["123456789", "7G0", "", "-1"] {
            assert!(
                parse_can_id(bad).unwrap_err().contains("not a CAN id"),
                "{bad}"
            );
        }
    }

    #[test]
    fn extended_and_mixed_addresses() {
        assert_eq!(
            parse_ext_addr("F1:10").unwrap(),
            ExtAddr {
                tx: 0xF1,
                rx: Some(0x10),
                any: false,
            }
        );
        assert!(parse_ext_addr("any").unwrap().any);
        assert_eq!(
            parse_ext_addr("0x55").unwrap().bytes(),
            AddressBytes::Mixed(0x55)
        );
        assert!(parse_ext_addr("100").is_err());
        assert!(parse_ext_addr("F1:").is_err());

        let tx = parse_can_id("6F1").ok();
        let rx = parse_can_id("610").ok();
        let a = address_for(tx, rx, Some(parse_ext_addr("10:F1").unwrap())).unwrap();
        assert_eq!(a.mode(), AddressingMode::Extended11);
        assert_eq!((a.tx_prefix(), a.rx_prefix()), (Some(0x10), Some(0xF1)));
        let m = address_for(tx, rx, Some(parse_ext_addr("AA").unwrap())).unwrap();
        assert_eq!(m.mode(), AddressingMode::Mixed11);
        let wide = address_for(
            parse_can_id("18DA10F1").ok(),
            parse_can_id("18DAF110").ok(),
            Some(parse_ext_addr("AA").unwrap()),
        )
        .unwrap();
        assert_eq!(
            (wide.tx_prefix(), wide.rx_prefix()),
            (Some(0xAA), Some(0xAA))
        );
    }

    #[test]
    fn mixed_widths_make_an_asymmetric_address() {
        let a = address_for(
            parse_can_id("7E0").ok(),
            parse_can_id("18DAF110").ok(),
            None,
        )
        .unwrap();
        assert_eq!(a.tx_id(TargetAddressType::Physical).unwrap().raw(), 0x7E0);
        assert!(a.can_receive());
    }

    #[test]
    fn same_ids_are_refused() {
        let id = parse_can_id("7E0").ok();
        let e = address_for(id, id, None).unwrap_err();
        assert!(e.message.contains("same"), "{}", e.message);
    }

    #[test]
    fn padding_forms() {
        assert_eq!(
            parse_padding("CC").unwrap(),
            Padding {
                tx: Some(0xCC),
                rx: None
            }
        );
        assert_eq!(
            parse_padding(":55").unwrap(),
            Padding {
                tx: None,
                rx: Some(0x55)
            }
        );
        assert_eq!(
            parse_padding("AA:55").unwrap(),
            Padding {
                tx: Some(0xAA),
                rx: Some(0x55)
            }
        );
        assert!(parse_padding(":").is_err());
        assert!(parse_padding("XY:").is_err());
    }

    #[test]
    fn link_layers() {
        assert_eq!(
            parse_link_layer("72:64:1").unwrap(),
            LinkLayer::fd(64, true)
        );
        assert_eq!(parse_link_layer("16:8:0").unwrap(), LinkLayer::classic());
        assert!(parse_link_layer("16:64:0").unwrap_err().contains("CAN FD"));
        assert!(parse_link_layer("72:10:0").unwrap_err().contains("TX_DL"));
        assert!(parse_link_layer("20:8:0").unwrap_err().contains("MTU"));
        assert!(parse_link_layer("72:64").is_err());
    }

    #[test]
    fn st_min_is_a_wire_byte() {
        assert_eq!(parse_st_min("14").unwrap().to_byte(), 0x14);
        assert_eq!(parse_st_min("F3").unwrap().to_byte(), 0xF3);
        assert!(parse_st_min("80").unwrap_err().contains("reserved"));
        assert!(parse_st_min("123").is_err());
    }

    #[test]
    fn config_from_options() {
        let mut link = LinkArgs {
            link: parse_link_layer("72:64:1").unwrap(),
            padding: Some(parse_padding("CC:AA").unwrap()),
            pad_check: Some(PadCheck::All),
            ..LinkArgs::default()
        };
        let flow = FlowArgs {
            block_size: 8,
            st_min: StMin::from_byte(5),
        };
        let c = config(&link, Some(&flow)).unwrap();
        assert!(c.link_layer.can_fd && c.link_layer.bitrate_switch);
        assert_eq!(c.link_layer.tx_data_length, 64);
        assert_eq!((c.tx_padding, c.rx_padding), (Some(0xCC), Some(0xAA)));
        assert_eq!(c.rx_padding_check, PaddingCheck::LengthAndContent);
        assert_eq!(c.block_size, 8);
        assert_eq!(describe(&c), "CAN FD, DL 64, BRS, BS 8, STmin 0x05 (5 ms)");
        link.padding = Some(parse_padding("CC").unwrap());
        assert!(config(&link, None).unwrap_err().message.contains("-p :RX"));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_block_size("8").unwrap(), 8);
        assert_eq!(parse_block_size("10").unwrap(), 16); // hex, as can-utils
        assert_eq!(parse_block_size("0x10").unwrap(), 16);
        assert_eq!(parse_block_size("FF").unwrap(), 255);
        assert!(parse_block_size("100").is_err());
        assert!(parse_block_size("zz").is_err());
        assert_eq!(parse_wft_max("0A").unwrap(), 10);
        assert!(parse_max_size("0").is_err());
        assert_eq!(parse_max_size("100000").unwrap(), 100_000);
        assert_eq!(parse_seconds("0.25").unwrap().as_millis(), 250);
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
    }
}
