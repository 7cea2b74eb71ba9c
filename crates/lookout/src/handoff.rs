//! A plain connection's socket, shared by hyper and the camera's writer: hyper reads requests
//! and writes response heads; for an MJPEG stream, once hyper has flushed the head, the writer
//! writes the body straight to the socket until it gives the connection back.
//!
//! The order of writes is what makes this safe. The stream's body ([`HandedOff`]) asks for the
//! socket the first time hyper polls it and stays pending, so hyper has nothing more to write;
//! hyper calls the socket's `poll_flush` only once its own buffer is empty (the head is out),
//! and that call hands the socket to the writer. The writer finishes the part it is writing
//! before it gives the socket back; only then does the body end and hyper write again (the
//! last chunk).

use crate::write_timeout::WriteTimeout;
use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http_body::{Body, Frame as BodyFrame, SizeHint};
use std::io::{self, IoSlice};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// hyper writes (requests and their responses, and the head of a stream).
const HYPER: u8 = 0;
/// A stream's body asked for the socket; hyper may still be writing its head.
const ASKED: u8 = 1;
/// The writer writes the stream's body.
const WRITER: u8 = 2;
/// The writer is done and gave the socket back at a part's end: the body ends.
const ENDED: u8 = 3;
/// The writer gave up on the client (a write failed or took nothing for `write_timeout`):
/// the body fails, which makes hyper close the connection.
const FAILED: u8 = 4;

/// What hyper and the writer need of a socket, for TCP and unix sockets alike.
pub trait Socket: Send + Sync + 'static {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads into `buf`'s unfilled part without zeroing it first: hyper gives each connection
    /// an 8 KiB buffer that mostly stays untouched, and zeroing it would make it resident.
    fn try_read_buf(&self, buf: &mut ReadBuf<'_>) -> io::Result<()>;
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    fn raw_fd(&self) -> i32;
    /// Reads without taking (TCP; a unix socket finds nothing).
    fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<usize>>;
}

macro_rules! socket_for {
    ($t:ty, $peek:expr) => {
        impl Socket for $t {
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_read_ready(self, cx)
            }
            fn try_read_buf(&self, buf: &mut ReadBuf<'_>) -> io::Result<()> {
                self.try_io(Interest::READABLE, || read_into(self.as_raw_fd(), buf))
            }
            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_write_ready(self, cx)
            }
            fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                <$t>::try_write_vectored(self, bufs)
            }
            fn raw_fd(&self) -> i32 {
                self.as_raw_fd()
            }
            fn poll_peek(
                &self,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<usize>> {
                $peek(self, cx, buf)
            }
        }
    };
}
socket_for!(TcpStream, TcpStream::poll_peek);
// tokio's `UnixStream` cannot peek.
socket_for!(UnixStream, |_: &UnixStream,
                         _: &mut Context<'_>,
                         _: &mut ReadBuf<'_>| {
    Poll::Ready(Ok(0))
});

/// One `read(2)` on `fd` into `buf`'s unfilled part, which it then counts as filled.
fn read_into(fd: i32, buf: &mut ReadBuf<'_>) -> io::Result<()> {
    // SAFETY: read(2) writes at most `unfilled.len()` bytes into `unfilled`, and only the `n`
    // it reports written are then marked initialised and filled.
    unsafe {
        let unfilled = buf.unfilled_mut();
        let n = libc::read(fd, unfilled.as_mut_ptr().cast(), unfilled.len());
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        buf.assume_init(n);
        buf.advance(n);
    }
    Ok(())
}

/// A connection whose socket a stream's writer may take over.
pub trait MayHandOff {
    fn handoff(&self) -> Option<Arc<Handoff>>;
}

impl MayHandOff for WriteTimeout<HandoffIo> {
    fn handoff(&self) -> Option<Arc<Handoff>> {
        Some(self.get_ref().handoff.clone())
    }
}

/// TLS writes records of its own: the stream stays in hyper's hands.
impl<IO> MayHandOff for tokio_rustls::server::TlsStream<IO> {
    fn handoff(&self) -> Option<Arc<Handoff>> {
        None
    }
}

/// The socket and who writes to it now.
pub struct Handoff {
    socket: Box<dyn Socket>,
    state: AtomicU8,
    /// hyper dropped the connection (the client went, or the server closed it).
    closed: AtomicBool,
    /// The writer, waiting for the socket or for the connection to end.
    writer: AtomicWaker,
    /// The body, waiting for the socket back.
    body: AtomicWaker,
    /// How long a client may take no data before it is dropped (`limits.write_timeout`).
    pub write_timeout: Duration,
}

