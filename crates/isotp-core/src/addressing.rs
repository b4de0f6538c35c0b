//! ISO-TP addressing: which CAN ids and address bytes a link sends on and accepts.
//!
//! The seven modes of can-isotp are supported, with physical and functional target address types and
//! asymmetric addresses (a transmit-only address paired with a receive-only one).

use core::fmt;

use crate::error::AddressError;
use crate::frame::{CanId, Frame, MAX_EXTENDED_ID, MAX_STANDARD_ID};
use crate::wire::AddressLength;

/// How ISO-TP addresses map onto CAN ids and address bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressingMode {
    /// 11-bit ids, no address byte (can-isotp `Normal_11bits`).
    Normal11,
    /// 29-bit ids, no address byte (`Normal_29bits`).
    Normal29,
    /// 29-bit ids `0x18DA_TA_SA` (physical) / `0x18DB_TA_SA` (functional), no address byte
    /// (`NormalFixed_29bits`).
    NormalFixed29,
    /// 11-bit ids; the first data byte is the target address (`Extended_11bits`).
    Extended11,
    /// 29-bit ids; the first data byte is the target address (`Extended_29bits`).
    Extended29,
    /// 11-bit ids; the first data byte is the address extension (`Mixed_11bits`).
    Mixed11,
    /// 29-bit ids `0x18CE_TA_SA` / `0x18CD_TA_SA`; the first data byte is the address extension
    /// (`Mixed_29bits`).
    Mixed29,
}

impl AddressingMode {
    /// All seven modes.
    pub const ALL: [AddressingMode; 7] = [
        AddressingMode::Normal11,
        AddressingMode::Normal29,
        AddressingMode::NormalFixed29,
        AddressingMode::Extended11,
        AddressingMode::Extended29,
        AddressingMode::Mixed11,
        AddressingMode::Mixed29,
    ];

    /// True when ids are 29-bit.
    #[must_use]
    pub fn is_29bit(self) -> bool {
        !matches!(
            self,
            AddressingMode::Normal11 | AddressingMode::Extended11 | AddressingMode::Mixed11
        )
    }

    /// Bytes of addressing before the PCI.
    #[must_use]
    pub fn address_len(self) -> AddressLength {
        match self {
            AddressingMode::Normal11 | AddressingMode::Normal29 | AddressingMode::NormalFixed29 => {
                AddressLength::Zero
            }
            _ => AddressLength::One,
        }
    }

    /// True when the ids are computed from target and source addresses.
    #[must_use]
    pub fn is_fixed(self) -> bool {
        matches!(
            self,
            AddressingMode::NormalFixed29 | AddressingMode::Mixed29
        )
    }

    /// can-isotp's name for the mode, e.g. `Normal_11bits`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            AddressingMode::Normal11 => "Normal_11bits",
            AddressingMode::Normal29 => "Normal_29bits",
            AddressingMode::NormalFixed29 => "NormalFixed_29bits",
            AddressingMode::Extended11 => "Extended_11bits",
            AddressingMode::Extended29 => "Extended_29bits",
            AddressingMode::Mixed11 => "Mixed_11bits",
            AddressingMode::Mixed29 => "Mixed_29bits",
        }
    }

    fn max_id(self) -> u32 {
        if self.is_29bit() {
            MAX_EXTENDED_ID
        } else {
            MAX_STANDARD_ID
        }
    }
}

impl fmt::Display for AddressingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a message goes to one node (physical) or to all that listen (functional).
///
/// Functional messages must fit in a single frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TargetAddressType {
    /// One-to-one; segmented messages allowed.
    #[default]
    Physical,
    /// One-to-many; single frames only.
    Functional,
}

/// Which ways an address serves (set by [`AddressBuilder::tx_only`] and
/// [`AddressBuilder::rx_only`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
enum Serves {
    /// Transmit and receive.
    #[default]
    Both,
    /// Transmit only (no receive id needed).
    TxOnly,
    /// Receive only (no transmit id needed).
    RxOnly,
}

/// The address bytes that lead the data of every frame in extended and mixed addressing (can-utils'
/// `-x ADDR[:RXADDR]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AddressBytes {
    /// Normal addressing: the PCI is the first byte.
    #[default]
    None,
    /// Extended addressing: transmitted frames lead with `tx` (N_TA, the peer's address), received
    /// frames must lead with `rx` (N_SA of this node).
    Extended {
        /// Leads transmitted frames.
        tx: u8,
        /// Must lead received frames.
        rx: u8,
    },
    /// Mixed addressing: the address extension N_AE leads frames both ways.
    Mixed(u8),
}

