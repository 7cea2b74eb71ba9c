//! Robustness of the H.264 and fMP4 code on damaged input: a real stream (libx264, High
//! profile, access unit delimiters, two slices a picture) must read the same at every split
//! point, and thousands of mutations of it (bit flips, cut-offs, spliced garbage and start
//! codes, runaway NAL units) must give errors or access units, never a panic, with memory
//! held below the stated maximum; so must SPS and PPS parsing of mutated parameter sets.
//!
//! A fuzzer in miniature that runs on stable Rust in every test run, with a fixed seed so a
//! failure reproduces.

// A panic is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

use lookout_core::fmp4::{Fmp4Muxer, init_segment};
use lookout_core::h264::sps::{first_mb_in_slice, pps_ids};
use lookout_core::h264::{AccessUnit, AnnexBReader, NalType, Sps, nal_units};

/// `ffmpeg -f lavfi -i testsrc2=size=94x62:rate=10 -frames:v 12 -c:v libx264 -profile:v high
/// -bf 0 -g 6 -sc_threshold 0 -x264-params aud=1:slices=2 -f h264`: 12 pictures, IDR at 0
/// and 6, each access unit an AUD and two slices, SPS/PPS before each IDR.
const STREAM: &[u8] = include_bytes!("data/small_high_aud_2slices.h264");

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every access unit of `chunks`, fed in order; errors are counted, not fatal. Checks the
/// reader never holds more than `max_nal` plus one chunk.
fn read_all<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
    max_nal: usize,
) -> (Vec<AccessUnit>, usize) {
    let mut reader = AnnexBReader::new(max_nal);
    let mut units = Vec::new();
    let mut errors = 0;
    let mut take = |reader: &mut AnnexBReader| {
        while let Some(r) = reader.next_access_unit() {
            match r {
                Ok(au) => units.push(au),
                Err(_) => errors += 1,
            }
        }
    };
    for chunk in chunks {
        reader.push(chunk);
        take(&mut reader);
        assert!(
            reader.buffered_bytes() <= max_nal + 2,
            "holds {} bytes with a {max_nal}-byte limit",
            reader.buffered_bytes()
        );
    }
    let finished = reader.finish();
    take(&mut reader);
    (units, errors + usize::from(finished.is_err()))
}

fn nal_lists(units: &[AccessUnit]) -> Vec<Vec<Vec<u8>>> {
    units
        .iter()
        .map(|u| u.nals.iter().map(|n| n.to_vec()).collect())
        .collect()
}

#[test]
fn the_real_stream_reads_as_twelve_pictures_at_every_split_point() {
    let (units, errors) = read_all([STREAM], 1 << 20);
    assert_eq!((units.len(), errors), (12, 0));
    for (i, au) in units.iter().enumerate() {
        let types: Vec<u8> = au.nals.iter().map(|n| n[0] & 0x1F).collect();
        let slices = types.iter().filter(|&&t| t == 1 || t == 5).count();
        assert_eq!(types[0], 9, "picture {i} starts with its AUD");
        assert_eq!(slices, 2, "picture {i}: {types:?}");
        assert_eq!(au.is_key, i % 6 == 0, "picture {i}");
        let params = au.params.as_ref().unwrap();
        assert_eq!((params.width(), params.height()), (94, 62));
    }
    let whole = nal_lists(&units);
    for split in 0..=STREAM.len() {
        let (units, errors) = read_all([&STREAM[..split], &STREAM[split..]], 1 << 20);
        assert_eq!(errors, 0, "split at {split}");
        assert_eq!(nal_lists(&units), whole, "split at {split}");
    }
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut d = base.to_vec();
    for _ in 0..1 + rng.below(6) {
        if d.is_empty() {
            break;
        }
        match rng.below(7) {
            0 => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(d.len());
                d[i] = [0x00, 0x01, 0x03, 0xFF, 0x67, 0x68, 0x65, 0x09][rng.below(8)];
            }
            2 => d.truncate(rng.below(d.len())),
            3 => {
                let i = rng.below(d.len());
                let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                d.splice(i..i, junk);
            }
            4 => {
                // A start code where there was none: NAL units cut in the middle.
                let i = rng.below(d.len());
                d.splice(i..i, [0, 0, 1]);
            }
            5 => {
                // A long run without start codes (a runaway NAL unit), or of zeros.
                let i = rng.below(d.len());
                let byte = [0x5A, 0x00][rng.below(2)];
                d.splice(i..i, std::iter::repeat_n(byte, rng.below(6000)));
            }
            _ => {
                // A copy of a random stretch elsewhere: repeated parameter sets and slices.
                let a = rng.below(d.len());
                let b = (a + rng.below(400)).min(d.len());
                let stretch = d[a..b].to_vec();
                let i = rng.below(d.len());
                d.splice(i..i, stretch);
            }
        }
    }
    d
}

