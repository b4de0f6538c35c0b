//! CAN and CAN FD frames as the engine sees them.

use core::fmt;

use crate::error::FrameError;
use crate::wire::dlc;

#[cfg(feature = "embedded-can")]
mod embedded;

/// Largest standard (11-bit) identifier.
pub const MAX_STANDARD_ID: u32 = 0x7FF;
/// Largest extended (29-bit) identifier.
pub const MAX_EXTENDED_ID: u32 = 0x1FFF_FFFF;

/// A CAN identifier: 11-bit standard or 29-bit extended. Always in range once constructed.
///
/// Reads and writes candump's text (`7E0`, `18DAF110`; see [`crate::candump`] for the rule).
///
/// ```
/// use isotp_core::CanId;
/// assert!(CanId::standard(0x7E0).is_ok());
/// assert!(CanId::standard(0x800).is_err());
/// assert_eq!(CanId::extended(0x18DA_F110).unwrap().raw(), 0x18DA_F110);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanId {
    raw: u32,
    extended: bool,
}

impl CanId {
    /// An 11-bit identifier.
    ///
    /// # Errors
    ///
    /// [`FrameError::IdOutOfRange`] above 0x7FF.
    pub const fn standard(raw: u32) -> Result<CanId, FrameError> {
        if raw > MAX_STANDARD_ID {
            return Err(FrameError::IdOutOfRange {
                id: raw,
                extended: false,
            });
        }
        Ok(CanId {
            raw,
            extended: false,
        })
    }

    /// A 29-bit identifier.
    ///
    /// # Errors
    ///
    /// [`FrameError::IdOutOfRange`] above 0x1FFFFFFF.
    pub const fn extended(raw: u32) -> Result<CanId, FrameError> {
        if raw > MAX_EXTENDED_ID {
            return Err(FrameError::IdOutOfRange {
                id: raw,
                extended: true,
            });
        }
        Ok(CanId {
            raw,
            extended: true,
        })
    }

    /// An identifier of either width.
    ///
    /// # Errors
    ///
    /// [`FrameError::IdOutOfRange`] when `raw` does not fit 11 bits (29 bits if `extended`).
    pub const fn new(raw: u32, extended: bool) -> Result<CanId, FrameError> {
        if extended {
            CanId::extended(raw)
        } else {
            CanId::standard(raw)
        }
    }

    /// Caller guarantees the range.
    pub(crate) const fn from_parts(raw: u32, extended: bool) -> CanId {
        CanId { raw, extended }
    }

    /// The numeric identifier.
    #[must_use]
    pub const fn raw(self) -> u32 {
        self.raw
    }

    /// True for a 29-bit identifier.
    #[must_use]
    pub const fn is_extended(self) -> bool {
        self.extended
    }
}

impl fmt::Debug for CanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for CanId {
    /// As candump writes it: 3 hex digits for a standard id, 8 for an extended one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.extended {
            write!(f, "{:08X}", self.raw)
        } else {
            write!(f, "{:03X}", self.raw)
        }
    }
}

/// One CAN or CAN FD data frame: identifier, 0 to 64 data bytes, and the FD, bit-rate-switch and
/// error-state-indicator flags.
///
/// The data length is always one the bus can carry (0 to 8 for classic CAN; 0-8, 12, 16, 20, 24, 32, 48
/// or 64 for CAN FD). Reads and writes candump's text (`7E0#0322F190`, `7E0##1...` for CAN FD; see
/// [`crate::candump`]).
///
/// ```
/// use isotp_core::{CanId, Frame};
/// let id = CanId::standard(0x7E0)?;
/// let f = Frame::new(id, &[0x02, 0x10, 0x03])?;
/// assert_eq!(f.data(), &[0x02, 0x10, 0x03]);
/// assert!(!f.is_fd());
/// assert!(Frame::new(id, &[0; 9]).is_err()); // classic frames carry at most 8 bytes
/// let fd = Frame::new_fd(id, &[0; 12])?.with_brs(true);
/// assert!(fd.is_fd() && fd.is_brs());
/// # Ok::<(), isotp_core::FrameError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame {
    id: CanId,
    len: u8,
    fd: bool,
    brs: bool,
    /// Error state indicator: the sender of a CAN FD frame was error passive. Only recorded traffic
    /// carries it; the engine never sets it.
    esi: bool,
    data: [u8; 64],
}

