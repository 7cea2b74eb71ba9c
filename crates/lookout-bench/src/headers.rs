//! Header fields: parsing one `Name: value` line (RFC 9112 §5) and case-insensitive lookup.

use std::io;

/// Longest header line we accept, in the response head and in a part's head.
pub(crate) const MAX_LINE: usize = 8 * 1024;

/// Most header fields we accept in one head.
pub(crate) const MAX_FIELDS: usize = 100;

/// The value of the first field called `name` (ASCII case-insensitive).
pub(crate) fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Parses `Name: value`, trimming the value's surrounding spaces and tabs.
pub(crate) fn parse_field(line: &[u8]) -> io::Result<(String, String)> {
    let colon = line.iter().position(|&b| b == b':');
    let Some(colon) = colon.filter(|&c| c > 0) else {
        return Err(invalid(format!(
            "malformed header line {:?}",
            preview(line)
        )));
    };
    let name = &line[..colon];
    // RFC 9112 §5.1: no whitespace between the name and the colon; a line starting with
    // whitespace is an obsolete folded continuation, which a client may reject.
    if name
        .iter()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(invalid(format!(
            "malformed header name {:?}",
            preview(line)
        )));
    }
    let value = line[colon + 1..].trim_ascii();
    Ok((
        String::from_utf8_lossy(name).into_owned(),
        String::from_utf8_lossy(value).into_owned(),
    ))
}

/// The start of a line, for error messages.
pub(crate) fn preview(line: &[u8]) -> String {
    let cut = &line[..line.len().min(60)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if cut.len() < line.len() {
        s.push('…');
    }
    s
}

pub(crate) fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_field_trims_value_and_keeps_name_case() {
        let (n, v) = parse_field(b"Content-Length: \t 42 ").expect("valid");
        assert_eq!((n.as_str(), v.as_str()), ("Content-Length", "42"));
        let (n, v) = parse_field(b"X-Empty:").expect("valid");
        assert_eq!((n.as_str(), v.as_str()), ("X-Empty", ""));
    }

    #[test]
    fn parse_field_rejects_missing_colon_space_before_colon_and_folding() {
        assert!(parse_field(b"no colon here").is_err());
        assert!(parse_field(b": no name").is_err());
        assert!(parse_field(b"Name : v").is_err());
        assert!(parse_field(b" folded: v").is_err());
    }

    #[test]
    fn find_is_case_insensitive_and_returns_the_first() {
        let h = vec![
            ("content-type".to_string(), "a".to_string()),
            ("Content-Type".to_string(), "b".to_string()),
        ];
        assert_eq!(find(&h, "CONTENT-TYPE"), Some("a"));
        assert_eq!(find(&h, "content-length"), None);
    }
}
