//! Python callables as an `isotp::bus::CanBus`: a python-can bus (`bus.recv`/`bus.send`, or a
//! Notifier's BufferedReader) or can-isotp's `rxfn`/`txfn` pair. The driver calls them, taking the
//! GIL only for those calls.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use isotp::bus::{BusError, CanBus, Capabilities, ClockPair};
use isotp::core::Frame;
use pyo3::exceptions::{PyKeyboardInterrupt, PySystemExit};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict};

use crate::engine::frame_from;
use crate::gil;

/// A reader cannot be woken from another thread, so a wait is cut into slices of at most this long
/// and `interrupt` is noticed between two slices.
const SLICE: Duration = Duration::from_millis(20);

/// A reader that returns None well before its timeout does not wait (can-isotp's rxfn without a
/// timeout argument, a polled device API): it is asked again after this pause, as can-isotp's relay
/// thread does, so polling it does not take the GIL without a break.
const POLL_PAUSE: Duration = Duration::from_millis(1);

/// The engine polls the bus without waiting (timeout zero) between frames it sends and while it
/// spins before a short deadline. Each poll takes the GIL, which would starve the Python threads,
/// so such polls reach Python at most this often; frames wait in the reader's queue meanwhile.
const ZERO_POLL_INTERVAL: Duration = Duration::from_micros(250);

/// A python-can timestamp older than this (or in the future) is not taken for a capture time on
/// the wall clock (some interfaces count from the adapter's start): the frame is stamped when read.
const MAX_TIMESTAMP_AGE: Duration = Duration::from_secs(10);

/// How frames cross to Python.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MessageStyle {
    /// python-can's `can.Message` (keyword `is_extended_id`; error and remote frames are skipped,
    /// `timestamp` is the capture time).
    PythonCan,
    /// can-isotp's `CanMessage`, as `rxfn` returns and `txfn` takes it (keyword `extended_id`).
    CanIsotp,
}

/// The flags every transmitted frame carries, as can-isotp builds its messages: `is_fd` is the
/// `can_fd` parameter and `bitrate_switch` the `bitrate_switch` parameter, whatever the frame's
/// length. A 64-byte frame with `is_fd` false is what can-isotp gives a classic python-can bus
/// asked for `tx_data_length=64`; whether the bus carries it is the bus's answer at `send`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TxFlags {
    pub(crate) is_fd: bool,
    pub(crate) bitrate_switch: bool,
}

/// Frames a python-can Notifier's thread hands over ([`PyBus::push`]) and the driver reads without
/// the GIL. Bounded: a driver that stops reading loses the newest frames, counted.
const INBOX_FRAMES: usize = 16384;

/// Where received frames come from.
enum Source {
    /// `reader(timeout) -> message | None`: `bus.recv` or `rxfn`, called by the driver.
    Reader(Py<PyAny>),
    /// Pushed by a Notifier listener ([`PyBus::push`]).
    Inbox {
        tx: std::sync::mpsc::SyncSender<(Frame, Instant)>,
        rx: std::sync::Mutex<std::sync::mpsc::Receiver<(Frame, Instant)>>,
        dropped: AtomicU64,
    },
}

pub(crate) struct PyBus {
    /// `send(message)`: `bus.send` or `txfn`.
    send: Py<PyAny>,
    source: Source,
    /// The message class to build: `can.Message` or `isotp.CanMessage`.
    message: Py<PyAny>,
    style: MessageStyle,
    /// None: each frame's own flags. Changed with the parameters of a started stack.
    tx_flags: std::sync::Mutex<Option<TxFlags>>,
    interrupted: AtomicBool,
    /// When a zero-timeout poll last reached Python (micros since `origin`).
    last_zero_poll: AtomicU64,
    origin: Instant,
    /// Set when the interpreter is shutting down or the stack is closed: no more calls into Python.
    closed: AtomicBool,
}

