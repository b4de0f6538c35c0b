//! Log records of the library (the hub's connects and disconnects) on standard error.

use std::io::Write;

use log::{Level, Log, Metadata, Record};

struct StderrLogger {
    level: Level,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level && metadata.target().starts_with("isotp")
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = match record.level() {
                Level::Error => "error: ",
                Level::Warn => "warning: ",
                _ => "",
            };
            let _ = writeln!(std::io::stderr(), "isotp: {level}{}", record.args());
        }
    }

    fn flush(&self) {}
}

/// Sends the library's records up to `level` to standard error (once; later calls do nothing).
pub fn init(level: Level) {
    let logger = Box::leak(Box::new(StderrLogger { level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level.to_level_filter());
    }
}
