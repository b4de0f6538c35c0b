//! Calendar dates to and from Unix time (proleptic Gregorian), for the headers of ASC, BLF and TRC
//! files, in UTC or in the local time zone ([`Zone`]).

use std::time::Duration;

use chrono::{LocalResult, Offset, TimeZone as _};

/// The time zone of the calendar dates in a file's header: the ASC `date` line and the BLF start
/// and stop SYSTEMTIMEs. Vector's tools write and read them in local time, and so do Wireshark and
/// python-can's ASC reader; some writers (python-can 4.6's BLF writer) use UTC.
///
/// ```
/// use std::io::Cursor;
/// use std::time::Duration;
/// use isotp_capture::{Channel, Format, Record, Writer, Zone};
///
/// let record = Record {
///     time: Duration::from_secs(1_700_000_000),
///     channel: Channel::Number(1),
///     direction: None,
///     frame: "7E0#00".parse()?,
/// };
/// let mut w = Writer::with_zone(Cursor::new(Vec::new()), Format::Asc, Zone::Utc)?;
/// w.write(&record)?;
/// let asc = String::from_utf8(w.finish()?.into_inner()).unwrap();
/// assert!(asc.starts_with("date Tue Nov 14 22:13:20.000 2023"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Zone {
    /// The zone of the machine (the `TZ` variable, else the system's setting), as Vector writes.
    #[default]
    Local,
    /// UTC.
    Utc,
}

impl Zone {
    /// The calendar date and time of `t` (since the Unix epoch) in this zone.
    pub(crate) fn civil(self, t: Duration) -> DateTime {
        let offset = match self {
            Zone::Utc => 0,
            Zone::Local => local_offset_at(t.as_secs()),
        };
        DateTime::from_unix(shift(t, offset))
    }

    /// The time since the Unix epoch of a calendar date and time in this zone. In local time, a
    /// time that occurs twice (when clocks go back) is the first of them; one that does not occur
    /// (when they go forward) is read with the offset before the change.
    pub(crate) fn unix(self, d: DateTime) -> Duration {
        let as_utc = d.to_unix();
        match self {
            Zone::Utc => as_utc,
            Zone::Local => shift(as_utc, -local_offset_of_wall(as_utc.as_secs())),
        }
    }
}

fn naive(secs: u64) -> Option<chrono::NaiveDateTime> {
    chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, 0).map(|t| t.naive_utc())
}

/// Seconds east of UTC of the local zone at `secs` since the epoch.
fn local_offset_at(secs: u64) -> i64 {
    naive(secs).map_or(0, |t| {
        i64::from(
            chrono::Local
                .offset_from_utc_datetime(&t)
                .fix()
                .local_minus_utc(),
        )
    })
}

/// Seconds east of UTC of the local zone when the wall clock shows `secs` (a local date counted as
/// if it were UTC).
fn local_offset_of_wall(secs: u64) -> i64 {
    let Some(wall) = naive(secs) else { return 0 };
    let seconds = |o: chrono::FixedOffset| i64::from(o.local_minus_utc());
    match chrono::Local.offset_from_local_datetime(&wall) {
        LocalResult::Single(o) => seconds(o.fix()),
        // The first of the two instants is the one with the larger offset.
        LocalResult::Ambiguous(a, b) => seconds(a.fix()).max(seconds(b.fix())),
        // In a gap: the offset of the day before, in effect until the clocks went forward.
        LocalResult::None => {
            let before = wall - chrono::TimeDelta::days(1);
            seconds(chrono::Local.offset_from_utc_datetime(&before).fix())
        }
    }
}

