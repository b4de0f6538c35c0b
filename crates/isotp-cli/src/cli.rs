//! The command line: every command and option, with the help texts `isotp --help` shows.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::iface::IfaceArg;
use crate::link_options::{parse_link_layer, parse_seconds, AddressArgs, FlowArgs, LinkArgs};
use crate::output::{ColorChoice, TimeMode};

/// ISO 15765-2 (ISO-TP) from the shell: send, receive, dump, sniff and measure diagnostic traffic
/// on any CAN backend, with the habits of can-utils' isotpsend, isotprecv, isotpdump, isotpsniffer
/// and isotpperf; check and convert recordings, test a device's ISO-TP, find endpoints, serve
/// virtual buses.
///
/// Interfaces are named by one string (-i, or the ISOTP_IFACE variable): virtual:NAME,
/// socketcan:can0, socketcand://HOST:PORT/CHANNEL, slcan:/dev/ttyACM0[?bitrate=500000].
/// CAN ids are hex; more than 3 digits or a value above 7FF is a 29-bit id.
///
/// Exit codes: 0 success, 1 protocol failure or timeout, 2 usage or interface error.
#[derive(Parser, Debug)]
#[command(
    name = "isotp",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// When to colour the output: auto = on a terminal, unless NO_COLOR is set
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// The command
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Send one PDU (like isotpsend): exits 0 once its last frame is on the bus
    #[command(after_help = "\
Payload: --data HEX, --file PATH (binary), or standard input as hex bytes separated by white space
(`11 22 33`; a token of 1 or 2 digits is one byte, a longer even-length token such as 112233 is
several bytes).

Examples:
  echo 22 F1 90 | isotp send -i socketcan:can0 -s 7E0 -d 7E8
  isotp send -i virtual:bus -s 7DF --functional --data 3E00")]
    Send(SendArgs),

    /// Receive PDUs (like isotprecv) and print each as one line of hex bytes on stdout
    #[command(after_help = "\
Examples:
  isotp recv -i socketcan:can0 -s 7E8 -d 7E0          # one PDU, then exit
  isotp recv -i socketcan:can0 -s 7E8 -d 7E0 -l -b 8 -m 05 --format json")]
    Recv(RecvArgs),

    /// Explain every CAN frame as ISO-TP (like isotpdump), live or from a recorded log
    #[command(after_help = "\
Each line: [timestamp] interface id [length] PCI and data, e.g.
   can0  7E0  [8]  [FF] ln: 20   data: 62 F1 90 57 56 57
   can0  7E8  [3]  [FC] FC: 0 = CTS # BS: 0 = off # STmin: 0x00 = 0 ms
A CAN FD frame shows a two-digit length, [12], followed by * with the bit rate switch.
Frames on -s are red, frames on -d blue (on a terminal).

Examples:
  isotp dump -i socketcan:can0 -s 7E0 -d 7E8 -t d -u
  candump -L can0 | isotp dump --log - -a
  isotp dump --log trace.blf -s 7E0 -d 7E8 -t z")]
    Dump(DumpArgs),

    /// Reassemble and print complete PDUs of both directions without transmitting (like isotpsniffer)
    #[command(
        after_help = "\
Without -s and -d, every ISO-TP conversation on the bus is found and followed: a first frame
answered by a flow control pairs two ids (with --discover extended or mixed, two ids and their
address bytes).

Examples:
  isotp sniff -i socketcan:can0 -s 7E0 -d 7E8 -u
  isotp sniff --log drive.log --format json

-h is isotpsniffer's head length: help is --help.",
        disable_help_flag = true
    )]
    Sniff(SniffArgs),

    /// Measure throughput and latency (like isotpperf): in-process by default, or over -i with --role
    #[command(after_help = "\
Without -i, a sender and a receiver stack exchange PDUs on an in-process virtual bus. With -i, run
`--role recv` on one node and `--role send` on the other (add --rtt on both for round trips).

