//! `isotp hub`: the library's socketcand-compatible server of virtual CAN buses.

use isotp_hub::Hub;

use crate::cli::HubArgs;
use crate::error::{CliError, CliResult};
use crate::output::Out;

/// Runs `isotp hub` until the process is interrupted.
pub fn run(args: &HubArgs) -> CliResult {
    crate::logger::init(log::Level::Info);
    // The library's error names the address and what to do.
    let hub = Hub::bind(args.listen).map_err(|e| CliError::usage(e.to_string()))?;
    // Printed once the hub accepts connections, so scripts can wait for this line.
    Out::live().line(&format!("listening on {}", hub.local_addr()))?;
    loop {
        std::thread::park();
    }
}
