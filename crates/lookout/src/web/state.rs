//! What every handler shares: the cameras, the auth state, the limits and the other parts of
//! the running server, and the camera lookups that check who may watch.

use super::connection_stats::ConnectionStats;
use super::{ApiError, ProxyTrust};
use crate::auth::{AuthState, Principal};
use crate::camera_entry::CameraEntry;
use lookout_core::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
pub struct AppState {
    pub cameras: Vec<CameraEntry>,
    /// `None` when `auth.mode = "none"`.
    pub auth: Option<Arc<AuthState>>,
    pub snapshot_timeout: Duration,
    pub request_timeout: Duration,
    pub connections: Arc<ConnectionStats>,
    pub shutdown: CancellationToken,
    pub started: Instant,
    /// Whose `Forwarded`/`X-Forwarded-*` headers are believed.
    pub proxy_trust: Arc<ProxyTrust>,
    /// certbot's `--webroot` folder, for `/.well-known/acme-challenge/`.
    pub acme_webroot: Option<std::path::PathBuf>,
    /// HTTP-01 answers of our own ACME client, while it waits for the CA.
    pub challenges: Arc<crate::acme::Challenges>,
    /// Automatic certificates, when `[acme]` is set.
    pub acme: Option<Arc<crate::acme::AcmeManager>>,
    /// Where the site lives: `""` at the root, `/cam` under `https://host/cam/`.
    pub base: String,
    /// The event log, when there is a database.
    pub events: Option<crate::events::EventLog>,
    /// Motion mask zones of the cameras with motion detection.
    pub motion_zones: Arc<crate::events::zones::MotionZones>,
    /// web_video_server's on-demand topics, when a ROS transport serves them.
    pub topics: Option<Arc<crate::ros::topics::TopicCameras>>,
    /// The WebRTC service, or why there is none.
    pub webrtc: crate::webrtc::WebRtcState,
    /// Live HLS sessions.
    pub hls: Arc<crate::hls::LiveHls>,
    /// What the recorder wrote and dropped, when some camera records.
    pub recording: Option<Arc<crate::recording::stats::RecordingStats>>,
    /// The MJPEG outputs written straight to their viewers' sockets.
    pub mjpeg_writers: Arc<super::stream_writer::Writers>,
}

impl AppState {
    /// The camera with this id if `who` may watch it: 404 (listing the cameras `who` may see)
    /// or 403.
    pub fn camera_for(&self, id: &str, who: &Principal) -> Result<&CameraEntry, ApiError> {
        let cam = self
            .cameras
            .iter()
            .find(|c| c.id == id && who.may_view(&c.id));
        match cam {
            Some(c) => Ok(c),
            None if self.cameras.iter().any(|c| c.id == id) => Err(Error::permission_denied(
                format!("you may not watch camera {id:?}; an admin can change that"),
            )
            .into()),
            None => {
                let ids: Vec<&str> = self
                    .cameras
                    .iter()
                    .filter(|c| who.may_view(&c.id))
                    .map(|c| c.id.as_str())
                    .collect();
                Err(ApiError::not_found(format!("no camera with id {id:?}"))
                    .with_details(serde_json::json!({ "cameras": ids })))
            }
        }
    }

    /// `?camera=ID`, or the first camera `who` may watch, for URLs that name none.
    pub fn camera_or_first_for(
        &self,
        id: Option<&str>,
        who: &Principal,
    ) -> Result<&CameraEntry, ApiError> {
        match id {
            Some(id) => self.camera_for(id, who),
            None => self
                .cameras
                .iter()
                .find(|c| who.may_view(&c.id))
                .ok_or_else(|| ApiError::not_found("no cameras you may watch")),
        }
    }

    /// The cameras `who` may watch.
    pub fn visible_cameras<'a>(
        &'a self,
        who: &'a Principal,
    ) -> impl Iterator<Item = &'a CameraEntry> + 'a {
        self.cameras.iter().filter(move |c| who.may_view(&c.id))
    }
}