Examples:
  isotp perf --size 4095 --count 200 -L 72:64:1
  isotp perf --rtt --size 64 --count 1000 --json")]
    Perf(PerfArgs),

    /// Serve virtual CAN buses over TCP with the socketcand protocol
    #[command(after_help = "\
Clients connect with -i socketcand://HOST:PORT/CHANNEL (any channel name: each is a bus), or with
python-can's socketcand interface. Runs until interrupted.")]
    Hub(HubArgs),

    /// A tester and two simulated ECUs talk on a virtual bus: no hardware needed
    Demo(DemoArgs),

    /// Check every transfer of a recorded log against ISO 15765-2: pacing, timing, sequence and
    /// frame rules
    #[command(after_help = "\
Without -s and -d, every conversation in the log is discovered as sniff does (--discover). Each
finding names the frame that shows it (numbered from 1, in the order of the log) and the frame it is
measured from. Exit codes: 0 nothing against the standard (warnings only), 1 a violation found,
2 bad options or an unreadable log.

With --uds, UDS (ISO 14229) requests are paired with their responses per tester-ECU pair and P2 and
P2* judged (JSON findings carry \"layer\": \"uds\"); --html FILE writes a self-contained report to
open in a browser: a timeline per conversation, every finding linked to its frames, a summary.

Examples:
  isotp check --log drive.blf
  isotp check --log flash.asc --uds --html flash.html
  isotp check --log trace.asc -s 7E0 -d 7E8 --st-min-tolerance 500
  isotp check --log drive.log --json > findings.jsonl")]
    Check(CheckArgs),

    /// Wireshark's extcap interface: lists socketcand and SLCAN buses to Wireshark and captures
    /// from them live
    #[command(after_help = "\
Installed with one command (Wireshark then lists the interfaces; its personal extcap folder is shown
under Help > About > Folders):
  mkdir -p ~/.local/lib/wireshark/extcap && ln -s \"$(command -v isotp)\" ~/.local/lib/wireshark/extcap/isotp-extcap

Interfaces: 'isotp' (the bus typed in its options, any -i form); one per line of
~/.config/isotp/extcap-interfaces (or the file ISOTP_EXTCAP_CONFIG names) and per word of
ISOTP_EXTCAP_INTERFACES, e.g. socketcand://127.0.0.1:29536/vcan0 for `isotp hub`; one per USB serial
port, as SLCAN.

Examples:
  isotp extcap --extcap-interfaces
  isotp extcap --capture --extcap-interface isotp:socketcand://127.0.0.1:29536/vcan0 --fifo /tmp/can.pcapng")]
    Extcap(crate::commands::extcap::ExtcapArgs),

    /// Test a device's ISO-TP against ISO 15765-2 with correct and deliberately wrong frames
    #[command(after_help = "\
Each test prints pass, FAIL or skip with what it measured; --list names every test with the
clause it checks. Exit code 0 when nothing failed, 1 when a test failed.

Examples:
  isotp conformance -i socketcan:can0 -s 7E0 -d 7E8 --dut echo
  isotp conformance -i socketcan:can0 -s 7E0 -d 7E8 --dut uds --request 22F190 --only tx.")]
    Conformance(crate::commands::conformance::ConformanceArgs),

    /// Send back every message received: a reference device under test
    #[command(after_help = "\
Examples:
  isotp echo -i socketcan:can0 -s 7E8 -d 7E0 -b 8")]
    Echo(crate::commands::echo::EchoArgs),

    /// Convert a recorded log between formats: candump (.log), Vector ASC (.asc) and BLF (.blf),
    /// pcapng (.pcapng) and pcap (.pcap) for Wireshark, MF4 (.mf4), PEAK TRC (.trc, read only)
    #[command(after_help = "\
The formats follow the file extensions unless --from/--to say otherwise; IN may be - (standard
input) and OUT - (standard output, all formats but BLF). Remote frames, error frames and other events
are not carried over: their counts are reported on standard error.

Examples:
  isotp convert trace.blf trace.log
  isotp convert drive.log drive.asc
  isotp convert trace.blf trace.pcapng && wireshark trace.pcapng
  isotp convert --from trc - - --to candump < session.txt")]
    Convert(ConvertArgs),

    /// One functional request, every responder's answer (one line each)
    #[command(after_help = "\
Examples:
  isotp request -i socketcan:can0 --functional 7DF 09 02            # the VIN from every ECU
  isotp request -i socketcan:can0 --functional 18DB33F1 22 F1 90 --format json
  isotp request -i socketcan:can0 --functional 7DF --collect 7E8-7EF --timeout 0.5 01 00")]
    Request(crate::commands::request::RequestArgs),

    /// Find ISO-TP endpoints: probe each id of a range and report who answers
    #[command(after_help = "\
Examples:
  isotp scan -i socketcan:can0 --ids 700-7FF
  isotp scan -i socketcan:can0 --ids 7E0-7E7 --probe tester-present --json")]
    Scan(crate::commands::scan::ScanArgs),
}