impl PyBus {
    /// `reader`: None for a bus fed by [`push`](PyBus::push).
    pub(crate) fn new(
        send: Py<PyAny>,
        reader: Option<Py<PyAny>>,
        message: Py<PyAny>,
        style: MessageStyle,
        tx_flags: Option<TxFlags>,
    ) -> PyBus {
        let source = match reader {
            Some(r) => Source::Reader(r),
            None => {
                let (tx, rx) = std::sync::mpsc::sync_channel(INBOX_FRAMES);
                Source::Inbox {
                    tx,
                    rx: std::sync::Mutex::new(rx),
                    dropped: AtomicU64::new(0),
                }
            }
        };
        PyBus {
            send,
            source,
            message,
            style,
            tx_flags: std::sync::Mutex::new(tx_flags),
            interrupted: AtomicBool::new(false),
            last_zero_poll: AtomicU64::new(0),
            origin: Instant::now(),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// A message received by a Notifier listener, for the driver. False when this bus reads
    /// through a reader instead.
    pub(crate) fn push(&self, msg: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Source::Inbox { tx, dropped, .. } = &self.source else {
            return Ok(false);
        };
        if let Some(frame) = from_message(msg, self.style)? {
            if tx.try_send(frame).is_err() {
                let n = dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    log_dropped(msg.py(), n);
                }
            }
        }
        Ok(true)
    }

    /// Reads the inbox for up to `wait`, without the GIL.
    fn recv_inbox(
        &self,
        rx: &std::sync::Mutex<std::sync::mpsc::Receiver<(Frame, Instant)>>,
        timeout: Option<Duration>,
    ) -> Option<(Frame, Instant)> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.closed.load(Ordering::SeqCst) || self.interrupted.swap(false, Ordering::SeqCst)
            {
                return None;
            }
            let slice = deadline.map_or(SLICE, |d| {
                d.saturating_duration_since(Instant::now()).min(SLICE)
            });
            match rx.recv_timeout(slice) {
                Ok(frame) => return Some(frame),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
        }
    }

    pub(crate) fn set_tx_flags(&self, flags: Option<TxFlags>) {
        *self.tx_flags.lock().unwrap_or_else(|e| e.into_inner()) = flags;
    }

    fn tx_flags(&self) -> Option<TxFlags> {
        *self.tx_flags.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A frame as the message class of this bus.
    pub(crate) fn to_message<'py>(
        py: Python<'py>,
        class: &Bound<'py, PyAny>,
        style: MessageStyle,
        flags: Option<TxFlags>,
        frame: &Frame,
    ) -> PyResult<Bound<'py, PyAny>> {
        let flags = flags.unwrap_or(TxFlags {
            is_fd: frame.is_fd(),
            bitrate_switch: frame.is_brs(),
        });
        let kw = PyDict::new(py);
        kw.set_item("arbitration_id", frame.id().raw())?;
        kw.set_item("data", PyBytes::new(py, frame.data()))?;
        kw.set_item("is_fd", flags.is_fd)?;
        kw.set_item("bitrate_switch", flags.bitrate_switch)?;
        match style {
            MessageStyle::PythonCan => kw.set_item("is_extended_id", frame.id().is_extended())?,
            MessageStyle::CanIsotp => {
                kw.set_item("extended_id", frame.id().is_extended())?;
                kw.set_item("dlc", frame.dlc())?;
            }
        }
        class.call((), Some(&kw))
    }
}

thread_local! {
    static THREAD_STATE: std::cell::RefCell<Option<KeptThreadState>> =
        const { std::cell::RefCell::new(None) };
}

/// A Python thread state this (driver) thread keeps for its life, released when the thread ends.
/// Without it each `with_gil` creates and destroys one, a cost paid per CAN frame.
struct KeptThreadState {
    gil_state: pyo3::ffi::PyGILState_STATE,
    thread_state: *mut pyo3::ffi::PyThreadState,
}

impl Drop for KeptThreadState {
    fn drop(&mut self) {
        // SAFETY: the state was taken on this thread by `keep_thread_state`, which released the
        // GIL with SaveThread; RestoreThread takes it back so Release runs as the API requires.
        // Once the interpreter exits the state is left to it (taking the GIL then is what
        // `gil` forbids; after finalization there is nothing to release).
        unsafe {
            if pyo3::ffi::Py_IsInitialized() != 0 && !gil::exiting() {
                gil::near_gil(|| {
                    pyo3::ffi::PyEval_RestoreThread(self.thread_state);
                    pyo3::ffi::PyGILState_Release(self.gil_state);
                });
            }
        }
    }
}

