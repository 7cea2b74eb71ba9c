//! A live MJPEG stream: a `multipart/x-mixed-replace` response (RFC 2046 §5.1) read part by
//! part, each part's body sized by its `Content-Length` as mjpg-streamer, µStreamer, ffmpeg's
//! mpjpeg muxer and Lookout send it.

use crate::body::Body;
use crate::conn::Conn;
use crate::headers::{self, MAX_FIELDS, MAX_LINE, invalid};
use crate::{Part, head, request};
use bytes::{Bytes, BytesMut};
use std::io;
use std::net::SocketAddr;
use std::time::SystemTime;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Largest part body we accept: a 8K JPEG at top quality is ~20 MB.
const MAX_PART: usize = 64 * 1024 * 1024;

/// Bytes we skip looking for the first boundary (a preamble) or between parts (blank lines).
const MAX_SKIP: usize = 64 * 1024;

/// Largest non-multipart body [`MjpegStream::read_body`] returns.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// An open stream response. The status and header fields are read when it opens, whatever the
/// status, so a test can check a 404 or 503 on a stream URL; [`next_part`](Self::next_part)
/// then reads frames, and only works on a multipart response: on anything else it returns an
/// `InvalidData` error, and [`read_body`](Self::read_body) gives the body instead.
pub struct MjpegStream<S = TcpStream> {
    status: u16,
    headers: Vec<(String, String)>,
    /// From `Content-Type: multipart/...; boundary=...`, when it is there.
    boundary: Option<String>,
    body: Body<S>,
    /// The line being read; lines can span chunks, so they are gathered here.
    line: BytesMut,
    parts_read: u64,
    finished: bool,
}

impl<S> std::fmt::Debug for MjpegStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MjpegStream")
            .field("status", &self.status)
            .field("boundary", &self.boundary)
            .field("parts_read", &self.parts_read)
            .finish_non_exhaustive()
    }
}