/// `isotp convert`.
#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The log to read (- = standard input)
    #[arg(value_name = "IN")]
    pub input: PathBuf,

    /// The log to write (- = standard output)
    #[arg(value_name = "OUT")]
    pub output: PathBuf,

    /// The format of IN [default: by extension, else by content, else candump]
    #[arg(long, value_name = "candump|asc|blf|trc|pcapng|pcap|mf4")]
    pub from: Option<isotp_capture::Format>,

    /// The format of OUT [default: by extension]
    #[arg(long, value_name = "candump|asc|blf|pcapng|pcap|mf4")]
    pub to: Option<isotp_capture::Format>,

    /// Read and write the dates of ASC and BLF headers as UTC [default: local time, as Vector's
    /// tools write them]
    #[arg(long)]
    pub utc: bool,
}

/// How received PDUs are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PduFormat {
    /// Time, ids, direction, length and bytes (sniff's default)
    Text,
    /// Two-digit uppercase hex bytes separated by spaces, nothing else (recv's default)
    Hex,
    /// Printable ASCII, other bytes as '.'
    Ascii,
    /// The bytes themselves, no separator
    Raw,
    /// One JSON object per line
    Json,
}

/// `isotp send`.
#[derive(Args, Debug)]
pub struct SendArgs {
    #[command(flatten)]
    pub iface: IfaceArg,
    #[command(flatten)]
    pub address: AddressArgs,
    #[command(flatten)]
    pub link: LinkArgs,

    /// Payload as hex bytes ("22 F1 90" or 22F190) [default: read standard input]
    #[arg(long, value_name = "HEX", conflicts_with = "file")]
    pub data: Option<String>,

    /// Payload from a file, as binary bytes [default: read standard input]
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Send the PDU this many times; i = forever
    #[arg(short = 'l', long = "loop", value_name = "N", default_value = "1", value_parser = parse_repeat)]
    pub repeat: Repeat,

    /// Wait this many microseconds before each PDU after the first
    #[arg(short = 'g', long = "gap", value_name = "USECS", default_value_t = 0)]
    pub gap_us: u64,

    /// Send to the functional address (single frames only; no -d needed)
    #[arg(long)]
    pub functional: bool,

    /// Give up when a PDU is not sent within SECONDS [default: only the protocol's timeouts]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
}

/// `-l N` of send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// This many times.
    Times(u64),
    /// Until interrupted.
    Forever,
}

fn parse_repeat(text: &str) -> Result<Repeat, String> {
    match text {
        "i" | "inf" | "infinite" => Ok(Repeat::Forever),
        _ => match text.parse::<u64>() {
            Ok(0) | Err(_) => Err(format!(
                "'{text}' is not a repeat count: give 1 or more, or i for forever"
            )),
            Ok(n) => Ok(Repeat::Times(n)),
        },
    }
}

