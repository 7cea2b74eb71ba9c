//! How long a connection may hold its slot: clients that send no request are closed after
//! `server.header_read_timeout_ms`, one address gets at most
//! `server.max_connections_per_address`, and an HTTP/2 viewer that takes no data is dropped
//! after `server.write_timeout_ms`.

use crate::support::{TestServer, testpattern};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// A TCP connection to `server` from the loopback address `from` (any of 127.0.0.0/8).
async fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    let local: IpAddr = from.parse().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    socket.connect(server).await.unwrap()
}

/// `GET path` from `from`; the response status and body.
async fn get_from(from: &str, server: SocketAddr, path: &str) -> (u16, lookout_bench::Response) {
    let io = connect_from(from, server).await;
    let r = lookout_bench::get_on(io, &server.to_string(), path, &[])
        .await
        .unwrap_or_else(|e| panic!("GET {path} from {from}: {e}"));
    (r.status, r)
}

/// Whether the server closed `s` within `within` (it reads to the end; whatever the server
/// sent first, an HTTP/2 SETTINGS frame, is skipped).
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = Vec::new();
    matches!(
        tokio::time::timeout(within, s.read_to_end(&mut buf)).await,
        Ok(Ok(_) | Err(_))
    )
}

/// The soft limit on open files of this process.
fn open_files_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(rc, 0, "getrlimit");
    usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// 1000 sockets that send nothing or only the start of HTTP/2 take every slot of
/// `max_connections` (its default, 1000; fewer where the open-files limit is low); once `header_read_timeout_ms` has passed they are closed and a normal
/// client gets its snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_after_the_header_timeout() {
    const TIMEOUT: Duration = Duration::from_secs(5);
    // Each silent socket is two file descriptors in this one process (ours and the server's),
    // plus what the other tests running beside this one hold.
    lookout::server::raise_open_files_limit();
    let fds = open_files_limit();
    let silent_count = 1000.min(fds.saturating_sub(400) / 2);
    if silent_count < 1000 {
        eprintln!(
            "the open-files limit is {fds}: {silent_count} silent sockets and max_connections = {silent_count}"
        );
    }
    assert!(
        silent_count >= 100,
        "open-files limit {fds} is too low for this test"
    );
    let srv = TestServer::start(&format!(
        "[server]\nheader_read_timeout_ms = {}\nmax_connections = {silent_count}\n{}",
        TIMEOUT.as_millis(),
        testpattern("a", 160, 120, 10)
    ))
    .await;
    assert_eq!(srv.get("/cameras/a/snapshot.jpg").await.status, 200);
    let mut silent = Vec::with_capacity(silent_count);
    for i in 0..silent_count {
        // 20 source addresses, 50 each: below the per-address limit (100), so this tests the
        // timeout alone.
        let mut s = connect_from(&format!("127.0.0.{}", 10 + i % 20), srv.addr).await;
        // (An HTTP/1.1 request line begun and never finished was closed by hyper's own
        // header timeout already; these three kinds were not.)
        match i % 3 {
            // The HTTP/2 preface, then nothing (no SETTINGS, no request).
            1 => s
                .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                .await
                .unwrap(),
            // The preface and an empty SETTINGS frame: a complete HTTP/2 start, no request.
            2 => {
                s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
                    .await
                    .unwrap();
            }
            // Nothing at all.
            _ => {}
        }
        silent.push(s);
    }
    let last_connected = Instant::now();
    // They hold every slot: a normal client is refused.
    let (status, r) = get_from("127.0.0.200", srv.addr, "/cameras/a/snapshot.jpg").await;
    assert_eq!(
        status,
        503,
        "the silent sockets should fill max_connections: {}",
        String::from_utf8_lossy(&r.body)
    );
    // Once they time out, it gets in.
    let deadline = last_connected + TIMEOUT + Duration::from_secs(2);
    let mut served_at = None;
    while Instant::now() < deadline {
        let (status, r) = get_from("127.0.0.200", srv.addr, "/cameras/a/snapshot.jpg").await;
        if status == 200 {
            crate::support::jpeg_size(&r.body);
            served_at = Some(last_connected.elapsed());
            break;
        }
        assert_eq!(status, 503);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let served_at = served_at.expect("no snapshot within 2 s of header_read_timeout_ms");
    eprintln!(
        "snapshot served {:.2} s after the last silent socket connected (timeout {TIMEOUT:?})",
        served_at.as_secs_f64()
    );
    for (i, s) in silent.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(5)).await,
            "silent socket {i} is still open"
        );
    }
    let metrics = String::from_utf8_lossy(&srv.get("/metrics").await.body).into_owned();
    assert_eq!(
        metric(&metrics, "lookout_connections_closed_idle_total"),
        Some(silent_count as u64),
        "{metrics}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_at_most_its_share_of_connections() {
    let srv = TestServer::start(&format!(
        "[server]\nmax_connections_per_address = 3\ntrusted_proxies = [\"127.0.0.7\"]\n{}",
        testpattern("a", 160, 120, 10)
    ))
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.5", srv.addr).await);
    }
    let (status, r) = get_from("127.0.0.5", srv.addr, "/healthz").await;
    assert_eq!(status, 429, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("retry-after"), Some("5"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("at most 3") && e.contains("max_connections_per_address")),
        "{body}"
    );
    // Another address is not affected.
    assert_eq!(get_from("127.0.0.6", srv.addr, "/healthz").await.0, 200);
    // A trusted proxy carries many clients: it is not limited.
    let mut proxied = Vec::new();
    for _ in 0..5 {
        proxied.push(connect_from("127.0.0.7", srv.addr).await);
    }
    assert_eq!(get_from("127.0.0.7", srv.addr, "/healthz").await.0, 200);
    // A closed connection gives its place back.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = get_from("127.0.0.5", srv.addr, "/healthz").await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed connection's place never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = String::from_utf8_lossy(&srv.get("/metrics").await.body).into_owned();
    assert!(
        metric(&metrics, "lookout_connections_refused_per_address_total").unwrap() >= 1,
        "{metrics}"
    );
    srv.stop().await;
}

