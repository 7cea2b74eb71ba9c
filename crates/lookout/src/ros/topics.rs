//! web_video_server's on-demand topics: `/stream?topic=T` opens a camera for `T` at its
//! first viewer — one subscription and one hub shared by every viewer of that topic — which
//! unsubscribes shortly after its last viewer leaves. At most `max_open` topics are open; an
//! idle one is closed to make room.

use super::settings::{TopicsSettings, check_topic};
use crate::camera_entry::CameraEntry;
use lookout_core::{CameraHub, Error, VariantBudget};
use lookout_sources::ros::{Reliability, RosNode, RosTopicSource, TopicInfo};
use lookout_sources::{SupervisorConfig, supervise};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a topic stays subscribed after its last viewer: a page reload must not
/// resubscribe, an abandoned topic must not keep a robot's network busy.
const LINGER: Duration = Duration::from_secs(5);

pub struct TopicCameras {
    node: Arc<dyn RosNode>,
    kind: &'static str,
    settings: TopicsSettings,
    quality: u8,
    open: Mutex<Vec<OpenTopic>>,
    shutdown: CancellationToken,
    /// Shutdown waits for the supervisors (a ROS 1 topic unregisters as it stops).
    tasks: TaskTracker,
    /// The server's variant memory budget, shared with the configured cameras.
    variant_budget: Arc<VariantBudget>,
}

impl std::fmt::Debug for TopicCameras {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicCameras")
            .field("kind", &self.kind)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct OpenTopic {
    topic: String,
    reliability: Reliability,
    entry: Arc<CameraEntry>,
    stop: CancellationToken,
    last_used: Instant,
}

impl TopicCameras {
    pub fn new(
        node: Arc<dyn RosNode>,
        settings: TopicsSettings,
        quality: u8,
        shutdown: CancellationToken,
        tasks: TaskTracker,
        variant_budget: Arc<VariantBudget>,
    ) -> Self {
        Self {
            kind: node.kind(),
            node,
            settings,
            quality,
            open: Mutex::new(Vec::new()),
            shutdown,
            tasks,
            variant_budget,
        }
    }

    /// The camera of `topic`, opened if needed. 400 for a malformed name, 403 when neither
    /// `topic` nor `asked` (the name in the URL, `T` for `T/compressed`) is in
    /// `ros_topics.allow`, 503 when `max_open` busy topics are open.
    pub fn open(
        &self,
        topic: &str,
        asked: &str,
        reliability: Reliability,
    ) -> Result<Arc<CameraEntry>, Error> {
        self.check(topic, asked)?;
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = open
            .iter_mut()
            .find(|t| t.topic == topic && t.reliability == reliability)
        {
            t.last_used = Instant::now();
            return Ok(t.entry.clone());
        }
        if open.len() >= self.settings.max_open {
            let idle = open
                .iter()
                .enumerate()
                // Recently opened ones are spared: their viewer may not have joined yet.
                .filter(|(_, t)| {
                    t.last_used.elapsed() >= LINGER
                        && t.entry.hub.demand_count() == 0
                        && t.entry.hub.viewer_count() == 0
                })
                .min_by_key(|(_, t)| t.last_used)
                .map(|(i, _)| i);
            let Some(i) = idle else {
                return Err(Error::unavailable(format!(
                    "{} topics are being watched, the most ros_topics.max_open allows; try again when one is closed",
                    open.len()
                )));
            };
            let closed = open.remove(i);
            closed.stop.cancel();
            tracing::info!(topic = closed.topic, "closed an idle topic to make room");
        }
        let hub = CameraHub::with_budget(topic, self.quality, self.variant_budget.clone());
        let stop = self.shutdown.child_token();
        let source = RosTopicSource::new(self.node.clone(), topic.to_owned(), reliability);
        self.tasks.spawn(supervise(
            hub.clone(),
            Arc::new(source),
            SupervisorConfig {
                idle_linger: LINGER,
                // A topic may simply not be published yet: retry soon, not after 30 s.
                backoff_max: Duration::from_secs(5),
                keep_last_frame: self.settings.keep_last_frame,
                ..SupervisorConfig::default()
            },
            stop.clone(),
        ));
        let entry = Arc::new(CameraEntry {
            id: topic.to_owned(),
            name: topic.to_owned(),
            kind: self.kind,
            hub,
            controls: None,
            // On-demand topics live only while watched: they never record.
            recording: crate::camera_entry::RecordingState {
                mode: "off",
                why_not: None,
            },
        });
        open.push(OpenTopic {
            topic: topic.to_owned(),
            reliability,
            entry: entry.clone(),
            stop,
            last_used: Instant::now(),
        });
        tracing::info!(topic, kind = self.kind, "opened a topic");
        Ok(entry)
    }

    /// The image topics published now that `ros_topics.allow` lets through.
    pub async fn list(&self) -> Result<Vec<TopicInfo>, Error> {
        let mut topics = self.node.image_topics().await?;
        topics.retain(|t| self.settings.allows(&t.name));
        Ok(topics)
    }

    /// Whether `topic` is published now; `None` when the transport cannot say (its master
    /// or node is not up).
    pub async fn is_published(&self, topic: &str) -> Option<bool> {
        let topics = self.node.image_topics().await.ok()?;
        Some(topics.iter().any(|t| t.name == topic))
    }

    /// The topics open now, with the delivery each asked for, in the order they opened.
    pub fn open_topics(&self) -> Vec<(Arc<CameraEntry>, Reliability)> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.iter()
            .map(|t| (t.entry.clone(), t.reliability))
            .collect()
    }

    pub fn settings(&self) -> &TopicsSettings {
        &self.settings
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    fn check(&self, topic: &str, asked: &str) -> Result<(), Error> {
        check_topic(topic)?;
        if !self.settings.allows(topic) && !self.settings.allows(asked) {
            return Err(Error::permission_denied(format!(
                "topic {topic:?} is not in this server's ros_topics.allow list"
            )));
        }
        Ok(())
    }
}

impl Drop for TopicCameras {
    fn drop(&mut self) {
        let open = self.open.get_mut().unwrap_or_else(|e| e.into_inner());
        for t in open.drain(..) {
            t.stop.cancel();
        }
    }
}