/// The fields of an address, as given by the user; kept so an address can be mirrored and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Spec {
    mode: AddressingMode,
    serves: Serves,
    txid: Option<u32>,
    rxid: Option<u32>,
    functional_txid: Option<u32>,
    functional_rxid: Option<u32>,
    target_address: Option<u8>,
    source_address: Option<u8>,
    address_extension: Option<u8>,
    physical_id: Option<u32>,
    functional_id: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct TxSide {
    physical: CanId,
    functional: CanId,
    prefix: Option<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RxIds {
    /// Exact ids.
    Exact {
        physical: CanId,
        functional: Option<CanId>,
    },
    /// 29-bit fixed: PF byte selects the type, TA must be ours, SA must be the peer's.
    Fixed {
        physical_pf: u8,
        functional_pf: u8,
        own: u8,
        peer: u8,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct RxSide {
    ids: RxIds,
    prefix: Option<u8>,
}

/// A validated ISO-TP address.
///
/// ```
/// use isotp_core::{Address, AddressingMode, TargetAddressType};
/// // A tester talking to an engine ECU on 0x7E0 / 0x7E8.
/// let tester = Address::normal_11(0x7E0, 0x7E8)?;
/// assert_eq!(tester.tx_id(TargetAddressType::Physical).unwrap().raw(), 0x7E0);
///
/// // 29-bit fixed addressing: the ids follow from target and source addresses.
/// let fixed = Address::builder(AddressingMode::NormalFixed29)
///     .target_address(0x10)
///     .source_address(0xF1)
///     .build()?;
/// assert_eq!(fixed.tx_id(TargetAddressType::Physical).unwrap().raw(), 0x18DA_10F1);
/// assert_eq!(fixed.tx_id(TargetAddressType::Functional).unwrap().raw(), 0x18DB_10F1);
///
/// // Mistakes are reported with the field at fault.
/// let err = Address::normal_11(0x800, 0x7E8).unwrap_err();
/// assert_eq!(err.to_string(), "txid 0x800 is out of range for Normal_11bits: the largest 11-bit id is 0x7FF");
/// # Ok::<(), isotp_core::AddressError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    tx_spec: Option<Spec>,
    rx_spec: Option<Spec>,
    tx: Option<TxSide>,
    rx: Option<RxSide>,
}

/// Builds an [`Address`] field by field, like can-isotp's `isotp.Address(mode, txid=.., ...)`.
///
/// `build` checks that every field the mode needs is present, that no field the mode ignores is given,
/// that ids fit the mode's width, and that transmit and receive addresses differ.
#[derive(Clone, Copy, Debug)]
pub struct AddressBuilder {
    spec: Spec,
}

impl AddressBuilder {
    /// The CAN id to transmit on (Normal, Extended, Mixed_11bits).
    #[must_use]
    pub fn txid(mut self, id: u32) -> Self {
        self.spec.txid = Some(id);
        self
    }
    /// The CAN id to receive on (Normal, Extended, Mixed_11bits).
    #[must_use]
    pub fn rxid(mut self, id: u32) -> Self {
        self.spec.rxid = Some(id);
        self
    }
    /// A different CAN id for functional requests (default: `txid`). Not for fixed modes.
    #[must_use]
    pub fn functional_txid(mut self, id: u32) -> Self {
        self.spec.functional_txid = Some(id);
        self
    }
    /// A second CAN id on which functional requests are received (for example 0x7DF on an ECU).
    /// Not for fixed modes.
    #[must_use]
    pub fn functional_rxid(mut self, id: u32) -> Self {
        self.spec.functional_rxid = Some(id);
        self
    }
    /// TA: the peer's address (Extended: the byte sent first; fixed modes: part of the id).
    #[must_use]
    pub fn target_address(mut self, ta: u8) -> Self {
        self.spec.target_address = Some(ta);
        self
    }
    /// SA: this node's address (Extended: the byte received frames must start with; fixed modes: part
    /// of the id).
    #[must_use]
    pub fn source_address(mut self, sa: u8) -> Self {
        self.spec.source_address = Some(sa);
        self
    }
    /// AE: the address extension byte of mixed addressing (sent and expected).
    #[must_use]
    pub fn address_extension(mut self, ae: u8) -> Self {
        self.spec.address_extension = Some(ae);
        self
    }
    /// Base id of physical messages in fixed modes (default 0x18DA0000, Mixed_29bits 0x18CE0000).
    #[must_use]
    pub fn physical_id(mut self, base: u32) -> Self {
        self.spec.physical_id = Some(base);
        self
    }
    /// Base id of functional messages in fixed modes (default 0x18DB0000, Mixed_29bits 0x18CD0000).
    #[must_use]
    pub fn functional_id(mut self, base: u32) -> Self {
        self.spec.functional_id = Some(base);
        self
    }
    /// Transmit only: no receive id needed, nothing received.
    #[must_use]
    pub fn tx_only(mut self) -> Self {
        self.spec.serves = Serves::TxOnly;
        self
    }
    /// Receive only: no transmit id needed, nothing sent (flow control cannot be sent either, so use
    /// this with listen mode or for single frames).
    #[must_use]
    pub fn rx_only(mut self) -> Self {
        self.spec.serves = Serves::RxOnly;
        self
    }

    /// Validates and builds the address.
    ///
    /// # Errors
    ///
    /// [`AddressError::MissingField`] when the mode needs a field that was not given,
    /// [`AddressError::FieldNotUsed`] for a field the mode ignores, [`AddressError::IdOutOfRange`] for
    /// an id wider than the mode's 11 or 29 bits, and [`AddressError::SameTxRx`] when transmit and
    /// receive ids and address bytes are the same.
    pub fn build(self) -> Result<Address, AddressError> {
        Address::from_spec(self.spec)
    }
}

fn need<T>(v: Option<T>, field: &'static str, mode: AddressingMode) -> Result<T, AddressError> {
    v.ok_or(AddressError::MissingField { field, mode })
}

fn id_in_range(
    field: &'static str,
    value: u32,
    mode: AddressingMode,
) -> Result<CanId, AddressError> {
    if value > mode.max_id() {
        return Err(AddressError::IdOutOfRange { field, value, mode });
    }
    // In range by the check above, so construction cannot fail.
    CanId::new(value, mode.is_29bit()).map_err(|_| AddressError::IdOutOfRange {
        field,
        value,
        mode,
    })
}

/// The PDU format byte (bits 16-23) of a 29-bit id: what tells physical from functional fixed ids.
fn pdu_format(id: u32) -> u8 {
    id.to_be_bytes()[1]
}

fn fixed_id(base: u32, ta: u8, sa: u8) -> Result<CanId, AddressError> {
    let raw = (base & 0x1FFF_0000) | (u32::from(ta) << 8) | u32::from(sa);
    CanId::extended(raw).map_err(|_| AddressError::IdOutOfRange {
        field: "physical_id",
        value: base,
        mode: AddressingMode::NormalFixed29,
    })
}

impl Address {
    /// Starts an address of the given mode.
    #[must_use]
    pub fn builder(mode: AddressingMode) -> AddressBuilder {
        AddressBuilder {
            spec: Spec {
                mode,
                serves: Serves::Both,
                txid: None,
                rxid: None,
                functional_txid: None,
                functional_rxid: None,
                target_address: None,
                source_address: None,
                address_extension: None,
                physical_id: None,
                functional_id: None,
            },
        }
    }

    /// Normal addressing with 11-bit ids.
    ///
    /// # Errors
    ///
    /// As [`AddressBuilder::build`]: an id out of the mode's range, or the same transmit and receive
    /// address.
    pub fn normal_11(txid: u32, rxid: u32) -> Result<Address, AddressError> {
        Address::builder(AddressingMode::Normal11)
            .txid(txid)
            .rxid(rxid)
            .build()
    }

    /// Normal addressing with 29-bit ids.
    ///
    /// # Errors
    ///
    /// As [`AddressBuilder::build`]: an id out of the mode's range, or the same transmit and receive
    /// address.
    pub fn normal_29(txid: u32, rxid: u32) -> Result<Address, AddressError> {
        Address::builder(AddressingMode::Normal29)
            .txid(txid)
            .rxid(rxid)
            .build()
    }

    /// Normal fixed addressing (29-bit ids from target address `ta` and own source address `sa`).
    ///
    /// # Errors
    ///
    /// [`AddressError::SameTxRx`] when `ta` and `sa` are equal (the link would receive its own frames).
    pub fn normal_fixed_29(ta: u8, sa: u8) -> Result<Address, AddressError> {
        Address::builder(AddressingMode::NormalFixed29)
            .target_address(ta)
            .source_address(sa)
            .build()
    }

    /// Extended addressing: frames sent on `txid` start with `ta`; frames received on `rxid` must start
    /// with `sa`.
    ///
    /// # Errors
    ///
    /// As [`AddressBuilder::build`]: an id out of the mode's range, or the same transmit and receive
    /// address.
    pub fn extended_11(txid: u32, rxid: u32, ta: u8, sa: u8) -> Result<Address, AddressError> {
        Address::builder(AddressingMode::Extended11)
            .txid(txid)
            .rxid(rxid)
            .target_address(ta)
            .source_address(sa)
            .build()
    }

    /// Mixed addressing with 11-bit ids: every frame starts with the address extension `ae`.
    ///
    /// # Errors
    ///
    /// As [`AddressBuilder::build`]: an id out of the mode's range, or the same transmit and receive
    /// address.
    pub fn mixed_11(txid: u32, rxid: u32, ae: u8) -> Result<Address, AddressError> {
        Address::builder(AddressingMode::Mixed11)
            .txid(txid)
            .rxid(rxid)
            .address_extension(ae)
            .build()
    }

    /// The address for free CAN ids and address bytes, in every mode whose ids are not derived from
    /// addresses: each id's width picks the 11- or 29-bit mode, `bytes` picks normal, extended or mixed.
    /// Without `rx` the address is transmit-only, without `tx` receive-only; ids of different widths make
    /// an asymmetric address. Mixed addressing with 29-bit ids is `Mixed_29bits`, whose ids follow from
    /// TA and SA: with free 29-bit ids the byte is sent and expected as extended addressing does, which is
    /// the same on the wire. [`ids`](Address::ids) is the inverse.
    ///
    /// # Errors
    ///
    /// [`AddressError::MissingDirection`] when both ids are `None`, [`AddressError::SameTxRx`] when
    /// transmit and receive would be the same id with the same address bytes.
    ///
    /// ```
    /// use isotp_core::{Address, AddressBytes, AddressingMode, CanId};
    /// let tx = CanId::standard(0x6F1)?;
    /// let rx = CanId::standard(0x610)?;
    /// let a = Address::from_ids(Some(tx), Some(rx), AddressBytes::Extended { tx: 0x10, rx: 0xF1 })?;
    /// assert_eq!(a.mode(), AddressingMode::Extended11);
    /// assert_eq!(a.ids()?, (Some(tx), Some(rx), AddressBytes::Extended { tx: 0x10, rx: 0xF1 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_ids(
        tx: Option<CanId>,
        rx: Option<CanId>,
        bytes: AddressBytes,
    ) -> Result<Address, AddressError> {
        let mode_of = |id: CanId| {
            let wide = id.is_extended();
            match (bytes, wide) {
                (AddressBytes::None, false) => AddressingMode::Normal11,
                (AddressBytes::None, true) => AddressingMode::Normal29,
                (AddressBytes::Mixed(_), false) => AddressingMode::Mixed11,
                (AddressBytes::Extended { .. }, false) => AddressingMode::Extended11,
                (_, true) => AddressingMode::Extended29,
            }
        };
        let with_bytes = |b: AddressBuilder| match (b.spec.mode, bytes) {
            (AddressingMode::Mixed11, AddressBytes::Mixed(ae)) => b.address_extension(ae),
            (AddressingMode::Extended29, AddressBytes::Mixed(ae)) => {
                b.target_address(ae).source_address(ae)
            }
            (_, AddressBytes::Extended { tx, rx }) => b.target_address(tx).source_address(rx),
            _ => b,
        };
        let side = |id: CanId, transmit: bool| {
            let b = Address::builder(mode_of(id));
            let b = if transmit {
                b.txid(id.raw()).tx_only()
            } else {
                b.rxid(id.raw()).rx_only()
            };
            with_bytes(b).build()
        };
        match (tx, rx) {
            (Some(t), Some(r)) if t.is_extended() == r.is_extended() => {
                with_bytes(Address::builder(mode_of(t)).txid(t.raw()).rxid(r.raw())).build()
            }
            (Some(t), Some(r)) => Address::asymmetric(side(t, true)?, side(r, false)?),
            (Some(t), None) => side(t, true),
            (None, Some(r)) => side(r, false),
            (None, None) => Err(AddressError::MissingDirection {
                needed: "transmit or receive",
            }),
        }
    }

    /// The physical transmit id, the physical receive id and the address bytes: the inverse of
    /// [`from_ids`](Address::from_ids), as a kernel socket or a tool wants them. For the fixed modes the
    /// receive id is the one the peer transmits on. Fails for an address with an address byte on one
    /// side only (an asymmetric address joining normal and extended addressing).
    ///
    /// # Errors
    ///
    /// [`AddressError::OneSidedAddressByte`] for such an address.
    pub fn ids(&self) -> Result<(Option<CanId>, Option<CanId>, AddressBytes), AddressError> {
        let tx = self.tx_id(TargetAddressType::Physical);
        let rx = match self.rx_ids() {
            Some((physical, _)) => Some(physical),
            None if self.can_receive() => self
                .mirrored()
                .ok()
                .and_then(|m| m.tx_id(TargetAddressType::Physical)),
            None => None,
        };
        let mixed = matches!(
            self.mode(),
            AddressingMode::Mixed11 | AddressingMode::Mixed29
        );
        let bytes = match (self.tx_prefix(), self.rx_prefix()) {
            (None, None) => AddressBytes::None,
            (Some(t), Some(r)) if mixed && t == r => AddressBytes::Mixed(t),
            (Some(t), Some(r)) => AddressBytes::Extended { tx: t, rx: r },
            (Some(b), None) if !self.can_receive() => AddressBytes::Extended { tx: b, rx: b },
            (None, Some(b)) if !self.can_transmit() => AddressBytes::Extended { tx: b, rx: b },
            _ => return Err(AddressError::OneSidedAddressByte),
        };
        Ok((tx, rx, bytes))
    }

    /// Pairs the transmit side of `tx` with the receive side of `rx` (can-isotp's `AsymmetricAddress`).
    ///
    /// # Errors
    ///
    /// [`AddressError::MissingDirection`] when `tx` is receive-only or `rx` is transmit-only.
    pub fn asymmetric(tx: Address, rx: Address) -> Result<Address, AddressError> {
        if tx.tx.is_none() {
            return Err(AddressError::MissingDirection { needed: "transmit" });
        }
        if rx.rx.is_none() {
            return Err(AddressError::MissingDirection { needed: "receive" });
        }
        Ok(Address {
            tx_spec: tx.tx_spec,
            rx_spec: rx.rx_spec,
            tx: tx.tx,
            rx: rx.rx,
        })
    }

    fn from_spec(s: Spec) -> Result<Address, AddressError> {
        use AddressingMode::*;
        let mode = s.mode;
        let wants_tx = s.serves != Serves::RxOnly;
        let wants_rx = s.serves != Serves::TxOnly;
        let unused = |present: bool, field: &'static str| {
            if present {
                Err(AddressError::FieldNotUsed { field, mode })
            } else {
                Ok(())
            }
        };
        // Fields a mode ignores are errors: a silently ignored address is a bus full of missed frames.
        let fixed = mode.is_fixed();
        unused(fixed && s.txid.is_some(), "txid")?;
        unused(fixed && s.rxid.is_some(), "rxid")?;
        unused(fixed && s.functional_txid.is_some(), "functional_txid")?;
        unused(fixed && s.functional_rxid.is_some(), "functional_rxid")?;
        unused(!fixed && s.physical_id.is_some(), "physical_id")?;
        unused(!fixed && s.functional_id.is_some(), "functional_id")?;
        let uses_ta_sa = matches!(mode, NormalFixed29 | Extended11 | Extended29 | Mixed29);
        unused(!uses_ta_sa && s.target_address.is_some(), "target_address")?;
        unused(!uses_ta_sa && s.source_address.is_some(), "source_address")?;
        unused(
            !matches!(mode, Mixed11 | Mixed29) && s.address_extension.is_some(),
            "address_extension",
        )?;

        let (tx_prefix, rx_prefix) = match mode {
            Normal11 | Normal29 | NormalFixed29 => (None, None),
            Extended11 | Extended29 => (
                if wants_tx {
                    Some(need(s.target_address, "target_address", mode)?)
                } else {
                    None
                },
                if wants_rx {
                    Some(need(s.source_address, "source_address", mode)?)
                } else {
                    None
                },
            ),
            Mixed11 | Mixed29 => {
                let ae = need(s.address_extension, "address_extension", mode)?;
                (Some(ae), Some(ae))
            }
        };

        let (tx, rx) = if fixed {
            let ta = need(s.target_address, "target_address", mode)?;
            let sa = need(s.source_address, "source_address", mode)?;
            let (pdef, fdef) = if mode == Mixed29 {
                (0x18CE_0000, 0x18CD_0000)
            } else {
                (0x18DA_0000, 0x18DB_0000)
            };
            let pbase = s.physical_id.unwrap_or(pdef);
            let fbase = s.functional_id.unwrap_or(fdef);
            for (field, base) in [("physical_id", pbase), ("functional_id", fbase)] {
                if base > MAX_EXTENDED_ID {
                    return Err(AddressError::IdOutOfRange {
                        field,
                        value: base,
                        mode,
                    });
                }
            }
            if ta == sa && wants_tx && wants_rx {
                return Err(AddressError::SameTxRx { mode });
            }
            let tx = TxSide {
                physical: fixed_id(pbase, ta, sa)?,
                functional: fixed_id(fbase, ta, sa)?,
                prefix: tx_prefix,
            };
            let rx = RxSide {
                ids: RxIds::Fixed {
                    physical_pf: pdu_format(pbase),
                    functional_pf: pdu_format(fbase),
                    own: sa,
                    peer: ta,
                },
                prefix: rx_prefix,
            };
            (wants_tx.then_some(tx), wants_rx.then_some(rx))
        } else {
            let tx = if wants_tx {
                let physical = id_in_range("txid", need(s.txid, "txid", mode)?, mode)?;
                let functional = match s.functional_txid {
                    Some(f) => id_in_range("functional_txid", f, mode)?,
                    None => physical,
                };
                Some(TxSide {
                    physical,
                    functional,
                    prefix: tx_prefix,
                })
            } else {
                unused(s.txid.is_some(), "txid")?;
                None
            };
            let rx = if wants_rx {
                let physical = id_in_range("rxid", need(s.rxid, "rxid", mode)?, mode)?;
                let functional = match s.functional_rxid {
                    Some(f) => Some(id_in_range("functional_rxid", f, mode)?),
                    None => None,
                };
                Some(RxSide {
                    ids: RxIds::Exact {
                        physical,
                        functional,
                    },
                    prefix: rx_prefix,
                })
            } else {
                unused(s.rxid.is_some(), "rxid")?;
                None
            };
            if let (Some(t), Some(r)) = (&tx, &rx) {
                if let RxIds::Exact { physical, .. } = r.ids {
                    // The same id works only when the address bytes tell the directions apart.
                    if t.physical == physical && t.prefix == r.prefix {
                        return Err(AddressError::SameTxRx { mode });
                    }
                }
            }
            (tx, rx)
        };
        Ok(Address {
            tx_spec: tx.map(|_| s),
            rx_spec: rx.map(|_| s),
            tx,
            rx,
        })
    }

    /// The addressing mode (of the receive side for an asymmetric address with different modes).
    #[must_use]
    pub fn mode(&self) -> AddressingMode {
        self.rx_spec
            .or(self.tx_spec)
            .map_or(AddressingMode::Normal11, |s| s.mode)
    }

    /// The CAN id used to transmit, or `None` for a receive-only address.
    #[must_use]
    pub fn tx_id(&self, target: TargetAddressType) -> Option<CanId> {
        self.tx.map(|t| match target {
            TargetAddressType::Physical => t.physical,
            TargetAddressType::Functional => t.functional,
        })
    }

    /// The address byte that leads every transmitted frame, if any.
    #[must_use]
    pub fn tx_prefix(&self) -> Option<u8> {
        self.tx.and_then(|t| t.prefix)
    }

    /// The address byte every received frame must lead with, if any.
    #[must_use]
    pub fn rx_prefix(&self) -> Option<u8> {
        self.rx.and_then(|r| r.prefix)
    }

    /// True when the address can transmit.
    #[must_use]
    pub fn can_transmit(&self) -> bool {
        self.tx.is_some()
    }

    /// True when the address can receive.
    #[must_use]
    pub fn can_receive(&self) -> bool {
        self.rx.is_some()
    }

    /// The exact CAN ids this address receives on: the physical id and, if set, the functional one.
    /// `None` for the fixed modes (whose receive ids follow a pattern; use [`Address::accepts`]) and for
    /// transmit-only addresses. Drivers use it to index many links by id.
    #[must_use]
    pub fn rx_ids(&self) -> Option<(CanId, Option<CanId>)> {
        match self.rx?.ids {
            RxIds::Exact {
                physical,
                functional,
            } => Some((physical, functional)),
            RxIds::Fixed { .. } => None,
        }
    }

    /// Address bytes before the PCI in transmitted frames.
    #[must_use]
    pub fn tx_address_len(&self) -> AddressLength {
        AddressLength::from_prefix(self.tx_prefix())
    }

    /// Address bytes before the PCI in received frames.
    #[must_use]
    pub fn rx_address_len(&self) -> AddressLength {
        AddressLength::from_prefix(self.rx_prefix())
    }

    /// Whether a received frame is addressed to this link, and with which target address type.
    ///
    /// ```
    /// use isotp_core::{Address, CanId, Frame, TargetAddressType};
    /// let ecu = Address::normal_fixed_29(0xF1, 0x10)?; // the ECU (SA 0x10) answers the tester (0xF1)
    /// let request = Frame::new(CanId::extended(0x18DB_10F1)?, &[0x02, 0x3E, 0x00])?;
    /// assert_eq!(ecu.accepts(&request), Some(TargetAddressType::Functional));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn accepts(&self, frame: &Frame) -> Option<TargetAddressType> {
        let rx = self.rx.as_ref()?;
        let id = frame.id();
        let target = match rx.ids {
            RxIds::Exact {
                physical,
                functional,
            } => {
                if id == physical {
                    TargetAddressType::Physical
                } else if Some(id) == functional {
                    TargetAddressType::Functional
                } else {
                    return None;
                }
            }
            RxIds::Fixed {
                physical_pf,
                functional_pf,
                own,
                peer,
            } => {
                // Priority and data page bits (24-28) may take any value.
                let [_, pf, ta, sa] = id.raw().to_be_bytes();
                if !id.is_extended() || ta != own || sa != peer {
                    return None;
                }
                if pf == physical_pf {
                    TargetAddressType::Physical
                } else if pf == functional_pf {
                    TargetAddressType::Functional
                } else {
                    return None;
                }
            }
        };
        match rx.prefix {
            Some(p) if frame.data().first() != Some(&p) => None,
            _ => Some(target),
        }
    }

    /// The address of the other end of the link: transmit and receive swapped.
    ///
    /// Used to observe a conversation in listen mode and to build test peers.
    ///
    /// # Errors
    ///
    /// Those of [`AddressBuilder::build`], applied to the swapped fields.
    ///
    /// ```
    /// use isotp_core::{Address, TargetAddressType};
    /// let tester = Address::extended_11(0x6F1, 0x610, 0x10, 0xF1)?;
    /// let ecu = tester.mirrored()?;
    /// assert_eq!(ecu.tx_id(TargetAddressType::Physical).unwrap().raw(), 0x610);
    /// assert_eq!(ecu.tx_prefix(), Some(0xF1));
    /// assert_eq!(ecu.rx_prefix(), Some(0x10));
    /// # Ok::<(), isotp_core::AddressError>(())
    /// ```
    pub fn mirrored(&self) -> Result<Address, AddressError> {
        let mirror = |s: Spec, serves: Serves| Spec {
            serves,
            txid: s.rxid,
            rxid: s.txid,
            functional_txid: s.functional_rxid,
            functional_rxid: s.functional_txid,
            target_address: s.source_address,
            source_address: s.target_address,
            ..s
        };
        match (self.tx_spec, self.rx_spec) {
            (Some(t), Some(r)) if t == r => Address::from_spec(mirror(t, Serves::Both)),
            (t, r) => {
                // The peer receives what we transmit and transmits what we receive.
                let rx = t.map(|t| Address::from_spec(mirror(t, Serves::RxOnly)));
                let tx = r.map(|r| Address::from_spec(mirror(r, Serves::TxOnly)));
                match (tx, rx) {
                    (Some(tx), Some(rx)) => Address::asymmetric(tx?, rx?),
                    (Some(only), None) | (None, Some(only)) => only,
                    (None, None) => Err(AddressError::MissingDirection {
                        needed: "transmit or receive",
                    }),
                }
            }
        }
    }
}

