use super::*;
use crate::ros::settings::RosTransport;
use std::time::Duration;

/// Every error of `text`, in the order they are reported.
fn errs(text: &str) -> Vec<ConfigError> {
    parse(text, "test.toml")
        .expect_err("config should be refused")
        .errors()
        .to_vec()
}

/// The first error of `text`.
fn err(text: &str) -> ConfigError {
    errs(text).remove(0)
}

#[test]
fn example_and_demo_are_valid() {
    let c = parse(EXAMPLE, "example.toml").unwrap();
    assert_eq!(c.cameras.len(), 1);
    assert_eq!(c.cameras[0].id, "demo");
    let d = demo();
    assert_eq!(
        (
            d.cameras[0].id.as_str(),
            d.server.listen[0].to_string().as_str()
        ),
        ("demo", "http://127.0.0.1:8080")
    );
}

#[test]
fn unknown_key_names_file_line_and_fix() {
    let e = err("[server]\nlisten = [\"127.0.0.1:1\"]\nmax_conections = 5\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.msg.contains("unknown field `max_conections`"), "{e}");
    assert!(e.to_string().starts_with("test.toml:3: "), "{e}");
    assert!(
        e.fix
            .as_deref()
            .unwrap_or("")
            .contains("docs/ref/config.md")
    );
}

#[test]
fn unknown_key_inside_a_source_is_refused() {
    let e = err("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\nwidht = 5\n");
    assert!(e.msg.contains("unknown field `widht`"), "{e}");
    assert!(e.line.is_some());
}

#[test]
fn bad_values_name_the_camera_and_line() {
    let e = err(
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n\n[[camera]]\nid = \"b\"\nquality = 0\n[camera.source]\nkind = \"testpattern\"\n",
    );
    assert!(e.msg.starts_with("camera \"b\": quality"), "{e}");
    assert!(e.line.is_some_and(|l| l >= 6), "{e}");
    let e = err("[[camera]]\nid = \"a b\"\n[camera.source]\nkind = \"testpattern\"\n");
    assert!(e.msg.contains("not valid"), "{e}");
    let e = err("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\nfps = 0\n");
    assert!(e.msg.contains("fps is 0"), "{e}");
    let e = err("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"webcam\"\n");
    assert!(
        e.msg.starts_with(
            "camera \"a\": source.kind is \"webcam\"; it must be one of \"testpattern\", \"files\""
        ),
        "{e}"
    );
    assert_eq!(e.line, Some(4), "{e}");
}

#[test]
fn duplicate_ids_and_empty_configs_are_refused() {
    let cam = "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n";
    let e = err(&format!("{cam}{cam}"));
    assert!(e.msg.contains("used twice"), "{e}");
    let e = err("");
    assert!(e.msg.contains("no cameras"), "{e}");
}

#[test]
fn server_values_are_checked() {
    let cam = "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n";
    let e = err(&format!("[server]\nlisten = [\"localhost\"]\n{cam}"));
    assert_eq!(e.line, Some(2));
    assert!(e.msg.contains("not an address"));
    let e = err(&format!("[server]\n\nmax_header_bytes = 100\n{cam}"));
    assert_eq!(e.line, Some(3));
    let e = err(&format!(
        "[server]\nmax_connections = 5\nmax_connections_per_address = 0\n{cam}"
    ));
    assert_eq!(e.line, Some(3));
    assert!(
        e.msg
            .contains("max_connections_per_address must be above 0")
    );
    let c = parse(&format!("[server]\nhsts_max_age_s = 600\n{cam}"), "t.toml").unwrap();
    assert_eq!(
        (
            c.server.hsts_max_age_s,
            c.server.max_connections_per_address
        ),
        (Some(600), 100)
    );
    assert_eq!(
        c.server.worker_threads, None,
        "unset: the runtime's default"
    );
    let c = parse(&format!("[server]\nworker_threads = 1\n{cam}"), "t.toml").unwrap();
    assert_eq!(c.server.worker_threads, Some(1));
}

#[test]
fn http_source_takes_credentials_from_url_or_env() {
    let e = err(
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"http\"\nurl = \"http://cam/\"\nusername = \"u\"\npassword_env = \"LOOKOUT_TEST_SURELY_UNSET\"\n",
    );
    assert!(e.msg.contains("LOOKOUT_TEST_SURELY_UNSET"), "{e}");
    let c = parse("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"http\"\nurl = \"http://u:secret@cam/v.mjpg\"\n", "t").unwrap();
    assert!(!format!("{:?}", c.cameras[0].source).contains("secret"));
}

#[test]
fn command_string_runs_through_sh() {
    let c = parse("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"command\"\ncommand = \"ffmpeg -i x -f mjpeg -\"\n", "t").unwrap();
    let SourceConfig::Command(cmd) = &c.cameras[0].source else {
        panic!("not a command")
    };
    assert_eq!(cmd.argv, ["sh", "-c", "ffmpeg -i x -f mjpeg -"]);
}

#[test]
fn command_format_is_mjpeg_or_h264_and_anything_else_is_named() {
    let cam = |format: &str| {
        format!(
            "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"command\"\ncommand = \"x\"\n{format}"
        )
    };
    let c = parse(&cam("format = \"h264\"\n"), "t").unwrap();
    let SourceConfig::Command(cmd) = &c.cameras[0].source else {
        panic!("not a command")
    };
    assert_eq!(cmd.format, lookout_sources::command::CommandFormat::H264);
    let c = parse(&cam(""), "t").unwrap();
    let SourceConfig::Command(cmd) = &c.cameras[0].source else {
        panic!("not a command")
    };
    assert_eq!(cmd.format, lookout_sources::command::CommandFormat::Mjpeg);
    // Motion on an H.264 camera needs a decoder: refused when there is none.
    let motion = format!("{}[camera.motion]\n", cam("format = \"h264\"\n"));
    let e = err(&format!("[server]\nh264_decoder = \"off\"\n{motion}"));
    assert_eq!(e.line, Some(9), "{e}");
    assert!(e.msg.contains("motion detection needs JPEG"), "{e}");
    assert!(
        e.fix
            .as_deref()
            .unwrap_or("")
            .contains("--features openh264"),
        "{e}"
    );
    let with_ffmpeg = format!("[server]\nh264_decoder = \"auto\"\nffmpeg = \"/bin/sh\"\n{motion}");
    assert!(parse(&with_ffmpeg, "t").is_ok());
    let e = err(
        "[server]\nh264_decoder = \"ffmpeg\"\nffmpeg = \"/nonexistent/ffmpeg\"\n[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n",
    );
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.msg.contains("/nonexistent/ffmpeg"), "{e}");
    let e = err(&cam("format = \"hevc\"\n"));
    assert_eq!(e.line, Some(6), "{e}");
    assert!(
        e.msg.contains("\"hevc\"") && e.msg.contains("\"h264\""),
        "{e}"
    );
    assert!(e.fix.as_deref().unwrap_or("").contains("-f h264"), "{e}");
}

