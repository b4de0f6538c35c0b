//! `isotp extcap`: Wireshark's extcap interface, so that Wireshark lists CAN buses it cannot open
//! itself (socketcand servers such as `isotp hub`, SLCAN adapters) and captures from them live, as
//! pcapng written to the fifo Wireshark gives.
//!
//! Installed with one command: a link named `isotp-extcap` in Wireshark's personal extcap folder
//! (`ln -s "$(command -v isotp)" ~/.local/lib/wireshark/extcap/isotp-extcap`); run under that name,
//! `isotp` takes its arguments as `isotp extcap`'s.
//!
//! Interfaces listed: `isotp`, which captures from the interface typed in its options dialog
//! (`--iface`, any `-i` form); one per line of `~/.config/isotp/extcap-interfaces` (or the file
//! `ISOTP_EXTCAP_CONFIG` names; `#` starts a comment) and per word of `ISOTP_EXTCAP_INTERFACES`; and
//! one per serial port that may be an SLCAN adapter (`/dev/ttyACM*`, `/dev/ttyUSB*`).

use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::SourceArgs;
use crate::commands::dump::{record, Filter};
use crate::error::{CliError, CliResult};
use crate::iface::{self, IfaceArg};
use crate::link_options::AddressArgs;
use crate::source::FrameSource;
use isotp_capture::Format;

/// The interface whose bus is given by `--iface`.
const GENERIC: &str = "isotp";
/// The prefix of the value of a listed interface; the rest is its `-i` form.
const PREFIX: &str = "isotp:";
/// LINKTYPE_CAN_SOCKETCAN.
const DLT: u32 = 227;

/// `isotp extcap`: the arguments Wireshark passes to an extcap program.
#[derive(Args, Debug, Default)]
pub struct ExtcapArgs {
    /// List the interfaces
    #[arg(long = "extcap-interfaces")]
    pub interfaces: bool,

    /// Wireshark's version (accepted, not needed)
    #[arg(long = "extcap-version", value_name = "VERSION")]
    pub wireshark_version: Option<String>,

    /// The interface of --extcap-dlts, --extcap-config or --capture
    #[arg(long = "extcap-interface", value_name = "INTERFACE")]
    pub interface: Option<String>,

    /// List the link types of the interface
    #[arg(long = "extcap-dlts")]
    pub dlts: bool,

    /// List the options of the interface
    #[arg(long = "extcap-config")]
    pub config: bool,

    /// Capture from the interface into --fifo
    #[arg(long)]
    pub capture: bool,

    /// Where to write the capture (pcapng)
    #[arg(long, value_name = "PATH")]
    pub fifo: Option<PathBuf>,

    /// The bus to capture from, as -i takes it (the `isotp` interface's option)
    #[arg(long = "iface", value_name = "IFACE")]
    pub iface: Option<String>,

    /// A capture filter (not supported: Wireshark's display filters apply)
    #[arg(long = "extcap-capture-filter", value_name = "FILTER")]
    pub capture_filter: Option<String>,

    /// Wireshark's control pipes (not used)
    #[arg(long = "extcap-control-in", value_name = "PATH")]
    pub control_in: Option<PathBuf>,

    /// Wireshark's control pipes (not used)
    #[arg(long = "extcap-control-out", value_name = "PATH")]
    pub control_out: Option<PathBuf>,

    /// Wireshark's debug switch (accepted)
    #[arg(long)]
    pub debug: bool,

    /// Wireshark's debug log (accepted)
    #[arg(long = "debug-file", value_name = "PATH")]
    pub debug_file: Option<PathBuf>,
}

/// Runs `isotp extcap`.
pub fn run(args: &ExtcapArgs) -> CliResult {
    if args.interfaces {
        print!("{}", interfaces_text(&configured()));
        return Ok(());
    }
    let Some(interface) = args.interface.as_deref() else {
        return Err(CliError::usage(
            "give --extcap-interfaces, or --extcap-interface with --extcap-dlts, --extcap-config or --capture",
        ));
    };
    let spec = match (interface, &args.iface) {
        (GENERIC, Some(spec)) => Some(spec.clone()),
        (GENERIC, None) => None,
        (other, _) => Some(
            other
                .strip_prefix(PREFIX)
                .ok_or_else(|| {
                    CliError::usage(format!("'{other}' is not an interface of isotp extcap"))
                })?
                .to_string(),
        ),
    };
    if args.dlts {
        println!("dlt {{number={DLT}}}{{name=CAN_SOCKETCAN}}{{display=SocketCAN}}");
        return Ok(());
    }
    if args.config {
        if interface == GENERIC {
            let default = std::env::var("ISOTP_IFACE").unwrap_or_default();
            println!(
                "arg {{number=0}}{{call=--iface}}{{display=CAN interface}}{{type=string}}{{required=true}}{{default={default}}}{{tooltip={}}}",
                iface::FORMS
            );
        }
        return Ok(());
    }
    if args.capture {
        let fifo = args
            .fifo
            .as_deref()
            .ok_or_else(|| CliError::usage("--capture needs --fifo PATH"))?;
        let spec = spec.ok_or_else(|| {
            CliError::usage(format!(
                "the '{GENERIC}' interface needs its CAN interface option (--iface {})",
                iface::FORMS
            ))
        })?;
        return capture(&spec, fifo);
    }
    Err(CliError::usage(
        "give --extcap-dlts, --extcap-config or --capture with --extcap-interface",
    ))
}

