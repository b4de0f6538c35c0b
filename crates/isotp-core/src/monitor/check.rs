//! Judging recorded transfers against ISO 15765-2: pacing (BS, STmin), timing (N_Bs, N_Cr, N_Br,
//! N_Cs), sequence numbers, frame rules and transfers left unfinished.
//!
//! A [`Checker`] drives a [`Monitor`] with frame observations on: the monitor says which
//! conversation and which end each frame belongs to (watched or discovered, as `sniff` sees them),
//! and its PDU parser applies the engine's validity rules. The checker follows every segmented
//! transfer from its first frame, through the flow controls, to its last consecutive frame, and
//! reports each fault as a [`Finding`] with the frames that show it.
//!
//! ```
//! use isotp_core::monitor::check::{CheckConfig, Checker, FindingKind, Severity};
//! use isotp_core::monitor::Discovery;
//! use isotp_core::{CanId, Duration, Frame, Instant};
//!
//! let mut checker = Checker::new(CheckConfig::discovering(Discovery::Normal));
//! let frame = |id, data: &[u8]| Frame::new(CanId::standard(id).unwrap(), data).unwrap();
//! // A 20-byte response; the tester asks for STmin 10 ms, the ECU sends its frames 2 ms apart.
//! let traffic = [
//!     (0, frame(0x7E8, &[0x10, 0x14, 0x62, 0xF1, 0x90, 1, 2, 3])),
//!     (1, frame(0x7E0, &[0x30, 0x00, 0x0A])),
//!     (11, frame(0x7E8, &[0x21, 4, 5, 6, 7, 8, 9, 10])),
//!     (13, frame(0x7E8, &[0x22, 11, 12, 13, 14, 15, 16, 17])),
//! ];
//! for (ms, f) in &traffic {
//!     checker.handle_frame(f, Instant::ZERO + Duration::from_millis(*ms));
//! }
//! checker.finish();
//! let finding = checker.poll_finding().expect("a finding");
//! assert_eq!(finding.severity(), Severity::Violation);
//! assert!(matches!(finding.kind, FindingKind::StMinViolated { .. }));
//! assert_eq!(finding.frame.index, 3); // the consecutive frame sent too early
//! assert_eq!(finding.since.map(|f| f.index), Some(2)); // after this one
//! assert!(checker.poll_finding().is_none());
//! ```

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::fmt;

use super::{
    Conversation, Discovery, Evictions, FrameRef, Monitor, MonitorConfig, MonitorEvent, Party,
};
use crate::error::ParseError;
use crate::wire::{dlc, explain, AddressLength, FlowStatus, PciView, StMin};
use crate::{Address, ConfigError, Duration, Frame, Instant};

/// How many times N_Bs a flow control may come late and still be paired with its first frame.
const LATE_FACTOR: u32 = 10;

/// The limits a [`Checker`] judges by. The defaults are ISO 15765-2's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckConfig {
    /// Discover conversations laid out this way; `None` checks only the watched ones.
    pub discovery: Option<Discovery>,
    /// N_Bs: the longest a sender waits for a flow control (ISO: 1000 ms). Longer is a violation.
    pub n_bs: Duration,
    /// N_Cr: the longest a receiver waits for a consecutive frame (ISO: 1000 ms). Longer is a
    /// violation.
    pub n_cr: Duration,
    /// N_Br as seen on the bus (N_Br + N_Ar): how soon a receiver should answer with a flow control.
    /// A performance requirement, so exceeding it is a warning. Default 900 ms, ISO's
    /// (N_Br + N_Ar) < 0.9 × N_Bs.
    pub n_br: Duration,
    /// N_Cs as seen on the bus (N_Cs + N_As, STmin included): how soon a sender should send its next
    /// consecutive frame. A warning when exceeded. Default 900 ms, ISO's (N_Cs + N_As) < 0.9 × N_Cr.
    pub n_cs: Duration,
    /// WFTmax: the most FC.WAIT in a row before a transfer must be given up. ISO leaves the value to
    /// the system; default 10. More is a violation.
    pub wft_max: u8,
    /// How much shorter than STmin a gap between consecutive frames may look before it is a
    /// violation: capture timestamps jitter. Default 100 µs (the finest STmin step).
    pub st_min_tolerance: Duration,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            discovery: None,
            n_bs: Duration::from_millis(1000),
            n_cr: Duration::from_millis(1000),
            n_br: Duration::from_millis(900),
            n_cs: Duration::from_millis(900),
            wft_max: 10,
            st_min_tolerance: Duration::from_micros(100),
        }
    }
}

