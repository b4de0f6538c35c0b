//! What every module needs: the binary, run with a clean environment.

use std::time::Duration;

use assert_cmd::Command;

/// The `isotp` binary, without ISOTP_IFACE or NO_COLOR from the caller's environment, and with a
/// bound on how long it may run.
pub fn isotp() -> Command {
    let mut c = Command::cargo_bin("isotp").expect("the isotp binary is built");
    c.env_remove("ISOTP_IFACE")
        .env_remove("NO_COLOR")
        .timeout(Duration::from_secs(30));
    c
}

/// Standard output of a finished command, as text.
pub fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}
