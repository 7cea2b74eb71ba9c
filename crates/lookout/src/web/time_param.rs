//! Times in query parameters (`?start=`, `?from=`): Unix seconds, whole or with a fraction
//! (as `started_at` and `X-Timestamp` write them), or RFC 3339 in UTC.

use super::ApiError;
use std::time::UNIX_EPOCH;

/// Seconds past this are not a time but a mistake (milliseconds given as seconds): the year
/// 5138.
const MAX_UNIX_SECS: f64 = 1e11;

/// `value` of parameter `name` as milliseconds since the Unix epoch.
pub fn parse_ms(name: &str, value: &str) -> Result<i64, ApiError> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && (0.0..MAX_UNIX_SECS).contains(&secs) {
            // In range (checked above), so the cast neither saturates nor wraps.
            return Ok((secs * 1000.0).round() as i64);
        }
    } else if let Ok(t) = humantime::parse_rfc3339_weak(v)
        && let Ok(d) = t.duration_since(UNIX_EPOCH)
        && let Ok(ms) = i64::try_from(d.as_millis())
    {
        return Ok(ms);
    }
    Err(ApiError::bad_request(format!(
        "{name} must be a time: Unix seconds (1796606795 or 1796606795.951) or RFC 3339 in UTC (2026-12-07T04:00:00Z); got {value:?}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_rfc3339_are_read_and_the_rest_refused() {
        assert_eq!(parse_ms("start", "1796606795").unwrap(), 1_796_606_795_000);
        assert_eq!(
            parse_ms("start", "1796606795.951").unwrap(),
            1_796_606_795_951
        );
        assert_eq!(
            parse_ms("start", "2026-12-07T04:00:00Z").unwrap(),
            1_796_616_000_000
        );
        for bad in ["", "yesterday", "-5", "1796606795951", "NaN", "inf"] {
            let e = parse_ms("start", bad).unwrap_err();
            assert_eq!(e.status(), http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
