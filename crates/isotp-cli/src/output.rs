//! Where output goes and how it looks: standard output that survives a closed pipe, colour only on a
//! terminal (and never with NO_COLOR), timestamps as candump shows them, and small JSON objects.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::ValueEnum;
use isotp_core::monitor::{Evictions, MonitorConfig};

use crate::error::{CliError, CliResult};

/// A wall-clock time in microseconds since the Unix epoch (what candump logs carry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// From microseconds since the epoch.
    pub const fn from_micros(micros: u64) -> Timestamp {
        Timestamp(micros)
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// The current wall-clock time.
    pub fn now() -> Timestamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    /// Seconds with six decimals: `1700000000.123456`.
    pub fn seconds(self) -> String {
        format!("{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// A duration for people: `0.2 s`, `1 s`, `1.5 s`, `250 ms`... as a seconds figure.
pub fn seconds_text(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        let s = format!("{:.3}", d.as_secs_f64());
        format!("{} s", s.trim_end_matches('0'))
    }
}

/// Maps the monotonic clock onto wall-clock [`Timestamp`]s, so that times of live traffic are both
/// steady and readable.
#[derive(Clone, Copy, Debug)]
pub struct LiveClock {
    start: std::time::Instant,
    start_wall: Timestamp,
}

impl LiveClock {
    /// A clock anchored now.
    pub fn new() -> LiveClock {
        LiveClock {
            start: std::time::Instant::now(),
            start_wall: Timestamp::now(),
        }
    }

    /// The wall-clock time of a monotonic instant.
    pub fn at(&self, t: std::time::Instant) -> Timestamp {
        let micros = if t >= self.start {
            self.start_wall.0.saturating_add(
                u64::try_from(t.duration_since(self.start).as_micros()).unwrap_or(u64::MAX),
            )
        } else {
            self.start_wall.0.saturating_sub(
                u64::try_from(self.start.duration_since(t).as_micros()).unwrap_or(u64::MAX),
            )
        };
        Timestamp(micros)
    }

    /// The wall-clock time now.
    pub fn now(&self) -> Timestamp {
        self.at(std::time::Instant::now())
    }
}

impl Default for LiveClock {
    fn default() -> Self {
        LiveClock::new()
    }
}

/// `-t`: how times are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimeMode {
    /// Absolute: seconds since the epoch, `(1700000000.123456)`.
    #[value(name = "a")]
    Absolute,
    /// Absolute with the date (UTC): `(2023-11-14 22:13:20.123456)`.
    #[value(name = "A")]
    AbsoluteDate,
    /// Delta: since the previous line.
    #[value(name = "d")]
    Delta,
    /// Zero: since the first line.
    #[value(name = "z")]
    Zero,
    /// No timestamps.
    #[value(name = "n")]
    None,
}

/// Turns capture times into the `(secs.micros)` prefix of a line, like isotpdump's `-t`.
#[derive(Clone, Debug)]
pub struct Stamper {
    mode: TimeMode,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl Stamper {
    /// A stamper in `mode`.
    pub fn new(mode: TimeMode) -> Stamper {
        Stamper {
            mode,
            first: None,
            last: None,
        }
    }

    /// The prefix for a line captured at `t` (with a trailing space), or "" without timestamps.
    pub fn stamp(&mut self, t: Timestamp) -> String {
        let first = *self.first.get_or_insert(t);
        let last = self.last.replace(t).unwrap_or(t);
        let shown = match self.mode {
            TimeMode::None => return String::new(),
            TimeMode::Absolute => t,
            TimeMode::AbsoluteDate => {
                return format!(
                    "({}) ",
                    isotp_capture::utc_text(std::time::Duration::from_micros(t.0))
                )
            }
            TimeMode::Delta => Timestamp(t.0.saturating_sub(last.0)),
            TimeMode::Zero => Timestamp(t.0.saturating_sub(first.0)),
        };
        format!("({}) ", shown.seconds())
    }
}

/// `--color`: when to colour the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM is dumb.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The colours of the output: ANSI escapes, or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    on: bool,
}

/// A colour of the palette.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// Transmitted by the -s side (isotpdump's red).
    Red,
    /// Transmitted by the -d side (isotpdump's blue).
    Blue,
    /// Flow control and notes.
    Yellow,
    /// Complete messages.
    Green,
    /// Cyan, for annotations.
    Cyan,
    /// Less important text.
    Dim,
    /// Emphasis.
    Bold,
}

