//! One ISO-TP link: the sans-IO state machine that drivers feed with frames and time.

mod framer;
mod receiver;
mod transmitter;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use self::framer::{padding_ok, Framer};
use self::receiver::Receiver;
use self::transmitter::{Transmitter, TxStep};
use crate::addressing::{Address, TargetAddressType};
use crate::config::Config;
use crate::error::{ATimer, ConfigError, NothingToConfirm, ProtocolError, SendError, Warning};
use crate::event::{Event, MessageId, ReceptionProgress};
use crate::frame::Frame;
use crate::rate_limit::RateLimiter;
use crate::time::Instant;
use crate::wire::{FlowStatus, ParseError, PciType, Pdu, StMin};

/// What the frame handed out last completes once it is on the bus.
#[derive(Debug, Clone, Copy)]
enum Step {
    Tx(TxStep),
    FlowControl(FlowStatus),
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    step: Step,
    deadline: Instant,
}

/// One ISO-TP link between this node and a peer: segmentation, reassembly, flow control and timers.
///
/// The endpoint does no I/O and reads no clock. A driver gives it every received frame
/// ([`handle_frame`](Endpoint::handle_frame)) and the time, sends what
/// [`poll_transmit`](Endpoint::poll_transmit) returns, calls [`handle_timeout`](Endpoint::handle_timeout)
/// when [`poll_timeout`](Endpoint::poll_timeout)'s deadline has passed, and reads
/// [`poll_event`](Endpoint::poll_event) for messages and errors.
///
/// ```
/// use isotp_core::{Address, Config, Endpoint, Event, Instant, TargetAddressType};
/// let tester = Address::normal_11(0x7E0, 0x7E8)?;
/// let mut a = Endpoint::new(tester, Config::default())?;
/// let mut b = Endpoint::new(tester.mirrored()?, Config::default())?;
///
/// let now = Instant::ZERO;
/// a.send(&[0x22, 0xF1, 0x90, 1, 2, 3, 4, 5, 6, 7], TargetAddressType::Physical)?;
/// // Shuttle frames both ways until nothing is left to send.
/// loop {
///     let mut moved = false;
///     while let Some(f) = a.poll_transmit(now) { b.handle_frame(&f, now); moved = true; }
///     while let Some(f) = b.poll_transmit(now) { a.handle_frame(&f, now); moved = true; }
///     if !moved { break; }
/// }
/// assert!(matches!(a.poll_event(), Some(Event::Sent { .. })));
/// assert_eq!(
///     b.poll_event(),
///     Some(Event::Received { payload: vec![0x22, 0xF1, 0x90, 1, 2, 3, 4, 5, 6, 7], target_address_type: TargetAddressType::Physical })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Endpoint {
    address: Address,
    config: Config,
    framer: Framer,
    tx: Transmitter,
    rx: Receiver,
    /// Listen mode: the other direction of the conversation, reassembled as the peer would.
    mirror: Option<(Address, Receiver)>,
    limiter: Option<RateLimiter>,
    in_flight: Option<InFlight>,
    /// A flow control frame that arrived before the confirmation of the first frame (or last frame of
    /// a block) it answers; applied when that confirmation comes. The peer can only answer a frame that
    /// was on the bus, but drivers may report the confirmation after the answer.
    early_flow_control: Option<(FlowStatus, u8, StMin)>,
    events: VecDeque<Event>,
    /// The driver confirms each transmitted frame ([`Endpoint::with_tx_confirmation`]).
    tx_confirmation: bool,
    receive_ready: bool,
}

impl Endpoint {
    /// A link with `address`, configured by `config` (validated here).
    ///
    /// # Errors
    ///
    /// Those of [`Config::validate`], for a configuration that cannot work.
    pub fn new(address: Address, config: Config) -> Result<Endpoint, ConfigError> {
        config.validate()?;
        let mirror = Self::mirror_for(&address, &config);
        Ok(Endpoint {
            address,
            config,
            framer: Framer::new(&config, address.tx_prefix()),
            tx: Transmitter::default(),
            rx: Receiver::new(config.listen_mode, false),
            mirror,
            limiter: config.rate_limit.map(RateLimiter::new),
            in_flight: None,
            early_flow_control: None,
            events: VecDeque::new(),
            tx_confirmation: false,
            receive_ready: true,
        })
    }

