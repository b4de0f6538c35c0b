//! Opening a bus from one interface string, as the command-line tools take it.

use std::fmt;
use std::str::FromStr;

use super::socketcand::DEFAULT_PORT;
use super::{BusError, CanBus, VirtualBus};

/// The interface strings [`open`] accepts, for error messages.
pub const INTERFACE_SYNTAX: &str = "virtual:NAME, socketcan:IFACE (e.g. socketcan:can0), \
socketcand://HOST[:PORT]/CHANNEL (e.g. socketcand://127.0.0.1:29536/vcan0), \
slcan:PATH[?bitrate=N[&data_bitrate=N][&baud=N]] (e.g. slcan:/dev/ttyACM0?bitrate=500000)";

/// SLCAN nominal bit rate when the interface string gives none.
pub const DEFAULT_SLCAN_BITRATE: u32 = 500_000;

/// A parsed interface string. [`FromStr`] parses it, [`Display`](fmt::Display) writes it back.
///
/// ```
/// use isotp::bus::InterfaceSpec;
/// let spec: InterfaceSpec = "socketcand://127.0.0.1:29536/vcan0".parse()?;
/// assert_eq!(
///     spec,
///     InterfaceSpec::Socketcand { host: "127.0.0.1".into(), port: 29536, channel: "vcan0".into() }
/// );
/// assert!("can0".parse::<InterfaceSpec>().is_err()); // the scheme is required
/// # Ok::<(), isotp::bus::OpenError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InterfaceSpec {
    /// `virtual:NAME`: the in-process [`VirtualBus::named`] bus `NAME`.
    Virtual {
        /// The bus name.
        name: String,
    },
    /// `socketcan:IFACE`: a Linux SocketCAN interface (feature `socketcan`).
    SocketCan {
        /// The interface, e.g. `can0` or `vcan0`.
        iface: String,
    },
    /// `socketcand://HOST[:PORT]/CHANNEL`: a channel of a socketcand server or `isotp hub`.
    Socketcand {
        /// Host name or IP address (an IPv6 address without its brackets).
        host: String,
        /// TCP port (29536 when not given).
        port: u16,
        /// The channel (bus name) on the server.
        channel: String,
    },
    /// `slcan:PATH[?bitrate=N&data_bitrate=N&baud=N]`: an SLCAN adapter (feature `serial`).
    Slcan {
        /// Serial port path, e.g. `/dev/ttyACM0` or `COM3`.
        path: String,
        /// Nominal bit rate in bit/s (500000 when not given).
        bitrate: u32,
        /// CAN FD data bit rate in bit/s, if given.
        data_bitrate: Option<u32>,
        /// Serial line speed, if given (115200 otherwise; USB adapters ignore it).
        baud: Option<u32>,
    },
}

