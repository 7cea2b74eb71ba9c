//! The resumable JPEG structure scanner (`lookout_core::jpeg::JpegScanner`, `inspect`): every
//! frame a camera, a command or an HTTP camera sends goes through it first.
//!
//! Checks: no panic; scanning the input whole gives the same answer, and the same size, as
//! scanning a prefix first and resuming on the whole input, cut anywhere (`split_points.rs`
//! says where); a complete JPEG
//! ends inside the input, after its SOI, on an EOI; `inspect` agrees with the scanner.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_core::jpeg::{JpegScanner, Scan, inspect};

#[path = "split_points.rs"]
mod split_points;

/// Cuts of an input: all of them up to 2 KB; a scan of a few KB costs microseconds.
const MAX_CUTS: usize = 2048;

fuzz_target!(|data: &[u8]| {
    let mut whole = JpegScanner::new();
    let want = whole.scan(data);
    if let Scan::Complete(len) = want {
        assert!(
            (4..=data.len()).contains(&len),
            "complete at {len} of {}",
            data.len()
        );
        assert_eq!(
            &data[len - 2..len],
            &[0xFF, 0xD9],
            "a complete JPEG ends on EOI"
        );
        assert!(whole.size().is_some(), "a complete JPEG has a size");
    }
    match (inspect(data), &want) {
        (Ok(info), Scan::Complete(len)) => {
            assert_eq!(info.len, *len);
            assert_eq!(Some((info.width, info.height)), whole.size());
        }
        (Err(_), Scan::Incomplete | Scan::Invalid(_)) => {}
        (got, want) => panic!("inspect gave {got:?}, the scanner {want:?}"),
    }
    for cut in split_points::split_points(data, MAX_CUTS) {
        let mut resumed = JpegScanner::new();
        let first = resumed.scan(&data[..cut]);
        // A verdict on the prefix is final: more bytes cannot change it.
        let got = match first {
            Scan::Incomplete => resumed.scan(data),
            done => done,
        };
        assert_eq!(got, want, "cut at {cut} of {}", data.len());
        assert_eq!(resumed.size(), whole.size(), "size, cut at {cut}");
    }
});