impl Frame {
    /// A classic CAN frame of up to 8 bytes.
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLong`] for more than 8 bytes of data.
    pub fn new(id: CanId, data: &[u8]) -> Result<Frame, FrameError> {
        if data.len() > dlc::CLASSIC_MAX_LEN {
            return Err(FrameError::TooLong {
                len: data.len(),
                fd: false,
            });
        }
        Ok(Frame::from_parts(id, data, false, false))
    }

    /// A CAN FD frame without the bit rate switch ([`Frame::with_brs`] sets it); `data.len()` must
    /// be a valid CAN FD length (0-8, 12, 16, 20, 24, 32, 48, 64).
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLong`] for more than 64 bytes, [`FrameError::InvalidFdLength`] for a length
    /// between the CAN FD steps (9 to 11, 13 to 15 ...).
    pub fn new_fd(id: CanId, data: &[u8]) -> Result<Frame, FrameError> {
        if data.len() > dlc::FD_MAX_LEN {
            return Err(FrameError::TooLong {
                len: data.len(),
                fd: true,
            });
        }
        if !dlc::is_valid_fd_len(data.len()) {
            return Err(FrameError::InvalidFdLength { len: data.len() });
        }
        Ok(Frame::from_parts(id, data, true, false))
    }

    /// Caller guarantees `data.len() <= 64` and a length valid for the frame kind.
    pub(crate) fn from_parts(id: CanId, data: &[u8], fd: bool, brs: bool) -> Frame {
        let mut buf = [0u8; 64];
        let len = u8::try_from(data.len()).map_or(64, |l| l.min(64));
        buf[..usize::from(len)].copy_from_slice(&data[..usize::from(len)]);
        Frame {
            id,
            len,
            fd,
            brs: fd && brs,
            esi: false,
            data: buf,
        }
    }

    /// A frame built in place by the engine: `len` bytes of `buf` are the data.
    pub(crate) fn from_buffer(id: CanId, buf: [u8; 64], len: usize, fd: bool, brs: bool) -> Frame {
        Frame {
            id,
            len: u8::try_from(len).map_or(64, |l| l.min(64)),
            fd,
            brs: fd && brs,
            esi: false,
            data: buf,
        }
    }

    /// The same frame with the bit rate switch set or cleared: the data phase of a CAN FD frame at
    /// the faster data bit rate (CAN FD frames only: a classic frame has no BRS bit and is returned
    /// unchanged).
    ///
    /// ```
    /// use isotp_core::{CanId, Frame};
    /// let fd = Frame::new_fd(CanId::standard(0x123)?, &[0xAA])?.with_brs(true);
    /// assert!(fd.is_brs());
    /// assert_eq!(fd.to_string(), "123##1AA");
    /// let classic = Frame::new(CanId::standard(0x123)?, &[])?.with_brs(true);
    /// assert!(!classic.is_brs());
    /// # Ok::<(), isotp_core::FrameError>(())
    /// ```
    #[must_use]
    pub fn with_brs(mut self, brs: bool) -> Frame {
        self.brs = self.fd && brs;
        self
    }

    /// The same frame with the error state indicator set or cleared (CAN FD frames only: a classic
    /// frame has no ESI bit and is returned unchanged). Loggers record it; ISO-TP ignores it.
    ///
    /// ```
    /// use isotp_core::{CanId, Frame};
    /// let fd = Frame::new_fd(CanId::standard(0x123)?, &[0xAA, 0xBB])?.with_brs(true).with_esi(true);
    /// assert!(fd.is_esi());
    /// assert_eq!(fd.to_string(), "123##3AABB");
    /// let classic = Frame::new(CanId::standard(0x123)?, &[])?.with_esi(true);
    /// assert!(!classic.is_esi());
    /// # Ok::<(), isotp_core::FrameError>(())
    /// ```
    #[must_use]
    pub fn with_esi(mut self, esi: bool) -> Frame {
        self.esi = self.fd && esi;
        self
    }

    /// True when a CAN FD frame carries the error state indicator (its sender was error passive).
    #[must_use]
    pub fn is_esi(&self) -> bool {
        self.esi
    }

    /// The identifier.
    #[must_use]
    pub fn id(&self) -> CanId {
        self.id
    }

    /// The data bytes.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }

    /// Number of data bytes (the CAN_DL).
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when the frame carries no data.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True for a CAN FD frame.
    #[must_use]
    pub fn is_fd(&self) -> bool {
        self.fd
    }

    /// True when a CAN FD frame uses the bit rate switch.
    #[must_use]
    pub fn is_brs(&self) -> bool {
        self.brs
    }

    /// The data length code of this frame (0-15).
    #[must_use]
    pub fn dlc(&self) -> u8 {
        dlc::len_to_dlc(self.len()).unwrap_or(15)
    }
}

impl fmt::Debug for Frame {
    /// candump style: `7E0#0322F190`, or `7E0##1<data>` for CAN FD (flags digit: BRS 1, ESI 2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#", self.id)?;
        if self.fd {
            write!(f, "#{:X}", u8::from(self.brs) | u8::from(self.esi) << 1)?;
        }
        for b in self.data() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
