//! The multipart parser over chunked and plain bodies, fed at every split point.

use super::*;
use crate::test_io::Pieces;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

/// Runs a future that never waits: `Pieces` is always ready.
fn now<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("test input never waits"),
    }
}

type Fields = Vec<(String, String)>;

/// What a stream gave: each part's (headers, body), then how it ended.
#[derive(Debug, PartialEq)]
struct Outcome {
    status: u16,
    boundary: Option<String>,
    parts: Vec<(Fields, Vec<u8>)>,
    end: Result<(), io::ErrorKind>,
}

fn run(input: Pieces) -> Outcome {
    now(async {
        let mut s = MjpegStream::read_response(input)
            .await
            .expect("response head");
        let mut parts = Vec::new();
        let end = loop {
            match s.next_part().await {
                Ok(Some(p)) => parts.push((p.headers, p.body.to_vec())),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e.kind()),
            }
        };
        Outcome {
            status: s.status(),
            boundary: s.boundary().map(str::to_owned),
            parts,
            end,
        }
    })
}

fn part_head(len: usize, ts: &str) -> Vec<u8> {
    format!(
        "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len}\r\nX-Timestamp: {ts}\r\n\r\n"
    )
    .into_bytes()
}

const JPEG_A: &[u8] = b"\xff\xd8AAAA\r\n--frame\r\n\xff\xd9";
const JPEG_B: &[u8] = b"\xff\xd8BBBBBBB\xff\xd9";

/// The multipart body as our server writes it: per part a head, the JPEG, and CRLF.
fn pieces_of_body() -> Vec<Vec<u8>> {
    vec![
        part_head(JPEG_A.len(), "1763888400.123456"),
        JPEG_A.to_vec(),
        b"\r\n".to_vec(),
        part_head(JPEG_B.len(), "1763888400.156789"),
        JPEG_B.to_vec(),
        b"\r\n".to_vec(),
    ]
}

