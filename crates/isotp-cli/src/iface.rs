//! `-i IFACE`: opening a bus from its one-string name, and a short name for it in output.

use clap::Args;
use isotp::bus::CanBus;

use crate::error::{CliError, CliResult};

/// The interface forms, for help and error texts.
pub const FORMS: &str = "virtual:NAME, socketcan:can0, socketcand://HOST:PORT/CHANNEL or slcan:/dev/ttyACM0[?bitrate=500000]";

/// `-i IFACE` of live commands (also from ISOTP_IFACE).
#[derive(Args, Debug, Clone)]
pub struct IfaceArg {
    /// The CAN interface: virtual:NAME (in-process), socketcan:can0, socketcand://HOST:PORT/CHANNEL
    /// or slcan:/dev/ttyACM0[?bitrate=500000]
    #[arg(short = 'i', long = "iface", value_name = "IFACE", env = "ISOTP_IFACE")]
    pub iface: Option<String>,
}

/// Opens the bus named by `spec`. An unknown or unreachable interface is a usage error (exit 2).
pub fn open(spec: &str) -> CliResult<Box<dyn CanBus>> {
    isotp::bus::open(spec).map_err(|e| CliError::usage(e.to_string()))
}

/// A short name for output (the `can0` column of isotpdump): the channel or device of `spec`.
pub fn short_name(spec: &str) -> String {
    let base = spec.split('?').next().unwrap_or(spec);
    let name = match base.split_once(':') {
        Some(("socketcand", rest)) => rest.rsplit('/').next().unwrap_or(rest),
        Some((_, rest)) => rest.rsplit('/').next().unwrap_or(rest),
        None => base,
    };
    if name.is_empty() {
        spec.to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_name("virtual:demo"), "demo");
        assert_eq!(short_name("socketcan:can0"), "can0");
        assert_eq!(short_name("socketcand://127.0.0.1:29536/vcan0"), "vcan0");
        assert_eq!(short_name("slcan:/dev/ttyACM0?bitrate=500000"), "ttyACM0");
        assert_eq!(short_name("weird"), "weird");
    }

    #[test]
    fn unknown_interfaces_are_usage_errors() {
        let e = open("carrier-pigeon:1").err().expect("unknown scheme");
        assert_eq!(e.code, crate::error::EXIT_USAGE);
        assert!(e.message.contains("carrier-pigeon:1"), "{}", e.message);
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn virtual_interfaces_open() {
        assert!(open("virtual:iface-test").is_ok());
    }
}
