//! Link configuration: frame sizes, padding, flow control, timers, and the optional behaviours.

use core::time::Duration;

use crate::error::ConfigError;
use crate::link_layer::LinkLayer;
use crate::wire::StMin;

/// Which received padding to check, as the Linux kernel's `CAN_ISOTP_CHK_PAD_LEN` and
/// `CAN_ISOTP_CHK_PAD_DATA`. Frames that fail are reported ([`crate::ProtocolError::InvalidPadding`]) and
/// dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PaddingCheck {
    /// Accept any padding (the default, like can-isotp).
    #[default]
    Off,
    /// With `rx_padding` set: single, last consecutive and flow control frames must be padded to 8 bytes
    /// (or the next CAN FD length). Without it: they must not be padded (optimised length).
    Length,
    /// With `rx_padding` set: every padding byte must equal it.
    Content,
    /// Both checks.
    LengthAndContent,
}

impl PaddingCheck {
    /// Whether the length of received frames is checked (the kernel's `CAN_ISOTP_CHK_PAD_LEN`).
    #[must_use]
    pub const fn checks_length(self) -> bool {
        matches!(self, PaddingCheck::Length | PaddingCheck::LengthAndContent)
    }

    /// Whether the padding bytes of received frames are compared with the expected byte (the
    /// kernel's `CAN_ISOTP_CHK_PAD_DATA`).
    #[must_use]
    pub const fn checks_content(self) -> bool {
        matches!(self, PaddingCheck::Content | PaddingCheck::LengthAndContent)
    }

    /// The rule every padding configuration obeys, here and in the kernel: checking the content
    /// needs the expected byte (`rx_padding`); without it every padded frame would fail the check.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Conflict`] when the content is checked and `rx_padding` is `None`.
    ///
    /// ```
    /// use isotp_core::{ConfigError, PaddingCheck};
    /// assert!(PaddingCheck::Content.validate(Some(0xCC)).is_ok());
    /// assert!(PaddingCheck::Length.validate(None).is_ok());
    /// assert!(matches!(
    ///     PaddingCheck::LengthAndContent.validate(None),
    ///     Err(ConfigError::Conflict { .. })
    /// ));
    /// ```
    pub fn validate(self, rx_padding: Option<u8>) -> Result<(), ConfigError> {
        if self.checks_content() && rx_padding.is_none() {
            return Err(ConfigError::Conflict {
                reason: "rx_padding_check of the content needs rx_padding: set the expected padding byte",
            });
        }
        Ok(())
    }
}

/// A cap on the transmitted bit rate, like can-isotp's `rate_limit_*` parameters.
///
/// The sender never puts more than `max_bitrate * window` bits of frame data on the bus within any
/// `window`; it waits instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Bits of CAN data per second.
    pub max_bitrate: u32,
    /// The averaging window (can-isotp's default is 200 ms).
    pub window: Duration,
}

