//! `NativeStack`: an `isotp::Stack` on a python-can bus (through `PyBus`) or on one of our
//! interface strings (no frame touches Python then). Every wait releases the GIL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use isotp::{DriverOptions, Message, Stack, StackError};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::address::{target, NativeAddress};
use crate::config::config_from;
use crate::errors::{stack_error, stack_error_kind};
use crate::pybus::PyBus;
use crate::NativeError;

#[pyclass(module = "isotp._isotp")]
pub struct NativeStack {
    stack: Mutex<Option<Arc<Stack>>>,
    pybus: Option<Arc<PyBus>>,
}

fn secs(t: Option<f64>) -> PyResult<Option<Duration>> {
    t.map(|s| {
        Duration::try_from_secs_f64(s.max(0.0))
            .map_err(|e| PyValueError::new_err(format!("invalid timeout {s}: {e}")))
    })
    .transpose()
}

impl NativeStack {
    fn get(&self) -> PyResult<Arc<Stack>> {
        self.stack
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| NativeError::new_err(("stopped", "the stack is stopped")))
    }
}

/// Waits for a message; with `start_only`, `timeout` bounds only the start of a message and a
/// reception in progress then is awaited until it completes or fails.
fn recv_on(
    stack: &Stack,
    timeout: Option<Duration>,
    start_only: bool,
) -> Result<Option<Message>, StackError> {
    match (timeout, start_only) {
        (Some(t), true) => match stack.recv_started_within(t) {
            // The failed reception is also on `errors()`, which hands it to `error_handler`;
            // can-isotp's recv() returns None then.
            Err(StackError::Protocol(_)) => Ok(None),
            r => r,
        },
        (t, _) => stack.recv_message(t),
    }
}

#[pymethods]
impl NativeStack {
    /// `bus`: an interface string, or a python-can bus (then `reader` and `message` are needed).
    #[new]
    /// `receive_queue`: complete messages held unread (None: the driver's default); when it is full
    /// new messages are refused (FC.WAIT then FC.OVFLW) and `receive_queue_full` is reported.
    #[pyo3(signature = (bus, address, config, reader=None, message=None, receive_queue=None))]
    fn new(
        py: Python<'_>,
        bus: &Bound<'_, PyAny>,
        address: &NativeAddress,
        config: &Bound<'_, PyDict>,
        reader: Option<Py<PyAny>>,
        message: Option<Py<PyAny>>,
        receive_queue: Option<usize>,
    ) -> PyResult<Self> {
        let mut options = DriverOptions::default();
        if let Some(n) = receive_queue {
            if n == 0 {
                return Err(PyValueError::new_err("receive_queue must be at least 1"));
            }
            options = options.with_receive_queue(n);
        }
        let config = config_from(config)?;
        let (backend, pybus) = crate::pybus::backend(py, bus, reader, message)?;
        let address = address.inner;
        let stack = py
            .allow_threads(move || Stack::with_options(backend, address, config, options))
            .map_err(stack_error)?;
        Ok(NativeStack {
            stack: Mutex::new(Some(Arc::new(stack))),
            pybus,
        })
    }

    /// Queues a message; with `blocking`, waits up to `timeout` for its last frame to be sent.
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
        let timeout = secs(timeout)?;
        let t = target(functional);
        if blocking {
            py.allow_threads(|| stack.send_blocking_to(&data, t, timeout))
                .map_err(stack_error)
        } else {
            py.allow_threads(|| stack.send_to(&data, t))
                .map(|_| ())
                .map_err(stack_error)
        }
    }

    /// (payload, functional) or None after `timeout` (None: wait forever).
    #[pyo3(signature = (timeout=None, start_only=false))]
    fn recv<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        start_only: bool,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, bool)>> {
        let stack = self.get()?;
        let timeout = secs(timeout)?;
        let m = py
            .allow_threads(|| recv_on(&stack, timeout, start_only))
            .map_err(stack_error)?;
        Ok(m.map(|m| {
            (
                PyBytes::new(py, &m.payload),
                m.target_address_type == isotp::TargetAddressType::Functional,
            )
        }))
    }

    fn available(&self) -> PyResult<bool> {
        Ok(self.get()?.available())
    }

    fn transmitting(&self) -> PyResult<bool> {
        Ok(self.get()?.transmitting())
    }

    fn receiving(&self) -> PyResult<bool> {
        Ok(self.get()?.receiving())
    }

    fn stop_sending(&self, py: Python<'_>) -> PyResult<()> {
        let s = self.get()?;
        py.allow_threads(|| s.stop_sending());
        Ok(())
    }

    fn stop_receiving(&self, py: Python<'_>) -> PyResult<()> {
        let s = self.get()?;
        py.allow_threads(|| s.stop_receiving());
        Ok(())
    }

    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        let s = self.get()?;
        py.allow_threads(|| s.reset());
        Ok(())
    }

    fn set_address(&self, py: Python<'_>, address: &NativeAddress) -> PyResult<()> {
        let s = self.get()?;
        let a = address.inner;
        py.allow_threads(|| s.set_address(a));
        Ok(())
    }

    /// The next error reported by the stack as (kind, message), waiting up to `timeout`.
    #[pyo3(signature = (timeout=None))]
    fn next_error(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> PyResult<Option<(&'static str, String)>> {
        let errors = self.get()?.errors();
        let timeout = secs(timeout)?;
        let e = py.allow_threads(|| match timeout {
            Some(t) => errors.recv_timeout(t).ok(),
            None => errors.recv().ok(),
        });
        Ok(e.map(|e| (stack_error_kind(&e), e.to_string())))
    }

    fn is_closed(&self) -> bool {
        self.stack
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Stops the engine thread and releases the bus (a python-can bus is left open: it is the
    /// caller's).
    fn close(&self, py: Python<'_>) {
        let s = self.stack.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(pb) = &self.pybus {
            pb.close();
        }
        // The engine thread may be inside a python-can call that needs the GIL to return.
        py.allow_threads(move || drop(s));
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
