//! Database timestamps (seconds since the Unix epoch, `i64`) as RFC 3339 UTC text, for any
//! stored value: humantime's formatter panics past the year 9999, and a token stored by an
//! older Lookout with `--expires 2933000d` must still list.

/// `2026-11-23T09:20:00Z`; years outside 0000..=9999 get a sign and more digits, as ISO 8601's
/// expanded years do (`+10000-01-01T00:00:00Z`, `-0001-12-31T23:59:59Z`). Never panics.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let in_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (in_day / 3600, in_day / 60 % 60, in_day % 60);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{year:+05}")
    };
    format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

/// The proleptic Gregorian date of a day count since 1970-01-01: Howard Hinnant's
/// `civil_from_days` (<https://howardhinnant.github.io/date_algorithms.html>). `days` is at
/// most `i64::MAX / 86_400`, so nothing here can overflow an `i64`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn agrees_with_humantime_where_it_works() {
        for secs in [0, 1, 86_399, 951_782_400, 1_700_000_000, 253_402_300_799] {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
            assert_eq!(
                rfc3339(secs),
                humantime::format_rfc3339_seconds(t).to_string()
            );
        }
    }

    #[test]
    fn any_stored_value_formats() {
        assert_eq!(rfc3339(253_402_300_800), "+10000-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(-62_167_219_201), "-0001-12-31T23:59:59Z");
        // `token create --expires 2933000d` as an older Lookout stored it (GNU date agrees).
        assert_eq!(
            rfc3339(1_700_000_000 + 2_933_000 * 86_400),
            "+10054-02-24T22:13:20Z"
        );
        assert_eq!(rfc3339(i64::MAX), "+292277026596-12-04T15:30:07Z");
        assert!(rfc3339(i64::MIN).starts_with("-292277022657-"));
    }
}
