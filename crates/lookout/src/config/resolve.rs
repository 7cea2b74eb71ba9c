//! Validation: [`ConfigFile`] → [`Config`]. Every problem is reported (to [`Ctx`]) at the line
//! of its key and checking goes on, so one run lists them all; a value that failed is replaced
//! by a stand-in that is never used, as a config with errors is not returned.

use super::context::Ctx;
use super::file::{
    AuthMode, AuthSection, CameraSection, ConfigFile, H264Section, MotionSection, TlsSection,
};
use super::sources::SourceConfig;
use super::words::whole;
use crate::acme::AcmeSettings;
use crate::auth::limiter::LimiterPolicy;
use crate::auth::password::HashCost;
use crate::auth::sessions::SessionPolicy;
use crate::events::motion_watch::MotionSettings;
use crate::events::public_address::PublicAddressConfig;
use crate::events::retention::Retention;
use crate::listen::{ListenSpec, SocketPermissions};
use crate::ros::settings::RosSettings;
use crate::server::RedirectHttp;
use crate::tls::CertFiles;
use crate::web::TrustedProxy;
use lookout_sources::SupervisorConfig;
use lookout_sources::encode::EncodeConfig;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The validated configuration: all the program uses of the file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from; `None` for the built-in demo.
    pub origin: Option<PathBuf>,
    pub auth: AuthConfig,
    /// Set from `server.data_dir`, else the default; `--data-dir` replaces it.
    pub data_dir: PathBuf,
    /// `server.data_dir` as the file sets it (`None`: the default applies).
    pub data_dir_in_file: Option<PathBuf>,
    /// What was on disk, with defaults filled in: only `lookout config check` prints it
    /// ([`Config::to_redacted_toml`]); the program uses the resolved fields.
    pub(super) file: ConfigFile,
    pub server: ServerConfig,
    /// Set when `[tls]` names certificate files.
    pub tls: Option<TlsConfig>,
    /// Set when `[acme]` asks for certificates from a CA.
    pub acme: Option<AcmeSettings>,
    /// Which plain-HTTP listeners redirect to HTTPS: `tls.redirect_http` when there is a
    /// certificate (`[tls]` or `[acme]`), else none.
    pub redirect_http: RedirectHttp,
    /// `tls.acme_webroot`: certbot's `--webroot` folder, served for HTTP-01 challenges.
    pub acme_webroot: Option<PathBuf>,
    pub alerts: Arc<crate::alerts::AlertConfig>,
    /// `[events]`: how long events and their pictures are kept.
    pub retention: Retention,
    /// `[public_address]`: the watcher of this site's public address.
    pub public_address: Option<PublicAddressConfig>,
    /// `[mqtt]`: the broker cameras, motion and states are published on.
    pub mqtt: Option<Arc<crate::mqtt::MqttSettings>>,
    /// ROS transports and web_video_server's on-demand topics.
    pub ros: RosSettings,
    /// `[webrtc]`: the WebRTC live view.
    pub webrtc: crate::webrtc::WebRtcSettings,
    pub cameras: Vec<CameraConfig>,
    /// `[recording]`: limits for the whole data directory.
    pub recording: crate::recording::RecordingSettings,
}

impl Config {
    /// The file as `lookout config check` prints it: every default filled in, the password
    /// of every URL in it (camera URLs, a command's arguments, webhooks...) shown as `***`.
    pub fn to_redacted_toml(&self) -> Result<String, toml::ser::Error> {
        self.file.to_redacted_toml()
    }
}

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub files: CertFiles,
    /// The certificate as loaded (and checked) when the config was read.
    pub initial: rustls::sign::CertifiedKey,
    pub reload_every: Duration,
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub mode: AuthMode,
    pub sessions: SessionPolicy,
    pub limiter: LimiterPolicy,
    pub cost: HashCost,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: Vec<ListenSpec>,
    /// `""` or `/cam` (no trailing slash).
    pub base_path: String,
    pub trusted_proxies: Vec<TrustedProxy>,
    pub socket: SocketPermissions,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub request_timeout: Duration,
    pub write_timeout: Duration,
    pub header_read_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub snapshot_timeout: Duration,
    /// `server.hsts_max_age_s` as set; `None` for the default policy.
    pub hsts_max_age_s: Option<u64>,
    pub variant_memory_bytes: u64,
    /// `server.worker_threads`; `None`: the runtime's default, one per CPU core.
    pub worker_threads: Option<usize>,
    /// What makes JPEG of H.264-only cameras; `None`: nothing (they answer 503 for JPEG).
    pub h264_decoder: Option<lookout_sources::decode::JpegDecoder>,
}

