//! Each camera's `[camera.source]` → [`SourceConfig`], and the ROS sections (`[ros1]`,
//! `[ros2]`, `[ros_topics]`) → [`RosConfig`]. Split from `resolve` to keep the sources'
//! rules (and the features they need) in one place.

use super::ConfigError;
use super::file::{
    AuthMode, CameraSection, CommandLine, ConfigFile, RosTopicSection, SourceSection, V4l2Section,
};
use super::resolve::Ctx;
use lookout_core::jpeg::MAX_SIDE;
use lookout_core::redact::mask_url_secrets;
use lookout_sources::command::CommandSource;
use lookout_sources::files::FilesSource;
use lookout_sources::http::{Credentials, HttpSource, split_userinfo};
use lookout_sources::ros::Reliability;
use lookout_sources::testpattern::TestPattern;
use lookout_sources::v4l2::controls::mode_switches_first;
use lookout_sources::v4l2::{Assignment, PixelFormat};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum SourceConfig {
    TestPattern(TestPattern),
    Files(FilesSource),
    Command(CommandSource),
    Http(Box<HttpSource>),
    V4l2(Box<V4l2Settings>),
    Ros(RosSourceSettings),
}

impl SourceConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TestPattern(_) => "testpattern",
            Self::Files(_) => "files",
            Self::Command(_) => "command",
            Self::Http(_) => "http",
            Self::V4l2(_) => "v4l2",
            Self::Ros(r) => r.transport.name(),
        }
    }
}

/// A V4L2 camera as configured; opened (and its controls set) by the source at every start.
#[derive(Debug, Clone)]
pub struct V4l2Settings {
    pub device: PathBuf,
    pub size: Option<(u32, u32)>,
    pub fps: Option<f64>,
    pub format: Option<PixelFormat>,
    pub buffers: u32,
    /// `[camera.controls]`, mode switches (`auto_exposure`, `focus_automatic_continuous`…)
    /// first: a manual value is refused by the driver while its automatic mode is on.
    pub controls: Vec<Assignment>,
}

#[derive(Debug, Clone)]
pub struct RosSourceSettings {
    pub transport: RosTransport,
    pub topic: String,
    pub reliability: Reliability,
    /// How long a quiet topic's last picture is repeated before "no signal".
    pub keep_last_frame: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RosTransport {
    Ros1,
    Ros2,
}

impl RosTransport {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ros1 => "ros1",
            Self::Ros2 => "ros2",
        }
    }

    /// Whether this build has the transport (cargo features `ros1`, `ros2`).
    pub fn built_in(self) -> bool {
        match self {
            Self::Ros1 => cfg!(feature = "ros1"),
            Self::Ros2 => cfg!(feature = "ros2"),
        }
    }
}

/// The ROS transports to start and web_video_server's on-demand topics.
#[derive(Debug, Clone, Default)]
pub struct RosConfig {
    pub ros1: Option<Ros1Settings>,
    pub ros2: Option<Ros2Settings>,
    pub topics: Option<TopicsSettings>,
}

#[derive(Debug, Clone)]
pub struct Ros1Settings {
    pub master_uri: String,
    pub hostname: Option<String>,
    pub node_name: String,
}

#[derive(Debug, Clone)]
pub struct Ros2Settings {
    pub domain_id: u16,
}

#[derive(Debug, Clone)]
pub struct TopicsSettings {
    pub transport: RosTransport,
    /// Names or `*` patterns; empty: every image topic.
    pub allow: Vec<String>,
    pub max_open: usize,
    /// Origins (`https://host[:port]`, or `*`) whose pages may read streams and snapshots of
    /// topics and frame the viewer; empty: none but our own.
    pub allow_origins: Vec<String>,
    /// How long a quiet topic's last picture is repeated before "no signal".
    pub keep_last_frame: Duration,
}

impl TopicsSettings {
    pub fn allows(&self, topic: &str) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|p| glob_match(p, topic))
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if allowed.
    pub fn allowed_origin<'a>(&self, origin: Option<&'a str>) -> Option<&'a str> {
        if self.allow_origins.iter().any(|o| o == "*") {
            return Some("*");
        }
        let origin = origin?;
        self.allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
            .then_some(origin)
    }
}

/// `*`, or `scheme://host[:port]` as browsers send it in `Origin`: no path, no trailing `/`.
fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let ok = origin.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@', ' '])
            && rest.parse::<http::uri::Authority>().is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "ros_topics.allow_origins entry {origin:?} is not an origin"
        ))
    }
}