#[test]
fn camera_h264_mode_bitrate_and_keyframe_interval() {
    let cam = |h264: &str| {
        format!(
            "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n[camera.h264]\n{h264}"
        )
    };
    let c = parse(&cam(""), "t").unwrap();
    let enc = c.cameras[0].h264_encode.expect("auto by default");
    assert_eq!(enc.bitrate_bps, None);
    assert_eq!(enc.keyframe_interval, Duration::from_secs(2));
    let c = parse(
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n",
        "t",
    )
    .unwrap();
    assert!(c.cameras[0].h264_encode.is_some(), "no table: auto");
    let c = parse(
        &cam("mode = \"auto\"\nbitrate_kbps = 1500\nkeyframe_interval_ms = 1000\n"),
        "t",
    )
    .unwrap();
    let enc = c.cameras[0].h264_encode.unwrap();
    assert_eq!(enc.bitrate_bps, Some(1_500_000));
    assert_eq!(enc.keyframe_interval, Duration::from_secs(1));
    let c = parse(&cam("mode = \"off\"\n"), "t").unwrap();
    assert!(c.cameras[0].h264_encode.is_none());

    let e = err(&cam("mode = \"always\"\n"));
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.msg.contains("\"always\""), "{e}");
    assert!(e.fix.as_deref().unwrap_or("").contains("\"off\""), "{e}");
    let e = err(&cam("mode = \"auto\"\nbitrate_kbps = 5\n"));
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.msg.contains("bitrate_kbps is 5"), "{e}");
    let e = err(&cam("keyframe_interval_ms = 0\n"));
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.msg.contains("keyframe_interval_ms"), "{e}");
    let e = err(&cam("bitrate = 5\n"));
    assert!(e.msg.contains("bitrate"), "unknown key refused: {e}");
}

#[test]
fn resolved_config_prints_and_parses_back() {
    let c = parse(EXAMPLE, "example.toml").unwrap();
    let printed = toml::to_string_pretty(&c.file).unwrap();
    assert!(printed.contains("request_timeout_ms = 30000"), "{printed}");
    let again = parse(&printed, "printed").unwrap();
    assert_eq!(again.cameras[0].name, "Test pattern");
}

