//! `isotp.capture`'s native half: recorded logs read, reassembled and checked by the Rust crates
//! (the readers of `isotp_capture`, `isotp_core`'s monitor, checker and UDS timing), handed to
//! Python as plain tuples that python/isotp/capture.py turns into its record types.
//!
//! The file is read and judged with the GIL released; only the conversion to Python objects
//! holds it.

use std::path::Path;
use std::time::Duration;

use crate::gil;
use isotp::core::monitor::check::{CheckConfig, Checker, Finding};
use isotp::core::monitor::{Discovery, Monitor, MonitorEvent, Party};
use isotp::core::uds::{
    Exchange, Outcome, SessionTiming, UdsConfig, UdsEvent, UdsFinding, UdsTiming,
};
use isotp::core::{Instant, TargetAddressType};
use isotp_capture::{Channel, Direction, Format, Reader};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

/// The format of a name (`candump`, `asc`, `blf`, `trc`), or `None` to go by the file.
fn format_of(name: Option<&str>) -> PyResult<Option<Format>> {
    let Some(name) = name else {
        return Ok(None);
    };
    Format::ALL
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name) || f.extension().eq_ignore_ascii_case(name))
        .map(Some)
        .ok_or_else(|| {
            let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
            PyValueError::new_err(format!(
                "unknown log format '{name}': one of {}",
                names.join(", ")
            ))
        })
}

fn discovery_of(name: &str) -> PyResult<Discovery> {
    match name {
        "normal" => Ok(Discovery::Normal),
        "extended" => Ok(Discovery::Extended),
        "mixed" => Ok(Discovery::Mixed),
        _ => Err(PyValueError::new_err(format!(
            "discover must be 'normal', 'extended' or 'mixed', not '{name}'"
        ))),
    }
}

/// Every record of the log at `path`; a malformed record is skipped, as the command line does, a
/// file that is not a log at all is an error.
fn each_record(
    path: &str,
    format: Option<Format>,
    mut f: impl FnMut(&isotp_capture::Record),
) -> Result<(), (bool, String)> {
    let mut reader = Reader::open(Path::new(path), format)
        .map_err(|e| (true, format!("cannot open log '{path}': {e}")))?;
    for r in &mut reader {
        match r {
            Ok(record) => f(&record),
            Err(e) if e.is_fatal() => return Err((false, format!("{path}: {e}"))),
            Err(_) => {}
        }
    }
    Ok(())
}

/// Every message the monitor reassembles from the log at `path`, discovering conversations; the
/// time of the last record, if any.
fn each_message(
    path: &str,
    format: Option<Format>,
    discovery: Discovery,
    mut f: impl FnMut(isotp::core::monitor::MonitoredMessage),
) -> Result<Option<Instant>, (bool, String)> {
    let mut monitor = Monitor::new(CheckConfig::discovering(discovery).monitor_config());
    let mut last = None;
    each_record(path, format, |r| {
        let time = instant(r.time);
        last = Some(time);
        monitor.handle_frame(&r.frame, time);
        while let Some(e) = monitor.poll_event() {
            if let MonitorEvent::Message(m) = e {
                f(m);
            }
        }
    })?;
    Ok(last)
}

fn raise((io, message): (bool, String)) -> PyErr {
    if io {
        PyOSError::new_err(message)
    } else {
        PyValueError::new_err(message)
    }
}

fn instant(time: Duration) -> Instant {
    Instant::from_micros(time.as_micros() as u64)
}

fn seconds(t: Instant) -> f64 {
    t.as_micros() as f64 / 1e6
}

fn channel_text(c: Channel) -> String {
    match c {
        Channel::Number(n) => n.to_string(),
        Channel::Name(name) => name.as_str().to_string(),
    }
}