/// `isotp recv`.
#[derive(Args, Debug)]
pub struct RecvArgs {
    #[command(flatten)]
    pub iface: IfaceArg,
    #[command(flatten)]
    pub address: AddressArgs,
    #[command(flatten)]
    pub link: LinkArgs,
    #[command(flatten)]
    pub flow: FlowArgs,

    /// Exit after COUNT PDUs
    #[arg(short = 'n', long, value_name = "COUNT", default_value_t = 1, conflicts_with = "forever", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,

    /// Receive forever
    #[arg(short = 'l', long = "loop")]
    pub forever: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = PduFormat::Hex)]
    pub format: PduFormat,

    /// Give up when no PDU arrives within SECONDS (exit code 1) [default: wait forever]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,

    /// Annotate UDS services (with --format text)
    #[arg(short = 'u', long)]
    pub uds: bool,
}

/// Where frames come from for dump and sniff.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    #[command(flatten)]
    pub iface: IfaceArg,

    /// Read frames from a recorded log instead of an interface (- = standard input): candump (.log),
    /// Vector ASC (.asc) or BLF (.blf), PEAK TRC (.trc), pcapng (.pcapng) or pcap (.pcap)
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// The format of --log [default: by extension, else by content, else candump]
    #[arg(
        long = "log-format",
        value_name = "candump|asc|blf|trc|pcapng|pcap",
        requires = "log"
    )]
    pub log_format: Option<isotp_capture::Format>,

    /// Read the dates of ASC and BLF headers as UTC [default: local time, as Vector's tools write
    /// them]
    #[arg(long, requires = "log")]
    pub utc: bool,

    /// Stop after COUNT lines of output [default: no limit]
    #[arg(short = 'n', long, value_name = "COUNT")]
    pub count: Option<u64>,

    /// Live: stop after SECONDS without a frame (exit code 1) [default: run until interrupted]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
}

impl SourceArgs {
    /// A log and an interface given together is a mistake, not a choice to make silently. An
    /// interface from the ISOTP_IFACE variable is only a default, which a log overrides.
    pub fn check_one_source(&self) -> Result<(), crate::error::CliError> {
        let (Some(_), Some(iface)) = (&self.log, &self.iface.iface) else {
            return Ok(());
        };
        if std::env::var("ISOTP_IFACE").ok().as_deref() == Some(iface.as_str()) {
            return Ok(());
        }
        Err(crate::error::CliError::usage(format!(
            "give either -i {iface} (a live bus) or --log (a recording), not both"
        )))
    }
}

/// `isotp dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub address: AddressArgs,

    /// Timestamps: a = absolute, A = absolute with the date (UTC), d = delta to the previous frame,
    /// z = from the first frame, n = none
    #[arg(short = 't', long = "timestamp", value_enum, default_value_t = TimeMode::None, value_name = "a|A|d|z|n")]
    pub time: TimeMode,

    /// Also print the data as ASCII
    #[arg(short = 'a', long)]
    pub ascii: bool,

    /// Broadcast (functional) id shown with -s and -d, as isotpdump's -b (hex, as -s)
    #[arg(short = 'b', long = "broadcast-id", value_name = "ID", value_parser = crate::link_options::parse_can_id)]
    pub broadcast: Option<isotp::CanId>,

    /// Extended address byte of the frames on -d (hex), or `any`; needs -x (isotpdump's -X)
    #[arg(short = 'X', long = "rx-ext-addr", value_name = "RXADDR|any", value_parser = parse_rx_ext, requires = "ext")]
    pub rx_ext: Option<RxExt>,

    /// Colour the output, as --color always (isotpdump's -c)
    #[arg(short = 'c')]
    pub colour: bool,

    /// Annotate UDS (and OBD) services in single and first frames
    #[arg(short = 'u', long)]
    pub uds: bool,

    /// Record the frames to FILE instead of printing them, in the format of its extension (.pcapng,
    /// .pcap, .log, .asc; .blf from a log only); - writes pcapng to standard output, for
    /// `isotp dump -i IF -w - | wireshark -k -i -`
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// The format of -w [default: by extension; pcapng for -]
    #[arg(
        long = "write-format",
        value_name = "pcapng|pcap|candump|asc|blf",
        requires = "write"
    )]
    pub write_format: Option<isotp_capture::Format>,
}