#[test]
fn printed_config_hides_url_passwords() {
    let cam =
        |id: &str, source: &str| format!("[[camera]]\nid = \"{id}\"\n[camera.source]\n{source}\n");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hook-secret");
    std::fs::write(&secret, "0123456789abcdef0123\n").unwrap();
    let text = [
        "[public_address]\nurl = \"https://ip:pw1@addr.example/\"\n".to_owned(),
        format!(
            "[[alert]]\nname = \"hook\"\n[alert.webhook]\nurl = \"https://bot:pw2@hooks.example/x\"\nsecret_file = \"{}\"\n",
            secret.display()
        ),
        cam("a", "kind = \"http\"\nurl = \"http://u:pw3@cam/v.mjpg\""),
        cam(
            "b",
            "kind = \"command\"\ncommand = [\"ffmpeg\", \"-i\", \"rtsp://u:pw4@cam:554/live\", \"-f\", \"mjpeg\", \"-\"]",
        ),
        cam(
            "c",
            "kind = \"command\"\ncommand = \"exec ffmpeg -i 'rtsp://u:pw5@cam/x' -f mjpeg -\"",
        ),
    ]
    .concat();
    let c = parse(&text, "t").unwrap();
    let printed = c.file.to_redacted_toml().unwrap();
    for secret in ["pw1", "pw2", "pw3", "pw4", "pw5"] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    for masked in [
        "https://ip:***@addr.example/",
        "https://bot:***@hooks.example/x",
        "http://u:***@cam/v.mjpg",
        "rtsp://u:***@cam:554/live",
        "'rtsp://u:***@cam/x'",
    ] {
        assert!(printed.contains(masked), "{masked} not in {printed}");
    }
    // What is printed is still a config.
    parse(&printed, "printed").unwrap();
}

#[test]
fn conflicting_or_empty_values_are_refused() {
    let e = err(
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"http\"\nurl = \"http://u:p@cam/\"\nusername = \"v\"\n",
    );
    assert!(e.msg.contains("both in the url"), "{e}");
    let e = err("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"command\"\ncommand = \"  \"\n");
    assert!(e.msg.contains("command is empty"), "{e}");
    let e = err(
        "[server]\nsnapshot_timeout_ms = 40000\n[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n",
    );
    assert_eq!(e.line, Some(2), "{e}");
    let e = err("[[camera]]\nid = \"a\"\nquality = 300\n[camera.source]\nkind = \"testpattern\"\n");
    assert_eq!(
        e.msg,
        "camera \"a\": quality is 300; it must be a whole number from 1 to 100"
    );
    assert_eq!(e.line, Some(3), "{e}");
}

#[test]
fn alert_errors_point_into_their_own_table() {
    let secret = std::env::temp_dir().join(format!("lookout-test-secret-{}", std::process::id()));
    std::fs::write(&secret, "0123456789abcdef0123456789").unwrap();
    let text = format!(
        "[[camera]]\nid = \"a\"\nname = \"A\"\n[camera.source]\nkind = \"testpattern\"\n\
         [[alert]]\nname = \"one\"\n[alert.webhook]\nurl = \"http://127.0.0.1:9/\"\nsecret_file = {secret:?}\n\
         [[alert]]\nname = \"two\"\n[alert.webhook]\nurl = \"ftp://nope\"\nsecret_file = {secret:?}\n"
    );
    let e = err(&text);
    assert!(
        e.msg.contains("\"two\"") && e.msg.contains("not an http(s) URL"),
        "{e}"
    );
    assert_eq!(e.line, Some(14), "the second rule's url line: {e}");
    let cut = text.rfind("[alert.webhook]").unwrap();
    let e = err(&text[..cut]);
    assert!(e.msg.contains("exactly one of"), "{e}");
    assert_eq!(
        e.line,
        Some(12),
        "the second rule's name line, not the camera's: {e}"
    );
    let _ = std::fs::remove_file(&secret);
}

#[cfg(feature = "v4l2")]
const V4L2_CAM: &str =
    "[[camera]]\nid = \"desk\"\n[camera.source]\nkind = \"v4l2\"\ndevice = \"/dev/video0\"\n";

