//! The HTTP server: an accept loop per listener, a connection limit with a clear 503 past it
//! and a per-address one with a 429, header limits, timeouts for clients that send no request
//! or take no data (`conn_watch`), and graceful shutdown that waits for open responses
//! (every stream ends on the shutdown token, see `web::stream`).

mod address_limit;
mod conn_watch;
mod first_bytes;
mod memory_trim;
mod refusal;

use crate::handoff::{Handoff, MayHandOff};
use crate::listen::Bound;
use crate::stop::Stop;
use crate::web::security_headers::Hsts;
use crate::web::{ConnInfo, ConnectionStats, ProxyTrust};
use crate::write_timeout::WriteTimeout;
use address_limit::{AddressLimit, AddressSlot};
use axum::Router;
use conn_watch::{Activity, TrackedBody, Verdict};
use first_bytes::{FirstBytes, Speaks};
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use hyper_util::service::TowerToHyperService;
use refusal::{Refusal, Refusals};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    /// Peers exempt from the per-address limit: their connections carry many clients.
    pub trusted_proxies: Arc<ProxyTrust>,
    pub write_timeout: Duration,
    pub header_read_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_headers: usize,
}

/// How long shutdown waits for open connections to finish their responses.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on every listener until `shutdown` fires and connections have drained.
/// `tls` is required if any listener is HTTPS.
pub async fn serve(
    listeners: Vec<Bound>,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    https: HttpsPolicy,
    limits: Limits,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
) {
    let tracker = TaskTracker::new();
    tokio::spawn(memory_trim::trim_when_freed(shutdown.clone()));
    let shared = Arc::new(Shared {
        router,
        builders: Builders {
            http1: builder(&limits).http1_only(),
            http2: builder(&limits).http2_only(),
            any: builder(&limits),
        },
        tls: tls.map(TlsAcceptor::from),
        https,
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        handshakes: Arc::new(Semaphore::new(limits.max_connections)),
        per_address: AddressLimit::new(limits.max_connections_per_address),
        refusals: Refusals::new(
            builder(&limits),
            limits.header_read_timeout,
            limits.max_connections_per_address,
        ),
        limits,
        stats,
        tracker: tracker.clone(),
        shutdown: shutdown.clone(),
    });
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|l| tokio::spawn(accept_loop(l, shared.clone())))
        .collect();
    for l in loops {
        let _ = l.await;
    }
    // Every connection task saw `shutdown` and asked its connection to finish.
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within {DRAIN_TIMEOUT:?}");
    }
}

/// Which plain-HTTP listeners send browsers to HTTPS (301), ACME challenges excepted
/// (`tls.redirect_http`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RedirectHttp {
    /// Plain TCP listeners on non-loopback addresses (port 80 on the internet).
    Public,
    /// Every plain TCP listener.
    All,
    /// None.
    None,
}

/// What HTTPS asks of the listeners: which plain-HTTP ones send browsers to HTTPS and to
/// which port, and what HTTPS responses say in `Strict-Transport-Security`.
#[derive(Debug, Clone, Copy)]
pub struct HttpsPolicy {
    pub redirect_http: RedirectHttp,
    /// The HTTPS listener's port; `None` without one (nothing is redirected).
    pub https_port: Option<u16>,
    /// `server.hsts_max_age_s` as configured (`None`: the default policy, see [`Hsts`]).
    pub hsts_max_age_s: Option<u64>,
}

impl HttpsPolicy {
    fn redirect_port(&self, l: &Bound) -> Option<u16> {
        let applies = match (l, self.redirect_http) {
            (Bound::Tcp { tls: false, .. }, RedirectHttp::All) => true,
            (Bound::Tcp { tls: false, .. }, RedirectHttp::Public) => !l.is_local(),
            _ => false,
        };
        self.https_port.filter(|_| applies)
    }
}

