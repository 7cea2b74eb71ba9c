//! The MJPEG splitter (`lookout_sources::splitter::JpegSplitter`): what cuts a `command`
//! source's stdout and an HTTP camera's multipart body (the same code: part headers are the
//! bytes between one JPEG's EOI and the next SOI) into frames.
//!
//! Checks: no panic; the frames and errors are the same whether the stream arrives whole
//! or in two pieces cut anywhere (`split_points.rs` says where); every frame is a run of the input's bytes, in order, from
//! SOI to EOI, with a size; a small `max_frame_bytes` is never exceeded by a frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_sources::splitter::{JpegSplitter, SplitFrame};

#[path = "split_points.rs"]
mod split_points;

/// Cuts of an input. Each makes a new splitter, whose 256 KB buffer costs an mmap under ASan
/// (about 50 us); the scanner's own resumption is checked at up to 2048 cuts by jpeg_scan, so
/// here fewer, mostly near 0xFF bytes, keep this target at hundreds of runs a second.
const MAX_CUTS: usize = 64;

type Found = Vec<Result<SplitFrame, &'static str>>;

fn drain(s: &mut JpegSplitter, out: &mut Found) {
    while let Some(f) = s.next_frame() {
        out.push(f);
    }
}

fn split(pieces: &[&[u8]], max_frame_bytes: usize) -> Found {
    let mut s = JpegSplitter::new(max_frame_bytes);
    let mut out = Vec::new();
    for p in pieces {
        s.push(p);
        drain(&mut s, &mut out);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // A limit above the input's length is never reached, so only the cut can differ.
    let unlimited = data.len() + 1;
    let want = split(&[data], unlimited);
    let mut from = 0;
    for frame in want.iter().flatten() {
        let jpeg = frame.jpeg.as_ref();
        assert!(jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]));
        assert!(frame.width > 0 && frame.height > 0);
        let at = data[from..]
            .windows(jpeg.len())
            .position(|w| w == jpeg)
            .expect("a frame is a run of the input, after the previous one");
        from += at + jpeg.len();
    }
    for cut in split_points::split_points(data, MAX_CUTS) {
        let got = split(&[&data[..cut], &data[cut..]], unlimited);
        assert_eq!(got, want, "cut at {cut} of {}", data.len());
    }
    // A command's pipe delivers a few KB at a time; a small limit must hold for every frame.
    let limit = 1024;
    let pieces: Vec<&[u8]> = data.chunks(509).collect();
    for frame in split(&pieces, limit).iter().flatten() {
        assert!(
            frame.jpeg.len() <= limit + 509,
            "a {}-byte frame passed a {limit}-byte limit",
            frame.jpeg.len()
        );
    }
});