/// An interface string could not be parsed or its bus could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The string is empty.
    #[error("no interface given; use one of: {INTERFACE_SYNTAX}")]
    Empty,
    /// The part before `:` is not a known kind of interface.
    #[error("unknown interface kind {scheme:?} in {spec:?}; use one of: {INTERFACE_SYNTAX}")]
    UnknownScheme {
        /// The whole string.
        spec: String,
        /// The unknown kind.
        scheme: String,
    },
    /// The string has a known kind but is malformed (missing name or channel, bad port, unknown
    /// option...).
    #[error("invalid interface {spec:?}: {reason}")]
    Invalid {
        /// The whole string.
        spec: String,
        /// What is wrong, and what is expected.
        reason: String,
    },
    /// This build or platform does not have that kind of interface.
    #[error("cannot open {spec:?}: {reason}")]
    Unsupported {
        /// The whole string.
        spec: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The string is fine but the bus could not be opened (host unreachable, no such interface,
    /// device busy...).
    #[error("cannot open {spec:?}: {source}")]
    Bus {
        /// The whole string.
        spec: String,
        /// What went wrong.
        #[source]
        source: BusError,
    },
}

fn invalid(spec: &str, reason: impl Into<String>) -> OpenError {
    OpenError::Invalid {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

fn check_name(spec: &str, name: &str, what: &str, example: &str) -> Result<(), OpenError> {
    if name.is_empty() {
        return Err(invalid(
            spec,
            format!("the {what} is missing, e.g. {example}"),
        ));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            spec,
            format!("the {what} {name:?} contains spaces or control characters"),
        ));
    }
    Ok(())
}

fn parse_socketcand(spec: &str, rest: &str) -> Result<InterfaceSpec, OpenError> {
    const EXAMPLE: &str = "socketcand://127.0.0.1:29536/vcan0";
    let Some(rest) = rest.strip_prefix("//") else {
        return Err(invalid(spec, format!("write it as a URL: {EXAMPLE}")));
    };
    let Some((authority, channel)) = rest.split_once('/') else {
        return Err(invalid(
            spec,
            format!("the channel is missing: add /CHANNEL after the host, e.g. {EXAMPLE}"),
        ));
    };
    if let Err(why) = super::socketcand::protocol::check_bus_name(channel) {
        return Err(invalid(
            spec,
            format!("bad channel {channel:?}: {why}, e.g. {EXAMPLE}"),
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err(invalid(
                spec,
                "an IPv6 address needs its closing `]`, e.g. socketcand://[::1]:29536/vcan0",
            ));
        };
        match after {
            "" => (host, None),
            p => match p.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => {
                    return Err(invalid(
                        spec,
                        format!("unexpected {p:?} after the IPv6 address"),
                    ))
                }
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => {
                return Err(invalid(
                    spec,
                    "write an IPv6 address in brackets, e.g. socketcand://[::1]:29536/vcan0",
                ))
            }
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(invalid(
            spec,
            format!("the host is missing, e.g. {EXAMPLE}"),
        ));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '@')
    {
        return Err(invalid(
            spec,
            format!("{host:?} is not a host name or address"),
        ));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => {
                return Err(invalid(
                    spec,
                    format!("bad port {p:?}: a TCP port is a number from 1 to 65535 (socketcand's default is {DEFAULT_PORT})"),
                ))
            }
            Ok(p) => p,
        },
    };
    Ok(InterfaceSpec::Socketcand {
        host: host.to_string(),
        port,
        channel: channel.to_string(),
    })
}

fn parse_slcan(spec: &str, rest: &str) -> Result<InterfaceSpec, OpenError> {
    const EXAMPLE: &str = "slcan:/dev/ttyACM0?bitrate=500000";
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    check_name(spec, path, "serial port path", EXAMPLE)?;
    let mut bitrate = DEFAULT_SLCAN_BITRATE;
    let mut data_bitrate = None;
    let mut baud = None;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(invalid(
                spec,
                format!("option {pair:?} has no value; write KEY=VALUE, e.g. {EXAMPLE}"),
            ));
        };
        let number = value.parse::<u32>().map_err(|_| {
            invalid(
                spec,
                format!("{key}={value:?}: the value is not a whole number"),
            )
        })?;
        match key {
            "bitrate" => {
                super::slcan::protocol::bitrate_command(number).map_err(|e| invalid(spec, e))?;
                bitrate = number;
            }
            "data_bitrate" => {
                super::slcan::protocol::data_bitrate_command(number)
                    .map_err(|e| invalid(spec, e))?;
                data_bitrate = Some(number);
            }
            "baud" => {
                if number == 0 {
                    return Err(invalid(spec, "baud=0: the serial speed must be positive"));
                }
                baud = Some(number);
            }
            other => {
                return Err(invalid(
                    spec,
                    format!(
                        "unknown option {other:?}; slcan accepts bitrate, data_bitrate and baud"
                    ),
                ))
            }
        }
    }
    Ok(InterfaceSpec::Slcan {
        path: path.to_string(),
        bitrate,
        data_bitrate,
        baud,
    })
}

impl FromStr for InterfaceSpec {
    type Err = OpenError;