/// What every connection needs.
struct Shared {
    router: Router,
    builders: Builders,
    tls: Option<TlsAcceptor>,
    https: HttpsPolicy,
    slots: Arc<Semaphore>,
    handshakes: Arc<Semaphore>,
    per_address: Arc<AddressLimit>,
    refusals: Arc<Refusals>,
    limits: Limits,
    stats: Arc<ConnectionStats>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

/// One builder per HTTP version a connection is known to speak ([`first_bytes`]), and one
/// that finds out.
struct Builders {
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
    any: auto::Builder<TokioExecutor>,
}

impl Builders {
    fn for_connection(&self, speaks: Speaks) -> &auto::Builder<TokioExecutor> {
        match speaks {
            Speaks::Http1 => &self.http1,
            Speaks::Http2 => &self.http2,
            Speaks::Unknown => &self.any,
        }
    }
}

/// How long a connection asked to close (idle, or at shutdown) may stay open with no request
/// in progress before it is dropped: an HTTP/2 GOAWAY needs a round trip to the client.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(2);

fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Bounds both the request head and what hyper buffers of a response before pushing it
        // to the socket: with a small buffer, a viewer's next frame waits in the hub (and is
        // replaced by a newer one) rather than queueing inside hyper.
        .max_buf_size(limits.max_header_bytes)
        .max_headers(limits.max_headers);
    // Pings find HTTP/2 connections whose client vanished, so they do not hold a
    // connection slot forever.
    b.http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20))
        .max_header_list_size(limits.max_header_bytes as u32);
    b
}

/// How long a client gets to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection carries from its listener and its accept.
struct Accepted {
    conn: ConnInfo,
    hsts: Option<Hsts>,
    /// Its place in its address's count; `None` for exempt peers (unix sockets, trusted
    /// proxies).
    address_slot: Option<AddressSlot>,
}

