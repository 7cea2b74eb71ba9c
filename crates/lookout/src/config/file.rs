//! The config file as it is on disk: TOML, unknown keys refused, every key with a default.
//! `docs/ref/config.md` documents each of these fields; keep the two in step. Only `config/`
//! sees these types: it resolves them into the settings of the modules that use them.
//!
//! Integers that `resolve` checks against a range are `i64` here, whatever they become, so that
//! any whole number reaches that check and its message ("a whole number from 1 to 100").

use crate::server::RedirectHttp;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub auth: AuthSection,
    #[serde(default)]
    pub tls: TlsSection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeSection>,
    #[serde(default)]
    pub events: EventsSection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_address: Option<PublicAddressSection>,
    #[serde(default)]
    pub alerts: AlertsSection,
    #[serde(default, rename = "alert", skip_serializing_if = "Vec::is_empty")]
    pub alert_rules: Vec<AlertRuleSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSection>,
    /// An MQTT broker to publish cameras, motion and states on (Home Assistant, robots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<MqttSection>,
    /// ROS 1: the master to use (cameras `kind = "ros1"`, on-demand topics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ros1: Option<Ros1Section>,
    /// ROS 2: the DDS domain (cameras `kind = "ros2"`, on-demand topics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ros2: Option<Ros2Section>,
    /// web_video_server's URLs (`/stream?topic=`…): which transport and which topics.
    #[serde(default)]
    pub ros_topics: RosTopicsSection,
    /// Recording limits for the whole data directory.
    #[serde(default)]
    pub recording: RecordingSection,
    /// WebRTC live view over WHEP (feature `webrtc`).
    #[serde(default)]
    pub webrtc: WebRtcSection,
    #[serde(default, rename = "camera")]
    pub cameras: Vec<CameraSection>,
}

/// `[recording]`: limits for all the recordings in the data directory.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingSection {
    /// Most GiB of recordings in the data directory; 0: no cap (the free-space floor holds).
    pub max_gib: f64,
    /// Recording stops (with an event) when the data directory's disk has less free than
    /// this, after retention deleted what it could.
    pub min_free_gib: f64,
    /// The same floor as a percentage of the disk; the larger of the two counts.
    pub min_free_percent: f64,
    /// Target length of a segment file; segments start on key frames, so a camera with
    /// farther key frames makes longer ones.
    pub segment_seconds: f64,
}

impl Default for RecordingSection {
    fn default() -> Self {
        Self {
            max_gib: 0.0,
            min_free_gib: 1.0,
            min_free_percent: 5.0,
            segment_seconds: 2.0,
        }
    }
}

/// `[camera.recording]`: what this camera records.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraRecordingSection {
    /// "off", "events" (a clip of each motion event) or "continuous". Default: "events" for
    /// cameras that send H.264 themselves and have [camera.motion], else "off".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Seconds before an event's start kept in memory and put at the start of its clip.
    pub pre_roll_seconds: f64,
    /// Seconds recorded after an event's end.
    pub post_roll_seconds: f64,
    /// Continuous recordings are kept this many days (event clips: as long as their event).
    pub keep_days: f64,
    /// Most GiB of this camera's recordings (oldest deleted first); 0: no cap.
    pub max_gib: f64,
}

