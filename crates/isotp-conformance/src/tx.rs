//! The DUT sending: the tester makes it send a message and plays the receiver, with chosen flow
//! control, timing every consecutive frame.

use std::time::{Duration, Instant};

use isotp_core::wire::{FlowStatus, Pdu, StMin};

use super::tester::{FcPlan, Received, Tester};
use super::{count, duration_text, fail, pass, skip, time, Judgement, Measure, Test};
use isotp::bus::BusError;

type Outcome = Result<Judgement, BusError>;

pub(super) fn tests() -> Vec<Test> {
    vec![
        Test {
            name: "tx.waits_for_flow_control",
            clause: "9.8.2 (N_Bs)",
            run: waits_for_flow_control,
        },
        Test {
            name: "tx.block_size",
            clause: "9.6.5.3",
            run: block_size,
        },
        Test {
            name: "tx.stmin",
            clause: "9.6.5.4",
            run: stmin,
        },
        Test {
            name: "tx.stmin_reserved",
            clause: "9.6.5.4 (table 15)",
            run: stmin_reserved,
        },
        Test {
            name: "tx.flow_control_wait",
            clause: "9.6.5.2 (FC.WAIT)",
            run: flow_control_wait,
        },
        Test {
            name: "tx.flow_control_overflow",
            clause: "9.6.5.2 (FC.OVFLW)",
            run: flow_control_overflow,
        },
        Test {
            name: "tx.flow_control_invalid",
            clause: "9.6.5.2 (FS reserved)",
            run: flow_control_invalid,
        },
        Test {
            name: "tx.sequence_numbers",
            clause: "9.6.4.2",
            run: sequence_numbers,
        },
        Test {
            name: "tx.n_cs",
            clause: "9.8.2 (N_Cs, N_Cr)",
            run: n_cs,
        },
    ]
}

/// Finishes a provoked message with `plan`; the reason when it did not arrive whole and right.
fn finish(
    t: &Tester<'_>,
    expected: &[u8],
    got: &mut Received,
    plan: FcPlan,
) -> Result<Option<String>, BusError> {
    t.recv_rest(got, plan)?;
    if let Some(e) = &got.error {
        return Ok(Some(e.clone()));
    }
    if t.is_echo() && got.payload != expected {
        return Ok(Some(format!(
            "the echo of {} bytes arrived as {} different bytes",
            expected.len(),
            got.payload.len()
        )));
    }
    Ok(None)
}

/// The first CF the DUT sends within `within`; `Ok(None)` when it sent none.
fn cf_within(t: &Tester<'_>, within: Duration) -> Result<Option<String>, BusError> {
    let deadline = Instant::now() + within;
    while let Some(rx) = t.recv_until(deadline)? {
        if let Ok(Pdu::ConsecutiveFrame {
            sequence_number, ..
        }) = t.parse(&rx.frame)
        {
            return Ok(Some(format!("a consecutive frame (SN {sequence_number})")));
        }
    }
    Ok(None)
}

fn waits_for_flow_control(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let (_, got) = match t.provoke_multi(t.size_for_cfs(2), 1)? {
        Ok(x) => x,
        Err(e) => return Ok(skip(e)),
    };
    let ff_at = got.first_at.unwrap_or_else(Instant::now);
    // Silent until well past N_Bs, timed from the FF's capture.
    let deadline = ff_at + t.past_timeout();
    while let Some(rx) = t.recv_until(deadline)? {
        if let Ok(Pdu::ConsecutiveFrame {
            sequence_number, ..
        }) = t.parse(&rx.frame)
        {
            return Ok(fail(format!(
                "a consecutive frame (SN {sequence_number}) came without a flow control"
            )));
        }
    }
    time(m, "waited", ff_at.elapsed());
    // Past N_Bs the DUT must have given up: a late flow control starts nothing.
    t.send_fc(FlowStatus::ContinueToSend, FcPlan::FREE)?;
    if let Some(cf) = cf_within(t, t.opts.silence)? {
        return Ok(fail(format!(
            "no CF before the FC, but {cf} after an FC sent past N_Bs: it did not give up"
        )));
    }
    Ok(pass(
        "no consecutive frame without a flow control, and none after N_Bs had passed",
    ))
}

