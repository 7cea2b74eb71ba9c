//! Each camera's `[camera.source]` → [`SourceConfig`]: the sources' rules (and the features
//! they need) in one place. Problems are reported at the source's own keys.

use super::context::Ctx;
use super::file::{CameraSection, CommandLine, RosTopicSection, SourceSection, V4l2Section};
use super::secrets::{SecretFrom, read_secret};
use super::words::whole;
use crate::ros::settings::{RosTransport, check_topic};
use lookout_core::jpeg::MAX_SIDE;
use lookout_sources::command::{CommandFormat, CommandSource};
use lookout_sources::files::FilesSource;
use lookout_sources::http::{Credentials, HttpSource, split_userinfo};
use lookout_sources::ros::Reliability;
use lookout_sources::rtsp::{RtspSource, RtspTransport};
use lookout_sources::testpattern::TestPattern;
use lookout_sources::v4l2::controls::mode_switches_first;
use lookout_sources::v4l2::{Assignment, PixelFormat, V4l2Config};
use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum SourceConfig {
    TestPattern(TestPattern),
    Files(FilesSource),
    Command(CommandSource),
    Http(Box<HttpSource>),
    Rtsp(Box<RtspSource>),
    V4l2(Box<V4l2Config>),
    Ros(RosSourceSettings),
}

