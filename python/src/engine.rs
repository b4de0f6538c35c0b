//! `Engine`: one `isotp_core::Endpoint` for `TransportLayerLogic.process()` (can-isotp's rxfn/txfn
//! model without threads): `process` reads `rxfn`, feeds the engine, runs its timers and gives
//! what is due to `txfn`. The clock is the engine's own monotonic one.

use std::time::Instant as StdInstant;

use isotp::core::{CanId, Endpoint, Event, Frame, Instant};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::address::{target, NativeAddress};
use crate::config::config_from;
use crate::errors::{protocol_kind, send_error, warning_kind, ErrorText};
use crate::pybus::{from_message, MessageStyle, PyBus, TxFlags};
use crate::NativeError;

#[pyclass(module = "isotp._isotp")]
pub struct Engine {
    ep: Endpoint,
    origin: StdInstant,
    text: ErrorText,
    tx_flags: Option<TxFlags>,
}

impl Engine {
    fn now(&self) -> Instant {
        Instant::from_micros(self.origin.elapsed().as_micros() as u64)
    }

    /// The next frame due now, with the flags it carries to Python.
    fn next_due(&mut self) -> Option<(Frame, Option<TxFlags>)> {
        let now = self.now();
        self.ep.poll_transmit(now).map(|f| (f, self.tx_flags))
    }

    fn run_timers(&mut self) {
        let now = self.now();
        if self.ep.poll_timeout().is_some_and(|t| t <= now) {
            self.ep.handle_timeout(now);
        }
    }
}

pub(crate) fn frame_from(
    arbitration_id: u32,
    is_extended_id: bool,
    data: &[u8],
    is_fd: bool,
    bitrate_switch: bool,
) -> Option<Frame> {
    let id = CanId::new(arbitration_id, is_extended_id).ok()?;
    if is_fd {
        Frame::new_fd(id, data)
            .ok()
            .map(|f| f.with_brs(bitrate_switch))
    } else {
        Frame::new(id, data).ok()
    }
}

#[pymethods]
impl Engine {
    /// `tx_fd`/`tx_brs`: the flags every frame given to `txfn` carries (can-isotp's `can_fd` and
    /// `bitrate_switch` parameters, whatever the frame's length).
    #[new]
    #[pyo3(signature = (address, config, tx_fd=false, tx_brs=false))]
    fn new(
        address: &NativeAddress,
        config: &Bound<'_, PyDict>,
        tx_fd: bool,
        tx_brs: bool,
    ) -> PyResult<Self> {
        let config = config_from(config)?;
        let text = ErrorText::new(&address.inner);
        // ReceptionStarted tells `recv(timeout)` that a message has begun (awaited past the timeout).
        let ep = Endpoint::new(address.inner, config)
            .map_err(|e| NativeError::new_err(("config", e.to_string())))?
            .with_first_frame_indication();
        Ok(Engine {
            ep,
            origin: StdInstant::now(),
            text,
            tx_flags: Some(TxFlags {
                is_fd: tx_fd,
                bitrate_switch: tx_brs,
            }),
        })
    }