impl Handoff {
    pub fn new(socket: impl Socket, write_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            socket: Box::new(socket),
            state: AtomicU8::new(HYPER),
            closed: AtomicBool::new(false),
            writer: AtomicWaker::new(),
            body: AtomicWaker::new(),
            write_timeout,
        })
    }

    /// The socket is the writer's: hyper flushed the stream's head.
    pub fn poll_given(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.load(Ordering::Acquire) == WRITER {
            return Poll::Ready(());
        }
        self.writer.register(cx.waker());
        if self.state.load(Ordering::Acquire) == WRITER {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Whether hyper dropped the connection; registers the writer to be woken when it does.
    pub fn poll_closed(&self, cx: &mut Context<'_>) -> bool {
        self.writer.register(cx.waker());
        self.closed.load(Ordering::Acquire)
    }

    /// Gives the socket back at the end of a part: the stream ends as a response should.
    pub fn give_back(&self) {
        self.state.store(ENDED, Ordering::Release);
        self.body.wake();
    }

    /// Gives up on the client: hyper closes the connection.
    pub fn fail(&self) {
        self.state.store(FAILED, Ordering::Release);
        self.body.wake();
    }

    pub fn socket(&self) -> &dyn Socket {
        &*self.socket
    }

    /// The body that hands this socket to the writer.
    pub fn body(self: &Arc<Self>) -> HandedOff {
        HandedOff {
            handoff: self.clone(),
        }
    }

    /// The connection's I/O for hyper.
    pub fn io(self: &Arc<Self>) -> HandoffIo {
        HandoffIo {
            handoff: self.clone(),
        }
    }
}

/// hyper's side of the socket. Dropping it (the connection ended) tells the writer.
pub struct HandoffIo {
    handoff: Arc<Handoff>,
}

impl HandoffIo {
    pub fn socket(&self) -> &dyn Socket {
        self.handoff.socket()
    }
}

impl Drop for HandoffIo {
    fn drop(&mut self) {
        self.handoff.closed.store(true, Ordering::Release);
        self.handoff.writer.wake();
    }
}

impl AsyncRead for HandoffIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let socket = self.handoff.socket();
        loop {
            ready!(socket.poll_read_ready(cx))?;
            match socket.try_read_buf(buf) {
                // Readiness was stale (tokio cleared it): wait again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
        }
    }
}

impl AsyncWrite for HandoffIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        debug_assert!(
            matches!(self.handoff.state.load(Ordering::Acquire), HYPER | ASKED),
            "hyper wrote while the writer had the socket"
        );
        let socket = self.handoff.socket();
        loop {
            ready!(socket.poll_write_ready(cx))?;
            match socket.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// hyper calls this once its buffer is empty: the moment a stream's head is out.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let h = &self.handoff;
        if h.state
            .compare_exchange(ASKED, WRITER, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            h.writer.wake();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // SAFETY: shutdown(2) on a descriptor this connection owns; no memory is passed.
        let r = unsafe { libc::shutdown(self.handoff.socket().raw_fd(), libc::SHUT_WR) };
        if r == 0 {
            Poll::Ready(Ok(()))
        } else {
            let e = io::Error::last_os_error();
            // The client went first: nothing left to shut.
            if e.kind() == io::ErrorKind::NotConnected {
                Poll::Ready(Ok(()))
            } else {
                Poll::Ready(Err(e))
            }
        }
    }
}

/// The body of a stream the writer writes: no data of its own; it ends when the writer gives
/// the socket back, and fails when the writer gave up on the client.
pub struct HandedOff {
    handoff: Arc<Handoff>,
}

impl Body for HandedOff {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, io::Error>>> {
        let h = &self.handoff;
        h.body.register(cx.waker());
        let mut state = h.state.load(Ordering::Acquire);
        if state == HYPER {
            // The first poll: hyper has the head in its buffer and nothing else to write. (The
            // writer may have ended the stream already: then the exchange fails.)
            match h
                .state
                .compare_exchange(HYPER, ASKED, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    h.writer.wake();
                    return Poll::Pending;
                }
                Err(now) => state = now,
            }
        }
        match state {
            ENDED => {
                h.state.store(HYPER, Ordering::Release);
                Poll::Ready(None)
            }
            FAILED => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took no data within the write timeout, or its socket failed",
            )))),
            _ => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