impl fmt::Display for Address {
    /// For example `Normal_11bits tx 7E0 rx 7E8` or `Extended_11bits tx 6F1[10] rx 610[F1]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.mode())?;
        if let Some(t) = self.tx {
            write!(f, " tx {}", t.physical)?;
            if t.functional != t.physical {
                write!(f, "/{}", t.functional)?;
            }
            if let Some(p) = t.prefix {
                write!(f, "[{p:02X}]")?;
            }
        }
        if let Some(r) = self.rx {
            match r.ids {
                RxIds::Exact {
                    physical,
                    functional,
                } => {
                    write!(f, " rx {physical}")?;
                    if let Some(func) = functional {
                        write!(f, "/{func}")?;
                    }
                }
                RxIds::Fixed {
                    physical_pf,
                    own,
                    peer,
                    ..
                } => write!(f, " rx xx{physical_pf:02X}{own:02X}{peer:02X}")?,
            }
            if let Some(p) = r.prefix {
                write!(f, "[{p:02X}]")?;
            }
        }
        Ok(())
    }
}

/// A request id and the response id of the same ECU, paired by the usual conventions: what a tester
/// needs to reach an ECU it only heard answer (a functional request, a scan), and what an ECU
/// simulator needs to answer a request.
///
/// - 11-bit ids: the response id is 8 above the request id, ISO 15765-4's OBD-II rule (requests
///   7E0-7E7, responses 7E8-7EF), which many manufacturers follow for any 11-bit id.
/// - 29-bit normal fixed ids (`xxDA_TA_SA`, ISO 15765-2 and OBD-II on 29 bits): the response
///   swaps the target and source address bytes, with the same priority bits (18DA10F1 with
///   18DAF110).
///
/// Any other id has no usual partner.
///
/// ```
/// use isotp_core::{CanId, IdPair, TargetAddressType};
/// let pair = IdPair::from_response(CanId::standard(0x7E8)?).unwrap();
/// assert_eq!(pair.request.raw(), 0x7E0);
/// let pair = IdPair::from_request(CanId::extended(0x18DA_10F1)?).unwrap();
/// assert_eq!(pair.response.raw(), 0x18DA_F110);
/// // The tester's physical link: it sends on the request id, receives on the response id.
/// let tester = pair.tester_address()?;
/// assert_eq!(tester.tx_id(TargetAddressType::Physical), Some(pair.request));
/// assert_eq!(tester.rx_ids().map(|(physical, _)| physical), Some(pair.response));
/// assert!(IdPair::from_response(CanId::standard(0x005)?).is_none());
/// assert!(IdPair::from_response(CanId::extended(0x1234_5678)?).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdPair {
    /// The id the tester's requests and flow controls go on (the ECU's receive id).
    pub request: CanId,
    /// The id the ECU answers on (its transmit id).
    pub response: CanId,
}

