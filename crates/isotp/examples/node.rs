//! `Node`: one tester talking to 100 simulated ECUs at once, every link on one bus and one thread.
//!
//! `cargo run -p isotp --example node`

use std::time::{Duration, Instant};

use isotp::{bus::VirtualBus, Address, Config, Node};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bus = VirtualBus::new();
    let tester = Node::new(bus.attach());
    let ecus = Node::new(bus.attach());
    let mut links = Vec::new();
    for i in 0..100u32 {
        // 29-bit fixed-style ids: one pair per ECU.
        let address = Address::normal_29(0x18DA_0000 | (i << 8) | 0xF1, 0x18DA_F100 | i)?;
        links.push((
            tester.add(address, Config::default())?,
            ecus.add(address.mirrored()?, Config::default())?,
        ));
    }
    let start = Instant::now();
    for (t, _) in &links {
        t.send(&[0x22, 0xF1, 0x90])?; // every ECU is asked at once
    }
    for (i, (t, e)) in links.iter().enumerate() {
        e.recv(Some(Duration::from_secs(5)))?.ok_or("no request")?;
        e.send(format!("ECU {i:03} VIN WVWZZZ1JZXW{i:06}").as_bytes())?;
        let answer = t.recv(Some(Duration::from_secs(5)))?.ok_or("no answer")?;
        if i % 25 == 0 {
            println!("{}", String::from_utf8_lossy(&answer));
        }
    }
    println!(
        "100 requests and multi-frame answers in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
