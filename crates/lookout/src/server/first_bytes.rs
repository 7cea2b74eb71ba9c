//! Which HTTP version a new connection speaks, known before hyper reads from it: from TLS's
//! ALPN, or by peeking at a plain TCP connection's first bytes (which leaves them in the
//! socket). hyper-util's own detection reads the first 24 bytes (the length of HTTP/2's
//! preface, RFC 9113 §3.4) and hands them to hyper as a read of their own; hyper's next read
//! then finds less than 8 KiB free in its 8 KiB buffer and grows it to 16 KiB, which it keeps
//! for the connection's life: 8 KiB of the 33 KB a streaming viewer costs (issue 17,
//! docs/performance.md, "Memory per connection"). A builder told the version skips that read.

use crate::handoff::HandoffIo;
use crate::write_timeout::WriteTimeout;
use std::future::Future;
use tokio::io::ReadBuf;

/// What a client sends first over HTTP/2 with prior knowledge.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaks {
    Http1,
    Http2,
    /// Not known yet: hyper-util finds out as before.
    Unknown,
}

/// A connection that can tell what it speaks before it is read.
pub trait FirstBytes {
    /// Waits for the first bytes where that is needed; the caller bounds the wait.
    fn speaks(&self) -> impl Future<Output = Speaks> + Send;
}

impl FirstBytes for WriteTimeout<HandoffIo> {
    /// A unix socket peeks nothing: not known.
    async fn speaks(&self) -> Speaks {
        let mut first = [0u8; H2_PREFACE.len()];
        let mut buf = ReadBuf::new(&mut first);
        match std::future::poll_fn(|cx| self.get_ref().socket().poll_peek(cx, &mut buf)).await {
            Ok(n) => classify(&first[..n]),
            Err(_) => Speaks::Unknown,
        }
    }
}

impl<IO: Sync> FirstBytes for tokio_rustls::server::TlsStream<IO> {
    /// The server offers `h2` and `http/1.1` (`tls::server_config`); a client that asked for
    /// neither may still send HTTP/2's preface.
    async fn speaks(&self) -> Speaks {
        match self.get_ref().1.alpn_protocol() {
            Some(b"h2") => Speaks::Http2,
            Some(b"http/1.1") => Speaks::Http1,
            _ => Speaks::Unknown,
        }
    }
}

/// HTTP/2 once all of its preface is there, HTTP/1 as soon as a byte differs from it; a start
/// of the preface (or nothing: the client closed) is not known yet.
fn classify(first: &[u8]) -> Speaks {
    let n = first.len().min(H2_PREFACE.len());
    if first[..n] != H2_PREFACE[..n] {
        Speaks::Http1
    } else if n == H2_PREFACE.len() {
        Speaks::Http2
    } else {
        Speaks::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_tell_http1_from_http2() {
        assert_eq!(
            classify(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            Speaks::Http1
        );
        // "POST" shares its first letter with the preface's "PRI".
        assert_eq!(classify(b"POST /api/login HTTP/1.1\r\n"), Speaks::Http1);
        assert_eq!(classify(b"P"), Speaks::Unknown);
        assert_eq!(classify(b"PRI * HTTP/2.0\r\n"), Speaks::Unknown);
        assert_eq!(classify(H2_PREFACE), Speaks::Http2);
        assert_eq!(classify(b""), Speaks::Unknown);
    }

    /// Peeking leaves the bytes for hyper.
    #[tokio::test]
    async fn peeking_takes_nothing_from_the_socket() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let timeout = std::time::Duration::from_secs(5);
        let handoff = crate::handoff::Handoff::new(server, timeout);
        let mut server = WriteTimeout::new(handoff.io(), timeout);
        client.write_all(H2_PREFACE).await.unwrap();
        assert_eq!(server.speaks().await, Speaks::Http2);
        let mut got = [0u8; H2_PREFACE.len()];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..], H2_PREFACE);
    }
}
