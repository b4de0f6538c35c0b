//! The DUT receiving: the tester sends, correct and wrong, and watches what comes back.

use std::time::{Duration, Instant};

use isotp_core::wire::{dlc, FlowStatus, Pdu};

use super::tester::{reply_text, sent_text, Mangle, Reply, Sent, Tester};
use super::{count, fail, pass, skip, time, Judgement, Measure, Test};
use isotp::bus::BusError;

type Outcome = Result<Judgement, BusError>;

pub(super) fn tests() -> Vec<Test> {
    vec![
        Test {
            name: "rx.single_frame",
            clause: "9.6.2",
            run: single_frame,
        },
        Test {
            name: "rx.multi_frame",
            clause: "9.6.3, 9.6.4, 9.6.5",
            run: multi_frame,
        },
        Test {
            name: "rx.block_size",
            clause: "9.6.5.3",
            run: block_size,
        },
        Test {
            name: "rx.wrong_sequence_number",
            clause: "9.6.4.3",
            run: wrong_sequence_number,
        },
        Test {
            name: "rx.consecutive_frame_timeout",
            clause: "9.8.2 (N_Cr)",
            run: consecutive_frame_timeout,
        },
        Test {
            name: "rx.single_frame_interrupts",
            clause: "9.8.3",
            run: single_frame_interrupts,
        },
        Test {
            name: "rx.first_frame_interrupts",
            clause: "9.8.3",
            run: first_frame_interrupts,
        },
        Test {
            name: "rx.unexpected_consecutive_frame",
            clause: "9.8.3",
            run: unexpected_consecutive_frame,
        },
        Test {
            name: "rx.short_first_frame",
            clause: "9.6.3.1, 10.4.2",
            run: short_first_frame,
        },
        Test {
            name: "rx.escaped_single_frame_classic",
            clause: "9.6.2.1",
            run: escaped_single_frame_classic,
        },
        Test {
            name: "rx.escaped_first_frame_small",
            clause: "9.6.3.1",
            run: escaped_first_frame_small,
        },
        Test {
            name: "rx.first_frame_too_short_length",
            clause: "9.6.3.2",
            run: first_frame_too_short_length,
        },
        Test {
            name: "rx.overflow",
            clause: "9.6.5.2 (FC.OVFLW)",
            run: overflow,
        },
        Test {
            name: "rx.n_br",
            clause: "9.8.2 (N_Br, N_Bs)",
            run: n_br,
        },
    ]
}

/// The reply to a good message as a verdict: `None` when it was the right one.
fn good(reply: &Reply) -> Option<String> {
    match reply {
        Reply::Echoed | Reply::Answered(_) => None,
        other => Some(reply_text(other)),
    }
}

/// After a broken message: nothing may come back, and the next message must work.
fn dropped_then_fine(t: &Tester<'_>, what: &str, seed: u8) -> Outcome {
    if let Some(frame) = t.expect_silence(t.opts.silence)? {
        return Ok(fail(format!("{what}, yet the DUT sent {frame}")));
    }
    let next = t.payload(t.sf_max() + 2 * t.cf_data(), seed);
    let reply = t.exchange(&next)?;
    match good(&reply) {
        None => Ok(pass(format!(
            "{what}: ignored, and the next message was {}",
            reply_text(&reply)
        ))),
        Some(e) => Ok(fail(format!(
            "{what}: ignored, but the next message failed: {e}"
        ))),
    }
}

fn single_frame(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let max = t.classic_sf_max();
    for size in 1..=max {
        // Any byte will do as a seed: the low one of the size.
        let payload = t.payload(size, size.to_le_bytes()[0]);
        if let Some(e) = good(&t.exchange(&payload)?) {
            return Ok(fail(format!("a {size}-byte single frame: {e}")));
        }
    }
    count(m, "lengths", max as u64);
    Ok(pass(format!("every length from 1 to {max} bytes")))
}

fn multi_frame(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let sizes = [
        t.sf_max() + 1,
        t.ff_data() + t.cf_data() + 1,
        100,
        1000,
        4095,
    ];
    let mut fcs = 0;
    for (&size, i) in sizes.iter().zip(0u8..) {
        let payload = t.payload(size, i);
        let sent = t.send_message(&payload, Mangle::default())?;
        if sent.outcome != Sent::Complete {
            return Ok(fail(format!(
                "a {size}-byte message: {}",
                sent_text(&sent.outcome)
            )));
        }
        for fc in &sent.fcs {
            fcs += 1;
            if fc.st_min.is_reserved() {
                return Ok(fail(format!(
                    "its flow control carries a reserved STmin {}",
                    fc.st_min
                )));
            }
        }
        if let Some(e) = good(&t.await_reply(&payload)?) {
            return Ok(fail(format!("a {size}-byte message: {e}")));
        }
    }
    count(m, "messages", sizes.len() as u64);
    count(m, "flow_controls", fcs);
    Ok(pass(format!(
        "{sizes:?} bytes; every flow control well formed"
    )))
}

