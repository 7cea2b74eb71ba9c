//! MJPEG fan-out without a task per viewer: a writer per camera output (a variant and a
//! framing; one per runtime thread once there are as many viewers) writes each frame's part to
//! all of its viewers' sockets in one go, as
//! µStreamer's and mjpg-streamer's loops do, instead of waking one task per viewer that
//! passes the part through hyper's body and chunk encoder (issue 17; docs/performance.md,
//! "Round 5").
//!
//! Only plain HTTP/1 connections (TCP or unix socket) are written this way: hyper parses the
//! request and writes the response head, then the socket is the writer's until the stream ends
//! ([`crate::handoff`]). HTTPS, HTTP/2 and viewers with `max_fps` keep the per-viewer stream
//! ([`super::stream`]). What a viewer is sent is the same either way: the same parts (made once
//! per frame and output, shared, never copied per viewer), the current frame at once when the
//! camera is live, a viewer still writing a part misses the frames that come meanwhile, and one
//! that takes no data for `write_timeout` is dropped.

use super::mjpeg_part::{Part, first_delimiter, part_for};
use crate::auth::live::Registration;
use crate::handoff::{HandedOff, Handoff, Socket};
use crate::stop::Stop;
use axum::extract::FromRequestParts;
use bytes::{Buf, Bytes};
use http::request::Parts;
use http::{Method, Version};
use lookout_core::{CameraHub, Frame, SourceState, VariantRequest, VariantSlot, ViewerHandle};
use std::collections::{HashMap, VecDeque};
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The socket of a request the writer may serve: a GET over HTTP/1 on a plain connection.
#[derive(Clone)]
pub struct DirectSocket(Option<Target>);

#[derive(Clone)]
struct Target {
    handoff: Arc<Handoff>,
    /// HTTP/1.1 bodies of unknown length are chunked by hyper; HTTP/1.0 ones end with the
    /// connection.
    chunked: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for DirectSocket {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let chunked = match parts.version {
            Version::HTTP_11 => true,
            Version::HTTP_10 => false,
            _ => return Ok(Self(None)),
        };
        // A HEAD's body is never polled, so the socket would never be handed over.
        if parts.method != Method::GET {
            return Ok(Self(None));
        }
        Ok(Self(parts.extensions.get::<Arc<Handoff>>().map(|h| {
            Target {
                handoff: h.clone(),
                chunked,
            }
        })))
    }
}

/// What a viewer holds while it watches: the same as a per-viewer stream holds.
pub struct Holds {
    pub handle: ViewerHandle,
    pub slot: VariantSlot,
    pub stop: Stop,
    pub registration: Option<Registration>,
}

/// The running writers: per camera output, one per runtime worker thread at most.
#[derive(Default)]
pub struct Writers {
    running: Mutex<HashMap<OutputKey, mpsc::UnboundedSender<Viewer>>>,
    /// Which writer of its output the next viewer goes to.
    next_shard: AtomicUsize,
}

impl std::fmt::Debug for Writers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct OutputKey {
    /// The hub's address: the writer holds the hub, so no other hub takes it meanwhile.
    hub: usize,
    variant: VariantRequest,
    advance_headers: bool,
    /// Viewers are dealt to as many writers as the runtime has worker threads, so that a
    /// crowd's writes use every core (and a writer's last viewer waits for fewer sends).
    shard: usize,
}

