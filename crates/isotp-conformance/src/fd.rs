//! CAN FD: single frames above 8 bytes (the `00 LL` escape) and the DUT's frame lengths.

use isotp_core::wire::dlc;

use super::tester::{reply_text, FcPlan, Reply, Tester};
use super::{count, fail, pass, skip, Judgement, Measure, Test};
use isotp::bus::BusError;

type Outcome = Result<Judgement, BusError>;

pub(super) fn tests() -> Vec<Test> {
    vec![
        Test {
            name: "fd.rx.single_frame_escaped",
            clause: "9.6.2.1, 10.4.2.2",
            run: rx_single_frame_escaped,
        },
        Test {
            name: "fd.tx.frame_lengths",
            clause: "9.6.2.1, 9.6.3.1, 10.4.2.2",
            run: tx_frame_lengths,
        },
    ]
}

const CLASSIC: &str = "the link layer is classic CAN (give -L 72:DL:FLAGS for CAN FD)";

fn rx_single_frame_escaped(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    if !t.is_fd() {
        return Ok(skip(CLASSIC));
    }
    let (low, high) = (t.classic_sf_max() + 1, t.sf_max());
    if low > high {
        return Ok(skip("TX_DL 8 has no escaped single frames"));
    }
    for size in low..=high {
        // Any byte will do as a seed: the low one of the size.
        let payload = t.payload(size, size.to_le_bytes()[0]);
        let reply = t.exchange(&payload)?;
        if !matches!(reply, Reply::Echoed | Reply::Answered(_)) {
            return Ok(fail(format!(
                "an escaped single frame of {size} bytes: {}",
                reply_text(&reply)
            )));
        }
    }
    count(m, "lengths", (high - low + 1) as u64);
    Ok(pass(format!("every length from {low} to {high} bytes")))
}

fn tx_frame_lengths(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    if !t.is_fd() {
        return Ok(skip(CLASSIC));
    }
    // A message just above the classic single frame, then a long one.
    let mut checked = 0u64;
    for size in [t.classic_sf_max() + 1, 300] {
        let (expected, mut got) = match t.provoke(size)? {
            Ok(x) => x,
            Err(e) => return Ok(fail(e)),
        };
        let rx_addr = t.opts.address.rx_address_len().bytes();
        let first = got.first_len;
        if first > dlc::CLASSIC_MAX_LEN && !dlc::is_valid_fd_len(first) {
            return Ok(fail(format!("a frame of {first} bytes")));
        }
        if got.ff_dl.is_none() {
            // An SF above 8 bytes needs the escape; its frame is no longer than the data needs, rounded up.
            let need = rx_addr + got.payload.len() + if got.escaped_sf { 2 } else { 1 };
            if first > dlc::padded_len(need.max(dlc::CLASSIC_MAX_LEN)) {
                return Ok(fail(format!(
                    "a single frame of {} bytes in a {first}-byte frame",
                    got.payload.len()
                )));
            }
        } else {
            t.recv_rest(&mut got, FcPlan::FREE)?;
            if let Some(e) = &got.error {
                return Ok(fail(e.clone()));
            }
            // Every CF but the last has the FF's length (RX_DL).
            let n = got.cfs.len();
            if let Some((_, len, _)) = got
                .cfs
                .iter()
                .take(n.saturating_sub(1))
                .find(|c| c.1 != first)
            {
                return Ok(fail(format!(
                    "a consecutive frame of {len} bytes after a {first}-byte first frame"
                )));
            }
            if let Some((_, len, _)) = got.cfs.last() {
                if *len > first || (*len > dlc::CLASSIC_MAX_LEN && !dlc::is_valid_fd_len(*len)) {
                    return Ok(fail(format!("a last consecutive frame of {len} bytes")));
                }
            }
        }
        if t.is_echo() && got.payload != expected {
            return Ok(fail("the echo arrived with different bytes"));
        }
        checked += 1;
    }
    count(m, "messages", checked);
    Ok(pass("single frames above 8 bytes escaped, frames of valid CAN FD lengths, CFs of the FF's length"))
}