    /// The driver will report when each frame has left the bus
    /// ([`handle_tx_confirmation`](Endpoint::handle_tx_confirmation)) or could not be sent
    /// ([`handle_tx_failure`](Endpoint::handle_tx_failure)). This enables N_As and N_Ar, measures STmin
    /// from the confirmation, and hands out one frame at a time. Without it a frame counts as sent when
    /// [`poll_transmit`](Endpoint::poll_transmit) returns it.
    ///
    /// ```
    /// use isotp_core::{Address, Config, Endpoint, Event, Instant, ProtocolError, TargetAddressType};
    /// use isotp_core::wire::PciType;
    /// let mut ep = Endpoint::new(Address::normal_11(0x7E0, 0x7E8)?, Config::default())?.with_tx_confirmation();
    /// ep.send(&[0x3E, 0x00], TargetAddressType::Physical)?;
    /// let frame = ep.poll_transmit(Instant::ZERO).unwrap();
    /// // The bus refused it: the message fails at once instead of after N_As.
    /// ep.handle_tx_failure()?;
    /// assert!(matches!(
    ///     ep.poll_event(),
    ///     Some(Event::SendFailed { error: ProtocolError::BusFailure { pci: PciType::SingleFrame }, .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_tx_confirmation(mut self) -> Endpoint {
        self.tx_confirmation = true;
        self
    }

    /// True when built [`with_tx_confirmation`](Endpoint::with_tx_confirmation).
    #[must_use]
    pub fn confirms_transmissions(&self) -> bool {
        self.tx_confirmation
    }

    /// Report [`Event::ReceptionStarted`] when a first frame starts a reception (the standard's
    /// N_USData_FF.indication), for drivers that show or bound long transfers.
    #[must_use]
    pub fn with_first_frame_indication(mut self) -> Endpoint {
        self.rx.set_indicate_first_frame(true);
        self
    }

    /// How far the segmented reception in progress is; `None` when none is.
    #[must_use]
    pub fn reception_progress(&self) -> Option<ReceptionProgress> {
        self.rx.progress()
    }

    /// Receive back-pressure: whether the application can take another message (default true).
    ///
    /// While it cannot, a new first frame is answered with FC.WAIT, renewed every
    /// [`Config::n_br`] up to [`Config::wft_max`] frames, then FC.OVFLW (the reception fails with
    /// [`ProtocolError::ReceiverNotReady`]); a single frame is dropped with
    /// [`Warning::ReceiverNotReady`] and counted ([`not_ready_drops`](Endpoint::not_ready_drops)).
    /// Becoming ready sends FC.CTS at once for a reception held that way. A reception already past its
    /// first flow control frame completes normally.
    pub fn set_receive_ready(&mut self, ready: bool) {
        self.rx.set_ready(ready);
        if let Some((_, m)) = self.mirror.as_mut() {
            m.set_ready(ready);
        }
        self.receive_ready = ready;
    }

    /// See [`set_receive_ready`](Endpoint::set_receive_ready).
    #[must_use]
    pub fn is_receive_ready(&self) -> bool {
        self.receive_ready
    }

    /// Messages dropped because the application was not ready (single frames; in listen mode also
    /// first frames), since the endpoint was created.
    #[must_use]
    pub fn not_ready_drops(&self) -> u64 {
        self.rx.dropped() + self.mirror.as_ref().map_or(0, |(_, m)| m.dropped())
    }

    /// Listen mode: the peer's view of the address, to reassemble the other direction.
    fn mirror_for(address: &Address, config: &Config) -> Option<(Address, Receiver)> {
        if !config.listen_mode {
            return None;
        }
        address
            .mirrored()
            .ok()
            .filter(Address::can_receive)
            .map(|m| (m, Receiver::new(true, true)))
    }

    /// The link's address.
    #[must_use]
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The link's configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The largest message that goes out in a single frame (the limit for functional messages).
    #[must_use]
    pub fn single_frame_capacity(&self) -> usize {
        self.framer.single_frame_capacity()
    }

    /// Queues a message. It goes out through [`poll_transmit`](Endpoint::poll_transmit) once the
    /// messages queued before it are done; its outcome is an [`Event::Sent`] or [`Event::SendFailed`]
    /// with the returned id.
    ///
    /// # Errors
    ///
    /// [`SendError::ListenMode`] and [`SendError::NoTransmitAddress`] for an endpoint that never
    /// transmits, [`SendError::EmptyPayload`] and [`SendError::TooLong`] for a payload ISO-TP cannot
    /// carry, [`SendError::FunctionalTooLong`] for a functional message longer than a single frame,
    /// [`SendError::QueueFull`] when [`Config::tx_queue_limit`] messages wait already. Nothing is
    /// queued then.
    pub fn send(
        &mut self,
        payload: &[u8],
        target: TargetAddressType,
    ) -> Result<MessageId, SendError> {
        let length = self.check_send(payload.len(), target)?;
        Ok(self.tx.enqueue(payload.to_vec(), length, target))
    }

    /// Like [`send`](Endpoint::send), taking ownership of the payload (no copy).
    ///
    /// # Errors
    ///
    /// Those of [`send`](Endpoint::send).
    pub fn send_vec(
        &mut self,
        payload: Vec<u8>,
        target: TargetAddressType,
    ) -> Result<MessageId, SendError> {
        let length = self.check_send(payload.len(), target)?;
        Ok(self.tx.enqueue(payload, length, target))
    }

    /// The message length as FF_DL carries it, when a message of `len` bytes may be queued.
    fn check_send(&self, len: usize, target: TargetAddressType) -> Result<u32, SendError> {
        if self.config.listen_mode {
            return Err(SendError::ListenMode);
        }
        if !self.address.can_transmit() {
            return Err(SendError::NoTransmitAddress);
        }
        if len == 0 {
            return Err(SendError::EmptyPayload);
        }
        let Ok(length) = u32::try_from(len) else {
            return Err(SendError::TooLong { len });
        };
        let max = self.framer.single_frame_capacity();
        if target == TargetAddressType::Functional && len > max {
            return Err(SendError::FunctionalTooLong { len, max });
        }
        if self.tx.queued() >= self.config.tx_queue_limit {
            return Err(SendError::QueueFull {
                limit: self.config.tx_queue_limit,
            });
        }
        Ok(length)
    }

    /// Feeds one received CAN frame. Frames for other addresses are ignored silently; frames for this
    /// address that break the rules give a [`Event::Warning`] or end a transfer with an error event.
    pub fn handle_frame(&mut self, frame: &Frame, now: Instant) {
        if let Some(target) = self.address.accepts(frame) {
            self.handle_own_direction(frame, target, now);
        } else if let Some((mirror_address, _)) = &self.mirror {
            if let Some(target) = mirror_address.accepts(frame) {
                self.handle_mirror_direction(frame, target, now);
            }
        }
    }

    fn handle_own_direction(&mut self, frame: &Frame, target: TargetAddressType, now: Instant) {
        let alen = self.address.rx_address_len();
        let data = frame.data();
        match Pdu::parse(data, alen) {
            Ok(
                fc @ Pdu::FlowControl {
                    status,
                    block_size,
                    st_min,
                },
            ) => {
                if let Some((_, mirror)) = self.mirror.as_mut() {
                    // Listen mode: the node we mirror acknowledges the peer's message.
                    mirror.observe_flow_control(status, block_size, now, &self.config);
                    return;
                }
                if !self.expects_flow_control() {
                    self.events
                        .push_back(Event::Warning(Warning::UnexpectedFlowControl));
                    return;
                }
                if !padding_ok(
                    self.config.rx_padding_check,
                    self.config.rx_padding,
                    data,
                    fc.buffer_len(alen),
                ) {
                    self.tx.abort(
                        ProtocolError::InvalidPadding {
                            pci: PciType::FlowControl,
                        },
                        &mut self.events,
                    );
                    return;
                }
                if !self.tx.waits_for_flow_control() {
                    // The frame it answers is on the bus but not yet confirmed: apply it then.
                    self.early_flow_control = Some((status, block_size, st_min));
                    return;
                }
                self.tx.handle_flow_control(
                    status,
                    block_size,
                    st_min,
                    now,
                    &self.config,
                    &mut self.events,
                );
            }
            Ok(pdu) => {
                let can_fc = self.address.can_transmit();
                self.rx.handle(
                    &pdu,
                    data,
                    alen,
                    target,
                    can_fc,
                    now,
                    &self.config,
                    &mut self.events,
                );
            }
            Err(ParseError::InvalidFlowStatus { value }) if self.expects_flow_control() => {
                self.tx
                    .abort(ProtocolError::InvalidFs { value }, &mut self.events);
            }
            Err(ParseError::FlowControlTooShort { len }) if self.expects_flow_control() => {
                self.tx
                    .abort(ProtocolError::FlowControlTooShort { len }, &mut self.events);
            }
            Err(e) => self.events.push_back(Event::Warning(Warning::Malformed(e))),
        }
    }

    /// True while the transmitter waits for a flow control frame, or will as soon as the frame in
    /// flight (a first frame or the last frame of a block) is confirmed.
    fn expects_flow_control(&self) -> bool {
        self.tx.waits_for_flow_control()
            || matches!(
                self.in_flight,
                Some(InFlight {
                    step: Step::Tx(
                        TxStep::FirstFrame
                            | TxStep::ConsecutiveFrame {
                                last: false,
                                block_end: true
                            }
                    ),
                    ..
                })
            )
    }

    fn handle_mirror_direction(&mut self, frame: &Frame, target: TargetAddressType, now: Instant) {
        let Some((mirror_address, mirror)) = self.mirror.as_mut() else {
            return;
        };
        let alen = mirror_address.rx_address_len();
        match Pdu::parse(frame.data(), alen) {
            Ok(Pdu::FlowControl {
                status, block_size, ..
            }) => {
                // The node we mirror's peer acknowledges a message of ours.
                self.rx
                    .observe_flow_control(status, block_size, now, &self.config);
            }
            Ok(pdu) => mirror.handle(
                &pdu,
                frame.data(),
                alen,
                target,
                false,
                now,
                &self.config,
                &mut self.events,
            ),
            Err(e) => self.events.push_back(Event::Warning(Warning::Malformed(e))),
        }
    }

    /// The next frame to put on the bus now, if any. Call repeatedly until `None`.
    ///
    /// Flow control frames of the receiving side come first; consecutive frames respect STmin, the
    /// block size and the rate limit. [`With tx confirmation`](Endpoint::with_tx_confirmation), one frame is outstanding at a
    /// time: the next comes after [`handle_tx_confirmation`](Endpoint::handle_tx_confirmation).
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Frame> {
        if self.in_flight.is_some() {
            return None;
        }
        let (frame, step) = if let Some(status) = self.rx.take_flow_control() {
            let id = self.address.tx_id(TargetAddressType::Physical)?;
            let pdu = Pdu::FlowControl {
                status,
                block_size: self.config.block_size,
                st_min: self.config.st_min,
            };
            (self.framer.build(id, &pdu), Step::FlowControl(status))
        } else {
            let (frame, step) =
                self.tx
                    .poll(now, &self.address, &self.framer, self.limiter.as_mut())?;
            (frame, Step::Tx(step))
        };
        if self.tx_confirmation {
            let limit = match step {
                Step::Tx(_) => self.config.n_as,
                Step::FlowControl(_) => self.config.n_ar,
            };
            self.in_flight = Some(InFlight {
                step,
                deadline: now + limit,
            });
        } else {
            self.complete(step, now);
        }
        Some(frame)
    }

    fn complete(&mut self, step: Step, t: Instant) {
        match step {
            Step::Tx(s) => self.tx.complete(s, t, &self.config, &mut self.events),
            Step::FlowControl(status) => self.rx.flow_control_sent(status, t, &self.config),
        }
    }

    /// The driver's confirmation that the frame last returned by
    /// [`poll_transmit`](Endpoint::poll_transmit) is on the bus (only
    /// [`with_tx_confirmation`](Endpoint::with_tx_confirmation)).
    ///
    /// # Errors
    ///
    /// [`NothingToConfirm`] when no frame awaits confirmation (none was polled since the last
    /// confirmation, or the endpoint does not confirm transmissions); nothing changes then.
    pub fn handle_tx_confirmation(&mut self, now: Instant) -> Result<(), NothingToConfirm> {
        let f = self.in_flight.take().ok_or(NothingToConfirm)?;
        self.complete(f.step, now);
        if let Some((status, block_size, st_min)) = self.early_flow_control.take() {
            if self.tx.waits_for_flow_control() {
                self.tx.handle_flow_control(
                    status,
                    block_size,
                    st_min,
                    now,
                    &self.config,
                    &mut self.events,
                );
            }
        }
        Ok(())
    }

    /// The driver's negative confirmation: the frame last returned by
    /// [`poll_transmit`](Endpoint::poll_transmit) could not be sent (only
    /// [`with_tx_confirmation`](Endpoint::with_tx_confirmation)). Its transfer ends at once with
    /// [`ProtocolError::BusFailure`]: a [`Event::SendFailed`] for a data frame, a [`Event::ReceiveFailed`]
    /// for a flow control frame.
    ///
    /// # Errors
    ///
    /// [`NothingToConfirm`] when no frame awaits confirmation; nothing changes then.
    pub fn handle_tx_failure(&mut self) -> Result<(), NothingToConfirm> {
        let f = self.in_flight.take().ok_or(NothingToConfirm)?;
        self.early_flow_control = None;
        match f.step {
            Step::Tx(step) => {
                let pci = match step {
                    TxStep::SingleFrame => PciType::SingleFrame,
                    TxStep::FirstFrame => PciType::FirstFrame,
                    TxStep::ConsecutiveFrame { .. } => PciType::ConsecutiveFrame,
                };
                self.tx
                    .abort(ProtocolError::BusFailure { pci }, &mut self.events);
            }
            Step::FlowControl(_) => self.rx.abort(
                ProtocolError::BusFailure {
                    pci: PciType::FlowControl,
                },
                &mut self.events,
            ),
        }
        Ok(())
    }

    /// Runs the timers: call when [`poll_timeout`](Endpoint::poll_timeout)'s instant has passed (calling
    /// early or often is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(f) = self.in_flight {
            if f.deadline <= now {
                self.in_flight = None;
                self.early_flow_control = None;
                match f.step {
                    Step::Tx(_) => self.tx.abort(
                        ProtocolError::TimeoutA {
                            timer: ATimer::As,
                            limit: self.config.n_as,
                        },
                        &mut self.events,
                    ),
                    Step::FlowControl(_) => self.rx.abort(
                        ProtocolError::TimeoutA {
                            timer: ATimer::Ar,
                            limit: self.config.n_ar,
                        },
                        &mut self.events,
                    ),
                }
            }
        }
        self.tx.handle_timeout(now, &self.config, &mut self.events);
        self.rx.handle_timeout(now, &self.config, &mut self.events);
        if let Some((_, mirror)) = self.mirror.as_mut() {
            mirror.handle_timeout(now, &self.config, &mut self.events);
        }
    }

    /// When the endpoint next needs attention: a frame becomes due (STmin, rate limit) or a timer
    /// expires. `None` when idle. The instant may already have passed: then call
    /// [`poll_transmit`](Endpoint::poll_transmit) and [`handle_timeout`](Endpoint::handle_timeout) now.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some(f) = self.in_flight {
            // Nothing else can go out before the confirmation; the timers still run.
            return [
                Some(f.deadline),
                self.rx_deadline_excluding_fc(),
                self.tx.flow_control_deadline(),
                self.mirror.as_ref().and_then(|(_, m)| m.next_deadline()),
            ]
            .into_iter()
            .flatten()
            .min();
        }
        [
            self.tx.next_deadline(),
            self.rx.next_deadline(),
            self.mirror.as_ref().and_then(|(_, m)| m.next_deadline()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn rx_deadline_excluding_fc(&self) -> Option<Instant> {
        if self.rx.has_flow_control_due() {
            None
        } else {
            self.rx.next_deadline()
        }
    }

    /// The next event, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// True while a message is being sent or waits in the queue.
    #[must_use]
    pub fn is_transmitting(&self) -> bool {
        self.tx.is_busy()
    }

    /// True while a segmented message is being received.
    #[must_use]
    pub fn is_receiving(&self) -> bool {
        self.rx.is_busy()
    }

    /// Messages waiting behind the one being sent.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.tx.queued()
    }

    /// Abandons the message being sent and the queue; returns how many messages were dropped.
    /// No event is reported for them.
    pub fn stop_sending(&mut self) -> usize {
        if matches!(
            self.in_flight,
            Some(InFlight {
                step: Step::Tx(_),
                ..
            })
        ) {
            self.in_flight = None;
        }
        self.early_flow_control = None;
        if let Some(l) = self.limiter.as_mut() {
            l.clear();
        }
        self.tx.stop()
    }

    /// Abandons the message being received.
    pub fn stop_receiving(&mut self) {
        if matches!(
            self.in_flight,
            Some(InFlight {
                step: Step::FlowControl(_),
                ..
            })
        ) {
            self.in_flight = None;
        }
        self.rx.stop();
        if let Some((_, m)) = self.mirror.as_mut() {
            m.stop();
        }
    }

    /// Back to the state after [`Endpoint::new`]: transfers, queue and pending events are dropped.
    pub fn reset(&mut self) {
        self.stop_sending();
        self.stop_receiving();
        self.in_flight = None;
        self.events.clear();
    }

    /// Changes the configuration (validated first: on error nothing changes); transfers in
    /// progress and queued messages are dropped, as by [`reset`](Endpoint::reset).
    ///
    /// ```
    /// use isotp_core::{Address, Config, Endpoint, wire::StMin};
    /// let mut ep = Endpoint::new(Address::normal_11(0x7E0, 0x7E8)?, Config::default())?;
    /// let mut config = *ep.config();
    /// config.st_min = StMin::from_byte(100); // 100 ms asked of the sender from now on
    /// ep.set_config(config)?;
    /// assert_eq!(ep.config().st_min, StMin::from_byte(100));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The [`ConfigError`] of [`Config::validate`].
    pub fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        config.validate()?;
        self.reset();
        self.config = config;
        self.framer = Framer::new(&config, self.address.tx_prefix());
        self.rx = Receiver::new(config.listen_mode, false);
        self.mirror = Self::mirror_for(&self.address, &config);
        self.limiter = config.rate_limit.map(RateLimiter::new);
        self.set_receive_ready(self.receive_ready);
        Ok(())
    }

    /// Changes the address; transfers in progress and queued messages are dropped.
    pub fn set_address(&mut self, address: Address) {
        self.reset();
        self.address = address;
        self.framer = Framer::new(&self.config, address.tx_prefix());
        self.mirror = Self::mirror_for(&address, &self.config);
        if let Some((_, m)) = self.mirror.as_mut() {
            m.set_ready(self.receive_ready);
        }
    }
}