impl Writers {
    /// Hands the viewer on `socket` to its output's writer, starting one if needed, and gives
    /// the response body that hands the socket over; or gives `holds` back when the socket
    /// cannot be handed over (HTTPS, HTTP/2, HEAD).
    pub fn add(
        self: &Arc<Self>,
        hub: &Arc<CameraHub>,
        variant: VariantRequest,
        advance_headers: bool,
        socket: &DirectSocket,
        holds: Holds,
    ) -> Result<HandedOff, Holds> {
        let Some(target) = socket.0.clone() else {
            return Err(holds);
        };
        let body = target.handoff.body();
        let shards = tokio::runtime::Handle::current()
            .metrics()
            .num_workers()
            .max(1);
        let key = OutputKey {
            hub: Arc::as_ptr(hub) as usize,
            variant,
            advance_headers,
            shard: self.next_shard.fetch_add(1, Ordering::Relaxed) % shards,
        };
        let viewer = Viewer::new(target, holds, advance_headers);
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let viewer = match running.get(&key) {
            Some(tx) => match tx.send(viewer) {
                Ok(()) => return Ok(body),
                // A writer that stopped without saying so (it panicked): start another.
                Err(mpsc::error::SendError(v)) => v,
            },
            None => viewer,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(viewer);
        running.insert(key, tx);
        let writer = Writer {
            key,
            writers: self.clone(),
            hub: hub.clone(),
            variant,
            advance_headers,
        };
        tokio::spawn(writer.run(rx));
        Ok(body)
    }
}

struct Writer {
    key: OutputKey,
    writers: Arc<Writers>,
    hub: Arc<CameraHub>,
    variant: VariantRequest,
    advance_headers: bool,
}

impl Writer {
    async fn run(self, mut joining: mpsc::UnboundedReceiver<Viewer>) {
        let mut frames = self.hub.subscribe();
        let mut viewers = Viewers::default();
        let mut hub_gone = false;
        loop {
            let deadline = viewers.next_deadline();
            tokio::select! {
                // A frame first: it is what every viewer waits for.
                biased;
                changed = frames.changed(), if !hub_gone => {
                    if changed.is_err() {
                        // The hub is gone: end every stream at its part's end.
                        viewers.end_all();
                        hub_gone = true;
                        continue;
                    }
                    let frame = frames.borrow_and_update().clone();
                    if let Some(frame) = frame {
                        self.deliver(&mut viewers, &frame, false).await;
                    }
                }
                Some(viewer) = joining.recv() => viewers.list.push(viewer),
                () = poll_fn(|cx| viewers.poll(cx)) => {}
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)),
                    if deadline.is_some() => viewers.check_timeouts(),
            }
            if viewers.list.iter().any(|v| v.wants_current) {
                // Viewers that just got their socket: the current frame at once, if live.
                let current = frames.borrow().clone();
                match current {
                    Some(frame) if self.hub.status().state == SourceState::Online => {
                        self.deliver(&mut viewers, &frame, true).await;
                    }
                    _ => viewers
                        .list
                        .iter_mut()
                        .for_each(|v| v.wants_current = false),
                }
            }
            if viewers.list.is_empty() {
                // Under the lock `Writers::add` sends under: a viewer sent before this looks
                // is served; after it, `add` finds no writer and starts one.
                let mut running = self
                    .writers
                    .running
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                match joining.try_recv() {
                    Ok(viewer) => viewers.list.push(viewer),
                    Err(_) => {
                        running.remove(&self.key);
                        return;
                    }
                }
            }
        }
    }

    /// Gives `frame`'s part to every viewer that has written its last one (with `only_new`,
    /// only to viewers that just started).
    async fn deliver(&self, viewers: &mut Viewers, frame: &Arc<Frame>, only_new: bool) {
        let part = match part_for(frame, &self.hub, &self.variant, self.advance_headers).await {
            Part::Bytes(b) => b,
            Part::Skip => return,
            Part::End => {
                viewers.end_all();
                return;
            }
        };
        let chunk_head = chunk_head(&part);
        for v in &mut viewers.list {
            if only_new && !v.wants_current {
                continue;
            }
            v.wants_current = false;
            if !v.started || v.ending || v.failed || !v.out.is_empty() {
                continue;
            }
            v.queue(&chunk_head, &part);
            v.holds.handle.record_sent(part.len());
            v.write();
        }
    }
}

/// A viewer as its writer keeps it.
struct Viewer {
    handoff: Arc<Handoff>,
    chunked: bool,
    holds: Holds,
    /// The body's first bytes: the first delimiter (and, for browsers, the part's head).
    first: &'static [u8],
    /// hyper flushed the head: the socket is the writer's.
    started: bool,
    /// Give the current frame at once (it just started).
    wants_current: bool,
    /// Stopped (shutdown, a revoked credential, the camera gone): end after the part in hand.
    ending: bool,
    /// The socket failed or the client took no data for `write_timeout`.
    failed: bool,
    /// What is left to write of the part in hand, chunk framing included.
    out: VecDeque<Bytes>,
    /// Since when the socket has taken nothing.
    blocked_since: Option<Instant>,
}

impl Viewer {
    fn new(target: Target, holds: Holds, advance_headers: bool) -> Self {
        Self {
            handoff: target.handoff,
            chunked: target.chunked,
            holds,
            first: first_delimiter(advance_headers),
            started: false,
            wants_current: false,
            ending: false,
            failed: false,
            out: VecDeque::with_capacity(3),
            blocked_since: None,
        }
    }

    /// Queues `bytes` as hyper would write them as a body chunk: in HTTP/1.1's chunked
    /// framing (`head` is their [`chunk_head`]), or as they are.
    fn queue(&mut self, head: &Bytes, bytes: &Bytes) {
        if self.chunked {
            self.out.push_back(head.clone());
            self.out.push_back(bytes.clone());
            self.out.push_back(Bytes::from_static(b"\r\n"));
        } else {
            self.out.push_back(bytes.clone());
        }
    }

    fn socket(&self) -> &dyn Socket {
        self.handoff.socket()
    }

    /// Writes what it can of `out` without waiting.
    fn write(&mut self) {
        match write_some(self.handoff.socket(), &mut self.out) {
            Ok(true) => self.blocked_since = None,
            Ok(false) => {
                self.blocked_since.get_or_insert_with(Instant::now);
            }
            Err(e) => {
                tracing::debug!("dropping an MJPEG viewer: {e}");
                self.failed = true;
            }
        }
    }
}

