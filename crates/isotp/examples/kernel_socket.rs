//! The kernel's own ISO-TP (CAN_ISOTP) through `isotp::kernel::KernelSocket`.
//!
//! ```sh
//! sudo ip link add dev vcan0 type vcan && sudo ip link set vcan0 mtu 72 up
//! cargo run -p isotp --example kernel_socket -- vcan0
//! ```
//!
//! Opens two kernel sockets facing each other (a tester on 0x7E0/0x7E8 and an ECU on 0x7E8/0x7E0),
//! sends a request and a 300-byte response over CAN FD, and prints what arrived. Linux only.

#[cfg(target_os = "linux")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use isotp::kernel::{KernelOptions, KernelSocket};
    use isotp::{CanId, LinkLayer};
    use isotp_core::wire::StMin;
    use std::time::Duration;

    let iface = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "vcan0".to_string());
    let (tester_id, ecu_id) = (CanId::standard(0x7E0)?, CanId::standard(0x7E8)?);
    let fd = LinkLayer::fd(64, true);

    // The tester pads its frames and asks the ECU for blocks of 8 frames, 1 ms apart.
    let tester = KernelSocket::open(
        &iface,
        KernelOptions::new(tester_id, ecu_id)
            .tx_padding(0xCC)
            .flow_control(8, StMin::from_byte(0x01))
            .link_layer(fd),
    )?;
    let ecu = KernelSocket::open(&iface, KernelOptions::new(ecu_id, tester_id).link_layer(fd))?;

    tester.send_blocking(&[0x22, 0xF1, 0x90], Some(Duration::from_secs(2)))?;
    let request = ecu
        .recv(Some(Duration::from_secs(2)))?
        .ok_or("no request arrived")?;
    println!("ECU got request {request:02X?}");

    let mut response = vec![0x62, 0xF1, 0x90];
    response.extend((0..297u32).map(|i| i.to_le_bytes()[0]));
    ecu.send_blocking(&response, Some(Duration::from_secs(5)))?;
    match tester.recv(Some(Duration::from_secs(5))) {
        Ok(Some(r)) => println!(
            "tester got a {}-byte response starting {:02X?}",
            r.len(),
            &r[..3]
        ),
        Ok(None) => println!("no response within 5 s"),
        // Failed transfers arrive as errors that say what happened, e.g. ECOMM: no flow control.
        Err(e) => println!("the response failed: {e}"),
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the kernel's CAN_ISOTP sockets exist on Linux only");
}
