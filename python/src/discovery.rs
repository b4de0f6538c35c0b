//! `functional_request` and `scan`: the library's FunctionalRequest and Scan, for the Python half's
//! `isotp.functional_request`, `isotp.afunctional_request` and `isotp.scan`, each cancellable from
//! another thread through a [`Cancel`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use isotp::bus::{BusError, CanBus, Capabilities};
use isotp::core::{CanId, Frame};
use isotp::discovery::{
    Answer, FunctionalError, FunctionalRequest, IdRange, Probe, Scan, ScanAddressing, ScanError,
};
use isotp::Node;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::config::config_from;
use crate::errors::protocol_kind;
use crate::gil;
use crate::pybus::{Backend, MessageStyle};
use crate::NativeError;

/// The longest a cancelled request goes on waiting on its bus: each wait is cut into steps of at
/// most this long, the cancel flag read between two (and the bus is also woken at once).
const CANCEL_STEP: Duration = Duration::from_millis(50);

/// What a cancelled run's bus reports, to tell a cancellation from a bus failure.
const CANCELLED: &str = "the request was cancelled";

fn id(raw: u32, extended: bool) -> PyResult<CanId> {
    CanId::new(raw, extended)
        .map_err(|e| NativeError::new_err(("address", format!("0x{raw:X}: {e}"))))
}

