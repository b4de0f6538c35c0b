//! `isotp.Address` validation and queries, answered by `isotp_core::Address`.

use isotp::core::{Address, AddressError, AddressingMode, CanId, Frame, TargetAddressType};
use pyo3::prelude::*;

use crate::NativeError;

fn mode_from_name(name: &str) -> PyResult<AddressingMode> {
    AddressingMode::ALL
        .into_iter()
        .find(|m| m.name() == name || format!("{m:?}") == name)
        .ok_or_else(|| NativeError::new_err(("mode", format!("unknown addressing mode {name}"))))
}

/// The kind of an address error, for the Python half: "missing:FIELD", "range:FIELD", "same", ...
fn address_error(e: AddressError) -> PyErr {
    let kind = match e {
        AddressError::MissingField { field, .. } => format!("missing:{field}"),
        AddressError::FieldNotUsed { field, .. } => format!("unused:{field}"),
        AddressError::IdOutOfRange { field, .. } => format!("range:{field}"),
        AddressError::SameTxRx { .. } => "same".to_string(),
        AddressError::MissingDirection { needed } => format!("direction:{needed}"),
        _ => "other".to_string(),
    };
    NativeError::new_err((kind, e.to_string()))
}

pub(crate) fn target(functional: bool) -> TargetAddressType {
    if functional {
        TargetAddressType::Functional
    } else {
        TargetAddressType::Physical
    }
}

fn id_tuple(id: CanId) -> (u32, bool) {
    (id.raw(), id.is_extended())
}

/// A validated ISO-TP address (N_AI).
#[pyclass(module = "isotp._isotp", frozen)]
#[derive(Clone)]
pub struct NativeAddress {
    pub(crate) inner: Address,
}

fn byte(field: &'static str, v: Option<i64>) -> PyResult<Option<u8>> {
    v.map(|v| {
        u8::try_from(v).map_err(|_| {
            NativeError::new_err((
                format!("range:{field}"),
                format!("{field} must be 0x00 to 0xFF"),
            ))
        })
    })
    .transpose()
}

fn id(field: &'static str, v: Option<i64>) -> PyResult<Option<u32>> {
    v.map(|v| {
        if v < 0 {
            Err(NativeError::new_err((
                format!("negative:{field}"),
                format!("{field} must not be negative"),
            )))
        } else {
            u32::try_from(v).map_err(|_| {
                NativeError::new_err((format!("range:{field}"), format!("{field} is out of range")))
            })
        }
    })
    .transpose()
}

#[pymethods]
impl NativeAddress {
    /// Builds an address with the engine's builder; raises NativeError(kind, message).
    #[new]
    #[pyo3(signature = (mode, txid=None, rxid=None, target_address=None, source_address=None,
                        physical_id=None, functional_id=None, address_extension=None,
                        rx_only=false, tx_only=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        mode: &str,
        txid: Option<i64>,
        rxid: Option<i64>,
        target_address: Option<i64>,
        source_address: Option<i64>,
        physical_id: Option<i64>,
        functional_id: Option<i64>,
        address_extension: Option<i64>,
        rx_only: bool,
        tx_only: bool,
    ) -> PyResult<Self> {
        let mut b = Address::builder(mode_from_name(mode)?);
        if let Some(v) = id("txid", txid)? {
            b = b.txid(v);
        }
        if let Some(v) = id("rxid", rxid)? {
            b = b.rxid(v);
        }
        if let Some(v) = byte("target_address", target_address)? {
            b = b.target_address(v);
        }
        if let Some(v) = byte("source_address", source_address)? {
            b = b.source_address(v);
        }
        if let Some(v) = id("physical_id", physical_id)? {
            b = b.physical_id(v);
        }
        if let Some(v) = id("functional_id", functional_id)? {
            b = b.functional_id(v);
        }
        if let Some(v) = byte("address_extension", address_extension)? {
            b = b.address_extension(v);
        }
        if rx_only {
            b = b.rx_only();
        }
        if tx_only {
            b = b.tx_only();
        }
        Ok(NativeAddress {
            inner: b.build().map_err(address_error)?,
        })
    }

    /// The transmit side of `tx` with the receive side of `rx`.
    #[staticmethod]
    fn asymmetric(tx: &NativeAddress, rx: &NativeAddress) -> PyResult<NativeAddress> {
        Ok(NativeAddress {
            inner: Address::asymmetric(tx.inner, rx.inner).map_err(address_error)?,
        })
    }

    /// (id, is_extended) used to transmit, or None for a receive-only address.
    fn tx_id(&self, functional: bool) -> Option<(u32, bool)> {
        self.inner.tx_id(target(functional)).map(id_tuple)
    }

    /// (id, is_extended) received on: the id the peer transmits with, or None for tx-only.
    fn rx_id(&self, functional: bool) -> Option<(u32, bool)> {
        if !self.inner.can_receive() {
            return None;
        }
        if let Some((phys, func)) = self.inner.rx_ids() {
            return if functional { func } else { Some(phys) }.map(id_tuple);
        }
        // Fixed modes: the peer's transmit id is our mirror's.
        self.inner
            .mirrored()
            .ok()
            .and_then(|m| m.tx_id(target(functional)))
            .map(id_tuple)
    }

    fn tx_prefix(&self) -> Option<u8> {
        self.inner.tx_prefix()
    }

    fn rx_prefix(&self) -> Option<u8> {
        self.inner.rx_prefix()
    }

    fn can_transmit(&self) -> bool {
        self.inner.can_transmit()
    }

    fn can_receive(&self) -> bool {
        self.inner.can_receive()
    }

    fn is_29bits(&self) -> bool {
        self.inner.mode().is_29bit()
    }

    /// Bytes before the PCI in this address's frames (1 with extended or mixed addressing).
    fn address_bytes(&self) -> usize {
        self.inner.mode().address_len().bytes()
    }

    /// None when a frame is not for this address, else True for functional, False for physical.
    #[pyo3(signature = (arbitration_id, is_extended_id, data, is_fd=false))]
    fn accepts(
        &self,
        arbitration_id: u32,
        is_extended_id: bool,
        data: &[u8],
        is_fd: bool,
    ) -> Option<bool> {
        let cid = CanId::new(arbitration_id, is_extended_id).ok()?;
        let frame = if is_fd {
            Frame::new_fd(cid, data)
        } else {
            Frame::new(cid, data)
        }
        .ok()?;
        self.inner
            .accepts(&frame)
            .map(|t| t == TargetAddressType::Functional)
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}
