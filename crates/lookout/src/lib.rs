//! Lookout, the camera streaming server: configuration, HTTP server and web layer, and the
//! wiring of cameras' sources to their hubs. `main.rs` only parses the command line.

pub mod acme;
pub mod alerts;
pub mod allocator;
pub mod app;
pub mod auth;
pub mod camera_entry;
pub mod cli;
pub mod config;
pub mod controls;
pub mod deploy;
pub mod events;
mod handoff;
pub mod hls;
pub mod listen;
pub mod log_bridge;
pub mod mqtt;
pub mod recording;
pub mod ros;
pub mod server;
pub mod signals;
mod stop;
pub mod tls;
pub mod web;
pub mod webrtc;
mod write_timeout;