#[derive(Debug, Clone)]
pub struct CameraConfig {
    pub id: String,
    pub name: String,
    pub quality: u8,
    pub supervisor: SupervisorConfig,
    pub source: SourceConfig,
    pub motion: Option<MotionSettings>,
    /// `[camera.recording]`.
    pub recording: crate::recording::CameraRecording,
    /// `Some`: encode the camera's pictures to H.264 while somebody watches `stream.mp4`
    /// (`[camera.h264] mode = "auto"`, the default); only used with feature `openh264`.
    pub h264_encode: Option<EncodeConfig>,
}

pub(super) fn resolve(file: ConfigFile, cx: &Ctx<'_>) -> Config {
    let server = server(cx, &file);
    if file.cameras.is_empty() {
        cx.report_file(
            "no cameras configured",
            "add a [[camera]] table; `lookout config example` shows one",
        );
    }
    let mut seen = HashSet::new();
    let mut cameras = Vec::new();
    for (n, cam) in file.cameras.iter().enumerate() {
        let at = format!("camera[{n}]");
        if !valid_id(&cam.id) {
            cx.report(
                &format!("{at}.id"),
                format!("camera id {:?} is not valid", cam.id),
                "use 1 to 64 letters, digits, '-' or '_' (it appears in URLs)",
            );
        } else if !seen.insert(cam.id.clone()) {
            cx.report(
                &format!("{at}.id"),
                format!("camera id {:?} is used twice", cam.id),
                "give each [[camera]] its own id",
            );
        }
        if let Some(c) = camera(cx, &at, cam, server.h264_decoder.is_some()) {
            cameras.push(c);
        }
    }
    let ros = super::ros::ros(cx, &file);
    let auth = auth(cx, &file.auth);
    let tls = tls(cx, &file.tls);
    let alerts = Arc::new(super::alerts::alerts(cx, &file));
    let retention = super::alerts::retention(cx, &file);
    let recording = super::recording::settings(cx, &file.recording);
    let public_address = super::alerts::public_address(cx, &file);
    let mqtt = super::mqtt::mqtt(cx, &file).map(Arc::new);
    let webrtc = super::webrtc::webrtc(cx, &file);
    let acme = file.acme.as_ref().and_then(|a| acme(cx, a));
    if file.acme.is_some() && (file.tls.cert.is_some() || file.tls.key.is_some()) {
        cx.report(
            "acme.domains",
            "both [tls] certificate files and [acme] are set",
            "keep one: tls.cert/tls.key for certificates you manage, or [acme] for automatic ones",
        );
    }
    let certificate = file.acme.is_some() || file.tls.cert.is_some() || file.tls.key.is_some();
    if !certificate
        && let Some(spec) = server
            .listen
            .iter()
            .find(|l| matches!(l, ListenSpec::Tcp { tls: true, .. }))
    {
        cx.report(
            "server.listen",
            format!("server.listen has {spec} but there is no certificate"),
            "add an [acme] table (automatic certificates), or set tls.cert and tls.key to your PEM files",
        );
    }
    let data_dir_in_file = file.server.data_dir.clone();
    Config {
        origin: None,
        auth,
        data_dir: data_dir_in_file
            .clone()
            .unwrap_or_else(lookout_store::default_data_dir),
        data_dir_in_file,
        redirect_http: if certificate {
            file.tls.redirect_http
        } else {
            RedirectHttp::None
        },
        acme_webroot: file.tls.acme_webroot.clone(),
        server,
        tls,
        acme,
        alerts,
        retention,
        recording,
        public_address,
        mqtt,
        webrtc,
        ros,
        cameras,
        file,
    }
}

/// Most `server.worker_threads`: past a few per core they only cost memory and hand-offs.
const MAX_WORKER_THREADS: usize = 1024;