impl Palette {
    /// Colour decided by `choice`, for a stream that is or is not a terminal.
    pub fn new(choice: ColorChoice, is_terminal: bool) -> Palette {
        let env_allows = std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
            && std::env::var_os("TERM").map_or(true, |t| t != "dumb");
        Palette {
            on: match choice {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => is_terminal && env_allows,
            },
        }
    }

    /// Colour decided by `choice` for standard output.
    pub fn for_stdout(choice: ColorChoice) -> Palette {
        Palette::new(choice, io::stdout().is_terminal())
    }

    /// No colour.
    #[cfg(test)]
    pub fn plain() -> Palette {
        Palette { on: false }
    }

    /// True when colours are emitted.
    #[cfg(test)]
    pub fn enabled(&self) -> bool {
        self.on
    }

    /// `text` in `color`.
    pub fn paint(&self, text: &str, color: Color) -> String {
        if !self.on || text.is_empty() {
            return text.to_string();
        }
        let code = match color {
            Color::Red => "31",
            Color::Blue => "34",
            Color::Yellow => "33",
            Color::Green => "32",
            Color::Cyan => "36",
            Color::Dim => "2",
            Color::Bold => "1",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// Standard output for results, flushed after each record when a program may be waiting for it.
pub struct Out {
    w: Box<dyn Write>,
    flush_each: bool,
}

impl Out {
    /// Standard output, flushed after every record (live commands).
    pub fn live() -> Out {
        Out {
            w: Box::new(io::stdout()),
            flush_each: true,
        }
    }

    /// Standard output, buffered (offline commands).
    pub fn buffered() -> Out {
        Out {
            w: Box::new(io::BufWriter::new(io::stdout())),
            flush_each: false,
        }
    }

    /// A line of text.
    pub fn line(&mut self, text: &str) -> CliResult {
        self.w
            .write_all(text.as_bytes())
            .and_then(|_| self.w.write_all(b"\n"))
            .map_err(CliError::output)?;
        self.maybe_flush()
    }

    /// Bytes as they are.
    pub fn bytes(&mut self, data: &[u8]) -> CliResult {
        self.w.write_all(data).map_err(CliError::output)?;
        self.maybe_flush()
    }

    fn maybe_flush(&mut self) -> CliResult {
        if self.flush_each {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> CliResult {
        self.w.flush().map_err(CliError::output)
    }
}

/// A diagnostic on standard error, prefixed with the program name.
pub fn note(message: &str) {
    let _ = writeln!(io::stderr(), "isotp: {message}");
}

/// Tells on standard error what a monitor evicted to stay within its limits: once as soon as it
/// happens, and the counts at the end. Never silent, since a message missing for an eviction would
/// otherwise look like traffic that never was.
#[derive(Default)]
pub struct EvictionNotes {
    told: bool,
}

impl EvictionNotes {
    /// Call after each frame with the monitor's counts.
    pub fn watch(&mut self, e: Evictions) {
        if !self.told && !e.is_empty() {
            self.told = true;
            note(&format!(
                "more conversations or unpaired frames at once than followed ({} conversations, {} frames kept for pairing, {} s idle at most): the excess is evicted and counted at the end",
                MonitorConfig::DEFAULT_MAX_CONVERSATIONS,
                MonitorConfig::DEFAULT_MAX_BUFFERED_FRAMES,
                MonitorConfig::DEFAULT_IDLE_TIMEOUT.as_secs()
            ));
        }
    }

    /// Call at the end with the monitor's counts.
    pub fn summary(&self, e: Evictions) {
        if e.is_empty() {
            return;
        }
        let mut text = format!(
            "evicted: {} conversations past the limit, {} idle conversations; {} frames not kept for pairing",
            e.over_limit, e.idle, e.frames_not_buffered
        );
        if e.unjudged_transfers > 0 {
            text.push_str(&format!(
                "; {} transfers in progress not judged",
                e.unjudged_transfers
            ));
        }
        note(&text);
    }
}

/// A JSON object written field by field (the output needs no more than strings, numbers, booleans,
/// null and nested objects).
#[derive(Default)]
pub struct JsonObject {
    text: String,
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> JsonObject {
        JsonObject::default()
    }

    fn key(&mut self, key: &str) {
        self.text.push(if self.text.is_empty() { '{' } else { ',' });
        push_json_string(&mut self.text, key);
        self.text.push(':');
    }

    /// A string field.
    pub fn string(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        push_json_string(&mut self.text, value);
        self
    }

    /// A field whose value is JSON already (a number, `true`, `null`, an object).
    pub fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.text.push_str(json);
        self
    }

    /// An integer field.
    pub fn int(self, key: &str, value: u64) -> Self {
        let v = value.to_string();
        self.raw(key, &v)
    }

    /// A duration as whole microseconds (saturating: no duration here comes near 584 000 years).
    pub fn micros(self, key: &str, value: Duration) -> Self {
        self.int(key, u64::try_from(value.as_micros()).unwrap_or(u64::MAX))
    }

    /// A number field with `decimals` decimals (non-finite numbers become null).
    pub fn float(self, key: &str, value: f64, decimals: usize) -> Self {
        let v = if value.is_finite() {
            format!("{value:.decimals$}")
        } else {
            "null".to_string()
        };
        self.raw(key, &v)
    }

    /// A boolean field.
    pub fn bool(self, key: &str, value: bool) -> Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// A string field, or null.
    pub fn opt_string(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.string(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// The object's text.
    pub fn finish(mut self) -> String {
        if self.text.is_empty() {
            self.text.push('{');
        }
        self.text.push('}');
        self.text
    }
}

/// Appends `s` as a JSON string (quoted, escaped).
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_show_six_decimals() {
        assert_eq!(
            Timestamp::from_micros(1_700_000_000_000_042).seconds(),
            "1700000000.000042"
        );
        let mut abs = Stamper::new(TimeMode::Absolute);
        assert_eq!(abs.stamp(Timestamp::from_micros(1_500_000)), "(1.500000) ");
        let mut delta = Stamper::new(TimeMode::Delta);
        assert_eq!(
            delta.stamp(Timestamp::from_micros(1_000_000)),
            "(0.000000) "
        );
        assert_eq!(
            delta.stamp(Timestamp::from_micros(1_000_250)),
            "(0.000250) "
        );
        assert_eq!(
            delta.stamp(Timestamp::from_micros(1_000_500)),
            "(0.000250) "
        );
        let mut zero = Stamper::new(TimeMode::Zero);
        zero.stamp(Timestamp::from_micros(5_000_000));
        assert_eq!(zero.stamp(Timestamp::from_micros(7_000_001)), "(2.000001) ");
        let mut none = Stamper::new(TimeMode::None);
        assert_eq!(none.stamp(Timestamp::from_micros(1)), "");
    }

    #[test]
    fn durations_for_people() {
        use std::time::Duration;
        assert_eq!(seconds_text(Duration::from_millis(200)), "0.2 s");
        assert_eq!(seconds_text(Duration::from_secs(1)), "1 s");
        assert_eq!(seconds_text(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds_text(Duration::from_millis(1)), "0.001 s");
    }

    #[test]
    fn live_clock_is_monotonic_and_near_wall_time() {
        let c = LiveClock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        let wall = Timestamp::now().as_micros();
        assert!(wall.abs_diff(a.as_micros()) < 5_000_000);
    }

    #[test]
    fn palette_off_is_plain() {
        assert_eq!(Palette::plain().paint("x", Color::Red), "x");
        let on = Palette::new(ColorChoice::Always, false);
        assert_eq!(on.paint("x", Color::Red), "\x1b[31mx\x1b[0m");
        assert!(!Palette::new(ColorChoice::Auto, false).enabled());
        assert!(!Palette::new(ColorChoice::Never, true).enabled());
    }

    #[test]
    fn json_objects() {
        let j = JsonObject::new()
            .string("a", "x\"y\n")
            .int("n", 3)
            .float("f", 1.5, 2)
            .bool("b", true)
            .opt_string("o", None)
            .raw("r", &JsonObject::new().int("p50", 7).finish())
            .finish();
        assert_eq!(
            j,
            r#"{"a":"x\"y\n","n":3,"f":1.50,"b":true,"o":null,"r":{"p50":7}}"#
        );
        assert_eq!(JsonObject::new().finish(), "{}");
        assert_eq!(
            JsonObject::new().float("x", f64::NAN, 1).finish(),
            r#"{"x":null}"#
        );
    }
}