fn block_size(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    const BS: u8 = 3;
    let (expected, mut got) = match t.provoke_multi(t.size_for_cfs(10), 7)? {
        Ok(x) => x,
        Err(e) => return Ok(skip(e)),
    };
    let length = got.ff_dl.unwrap_or_default() as usize;
    let plan = FcPlan {
        block_size: BS,
        st_min: StMin::ZERO,
    };
    let mut blocks = 0;
    let mut sn = 1u8;
    while got.payload.len() < length {
        t.send_fc(FlowStatus::ContinueToSend, plan)?;
        blocks += 1;
        for _ in 0..BS {
            if got.payload.len() >= length {
                break;
            }
            let Some(rx) = t.recv_until(Instant::now() + t.n_timeout())? else {
                return Ok(fail(format!(
                    "block {blocks}: no consecutive frame within N_Cr"
                )));
            };
            match t.parse(&rx.frame) {
                Ok(Pdu::ConsecutiveFrame {
                    sequence_number,
                    data,
                }) if sequence_number == sn => {
                    let take = data.len().min(length - got.payload.len());
                    got.payload.extend_from_slice(&data[..take]);
                    sn = (sn + 1) % 16;
                }
                _ => {
                    return Ok(fail(format!(
                        "block {blocks}: {}",
                        super::tester::describe(&rx.frame, t.opts.address.rx_address_len())
                    )))
                }
            }
        }
        if got.payload.len() < length {
            // After BS frames the DUT must wait for the next FC.
            if let Some(cf) = cf_within(t, t.opts.silence)? {
                return Ok(fail(format!(
                    "after {BS} frames of block {blocks} the DUT sent {cf} without a flow control"
                )));
            }
        }
    }
    count(m, "blocks", blocks);
    if t.is_echo() && got.payload != expected {
        return Ok(fail("the echo arrived with different bytes"));
    }
    Ok(pass(format!(
        "BS {BS}: {blocks} blocks, each of {BS} frames then a pause for the flow control"
    )))
}

/// Receives a provoked message with `st_min` and returns the smallest CF gap.
fn gaps_with(
    t: &Tester<'_>,
    st_min: StMin,
    cfs: usize,
) -> Result<Result<Duration, String>, BusError> {
    let (expected, mut got) = match t.provoke_multi(t.size_for_cfs(cfs), 3)? {
        Ok(x) => x,
        Err(e) => return Ok(Err(format!("skip: {e}"))),
    };
    if let Some(e) = finish(
        t,
        &expected,
        &mut got,
        FcPlan {
            block_size: 0,
            st_min,
        },
    )? {
        return Ok(Err(e));
    }
    Ok(Ok(got.cf_gaps().into_iter().min().unwrap_or_default()))
}

/// [`gaps_with`] up to [`Options::stmin_trials`](super::Options::stmin_trials) times, until a
/// trial's smallest gap is at least `st_min` less the tolerance; the largest smallest gap seen.
fn best_gap(
    t: &Tester<'_>,
    st_min: StMin,
    cfs: usize,
) -> Result<Result<Duration, String>, BusError> {
    let mut best = Duration::ZERO;
    for _ in 0..t.opts.stmin_trials.max(1) {
        match gaps_with(t, st_min, cfs)? {
            Ok(gap) => best = best.max(gap),
            Err(e) => return Ok(Err(e)),
        }
        if best + t.opts.tolerance >= st_min.duration() {
            break;
        }
        t.settle()?;
    }
    Ok(Ok(best))
}

fn stmin(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let values = [0xF1, 0xF5, 0xF9, 0x01, 0x05, 0x14];
    let mut worst_text = String::new();
    for byte in values {
        let st = StMin::from_byte(byte);
        let min_gap = match best_gap(t, st, 10)? {
            Ok(g) => g,
            Err(e) if e.starts_with("skip: ") => return Ok(skip(&e[6..])),
            Err(e) => return Ok(fail(format!("STmin {st}: {e}"))),
        };
        time(m, &format!("min_gap_{byte:02x}"), min_gap);
        if min_gap + t.opts.tolerance < st.duration() {
            return Ok(fail(format!(
                "STmin {st}: consecutive frames {} apart (tolerance {})",
                duration_text(min_gap),
                duration_text(t.opts.tolerance)
            )));
        }
        worst_text = format!("smallest gap at STmin {st}: {}", duration_text(min_gap));
    }
    Ok(pass(format!(
        "every gap at least STmin for {} values; {worst_text}",
        values.len()
    )))
}

fn stmin_reserved(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let st = StMin::from_byte(0x80);
    let min_gap = match best_gap(t, st, 3)? {
        Ok(g) => g,
        Err(e) if e.starts_with("skip: ") => return Ok(skip(&e[6..])),
        Err(e) => return Ok(fail(format!("STmin 0x80 (reserved, means 127 ms): {e}"))),
    };
    time(m, "min_gap", min_gap);
    if min_gap + t.opts.tolerance < StMin::RESERVED_MEANS {
        Ok(fail(format!(
            "STmin 0x80 (reserved): frames {} apart, not 127 ms",
            duration_text(min_gap)
        )))
    } else {
        Ok(pass(format!(
            "STmin 0x80 (reserved) taken as 127 ms: gaps of at least {}",
            duration_text(min_gap)
        )))
    }
}

