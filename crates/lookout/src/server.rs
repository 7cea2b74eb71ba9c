//! The HTTP server: an accept loop per listener, a connection limit with a clear 503 past it,
//! header limits, the write timeout, and graceful shutdown that waits for open responses
//! (every stream ends on the shutdown token, see `web::stream`).

use crate::write_timeout::WriteTimeout;
use axum::Router;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
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
pub async fn serve(
    listeners: Vec<TcpListener>,
    router: Router,
    limits: Limits,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let builder = Arc::new(builder(&limits));
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            tokio::spawn(accept_loop(
                l,
                router.clone(),
                builder.clone(),
                limits.clone(),
                slots.clone(),
                stats.clone(),
                shutdown.clone(),
            ))
        })
        .collect();
    for l in loops {
        let _ = l.await;
    }
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
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32);
    b
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: Limits,
    slots: Arc<Semaphore>,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning on the error.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let io = TokioIo::new(WriteTimeout::new(stream, limits.write_timeout));
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let svc = router
                    .clone()
                    .map_request(move |mut req: Request<Incoming>| {
                        req.extensions_mut().insert(ConnectInfo(peer));
                        req
                    });
                let conn = builder
                    .serve_connection_with_upgrades(io, TowerToHyperService::new(svc))
                    .into_owned();
                let conn = graceful.watch(conn);
                let stats = stats.clone();
                stats.open.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, "connection ended: {e}");
                    }
                    stats.open.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
            Err(_) => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%peer, max = limits.max_connections, "connection limit reached: answering 503");
                tokio::spawn(refuse(io, builder.clone()));
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within {DRAIN_TIMEOUT:?}");
    }
}

/// Answers every request on a connection past the limit with 503 and closes it.
async fn refuse(io: TokioIo<WriteTimeout<TcpStream>>, builder: Arc<auto::Builder<TokioExecutor>>) {
    let svc = hyper::service::service_fn(|_req: Request<Incoming>| async {
        let body = r#"{"error":"too many connections: the server's connection limit (server.max_connections) is reached; try again shortly","status":503}"#;
        Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::RETRY_AFTER, "5")
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

/// Binds every address; an error names the address and what to do.
pub async fn bind_all(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::new();
    for a in addrs {
        let l = TcpListener::bind(a).await.map_err(|e| {
            format!("cannot listen on {a}: {e}; pick another port with --listen or server.listen, or stop what uses it")
        })?;
        out.push(l);
    }
    Ok(out)
}