fn capture(spec: &str, fifo: &Path) -> CliResult {
    let mut source = FrameSource::open(&SourceArgs {
        iface: IfaceArg {
            iface: Some(spec.to_string()),
        },
        log: None,
        log_format: None,
        utc: false,
        count: None,
        timeout: None,
    })?;
    let filter = Filter::new(&AddressArgs::default())?;
    record(fifo, Some(Format::Pcapng), None, &mut source, &filter)
}

/// The `-i` forms listed as interfaces, in order, without repeats.
fn configured() -> Vec<String> {
    let mut specs = Vec::new();
    let file = std::env::var_os("ISOTP_EXTCAP_CONFIG")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
                .map(|dir| dir.join("isotp").join("extcap-interfaces"))
        });
    if let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) {
        specs.extend(config_lines(&text));
    }
    if let Ok(list) = std::env::var("ISOTP_EXTCAP_INTERFACES") {
        specs.extend(
            list.split([' ', ',', '\n'])
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    specs.extend(serial_ports(Path::new("/dev")));
    let mut seen = std::collections::HashSet::new();
    specs.retain(|s| seen.insert(s.clone()));
    specs
}

/// The interfaces of a config file: one per line, `#` to the end of a line a comment.
fn config_lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
}

/// `slcan:/dev/ttyACM0` for each USB serial port in `dev`: SLCAN adapters show up as these.
fn serial_ports(dev: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dev) else {
        return Vec::new();
    };
    let mut ports: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("ttyACM") || n.starts_with("ttyUSB"))
        .map(|n| format!("slcan:{}", dev.join(n).display()))
        .collect();
    ports.sort();
    ports
}

/// The answer to `--extcap-interfaces`.
fn interfaces_text(specs: &[String]) -> String {
    let mut out = format!(
        "extcap {{version={}}}{{help=https://docs.rs/crate/isotp-cli}}\n",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str(&format!(
        "interface {{value={GENERIC}}}{{display=ISO-TP tools: a CAN bus (socketcand, SLCAN...)}}\n"
    ));
    for spec in specs {
        out.push_str(&format!(
            "interface {{value={PREFIX}{spec}}}{{display=CAN {}}}\n",
            describe(spec)
        ));
    }
    out
}

/// What an interface is, for Wireshark's list.
fn describe(spec: &str) -> String {
    match spec.split_once(':') {
        Some(("socketcand", _)) => format!("over socketcand: {spec}"),
        Some(("slcan", rest)) => format!("SLCAN adapter {rest}"),
        _ => spec.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_are_listed_in_extcap_syntax() {
        let text = interfaces_text(&[
            "socketcand://127.0.0.1:29536/vcan0".into(),
            "slcan:/dev/ttyACM0".into(),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("extcap {version="), "{text}");
        assert_eq!(
            lines[1],
            "interface {value=isotp}{display=ISO-TP tools: a CAN bus (socketcand, SLCAN...)}"
        );
        assert_eq!(
            lines[2],
            "interface {value=isotp:socketcand://127.0.0.1:29536/vcan0}{display=CAN over socketcand: socketcand://127.0.0.1:29536/vcan0}"
        );
        assert_eq!(
            lines[3],
            "interface {value=isotp:slcan:/dev/ttyACM0}{display=CAN SLCAN adapter /dev/ttyACM0}"
        );
    }

    #[test]
    fn config_files_hold_one_interface_a_line() {
        let got: Vec<String> =
            config_lines("# buses\nsocketcand://h:1/a  # the hub\n\n  slcan:/dev/x\n").collect();
        assert_eq!(got, ["socketcand://h:1/a", "slcan:/dev/x"]);
    }

    #[test]
    fn unknown_interfaces_and_missing_options_are_usage_errors() {
        let e = run(&ExtcapArgs {
            interface: Some("eth0".into()),
            dlts: true,
            ..ExtcapArgs::default()
        })
        .unwrap_err();
        assert!(
            e.message.contains("'eth0' is not an interface"),
            "{}",
            e.message
        );
        let e = run(&ExtcapArgs {
            interface: Some(GENERIC.into()),
            capture: true,
            fifo: Some("/nonexistent".into()),
            ..ExtcapArgs::default()
        })
        .unwrap_err();
        assert!(
            e.message.contains("needs its CAN interface option"),
            "{}",
            e.message
        );
    }
}