impl CheckConfig {
    /// The monitor a [`Checker`] follows conversations with: frame observations on, and windows
    /// wide enough that a late flow control is judged (as late) rather than left unpaired. A
    /// layer above ISO-TP (UDS timing, a report) that runs its own monitor with these sees the
    /// same conversations and messages as the checker.
    #[must_use]
    pub fn monitor_config(&self) -> MonitorConfig {
        let mut monitor = MonitorConfig {
            discovery: self.discovery,
            observe_frames: true,
            ..MonitorConfig::default()
        };
        monitor.config.n_bs = self.n_bs.saturating_mul(LATE_FACTOR);
        monitor.config.n_cr = self.n_cr.saturating_mul(LATE_FACTOR);
        // Judge transfers of any length: the size of a message is not a fault of the recording.
        monitor.config.max_frame_size = u32::MAX;
        monitor
    }

    /// ISO's limits, discovering every conversation laid out as `discovery` says.
    #[must_use]
    pub fn discovering(discovery: Discovery) -> CheckConfig {
        CheckConfig {
            discovery: Some(discovery),
            ..CheckConfig::default()
        }
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Against a rule of the standard.
    Violation,
    /// Allowed, but slow or suspicious.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Violation => "violation",
            Severity::Warning => "warning",
        })
    }
}

/// What is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindingKind {
    /// Consecutive frames of one block closer together than the STmin the receiver asked for: the
    /// smallest gap of the block.
    StMinViolated {
        /// STmin of the flow control.
        st_min: StMin,
        /// The smallest gap.
        gap: Duration,
    },
    /// More consecutive frames than the block size before the next flow control.
    BlockSizeExceeded {
        /// BS of the flow control.
        block_size: u8,
    },
    /// A flow control came later than N_Bs after the frame it answers.
    NBsExceeded {
        /// The wait.
        waited: Duration,
        /// N_Bs.
        limit: Duration,
    },
    /// A consecutive frame came later than N_Cr after the previous frame of the transfer.
    NCrExceeded {
        /// The wait.
        waited: Duration,
        /// N_Cr.
        limit: Duration,
    },
    /// A flow control took longer than the N_Br performance limit (but within N_Bs).
    NBrExceeded {
        /// The wait.
        waited: Duration,
        /// The N_Br limit.
        limit: Duration,
    },
    /// A consecutive frame took longer than the N_Cs performance limit (but within N_Cr).
    NCsExceeded {
        /// The wait.
        waited: Duration,
        /// The N_Cs limit.
        limit: Duration,
    },
    /// A consecutive frame out of sequence (N_WRONG_SN); the receiver abandons the transfer.
    WrongSequenceNumber {
        /// The sequence number due.
        expected: u8,
        /// The one sent.
        received: u8,
    },
    /// A frame whose PCI the standard says to ignore: single and first frame rules (escapes,
    /// lengths, CAN_DL), unknown PCI types, short flow controls, invalid flow status.
    Malformed(ParseError),
    /// A consecutive frame with a CAN_DL other than the first frame's (or, the last one, longer).
    ConsecutiveFrameLength {
        /// The first frame's CAN_DL.
        expected: usize,
        /// The frame's CAN_DL.
        received: usize,
    },
    /// A CAN FD frame longer than 8 bytes and longer than the smallest CAN FD length holding its
    /// bytes: ISO pads to the next valid length only.
    FdPadding {
        /// Bytes of address, PCI and data.
        used: usize,
        /// The frame's CAN_DL.
        frame_len: usize,
    },
    /// More FC.WAIT in a row than WFTmax.
    WaitOverrun {
        /// FC.WAIT in a row.
        waits: u32,
        /// WFTmax.
        wft_max: u8,
    },
    /// A flow control with a reserved STmin value (the sender must use 127 ms).
    ReservedStMin {
        /// The value.
        st_min: StMin,
    },
    /// A consecutive frame sent while the sender should have waited for a flow control.
    ConsecutiveFrameWithoutFlowControl,
    /// A first frame no flow control ever answered.
    UnansweredFirstFrame {
        /// FF_DL.
        length: u32,
    },
    /// A reception given up before its last consecutive frame: the sender started another message,
    /// or fell silent for longer than its limit.
    AbandonedReception {
        /// Bytes that came.
        received: u32,
        /// FF_DL.
        length: u32,
    },
    /// The recording ends during a transfer, sooner than its limit: nothing can be said of it.
    CutByRecordingEnd {
        /// Bytes that came.
        received: u32,
        /// FF_DL.
        length: u32,
    },
    /// A consecutive frame with no transfer in progress.
    UnexpectedConsecutiveFrame,
    /// A flow control while no transfer waited for one.
    UnexpectedFlowControl,
}

