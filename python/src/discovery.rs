//! `functional_request`: the library's FunctionalRequest, for the Python half's
//! `isotp.functional_request`.

use std::time::Duration;

use isotp::core::CanId;
use isotp::discovery::{FunctionalError, FunctionalRequest, IdRange};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::config::config_from;
use crate::errors::protocol_kind;
use crate::pybus::MessageStyle;
use crate::NativeError;

fn id(raw: u32, extended: bool) -> PyResult<CanId> {
    CanId::new(raw, extended)
        .map_err(|e| NativeError::new_err(("address", format!("0x{raw:X}: {e}"))))
}

/// Sends `data` as one functional single frame on `functional_id` and collects every answer within
/// `window` seconds (restarted by each first frame). `response_ids`: (first, last) inclusive, of the
/// same width as the request; `None`: the usual responders of the functional id (7DF: OBD-II,
/// 18DBxxxx: normal fixed). Returns a list of (response id, is extended, payload or None,
/// (error kind, message) or None, seconds after the request), in the order answers completed.
#[pyfunction]
#[pyo3(signature = (bus, data, functional_id, is_extended, response_ids, window, config, reader=None, message=None))]
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
    reader: Option<Py<PyAny>>,
    message: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    if !window.is_finite() || !(0.0..=1e6).contains(&window) {
        return Err(NativeError::new_err((
            "value",
            format!("timeout must be a number of seconds, 0 or more (got {window})"),
        )));
    }
    let usage = |e: FunctionalError| NativeError::new_err(("value", e.to_string()));
    let request_id = id(functional_id, is_extended)?;
    let request = match response_ids {
        Some((first, last)) => {
            let range = IdRange::new(id(first, is_extended)?, id(last, is_extended)?)
                .map_err(|e| NativeError::new_err(("value", e.to_string())))?;
            FunctionalRequest::with_response_ids(request_id, range)
        }
        None => FunctionalRequest::for_functional_id(request_id),
    }
    .map_err(usage)?
    .with_window(Duration::from_secs_f64(window))
    .with_config(config_from(config)?);
    // Frames carry their own CAN FD flags here (no can-isotp parameters to follow).
    let (backend, pybus) =
        crate::pybus::backend(py, bus, reader, message, MessageStyle::PythonCan, None)?;
    let data = data.to_vec();
    let result = py.allow_threads(|| request.run(&backend, &data));
    if let Some(pb) = pybus {
        pb.close();
    }
    let answers = result.map_err(|e| match e {
        FunctionalError::Bus(b) => NativeError::new_err(("bus", b.to_string())),
        e => usage(e),
    })?;
    let out = PyList::empty(py);
    for a in answers {
        let (payload, error) = match &a.outcome {
            Ok(p) => (Some(PyBytes::new(py, p)), None),
            Err(e) => (None, Some((protocol_kind(e), e.to_string()))),
        };
        let item = PyTuple::new(
            py,
            [
                a.response_id.raw().into_pyobject(py)?.into_any(),
                a.response_id
                    .is_extended()
                    .into_pyobject(py)?
                    .to_owned()
                    .into_any(),
                payload.into_pyobject(py)?.into_any(),
                error.into_pyobject(py)?.into_any(),
                a.after.as_secs_f64().into_pyobject(py)?.into_any(),
            ],
        )?;
        out.append(item)?;
    }
    Ok(out)
}
