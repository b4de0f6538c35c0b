//! `isotp demo`: a tester and two simulated ECUs on an in-process virtual bus exchange diagnostic
//! requests and responses, shown frame by frame and message by message. No hardware needed.

use std::sync::atomic::Ordering;
use std::time::Duration;

use isotp::bus::{CanBus, VirtualBus, VirtualPort};
use isotp::Stack;
use isotp_core::wire::StMin;
use isotp_core::{Address, AddressingMode, CanId, Config, TargetAddressType};

use crate::cli::DemoArgs;
use crate::commands::dump::{self, FrameFormatter, Side};
use crate::ecu;
use crate::error::{from_stack, CliError, CliResult};
use crate::hex;
use crate::link_options;
use crate::output::{Color, ColorChoice, Out, Palette, Timestamp};
use crate::source::Captured;
use crate::uds;

/// How long the bus must stay quiet before an exchange is considered shown completely.
const SETTLE: Duration = Duration::from_millis(20);
/// How long the tester waits for an answer.
const ANSWER: Duration = Duration::from_secs(2);

struct Demo {
    out: Out,
    palette: Palette,
    frames: FrameFormatter,
    monitor: VirtualPort,
    quiet: bool,
    /// Ids the tester transmits on (red); everything else is the ECUs' (blue).
    tester_ids: Vec<CanId>,
}

impl Demo {
    fn say(&mut self, text: &str) -> CliResult {
        self.out.line(text)
    }

    fn heading(&mut self, text: &str) -> CliResult {
        let line = self.palette.paint(text, Color::Bold);
        self.out.line("")?;
        self.out.line(&line)
    }

    fn message(&mut self, who: &str, payload: &[u8], functional: bool) -> CliResult {
        let mut line = format!(
            "  {who}  [{}]  {}",
            payload.len(),
            shorten(&hex::spaced(payload))
        );
        if functional {
            line.push_str("  (functional)");
        }
        if let Some(text) = uds::describe(payload) {
            line.push_str(&self.palette.paint(&format!("  [{text}]"), Color::Cyan));
        }
        self.out.line(&self.palette.paint(&line, Color::Green))
    }

    /// Prints the frames the monitor saw since the last call.
    fn frames(&mut self) -> CliResult {
        while let Ok(Some(frame)) = self.monitor.recv(Some(SETTLE)) {
            if self.quiet {
                continue;
            }
            let side = if self.tester_ids.contains(&frame.id()) {
                Side::Tx
            } else {
                Side::Rx
            };
            let c = Captured {
                time: Timestamp::now(),
                iface: "   vbus".into(),
                frame,
            };
            let line = self
                .frames
                .line(&c, side, isotp_core::wire::AddressLength::Zero);
            self.out.line(&line)?;
        }
        Ok(())
    }

    /// One request and its answer, if one is expected.
    fn exchange(
        &mut self,
        tester: &Stack,
        request: &[u8],
        target: TargetAddressType,
        expect_answer: bool,
    ) -> CliResult {
        let functional = target == TargetAddressType::Functional;
        self.message("tester -> ECU ", request, functional)?;
        tester
            .send_blocking_to(request, target, Some(ANSWER))
            .map_err(from_stack)?;
        if !expect_answer {
            self.frames()?;
            return Ok(());
        }
        let answer = tester
            .recv(Some(ANSWER))
            .map_err(from_stack)?
            .ok_or_else(|| CliError::failure("the simulated ECU did not answer within 2 s"))?;
        self.frames()?;
        self.message("ECU -> tester ", &answer, false)
    }
}

fn shorten(hex: &str) -> String {
    const MAX: usize = 3 * 24;
    if hex.len() <= MAX {
        hex.to_string()
    } else {
        format!("{} ...", &hex[..MAX - 1])
    }
}