impl FindingKind {
    /// How bad it is.
    #[must_use]
    pub fn severity(&self) -> Severity {
        match self {
            FindingKind::NBrExceeded { .. }
            | FindingKind::NCsExceeded { .. }
            | FindingKind::ReservedStMin { .. }
            | FindingKind::CutByRecordingEnd { .. }
            | FindingKind::UnexpectedConsecutiveFrame
            | FindingKind::UnexpectedFlowControl => Severity::Warning,
            _ => Severity::Violation,
        }
    }

    /// For a timing finding, what was measured and the limit it is judged against.
    #[must_use]
    pub fn timing(&self) -> Option<(Duration, Duration)> {
        match *self {
            FindingKind::StMinViolated { st_min, gap } => Some((gap, st_min.duration())),
            FindingKind::NBsExceeded { waited, limit }
            | FindingKind::NCrExceeded { waited, limit }
            | FindingKind::NBrExceeded { waited, limit }
            | FindingKind::NCsExceeded { waited, limit } => Some((waited, limit)),
            _ => None,
        }
    }

    /// A short stable name (`st_min_violated`), for machine-readable reports.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            FindingKind::StMinViolated { .. } => "st_min_violated",
            FindingKind::BlockSizeExceeded { .. } => "block_size_exceeded",
            FindingKind::NBsExceeded { .. } => "n_bs_exceeded",
            FindingKind::NCrExceeded { .. } => "n_cr_exceeded",
            FindingKind::NBrExceeded { .. } => "n_br_exceeded",
            FindingKind::NCsExceeded { .. } => "n_cs_exceeded",
            FindingKind::WrongSequenceNumber { .. } => "wrong_sequence_number",
            FindingKind::Malformed(_) => "malformed",
            FindingKind::ConsecutiveFrameLength { .. } => "consecutive_frame_length",
            FindingKind::FdPadding { .. } => "fd_padding",
            FindingKind::WaitOverrun { .. } => "wait_overrun",
            FindingKind::ReservedStMin { .. } => "reserved_st_min",
            FindingKind::ConsecutiveFrameWithoutFlowControl => {
                "consecutive_frame_without_flow_control"
            }
            FindingKind::UnansweredFirstFrame { .. } => "unanswered_first_frame",
            FindingKind::AbandonedReception { .. } => "abandoned_reception",
            FindingKind::CutByRecordingEnd { .. } => "cut_by_recording_end",
            FindingKind::UnexpectedConsecutiveFrame => "unexpected_consecutive_frame",
            FindingKind::UnexpectedFlowControl => "unexpected_flow_control",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FindingKind::StMinViolated { st_min, gap } => write!(
                f,
                "STmin 0x{:02X} = {:?} asked, smallest gap of the block {gap:?}",
                st_min.to_byte(),
                st_min.duration()
            ),
            FindingKind::BlockSizeExceeded { block_size } => write!(
                f,
                "more than BS = {block_size} consecutive frames before a flow control"
            ),
            FindingKind::NBsExceeded { waited, limit } => {
                write!(f, "flow control after {waited:?}, N_Bs is {limit:?}")
            }
            FindingKind::NCrExceeded { waited, limit } => {
                write!(f, "consecutive frame after {waited:?}, N_Cr is {limit:?}")
            }
            FindingKind::NBrExceeded { waited, limit } => {
                write!(f, "flow control after {waited:?}, N_Br limit {limit:?}")
            }
            FindingKind::NCsExceeded { waited, limit } => {
                write!(
                    f,
                    "consecutive frame after {waited:?}, N_Cs limit {limit:?}"
                )
            }
            FindingKind::WrongSequenceNumber { expected, received } => {
                write!(f, "sequence number {received:X}, {expected:X} due")
            }
            FindingKind::Malformed(e) => write!(f, "{e}"),
            FindingKind::ConsecutiveFrameLength { expected, received } => write!(
                f,
                "consecutive frame of CAN_DL {received}, the first frame's is {expected}"
            ),
            FindingKind::FdPadding { used, frame_len } => write!(
                f,
                "{used} bytes padded to CAN_DL {frame_len}, not to the next valid length"
            ),
            FindingKind::WaitOverrun { waits, wft_max } => {
                write!(f, "{waits} FC.WAIT in a row, WFTmax is {wft_max}")
            }
            FindingKind::ReservedStMin { st_min } => {
                write!(f, "reserved STmin 0x{:02X}", st_min.to_byte())
            }
            FindingKind::ConsecutiveFrameWithoutFlowControl => {
                f.write_str("consecutive frame sent before the flow control")
            }
            FindingKind::UnansweredFirstFrame { length } => {
                write!(f, "first frame of {length} bytes never answered")
            }
            FindingKind::AbandonedReception { received, length } => {
                write!(f, "transfer abandoned after {received} of {length} bytes")
            }
            FindingKind::CutByRecordingEnd { received, length } => {
                write!(
                    f,
                    "the recording ends after {received} of {length} bytes of a transfer"
                )
            }
            FindingKind::UnexpectedConsecutiveFrame => {
                f.write_str("consecutive frame with no transfer in progress")
            }
            FindingKind::UnexpectedFlowControl => {
                f.write_str("flow control with no transfer waiting for one")
            }
        }
    }
}

