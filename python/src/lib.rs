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
mod gil;
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
    m.add_function(wrap_pyfunction!(discovery::scan, m)?)?;
    m.add_class::<discovery::Cancel>()?;
    m.add_function(wrap_pyfunction!(interface_syntax, m)?)?;
    m.add_function(wrap_pyfunction!(gil::interpreter_exiting, m)?)?;
    m.add_function(wrap_pyfunction!(capture::capture_frames, m)?)?;
    m.add_function(wrap_pyfunction!(capture::capture_messages, m)?)?;
    m.add_function(wrap_pyfunction!(capture::capture_check, m)?)?;
    m.add_function(wrap_pyfunction!(capture::capture_exchanges, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// Decodes the PCI of a frame's data after `start_of_data` bytes (any number: can-isotp's `PDU`
/// takes any prefix) with the engine's lenient view (`wire::explain`), as can-isotp's `PDU` helper
/// decodes: what the PCI announces, checked only for being complete. Whether the frame is valid
/// ISO-TP is the engine's business when it receives one. Returns a dict: type (0 SF, 1 FF, 2 CF,
/// 3 FC), length, data, seqnum, flow_status, blocksize, stmin (raw byte), stmin_sec,
/// escape_sequence, can_dl. Raises ValueError (can-isotp's texts) on an incomplete PCI.
#[pyfunction]
#[pyo3(signature = (data, start_of_data=0))]
fn parse_pdu<'py>(
    py: Python<'py>,
    data: &[u8],
    start_of_data: usize,
) -> PyResult<Bound<'py, PyDict>> {
    use isotp::core::wire::{explain, AddressLength, PciView};
    let err = |m: String| Err(PyValueError::new_err(m));
    let Some(pci) = data.get(start_of_data..) else {
        return err("Received message is missing data according to prefix size".into());
    };
    let view = explain(pci, AddressLength::Zero);
    let d = PyDict::new(py);
    d.set_item("can_dl", data.len())?;
    match view.pci {
        PciView::Missing => return err("Empty CAN frame".into()),
        PciView::Unknown { byte } => {
            return err(format!(
                "Received message with unknown frame type {}",
                byte >> 4
            ))
        }
        PciView::SingleFrame { length, escaped } => {
            let room = pci.len() - if escaped { 2 } else { 1 };
            if length == 0 {
                return err("Received Single Frame with length of 0 bytes".into());
            }
            if length > room {
                return err(format!("Received Single Frame with length of {length} while there is room for {room} bytes of data with this configuration"));
            }
            d.set_item("type", 0)?;
            d.set_item("length", length)?;
            d.set_item("data", PyBytes::new(py, view.data))?;
            d.set_item("escape_sequence", escaped)?;
        }
        PciView::FirstFrame { length, escaped } => {
            if pci.len() < 2 {
                return err(format!("First frame without escape sequence must be at least {} bytes long with this configuration", 2 + start_of_data));
            }
            if length == 0 && !escaped {
                return err(format!("First frame with escape sequence must be at least {} bytes long with this configuration", 6 + start_of_data));
            }
            let shown = view.data.len().min(length as usize);
            d.set_item("type", 1)?;
            d.set_item("length", length)?;
            d.set_item("data", PyBytes::new(py, &view.data[..shown]))?;
            d.set_item("escape_sequence", escaped)?;
        }
        PciView::ConsecutiveFrame { sequence_number } => {
            d.set_item("type", 2)?;
            d.set_item("seqnum", sequence_number)?;
            d.set_item("data", PyBytes::new(py, view.data))?;
        }
        PciView::FlowControl {
            flow_status,
            block_size: Some(block_size),
            st_min: Some(st_min),
        } => {
            if flow_status >= 3 {
                return err("Unknown flow status".into());
            }
            // A reserved STmin means 127 ms to a transmitter (ISO 15765-2), but it is no value a
            // decoder can show as one.
            if st_min.is_reserved() {
                return err("Invalid StMin received in Flow Control".into());
            }
            d.set_item("type", 3)?;
            d.set_item("flow_status", flow_status)?;
            d.set_item("blocksize", block_size)?;
            d.set_item("stmin", st_min.to_byte())?;
            d.set_item("stmin_sec", st_min.duration().as_secs_f64())?;
        }
        PciView::FlowControl { .. } => {
            return err(format!(
                "Flow Control frame must be at least {} bytes with the actual configuration",
                3 + start_of_data
            ))
        }
        _ => return err("Unsupported PDU type".into()),
    }
    Ok(d)
}

/// The syntax of interface strings, for error messages.
#[pyfunction]
fn interface_syntax() -> &'static str {
    isotp::bus::INTERFACE_SYNTAX
}
