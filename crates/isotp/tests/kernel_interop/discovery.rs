//! Functional requests and scans with the kernel's CAN_ISOTP sockets as the ECUs. Ids 6D0-6FF,
//! which the transfer matrix does not use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use isotp::discovery::{Answer, FunctionalRequest, IdRange, Scan};
use isotp::kernel::{KernelOptions, KernelSocket};
use isotp::wire::{FlowStatus, StMin};
use isotp::{CanId, Node};

use super::{bus, kernel, payload, CaseResult, Failure};

fn id(raw: u32) -> CanId {
    CanId::standard(raw).expect("11-bit test id")
}

/// A kernel ECU: a socket on the functional id 6DF and its physical socket (request `request`,
/// answers on `request + 8` with `answer`, flow control BS/STmin as given). `None`: never answers.
struct KernelEcu {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KernelEcu {
    fn start(
        request: u32,
        bs: u8,
        st_min: u8,
        answer: Option<Vec<u8>>,
    ) -> Result<KernelEcu, Failure> {
        let physical = kernel(
            KernelOptions::new(id(request + 8), id(request))
                .flow_control(bs, StMin::from_byte(st_min))
                .tx_padding(0xCC),
        )?;
        let functional = kernel(KernelOptions::new(id(request + 8), id(0x6DF)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                if let Ok(Some(_)) = functional.recv(Some(Duration::from_millis(50))) {
                    if let Some(a) = &answer {
                        let _ = physical.send_blocking(a, Some(Duration::from_secs(10)));
                    }
                }
            }
            drop::<KernelSocket>(physical);
        });
        Ok(KernelEcu {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for KernelEcu {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Three kernel ECUs (20 bytes, 300 bytes, silent) answer one functional request; each answer
/// arrives whole, the flow controls going to each ECU's own id.
pub(crate) fn functional_request_to_kernel_ecus() -> CaseResult {
    let vin = payload(20);
    let long = payload(300);
    let _ecus = [
        KernelEcu::start(0x6E0, 0, 0, Some(vin.clone()))?,
        KernelEcu::start(0x6E1, 8, 2, Some(long.clone()))?,
        KernelEcu::start(0x6E2, 0, 0, None)?,
    ];
    let tester = Node::new(bus()?);
    let range = IdRange::new(id(0x6E8), id(0x6EF))?;
    let request = FunctionalRequest::with_response_ids(id(0x6DF), range)?
        .with_window(Duration::from_millis(1500));
    let answers = request.run(&tester, &[0x09, 0x02])?;
    let mut got: Vec<(u32, Result<Vec<u8>, String>)> = answers
        .responses
        .iter()
        .map(|a| {
            let outcome = a.outcome.clone().map_err(|e| e.to_string());
            (a.response_id.raw(), outcome)
        })
        .collect();
    got.sort_by_key(|g| g.0);
    ensure!(
        got == [(0x6E8, Ok(vin)), (0x6E9, Ok(long))],
        "answers: {:?}",
        got.iter()
            .map(|(i, o)| (i, o.as_ref().map(Vec::len)))
            .collect::<Vec<_>>()
    );
    Ok("2 answers (20 and 300 bytes), the silent ECU absent".into())
}

/// A first-frame scan finds every kernel socket of the range with its flow control parameters, and
/// sends nothing outside the range.
pub(crate) fn scan_finds_kernel_sockets() -> CaseResult {
    let _a = kernel(KernelOptions::new(id(0x6F8), id(0x6F0)).flow_control(0, StMin::ZERO))?;
    let _b =
        kernel(KernelOptions::new(id(0x6F9), id(0x6F1)).flow_control(4, StMin::from_byte(0xF3)))?;
    let _c =
        kernel(KernelOptions::new(id(0x6FB), id(0x6F3)).flow_control(16, StMin::from_byte(20)))?;
    let ids = IdRange::new(id(0x6F0), id(0x6F7))?;
    let raw = Node::new(bus()?);
    let report = Scan::new(ids)
        .with_interval(Duration::from_millis(20))
        .with_confirm_wait(Duration::from_millis(500))
        .run(&raw)?;
    let found: Vec<(u32, u32, Answer)> = report
        .endpoints
        .iter()
        .map(|e| (e.request_id.raw(), e.response_id.raw(), e.answer.clone()))
        .collect();
    let fc = |block_size, st| Answer::FlowControl {
        status: FlowStatus::ContinueToSend,
        block_size,
        st_min: StMin::from_byte(st),
    };
    ensure!(
        found
            == [
                (0x6F0, 0x6F8, fc(0, 0)),
                (0x6F1, 0x6F9, fc(4, 0xF3)),
                (0x6F3, 0x6FB, fc(16, 20))
            ],
        "found {found:?}"
    );
    Ok(format!(
        "3 kernel sockets found with {} probes",
        report.probes
    ))
}
