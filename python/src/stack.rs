//! `NativeStack`: an `isotp::Stack` on Python callables (a python-can bus, can-isotp's rxfn/txfn,
//! through `PyBus`) or on one of our interface strings (no frame touches Python then). Every wait
//! releases the GIL and is cut into slices between which signals are checked, so Ctrl-C raises
//! `KeyboardInterrupt` in every blocking call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use isotp::core::SendError;
use isotp::{DriverOptions, Message, Reconfigured, Stack, StackError};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::address::{target, NativeAddress};
use crate::config::config_from;
use crate::errors::{stack_error, stack_error_kind, ErrorText};
use crate::gil;
use crate::pybus::{MessageStyle, PyBus, TxFlags};
use crate::NativeError;

/// The longest a wait runs without checking for signals (Ctrl-C is seen within this).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// While the transmit queue is full, a send looks for room this often.
const ROOM_POLL: Duration = Duration::from_millis(1);

#[pyclass(module = "isotp._isotp")]
pub struct NativeStack {
    stack: Mutex<Option<Arc<Stack>>>,
    /// Set by `close`: every waiter returns at its next slice.
    closed: Arc<AtomicBool>,
    pybus: Option<Arc<PyBus>>,
    text: ErrorText,
}

fn secs(t: Option<f64>) -> PyResult<Option<Duration>> {
    t.map(|s| {
        Duration::try_from_secs_f64(s.max(0.0))
            .map_err(|e| PyValueError::new_err(format!("invalid timeout {s}: {e}")))
    })
    .transpose()
}

/// Runs `step(slice)` with the GIL released until it gives a result or `total` (None: no limit)
/// has been spent in steps, checking for signals between steps. `step` gets at most
/// `SIGNAL_CHECK` and returns None when nothing happened within it.
fn sliced<T: Send>(
    py: Python<'_>,
    closed: &AtomicBool,
    total: Option<Duration>,
    mut step: impl FnMut(Duration) -> Option<T> + Send,
) -> PyResult<Option<T>> {
    let mut left = total;
    loop {
        if closed.load(Ordering::SeqCst) {
            return Err(NativeError::new_err(("stopped", "the stack is stopped")));
        }
        let slice = left.map_or(SIGNAL_CHECK, |l| l.min(SIGNAL_CHECK));
        let got = gil::allow_threads(py, || step(slice));
        if let Some(v) = got {
            return Ok(Some(v));
        }
        py.check_signals()?;
        if let Some(l) = left.as_mut() {
            *l = l.saturating_sub(slice);
            if l.is_zero() {
                return Ok(None);
            }
        }
    }
}

impl NativeStack {
    /// Drops a handle on the stack with the GIL released: the last one joins the engine thread,
    /// which may be inside a Python call that needs the GIL.
    fn release(py: Python<'_>, stack: Arc<Stack>) {
        gil::allow_threads(py, move || drop(stack));
    }

    fn get(&self) -> PyResult<Arc<Stack>> {
        self.stack
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| NativeError::new_err(("stopped", "the stack is stopped")))
    }

    fn error(&self, e: StackError) -> PyErr {
        stack_error(e, &self.text)
    }

    /// Queues `data`, waiting for room in the transmit queue (up to `timeout`) when it is full:
    /// can-isotp's queue has no limit, so a burst of sends must not fail; ours stays bounded.
    fn queue<'s, T: Send>(
        &self,
        py: Python<'_>,
        stack: &'s Stack,
        timeout: Option<Duration>,
        mut try_queue: impl FnMut(&'s Stack) -> Result<T, StackError> + Send,
    ) -> PyResult<T> {
        let started = Instant::now();
        let queued = sliced(py, &self.closed, timeout, |slice| {
            let until = Instant::now() + slice;
            loop {
                match try_queue(stack) {
                    Err(StackError::Send(SendError::QueueFull { .. })) => {}
                    r => return Some(r),
                }
                if Instant::now() >= until {
                    return None;
                }
                std::thread::sleep(ROOM_POLL);
            }
        })?;
        match queued {
            Some(r) => r.map_err(|e| self.error(e)),
            None => Err(self.error(StackError::Timeout {
                waited: started.elapsed(),
                what: "room in the transmit queue",
            })),
        }
    }

    fn send_on(
        &self,
        py: Python<'_>,
        stack: &Stack,
        data: Vec<u8>,
        functional: bool,
        blocking: bool,
        timeout: Option<Duration>,
    ) -> PyResult<()> {
        let t = target(functional);
        if !blocking {
            return self.queue(py, stack, timeout, |s| s.send_to(&data, t).map(|_| ()));
        }
        let started = Instant::now();
        let mut pending = self.queue(py, stack, timeout, |s| s.send_pending(&data, t))?;
        let left = timeout.map(|t| t.saturating_sub(started.elapsed()));
        match sliced(py, &self.closed, left, |slice| pending.wait(Some(slice)))? {
            Some(outcome) => outcome.map_err(|e| self.error(e)),
            None => Err(self.error(StackError::Timeout {
                waited: started.elapsed(),
                what: "the message to be sent",
            })),
        }
    }

    fn recv_on(
        &self,
        py: Python<'_>,
        stack: &Stack,
        timeout: Option<Duration>,
        start_only: bool,
    ) -> PyResult<Option<Message>> {
        if timeout == Some(Duration::ZERO) {
            return stack
                .recv_message(Some(Duration::ZERO))
                .map_err(|e| self.error(e));
        }
        // Each step waits for a message to begin within its slice (counted after this link's own
        // transmission, the driver's rule), and with `start_only` for its reception to end.
        let got = sliced(py, &self.closed, timeout, |slice| {
            let r = if start_only {
                stack.recv_started_within(slice)
            } else {
                stack.recv_message(Some(slice))
            };
            match r {
                Ok(None) => None,
                // A failed reception is also reported to `next_error`, which hands it to
                // `error_handler`; can-isotp's recv() goes on waiting for a message.
                Err(StackError::Protocol(_)) if start_only => None,
                r => r.transpose(),
            }
        })?;
        got.transpose().map_err(|e| self.error(e))
    }
}

