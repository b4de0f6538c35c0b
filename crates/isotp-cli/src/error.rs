//! How a command fails: a one-line message for standard error and the process exit code.
//!
//! Exit codes: 0 success, 1 a protocol failure or a timeout (the command ran but the link did not
//! deliver), 2 a usage or interface error (the command could not start as asked).

use std::fmt;
use std::io;

/// Exit code of a command that ran but whose transfer failed or timed out.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a command given bad arguments, bad input, or an interface it cannot open.
pub const EXIT_USAGE: u8 = 2;

/// A command's failure.
#[derive(Debug)]
pub struct CliError {
    /// The process exit code.
    pub code: u8,
    /// What went wrong, in one line; empty for a silent exit (the reader of stdout went away).
    pub message: String,
}

impl CliError {
    /// Bad arguments or input, or an interface that cannot be opened (exit code 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// A transfer failed or timed out (exit code 1).
    pub fn failure(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// Writing the output failed. A closed pipe (`isotp recv -l | head -1`) ends the command quietly
    /// and successfully, as can-utils' tools end on SIGPIPE.
    pub fn output(e: io::Error) -> CliError {
        if e.kind() == io::ErrorKind::BrokenPipe {
            CliError {
                code: 0,
                message: String::new(),
            }
        } else {
            CliError::failure(format!("cannot write the output: {e}"))
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A stack's error as a command failure: a refused message or configuration is a usage error (2),
/// a failed transfer, a timeout or a failing bus a failure (1).
pub fn from_stack(e: isotp::StackError) -> CliError {
    use isotp::StackError as E;
    match e {
        E::Send(e) => CliError::usage(e.to_string()),
        E::Config(e) => CliError::usage(format!("invalid link options: {e}")),
        E::Timeout { waited, what } => CliError::failure(format!(
            "timed out after {} waiting for {what}",
            crate::output::seconds_text(waited)
        )),
        other => CliError::failure(other.to_string()),
    }
}

/// The result of a command or of one of its steps.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipe_is_a_quiet_success() {
        let e = CliError::output(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.code, 0);
        assert!(e.message.is_empty());
    }

    #[test]
    fn other_output_errors_are_failures() {
        let e = CliError::output(io::Error::other("disk full"));
        assert_eq!(e.code, EXIT_FAILURE);
        assert!(e.message.contains("disk full"));
    }
}
