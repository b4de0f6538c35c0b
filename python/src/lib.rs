//! The native half of the `isotp` Python package: thin bindings over `isotp_core` and `isotp`.
//!
//! Everything protocol-related (addresses, PCI, timers, flow control, buses, interface strings) lives
//! in the Rust crates; this module only converts values. The Python half (`python/isotp/`) gives
//! them can-isotp 2.0.7's names, signatures and exceptions.
//!
//! Errors cross the boundary as `NativeError(kind, message)`: `kind` is a stable identifier the
//! Python half maps onto can-isotp's exception classes, `message` is our wording.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

mod address;
mod capture;
mod config;
mod discovery;
mod engine;
mod errors;
#[cfg(target_os = "linux")]
mod kernel;
mod pybus;
mod stack;

create_exception!(
    _isotp,
    NativeError,
    PyException,
    "An error of the native engine: (kind, message)."
);

#[pymodule]
fn _isotp(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add_class::<address::NativeAddress>()?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<stack::NativeStack>()?;
    #[cfg(target_os = "linux")]
    m.add_class::<kernel::NativeKernelSocket>()?;
    m.add_function(wrap_pyfunction!(parse_pdu, m)?)?;
    m.add_function(wrap_pyfunction!(discovery::functional_request, m)?)?;
    m.add_function(wrap_pyfunction!(interface_syntax, m)?)?;
    m.add_function(wrap_pyfunction!(capture::capture_frames, m)?)?;
    m.add_function(wrap_pyfunction!(capture::capture_messages, m)?)?;
    m.add_function(wrap_pyfunction!(capture::capture_check, m)?)?;
    m.add_function(wrap_pyfunction!(capture::capture_exchanges, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// Decodes the PCI of a frame's data (after `start_of_data` address bytes) with the engine's parser.
/// Returns a dict: type (0 SF, 1 FF, 2 CF, 3 FC), length, data, seqnum, flow_status, blocksize,
/// stmin (raw byte), stmin_sec, escape_sequence, can_dl. Raises ValueError on a malformed PCI.
#[pyfunction]
#[pyo3(signature = (data, start_of_data=0))]
fn parse_pdu<'py>(
    py: Python<'py>,
    data: &[u8],
    start_of_data: usize,
) -> PyResult<Bound<'py, PyDict>> {
    use isotp::core::wire::{AddressLength, FlowStatus, Pdu};
    let address_length = match start_of_data {
        0 => AddressLength::Zero,
        1 => AddressLength::One,
        n => {
            return Err(PyValueError::new_err(format!(
                "start_of_data must be 0 or 1 (address bytes before the PCI), not {n}"
            )))
        }
    };
    let pdu = Pdu::parse(data, address_length).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let d = PyDict::new(py);
    d.set_item("can_dl", data.len())?;
    match pdu {
        Pdu::SingleFrame {
            data: payload,
            escaped,
        } => {
            d.set_item("type", 0)?;
            d.set_item("length", payload.len())?;
            d.set_item("data", PyBytes::new(py, payload))?;
            d.set_item("escape_sequence", escaped)?;
        }
        Pdu::FirstFrame {
            length,
            data: payload,
        } => {
            d.set_item("type", 1)?;
            d.set_item("length", length)?;
            d.set_item("data", PyBytes::new(py, payload))?;
            d.set_item("escape_sequence", length > 4095)?;
        }
        Pdu::ConsecutiveFrame {
            sequence_number,
            data: payload,
        } => {
            d.set_item("type", 2)?;
            d.set_item("seqnum", sequence_number)?;
            d.set_item("data", PyBytes::new(py, payload))?;
        }
        Pdu::FlowControl {
            status,
            block_size,
            st_min,
        } => {
            d.set_item("type", 3)?;
            d.set_item(
                "flow_status",
                match status {
                    FlowStatus::ContinueToSend => 0,
                    FlowStatus::Wait => 1,
                    _ => 2,
                },
            )?;
            d.set_item("blocksize", block_size)?;
            d.set_item("stmin", st_min.to_byte())?;
            d.set_item("stmin_sec", st_min.duration().as_secs_f64())?;
        }
    }
    Ok(d)
}

/// The syntax of interface strings, for error messages.
#[pyfunction]
fn interface_syntax() -> &'static str {
    isotp::bus::INTERFACE_SYNTAX
}
