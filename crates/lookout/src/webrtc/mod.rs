//! WebRTC live view: cameras' H.264 to browsers and WHEP players as RTP, with the lowest
//! delay the network allows (issue 14). Signalling is WHEP (draft-ietf-wish-whep; the web
//! side is `web/whep.rs`); media goes over one UDP port shared by every peer, answered as an
//! ICE-lite host (RFC 8445 2.5): no STUN or TURN server is needed.
//!
//! Each peer is one task that owns its `str0m::Rtc` (sans-I/O); the port's receive loop
//! hands it the datagrams [`demux`] routes to it. Without the `webrtc` feature only the
//! settings exist and the API says WebRTC is off.

#[cfg(feature = "webrtc")]
mod congestion;
// Plain std, built without the feature too: the fuzz target (fuzz/) reads it.
pub mod demux;
#[cfg(feature = "webrtc")]
mod offer;
#[cfg(feature = "webrtc")]
mod peer;
#[cfg(feature = "webrtc")]
mod service;
mod settings;
#[cfg(feature = "webrtc")]
mod socket;
#[cfg(feature = "webrtc")]
mod tcp;

#[cfg(feature = "webrtc")]
pub use service::{Counters, OpenError, OpenRequest, Opened, WebRtc};
pub use settings::{PublicAddress, WebRtcSettings};
/// The WebRTC stack, for the integration tests' own WebRTC client (no second copy to keep in
/// step).
#[cfg(feature = "webrtc")]
#[doc(hidden)]
pub use str0m;

/// Whether this Lookout can serve WebRTC, and why not.
#[derive(Debug, Clone)]
pub enum WebRtcState {
    #[cfg(feature = "webrtc")]
    Running(std::sync::Arc<WebRtc>),
    Off {
        reason: String,
    },
}

impl WebRtcState {
    pub fn off_reason(&self) -> Option<&str> {
        match self {
            #[cfg(feature = "webrtc")]
            WebRtcState::Running(_) => None,
            WebRtcState::Off { reason } => Some(reason),
        }
    }
}

/// Starts WebRTC as configured: binds the UDP port on the HTTP listeners' addresses.
/// Failing to bind is not fatal: the camera page falls back to MSE and says why.
pub async fn start(
    settings: &WebRtcSettings,
    listen_ips: &[std::net::IpAddr],
    shutdown: tokio_util::sync::CancellationToken,
) -> WebRtcState {
    if !settings.enabled {
        return WebRtcState::Off {
            reason: "WebRTC is off in the config ([webrtc] enabled = false)".into(),
        };
    }
    #[cfg(feature = "webrtc")]
    {
        match WebRtc::start(settings.clone(), listen_ips, shutdown).await {
            Ok(w) => WebRtcState::Running(w),
            Err(e) => {
                tracing::error!("WebRTC is off: {e}");
                WebRtcState::Off {
                    reason: e.to_string(),
                }
            }
        }
    }
    #[cfg(not(feature = "webrtc"))]
    {
        let _ = (listen_ips, shutdown);
        WebRtcState::Off {
            reason: "this Lookout was built without the webrtc feature".into(),
        }
    }
}
