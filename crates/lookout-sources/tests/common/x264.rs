//! Real H.264 for the tests: ffmpeg's libx264 encoding its `testsrc2` pattern at 320x240, read
//! into access units by our Annex B reader. Shared (through `#[path]`) by the tests of
//! `lookout-sources` that feed a camera or a decoder real x264 output.

use lookout_core::h264::{AccessUnit, AnnexBReader, MAX_NAL_BYTES};
use std::process::Command;

/// `pictures` pictures of 320x240 at 30 fps, no B-frames (a camera's order: decode order is
/// display order), with `x264_args` (a GOP length, a preset…) added to the encoder's options.
/// Fails the test unless ffmpeg ran and gave exactly `pictures` access units.
pub fn x264_access_units(pictures: usize, x264_args: &[&str]) -> Vec<AccessUnit> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi"])
        .args(["-i", "testsrc2=size=320x240:rate=30", "-frames:v"])
        .arg(pictures.to_string())
        .args(["-c:v", "libx264", "-bf", "0"])
        .args(x264_args)
        .args(["-f", "h264", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = AnnexBReader::new(MAX_NAL_BYTES);
    reader.push(&out.stdout);
    let mut units = Vec::new();
    while let Some(au) = reader.next_access_unit() {
        units.push(au.expect("an access unit of x264's output"));
    }
    reader.finish().expect("x264's output ends whole");
    while let Some(au) = reader.next_access_unit() {
        units.push(au.expect("an access unit of x264's output"));
    }
    assert_eq!(units.len(), pictures, "access units from x264");
    units
}
