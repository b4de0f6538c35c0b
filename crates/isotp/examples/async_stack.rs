//! `AsyncStack`: an ECU task answering several concurrent tester tasks over tokio.
//!
//! `cargo run -p isotp --example async_stack`

use isotp::{bus::VirtualBus, Address, AsyncStack, Config};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bus = VirtualBus::new();
    let address = Address::normal_11(0x7E0, 0x7E8)?;
    let tester = AsyncStack::new(bus.attach(), address, Config::default())?;
    let ecu = AsyncStack::new(bus.attach(), address.mirrored()?, Config::default())?;

    // The ECU echoes each request back with the positive-response bit set.
    let server = tokio::spawn(async move {
        for _ in 0..4 {
            let mut request = ecu.recv().await?;
            request[0] |= 0x40;
            ecu.send(&request).await?;
        }
        Ok::<_, isotp::StackError>(())
    });

    // One request at a time here; clones of the stack may also send from many tasks at once.
    for sid in [0x10u8, 0x22, 0x31, 0x3E] {
        let mut request = vec![sid];
        request.extend_from_slice(&[sid; 40]);
        tester.send(&request).await?;
        let response = tester.recv().await?;
        println!(
            "request 0x{sid:02X}: {} bytes answered with 0x{:02X}",
            request.len(),
            response[0]
        );
    }
    server.await??;
    Ok(())
}
