//! `/metrics` in the Prometheus text exposition format (version 0.0.4), written by hand from
//! the hub's atomics: a handful of series does not need a metrics framework.

use super::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use http::header;
use lookout_core::SourceState;
use lookout_sources::ros::Reliability;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&state),
    )
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Each camera with its labels: the configured ones, then the ROS topics open now (a topic
/// is a camera whose id is its name; one opened reliable too says so).
fn labelled_cameras(state: &AppState) -> Vec<(String, super::CameraEntry)> {
    // Camera ids are limited to [A-Za-z0-9_-] and topic names to [A-Za-z0-9_/], so they need
    // no escaping as label values.
    let mut cams: Vec<_> = state
        .cameras
        .iter()
        .map(|c| (format!("camera=\"{}\"", c.id), c.clone()))
        .collect();
    if let Some(topics) = &state.topics {
        for (entry, reliability) in topics.open_topics() {
            let labels = match reliability {
                Reliability::BestEffort => format!("camera=\"{}\"", entry.id),
                Reliability::Reliable => {
                    format!("camera=\"{}\",qos_profile=\"default\"", entry.id)
                }
            };
            cams.push((labels, (*entry).clone()));
        }
    }
    cams
}

pub fn render(state: &AppState) -> String {
    let mut out = String::with_capacity(4096);
    let cams = labelled_cameras(state);
    let per_camera = |out: &mut String,
                      name: &str,
                      kind: &str,
                      help: &str,
                      value: &dyn Fn(&super::CameraEntry) -> String| {
        family(out, name, kind, help);
        for (labels, c) in &cams {
            let _ = writeln!(out, "{name}{{{labels}}} {}", value(c));
        }
    };
    let counter = |f: fn(&lookout_core::hub::CameraStats) -> u64| {
        move |c: &super::CameraEntry| f(c.hub.stats()).to_string()
    };
    per_camera(
        &mut out,
        "lookout_frames_captured_total",
        "counter",
        "Frames received from the camera's source.",
        &counter(|s| s.frames_captured.load(Ordering::Relaxed)),
    );
    per_camera(
        &mut out,
        "lookout_frames_dropped_total",
        "counter",
        "Frames dropped as invalid (not a JPEG, damaged).",
        &counter(|s| s.frames_dropped.load(Ordering::Relaxed)),
    );
    per_camera(
        &mut out,
        "lookout_frames_sent_total",
        "counter",
        "Frames written to viewers.",
        &|c| c.hub.sent().0.to_string(),
    );
    per_camera(
        &mut out,
        "lookout_bytes_sent_total",
        "counter",
        "Bytes of MJPEG written to viewers.",
        &|c| c.hub.sent().1.to_string(),
    );
    per_camera(
        &mut out,
        "lookout_viewers",
        "gauge",
        "Open MJPEG streams.",
        &|c| c.hub.viewer_count().to_string(),
    );
    per_camera(
        &mut out,
        "lookout_camera_online",
        "gauge",
        "1 while frames arrive from the source.",
        &|c| u8::from(c.hub.status().state == SourceState::Online).to_string(),
    );
    per_camera(
        &mut out,
        "lookout_source_restarts_total",
        "counter",
        "Times the source failed and was restarted.",
        &|c| c.hub.status().restarts.to_string(),
    );
    per_camera(
        &mut out,
        "lookout_capture_fps",
        "gauge",
        "Frames per second received from the source, last second.",
        &|c| c.hub.stats().capture_rate.rate().to_string(),
    );
    family(
        &mut out,
        "lookout_jpeg_encode_seconds",
        "summary",
        "Time spent encoding JPEGs (test pattern, variants).",
    );
    for (labels, c) in &cams {
        let s = c.hub.stats();
        let secs = s.encode_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "lookout_jpeg_encode_seconds_sum{{{labels}}} {secs}");
        let _ = writeln!(
            out,
            "lookout_jpeg_encode_seconds_count{{{labels}}} {}",
            s.encodes.load(Ordering::Relaxed)
        );
    }
    family(
        &mut out,
        "lookout_h264_decode_seconds",
        "summary",
        "Time spent decoding H.264 to JPEG for cameras that send H.264 only, by decoder (openh264: decode and JPEG encode; ffmpeg: from writing a unit to its JPEG).",
    );
    for (labels, c) in &cams {
        let Some(decoder) = c.hub.jpeg_decoder() else {
            continue;
        };
        let s = c.hub.stats();
        let secs = s.h264_decode_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(
            out,
            "lookout_h264_decode_seconds_sum{{{labels},decoder=\"{decoder}\"}} {secs}"
        );
        let _ = writeln!(
            out,
            "lookout_h264_decode_seconds_count{{{labels},decoder=\"{decoder}\"}} {}",
            s.h264_decoded.load(Ordering::Relaxed)
        );
    }
    let conns = &state.connections;
    family(
        &mut out,
        "lookout_connections",
        "gauge",
        "Open HTTP connections.",
    );
    let _ = writeln!(
        out,
        "lookout_connections {}",
        conns.open.load(Ordering::Relaxed)
    );
    family(
        &mut out,
        "lookout_connections_accepted_total",
        "counter",
        "HTTP connections accepted.",
    );
    let _ = writeln!(
        out,
        "lookout_connections_accepted_total {}",
        conns.accepted.load(Ordering::Relaxed)
    );
    family(
        &mut out,
        "lookout_connections_refused_total",
        "counter",
        "Connections answered 503 at the connection limit.",
    );
    let _ = writeln!(
        out,
        "lookout_connections_refused_total {}",
        conns.refused.load(Ordering::Relaxed)
    );
    for (name, help, value) in [
        (
            "lookout_connections_refused_per_address_total",
            "Connections answered 429 because their address held server.max_connections_per_address.",
            &conns.refused_per_address,
        ),
        (
            "lookout_connections_closed_idle_total",
            "Connections closed because no request came within server.header_read_timeout_ms.",
            &conns.closed_idle,
        ),
        (
            "lookout_connections_dropped_stalled_total",
            "HTTP/2 connections dropped because a response's client took no data for server.write_timeout_ms.",
            &conns.dropped_stalled,
        ),
    ] {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
    }
    #[cfg(feature = "webrtc")]
    if let crate::webrtc::WebRtcState::Running(w) = &state.webrtc {
        webrtc(&mut out, state, w);
    }
    if let Some(stats) = &state.recording {
        recording(&mut out, stats);
    }
    family(
        &mut out,
        "lookout_hls_segments_served_total",
        "counter",
        "HLS segments and init segments served, live and recorded (cache hits in front never reach Lookout).",
    );
    let _ = writeln!(
        out,
        "lookout_hls_segments_served_total {}",
        state.hls.segments_served.load(Ordering::Relaxed)
    );
    family(
        &mut out,
        "lookout_hls_live_sessions",
        "gauge",
        "Cameras with a live HLS session (one stops 30 s after its last request).",
    );
    let _ = writeln!(out, "lookout_hls_live_sessions {}", state.hls.count());
    family(
        &mut out,
        "lookout_build_info",
        "gauge",
        "Version and JPEG backend.",
    );
    let _ = writeln!(
        out,
        "lookout_build_info{{version=\"{}\",jpeg_backend=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        lookout_core::jpeg::BACKEND
    );
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        family(
            &mut out,
            "lookout_worker_threads",
            "gauge",
            "Threads serving connections (server.worker_threads, else one per CPU core).",
        );
        let workers = runtime.metrics().num_workers();
        let _ = writeln!(out, "lookout_worker_threads {workers}");
    }
    out
}

