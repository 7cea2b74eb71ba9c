//! One-shot requests: send a request, read the whole response.

use crate::body::Body;
use crate::conn::Conn;
use crate::request as req;
use crate::{head, headers};
use bytes::Bytes;
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest body [`get`] reads: far above any page, snapshot or JSON we serve, low enough that a
/// test pointed by mistake at a stream fails instead of eating memory.
const MAX_BODY: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body with any chunked transfer coding removed.
    pub body: Bytes,
}

impl Response {
    /// The first header field called `name`, ASCII case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::find(&self.headers, name)
    }
}

/// `GET path_and_query` on a new connection to `addr`, with `Connection: close` and the given
/// header fields; reads the whole response (at most 64 MiB of body). Any status is `Ok`.
pub async fn get(
    addr: SocketAddr,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> io::Result<Response> {
    let io = req::connect(addr).await?;
    get_on(io, &addr.to_string(), path_and_query, headers).await
}

/// [`get`] over a connection the caller opened (a TLS stream, a Unix socket, a test pipe);
/// `host` goes in the `Host` header.
pub async fn get_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: S,
    host: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> io::Result<Response> {
    req::send_get(&mut io, host, path_and_query, headers).await?;
    read_response(io).await
}

/// `method path_and_query` with an optional body (a form, JSON) on a new connection to
/// `addr`, otherwise like [`get`].
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Response> {
    let mut io = req::connect(addr).await?;
    req::send(
        &mut io,
        method,
        &addr.to_string(),
        path_and_query,
        headers,
        body,
    )
    .await?;
    read_response(io).await
}

async fn read_response<S: AsyncRead + AsyncWrite + Unpin>(io: S) -> io::Result<Response> {
    let mut conn = Conn::new(io);
    let head = head::read(&mut conn).await?;
    let mut body = Body::new(conn, head.framing()?);
    let body = body.read_to_end(MAX_BODY).await?;
    Ok(Response {
        status: head.status,
        headers: head.headers,
        body,
    })
}
