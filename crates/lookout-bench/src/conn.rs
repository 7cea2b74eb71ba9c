//! The read side of a connection: the socket and the bytes read from it but not yet used, in
//! one `BytesMut` that frames are split out of without copying.

use bytes::{Buf, BytesMut};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Smallest room we make before a read. Reading less means more syscalls per frame; a part's
/// body asks for its whole remaining length instead, so a 150 KB JPEG lands in one buffer.
const MIN_READ: usize = 16 * 1024;

pub(crate) struct Conn<R> {
    io: R,
    /// Bytes read and not yet consumed.
    pub(crate) buf: BytesMut,
    eof: bool,
}

impl<R: AsyncRead + Unpin> Conn<R> {
    pub(crate) fn new(io: R) -> Self {
        Self {
            io,
            buf: BytesMut::with_capacity(MIN_READ),
            eof: false,
        }
    }

    /// Reads more bytes onto the end of `buf`, with room for at least `want` of them.
    /// Returns `false` at the end of the stream.
    pub(crate) async fn fill(&mut self, want: usize) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.buf.reserve(want.max(MIN_READ));
        if self.io.read_buf(&mut self.buf).await? == 0 {
            self.eof = true;
            return Ok(false);
        }
        Ok(true)
    }

    /// Takes one line from `buf` if a whole one is there: its bytes without the LF and without
    /// a CR before it. `None` when more bytes are needed; an error past `max` bytes.
    pub(crate) fn take_line(&mut self, max: usize) -> io::Result<Option<BytesMut>> {
        let window = &self.buf[..self.buf.len().min(max + 1)];
        match window.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let mut line = self.buf.split_to(i);
                self.buf.advance(1);
                if line.last() == Some(&b'\r') {
                    line.truncate(line.len() - 1);
                }
                Ok(Some(line))
            }
            None if window.len() > max => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a line of the response is longer than {max} bytes"),
            )),
            None => Ok(None),
        }
    }

    /// The next whole line, reading as needed; `None` at the end of the stream with nothing
    /// buffered.
    pub(crate) async fn read_line(&mut self, max: usize) -> io::Result<Option<BytesMut>> {
        loop {
            if let Some(line) = self.take_line(max)? {
                return Ok(Some(line));
            }
            if !self.fill(0).await? {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection closed in the middle of a line",
                    ))
                };
            }
        }
    }
}