/// Every frame of a log: (time in seconds, channel, direction 'rx'/'tx'/None, CAN id, extended,
/// CAN FD, data), in the order of the log.
#[pyfunction]
#[pyo3(signature = (path, format=None))]
pub(crate) fn capture_frames<'py>(
    py: Python<'py>,
    path: &str,
    format: Option<&str>,
) -> PyResult<Bound<'py, PyList>> {
    let format = format_of(format)?;
    let mut records = Vec::new();
    gil::allow_threads(py, || each_record(path, format, |r| records.push(*r))).map_err(raise)?;
    let list = PyList::empty(py);
    for r in &records {
        let direction = r.direction.map(|d| match d {
            Direction::Rx => "rx",
            Direction::Tx => "tx",
        });
        list.append(PyTuple::new(
            py,
            [
                r.time.as_secs_f64().into_pyobject(py)?.into_any(),
                channel_text(r.channel).into_pyobject(py)?.into_any(),
                direction.into_pyobject(py)?.into_any(),
                r.frame.id().raw().into_pyobject(py)?.into_any(),
                r.frame
                    .id()
                    .is_extended()
                    .into_pyobject(py)?
                    .to_owned()
                    .into_any(),
                r.frame.is_fd().into_pyobject(py)?.to_owned().into_any(),
                PyBytes::new(py, r.frame.data()).into_any(),
            ],
        )?)?;
    }
    Ok(list)
}

fn party_tuple<'py>(py: Python<'py>, p: Option<Party>) -> PyResult<Bound<'py, PyAny>> {
    match p {
        None => Ok(py.None().into_bound(py)),
        Some(p) => Ok(PyTuple::new(
            py,
            [
                p.id.raw().into_pyobject(py)?.into_any(),
                p.id.is_extended().into_pyobject(py)?.to_owned().into_any(),
                p.address_byte.into_pyobject(py)?.into_any(),
            ],
        )?
        .into_any()),
    }
}

/// Every message reassembled from a log, conversations discovered as `isotp sniff` does: (frame
/// number of the first frame (from 1), its time, frame number of the last, its time,
/// conversation, sender (id, extended, address byte), receiver or None, functional, payload).
#[pyfunction]
#[pyo3(signature = (path, format=None, discover="normal"))]
pub(crate) fn capture_messages<'py>(
    py: Python<'py>,
    path: &str,
    format: Option<&str>,
    discover: &str,
) -> PyResult<Bound<'py, PyList>> {
    let format = format_of(format)?;
    let discovery = discovery_of(discover)?;
    let mut messages = Vec::new();
    gil::allow_threads(py, || {
        each_message(path, format, discovery, |m| messages.push(m))
    })
    .map_err(raise)?;
    let list = PyList::empty(py);
    for m in &messages {
        list.append(PyTuple::new(
            py,
            [
                (m.first_frame.index + 1).into_pyobject(py)?.into_any(),
                seconds(m.first_frame.time).into_pyobject(py)?.into_any(),
                (m.last_frame.index + 1).into_pyobject(py)?.into_any(),
                seconds(m.last_frame.time).into_pyobject(py)?.into_any(),
                m.conversation.to_string().into_pyobject(py)?.into_any(),
                party_tuple(py, Some(m.from))?,
                party_tuple(py, m.to)?,
                (m.target_address_type == TargetAddressType::Functional)
                    .into_pyobject(py)?
                    .to_owned()
                    .into_any(),
                PyBytes::new(py, &m.payload).into_any(),
            ],
        )?)?;
    }
    Ok(list)
}