fn block_size(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let size = t.ff_data() + 40 * t.cf_data();
    let payload = t.payload(size, 3);
    let sent = t.send_message(&payload, Mangle::default())?;
    if sent.outcome != Sent::Complete {
        return Ok(fail(sent_text(&sent.outcome)));
    }
    let bs = sent.fcs.first().map_or(0, |fc| fc.block_size);
    let _ = t.await_reply(&payload)?;
    if bs == 0 {
        return Ok(skip(
            "the DUT asks for no further flow control (BS = 0), so it has no blocks",
        ));
    }
    // send_message waits for an FC after every BS frames: 40 CFs need ceil(40 / BS) of them.
    let expected = 40usize.div_ceil(usize::from(bs));
    count(m, "block_size", u64::from(bs));
    count(m, "flow_controls", sent.fcs.len() as u64);
    if sent.fcs.len() == expected {
        Ok(pass(format!(
            "BS {bs}: a flow control after every block, {expected} in all"
        )))
    } else {
        Ok(fail(format!(
            "BS {bs}: {} flow controls, expected {expected}",
            sent.fcs.len()
        )))
    }
}

fn wrong_sequence_number(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    let payload = t.payload(t.ff_data() + 4 * t.cf_data(), 5);
    let sent = t.send_message(
        &payload,
        Mangle {
            wrong_sn_at: Some(1),
            ..Mangle::default()
        },
    )?;
    if !matches!(sent.outcome, Sent::Complete | Sent::NoFlowControl) {
        return Ok(fail(sent_text(&sent.outcome)));
    }
    dropped_then_fine(
        t,
        "a message whose second consecutive frame has SN 3 instead of 2",
        6,
    )
}

fn consecutive_frame_timeout(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let payload = t.payload(t.ff_data() + 3 * t.cf_data(), 7);
    let pause = t.past_timeout();
    let sent = t.send_message(
        &payload,
        Mangle {
            pause_before: Some((1, pause)),
            ..Mangle::default()
        },
    )?;
    if let Some(p) = sent.pause {
        time(m, "pause", p);
    }
    if !matches!(sent.outcome, Sent::Complete | Sent::NoFlowControl) {
        return Ok(fail(sent_text(&sent.outcome)));
    }
    dropped_then_fine(
        t,
        "a pause past N_Cr before the second consecutive frame",
        8,
    )
}

/// Sends an FF and its first CF, leaving the reception open. `Err` with a reason when it failed.
fn open_reception(t: &Tester<'_>, seed: u8) -> Result<Result<(), String>, BusError> {
    let payload = t.payload(t.ff_data() + 4 * t.cf_data(), seed);
    let sent = t.send_message(
        &payload,
        Mangle {
            stop_after: Some(1),
            ..Mangle::default()
        },
    )?;
    Ok(match sent.outcome {
        Sent::Stopped => Ok(()),
        other => Err(sent_text(&other)),
    })
}

fn interrupted_by(t: &Tester<'_>, size: usize, what: &str) -> Outcome {
    if let Err(e) = open_reception(t, 9)? {
        return Ok(fail(format!("could not start the first message: {e}")));
    }
    let second = t.payload(size, 10);
    let reply = t.exchange(&second)?;
    if let Some(e) = good(&reply) {
        return Ok(fail(format!("{what} during a reception: {e}")));
    }
    if let Some(frame) = t.expect_silence(t.opts.silence)? {
        return Ok(fail(format!(
            "after the new message the DUT also sent {frame}"
        )));
    }
    Ok(pass(format!(
        "{what} during a reception ended it and was {}",
        reply_text(&reply)
    )))
}

fn single_frame_interrupts(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    interrupted_by(t, t.classic_sf_max(), "a single frame")
}

fn first_frame_interrupts(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    interrupted_by(t, t.ff_data() + 2 * t.cf_data(), "a first frame")
}

fn unexpected_consecutive_frame(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    let data = t.payload(t.cf_data(), 11);
    t.send_pdu(&Pdu::ConsecutiveFrame {
        sequence_number: 1,
        data: &data,
    })?;
    dropped_then_fine(t, "a consecutive frame while idle", 12)
}

/// The FF of a message of `length` bytes, as the tester would send it.
fn first_frame(t: &Tester<'_>, length: u32) -> Result<Vec<u8>, BusError> {
    let data = t.payload(
        Pdu::first_frame_capacity(t.tx_dl(), length, t.tx_address_len()),
        13,
    );
    t.frame_bytes(&Pdu::FirstFrame {
        length,
        data: &data,
    })
}

/// After an invalid FF: no flow control may come, and the next message must work.
fn first_frame_ignored(t: &Tester<'_>, frame: &[u8], what: &str) -> Outcome {
    t.send_raw(frame)?;
    dropped_then_fine(t, what, 14)
}

