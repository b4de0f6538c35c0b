//! The receiving half of a link: single frames, first frame, consecutive frames, blocks, N_Cr.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::framer::padding_ok;
use crate::addressing::TargetAddressType;
use crate::config::Config;
use crate::error::{ProtocolError, Warning};
use crate::event::{Event, ReceptionProgress};
use crate::time::Instant;
use crate::wire::{AddressLength, FlowStatus, PciType, Pdu};

#[derive(Debug, Clone)]
struct Reception {
    buffer: Vec<u8>,
    length: u32,
    next_sn: u8,
    /// RX_DL: the first frame's CAN_DL, which every consecutive frame but the last must have.
    frame_len: usize,
    /// Consecutive frames received in the current block.
    in_block: u8,
    /// N_Cr, or N_Br while `waits_sent > 0` and the application is not ready; `None` while the flow
    /// control frame that starts the wait has not gone out.
    deadline: Option<Instant>,
    target: TargetAddressType,
    /// FC.WAIT frames scheduled in a row for this reception because the application was not ready.
    waits: u8,
    /// Waiting for the application: no consecutive frame is expected until FC.CTS.
    held: bool,
}

impl Reception {
    /// Bytes received so far. The buffer never grows past `length`, a `u32`, so this does not
    /// saturate.
    fn received(&self) -> u32 {
        u32::try_from(self.buffer.len()).unwrap_or(u32::MAX)
    }
}

/// Reassembles the messages of one direction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Receiver {
    reception: Option<Reception>,
    /// A flow control frame to send.
    flow_control_due: Option<FlowStatus>,
    /// Listen mode: no flow control is sent; the peer's is observed instead.
    listen: bool,
    /// Deliver messages as [`Event::Observed`] (the other direction, in listen mode).
    observer: bool,
    /// Block size learned from the peer's flow control, in listen mode.
    observed_block_size: u8,
    /// The application can take a new message (receive back-pressure).
    ready: bool,
    /// Report [`Event::ReceptionStarted`].
    indicate_first_frame: bool,
    /// Single (and listen-mode first) frames dropped while not ready.
    dropped: u64,
}

impl Receiver {
    pub(crate) fn new(listen: bool, observer: bool) -> Receiver {
        Receiver {
            listen,
            observer,
            ready: true,
            ..Receiver::default()
        }
    }

