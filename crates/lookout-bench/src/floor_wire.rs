//! The bytes `lookout-bench floor-server` sends: the same HTTP/1.1 response head, chunk
//! framing and multipart parts as Lookout's `stream.mjpeg` for a program (no `Sec-Fetch-Dest`),
//! so that the floor delivers exactly what Lookout delivers. Lookout's integration tests compare
//! these against the real server byte for byte (`crates/lookout/tests/it/floor_wire.rs`).

use std::time::{SystemTime, UNIX_EPOCH};

/// The response head before its `date` line, as Lookout (hyper, with the security headers of
/// `web/security_headers.rs` and the stream's own of `web/stream.rs`) writes it for a
/// `Connection: close` request.
const HEAD_BEFORE_DATE: &str = "HTTP/1.1 200 OK\r\n\
content-type: multipart/x-mixed-replace;boundary=boundarydonotcross\r\n\
cache-control: no-store, no-cache, must-revalidate, max-age=0\r\n\
pragma: no-cache\r\n\
x-accel-buffering: no\r\n\
content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'\r\n\
x-content-type-options: nosniff\r\n\
x-frame-options: DENY\r\n\
referrer-policy: same-origin\r\n\
connection: close\r\n\
transfer-encoding: chunked\r\n";

/// The body's first bytes, before any frame.
const FIRST_DELIMITER: &[u8] = b"--boundarydonotcross\r\n";

/// What ends each part and opens the next.
const DELIMITER: &[u8] = b"\r\n--boundarydonotcross\r\n";

/// The response head with `date` (an IMF-fixdate, RFC 9110 §5.6.7) as its `date` line.
pub fn response_head(date: &str) -> Vec<u8> {
    format!("{HEAD_BEFORE_DATE}date: {date}\r\n\r\n").into_bytes()
}

/// The first chunk of the body: the first delimiter, in HTTP/1.1 chunked framing (RFC 9112
/// §7.1: size in hex, CRLF, data, CRLF).
pub fn first_chunk() -> Vec<u8> {
    chunk(&[FIRST_DELIMITER])
}

/// One frame as one chunk: the part's head, the JPEG and the delimiter after it, which is what
/// Lookout puts in one body chunk per frame; `captured` becomes its `X-Timestamp`.
pub fn frame_chunk(jpeg: &[u8], captured: SystemTime) -> Vec<u8> {
    let head = format!(
        "Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: {}\r\n\r\n",
        jpeg.len(),
        unix_timestamp(captured)
    );
    chunk(&[head.as_bytes(), jpeg, DELIMITER])
}

fn chunk(pieces: &[&[u8]]) -> Vec<u8> {
    let len: usize = pieces.iter().map(|p| p.len()).sum();
    // Upper-case hex digits, as hyper writes them (RFC 9112 allows either case).
    let size_line = format!("{len:X}\r\n");
    let mut out = Vec::with_capacity(size_line.len() + len + 2);
    out.extend_from_slice(size_line.as_bytes());
    for p in pieces {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Seconds since the Unix epoch with microseconds, as Lookout's `X-Timestamp`.
fn unix_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

/// `t` as an IMF-fixdate (`Mon, 07 Dec 2026 10:20:42 GMT`), the form of HTTP's `Date` header.
pub fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 to (year, month 1–12, day 1–31) in the proleptic Gregorian calendar:
/// Howard Hinnant's `civil_from_days`, counting in 400-year eras of 146,097 days from
/// 0000-03-01 so that the leap day ends a year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of the era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of the era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn http_dates_match_known_days() {
        assert_eq!(http_date(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        // RFC 9110's own example.
        assert_eq!(http_date(at(784_111_777)), "Sun, 06 Nov 1994 08:49:37 GMT");
        // A leap day, and the day after it.
        assert_eq!(http_date(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(at(951_868_799)), "Tue, 29 Feb 2000 23:59:59 GMT");
        assert_eq!(http_date(at(951_868_800)), "Wed, 01 Mar 2000 00:00:00 GMT");
        // Read from a Lookout response while writing this.
        assert_eq!(
            http_date(at(1_796_638_842)),
            "Mon, 07 Dec 2026 10:20:42 GMT"
        );
    }

    #[test]
    fn a_frame_is_one_chunk_of_head_jpeg_and_delimiter() {
        let jpeg = [0xff, 0xd8, 0xff, 0xd9];
        let t = UNIX_EPOCH + Duration::from_micros(1_796_638_842_934_812);
        let head = "Content-Type: image/jpeg\r\nContent-Length: 4\r\nX-Timestamp: 1796638842.934812\r\n\r\n";
        let mut want = format!("{:X}\r\n{head}", head.len() + 4 + DELIMITER.len()).into_bytes();
        want.extend_from_slice(&jpeg);
        want.extend_from_slice(b"\r\n--boundarydonotcross\r\n\r\n");
        assert_eq!(frame_chunk(&jpeg, t), want);
        assert_eq!(first_chunk(), b"16\r\n--boundarydonotcross\r\n\r\n");
        // 81 bytes of part head, 835 of JPEG, 24 of delimiter: 940 = 0x3AC, in upper case.
        assert!(frame_chunk(&[0; 835], t).starts_with(b"3AC\r\n"));
        let head = String::from_utf8(response_head("D")).expect("ASCII");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.ends_with("transfer-encoding: chunked\r\ndate: D\r\n\r\n"),
            "{head}"
        );
    }
}
