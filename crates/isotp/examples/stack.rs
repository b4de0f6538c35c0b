//! A tester and an ECU, each a blocking `Stack`, exchanging a UDS request and a multi-frame response.
//!
//! `cargo run -p isotp --example stack [INTERFACE]` — by default on an in-process virtual bus; give an
//! interface such as `socketcand://127.0.0.1:29536/can0` (with `isotp hub` running) to use a real one.

use std::time::Duration;

use isotp::{bus, Address, Config, Stack};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "virtual:example".into());
    let address = Address::normal_11(0x7E0, 0x7E8)?;
    let tester = Stack::new(bus::open(&spec)?, address, Config::default())?;
    let ecu = Stack::new(bus::open(&spec)?, address.mirrored()?, Config::default())?;

    let ecu_thread = std::thread::spawn(move || -> Result<(), isotp::StackError> {
        let request = ecu.recv(Some(Duration::from_secs(2)))?.unwrap_or_default();
        println!("ECU    <- {}", hex(&request));
        let mut response = vec![0x62, 0xF1, 0x90];
        response.extend_from_slice(b"WVWZZZ1JZXW000001");
        ecu.send_blocking(&response, Some(Duration::from_secs(2)))
    });

    tester.send_blocking(&[0x22, 0xF1, 0x90], Some(Duration::from_secs(2)))?;
    let response = tester
        .recv(Some(Duration::from_secs(2)))?
        .ok_or("no response within 2 s")?;
    println!("tester <- {}", hex(&response));
    println!("VIN: {}", String::from_utf8_lossy(&response[3..]));
    ecu_thread.join().map_err(|_| "ECU thread panicked")??;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}