#[cfg(feature = "v4l2")]
#[test]
fn v4l2_cameras_and_their_controls() {
    use crate::config::sources::SourceConfig;
    let c = parse(
        &format!(
            "{V4L2_CAM}width = 640\nheight = 480\nfps = 15\nformat = \"YUYV\"\n[camera.controls]\nexposure_time_absolute = 250\nauto_exposure = \"manual\"\nbrightness = 140\nfocus_automatic_continuous = false\n"
        ),
        "t.toml",
    )
    .unwrap();
    let SourceConfig::V4l2(v) = &c.cameras[0].source else {
        panic!("not a v4l2 source")
    };
    assert_eq!(v.size, Some((640, 480)));
    assert_eq!(v.fps, Some(15.0));
    assert_eq!(v.format, Some(lookout_sources::v4l2::PixelFormat::Yuyv));
    let order: Vec<(&str, &str)> = v
        .controls
        .iter()
        .map(|a| (a.name.as_str(), a.value.as_str()))
        .collect();
    // Automatic-mode switches first, so the manual values after them are accepted.
    assert_eq!(
        order,
        [
            ("auto_exposure", "manual"),
            ("focus_automatic_continuous", "false"),
            ("brightness", "140"),
            ("exposure_time_absolute", "250"),
        ]
    );
    // A UVC camera's own H.264 is passed through, and the camera sends H.264 only.
    let c = parse(&format!("{V4L2_CAM}format = \"H264\"\n"), "t.toml").unwrap();
    assert!(c.cameras[0].source.sends_h264_only());
    for (extra, needle) in [
        ("width = 640\n", "set both width and height"),
        ("width = 8\nheight = 8\n", "16 to 8192"),
        ("fps = 0\n", "fps is 0"),
        ("format = \"MJPEG\"\n", "not a FourCC"),
        ("format = \"HEVC\"\n", "cannot be captured"),
        ("buffers = 1\n", "buffers is 1"),
    ] {
        let e = err(&format!("{V4L2_CAM}{extra}"));
        assert!(e.msg.contains(needle), "{extra}: {e}");
        assert!(e.msg.starts_with("camera \"desk\""), "{e}");
    }
}

#[test]
fn controls_belong_to_v4l2_cameras_only() {
    let e = err(
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n[camera.controls]\nbrightness = 1\n",
    );
    assert!(e.msg.contains("only for kind = \"v4l2\""), "{e}");
}

