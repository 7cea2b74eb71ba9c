//! A `command` camera sending H.264 through a pipe: a picture goes out when the program pauses
//! after it, once the program has shown for a second that it pauses only between pictures,
//! and never cut when a program pauses inside pictures. The writer is a real process (python3)
//! writing real x264 output (ffmpeg) with real pauses. Needs ffmpeg and python3
//! (scripts/test.sh installs them); under LOOKOUT_TEST_STRICT=1 or CI=true their absence fails.

// A panic is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

#[path = "common/x264.rs"]
mod x264;

use lookout_core::CameraHub;
use lookout_core::h264::AccessUnit;
use lookout_sources::command::{CommandFormat, CommandSource};
use lookout_sources::{FrameSink, Source};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use x264::x264_access_units;

fn strict() -> bool {
    std::env::var("LOOKOUT_TEST_STRICT").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

fn have(program: &str) -> bool {
    let found = Command::new(program).arg("-version").output().is_ok()
        || Command::new(program).arg("--version").output().is_ok();
    assert!(
        found || !strict(),
        "{program} is needed (scripts/test.sh installs it)"
    );
    found
}

const PICTURES: usize = 60;

/// x264 pictures as the camera would send them, each as its Annex B bytes.
fn x264_pictures() -> Vec<(AccessUnit, Vec<u8>)> {
    let args = ["-preset", "ultrafast", "-tune", "zerolatency", "-g", "30"];
    x264_access_units(PICTURES, &args)
        .into_iter()
        .map(|au| {
            let mut bytes = Vec::new();
            au.write_annex_b(&mut bytes);
            (au, bytes)
        })
        .collect()
}

/// Writes `chunks` to the directory as files a python writer sends in order, each followed
/// by `pause_ms`, then keeps its output open (as a live camera would) for 60 s.
fn writer_argv(dir: &Path, chunks: &[Vec<u8>], pause_ms: u64) -> Vec<String> {
    for (i, c) in chunks.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:05}.h264")), c).unwrap();
    }
    let script = format!(
        "import glob, sys, time\n\
         for f in sorted(glob.glob({dir:?} + '/*.h264')):\n\
         \x20   sys.stdout.buffer.write(open(f, 'rb').read())\n\
         \x20   sys.stdout.buffer.flush()\n\
         \x20   time.sleep({pause_ms} / 1000)\n\
         time.sleep(60)\n",
        dir = dir.to_str().unwrap()
    );
    vec!["python3".into(), "-c".into(), script]
}

/// Runs the command camera and returns the pictures the hub got: once `expected` are in,
/// whatever else comes within a second (`wait` at most in all).
async fn pictures_published(argv: Vec<String>, expected: usize, wait: Duration) -> Vec<AccessUnit> {
    let hub = CameraHub::new("cam", 80);
    let (_, mut rx) = hub.video().join();
    let sink = FrameSink::new(hub.clone());
    let source = CommandSource {
        argv,
        format: CommandFormat::H264,
        max_frame_bytes: 4 << 20,
        stall_timeout: Duration::from_secs(120),
    };
    let run = tokio::spawn(async move { source.run(&sink).await });
    let mut got = Vec::new();
    let mut until = tokio::time::Instant::now() + wait;
    while got.len() <= PICTURES {
        if got.len() == expected {
            until = until.min(tokio::time::Instant::now() + Duration::from_secs(1));
        }
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Ok(frame)) => got.push(frame.au.clone()),
            Ok(Err(e)) => panic!("receiving pictures: {e}"),
            Err(_) => break,
        }
    }
    run.abort();
    got
}

fn nals(au: &AccessUnit) -> Vec<&[u8]> {
    au.nals.iter().map(|n| n.as_ref()).collect()
}

/// ffmpeg-like: one write per picture, a frame interval between. Without ending pictures at
/// pauses the last picture would wait for a next one that never comes.
#[tokio::test]
async fn a_writer_pausing_between_pictures_gets_each_out_at_its_pause() {
    if !have("ffmpeg") || !have("python3") {
        return;
    }
    let pictures = x264_pictures();
    let dir = tempfile::tempdir().unwrap();
    let chunks: Vec<Vec<u8>> = pictures.iter().map(|(_, b)| b.clone()).collect();
    let got = pictures_published(
        writer_argv(dir.path(), &chunks, 33),
        PICTURES,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(got.len(), PICTURES, "the last picture never went out");
    for (i, (sent, _)) in pictures.iter().enumerate() {
        assert_eq!(nals(&got[i]), nals(sent), "picture {i} differs");
    }
}

/// A writer that pauses in the middle of each picture's slice: pauses are never trusted, every
/// picture arrives whole (the last one waits for a next one, as before).
#[tokio::test]
async fn a_writer_pausing_inside_pictures_gets_them_whole() {
    if !have("ffmpeg") || !have("python3") {
        return;
    }
    let pictures = x264_pictures();
    let dir = tempfile::tempdir().unwrap();
    let mut chunks = Vec::new();
    for (_, bytes) in &pictures {
        // Past the parameter sets and slice header: inside the last slice's data.
        let cut = bytes.len() - bytes.len() / 3;
        chunks.push(bytes[..cut].to_vec());
        chunks.push(bytes[cut..].to_vec());
    }
    let got = pictures_published(
        writer_argv(dir.path(), &chunks, 15),
        PICTURES - 1,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(got.len(), PICTURES - 1, "a picture went out before its end");
    for (i, au) in got.iter().enumerate() {
        assert_eq!(nals(au), nals(&pictures[i].0), "picture {i} differs");
    }
}