/// `*` matches any run of characters (slashes included); everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

pub(super) fn source(
    cx: &Ctx<'_>,
    at: Option<usize>,
    cam: &CameraSection,
) -> Result<SourceConfig, ConfigError> {
    let id = &cam.id;
    let bad = |msg: String, fix: &str| cx.err(at, format!("camera {id:?}: {msg}"), fix);
    if !cam.controls.is_empty() && !matches!(cam.source, SourceSection::V4l2(_)) {
        return Err(bad(
            "[camera.controls] is only for kind = \"v4l2\" cameras".into(),
            "remove the table, or set controls in the program that feeds this camera",
        ));
    }
    let fps_ok = |fps: f64, max: f64| fps.is_finite() && fps > 0.0 && fps <= max;
    Ok(match &cam.source {
        SourceSection::Testpattern(t) => {
            if !(16..=MAX_SIDE).contains(&t.width) || !(16..=MAX_SIDE).contains(&t.height) {
                return Err(bad(
                    format!("test pattern size {}x{} is out of range", t.width, t.height),
                    "use sides of 16 to 8192 pixels, e.g. 1280x720",
                ));
            }
            if !fps_ok(t.fps, 120.0) {
                return Err(bad(
                    format!("fps is {}; it must be above 0 and at most 120", t.fps),
                    "e.g. fps = 15",
                ));
            }
            SourceConfig::TestPattern(TestPattern {
                width: t.width,
                height: t.height,
                fps: t.fps,
            })
        }
        SourceSection::Files(f) => {
            if !f.dir.is_dir() {
                return Err(bad(
                    format!("folder {} does not exist", f.dir.display()),
                    "set dir to a folder of .jpg files (a relative path is from the current directory)",
                ));
            }
            if !fps_ok(f.fps, 120.0) {
                return Err(bad(
                    format!("fps is {}; it must be above 0 and at most 120", f.fps),
                    "e.g. fps = 1",
                ));
            }
            SourceConfig::Files(FilesSource {
                dir: f.dir.clone(),
                fps: f.fps,
            })
        }
        SourceSection::Command(c) => {
            let argv = match &c.command {
                CommandLine::Argv(v) => v.clone(),
                CommandLine::Shell(s) => vec!["sh".into(), "-c".into(), s.clone()],
            };
            let empty_shell = matches!(&c.command, CommandLine::Shell(s) if s.trim().is_empty());
            if empty_shell || argv.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(bad(
                    "command is empty".into(),
                    "e.g. command = [\"ffmpeg\", \"-i\", \"/dev/video0\", \"-f\", \"mjpeg\", \"-\"]",
                ));
            }
            check_frame_limit(&bad, c.max_frame_bytes)?;
            check_stall_timeout(&bad, c.stall_timeout_ms)?;
            SourceConfig::Command(CommandSource {
                argv,
                max_frame_bytes: c.max_frame_bytes,
                stall_timeout: Duration::from_millis(c.stall_timeout_ms),
            })
        }
        SourceSection::Http(h) => {
            let (url, from_url) = split_userinfo(&h.url).map_err(|e| {
                bad(
                    format!("url: {e}"),
                    "e.g. url = \"http://192.168.1.20/video.mjpg\"",
                )
            })?;
            let password = match (&h.password_file, &h.password_env) {
                (Some(_), Some(_)) => {
                    return Err(bad(
                        "both password_file and password_env are set".into(),
                        "keep one of them",
                    ));
                }
                (Some(file), None) => Some(
                    std::fs::read_to_string(file)
                        .map_err(|e| {
                            bad(
                                format!("cannot read password_file {}: {e}", file.display()),
                                "check the path and that Lookout may read it",
                            )
                        })?
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                (None, Some(var)) => Some(std::env::var(var).map_err(|_| {
                    bad(
                        format!("environment variable {var} is not set"),
                        "set it in the service's environment, or use password_file",
                    )
                })?),
                (None, None) => None,
            };
            if from_url.is_some() && (h.username.is_some() || password.is_some()) {
                return Err(bad(
                    "credentials are both in the url and in username/password keys".into(),
                    "keep one: remove user:password@ from the url, or the username/password_file/password_env keys",
                ));
            }
            let creds = match (&h.username, password, from_url) {
                (Some(u), p, _) => Some(Credentials {
                    username: u.clone(),
                    password: p.unwrap_or_default(),
                }),
                (None, Some(_), _) => {
                    return Err(bad(
                        "a password is set but no username".into(),
                        "add username = \"...\"",
                    ));
                }
                (None, None, c) => c,
            };
            if !fps_ok(h.poll_fps, 30.0) {
                return Err(bad(
                    format!(
                        "poll_fps is {}; it must be above 0 and at most 30",
                        h.poll_fps
                    ),
                    "e.g. poll_fps = 2",
                ));
            }
            check_stall_timeout(&bad, h.stall_timeout_ms)?;
            check_frame_limit(&bad, h.max_frame_bytes)?;
            let mut src = HttpSource::new(url, creds);
            src.poll_fps = h.poll_fps;
            src.stall_timeout = Duration::from_millis(h.stall_timeout_ms);
            src.max_frame_bytes = h.max_frame_bytes;
            SourceConfig::Http(Box::new(src))
        }
        SourceSection::V4l2(v) => SourceConfig::V4l2(Box::new(v4l2(&bad, v, cam)?)),
        SourceSection::Ros1(r) => SourceConfig::Ros(ros_source(&bad, RosTransport::Ros1, r)?),
        SourceSection::Ros2(r) => SourceConfig::Ros(ros_source(&bad, RosTransport::Ros2, r)?),
    })
}

