//! `params` (already type-checked by the Python half, in can-isotp's units) to `isotp_core::Config`.

use std::time::Duration;

use isotp::core::wire::StMin;
use isotp::core::{Config, RateLimit};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::NativeError;

fn get<'py, T: FromPyObject<'py>>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(v.extract()?)),
        _ => Ok(None),
    }
}

/// Builds and validates a Config. Keys: stmin (raw byte), blocksize, override_receiver_stmin (s),
/// wftmax, tx_data_length, tx_data_min_length, tx_padding, can_fd, bitrate_switch, max_frame_size,
/// rx_flowcontrol_timeout (ms), rx_consecutive_frame_timeout (ms), listen_mode,
/// rate_limit_enable, rate_limit_max_bitrate, rate_limit_window_size (s), tx_queue_limit.
pub(crate) fn config_from(d: &Bound<'_, PyDict>) -> PyResult<Config> {
    let mut c = Config::default();
    if let Some(v) = get::<u8>(d, "stmin")? {
        c.st_min = StMin::from_byte(v);
    }
    if let Some(v) = get(d, "blocksize")? {
        c.block_size = v;
    }
    if let Some(v) = get::<f64>(d, "override_receiver_stmin")? {
        c.override_receiver_st_min = Some(Duration::try_from_secs_f64(v).map_err(|e| {
            NativeError::new_err(("config", format!("override_receiver_stmin: {e}")))
        })?);
    }
    if let Some(v) = get::<u64>(d, "wftmax")? {
        c.wft_max = v.min(255) as u8;
    }
    if let Some(v) = get(d, "tx_data_length")? {
        c.link_layer.tx_data_length = v;
    }
    c.link_layer.tx_data_min_length = get(d, "tx_data_min_length")?;
    c.tx_padding = get(d, "tx_padding")?;
    if let Some(v) = get(d, "can_fd")? {
        c.link_layer.can_fd = v;
    }
    if let Some(v) = get(d, "bitrate_switch")? {
        c.link_layer.bitrate_switch = v;
    }
    if let Some(v) = get(d, "max_frame_size")? {
        c.max_frame_size = v;
    }
    if let Some(v) = get::<u64>(d, "rx_flowcontrol_timeout")? {
        c.n_bs = Duration::from_millis(v);
    }
    if let Some(v) = get::<u64>(d, "rx_consecutive_frame_timeout")? {
        c.n_cr = Duration::from_millis(v);
    }
    if let Some(v) = get(d, "listen_mode")? {
        c.listen_mode = v;
    }
    if get::<bool>(d, "rate_limit_enable")?.unwrap_or(false) {
        let bitrate: u64 = get(d, "rate_limit_max_bitrate")?.unwrap_or(100_000_000);
        let window: f64 = get(d, "rate_limit_window_size")?.unwrap_or(0.2);
        c.rate_limit = Some(RateLimit {
            max_bitrate: bitrate.min(u64::from(u32::MAX)) as u32,
            window: Duration::try_from_secs_f64(window).map_err(|e| {
                NativeError::new_err(("config", format!("rate_limit_window_size: {e}")))
            })?,
        });
    }
    if let Some(v) = get(d, "tx_queue_limit")? {
        c.tx_queue_limit = v;
    }
    c.validate()
        .map_err(|e| NativeError::new_err(("config", e.to_string())))?;
    Ok(c)
}