fn server(cx: &Ctx<'_>, file: &ConfigFile) -> ServerConfig {
    let s = &file.server;
    let mut listen = Vec::new();
    for (i, addr) in s.listen.iter().enumerate() {
        match addr.parse::<ListenSpec>() {
            Ok(spec) => listen.push(spec),
            Err(e) => cx.report(
                &format!("server.listen[{i}]"),
                format!("server.listen: {e}"),
                "e.g. \"127.0.0.1:8080\", \"[::]:8080\", \"https://0.0.0.0:443\", \"unix:/run/lookout/http.sock\"",
            ),
        }
    }
    let mut trusted_proxies = Vec::new();
    for (i, p) in s.trusted_proxies.iter().enumerate() {
        match p.parse::<TrustedProxy>() {
            Ok(t) => trusted_proxies.push(t),
            Err(e) => cx.report(
                &format!("server.trusted_proxies[{i}]"),
                format!("server.trusted_proxies: {e}"),
                "list your reverse proxy's address, e.g. [\"127.0.0.1\", \"unix\"]",
            ),
        }
    }
    let socket_mode = u32::from_str_radix(&s.socket_mode, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .unwrap_or_else(|| {
            cx.report(
                "server.socket_mode",
                format!(
                    "server.socket_mode {:?} is not an octal file mode",
                    s.socket_mode
                ),
                "write e.g. \"0660\" (owner and group may connect)",
            );
            0o660
        });
    let positive = |key: &str, v: u64| {
        if v == 0 {
            cx.report(
                &format!("server.{key}"),
                format!("server.{key} must be above 0"),
                "remove the key to use the default",
            );
        }
        Duration::from_millis(v)
    };
    if s.max_connections == 0 {
        cx.report(
            "server.max_connections",
            "server.max_connections must be above 0",
            "remove the key to use the default (1000)",
        );
    }
    if s.max_connections_per_address == 0 {
        cx.report(
            "server.max_connections_per_address",
            "server.max_connections_per_address must be above 0",
            "remove the key to use the default (100)",
        );
    }
    // hyper's smallest read buffer is 8 KiB; below that it would panic.
    if !(8192..=1 << 20).contains(&s.max_header_bytes) {
        cx.report(
            "server.max_header_bytes",
            format!(
                "server.max_header_bytes is {}; it must be {}",
                s.max_header_bytes,
                whole(8192, 1 << 20)
            ),
            "remove the key to use the default (16384)",
        );
    }
    if !(8..=1000).contains(&s.max_headers) {
        cx.report(
            "server.max_headers",
            format!(
                "server.max_headers is {}; it must be {}",
                s.max_headers,
                whole(8, 1000)
            ),
            "remove the key to use the default (64)",
        );
    }
    if s.snapshot_timeout_ms >= s.request_timeout_ms {
        cx.report(
            "server.snapshot_timeout_ms",
            format!(
                "server.snapshot_timeout_ms ({}) must be below server.request_timeout_ms ({})",
                s.snapshot_timeout_ms, s.request_timeout_ms
            ),
            "lower snapshot_timeout_ms or raise request_timeout_ms",
        );
    }
    if !(1..=1 << 20).contains(&s.variant_memory_mb) {
        cx.report(
            "server.variant_memory_mb",
            format!(
                "server.variant_memory_mb is {}; it must be {}",
                s.variant_memory_mb,
                whole(1, 1 << 20)
            ),
            "remove the key to use the default (128)",
        );
    }
    if let Some(n) = s.worker_threads
        && !(1..=MAX_WORKER_THREADS).contains(&n)
    {
        cx.report(
            "server.worker_threads",
            format!(
                "server.worker_threads is {n}; it must be {}",
                whole(1, MAX_WORKER_THREADS)
            ),
            "remove the key for one thread per CPU core",
        );
    }
    let h264_decoder =
        lookout_sources::decode::choose(&s.h264_decoder, &s.ffmpeg).unwrap_or_else(|e| {
            cx.report(
                "server.h264_decoder",
                e.to_string(),
                "remove the key to use the default (\"auto\")",
            );
            None
        });
    let base_path = s.base_path.trim_end_matches('/').to_owned();
    let base_ok = base_path.is_empty()
        || (base_path.starts_with('/')
            && !base_path.contains("//")
            && !base_path.split('/').any(|seg| seg == "." || seg == "..")
            && base_path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b)));
    if !base_ok {
        cx.report(
            "server.base_path",
            format!("server.base_path {:?} is not a plain URL path", s.base_path),
            "write it like \"/cam\" (letters, digits, - _ . ~ and /)",
        );
    }
    ServerConfig {
        listen,
        base_path,
        trusted_proxies,
        socket: SocketPermissions {
            mode: socket_mode,
            group: s.socket_group.clone(),
        },
        max_connections: s.max_connections,
        max_connections_per_address: s.max_connections_per_address,
        request_timeout: positive("request_timeout_ms", s.request_timeout_ms),
        write_timeout: positive("write_timeout_ms", s.write_timeout_ms),
        header_read_timeout: positive("header_read_timeout_ms", s.header_read_timeout_ms),
        max_header_bytes: s.max_header_bytes,
        max_headers: s.max_headers,
        snapshot_timeout: positive("snapshot_timeout_ms", s.snapshot_timeout_ms),
        hsts_max_age_s: s.hsts_max_age_s,
        variant_memory_bytes: s.variant_memory_mb << 20,
        worker_threads: s.worker_threads,
        h264_decoder,
    }
}

