//! [`KernelOptions`]: typed counterparts of the kernel's CAN_ISOTP socket options.

use std::time::Duration;

use isotp_core::wire::StMin;
use isotp_core::{Address, AddressBytes, CanId, LinkLayer, PaddingCheck};

use super::error::KernelError;
use super::sys;

/// The flow control this socket sends as a receiver (`CAN_ISOTP_RECV_FC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct FlowControlOptions {
    /// BS: consecutive frames per block, 0 = no further flow control.
    pub block_size: u8,
    /// STmin asked of the sender (copied into the FC frame unchecked, as the kernel does).
    pub st_min: StMin,
    /// WFTmax. The kernel stores it but (as of Linux 6.1) never sends FC.WAIT, so it has no effect.
    pub wft_max: u8,
}

impl FlowControlOptions {
    /// Flow control with block size `block_size` and separation time `st_min`.
    #[must_use]
    pub const fn new(block_size: u8, st_min: StMin) -> FlowControlOptions {
        FlowControlOptions {
            block_size,
            st_min,
            wft_max: 0,
        }
    }
}

/// Everything a kernel CAN_ISOTP socket is told before it is bound: ids, addressing, padding, flow
/// control, link layer and the optional behaviours. Mirrors `struct can_isotp_options`,
/// `can_isotp_fc_options`, `can_isotp_ll_options` and the STmin socket options.
///
/// ```
/// use isotp::kernel::KernelOptions;
/// use isotp::LinkLayer;
/// use isotp_core::{wire::StMin, CanId};
/// use std::time::Duration;
///
/// let options = KernelOptions::new(CanId::standard(0x7E0)?, CanId::standard(0x7E8)?)
///     .tx_padding(0xCC)
///     .flow_control(8, StMin::from_duration(Duration::from_millis(5)).unwrap())
///     .link_layer(LinkLayer::fd(64, true));
/// assert!(options.validate().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct KernelOptions {
    /// Id of transmitted frames (data frames, and flow control as a receiver).
    pub tx_id: CanId,
    /// Id of received frames.
    pub rx_id: CanId,
    /// Extended or mixed addressing (`CAN_ISOTP_EXTEND_ADDR`): this byte starts every transmitted
    /// frame, and (unless `rx_ext_address` is set) must start every received one.
    pub ext_address: Option<u8>,
    /// A different first byte expected in received frames (`CAN_ISOTP_RX_EXT_ADDR`); needs
    /// `ext_address`.
    pub rx_ext_address: Option<u8>,
    /// Pad transmitted frames to 8 bytes (or the next CAN FD length) with this byte
    /// (`CAN_ISOTP_TX_PADDING`, `txpad_content`). Without it the kernel sends optimised lengths
    /// (and pads CAN FD frames over 8 bytes with 0xCC).
    pub tx_padding: Option<u8>,
    /// The padding byte expected in received frames (`CAN_ISOTP_RX_PADDING`, `rxpad_content`),
    /// used by `rx_padding_check`.
    pub rx_padding: Option<u8>,
    /// Received padding checks (`CAN_ISOTP_CHK_PAD_LEN`, `CAN_ISOTP_CHK_PAD_DATA`). A frame that
    /// fails is dropped and reported as [`KernelProtocolError::MalformedFrame`](super::KernelProtocolError).
    pub rx_padding_check: PaddingCheck,
    /// Never send flow control (`CAN_ISOTP_LISTEN_MODE`): observe a conversation.
    pub listen_mode: bool,
    /// Half duplex (`CAN_ISOTP_HALF_DUPLEX`): ignore frames of the other direction while a
    /// transfer runs.
    pub half_duplex: bool,
    /// Make every write block until the message is sent or failed (`CAN_ISOTP_WAIT_TX_DONE`), so
    /// [`KernelSocket::send`](super::KernelSocket::send) returns its outcome.
    pub wait_tx_done: bool,
    /// 1-to-N: send single frames only and receive nothing (`CAN_ISOTP_SF_BROADCAST`).
    pub sf_broadcast: bool,
    /// Send consecutive frames without waiting for flow control (`CAN_ISOTP_CF_BROADCAST`,
    /// non-standard).
    pub cf_broadcast: bool,
    /// N_As: the time the kernel assumes one frame takes on the bus, added to every CF gap
    /// (`frame_txtime`). `None` keeps the kernel's default (50 µs); `Some(Duration::ZERO)` removes it.
    pub frame_txtime: Option<Duration>,
    /// The flow control sent as a receiver.
    pub flow_control: FlowControlOptions,
    /// Frame type, TX_DL and BRS (`CAN_ISOTP_LL_OPTS`; the kernel has no minimum frame length, so
    /// `tx_data_min_length` must stay unset). A CAN FD socket accepts only CAN FD frames.
    pub link_layer: LinkLayer,
    /// Separate transmitted CFs by this much whatever the receiver's STmin says
    /// (`CAN_ISOTP_FORCE_TXSTMIN` + `CAN_ISOTP_TX_STMIN`).
    pub force_tx_st_min: Option<Duration>,
    /// Drop received CFs that follow the previous one sooner than this (`CAN_ISOTP_FORCE_RXSTMIN`
    /// + `CAN_ISOTP_RX_STMIN`).
    pub force_rx_st_min: Option<Duration>,
}