#[test]
fn ros_sections_are_checked() {
    let cam = "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n";
    let ros2_cam =
        "[[camera]]\nid = \"r\"\n[camera.source]\nkind = \"ros2\"\ntopic = \"/camera/image_raw\"\n";
    if cfg!(feature = "ros2") {
        let c = parse(&format!("[ros2]\ndomain_id = 7\n{ros2_cam}"), "t.toml").unwrap();
        assert_eq!(c.ros.ros2.as_ref().map(|r| r.domain_id), Some(7));
        let topics = c.ros.topics.as_ref().expect("topics on by default");
        assert_eq!(topics.transport, RosTransport::Ros2);
        assert!(topics.allows("/anything"));
        let e = err(&format!("[ros2]\ndomain_id = 300\n{cam}"));
        assert!(
            e.msg.contains("it must be a whole number from 0 to 232"),
            "{e}"
        );
        assert_eq!(e.line, Some(2), "{e}");
        let e = err(&format!(
            "[ros2]\n[ros_topics]\nallow = [\"camera/*\"]\n{cam}"
        ));
        assert!(e.msg.contains("does not start with '/'"), "{e}");
        let e =
            err("[[camera]]\nid = \"r\"\n[camera.source]\nkind = \"ros2\"\ntopic = \"camera\"\n");
        assert!(e.msg.contains("not a valid ROS topic name"), "{e}");
        let off = parse(
            &format!("[ros2]\n[ros_topics]\nenabled = false\n{cam}"),
            "t.toml",
        );
        assert!(off.unwrap().ros.topics.is_none());
        // Cross-origin pages: any by default without logins, none with, or the listed ones.
        let origins = |toml: &str| {
            let c = parse(&format!("{toml}[ros2]\n{ros2_cam}"), "t.toml").unwrap();
            c.ros.topics.map(|t| t.allow_origins).unwrap_or_default()
        };
        assert_eq!(origins("[auth]\nmode = \"none\"\n"), ["*"]);
        assert!(origins("").is_empty());
        let listed = "[ros_topics]\nallow_origins = [\"https://dash.example.org\", \"http://10.0.0.5:8080\"]\n";
        let c = parse(&format!("[ros2]\n{listed}{cam}"), "t.toml").unwrap();
        let topics = c.ros.topics.expect("topics");
        assert_eq!(
            topics.allowed_origin(Some("https://dash.example.org")),
            Some("https://dash.example.org")
        );
        assert_eq!(
            topics.allowed_origin(Some("https://elsewhere.example")),
            None
        );
        assert_eq!(topics.allowed_origin(None), None);
        for bad in [
            "dash.example.org",
            "https://dash.example.org/",
            "ftp://x",
            "https://",
        ] {
            let e = err(&format!(
                "[ros2]\n[ros_topics]\nallow_origins = [\"{bad}\"]\n{cam}"
            ));
            assert!(e.msg.contains("is not an origin"), "{bad}: {e}");
        }
        // A quiet topic's last picture: 30 s by default, per camera and for on-demand topics.
        let c = parse(
            &format!("[ros2]\n[ros_topics]\nkeep_last_frame_ms = 0\n{ros2_cam}keep_last_frame_ms = 5000\n"),
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            c.ros.topics.map(|t| t.keep_last_frame),
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(
            c.cameras[0].supervisor.keep_last_frame,
            std::time::Duration::from_secs(5)
        );
        let c = parse(&format!("[ros2]\n{ros2_cam}"), "t.toml").unwrap();
        assert_eq!(
            c.cameras[0].supervisor.keep_last_frame,
            std::time::Duration::from_secs(30)
        );
    } else {
        let e = err(&format!("[ros2]\n{cam}"));
        assert!(e.msg.contains("built without ros2"), "{e}");
        let e = err(ros2_cam);
        assert!(e.msg.contains("built without ros2"), "{e}");
    }
    if cfg!(all(feature = "ros1", feature = "ros2")) {
        let e = err(&format!("[ros1]\n[ros2]\n{cam}"));
        assert!(e.msg.contains("which one serves"), "{e}");
        let c = parse(
            &format!("[ros1]\nmaster_uri = \"http://127.0.0.1:1\"\n[ros2]\n[ros_topics]\ntransport = \"ros1\"\n{cam}"),
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.ros.topics.map(|t| t.transport), Some(RosTransport::Ros1));
        let e = err(&format!("[ros1]\nmaster_uri = \"127.0.0.1:11311\"\n{cam}"));
        assert!(e.msg.contains("not an http:// URL"), "{e}");
    }
    // No ROS at all: no topics served.
    assert!(parse(cam, "t.toml").unwrap().ros.topics.is_none());
}

/// (line, message) of every error of `text`, in the order `config check` prints them.
fn lines(text: &str) -> Vec<(Option<usize>, String)> {
    errs(text).into_iter().map(|e| (e.line, e.msg)).collect()
}

#[test]
fn every_key_and_type_error_comes_out_together_in_line_order_at_its_key() {
    let text = "\
[server]
listen = \"127.0.0.1:8080\"
max_conections = 5

[[camera]]
id = \"a\"
quality = \"high\"
[camera.source]
kind = \"testpattern\"
width = \"wide\"

[auth]
mode = \"open\"
session_idle_minutes = -5
";
    let found = lines(text);
    let expected: &[(usize, &str)] = &[
        (
            2,
            "server.listen is \"127.0.0.1:8080\"; it must be a list, in [ ]",
        ),
        (
            3,
            "unknown field `max_conections` in server, expected one of",
        ),
        (
            7,
            "camera \"a\": quality is \"high\"; it must be a whole number",
        ),
        (
            10,
            "camera \"a\": source.width is \"wide\"; it must be a whole number",
        ),
        (
            13,
            "auth.mode is \"open\"; it must be \"login\" or \"none\"",
        ),
        (
            14,
            "auth.session_idle_minutes is -5; it must be a whole number, 0 or more",
        ),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((line, msg), (want_line, want)) in found.iter().zip(expected) {
        assert_eq!(*line, Some(*want_line), "{msg}");
        assert!(
            msg.starts_with(want),
            "{msg:?} does not start with {want:?}"
        );
    }
}

#[test]
fn every_value_error_comes_out_together_in_line_order_at_its_key() {
    let text = "\
[[camera]]
id = \"a\"
quality = 0
[camera.source]
kind = \"testpattern\"
fps = 0
[camera.motion]
analyse_fps = 100

[[camera]]
id = \"a\"
[camera.source]
kind = \"command\"
command = \" \"

[server]
max_headers = 2
base_path = \"no-slash\"
worker_threads = 0
";
    let found = lines(text);
    let expected: &[(usize, &str)] = &[
        (
            3,
            "camera \"a\": quality is 0; it must be a whole number from 1 to 100",
        ),
        (
            6,
            "camera \"a\": fps is 0; it must be above 0 and at most 120",
        ),
        (
            8,
            "camera \"a\": motion.analyse_fps is 100; it must be above 0 and at most 60",
        ),
        (11, "camera id \"a\" is used twice"),
        (14, "camera \"a\": command is empty"),
        (
            17,
            "server.max_headers is 2; it must be a whole number from 8 to 1000",
        ),
        (18, "server.base_path \"no-slash\" is not a plain URL path"),
        (
            19,
            "server.worker_threads is 0; it must be a whole number from 1 to 1024",
        ),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((line, msg), (want_line, want)) in found.iter().zip(expected) {
        assert_eq!(*line, Some(*want_line), "{msg}");
        assert!(
            msg.starts_with(want),
            "{msg:?} does not start with {want:?}"
        );
    }
    // All of them in one message for the caller, which says what kind of error it is.
    let e: lookout_core::Error = parse(text, "test.toml").unwrap_err().into();
    assert_eq!(e.kind(), lookout_core::ErrorKind::InvalidInput);
    assert_eq!(e.message().matches("test.toml:").count(), expected.len());
}

#[test]
fn errors_point_at_the_key_of_their_own_table() {
    // The same key names in several tables: each error is at the line of its own table's key
    // (a search of the text for `name =` or `url =` would find the camera's).
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "0123456789abcdef0123").unwrap();
    let text = format!(
        "\
[[camera]]
id = \"a\"
name = \"A\"
[camera.source]
kind = \"http\"
url = \"http://cam/v.mjpg\"

[[camera]]
id = \"b\"
[camera.source]
kind = \"testpattern\"
[camera.motion]
cooldown_seconds = -1

[[alert]]
name = \"\"
[alert.webhook]
url = \"ftp://nope\"
secret_file = {:?}
",
        secret.path()
    );
    let found = lines(&text);
    assert_eq!(
        found
            .iter()
            .map(|(l, _)| l.unwrap_or(0))
            .collect::<Vec<_>>(),
        [13, 16, 18],
        "{found:#?}"
    );
    assert!(
        found[0]
            .1
            .starts_with("camera \"b\": motion.cooldown_seconds is -1")
    );
    assert!(found[1].1.contains("name \"\" is empty or used twice"));
    assert!(
        found[2]
            .1
            .contains("webhook url \"ftp://nope\" is not an http(s) URL")
    );
}

#[test]
fn a_wrong_value_inside_a_camera_source_is_found_at_its_key() {
    // serde reads `[camera.source]` whole (to find its `kind`) and knows only the table; the
    // error still points at the key.
    let e = err("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"files\"\nfps = 2\ndir = 5\n");
    assert_eq!(e.line, Some(6), "{e}");
    assert_eq!(
        e.msg,
        "camera \"a\": source.dir is 5; it must be a path in quotes"
    );
    let e = err("[[camera]]\nid = \"a\"\nsource = { kind = \"command\", command = 5 }\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(
        e.msg
            .starts_with("camera \"a\": source.command is 5; it must be a list of arguments"),
        "{e}"
    );
    let e = err("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n\nwidht = 5\n");
    assert_eq!(e.line, Some(6), "{e}");
    assert!(
        e.msg
            .starts_with("unknown field `widht` in camera \"a\": source, expected"),
        "{e}"
    );
}

#[test]
fn a_missing_or_unusable_required_key_is_one_error_not_two() {
    // `id = 5` is not text; reading on without it must not add "id is missing".
    let found = lines(
        "[[camera]]\nid = 5\n[camera.source]\nkind = \"testpattern\"\n\n[[camera]]\nname = \"x\"\n[camera.source]\nkind = \"testpattern\"\n",
    );
    assert_eq!(
        found,
        [
            (
                Some(2),
                "camera number 1: id is 5; it must be text in quotes".to_owned()
            ),
            (Some(6), "camera number 2: id is missing".to_owned()),
        ]
    );
    // An unknown source kind: one error, not also "kind is missing" or "source is missing".
    assert_eq!(
        lines("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"webcam\"\n").len(),
        1
    );
}

#[test]
fn numbers_are_asked_for_in_words() {
    let cam = "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n";
    for (toml, said) in [
        (
            "[server]\nmax_headers = -1\n",
            "server.max_headers is -1; it must be a whole number, 0 or more",
        ),
        (
            "[server]\nmax_headers = 1.5\n",
            "server.max_headers is 1.5; it must be a whole number, 0 or more",
        ),
        (
            "[auth]\nlogin_free_failures = 5000000000\n",
            "auth.login_free_failures is 5000000000; it must be a whole number from 0 to 4294967295",
        ),
        (
            "[tls]\nreload_check_seconds = true\n",
            "tls.reload_check_seconds is true; it must be a whole number, 0 or more",
        ),
        (
            "[server]\nlisten = [5]\n",
            "server.listen[0] is 5; it must be text in quotes",
        ),
        (
            "[auth]\nmode = 1\n",
            "auth.mode is 1; it must be text in quotes",
        ),
    ] {
        let e = err(&format!("{toml}{cam}"));
        assert_eq!(e.msg, said);
        assert_eq!(e.line, Some(2), "{e}");
    }
    let e = err(&format!(
        "{cam}[camera.motion]\n[[camera.motion.zone]]\nkind = \"include\"\npoints = [[0.0, 0.0], [1.0], [0.0, 1.0]]\n"
    ));
    assert_eq!(
        e.msg,
        "camera \"a\": motion.zone[0].points[1] has 1 item(s); it must be a list of 2 numbers, like [0.5, 0.5]"
    );
    assert_eq!(e.line, Some(8), "{e}");
}

#[test]
fn every_syntax_error_is_reported_with_its_line() {
    let found = lines("a = 1\nb = \n[t]\nc = [1,\n");
    assert_eq!(
        found.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        [Some(2), Some(4)],
        "{found:#?}"
    );
    assert!(found[0].1.contains("must be quoted"), "{found:#?}");
}

#[test]
fn a_secret_file_of_several_lines_is_refused_at_its_key() {
    // One rule for every secret (config/secrets.rs has its tests): an http camera's
    // password_file was cut at its first line before, unlike the other secrets.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    let cam = format!(
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"http\"\nurl = \"http://cam/\"\nusername = \"u\"\npassword_file = {file:?}\n"
    );
    std::fs::write(&file, "s3cret\n").unwrap();
    parse(&cam, "t").unwrap();
    std::fs::write(&file, "one\ntwo\n").unwrap();
    let e = err(&cam);
    assert_eq!(e.line, Some(7), "{e}");
    assert!(
        e.msg.starts_with("camera \"a\": the camera password in ")
            && e.msg.ends_with("has more than one line"),
        "{e}"
    );
}

#[test]
fn mqtt_is_resolved_and_every_error_is_at_its_key() {
    let cam = "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n";
    let c = parse(&format!("[mqtt]\nurl = \"mqtts://[::1]\"\n{cam}"), "t.toml").unwrap();
    let m = c.mqtt.unwrap();
    assert_eq!((m.host.as_str(), m.port, m.tls), ("::1", 8883, true));
    assert_eq!(
        (m.client_id.as_str(), m.topic_prefix.as_str()),
        ("lookout", "lookout")
    );
    assert_eq!(m.discovery_prefix.as_deref(), Some("homeassistant"));
    assert!(!m.commands);
    let text = format!(
        "[mqtt]\nurl = \"http://b\"\npassword_env = \"LOOKOUT_TEST_SURELY_UNSET_MQTT\"\n\
         ca_file = \"/x.pem\"\ntopic_prefix = \"a/#\"\nviewers_every_seconds = 0\n{cam}"
    );
    let got: Vec<(Option<usize>, String)> =
        errs(&text).into_iter().map(|e| (e.line, e.msg)).collect();
    // In line order; the missing username at the [mqtt] line.
    assert_eq!(
        got,
        [
            (Some(1), "mqtt has a password but no username".to_owned()),
            (Some(2), "mqtt.url \"http://b\" is not an mqtt:// or mqtts:// URL".to_owned()),
            (
                Some(3),
                "the environment variable LOOKOUT_TEST_SURELY_UNSET_MQTT (MQTT password) is not set"
                    .to_owned()
            ),
            (Some(4), "mqtt.ca_file is set but the broker URL is not mqtts://".to_owned()),
            (Some(5), "mqtt.topic_prefix \"a/#\" is not a topic prefix".to_owned()),
            (
                Some(6),
                "mqtt.viewers_every_seconds 0 is out of range; it must be a whole number from 1 to 3600"
                    .to_owned()
            ),
        ]
    );
}

#[test]
fn rtsp_cameras_take_credentials_from_keys_never_from_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "s3cret\n").unwrap();
    let cam =
        |keys: &str| format!("[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"rtsp\"\n{keys}");
    let ok = parse(
        &cam(&format!(
            "url = \"rtsp://127.0.0.1:8554/cam\"\nusername = \"viewer\"\npassword_file = {file:?}\ntransport = \"udp\"\n"
        )),
        "t",
    )
    .unwrap();
    let SourceConfig::Rtsp(source) = &ok.cameras[0].source else {
        panic!("an rtsp source");
    };
    assert_eq!(source.url(), "rtsp://127.0.0.1:8554/cam");
    assert_eq!(source.transport, lookout_sources::rtsp::RtspTransport::Udp);
    assert!(!format!("{source:?}").contains("s3cret"));

    let e = err(&cam("url = \"rtsp://viewer:s3cret@127.0.0.1/cam\"\n"));
    assert_eq!(e.line, Some(5), "{e}");
    assert!(e.msg.contains("user name or password"), "{e}");
    assert!(!e.to_string().contains("s3cret"), "{e}");
    assert!(
        e.fix
            .as_deref()
            .is_some_and(|f| f.contains("password_file")),
        "{e}"
    );

    let e = err(&cam(
        "url = \"rtsp://127.0.0.1/cam\"\ntransport = \"quic\"\n",
    ));
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.msg.contains("transport \"quic\" is not known"), "{e}");

    let found = errs(&cam(
        "url = \"rtsp://127.0.0.1/cam\"\npassword_env = \"LOOKOUT_TEST_SURELY_UNSET\"\n",
    ));
    let said: Vec<&str> = found.iter().map(|e| e.msg.as_str()).collect();
    assert!(
        said.iter().any(|m| m.contains("LOOKOUT_TEST_SURELY_UNSET"))
            && said.iter().any(|m| m.contains("no username")),
        "{said:?}"
    );
}

