//! A microcontroller's diagnostic server around one `Endpoint`: `no_std` with `alloc`, no threads, no
//! clock but the board's. Built as a library (`cargo build -p isotp-core --example no_std_main_loop`);
//! a firmware calls [`DiagnosticServer::poll`] from its main loop or CAN interrupt.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use isotp_core::{
    Address, Config, ConfigError, Endpoint, Event, Frame, Instant, LinkLayer, TargetAddressType,
};

/// What the board's CAN peripheral offers.
pub trait CanPeripheral {
    /// A received frame, if one waits in the receive FIFO.
    fn receive(&mut self) -> Option<Frame>;
    /// Hands a frame to a transmit mailbox.
    fn transmit(&mut self, frame: &Frame) -> Result<(), TransmitError>;
}

/// Why a frame was not taken.
pub enum TransmitError {
    /// Every mailbox is full: try again later.
    Busy,
    /// The controller is bus-off or in error: the frame will not go out.
    Failed,
}

/// The board's monotonic timer.
pub trait Monotonic {
    /// Time since boot.
    fn now(&self) -> Instant;
}

/// Answers diagnostic requests on 0x7E0 with responses on 0x7E8, over CAN FD.
pub struct DiagnosticServer<C, T> {
    can: C,
    clock: T,
    link: Endpoint,
    /// A frame the mailboxes had no room for.
    waiting: Option<Frame>,
}

impl<C: CanPeripheral, T: Monotonic> DiagnosticServer<C, T> {
    /// A server on `can`, timed by `clock`.
    pub fn new(can: C, clock: T) -> Result<Self, ConfigError> {
        let mut config = Config::default();
        config.link_layer = LinkLayer::fd(64, true);
        let address = Address::normal_11(0x7E8, 0x7E0).map_err(|_| ConfigError::Conflict {
            reason: "the server's ids are fixed and valid",
        })?;
        // The peripheral tells us when a frame is taken, so N_As and N_Ar mean something.
        let link = Endpoint::new(address, config)?.with_tx_confirmation();
        Ok(DiagnosticServer {
            can,
            clock,
            link,
            waiting: None,
        })
    }

    /// Does everything that is due: received frames, transmissions, timers, requests (answered by
    /// `respond`). Returns when to call again at the latest (`None`: on the next CAN interrupt).
    pub fn poll(&mut self, mut respond: impl FnMut(&[u8]) -> Option<Vec<u8>>) -> Option<Instant> {
        let now = self.clock.now();
        while let Some(frame) = self.can.receive() {
            self.link.handle_frame(&frame, now);
        }
        self.link.handle_timeout(now);
        while let Some(frame) = self.waiting.take().or_else(|| self.link.poll_transmit(now)) {
            match self.can.transmit(&frame) {
                Ok(()) => {
                    let _ = self.link.handle_tx_confirmation(now);
                }
                Err(TransmitError::Busy) => {
                    self.waiting = Some(frame);
                    break;
                }
                Err(TransmitError::Failed) => {
                    let _ = self.link.handle_tx_failure();
                }
            }
        }
        while let Some(event) = self.link.poll_event() {
            if let Event::Received { payload, .. } = event {
                if let Some(answer) = respond(&payload) {
                    // A full queue drops the answer; the tester asks again.
                    let _ = self.link.send(&answer, TargetAddressType::Physical);
                }
            }
        }
        self.link.poll_timeout()
    }
}
