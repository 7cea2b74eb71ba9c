//! The HTTP server: an accept loop per listener, a connection limit with a clear 503 past it,
//! header limits, the write timeout, and graceful shutdown that waits for open responses
//! (every stream ends on the shutdown token, see `web::stream`).

use crate::config::file::RedirectHttp;
use crate::listen::Bound;
use crate::web::ConnInfo;
use crate::write_timeout::WriteTimeout;
use axum::Router;
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub write_timeout: Duration,
    pub header_read_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_headers: usize,
}

/// Connection counters for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    pub open: AtomicUsize,
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
}

/// How long shutdown waits for open connections to finish their responses.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on every listener until `shutdown` fires and connections have drained.
/// `tls` is required if any listener is HTTPS.
pub async fn serve(
    listeners: Vec<Bound>,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    redirect: HttpsRedirect,
    limits: Limits,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
) {
    let shared = Arc::new(Shared {
        router,
        builder: builder(&limits),
        tls: tls.map(TlsAcceptor::from),
        redirect,
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        handshakes: Arc::new(Semaphore::new(limits.max_connections)),
        limits,
        stats,
    });
    let graceful = Arc::new(GracefulShutdown::new());
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            tokio::spawn(accept_loop(
                l,
                shared.clone(),
                graceful.clone(),
                shutdown.clone(),
            ))
        })
        .collect();
    for l in loops {
        let _ = l.await;
    }
    // The accept loops held the only other references.
    let Ok(graceful) = Arc::try_unwrap(graceful) else {
        return;
    };
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within {DRAIN_TIMEOUT:?}");
    }
}

/// What every connection needs.
/// Which plain-HTTP listeners send browsers to HTTPS, and to which port.
#[derive(Debug, Clone, Copy)]
pub struct HttpsRedirect {
    pub mode: RedirectHttp,
    /// The HTTPS listener's port; `None` without one (nothing is redirected).
    pub port: Option<u16>,
}

impl HttpsRedirect {
    fn for_listener(&self, l: &Bound) -> Option<u16> {
        let applies = match (l, self.mode) {
            (Bound::Tcp { tls: false, .. }, RedirectHttp::All) => true,
            (Bound::Tcp { tls: false, .. }, RedirectHttp::Public) => !l.is_local(),
            _ => false,
        };
        self.port.filter(|_| applies)
    }
}

struct Shared {
    router: Router,
    builder: auto::Builder<TokioExecutor>,
    tls: Option<TlsAcceptor>,
    redirect: HttpsRedirect,
    slots: Arc<Semaphore>,
    handshakes: Arc<Semaphore>,
    limits: Limits,
    stats: Arc<ConnectionStats>,
}

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

async fn accept_loop(
    listener: Bound,
    shared: Arc<Shared>,
    graceful: Arc<GracefulShutdown>,
    shutdown: CancellationToken,
) {
    let tls = listener.is_tls();
    let redirect_to_https = shared.redirect.for_listener(&listener);
    loop {
        let accepted = tokio::select! {
            r = accept(&listener) => r,
            () = shutdown.cancelled() => break,
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
        let conn = ConnInfo {
            peer,
            tls,
            redirect_to_https,
        };
        let shared = shared.clone();
        let watcher = graceful.watcher();
        match stream {
            Accepted::Tcp(s) if tls => {
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
                tokio::spawn(async move {
                    let _handshake = handshake;
                    let io = WriteTimeout::new(s, shared.limits.write_timeout);
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
                        Ok(Ok(tls)) => serve_connection(tls, conn, &shared, watcher),
                        Ok(Err(e)) => tracing::debug!(?peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(?peer, "TLS handshake timed out"),
                    }
                });
            }
            Accepted::Tcp(s) => {
                let io = WriteTimeout::new(s, shared.limits.write_timeout);
                serve_connection(io, conn, &shared, watcher);
            }
            Accepted::Unix(s) => {
                let io = WriteTimeout::new(s, shared.limits.write_timeout);
                serve_connection(io, conn, &shared, watcher);
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

enum Accepted {
    Tcp(TcpStream),
    Unix(UnixStream),
}

async fn accept(listener: &Bound) -> std::io::Result<(Accepted, Option<SocketAddr>)> {
    match listener {
        Bound::Tcp { listener, .. } => {
            let (s, peer) = listener.accept().await?;
            let _ = s.set_nodelay(true);
            Ok((Accepted::Tcp(s), Some(peer)))
        }
        Bound::Unix { listener, .. } => {
            let (s, _) = listener.accept().await?;
            Ok((Accepted::Unix(s), None))
        }
    }
}

/// Serves HTTP/1.1 or HTTP/2 on one connection, or answers 503 past the connection limit.
fn serve_connection<I>(io: I, conn: ConnInfo, shared: &Arc<Shared>, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let Ok(permit) = shared.slots.clone().try_acquire_owned() else {
        shared.stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(peer = ?conn.peer, max = shared.limits.max_connections, "connection limit reached: answering 503");
        let shared = shared.clone();
        tokio::spawn(async move { refuse(io, &shared.builder).await });
        return;
    };
    let svc = shared
        .router
        .clone()
        .map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(conn);
            req
        });
    let connection = shared
        .builder
        .serve_connection_with_upgrades(io, TowerToHyperService::new(svc))
        .into_owned();
    let connection = watcher.watch(connection);
    let stats = shared.stats.clone();
    stats.open.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(peer = ?conn.peer, "connection ended: {e}");
        }
        stats.open.fetch_sub(1, Ordering::Relaxed);
        drop(permit);
    });
}

/// Answers every request on a connection past the limit with 503 and closes it.
async fn refuse<I>(io: TokioIo<I>, builder: &auto::Builder<TokioExecutor>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(|_req: Request<Incoming>| async {
        let body = r#"{"error":"too many connections: the server's connection limit (server.max_connections) is reached; try again shortly","status":503}"#;
        Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::RETRY_AFTER, "5")
            .header(header::CACHE_CONTROL, "no-store")
            .header(header::CONNECTION, "close")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
    });
    let _ = tokio::time::timeout(Duration::from_secs(10), builder.serve_connection(io, svc)).await;
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