/// Offset of an 11-bit response id above its request id (ISO 15765-4).
const OBD_RESPONSE_OFFSET: u32 = 8;
/// The PDU format byte of normal fixed addressing's physical ids (bits 16-23).
const NORMAL_FIXED_PHYSICAL_PF: u32 = 0xDA;

impl IdPair {
    /// The pair of an ECU answering on `response`, if the id follows one of the conventions.
    #[must_use]
    pub fn from_response(response: CanId) -> Option<IdPair> {
        let request = if response.is_extended() {
            swap_fixed_addresses(response)?
        } else {
            let raw = response.raw().checked_sub(OBD_RESPONSE_OFFSET)?;
            CanId::standard(raw).ok()?
        };
        Some(IdPair { request, response })
    }

    /// The pair of an ECU receiving requests on `request`, if the id follows one of the conventions.
    #[must_use]
    pub fn from_request(request: CanId) -> Option<IdPair> {
        let response = if request.is_extended() {
            swap_fixed_addresses(request)?
        } else {
            CanId::standard(request.raw() + OBD_RESPONSE_OFFSET).ok()?
        };
        Some(IdPair { request, response })
    }

    /// The tester's physical link to the ECU: normal addressing, transmitting on
    /// [`request`](IdPair::request) and receiving on [`response`](IdPair::response).
    ///
    /// # Errors
    ///
    /// [`AddressError::SameTxRx`] if both ids are the same (an `IdPair` built by
    /// [`from_request`](IdPair::from_request) or [`from_response`](IdPair::from_response) never is).
    pub fn tester_address(self) -> Result<Address, AddressError> {
        let mode = if self.request.is_extended() {
            AddressingMode::Normal29
        } else {
            AddressingMode::Normal11
        };
        Address::builder(mode)
            .txid(self.request.raw())
            .rxid(self.response.raw())
            .build()
    }
}

