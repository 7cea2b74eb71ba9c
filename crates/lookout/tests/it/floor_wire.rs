//! `lookout-bench floor-server`, the least a server must do to deliver Lookout's MJPEG, must
//! send the very bytes Lookout sends, or the fan-out bench compares unlike work: its response
//! head, chunk framing and parts are checked here against the real server, byte for byte.

use crate::support::TestServer;
use lookout_bench::floor_wire;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where `\r\n` first occurs in `b` at or after `from`.
fn line_end(b: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_sends_what_lookout_sends() {
    let dir = tempfile::tempdir().unwrap();
    let img = lookout_core::RgbImage::new(64, 32);
    let jpeg = lookout_core::jpeg::encode_rgb(&img, 80).unwrap();
    std::fs::write(dir.path().join("a.jpg"), &jpeg).unwrap();
    let source = format!(
        "kind = \"files\"\ndir = \"{}\"\nfps = 10\n",
        dir.path().display()
    );
    let srv = TestServer::start(&crate::support::camera("f", "", &source)).await;
    // What the bench's client sends (lookout_bench's request.rs): HTTP/1.1, Connection: close.
    let mut conn = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(b"GET /cameras/f/stream.mjpeg HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    // The head, the first chunk (the first delimiter), then one frame's chunk.
    let frame = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 65536];
        loop {
            if let Some(head_end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let body = head_end + 4;
                let first = floor_wire::first_chunk();
                let frame_at = body + first.len();
                if let Some(size_end) = line_end(&got, frame_at) {
                    let size = std::str::from_utf8(&got[frame_at..size_end]).unwrap();
                    let size = usize::from_str_radix(size, 16).unwrap();
                    let end = size_end + 2 + size + 2;
                    if got.len() >= end {
                        return (body, frame_at, end);
                    }
                }
            }
            let n = conn.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "the stream ended: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let (body, frame_at, end) = frame.expect("a frame within 10 s");
    let head = std::str::from_utf8(&got[..body]).unwrap();
    let date = head
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .expect("a date line");
    assert_eq!(head.as_bytes(), floor_wire::response_head(date), "{head}");
    assert_eq!(&got[body..frame_at], floor_wire::first_chunk());
    let part = String::from_utf8_lossy(&got[frame_at..end]).into_owned();
    let captured = part
        .lines()
        .find_map(|l| l.strip_prefix("X-Timestamp: "))
        .and_then(lookout_bench::parse_unix_timestamp)
        .unwrap_or_else(|| panic!("no X-Timestamp in {part:?}"));
    assert_eq!(
        &got[frame_at..end],
        floor_wire::frame_chunk(&jpeg, captured),
        "{part:?}"
    );
    srv.stop().await;
}