/// Every UDS exchange of a log (requests paired with their responses per tester-ECU pair, as
/// `check --uds` pairs them): (tester, ECU or None, service, functional, request first frame,
/// its time, request last frame time, response first frame or None, its time or None, outcome
/// ('positive', 'negative', 'unanswered'), NRC or None, response pending count, P2 seconds or
/// None).
#[pyfunction]
#[pyo3(signature = (path, format=None, discover="normal"))]
pub(crate) fn capture_exchanges<'py>(
    py: Python<'py>,
    path: &str,
    format: Option<&str>,
    discover: &str,
) -> PyResult<Bound<'py, PyList>> {
    let format = format_of(format)?;
    let discovery = discovery_of(discover)?;
    let mut exchanges: Vec<Exchange> = Vec::new();
    gil::allow_threads(py, || {
        let mut timing = UdsTiming::new(UdsConfig::default());
        let mut drain = |timing: &mut UdsTiming| {
            while let Some(e) = timing.poll_event() {
                if let UdsEvent::Exchange(x) = e {
                    exchanges.push(x);
                }
            }
        };
        let last = each_message(path, format, discovery, |m| {
            timing.handle_message(&m);
            drain(&mut timing);
        })?;
        if let Some(end) = last {
            timing.finish(end);
        }
        drain(&mut timing);
        Ok(())
    })
    .map_err(raise)?;
    let list = PyList::empty(py);
    for x in &exchanges {
        let (outcome, nrc) = match x.outcome {
            Outcome::Positive => ("positive", None),
            Outcome::Negative(nrc) => ("negative", Some(nrc)),
            _ => ("unanswered", None),
        };
        list.append(PyTuple::new(
            py,
            [
                party_tuple(py, Some(x.tester))?,
                party_tuple(py, x.ecu)?,
                x.service.into_pyobject(py)?.into_any(),
                (x.target_address_type == TargetAddressType::Functional)
                    .into_pyobject(py)?
                    .to_owned()
                    .into_any(),
                (x.request.0.index + 1).into_pyobject(py)?.into_any(),
                seconds(x.request.0.time).into_pyobject(py)?.into_any(),
                seconds(x.request.1.time).into_pyobject(py)?.into_any(),
                x.response
                    .map(|r| r.0.index + 1)
                    .into_pyobject(py)?
                    .into_any(),
                x.response
                    .map(|r| seconds(r.0.time))
                    .into_pyobject(py)?
                    .into_any(),
                outcome.into_pyobject(py)?.into_any(),
                nrc.into_pyobject(py)?.into_any(),
                x.pending.into_pyobject(py)?.into_any(),
                x.p2.map(|d| d.as_secs_f64()).into_pyobject(py)?.into_any(),
            ],
        )?)?;
    }
    Ok(list)
}

/// One finding, as the fields of `check --json`.
struct Row {
    layer: &'static str,
    conversation: String,
    severity: String,
    kind: &'static str,
    from: Option<String>,
    frame: (u64, f64),
    since: Option<(u64, f64)>,
    timing: Option<(Duration, Duration)>,
    detail: String,
}

impl Row {
    fn iso_tp(f: &Finding) -> Row {
        Row {
            layer: "iso-tp",
            conversation: f.conversation.to_string(),
            severity: f.severity().to_string(),
            kind: f.kind.name(),
            from: f.from.map(|p| p.to_string()),
            frame: (f.frame.index + 1, seconds(f.frame.time)),
            since: f.since.map(|s| (s.index + 1, seconds(s.time))),
            timing: f.kind.timing(),
            detail: f.kind.to_string(),
        }
    }

    fn uds(f: &UdsFinding) -> Row {
        let name = |p: Option<Party>| p.map_or_else(|| "?".to_string(), |p| p.to_string());
        Row {
            layer: "uds",
            conversation: format!("{}/{}", name(f.tester), name(f.ecu)),
            severity: f.severity().to_string(),
            kind: f.kind.name(),
            from: f.ecu.map(|p| p.to_string()),
            frame: (f.frame.index + 1, seconds(f.frame.time)),
            since: f.since.map(|s| (s.index + 1, seconds(s.time))),
            timing: f.kind.timing(),
            detail: f.kind.to_string(),
        }
    }
}

