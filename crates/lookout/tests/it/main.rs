//! Lookout's integration tests: the real server on 127.0.0.1 port 0, real clients.
//!
//! Where new tests go: streaming behaviour in `streaming`, each source kind in `sources`,
//! refusals and limits in `errors`, how long connections may hold their slots (timeouts,
//! per-address limit) in `connections`, programs we did not write (ffmpeg, Chromium) in
//! `clients` (the grid's tile sizes in `grid_tiles`), the binary's command line and signals
//! in `cli`, variant sizes and their memory in `variants`, nginx and systemd in `remote`.
//! `support` holds the fixtures.

// Test helpers may unwrap: a panic is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

mod acme;
mod alerts;
mod auth;
mod auth_clients;
mod cameras_guide;
mod cli;
mod cli_store;
mod clients;
mod connections;
mod damaged_db;
mod data_dir;
mod errors;
mod events_api;
mod floor_wire;
mod grid_tiles;
mod h264;
mod h264_decode;
#[cfg(feature = "openh264")]
mod h264_encode;
mod hls;
mod https;
mod motion_clip;
mod mqtt;
mod playback;
mod recording;
mod recording_full_disk;
mod remote;
#[cfg(feature = "ros1")]
mod ros1;
#[cfg(feature = "ros2")]
mod ros2;
#[cfg(any(feature = "ros1", feature = "ros2"))]
mod ros_common;
mod rtsp;
mod sources;
mod streaming;
mod support;
mod v4l2;
mod variants;
#[cfg(feature = "webrtc")]
mod webrtc;
#[cfg(feature = "webrtc")]
mod webrtc_client;
#[cfg(feature = "webrtc")]
mod webrtc_ipv6;
#[cfg(feature = "webrtc")]
mod webrtc_peers;
#[cfg(feature = "webrtc")]
mod webrtc_remote;
mod zones;
