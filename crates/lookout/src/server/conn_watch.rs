//! What one connection is doing, for the server's watchdog: whether a request is in progress,
//! since when none is, and which HTTP/2 responses wait for the client to take their data.
//!
//! Two kinds of client would otherwise hold a connection slot for ever:
//! - one that sends no request: a silent TCP connection, a TLS handshake followed by nothing, an
//!   HTTP/2 preface with no request (hyper's own header timeout starts only once HTTP/1.1
//!   parsing has begun), or an idle HTTP/2 connection. It is closed after
//!   `header_read_timeout` without a request in progress.
//! - an HTTP/2 client that stops reading a stream: its flow-control window stays closed, so
//!   hyper stops asking the response for data while the socket stays writable and the
//!   socket-level write timeout never fires. A response that handed over data and is not asked
//!   for more within `write_timeout` closes the connection, which ends its streams and frees
//!   their viewer slots.

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Activity {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests whose response is not finished (its body not yet dropped).
    in_flight: usize,
    /// Requests seen so far.
    requests: u64,
    /// Since when no request is in progress (the connection's start before the first one).
    idle_since: Instant,
    /// Responses that handed data to hyper and were not asked for more: id and since when.
    waiting: Vec<(u64, Instant)>,
    next_waiting_id: u64,
}

/// What the watchdog should do with the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do before this instant.
    Fine { recheck_at: Instant },
    /// No request in progress for `header_read_timeout`; `ever` says whether one came at all.
    Idle { ever: bool },
    /// A response's client took no data of it for `write_timeout`.
    Stalled,
}

impl Activity {
    /// A connection that starts now (after its TLS handshake, if any).
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                in_flight: 0,
                requests: 0,
                idle_since: Instant::now(),
                waiting: Vec::new(),
                next_waiting_id: 0,
            }),
        })
    }

    /// A request arrived; it is in progress until the guard (moved into its response body)
    /// is dropped.
    pub fn begin(self: &Arc<Self>) -> RequestGuard {
        let mut s = self.lock();
        s.in_flight += 1;
        s.requests += 1;
        RequestGuard {
            activity: self.clone(),
        }
    }

    /// Decides, at `now`, whether the connection must go.
    pub fn check(&self, now: Instant, idle_limit: Duration, write_limit: Duration) -> Verdict {
        let s = self.lock();
        // A condition that starts after `now` ends no earlier than `now` plus its limit:
        // waking at least this often catches every one in time.
        let mut recheck_at = now + idle_limit.min(write_limit);
        if s.in_flight == 0 {
            let expires = s.idle_since + idle_limit;
            if now >= expires {
                return Verdict::Idle {
                    ever: s.requests > 0,
                };
            }
            recheck_at = recheck_at.min(expires);
        }
        if let Some(oldest) = s.waiting.iter().map(|w| w.1).min() {
            let expires = oldest + write_limit;
            if now >= expires {
                return Verdict::Stalled;
            }
            recheck_at = recheck_at.min(expires);
        }
        Verdict::Fine { recheck_at }
    }

    /// Whether no request is in progress.
    pub fn is_idle(&self) -> bool {
        self.lock().in_flight == 0
    }

    fn start_waiting(&self) -> u64 {
        let mut s = self.lock();
        let id = s.next_waiting_id;
        s.next_waiting_id += 1;
        s.waiting.push((id, Instant::now()));
        id
    }

    fn stop_waiting(&self, id: u64) {
        self.lock().waiting.retain(|w| w.0 != id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every change under the lock is one step, so a panic elsewhere left it consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A request in progress on its connection.
#[derive(Debug)]
pub struct RequestGuard {
    activity: Arc<Activity>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut s = self.activity.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
        }
    }
}

/// A response body that keeps its request counted as in progress until it is dropped, and,
/// over HTTP/2, tells the connection when it handed over data and was not asked for more.
pub struct TrackedBody<B> {
    inner: B,
    guard: RequestGuard,
    /// Whether to watch for a client that takes no data (HTTP/2 only: over HTTP/1.1 the
    /// socket's write timeout sees it, and counts a slow client's progress too).
    watch_stall: bool,
    waiting: Option<u64>,
}

impl<B> TrackedBody<B> {
    pub fn new(inner: B, guard: RequestGuard, watch_stall: bool) -> Self {
        Self {
            inner,
            guard,
            watch_stall,
            waiting: None,
        }
    }
}

impl<B> Body for TrackedBody<B>
where
    B: Body + Unpin,
    B::Data: Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(id) = this.waiting.take() {
            this.guard.activity.stop_waiting(id);
        }
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        if this.watch_stall && matches!(r, Poll::Ready(Some(Ok(_)))) {
            this.waiting = Some(this.guard.activity.start_waiting());
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for TrackedBody<B> {
    fn drop(&mut self) {
        if let Some(id) = self.waiting.take() {
            self.guard.activity.stop_waiting(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    const IDLE: Duration = Duration::from_secs(10);
    const WRITE: Duration = Duration::from_secs(4);

    #[tokio::test(start_paused = true)]
    async fn a_connection_without_requests_is_idle_after_the_limit() {
        let a = Activity::new();
        let t0 = Instant::now();
        assert_eq!(
            a.check(t0, IDLE, WRITE),
            Verdict::Fine {
                recheck_at: t0 + WRITE
            }
        );
        assert_eq!(
            a.check(t0 + Duration::from_secs(8), IDLE, WRITE),
            Verdict::Fine {
                recheck_at: t0 + IDLE
            }
        );
        assert_eq!(
            a.check(t0 + IDLE, IDLE, WRITE),
            Verdict::Idle { ever: false }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_progress_keeps_it_open_and_its_end_restarts_the_clock() {
        let a = Activity::new();
        let guard = a.begin();
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(matches!(
            a.check(Instant::now(), IDLE, WRITE),
            Verdict::Fine { .. }
        ));
        drop(guard);
        let done = Instant::now();
        assert!(matches!(a.check(done, IDLE, WRITE), Verdict::Fine { .. }));
        assert_eq!(
            a.check(done + IDLE, IDLE, WRITE),
            Verdict::Idle { ever: true }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_not_asked_for_more_after_handing_over_data_stalls_the_connection() {
        let a = Activity::new();
        let body = http_body_util::Full::new(bytes::Bytes::from_static(b"frame"));
        let mut tracked = TrackedBody::new(body, a.begin(), true);
        let frame = tracked.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "frame");
        let handed = Instant::now();
        assert_eq!(
            a.check(handed, IDLE, WRITE),
            Verdict::Fine {
                recheck_at: handed + WRITE
            }
        );
        assert_eq!(a.check(handed + WRITE, IDLE, WRITE), Verdict::Stalled);
        // Asked again: no longer waiting.
        assert!(tracked.frame().await.is_none());
        assert!(matches!(
            a.check(handed + WRITE, IDLE, WRITE),
            Verdict::Fine { .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn without_stall_watching_or_once_dropped_a_body_never_stalls() {
        let a = Activity::new();
        let body = http_body_util::Full::new(bytes::Bytes::from_static(b"x"));
        let mut h1 = TrackedBody::new(body.clone(), a.begin(), false);
        h1.frame().await.unwrap().unwrap();
        let mut h2 = TrackedBody::new(body, a.begin(), true);
        h2.frame().await.unwrap().unwrap();
        drop(h2);
        let later = Instant::now() + WRITE * 3;
        assert!(matches!(a.check(later, IDLE, WRITE), Verdict::Fine { .. }));
        drop(h1);
    }
}