fn chunked(pieces: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        out.extend_from_slice(format!("{:x}\r\n", p.len()).as_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

const CHUNKED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: multipart/x-mixed-replace;boundary=frame\r\ntransfer-encoding: chunked\r\n\r\n";
const PLAIN_HEAD: &[u8] =
    b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=\"frame\"\r\n\r\n";

fn expected(end: Result<(), io::ErrorKind>) -> Outcome {
    let fields = |len: usize, ts: &str| {
        vec![
            ("Content-Type".to_string(), "image/jpeg".to_string()),
            ("Content-Length".to_string(), len.to_string()),
            ("X-Timestamp".to_string(), ts.to_string()),
        ]
    };
    Outcome {
        status: 200,
        boundary: Some("frame".into()),
        parts: vec![
            (fields(JPEG_A.len(), "1763888400.123456"), JPEG_A.to_vec()),
            (fields(JPEG_B.len(), "1763888400.156789"), JPEG_B.to_vec()),
        ],
        end,
    }
}

/// Parses `input` whole, cut once at every offset, cut twice at every pair of offsets, and one
/// byte at a time; every way must give `want`.
fn check_every_split(input: &[u8], want: &Outcome) {
    assert_eq!(&run(Pieces::split(input, &[])), want, "whole");
    for i in 1..input.len() {
        assert_eq!(&run(Pieces::split(input, &[i])), want, "cut at {i}");
        for j in i + 1..input.len() {
            assert_eq!(
                &run(Pieces::split(input, &[i, j])),
                want,
                "cut at {i} and {j}"
            );
        }
    }
    let every: Vec<usize> = (1..input.len()).collect();
    assert_eq!(&run(Pieces::split(input, &every)), want, "byte by byte");
}

#[test]
fn chunked_body_one_chunk_per_write_at_every_split_point() {
    let input = [CHUNKED_HEAD, &chunked(&pieces_of_body())].concat();
    check_every_split(&input, &expected(Ok(())));
}

#[test]
fn chunked_body_with_chunks_cutting_heads_and_jpegs_at_every_split_point() {
    // Chunk boundaries fall inside a part's head line and inside each JPEG, so lines and
    // bodies must be gathered across chunks.
    let body = pieces_of_body().concat();
    let chunks: Vec<Vec<u8>> = body.chunks(7).map(<[u8]>::to_vec).collect();
    let input = [CHUNKED_HEAD, &chunked(&chunks)].concat();
    check_every_split(&input, &expected(Ok(())));
}

#[test]
fn chunked_body_with_every_chunk_size_at_every_single_split_point() {
    let body = pieces_of_body().concat();
    for size in 1..=body.len() {
        let chunks: Vec<Vec<u8>> = body.chunks(size).map(<[u8]>::to_vec).collect();
        let input = [CHUNKED_HEAD, &chunked(&chunks)].concat();
        assert_eq!(
            run(Pieces::split(&input, &[])),
            expected(Ok(())),
            "chunks of {size}"
        );
        for i in 1..input.len() {
            assert_eq!(
                run(Pieces::split(&input, &[i])),
                expected(Ok(())),
                "chunks of {size}, cut at {i}"
            );
        }
    }
}

#[test]
fn a_jpeg_sent_as_one_chunk_is_split_out_of_the_read_buffer_not_copied() {
    let input = [CHUNKED_HEAD, &chunked(&pieces_of_body())].concat();
    now(async {
        let mut s = MjpegStream::read_response(Pieces::split(&input, &[]))
            .await
            .expect("head");
        let p = s.next_part().await.expect("ok").expect("a part");
        // Split from the same buffer, the body ends where the unread bytes begin (the chunk's
        // CRLF is consumed on the next read). A copy would live elsewhere.
        let body_end = p.body.as_ptr() as usize + p.body.len();
        assert_eq!(body_end, s.body.conn.buf.as_ptr() as usize);
    });
}

#[test]
fn body_until_eof_at_every_split_point() {
    let input = [PLAIN_HEAD, &pieces_of_body().concat()].concat();
    check_every_split(&input, &expected(Ok(())));
}

/// Lookout's framing: the first delimiter alone, then per part its header lines, the JPEG and
/// the delimiter that opens the next part, so the body ends right after a delimiter.
#[test]
fn delimiters_written_right_after_each_jpeg_at_every_split_point() {
    let mut body = b"--frame\r\n".to_vec();
    for (jpeg, ts) in [(JPEG_A, "1763888400.123456"), (JPEG_B, "1763888400.156789")] {
        body.extend_from_slice(&part_head(jpeg.len(), ts)[b"--frame\r\n".len()..]);
        body.extend_from_slice(jpeg);
        body.extend_from_slice(b"\r\n--frame\r\n");
    }
    check_every_split(&[PLAIN_HEAD, &body].concat(), &expected(Ok(())));
    let input = [CHUNKED_HEAD, &chunked(&[body])].concat();
    check_every_split(&input, &expected(Ok(())));
}

#[test]
fn body_with_content_length_and_closing_delimiter() {
    let mut body = pieces_of_body().concat();
    body.extend_from_slice(b"--frame--\r\n");
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=frame\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let input = [head.as_bytes(), &body].concat();
    assert_eq!(run(Pieces::split(&input, &[])), expected(Ok(())));
    assert_eq!(
        run(Pieces::split(&input, &[head.len() + 3])),
        expected(Ok(()))
    );
}

#[test]
fn preamble_and_interim_100_continue_are_skipped() {
    let input = [
        &b"HTTP/1.1 100 Continue\r\n\r\n"[..],
        PLAIN_HEAD,
        b"a preamble line\r\n\r\n",
        &pieces_of_body().concat(),
    ]
    .concat();
    assert_eq!(run(Pieces::split(&input, &[])), expected(Ok(())));
}

#[test]
fn chunked_body_cut_before_its_last_chunk_is_unexpected_eof() {
    let full = chunked(&pieces_of_body());
    let cut = &full[..full.len() - b"0\r\n\r\n".len()];
    let input = [CHUNKED_HEAD, cut].concat();
    assert_eq!(
        run(Pieces::split(&input, &[])),
        expected(Err(io::ErrorKind::UnexpectedEof))
    );
}

#[test]
fn connection_closed_inside_a_jpeg_is_unexpected_eof() {
    let input = [PLAIN_HEAD, &part_head(100, "1")[..], b"\xff\xd8short"].concat();
    let got = run(Pieces::split(&input, &[]));
    assert!(got.parts.is_empty());
    assert_eq!(got.end, Err(io::ErrorKind::UnexpectedEof));
}

#[test]
fn part_without_content_length_is_an_error() {
    let input = [
        PLAIN_HEAD,
        b"--frame\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xd9\r\n",
    ]
    .concat();
    let got = run(Pieces::split(&input, &[]));
    assert_eq!(got.end, Err(io::ErrorKind::InvalidData));
}

#[test]
fn content_length_too_short_is_caught_at_the_next_boundary() {
    let body = [
        &part_head(4, "1")[..],
        b"\xff\xd8\x00\x00EXTRA\r\n",
        &part_head(2, "2"),
        b"\xff\xd9\r\n",
    ]
    .concat();
    let got = run(Pieces::split(&[PLAIN_HEAD, &body].concat(), &[]));
    assert_eq!(got.parts.len(), 1);
    assert_eq!(got.end, Err(io::ErrorKind::InvalidData));
}

#[test]
fn not_multipart_gives_status_headers_and_body_but_no_parts() {
    let input =
        b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nno camera";
    now(async {
        let mut s = MjpegStream::read_response(Pieces::split(input, &[20]))
            .await
            .expect("head");
        assert_eq!(s.status(), 404);
        assert_eq!(s.header("Content-Type"), Some("text/plain"));
        assert_eq!(s.boundary(), None);
        let e = s.next_part().await.expect_err("not multipart");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(&s.read_body().await.expect("body")[..], b"no camera");
    });
}

#[test]
fn x_timestamp_and_latency_come_from_the_part() {
    let input = [PLAIN_HEAD, &pieces_of_body().concat()].concat();
    now(async {
        let mut s = MjpegStream::read_response(Pieces::split(&input, &[]))
            .await
            .expect("head");
        let p = s.next_part().await.expect("ok").expect("a part");
        let ts = UNIX_EPOCH + Duration::new(1763888400, 123_456_000);
        assert_eq!(p.x_timestamp(), Some(ts));
        let p = Part {
            received_at: ts + Duration::from_millis(7),
            ..p
        };
        assert_eq!(p.latency(), Some(Duration::from_millis(7)));
    });
}

#[test]
fn boundary_from_content_type_variants() {
    let b = |ct: &str| multipart_boundary(ct);
    assert_eq!(
        b("multipart/x-mixed-replace;boundary=frame").as_deref(),
        Some("frame")
    );
    assert_eq!(
        b("Multipart/X-Mixed-Replace; Boundary = \"a b\" ").as_deref(),
        Some("a b")
    );
    assert_eq!(
        b("multipart/x-mixed-replace; charset=x; boundary=--x").as_deref(),
        Some("--x")
    );
    assert_eq!(b("multipart/x-mixed-replace"), None);
    assert_eq!(b("multipart/x-mixed-replace;boundary=\"\""), None);
    assert_eq!(b("image/jpeg;boundary=frame"), None);
    assert_eq!(b("text"), None);
}

#[test]
fn delimiter_lines() {
    assert_eq!(classify(b"--frame", "frame"), Delimiter::Open);
    assert_eq!(classify(b"--frame  \t", "frame"), Delimiter::Open);
    assert_eq!(classify(b"--frame--", "frame"), Delimiter::Close);
    assert_eq!(classify(b"--framex", "frame"), Delimiter::None);
    assert_eq!(classify(b"frame", "frame"), Delimiter::None);
    // A boundary parameter that already has the dashes, used as-is by the server...
    assert_eq!(classify(b"--x", "--x"), Delimiter::Open);
    // ...or by the RFC.
    assert_eq!(classify(b"----x", "--x"), Delimiter::Open);
}
