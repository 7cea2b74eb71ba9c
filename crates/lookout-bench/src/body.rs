//! A response body's framing (RFC 9112 §6): `Content-Length`, chunked transfer coding, or
//! until the connection closes. Chunked data is decoded in place: the caller sees runs of body
//! bytes inside the connection buffer and splits frames out of it without copying.

use crate::conn::Conn;
use bytes::{Buf, Bytes, BytesMut};
use std::io;
use tokio::io::AsyncRead;

/// Longest chunk-size or trailer line: hex digits plus extensions we ignore.
const MAX_CHUNK_LINE: usize = 4 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// This many bytes are left.
    Length(u64),
    /// Until the server closes the connection.
    UntilEof,
    Chunked(Chunk),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last (zero-size) chunk: trailer fields up to an empty line.
    Trailers,
    Done,
}

pub(crate) struct Body<R> {
    pub(crate) conn: Conn<R>,
    framing: Framing,
}

fn eof_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the connection closed before the end of the response body",
    )
}

impl<R: AsyncRead + Unpin> Body<R> {
    pub(crate) fn new(conn: Conn<R>, framing: Framing) -> Self {
        Self { conn, framing }
    }

    /// Body bytes at the front of the connection buffer, contiguous, that are ours to take.
    fn run(&self) -> usize {
        let buffered = self.conn.buf.len() as u64;
        let n = match self.framing {
            Framing::Length(left) | Framing::Chunked(Chunk::Data(left)) => left.min(buffered),
            Framing::UntilEof => buffered,
            Framing::Chunked(_) => 0,
        };
        // `n` is at most `buffered`, itself a usize.
        n as usize
    }

    /// How many body bytes the current run can still reach (its buffered part included).
    fn run_limit(&self) -> u64 {
        match self.framing {
            Framing::Length(left) | Framing::Chunked(Chunk::Data(left)) => left,
            Framing::UntilEof => u64::MAX,
            Framing::Chunked(_) => 0,
        }
    }

    /// Makes body bytes available in [`data`](Self::data): at least `want` of them (at least
    /// one), or all that the current chunk has left if that is fewer. Returns how many are
    /// available; 0 at the end of the body.
    pub(crate) async fn fill(&mut self, want: usize) -> io::Result<usize> {
        let want = want.max(1);
        loop {
            self.step_chunk_framing()?;
            if self.framing == Framing::Chunked(Chunk::Done) || self.framing == Framing::Length(0) {
                return Ok(0);
            }
            let run = self.run();
            if run > 0 && run as u64 >= self.run_limit().min(want as u64) {
                return Ok(run);
            }
            // Room for the rest of what was asked, plus a chunk's framing.
            let more = want.saturating_sub(run) + 16;
            if !self.conn.fill(more).await? {
                return match self.framing {
                    Framing::UntilEof => Ok(self.conn.buf.len()),
                    _ => Err(eof_error()),
                };
            }
        }
    }

    /// Consumes chunked framing at the front of the buffer, as far as it is buffered.
    fn step_chunk_framing(&mut self) -> io::Result<()> {
        loop {
            let Framing::Chunked(state) = self.framing else {
                return Ok(());
            };
            let next = match state {
                Chunk::Data(0) => Chunk::DataEnd,
                Chunk::Data(_) | Chunk::Done => return Ok(()),
                Chunk::Size => match self.conn.take_line(MAX_CHUNK_LINE)? {
                    Some(line) => match parse_chunk_size(&line)? {
                        0 => Chunk::Trailers,
                        n => Chunk::Data(n),
                    },
                    None => return Ok(()),
                },
                Chunk::DataEnd => match self.conn.buf.first() {
                    Some(b'\n') => {
                        self.conn.buf.advance(1);
                        Chunk::Size
                    }
                    Some(b'\r') if self.conn.buf.len() < 2 => return Ok(()),
                    Some(b'\r') if self.conn.buf[1] == b'\n' => {
                        self.conn.buf.advance(2);
                        Chunk::Size
                    }
                    Some(_) => {
                        return Err(crate::headers::invalid(
                            "chunked body: a chunk's data is not followed by CRLF",
                        ));
                    }
                    None => return Ok(()),
                },
                Chunk::Trailers => match self.conn.take_line(MAX_CHUNK_LINE)? {
                    Some(line) if line.is_empty() => Chunk::Done,
                    Some(_) => Chunk::Trailers,
                    None => return Ok(()),
                },
            };
            self.framing = Framing::Chunked(next);
        }
    }