/// The findings of `isotp check` (with `uds`: `--uds`) on a log, conversations discovered: (layer,
/// conversation, severity, kind, from, frame, time, since frame, since time, measured seconds,
/// limit seconds, detail); ISO-TP findings first, then UDS ones, each in frame order.
#[pyfunction]
#[pyo3(signature = (path, format=None, discover="normal", uds=false, p2=None, p2_star=None))]
pub(crate) fn capture_check<'py>(
    py: Python<'py>,
    path: &str,
    format: Option<&str>,
    discover: &str,
    uds: bool,
    p2: Option<f64>,
    p2_star: Option<f64>,
) -> PyResult<Bound<'py, PyList>> {
    let format = format_of(format)?;
    let discovery = discovery_of(discover)?;
    let limit = |s: Option<f64>| -> PyResult<Option<Duration>> {
        s.map(|s| {
            Duration::try_from_secs_f64(s).map_err(|_| {
                PyValueError::new_err(format!("a UDS limit must be seconds >= 0, not {s}"))
            })
        })
        .transpose()
    };
    let (p2, p2_star) = (limit(p2)?, limit(p2_star)?);
    let mut uds_settings = UdsConfig::default();
    if p2.is_some() || p2_star.is_some() {
        uds_settings.session_timing = SessionTiming::Ignore;
    }
    uds_settings.p2 = p2.unwrap_or(uds_settings.p2);
    uds_settings.p2_star = p2_star.unwrap_or(uds_settings.p2_star);
    let settings = CheckConfig::discovering(discovery);
    let mut rows = Vec::new();
    gil::allow_threads(py, || {
        let mut checker = Checker::new(settings.clone());
        let mut layer = uds.then(|| {
            (
                Monitor::new(settings.monitor_config()),
                UdsTiming::new(uds_settings),
                Vec::new(),
            )
        });
        let mut last = None;
        let result = each_record(path, format, |r| {
            let time = instant(r.time);
            last = Some(time);
            checker.handle_frame(&r.frame, time);
            rows.extend(std::iter::from_fn(|| checker.poll_finding()).map(|f| Row::iso_tp(&f)));
            if let Some((monitor, timing, found)) = &mut layer {
                monitor.handle_frame(&r.frame, time);
                while let Some(e) = monitor.poll_event() {
                    if let MonitorEvent::Message(m) = e {
                        timing.handle_message(&m);
                    }
                }
                drain(timing, found);
            }
        });
        checker.finish();
        rows.extend(std::iter::from_fn(|| checker.poll_finding()).map(|f| Row::iso_tp(&f)));
        if let (Some((_, timing, found)), Some(end)) = (&mut layer, last) {
            timing.finish(end);
            drain(timing, found);
        }
        if let Some((_, _, found)) = layer {
            rows.extend(found);
        }
        result
    })
    .map_err(raise)?;
    let list = PyList::empty(py);
    for r in &rows {
        let (measured, limit) = match r.timing {
            Some((m, l)) => (Some(m.as_secs_f64()), Some(l.as_secs_f64())),
            None => (None, None),
        };
        list.append(PyTuple::new(
            py,
            [
                r.layer.into_pyobject(py)?.into_any(),
                r.conversation.as_str().into_pyobject(py)?.into_any(),
                r.severity.as_str().into_pyobject(py)?.into_any(),
                r.kind.into_pyobject(py)?.into_any(),
                r.from.as_deref().into_pyobject(py)?.into_any(),
                r.frame.0.into_pyobject(py)?.into_any(),
                r.frame.1.into_pyobject(py)?.into_any(),
                r.since.map(|s| s.0).into_pyobject(py)?.into_any(),
                r.since.map(|s| s.1).into_pyobject(py)?.into_any(),
                measured.into_pyobject(py)?.into_any(),
                limit.into_pyobject(py)?.into_any(),
                r.detail.as_str().into_pyobject(py)?.into_any(),
            ],
        )?)?;
    }
    Ok(list)
}

fn drain(timing: &mut UdsTiming, found: &mut Vec<Row>) {
    while let Some(e) = timing.poll_event() {
        if let UdsEvent::Finding(f) = e {
            found.push(Row::uds(&f));
        }
    }
}