fn acme(cx: &Ctx<'_>, a: &super::file::AcmeSection) -> Option<AcmeSettings> {
    let mut ok = true;
    let mut bad = |key: &str, msg: String, fix: &str| {
        cx.report(&format!("acme.{key}"), msg, fix);
        ok = false;
    };
    if a.domains.is_empty() {
        bad(
            "domains",
            "acme.domains is empty".into(),
            "list the names the certificate is for, e.g. domains = [\"cam.example.org\"]",
        );
    }
    for d in &a.domains {
        let valid = d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !valid {
            bad(
                "domains",
                format!("acme.domains: {d:?} is not a DNS name HTTP-01 can validate"),
                "write full names like \"cam.example.org\" (no wildcards, no addresses)",
            );
        }
    }
    let directory_url = match a.directory.as_str() {
        "letsencrypt" => instant_acme::LetsEncrypt::Production.url().to_owned(),
        "letsencrypt-staging" => instant_acme::LetsEncrypt::Staging.url().to_owned(),
        url if url.starts_with("https://") => url.to_owned(),
        other => {
            bad(
                "directory",
                format!("acme.directory {other:?} is not known"),
                "write \"letsencrypt\", \"letsencrypt-staging\" or the https:// URL of an ACME directory",
            );
            String::new()
        }
    };
    if !(1..=89).contains(&a.renew_before_days) {
        bad(
            "renew_before_days",
            format!(
                "acme.renew_before_days is {}; it must be {}",
                a.renew_before_days,
                whole(1, 89)
            ),
            "remove the key to use the default (30)",
        );
    }
    if let Some(ca) = &a.directory_ca
        && !ca.is_file()
    {
        bad(
            "directory_ca",
            format!("acme.directory_ca {} is not a readable file", ca.display()),
            "point it at the PEM certificate of the CA that signed the directory's HTTPS",
        );
    }
    ok.then(|| AcmeSettings {
        domains: a.domains.clone(),
        contact: a.contact.clone(),
        directory_url,
        directory_ca: a.directory_ca.clone(),
        renew_before: Duration::from_secs(a.renew_before_days * 86_400),
    })
}

fn tls(cx: &Ctx<'_>, t: &TlsSection) -> Option<TlsConfig> {
    if t.cert.is_none() && t.key.is_none() {
        return None;
    }
    // Only with certificate files: without them nothing is reloaded.
    if t.reload_check_seconds == 0 {
        cx.report(
            "tls.reload_check_seconds",
            "tls.reload_check_seconds must be at least 1",
            "remove the key to use the default (10)",
        );
    }
    let (cert, key) = match (&t.cert, &t.key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        (c, _) => {
            cx.report(
                if c.is_some() { "tls.cert" } else { "tls.key" },
                "tls.cert and tls.key go together",
                "set both: the certificate chain (fullchain.pem) and its private key (privkey.pem)",
            );
            return None;
        }
    };
    let initial = match crate::tls::load(&cert, &key) {
        Ok(k) => k,
        Err(e) => {
            cx.report(
                "tls.cert",
                e.chain().to_string(),
                "check the paths and that Lookout may read both files",
            );
            return None;
        }
    };
    Some(TlsConfig {
        files: CertFiles { cert, key },
        initial,
        reload_every: Duration::from_secs(t.reload_check_seconds),
    })
}