/// One fault, where it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What.
    pub kind: FindingKind,
    /// The conversation, as far as it is known then.
    pub conversation: Conversation,
    /// The end at fault, when one is.
    pub from: Option<Party>,
    /// The frame that shows it (for a transfer that ended unfinished: its last frame).
    pub frame: FrameRef,
    /// The earlier frame it is measured from (the previous consecutive frame, the first frame, the
    /// awaited flow control's cause...), if any.
    pub since: Option<FrameRef>,
}

impl Finding {
    /// How bad it is.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// After the first frame, a block's last frame or an FC.WAIT.
    AwaitingFlowControl {
        since: FrameRef,
        waits: u32,
        /// After a complete block: its BS and STmin.
        after_block: Option<(u8, StMin)>,
    },
    /// Sending a block.
    Sending {
        block_size: u8,
        st_min: StMin,
        in_block: u32,
        /// The previous frame of the block (the flow control for the first).
        last: FrameRef,
        last_is_cf: bool,
        /// The smallest gap between consecutive frames of the block, and its two frames.
        smallest: Option<(Duration, FrameRef, FrameRef)>,
        over_block_size: bool,
    },
    /// Given up by the receiver (wrong sequence number): its remaining frames are not judged.
    Abandoned,
}

#[derive(Clone, Copy, Debug)]
struct Transfer {
    conversation: Conversation,
    first: FrameRef,
    length: u32,
    received: u32,
    /// The first frame's CAN_DL.
    rx_dl: usize,
    next_sn: u8,
    answered: bool,
    last: FrameRef,
    phase: Phase,
}