impl Default for CameraRecordingSection {
    fn default() -> Self {
        Self {
            mode: None,
            pre_roll_seconds: 5.0,
            post_roll_seconds: 5.0,
            keep_days: 7.0,
            max_gib: 0.0,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ros1Section {
    /// Default: `ROS_MASTER_URI`, else `http://localhost:11311`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_uri: Option<String>,
    /// The address this node announces (the master and publishers call its node API there);
    /// default `ROS_HOSTNAME`, `ROS_IP`, else 127.0.0.1 when the master is on this machine,
    /// else the local address that routes to the master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The node's name as `rosnode list` shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ros2Section {
    /// Default: `ROS_DOMAIN_ID`, else 0. (Wider than a domain id, so that any whole number
    /// gets the range error of `resolve` instead of serde's.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RosTopicsSection {
    /// Serve `/stream?topic=`, `/snapshot?topic=`, `/stream_viewer` and `/ros/topics`.
    pub enabled: bool,
    /// "ros1" or "ros2"; needed only when both are configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// Topics that may be opened, as names or patterns with `*`; empty: every image topic.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// How many topics may be open at once.
    pub max_open: usize,
    /// Web origins allowed to load `/stream?topic=` and `/snapshot?topic=` from their own
    /// pages' scripts (CORS) and to embed `/stream_viewer` in a frame; `["*"]` for any.
    /// Default: `["*"]` when logins are off (as web_video_server), none when they are on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    /// How long a quiet topic's last picture is shown again (marked stale) before "no
    /// signal": web_video_server keeps the last picture.
    pub keep_last_frame_ms: u64,
}

/// A quiet topic's last picture is shown for this long before "no signal".
pub const DEFAULT_KEEP_LAST_FRAME_MS: u64 = 30_000;

impl Default for RosTopicsSection {
    fn default() -> Self {
        Self {
            enabled: true,
            transport: None,
            allow: Vec::new(),
            max_open: 16,
            allow_origins: None,
            keep_last_frame_ms: DEFAULT_KEEP_LAST_FRAME_MS,
        }
    }
}

impl ConfigFile {
    /// The file as `lookout config check` prints it, every default filled in, with the
    /// password of every URL in it (camera URLs, a command's arguments, webhooks...) shown
    /// as `***`.
    pub fn to_redacted_toml(&self) -> Result<String, toml::ser::Error> {
        let text = toml::to_string_pretty(self)?;
        Ok(lookout_core::redact::mask_url_secrets(&text).into_owned())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Where to listen: `IP:PORT` (IPv6 as `[::1]:8080`), `https://IP:PORT`, `unix:/PATH`,
    /// `systemd` (socket activation).
    pub listen: Vec<String>,
    /// Peers whose `Forwarded`/`X-Forwarded-*` headers are believed: addresses, CIDR blocks,
    /// `unix` for every client of a unix socket.
    pub trusted_proxies: Vec<String>,
    /// Serve under this path, e.g. `/cam` for `https://example.org/cam/` (empty: the root).
    pub base_path: String,
    /// Mode of unix sockets, octal.
    pub socket_mode: String,
    /// Group owning unix sockets (the web server's, e.g. `www-data`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_group: Option<String>,
    /// Open connections at most; past it new ones get 503.
    pub max_connections: usize,
    /// Open connections at most from one client address (an IPv6 /64); past it new ones get
    /// 429. Trusted proxies are exempt.
    pub max_connections_per_address: usize,
    /// Time to produce a response (not to stream its body).
    pub request_timeout_ms: u64,
    /// A client that accepts no bytes for this long is dropped.
    pub write_timeout_ms: u64,
    /// Time for a client to send a request: from the connection (or the end of its TLS
    /// handshake), or from the end of the previous response.
    pub header_read_timeout_ms: u64,
    /// Size limit of a request's headers (at least 8192).
    pub max_header_bytes: usize,
    /// Number limit of a request's headers.
    pub max_headers: usize,
    /// How long a snapshot waits for a fresh frame.
    pub snapshot_timeout_ms: u64,
    /// `Strict-Transport-Security: max-age=N` on HTTPS responses; unset, one year on HTTPS
    /// listeners that are not loopback and none on loopback ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hsts_max_age_s: Option<u64>,
    /// Memory that variant encodes (`?width=`, `?quality=`) may hold at once, in MiB.
    pub variant_memory_mb: u64,
    /// Threads that serve connections (unset: one per CPU core).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_threads: Option<usize>,
    /// Where the database lives; default /var/lib/lookout for root, else the XDG data dir.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// What makes JPEG (MJPEG, snapshots, motion) of cameras that send H.264 only: `auto`
    /// (openh264 when built in, else ffmpeg when found), `openh264`, `ffmpeg` or `off`.
    pub h264_decoder: String,
    /// The ffmpeg program for `h264_decoder`: a name looked up on PATH, or a path.
    pub ffmpeg: String,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: vec!["127.0.0.1:8080".into()],
            trusted_proxies: vec!["unix".into()],
            base_path: String::new(),
            socket_mode: "0660".into(),
            socket_group: None,
            max_connections: 1000,
            max_connections_per_address: 100,
            request_timeout_ms: 30_000,
            write_timeout_ms: 10_000,
            header_read_timeout_ms: 10_000,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            snapshot_timeout_ms: 5_000,
            hsts_max_age_s: None,
            variant_memory_mb: 128,
            worker_threads: None,
            data_dir: None,
            h264_decoder: "auto".into(),
            ffmpeg: "ffmpeg".into(),
        }
    }
}

/// Certificate files for `https://` listeners.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// PEM certificate chain (fullchain.pem).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// PEM private key (privkey.pem).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// How often the files are checked for a renewal.
    pub reload_check_seconds: u64,
    /// Which plain-HTTP listeners send browsers to HTTPS (301), ACME challenges excepted.
    pub redirect_http: RedirectHttp,
    /// certbot's `--webroot` folder: `/.well-known/acme-challenge/TOKEN` is served from
    /// `ACME_WEBROOT/.well-known/acme-challenge/TOKEN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acme_webroot: Option<PathBuf>,
}

impl Default for TlsSection {
    fn default() -> Self {
        Self {
            cert: None,
            key: None,
            reload_check_seconds: 10,
            redirect_http: RedirectHttp::Public,
            acme_webroot: None,
        }
    }
}

/// The public address watcher.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublicAddressSection {
    /// A URL answering with the caller's address as plain text, e.g. "https://api.ipify.org".
    pub url: String,
    /// How often to ask.
    #[serde(default = "default_public_address_seconds")]
    pub check_every_seconds: u64,
}

