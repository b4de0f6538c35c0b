//! A simulated vehicle for the discovery tests and the `vehicle` example: OBD-II ECUs on 11-bit ids
//! (answers of different sizes, one slow, one silent), two UDS ECUs on 29-bit normal fixed ids, and
//! background traffic, all on one bus.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use isotp::bus::CanBus;
use isotp::wire::StMin;
use isotp::{Address, AddressingMode, CanId, Config, Frame, Stack};

/// The tester's address on 29-bit ids.
pub const TESTER: u8 = 0xF1;
/// How long the slow ECU takes to answer.
pub const SLOW: Duration = Duration::from_millis(120);

/// One simulated ECU.
pub struct Ecu {
    /// Its name.
    pub name: &'static str,
    /// The id it answers on.
    pub response_id: u32,
    /// The id it is asked on physically.
    pub request_id: u32,
    /// BS and STmin of its flow controls.
    pub block_size: u8,
    /// STmin byte.
    pub st_min: u8,
    /// How long it thinks before answering.
    pub delay: Duration,
    /// Its answer to OBD-II mode 09 PID 02 (the VIN) and to UDS ReadDataByIdentifier F190; `None`:
    /// it never answers anything.
    pub vin_answer: Option<Vec<u8>>,
}

/// The ECUs of the vehicle.
pub fn ecus() -> Vec<Ecu> {
    let vin = |v: &[u8]| {
        let mut a = vec![0x49, 0x02, 0x01];
        a.extend_from_slice(v);
        Some(a)
    };
    let long = {
        // A hybrid controller that answers with every calibration id it has: 100 bytes.
        let mut a = vec![0x49, 0x02, 0x01];
        a.extend((0..97u8).map(|i| b'A' + i % 26));
        Some(a)
    };
    let mut uds = vec![0x62, 0xF1, 0x90];
    uds.extend_from_slice(b"WDB2110421A123456");
    vec![
        Ecu {
            name: "engine",
            request_id: 0x7E0,
            response_id: 0x7E8,
            block_size: 0,
            st_min: 0,
            delay: Duration::ZERO,
            vin_answer: vin(b"WVWZZZ1JZXW000001"),
        },
        Ecu {
            name: "transmission",
            request_id: 0x7E1,
            response_id: 0x7E9,
            block_size: 8,
            st_min: 5,
            delay: Duration::ZERO,
            vin_answer: vin(b"WVWZZZ1JZXW000001"),
        },
        Ecu {
            name: "abs (slow)",
            request_id: 0x7E2,
            response_id: 0x7EA,
            block_size: 4,
            st_min: 0xF5,
            delay: SLOW,
            vin_answer: Some(vec![0x49, 0x02, 0x01, b'N', b'O']),
        },
        Ecu {
            name: "body (silent)",
            request_id: 0x7E3,
            response_id: 0x7EB,
            block_size: 0,
            st_min: 10,
            delay: Duration::ZERO,
            vin_answer: None,
        },
        Ecu {
            name: "hybrid",
            request_id: 0x7E5,
            response_id: 0x7ED,
            block_size: 2,
            st_min: 1,
            delay: Duration::ZERO,
            vin_answer: long,
        },
        Ecu {
            name: "gateway (29-bit)",
            request_id: 0x18DA_10F1,
            response_id: 0x18DA_F110,
            block_size: 0,
            st_min: 0,
            delay: Duration::ZERO,
            vin_answer: Some(uds.clone()),
        },
        Ecu {
            name: "battery (29-bit)",
            request_id: 0x18DA_17F1,
            response_id: 0x18DA_F117,
            block_size: 16,
            st_min: 2,
            delay: Duration::ZERO,
            vin_answer: Some(vec![0x62, 0xF1, 0x90, b'B', b'M', b'S']),
        },
    ]
}

/// The ids of the background traffic (one of them sends frames that look like flow controls).
pub const BACKGROUND_IDS: [u32; 3] = [0x0C9, 0x3E9, 0x5A0];

/// A running vehicle; dropping it stops every ECU and the background traffic.
pub struct Vehicle {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Vehicle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Starts the vehicle; `attach` gives each party its own connection to the bus.
pub fn start(attach: impl Fn() -> Box<dyn CanBus>) -> Vehicle {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for ecu in ecus() {
        let mut config = Config::default();
        config.block_size = ecu.block_size;
        config.st_min = StMin::from_byte(ecu.st_min);
        config.tx_padding = Some(0xAA);
        let extended = ecu.request_id > 0x7FF;
        let (physical, functional) = if extended {
            let own = (ecu.response_id & 0xFF) as u8;
            let physical = Address::normal_fixed_29(TESTER, own).expect("fixed address");
            // Functional requests to all (TA 0x33, ISO 15765-4) arrive on a link of their own.
            let functional = Address::builder(AddressingMode::NormalFixed29)
                .target_address(TESTER)
                .source_address(0x33)
                .rx_only()
                .build()
                .expect("functional address");
            (physical, Some(functional))
        } else {
            let physical = Address::builder(AddressingMode::Normal11)
                .txid(ecu.response_id)
                .rxid(ecu.request_id)
                .functional_rxid(0x7DF)
                .build()
                .expect("11-bit address");
            (physical, None)
        };
        let stack = Stack::new(attach(), physical, config).expect("ECU stack");
        let listener = functional.map(|a| Stack::new(attach(), a, config).expect("listener"));
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            serve(&ecu, &stack, listener.as_ref(), &stop)
        }));
    }
    let bus = attach();
    let quiet = stop.clone();
    threads.push(std::thread::spawn(move || background(bus.as_ref(), &quiet)));
    Vehicle { stop, threads }
}

fn serve(ecu: &Ecu, stack: &Stack, listener: Option<&Stack>, stop: &AtomicBool) {
    let wait = Some(Duration::from_millis(20));
    while !stop.load(Ordering::SeqCst) {
        let request = match listener {
            Some(l) => match l.recv(wait) {
                Ok(Some(r)) => Some(r),
                _ => stack.try_recv(),
            },
            None => stack.recv(wait).ok().flatten(),
        };
        let Some(request) = request else { continue };
        let answer = match request.as_slice() {
            [0x09, 0x02] | [0x22, 0xF1, 0x90] => ecu.vin_answer.clone(),
            [0x3E, 0x00] if ecu.vin_answer.is_some() => Some(vec![0x7E, 0x00]),
            _ => None,
        };
        if let Some(answer) = answer {
            std::thread::sleep(ecu.delay);
            let _ = stack.send_blocking(&answer, Some(Duration::from_secs(5)));
        }
    }
}

/// Other nodes' traffic: periodic frames, one id sending bytes that parse as a flow control.
fn background(bus: &dyn CanBus, stop: &AtomicBool) {
    let mut n: u8 = 0;
    while !stop.load(Ordering::SeqCst) {
        for id in BACKGROUND_IDS {
            let data = if id == 0x5A0 {
                [0x30, 0x00, 0x00, n, 0, 0, 0, 0]
            } else {
                [n, n ^ 0x5A, 0x11, 0x22, 0x33, 0x44, 0x55, n]
            };
            let frame = Frame::new(CanId::standard(id).expect("11-bit"), &data).expect("frame");
            let _ = bus.send(&frame);
        }
        n = n.wrapping_add(1);
        std::thread::sleep(Duration::from_millis(3));
    }
}