/// Everything an [`crate::Endpoint`] can be told, with ISO 15765-2's usual defaults.
///
/// Fields are public; start from [`Config::default`] and change what you need. The endpoint validates
/// the whole configuration when it is created.
///
/// ```
/// use core::time::Duration;
/// use isotp_core::{Config, LinkLayer, wire::StMin};
/// let mut config = Config::default();
/// config.block_size = 8;
/// config.st_min = StMin::from_duration(Duration::from_millis(5)).unwrap();
/// config.link_layer = LinkLayer::fd(64, true);
/// assert!(config.validate().is_ok());
///
/// config.link_layer.tx_data_length = 10;
/// assert_eq!(
///     config.validate().unwrap_err().to_string(),
///     "link_layer.tx_data_length = 10 is not allowed: 8, 12, 16, 20, 24, 32, 48 or 64"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Config {
    /// BS this receiver asks for in its flow control frames: consecutive frames per block, 0 = all.
    pub block_size: u8,
    /// STmin this receiver asks for in its flow control frames.
    pub st_min: StMin,
    /// Ignore the receiver's STmin and separate consecutive frames by this much instead (can-isotp's
    /// `override_receiver_stmin`; `Some(Duration::ZERO)` is its `squash_stmin_requirement`).
    pub override_receiver_st_min: Option<Duration>,
    /// N_WFTmax: most FC.WAIT frames accepted in a row, the next one aborts with `WftOverrun`; and most
    /// FC.WAIT frames this receiver sends in a row while the application is not ready (default 10).
    pub wft_max: u8,
    /// Classic CAN or CAN FD, TX_DL, bit rate switch, minimum frame length.
    pub link_layer: LinkLayer,
    /// Padding byte for transmitted frames. `None`: classic frames are sent at their optimised length;
    /// CAN FD frames longer than 8 bytes are always padded to a valid length, with 0xCC.
    pub tx_padding: Option<u8>,
    /// The padding byte expected in received frames, for [`PaddingCheck`].
    pub rx_padding: Option<u8>,
    /// Checks on received padding.
    pub rx_padding_check: PaddingCheck,
    /// Largest message accepted; a first frame announcing more is answered with FC.OVFLW.
    /// Default 4095 (can-isotp's default); up to 4294967295.
    pub max_frame_size: u32,
    /// N_As: how long the bus may take to confirm a data frame (only with tx confirmation).
    pub n_as: Duration,
    /// N_Ar: how long the bus may take to confirm a flow control frame (only with tx confirmation).
    pub n_ar: Duration,
    /// N_Bs: how long the sender waits for a flow control frame.
    pub n_bs: Duration,
    /// N_Cr: how long the receiver waits for the next consecutive frame.
    pub n_cr: Duration,
    /// N_Br: while the application cannot take a new message
    /// ([`Endpoint::set_receive_ready`](crate::Endpoint::set_receive_ready)), how often the receiver
    /// renews its FC.WAIT (at most `wft_max` of them, then FC.OVFLW). Keep it well below the sender's
    /// N_Bs (the standard asks N_Br + N_Ar < 0.9 N_Bs).
    pub n_br: Duration,
    /// Never transmit: receive without sending flow control and reassemble both directions of the
    /// conversation (the peer's flow control is observed to follow its blocks).
    pub listen_mode: bool,
    /// Cap on the transmit bit rate.
    pub rate_limit: Option<RateLimit>,
    /// Most messages waiting in the transmit queue (default 64).
    pub tx_queue_limit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            block_size: 0,
            st_min: StMin::ZERO,
            override_receiver_st_min: None,
            wft_max: 10,
            link_layer: LinkLayer::classic(),
            tx_padding: None,
            rx_padding: None,
            rx_padding_check: PaddingCheck::Off,
            max_frame_size: 4095,
            n_as: Duration::from_millis(1000),
            n_ar: Duration::from_millis(1000),
            n_bs: Duration::from_millis(1000),
            n_cr: Duration::from_millis(1000),
            n_br: Duration::from_millis(100),
            listen_mode: false,
            rate_limit: None,
            tx_queue_limit: 64,
        }
    }
}

/// Timers above this are surely a mistake (and would overflow arithmetic in some drivers).
const MAX_TIMER: Duration = Duration::from_secs(3600);

impl Config {
    /// Checks every field; the error names the field and the allowed values.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for a value outside its field's range (a timer above an hour, a
    /// zero `max_frame_size`, a link layer data length that is no CAN length ...),
    /// [`ConfigError::Conflict`] for settings that contradict each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.link_layer.validate()?;
        self.rx_padding_check.validate(self.rx_padding)?;
        if self.max_frame_size == 0 {
            return Err(ConfigError::OutOfRange {
                field: "max_frame_size",
                value: 0,
                allowed: "1 to 4294967295 bytes",
            });
        }
        for (field, d) in [
            ("n_as", self.n_as),
            ("n_ar", self.n_ar),
            ("n_bs", self.n_bs),
            ("n_cr", self.n_cr),
            ("n_br", self.n_br),
        ] {
            if d.is_zero() || d > MAX_TIMER {
                return Err(ConfigError::OutOfRange {
                    field,
                    value: u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
                    allowed: "more than 0 and at most 3600 s (value in microseconds)",
                });
            }
        }
        if let Some(d) = self.override_receiver_st_min {
            if d > Duration::from_secs(1) {
                return Err(ConfigError::OutOfRange {
                    field: "override_receiver_st_min",
                    value: u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
                    allowed: "0 to 1 s (value in microseconds)",
                });
            }
        }
        if let Some(r) = self.rate_limit {
            if r.max_bitrate == 0 {
                return Err(ConfigError::OutOfRange {
                    field: "rate_limit.max_bitrate",
                    value: 0,
                    allowed: "at least 1 bit/s",
                });
            }
            if r.window < Duration::from_millis(1) || r.window > Duration::from_secs(60) {
                return Err(ConfigError::OutOfRange {
                    field: "rate_limit.window",
                    value: u64::try_from(r.window.as_micros()).unwrap_or(u64::MAX),
                    allowed: "1 ms to 60 s (value in microseconds)",
                });
            }
            // Every frame must fit one window's budget, or it could never be sent: the largest frame
            // this link sends is TX_DL bytes.
            let budget_bits = u128::from(r.max_bitrate) * r.window.as_micros() / 1_000_000;
            let frame_bits = u128::from(self.link_layer.tx_data_length) * 8;
            if budget_bits < frame_bits {
                return Err(ConfigError::Conflict {
                    reason: "rate_limit: max_bitrate * window must allow at least one frame of TX_DL bytes",
                });
            }
        }
        if self.tx_queue_limit == 0 {
            return Err(ConfigError::OutOfRange {
                field: "tx_queue_limit",
                value: 0,
                allowed: "at least 1",
            });
        }
        Ok(())
    }
}