/// Checks recorded traffic; see the [module documentation](self).
#[derive(Debug)]
pub struct Checker {
    settings: CheckConfig,
    monitor: Monitor,
    /// Transfers in progress, by sender.
    transfers: BTreeMap<Party, Transfer>,
    /// How many transfers are followed at most (the monitor's conversation limit): past twice as
    /// many, the quietest are no longer judged.
    max_transfers: usize,
    unjudged_transfers: u64,
    findings: VecDeque<Finding>,
    last: Option<FrameRef>,
    frames: u64,
}

impl Checker {
    /// A checker following what `settings.discovery` finds (and whatever is
    /// [watched](Checker::watch)).
    #[must_use]
    pub fn new(settings: CheckConfig) -> Checker {
        let monitor_settings = settings.monitor_config();
        let max_transfers = monitor_settings.max_conversations.max(1);
        Checker {
            settings,
            monitor: Monitor::new(monitor_settings),
            transfers: BTreeMap::new(),
            max_transfers,
            unjudged_transfers: 0,
            findings: VecDeque::new(),
            last: None,
            frames: 0,
        }
    }

    /// Checks the conversation of `address` (both directions).
    ///
    /// # Errors
    ///
    /// As [`Monitor::watch`].
    pub fn watch(&mut self, address: Address) -> Result<(), ConfigError> {
        self.monitor.watch(address).map(|_| ())
    }

