//! The tester's side of the bus: building frames with the wire module (and, for the deliberately
//! wrong ones, changing one field of an emitted frame), sending whole messages as a well-behaved or
//! a misbehaving sender, and receiving the DUT's messages with chosen flow control, all timed with
//! the bus's timestamps.

use std::time::{Duration, Instant};

use isotp_core::wire::{dlc, AddressLength, FlowStatus, Pdu, StMin, FF_ESCAPE_THRESHOLD};
use isotp_core::{Address, CanId, Frame, TargetAddressType};

use super::{Dut, Options};
use isotp::bus::{BusError, CanBus};

/// A frame from the DUT with its capture time.
pub(crate) struct Rx {
    pub frame: Frame,
    pub at: Instant,
}

/// A flow control frame the DUT sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FcSeen {
    pub at: Instant,
    pub status: FlowStatus,
    pub block_size: u8,
    pub st_min: StMin,
}

/// Deliberate faults of the tester as a sender of consecutive frames (indexes count CFs from 0).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Mangle {
    /// This CF carries the sequence number after the right one.
    pub wrong_sn_at: Option<usize>,
    /// Wait this long before this CF.
    pub pause_before: Option<(usize, Duration)>,
    /// Send only this many CFs.
    pub stop_after: Option<usize>,
}

/// How the tester's sending of a message ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Every frame went out.
    Complete,
    /// Stopped as [`Mangle::stop_after`] asked.
    Stopped,
    /// The DUT sent no flow control within N_Bs.
    NoFlowControl,
    /// The DUT answered FC.OVFLW.
    Overflow,
    /// The DUT sent a frame that is no valid flow control while one was awaited.
    BadFlowControl(String),
    /// The DUT sent more FC.WAIT in a row than the tester's WFTmax allows (N_WFT_OVRN): the
    /// transmission was abandoned.
    WaitOverrun {
        /// The WAITs received in a row.
        waits: u32,
    },
}

pub(crate) struct SendReport {
    pub outcome: Sent,
    pub ff_at: Option<Instant>,
    pub fcs: Vec<FcSeen>,
    /// Measured pause of [`Mangle::pause_before`].
    pub pause: Option<Duration>,
}

/// The flow control the tester answers a first frame (and each block) with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FcPlan {
    pub block_size: u8,
    pub st_min: StMin,
}

impl FcPlan {
    pub const FREE: FcPlan = FcPlan {
        block_size: 0,
        st_min: StMin::ZERO,
    };
}

/// A message the DUT sent, frame by frame.
#[derive(Debug, Default)]
pub(crate) struct Received {
    pub payload: Vec<u8>,
    /// Frame length of the SF or FF.
    pub first_len: usize,
    pub first_at: Option<Instant>,
    /// The SF used the CAN FD escape.
    pub escaped_sf: bool,
    pub ff_dl: Option<u32>,
    /// Capture time, frame length and SN of every CF.
    pub cfs: Vec<(Instant, usize, u8)>,
    /// When each of the tester's FCs went out.
    pub fc_sent: Vec<Instant>,
    /// What went wrong before the message was complete.
    pub error: Option<String>,
}

impl Received {
    /// Gaps between consecutive CFs (by capture time).
    pub fn cf_gaps(&self) -> Vec<Duration> {
        self.cfs
            .windows(2)
            .map(|w| w[1].0.saturating_duration_since(w[0].0))
            .collect()
    }
}

/// What the DUT did with a message.
#[derive(Debug)]
pub(crate) enum Reply {
    /// An echo DUT sent the same bytes back.
    Echoed,
    /// A UDS DUT answered with so many bytes.
    Answered(usize),
    /// The echo differs, or the answer broke the protocol.
    Wrong(String),
    /// Nothing came back in time.
    Silent,
    /// The tester could not send the message.
    NotSent(String),
}

pub(crate) struct Tester<'a> {
    bus: &'a dyn CanBus,
    pub opts: &'a Options,
    address: Address,
    tx_id: CanId,
    tx_len: AddressLength,
    rx_len: AddressLength,
    /// The end of the running test's time: no wait goes past it.
    test_end: Instant,
}

