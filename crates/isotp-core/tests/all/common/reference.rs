//! An independent model of how a message is cut into frames (ISO 15765-2:2016 as summarised in
//! shared/ISO15765-2.md), used to check the engine's output byte for byte.

/// How frames are laid out.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// TX_DL.
    pub tx_dl: usize,
    /// Address byte (extended TA or mixed AE).
    pub prefix: Option<u8>,
    /// Padding byte (None: optimised lengths; mandatory FD padding uses 0xCC).
    pub padding: Option<u8>,
    /// tx_data_min_length.
    pub min_len: Option<usize>,
    /// CAN FD frames.
    pub fd: bool,
}

impl Layout {
    /// Classic CAN, no address byte, no padding.
    pub fn classic() -> Layout {
        Layout {
            tx_dl: 8,
            prefix: None,
            padding: None,
            min_len: None,
            fd: false,
        }
    }

    /// CAN FD with the given TX_DL.
    pub fn fd(tx_dl: usize) -> Layout {
        Layout {
            tx_dl,
            fd: true,
            ..Layout::classic()
        }
    }
}

const FD_LENS: [usize; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];

/// The smallest CAN FD length holding `n` bytes.
pub fn fd_round_up(n: usize) -> usize {
    *FD_LENS.iter().find(|&&l| l >= n).expect("at most 64 bytes")
}

/// The DLC of a data length.
pub fn dlc_of(len: usize) -> u8 {
    FD_LENS
        .iter()
        .position(|&l| l == len)
        .expect("valid length") as u8
}

fn finish(mut bytes: Vec<u8>, l: &Layout) -> Vec<u8> {
    let mut len = bytes.len();
    if l.fd && len > 8 {
        len = fd_round_up(len);
    }
    if let Some(min) = l.min_len {
        len = len.max(min);
    } else if l.padding.is_some() {
        len = if len <= 8 { 8 } else { fd_round_up(len) };
    }
    bytes.resize(len, l.padding.unwrap_or(0xCC));
    bytes
}

/// The final length of a frame carrying `used` bytes.
pub fn final_len(used: usize, l: &Layout) -> usize {
    finish(vec![0; used], l).len()
}

/// The data of every frame of `payload`, in order: one single frame, or a first frame and its
/// consecutive frames (as if the receiver sent a single FC with BS = 0).
pub fn expected_frames(payload: &[u8], l: &Layout) -> Vec<Vec<u8>> {
    let alen = usize::from(l.prefix.is_some());
    let prefix: Vec<u8> = l.prefix.into_iter().collect();
    let sf_cap = if l.tx_dl <= 8 {
        l.tx_dl - 1 - alen
    } else {
        l.tx_dl - 2 - alen
    };
    let n = payload.len();
    if n <= sf_cap {
        // The short form only if the whole frame, padding included, stays within 8 bytes.
        let short = alen + 1 + n <= 8 && final_len(alen + 1 + n, l) <= 8;
        let mut f = prefix.clone();
        if short {
            f.push(n as u8);
        } else {
            f.extend([0, n as u8]);
        }
        f.extend_from_slice(payload);
        return vec![finish(f, l)];
    }
    let mut frames = Vec::new();
    let mut f = prefix.clone();
    if n <= 4095 {
        f.extend([0x10 | (n >> 8) as u8, n as u8]);
    } else {
        f.extend([0x10, 0]);
        f.extend((n as u32).to_be_bytes());
    }
    let first = l.tx_dl - f.len();
    f.extend_from_slice(&payload[..first]);
    frames.push(finish(f, l));
    let per_cf = l.tx_dl - alen - 1;
    for (i, chunk) in payload[first..].chunks(per_cf).enumerate() {
        let mut f = prefix.clone();
        f.push(0x20 | ((i + 1) & 0x0F) as u8);
        f.extend_from_slice(chunk);
        frames.push(finish(f, l));
    }
    frames
}