/// An HTTP/2 client (hyper's, prior knowledge over plain TCP) with a stream window of
/// `window` bytes; the connection runs in the background.
async fn h2_client(
    server: SocketAddr,
    window: u32,
) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    let io = TokioIo::new(TcpStream::connect(server).await.unwrap());
    let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(window)
        .handshake(io)
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn h2_get(
    sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    server: SocketAddr,
    path: &str,
) -> http::Response<hyper::body::Incoming> {
    let req = http::Request::get(format!("http://{server}{path}"))
        .body(Empty::new())
        .unwrap();
    sender.send_request(req).await.unwrap()
}

/// A viewer whose HTTP/2 flow-control window stays closed (it never reads) is dropped after
/// `write_timeout_ms` and its viewer slot freed; one that reads is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_viewer_that_never_reads_is_dropped() {
    const WRITE_TIMEOUT: Duration = Duration::from_millis(1500);
    let srv = TestServer::start(&format!(
        "[server]\nwrite_timeout_ms = {}\n{}",
        WRITE_TIMEOUT.as_millis(),
        testpattern("a", 160, 120, 10)
    ))
    .await;
    let viewers = || async {
        srv.json("/api/cameras/a").await["viewer_count"]
            .as_u64()
            .unwrap()
    };
    // 1 KiB of window: the first part's headers and a piece of its JPEG, then nothing.
    let requested = Instant::now();
    let mut stuck = h2_client(srv.addr, 1024).await;
    let stuck_resp = h2_get(&mut stuck, srv.addr, "/cameras/a/stream.mjpeg").await;
    assert_eq!(stuck_resp.status(), 200);
    assert_eq!(stuck_resp.version(), http::Version::HTTP_2);
    // A viewer that reads, on its own HTTP/2 connection.
    let mut reader = h2_client(srv.addr, 65_535).await;
    let mut body = h2_get(&mut reader, srv.addr, "/cameras/a/stream.mjpeg")
        .await
        .into_body();
    assert_eq!(viewers().await, 2);
    let started = Instant::now();
    let mut read_bytes = 0usize;
    let mut stuck_gone_after = None;
    // Read for three write timeouts; the stuck viewer must go meanwhile, the reader stay.
    while started.elapsed() < WRITE_TIMEOUT * 3 || stuck_gone_after.is_none() {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("the reading viewer got no data for 5 s")
            .expect("the reading viewer's stream ended")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            read_bytes += data.len();
        }
        if stuck_gone_after.is_none() && viewers().await == 1 {
            stuck_gone_after = Some(requested.elapsed());
        }
        assert!(
            started.elapsed() < WRITE_TIMEOUT + Duration::from_secs(10),
            "the viewer that never reads was not dropped"
        );
    }
    let gone = stuck_gone_after.unwrap();
    eprintln!(
        "never-reading HTTP/2 viewer dropped after {:.2} s (write timeout {WRITE_TIMEOUT:?}); the reader got {read_bytes} bytes",
        gone.as_secs_f64()
    );
    assert!(
        gone >= WRITE_TIMEOUT,
        "dropped before the timeout: {gone:?}"
    );
    assert_eq!(viewers().await, 1, "the reading viewer stays");
    let metrics = String::from_utf8_lossy(&srv.get("/metrics").await.body).into_owned();
    assert_eq!(
        metric(&metrics, "lookout_connections_dropped_stalled_total"),
        Some(1),
        "{metrics}"
    );
    drop(stuck_resp);
    srv.stop().await;
}