impl<'a> Tester<'a> {
    pub fn new(bus: &'a dyn CanBus, opts: &'a Options) -> Result<Tester<'a>, String> {
        let address = opts.address;
        let tx_id = address
            .tx_id(TargetAddressType::Physical)
            .ok_or("the tester's address cannot transmit (give -s)")?;
        if !address.can_receive() {
            return Err("the tester's address cannot receive (give -d)".into());
        }
        opts.link_layer.validate().map_err(|e| e.to_string())?;
        if opts.link_layer.can_fd && !bus.capabilities().can_fd {
            return Err("the link layer is CAN FD but the bus carries classic CAN only".into());
        }
        if let Dut::Uds { request } = &opts.dut {
            if request.is_empty() {
                return Err("the UDS request is empty".into());
            }
        }
        Ok(Tester {
            bus,
            opts,
            address,
            tx_id,
            tx_len: address.tx_address_len(),
            rx_len: address.rx_address_len(),
            test_end: Instant::now() + opts.test_limit,
        })
    }

    /// Starts the clock of a test's time limit.
    pub fn start_test(&mut self) {
        self.test_end = Instant::now() + self.opts.test_limit;
    }

    /// True once the running test has used up its time limit.
    pub fn out_of_time(&self) -> bool {
        Instant::now() >= self.test_end
    }

    pub fn is_fd(&self) -> bool {
        self.opts.link_layer.can_fd
    }

    pub fn is_echo(&self) -> bool {
        self.opts.dut == Dut::Echo
    }

    /// Bytes of the tester's frames (TX_DL).
    pub fn tx_dl(&self) -> usize {
        usize::from(self.opts.link_layer.tx_data_length)
    }

    pub fn tx_address_len(&self) -> AddressLength {
        self.tx_len
    }

    /// Payload of the largest unescaped single frame (in a frame of 8 bytes).
    pub fn classic_sf_max(&self) -> usize {
        Pdu::single_frame_capacity(dlc::CLASSIC_MAX_LEN, self.tx_len)
    }

    /// Payload of the largest single frame of the tester's TX_DL.
    pub fn sf_max(&self) -> usize {
        Pdu::single_frame_capacity(self.tx_dl(), self.tx_len)
    }

    /// Payload bytes of a CF.
    pub fn cf_data(&self) -> usize {
        Pdu::consecutive_frame_capacity(self.tx_dl(), self.tx_len)
    }

    /// Payload bytes of an FF announcing at most 4095 bytes.
    pub fn ff_data(&self) -> usize {
        Pdu::first_frame_capacity(self.tx_dl(), FF_ESCAPE_THRESHOLD, self.tx_len)
    }

    /// The N_Bs / N_Cr bound, plus the tolerance.
    pub fn n_timeout(&self) -> Duration {
        self.opts.n_timeout + self.opts.tolerance
    }

    /// A pause meant to exceed N_Bs or N_Cr: by the tolerance and at least 100 ms, so that a DUT
    /// whose timers run a little late on a loaded machine is not judged too early.
    pub fn past_timeout(&self) -> Duration {
        self.opts.n_timeout + self.opts.tolerance.max(Duration::from_millis(100))
    }

    /// A test message of `size` bytes: a pattern that differs with `seed` for an echo DUT, the
    /// request lengthened with zeros (or shortened) for a UDS DUT.
    pub fn payload(&self, size: usize, seed: u8) -> Vec<u8> {
        match &self.opts.dut {
            Dut::Echo => (0..size)
                .map(|i| i.to_le_bytes()[0].wrapping_mul(7).wrapping_add(seed))
                .collect(),
            Dut::Uds { request } => {
                let mut p = request.clone();
                p.resize(size, 0);
                p
            }
        }
    }

    /// The data of a frame: address byte, `pdu`, and padding by the link's rules (none on classic
    /// CAN unless a padding byte is set; CAN FD above 8 bytes to the next valid length).
    pub fn frame_bytes(&self, pdu: &Pdu<'_>) -> Result<Vec<u8>, BusError> {
        let mut buf = [self.opts.tx_padding.unwrap_or(0xCC); dlc::FD_MAX_LEN];
        if let Some(p) = self.address.tx_prefix() {
            buf[0] = p;
        }
        let used = pdu
            .emit(&mut buf, self.tx_len)
            .map_err(|e| BusError::Unsupported(format!("the tester cannot build {pdu:?}: {e}")))?;
        let len = if used > dlc::CLASSIC_MAX_LEN {
            dlc::padded_len(used)
        } else if self.opts.tx_padding.is_some() {
            dlc::CLASSIC_MAX_LEN
        } else {
            used
        };
        Ok(buf[..len].to_vec())
    }

    /// Sends frame data as it is, in a CAN FD frame when the link is FD. Returns when the frame
    /// went out, to time the DUT's reaction from: the moment just before the bus took it. A bus
    /// that confirms transmission returns from `send` only after its own frame is on the bus, and
    /// the DUT's answer, stamped at capture, may then be older than the return of `send`; the
    /// frame cannot have been on the bus before it was handed over, so a time measured from here
    /// is never short.
    pub fn send_raw(&self, data: &[u8]) -> Result<Instant, BusError> {
        let ll = &self.opts.link_layer;
        let frame = if ll.can_fd {
            Frame::new_fd(self.tx_id, data).map(|f| f.with_brs(ll.bitrate_switch))
        } else {
            Frame::new(self.tx_id, data)
        }
        .map_err(|e| BusError::Unsupported(format!("the tester cannot build a frame: {e}")))?;
        let handed_over = Instant::now();
        self.bus.send(&frame)?;
        Ok(handed_over)
    }

    pub fn send_pdu(&self, pdu: &Pdu<'_>) -> Result<Instant, BusError> {
        self.send_raw(&self.frame_bytes(pdu)?)
    }

    /// The next frame from the DUT before `deadline` (and before the end of the test's time).
    pub fn recv_until(&self, deadline: Instant) -> Result<Option<Rx>, BusError> {
        let deadline = deadline.min(self.test_end);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some((frame, at)) = self.bus.recv_timestamped(Some(left))? else {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                continue;
            };
            if self.address.accepts(&frame).is_some() {
                return Ok(Some(Rx { frame, at }));
            }
        }
    }

    pub fn parse<'f>(&self, frame: &'f Frame) -> Result<Pdu<'f>, isotp_core::wire::ParseError> {
        Pdu::parse(frame.data(), self.rx_len)
    }

    /// Forgets what the DUT still sends from a previous test (until it has been quiet for 20 ms).
    pub fn settle(&self) -> Result<(), BusError> {
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            if self
                .recv_until(Instant::now() + Duration::from_millis(20))?
                .is_none()
            {
                break;
            }
        }
        Ok(())
    }

    /// The first frame from the DUT within `within`, described, or `None` when it stayed silent.
    pub fn expect_silence(&self, within: Duration) -> Result<Option<String>, BusError> {
        Ok(self
            .recv_until(Instant::now() + within)?
            .map(|rx| describe(&rx.frame, self.rx_len)))
    }

    /// Waits for an FC from the DUT until `deadline`, ignoring other frames.
    pub fn wait_fc(&self, deadline: Instant) -> Result<Result<FcSeen, Sent>, BusError> {
        while let Some(rx) = self.recv_until(deadline)? {
            match self.parse(&rx.frame) {
                Ok(Pdu::FlowControl {
                    status,
                    block_size,
                    st_min,
                }) => {
                    return Ok(Ok(FcSeen {
                        at: rx.at,
                        status,
                        block_size,
                        st_min,
                    }))
                }
                Err(e) if rx.frame.data().get(self.rx_len.bytes()).map(|b| b >> 4) == Some(3) => {
                    return Ok(Err(Sent::BadFlowControl(e.to_string())))
                }
                _ => {}
            }
        }
        Ok(Err(Sent::NoFlowControl))
    }

    /// Sends `payload` as SF or FF + CFs, following the DUT's flow control, with `mangle`'s faults.
    pub fn send_message(&self, payload: &[u8], mangle: Mangle) -> Result<SendReport, BusError> {
        let mut report = SendReport {
            outcome: Sent::Complete,
            ff_at: None,
            fcs: Vec::new(),
            pause: None,
        };
        if payload.len() <= self.sf_max() {
            let escaped = payload.len() > self.classic_sf_max();
            self.send_pdu(&Pdu::SingleFrame {
                data: payload,
                escaped,
            })?;
            return Ok(report);
        }
        // Test messages are a few KiB at most.
        let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        let ff_data = Pdu::first_frame_capacity(self.tx_dl(), length, self.tx_len);
        report.ff_at = Some(self.send_pdu(&Pdu::FirstFrame {
            length,
            data: &payload[..ff_data],
        })?);
        let mut block_left = 0usize;
        let mut st_min = Duration::ZERO;
        let mut last_cf: Option<Instant> = None;
        for (index, chunk) in payload[ff_data..].chunks(self.cf_data()).enumerate() {
            if block_left == 0 {
                let mut deadline = Instant::now() + self.n_timeout();
                let mut waits = 0u32;
                let fc = loop {
                    match self.wait_fc(deadline)? {
                        Ok(fc) => {
                            report.fcs.push(fc);
                            match fc.status {
                                FlowStatus::ContinueToSend => break fc,
                                FlowStatus::Wait => {
                                    // Each WAIT restarts N_Bs, at most WFTmax times in a row.
                                    waits += 1;
                                    if waits > u32::from(self.opts.wft_max) {
                                        report.outcome = Sent::WaitOverrun { waits };
                                        return Ok(report);
                                    }
                                    deadline = Instant::now() + self.n_timeout();
                                }
                                FlowStatus::Overflow => {
                                    report.outcome = Sent::Overflow;
                                    return Ok(report);
                                }
                            }
                        }
                        Err(end) => {
                            report.outcome = end;
                            return Ok(report);
                        }
                    }
                };
                block_left = if fc.block_size == 0 {
                    usize::MAX
                } else {
                    usize::from(fc.block_size)
                };
                st_min = fc.st_min.duration();
                last_cf = None; // the first CF after an FC goes at once
            }
            if mangle.stop_after == Some(index) {
                report.outcome = Sent::Stopped;
                return Ok(report);
            }
            if let Some(prev) = last_cf {
                wait_until(prev + st_min);
            }
            let before = Instant::now();
            if let Some((at, pause)) = mangle.pause_before {
                if at == index {
                    std::thread::sleep(pause);
                }
            }
            #[allow(clippy::cast_possible_truncation)] // below 16
            let mut sn = ((index + 1) % 16) as u8;
            if mangle.wrong_sn_at == Some(index) {
                sn = (sn + 1) % 16;
            }
            let sent = self.send_pdu(&Pdu::ConsecutiveFrame {
                sequence_number: sn,
                data: chunk,
            })?;
            if mangle.pause_before.is_some_and(|(at, _)| at == index) {
                report.pause = Some(sent.saturating_duration_since(before));
            }
            // STmin counts from when the bus is surely done with the frame: never a short gap.
            last_cf = Some(Instant::now());
            block_left -= 1;
        }
        Ok(report)
    }

    /// Sends an FC frame.
    pub fn send_fc(&self, status: FlowStatus, plan: FcPlan) -> Result<Instant, BusError> {
        self.send_pdu(&Pdu::FlowControl {
            status,
            block_size: plan.block_size,
            st_min: plan.st_min,
        })
    }

    /// Waits until `deadline` for the DUT's SF or FF; `None` when none came.
    pub fn recv_first(&self, deadline: Instant) -> Result<Option<(Rx, Received)>, BusError> {
        while let Some(rx) = self.recv_until(deadline)? {
            let mut got = Received {
                first_len: rx.frame.len(),
                first_at: Some(rx.at),
                ..Received::default()
            };
            match self.parse(&rx.frame) {
                Ok(Pdu::SingleFrame { data, escaped }) => {
                    got.payload = data.to_vec();
                    got.escaped_sf = escaped;
                }
                Ok(Pdu::FirstFrame { length, data }) => {
                    got.ff_dl = Some(length);
                    got.payload = data.to_vec();
                    if length > self.opts.max_size {
                        // Refused as a receiver refuses it, so that the DUT stops.
                        self.send_fc(FlowStatus::Overflow, FcPlan::FREE)?;
                        got.error = Some(format!(
                            "a first frame announcing {length} bytes, more than the tester accepts \
                             (max size {}): answered FC.OVFLW",
                            self.opts.max_size
                        ));
                    }
                }
                Ok(_) => continue, // an FC or CF is no start of a message
                Err(e) => got.error = Some(format!("a malformed frame: {e}")),
            }
            return Ok(Some((rx, got)));
        }
        Ok(None)
    }

    /// After an FF: receives the CFs, answering each block with `plan` (the first FC is sent here).
    pub fn recv_rest(&self, got: &mut Received, plan: FcPlan) -> Result<(), BusError> {
        let Some(length) = got.ff_dl else {
            return Ok(());
        };
        let length = length as usize;
        got.fc_sent
            .push(self.send_fc(FlowStatus::ContinueToSend, plan)?);
        let mut in_block = 0usize;
        let mut sn = 1u8;
        while got.payload.len() < length {
            let Some(rx) = self.recv_until(Instant::now() + self.n_timeout())? else {
                got.error = Some(format!(
                    "no consecutive frame within N_Cr after {} of {length} bytes",
                    got.payload.len()
                ));
                return Ok(());
            };
            match self.parse(&rx.frame) {
                Ok(Pdu::ConsecutiveFrame {
                    sequence_number,
                    data,
                }) => {
                    got.cfs.push((rx.at, rx.frame.len(), sequence_number));
                    if sequence_number != sn {
                        got.error = Some(format!(
                            "consecutive frame {} has SN {sequence_number}, expected {sn}",
                            got.cfs.len()
                        ));
                        return Ok(());
                    }
                    let take = data.len().min(length - got.payload.len());
                    got.payload.extend_from_slice(&data[..take]);
                    sn = (sn + 1) % 16;
                    in_block += 1;
                    if plan.block_size > 0
                        && in_block == usize::from(plan.block_size)
                        && got.payload.len() < length
                    {
                        in_block = 0;
                        got.fc_sent
                            .push(self.send_fc(FlowStatus::ContinueToSend, plan)?);
                    }
                }
                Ok(other) => {
                    got.error = Some(format!(
                        "a {:?} frame in the middle of a message",
                        other.pci_type()
                    ));
                    return Ok(());
                }
                Err(e) => {
                    got.error = Some(format!("a malformed frame: {e}"));
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Receives a whole message from the DUT (first frame by `deadline`), answering with `plan`.
    pub fn recv_message(
        &self,
        plan: FcPlan,
        deadline: Instant,
    ) -> Result<Option<Received>, BusError> {
        let Some((_, mut got)) = self.recv_first(deadline)? else {
            return Ok(None);
        };
        if got.error.is_none() {
            self.recv_rest(&mut got, plan)?;
        }
        Ok(Some(got))
    }

    /// Sends `payload` and judges the DUT's reply (its echo, or any answer).
    pub fn exchange(&self, payload: &[u8]) -> Result<Reply, BusError> {
        let sent = self.send_message(payload, Mangle::default())?;
        if sent.outcome != Sent::Complete {
            return Ok(Reply::NotSent(sent_text(&sent.outcome)));
        }
        self.await_reply(payload)
    }

    /// Judges the next message from the DUT as the reply to `payload`.
    pub fn await_reply(&self, payload: &[u8]) -> Result<Reply, BusError> {
        let deadline = Instant::now() + self.opts.response_timeout;
        let Some(got) = self.recv_message(FcPlan::FREE, deadline)? else {
            return Ok(Reply::Silent);
        };
        if let Some(e) = got.error {
            return Ok(Reply::Wrong(e));
        }
        if !self.is_echo() {
            return Ok(Reply::Answered(got.payload.len()));
        }
        if got.payload == payload {
            Ok(Reply::Echoed)
        } else {
            Ok(Reply::Wrong(format!(
                "the echo of a {}-byte message is {} bytes{}",
                payload.len(),
                got.payload.len(),
                if got.payload.len() == payload.len() {
                    " with different content"
                } else {
                    ""
                }
            )))
        }
    }

    /// Makes the DUT send a message (an echo of `size` bytes, or the answer to the UDS request)
    /// and returns its first frame; the tester then plays the receiver. `None` with a reason when
    /// the DUT did not start one.
    pub fn provoke(&self, size: usize) -> Result<Result<(Vec<u8>, Received), String>, BusError> {
        let payload = match &self.opts.dut {
            Dut::Echo => self.payload(size, 0x40),
            Dut::Uds { request } => request.clone(),
        };
        let sent = self.send_message(&payload, Mangle::default())?;
        if sent.outcome != Sent::Complete {
            return Ok(Err(format!(
                "could not send the message that provokes one: {}",
                sent_text(&sent.outcome)
            )));
        }
        match self.recv_first(Instant::now() + self.opts.response_timeout)? {
            None => Ok(Err("the DUT sent no message back".into())),
            Some((_, got)) => match &got.error {
                Some(e) => Ok(Err(format!("the DUT's reply starts with {e}"))),
                None => Ok(Ok((payload, got))),
            },
        }
    }

    /// [`provoke`](Tester::provoke) for tests that need a multi-frame message with at least
    /// `min_cfs` CFs: a skip reason when the DUT's message is shorter.
    pub fn provoke_multi(
        &self,
        size: usize,
        min_cfs: usize,
    ) -> Result<Result<(Vec<u8>, Received), String>, BusError> {
        let (payload, got) = match self.provoke(size)? {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        let Some(ff_dl) = got.ff_dl else {
            return Ok(Err(format!(
                "the DUT's message ({} bytes) fits a single frame",
                got.payload.len()
            )));
        };
        let per_cf = got.first_len.saturating_sub(self.rx_len.bytes() + 1).max(1);
        let cfs = (ff_dl as usize)
            .saturating_sub(got.payload.len())
            .div_ceil(per_cf);
        if cfs < min_cfs {
            // Let it end (it waits for an FC that never comes) before the next test.
            std::thread::sleep(self.n_timeout());
            return Ok(Err(format!(
                "the DUT's message has {cfs} consecutive frames, this test needs {min_cfs}"
            )));
        }
        Ok(Ok((payload, got)))
    }

    /// The size of an echo whose DUT reply needs at least `cfs` CFs of `cf_payload` bytes.
    pub fn size_for_cfs(&self, cfs: usize) -> usize {
        // The DUT may use larger frames than the tester (CAN FD): assume 62-byte CFs there.
        let per_cf = if self.is_fd() { 63 } else { 7 };
        (per_cf * (cfs + 1)).min(4095)
    }
}

/// Sleeps until `t`, the last two milliseconds by spinning (so sub-millisecond STmin is kept).
pub(crate) fn wait_until(t: Instant) {
    loop {
        let now = Instant::now();
        if now >= t {
            return;
        }
        let left = t - now;
        if left > Duration::from_millis(2) {
            std::thread::sleep(left - Duration::from_millis(2));
        } else {
            std::hint::spin_loop();
        }
    }
}

pub(crate) fn sent_text(s: &Sent) -> String {
    match s {
        Sent::Complete => "sent".into(),
        Sent::Stopped => "stopped".into(),
        Sent::NoFlowControl => "no flow control within N_Bs".into(),
        Sent::Overflow => "the DUT answered FC.OVFLW".into(),
        Sent::BadFlowControl(e) => format!("the DUT sent an invalid flow control ({e})"),
        Sent::WaitOverrun { waits } => format!(
            "the DUT sent {waits} FC.WAIT in a row, more than WFTmax: transmission abandoned"
        ),
    }
}

pub(crate) fn reply_text(r: &Reply) -> String {
    match r {
        Reply::Echoed => "echoed".into(),
        Reply::Answered(n) => format!("answered ({n} bytes)"),
        Reply::Wrong(e) => e.clone(),
        Reply::Silent => "no reply".into(),
        Reply::NotSent(e) => e.clone(),
    }
}

/// One frame as `dump` would name it: its PCI type, or why it is invalid.
pub(crate) fn describe(frame: &Frame, rx_len: AddressLength) -> String {
    let hex: Vec<String> = frame.data().iter().map(|b| format!("{b:02X}")).collect();
    let kind = match Pdu::parse(frame.data(), rx_len) {
        Ok(p) => format!("{:?}", p.pci_type()),
        Err(e) => format!("invalid frame ({e})"),
    };
    format!("{kind} [{}]", hex.join(" "))
}