/// `isotp sniff`.
#[derive(Args, Debug)]
pub struct SniffArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub address: AddressArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = PduFormat::Text)]
    pub format: PduFormat,

    /// isotpsniffer's format: 1 = hex, 2 = ASCII, 3 = text (hex with time and ids); sets --format
    #[arg(short = 'f', value_name = "1|2|3", value_parser = clap::value_parser!(u8).range(1..=3), conflicts_with = "format")]
    pub sniffer_format: Option<u8>,

    /// Print only the first LEN bytes of each PDU (isotpsniffer's -h)
    #[arg(short = 'h', long = "head", value_name = "LEN")]
    pub head: Option<usize>,

    /// Extended address byte of the frames on -d (hex); needs -x (isotpsniffer's -X)
    #[arg(short = 'X', long = "rx-ext-addr", value_name = "RXADDR", value_parser = parse_rx_ext, requires = "ext")]
    pub rx_ext: Option<RxExt>,

    /// CAN FD link layer, isotpsniffer's -L MTU:TX_DL:TX_FLAGS (e.g. 72:64:1), validated as
    /// isotpsend's -L; a bare -L is accepted too. sniff reassembles CAN FD frames whether or not it
    /// is given
    #[arg(short = 'L', value_name = "MTU:TX_DL:FLAGS", num_args = 0..=1, default_missing_value = "72:64:0",
          value_parser = parse_link_layer)]
    pub fd: Option<isotp::core::LinkLayer>,

    /// Colour the output, as --color always (isotpsniffer's -c)
    #[arg(short = 'c')]
    pub colour: bool,

    /// Print help (-h is --head, as in isotpsniffer)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,

    /// Timestamps (text format): a = absolute, A = absolute with the date (UTC), d = delta, z = from
    /// the first PDU, n = none
    #[arg(short = 't', long = "timestamp", value_enum, default_value_t = TimeMode::Absolute, value_name = "a|A|d|z|n")]
    pub time: TimeMode,

    /// Annotate UDS (and OBD) services (text format)
    #[arg(short = 'u', long)]
    pub uds: bool,

    /// Largest PDU reassembled; larger transfers are reported and skipped
    #[arg(long = "max-size", value_name = "BYTES", default_value = "4095", value_parser = crate::link_options::parse_max_size)]
    pub max_size: u32,

    /// Without -s/-d: where discovered conversations carry an address byte. normal = none,
    /// extended = a target address byte first, mixed = an address extension byte first, the same
    /// both ways
    #[arg(long, value_enum, default_value_t = DiscoveryArg::Normal, value_name = "normal|extended|mixed")]
    pub discover: DiscoveryArg,
}

/// `sniff --discover`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiscoveryArg {
    /// No address byte
    Normal,
    /// The first data byte is the target address
    Extended,
    /// The first data byte is the address extension
    Mixed,
}

/// `isotp check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub address: AddressArgs,

    /// Without -s/-d: where discovered conversations carry an address byte (as sniff's)
    #[arg(long, value_enum, default_value_t = DiscoveryArg::Normal, value_name = "normal|extended|mixed")]
    pub discover: DiscoveryArg,

    /// One JSON object per finding, one per line, instead of the report
    #[arg(long)]
    pub json: bool,

    /// N_Bs: the longest wait for a flow control, in milliseconds
    #[arg(long = "n-bs", value_name = "MS", default_value_t = 1000)]
    pub n_bs: u64,

    /// N_Cr: the longest wait for a consecutive frame, in milliseconds
    #[arg(long = "n-cr", value_name = "MS", default_value_t = 1000)]
    pub n_cr: u64,

    /// N_Br performance limit (flow control delay, warning), in milliseconds [default: 0.9 x N_Bs]
    #[arg(long = "n-br", value_name = "MS")]
    pub n_br: Option<u64>,

    /// N_Cs performance limit (consecutive frame delay, warning), in milliseconds [default: 0.9 x
    /// N_Cr]
    #[arg(long = "n-cs", value_name = "MS")]
    pub n_cs: Option<u64>,

    /// WFTmax: the most FC.WAIT in a row
    #[arg(long = "wft-max", value_name = "N", default_value_t = 10)]
    pub wft_max: u8,

    /// How much shorter than STmin a gap may look (capture jitter), in microseconds
    #[arg(long = "st-min-tolerance", value_name = "USECS", default_value_t = 100)]
    pub st_min_tolerance: u64,

    #[command(flatten)]
    pub layers: crate::commands::check::layers::LayerArgs,
}

