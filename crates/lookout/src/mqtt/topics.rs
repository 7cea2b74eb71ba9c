//! The topics Lookout publishes on and listens to, under `[mqtt] topic_prefix`.

/// The topics under the prefix; camera ids are `[A-Za-z0-9_-]` (config checks), so they
/// are safe in topic levels and in Home Assistant's object ids.
#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
}

impl Topics {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }
    /// `online` / `offline` (the last will), retained.
    pub fn status(&self) -> String {
        format!("{}/status", self.prefix)
    }
    /// Every event as JSON, not retained.
    pub fn events(&self) -> String {
        format!("{}/events", self.prefix)
    }
    /// The last public address seen, retained.
    pub fn public_address(&self) -> String {
        format!("{}/public_address", self.prefix)
    }
    /// `PREFIX/camera/ID/LEAF`: `state`, `motion`, `picture`, `viewers`, `alerts`,
    /// `alerts/set`, `snapshot/set`.
    pub fn camera(&self, camera: &str, leaf: &str) -> String {
        format!("{}/camera/{camera}/{leaf}", self.prefix)
    }
    /// The filter matching `leaf` of every camera.
    pub fn every_camera(&self, leaf: &str) -> String {
        format!("{}/camera/+/{leaf}", self.prefix)
    }
    /// The camera of a `PREFIX/camera/ID/LEAF` topic.
    pub fn camera_of<'t>(&self, topic: &'t str, leaf: &str) -> Option<&'t str> {
        let rest = topic.strip_prefix(&self.prefix)?.strip_prefix("/camera/")?;
        let camera = rest.strip_suffix(leaf)?.strip_suffix('/')?;
        (!camera.is_empty() && !camera.contains('/')).then_some(camera)
    }
}

#[cfg(test)]
mod tests {
    use super::Topics;

    #[test]
    fn command_topics_name_their_camera() {
        let t = Topics::new("home/lookout");
        let topic = t.camera("yard", "alerts/set");
        assert_eq!(topic, "home/lookout/camera/yard/alerts/set");
        assert_eq!(t.camera_of(&topic, "alerts/set"), Some("yard"));
        assert_eq!(t.camera_of(&topic, "snapshot/set"), None);
        for other in [
            "home/lookout/camera//alerts/set",
            "home/lookout/camera/a/b/alerts/set",
            "other/camera/yard/alerts/set",
            "home/lookout/camera/yardalerts/set",
        ] {
            assert_eq!(t.camera_of(other, "alerts/set"), None, "{other}");
        }
    }
}
