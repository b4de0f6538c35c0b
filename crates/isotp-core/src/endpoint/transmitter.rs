//! The sending half of a link: queue, single/first frame, waiting for flow control, consecutive frames.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use super::framer::Framer;
use crate::addressing::{Address, TargetAddressType};
use crate::config::Config;
use crate::error::{ProtocolError, Warning};
use crate::event::{Event, MessageId};
use crate::frame::Frame;
use crate::time::Instant;
use crate::wire::{FlowStatus, Pdu, StMin};

/// A message waiting to be sent.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) id: MessageId,
    pub(crate) payload: Vec<u8>,
    /// `payload.len()`, which [`Endpoint::send`](crate::Endpoint::send) checked to fit FF_DL.
    pub(crate) length: u32,
    pub(crate) target: TargetAddressType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The single or first frame is due.
    Start,
    /// A frame was handed to the driver; its effect applies when it has gone out.
    InFlight,
    /// After a first frame or a block: waiting for flow control until `deadline` (N_Bs).
    WaitFlowControl { deadline: Instant, waits: u8 },
    /// Sending consecutive frames.
    Consecutive {
        next_at: Instant,
        /// Frames left in this block; `None` when BS = 0 (no more flow control).
        block_left: Option<u8>,
        separation: Duration,
    },
}

#[derive(Debug, Clone)]
struct Active {
    msg: Outgoing,
    offset: usize,
    sequence_number: u8,
    phase: Phase,
}

/// What a handed-out frame completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // named after the ISO frame types
pub(crate) enum TxStep {
    SingleFrame,
    FirstFrame,
    ConsecutiveFrame { last: bool, block_end: bool },
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Transmitter {
    queue: VecDeque<Outgoing>,
    active: Option<Active>,
    next_id: u64,
    /// Set while the rate limiter holds back a due frame.
    rate_wait: Option<Instant>,
}

impl Transmitter {
    /// Queues `payload` of `length` bytes (its length, checked to fit FF_DL by the caller).
    pub(crate) fn enqueue(
        &mut self,
        payload: Vec<u8>,
        length: u32,
        target: TargetAddressType,
    ) -> MessageId {
        let id = MessageId(self.next_id);
        self.next_id += 1;
        self.queue.push_back(Outgoing {
            id,
            payload,
            length,
            target,
        });
        id
    }

    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.active.is_some() || !self.queue.is_empty()
    }

    /// Drops the active message and the queue; returns how many messages were dropped.
    pub(crate) fn stop(&mut self) -> usize {
        let n = self.queue.len() + usize::from(self.active.is_some());
        self.queue.clear();
        self.active = None;
        self.rate_wait = None;
        n
    }

    fn fail(&mut self, error: ProtocolError, events: &mut VecDeque<Event>) {
        if let Some(a) = self.active.take() {
            events.push_back(Event::SendFailed {
                id: a.msg.id,
                error,
            });
        }
    }

    /// The next frame due at `now`, if any.
    pub(crate) fn poll(
        &mut self,
        now: Instant,
        address: &Address,
        framer: &Framer,
        limiter: Option<&mut crate::rate_limit::RateLimiter>,
    ) -> Option<(Frame, TxStep)> {
        self.rate_wait = None;
        if self.active.is_none() {
            let msg = self.queue.pop_front()?;
            self.active = Some(Active {
                msg,
                offset: 0,
                sequence_number: 1,
                phase: Phase::Start,
            });
        }
        let a = self.active.as_mut()?;
        let id = address.tx_id(a.msg.target)?;
        let payload = &a.msg.payload;
        let (frame, step, taken) = match a.phase {
            Phase::Start => {
                if payload.len() <= framer.single_frame_capacity() {
                    let f = framer.build(id, &framer.single_frame(payload));
                    (f, TxStep::SingleFrame, payload.len())
                } else {
                    let length = a.msg.length;
                    let n = framer.first_frame_capacity(length);
                    let f = framer.build(
                        id,
                        &Pdu::FirstFrame {
                            length,
                            data: &payload[..n],
                        },
                    );
                    (f, TxStep::FirstFrame, n)
                }
            }
            Phase::Consecutive {
                next_at,
                block_left,
                ..
            } => {
                if next_at > now {
                    return None;
                }
                let rest = &payload[a.offset..];
                let n = rest.len().min(framer.consecutive_frame_capacity());
                let f = framer.build(
                    id,
                    &Pdu::ConsecutiveFrame {
                        sequence_number: a.sequence_number,
                        data: &rest[..n],
                    },
                );
                let last = n == rest.len();
                let block_end = block_left == Some(1);
                (f, TxStep::ConsecutiveFrame { last, block_end }, n)
            }
            Phase::InFlight | Phase::WaitFlowControl { .. } => return None,
        };
        if let Some(limiter) = limiter {
            // At most 64 bytes, 512 bits: the conversion does not saturate.
            let bits = u32::try_from(frame.len() * 8).unwrap_or(u32::MAX);
            let at = limiter.earliest(now, bits);
            if at > now {
                self.rate_wait = Some(at);
                return None;
            }
            limiter.record(now, bits);
        }
        a.offset += taken;
        if let TxStep::ConsecutiveFrame { .. } = step {
            a.sequence_number = (a.sequence_number + 1) & 0x0F;
            if let Phase::Consecutive {
                block_left: Some(ref mut left),
                ..
            } = a.phase
            {
                *left = left.saturating_sub(1);
            }
        }
        // Keep the block and separation for after the frame has gone out.
        if !matches!(a.phase, Phase::Consecutive { .. }) {
            a.phase = Phase::InFlight;
        } else if let Phase::Consecutive {
            ref mut next_at, ..
        } = a.phase
        {
            *next_at = Instant::MAX;
        }
        Some((frame, step))
    }