    /// can-isotp's `process()`: reads frames with `rxfn(rx_timeout)` until it returns None (or a
    /// frame needs an immediate answer), running the timers after each read, then gives every
    /// frame due to `txfn` as `message` objects (can-isotp's CanMessage); again while frames went
    /// out and an answer may be waiting. Starts with transmission when a message waits and both
    /// directions are idle (no read blocks before it). Returns (received, received_processed,
    /// sent); an exception of `rxfn` or `txfn` propagates.
    #[pyo3(signature = (rxfn, txfn, message, rx_timeout=0.0, do_rx=true, do_tx=true))]
    #[allow(clippy::too_many_arguments)]
    fn process(
        slf: &Bound<'_, Self>,
        rxfn: &Bound<'_, PyAny>,
        txfn: &Bound<'_, PyAny>,
        message: &Bound<'_, PyAny>,
        rx_timeout: f64,
        do_rx: bool,
        do_tx: bool,
    ) -> PyResult<(usize, usize, usize)> {
        // The engine is borrowed only between two calls into Python, so another thread may send
        // while `rxfn` waits (as can-isotp's queue allows).
        let py = slf.py();
        let (mut received, mut processed, mut sent) = (0, 0, 0);
        let mut start_with_tx = do_tx && {
            let e = slf.borrow();
            e.ep.queued() > 0 && !e.ep.is_receiving() && !e.ep.is_transmitting()
        };
        loop {
            if do_rx && !start_with_tx {
                loop {
                    let msg = rxfn.call1((rx_timeout,))?;
                    slf.borrow_mut().run_timers();
                    if msg.is_none() {
                        break;
                    }
                    received += 1;
                    let Some((frame, _)) = from_message(&msg, MessageStyle::CanIsotp)? else {
                        continue;
                    };
                    let mut e = slf.borrow_mut();
                    if e.ep.address().accepts(&frame).is_some() {
                        processed += 1;
                    }
                    let now = e.now();
                    e.ep.handle_frame(&frame, now);
                    // A flow control (or the next block) is due at once: send it before reading on.
                    if do_tx && e.ep.poll_timeout().is_some_and(|t| t <= now) {
                        break;
                    }
                }
            }
            start_with_tx = false;
            slf.borrow_mut().run_timers();
            let mut sent_now = 0;
            while let Some((frame, flags)) = do_tx.then(|| slf.borrow_mut().next_due()).flatten() {
                let msg = PyBus::to_message(py, message, MessageStyle::CanIsotp, flags, &frame)?;
                txfn.call1((msg,))?;
                sent_now += 1;
            }
            sent += sent_now;
            // Frames went out (a first frame, a block, a flow control): read the answer, or the
            // frames that waited behind the one that needed it, in the same call.
            if sent_now == 0 || !do_rx {
                break;
            }
        }
        Ok((received, processed, sent))
    }

    /// Queues a message; returns its id.
    fn send(&mut self, data: &[u8], functional: bool) -> PyResult<u64> {
        self.ep
            .send(data, target(functional))
            .map(|id| id.get())
            .map_err(send_error)
    }

    /// Seconds until the engine needs `handle_timeout` or `poll_transmit` again (0 if due), None
    /// when it waits for nothing.
    fn next_deadline(&self) -> Option<f64> {
        let now = self.now();
        self.ep
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now).as_secs_f64())
    }

    /// The next event as a tuple: ("received", bytes, functional), ("observed", bytes, functional),
    /// ("sent", id), ("send_failed", id, kind, message), ("reception_started", length),
    /// ("receive_failed", kind, message),
    /// ("warning", kind, message).
    fn poll_event<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        loop {
            let Some(ev) = self.ep.poll_event() else {
                return Ok(None);
            };
            let t = match ev {
                Event::Received {
                    payload,
                    target_address_type,
                } => (
                    "received",
                    PyBytes::new(py, &payload),
                    target_address_type == isotp::TargetAddressType::Functional,
                )
                    .into_pyobject(py)?,
                Event::Observed {
                    payload,
                    target_address_type,
                } => (
                    "observed",
                    PyBytes::new(py, &payload),
                    target_address_type == isotp::TargetAddressType::Functional,
                )
                    .into_pyobject(py)?,
                Event::Sent { id } => ("sent", id.get()).into_pyobject(py)?,
                Event::ReceptionStarted { length, .. } => {
                    ("reception_started", length).into_pyobject(py)?
                }
                Event::SendFailed { id, error } => (
                    "send_failed",
                    id.get(),
                    protocol_kind(&error),
                    self.text.protocol(&error),
                )
                    .into_pyobject(py)?,
                Event::ReceiveFailed { error } => (
                    "receive_failed",
                    protocol_kind(&error),
                    self.text.protocol(&error),
                )
                    .into_pyobject(py)?,
                Event::Warning(w) => match warning_kind(&w) {
                    Some(kind) => ("warning", kind, self.text.warning(&w)).into_pyobject(py)?,
                    None => continue,
                },
                _ => continue,
            };
            return Ok(Some(t));
        }
    }

    fn is_transmitting(&self) -> bool {
        self.ep.is_transmitting()
    }

    fn is_receiving(&self) -> bool {
        self.ep.is_receiving()
    }

    /// Messages queued or in transmission.
    fn queued(&self) -> usize {
        self.ep.queued()
    }

    fn stop_sending(&mut self) -> usize {
        self.ep.stop_sending()
    }

    fn stop_receiving(&mut self) {
        self.ep.stop_receiving()
    }

    fn reset(&mut self) {
        self.ep.reset()
    }

    fn set_address(&mut self, address: &NativeAddress) {
        self.ep.set_address(address.inner)
    }
}
