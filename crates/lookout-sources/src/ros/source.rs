//! A ROS image topic as a camera: subscribes through a [`RosNode`], converts each message
//! and publishes it.
//!
//! Messages that arrive while one is being converted and encoded wait in the subscription's
//! channel; the next round takes only the newest of them, so a camera faster than our
//! encoder costs latency of at most one frame, never a growing queue. Bad messages are
//! dropped, counted in the camera's stats and logged at most once per interval by the sink;
//! the subscription goes on.

use super::image::{self, Converted};
use super::messages::{Reliability, RosMessage, RosNode};
use crate::{BoxFuture, FrameSink, Source};
use lookout_core::{Error, ErrorKind};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;

pub struct RosTopicSource {
    node: Arc<dyn RosNode>,
    topic: String,
    reliability: Reliability,
}

impl std::fmt::Debug for RosTopicSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RosTopicSource")
            .field("kind", &self.node.kind())
            .field("topic", &self.topic)
            .field("reliability", &self.reliability)
            .finish()
    }
}

impl RosTopicSource {
    pub fn new(node: Arc<dyn RosNode>, topic: String, reliability: Reliability) -> Self {
        Self {
            node,
            topic,
            reliability,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Converts and publishes one message; `Err` only when the source cannot go on.
    async fn handle(&self, msg: RosMessage, sink: &FrameSink) -> Result<(), Error> {
        let stamp = match &msg {
            RosMessage::Image(m) => m.stamp,
            RosMessage::Compressed(m) => m.stamp,
        };
        let captured_at = stamp.unwrap_or_else(SystemTime::now);
        // PNG decoding and demosaicing take milliseconds: off the async runtime.
        let converted = tokio::task::spawn_blocking(move || image::convert(msg))
            .await
            .map_err(|e| Error::internal(format!("ROS image converter stopped: {e}")))?;
        match converted {
            Ok(Converted::Jpeg(jpeg)) => {
                // Checked, and dropped with a count if broken, by the sink.
                sink.publish_jpeg(jpeg, captured_at);
                Ok(())
            }
            Ok(Converted::Rgb(img)) => match sink.publish_rgb(img, captured_at).await {
                Err(e) if e.kind() != ErrorKind::Internal => {
                    sink.drop_frame(&format!("{}: {e}", self.topic));
                    Ok(())
                }
                other => other,
            },
            Err(why) => {
                sink.drop_frame(&format!("{}: {why}", self.topic));
                Ok(())
            }
        }
    }
}

/// The newest message: `first` or any that came after it and are waiting.
fn newest(first: RosMessage, rx: &mut mpsc::Receiver<RosMessage>) -> RosMessage {
    let mut msg = first;
    while let Ok(newer) = rx.try_recv() {
        msg = newer;
    }
    msg
}

impl Source for RosTopicSource {
    fn kind(&self) -> &'static str {
        self.node.kind()
    }

    fn run<'a>(&'a self, sink: &'a FrameSink) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut rx = self.node.subscribe(&self.topic, self.reliability).await?;
            while let Some(first) = rx.recv().await {
                let msg = newest(first, &mut rx);
                self.handle(msg, sink).await?;
            }
            Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "{} subscription to {} ended; subscribing again",
                    self.node.kind(),
                    self.topic
                ),
            ))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ros::{RosCompressedImage, RosImage, TopicInfo};
    use lookout_core::{CameraHub, RgbImage};
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    /// Our own transport double: hands out one receiver fed by the test.
    struct ChannelNode {
        rx: Mutex<Option<mpsc::Receiver<RosMessage>>>,
        subscribed: Mutex<Vec<(String, Reliability)>>,
    }

    impl ChannelNode {
        fn new(capacity: usize) -> (Arc<Self>, mpsc::Sender<RosMessage>) {
            let (tx, rx) = mpsc::channel(capacity);
            let node = Arc::new(Self {
                rx: Mutex::new(Some(rx)),
                subscribed: Mutex::new(Vec::new()),
            });
            (node, tx)
        }
    }

    impl RosNode for ChannelNode {
        fn kind(&self) -> &'static str {
            "ros2"
        }

        fn image_topics(&self) -> BoxFuture<'_, Result<Vec<TopicInfo>, Error>> {
            Box::pin(async { Ok(Vec::new()) })
        }

        fn subscribe<'a>(
            &'a self,
            topic: &'a str,
            reliability: Reliability,
        ) -> BoxFuture<'a, Result<mpsc::Receiver<RosMessage>, Error>> {
            Box::pin(async move {
                self.subscribed
                    .lock()
                    .unwrap()
                    .push((topic.to_owned(), reliability));
                self.rx.lock().unwrap().take().ok_or_else(|| {
                    Error::new(ErrorKind::Unavailable, format!("{topic} is not published"))
                })
            })
        }
    }

    fn rgb8(width: u32, height: u32, fill: u8, stamp: Option<SystemTime>) -> RosMessage {
        RosMessage::Image(RosImage {
            stamp,
            width,
            height,
            encoding: "rgb8".into(),
            is_bigendian: false,
            step: width * 3,
            data: vec![fill; (width * height * 3) as usize],
        })
    }

    fn jpeg_msg(data: Vec<u8>) -> RosMessage {
        RosMessage::Compressed(RosCompressedImage {
            stamp: None,
            format: "rgb8; jpeg compressed bgr8".into(),
            data,
        })
    }

    /// Waits (at most 10 s, a hang guard) until `done` holds.
    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let wait = async {
            while !done() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_err()
        {
            panic!("timed out waiting for {what}");
        }
    }

    fn dropped(hub: &CameraHub) -> u64 {
        hub.stats().frames_dropped.load(Ordering::Relaxed)
    }

    fn captured(hub: &CameraHub) -> u64 {
        hub.stats().frames_captured.load(Ordering::Relaxed)
    }

    /// Runs the source on its own task; its result comes out of the handle.
    fn start(
        node: Arc<ChannelNode>,
        hub: &Arc<CameraHub>,
    ) -> tokio::task::JoinHandle<Result<(), Error>> {
        let source = RosTopicSource::new(node, "/cam/image_raw".into(), Reliability::Reliable);
        let sink = FrameSink::new(hub.clone());
        tokio::spawn(async move { source.run(&sink).await })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn messages_reach_the_hub_and_bad_ones_are_counted_and_survived() {
        let hub = CameraHub::new("cam", 80);
        let (node, tx) = ChannelNode::new(4);
        let task = start(node.clone(), &hub);

        // A raw image: encoded, published with its pixels and the header stamp.
        let stamp = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        tx.send(rgb8(4, 2, 77, Some(stamp))).await.unwrap();
        until("the first frame", || hub.latest().is_some()).await;
        let frame = hub.latest().unwrap();
        assert_eq!((frame.width, frame.height), (4, 2));
        assert_eq!(frame.captured_at, stamp);
        assert_eq!(
            frame.raw.as_deref(),
            Some(&RgbImage::from_raw(4, 2, vec![77; 24]).unwrap())
        );
        let decoded = lookout_core::jpeg::decode_rgb(&frame.jpeg).unwrap();
        assert_eq!((decoded.width, decoded.height), (4, 2));
        assert_eq!(
            node.subscribed.lock().unwrap().as_slice(),
            &[("/cam/image_raw".to_owned(), Reliability::Reliable)]
        );

        // Bad messages: unknown encoding, short data, a "JPEG" that is not one. Each is
        // counted and the source goes on.
        let mut unknown = rgb8(4, 2, 0, None);
        if let RosMessage::Image(m) = &mut unknown {
            m.encoding = "rgb16".into();
        }
        let mut short = rgb8(4, 2, 0, None);
        if let RosMessage::Image(m) = &mut short {
            m.data.truncate(10);
        }
        for (n, bad) in [unknown, short, jpeg_msg(b"\xFF\xD8\xFF garbage".to_vec())]
            .into_iter()
            .enumerate()
        {
            tx.send(bad).await.unwrap();
            until("a dropped frame", || dropped(&hub) == n as u64 + 1).await;
        }
        assert_eq!(captured(&hub), 1);

        // A JPEG passes through byte for byte, stamped when it came (no header stamp).
        let img = RgbImage::from_raw(8, 8, (0..192).map(|i| i as u8).collect()).unwrap();
        let jpeg = lookout_core::jpeg::encode_rgb(&img, 70).unwrap();
        let before = SystemTime::now();
        tx.send(jpeg_msg(jpeg.clone())).await.unwrap();
        until("the JPEG frame", || captured(&hub) == 2).await;
        let frame = hub.latest().unwrap();
        assert_eq!(frame.jpeg.as_ref(), jpeg.as_slice());
        assert_eq!((frame.width, frame.height), (8, 8));
        assert!(frame.captured_at >= before);
        assert_eq!(dropped(&hub), 3);

        // The publisher goes away: the source ends with an error for the supervisor to retry.
        drop(tx);
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.to_string().contains("/cam/image_raw"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_messages_are_skipped_for_the_newest() {
        let hub = CameraHub::new("cam", 80);
        let (node, tx) = ChannelNode::new(8);
        // Five messages wait before the source takes the first: only the last is shown.
        for fill in 1..=5 {
            tx.send(rgb8(2, 2, fill, None)).await.unwrap();
        }
        let task = start(node, &hub);
        until("a frame", || hub.latest().is_some()).await;
        assert_eq!(
            hub.latest().unwrap().raw.as_ref().unwrap().data,
            vec![5; 12]
        );
        // Nothing else was queued: the next message is the second frame.
        tx.send(rgb8(2, 2, 6, None)).await.unwrap();
        until("the next frame", || captured(&hub) == 2).await;
        assert_eq!(
            hub.latest().unwrap().raw.as_ref().unwrap().data,
            vec![6; 12]
        );
        assert_eq!(dropped(&hub), 0);
        task.abort();
    }

    #[tokio::test]
    async fn a_topic_nobody_publishes_fails_the_run_for_a_retry() {
        let hub = CameraHub::new("cam", 80);
        let (node, _tx) = ChannelNode::new(1);
        node.rx.lock().unwrap().take();
        let source = RosTopicSource::new(node, "/nobody".into(), Reliability::BestEffort);
        assert_eq!(source.kind(), "ros2");
        let err = source.run(&FrameSink::new(hub)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(format!("{source:?}").contains("/nobody"));
    }
}