impl KernelOptions {
    /// A socket sending on `tx_id` and receiving on `rx_id`, with the kernel's defaults for the rest
    /// (classic CAN, no padding, BS 0, STmin 0).
    #[must_use]
    pub fn new(tx_id: CanId, rx_id: CanId) -> KernelOptions {
        KernelOptions {
            tx_id,
            rx_id,
            ext_address: None,
            rx_ext_address: None,
            tx_padding: None,
            rx_padding: None,
            rx_padding_check: PaddingCheck::Off,
            listen_mode: false,
            half_duplex: false,
            wait_tx_done: false,
            sf_broadcast: false,
            cf_broadcast: false,
            frame_txtime: None,
            flow_control: FlowControlOptions::default(),
            link_layer: LinkLayer::classic(),
            force_tx_st_min: None,
            force_rx_st_min: None,
        }
    }

    /// The options for an ISO-TP [`Address`]: its physical transmit id, the id it receives on, and
    /// its address bytes (extended and mixed modes). Functional addresses are not carried: a kernel
    /// socket has one id pair.
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidOptions`] for an address a kernel socket cannot take: one whose ids
    /// cannot be worked out, or without a transmit or a receive id.
    pub fn from_address(address: &Address) -> Result<KernelOptions, KernelError> {
        let (tx_id, rx_id, bytes) = address
            .ids()
            .map_err(|e| KernelError::InvalidOptions(format!("the address {address}: {e}")))?;
        let tx_id = tx_id.ok_or_else(|| {
            KernelError::InvalidOptions(format!(
                "the address {address} has no transmit id; a kernel socket needs one (use a tx_id nobody listens to)"
            ))
        })?;
        let rx_id = rx_id.ok_or_else(|| {
            KernelError::InvalidOptions(format!(
                "the address {address} has no receive id; a kernel socket needs one"
            ))
        })?;
        let mut options = KernelOptions::new(tx_id, rx_id);
        match bytes {
            AddressBytes::None => {}
            AddressBytes::Mixed(ae) => options.ext_address = Some(ae),
            AddressBytes::Extended { tx, rx } if tx == rx => options.ext_address = Some(tx),
            AddressBytes::Extended { tx, rx } => {
                options.ext_address = Some(tx);
                options.rx_ext_address = Some(rx);
            }
        }
        Ok(options)
    }

    /// Sets the transmit padding byte.
    #[must_use]
    pub fn tx_padding(mut self, byte: u8) -> KernelOptions {
        self.tx_padding = Some(byte);
        self
    }

    /// Sets the expected receive padding byte and the checks made on it.
    #[must_use]
    pub fn rx_padding(mut self, byte: u8, check: PaddingCheck) -> KernelOptions {
        self.rx_padding = Some(byte);
        self.rx_padding_check = check;
        self
    }

    /// Sets the extended address byte (and a different one for reception, if given).
    #[must_use]
    pub fn ext_address(mut self, tx: u8, rx: Option<u8>) -> KernelOptions {
        self.ext_address = Some(tx);
        self.rx_ext_address = rx;
        self
    }

    /// Sets the flow control sent as a receiver.
    #[must_use]
    pub fn flow_control(mut self, block_size: u8, st_min: StMin) -> KernelOptions {
        self.flow_control.block_size = block_size;
        self.flow_control.st_min = st_min;
        self
    }

    /// Sets the link layer (classic CAN or CAN FD).
    #[must_use]
    pub fn link_layer(mut self, link_layer: LinkLayer) -> KernelOptions {
        self.link_layer = link_layer;
        self
    }

    /// Sets listen mode.
    #[must_use]
    pub fn listen_mode(mut self, on: bool) -> KernelOptions {
        self.listen_mode = on;
        self
    }

    /// Sets `CAN_ISOTP_WAIT_TX_DONE`.
    #[must_use]
    pub fn wait_tx_done(mut self, on: bool) -> KernelOptions {
        self.wait_tx_done = on;
        self
    }

    /// Forces the gap between transmitted CFs.
    #[must_use]
    pub fn force_tx_st_min(mut self, gap: Duration) -> KernelOptions {
        self.force_tx_st_min = Some(gap);
        self
    }

    /// Forces the minimum gap between received CFs.
    #[must_use]
    pub fn force_rx_st_min(mut self, gap: Duration) -> KernelOptions {
        self.force_rx_st_min = Some(gap);
        self
    }

    /// Sets `frame_txtime` (N_As).
    #[must_use]
    pub fn frame_txtime(mut self, time: Duration) -> KernelOptions {
        self.frame_txtime = Some(time);
        self
    }

    /// Checks the options the way the kernel would, with errors that say what to change.
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidOptions`] saying which option to change.
    pub fn validate(&self) -> Result<(), KernelError> {
        let bad = |s: String| Err(KernelError::InvalidOptions(s));
        self.link_layer
            .validate()
            .map_err(|e| KernelError::InvalidOptions(e.to_string()))?;
        if self.link_layer.tx_data_min_length.is_some() {
            return bad(
                "link_layer.tx_data_min_length has no kernel option: leave it unset (the kernel pads to \
                 8 bytes with tx_padding, and CAN FD frames to the next valid length)"
                    .into(),
            );
        }
        if self.sf_broadcast && self.cf_broadcast {
            return bad("sf_broadcast and cf_broadcast exclude each other: choose one".into());
        }
        let broadcast = self.sf_broadcast || self.cf_broadcast;
        if !broadcast && self.tx_id == self.rx_id {
            return bad(format!(
                "tx_id and rx_id are both {}: a socket cannot receive on the id it sends on",
                self.tx_id
            ));
        }
        if self.rx_ext_address.is_some() && self.ext_address.is_none() {
            return bad(
                "rx_ext_address needs ext_address (the transmit address byte) as well".into(),
            );
        }
        // Without the expected byte the kernel would drop every frame.
        self.rx_padding_check
            .validate(self.rx_padding)
            .map_err(|e| KernelError::InvalidOptions(e.to_string()))?;
        for (name, d) in [
            ("force_tx_st_min", self.force_tx_st_min),
            ("force_rx_st_min", self.force_rx_st_min),
            ("frame_txtime", self.frame_txtime),
        ] {
            if let Some(d) = d {
                if d.as_nanos() >= u128::from(u32::MAX) {
                    return bad(format!(
                        "{name} = {d:?} is too long: the kernel takes at most 4.29 s (a u32 of nanoseconds)"
                    ));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn raw_ids(&self) -> (u32, u32) {
        let raw = |id: CanId| {
            if id.is_extended() {
                id.raw() | libc::CAN_EFF_FLAG
            } else {
                id.raw()
            }
        };
        (raw(self.rx_id), raw(self.tx_id))
    }

    /// The `flags` word of `struct can_isotp_options` these options give the kernel (its
    /// `CAN_ISOTP_*` bits), as `getsockopt(CAN_ISOTP_OPTS)` reads it back.
    ///
    /// ```
    /// use isotp::core::{Address, CanId};
    /// use isotp::kernel::KernelOptions;
    /// let options = KernelOptions::from_address(&Address::extended_11(0x7E0, 0x7E8, 0x10, 0xF1)?)?;
    /// assert_eq!(options.kernel_flags() & 0x202, 0x202); // CAN_ISOTP_EXTEND_ADDR | CAN_ISOTP_RX_EXT_ADDR
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn kernel_flags(&self) -> u32 {
        self.sys_options().flags
    }

    pub(crate) fn sys_options(&self) -> sys::CanIsotpOptions {
        let mut flags = 0;
        let mut set = |on: bool, flag: u32| {
            if on {
                flags |= flag;
            }
        };
        set(self.listen_mode, sys::CAN_ISOTP_LISTEN_MODE);
        set(self.ext_address.is_some(), sys::CAN_ISOTP_EXTEND_ADDR);
        set(self.tx_padding.is_some(), sys::CAN_ISOTP_TX_PADDING);
        set(self.rx_padding.is_some(), sys::CAN_ISOTP_RX_PADDING);
        set(
            self.rx_padding_check.checks_length(),
            sys::CAN_ISOTP_CHK_PAD_LEN,
        );
        set(
            self.rx_padding_check.checks_content(),
            sys::CAN_ISOTP_CHK_PAD_DATA,
        );
        set(self.half_duplex, sys::CAN_ISOTP_HALF_DUPLEX);
        set(self.force_tx_st_min.is_some(), sys::CAN_ISOTP_FORCE_TXSTMIN);
        set(self.force_rx_st_min.is_some(), sys::CAN_ISOTP_FORCE_RXSTMIN);
        set(self.rx_ext_address.is_some(), sys::CAN_ISOTP_RX_EXT_ADDR);
        set(self.wait_tx_done, sys::CAN_ISOTP_WAIT_TX_DONE);
        set(self.sf_broadcast, sys::CAN_ISOTP_SF_BROADCAST);
        set(self.cf_broadcast, sys::CAN_ISOTP_CF_BROADCAST);
        let frame_txtime = match self.frame_txtime {
            None => 0,
            Some(d) if d.is_zero() => sys::CAN_ISOTP_FRAME_TXTIME_ZERO,
            Some(d) => nanos_u32(d),
        };
        sys::CanIsotpOptions {
            flags,
            frame_txtime,
            ext_address: self.ext_address.unwrap_or(0),
            txpad_content: self.tx_padding.unwrap_or(0xCC),
            rxpad_content: self.rx_padding.unwrap_or(0xCC),
            rx_ext_address: self.rx_ext_address.or(self.ext_address).unwrap_or(0),
        }
    }

    pub(crate) fn sys_fc_options(&self) -> sys::CanIsotpFcOptions {
        sys::CanIsotpFcOptions {
            bs: self.flow_control.block_size,
            stmin: self.flow_control.st_min.to_byte(),
            wftmax: self.flow_control.wft_max,
        }
    }

    // The kernel's MTUs (16, 72) and its BRS flag (1) fit the byte the option gives them.
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn sys_ll_options(&self) -> sys::CanIsotpLlOptions {
        let ll = &self.link_layer;
        sys::CanIsotpLlOptions {
            mtu: if ll.can_fd {
                libc::CANFD_MTU as u8
            } else {
                libc::CAN_MTU as u8
            },
            tx_dl: ll.tx_data_length,
            tx_flags: if ll.bitrate_switch {
                libc::CANFD_BRS as u8
            } else {
                0
            },
        }
    }
}

/// Nanoseconds as the kernel's u32 (validated beforehand).
pub(crate) fn nanos_u32(d: Duration) -> u32 {
    u32::try_from(d.as_nanos()).unwrap_or(u32::MAX - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (CanId, CanId) {
        (
            CanId::standard(0x7E0).unwrap(),
            CanId::standard(0x7E8).unwrap(),
        )
    }

    #[test]
    fn defaults_match_the_kernel() {
        let (tx, rx) = ids();
        let o = KernelOptions::new(tx, rx);
        assert!(o.validate().is_ok());
        let s = o.sys_options();
        assert_eq!(s.flags, 0);
        assert_eq!(s.frame_txtime, 0, "0 keeps the kernel's 50 us default");
        assert_eq!(s.txpad_content, 0xCC);
        assert_eq!(
            o.sys_ll_options(),
            sys::CanIsotpLlOptions {
                mtu: 16,
                tx_dl: 8,
                tx_flags: 0
            }
        );
        assert_eq!(o.raw_ids(), (0x7E8, 0x7E0));
    }

    #[test]
    fn flags_and_ids_are_encoded() {
        let tx = CanId::extended(0x18DA_10F1).unwrap();
        let rx = CanId::extended(0x18DA_F110).unwrap();
        let o = KernelOptions::new(tx, rx)
            .tx_padding(0xAA)
            .rx_padding(0x55, PaddingCheck::LengthAndContent)
            .ext_address(0x10, Some(0xF1))
            .listen_mode(true)
            .wait_tx_done(true)
            .force_tx_st_min(Duration::from_millis(2))
            .frame_txtime(Duration::ZERO)
            .link_layer(LinkLayer::fd(64, true));
        assert!(o.validate().is_ok());
        let s = o.sys_options();
        assert_eq!(
            s.flags,
            sys::CAN_ISOTP_LISTEN_MODE
                | sys::CAN_ISOTP_EXTEND_ADDR
                | sys::CAN_ISOTP_TX_PADDING
                | sys::CAN_ISOTP_RX_PADDING
                | sys::CAN_ISOTP_CHK_PAD_LEN
                | sys::CAN_ISOTP_CHK_PAD_DATA
                | sys::CAN_ISOTP_FORCE_TXSTMIN
                | sys::CAN_ISOTP_RX_EXT_ADDR
                | sys::CAN_ISOTP_WAIT_TX_DONE
        );
        assert_eq!(s.frame_txtime, sys::CAN_ISOTP_FRAME_TXTIME_ZERO);
        assert_eq!((s.ext_address, s.rx_ext_address), (0x10, 0xF1));
        assert_eq!((s.txpad_content, s.rxpad_content), (0xAA, 0x55));
        assert_eq!(
            o.sys_ll_options(),
            sys::CanIsotpLlOptions {
                mtu: 72,
                tx_dl: 64,
                tx_flags: 1
            }
        );
        assert_eq!(o.raw_ids(), (0x98DA_F110, 0x98DA_10F1));
    }

    #[test]
    fn mistakes_are_explained() {
        let (tx, rx) = ids();
        let cases = [
            (
                KernelOptions::new(tx, tx),
                "cannot receive on the id it sends on",
            ),
            (
                KernelOptions::new(tx, rx).link_layer(LinkLayer::fd(10, false)),
                "tx_data_length = 10",
            ),
            (
                KernelOptions::new(tx, rx).link_layer({
                    let mut ll = LinkLayer::classic();
                    ll.tx_data_length = 64;
                    ll
                }),
                "needs CAN FD",
            ),
            (
                KernelOptions::new(tx, rx).link_layer({
                    let mut ll = LinkLayer::fd(64, false);
                    ll.tx_data_min_length = Some(12);
                    ll
                }),
                "no kernel option",
            ),
            (
                KernelOptions {
                    rx_padding_check: PaddingCheck::Content,
                    ..KernelOptions::new(tx, rx)
                },
                "needs rx_padding",
            ),
            (
                KernelOptions::new(tx, rx).force_tx_st_min(Duration::from_secs(5)),
                "too long",
            ),
        ];
        for (o, text) in cases {
            let e = o.validate().unwrap_err().to_string();
            assert!(e.contains(text), "{e:?} should mention {text:?}");
        }
    }

    #[test]
    fn options_from_addresses() {
        let o = KernelOptions::from_address(&Address::normal_11(0x7E0, 0x7E8).unwrap()).unwrap();
        assert_eq!(o.raw_ids(), (0x7E8, 0x7E0));
        assert_eq!(o.ext_address, None);
        let o =
            KernelOptions::from_address(&Address::extended_11(0x6F1, 0x612, 0x12, 0xF1).unwrap())
                .unwrap();
        assert_eq!((o.ext_address, o.rx_ext_address), (Some(0x12), Some(0xF1)));
        let o =
            KernelOptions::from_address(&Address::mixed_11(0x6F1, 0x612, 0x99).unwrap()).unwrap();
        assert_eq!((o.ext_address, o.rx_ext_address), (Some(0x99), None));
        let o =
            KernelOptions::from_address(&Address::normal_fixed_29(0x10, 0xF1).unwrap()).unwrap();
        assert_eq!(o.raw_ids(), (0x98DA_F110, 0x98DA_10F1));
    }
}
