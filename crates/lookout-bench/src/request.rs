//! Writing a request: the request line, `Host`, `Connection: close`, the caller's header
//! fields and an optional body, checked so a test cannot smuggle a CR or LF into the request by
//! accident.

use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connects with Nagle off: a request is one small write and we want it sent at once.
pub(crate) async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends `GET path_and_query` with `Host: host` (unless `headers` has one) and
/// `Connection: close`.
pub(crate) async fn send_get<W: AsyncWrite + Unpin>(
    io: &mut W,
    host: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> io::Result<()> {
    send(io, "GET", host, path_and_query, headers, None).await
}

/// Sends `method path_and_query` like [`send_get`], with `body` (and its `Content-Length`).
pub(crate) async fn send<W: AsyncWrite + Unpin>(
    io: &mut W,
    method: &str,
    host: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<()> {
    let req = encode(method, host, path_and_query, headers, body)?;
    io.write_all(&req).await?;
    io.flush().await
}

#[cfg(test)]
fn encode_get(host: &str, path_and_query: &str, headers: &[(&str, &str)]) -> io::Result<Vec<u8>> {
    encode("GET", host, path_and_query, headers, None)
}

fn encode(
    method: &str,
    host: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Vec<u8>> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad_input(format!("bad method {method:?}")));
    }
    if !path_and_query.starts_with('/') || !is_token_text(path_and_query) {
        return Err(bad_input(format!(
            "the request target must start with '/' and hold no spaces or control bytes: {path_and_query:?}"
        )));
    }
    let mut req = format!("{method} {path_and_query} HTTP/1.1\r\n");
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("host") {
        req.push_str(&format!("Host: {host}\r\n"));
    }
    if !has("user-agent") {
        req.push_str("User-Agent: lookout-bench\r\n");
    }
    for (name, value) in headers {
        if name.is_empty() || !is_token_text(name) || name.contains(':') {
            return Err(bad_input(format!("bad header name {name:?}")));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(bad_input(format!(
                "header {name} has a CR, LF or NUL in its value"
            )));
        }
        if name.eq_ignore_ascii_case("connection") {
            continue;
        }
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("Connection: close\r\n\r\n");
    let mut req = req.into_bytes();
    req.extend_from_slice(body.unwrap_or_default());
    Ok(req)
}

/// No spaces or control bytes (what a header name and a request target have in common).
fn is_token_text(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80)
}

fn bad_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_has_host_connection_close_and_caller_headers() {
        let req = encode_get("127.0.0.1:8080", "/a?b=c", &[("Authorization", "Bearer x")])
            .expect("valid");
        assert_eq!(
            String::from_utf8(req).expect("ascii"),
            "GET /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: lookout-bench\r\n\
             Authorization: Bearer x\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn caller_host_replaces_ours_and_connection_is_always_close() {
        let req = encode_get(
            "h",
            "/",
            &[("host", "example"), ("Connection", "keep-alive")],
        )
        .expect("valid");
        let req = String::from_utf8(req).expect("ascii");
        assert!(req.contains("host: example\r\n") && !req.contains("Host: h"));
        assert!(!req.contains("keep-alive") && req.ends_with("Connection: close\r\n\r\n"));
    }

    #[test]
    fn post_has_its_body_and_length() {
        let req = encode("POST", "h", "/login", &[], Some(b"a=1")).expect("valid");
        let req = String::from_utf8(req).expect("ascii");
        assert!(req.starts_with("POST /login HTTP/1.1\r\n"));
        assert!(req.ends_with("Content-Length: 3\r\nConnection: close\r\n\r\na=1"));
        assert!(encode("po st", "h", "/", &[], None).is_err());
    }

    #[test]
    fn rejects_crlf_injection_and_bad_targets() {
        assert!(encode_get("h", "/", &[("X", "a\r\nEvil: 1")]).is_err());
        assert!(encode_get("h", "/", &[("X Y", "a")]).is_err());
        assert!(encode_get("h", "/a b", &[]).is_err());
        assert!(encode_get("h", "a", &[]).is_err());
    }
}
