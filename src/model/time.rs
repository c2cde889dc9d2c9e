//! Dates in configs: `until` and `expires` accept a day (`2026-12-31`, valid
//! through the end of that day, UTC) or an RFC 3339 instant.

use jiff::{Timestamp, civil::Date, tz::TimeZone};

/// The instant at which something given as `value` stops being valid.
pub fn parse_until(value: &str) -> Option<Timestamp> {
    if let Ok(ts) = value.parse::<Timestamp>() {
        return Some(ts);
    }
    let date: Date = value.parse().ok()?;
    let next = date.tomorrow().ok()?;
    TimeZone::UTC.to_timestamp(next.at(0, 0, 0, 0)).ok()
}