/// `t` moved by `secs`, not before the epoch.
fn shift(t: Duration, secs: i64) -> Duration {
    if secs >= 0 {
        t.saturating_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        t.saturating_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

/// A calendar date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub year: i64,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
}

/// Days since 1970-01-01 of a date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
// The day of the month is 1 to 31 and the month 1 to 12 by construction.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl DateTime {
    /// Checks the fields; `None` when one is out of range.
    pub(crate) fn valid(self) -> Option<DateTime> {
        let days_in_month = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0) => 29,
            2 => 28,
            _ => return None,
        };
        (self.day >= 1
            && self.day <= days_in_month
            && self.hour < 24
            && self.minute < 60
            && self.second < 61
            && self.nanos < 1_000_000_000
            && (1970..=9999).contains(&self.year))
        .then_some(self)
    }

    /// Time since the Unix epoch.
    pub(crate) fn to_unix(self) -> Duration {
        // A date before 1970 is the epoch.
        let days = u64::try_from(days_from_civil(self.year, self.month, self.day)).unwrap_or(0);
        let secs = days * 86_400
            + u64::from(self.hour) * 3600
            + u64::from(self.minute) * 60
            + u64::from(self.second);
        Duration::new(secs, self.nanos)
    }

    pub(crate) fn from_unix(t: Duration) -> DateTime {
        let secs = t.as_secs();
        // Any u64 of seconds is fewer than i64::MAX days.
        let (year, month, day) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(i64::MAX));
        let rem = secs % 86_400;
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
            nanos: t.subsec_nanos(),
        }
    }

    /// 0 = Sunday.
    pub(crate) fn weekday(self) -> u32 {
        let day = (days_from_civil(self.year, self.month, self.day) + 4).rem_euclid(7);
        u32::try_from(day).unwrap_or(0)
    }
}

/// `t` cut down to the whole millisecond (the start times of ASC and BLF headers).
pub(crate) fn whole_millis(t: Duration) -> Duration {
    Duration::new(t.as_secs(), t.subsec_millis() * 1_000_000)
}

pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
pub(crate) const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// A month from its English or German abbreviation (Vector tools write the local language).
pub(crate) fn month(name: &[u8]) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    // Mär in UTF-8 or Latin-1.
    if lower == "m\u{e4}r".as_bytes() || lower == b"m\xe4r" {
        return Some(3);
    }
    let n = match lower.get(..3)? {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" | b"mai" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" | b"okt" => 10,
        b"nov" => 11,
        b"dec" | b"dez" => 12,
        _ => return None,
    };
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs with the TZ of the process; scripts/capture-tests runs it again with TZ=Europe/Berlin.
    #[test]
    fn local_and_utc_zones_invert_each_other() {
        for t in [
            0u64,
            1_700_000_000,
            1_711_846_800,
            1_729_987_200,
            4_102_444_799,
        ] {
            for zone in [Zone::Utc, Zone::Local] {
                let t = Duration::new(t, 123_000_000);
                assert_eq!(zone.unix(zone.civil(t)), t, "{zone:?} {t:?}");
            }
        }
        if std::env::var("TZ").as_deref() == Ok("Europe/Berlin") {
            // 2023-11-14 22:13:20 UTC is 23:13:20 in Berlin (CET); 2024-07-01 12:00 UTC is 14:00 (CEST).
            let d = Zone::Local.civil(Duration::from_secs(1_700_000_000));
            assert_eq!((d.day, d.hour, d.minute), (14, 23, 13));
            assert_eq!(
                Zone::Local.civil(Duration::from_secs(1_719_835_200)).hour,
                14
            );
        }
    }

    #[test]
    fn round_trips() {
        for t in [0u64, 951_782_400, 1_700_000_000, 4_102_444_799] {
            let d = DateTime::from_unix(Duration::from_secs(t));
            assert_eq!(d.to_unix().as_secs(), t, "{d:?}");
        }
        let d = DateTime::from_unix(Duration::from_secs(1_700_000_000));
        assert_eq!((d.year, d.month, d.day, d.hour), (2023, 11, 14, 22));
        assert_eq!(WEEKDAYS[d.weekday() as usize], "Tue");
        assert_eq!(days_from_civil(1899, 12, 30), -25_569);
        assert_eq!(month(b"M\xc3\xa4r"), Some(3));
        assert_eq!(month(b"Okt"), Some(10));
        assert_eq!(month(b"xx"), None);
    }
}
