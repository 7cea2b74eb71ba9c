//! The ROS settings as `config/` resolves them (`[ros1]`, `[ros2]`, `[ros_topics]`), and the
//! topic-name rules the config and `/stream?topic=` share.

use lookout_core::Error;
use std::time::Duration;

/// Which ROS a camera or the on-demand topics use.
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
pub struct RosSettings {
    pub ros1: Option<Ros1Settings>,
    pub ros2: Option<Ros2Settings>,
    pub topics: Option<TopicsSettings>,
}

/// `[ros1]`: the master and how this node presents itself.
#[derive(Debug, Clone)]
pub struct Ros1Settings {
    pub master_uri: String,
    /// Unset: the node applies `ROS_HOSTNAME`, then `ROS_IP`, as roscpp does.
    pub hostname: Option<String>,
    pub node_name: String,
}

/// `[ros2]`: the DDS domain.
#[derive(Debug, Clone)]
pub struct Ros2Settings {
    pub domain_id: u16,
}

/// `[ros_topics]`: web_video_server's on-demand topics.
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

/// A ROS graph name as users write it: absolute, no spaces or odd characters.
pub fn check_topic(topic: &str) -> Result<(), Error> {
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
        Err(Error::invalid(format!(
            "topic {topic:?} is not a valid ROS topic name (absolute; parts of letters, digits and '_', not starting with a digit)"
        )))
    }
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
}