    fn from_str(spec: &str) -> Result<InterfaceSpec, OpenError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(OpenError::Empty);
        }
        let Some((scheme, rest)) = spec.split_once(':') else {
            return Err(OpenError::UnknownScheme {
                spec: spec.to_string(),
                scheme: String::new(),
            });
        };
        match scheme.to_ascii_lowercase().as_str() {
            "virtual" => {
                check_name(spec, rest, "bus name", "virtual:demo")?;
                Ok(InterfaceSpec::Virtual {
                    name: rest.to_string(),
                })
            }
            "socketcan" => {
                check_name(spec, rest, "interface name", "socketcan:can0")?;
                if rest.len() > 15 || rest.contains('/') || rest.contains(':') {
                    return Err(invalid(
                        spec,
                        format!("{rest:?} is not a network interface name (at most 15 characters, no `/` or `:`)"),
                    ));
                }
                Ok(InterfaceSpec::SocketCan {
                    iface: rest.to_string(),
                })
            }
            "socketcand" => parse_socketcand(spec, rest),
            "slcan" => parse_slcan(spec, rest),
            _ => Err(OpenError::UnknownScheme {
                spec: spec.to_string(),
                scheme: scheme.to_string(),
            }),
        }
    }
}

impl fmt::Display for InterfaceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterfaceSpec::Virtual { name } => write!(f, "virtual:{name}"),
            InterfaceSpec::SocketCan { iface } => write!(f, "socketcan:{iface}"),
            InterfaceSpec::Socketcand {
                host,
                port,
                channel,
            } => {
                if host.contains(':') {
                    write!(f, "socketcand://[{host}]:{port}/{channel}")
                } else {
                    write!(f, "socketcand://{host}:{port}/{channel}")
                }
            }
            InterfaceSpec::Slcan {
                path,
                bitrate,
                data_bitrate,
                baud,
            } => {
                write!(f, "slcan:{path}?bitrate={bitrate}")?;
                if let Some(d) = data_bitrate {
                    write!(f, "&data_bitrate={d}")?;
                }
                if let Some(b) = baud {
                    write!(f, "&baud={b}")?;
                }
                Ok(())
            }
        }
    }
}

impl InterfaceSpec {
    /// Parses an interface string; the same as [`str::parse`].
    ///
    /// # Errors
    ///
    /// [`OpenError::Empty`], [`OpenError::UnknownScheme`] or [`OpenError::Invalid`] for a string
    /// that names no interface (see [`INTERFACE_SYNTAX`]).
    pub fn parse(spec: &str) -> Result<InterfaceSpec, OpenError> {
        spec.parse()
    }

    /// Opens the bus this string names.
    ///
    /// # Errors
    ///
    /// [`OpenError::Unsupported`] for a kind of interface this build or platform does not have,
    /// [`OpenError::Bus`] when the bus cannot be opened (with the backend's error).
    pub fn open(&self) -> Result<Box<dyn CanBus>, OpenError> {
        let spec = self.to_string();
        let bus_err = |source| OpenError::Bus {
            spec: spec.clone(),
            source,
        };
        match self {
            InterfaceSpec::Virtual { name } => Ok(Box::new(VirtualBus::named(name).attach())),
            InterfaceSpec::SocketCan { iface } => open_socketcan(&spec, iface),
            InterfaceSpec::Socketcand {
                host,
                port,
                channel,
            } => super::socketcand::SocketcandBus::connect((host.as_str(), *port), channel)
                .map(|b| Box::new(b) as Box<dyn CanBus>)
                .map_err(bus_err),
            InterfaceSpec::Slcan {
                path,
                bitrate,
                data_bitrate,
                baud,
            } => open_slcan(&spec, path, *bitrate, *data_bitrate, *baud),
        }
    }
}

#[cfg(all(target_os = "linux", feature = "socketcan"))]
fn open_socketcan(spec: &str, iface: &str) -> Result<Box<dyn CanBus>, OpenError> {
    super::socketcan::SocketCanBus::open(iface)
        .map(|b| Box::new(b) as Box<dyn CanBus>)
        .map_err(|source| OpenError::Bus {
            spec: spec.to_string(),
            source,
        })
}