fn auth(cx: &Ctx<'_>, a: &AuthSection) -> AuthConfig {
    // Ten years is plenty and keeps every later sum of seconds far from overflowing.
    let in_range = |key: &str, v: u64, max: u64| {
        if v == 0 || v > max {
            cx.report(
                &format!("auth.{key}"),
                format!("auth.{key} is {v}; it must be {}", whole(1, max)),
                "remove the key to use the default",
            );
        }
        v.clamp(1, max)
    };
    let idle = in_range(
        "session_idle_minutes",
        a.session_idle_minutes,
        10 * 366 * 24 * 60,
    );
    let max_hours = in_range("session_max_hours", a.session_max_hours, 10 * 366 * 24);
    let remember_days = in_range("remember_me_days", a.remember_me_days, 10 * 366);
    let cost = HashCost {
        memory_kib: a.argon2_memory_kib,
        iterations: a.argon2_iterations,
        parallelism: a.argon2_parallelism,
    };
    // Argon2's own limits: at least 8 KiB per lane, 1 pass, 1 lane.
    if cost.iterations == 0 || cost.parallelism == 0 || cost.memory_kib < 8 * cost.parallelism {
        cx.report(
            "auth.argon2_memory_kib",
            "auth.argon2_* parameters are below Argon2's minimum",
            "remove them to use OWASP's parameters (19456 KiB, 2 iterations, 1 lane)",
        );
    }
    AuthConfig {
        mode: a.mode,
        sessions: SessionPolicy {
            idle: Duration::from_secs(idle * 60),
            max_age: Duration::from_secs(max_hours * 3600),
            remember: Duration::from_secs(remember_days * 86_400),
        },
        limiter: LimiterPolicy {
            free_failures: a.login_free_failures,
            max_lock: Duration::from_secs(a.login_max_lock_seconds.max(1)),
        },
        cost,
    }
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The camera at `at` (`camera[2]`); `None` when its source has errors.
fn camera(
    cx: &Ctx<'_>,
    at: &str,
    cam: &CameraSection,
    can_decode_h264: bool,
) -> Option<CameraConfig> {
    let id = &cam.id;
    let quality = u8::try_from(cam.quality)
        .ok()
        .filter(|q| (1..=100).contains(q));
    if quality.is_none() {
        cx.report(
            &format!("{at}.quality"),
            format!(
                "camera {id:?}: quality is {}; it must be {}",
                cam.quality,
                whole(1, 100)
            ),
            "80 is a good default",
        );
    }
    let motion = cam
        .motion
        .as_ref()
        .and_then(|m| motion(cx, &format!("{at}.motion"), id, m));
    let h264_encode = h264(cx, &format!("{at}.h264"), id, cam.h264.as_ref());
    let source = super::sources::source(cx, at, cam)?;
    if cam.motion.is_some() && source.sends_h264_only() && !can_decode_h264 {
        // Motion detection reads JPEG frames: an H.264 camera's come from the decoder.
        cx.report(
            &format!("{at}.motion"),
            format!(
                "camera {id:?}: motion detection needs JPEG frames, and this camera sends H.264 (format = \"h264\"), which this Lookout cannot decode (server.h264_decoder finds neither openh264 nor ffmpeg)"
            ),
            format!("{}; or remove [camera.motion]", lookout_sources::decode::NO_DECODER_FIX),
        );
        return None;
    }
    let native =
        source.sends_h264_only() || matches!(source, super::sources::SourceConfig::Rtsp(_));
    let recording = super::recording::camera(
        cx,
        at,
        id,
        cam.recording.as_ref(),
        &super::recording::H264Source {
            native,
            encoder: cfg!(feature = "openh264") && h264_encode.is_some(),
            motion: motion.is_some(),
        },
    );
    Some(CameraConfig {
        recording,
        h264_encode,
        id: id.clone(),
        name: cam.name.clone().unwrap_or_else(|| id.clone()),
        quality: quality.unwrap_or(80),
        motion,
        supervisor: SupervisorConfig {
            // Motion detection watches when nobody else does.
            keep_warm: cam.keep_warm || cam.motion.is_some(),
            idle_linger: Duration::from_millis(cam.idle_linger_ms),
            keep_last_frame: match &source {
                super::sources::SourceConfig::Ros(r) => r.keep_last_frame,
                _ => Duration::ZERO,
            },
            ..SupervisorConfig::default()
        },
        source,
    })
}

/// `[camera.h264]` at `at`; `None` when the mode is "off" (or on errors, reported).
fn h264(cx: &Ctx<'_>, at: &str, id: &str, h: Option<&H264Section>) -> Option<EncodeConfig> {
    let mut cfg = EncodeConfig::default();
    let Some(h) = h else {
        return Some(cfg);
    };
    let bad = |key: &str, msg: String, fix: &str| {
        cx.report(&format!("{at}.{key}"), format!("camera {id:?}: {msg}"), fix);
    };
    let mut on = true;
    match h.mode.as_deref() {
        None | Some("auto") => {}
        Some("off") => on = false,
        Some(other) => bad(
            "mode",
            format!("h264.mode {other:?} is not known"),
            "use \"auto\" (encode when somebody watches H.264) or \"off\"",
        ),
    }
    if let Some(kbps) = h.bitrate_kbps {
        // 50 kbit/s is a thumbnail; 50 Mbit/s is past level 4.1's Baseline limit.
        match u32::try_from(kbps)
            .ok()
            .filter(|k| (50..=50_000).contains(k))
        {
            Some(k) => cfg.bitrate_bps = Some(k * 1000),
            None => bad(
                "bitrate_kbps",
                format!(
                    "h264.bitrate_kbps is {kbps}; it must be {}",
                    whole(50, 50_000)
                ),
                "remove it to size it from the picture (720p30: 2000)",
            ),
        }
    }
    if let Some(ms) = h.keyframe_interval_ms {
        match u64::try_from(ms)
            .ok()
            .filter(|m| (100..=60_000).contains(m))
        {
            Some(m) => cfg.keyframe_interval = Duration::from_millis(m),
            None => bad(
                "keyframe_interval_ms",
                format!(
                    "h264.keyframe_interval_ms is {ms}; it must be {}",
                    whole(100, 60_000)
                ),
                "remove it to use the default (2000)",
            ),
        }
    }
    on.then_some(cfg)
}

fn motion(cx: &Ctx<'_>, at: &str, id: &str, m: &MotionSection) -> Option<MotionSettings> {
    use lookout_core::motion::{MaskZone, MotionConfig};
    let bad = |key: &str, msg: String, fix: &str| {
        cx.report(&format!("{at}.{key}"), format!("camera {id:?}: {msg}"), fix);
    };
    let mut ok = true;
    if !(m.analyse_fps > 0.0 && m.analyse_fps <= 60.0) {
        bad(
            "analyse_fps",
            format!(
                "motion.analyse_fps is {}; it must be above 0 and at most 60",
                m.analyse_fps
            ),
            "remove it to use the default (5)",
        );
        ok = false;
    }
    let cooldown_ok = m.cooldown_seconds >= 0.0 && m.cooldown_seconds <= 3600.0;
    if !cooldown_ok {
        bad(
            "cooldown_seconds",
            format!(
                "motion.cooldown_seconds is {}; it must be from 0 to 3600",
                m.cooldown_seconds
            ),
            "remove it to use the default (5)",
        );
        ok = false;
    }
    if !(m.threshold_percent > 0.0 && m.threshold_percent <= 100.0) {
        bad(
            "threshold_percent",
            format!(
                "motion.threshold_percent is {}; it must be above 0 and at most 100",
                m.threshold_percent
            ),
            "remove it to use the default (0.5)",
        );
        ok = false;
    }
    if m.min_frames == 0 {
        bad(
            "min_frames",
            "motion.min_frames must be at least 1".into(),
            "remove it to use the default (3)",
        );
        ok = false;
    }
    let mut zones = Vec::new();
    for (i, z) in m.zones.iter().enumerate() {
        let points = z.points.iter().map(|[x, y]| (*x, *y)).collect();
        let zone = match z.kind.as_str() {
            "include" => MaskZone::include(points),
            "exclude" => MaskZone::exclude(points),
            other => {
                bad(
                    &format!("zone[{i}].kind"),
                    format!("motion.zone[{i}].kind {other:?} is not known"),
                    "write \"include\" or \"exclude\"",
                );
                ok = false;
                continue;
            }
        };
        if let Err(e) = zone.validate() {
            bad(
                &format!("zone[{i}].points"),
                format!("motion.zone[{i}]: {e}"),
                "list at least 3 corners, each a pair of fractions of the width and height from 0 to 1, e.g. [0.5, 0.25]",
            );
            ok = false;
        }
        zones.push(zone);
    }
    let detector = MotionConfig {
        threshold_fraction: m.threshold_percent / 100.0,
        min_frames: m.min_frames,
        // NaN or out of range was reported above; from_secs_f64 would panic on it.
        cooldown: if cooldown_ok {
            Duration::from_secs_f64(m.cooldown_seconds)
        } else {
            Duration::ZERO
        },
        zones,
        ..MotionConfig::default()
    };
    // The keys above are checked one by one; this catches what they do not cover.
    if ok && let Err(e) = detector.validate() {
        bad(
            "threshold_percent",
            format!("motion: {e}"),
            "check [camera.motion] against docs/ref/config.md",
        );
        ok = false;
    }
    ok.then(|| MotionSettings {
        detector,
        min_interval: Duration::from_secs_f64(1.0 / m.analyse_fps),
    })
}