/// `seconds` as a Duration, or a ValueError naming `name`.
fn seconds(name: &str, seconds: f64) -> PyResult<Duration> {
    if !seconds.is_finite() || !(0.0..=1e6).contains(&seconds) {
        return Err(NativeError::new_err((
            "value",
            format!("{name} must be a number of seconds, 0 or more (got {seconds})"),
        )));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A cancellation flag for one run of `functional_request` or `scan`, set from any thread: the run
/// then stops within one short step and raises NativeError('cancelled', ...).
#[pyclass(module = "isotp._isotp", frozen)]
pub(crate) struct Cancel {
    state: Arc<CancelState>,
}

#[derive(Default)]
struct CancelState {
    cancelled: AtomicBool,
    /// The bus of the run in progress, woken when the run is cancelled.
    bus: Mutex<Option<Arc<dyn CanBus>>>,
}

#[pymethods]
impl Cancel {
    #[new]
    fn new() -> Cancel {
        Cancel {
            state: Arc::default(),
        }
    }

    /// Stops the run (now if it is waiting on the bus, else at its next wait).
    fn cancel(&self) {
        self.state.cancelled.store(true, Ordering::SeqCst);
        // The lock is not held while the bus is woken.
        let bus = self.state.bus.lock().ok().and_then(|b| b.clone());
        if let Some(bus) = bus {
            bus.interrupt();
        }
    }

    /// True once `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::SeqCst)
    }
}

/// A bus whose waits end, with an error, once its run is cancelled.
struct Cancellable {
    bus: Arc<dyn CanBus>,
    state: Arc<CancelState>,
}

impl Cancellable {
    fn check(&self) -> Result<(), BusError> {
        if self.state.cancelled.load(Ordering::SeqCst) {
            return Err(BusError::Closed(CANCELLED.into()));
        }
        Ok(())
    }
}

impl CanBus for Cancellable {
    fn send(&self, frame: &Frame) -> Result<(), BusError> {
        self.check()?;
        self.bus.send(frame)
    }

    /// Returns early (None) after a step: the callers wait again for what is left.
    fn recv(&self, timeout: Option<Duration>) -> Result<Option<Frame>, BusError> {
        self.check()?;
        let step = timeout.map_or(CANCEL_STEP, |t| t.min(CANCEL_STEP));
        let frame = self.bus.recv(Some(step))?;
        self.check()?;
        Ok(frame)
    }

    fn interrupt(&self) {
        self.bus.interrupt();
    }

    fn capabilities(&self) -> Capabilities {
        self.bus.capabilities()
    }
}

/// Runs `work` on a node over the bus named by `bus` (GIL released), cancellable through `cancel`;
/// the node is stopped and the Python bus wrapper, if any, closed afterwards. `Err(None)`:
/// cancelled.
fn run_on<T, E: Send>(
    py: Python<'_>,
    backend: Backend,
    cancel: Option<&Cancel>,
    work: impl FnOnce(&Node) -> Result<T, E> + Send,
    cancelled: impl Fn(&E) -> bool,
) -> PyResult<Result<T, E>>
where
    T: Send,
{
    let (bus, pybus) = backend;
    let bus: Arc<dyn CanBus> = Arc::from(bus);
    let state = cancel.map_or_else(Arc::default, |c| c.state.clone());
    if let Ok(mut b) = state.bus.lock() {
        *b = Some(bus.clone());
    }
    let wrapped = Cancellable {
        bus,
        state: state.clone(),
    };
    let result = gil::allow_threads(py, || work(&Node::new(wrapped)));
    if let Ok(mut b) = state.bus.lock() {
        *b = None;
    }
    if let Some(pb) = pybus {
        pb.close();
    }
    match result {
        Err(e) if cancelled(&e) && state.cancelled.load(Ordering::SeqCst) => {
            Err(NativeError::new_err(("cancelled", CANCELLED)))
        }
        r => Ok(r),
    }
}

fn is_cancelled(e: &BusError) -> bool {
    matches!(e, BusError::Closed(m) if m == CANCELLED)
}

/// Sends `data` as one functional single frame on `functional_id` and collects every answer within
/// `window` seconds (restarted by each first frame), `overall_limit` seconds at most (None: the
/// library's default). `response_ids`: (first, last) inclusive, of the same width as the request;
/// `None`: the usual responders of the functional id (7DF: OBD-II, 18DBxxxx: normal fixed).
/// Returns (answers, cut_off): answers a list of (response id, is extended, payload or None,
/// (error kind, message) or None, seconds after the request), in the order answers completed;
/// cut_off None, or (limit in seconds, [(id, is extended)] still answering, message) when the
/// overall limit ended the wait. Raises NativeError('cancelled', ...) once `cancel` is cancelled.
#[pyfunction]
#[pyo3(signature = (bus, data, functional_id, is_extended, response_ids, window, config, overall_limit=None, cancel=None, reader=None, message=None))]
#[allow(clippy::too_many_arguments)] // one binding, its Python wrapper takes keywords
pub(crate) fn functional_request<'py>(
    py: Python<'py>,
    bus: &Bound<'py, PyAny>,
    data: &[u8],
    functional_id: u32,
    is_extended: bool,
    response_ids: Option<(u32, u32)>,
    window: f64,
    config: &Bound<'py, PyDict>,
    overall_limit: Option<f64>,
    cancel: Option<PyRef<'py, Cancel>>,
    reader: Option<Py<PyAny>>,
    message: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let window = seconds("timeout", window)?;
    let overall_limit = overall_limit
        .map(|l| seconds("overall_limit", l))
        .transpose()?;
    let usage = |e: FunctionalError| NativeError::new_err(("value", e.to_string()));
    let request_id = id(functional_id, is_extended)?;
    let mut request = match response_ids {
        Some((first, last)) => {
            let range = IdRange::new(id(first, is_extended)?, id(last, is_extended)?)
                .map_err(|e| NativeError::new_err(("value", e.to_string())))?;
            FunctionalRequest::with_response_ids(request_id, range)
        }
        None => FunctionalRequest::for_functional_id(request_id),
    }
    .map_err(usage)?
    .with_window(window)
    .with_config(config_from(config)?);
    if let Some(limit) = overall_limit {
        request = request.with_overall_limit(limit);
    }
    // Frames carry their own CAN FD flags here (no can-isotp parameters to follow).
    let backend = crate::pybus::backend(py, bus, reader, message, MessageStyle::PythonCan, None)?;
    let data = data.to_vec();
    let answers = run_on(
        py,
        backend,
        cancel.as_deref(),
        |bus| request.run(bus, &data),
        |e| matches!(e, FunctionalError::Bus(b) if is_cancelled(b)),
    )?
    .map_err(|e| match e {
        FunctionalError::Bus(b) => NativeError::new_err(("bus", b.to_string())),
        e => usage(e),
    })?;
    let out = PyList::empty(py);
    for a in &answers.responses {
        let (payload, error) = match &a.outcome {
            Ok(p) => (Some(PyBytes::new(py, p)), None),
            Err(e) => (None, Some((protocol_kind(e), e.to_string()))),
        };
        let item = (
            a.response_id.raw(),
            a.response_id.is_extended(),
            payload,
            error,
            a.after.as_secs_f64(),
        )
            .into_pyobject(py)?;
        out.append(item)?;
    }
    let cut_off = answers.cut_off.map(|c| {
        let unfinished: Vec<(u32, bool)> = c
            .unfinished
            .iter()
            .map(|id| (id.raw(), id.is_extended()))
            .collect();
        (c.limit.as_secs_f64(), unfinished, c.to_string())
    });
    (out, cut_off).into_pyobject(py)
}