#[cfg(not(all(target_os = "linux", feature = "socketcan")))]
fn open_socketcan(spec: &str, _iface: &str) -> Result<Box<dyn CanBus>, OpenError> {
    Err(OpenError::Unsupported {
        spec: spec.to_string(),
        reason: if cfg!(target_os = "linux") {
            "this build has no SocketCAN support; rebuild isotp with feature `socketcan`".into()
        } else {
            "SocketCAN exists only on Linux; use socketcand:// to reach a Linux machine's bus"
                .into()
        },
    })
}

#[cfg(feature = "serial")]
fn open_slcan(
    spec: &str,
    path: &str,
    bitrate: u32,
    data_bitrate: Option<u32>,
    baud: Option<u32>,
) -> Result<Box<dyn CanBus>, OpenError> {
    let mut options = super::slcan::SlcanOptions::new(bitrate);
    if let Some(d) = data_bitrate {
        options = options.data_bitrate(d);
    }
    if let Some(b) = baud {
        options = options.serial_baud(b);
    }
    super::slcan::SlcanBus::open_with(path, &options)
        .map(|b| Box::new(b) as Box<dyn CanBus>)
        .map_err(|source| OpenError::Bus {
            spec: spec.to_string(),
            source,
        })
}

#[cfg(not(feature = "serial"))]
fn open_slcan(
    spec: &str,
    _path: &str,
    _bitrate: u32,
    _data_bitrate: Option<u32>,
    _baud: Option<u32>,
) -> Result<Box<dyn CanBus>, OpenError> {
    Err(OpenError::Unsupported {
        spec: spec.to_string(),
        reason: "this build has no SLCAN support; rebuild isotp with feature `serial`".into(),
    })
}