    /// The body bytes made available by the last [`fill`](Self::fill).
    pub(crate) fn data(&self) -> &[u8] {
        &self.conn.buf[..self.run()]
    }

    fn count(&mut self, n: usize) {
        debug_assert!(n <= self.run());
        match &mut self.framing {
            Framing::Length(left) | Framing::Chunked(Chunk::Data(left)) => *left -= n as u64,
            Framing::UntilEof | Framing::Chunked(_) => {}
        }
    }

    /// Drops `n` available body bytes.
    pub(crate) fn consume(&mut self, n: usize) {
        self.count(n);
        self.conn.buf.advance(n);
    }

    /// Takes `n` available body bytes without copying them.
    pub(crate) fn split(&mut self, n: usize) -> BytesMut {
        self.count(n);
        self.conn.buf.split_to(n)
    }

    /// Exactly `len` body bytes: split out of the buffer when they arrived in one run (always
    /// for `Content-Length` framing, and for chunked framing when the server wrote them as one
    /// chunk, as ours does for each JPEG); copied together from several chunks otherwise.
    pub(crate) async fn read_exact(&mut self, len: usize) -> io::Result<Bytes> {
        let mut out: Option<BytesMut> = None;
        loop {
            let have = out.as_ref().map_or(0, BytesMut::len);
            if have == len {
                return Ok(out.unwrap_or_default().freeze());
            }
            let need = len - have;
            let n = self.fill(need).await?;
            if n == 0 {
                return Err(eof_error());
            }
            if out.is_none() && n >= len {
                return Ok(self.split(len).freeze());
            }
            let take = n.min(need);
            out.get_or_insert_with(|| BytesMut::with_capacity(len))
                .extend_from_slice(&self.data()[..take]);
            self.consume(take);
        }
    }

    /// The rest of the body, refusing more than `max` bytes.
    pub(crate) async fn read_to_end(&mut self, max: usize) -> io::Result<Bytes> {
        let mut out: Option<BytesMut> = None;
        loop {
            let n = self.fill(1).await?;
            if n == 0 {
                return Ok(out.map(BytesMut::freeze).unwrap_or_default());
            }
            let have = out.as_ref().map_or(0, BytesMut::len);
            if have + n > max {
                return Err(crate::headers::invalid(format!(
                    "response body is longer than {max} bytes"
                )));
            }
            match &mut out {
                Some(o) => {
                    o.extend_from_slice(self.data());
                    self.consume(n);
                }
                None => out = Some(self.split(n)),
            }
        }
    }
}

/// A chunk-size line: hex digits, then optional `;extensions` (RFC 9112 §7.1.1).
fn parse_chunk_size(line: &[u8]) -> io::Result<u64> {
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let hex = line[..end].trim_ascii();
    let bad = || {
        crate::headers::invalid(format!(
            "chunked body: bad chunk size line {:?}",
            crate::headers::preview(line)
        ))
    };
    // 15 hex digits keep the size below 2^60, far past anything real, and u64 safe.
    if hex.is_empty() || hex.len() > 15 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad());
    }
    let text = std::str::from_utf8(hex).map_err(|_| bad())?;
    u64::from_str_radix(text, 16).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_accepts_hex_and_extensions() {
        assert_eq!(parse_chunk_size(b"1a").expect("valid"), 26);
        assert_eq!(parse_chunk_size(b"FF;name=value").expect("valid"), 255);
        assert_eq!(parse_chunk_size(b"0 ").expect("valid"), 0);
    }

    #[test]
    fn chunk_size_rejects_garbage_empty_and_overflow() {
        assert!(parse_chunk_size(b"").is_err());
        assert!(parse_chunk_size(b"zz").is_err());
        assert!(parse_chunk_size(b"-1").is_err());
        assert!(parse_chunk_size(b"1234567890abcdef0").is_err());
    }
}
