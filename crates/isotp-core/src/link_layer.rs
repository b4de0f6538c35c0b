//! The data link layer under ISO-TP: classic CAN or CAN FD, frame sizes and flags.

use crate::error::ConfigError;
use crate::wire::dlc;

/// How a link puts frames on the bus: classic CAN or CAN FD, TX_DL, the bit rate switch, and a minimum
/// frame length. One type for the engine's [`Config`](crate::Config), the kernel socket's options and
/// the command line's `-L`.
///
/// ```
/// use isotp_core::LinkLayer;
/// assert!(LinkLayer::classic().validate().is_ok());
/// let fd = LinkLayer::fd(64, true);
/// assert!(fd.validate().is_ok());
/// assert_eq!(
///     LinkLayer::fd(10, false).validate().unwrap_err().to_string(),
///     "link_layer.tx_data_length = 10 is not allowed: 8, 12, 16, 20, 24, 32, 48 or 64"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LinkLayer {
    /// Transmit CAN FD frames (required when `tx_data_length > 8`). A CAN FD link also receives
    /// classic frames.
    pub can_fd: bool,
    /// TX_DL: bytes per transmitted frame, 8 for classic CAN, or 12, 16, 20, 24, 32, 48, 64 for CAN FD.
    pub tx_data_length: u8,
    /// Set the bit rate switch on transmitted CAN FD frames.
    pub bitrate_switch: bool,
    /// Pad every transmitted frame to at least this many bytes (a valid CAN FD length, 1..=64, at most
    /// `tx_data_length`), as can-isotp's `tx_data_min_length`.
    pub tx_data_min_length: Option<u8>,
}

impl Default for LinkLayer {
    fn default() -> Self {
        LinkLayer::classic()
    }
}

impl LinkLayer {
    /// Classic CAN, 8-byte frames.
    #[must_use]
    pub const fn classic() -> LinkLayer {
        LinkLayer {
            can_fd: false,
            tx_data_length: 8,
            bitrate_switch: false,
            tx_data_min_length: None,
        }
    }

    /// CAN FD frames of up to `tx_data_length` bytes, with or without the bit rate switch.
    #[must_use]
    pub const fn fd(tx_data_length: u8, bitrate_switch: bool) -> LinkLayer {
        LinkLayer {
            can_fd: true,
            tx_data_length,
            bitrate_switch,
            tx_data_min_length: None,
        }
    }

    /// Checks the combination; the error names the field and the allowed values.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for a data length that is no CAN frame length, or
    /// [`ConfigError::Conflict`] for a combination that cannot work (say a data length above 8 without
    /// CAN FD).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let tx_dl = usize::from(self.tx_data_length);
        if !(tx_dl == 8 || (tx_dl > 8 && dlc::is_valid_fd_len(tx_dl))) {
            return Err(ConfigError::OutOfRange {
                field: "link_layer.tx_data_length",
                value: u64::from(self.tx_data_length),
                allowed: "8, 12, 16, 20, 24, 32, 48 or 64",
            });
        }
        if tx_dl > 8 && !self.can_fd {
            return Err(ConfigError::Conflict {
                reason: "tx_data_length above 8 needs CAN FD: set link_layer.can_fd = true",
            });
        }
        if let Some(min) = self.tx_data_min_length {
            let m = usize::from(min);
            if m == 0 || !dlc::is_valid_fd_len(m) {
                return Err(ConfigError::OutOfRange {
                    field: "link_layer.tx_data_min_length",
                    value: u64::from(min),
                    allowed: "1-8, 12, 16, 20, 24, 32, 48 or 64",
                });
            }
            if m > 8 && !self.can_fd {
                return Err(ConfigError::Conflict {
                    reason: "tx_data_min_length above 8 needs CAN FD: set link_layer.can_fd = true",
                });
            }
            if m > tx_dl {
                // Frames longer than TX_DL would announce a larger RX_DL than the message uses.
                return Err(ConfigError::Conflict {
                    reason: "tx_data_min_length must not exceed tx_data_length",
                });
            }
        }
        if self.bitrate_switch && !self.can_fd {
            return Err(ConfigError::Conflict {
                reason: "bitrate_switch is a CAN FD feature: set link_layer.can_fd = true",
            });
        }
        Ok(())
    }
}