fn default_public_address_seconds() -> u64 {
    900
}

/// How long events and their pictures are kept.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsSection {
    /// Events older than this are deleted with their pictures.
    pub keep_days: u64,
    /// Past this many MiB of pictures, the oldest pictures go (their events stay).
    pub max_snapshot_mib: u64,
}

impl Default for EventsSection {
    fn default() -> Self {
        Self {
            keep_days: 30,
            max_snapshot_mib: 500,
        }
    }
}

/// How alerts are delivered.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsSection {
    /// First retry of a failed delivery; each retry waits twice as long...
    pub retry_initial_seconds: u64,
    /// ...up to this.
    pub retry_max_seconds: u64,
    /// A delivery still failing after this long is given up (and logged).
    pub give_up_after_hours: u64,
}

impl Default for AlertsSection {
    fn default() -> Self {
        Self {
            retry_initial_seconds: 30,
            retry_max_seconds: 3600,
            give_up_after_hours: 72,
        }
    }
}

/// One `[[alert]]`: which events go where.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRuleSection {
    pub name: String,
    /// Event kinds: "motion", "camera_offline", "camera_online"; default all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<String>>,
    /// Cameras; default all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cameras: Option<Vec<String>>,
    /// No alerts in this local-time window, e.g. "22:00-07:00".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<String>,
    /// At most this many alerts per hour from this rule; past it events are recorded only.
    #[serde(default = "default_max_per_hour")]
    pub max_per_hour: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailSection>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSection {
    /// Recipients, e.g. ["Me <me@example.org>"].
    pub to: Vec<String>,
}

/// The mail server email alerts go through.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    pub host: String,
    /// Default: 587 for starttls, 465 for tls, 25 for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// "starttls" (default), "tls" (implicit, port 465) or "none" (a local relay only).
    #[serde(default = "default_security")]
    pub security: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// File holding the password...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// ...or an environment variable holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// The sender, e.g. "Lookout <cam@example.org>".
    pub from: String,
    /// A PEM CA certificate to trust for the server (a private relay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The site's public URL for links in mails, e.g. "https://cam.example.org".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_base: Option<String>,
}

