//! The H.264 Annex B reader (`lookout_core::h264::AnnexBReader`): what cuts a `command`
//! source's `format = "h264"` output into access units (splitter, assembler, SPS/PPS
//! tracking together).
//!
//! Checks: no panic; the access units (in order) and errors (in order) are the same whether
//! the stream arrives whole or in two pieces cut anywhere (`split_points.rs` says where); no NAL unit is empty
//! and all of them together are no longer than the input; each unit's NAL units survive the
//! length-prefixed (MP4 sample) form unchanged; with a small NAL limit and the input in 509-byte
//! chunks, the reader never holds more than the limit plus a chunk.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use lookout_core::h264::{AnnexBReader, split_length_prefixed};

#[path = "split_points.rs"]
mod split_points;

/// Cuts of an input: the reader's state across a cut is what is checked, at a few dozen
/// places (mostly near start codes), so this target runs thousands of inputs a second.
const MAX_CUTS: usize = 32;

/// What a reader gave: per access unit its NAL units, key flag and SPS; errors as text.
type Found = Vec<Result<(Vec<Bytes>, bool, Option<Bytes>), String>>;

fn drain(r: &mut AnnexBReader, out: &mut Found) {
    while let Some(next) = r.next_access_unit() {
        out.push(
            next.map(|au| {
                let sps = au.params.as_ref().map(|p| p.sps_nal.clone());
                (au.nals, au.is_key, sps)
            })
            .map_err(|e| e.to_string()),
        );
    }
}

fn read(pieces: &[&[u8]], max_nal: usize, max_held: Option<usize>) -> Found {
    let mut r = AnnexBReader::new(max_nal);
    let mut out = Vec::new();
    for p in pieces {
        r.push(p);
        drain(&mut r, &mut out);
        if let Some(limit) = max_held {
            assert!(
                r.buffered_bytes() <= limit,
                "{} bytes held, limit {limit}",
                r.buffered_bytes()
            );
        }
    }
    if let Err(e) = r.finish() {
        out.push(Err(e.to_string()));
    }
    drain(&mut r, &mut out);
    out
}

/// The units in order, and the errors in order. Where an error falls between the units is
/// not compared: a broken parameter set that also ends the unit before it is reported before
/// that unit when both arrive together, after it when the unit was already ended by a cut
/// (found by this target; the unit is delivered either way).
fn units_and_errors(found: Found) -> (Found, Vec<String>) {
    let (units, errors): (Found, Found) = found.into_iter().partition(Result::is_ok);
    (units, errors.into_iter().filter_map(Result::err).collect())
}

fuzz_target!(|data: &[u8]| {
    let unlimited = data.len() + 1;
    let want = read(&[data], unlimited, None);
    let mut total = 0;
    for (nals, _, _) in want.iter().flatten() {
        assert!(!nals.is_empty(), "an access unit without NAL units");
        let mut sample = Vec::new();
        for nal in nals {
            assert!(!nal.is_empty(), "an empty NAL unit");
            total += nal.len();
            sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            sample.extend_from_slice(nal);
        }
        let back = split_length_prefixed(&Bytes::from(sample), 4).expect("our own sample");
        assert_eq!(&back, nals, "length-prefixed round trip");
    }
    assert!(
        total <= data.len(),
        "{total} NAL bytes from {} input bytes",
        data.len()
    );
    let want = units_and_errors(want);
    for cut in split_points::split_points(data, MAX_CUTS) {
        let got = units_and_errors(read(&[&data[..cut], &data[cut..]], unlimited, None));
        assert_eq!(got, want, "cut at {cut} of {}", data.len());
    }
    // A pipe delivers a few KB at a time; a small NAL limit bounds what is held.
    let (limit, chunk) = (256, 509);
    let pieces: Vec<&[u8]> = data.chunks(chunk).collect();
    read(&pieces, limit, Some(limit + chunk));
});
