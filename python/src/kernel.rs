//! `isotp.socket`: the Linux kernel's CAN_ISOTP socket through `isotp::kernel::KernelSocket`.

use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use isotp::core::wire::StMin;
use isotp::core::PaddingCheck;
use isotp::kernel::{KernelError, KernelOptions, KernelSocket};
use isotp::LinkLayer;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::address::NativeAddress;
use crate::gil;

fn kernel_error(e: KernelError) -> PyErr {
    match e {
        KernelError::InvalidOptions(m) | KernelError::InvalidPayload(m) => PyValueError::new_err(m),
        KernelError::Timeout { .. } => PyTimeoutError::new_err(e.to_string()),
        e => PyOSError::new_err(e.to_string()),
    }
}

fn get<'py, T: FromPyObject<'py>>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(v.extract()?)),
        _ => Ok(None),
    }
}

// can-isotp's optflag bits (the kernel's CAN_ISOTP_* flags).
const LISTEN_MODE: u32 = 0x001;
const CHK_PAD_LEN: u32 = 0x010;
const CHK_PAD_DATA: u32 = 0x020;
const HALF_DUPLEX: u32 = 0x040;
const WAIT_TX_DONE: u32 = 0x400;

/// The options can-isotp's `set_opts`/`set_fc_opts`/`set_ll_opts` take, onto `KernelOptions`
/// built from the address (ids and address bytes).
fn options(address: &NativeAddress, o: &Bound<'_, PyDict>) -> PyResult<KernelOptions> {
    let mut k = KernelOptions::from_address(&address.inner).map_err(kernel_error)?;
    let flags: u32 = get(o, "optflag")?.unwrap_or(0);
    k.listen_mode = flags & LISTEN_MODE != 0;
    k.half_duplex = flags & HALF_DUPLEX != 0;
    k.wait_tx_done = flags & WAIT_TX_DONE != 0;
    if let Some(ns) = get::<u64>(o, "frame_txtime")? {
        k.frame_txtime = Some(Duration::from_nanos(ns));
    }
    if let Some(b) = get::<u8>(o, "ext_address")? {
        k.ext_address = Some(b);
    }
    if let Some(b) = get::<u8>(o, "rx_ext_address")? {
        k.rx_ext_address = Some(b);
    }
    // can-isotp's bind() gives the kernel the receive address byte explicitly (CAN_ISOTP_RX_EXT_ADDR)
    // also when it equals the transmit one (mixed addressing); the kernel then behaves the same, and
    // get_opts() shows what can-isotp shows.
    if k.rx_ext_address.is_none() {
        k.rx_ext_address = k.ext_address;
    }
    k.tx_padding = get(o, "txpad")?;
    k.rx_padding = get(o, "rxpad")?;
    k.rx_padding_check = match (flags & CHK_PAD_LEN != 0, flags & CHK_PAD_DATA != 0) {
        (false, false) => PaddingCheck::Off,
        (true, false) => PaddingCheck::Length,
        (false, true) => PaddingCheck::Content,
        (true, true) => PaddingCheck::LengthAndContent,
    };
    if let Some(ns) = get::<u64>(o, "tx_stmin")? {
        k.force_tx_st_min = Some(Duration::from_nanos(ns));
    }
    if let Some(bs) = get::<u8>(o, "bs")? {
        k.flow_control.block_size = bs;
    }
    if let Some(st) = get::<u8>(o, "stmin")? {
        k.flow_control.st_min = StMin::from_byte(st);
    }
    if let Some(w) = get::<u8>(o, "wftmax")? {
        k.flow_control.wft_max = w;
    }
    let mtu: u32 = get(o, "mtu")?.unwrap_or(16);
    let tx_dl: u8 = get(o, "tx_dl")?.unwrap_or(8);
    let tx_flags: u32 = get(o, "tx_flags")?.unwrap_or(0);
    k.link_layer = match mtu {
        16 => LinkLayer::classic(),
        72 => LinkLayer::fd(tx_dl, tx_flags & 0x01 != 0), // CANFD_BRS
        other => {
            return Err(PyValueError::new_err(format!(
                "mtu must be 16 (CAN) or 72 (CAN FD), not {other}"
            )))
        }
    };
    Ok(k)
}

#[pyclass(module = "isotp._isotp")]
pub struct NativeKernelSocket {
    sock: Mutex<Option<Arc<KernelSocket>>>,
}

impl NativeKernelSocket {
    fn get(&self) -> PyResult<Arc<KernelSocket>> {
        self.sock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("the socket is closed"))
    }
}

#[pymethods]
impl NativeKernelSocket {
    /// Opens and binds a CAN_ISOTP socket on `iface` (OSError when the kernel has none).
    #[new]
    fn new(
        py: Python<'_>,
        iface: String,
        address: &NativeAddress,
        opts: &Bound<'_, PyDict>,
    ) -> PyResult<Self> {
        let k = options(address, opts)?;
        let sock =
            gil::allow_threads(py, move || KernelSocket::open(&iface, k)).map_err(kernel_error)?;
        Ok(NativeKernelSocket {
            sock: Mutex::new(Some(Arc::new(sock))),
        })
    }

    /// Sends a message (returns its length, as a socket's send does).
    fn send(&self, py: Python<'_>, data: Vec<u8>) -> PyResult<usize> {
        let s = self.get()?;
        gil::allow_threads(py, || s.send(&data)).map_err(kernel_error)?;
        Ok(data.len())
    }

    /// The next message; raises TimeoutError after `timeout` (None: wait forever).
    #[pyo3(signature = (timeout=None))]
    fn recv<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyBytes>> {
        let s = self.get()?;
        let t = timeout.map(|t| Duration::from_secs_f64(t.max(0.0)));
        match gil::allow_threads(py, || s.recv(t)).map_err(kernel_error)? {
            Some(m) => Ok(PyBytes::new(py, &m)),
            None => Err(PyTimeoutError::new_err("timed out")),
        }
    }

    /// The general options the socket was bound with, as can-isotp's `get_opts()` shows them
    /// after `bind()` (the address's extension bytes included): optflag, ext_address,
    /// rx_ext_address, txpad, rxpad.
    fn opts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.get()?;
        let o = s.options();
        let d = PyDict::new(py);
        d.set_item("optflag", o.kernel_flags())?;
        d.set_item("ext_address", o.ext_address)?;
        d.set_item("rx_ext_address", o.rx_ext_address.or(o.ext_address))?;
        d.set_item("txpad", o.tx_padding)?;
        d.set_item("rxpad", o.rx_padding)?;
        Ok(d)
    }

    fn fileno(&self) -> PyResult<i32> {
        Ok(self.get()?.as_raw_fd())
    }

    fn close(&self, py: Python<'_>) {
        let s = self.sock.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(s) = &s {
            s.interrupt();
        }
        gil::allow_threads(py, move || drop(s));
    }
}
