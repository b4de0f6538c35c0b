//! `Engine`: one `isotp_core::Endpoint` driven from Python, for `TransportLayerLogic.process()`
//! (can-isotp's rxfn/txfn model). The clock is the engine's own monotonic one.

use std::time::Instant as StdInstant;

use isotp::core::{CanId, Endpoint, Event, Frame, Instant};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::address::{target, NativeAddress};
use crate::config::config_from;
use crate::errors::{protocol_kind, send_error, warning_kind};
use crate::NativeError;

#[pyclass(module = "isotp._isotp")]
pub struct Engine {
    ep: Endpoint,
    origin: StdInstant,
}

impl Engine {
    fn now(&self) -> Instant {
        Instant::from_micros(self.origin.elapsed().as_micros() as u64)
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
        Frame::new_fd(id, data, bitrate_switch).ok()
    } else {
        Frame::new(id, data).ok()
    }
}

#[pymethods]
impl Engine {
    #[new]
    fn new(address: &NativeAddress, config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let config = config_from(config)?;
        // ReceptionStarted tells `recv(timeout)` that a message has begun (awaited past the timeout).
        let ep = Endpoint::new(address.inner, config)
            .map_err(|e| NativeError::new_err(("config", e.to_string())))?
            .with_first_frame_indication();
        Ok(Engine {
            ep,
            origin: StdInstant::now(),
        })
    }

    /// Queues a message; returns its id.
    fn send(&mut self, data: &[u8], functional: bool) -> PyResult<u64> {
        self.ep
            .send(data, target(functional))
            .map(|id| id.get())
            .map_err(send_error)
    }

    /// Feeds one received CAN frame. Returns False when the frame cannot be a CAN frame at all
    /// (bad id or length), which the engine never sees.
    #[pyo3(signature = (arbitration_id, is_extended_id, data, is_fd=false, bitrate_switch=false))]
    fn handle_frame(
        &mut self,
        arbitration_id: u32,
        is_extended_id: bool,
        data: &[u8],
        is_fd: bool,
        bitrate_switch: bool,
    ) -> bool {
        let now = self.now();
        // can-isotp's CanMessage often leaves is_fd unset on frames longer than 8 bytes.
        let is_fd = is_fd || data.len() > 8;
        match frame_from(arbitration_id, is_extended_id, data, is_fd, bitrate_switch) {
            Some(f) => {
                self.ep.handle_frame(&f, now);
                true
            }
            None => false,
        }
    }

    /// Runs the timers that are due.
    fn handle_timeout(&mut self) {
        let now = self.now();
        if self.ep.poll_timeout().is_some_and(|t| t <= now) {
            self.ep.handle_timeout(now);
        }
    }

    /// Seconds until the engine needs `handle_timeout` or `poll_transmit` again (0 if due), None
    /// when it waits for nothing.
    fn next_deadline(&self) -> Option<f64> {
        let now = self.now();
        self.ep
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now).as_secs_f64())
    }

    /// The next frame due now: (arbitration_id, is_extended_id, data, is_fd, bitrate_switch, dlc).
    fn poll_transmit<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let now = self.now();
        match self.ep.poll_transmit(now) {
            None => Ok(None),
            Some(f) => Ok(Some(PyTuple::new(
                py,
                [
                    f.id().raw().into_bound_py_any(py)?,
                    f.id().is_extended().into_bound_py_any(py)?,
                    PyBytes::new(py, f.data()).into_any(),
                    f.is_fd().into_bound_py_any(py)?,
                    f.is_brs().into_bound_py_any(py)?,
                    f.dlc().into_bound_py_any(py)?,
                ],
            )?)),
        }
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
                    error.to_string(),
                )
                    .into_pyobject(py)?,
                Event::ReceiveFailed { error } => {
                    ("receive_failed", protocol_kind(&error), error.to_string())
                        .into_pyobject(py)?
                }
                Event::Warning(w) => match warning_kind(&w) {
                    Some(kind) => ("warning", kind, w.to_string()).into_pyobject(py)?,
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

    /// Payload bytes of the largest single frame.
    fn single_frame_capacity(&self) -> usize {
        self.ep.single_frame_capacity()
    }
}