#[pymethods]
impl NativeStack {
    /// `bus`: an interface string, or a callable/object with `send` taking a message (then `reader`
    /// and `message` are needed). `style`: "python-can" (can.Message) or "can-isotp" (CanMessage
    /// of rxfn/txfn). `tx_fd`/`tx_brs`: the flags every frame given to Python carries (can-isotp's
    /// `can_fd` and `bitrate_switch` parameters). `address_bytes`: bytes before the PCI (0 or 1),
    /// for can-isotp's error texts.
    /// `receive_queue`: complete messages held unread (None: the driver's default); when it is full
    /// new messages are refused (FC.WAIT then FC.OVFLW) and `receive_queue_full` is reported.
    #[new]
    #[pyo3(signature = (bus, address, config, reader=None, message=None, receive_queue=None,
                        style="python-can", tx_fd=false, tx_brs=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        bus: &Bound<'_, PyAny>,
        address: &NativeAddress,
        config: &Bound<'_, PyDict>,
        reader: Option<Py<PyAny>>,
        message: Option<Py<PyAny>>,
        receive_queue: Option<usize>,
        style: &str,
        tx_fd: bool,
        tx_brs: bool,
    ) -> PyResult<Self> {
        let mut options = DriverOptions::default();
        if let Some(n) = receive_queue {
            if n == 0 {
                return Err(PyValueError::new_err("receive_queue must be at least 1"));
            }
            options = options.with_receive_queue(n);
        }
        let style = match style {
            "python-can" => MessageStyle::PythonCan,
            "can-isotp" => MessageStyle::CanIsotp,
            other => {
                return Err(PyValueError::new_err(format!(
                    "style must be 'python-can' or 'can-isotp', not {other:?}"
                )))
            }
        };
        let config = config_from(config)?;
        // can-isotp's listen mode gives only the messages to the receive address.
        options = options.with_observed_messages(isotp::ObservedMessages::Dropped);
        // can-isotp reports the frames it ignores to its error handler.
        options = options.with_ignored_frames(isotp::IgnoredFrames::Reported);
        let flags = Some(TxFlags {
            is_fd: tx_fd,
            bitrate_switch: tx_brs,
        });
        let (backend, pybus) = crate::pybus::backend(py, bus, reader, message, style, flags)?;
        let address = address.inner;
        let text = ErrorText::new(&address);
        let stack = gil::allow_threads(py, move || {
            Stack::with_options(backend, address, config, options)
        })
        .map_err(|e| stack_error(e, &text))?;
        Ok(NativeStack {
            stack: Mutex::new(Some(Arc::new(stack))),
            closed: Arc::new(AtomicBool::new(false)),
            pybus,
            text,
        })
    }

    /// Queues a message (waiting for room up to `timeout` when the transmit queue is full); with
    /// `blocking`, waits up to `timeout` in all for its last frame to be sent.
    #[pyo3(signature = (data, functional=false, blocking=false, timeout=None))]
    fn send(
        &self,
        py: Python<'_>,
        data: Vec<u8>,
        functional: bool,
        blocking: bool,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let stack = self.get()?;
        let r = self.send_on(py, &stack, data, functional, blocking, secs(timeout)?);
        Self::release(py, stack);
        r
    }

    /// (payload, functional) or None after `timeout` (None: wait forever). With `start_only`,
    /// `timeout` bounds the start of a message and a reception in progress then is awaited until
    /// it completes or fails (None then: the failure goes to `next_error`).
    #[pyo3(signature = (timeout=None, start_only=false))]
    fn recv<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        start_only: bool,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, bool)>> {
        let stack = self.get()?;
        let got = self.recv_on(py, &stack, secs(timeout)?, start_only);
        Self::release(py, stack);
        let Some(m) = got? else {
            return Ok(None);
        };
        Ok(Some((
            PyBytes::new(py, &m.payload),
            m.target_address_type == isotp::TargetAddressType::Functional,
        )))
    }
    /// A message a Notifier listener received, for a stack made without a reader. Returns False
    /// when this stack reads its bus itself.
    fn push(&self, msg: &Bound<'_, PyAny>) -> PyResult<bool> {
        match &self.pybus {
            Some(pb) => pb.push(msg),
            None => Ok(false),
        }
    }

    fn available(&self) -> PyResult<bool> {
        Ok(self.get()?.available())
    }

    /// Waits up to `timeout` for a message to be readable, taking nothing (see
    /// `Link::wait_available`).
    fn wait_available(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let stack = self.get()?;
        let timeout = secs(Some(timeout))?;
        let got = sliced(py, &self.closed, timeout, |slice| {
            stack.wait_available(Some(slice)).then_some(())
        });
        Self::release(py, stack);
        Ok(got?.is_some())
    }

    fn transmitting(&self) -> PyResult<bool> {
        Ok(self.get()?.transmitting())
    }

    fn receiving(&self) -> PyResult<bool> {
        Ok(self.get()?.receiving())
    }

    fn stop_sending(&self, py: Python<'_>) -> PyResult<()> {
        let s = self.get()?;
        gil::allow_threads(py, || s.stop_sending());
        Ok(())
    }

    fn stop_receiving(&self, py: Python<'_>) -> PyResult<()> {
        let s = self.get()?;
        gil::allow_threads(py, || s.stop_receiving());
        Ok(())
    }

    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        let s = self.get()?;
        gil::allow_threads(py, || s.reset());
        Ok(())
    }

    /// Applies new parameters if the link is idle, checked and applied under one lock (a first
    /// frame arriving meanwhile is never dropped by the change); False when the link was busy and
    /// nothing changed.
    #[pyo3(signature = (config, tx_fd=false, tx_brs=false))]
    fn set_config_if_idle(
        &self,
        py: Python<'_>,
        config: &Bound<'_, PyDict>,
        tx_fd: bool,
        tx_brs: bool,
    ) -> PyResult<bool> {
        let config = config_from(config)?;
        let stack = self.get()?;
        let r = gil::allow_threads(py, || stack.set_config_if_idle(config));
        Self::release(py, stack);
        let applied = r.map_err(|e| self.error(e))? == Reconfigured::Applied;
        if applied {
            if let Some(pb) = &self.pybus {
                pb.set_tx_flags(Some(TxFlags {
                    is_fd: tx_fd,
                    bitrate_switch: tx_brs,
                }));
            }
        }
        Ok(applied)
    }

    fn set_address(&self, py: Python<'_>, address: &NativeAddress) -> PyResult<()> {
        let s = self.get()?;
        let a = address.inner;
        gil::allow_threads(py, || s.set_address(a));
        Ok(())
    }

    /// The next error reported by the stack as (kind, message), waiting up to `timeout`; the
    /// message is can-isotp's text where can-isotp reports the same condition.
    #[pyo3(signature = (timeout=None))]
    fn next_error(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> PyResult<Option<(&'static str, String)>> {
        let errors = self.get()?.errors();
        let timeout = secs(timeout)?;
        let e = sliced(py, &self.closed, timeout, |slice| {
            errors.recv_timeout(slice)
        })?;
        Ok(e.map(|e| (stack_error_kind(&e), self.text.stack(&e))))
    }

    fn is_closed(&self) -> bool {
        self.stack
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Stops the engine thread and releases the bus (a python-can bus is left open: it is the
    /// caller's). Every thread waiting in `recv`/`send`/`next_error` returns.
    fn close(&self, py: Python<'_>) {
        self.closed.store(true, Ordering::SeqCst);
        let s = self.stack.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(pb) = &self.pybus {
            pb.close();
        }
        // The engine thread may be inside a Python call that needs the GIL to return.
        gil::allow_threads(py, move || drop(s));
    }
}

impl Drop for NativeStack {
    fn drop(&mut self) {
        if let Some(pb) = &self.pybus {
            pb.close();
        }
        // Dropped by the garbage collector with the GIL held: joining the engine thread here could
        // wait for a thread that waits for the GIL, so the join happens elsewhere.
        let s = self
            .stack
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if s.is_some() {
            std::thread::spawn(move || drop(s));
        }
    }
}
