//! Turns PDUs into CAN frames: address byte, frame length, padding, FD flags.

use crate::config::{Config, PaddingCheck};
use crate::frame::{CanId, Frame};
use crate::wire::{dlc, AddressLength, Pdu};

/// The default padding byte where padding is required and none is configured.
const DEFAULT_PADDING: u8 = 0xCC;

/// Transmit-side frame layout, fixed for the life of an endpoint's configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Framer {
    prefix: Option<u8>,
    tx_dl: usize,
    min_len: Option<usize>,
    padding: Option<u8>,
    fd: bool,
    brs: bool,
}

impl Framer {
    pub(crate) fn new(config: &Config, prefix: Option<u8>) -> Framer {
        Framer {
            prefix,
            tx_dl: usize::from(config.link_layer.tx_data_length),
            min_len: config.link_layer.tx_data_min_length.map(usize::from),
            padding: config.tx_padding,
            fd: config.link_layer.can_fd,
            brs: config.link_layer.bitrate_switch,
        }
    }

    fn address_len(&self) -> AddressLength {
        AddressLength::from_prefix(self.prefix)
    }

    /// Largest payload sent as a single frame.
    pub(crate) fn single_frame_capacity(&self) -> usize {
        Pdu::single_frame_capacity(self.tx_dl, self.address_len())
    }

    /// Payload bytes in the first frame of a message of `length` bytes.
    pub(crate) fn first_frame_capacity(&self, length: u32) -> usize {
        Pdu::first_frame_capacity(self.tx_dl, length, self.address_len())
    }

    /// Payload bytes in a full consecutive frame.
    pub(crate) fn consecutive_frame_capacity(&self) -> usize {
        Pdu::consecutive_frame_capacity(self.tx_dl, self.address_len())
    }

    /// The frame length for `used` bytes of address, PCI and data.
    fn frame_len(&self, used: usize) -> usize {
        let mut len = used;
        if self.fd && len > dlc::CLASSIC_MAX_LEN {
            // Mandatory: an FD frame longer than 8 bytes has one of the valid lengths.
            len = dlc::round_up(len).unwrap_or(dlc::FD_MAX_LEN);
        }
        match (self.padding, self.min_len) {
            (_, Some(min)) => len = len.max(min),
            (Some(_), None) => len = dlc::padded_len(len),
            (None, None) => {}
        }
        len
    }

    /// The single frame carrying `data`: escaped when its frame ends up longer than 8 bytes (CAN FD,
    /// or padded beyond 8 by `tx_data_min_length`).
    pub(crate) fn single_frame<'a>(&self, data: &'a [u8]) -> Pdu<'a> {
        let plain = Pdu::SingleFrame {
            data,
            escaped: false,
        };
        let escaped = self.frame_len(plain.buffer_len(self.address_len())) > dlc::CLASSIC_MAX_LEN;
        Pdu::SingleFrame { data, escaped }
    }

    /// Builds the frame carrying `pdu` on `id`. The engine only asks for PDUs that fit.
    pub(crate) fn build(&self, id: CanId, pdu: &Pdu<'_>) -> Frame {
        let mut buf = [0u8; 64];
        let alen = self.address_len();
        if let Some(p) = self.prefix {
            buf[0] = p;
        }
        let used = match pdu.emit(&mut buf, alen) {
            Ok(used) => used,
            Err(e) => {
                // The transmitter sizes every PDU from this framer's capacities.
                debug_assert!(false, "unemittable {pdu:?}: {e}");
                alen.bytes()
            }
        };
        let len = self.frame_len(used);
        buf[used..len].fill(self.padding.unwrap_or(DEFAULT_PADDING));
        Frame::from_buffer(id, buf, len, self.fd, self.brs)
    }
}

/// Receive-side padding check (the kernel's check_pad): `used` bytes are address, PCI and data.
pub(crate) fn padding_ok(
    check: PaddingCheck,
    expected: Option<u8>,
    data: &[u8],
    used: usize,
) -> bool {
    if check == PaddingCheck::Off {
        return true;
    }
    let len = data.len();
    match expected {
        // No padding expected: the frame must have its optimised length.
        None => {
            !check.checks_length()
                || if used <= dlc::CLASSIC_MAX_LEN {
                    len == used
                } else {
                    Some(len) == dlc::round_up(used)
                }
        }
        Some(pad) => {
            (!check.checks_length() || len == dlc::padded_len(len))
                && (!check.checks_content()
                    || data.get(used..).unwrap_or(&[]).iter().all(|&b| b == pad))
        }
    }
}