impl SourceConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TestPattern(_) => "testpattern",
            Self::Files(_) => "files",
            Self::Command(_) => "command",
            Self::Http(_) => "http",
            Self::Rtsp(_) => "rtsp",
            Self::V4l2(_) => "v4l2",
            Self::Ros(r) => r.transport.name(),
        }
    }
    /// The source sends H.264 and no JPEG (as configured; an RTSP camera or a V4L2 camera
    /// that offers only H.264 says so when it connects).
    pub fn sends_h264_only(&self) -> bool {
        match self {
            Self::Command(c) => c.format == CommandFormat::H264,
            Self::V4l2(v) => v.format == Some(PixelFormat::H264),
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RosSourceSettings {
    pub transport: RosTransport,
    pub topic: String,
    pub reliability: Reliability,
    /// How long a quiet topic's last picture is repeated before "no signal".
    pub keep_last_frame: Duration,
}

/// Reports problems of one camera's source at its keys, and remembers that there were some.
struct Check<'c, 'a> {
    cx: &'c Ctx<'a>,
    /// `camera[2]`.
    at: &'c str,
    id: &'c str,
    failed: Cell<bool>,
}

impl Check<'_, '_> {
    /// A problem with `key` of the camera (`source.fps`, `controls`).
    fn bad(&self, key: &str, msg: impl std::fmt::Display, fix: &str) {
        self.cx.report(
            &format!("{}.{key}", self.at),
            format!("camera {:?}: {msg}", self.id),
            fix,
        );
        self.failed.set(true);
    }

    fn fps(&self, key: &str, fps: f64, max: f64, fix: &str) {
        if !(fps.is_finite() && fps > 0.0 && fps <= max) {
            self.bad(
                key,
                format!(
                    "{} is {fps}; it must be above 0 and at most {max}",
                    last(key)
                ),
                fix,
            );
        }
    }

    fn frame_limit(&self, n: usize) {
        if !(1024..=64 << 20).contains(&n) {
            self.bad(
                "source.max_frame_bytes",
                format!(
                    "max_frame_bytes is {n}; it must be {}",
                    whole(1024, 64 << 20)
                ),
                "remove it to use the default (16 MiB)",
            );
        }
    }

    /// A source sending no frame this long is restarted: zero would restart it at once.
    fn stall_timeout(&self, ms: u64) {
        if ms == 0 {
            self.bad(
                "source.stall_timeout_ms",
                "stall_timeout_ms must be above 0",
                "remove it to use the default (10000), or give a slow camera more, e.g. 60000",
            );
        }
    }

    /// A side of a picture, 16 to 8192 pixels.
    fn side(&self, key: &str, v: i64, fix: &str) -> u32 {
        match u32::try_from(v) {
            Ok(side) if (16..=MAX_SIDE).contains(&side) => side,
            _ => {
                self.bad(
                    key,
                    format!("{} is {v}; it must be {}", last(key), whole(16, MAX_SIDE)),
                    fix,
                );
                16
            }
        }
    }
}

/// `source.fps` → `fps`.
fn last(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// The camera at `at` (`camera[2]`)'s source; `None` when it has errors (all reported).
pub(super) fn source(cx: &Ctx<'_>, at: &str, cam: &CameraSection) -> Option<SourceConfig> {
    let c = Check {
        cx,
        at,
        id: &cam.id,
        failed: Cell::new(false),
    };
    if !cam.controls.is_empty() && !matches!(cam.source, SourceSection::V4l2(_)) {
        c.bad(
            "controls",
            "[camera.controls] is only for kind = \"v4l2\" cameras",
            "remove the table, or set controls in the program that feeds this camera",
        );
    }
    let source = match &cam.source {
        SourceSection::Testpattern(t) => {
            let fix = "use sides of 16 to 8192 pixels, e.g. 1280x720";
            let width = c.side("source.width", t.width, fix);
            let height = c.side("source.height", t.height, fix);
            c.fps("source.fps", t.fps, 120.0, "e.g. fps = 15");
            SourceConfig::TestPattern(TestPattern {
                width,
                height,
                fps: t.fps,
            })
        }
        SourceSection::Files(f) => {
            if !f.dir.is_dir() {
                c.bad(
                    "source.dir",
                    format!("folder {} does not exist", f.dir.display()),
                    "set dir to a folder of .jpg files (a relative path is from the current directory)",
                );
            }
            c.fps("source.fps", f.fps, 120.0, "e.g. fps = 1");
            SourceConfig::Files(FilesSource {
                dir: f.dir.clone(),
                fps: f.fps,
            })
        }
        SourceSection::Command(cmd) => {
            let argv = match &cmd.command {
                CommandLine::Argv(v) => v.clone(),
                CommandLine::Shell(s) => vec!["sh".into(), "-c".into(), s.clone()],
            };
            let empty_shell = matches!(&cmd.command, CommandLine::Shell(s) if s.trim().is_empty());
            if empty_shell || argv.first().is_none_or(|p| p.trim().is_empty()) {
                c.bad(
                    "source.command",
                    "command is empty",
                    "e.g. command = [\"ffmpeg\", \"-i\", \"/dev/video0\", \"-f\", \"mjpeg\", \"-\"]",
                );
            }
            c.frame_limit(cmd.max_frame_bytes);
            c.stall_timeout(cmd.stall_timeout_ms);
            let format = match cmd.format.as_deref() {
                None => CommandFormat::Mjpeg,
                Some(name) => CommandFormat::parse(name).unwrap_or_else(|| {
                    c.bad(
                        "source.format",
                        format!(
                            "format {name:?} is not one Lookout reads; it reads {}",
                            CommandFormat::NAMES.map(|n| format!("{n:?}")).join(" and ")
                        ),
                        "use format = \"mjpeg\" for JPEGs back to back or format = \"h264\" for H.264 Annex B (ffmpeg -f h264 -)",
                    );
                    CommandFormat::Mjpeg
                }),
            };
            SourceConfig::Command(CommandSource {
                argv,
                format,
                max_frame_bytes: cmd.max_frame_bytes,
                stall_timeout: Duration::from_millis(cmd.stall_timeout_ms),
            })
        }
        SourceSection::Http(h) => SourceConfig::Http(Box::new(http(&c, h)?)),
        SourceSection::Rtsp(r) => SourceConfig::Rtsp(Box::new(rtsp(&c, r)?)),
        SourceSection::V4l2(v) => SourceConfig::V4l2(Box::new(v4l2(&c, v, cam))),
        SourceSection::Ros1(r) => SourceConfig::Ros(ros_source(&c, RosTransport::Ros1, r)),
        SourceSection::Ros2(r) => SourceConfig::Ros(ros_source(&c, RosTransport::Ros2, r)),
    };
    (!c.failed.get()).then_some(source)
}

fn http(c: &Check<'_, '_>, h: &super::file::HttpSection) -> Option<HttpSource> {
    let (url, from_url) = match split_userinfo(&h.url) {
        Ok(parts) => parts,
        Err(e) => {
            c.bad(
                "source.url",
                format!("url: {e}"),
                "e.g. url = \"http://192.168.1.20/video.mjpg\"",
            );
            return None;
        }
    };
    let password = password(c, h.password_file.as_deref(), h.password_env.as_deref());
    let has_password = h.password_file.is_some() || h.password_env.is_some();
    if from_url.is_some() && (h.username.is_some() || has_password) {
        c.bad(
            "source.url",
            "credentials are both in the url and in username/password keys",
            "keep one: remove user:password@ from the url, or the username/password_file/password_env keys",
        );
    }
    let creds = match (&h.username, password, from_url) {
        (Some(u), p, _) => Some(Credentials {
            username: u.clone(),
            password: p.unwrap_or_default(),
        }),
        (None, _, c2) if has_password => {
            c.bad(
                "source.username",
                "a password is set but no username",
                "add username = \"...\"",
            );
            c2
        }
        (None, _, c2) => c2,
    };
    c.fps("source.poll_fps", h.poll_fps, 30.0, "e.g. poll_fps = 2");
    c.stall_timeout(h.stall_timeout_ms);
    c.frame_limit(h.max_frame_bytes);
    let mut src = HttpSource::new(url, creds);
    src.poll_fps = h.poll_fps;
    src.stall_timeout = Duration::from_millis(h.stall_timeout_ms);
    src.max_frame_bytes = h.max_frame_bytes;
    Some(src)
}

/// An RTSP camera: the URL without userinfo, credentials from the username and password keys.
fn rtsp(c: &Check<'_, '_>, r: &super::file::RtspSection) -> Option<RtspSource> {
    let transport = match r.transport.as_str() {
        "tcp" => RtspTransport::Tcp,
        "udp" => RtspTransport::Udp,
        other => {
            c.bad(
                "source.transport",
                format!("transport {other:?} is not known"),
                "write \"tcp\" (the default, through firewalls) or \"udp\"",
            );
            RtspTransport::Tcp
        }
    };
    let password = password(c, r.password_file.as_deref(), r.password_env.as_deref());
    let credentials = match (&r.username, password) {
        (Some(username), password) => Some(lookout_sources::rtsp::Credentials {
            username: username.clone(),
            password: password.unwrap_or_default(),
        }),
        (None, _) if r.password_file.is_some() || r.password_env.is_some() => {
            c.bad(
                "source.username",
                "a password is set but no username",
                "add username = \"...\"",
            );
            None
        }
        (None, _) => None,
    };
    c.stall_timeout(r.stall_timeout_ms);
    match RtspSource::new(&r.url, credentials, transport) {
        Ok(mut source) => {
            source.stall_timeout = Duration::from_millis(r.stall_timeout_ms);
            Some(source)
        }
        Err(e) => {
            c.bad(
                "source.url",
                format!("url: {}", e.message()),
                "e.g. url = \"rtsp://192.168.1.20:554/stream1\" with username = \"viewer\" and password_file = \"/etc/lookout/cam1.pass\"",
            );
            None
        }
    }
}

/// A camera's password from `password_file` or `password_env`, at most one of them.
fn password(c: &Check<'_, '_>, file: Option<&Path>, env: Option<&str>) -> Option<String> {
    match (file, env) {
        (Some(_), Some(_)) => {
            c.bad(
                "source.password_env",
                "both password_file and password_env are set",
                "keep one of them",
            );
            None
        }
        (Some(file), None) => read(c, SecretFrom::File(file), "source.password_file"),
        (None, Some(var)) => read(c, SecretFrom::Env(var), "source.password_env"),
        (None, None) => None,
    }
}

/// A camera's password from `password_file` or `password_env` (the `key` named).
fn read(c: &Check<'_, '_>, from: SecretFrom<'_>, key: &str) -> Option<String> {
    match read_secret(from, "camera password") {
        Ok(p) => Some(p),
        Err(e) => {
            let fix = match from {
                SecretFrom::File(_) => "check the path and that Lookout may read it",
                SecretFrom::Env(_) => "set it in the service's environment, or use password_file",
            };
            c.bad(key, e.message(), fix);
            None
        }
    }
}

fn v4l2(c: &Check<'_, '_>, v: &V4l2Section, cam: &CameraSection) -> V4l2Config {
    if !cfg!(all(feature = "v4l2", target_os = "linux")) {
        c.bad(
            "source.kind",
            "this Lookout was built without V4L2 support (feature `v4l2`, Linux only)",
            "build it with the default features (`cargo build --release`), or use kind = \"command\" with ffmpeg",
        );
    }
    if v.device.as_os_str().is_empty() {
        c.bad(
            "source.device",
            "device is empty",
            "e.g. device = \"/dev/video0\"; `lookout devices` lists the cameras",
        );
    }
    let fix = "e.g. width = 1280 and height = 720; `lookout devices` lists the sizes";
    let size = match (v.width, v.height) {
        (None, None) => None,
        (Some(w), Some(h)) => Some((
            c.side("source.width", w, fix),
            c.side("source.height", h, fix),
        )),
        (w, _) => {
            c.bad(
                if w.is_some() {
                    "source.width"
                } else {
                    "source.height"
                },
                "set both width and height, or neither",
                "e.g. width = 1280 and height = 720 (neither: the largest size offered)",
            );
            None
        }
    };
    if let Some(fps) = v.fps {
        c.fps(
            "source.fps",
            fps,
            240.0,
            "e.g. fps = 30, or remove it for the highest rate offered",
        );
    }
    let format = v.format.as_ref().and_then(|text| {
        let format = parse_fourcc(text);
        match format {
            None => c.bad(
                "source.format",
                format!("format {text:?} is not a FourCC"),
                "use four characters as `lookout devices` shows them, e.g. \"MJPG\" or \"YUYV\"",
            ),
            Some(f) if !f.is_usable() => c.bad(
                "source.format",
                format!("format {f} cannot be captured"),
                "use MJPG, JPEG, YUYV, UYVY, NV12, RGB3, BGR3, GREY or H264, or remove it",
            ),
            Some(_) => {}
        }
        format
    });
    let buffers = match u32::try_from(v.buffers) {
        Ok(n) if (2..=32).contains(&n) => n,
        _ => {
            c.bad(
                "source.buffers",
                format!("buffers is {}; it must be {}", v.buffers, whole(2, 32)),
                "remove it to use the default (4)",
            );
            lookout_sources::v4l2::DEFAULT_BUFFERS
        }
    };
    let controls: Vec<Assignment> = cam
        .controls
        .iter()
        .map(|(name, value)| Assignment {
            name: name.clone(),
            value: value.to_string(),
        })
        .collect();
    V4l2Config {
        device: v.device.clone(),
        size,
        fps: v.fps,
        format,
        buffers,
        // Automatic-mode switches (`auto_exposure`, `focus_automatic_continuous`…) first: a
        // manual value is refused by the driver while its automatic mode is on. The rest in
        // the table's order (sorted by name).
        controls: mode_switches_first(&controls),
    }
}

fn parse_fourcc(text: &str) -> Option<PixelFormat> {
    let bytes: [u8; 4] = text.as_bytes().try_into().ok()?;
    bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ')
        .then(|| PixelFormat::from_fourcc(lookout_sources::v4l2::formats::fourcc(&bytes)))
}

fn ros_source(
    c: &Check<'_, '_>,
    transport: RosTransport,
    r: &RosTopicSection,
) -> RosSourceSettings {
    if !transport.built_in() {
        let name = transport.name();
        c.bad(
            "source.kind",
            format!("this Lookout was built without {name} support"),
            &format!("build it with `cargo build --release --features {name}`"),
        );
    }
    if let Err(e) = check_topic(&r.topic) {
        c.bad(
            "source.topic",
            e.message(),
            "e.g. topic = \"/camera/image_raw\"",
        );
    }
    RosSourceSettings {
        transport,
        topic: r.topic.clone(),
        reliability: if r.reliable {
            Reliability::Reliable
        } else {
            Reliability::BestEffort
        },
        keep_last_frame: Duration::from_millis(r.keep_last_frame_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourcc_text() {
        assert_eq!(parse_fourcc("MJPG"), Some(PixelFormat::Mjpeg));
        assert_eq!(parse_fourcc("YUYV"), Some(PixelFormat::Yuyv));
        assert_eq!(parse_fourcc("MJPEG"), None);
    }
}