    pub(crate) fn set_indicate_first_frame(&mut self, on: bool) {
        self.indicate_first_frame = on;
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    pub(crate) fn progress(&self) -> Option<ReceptionProgress> {
        self.reception.as_ref().map(|r| ReceptionProgress {
            received: r.received(),
            length: r.length,
        })
    }

    /// Receive back-pressure. Becoming ready resumes a held reception with FC.CTS at once.
    pub(crate) fn set_ready(&mut self, ready: bool) {
        self.ready = ready;
        if !ready {
            return;
        }
        if let Some(r) = self.reception.as_mut() {
            if r.held {
                r.held = false;
                r.waits = 0;
                r.deadline = None;
                self.flow_control_due = Some(FlowStatus::ContinueToSend);
            }
        }
    }

    fn drop_not_ready(&mut self, pci: PciType, events: &mut VecDeque<Event>) {
        self.dropped += 1;
        events.push_back(Event::Warning(Warning::ReceiverNotReady { pci }));
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.reception.is_some()
    }

    pub(crate) fn stop(&mut self) {
        self.reception = None;
        self.flow_control_due = None;
    }

    fn deliver(&self, payload: Vec<u8>, target: TargetAddressType, events: &mut VecDeque<Event>) {
        events.push_back(if self.observer {
            Event::Observed {
                payload,
                target_address_type: target,
            }
        } else {
            Event::Received {
                payload,
                target_address_type: target,
            }
        });
    }

    /// A new single or first frame ends any reception in progress (N_UNEXP_PDU); all its timers stop.
    fn interrupt(&mut self, by: PciType, events: &mut VecDeque<Event>) {
        if let Some(r) = self.reception.take() {
            self.flow_control_due = None;
            events.push_back(Event::ReceiveFailed {
                error: ProtocolError::UnexpectedPdu {
                    interrupted_by: by,
                    received: r.received(),
                    expected: r.length,
                },
            });
        }
    }

    /// A data frame (SF, FF or CF) addressed to this direction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle(
        &mut self,
        pdu: &Pdu<'_>,
        frame_data: &[u8],
        address_len: AddressLength,
        target: TargetAddressType,
        can_send_flow_control: bool,
        now: Instant,
        config: &Config,
        events: &mut VecDeque<Event>,
    ) {
        let check = config.rx_padding_check;
        match *pdu {
            Pdu::SingleFrame { data, .. } => {
                self.interrupt(PciType::SingleFrame, events);
                if !self.ready {
                    self.drop_not_ready(PciType::SingleFrame, events);
                    return;
                }
                let used = pdu.buffer_len(address_len);
                if !padding_ok(check, config.rx_padding, frame_data, used) {
                    events.push_back(Event::ReceiveFailed {
                        error: ProtocolError::InvalidPadding {
                            pci: PciType::SingleFrame,
                        },
                    });
                    return;
                }
                self.deliver(data.to_vec(), target, events);
            }
            Pdu::FirstFrame { length, data } => {
                if target == TargetAddressType::Functional {
                    events.push_back(Event::Warning(Warning::FunctionalMultiFrame));
                    return;
                }
                self.interrupt(PciType::FirstFrame, events);
                if !self.listen && !can_send_flow_control {
                    events.push_back(Event::Warning(Warning::NotForThisAddress));
                    return;
                }
                if length > config.max_frame_size {
                    if !self.listen {
                        self.flow_control_due = Some(FlowStatus::Overflow);
                    }
                    events.push_back(Event::ReceiveFailed {
                        error: ProtocolError::MessageTooLarge {
                            length,
                            max_frame_size: config.max_frame_size,
                        },
                    });
                    return;
                }
                if !self.ready {
                    if self.listen {
                        self.drop_not_ready(PciType::FirstFrame, events);
                        return;
                    }
                    if config.wft_max == 0 {
                        // FC.WAIT is not allowed: refuse at once.
                        self.flow_control_due = Some(FlowStatus::Overflow);
                        events.push_back(Event::ReceiveFailed {
                            error: ProtocolError::ReceiverNotReady { wft_max: 0 },
                        });
                        return;
                    }
                }
                // Memory follows the bytes received, never the announced length.
                let mut buffer = Vec::new();
                buffer.reserve_exact(data.len());
                buffer.extend_from_slice(data);
                let held = !self.ready;
                self.reception = Some(Reception {
                    buffer,
                    length,
                    next_sn: 1,
                    frame_len: frame_data.len(),
                    in_block: 0,
                    deadline: if self.listen {
                        Some(now + config.n_cr)
                    } else {
                        None
                    },
                    target,
                    waits: u8::from(held),
                    held,
                });
                if !self.listen {
                    self.flow_control_due = Some(if held {
                        FlowStatus::Wait
                    } else {
                        FlowStatus::ContinueToSend
                    });
                }
                if self.indicate_first_frame && !self.observer {
                    events.push_back(Event::ReceptionStarted {
                        length,
                        target_address_type: target,
                    });
                }
            }
            Pdu::ConsecutiveFrame {
                sequence_number,
                data,
            } => {
                if target == TargetAddressType::Functional {
                    events.push_back(Event::Warning(Warning::FunctionalMultiFrame));
                    return;
                }
                let Some(r) = self.reception.as_mut() else {
                    events.push_back(Event::Warning(Warning::UnexpectedConsecutiveFrame));
                    return;
                };
                if self.flow_control_due.is_some() || r.held {
                    // Our FC.CTS has not gone out yet: the sender is early.
                    events.push_back(Event::Warning(Warning::UnexpectedConsecutiveFrame));
                    return;
                }
                if sequence_number != r.next_sn {
                    let expected = r.next_sn;
                    self.reception = None;
                    events.push_back(Event::ReceiveFailed {
                        error: ProtocolError::WrongSn {
                            expected,
                            received: sequence_number,
                        },
                    });
                    return;
                }
                let remaining = r.length as usize - r.buffer.len();
                let last = data.len() >= remaining;
                if frame_data.len() > r.frame_len || (!last && frame_data.len() != r.frame_len) {
                    let expected = r.frame_len;
                    self.reception = None;
                    events.push_back(Event::ReceiveFailed {
                        error: ProtocolError::FrameLengthMismatch {
                            expected,
                            received: frame_data.len(),
                        },
                    });
                    return;
                }
                if last {
                    let used = address_len.bytes() + pdu.header_len() + remaining;
                    if !padding_ok(check, config.rx_padding, frame_data, used) {
                        self.reception = None;
                        events.push_back(Event::ReceiveFailed {
                            error: ProtocolError::InvalidPadding {
                                pci: PciType::ConsecutiveFrame,
                            },
                        });
                        return;
                    }
                    let Some(mut r) = self.reception.take() else {
                        return;
                    };
                    append(&mut r.buffer, &data[..remaining], r.length);
                    self.deliver(r.buffer, r.target, events);
                    return;
                }
                append(&mut r.buffer, data, r.length);
                r.next_sn = (r.next_sn + 1) & 0x0F;
                r.in_block = r.in_block.wrapping_add(1);
                let block_size = if self.listen {
                    self.observed_block_size
                } else {
                    config.block_size
                };
                if block_size != 0 && r.in_block >= block_size {
                    r.in_block = 0;
                    if self.listen {
                        r.deadline = Some(now + config.n_cr);
                    } else {
                        self.flow_control_due = Some(FlowStatus::ContinueToSend);
                        r.deadline = None;
                    }
                } else {
                    r.deadline = Some(now + config.n_cr);
                }
            }
            Pdu::FlowControl { .. } => {}
        }
    }