/// Runs `isotp demo`.
pub fn run(args: &DemoArgs, color: ColorChoice) -> CliResult {
    let palette = Palette::for_stdout(color);
    let bus = VirtualBus::new();
    let monitor = bus.attach();
    let usage = |e: isotp_core::AddressError| CliError::usage(e.to_string());

    // Engine ECU: classic CAN, 11-bit ids, physical 7E0/7E8 and functional 7DF.
    let tester_address = Address::builder(AddressingMode::Normal11)
        .txid(0x7E0)
        .rxid(0x7E8)
        .functional_txid(0x7DF)
        .build()
        .map_err(usage)?;
    let ecu_address = Address::builder(AddressingMode::Normal11)
        .txid(0x7E8)
        .rxid(0x7E0)
        .functional_rxid(0x7DF)
        .build()
        .map_err(usage)?;
    let mut tester_config = Config::default();
    tester_config.block_size = 4;
    tester_config.st_min = StMin::from_byte(0x01);
    let tester = Stack::new(bus.attach(), tester_address, tester_config).map_err(from_stack)?;
    let ecu_stack = Stack::new(bus.attach(), ecu_address, Config::default()).map_err(from_stack)?;

    // Gateway ECU: CAN FD with 64-byte frames and bit rate switch, 29-bit normal fixed addressing.
    let mut fd = Config::default();
    fd.link_layer.can_fd = true;
    fd.link_layer.tx_data_length = 64;
    fd.link_layer.bitrate_switch = true;
    let fd_tester_address = Address::normal_fixed_29(0x10, 0xF1).map_err(usage)?;
    let fd_ecu_address = Address::normal_fixed_29(0xF1, 0x10).map_err(usage)?;
    let fd_tester = Stack::new(bus.attach(), fd_tester_address, fd).map_err(from_stack)?;
    let fd_ecu = Stack::new(bus.attach(), fd_ecu_address, fd).map_err(from_stack)?;

    let (stop_engine, engine) = ecu::spawn(ecu_stack);
    let (stop_gateway, gateway) = ecu::spawn(fd_ecu);

    let tester_ids = [
        tester_address.tx_id(TargetAddressType::Physical),
        tester_address.tx_id(TargetAddressType::Functional),
        fd_tester_address.tx_id(TargetAddressType::Physical),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut demo = Demo {
        out: Out::live(),
        palette,
        frames: dump::plain_formatter(palette, false, Some(16)),
        monitor,
        quiet: args.quiet,
        tester_ids,
    };
    let result = script(&mut demo, &tester, &fd_tester, &tester_config, &fd);
    stop_engine.store(true, Ordering::Relaxed);
    stop_gateway.store(true, Ordering::Relaxed);
    let _ = engine.join();
    let _ = gateway.join();
    result
}

fn script(
    demo: &mut Demo,
    tester: &Stack,
    fd_tester: &Stack,
    tester_config: &Config,
    fd: &Config,
) -> CliResult {
    use TargetAddressType::{Functional, Physical};
    demo.say("isotp demo: a tester and two simulated ECUs on an in-process virtual bus.")?;
    demo.say(
        "Messages are green; frames sent by the tester are red, by the ECUs blue (on a terminal).",
    )?;

    demo.heading(&format!(
        "1. Engine ECU 7E0/7E8, {}: switch to the extended session (single frames)",
        link_options::describe(tester_config)
    ))?;
    demo.exchange(tester, &[0x10, 0x03], Physical, true)?;

    demo.heading("2. Read the VIN: a 20-byte answer in a first frame and consecutive frames")?;
    demo.exchange(tester, &[0x22, 0xF1, 0x90], Physical, true)?;

    demo.heading(
        "3. Read the stored DTCs: 59 bytes, the tester asks for blocks of 4 frames, 1 ms apart",
    )?;
    demo.exchange(tester, &[0x19, 0x02, 0xFF], Physical, true)?;

    demo.heading("4. TesterPresent to everyone on the functional id 7DF")?;
    demo.exchange(tester, &[0x3E, 0x00], Functional, true)?;

    demo.heading("5. An unknown data identifier: a negative response")?;
    demo.exchange(tester, &[0x22, 0x12, 0x34], Physical, true)?;

    demo.heading(&format!(
        "6. Gateway ECU 18DA10F1/18DAF110 on {}: a 203-byte answer in 4 frames",
        link_options::describe(fd)
    ))?;
    let [hi, lo] = ecu::CALIBRATION_DID.to_be_bytes();
    demo.exchange(fd_tester, &[0x22, hi, lo], Physical, true)?;

    demo.say("")?;
    demo.say("Done. Try the same on real hardware: isotp send / recv / dump / sniff -i socketcan:can0 ...")
}