fn flow_control_wait(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let (expected, mut got) = match t.provoke_multi(t.size_for_cfs(3), 1)? {
        Ok(x) => x,
        Err(e) => return Ok(skip(e)),
    };
    const WAITS: u64 = 2;
    for _ in 0..WAITS {
        t.send_fc(FlowStatus::Wait, FcPlan::FREE)?;
        if let Some(cf) = cf_within(t, Duration::from_millis(100))? {
            return Ok(fail(format!("{cf} after FC.WAIT")));
        }
    }
    count(m, "waits", WAITS);
    match finish(t, &expected, &mut got, FcPlan::FREE)? {
        None => Ok(pass(format!(
            "{WAITS} FC.WAIT, then FC.CTS: the message continued and arrived whole"
        ))),
        Some(e) => Ok(fail(format!("after {WAITS} FC.WAIT and FC.CTS: {e}"))),
    }
}

/// Sends `fc` (frame data) after the DUT's FF; the DUT must abort: no CF then, nor after a CTS.
fn aborts_on(t: &Tester<'_>, fc: &[u8], what: &str) -> Outcome {
    if let Err(e) = t.provoke_multi(t.size_for_cfs(2), 1)? {
        return Ok(skip(e));
    }
    t.send_raw(fc)?;
    if let Some(cf) = cf_within(t, Duration::from_millis(100))? {
        return Ok(fail(format!("{cf} after {what}")));
    }
    // A DUT that still waits for a flow control would now send its CFs.
    t.send_fc(FlowStatus::ContinueToSend, FcPlan::FREE)?;
    if let Some(cf) = cf_within(t, t.opts.silence)? {
        return Ok(fail(format!(
            "{what} did not abort: a later FC.CTS brought {cf}"
        )));
    }
    Ok(pass(format!("{what} aborted the transmission")))
}

fn flow_control_overflow(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    let fc = t.frame_bytes(&Pdu::FlowControl {
        status: FlowStatus::Overflow,
        block_size: 0,
        st_min: StMin::ZERO,
    })?;
    aborts_on(t, &fc, "FC.OVFLW")
}

fn flow_control_invalid(t: &mut Tester<'_>, _m: &mut Vec<Measure>) -> Outcome {
    // An FC.CTS whose flow status is then set to 3, a reserved value.
    let mut fc = t.frame_bytes(&Pdu::FlowControl {
        status: FlowStatus::ContinueToSend,
        block_size: 0,
        st_min: StMin::ZERO,
    })?;
    let at = t.tx_address_len().bytes();
    fc[at] = (fc[at] & 0xF0) | 3;
    aborts_on(t, &fc, "a flow control with FS = 3")
}

fn sequence_numbers(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let (expected, mut got) = match t.provoke_multi(t.size_for_cfs(20), 17)? {
        Ok(x) => x,
        Err(e) => return Ok(skip(e)),
    };
    let e = finish(t, &expected, &mut got, FcPlan::FREE)?;
    count(m, "consecutive_frames", got.cfs.len() as u64);
    match e {
        // recv_rest checks every SN: 1, 2, ... 15, 0, 1, ...
        None => Ok(pass(format!(
            "{} consecutive frames numbered from 1, wrapping from 15 to 0",
            got.cfs.len()
        ))),
        Some(e) => Ok(fail(e)),
    }
}

fn n_cs(t: &mut Tester<'_>, m: &mut Vec<Measure>) -> Outcome {
    let (expected, mut got) = match t.provoke_multi(t.size_for_cfs(10), 2)? {
        Ok(x) => x,
        Err(e) => return Ok(skip(e)),
    };
    if let Some(e) = finish(t, &expected, &mut got, FcPlan::FREE)? {
        return Ok(fail(e));
    }
    let first = match (got.fc_sent.first(), got.cfs.first()) {
        (Some(fc), Some(cf)) => cf.0.saturating_duration_since(*fc),
        _ => Duration::ZERO,
    };
    let worst = got
        .cf_gaps()
        .into_iter()
        .chain([first])
        .max()
        .unwrap_or_default();
    time(m, "first_cf_after_fc", first);
    time(m, "n_cs_max", worst);
    // The receiver gives up after N_Cr; N_Cs + N_As must stay below 0.9 N_Cr.
    let bound = t.opts.n_timeout.mul_f64(0.9);
    if worst < bound {
        Ok(pass(format!(
            "each consecutive frame within {} of the previous frame",
            duration_text(worst)
        )))
    } else {
        Ok(fail(format!(
            "a consecutive frame after {}, not within 0.9 N_Cr",
            duration_text(worst)
        )))
    }
}
