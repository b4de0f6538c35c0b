//! A python-can bus as an `isotp::bus::CanBus`: the engine thread calls `bus.recv`/`bus.send`,
//! taking the GIL only for those calls.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use isotp::bus::{BusError, CanBus, Capabilities};
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

/// A python-can timestamp older than this (or in the future) is not taken for a capture time on
/// the wall clock (some interfaces count from the adapter's start): the frame is stamped when read.
const MAX_TIMESTAMP_AGE: Duration = Duration::from_secs(10);

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
    /// The bus says it carries CAN FD (python-can's `bus.protocol`).
    can_fd: bool,
}

impl PyBus {
    /// `bus.protocol` (python-can 4.3 and later) tells whether the bus carries CAN FD; a bus without
    /// it is taken for classic CAN.
    pub(crate) fn new(
        bus: &Bound<'_, PyAny>,
        reader: Py<PyAny>,
        message: Py<PyAny>,
    ) -> PyResult<PyBus> {
        let can_fd = match bus.getattr("protocol") {
            Ok(p) if !p.is_none() => {
                let name: String = p.getattr("name")?.extract()?;
                name == "CAN_FD" || name == "CAN_FD_NON_ISO"
            }
            _ => false,
        };
        Ok(PyBus {
            can_fd,
            bus: bus.clone().unbind(),
            reader,
            message,
            interrupted: AtomicBool::new(false),
            last_zero_poll: AtomicU64::new(0),
            origin: Instant::now(),
            closed: AtomicBool::new(false),
        })
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

/// The capture moment of a python-can message (`timestamp`, seconds since the epoch), when it is
/// plausible; else now.
fn capture_instant(timestamp: f64) -> Instant {
    let now = Instant::now();
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let age = wall - timestamp;
    if age.is_finite() && (0.0..MAX_TIMESTAMP_AGE.as_secs_f64()).contains(&age) {
        now.checked_sub(Duration::from_secs_f64(age)).unwrap_or(now)
    } else {
        now
    }
}

fn from_message(msg: &Bound<'_, PyAny>) -> PyResult<Option<(Frame, Instant)>> {
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
    let timestamp: f64 = msg.getattr("timestamp")?.extract().unwrap_or(f64::NAN);
    Ok(frame_from(id, ext, &data, fd || data.len() > 8, brs)
        .map(|f| (f, capture_instant(timestamp))))
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
        Ok(self.recv_timestamped(timeout)?.map(|(f, _)| f))
    }

    /// Classic CAN unless python-can's bus says CAN FD; `send` returns once python-can has queued
    /// the frame (no transmit confirmation); messages carry python-can's capture timestamps.
    fn capabilities(&self) -> Capabilities {
        Capabilities::CLASSIC
            .with_can_fd(self.can_fd)
            .with_timestamps(true)
    }

    // No `set_receive_filter`: the bus (and a Notifier's other listeners) is the caller's, and
    // python-can's set_filters would change what every other reader of it sees.

    fn recv_timestamped(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Frame, Instant)>, BusError> {
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
            let got = Python::with_gil(|py| -> PyResult<Option<Option<(Frame, Instant)>>> {
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
    let pb = std::sync::Arc::new(PyBus::new(bus, reader, message)?);
    Ok((Box::new(pb.clone()), Some(pb)))
}