/// Gives a thread that Python does not know (the driver's own) a Python thread state for its life.
/// A Python thread that leads the driver while it waits in `recv` already has one: nothing is done.
fn keep_thread_state() {
    THREAD_STATE.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.is_some() {
            return;
        }
        // SAFETY: GetThisThreadState only reads this thread's state. When it is null, this thread
        // holds no GIL and has no thread state; Ensure creates one and takes the GIL, SaveThread
        // gives the GIL back and returns the state, which `KeptThreadState` restores and releases
        // when the thread ends.
        unsafe {
            if !pyo3::ffi::PyGILState_GetThisThreadState().is_null() {
                return;
            }
            let gil_state = gil::near_gil(|| pyo3::ffi::PyGILState_Ensure());
            let thread_state = pyo3::ffi::PyEval_SaveThread();
            *kept = Some(KeptThreadState {
                gil_state,
                thread_state,
            });
        }
    })
}

/// A Python exception of a callable as a bus error. Ctrl-C (or SystemExit) inside a callable that
/// a driver thread ran is not the bus's failure: it is handed back to the main thread (which sees
/// it at its next signal check) and the call counts as "nothing read".
fn py_error(py: Python<'_>, context: &str, e: PyErr) -> Option<BusError> {
    if e.is_instance_of::<PyKeyboardInterrupt>(py) || e.is_instance_of::<PySystemExit>(py) {
        // SAFETY: called with the GIL held.
        unsafe { pyo3::ffi::PyErr_SetInterrupt() };
        return None;
    }
    Some(BusError::io(context, std::io::Error::other(e.to_string())))
}

fn log_dropped(py: Python<'_>, n: u64) {
    let text = format!(
        "isotp: {n} frame(s) from the Notifier dropped so far: the stack does not read them fast enough"
    );
    let _ = py
        .import("logging")
        .and_then(|l| l.call_method1("getLogger", ("isotp",)))
        .and_then(|l| l.call_method1("warning", (text,)));
}

/// The capture moment of a python-can message (`timestamp`, seconds since the epoch), when it is
/// plausible; else now.
fn capture_instant(timestamp: f64) -> Instant {
    let read = ClockPair::now();
    Duration::try_from_secs_f64(timestamp).map_or(read.monotonic(), |stamp| {
        read.instant_of_recent(stamp, MAX_TIMESTAMP_AGE)
    })
}

fn message_data(msg: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let data = msg.getattr(pyo3::intern!(msg.py(), "data"))?;
    // Messages keep data in a bytearray: copy it whole rather than item by item.
    if let Ok(b) = data.downcast::<PyByteArray>() {
        Ok(b.to_vec())
    } else if let Ok(b) = data.downcast::<PyBytes>() {
        Ok(b.as_bytes().to_vec())
    } else if data.is_none() {
        Ok(Vec::new())
    } else {
        data.extract()
    }
}

/// A received message as a frame, with its capture time; None for what carries no ISO-TP data
/// (error and remote frames, which can-isotp passes over) or is not a CAN frame at all.
pub(crate) fn from_message(
    msg: &Bound<'_, PyAny>,
    style: MessageStyle,
) -> PyResult<Option<(Frame, Instant)>> {
    let py = msg.py();
    let flag = |name: &Bound<'_, pyo3::types::PyString>| -> PyResult<bool> {
        msg.getattr(name)?.is_truthy()
    };
    let mut at = None;
    if style == MessageStyle::PythonCan {
        if flag(pyo3::intern!(py, "is_error_frame"))? || flag(pyo3::intern!(py, "is_remote_frame"))?
        {
            return Ok(None);
        }
        let timestamp: f64 = msg
            .getattr(pyo3::intern!(py, "timestamp"))?
            .extract()
            .unwrap_or(f64::NAN);
        at = Some(capture_instant(timestamp));
    }
    let id: u32 = msg
        .getattr(pyo3::intern!(py, "arbitration_id"))?
        .extract()?;
    let ext = flag(pyo3::intern!(py, "is_extended_id"))?;
    let fd = flag(pyo3::intern!(py, "is_fd"))?;
    let brs = flag(pyo3::intern!(py, "bitrate_switch"))?;
    let data = message_data(msg)?;
    // A frame of more than 8 bytes is CAN FD on the wire whatever its flag says (can-isotp's
    // CanMessage often leaves is_fd unset).
    Ok(frame_from(id, ext, &data, fd || data.len() > 8, brs)
        .map(|f| (f, at.unwrap_or_else(Instant::now))))
}