/// Segments and bytes the recorder wrote per camera, the segments it dropped by why, and
/// whether recording is stopped below the free-space floor.
fn recording(out: &mut String, stats: &crate::recording::stats::RecordingStats) {
    use crate::recording::stats::DropReason;
    let cams = stats.cameras();
    family(
        out,
        "lookout_recording_segments_written_total",
        "counter",
        "Recording segments written to disk and indexed.",
    );
    for (id, c) in &cams {
        let n = c.segments_written.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "lookout_recording_segments_written_total{{camera=\"{id}\"}} {n}"
        );
    }
    family(
        out,
        "lookout_recording_bytes_written_total",
        "counter",
        "Bytes of recording segments written to disk.",
    );
    for (id, c) in &cams {
        let n = c.bytes_written.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "lookout_recording_bytes_written_total{{camera=\"{id}\"}} {n}"
        );
    }
    family(
        out,
        "lookout_recording_segments_dropped_total",
        "counter",
        "Recording segments never written (a hole in the recording): queue_full (the disk is too slow), write_error (logged), below_floor (stopped for free space).",
    );
    for (id, c) in &cams {
        for why in DropReason::ALL {
            let _ = writeln!(
                out,
                "lookout_recording_segments_dropped_total{{camera=\"{id}\",reason=\"{}\"}} {}",
                why.as_str(),
                c.dropped(why)
            );
        }
    }
    family(
        out,
        "lookout_recording_stopped",
        "gauge",
        "1 while recording is stopped because the data directory's disk is below the free-space floor.",
    );
    let _ = writeln!(
        out,
        "lookout_recording_stopped {}",
        u8::from(stats.below_floor())
    );
}

/// WebRTC peers per camera, setups, endings by reason, key-frame requests, stray datagrams,
/// what viewers' RTCP reported.
#[cfg(feature = "webrtc")]
fn webrtc(out: &mut String, state: &AppState, w: &crate::webrtc::WebRtc) {
    let peers = w.peers_per_camera();
    family(
        out,
        "lookout_webrtc_peers",
        "gauge",
        "WebRTC (WHEP) viewers now.",
    );
    for c in &state.cameras {
        let n = peers.get(&c.id).copied().unwrap_or(0);
        let _ = writeln!(out, "lookout_webrtc_peers{{camera=\"{}\"}} {n}", c.id);
    }
    let c = w.counters();
    family(
        out,
        "lookout_webrtc_peer_setups_total",
        "counter",
        "WHEP offers answered (ok) or refused.",
    );
    for (result, n) in [("ok", &c.setups), ("refused", &c.refused)] {
        let _ = writeln!(
            out,
            "lookout_webrtc_peer_setups_total{{result=\"{result}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    family(
        out,
        "lookout_webrtc_ended_total",
        "counter",
        "WebRTC peers ended, by reason.",
    );
    for (reason, n) in c.ended.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "lookout_webrtc_ended_total{{reason=\"{reason}\"}} {n}");
    }
    for (name, help, value) in [
        (
            "lookout_webrtc_keyframe_requests_total",
            "Key frames asked for by viewers (PLI, FIR).",
            &*c.keyframe_requests,
        ),
        (
            "lookout_webrtc_unroutable_total",
            "Datagrams (and TCP connections) on the WebRTC ports that belong to no peer.",
            &*c.unroutable,
        ),
        (
            "lookout_webrtc_nacks_total",
            "Retransmissions asked for by viewers (RTCP NACK).",
            &c.congestion.nacks,
        ),
        (
            "lookout_webrtc_packets_lost_total",
            "Packets viewers reported lost (RTCP receiver reports).",
            &c.congestion.packets_lost,
        ),
        (
            "lookout_webrtc_congested_seconds_total",
            "Seconds in which a viewer lost or NACKed at least 5 % of the packets.",
            &c.congestion.congested,
        ),
    ] {
        family(out, name, "counter", help);
        let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
    }
}