fn v4l2(
    bad: &impl Fn(String, &str) -> ConfigError,
    v: &V4l2Section,
    cam: &CameraSection,
) -> Result<V4l2Settings, ConfigError> {
    if !cfg!(all(feature = "v4l2", target_os = "linux")) {
        return Err(bad(
            "this Lookout was built without V4L2 support (feature `v4l2`, Linux only)".into(),
            "build it with the default features (`cargo build --release`), or use kind = \"command\" with ffmpeg",
        ));
    }
    if v.device.as_os_str().is_empty() {
        return Err(bad(
            "device is empty".into(),
            "e.g. device = \"/dev/video0\"; `lookout devices` lists the cameras",
        ));
    }
    let size = match (v.width, v.height) {
        (None, None) => None,
        (Some(w), Some(h)) if (16..=MAX_SIDE).contains(&w) && (16..=MAX_SIDE).contains(&h) => {
            Some((w, h))
        }
        (Some(_), Some(_)) => {
            return Err(bad(
                "width and height must be 16 to 8192".into(),
                "e.g. width = 1280 and height = 720; `lookout devices` lists the sizes",
            ));
        }
        _ => {
            return Err(bad(
                "set both width and height, or neither".into(),
                "e.g. width = 1280 and height = 720 (neither: the largest size offered)",
            ));
        }
    };
    if let Some(fps) = v.fps
        && !(fps.is_finite() && fps > 0.0 && fps <= 240.0)
    {
        return Err(bad(
            format!("fps is {fps}; it must be above 0 and at most 240"),
            "e.g. fps = 30, or remove it for the highest rate offered",
        ));
    }
    let format = match &v.format {
        None => None,
        Some(text) => Some(parse_fourcc(text).ok_or_else(|| {
            bad(
                format!("format {text:?} is not a FourCC"),
                "use four characters as `lookout devices` shows them, e.g. \"MJPG\" or \"YUYV\"",
            )
        })?),
    };
    if let Some(f) = format.filter(|f| !f.is_usable()) {
        return Err(bad(
            format!("format {f} cannot be captured"),
            "use MJPG, JPEG, YUYV, UYVY, NV12, RGB3, BGR3 or GREY, or remove it",
        ));
    }
    if !(2..=32).contains(&v.buffers) {
        return Err(bad(
            format!("buffers is {}; it must be 2..=32", v.buffers),
            "remove it to use the default (4)",
        ));
    }
    let controls: Vec<Assignment> = cam
        .controls
        .iter()
        .map(|(name, value)| Assignment {
            name: name.clone(),
            value: value.to_string(),
        })
        .collect();
    // The automatic-mode switches first, the rest sorted by name (the table's order).
    let controls = mode_switches_first(&controls);
    Ok(V4l2Settings {
        device: v.device.clone(),
        size,
        fps: v.fps,
        format,
        buffers: v.buffers,
        controls,
    })
}

fn parse_fourcc(text: &str) -> Option<PixelFormat> {
    let bytes: [u8; 4] = text.as_bytes().try_into().ok()?;
    bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ')
        .then(|| PixelFormat::from_fourcc(lookout_sources::v4l2::formats::fourcc(&bytes)))
}