    /// The frame of `step` has gone out at `t`.
    pub(crate) fn complete(
        &mut self,
        step: TxStep,
        t: Instant,
        config: &Config,
        events: &mut VecDeque<Event>,
    ) {
        let Some(a) = self.active.as_mut() else {
            return;
        };
        match step {
            TxStep::SingleFrame | TxStep::ConsecutiveFrame { last: true, .. } => {
                events.push_back(Event::Sent { id: a.msg.id });
                self.active = None;
            }
            TxStep::FirstFrame
            | TxStep::ConsecutiveFrame {
                block_end: true, ..
            } => {
                a.phase = Phase::WaitFlowControl {
                    deadline: t + config.n_bs,
                    waits: 0,
                };
            }
            TxStep::ConsecutiveFrame { .. } => {
                if let Phase::Consecutive {
                    ref mut next_at,
                    separation,
                    ..
                } = a.phase
                {
                    *next_at = t + separation;
                }
            }
        }
    }

    /// A flow control frame arrived (already parsed and padding-checked).
    pub(crate) fn handle_flow_control(
        &mut self,
        status: FlowStatus,
        block_size: u8,
        st_min: StMin,
        now: Instant,
        config: &Config,
        events: &mut VecDeque<Event>,
    ) {
        let Some(a) = self.active.as_mut() else {
            events.push_back(Event::Warning(Warning::UnexpectedFlowControl));
            return;
        };
        let Phase::WaitFlowControl { waits, .. } = a.phase else {
            events.push_back(Event::Warning(Warning::UnexpectedFlowControl));
            return;
        };
        match status {
            FlowStatus::ContinueToSend => {
                a.phase = Phase::Consecutive {
                    // The first consecutive frame after a flow control goes out at once.
                    next_at: now,
                    block_left: (block_size != 0).then_some(block_size),
                    separation: config
                        .override_receiver_st_min
                        .unwrap_or_else(|| st_min.duration()),
                };
            }
            FlowStatus::Wait => {
                if waits >= config.wft_max {
                    self.fail(
                        ProtocolError::WftOverrun {
                            wft_max: config.wft_max,
                        },
                        events,
                    );
                } else {
                    a.phase = Phase::WaitFlowControl {
                        deadline: now + config.n_bs,
                        waits: waits + 1,
                    };
                }
            }
            FlowStatus::Overflow => {
                let length = a.msg.length;
                self.fail(ProtocolError::BufferOverflow { length }, events);
            }
        }
    }

    /// True while a flow control frame is awaited (so a malformed one aborts the transmission).
    pub(crate) fn waits_for_flow_control(&self) -> bool {
        matches!(
            self.active,
            Some(Active {
                phase: Phase::WaitFlowControl { .. },
                ..
            })
        )
    }

    /// Aborts the active transmission with `error` (bad flow control, N_As).
    pub(crate) fn abort(&mut self, error: ProtocolError, events: &mut VecDeque<Event>) {
        self.fail(error, events);
    }

    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        config: &Config,
        events: &mut VecDeque<Event>,
    ) {
        if let Some(Active {
            phase: Phase::WaitFlowControl { deadline, .. },
            ..
        }) = self.active
        {
            if deadline <= now {
                self.fail(ProtocolError::TimeoutBs { limit: config.n_bs }, events);
            }
        }
    }

    /// The N_Bs deadline, while a flow control frame is awaited.
    pub(crate) fn flow_control_deadline(&self) -> Option<Instant> {
        match self.active {
            Some(Active {
                phase: Phase::WaitFlowControl { deadline, .. },
                ..
            }) => Some(deadline),
            _ => None,
        }
    }

    /// The next time something is due: a frame, or the N_Bs deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if let Some(t) = self.rate_wait {
            return Some(t);
        }
        match &self.active {
            None if !self.queue.is_empty() => Some(Instant::ZERO),
            None => None,
            Some(a) => match a.phase {
                Phase::Start => Some(Instant::ZERO),
                Phase::InFlight => None,
                Phase::WaitFlowControl { deadline, .. } => Some(deadline),
                Phase::Consecutive { next_at, .. } if next_at != Instant::MAX => Some(next_at),
                Phase::Consecutive { .. } => None,
            },
        }
    }
}