/// A normal fixed physical id with its target and source address bytes swapped; `None` for an id
/// of another format.
fn swap_fixed_addresses(id: CanId) -> Option<CanId> {
    let raw = id.raw();
    if !id.is_extended() || (raw >> 16) & 0xFF != NORMAL_FIXED_PHYSICAL_PF {
        return None;
    }
    let (ta, sa) = ((raw >> 8) & 0xFF, raw & 0xFF);
    CanId::extended((raw & 0xFFFF_0000) | (sa << 8) | ta).ok()
}

#[cfg(test)]
mod id_pair_tests {
    use super::*;

    fn std_id(raw: u32) -> CanId {
        CanId::standard(raw).unwrap()
    }

    fn ext_id(raw: u32) -> CanId {
        CanId::extended(raw).unwrap()
    }

    #[test]
    fn obd_ids_pair_eight_apart_both_ways() {
        for raw in 0x7E0..=0x7E7 {
            let by_request = IdPair::from_request(std_id(raw)).unwrap();
            assert_eq!(by_request.response, std_id(raw + 8));
            assert_eq!(IdPair::from_response(by_request.response), Some(by_request));
        }
        // No partner outside the 11-bit range.
        assert_eq!(IdPair::from_response(std_id(0x007)), None);
        assert_eq!(IdPair::from_request(std_id(0x7F8)), None);
        assert_eq!(
            IdPair::from_request(std_id(0x7F7)).map(|p| p.response),
            Some(std_id(0x7FF))
        );
    }

