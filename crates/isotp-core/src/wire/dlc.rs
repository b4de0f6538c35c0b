//! CAN and CAN FD data lengths and their data length codes.

/// Most data bytes in a classic CAN frame.
pub const CLASSIC_MAX_LEN: usize = 8;
/// Most data bytes in a CAN FD frame.
pub const FD_MAX_LEN: usize = 64;

/// Data length for each DLC 0..=15 on CAN FD (classic CAN stops at 8).
pub const FD_LENGTHS: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];

/// The data length of a DLC on CAN FD; `None` above 15.
///
/// ```
/// use isotp_core::wire::dlc;
/// assert_eq!(dlc::dlc_to_len(9), Some(12));
/// assert_eq!(dlc::dlc_to_len(15), Some(64));
/// assert_eq!(dlc::dlc_to_len(16), None);
/// ```
#[must_use]
pub fn dlc_to_len(dlc: u8) -> Option<usize> {
    FD_LENGTHS.get(usize::from(dlc)).map(|&l| usize::from(l))
}

/// The DLC of a data length; `None` when the length is not one a CAN FD frame can have.
#[must_use]
pub fn len_to_dlc(len: usize) -> Option<u8> {
    (0u8..)
        .zip(FD_LENGTHS)
        .find(|&(_, l)| usize::from(l) == len)
        .map(|(dlc, _)| dlc)
}

/// True when `len` is a length a CAN FD frame can have.
#[must_use]
pub fn is_valid_fd_len(len: usize) -> bool {
    len_to_dlc(len).is_some()
}

/// The smallest valid CAN FD length that holds `len` bytes; `None` above 64.
///
/// ```
/// use isotp_core::wire::dlc;
/// assert_eq!(dlc::round_up(7), Some(7));
/// assert_eq!(dlc::round_up(9), Some(12));
/// assert_eq!(dlc::round_up(33), Some(48));
/// assert_eq!(dlc::round_up(65), None);
/// ```
#[must_use]
pub fn round_up(len: usize) -> Option<usize> {
    FD_LENGTHS
        .iter()
        .map(|&l| usize::from(l))
        .find(|&l| l >= len)
}

/// The length the Linux kernel pads to: 8 for anything up to 8 bytes, else the next valid FD length.
#[must_use]
pub fn padded_len(len: usize) -> usize {
    if len <= CLASSIC_MAX_LEN {
        CLASSIC_MAX_LEN
    } else {
        round_up(len).unwrap_or(FD_MAX_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dlc_round_trips_through_its_length() {
        for dlc in 0u8..16 {
            let len = dlc_to_len(dlc).unwrap();
            assert_eq!(len_to_dlc(len), Some(dlc));
        }
    }

    #[test]
    fn lengths_between_fd_steps_have_no_dlc() {
        for len in [9, 10, 11, 13, 17, 25, 33, 49, 63, 65] {
            assert_eq!(len_to_dlc(len), None, "{len}");
        }
    }

    #[test]
    fn padded_len_is_eight_for_short_frames_and_next_step_above() {
        assert_eq!(padded_len(0), 8);
        assert_eq!(padded_len(8), 8);
        assert_eq!(padded_len(9), 12);
        assert_eq!(padded_len(49), 64);
    }
}