#[test]
fn recording_defaults_and_cameras_that_cannot_record() {
    use crate::recording::RecordMode;
    let h264 = "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"command\"\nformat = \"h264\"\ncommand = \"cat\"\n";
    // Native H.264 without motion: nothing to make clips of, so off unless asked.
    let c = parse(h264, "test.toml").unwrap();
    assert_eq!(c.cameras[0].recording.mode, RecordMode::Off);
    assert_eq!(c.recording.segment, Duration::from_secs(2));
    let c = parse(
        &h264.replace(
            "[camera.source]",
            "[camera.recording]\nmode = \"continuous\"\nmax_gib = 0.5\n[camera.source]",
        ),
        "test.toml",
    )
    .unwrap();
    let r = &c.cameras[0].recording;
    assert_eq!(
        (r.mode, r.max_bytes, r.pre_roll),
        (
            RecordMode::Continuous,
            Some(512 << 20),
            Duration::from_secs(5)
        )
    );
    // A JPEG camera records only with an H.264 encoder.
    let jpeg = "[[camera]]\nid = \"j\"\n[camera.h264]\nmode = \"off\"\n[camera.recording]\nmode = \"continuous\"\n[camera.source]\nkind = \"testpattern\"\n";
    let e = err(jpeg);
    assert!(e.msg.contains("sends JPEG"), "{e}");
    assert!(e.to_string().starts_with("test.toml:6: "), "{e}");
    // "events" needs motion detection.
    let e = err(&h264.replace(
        "[camera.source]",
        "[camera.recording]\nmode = \"events\"\n[camera.source]",
    ));
    assert!(e.msg.contains("no [camera.motion]"), "{e}");
    let e = err("[recording]\nsegment_seconds = 0.1\n");
    assert!(e.msg.contains("segment_seconds"), "{e}");
    let e = err(&h264.replace(
        "[camera.source]",
        "[camera.recording]\nmode = \"always\"\n[camera.source]",
    ));
    assert!(e.fix.as_deref().unwrap_or("").contains("continuous"), "{e}");
}