impl CanBus for PyBus {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(BusError::Closed("the stack was stopped".into()));
        }
        keep_thread_state();
        gil::with_gil(|py| {
            let msg = PyBus::to_message(
                py,
                self.message.bind(py),
                self.style,
                self.tx_flags(),
                frame,
            )
            .and_then(|msg| self.send.bind(py).call1((msg,)));
            match msg {
                Ok(_) => Ok(()),
                Err(e) => Err(py_error(py, "send", e)
                    .unwrap_or_else(|| BusError::Closed("interrupted (KeyboardInterrupt)".into()))),
            }
        })
    }

    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        Ok(self.recv_timestamped(timeout)?.map(|(f, _)| f))
    }

    /// CAN FD accepted whatever the bus says: can-isotp's parameters decide what a frame carries
    /// (see `TxFlags`), and the bus answers at `send` (can-isotp never asks the bus first). `send` returns once Python has taken the
    /// frame (no transmit confirmation); python-can messages carry their capture timestamps.
    fn capabilities(&self) -> Capabilities {
        Capabilities::CLASSIC
            .with_can_fd(true)
            .with_timestamps(self.style == MessageStyle::PythonCan)
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
        let reader = match &self.source {
            Source::Reader(r) => r,
            Source::Inbox { rx, .. } => return Ok(self.recv_inbox(rx, timeout)),
        };
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
                Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
                None => SLICE,
            };
            let asked = Instant::now();
            let got = gil::with_gil(|py| {
                let read = reader
                    .bind(py)
                    .call1((slice.as_secs_f64(),))
                    .and_then(|msg| {
                        if msg.is_none() {
                            Ok(None)
                        } else {
                            from_message(&msg, self.style).map(Some)
                        }
                    });
                read.or_else(|e| match py_error(py, "recv", e) {
                    Some(e) => Err(e),
                    None => Ok(None),
                })
            })?;
            match got {
                Some(Some(frame)) => return Ok(Some(frame)),
                Some(None) => continue, // error or remote frame, or not a valid CAN frame
                None => {}
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Ok(None);
            }
            if now.duration_since(asked) < slice / 2 {
                let pause = deadline.map_or(POLL_PAUSE, |d| {
                    d.saturating_duration_since(now).min(POLL_PAUSE)
                });
                std::thread::sleep(pause);
            }
        }
    }

    fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
    }
}

/// A bus for the engine, and the Python wrapper behind it if there is one.
pub(crate) type Backend = (Box<dyn CanBus>, Option<std::sync::Arc<PyBus>>);

/// The bus named by `bus`: an interface string (opened in Rust), or Python callables: `reader`
/// (`bus.recv` or `rxfn`; None: frames are pushed, by a Notifier listener) and `sender` (`bus.send`
/// or `txfn`) exchanging `message` objects of `style`. The Python wrapper is also returned, so its owner can
/// close it.
pub(crate) fn backend(
    py: Python<'_>,
    bus: &Bound<'_, PyAny>,
    reader: Option<Py<PyAny>>,
    message: Option<Py<PyAny>>,
    style: MessageStyle,
    tx_flags: Option<TxFlags>,
) -> PyResult<Backend> {
    if let Ok(spec) = bus.downcast::<pyo3::types::PyString>() {
        let spec: String = spec.extract()?;
        let b = gil::allow_threads(py, || isotp::bus::open(&spec))
            .map_err(crate::errors::open_error)?;
        return Ok((b, None));
    }
    let message = message.ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err("a Python bus needs its message class")
    })?;
    let send = if bus.is_callable() {
        bus.clone().unbind()
    } else {
        bus.getattr("send")?.unbind()
    };
    let pb = std::sync::Arc::new(PyBus::new(send, reader, message, style, tx_flags));
    Ok((Box::new(pb.clone()), Some(pb)))
}