/// The addressing of a scan: 'normal', 'extended' (with `target_address`) or 'extended_all'.
fn scan_addressing(addressing: &str, target_address: Option<u8>) -> PyResult<ScanAddressing> {
    let bad = |m: String| Err(NativeError::new_err(("value", m)));
    match (addressing, target_address) {
        ("normal", None) => Ok(ScanAddressing::Normal),
        ("extended", Some(t)) => Ok(ScanAddressing::Extended(t)),
        ("extended_all", None) => Ok(ScanAddressing::ExtendedAll),
        ("extended", None) => bad("addressing 'extended' needs a target_address (0-255)".into()),
        ("normal" | "extended_all", Some(_)) => bad(format!(
            "target_address is for addressing 'extended' only (addressing is '{addressing}')"
        )),
        _ => bad(format!(
            "addressing must be 'normal', 'extended' or 'extended_all' (got '{addressing}')"
        )),
    }
}

/// Probes every id from `first` to `last` (inclusive, 11- or 29-bit by `is_extended`) and reports
/// who answers. `addressing`: 'normal', 'extended' (probes led by `target_address`) or
/// 'extended_all' (every address byte on each id); `probe`: 'first_frame' or 'tester_present';
/// `interval`, `confirm_wait`, `limit` (None: none) in seconds; `config`: the frame format, None for
/// the library's default (padded with 0xCC). Returns a dict: endpoints (a list of (request id,
/// response id, is extended, addressing mode name, target address, source address, flow control
/// (status, blocksize, stmin byte) or None, response bytes or None)), probes, complete, chatter and
/// answers_anything (lists of ids). Raises NativeError('cancelled', ...) once `cancel` is cancelled.
#[pyfunction]
#[pyo3(signature = (bus, first, last, is_extended, addressing="normal", target_address=None, probe="first_frame", interval=0.02, confirm_wait=0.2, limit=None, config=None, cancel=None, reader=None, message=None))]
#[allow(clippy::too_many_arguments)] // one binding, its Python wrapper takes keywords
pub(crate) fn scan<'py>(
    py: Python<'py>,
    bus: &Bound<'py, PyAny>,
    first: u32,
    last: u32,
    is_extended: bool,
    addressing: &str,
    target_address: Option<u8>,
    probe: &str,
    interval: f64,
    confirm_wait: f64,
    limit: Option<f64>,
    config: Option<&Bound<'py, PyDict>>,
    cancel: Option<PyRef<'py, Cancel>>,
    reader: Option<Py<PyAny>>,
    message: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let value = |m: String| NativeError::new_err(("value", m));
    let ids = IdRange::new(id(first, is_extended)?, id(last, is_extended)?)
        .map_err(|e| value(e.to_string()))?;
    let probe = match probe {
        "first_frame" => Probe::FirstFrame,
        "tester_present" => Probe::TesterPresent,
        other => {
            return Err(value(format!(
                "probe must be 'first_frame' or 'tester_present' (got '{other}')"
            )))
        }
    };
    let mut scan = Scan::new(ids)
        .with_addressing(scan_addressing(addressing, target_address)?)
        .with_probe(probe)
        .with_interval(seconds("interval", interval)?)
        .with_confirm_wait(seconds("confirm_wait", confirm_wait)?);
    if let Some(l) = limit {
        scan = scan.with_limit(seconds("limit", l)?);
    }
    if let Some(c) = config {
        scan = scan.with_config(config_from(c)?);
    }
    let backend = crate::pybus::backend(py, bus, reader, message, MessageStyle::PythonCan, None)?;
    let report = run_on(
        py,
        backend,
        cancel.as_deref(),
        |bus| scan.run(bus),
        |e| matches!(e, ScanError::Bus(b) if is_cancelled(b)),
    )?
    .map_err(|e| match e {
        ScanError::Bus(b) => NativeError::new_err(("bus", b.to_string())),
        e => value(e.to_string()),
    })?;
    let endpoints = PyList::empty(py);
    for e in &report.endpoints {
        let (flow_control, response) = match &e.answer {
            Answer::FlowControl {
                status,
                block_size,
                st_min,
            } => (
                Some((status.to_nibble(), *block_size, st_min.to_byte())),
                None,
            ),
            Answer::Response(data) => (None, Some(PyBytes::new(py, data))),
        };
        endpoints.append(
            (
                e.request_id.raw(),
                e.response_id.raw(),
                e.request_id.is_extended(),
                e.addressing.name(),
                e.target_address,
                e.source_address,
                flow_control,
                response,
            )
                .into_pyobject(py)?,
        )?;
    }
    let raw = |ids: &[CanId]| ids.iter().map(|i| i.raw()).collect::<Vec<u32>>();
    let out = PyDict::new(py);
    out.set_item("endpoints", endpoints)?;
    out.set_item("probes", report.probes)?;
    out.set_item("complete", report.complete)?;
    out.set_item("chatter", raw(&report.chatter))?;
    out.set_item("answers_anything", raw(&report.answers_anything))?;
    Ok(out)
}
