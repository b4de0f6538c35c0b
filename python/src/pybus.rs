//! A python-can bus as an `isotp::bus::CanBus`: the engine thread calls `bus.recv`/`bus.send`,
//! taking the GIL only for those calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use isotp::bus::{BusError, CanBus};
use isotp::core::Frame;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::engine::frame_from;

/// python-can's `recv` cannot be woken from another thread, so a wait is cut into slices of at most
/// this long and `interrupt` is noticed between two slices.
const SLICE: Duration = Duration::from_millis(20);

pub(crate) struct PyBus {
    /// An object with `send(can.Message)`.
    bus: Py<PyAny>,
    /// `reader(timeout) -> can.Message | None`: `bus.recv`, or a python-can BufferedReader's
    /// `get_message` when a Notifier owns the reading.
    reader: Py<PyAny>,
    /// `can.Message`.
    message: Py<PyAny>,
    interrupted: AtomicBool,
    /// Set when the interpreter is shutting down or the stack is closed: no more calls into Python.
    closed: AtomicBool,
}

impl PyBus {
    pub(crate) fn new(bus: Py<PyAny>, reader: Py<PyAny>, message: Py<PyAny>) -> PyBus {
        PyBus {
            bus,
            reader,
            message,
            interrupted: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

fn py_error(context: &str, e: PyErr) -> BusError {
    BusError::io(context, std::io::Error::other(e.to_string()))
}

fn from_message(msg: &Bound<'_, PyAny>) -> PyResult<Option<Frame>> {
    // Error and remote frames carry no ISO-TP data: pass them over, as can-isotp does.
    if msg.getattr("is_error_frame")?.is_truthy()? || msg.getattr("is_remote_frame")?.is_truthy()? {
        return Ok(None);
    }
    let id: u32 = msg.getattr("arbitration_id")?.extract()?;
    let ext: bool = msg.getattr("is_extended_id")?.is_truthy()?;
    let fd: bool = msg.getattr("is_fd")?.is_truthy()?;
    let brs: bool = msg.getattr("bitrate_switch")?.is_truthy()?;
    let data: Vec<u8> = msg.getattr("data")?.extract()?;
    Ok(frame_from(id, ext, &data, fd || data.len() > 8, brs))
}

impl CanBus for PyBus {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(BusError::Closed("the stack was stopped".into()));
        }
        Python::with_gil(|py| {
            let kw = PyDict::new(py);
            kw.set_item("arbitration_id", frame.id().raw())?;
            kw.set_item("is_extended_id", frame.id().is_extended())?;
            kw.set_item("data", PyBytes::new(py, frame.data()))?;
            kw.set_item("is_fd", frame.is_fd())?;
            kw.set_item("bitrate_switch", frame.is_brs())?;
            let msg = self.message.bind(py).call((), Some(&kw))?;
            self.bus.bind(py).call_method1("send", (msg,))?;
            Ok(())
        })
        .map_err(|e| py_error("python-can bus.send", e))
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.closed.load(Ordering::SeqCst) {
                // Keep the engine thread from spinning: it is being stopped.
                std::thread::sleep(Duration::from_millis(1));
                return Ok(None);
            }
            if self.interrupted.swap(false, Ordering::SeqCst) {
                return Ok(None);
            }
            let slice = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    left.min(SLICE)
                }
                None => SLICE,
            };
            let got = Python::with_gil(|py| -> PyResult<Option<Option<Frame>>> {
                let msg = self.reader.bind(py).call1((slice.as_secs_f64(),))?;
                if msg.is_none() {
                    return Ok(None);
                }
                Ok(Some(from_message(&msg)?))
            })
            .map_err(|e| py_error("python-can bus.recv", e))?;
            match got {
                Some(Some(frame)) => return Ok(Some(frame)),
                Some(None) => continue, // error or remote frame, or not a valid CAN frame
                None => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
        }
    }

    fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
    }
}
