//! The response head (RFC 9112 §4-6): status line, header fields, and the body framing they
//! announce.

use crate::body::{Chunk, Framing};
use crate::conn::Conn;
use crate::headers::{self, MAX_FIELDS, MAX_LINE, invalid};
use std::io;
use tokio::io::AsyncRead;

#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
}

impl Head {
    /// How the body that follows is delimited, for a response to a GET.
    pub(crate) fn framing(&self) -> io::Result<Framing> {
        // 1xx, 204 and 304 never have a body (RFC 9112 §6.3, rule 1).
        if self.status < 200 || self.status == 204 || self.status == 304 {
            return Ok(Framing::Length(0));
        }
        if let Some(te) = headers::find(&self.headers, "transfer-encoding") {
            // Chunked must be the last coding; any other last coding runs to EOF (rule 4).
            let last = te.rsplit(',').next().unwrap_or("").trim();
            return Ok(if last.eq_ignore_ascii_case("chunked") {
                Framing::Chunked(Chunk::Size)
            } else {
                Framing::UntilEof
            });
        }
        let mut length = None;
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("content-length") {
                continue;
            }
            // A list of identical values is allowed (rule 5); differing ones are an error.
            for v in value.split(',') {
                let n: u64 = v
                    .trim()
                    .parse()
                    .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?;
                if length.is_some_and(|l| l != n) {
                    return Err(invalid("conflicting Content-Length values"));
                }
                length = Some(n);
            }
        }
        Ok(length.map_or(Framing::UntilEof, Framing::Length))
    }
}

/// Reads the final response head, skipping interim 1xx responses (100 Continue, 103 Early
/// Hints) that a server may send first.
pub(crate) async fn read<R: AsyncRead + Unpin>(conn: &mut Conn<R>) -> io::Result<Head> {
    loop {
        let head = read_one(conn).await?;
        if !(100..200).contains(&head.status) || head.status == 101 {
            return Ok(head);
        }
    }
}

async fn read_one<R: AsyncRead + Unpin>(conn: &mut Conn<R>) -> io::Result<Head> {
    let Some(line) = conn.read_line(MAX_LINE).await? else {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection without a response",
        ));
    };
    let status = parse_status_line(&line)?;
    let mut headers = Vec::new();
    loop {
        let Some(line) = conn.read_line(MAX_LINE).await? else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed inside the response head",
            ));
        };
        if line.is_empty() {
            return Ok(Head { status, headers });
        }
        if headers.len() == MAX_FIELDS {
            return Err(invalid(format!("more than {MAX_FIELDS} header fields")));
        }
        headers.push(headers::parse_field(&line)?);
    }
}

/// `HTTP/1.1 200 OK` → 200. The reason phrase is optional and ignored.
fn parse_status_line(line: &[u8]) -> io::Result<u16> {
    let bad = || invalid(format!("bad status line {:?}", headers::preview(line)));
    let rest = line.strip_prefix(b"HTTP/1.").ok_or_else(bad)?;
    let code = match rest {
        [b'0' | b'1', b' ', a, b, c, tail @ ..] if tail.is_empty() || tail[0] == b' ' => {
            [*a, *b, *c]
        }
        _ => return Err(bad()),
    };
    if !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return Err(bad());
    }
    Ok(code
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16, h: &[(&str, &str)]) -> Head {
        Head {
            status,
            headers: h
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn status_line_with_and_without_reason() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK").expect("valid"), 200);
        assert_eq!(parse_status_line(b"HTTP/1.0 404").expect("valid"), 404);
        assert_eq!(
            parse_status_line(b"HTTP/1.1 503 Service Unavailable").expect("valid"),
            503
        );
    }

    #[test]
    fn status_line_rejects_other_protocols_and_bad_codes() {
        for bad in [
            &b"HTTP/2 200 OK"[..],
            b"ICY 200 OK",
            b"HTTP/1.1 20 OK",
            b"HTTP/1.1 2000",
            b"HTTP/1.1 abc",
        ] {
            assert!(parse_status_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn framing_follows_rfc_9112_precedence() {
        let chunked = Framing::Chunked(Chunk::Size);
        assert_eq!(
            head(200, &[("Transfer-Encoding", "chunked")])
                .framing()
                .expect("ok"),
            chunked
        );
        // Transfer-Encoding wins over Content-Length.
        let both = head(
            200,
            &[
                ("Content-Length", "5"),
                ("transfer-encoding", "gzip, Chunked"),
            ],
        );
        assert_eq!(both.framing().expect("ok"), chunked);
        assert_eq!(
            head(200, &[("Transfer-Encoding", "gzip")])
                .framing()
                .expect("ok"),
            Framing::UntilEof
        );
        assert_eq!(
            head(200, &[("Content-Length", "7, 7")])
                .framing()
                .expect("ok"),
            Framing::Length(7)
        );
        assert!(
            head(200, &[("Content-Length", "7"), ("Content-Length", "8")])
                .framing()
                .is_err()
        );
        assert!(head(200, &[("Content-Length", "-1")]).framing().is_err());
        assert_eq!(head(200, &[]).framing().expect("ok"), Framing::UntilEof);
        assert_eq!(
            head(204, &[("Content-Length", "9")]).framing().expect("ok"),
            Framing::Length(0)
        );
        assert_eq!(head(304, &[]).framing().expect("ok"), Framing::Length(0));
    }
}
