//! CAN ids and frames in candump's text syntax (`7E0#0322F190`, `18DAF110#...`, `7E0##1...`), read with
//! `str::parse` and written with `Display`: the one place the project turns such text into frames.
//!
//! # The id rule
//!
//! As can-utils writes them (`%03X` and `%08X`): **3 hex digits are an 11-bit id, 8 are a 29-bit id.**
//! Also accepted, because people and other tools write them so and they are not ambiguous:
//! - 1 or 2 digits: an 11-bit id (`7` is `007`);
//! - 4 to 7 digits: a 29-bit id (more digits than an 11-bit id can need; leading zeros count, so
//!   `0123` is 29-bit) — python-can's socketcand client and isotpsend users write such ids;
//! - a `0x` or `0X` prefix on a [`CanId`] alone (command lines), not counted as digits.
//!
//! Refused with a reason: 3 digits above `7FF` (write `00000800` for a 29-bit id: guessing the width
//! from the value would make `7FF` and `800` different kinds of id), more than 8 digits, values above
//! `1FFFFFFF`.
//!
//! # Frames
//!
//! `ID#DATA` is a classic frame of 0 to 8 bytes, `ID##F DATA` (no space) a CAN FD frame whose flags
//! digit `F` holds the bit rate switch in bit 0 and the error state indicator in bit 1 (bit 2, the
//! FDF mark newer kernels add, says nothing more than `##` does). Data is hex, two digits
//! a byte, optionally with `.` between bytes as cansend allows; a classic frame may end with candump's
//! `_D` DLC suffix, which is ignored. Remote frames (`ID#R`), error frames (an 8-digit id with
//! candump's error flag `2xxxxxxx`) and CAN XL (`ID###`) are not data frames: each has its own error so a
//! log reader can skip them knowingly.
//!
//! ```
//! use isotp_core::{CanId, Frame, ParseFrameError};
//! let id: CanId = "7E0".parse()?;
//! assert!(!id.is_extended());
//! assert!("00000123".parse::<CanId>()?.is_extended());
//! assert_eq!("800".parse::<CanId>(), Err(ParseFrameError::StandardIdOutOfRange { id: 0x800 }));
//!
//! let f: Frame = "7E0#0322F190".parse()?;
//! assert_eq!(f.data(), &[0x03, 0x22, 0xF1, 0x90]);
//! let fd: Frame = "18DAF110##1DEADBEEF".parse()?;
//! assert!(fd.is_fd() && fd.is_brs() && fd.id().is_extended());
//! assert_eq!(fd.to_string(), "18DAF110##1DEADBEEF");
//! assert_eq!("7E0#R".parse::<Frame>(), Err(ParseFrameError::RemoteFrame));
//! # Ok::<(), ParseFrameError>(())
//! ```

use alloc::vec::Vec;
use core::str::FromStr;

use crate::error::ParseFrameError;
use crate::frame::{CanId, Frame, MAX_EXTENDED_ID, MAX_STANDARD_ID};
use crate::hex::{self, HexError};
use crate::wire::dlc;

/// candump's error frame flag (CAN_ERR_FLAG), set in the 8-digit id of an error frame.
const CAN_ERR_FLAG: u32 = 0x2000_0000;

/// An id by the digit rule; `bare` for an id alone (typed on a command line: `0x` allowed), else the
/// id of a frame (where candump marks error frames with a flag above 29 bits).
fn parse_id(text: &str, bare: bool) -> Result<CanId, ParseFrameError> {
    let digits = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(rest) if bare => rest,
        _ => text,
    };
    let raw = hex::number(digits.as_bytes()).ok_or(ParseFrameError::InvalidId)?;
    if digits.len() <= 3 {
        if raw > MAX_STANDARD_ID {
            return Err(ParseFrameError::StandardIdOutOfRange { id: raw });
        }
        Ok(CanId::from_parts(raw, false))
    } else if raw > MAX_EXTENDED_ID {
        if !bare && digits.len() == 8 && raw & CAN_ERR_FLAG != 0 {
            return Err(ParseFrameError::ErrorFrame);
        }
        Err(ParseFrameError::ExtendedIdOutOfRange { id: raw })
    } else {
        Ok(CanId::from_parts(raw, true))
    }
}