    /// Listen mode: the peer of this direction sent flow control; follow its blocks and restart N_Cr.
    pub(crate) fn observe_flow_control(
        &mut self,
        status: FlowStatus,
        block_size: u8,
        now: Instant,
        config: &Config,
    ) {
        if let Some(r) = self.reception.as_mut() {
            match status {
                FlowStatus::ContinueToSend => {
                    self.observed_block_size = block_size;
                    r.in_block = 0;
                    r.deadline = Some(now + config.n_cr);
                }
                FlowStatus::Wait => r.deadline = Some(now + config.n_cr),
                FlowStatus::Overflow => self.reception = None,
            }
        }
    }

    /// The flow control frame due, if any; the caller sends it and then calls
    /// [`Receiver::flow_control_sent`].
    pub(crate) fn take_flow_control(&mut self) -> Option<FlowStatus> {
        self.flow_control_due.take()
    }

    pub(crate) fn has_flow_control_due(&self) -> bool {
        self.flow_control_due.is_some()
    }

    /// The flow control frame went out at `t`: N_Cr starts.
    pub(crate) fn flow_control_sent(&mut self, status: FlowStatus, t: Instant, config: &Config) {
        let Some(r) = self.reception.as_mut() else {
            return;
        };
        match status {
            FlowStatus::ContinueToSend => r.deadline = Some(t + config.n_cr),
            // The next FC.WAIT (or FC.OVFLW) is due within N_Br, unless the application is ready first.
            FlowStatus::Wait if r.held => r.deadline = Some(t + config.n_br),
            FlowStatus::Wait | FlowStatus::Overflow => {}
        }
    }

    /// N_Ar expired for our flow control frame: the reception is over.
    pub(crate) fn abort(&mut self, error: ProtocolError, events: &mut VecDeque<Event>) {
        self.stop();
        events.push_back(Event::ReceiveFailed { error });
    }

    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        config: &Config,
        events: &mut VecDeque<Event>,
    ) {
        if let Some(Reception {
            deadline: Some(d), ..
        }) = self.reception
        {
            if d > now {
                return;
            }
            let Some(r) = self.reception.as_mut() else {
                return;
            };
            if r.held {
                if r.waits < config.wft_max {
                    r.waits += 1;
                    r.deadline = None;
                    self.flow_control_due = Some(FlowStatus::Wait);
                } else {
                    self.reception = None;
                    self.flow_control_due = Some(FlowStatus::Overflow);
                    events.push_back(Event::ReceiveFailed {
                        error: ProtocolError::ReceiverNotReady {
                            wft_max: config.wft_max,
                        },
                    });
                }
                return;
            }
            self.reception = None;
            events.push_back(Event::ReceiveFailed {
                error: ProtocolError::TimeoutCr { limit: config.n_cr },
            });
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.flow_control_due.is_some() {
            return Some(Instant::ZERO);
        }
        self.reception.as_ref().and_then(|r| r.deadline)
    }
}

/// Appends received bytes. Capacity grows geometrically (amortised O(1) per byte) but never beyond the
/// announced length, nor beyond twice the bytes received: a hostile FF_DL reserves nothing.
fn append(buffer: &mut Vec<u8>, data: &[u8], length: u32) {
    if buffer.capacity() - buffer.len() < data.len() {
        let remaining = (length as usize).saturating_sub(buffer.len());
        let grow = buffer.len().min(remaining).max(data.len());
        buffer.reserve_exact(grow);
    }
    buffer.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::append;
    use alloc::vec::Vec;

    #[test]
    fn growth_is_geometric_and_bounded_by_what_was_received_and_announced() {
        let mut buffer = Vec::new();
        let mut reallocations = 0;
        for _ in 0..10_000 {
            let before = buffer.capacity();
            append(&mut buffer, &[0; 7], 100_000);
            if buffer.capacity() != before {
                reallocations += 1;
            }
            assert!(buffer.capacity() <= 2 * buffer.len());
        }
        assert!(reallocations < 20, "{reallocations} reallocations");
        let mut near_end = Vec::new();
        for _ in 0..10 {
            append(&mut near_end, &[0; 7], 70);
        }
        assert_eq!(near_end.capacity(), 70);
    }
}