#[test]
fn webrtc_section_is_checked() {
    let cam = "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n";
    let c = parse(cam, "t.toml").unwrap();
    assert_eq!(c.webrtc, crate::webrtc::WebRtcSettings::default());
    assert_eq!((c.webrtc.udp_port, c.webrtc.max_peers), (8555, 32));
    let c = parse(
        &format!("[webrtc]\nudp_port = 18555\npublic_addresses = [\"203.0.113.7\", \"[2001:db8::7]:9000\"]\n{cam}"),
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.webrtc.udp_port, 18555);
    assert_eq!(
        c.webrtc.public_addresses,
        [
            crate::webrtc::PublicAddress::Ip("203.0.113.7".parse().unwrap()),
            crate::webrtc::PublicAddress::Addr("[2001:db8::7]:9000".parse().unwrap()),
        ]
    );
    let e = err(&format!(
        "[webrtc]\npublic_addresses = [\"router.home\"]\n{cam}"
    ));
    assert!(
        e.msg.contains("\"router.home\" is not an IP address"),
        "{e}"
    );
    assert_eq!(e.line, Some(2), "{e}");
    let e = err(&format!("[webrtc]\nmax_peers_per_camera = 0\n{cam}"));
    assert!(e.msg.contains("webrtc.max_peers_per_camera is 0"), "{e}");
    let e = err(&format!("[webrtc]\nudp_prt = 1\n{cam}"));
    assert!(e.msg.contains("udp_prt"), "{e}");
    let c = parse(
        &format!("[webrtc]\nudp = false\ntcp_port = 18556\nconnect_timeout_ms = 2000\nconsent_timeout_ms = 3000\n{cam}"),
        "t.toml",
    )
    .unwrap();
    assert_eq!(
        (c.webrtc.udp, c.webrtc.tcp, c.webrtc.tcp_port),
        (false, true, 18556)
    );
    assert_eq!(
        (c.webrtc.connect_timeout, c.webrtc.consent_timeout),
        (
            std::time::Duration::from_secs(2),
            std::time::Duration::from_secs(3)
        )
    );
    let e = err(&format!("[webrtc]\nconsent_timeout_ms = 0\n{cam}"));
    assert!(e.msg.contains("webrtc.consent_timeout_ms is 0"), "{e}");
    let e = err(&format!("[webrtc]\nudp = false\ntcp = false\n{cam}"));
    assert!(e.msg.contains("both false"), "{e}");
}