fn default_security() -> String {
    "starttls".into()
}

fn default_max_per_hour() -> u32 {
    20
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// http:// or https:// URL receiving a JSON POST.
    pub url: String,
    /// File holding the HMAC-SHA256 signing secret...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// ...or an environment variable holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
}

/// Certificates from an ACME CA (Let's Encrypt) for `https://` listeners.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeSection {
    /// Names the certificate is for; each must reach this server on port 80 (HTTP-01).
    pub domains: Vec<String>,
    /// An email address the CA may write to about the certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// `letsencrypt`, `letsencrypt-staging`, or the https:// URL of another ACME directory.
    #[serde(default = "default_directory")]
    pub directory: String,
    /// A PEM CA certificate to trust for the directory's own HTTPS (a private ACME server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_ca: Option<PathBuf>,
    /// Renew this many days before the certificate expires.
    #[serde(default = "default_renew_before_days")]
    pub renew_before_days: u64,
}

fn default_directory() -> String {
    "letsencrypt".into()
}

fn default_renew_before_days() -> u64 {
    30
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Everything but the login page and `/healthz` needs credentials.
    Login,
    /// No authentication: refused unless every listener is loopback.
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    pub mode: AuthMode,
    /// A session without "remember me" ends after this long without a request...
    pub session_idle_minutes: u64,
    /// ...and at the latest this long after login.
    pub session_max_hours: u64,
    /// A "remember me" session lasts this long.
    pub remember_me_days: u64,
    /// Failed logins per address or user name before delays start.
    pub login_free_failures: u32,
    /// The longest lock after repeated failures.
    pub login_max_lock_seconds: u64,
    /// Argon2id cost (OWASP's minimum: 19456 KiB, 2 iterations, 1 lane).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            mode: AuthMode::Login,
            session_idle_minutes: 12 * 60,
            session_max_hours: 7 * 24,
            remember_me_days: 30,
            login_free_failures: 5,
            login_max_lock_seconds: 15 * 60,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSection {
    pub id: String,
    /// Shown on the page; defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Capture even when nobody watches.
    #[serde(default)]
    pub keep_warm: bool,
    /// Keep capturing this long after the last viewer left.
    #[serde(default = "default_idle_linger_ms")]
    pub idle_linger_ms: u64,
    /// JPEG quality for frames Lookout encodes (test pattern, scaled variants).
    #[serde(default = "default_quality")]
    pub quality: i64,
    /// Motion detection (off unless the table is there); the camera then captures always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion: Option<MotionSection>,
    /// Recording (segments on disk, event clips); see `CameraRecordingSection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<CameraRecordingSection>,
    pub source: SourceSection,
    /// H.264 for a camera that sends JPEG or pixels (feature `openh264`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h264: Option<H264Section>,
    /// Camera controls set at every open (V4L2 cameras): `brightness = 140`,
    /// `auto_exposure = "manual"`, `focus_automatic_continuous = false`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub controls: std::collections::BTreeMap<String, ControlValue>,
}

/// A control's value as written in TOML.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ControlValue {
    Integer(i64),
    Boolean(bool),
    Text(String),
}

impl std::fmt::Display for ControlValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Integer(n) => write!(f, "{n}"),
            Self::Boolean(b) => write!(f, "{b}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MotionSection {
    /// Percent of the (unmasked) picture that must change.
    pub threshold_percent: f32,
    /// Consecutive analysed frames above the threshold before an event starts.
    pub min_frames: u32,
    /// Seconds without motion before the event ends.
    pub cooldown_seconds: f64,
    /// Frames analysed per second at most.
    pub analyse_fps: f64,
    /// Mask zones: polygons in 0..1 picture coordinates.
    #[serde(rename = "zone", skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneSection>,
}

