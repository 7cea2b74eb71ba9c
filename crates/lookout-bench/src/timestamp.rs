//! `X-Timestamp` values: seconds since the Unix epoch with an optional fraction, as
//! mjpg-streamer, µStreamer and Lookout send them (`1763888400.123456`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses `SECONDS[.FRACTION]`; digits past nanoseconds are ignored. `None` if malformed.
pub fn parse_unix_timestamp(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if secs.is_empty() || !all_digits(secs) || !all_digits(frac) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let nanos = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::new(secs, nanos))
    }

    #[test]
    fn parses_micros_millis_nanos_and_whole_seconds() {
        assert_eq!(
            parse_unix_timestamp("1763888400.123456"),
            at(1763888400, 123_456_000)
        );
        assert_eq!(
            parse_unix_timestamp("1763888400.5"),
            at(1763888400, 500_000_000)
        );
        assert_eq!(parse_unix_timestamp("1.1234567891"), at(1, 123_456_789));
        assert_eq!(parse_unix_timestamp(" 42 "), at(42, 0));
        assert_eq!(parse_unix_timestamp("42."), at(42, 0));
    }

    #[test]
    fn rejects_signs_letters_and_empty() {
        for bad in [
            "",
            ".5",
            "-1.0",
            "+1",
            "1.2.3",
            "1e9",
            "abc",
            "1.-5",
            "99999999999999999999",
        ] {
            assert_eq!(parse_unix_timestamp(bad), None, "{bad:?}");
        }
    }
}