/// `-X` of dump and sniff: the address byte of the frames on -d.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxExt {
    /// This byte.
    Byte(u8),
    /// Any byte (dump only).
    Any,
}

fn parse_rx_ext(text: &str) -> Result<RxExt, String> {
    if text == "any" {
        return Ok(RxExt::Any);
    }
    crate::link_options::parse_ext_addr(text).and_then(|x| match x.rx {
        None => Ok(RxExt::Byte(x.tx)),
        Some(_) => Err(format!("'{text}' is not one address byte (hex)")),
    })
}

impl SniffArgs {
    /// `--format`, or what `-f` asks for.
    pub fn pdu_format(&self) -> PduFormat {
        match self.sniffer_format {
            Some(1) => PduFormat::Hex,
            Some(2) => PduFormat::Ascii,
            Some(_) => PduFormat::Text,
            None => self.format,
        }
    }
}

/// `--role` of perf on a real link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Send the PDUs (and, with --rtt, wait for each echo)
    Send,
    /// Receive the PDUs (and, with --rtt, echo each one back)
    Recv,
}

/// `isotp perf`.
#[derive(Args, Debug)]
pub struct PerfArgs {
    #[command(flatten)]
    pub iface: IfaceArg,

    /// With -i: which end of the link this is
    #[arg(long, value_enum)]
    pub role: Option<Role>,

    #[command(flatten)]
    pub address: AddressArgs,
    #[command(flatten)]
    pub link: LinkArgs,
    #[command(flatten)]
    pub flow: FlowArgs,

    /// Bytes per PDU
    #[arg(long, value_name = "N", default_value_t = 4095, value_parser = clap::value_parser!(u32).range(1..))]
    pub size: u32,

    /// Number of PDUs
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,

    /// Measure request/response round trips (the receiver echoes every PDU) and report percentiles
    #[arg(long)]
    pub rtt: bool,

    /// Print one JSON object on stdout instead of the summary line
    #[arg(long)]
    pub json: bool,

    /// Give up when a PDU is not sent or received within SECONDS
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "5")]
    pub timeout: Duration,
}

/// `isotp hub`.
#[derive(Args, Debug)]
pub struct HubArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:29536")]
    pub listen: SocketAddr,
}

/// `isotp demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Print only the messages, not every frame
    #[arg(long)]
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn repeat_counts() {
        assert_eq!(parse_repeat("3").unwrap(), Repeat::Times(3));
        assert_eq!(parse_repeat("i").unwrap(), Repeat::Forever);
        assert!(parse_repeat("0").is_err());
        assert!(parse_repeat("x").is_err());
    }

    #[test]
    fn ids_are_parsed_by_clap() {
        let cli = Cli::try_parse_from([
            "isotp", "send", "-s", "7E0", "-d", "18DAF110", "--data", "11",
        ])
        .unwrap();
        let Command::Send(s) = cli.command else {
            panic!("send")
        };
        assert!(!s.address.tx_id.unwrap().is_extended());
        assert!(s.address.rx_id.unwrap().is_extended());
        let err = Cli::try_parse_from(["isotp", "send", "-s", "20000000"]).unwrap_err();
        assert!(err.to_string().contains("1FFFFFFF"), "{err}");
    }
}
