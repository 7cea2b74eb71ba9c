//! A connection wrapper that fails a write blocked for longer than the write timeout, so a
//! viewer that stopped reading (a sleeping laptop, a dead Wi-Fi link) is dropped instead of
//! holding a connection slot forever. mjpg-streamer's blocking writes without a timeout are
//! how it runs out of threads after hours (its issue #123).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

pub struct WriteTimeout<T> {
    inner: T,
    timeout: Duration,
    /// Allocated once per connection and re-armed; only polled while a write is blocked.
    deadline: Pin<Box<Sleep>>,
    armed: bool,
}

impl<T> WriteTimeout<T> {
    pub fn new(inner: T, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            armed: false,
        }
    }

    /// The connection it wraps.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Called when a write is pending: starts the clock, or fails once it ran out.
    fn poll_blocked(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if !self.armed {
            self.deadline.as_mut().reset(Instant::now() + self.timeout);
            self.armed = true;
        }
        ready!(self.deadline.as_mut().poll(cx));
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            "client accepted no data within the write timeout",
        ))
    }

    fn on_result<R>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match r {
            Poll::Ready(r) => {
                self.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => self.poll_blocked(cx).map(Err),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.on_result(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.on_result(cx, r)
    }

    /// Passed through: without it hyper would copy every frame into one buffer instead of
    /// writing the shared JPEG bytes with writev.
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.on_result(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.on_result(cx, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_blocked_past_the_timeout_fails() {
        // A duplex pipe with 16 bytes of room, and nobody reading the other end.
        let (a, _b) = tokio::io::duplex(16);
        let mut w = WriteTimeout::new(a, Duration::from_secs(10));
        w.write_all(&[0; 16]).await.unwrap();
        let started = Instant::now();
        let err = w.write_all(&[0; 16]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_keeps_up_is_never_timed_out() {
        let (a, mut b) = tokio::io::duplex(16);
        let mut w = WriteTimeout::new(a, Duration::from_secs(1));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            let mut total = 0;
            while total < 1600 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                total += tokio::io::AsyncReadExt::read(&mut b, &mut buf)
                    .await
                    .unwrap();
            }
        });
        w.write_all(&[1; 1600]).await.unwrap();
        reader.await.unwrap();
    }
}
