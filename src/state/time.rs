//! The one formatter of instants: Telegram and the store count time in Unix
//! seconds, people read RFC 3339. Every renderer, report and message that
//! shows a time goes through here, so they all print the same thing.

/// A Unix time as an RFC 3339 instant (`2026-11-27T12:00:00Z`); a number
/// outside jiff's range is printed as it is.
pub fn instant_text(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| unix.to_string())
}

/// A Unix time for a message to a person (`2026-11-27 12:00 UTC`); empty
/// when out of range.
pub fn minute_text(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_as_rfc3339_and_never_fail() {
        assert_eq!(instant_text(1_795_003_200), "2026-11-18T12:00:00Z");
        assert_eq!(instant_text(i64::MAX), i64::MAX.to_string());
        assert_eq!(minute_text(1_795_003_200), "2026-11-18 12:00 UTC");
        assert_eq!(minute_text(i64::MAX), "");
    }
}