fn short_first_frame(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    // An FF of an 8-byte frame, cut to 7 bytes: too short for a first frame (CAN_DL < 8).
    let pad = t.opts.tx_padding;
    let mut frame = if t.is_fd() {
        // In CAN FD the FF of a short message also takes 8 bytes at least.
        let data = t.payload(
            Pdu::first_frame_capacity(dlc::CLASSIC_MAX_LEN, 20, t.tx_address_len()),
            13,
        );
        let mut buf = vec![pad.unwrap_or(0xCC); 8];
        let used = Pdu::FirstFrame {
            length: 20,
            data: &data,
        }
        .emit(&mut buf, t.tx_address_len())
        .map_err(|e| BusError::Unsupported(e.to_string()))?;
        if let Some(p) = t.opts.address.tx_prefix() {
            buf[0] = p;
        }
        buf.truncate(used);
        buf
    } else {
        first_frame(t, 20)?
    };
    frame.truncate(7);
    first_frame_ignored(t, &frame, "a first frame of 7 bytes")
}

fn escaped_single_frame_classic(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    // The CAN FD escape (`00 LL`) in a frame of 8 bytes, where only the short form is allowed.
    let data = t.payload(t.classic_sf_max() - 1, 15);
    let mut buf = [0u8; 8];
    if let Some(p) = t.opts.address.tx_prefix() {
        buf[0] = p;
    }
    let used = Pdu::SingleFrame {
        data: &data,
        escaped: true,
    }
    .emit(&mut buf, t.tx_address_len())
    .map_err(|e| BusError::Unsupported(e.to_string()))?;
    t.send_raw(&buf[..used])?;
    dropped_then_fine(t, "an escaped single frame in 8 bytes", 16)
}

fn escaped_first_frame_small(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    // An escaped FF (FF_DL > 4095) whose 32-bit FF_DL is then set to 100: the escape is reserved for
    // lengths above 4095.
    let mut frame = first_frame(t, 5000)?;
    let at = t.tx_address_len().bytes() + 2;
    frame[at..at + 4].copy_from_slice(&100u32.to_be_bytes());
    first_frame_ignored(t, &frame, "an escaped first frame announcing 100 bytes")
}

fn first_frame_too_short_length(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    // A valid FF whose 12-bit FF_DL is then set to what a single frame of that frame carries.
    let mut frame = first_frame(t, 100)?;
    let sf_max = Pdu::single_frame_capacity(frame.len(), t.tx_address_len());
    // At most 62: a 12-bit FF_DL.
    let [.., high, low] = u32::try_from(sf_max).unwrap_or(u32::MAX).to_be_bytes();
    let at = t.tx_address_len().bytes();
    frame[at] = 0x10 | high;
    frame[at + 1] = low;
    first_frame_ignored(
        t,
        &frame,
        &format!("a first frame announcing {sf_max} bytes"),
    )
}

fn overflow(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    // No receiver takes a gigabyte; the largest FF_DL there is also catches arithmetic that wraps.
    for length in [1_000_000_000, u32::MAX] {
        t.settle()?;
        t.send_raw(&first_frame(t, length)?)?;
        match t.wait_fc(Instant::now() + t.n_timeout())? {
            Ok(fc) if fc.status == FlowStatus::Overflow => count(m, "ff_dl", u64::from(length)),
            Ok(fc) => {
                // Leave the DUT's reception to its N_Cr.
                std::thread::sleep(t.n_timeout());
                return Ok(fail(format!(
                    "FF_DL {length} was answered with FC {:?}",
                    fc.status
                )));
            }
            Err(e) => return Ok(fail(format!("FF_DL {length}: {}", sent_text(&e)))),
        }
    }
    Ok(pass(
        "FF_DL 1000000000 and 4294967295 were answered with FC.OVFLW",
    ))
}

fn n_br(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let mut worst = Duration::ZERO;
    let mut total = Duration::ZERO;
    const TRIALS: u8 = 5;
    for i in 0..TRIALS {
        let payload = t.payload(t.ff_data() + t.cf_data(), 20 + i);
        let sent = t.send_message(&payload, Mangle::default())?;
        let (Some(ff_at), Some(fc)) = (sent.ff_at, sent.fcs.first()) else {
            return Ok(fail(format!(
                "first frame {}: {}",
                i + 1,
                sent_text(&sent.outcome)
            )));
        };
        let _ = t.await_reply(&payload)?;
        let took = fc.at.saturating_duration_since(ff_at);
        worst = worst.max(took);
        total += took;
    }
    time(m, "n_br_max", worst);
    time(m, "n_br_mean", total / u32::from(TRIALS));
    // The sender gives up after N_Bs; the FC must come well before (N_Br + N_Ar < 0.9 N_Bs).
    let bound = t.opts.n_timeout.mul_f64(0.9);
    if worst < bound {
        Ok(pass(format!(
            "flow control after at most {}",
            super::duration_text(worst)
        )))
    } else {
        Ok(fail(format!(
            "flow control after {}, not within 0.9 N_Bs = {}",
            super::duration_text(worst),
            super::duration_text(bound)
        )))
    }
}
