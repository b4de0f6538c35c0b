//! A simulated vehicle on any bus, for trying `isotp request` and `isotp scan`:
//!
//! ```text
//! isotp hub &
//! cargo run -p isotp --example vehicle -- socketcand://127.0.0.1:29536/car
//! isotp scan -i socketcand://127.0.0.1:29536/car --ids 7DF-7EF
//! ```
//!
//! OBD-II ECUs on 7E0-7E5 (answers of different sizes, one slow, one silent), UDS ECUs on 29-bit
//! normal fixed addresses 0x10 and 0x17, and background traffic. Runs until interrupted.

#[allow(dead_code)] // the tests use more of it than this example
#[path = "../tests/isotp/vehicle.rs"]
mod vehicle;

fn main() {
    let Some(iface) = std::env::args().nth(1) else {
        eprintln!("usage: vehicle IFACE (for example socketcand://127.0.0.1:29536/car)");
        std::process::exit(2);
    };
    if let Err(e) = isotp::bus::open(&iface) {
        eprintln!("vehicle: cannot open {iface}: {e}");
        std::process::exit(2);
    }
    let _vehicle = vehicle::start(|| isotp::bus::open(&iface).expect("the bus opened before"));
    println!("vehicle running on {iface}");
    loop {
        std::thread::park();
    }
}