/// Everything a consumer does with access units: parse their parameter sets and slice
/// headers, write the init segment and fragments.
fn use_units(units: &[AccessUnit]) {
    let mut muxer: Option<Fmp4Muxer> = None;
    for (i, au) in units.iter().enumerate() {
        for nal in &au.nals {
            match NalType(nal[0] & 0x1F) {
                NalType::SPS => drop(Sps::parse(nal)),
                NalType::PPS => drop(pps_ids(nal)),
                _ => drop(first_mb_in_slice(nal)),
            }
        }
        if let Some(params) = &au.params {
            let _ = params.codec_string();
            let init = init_segment(params);
            assert!(init.len() > 100);
            if muxer.is_none() && au.is_key {
                muxer = Some(Fmp4Muxer::new(params.clone()));
            }
        }
        if let Some(m) = &mut muxer {
            let _ = m.fragment(&[(au, 1000 + i as u64 * 9000)]);
        }
    }
}

#[test]
fn mutated_streams_give_errors_or_pictures_never_a_panic() {
    let mut rng = Rng(0x0264_0264);
    let mut total_units = 0;
    let mut total_errors = 0;
    for round in 0..2500 {
        let data = mutate(&mut rng, STREAM);
        // Small limits so runaway units are hit often.
        let max_nal = [256, 2048, 1 << 20][round % 3];
        let mut chunks = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let end = (pos + 1 + rng.below(700)).min(data.len());
            chunks.push(&data[pos..end]);
            pos = end;
        }
        let (units, errors) = read_all(chunks, max_nal);
        for au in &units {
            assert!(!au.nals.is_empty());
            assert!(au.nals.iter().all(|n| !n.is_empty() && n.len() <= max_nal));
        }
        use_units(&units);
        total_units += units.len();
        total_errors += errors;
        // One-shot splitting never panics either.
        let _ = nal_units(&data).count();
    }
    // The mutations must reach both outcomes, or this test tests nothing.
    assert!(total_units > 10_000, "{total_units} access units");
    assert!(total_errors > 1_000, "{total_errors} errors");
}

/// Length-prefixed frames (an RTSP client's, an MP4 sample) mutated, split and made into
/// access units: errors or units, never a panic.
#[test]
fn mutated_length_prefixed_frames_never_panic() {
    let mut rng = Rng(0x1e4);
    let whole = lookout_core::h264::annex_b_to_length_prefixed(STREAM, 1 << 20).unwrap();
    let mut params = lookout_core::h264::ParamTracker::default();
    let (mut ok, mut bad) = (0, 0);
    for _ in 0..3000 {
        let data = bytes::Bytes::from(mutate(&mut rng, &whole));
        match lookout_core::h264::split_length_prefixed(&data, 4)
            .and_then(|nals| AccessUnit::from_nals(nals, &mut params))
        {
            Ok(au) => {
                ok += 1;
                use_units(&[au]);
            }
            Err(_) => bad += 1,
        }
    }
    assert!(ok > 100 && bad > 100, "ok {ok}, errors {bad}");
}

#[test]
fn mutated_and_random_parameter_sets_never_panic() {
    let mut rng = Rng(7);
    let sps: Vec<&[u8]> = nal_units(STREAM).filter(|n| n[0] & 0x1F == 7).collect();
    let pps: Vec<&[u8]> = nal_units(STREAM).filter(|n| n[0] & 0x1F == 8).collect();
    let (mut ok, mut bad) = (0, 0);
    for _ in 0..50_000 {
        let mut s = mutate(&mut rng, sps[0]);
        if s.is_empty() || rng.below(4) == 0 {
            // Random bytes after an SPS header.
            s = std::iter::once(0x67)
                .chain((0..rng.below(40)).map(|_| rng.next() as u8))
                .collect();
        }
        s[0] = 0x67;
        match Sps::parse(&s) {
            Ok(parsed) => {
                ok += 1;
                assert!(parsed.width > 0 && parsed.width <= 16_384);
                assert!(parsed.height > 0 && parsed.height <= 16_384);
            }
            Err(_) => bad += 1,
        }
        let mut p = mutate(&mut rng, pps[0]);
        if !p.is_empty() {
            p[0] = 0x68;
            let _ = pps_ids(&p);
            let _ = lookout_core::h264::CodecParams::new(sps[0], &[&p]).map(|c| c.avcc());
        }
    }
    assert!(ok > 1_000 && bad > 1_000, "ok {ok}, errors {bad}");
}
