//! The web layer: turns HTTP requests into hub subscriptions. It never talks to a device.
//! This file only declares the modules and names what the rest of the program uses:
//! [`AppState`] is in `state`, the router in `routes`, shared HTML in `html`.

mod acme_challenge;
mod api;
pub mod auth;
pub mod client;
mod connection_stats;
mod controls_api;
mod error;
mod error_page;
mod events_page;
mod hls;
mod hls_answer;
mod hls_recorded;
pub(crate) mod html;
mod metrics;
mod mjpeg_part;
mod mp4_stream;
pub(crate) mod pages;
mod query;
mod recorded_mp4;
mod recordings;
mod ros_pages;
mod routes;
pub(crate) mod security_headers;
mod snapshot;
mod state;
mod stream;
pub(crate) mod stream_writer;
#[cfg(test)]
mod tests;
mod time_param;
mod timeline;
mod unix_time;
#[cfg(feature = "webrtc")]
mod whep;
mod zones_api;

pub use crate::auth::{AuthState, Principal};
pub use crate::camera_entry::CameraEntry;
pub use auth::Access;
pub use client::{Client, ConnInfo, ProxyTrust, TrustedProxy};
pub use connection_stats::ConnectionStats;
pub use error::{ApiError, status_for};
pub use routes::{router, routes};
pub use state::AppState;
