//! `[recording]` and `[camera.recording]` resolved into `recording::RecordingSettings` and
//! `recording::CameraRecording`: ranges checked, the default mode chosen, and cameras that
//! cannot record (JPEG only, no H.264 encoder) told so.

use super::context::Ctx;
use super::file::{CameraRecordingSection, RecordingSection};
use crate::recording::{CameraRecording, RecordMode, RecordingSettings};
use std::time::Duration;

const GIB: f64 = (1u64 << 30) as f64;

/// `[recording]`.
pub(super) fn settings(cx: &Ctx<'_>, r: &RecordingSection) -> RecordingSettings {
    let bad = |key: &str, msg: String, fix: &str| cx.report(&format!("recording.{key}"), msg, fix);
    if !(r.max_gib >= 0.0 && r.max_gib.is_finite()) {
        bad(
            "max_gib",
            format!(
                "recording.max_gib is {}; it must be 0 (no cap) or more",
                r.max_gib
            ),
            "remove it for no cap, or give the GiB recordings may use (0.5 is 512 MiB)",
        );
    }
    if !(r.min_free_gib >= 0.0 && r.min_free_gib.is_finite()) {
        bad(
            "min_free_gib",
            format!(
                "recording.min_free_gib is {}; it must be 0 or more",
                r.min_free_gib
            ),
            "remove it for the default (1.0)",
        );
    }
    if !(0.0..=90.0).contains(&r.min_free_percent) {
        bad(
            "min_free_percent",
            format!(
                "recording.min_free_percent is {}; it must be from 0 to 90",
                r.min_free_percent
            ),
            "remove it for the default (5)",
        );
    }
    if !(0.5..=60.0).contains(&r.segment_seconds) {
        bad(
            "segment_seconds",
            format!(
                "recording.segment_seconds is {}; it must be from 0.5 to 60",
                r.segment_seconds
            ),
            "remove it for the default (2): HLS players like 2 to 6",
        );
    }
    RecordingSettings {
        max_bytes: bytes(r.max_gib),
        min_free_bytes: (r.min_free_gib.max(0.0) * GIB) as u64,
        min_free_percent: r.min_free_percent.clamp(0.0, 90.0),
        segment: Duration::from_secs_f64(r.segment_seconds.clamp(0.5, 60.0)),
    }
}

fn bytes(gib: f64) -> Option<u64> {
    (gib > 0.0 && gib.is_finite()).then(|| (gib * GIB).max(1.0) as u64)
}

/// What a camera can record from, as the config knows it.
pub(super) struct H264Source {
    /// The camera sends H.264 itself (RTSP, `command` with `format = "h264"`).
    pub native: bool,
    /// Lookout can encode its JPEG to H.264 (feature `openh264`, `[camera.h264]` not "off").
    pub encoder: bool,
    pub motion: bool,
}

/// `[camera.recording]` of camera `id` at `at` (`camera[2]`).
pub(super) fn camera(
    cx: &Ctx<'_>,
    at: &str,
    id: &str,
    r: Option<&CameraRecordingSection>,
    h264: &H264Source,
) -> CameraRecording {
    let default = CameraRecordingSection::default();
    let r = r.unwrap_or(&default);
    let bad = |key: &str, msg: String, fix: &str| {
        cx.report(
            &format!("{at}.recording.{key}"),
            format!("camera {id:?}: {msg}"),
            fix,
        );
    };
    let mode = match r.mode.as_deref() {
        None if h264.native && h264.motion => RecordMode::Events,
        None | Some("off") => RecordMode::Off,
        Some("events") => RecordMode::Events,
        Some("continuous") => RecordMode::Continuous,
        Some(other) => {
            bad(
                "mode",
                format!("recording.mode {other:?} is not known"),
                "use \"off\", \"events\" (a clip of each motion event) or \"continuous\"",
            );
            RecordMode::Off
        }
    };
    if mode != RecordMode::Off && !h264.native && !h264.encoder {
        bad(
            "mode",
            format!(
                "recording.mode is {:?}, but this camera sends JPEG and {}: recordings are H.264",
                mode.as_str(),
                if cfg!(feature = "openh264") {
                    "its [camera.h264] mode is \"off\""
                } else {
                    "this Lookout was built without an H.264 encoder (feature `openh264`)"
                }
            ),
            "set recording.mode = \"off\", or give the camera H.264 (an RTSP H.264 stream, a command with format = \"h264\", or a build with --features openh264)",
        );
    }
    if mode == RecordMode::Events && !h264.motion {
        bad(
            "mode",
            "recording.mode is \"events\" but the camera has no [camera.motion]: there would be no events to record".into(),
            "add a [camera.motion] table, or use mode = \"continuous\"",
        );
    }
    let seconds = |key: &str, v: f64, max: f64| {
        if !(0.0..=max).contains(&v) {
            bad(
                key,
                format!("recording.{key} is {v}; it must be from 0 to {max}"),
                "remove it for the default (5)",
            );
        }
        Duration::from_secs_f64(v.clamp(0.0, max))
    };
    let pre_roll = seconds("pre_roll_seconds", r.pre_roll_seconds, 60.0);
    let post_roll = seconds("post_roll_seconds", r.post_roll_seconds, 600.0);
    if !(r.keep_days > 0.0 && r.keep_days <= 3650.0) {
        bad(
            "keep_days",
            format!(
                "recording.keep_days is {}; it must be above 0 and at most 3650",
                r.keep_days
            ),
            "remove it for the default (7)",
        );
    }
    if !(r.max_gib >= 0.0 && r.max_gib.is_finite()) {
        bad(
            "max_gib",
            format!(
                "recording.max_gib is {}; it must be 0 (no cap) or more",
                r.max_gib
            ),
            "remove it for no cap",
        );
    }
    CameraRecording {
        mode,
        pre_roll,
        post_roll,
        keep: Duration::from_secs_f64(r.keep_days.clamp(0.001, 3650.0) * 86_400.0),
        max_bytes: bytes(r.max_gib),
    }
}
