//! Refused connections: past `server.max_connections` a 503, past
//! `server.max_connections_per_address` a 429, each with a JSON reason and `Retry-After`, then
//! closed. At most [`REFUSALS_AT_ONCE`] are answered at a time, each for at most
//! [`REFUSAL_TIMEOUT`]; past that a refused connection is closed at once, so a flood of them
//! cannot hold sockets. Warnings about them are rate-limited; the metrics count every one.

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// Refused connections answered at once (each for at most [`REFUSAL_TIMEOUT`]).
const REFUSALS_AT_ONCE: usize = 64;

/// How long a refused client gets to send its request and read the answer.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection is refused.
#[derive(Debug, Clone, Copy)]
pub(super) enum Refusal {
    /// `server.max_connections` connections are open.
    Full,
    /// The client's address holds `server.max_connections_per_address` connections.
    PerAddress,
}

pub(super) struct Refusals {
    builder: auto::Builder<TokioExecutor>,
    at_once: Arc<Semaphore>,
    /// How long a refused client gets: [`REFUSAL_TIMEOUT`] or `header_read_timeout` if shorter.
    answer_within: Duration,
    max_per_address: usize,
    warned: RateLimitedWarnings,
}

impl Refusals {
    pub(super) fn new(
        builder: auto::Builder<TokioExecutor>,
        header_read_timeout: Duration,
        max_per_address: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            builder,
            at_once: Arc::new(Semaphore::new(REFUSALS_AT_ONCE)),
            answer_within: REFUSAL_TIMEOUT.min(header_read_timeout),
            max_per_address,
            warned: RateLimitedWarnings::default(),
        })
    }

    /// Answers a refused connection in its own task, or closes it at once when
    /// [`REFUSALS_AT_ONCE`] are being answered.
    pub(super) fn refuse<I>(self: &Arc<Self>, io: I, why: Refusal, peer: Option<SocketAddr>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.warn(why, peer);
        let Ok(permit) = self.at_once.clone().try_acquire_owned() else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            this.answer(io, why).await;
            drop(permit);
        });
    }

    /// Like [`Refusals::refuse`] on an HTTPS listener, before its TLS handshake: the handshake
    /// is part of the answer's time.
    pub(super) fn refuse_tls(
        self: &Arc<Self>,
        s: TcpStream,
        acceptor: TlsAcceptor,
        why: Refusal,
        peer: Option<SocketAddr>,
    ) {
        self.warn(why, peer);
        let Ok(permit) = self.at_once.clone().try_acquire_owned() else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let answered = async {
                if let Ok(io) = acceptor.accept(s).await {
                    this.answer(io, why).await;
                }
            };
            let _ = tokio::time::timeout(this.answer_within, answered).await;
            drop(permit);
        });
    }

    /// Answers every request on a refused connection with 503 or 429 and closes it.
    async fn answer<I>(&self, io: I, why: Refusal)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (status, body) = match why {
            Refusal::Full => (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"error":"too many connections: the server's connection limit (server.max_connections) is reached; try again shortly","status":503}"#.to_owned(),
            ),
            Refusal::PerAddress => (
                StatusCode::TOO_MANY_REQUESTS,
                serde_json::json!({
                    "error": format!(
                        "too many connections from your address: at most {} at once (server.max_connections_per_address); close some and try again",
                        self.max_per_address
                    ),
                    "status": 429,
                })
                .to_string(),
            ),
        };
        let body = Bytes::from(body);
        let svc = hyper::service::service_fn(move |_req: Request<Incoming>| {
            let body = body.clone();
            async move {
                Response::builder()
                    .status(status)
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::RETRY_AFTER, "5")
                    .header(header::CACHE_CONTROL, "no-store")
                    .header(header::CONNECTION, "close")
                    .body(Full::new(body))
            }
        });
        let connection = self.builder.serve_connection(TokioIo::new(io), svc);
        let _ = tokio::time::timeout(self.answer_within, connection).await;
    }

    fn warn(&self, why: Refusal, peer: Option<SocketAddr>) {
        match why {
            Refusal::Full if self.warned.due(&self.warned.full) => tracing::warn!(
                ?peer,
                "connection limit reached: answering 503 (server.max_connections; lookout_connections_refused_total counts them; this is logged at most every {WARN_EVERY_S} s)"
            ),
            Refusal::PerAddress if self.warned.due(&self.warned.per_address) => tracing::warn!(
                ?peer,
                max = self.max_per_address,
                "an address reached its connection limit: answering 429 (server.max_connections_per_address; lookout_connections_refused_per_address_total counts them; this is logged at most every {WARN_EVERY_S} s)"
            ),
            _ => {}
        }
    }
}

/// When each kind of refusal was last logged: at most one warning per kind every
/// [`WARN_EVERY_S`], so a flood of refused connections cannot flood the log.
#[derive(Debug, Default)]
struct RateLimitedWarnings {
    /// Seconds since `epoch` plus one (0: never) of the last warning of each kind.
    full: AtomicU64,
    per_address: AtomicU64,
    epoch: std::sync::OnceLock<Instant>,
}

const WARN_EVERY_S: u64 = 10;

impl RateLimitedWarnings {
    fn due(&self, last: &AtomicU64) -> bool {
        let now = self.epoch.get_or_init(Instant::now).elapsed().as_secs() + 1;
        let prev = last.load(Ordering::Relaxed);
        (prev == 0 || now >= prev + WARN_EVERY_S)
            && last
                .compare_exchange(prev, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn warnings_come_at_most_every_ten_seconds_per_kind() {
        let w = RateLimitedWarnings::default();
        assert!(w.due(&w.full));
        assert!(!w.due(&w.full));
        assert!(w.due(&w.per_address));
        tokio::time::advance(Duration::from_secs(WARN_EVERY_S - 1)).await;
        assert!(!w.due(&w.full));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(w.due(&w.full));
    }
}