    #[test]
    fn normal_fixed_ids_swap_target_and_source_keeping_the_priority() {
        let pair = IdPair::from_response(ext_id(0x18DA_F117)).unwrap();
        assert_eq!(pair.request, ext_id(0x18DA_17F1));
        let pair = IdPair::from_request(ext_id(0x0CDA_10F1)).unwrap();
        assert_eq!(pair.response, ext_id(0x0CDA_F110));
        // Functional ids (18DB), other formats and 11-bit ids that look alike have no partner.
        assert_eq!(IdPair::from_response(ext_id(0x18DB_33F1)), None);
        assert_eq!(IdPair::from_response(ext_id(0x1234_5678)), None);
        assert_eq!(IdPair::from_response(ext_id(0x0000_07E8)), None);
    }

    #[test]
    fn the_tester_address_sends_on_the_request_id() {
        let pair = IdPair::from_response(ext_id(0x18DA_F110)).unwrap();
        let a = pair.tester_address().unwrap();
        assert_eq!(a.mode(), AddressingMode::Normal29);
        assert_eq!(
            a.tx_id(TargetAddressType::Physical),
            Some(ext_id(0x18DA_10F1))
        );
        let a = IdPair::from_request(std_id(0x7E0))
            .unwrap()
            .tester_address()
            .unwrap();
        assert_eq!(a.mode(), AddressingMode::Normal11);
        assert_eq!(a.rx_ids(), Some((std_id(0x7E8), None)));
    }
}