impl Default for MotionSection {
    fn default() -> Self {
        Self {
            threshold_percent: 0.5,
            min_frames: 3,
            cooldown_seconds: 5.0,
            analyse_fps: 5.0,
            zones: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSection {
    /// "include" (only motion inside counts) or "exclude" (motion inside is ignored).
    pub kind: String,
    /// Corners, e.g. [[0.0, 0.0], [0.5, 0.0], [0.5, 0.3]].
    pub points: Vec<[f32; 2]>,
}

/// `[camera.h264]`: encoding to H.264 while somebody watches `stream.mp4`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct H264Section {
    /// "auto" (the default: encode when asked, pass through what the camera sends as H.264)
    /// or "off" (no encoder; the camera stays MJPEG only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Target bitrate; default from the picture size and rate (720p at 30 fps: 2000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate_kbps: Option<i64>,
    /// Time between key frames (a late joiner's wait when it cannot ask for one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyframe_interval_ms: Option<i64>,
}

fn default_idle_linger_ms() -> u64 {
    10_000
}
fn default_quality() -> i64 {
    80
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceSection {
    Testpattern(TestPatternSection),
    Files(FilesSection),
    Command(CommandSection),
    Http(HttpSection),
    Rtsp(RtspSection),
    V4l2(V4l2Section),
    Ros1(RosTopicSection),
    Ros2(RosTopicSection),
}

/// A V4L2 camera (USB webcam, capture card, v4l2loopback).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct V4l2Section {
    /// `/dev/video0`, or better a stable name: `/dev/v4l/by-id/usb-…-video-index0`.
    pub device: PathBuf,
    /// Wanted size; default the largest the camera offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    /// Wanted frame rate; default the highest offered at that size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// A FourCC such as "MJPG" or "YUYV"; default the camera's MJPEG, else a raw format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Capture buffers shared with the driver.
    #[serde(default = "default_v4l2_buffers")]
    pub buffers: i64,
}

fn default_v4l2_buffers() -> i64 {
    lookout_sources::v4l2::DEFAULT_BUFFERS.into()
}

/// A ROS image topic as a camera.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RosTopicSection {
    /// e.g. "/camera/image_raw" or "/camera/image_raw/compressed"; its published type decides
    /// how it is read.
    pub topic: String,
    /// ROS 2: reliable delivery instead of sensor-data QoS (best effort).
    #[serde(default)]
    pub reliable: bool,
    /// How long the topic's last picture is shown again (marked stale) when it goes quiet,
    /// before "no signal".
    #[serde(default = "default_keep_last_frame_ms")]
    pub keep_last_frame_ms: u64,
}

fn default_keep_last_frame_ms() -> u64 {
    DEFAULT_KEEP_LAST_FRAME_MS
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestPatternSection {
    pub width: i64,
    pub height: i64,
    pub fps: f64,
}

impl Default for TestPatternSection {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 15.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSection {
    pub dir: PathBuf,
    #[serde(default = "default_files_fps")]
    pub fps: f64,
}

fn default_files_fps() -> f64 {
    1.0
}

/// A command as an argument list (run directly) or one string (run by `sh -c`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum CommandLine {
    Argv(Vec<String>),
    Shell(String),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSection {
    pub command: CommandLine,
    /// What the program writes: "mjpeg" (the default) or "h264" (Annex B).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,
    /// End and restart the program when it sends no frame for this long.
    #[serde(default = "default_stall_timeout_ms")]
    pub stall_timeout_ms: u64,
}

fn default_max_frame_bytes() -> usize {
    16 << 20
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// `http://` URL of an MJPEG stream or a JPEG snapshot; may hold `user:password@`.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A file holding the password (the rule of docs/ref/config.md#secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Polls per second when the URL gives single JPEGs.
    #[serde(default = "default_poll_fps")]
    pub poll_fps: f64,
    /// Reconnect when a stream sends no frame for this long.
    #[serde(default = "default_stall_timeout_ms")]
    pub stall_timeout_ms: u64,
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,
}

/// An IP camera over RTSP, read by Lookout's own client (retina).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RtspSection {
    /// `rtsp://host[:port]/path`, without `user:password@` (refused: use the keys below).
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A file holding the password (the rule of docs/ref/config.md#secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// "tcp" (interleaved in the RTSP connection) or "udp".
    #[serde(default = "default_rtsp_transport")]
    pub transport: String,
    /// Reconnect when the camera sends no frame for this long.
    #[serde(default = "default_stall_timeout_ms")]
    pub stall_timeout_ms: u64,
}

fn default_rtsp_transport() -> String {
    "tcp".to_owned()
}

fn default_poll_fps() -> f64 {
    2.0
}
fn default_stall_timeout_ms() -> u64 {
    10_000
}

/// WebRTC live view (docs/ref/config.md `[webrtc]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebRtcSection {
    pub enabled: bool,
    pub udp: bool,
    pub udp_port: u16,
    pub tcp: bool,
    pub tcp_port: u16,
    pub public_addresses: Vec<String>,
    pub max_peers: usize,
    pub max_peers_per_camera: usize,
    pub max_peers_per_user: usize,
    /// A peer not connected (ICE and DTLS) this long after its answer is ended.
    pub connect_timeout_ms: u64,
    /// A peer that sent no ICE consent check this long is ended (RFC 7675).
    pub consent_timeout_ms: u64,
}

impl Default for WebRtcSection {
    fn default() -> Self {
        let d = crate::webrtc::WebRtcSettings::default();
        Self {
            enabled: d.enabled,
            udp: d.udp,
            udp_port: d.udp_port,
            tcp: d.tcp,
            tcp_port: d.tcp_port,
            public_addresses: Vec::new(),
            max_peers: d.max_peers,
            max_peers_per_camera: d.max_peers_per_camera,
            max_peers_per_user: d.max_peers_per_user,
            connect_timeout_ms: duration_ms(d.connect_timeout),
            consent_timeout_ms: duration_ms(d.consent_timeout),
        }
    }
}

/// Whole milliseconds of a default duration (they are seconds, far below u64's range).
fn duration_ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The MQTT broker (docs/guide/home-assistant.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    /// `mqtt://HOST[:PORT]` (1883) or `mqtts://HOST[:PORT]` (8883, TLS).
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// File holding the password...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// ...or an environment variable holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// A PEM CA certificate to trust for an `mqtts://` broker instead of the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The MQTT client id; also Home Assistant's node id.
    #[serde(default = "default_mqtt_client_id")]
    pub client_id: String,
    /// Every topic starts with it.
    #[serde(default = "default_mqtt_topic_prefix")]
    pub topic_prefix: String,
    /// Announce the cameras to Home Assistant (MQTT discovery).
    #[serde(default = "default_true")]
    pub discovery: bool,
    #[serde(default = "default_mqtt_discovery_prefix")]
    pub discovery_prefix: String,
    /// The device's name in Home Assistant.
    #[serde(default = "default_mqtt_device_name")]
    pub device_name: String,
    /// Lookout's address for the link on Home Assistant's device page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_url: Option<String>,
    /// Accept commands: a snapshot now, arming and disarming motion alerts per camera.
    #[serde(default)]
    pub commands: bool,
    /// Viewer counts are published at most this often.
    #[serde(default = "default_mqtt_viewers_seconds")]
    pub viewers_every_seconds: i64,
    #[serde(default = "default_mqtt_keep_alive_seconds")]
    pub keep_alive_seconds: i64,
}

fn default_true() -> bool {
    true
}
fn default_mqtt_client_id() -> String {
    "lookout".into()
}
fn default_mqtt_topic_prefix() -> String {
    "lookout".into()
}
fn default_mqtt_discovery_prefix() -> String {
    "homeassistant".into()
}
fn default_mqtt_device_name() -> String {
    "Lookout".into()
}
fn default_mqtt_viewers_seconds() -> i64 {
    5
}
fn default_mqtt_keep_alive_seconds() -> i64 {
    30
}
