//! `get` and `open_stream` over real sockets against a canned one-connection server.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Serves `response` to one connection; resolves to the request it read.
async fn serve_once(response: Vec<u8>) -> (SocketAddr, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.expect("accept");
        let mut req = Vec::new();
        while !req.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            sock.read_exact(&mut b).await.expect("request");
            req.push(b[0]);
        }
        // Write in small pieces with pauses, so the client sees partial reads.
        for piece in response.chunks(50) {
            sock.write_all(piece).await.expect("write");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        String::from_utf8(req).expect("ascii request")
    });
    (addr, task)
}

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("took over 10 s")
}

#[tokio::test]
async fn get_reads_a_chunked_body_and_sends_connection_close() {
    let resp =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n"
            .to_vec();
    let (addr, server) = serve_once(resp).await;
    let r = within(lookout_bench::get(
        addr,
        "/api/cameras?x=1",
        &[("Authorization", "Bearer t")],
    ))
    .await
    .expect("get");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(&r.body[..], b"{\"a\": 1}");
    let req = server.await.expect("server");
    assert!(
        req.starts_with("GET /api/cameras?x=1 HTTP/1.1\r\n"),
        "{req}"
    );
    assert!(req.contains(&format!("Host: {addr}\r\n")), "{req}");
    assert!(req.contains("Authorization: Bearer t\r\n"), "{req}");
    assert!(req.contains("Connection: close\r\n"), "{req}");
}

#[tokio::test]
async fn get_reads_content_length_and_until_eof_bodies() {
    let (addr, _server) =
        serve_once(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy".to_vec())
            .await;
    let r = within(lookout_bench::get(addr, "/healthz", &[]))
        .await
        .expect("get");
    assert_eq!((r.status, &r.body[..]), (503, &b"busy"[..]));

    let (addr, _server) = serve_once(b"HTTP/1.0 200 OK\r\n\r\nuntil the end".to_vec()).await;
    let r = within(lookout_bench::get(addr, "/", &[]))
        .await
        .expect("get");
    assert_eq!((r.status, &r.body[..]), (200, &b"until the end"[..]));
}

#[tokio::test]
async fn open_stream_reads_chunked_parts_then_a_clean_end() {
    let jpegs: Vec<Vec<u8>> = (0..5u8)
        .map(|i| vec![i; 1000 + usize::from(i) * 300])
        .collect();
    let mut body = Vec::new();
    for (i, j) in jpegs.iter().enumerate() {
        let head = format!(
            "--boundarydonotcross\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: 1763888400.{i:06}\r\n\r\n",
            j.len()
        );
        for piece in [head.as_bytes(), j, b"\r\n"] {
            body.extend_from_slice(format!("{:X}\r\n", piece.len()).as_bytes());
            body.extend_from_slice(piece);
            body.extend_from_slice(b"\r\n");
        }
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let head = b"HTTP/1.1 200 OK\r\ncontent-type: multipart/x-mixed-replace;boundary=boundarydonotcross\r\ntransfer-encoding: chunked\r\n\r\n";
    let (addr, _server) = serve_once([&head[..], &body].concat()).await;
    let mut s = within(lookout_bench::open_stream(
        addr,
        "/cameras/a/stream.mjpeg",
        &[],
    ))
    .await
    .expect("open");
    assert_eq!(s.status(), 200);
    assert_eq!(s.boundary(), Some("boundarydonotcross"));
    for (i, j) in jpegs.iter().enumerate() {
        let p = within(s.next_part())
            .await
            .expect("part")
            .expect("not the end");
        assert_eq!(&p.body[..], &j[..]);
        assert_eq!(p.header("content-type"), Some("image/jpeg"));
        let ts = p.x_timestamp().expect("timestamp");
        let micros = ts
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .subsec_micros();
        assert_eq!(micros as usize, i);
    }
    assert!(within(s.next_part()).await.expect("clean end").is_none());
    assert!(within(s.next_part()).await.expect("still ended").is_none());
}

#[tokio::test]
async fn open_stream_on_a_404_keeps_status_and_body() {
    let (addr, _server) = serve_once(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nno such camera"
            .to_vec(),
    )
    .await;
    let mut s = within(lookout_bench::open_stream(
        addr,
        "/cameras/x/stream.mjpeg",
        &[],
    ))
    .await
    .expect("open");
    assert_eq!(s.status(), 404);
    assert!(s.next_part().await.is_err());
    assert_eq!(
        &within(s.read_body()).await.expect("body")[..],
        b"no such camera"
    );
}