    /// Frames handed to the checker so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Every conversation followed so far.
    pub fn conversations(&self) -> impl Iterator<Item = Conversation> + '_ {
        self.monitor.conversations()
    }

    /// What the monitor beneath evicted to stay within its limits (a finding about an evicted
    /// conversation's transfer may then be missing or read as unexpected frames).
    #[must_use]
    pub fn evictions(&self) -> Evictions {
        Evictions {
            unjudged_transfers: self.unjudged_transfers,
            ..self.monitor.evictions()
        }
    }

    /// Feeds a recorded frame and its capture time.
    pub fn handle_frame(&mut self, frame: &Frame, time: Instant) {
        self.frames += 1;
        self.monitor.handle_frame(frame, time);
        while let Some(event) = self.monitor.poll_event() {
            if let MonitorEvent::Frame(o) = event {
                self.last = Some(o.at);
                if let (Some(conversation), Some(from)) = (o.conversation, o.from) {
                    self.judge(&o.frame, o.at, conversation, from);
                }
            }
        }
    }

    /// The recording ended: judges the transfers still in progress.
    pub fn finish(&mut self) {
        let Some(end) = self.last else {
            return;
        };
        let transfers = core::mem::take(&mut self.transfers);
        for (from, t) in transfers {
            self.unfinished(from, &t, end.time, true);
        }
    }

    /// The next finding, in the order of the frames that show them.
    pub fn poll_finding(&mut self) -> Option<Finding> {
        self.findings.pop_front()
    }

    fn report(
        &mut self,
        kind: FindingKind,
        conversation: Conversation,
        from: Option<Party>,
        frame: FrameRef,
        since: Option<FrameRef>,
    ) {
        self.findings.push_back(Finding {
            kind,
            conversation,
            from,
            frame,
            since,
        });
    }

    fn judge(&mut self, frame: &Frame, at: FrameRef, conversation: Conversation, from: Party) {
        let address_len = AddressLength::from_prefix(from.address_byte);
        let view = explain(frame.data(), address_len);
        if let Some(problem) = view.problem {
            self.report(
                FindingKind::Malformed(problem),
                conversation,
                Some(from),
                at,
                None,
            );
        }
        let header = address_len.bytes();
        match view.pci {
            PciView::SingleFrame { length, escaped } => {
                self.end_by_new_message(from, at);
                let used = header + if escaped { 2 } else { 1 } + length;
                self.check_fd_length(frame, used, conversation, from, at);
            }
            PciView::FirstFrame { length, .. } => {
                self.end_by_new_message(from, at);
                self.transfers.insert(
                    from,
                    Transfer {
                        conversation,
                        first: at,
                        length,
                        // A frame holds at most 64 bytes: no saturation.
                        received: u32::try_from(view.data.len()).unwrap_or(u32::MAX),
                        // A classic first frame shorter than 8 bytes is reported above; its
                        // consecutive frames are judged against the 8 bytes it should have had.
                        rx_dl: frame.len().max(8),
                        next_sn: 1,
                        answered: false,
                        last: at,
                        phase: Phase::AwaitingFlowControl {
                            since: at,
                            waits: 0,
                            after_block: None,
                        },
                    },
                );
                if self.transfers.len() > 2 * self.max_transfers {
                    self.shed_transfers();
                }
            }
            PciView::ConsecutiveFrame { sequence_number } => {
                self.consecutive_frame(frame, at, conversation, from, sequence_number, header)
            }
            PciView::FlowControl {
                flow_status,
                block_size,
                st_min,
            } => {
                let used = header + 3;
                self.check_fd_length(frame, used, conversation, from, at);
                if let (Some(block_size), Some(st_min)) = (block_size, st_min) {
                    self.flow_control(at, conversation, from, flow_status, block_size, st_min);
                }
            }
            PciView::Missing | PciView::Unknown { .. } => {}
        }
    }

    fn check_fd_length(
        &mut self,
        frame: &Frame,
        used: usize,
        conversation: Conversation,
        from: Party,
        at: FrameRef,
    ) {
        let frame_len = frame.len();
        if frame_len > 8 && dlc::round_up(used.max(9)) != Some(frame_len) {
            self.report(
                FindingKind::FdPadding { used, frame_len },
                conversation,
                Some(from),
                at,
                None,
            );
        }
    }

    /// Keeps the `max_transfers` transfers with the latest frames and stops following the others,
    /// counted in [`Evictions::unjudged_transfers`]. Called at twice the limit, so that its cost per
    /// first frame stays constant.
    fn shed_transfers(&mut self) {
        let mut latest: Vec<(u64, Party)> = self
            .transfers
            .iter()
            .map(|(p, t)| (t.last.index, *p))
            .collect();
        let keep = self.max_transfers.min(latest.len());
        let cut = latest.len() - keep;
        latest.select_nth_unstable_by_key(cut, |&(index, _)| index);
        for &(_, p) in &latest[..cut] {
            self.transfers.remove(&p);
        }
        self.unjudged_transfers += cut as u64;
    }

    /// A single or first frame from `from`: its transfer in progress, if any, was given up.
    fn end_by_new_message(&mut self, from: Party, at: FrameRef) {
        if let Some(t) = self.transfers.remove(&from) {
            self.unfinished(from, &t, at.time, false);
        }
    }

    /// A transfer that ended before its last frame, judged at `now`.
    fn unfinished(&mut self, from: Party, t: &Transfer, now: Instant, at_end: bool) {
        if let Phase::Abandoned = t.phase {
            return;
        }
        let quiet = now.saturating_duration_since(t.last.time);
        let (limit, receiver) = match t.phase {
            Phase::AwaitingFlowControl { .. } => (self.settings.n_bs, true),
            Phase::Sending { .. } | Phase::Abandoned => (self.settings.n_cr, false),
        };
        let received = t.received.min(t.length);
        let kind = if at_end && quiet <= limit {
            FindingKind::CutByRecordingEnd {
                received,
                length: t.length,
            }
        } else if !t.answered {
            FindingKind::UnansweredFirstFrame { length: t.length }
        } else {
            FindingKind::AbandonedReception {
                received,
                length: t.length,
            }
        };
        if let Phase::Sending { .. } = t.phase {
            self.close_block(t, from);
        }
        let at_fault = if receiver {
            t.conversation.peer_of(from)
        } else {
            Some(from)
        };
        let since = Some(t.first).filter(|&first| first != t.last);
        self.report(kind, t.conversation, at_fault, t.last, since);
    }

    /// The end of a block: its smallest gap against STmin.
    fn close_block(&mut self, t: &Transfer, from: Party) {
        if let Phase::Sending {
            st_min,
            smallest: Some((gap, before, after)),
            ..
        } = t.phase
        {
            if gap + self.settings.st_min_tolerance < st_min.duration() {
                self.report(
                    FindingKind::StMinViolated { st_min, gap },
                    t.conversation,
                    Some(from),
                    after,
                    Some(before),
                );
            }
        }
    }

    fn consecutive_frame(
        &mut self,
        frame: &Frame,
        at: FrameRef,
        conversation: Conversation,
        from: Party,
        sn: u8,
        header: usize,
    ) {
        let Some(mut t) = self.transfers.remove(&from) else {
            self.report(
                FindingKind::UnexpectedConsecutiveFrame,
                conversation,
                Some(from),
                at,
                None,
            );
            return;
        };
        t.conversation = conversation;
        if let Phase::AwaitingFlowControl {
            since,
            waits,
            after_block,
        } = t.phase
        {
            match after_block.filter(|_| waits == 0) {
                // The sender went on past the end of its block.
                Some((block_size, st_min)) => {
                    self.report(
                        FindingKind::BlockSizeExceeded { block_size },
                        conversation,
                        Some(from),
                        at,
                        Some(since),
                    );
                    t.phase = Phase::Sending {
                        block_size,
                        st_min,
                        in_block: u32::from(block_size),
                        last: t.last,
                        last_is_cf: true,
                        smallest: None,
                        over_block_size: true,
                    };
                }
                None => {
                    self.report(
                        FindingKind::ConsecutiveFrameWithoutFlowControl,
                        conversation,
                        Some(from),
                        at,
                        Some(since),
                    );
                    t.answered = true;
                    t.phase = Phase::Sending {
                        block_size: 0,
                        st_min: StMin::ZERO,
                        in_block: 0,
                        last: t.last,
                        last_is_cf: true,
                        smallest: None,
                        over_block_size: false,
                    };
                }
            }
        }
        if let Phase::Abandoned = t.phase {
            self.transfers.insert(from, t);
            return;
        }
        let Phase::Sending {
            block_size,
            st_min,
            mut in_block,
            last,
            last_is_cf,
            mut smallest,
            mut over_block_size,
        } = t.phase
        else {
            return;
        };
        let waited = at.time.saturating_duration_since(last.time);
        if waited > self.settings.n_cr {
            self.report(
                FindingKind::NCrExceeded {
                    waited,
                    limit: self.settings.n_cr,
                },
                conversation,
                Some(from),
                at,
                Some(last),
            );
        } else if waited > self.settings.n_cs {
            self.report(
                FindingKind::NCsExceeded {
                    waited,
                    limit: self.settings.n_cs,
                },
                conversation,
                Some(from),
                at,
                Some(last),
            );
        }
        if sn != t.next_sn {
            self.report(
                FindingKind::WrongSequenceNumber {
                    expected: t.next_sn,
                    received: sn,
                },
                conversation,
                Some(from),
                at,
                Some(last),
            );
            // The receiver abandons the transfer here (N_WRONG_SN): nothing after it is judged.
            t.last = at;
            self.close_block(&t, from);
            t.phase = Phase::Abandoned;
            self.transfers.insert(from, t);
            return;
        }
        // STmin separates consecutive frames; the first of a block follows the flow control freely.
        if last_is_cf && smallest.map_or(true, |(g, _, _)| waited < g) {
            smallest = Some((waited, last, at));
        }
        in_block += 1;
        if block_size > 0 && in_block > u32::from(block_size) && !over_block_size {
            over_block_size = true;
            self.report(
                FindingKind::BlockSizeExceeded { block_size },
                conversation,
                Some(from),
                at,
                Some(last),
            );
        }
        // A frame holds at most 64 bytes: no saturation.
        let data = u32::try_from(frame.len().saturating_sub(header + 1)).unwrap_or(u32::MAX);
        t.received = t.received.saturating_add(data);
        t.next_sn = (t.next_sn + 1) & 0x0F;
        t.last = at;
        t.phase = Phase::Sending {
            block_size,
            st_min,
            in_block,
            last: at,
            last_is_cf: true,
            smallest,
            over_block_size,
        };
        let last_frame = t.received >= t.length;
        let len = frame.len();
        if (!last_frame && len != t.rx_dl) || (last_frame && len > t.rx_dl) {
            self.report(
                FindingKind::ConsecutiveFrameLength {
                    expected: t.rx_dl,
                    received: len,
                },
                conversation,
                Some(from),
                at,
                None,
            );
        } else if last_frame {
            let remaining = t.length.saturating_sub(t.received - data);
            self.check_fd_length(
                frame,
                header + 1 + remaining as usize,
                conversation,
                from,
                at,
            );
        }
        if last_frame {
            self.close_block(&t, from);
        } else if block_size > 0 && in_block == u32::from(block_size) {
            self.close_block(&t, from);
            t.phase = Phase::AwaitingFlowControl {
                since: at,
                waits: 0,
                after_block: Some((block_size, st_min)),
            };
            self.transfers.insert(from, t);
        } else {
            self.transfers.insert(from, t);
        }
    }

    fn flow_control(
        &mut self,
        at: FrameRef,
        conversation: Conversation,
        from: Party,
        status: u8,
        block_size: u8,
        st_min: StMin,
    ) {
        let sender = conversation.peer_of(from);
        let Some(mut t) = sender.and_then(|s| self.transfers.get(&s).copied()) else {
            self.report(
                FindingKind::UnexpectedFlowControl,
                conversation,
                Some(from),
                at,
                None,
            );
            return;
        };
        let sender = sender.unwrap_or(from);
        let Phase::AwaitingFlowControl {
            since,
            waits,
            after_block,
        } = t.phase
        else {
            self.report(
                FindingKind::UnexpectedFlowControl,
                conversation,
                Some(from),
                at,
                None,
            );
            return;
        };
        t.conversation = conversation;
        t.answered = true;
        let waited = at.time.saturating_duration_since(since.time);
        if waited > self.settings.n_bs {
            self.report(
                FindingKind::NBsExceeded {
                    waited,
                    limit: self.settings.n_bs,
                },
                conversation,
                Some(from),
                at,
                Some(since),
            );
        } else if waited > self.settings.n_br {
            self.report(
                FindingKind::NBrExceeded {
                    waited,
                    limit: self.settings.n_br,
                },
                conversation,
                Some(from),
                at,
                Some(since),
            );
        }
        t.last = at;
        match FlowStatus::from_nibble(status) {
            Some(FlowStatus::ContinueToSend) => {
                if st_min.is_reserved() {
                    self.report(
                        FindingKind::ReservedStMin { st_min },
                        conversation,
                        Some(from),
                        at,
                        None,
                    );
                }
                t.phase = Phase::Sending {
                    block_size,
                    st_min,
                    in_block: 0,
                    last: at,
                    last_is_cf: false,
                    smallest: None,
                    over_block_size: false,
                };
                self.transfers.insert(sender, t);
            }
            Some(FlowStatus::Wait) => {
                let waits = waits + 1;
                if waits == u32::from(self.settings.wft_max) + 1 {
                    self.report(
                        FindingKind::WaitOverrun {
                            waits,
                            wft_max: self.settings.wft_max,
                        },
                        conversation,
                        Some(from),
                        at,
                        None,
                    );
                }
                t.phase = Phase::AwaitingFlowControl {
                    since: at,
                    waits,
                    after_block,
                };
                self.transfers.insert(sender, t);
            }
            // Overflow ends the transfer as the standard says; an invalid status is malformed.
            _ => {
                self.transfers.remove(&sender);
            }
        }
    }
}

#[cfg(test)]
mod tests;