/// Opens `GET path_and_query` on a new connection to `addr` (with `Connection: close` and the
/// given header fields) and reads the response head.
pub async fn open_stream(
    addr: SocketAddr,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> io::Result<MjpegStream> {
    let io = request::connect(addr).await?;
    open_stream_on(io, &addr.to_string(), path_and_query, headers).await
}

/// [`open_stream`] over a connection the caller opened; `host` goes in the `Host` header.
pub async fn open_stream_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: S,
    host: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> io::Result<MjpegStream<S>> {
    request::send_get(&mut io, host, path_and_query, headers).await?;
    MjpegStream::read_response(io).await
}

#[derive(Debug, PartialEq, Eq)]
enum Delimiter {
    /// `--boundary`: a part follows.
    Open,
    /// `--boundary--`: the last one.
    Close,
    None,
}

impl<S: AsyncRead + Unpin> MjpegStream<S> {
    /// Reads a response head from `io`, which the request was already written to.
    pub(crate) async fn read_response(io: S) -> io::Result<Self> {
        let mut conn = Conn::new(io);
        let head = head::read(&mut conn).await?;
        let boundary = headers::find(&head.headers, "content-type").and_then(multipart_boundary);
        let body = Body::new(conn, head.framing()?);
        Ok(Self {
            status: head.status,
            headers: head.headers,
            boundary,
            body,
            line: BytesMut::with_capacity(256),
            parts_read: 0,
            finished: false,
        })
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response's header fields in order, names as sent.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first response header field called `name`, ASCII case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::find(&self.headers, name)
    }

    /// The multipart boundary, `None` when the response is not multipart.
    pub fn boundary(&self) -> Option<&str> {
        self.boundary.as_deref()
    }

    /// The next part; `Ok(None)` when the stream ends cleanly (the closing boundary, the end of
    /// a chunked body, or the connection closing between parts when the body runs to EOF).
    /// "Between parts" includes right after a delimiter: servers that write each delimiter
    /// right after its JPEG (Lookout, µStreamer) end a stream that way.
    ///
    /// Errors: `InvalidData` if the response is not multipart, a part has no valid
    /// `Content-Length`, or anything but blank lines sits between a part and the next boundary
    /// (the sign of a wrong `Content-Length`); `UnexpectedEof` if the connection closes inside a
    /// part or, for a chunked body, before its last chunk.
    /// After an error the position in the stream is unknown: drop the stream.
    pub async fn next_part(&mut self) -> io::Result<Option<Part>> {
        if self.boundary.is_none() {
            return Err(invalid(format!(
                "the response is not multipart (status {}, Content-Type {:?}); use read_body",
                self.status,
                self.header("content-type").unwrap_or("none"),
            )));
        }
        if self.finished {
            return Ok(None);
        }
        if !self.find_delimiter().await? {
            self.finished = true;
            return Ok(None);
        }
        let Some(headers) = self.read_part_head().await? else {
            self.finished = true;
            return Ok(None);
        };
        let len = headers::find(&headers, "content-length").ok_or_else(|| {
            invalid("a part has no Content-Length; this client needs one to find the JPEG's end")
        })?;
        let len: usize = len
            .trim()
            .parse()
            .map_err(|_| invalid(format!("a part has a bad Content-Length {len:?}")))?;
        if len > MAX_PART {
            return Err(invalid(format!("a part of {len} bytes is over {MAX_PART}")));
        }
        let body = self.body.read_exact(len).await?;
        self.parts_read += 1;
        Ok(Some(Part {
            headers,
            body,
            received_at: SystemTime::now(),
        }))
    }

    /// Reads up to and including an opening delimiter line: `true`, or `false` at a clean end.
    /// Only called once `self.boundary` is known to be there.
    async fn find_delimiter(&mut self) -> io::Result<bool> {
        let mut skipped = 0;
        loop {
            if !self.read_line().await? {
                return Ok(false);
            }
            let boundary = self.boundary.as_deref().unwrap_or_default();
            match classify(&self.line, boundary) {
                Delimiter::Open => return Ok(true),
                Delimiter::Close => return Ok(false),
                Delimiter::None => {}
            }
            // Before the first part, RFC 2046 allows a preamble; after a part, only the CRLF
            // that ends it (and some servers add one more).
            if self.parts_read > 0 && !self.line.trim_ascii().is_empty() {
                return Err(invalid(format!(
                    "expected the boundary after part {}, found {:?}: is its Content-Length right?",
                    self.parts_read,
                    headers::preview(&self.line)
                )));
            }
            skipped += self.line.len() + 2;
            if skipped > MAX_SKIP {
                return Err(invalid(format!(
                    "no boundary {boundary:?} in the first {MAX_SKIP} bytes"
                )));
            }
        }
    }

    /// The part's header fields; `None` if the body ends before the first of them.
    async fn read_part_head(&mut self) -> io::Result<Option<Vec<(String, String)>>> {
        // Ours has 3 fields: Content-Type, Content-Length, X-Timestamp.
        let mut headers = Vec::with_capacity(4);
        loop {
            if !self.read_line().await? {
                if headers.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended inside a part's header",
                ));
            }
            if self.line.is_empty() {
                return Ok(Some(headers));
            }
            if headers.len() == MAX_FIELDS {
                return Err(invalid(format!(
                    "a part has more than {MAX_FIELDS} header fields"
                )));
            }
            headers.push(headers::parse_field(&self.line)?);
        }
    }

    /// Reads one line of the body into `self.line`, without its CRLF or LF. `false` at the end
    /// of the body with nothing read.
    async fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        loop {
            let n = self.body.fill(1).await?;
            if n == 0 {
                if self.line.is_empty() {
                    return Ok(false);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended in the middle of a line",
                ));
            }
            // Look no further than the longest line allows: the rest may be a whole JPEG.
            let room = MAX_LINE + 1 - self.line.len();
            let window = &self.body.data()[..n.min(room)];
            if let Some(i) = window.iter().position(|&b| b == b'\n') {
                self.line.extend_from_slice(&window[..i]);
                self.body.consume(i + 1);
                if self.line.last() == Some(&b'\r') {
                    self.line.truncate(self.line.len() - 1);
                }
                return Ok(true);
            }
            if window.len() == room {
                return Err(invalid(format!(
                    "a line in the stream is longer than {MAX_LINE} bytes"
                )));
            }
            let w = window.len();
            self.line.extend_from_slice(window);
            self.body.consume(w);
        }
    }

    /// The rest of the body (at most 64 MiB): the text of a 404 or 503, say. On a multipart
    /// stream this reads raw multipart bytes until the server ends the stream.
    pub async fn read_body(mut self) -> io::Result<Bytes> {
        self.body.read_to_end(MAX_BODY).await
    }
}

/// Whether `line` is `--boundary` or `--boundary--`, ignoring trailing whitespace (RFC 2046
/// allows it). Also takes the boundary parameter itself as the delimiter when it already starts
/// with `--`, as some IP cameras send it.
fn classify(line: &[u8], boundary: &str) -> Delimiter {
    let line = line.trim_ascii_end();
    let b = boundary.as_bytes();
    let rest = line
        .strip_prefix(b"--")
        .and_then(|r| r.strip_prefix(b))
        .or_else(|| b.starts_with(b"--").then(|| line.strip_prefix(b)).flatten());
    match rest {
        Some(b"") => Delimiter::Open,
        Some(b"--") => Delimiter::Close,
        _ => Delimiter::None,
    }
}

/// The `boundary` parameter of a `multipart/*` Content-Type, quoted or not, spaces or not.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let media = params.next()?.trim();
    let is_multipart = media
        .get(..10)
        .is_some_and(|m| m.eq_ignore_ascii_case("multipart/"));
    if !is_multipart {
        return None;
    }
    params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests;