fn ros_source(
    bad: &impl Fn(String, &str) -> ConfigError,
    transport: RosTransport,
    r: &RosTopicSection,
) -> Result<RosSourceSettings, ConfigError> {
    if !transport.built_in() {
        let name = transport.name();
        return Err(bad(
            format!("this Lookout was built without {name} support"),
            &format!("build it with `cargo build --release --features {name}`"),
        ));
    }
    check_topic(&r.topic).map_err(|e| bad(e, "e.g. topic = \"/camera/image_raw\""))?;
    Ok(RosSourceSettings {
        transport,
        topic: r.topic.clone(),
        reliability: if r.reliable {
            Reliability::Reliable
        } else {
            Reliability::BestEffort
        },
        keep_last_frame: Duration::from_millis(r.keep_last_frame_ms),
    })
}

/// A ROS graph name as users write it: absolute, no spaces or odd characters.
pub fn check_topic(topic: &str) -> Result<(), String> {
    // ROS names: absolute, parts of letters, digits and '_' that do not start with a digit.
    let ok = topic.len() > 1
        && topic.len() <= 256
        && topic.strip_prefix('/').is_some_and(|rest| {
            rest.split('/').all(|part| {
                part.bytes().next().is_some_and(|b| !b.is_ascii_digit())
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "topic {topic:?} is not a valid ROS topic name (absolute; parts of letters, digits and '_', not starting with a digit)"
        ))
    }
}

/// `[ros1]`, `[ros2]` and `[ros_topics]`.
pub(super) fn ros(cx: &Ctx<'_>, file: &ConfigFile) -> Result<RosConfig, ConfigError> {
    let uses = |t: RosTransport| {
        file.cameras.iter().any(|c| {
            matches!(
                (&c.get_ref().source, t),
                (SourceSection::Ros1(_), RosTransport::Ros1)
                    | (SourceSection::Ros2(_), RosTransport::Ros2)
            )
        })
    };
    let section_err = |t: RosTransport, header: &str| {
        let name = t.name();
        cx.err(
            cx.key_in(header, 0, "").or(cx.key_offset(name)),
            format!("[{name}] is set but this Lookout was built without {name} support"),
            format!("build it with `cargo build --release --features {name}`, or remove [{name}]"),
        )
    };
    let ros1 = match (&file.ros1, uses(RosTransport::Ros1)) {
        (None, false) => None,
        (section, _) => {
            if section.is_some() && !RosTransport::Ros1.built_in() {
                return Err(section_err(RosTransport::Ros1, "[ros1]"));
            }
            let s = section.clone().unwrap_or_default();
            let master_uri = s
                .master_uri
                .or_else(|| {
                    std::env::var("ROS_MASTER_URI")
                        .ok()
                        .filter(|v| !v.is_empty())
                })
                .unwrap_or_else(|| "http://localhost:11311".to_owned());
            if !master_uri.starts_with("http://") {
                return Err(cx.err(
                    cx.key_offset("master_uri"),
                    format!(
                        "ros1.master_uri {:?} is not an http:// URL",
                        mask_url_secrets(&master_uri)
                    ),
                    "e.g. master_uri = \"http://127.0.0.1:11311\"",
                ));
            }
            Some(Ros1Settings {
                master_uri,
                // Unset: the node applies ROS_HOSTNAME, then ROS_IP, as roscpp does.
                hostname: s.hostname,
                node_name: s.node_name.unwrap_or_else(|| "/lookout".to_owned()),
            })
        }
    };
    let ros2 = match (&file.ros2, uses(RosTransport::Ros2)) {
        (None, false) => None,
        (section, _) => {
            if section.is_some() && !RosTransport::Ros2.built_in() {
                return Err(section_err(RosTransport::Ros2, "[ros2]"));
            }
            let from_env = std::env::var("ROS_DOMAIN_ID")
                .ok()
                .filter(|v| !v.is_empty());
            let domain_id = match (section.as_ref().and_then(|s| s.domain_id), from_env) {
                (Some(d), _) => d,
                (None, Some(v)) => v.trim().parse().map_err(|_| {
                    cx.err(
                        None,
                        format!("ROS_DOMAIN_ID={v:?} is not a number"),
                        "set it to 0..=232, or set [ros2] domain_id",
                    )
                })?,
                (None, None) => 0,
            };
            if domain_id > 232 {
                return Err(cx.err(
                    cx.key_offset("domain_id"),
                    format!("ros2 domain id {domain_id} is above 232"),
                    "DDS domains are 0..=232; ROS uses 0..=101 by default",
                ));
            }
            Some(Ros2Settings { domain_id })
        }
    };
    let t = &file.ros_topics;
    let topics = if !t.enabled {
        None
    } else {
        let bad =
            |key: &str, msg: String, fix: &str| cx.err(cx.key_in("[ros_topics]", 0, key), msg, fix);
        let transport = match (t.transport.as_deref(), ros1.is_some(), ros2.is_some()) {
            (Some("ros1"), true, _) => Some(RosTransport::Ros1),
            (Some("ros2"), _, true) => Some(RosTransport::Ros2),
            (Some(other @ ("ros1" | "ros2")), _, _) => {
                return Err(bad(
                    "transport",
                    format!("ros_topics.transport is {other:?} but [{other}] is not configured"),
                    &format!("add a [{other}] table"),
                ));
            }
            (Some(other), _, _) => {
                return Err(bad(
                    "transport",
                    format!("ros_topics.transport {other:?} is not known"),
                    "write \"ros1\" or \"ros2\"",
                ));
            }
            (None, true, true) => {
                return Err(bad(
                    "transport",
                    "both [ros1] and [ros2] are configured: which one serves /stream?topic=?"
                        .into(),
                    "set [ros_topics] transport = \"ros1\" or \"ros2\"",
                ));
            }
            (None, true, false) => Some(RosTransport::Ros1),
            (None, false, true) => Some(RosTransport::Ros2),
            (None, false, false) => None,
        };
        if let Some(p) = t.allow.iter().find(|p| !p.starts_with('/')) {
            return Err(bad(
                "allow",
                format!("ros_topics.allow pattern {p:?} does not start with '/'"),
                "write absolute names or patterns, e.g. \"/camera/*\"",
            ));
        }
        if !(1..=256).contains(&t.max_open) {
            return Err(bad(
                "max_open",
                format!("ros_topics.max_open is {}; it must be 1..=256", t.max_open),
                "remove it to use the default (16)",
            ));
        }
        let allow_origins = match &t.allow_origins {
            Some(list) => {
                for o in list {
                    check_origin(o).map_err(|e| {
                        bad(
                            "allow_origins",
                            e,
                            "write origins as browsers send them, e.g. \"https://dash.example.org\" or \"http://10.0.0.5:8080\", or \"*\" for any",
                        )
                    })?;
                }
                list.clone()
            }
            // As web_video_server without logins; with logins, only when asked for.
            None if file.auth.mode == AuthMode::None => vec!["*".to_owned()],
            None => Vec::new(),
        };
        transport.map(|transport| TopicsSettings {
            transport,
            allow: t.allow.clone(),
            max_open: t.max_open,
            allow_origins,
            keep_last_frame: Duration::from_millis(t.keep_last_frame_ms),
        })
    };
    Ok(RosConfig { ros1, ros2, topics })
}

fn check_frame_limit(
    bad: &impl Fn(String, &str) -> ConfigError,
    n: usize,
) -> Result<(), ConfigError> {
    if (1024..=64 << 20).contains(&n) {
        Ok(())
    } else {
        Err(bad(
            format!("max_frame_bytes is {n}; it must be 1024..=67108864"),
            "remove it to use the default (16 MiB)",
        ))
    }
}

/// A source sending no frame this long is restarted: zero would restart it at once.
fn check_stall_timeout(
    bad: &impl Fn(String, &str) -> ConfigError,
    ms: u64,
) -> Result<(), ConfigError> {
    if ms == 0 {
        return Err(bad(
            "stall_timeout_ms must be above 0".into(),
            "remove it to use the default (10000), or give a slow camera more, e.g. 60000",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns() {
        assert!(glob_match("/camera/*", "/camera/image_raw"));
        assert!(glob_match("/camera/*", "/camera/left/image_raw"));
        assert!(glob_match("*/compressed", "/a/b/compressed"));
        assert!(glob_match("/a", "/a"));
        assert!(!glob_match("/a", "/ab"));
        assert!(!glob_match("/camera/*", "/other/image"));
        assert!(glob_match("/c*m*", "/cam"));
        assert!(!glob_match("/ab*ba", "/aba"));
    }

    #[test]
    fn topic_names() {
        assert!(check_topic("/camera/image_raw").is_ok());
        assert!(check_topic("/cam_2/image").is_ok());
        for bad in [
            "camera", "/", "/a//b", "/a b", "/a/", "", "/~cam", "/1cam", "/a/2b",
        ] {
            assert!(check_topic(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fourcc_text() {
        assert_eq!(parse_fourcc("MJPG"), Some(PixelFormat::Mjpeg));
        assert_eq!(parse_fourcc("YUYV"), Some(PixelFormat::Yuyv));
        assert_eq!(parse_fourcc("MJPEG"), None);
    }
}