/// Hex bytes, two digits each, `.` allowed between bytes (`DE.AD.BEEF`).
fn parse_data(text: &str) -> Result<Vec<u8>, ParseFrameError> {
    let mut data = Vec::new();
    for run in text.split('.') {
        let bytes = hex::parse(run.as_bytes(), hex::Syntax::CANDUMP).map_err(|e| match e {
            HexError::OddDigits { .. } => ParseFrameError::OddDataDigits,
            _ => ParseFrameError::InvalidData,
        })?;
        if data.len() + bytes.len() > dlc::FD_MAX_LEN {
            return Err(ParseFrameError::TooLong);
        }
        data.extend(bytes);
    }
    Ok(data)
}

impl FromStr for CanId {
    type Err = ParseFrameError;

    /// Hex by the digit rule of [this module](crate::candump): 1-3 digits 11-bit, 4-8 digits 29-bit,
    /// with an optional `0x`.
    fn from_str(text: &str) -> Result<CanId, ParseFrameError> {
        parse_id(text, true)
    }
}

impl FromStr for Frame {
    type Err = ParseFrameError;

    /// candump syntax: `ID#DATA`, `ID##FDATA`; see [the module](crate::candump).
    fn from_str(text: &str) -> Result<Frame, ParseFrameError> {
        let (id_text, rest) = text
            .split_once('#')
            .ok_or(ParseFrameError::MissingSeparator)?;
        let id = parse_id(id_text, false)?;
        if let Some(fd) = rest.strip_prefix('#') {
            if fd.starts_with('#') {
                return Err(ParseFrameError::CanXl);
            }
            let mut bytes = fd.bytes();
            let flags = bytes
                .next()
                .and_then(hex::digit)
                .ok_or(ParseFrameError::MissingFdFlags)?;
            let data = parse_data(&fd[1..])?;
            return Frame::new_fd(id, &data)
                .map(|f| f.with_brs(flags & 1 != 0).with_esi(flags & 2 != 0))
                .map_err(ParseFrameError::Frame);
        }
        if rest.starts_with(['R', 'r']) {
            return Err(ParseFrameError::RemoteFrame);
        }
        // candump's `_D`: the DLC of an 8-byte frame when it is above 8; the data says the length.
        let data_text = match rest.split_once('_') {
            Some((data, code)) if matches!(code.as_bytes(), [c] if hex::digit(*c).is_some()) => {
                data
            }
            Some(_) => return Err(ParseFrameError::InvalidData),
            None => rest,
        };
        let data = parse_data(data_text)?;
        Frame::new(id, &data).map_err(ParseFrameError::Frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Result<CanId, ParseFrameError> {
        text.parse()
    }

    #[test]
    fn the_digit_rule() {
        assert_eq!(id("7E0"), Ok(CanId::from_parts(0x7E0, false)));
        assert_eq!(id("7"), Ok(CanId::from_parts(7, false)));
        assert_eq!(id("0x7FF"), Ok(CanId::from_parts(0x7FF, false)));
        assert_eq!(id("0123"), Ok(CanId::from_parts(0x123, true)));
        assert_eq!(id("18DAF110"), Ok(CanId::from_parts(0x18DA_F110, true)));
        assert_eq!(id("00000800"), Ok(CanId::from_parts(0x800, true)));
        assert_eq!(
            id("800"),
            Err(ParseFrameError::StandardIdOutOfRange { id: 0x800 })
        );
        assert_eq!(
            id("3FFFFFFF"),
            Err(ParseFrameError::ExtendedIdOutOfRange { id: 0x3FFF_FFFF })
        );
        assert_eq!(
            "3FFFFFFF#".parse::<Frame>(),
            Err(ParseFrameError::ErrorFrame)
        );
        assert_eq!(id("1FFFFFFFF"), Err(ParseFrameError::InvalidId));
        assert_eq!(id("0400000"), Ok(CanId::from_parts(0x40_0000, true)));
        for bad in ["", "0x", "7G0", "-1", " 7E0", "+7E0"] {
            assert_eq!(id(bad), Err(ParseFrameError::InvalidId), "{bad}");
        }
    }

    #[test]
    fn classic_frames() {
        let f: Frame = "123#DE.AD.BE.EF".parse().unwrap();
        assert_eq!(f.data(), &[0xDE, 0xAD, 0xBE, 0xEF]);
        // Dots go between bytes, anywhere and repeated, never inside one.
        let f: Frame = "123#.DEAD..BE.EF.".parse().unwrap();
        assert_eq!(f.data(), &[0xDE, 0xAD, 0xBE, 0xEF]);
        assert_eq!(
            "123#1.2".parse::<Frame>(),
            Err(ParseFrameError::OddDataDigits)
        );
        let f: Frame = "123#".parse().unwrap();
        assert!(f.is_empty() && !f.is_fd());
        let f: Frame = "123#1122334455667788_C".parse().unwrap();
        assert_eq!(f.len(), 8);
        assert_eq!(
            "123#112233445566778899".parse::<Frame>(),
            Err(ParseFrameError::Frame(crate::FrameError::TooLong {
                len: 9,
                fd: false
            }))
        );
        assert_eq!(
            "123#1".parse::<Frame>(),
            Err(ParseFrameError::OddDataDigits)
        );
        assert_eq!("123#XY".parse::<Frame>(), Err(ParseFrameError::InvalidData));
        assert_eq!(
            "123#11_".parse::<Frame>(),
            Err(ParseFrameError::InvalidData)
        );
        assert_eq!("0x123#11".parse::<Frame>(), Err(ParseFrameError::InvalidId));
        assert_eq!(
            "12311".parse::<Frame>(),
            Err(ParseFrameError::MissingSeparator)
        );
        assert_eq!("123#r".parse::<Frame>(), Err(ParseFrameError::RemoteFrame));
        assert_eq!(
            "20000080#0000000000000000".parse::<Frame>(),
            Err(ParseFrameError::ErrorFrame)
        );
    }

    #[test]
    fn fd_frames() {
        let f: Frame = "123##0".parse().unwrap();
        assert!(f.is_fd() && !f.is_brs() && f.is_empty());
        let data = [0xAB; 12];
        let text = alloc::format!("123##3{}", "AB".repeat(12));
        let f: Frame = text.parse().unwrap();
        assert_eq!(f.data(), &data);
        assert!(f.is_brs() && f.is_esi());
        assert_eq!(alloc::string::ToString::to_string(&f), text);
        let f: Frame = "123##2AABB".parse().unwrap();
        assert!(!f.is_brs() && f.is_esi());
        let f: Frame = "123##5AABB".parse().unwrap();
        assert!(f.is_brs() && !f.is_esi());
        assert_eq!(alloc::string::ToString::to_string(&f), "123##1AABB");
        assert_eq!(
            "123##1AABBCCDDEEFF001122".parse::<Frame>(),
            Err(ParseFrameError::Frame(crate::FrameError::InvalidFdLength {
                len: 9
            }))
        );
        assert_eq!(
            "123##".parse::<Frame>(),
            Err(ParseFrameError::MissingFdFlags)
        );
        assert_eq!(
            "123##G11".parse::<Frame>(),
            Err(ParseFrameError::MissingFdFlags)
        );
        assert_eq!("123###11".parse::<Frame>(), Err(ParseFrameError::CanXl));
        let long = alloc::format!("123##1{}", "00".repeat(65));
        assert_eq!(long.parse::<Frame>(), Err(ParseFrameError::TooLong));
    }
}