async fn accept_loop(listener: Bound, shared: Arc<Shared>) {
    let tls = listener.is_tls();
    let redirect_to_https = shared.https.redirect_port(&listener);
    let hsts = Hsts::for_listener(tls, listener.is_local(), shared.https.hsts_max_age_s);
    loop {
        let accepted = tokio::select! {
            r = accept(&listener) => r,
            () = shared.shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning on the error.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        shared.stats.accepted.fetch_add(1, Ordering::Relaxed);
        // Counted from the first moment, TLS handshake included: a client that never finishes
        // its handshake holds its address's place too.
        let counted = peer.filter(|p| !shared.limits.trusted_proxies.trusts_peer(Some(*p)));
        let address_slot = match counted.map(|p| shared.per_address.try_acquire(p.ip())) {
            None => None,
            Some(Ok(slot)) => Some(slot),
            Some(Err(_)) => {
                shared
                    .stats
                    .refused_per_address
                    .fetch_add(1, Ordering::Relaxed);
                refuse_at_accept(stream, tls, peer, &shared);
                continue;
            }
        };
        let accepted = Accepted {
            conn: ConnInfo {
                peer,
                tls,
                redirect_to_https,
            },
            hsts,
            address_slot,
        };
        let shared = shared.clone();
        match stream {
            Stream::Tcp(s) if tls => {
                let Some(acceptor) = shared.tls.clone() else {
                    tracing::error!("an HTTPS listener without a certificate: closing");
                    continue;
                };
                // Handshakes in progress are bounded like connections: a flood of clients
                // that connect and never speak TLS cannot spawn without limit.
                let Ok(handshake) = shared.handshakes.clone().try_acquire_owned() else {
                    shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                // The handshake runs in its own task so a slow client holds up nobody.
                let tracker = shared.tracker.clone();
                tracker.spawn(async move {
                    let _handshake = handshake;
                    let io = WriteTimeout::new(s, shared.limits.write_timeout);
                    let handshake =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(io));
                    let done = tokio::select! {
                        r = handshake => r,
                        // Shutdown does not wait for handshakes.
                        () = shared.shutdown.cancelled() => return,
                    };
                    match done {
                        Ok(Ok(tls)) => serve_connection(tls, accepted, &shared),
                        Ok(Err(e)) => tracing::debug!(?peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(?peer, "TLS handshake timed out"),
                    }
                });
            }
            // Plain connections: an MJPEG stream's writer may take the socket over.
            Stream::Tcp(s) => {
                let handoff = Handoff::new(s, shared.limits.write_timeout);
                let io = WriteTimeout::new(handoff.io(), shared.limits.write_timeout);
                serve_connection(io, accepted, &shared);
            }
            Stream::Unix(s) => {
                let handoff = Handoff::new(s, shared.limits.write_timeout);
                let io = WriteTimeout::new(handoff.io(), shared.limits.write_timeout);
                serve_connection(io, accepted, &shared);
            }
        }
    }
    if let Bound::Unix {
        path, owned: true, ..
    } = &listener
    {
        // Ours: remove it so the next start finds no stale socket.
        let _ = std::fs::remove_file(path);
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

async fn accept(listener: &Bound) -> std::io::Result<(Stream, Option<SocketAddr>)> {
    match listener {
        Bound::Tcp { listener, .. } => {
            let (s, peer) = listener.accept().await?;
            let _ = s.set_nodelay(true);
            Ok((Stream::Tcp(s), Some(peer)))
        }
        Bound::Unix { listener, .. } => {
            let (s, _) = listener.accept().await?;
            Ok((Stream::Unix(s), None))
        }
    }
}

/// Refuses a connection whose address holds its share already (on an HTTPS listener, after
/// the TLS handshake, so the client can read why).
fn refuse_at_accept(stream: Stream, tls: bool, peer: Option<SocketAddr>, shared: &Shared) {
    let timeout = shared.limits.write_timeout;
    let why = Refusal::PerAddress;
    match (stream, shared.tls.clone()) {
        (Stream::Tcp(s), Some(acceptor)) if tls => {
            shared.refusals.refuse_tls(s, acceptor, why, peer);
        }
        (Stream::Tcp(s), _) => {
            shared
                .refusals
                .refuse(WriteTimeout::new(s, timeout), why, peer);
        }
        (Stream::Unix(s), _) => {
            shared
                .refusals
                .refuse(WriteTimeout::new(s, timeout), why, peer);
        }
    }
}

/// Serves HTTP/1.1 or HTTP/2 on one connection, or answers 503 past the connection limit.
fn serve_connection<I>(io: I, accepted: Accepted, shared: &Arc<Shared>)
where
    I: AsyncRead + AsyncWrite + FirstBytes + MayHandOff + Unpin + Send + Sync + 'static,
{
    let Accepted {
        conn,
        hsts,
        address_slot,
    } = accepted;
    let Ok(permit) = shared.slots.clone().try_acquire_owned() else {
        shared.stats.refused.fetch_add(1, Ordering::Relaxed);
        shared.refusals.refuse(io, Refusal::Full, conn.peer);
        return;
    };
    // Starts the clock for the first request: after the TLS handshake on HTTPS.
    let activity = Activity::new();
    let router = shared.router.clone();
    let tracked = activity.clone();
    let handoff = io.handoff();
    let svc = tower::service_fn(move |mut req: Request<Incoming>| {
        let guard = tracked.begin();
        // Over HTTP/2, flow control can hold a response where the socket's write timeout
        // does not see it.
        let watch_stall = req.version() == http::Version::HTTP_2;
        req.extensions_mut().insert(conn);
        if let Some(handoff) = handoff.clone() {
            req.extensions_mut().insert(handoff);
        }
        if let Some(hsts) = hsts {
            req.extensions_mut().insert(hsts);
        }
        let router = router.clone();
        async move {
            let resp = router
                .oneshot(req)
                .await
                .unwrap_or_else(|never| match never {});
            Ok::<_, Infallible>(resp.map(|body| TrackedBody::new(body, guard, watch_stall)))
        }
    });
    let shared = shared.clone();
    shared.stats.open.fetch_add(1, Ordering::Relaxed);
    let tracker = shared.tracker.clone();
    tracker.spawn(async move {
        // A client that sends nothing is closed by `watch_connection` (as idle), which finds
        // its time up at once.
        let speaks = tokio::select! {
            s = io.speaks() => s,
            () = tokio::time::sleep(shared.limits.header_read_timeout) => Speaks::Unknown,
            () = shared.shutdown.cancelled() => Speaks::Unknown,
        };
        // Not `serve_connection_with_upgrades`: that reads the first 24 bytes whatever the
        // builder was told (nothing here upgrades a connection: no WebSocket, no CONNECT).
        let connection = shared
            .builders
            .for_connection(speaks)
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(svc))
            .into_owned();
        watch_connection(connection, &activity, &shared, conn.peer).await;
        shared.stats.open.fetch_sub(1, Ordering::Relaxed);
        drop(permit);
        drop(address_slot);
    });
}

/// Runs a connection until it ends, is dropped for sending no request or taking no data, or
/// has finished its responses after shutdown began.
async fn watch_connection<C>(
    connection: C,
    activity: &Activity,
    shared: &Shared,
    peer: Option<SocketAddr>,
) where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    let limits = &shared.limits;
    let mut connection = std::pin::pin!(connection);
    let mut asked_to_close = false;
    let mut close_by: Option<Instant> = None;
    let timer = tokio::time::sleep(Duration::ZERO);
    let mut timer = std::pin::pin!(timer);
    // Polled with the connection, once per frame for a stream: see `crate::stop`.
    let mut shutdown = Stop::new(shared.shutdown.child_token());
    loop {
        let now = Instant::now();
        let mut wake_at =
            match activity.check(now, limits.header_read_timeout, limits.write_timeout) {
                Verdict::Fine { recheck_at } => recheck_at,
                Verdict::Idle { ever: false } => {
                    // Nothing ever came: nothing to be polite about.
                    shared.stats.closed_idle.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(?peer, "no request within header_read_timeout: closing");
                    return;
                }
                Verdict::Idle { ever: true } => {
                    if close_by.is_none() {
                        shared.stats.closed_idle.fetch_add(1, Ordering::Relaxed);
                    }
                    if !asked_to_close {
                        connection.as_mut().graceful_shutdown();
                        asked_to_close = true;
                    }
                    *close_by.get_or_insert(now + IDLE_CLOSE_GRACE)
                }
                Verdict::Stalled => {
                    // Dropping the connection ends its streams, which frees their viewer slots.
                    shared.stats.dropped_stalled.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(
                        ?peer,
                        "an HTTP/2 client took no data of a response within write_timeout: dropping"
                    );
                    return;
                }
            };
        // Asked to close (idle, or shutdown) and still open with nothing in progress: an
        // HTTP/2 client that does not answer the GOAWAY's ping, for example.
        if let Some(by) = close_by.filter(|_| activity.is_idle()) {
            if now >= by {
                tracing::debug!(?peer, "idle connection did not close when asked: dropping");
                return;
            }
            wake_at = wake_at.min(by);
        }
        timer.as_mut().reset(wake_at);
        tokio::select! {
            r = connection.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(?peer, "connection ended: {e}");
                }
                return;
            }
            () = &mut shutdown, if !asked_to_close => {
                connection.as_mut().graceful_shutdown();
                asked_to_close = true;
                close_by = Some(Instant::now() + IDLE_CLOSE_GRACE);
            }
            () = &mut timer => {}
        }
    }
}

/// Raises the open-files limit to its hard maximum: each viewer is a socket, and the usual
/// soft limit of 1024 would stop us well before `max_connections`.
pub fn raise_open_files_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
