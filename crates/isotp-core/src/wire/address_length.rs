//! How many addressing bytes precede the PCI in a frame's data.

/// The address bytes before the PCI: none for normal and normal fixed addressing, one (N_TA or N_AE)
/// for extended and mixed addressing. A type rather than a number, so no other length can be asked for.
///
/// ```
/// use isotp_core::wire::AddressLength;
/// assert_eq!(AddressLength::Zero.bytes(), 0);
/// assert_eq!(AddressLength::from_prefix(Some(0xF1)), AddressLength::One);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum AddressLength {
    /// Normal and normal fixed addressing: the PCI is the first byte.
    #[default]
    Zero,
    /// Extended and mixed addressing: one address byte, then the PCI.
    One,
}

impl AddressLength {
    /// The number of bytes, 0 or 1.
    #[must_use]
    pub const fn bytes(self) -> usize {
        match self {
            AddressLength::Zero => 0,
            AddressLength::One => 1,
        }
    }

    /// `One` when frames lead with this address byte.
    #[must_use]
    pub const fn from_prefix(prefix: Option<u8>) -> AddressLength {
        match prefix {
            Some(_) => AddressLength::One,
            None => AddressLength::Zero,
        }
    }
}
