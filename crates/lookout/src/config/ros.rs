//! `[ros1]`, `[ros2]` and `[ros_topics]` → [`RosSettings`]: which ROS transports to start and
//! web_video_server's on-demand topics.

use super::context::Ctx;
use super::file::{AuthMode, ConfigFile, SourceSection};
use super::words::whole;
use crate::ros::settings::{Ros1Settings, Ros2Settings, RosSettings, RosTransport, TopicsSettings};
use lookout_core::redact::mask_url_secrets;
use std::time::Duration;

/// DDS domain ids are 0 to 232 (the DDS spec's port formula runs out past it).
const MAX_DOMAIN_ID: u16 = 232;

pub(super) fn ros(cx: &Ctx<'_>, file: &ConfigFile) -> RosSettings {
    let uses = |t: RosTransport| {
        file.cameras.iter().any(|c| {
            matches!(
                (&c.source, t),
                (SourceSection::Ros1(_), RosTransport::Ros1)
                    | (SourceSection::Ros2(_), RosTransport::Ros2)
            )
        })
    };
    let not_built = |t: RosTransport| {
        let name = t.name();
        cx.report(
            name,
            format!("[{name}] is set but this Lookout was built without {name} support"),
            format!("build it with `cargo build --release --features {name}`, or remove [{name}]"),
        );
    };
    let ros1 = match (&file.ros1, uses(RosTransport::Ros1)) {
        (None, false) => None,
        (section, _) => {
            if section.is_some() && !RosTransport::Ros1.built_in() {
                not_built(RosTransport::Ros1);
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
                cx.report(
                    "ros1.master_uri",
                    format!(
                        "ros1.master_uri {:?} is not an http:// URL",
                        mask_url_secrets(&master_uri)
                    ),
                    "e.g. master_uri = \"http://127.0.0.1:11311\"",
                );
            }
            Some(Ros1Settings {
                master_uri,
                hostname: s.hostname,
                node_name: s.node_name.unwrap_or_else(|| "/lookout".to_owned()),
            })
        }
    };
    let ros2 = match (&file.ros2, uses(RosTransport::Ros2)) {
        (None, false) => None,
        (section, _) => {
            if section.is_some() && !RosTransport::Ros2.built_in() {
                not_built(RosTransport::Ros2);
            }
            Some(Ros2Settings {
                domain_id: domain_id(cx, section.as_ref().and_then(|s| s.domain_id)),
            })
        }
    };
    let t = &file.ros_topics;
    let topics = if !t.enabled {
        None
    } else {
        let bad = |key: &str, msg: String, fix: &str| {
            cx.report(&format!("ros_topics.{key}"), msg, fix);
        };
        let transport = match (t.transport.as_deref(), ros1.is_some(), ros2.is_some()) {
            (Some("ros1"), true, _) => Some(RosTransport::Ros1),
            (Some("ros2"), _, true) => Some(RosTransport::Ros2),
            (Some(other @ ("ros1" | "ros2")), _, _) => {
                bad(
                    "transport",
                    format!("ros_topics.transport is {other:?} but [{other}] is not configured"),
                    &format!("add a [{other}] table"),
                );
                None
            }
            (Some(other), _, _) => {
                bad(
                    "transport",
                    format!("ros_topics.transport {other:?} is not known"),
                    "write \"ros1\" or \"ros2\"",
                );
                None
            }
            (None, true, true) => {
                bad(
                    "transport",
                    "both [ros1] and [ros2] are configured: which one serves /stream?topic=?"
                        .into(),
                    "set [ros_topics] transport = \"ros1\" or \"ros2\"",
                );
                None
            }
            (None, true, false) => Some(RosTransport::Ros1),
            (None, false, true) => Some(RosTransport::Ros2),
            (None, false, false) => None,
        };
        for (i, p) in t.allow.iter().enumerate() {
            if !p.starts_with('/') {
                bad(
                    &format!("allow[{i}]"),
                    format!("ros_topics.allow pattern {p:?} does not start with '/'"),
                    "write absolute names or patterns, e.g. \"/camera/*\"",
                );
            }
        }
        if !(1..=256).contains(&t.max_open) {
            bad(
                "max_open",
                format!(
                    "ros_topics.max_open is {}; it must be {}",
                    t.max_open,
                    whole(1, 256)
                ),
                "remove it to use the default (16)",
            );
        }
        let allow_origins = match &t.allow_origins {
            Some(list) => {
                for (i, o) in list.iter().enumerate() {
                    if !is_origin(o) {
                        bad(
                            &format!("allow_origins[{i}]"),
                            format!("ros_topics.allow_origins entry {o:?} is not an origin"),
                            "write origins as browsers send them, e.g. \"https://dash.example.org\" or \"http://10.0.0.5:8080\", or \"*\" for any",
                        );
                    }
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
    RosSettings { ros1, ros2, topics }
}

/// `*`, or `scheme://host[:port]` as browsers send it in `Origin`: no path, no trailing `/`.
fn is_origin(origin: &str) -> bool {
    origin == "*"
        || origin.split_once("://").is_some_and(|(scheme, rest)| {
            matches!(scheme, "http" | "https")
                && !rest.is_empty()
                && !rest.contains(['/', '?', '#', '@', ' '])
                && rest.parse::<http::uri::Authority>().is_ok()
        })
}

/// `[ros2] domain_id`, else `ROS_DOMAIN_ID`, else 0.
fn domain_id(cx: &Ctx<'_>, configured: Option<i64>) -> u16 {
    let from_env = std::env::var("ROS_DOMAIN_ID")
        .ok()
        .filter(|v| !v.is_empty());
    let (id, key) = match (configured, from_env) {
        (Some(d), _) => (d, "ros2.domain_id"),
        (None, Some(v)) => match v.trim().parse::<i64>() {
            Ok(d) => (d, ""),
            Err(_) => {
                cx.report_file(
                    format!("ROS_DOMAIN_ID={v:?} is not a number"),
                    format!("set it to 0..={MAX_DOMAIN_ID}, or set [ros2] domain_id"),
                );
                return 0;
            }
        },
        (None, None) => return 0,
    };
    match u16::try_from(id) {
        Ok(d) if d <= MAX_DOMAIN_ID => d,
        _ => {
            let msg = format!(
                "ros2 domain id {id} is out of range; it must be {}",
                whole(0, MAX_DOMAIN_ID)
            );
            let fix = "DDS domains are 0 to 232; ROS uses 0 to 101 by default";
            if key.is_empty() {
                cx.report_file(msg, fix);
            } else {
                cx.report(key, msg, fix);
            }
            0
        }
    }
}