/// Opens the bus an interface string names: `virtual:NAME`, `socketcan:can0`,
/// `socketcand://HOST:PORT/CHANNEL` or `slcan:/dev/ttyACM0[?bitrate=500000]` (see
/// [`InterfaceSpec`]).
///
/// ```
/// let a = isotp::bus::open("virtual:doc-open")?;
/// let b = isotp::bus::open("virtual:doc-open")?; // the same bus
/// # use isotp::bus::CanBus;
/// a.send(&isotp::Frame::new(isotp::CanId::standard(1)?, &[1])?)?;
/// assert!(b.recv(Some(std::time::Duration::from_secs(1)))?.is_some());
/// assert!(isotp::bus::open("tcp:foo").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// Those of [`InterfaceSpec::parse`] and [`InterfaceSpec::open`].
pub fn open(spec: &str) -> Result<Box<dyn CanBus>, OpenError> {
    InterfaceSpec::parse(spec)?.open()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<InterfaceSpec, OpenError> {
        s.parse()
    }

    fn reason(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn virtual_and_socketcan() {
        assert_eq!(
            parse("virtual:demo").unwrap(),
            InterfaceSpec::Virtual {
                name: "demo".into()
            }
        );
        assert_eq!(
            parse(" VIRTUAL:a:b ").unwrap(),
            InterfaceSpec::Virtual { name: "a:b".into() }
        );
        assert_eq!(
            parse("socketcan:vcan0").unwrap(),
            InterfaceSpec::SocketCan {
                iface: "vcan0".into()
            }
        );
        assert!(reason("virtual:").contains("bus name is missing"));
        assert!(reason("socketcan:").contains("interface name is missing"));
        assert!(reason("socketcan:a_very_long_interface").contains("at most 15"));
        assert!(reason("virtual:a b").contains("spaces"));
    }

    #[test]
    fn socketcand_urls() {
        let sc = |host: &str, port, channel: &str| InterfaceSpec::Socketcand {
            host: host.into(),
            port,
            channel: channel.into(),
        };
        assert_eq!(
            parse("socketcand://127.0.0.1:29536/vcan0").unwrap(),
            sc("127.0.0.1", 29536, "vcan0")
        );
        assert_eq!(
            parse("socketcand://localhost/can1").unwrap(),
            sc("localhost", DEFAULT_PORT, "can1")
        );
        assert_eq!(
            parse("socketcand://[::1]:1234/x").unwrap(),
            sc("::1", 1234, "x")
        );
        assert_eq!(
            parse("socketcand://[::1]/x").unwrap(),
            sc("::1", DEFAULT_PORT, "x")
        );
        assert!(reason("socketcand://127.0.0.1:29536").contains("channel is missing"));
        assert!(reason("socketcand://127.0.0.1:29536/").contains("bad channel"));
        assert!(reason("socketcand://127.0.0.1:http/vcan0").contains("bad port"));
        assert!(reason("socketcand://127.0.0.1:70000/vcan0").contains("bad port"));
        assert!(reason("socketcand://127.0.0.1:0/vcan0").contains("bad port"));
        assert!(reason("socketcand://:29536/vcan0").contains("host is missing"));
        assert!(reason("socketcand:127.0.0.1:29536/vcan0").contains("URL"));
        assert!(reason("socketcand://::1:5/x").contains("brackets"));
        assert!(reason("socketcand://[::1/x").contains("`]`"));
        assert!(reason("socketcand://h/a b").contains("bad channel"));
    }

    #[test]
    fn slcan_paths_and_options() {
        assert_eq!(
            parse("slcan:/dev/ttyACM0").unwrap(),
            InterfaceSpec::Slcan {
                path: "/dev/ttyACM0".into(),
                bitrate: 500_000,
                data_bitrate: None,
                baud: None
            }
        );
        assert_eq!(
            parse("slcan:COM3?bitrate=1000000&data_bitrate=2000000&baud=921600").unwrap(),
            InterfaceSpec::Slcan {
                path: "COM3".into(),
                bitrate: 1_000_000,
                data_bitrate: Some(2_000_000),
                baud: Some(921_600)
            }
        );
        assert!(reason("slcan:").contains("path is missing"));
        assert!(reason("slcan:/dev/x?bitrate=12345").contains("use one of"));
        assert!(reason("slcan:/dev/x?bitrate=fast").contains("not a whole number"));
        assert!(reason("slcan:/dev/x?speed=5").contains("unknown option"));
        assert!(reason("slcan:/dev/x?bitrate").contains("no value"));
        assert!(reason("slcan:/dev/x?data_bitrate=3").contains("data bit rate"));
    }

    #[test]
    fn unknown_and_empty() {
        assert!(matches!(parse(""), Err(OpenError::Empty)));
        assert!(matches!(
            parse("can0"),
            Err(OpenError::UnknownScheme { .. })
        ));
        let e = reason("pcan:usb1");
        assert!(e.contains("\"pcan\"") && e.contains("socketcand://"), "{e}");
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "virtual:demo",
            "socketcan:can0",
            "socketcand://127.0.0.1:29536/vcan0",
            "socketcand://[::1]:5/x",
            "slcan:/dev/ttyACM0?bitrate=500000",
            "slcan:COM3?bitrate=1000000&data_bitrate=2000000&baud=921600",
        ] {
            let spec = parse(s).unwrap();
            assert_eq!(spec.to_string(), s);
            assert_eq!(parse(&spec.to_string()).unwrap(), spec);
        }
    }

    #[test]
    fn opens_virtual_and_reports_unreachable_hosts() {
        let a = open("virtual:open-rs-test").unwrap();
        let b = open("virtual:open-rs-test").unwrap();
        let f = isotp_core::Frame::new(isotp_core::CanId::standard(5).unwrap(), &[1]).unwrap();
        a.send(&f).unwrap();
        assert_eq!(
            b.recv(Some(std::time::Duration::from_secs(1))).unwrap(),
            Some(f)
        );
        // A port nobody listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = open(&format!("socketcand://127.0.0.1:{port}/vcan0"))
            .err()
            .unwrap();
        assert!(matches!(e, OpenError::Bus { .. }), "{e}");
        assert!(e.to_string().contains("connecting to socketcand"), "{e}");
    }

    #[cfg(not(feature = "serial"))]
    #[test]
    fn slcan_needs_the_feature() {
        assert!(matches!(
            open("slcan:/dev/null"),
            Err(OpenError::Unsupported { .. })
        ));
    }

    #[cfg(feature = "serial")]
    #[test]
    fn slcan_reports_missing_ports() {
        let e = open("slcan:/nonexistent/tty?bitrate=500000").err().unwrap();
        assert!(matches!(e, OpenError::Bus { .. }), "{e}");
    }
}