/// The line that opens a chunk of `bytes` in HTTP/1.1's chunked framing (RFC 9112 §7.1), in
/// upper-case hex as hyper writes it, so the stream's bytes are the same on either path.
fn chunk_head(bytes: &Bytes) -> Bytes {
    Bytes::from(format!("{:X}\r\n", bytes.len()))
}

/// Writes `out` to `socket` until it is all written (`true`) or the socket is full.
fn write_some(socket: &dyn Socket, out: &mut VecDeque<Bytes>) -> io::Result<bool> {
    while !out.is_empty() {
        let mut slices = [IoSlice::new(&[]); 4];
        let n = out.len().min(slices.len());
        for (slice, buf) in slices.iter_mut().zip(out.iter()) {
            *slice = IoSlice::new(buf);
        }
        match socket.try_write_vectored(&slices[..n]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(mut written) => {
                while written > 0 {
                    let Some(front) = out.front_mut() else { break };
                    if front.len() <= written {
                        written -= front.len();
                        out.pop_front();
                    } else {
                        front.advance(written);
                        written = 0;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[derive(Default)]
struct Viewers {
    list: Vec<Viewer>,
}

impl Viewers {
    /// Moves every viewer on as far as it can go without waiting: starts those whose socket
    /// came, writes to those whose socket has room, and lets go of those that ended. Ready
    /// when something changed that the writer's loop must look at.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut changed = false;
        let mut i = 0;
        while i < self.list.len() {
            let v = &mut self.list[i];
            if v.handoff.poll_closed(cx) {
                // hyper dropped the connection: nothing to give back.
                self.list.swap_remove(i);
                changed = true;
                continue;
            }
            if !v.ending && Pin::new(&mut v.holds.stop).poll(cx).is_ready() {
                v.ending = true;
            }
            if !v.started && !v.ending && v.handoff.poll_given(cx).is_ready() {
                v.started = true;
                v.wants_current = true;
                let first = Bytes::from_static(v.first);
                v.queue(&chunk_head(&first), &first);
                v.write();
                changed = true;
            }
            if v.started
                && !v.out.is_empty()
                && !v.failed
                && let Poll::Ready(r) = v.socket().poll_write_ready(cx)
            {
                match r {
                    Ok(()) => v.write(),
                    Err(_) => v.failed = true,
                }
                // Written, or the socket full again (its readiness is waited on next time).
                changed = true;
            }
            if v.failed {
                v.handoff.fail();
                self.list.swap_remove(i);
                changed = true;
                continue;
            }
            if v.ending && v.out.is_empty() {
                v.handoff.give_back();
                self.list.swap_remove(i);
                changed = true;
                continue;
            }
            i += 1;
        }
        if changed {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn end_all(&mut self) {
        self.list.iter_mut().for_each(|v| v.ending = true);
    }

    /// When the first blocked viewer's `write_timeout` runs out.
    fn next_deadline(&self) -> Option<Instant> {
        self.list
            .iter()
            .filter_map(|v| Some(v.blocked_since? + v.handoff.write_timeout))
            .min()
    }

    fn check_timeouts(&mut self) {
        let now = Instant::now();
        for v in &mut self.list {
            if v.blocked_since
                .is_some_and(|t| now >= t + v.handoff.write_timeout)
            {
                tracing::debug!("dropping an MJPEG viewer that took no data within write_timeout");
                v.failed = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A full socket keeps the rest queued; writing on whenever it has room sends every byte,
    /// in order, across the slices' edges.
    #[tokio::test]
    async fn what_a_full_socket_did_not_take_is_written_later_in_order() {
        let (a, mut b) = tokio::net::UnixStream::pair().unwrap();
        let big: Bytes = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut out = VecDeque::from([
            Bytes::from_static(b"head"),
            big.clone(),
            Bytes::from_static(b"\r\n"),
        ]);
        assert!(
            !write_some(&a, &mut out).unwrap(),
            "4 MB do not fit a socket's buffer"
        );
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            got
        });
        while !write_some(&a, &mut out).unwrap() {
            poll_fn(|cx| a.poll_write_ready(cx)).await.unwrap();
        }
        drop(a);
        let got = reader.await.unwrap();
        assert_eq!(got.len(), 4 + big.len() + 2);
        assert!(got.starts_with(b"head") && got.ends_with(b"\r\n"));
        assert!(got[4..got.len() - 2] == big[..]);
    }

    #[tokio::test]
    async fn a_closed_peer_is_an_error_not_a_wait() {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        drop(b);
        let mut out = VecDeque::from([Bytes::from_static(b"part")]);
        assert!(write_some(&a, &mut out).is_err());
    }

    #[test]
    fn a_chunk_opens_with_its_length_in_hex() {
        assert_eq!(
            &chunk_head(&Bytes::from(vec![0u8; 0x651d]))[..],
            b"651D\r\n"
        );
        assert_eq!(&chunk_head(&Bytes::from_static(b"x"))[..], b"1\r\n");
    }
}
