//! A python-can bus as an `isotp::bus::CanBus`: the engine thread calls `bus.recv`/`bus.send`,
//! taking the GIL only for those calls.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use isotp::bus::{BusError, CanBus};
use isotp::core::Frame;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict};

use crate::engine::frame_from;

/// python-can's `recv` cannot be woken from another thread, so a wait is cut into slices of at most
/// this long and `interrupt` is noticed between two slices.
const SLICE: Duration = Duration::from_millis(20);

/// The engine polls the bus without waiting (timeout zero) between frames it sends and while it
/// spins before a short deadline. Each poll of a python-can bus takes the GIL, which would starve
/// the Python threads, so such polls reach Python at most this often; frames wait in python-can's
/// queue meanwhile.
const ZERO_POLL_INTERVAL: Duration = Duration::from_micros(250);

pub(crate) struct PyBus {
    /// An object with `send(can.Message)`.
    bus: Py<PyAny>,
    /// `reader(timeout) -> can.Message | None`: `bus.recv`, or a python-can BufferedReader's
    /// `get_message` when a Notifier owns the reading.
    reader: Py<PyAny>,
    /// `can.Message`.
    message: Py<PyAny>,
    interrupted: AtomicBool,
    /// When a zero-timeout poll last reached Python (micros since `origin`).
    last_zero_poll: AtomicU64,
    origin: Instant,
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
            last_zero_poll: AtomicU64::new(0),
            origin: Instant::now(),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

thread_local! {
    static THREAD_STATE_KEPT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Gives the calling (engine) thread a Python thread state for its whole life. Without it each
/// `with_gil` creates and destroys one, a cost paid per CAN frame.
fn keep_thread_state() {
    THREAD_STATE_KEPT.with(|kept| {
        if !kept.get() {
            // SAFETY: called on a thread that holds neither the GIL nor a thread state of ours;
            // the Ensure is never released, so the thread state lives as long as the thread, and
            // SaveThread releases the GIL it took.
            unsafe {
                pyo3::ffi::PyGILState_Ensure();
                pyo3::ffi::PyEval_SaveThread();
            }
            kept.set(true);
        }
    })
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
    let data = msg.getattr("data")?;
    // python-can keeps data in a bytearray: copy it whole rather than item by item.
    let data: Vec<u8> = if let Ok(b) = data.downcast::<PyByteArray>() {
        b.to_vec()
    } else if let Ok(b) = data.downcast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else {
        data.extract()?
    };
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
        if self.closed.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
            return Ok(None);
        }
        keep_thread_state();
        if timeout == Some(Duration::ZERO) {
            let now = self.origin.elapsed().as_micros() as u64;
            let last = self.last_zero_poll.load(Ordering::Relaxed);
            if now.saturating_sub(last) < ZERO_POLL_INTERVAL.as_micros() as u64 {
                return Ok(None);
            }
            self.last_zero_poll.store(now, Ordering::Relaxed);
        }
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

/// The bus named by `bus`: an interface string (opened in Rust), or a python-can bus read through
/// `reader` (its `recv`, or a BufferedReader's `get_message`) with `message` (`can.Message`). The
/// python-can wrapper is also returned, so its owner can close it.
/// A bus for the engine, and the python-can wrapper behind it if there is one.
pub(crate) type Backend = (Box<dyn CanBus>, Option<std::sync::Arc<PyBus>>);

pub(crate) fn backend(
    py: Python<'_>,
    bus: &Bound<'_, PyAny>,
    reader: Option<Py<PyAny>>,
    message: Option<Py<PyAny>>,
) -> PyResult<Backend> {
    if let Ok(spec) = bus.downcast::<pyo3::types::PyString>() {
        let spec: String = spec.extract()?;
        let b = py
            .allow_threads(|| isotp::bus::open(&spec))
            .map_err(crate::errors::open_error)?;
        return Ok((b, None));
    }
    let reader = reader.ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err("a python-can bus needs a reader")
    })?;
    let message = message.ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err("a python-can bus needs can.Message")
    })?;
    let pb = std::sync::Arc::new(PyBus::new(bus.clone().unbind(), reader, message));
    Ok((Box::new(pb.clone()), Some(pb)))
}
