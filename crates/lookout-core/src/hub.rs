//! The camera hub: the one place where a camera's source and its viewers meet.
//!
//! It holds the latest frame in a `watch` channel: publishing replaces it, and each viewer
//! wakes and takes the newest one when it is ready for more. A slow viewer therefore skips
//! frames; nothing is queued for it and it cannot hold back capture or other viewers.
//! The hub also counts demand (viewers, snapshot waiters, motion), which sources use to stop
//! capturing and encoding while nobody watches.

use crate::budget::VariantBudget;
use crate::frame::{Frame, FrameKind, FrameParts};
use crate::h264::AccessUnit;
use crate::rate::RateMeter;
use crate::variant::MAX_VARIANTS;
use crate::variant_encoder::VariantEncoder;
use crate::video::{VideoFrame, VideoOrigin, VideoTrack};
use crate::{Error, ErrorKind, VariantRequest};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

pub use crate::stats::CameraStats;

/// Where a camera's source is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    /// Not capturing because nobody watches.
    Idle,
    /// Opening the device, process or connection.
    Starting,
    /// Frames are arriving.
    Online,
    /// Failed; retrying with backoff.
    Offline,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub state: SourceState,
    #[serde(serialize_with = "rfc3339")]
    pub since: SystemTime,
    /// The last failure, kept after recovery so the API shows what happened.
    pub last_error: Option<String>,
    /// Failures of the source so far (each is followed by a restart after a backoff).
    pub restarts: u64,
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

/// One open MJPEG response, as the API lists it.
#[derive(Debug)]
pub struct ViewerStats {
    pub id: u64,
    pub remote: String,
    pub variant: String,
    pub max_fps: Option<f64>,
    pub since: SystemTime,
    pub frames_sent: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub rate: RateMeter,
}

#[derive(Debug, Clone, Serialize)]
pub struct ViewerView {
    pub id: u64,
    pub remote: String,
    pub variant: String,
    pub max_fps: Option<f64>,
    pub fps: f64,
    pub frames_sent: u64,
    #[serde(serialize_with = "rfc3339")]
    pub since: SystemTime,
}

#[derive(Debug)]
pub struct CameraHub {
    id: Arc<str>,
    frames: watch::Sender<Option<Arc<Frame>>>,
    status: watch::Sender<SourceStatus>,
    demand: watch::Sender<usize>,
    /// Viewers of the H.264 track (a subset of `demand`): an encoder runs while above 0.
    h264_demand: watch::Sender<usize>,
    /// `demand` less `h264_demand`: what a decoder of an H.264-only camera runs for.
    jpeg_demand: watch::Sender<usize>,
    next_seq: AtomicU64,
    next_viewer: AtomicU64,
    /// The latest live frame: what the API describes and a slow camera's snapshot serves,
    /// even while "no signal" cards are the latest frame.
    last_live: Mutex<Option<Arc<Frame>>>,
    variants_in_use: Mutex<HashMap<VariantRequest, usize>>,
    /// Quality, slots, memory budget and counters of this camera's variant encodes.
    encoder: VariantEncoder,
    viewers: Mutex<BTreeMap<u64, Arc<ViewerStats>>>,
    stats: Arc<CameraStats>,
    /// H.264 pictures beside the JPEG frames (empty for JPEG-only cameras).
    video: VideoTrack,
    /// The source sends H.264 and no JPEG (a `command` with `format = "h264"`, an H.264 RTSP
    /// camera): MJPEG and snapshots need a decoder.
    sends_h264_only: AtomicBool,
    /// An encoder makes H.264 from this camera's JPEG or pixels when somebody asks.
    encodes_h264: AtomicBool,
    /// The source may turn out to send H.264 when it first connects (RTSP): until it has,
    /// `stream.mp4` starts it and waits for a key frame.
    may_send_h264: AtomicBool,
    /// The decoder that makes JPEG of this camera's H.264 (`"openh264"`, `"ffmpeg"`), if any.
    jpeg_decoder: Mutex<Option<&'static str>>,
}

impl CameraHub {
    /// A hub with a variant memory budget of its own (the default size).
    pub fn new(id: &str, default_quality: u8) -> Arc<Self> {
        Self::with_budget(id, default_quality, Arc::new(VariantBudget::default()))
    }

    /// A hub whose variant encodes share `budget` with other cameras'.
    pub fn with_budget(id: &str, default_quality: u8, budget: Arc<VariantBudget>) -> Arc<Self> {
        let stats = Arc::new(CameraStats::default());
        Arc::new(Self {
            id: id.into(),
            frames: watch::Sender::new(None),
            status: watch::Sender::new(SourceStatus {
                state: SourceState::Idle,
                since: SystemTime::now(),
                last_error: None,
                restarts: 0,
            }),
            demand: watch::Sender::new(0),
            h264_demand: watch::Sender::new(0),
            jpeg_demand: watch::Sender::new(0),
            next_seq: AtomicU64::new(1),
            next_viewer: AtomicU64::new(1),
            last_live: Mutex::new(None),
            variants_in_use: Mutex::new(HashMap::new()),
            encoder: VariantEncoder::new(default_quality, budget, stats.clone()),
            viewers: Mutex::new(BTreeMap::new()),
            video: VideoTrack::new(stats.clone()),
            sends_h264_only: AtomicBool::new(false),
            encodes_h264: AtomicBool::new(false),
            may_send_h264: AtomicBool::new(false),
            jpeg_decoder: Mutex::new(None),
            stats,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn default_quality(&self) -> u8 {
        self.encoder.default_quality()
    }

    pub fn stats(&self) -> &Arc<CameraStats> {
        &self.stats
    }

    /// What this camera's frames need to encode variants: pass it to [`Frame::jpeg_for`].
    pub fn variant_encoder(&self) -> &VariantEncoder {
        &self.encoder
    }

    /// Publishes a frame to every viewer. A live frame marks the source online.
    pub fn publish(&self, parts: FrameParts) -> Arc<Frame> {
        self.publish_frame(parts, true)
    }

    /// Publishes a JPEG Lookout decoded from this camera's H.264: like [`publish`](Self::publish)
    /// but it counts no capture (the access unit it came from did).
    pub fn publish_decoded(&self, parts: FrameParts) -> Arc<Frame> {
        self.publish_frame(parts, false)
    }

    fn publish_frame(&self, parts: FrameParts, count_capture: bool) -> Arc<Frame> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let frame = Arc::new(Frame::new(seq, parts));
        if frame.kind == FrameKind::Live {
            if count_capture {
                self.stats.frames_captured.fetch_add(1, Ordering::Relaxed);
                self.stats.capture_rate.tick();
            }
            *self.last_live.lock().unwrap_or_else(|e| e.into_inner()) = Some(frame.clone());
            if self.status.borrow().state != SourceState::Online {
                self.set_state(SourceState::Online, None);
            }
        }
        self.frames.send_replace(Some(frame.clone()));
        frame
    }

    /// The camera's H.264 track: what `stream.mp4` viewers join.
    pub fn video(&self) -> &VideoTrack {
        &self.video
    }

    /// Says whether the source sends H.264 and no JPEG; set from the config, or by a source
    /// that learns it when it connects (RTSP).
    pub fn set_sends_h264_only(&self, yes: bool) {
        self.sends_h264_only.store(yes, Ordering::Relaxed);
    }

    pub fn sends_h264_only(&self) -> bool {
        self.sends_h264_only.load(Ordering::Relaxed)
    }

    /// Says whether an encoder serves H.264 for this JPEG camera (set where the encoder task
    /// is started: feature `openh264` and `[camera.h264] mode = "auto"`).
    pub fn set_encodes_h264(&self, yes: bool) {
        self.encodes_h264.store(yes, Ordering::Relaxed);
    }

    pub fn encodes_h264(&self) -> bool {
        self.encodes_h264.load(Ordering::Relaxed)
    }

    /// Says that the source may send H.264 though it has not connected yet (RTSP).
    pub fn set_may_send_h264(&self, yes: bool) {
        self.may_send_h264.store(yes, Ordering::Relaxed);
    }

    /// The source may send H.264 and has not said yet what it sends: no JPEG and no H.264
    /// came so far.
    pub fn h264_not_known_yet(&self) -> bool {
        self.may_send_h264.load(Ordering::Relaxed)
            && self.latest_live().is_none()
            && self.video.latest().is_none()
    }

    /// Names the decoder that makes JPEG of this camera's H.264 (set at start-up).
    pub fn set_jpeg_decoder(&self, name: Option<&'static str>) {
        *self.jpeg_decoder.lock().unwrap_or_else(|e| e.into_inner()) = name;
    }

    pub fn jpeg_decoder(&self) -> Option<&'static str> {
        *self.jpeg_decoder.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes an access unit Lookout encoded from this camera's pictures. It counts no
    /// capture (the picture it came from did) and never marks the source online.
    pub fn publish_encoded_h264(
        &self,
        au: AccessUnit,
        captured_at: SystemTime,
        pts_90k: u64,
    ) -> Result<Option<Arc<VideoFrame>>, Error> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        self.video
            .publish(seq, au, captured_at, pts_90k, VideoOrigin::Encoded)
    }

    /// Publishes an H.264 access unit the source sent (passed through, not encoded here), with
    /// its capture time and its time on the source's 90 kHz clock. A published unit marks the
    /// source online. `Ok(None)`: skipped while the track waits for a key frame. Errors: the
    /// unit is unusable (see [`VideoTrack::publish`]); the caller counts and logs it.
    pub fn publish_h264(
        &self,
        au: AccessUnit,
        captured_at: SystemTime,
        pts_90k: u64,
    ) -> Result<Option<Arc<VideoFrame>>, Error> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let frame = self
            .video
            .publish(seq, au, captured_at, pts_90k, VideoOrigin::Native)?;
        if frame.is_some() {
            self.stats.frames_captured.fetch_add(1, Ordering::Relaxed);
            self.stats.capture_rate.tick();
            if self.status.borrow().state != SourceState::Online {
                self.set_state(SourceState::Online, None);
            }
        }
        Ok(frame)
    }

    /// How long ago the source last delivered a live picture, JPEG or H.264.
    pub fn live_age(&self) -> Option<Duration> {
        let jpeg = self.latest_live().map(|f| f.published.elapsed());
        let h264 = self.video.latest().map(|f| f.published.elapsed());
        match (jpeg, h264) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Counts a frame the source had to drop (not a valid JPEG, wrong size...).
    pub fn count_dropped(&self) {
        self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// The latest frame, if any.
    pub fn latest(&self) -> Option<Arc<Frame>> {
        self.frames.borrow().clone()
    }

    /// The latest live frame (not a "no signal" card), if any.
    pub fn latest_live(&self) -> Option<Arc<Frame>> {
        self.last_live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reserves one of the camera's [`MAX_VARIANTS`] variant slots for as long as the guard
    /// lives: a stream or snapshot asking for a size nobody else is using takes a new slot,
    /// and is refused up front when all are taken, rather than a running stream failing later.
    pub fn reserve_variant(self: &Arc<Self>, req: VariantRequest) -> Result<VariantSlot, Error> {
        if req.is_original() {
            return Ok(VariantSlot { hub: None, req });
        }
        let mut in_use = self
            .variants_in_use
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !in_use.contains_key(&req) && in_use.len() >= MAX_VARIANTS {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "camera {:?} is already serving {MAX_VARIANTS} different sizes or qualities; ask for one of those or the original",
                    self.id
                ),
            ));
        }
        *in_use.entry(req).or_insert(0) += 1;
        Ok(VariantSlot {
            hub: Some(self.clone()),
            req,
        })
    }

    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Frame>>> {
        self.frames.subscribe()
    }

    pub fn status(&self) -> SourceStatus {
        self.status.borrow().clone()
    }

    pub fn watch_status(&self) -> watch::Receiver<SourceStatus> {
        self.status.subscribe()
    }

    /// Moves the source to `state`; an error is kept as `last_error`. Offline counts a restart.
    /// Idle (the source stopped: nobody wants frames) lets go of the kept frame's pixels.
    pub fn set_state(&self, state: SourceState, error: Option<String>) {
        if state == SourceState::Idle {
            self.keep_only_jpeg();
        }
        self.status.send_modify(|s| {
            if s.state != state {
                s.since = SystemTime::now();
            }
            // Every failure is reported once by the supervisor, so each counts.
            if state == SourceState::Offline {
                s.restarts += 1;
            }
            s.state = state;
            if error.is_some() {
                s.last_error = error;
            }
        });
    }

    /// Swaps the kept frames (the latest, the latest live) for copies without pixels, variants
    /// and framings ([`Frame::without_pixels`]). Receivers are not told: the picture, its
    /// sequence number and JPEG are the same. Whoever still holds the old frame keeps it whole.
    fn keep_only_jpeg(&self) {
        let (old_live, new_live) = {
            let mut last_live = self.last_live.lock().unwrap_or_else(|e| e.into_inner());
            let old = last_live.clone();
            if let Some(f) = last_live.as_mut().filter(|f| f.holds_more_than_jpeg()) {
                *f = Arc::new(f.without_pixels());
            }
            (old, last_live.clone())
        };
        self.frames.send_if_modified(|latest| {
            if let Some(f) = latest.as_mut().filter(|f| f.holds_more_than_jpeg()) {
                // Usually the same frame as the latest live one: keep them one.
                *f = match (&old_live, &new_live) {
                    (Some(old), Some(new)) if Arc::ptr_eq(old, f) => new.clone(),
                    _ => Arc::new(f.without_pixels()),
                };
            }
            false
        });
    }

    /// Registers demand for frames; it lasts until the guard drops.
    pub fn demand(self: &Arc<Self>) -> DemandGuard {
        self.demand.send_modify(|n| *n += 1);
        self.update_jpeg_demand();
        DemandGuard { hub: self.clone() }
    }

    pub fn demand_count(&self) -> usize {
        *self.demand.borrow()
    }

    /// Registers demand for H.264 (a `stream.mp4` viewer) until the guard drops. It is on top
    /// of [`demand`](Self::demand), which keeps the source running.
    pub fn demand_h264(self: &Arc<Self>) -> H264DemandGuard {
        self.h264_demand.send_modify(|n| *n += 1);
        self.update_jpeg_demand();
        H264DemandGuard { hub: self.clone() }
    }

    pub fn h264_demand_count(&self) -> usize {
        *self.h264_demand.borrow()
    }

    /// Waits until somebody wants H.264.
    pub async fn wait_for_h264_demand(&self) {
        let mut rx = self.h264_demand.subscribe();
        // The sender lives as long as `self`: this cannot fail while we are borrowed.
        let _ = rx.wait_for(|n| *n > 0).await;
    }

    /// Waits until nobody has wanted H.264 for `linger`.
    pub async fn wait_h264_idle_for(&self, linger: Duration) {
        idle_for(self.h264_demand.subscribe(), linger).await;
    }

    /// Demand for JPEG: everybody who wants frames but not as H.264 (MJPEG viewers, snapshot
    /// waiters, MQTT snapshots). A decoder of an H.264-only camera runs while above 0.
    pub fn jpeg_demand_count(&self) -> usize {
        self.demand_count().saturating_sub(self.h264_demand_count())
    }

    /// Waits until somebody wants JPEG.
    pub async fn wait_for_jpeg_demand(&self) {
        let mut rx = self.jpeg_demand.subscribe();
        // The sender lives as long as `self`: this cannot fail while we are borrowed.
        let _ = rx.wait_for(|n| *n > 0).await;
    }

    /// Recomputes the JPEG demand after `demand` or `h264_demand` changed. Under the
    /// channel's lock, so the last of two racing updates writes the newest counts.
    fn update_jpeg_demand(&self) {
        self.jpeg_demand.send_if_modified(|n| {
            let now = self.jpeg_demand_count();
            std::mem::replace(n, now) != now
        });
    }

    /// Waits until nobody has wanted JPEG for `linger`.
    pub async fn wait_jpeg_idle_for(&self, linger: Duration) {
        idle_for(self.jpeg_demand.subscribe(), linger).await;
    }

    /// Waits until somebody wants frames.
    pub async fn wait_for_demand(&self) {
        let mut rx = self.demand.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we are borrowed.
        let _ = rx.wait_for(|n| *n > 0).await;
    }

    /// Waits until nobody has wanted frames for `linger`.
    pub async fn wait_idle_for(&self, linger: Duration) {
        idle_for(self.demand.subscribe(), linger).await;
    }

    /// Registers an MJPEG viewer (which is also demand) for the API's list.
    pub fn add_viewer(
        self: &Arc<Self>,
        remote: String,
        variant: String,
        max_fps: Option<f64>,
    ) -> ViewerHandle {
        let id = self.next_viewer.fetch_add(1, Ordering::Relaxed);
        let stats = Arc::new(ViewerStats {
            id,
            remote,
            variant,
            max_fps,
            since: SystemTime::now(),
            frames_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            rate: RateMeter::new(),
        });
        self.viewers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, stats.clone());
        ViewerHandle {
            stats,
            demand: self.demand(),
        }
    }

    /// Frames and bytes written to this camera's viewers so far, open and gone.
    pub fn sent(&self) -> (u64, u64) {
        // Under the lock a leaving viewer takes to move its counts to the camera's.
        let list = self.viewers.lock().unwrap_or_else(|e| e.into_inner());
        let mut frames = self.stats.frames_sent.load(Ordering::Relaxed);
        let mut bytes = self.stats.bytes_sent.load(Ordering::Relaxed);
        for v in list.values() {
            frames += v.frames_sent.load(Ordering::Relaxed);
            bytes += v.bytes_sent.load(Ordering::Relaxed);
        }
        (frames, bytes)
    }

    pub fn viewer_count(&self) -> usize {
        self.viewers.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn viewers(&self) -> Vec<ViewerView> {
        let list = self.viewers.lock().unwrap_or_else(|e| e.into_inner());
        list.values()
            .map(|v| ViewerView {
                id: v.id,
                remote: v.remote.clone(),
                variant: v.variant.clone(),
                max_fps: v.max_fps,
                fps: v.rate.rate(),
                frames_sent: v.frames_sent.load(Ordering::Relaxed),
                since: v.since,
            })
            .collect()
    }
}

/// A variant slot of a camera, released on drop.
#[derive(Debug)]
pub struct VariantSlot {
    hub: Option<Arc<CameraHub>>,
    req: VariantRequest,
}

impl Drop for VariantSlot {
    fn drop(&mut self) {
        if let Some(hub) = &self.hub {
            let mut in_use = hub
                .variants_in_use
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(n) = in_use.get_mut(&self.req) {
                *n -= 1;
                if *n == 0 {
                    in_use.remove(&self.req);
                }
            }
        }
    }
}

/// H.264 demand; see [`CameraHub::demand_h264`].
#[derive(Debug)]
pub struct H264DemandGuard {
    hub: Arc<CameraHub>,
}

impl Drop for H264DemandGuard {
    fn drop(&mut self) {
        self.hub
            .h264_demand
            .send_modify(|n| *n = n.saturating_sub(1));
        self.hub.update_jpeg_demand();
    }
}

/// Demand for a camera's frames, released on drop.
#[derive(Debug)]
pub struct DemandGuard {
    hub: Arc<CameraHub>,
}

impl DemandGuard {
    pub fn hub(&self) -> &Arc<CameraHub> {
        &self.hub
    }
}

impl Drop for DemandGuard {
    fn drop(&mut self) {
        self.hub.demand.send_modify(|n| *n = n.saturating_sub(1));
        self.hub.update_jpeg_demand();
    }
}

/// A registered viewer; dropping it removes the viewer and its demand.
#[derive(Debug)]
pub struct ViewerHandle {
    stats: Arc<ViewerStats>,
    demand: DemandGuard,
}

impl ViewerHandle {
    pub fn hub(&self) -> &Arc<CameraHub> {
        self.demand.hub()
    }

    /// Records one frame of `bytes` written to this viewer. Only in the viewer's own counters:
    /// the camera's, bumped by every viewer on both runtime threads for every frame, was a
    /// cache line they passed back and forth; [`CameraHub::sent`] adds them up when asked.
    pub fn record_sent(&self, bytes: usize) {
        self.stats.frames_sent.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes_sent
            .fetch_add(bytes as u64, Ordering::Relaxed);
        self.stats.rate.tick();
    }
}

impl Drop for ViewerHandle {
    fn drop(&mut self) {
        let hub = self.hub();
        let mut list = hub.viewers.lock().unwrap_or_else(|e| e.into_inner());
        list.remove(&self.stats.id);
        // The camera's counts keep what this viewer was sent (under the lock `sent` reads).
        let stats = hub.stats();
        let sent = |n: &AtomicU64| n.load(Ordering::Relaxed);
        stats
            .frames_sent
            .fetch_add(sent(&self.stats.frames_sent), Ordering::Relaxed);
        stats
            .bytes_sent
            .fetch_add(sent(&self.stats.bytes_sent), Ordering::Relaxed);
    }
}

/// Returns once the count behind `rx` has been 0 for `linger` without a break (the demand
/// counters' linger: a viewer who reloads the page does not restart the camera).
async fn idle_for(mut rx: watch::Receiver<usize>, linger: Duration) {
    loop {
        // The sender lives as long as the hub that gave out `rx`: these cannot fail.
        let _ = rx.wait_for(|n| *n == 0).await;
        let came_back = tokio::time::timeout(linger, rx.wait_for(|n| *n > 0)).await;
        if came_back.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn parts(n: u8) -> FrameParts {
        FrameParts {
            jpeg: Bytes::from(vec![n]),
            width: 1,
            height: 1,
            captured_at: SystemTime::now(),
            raw: None,
            kind: FrameKind::Live,
        }
    }

    #[test]
    fn what_viewers_were_sent_counts_for_the_camera_after_they_leave() {
        let hub = CameraHub::new("c", 80);
        let (a, b) = (
            hub.add_viewer("a".into(), "original".into(), None),
            hub.add_viewer("b".into(), "original".into(), None),
        );
        a.record_sent(100);
        a.record_sent(50);
        b.record_sent(7);
        assert_eq!(hub.sent(), (3, 157));
        drop(a);
        assert_eq!(hub.sent(), (3, 157));
        b.record_sent(3);
        drop(b);
        assert_eq!((hub.sent(), hub.viewer_count()), ((4, 160), 0));
    }

    #[tokio::test]
    async fn slow_viewer_skips_to_the_newest_frame() {
        let hub = CameraHub::new("c", 80);
        let mut rx = hub.subscribe();
        for n in 0..5 {
            hub.publish(parts(n));
        }
        rx.changed().await.unwrap();
        let f = rx.borrow_and_update().clone().unwrap();
        assert_eq!(f.jpeg.as_ref(), &[4]);
        assert!(!rx.has_changed().unwrap());
    }

    /// Issue 17: a stopped 720p camera kept its last frame's 2.7 MB of pixels for nobody.
    #[tokio::test]
    async fn a_stopped_camera_keeps_its_last_jpeg_but_not_its_pixels() {
        let hub = CameraHub::new("c", 80);
        let raw = Arc::new(crate::RgbImage::new(64, 48));
        let pixels = Arc::downgrade(&raw);
        let published = hub.publish(FrameParts {
            raw: Some(raw),
            ..parts(3)
        });
        let _ = published.packaged(
            "part",
            &VariantRequest::default(),
            hub.variant_encoder(),
            || Bytes::from("x"),
        );
        let jpeg_at = published.jpeg.as_ptr();
        drop(published);
        let mut rx = hub.subscribe();
        rx.borrow_and_update();
        hub.set_state(SourceState::Idle, None);
        assert!(pixels.upgrade().is_none(), "the pixels are still held");
        let (latest, live) = (hub.latest().unwrap(), hub.latest_live().unwrap());
        assert!(Arc::ptr_eq(&latest, &live), "one frame, not two copies");
        assert!(!live.holds_more_than_jpeg());
        assert_eq!((live.seq, live.jpeg.as_ptr()), (1, jpeg_at));
        // The same picture: nobody is woken to send it again.
        assert!(!rx.has_changed().unwrap());
    }

    #[tokio::test]
    async fn viewers_share_one_jpeg_buffer() {
        let hub = CameraHub::new("c", 80);
        hub.publish(parts(7));
        let a = hub.latest().unwrap();
        let b = hub.latest().unwrap();
        assert_eq!(a.jpeg.as_ptr(), b.jpeg.as_ptr());
    }

    #[tokio::test]
    async fn first_live_frame_marks_online_and_viewers_count_as_demand() {
        let hub = CameraHub::new("c", 80);
        assert_eq!(hub.status().state, SourceState::Idle);
        hub.publish(parts(1));
        assert_eq!(hub.status().state, SourceState::Online);
        let v = hub.add_viewer("127.0.0.1:1".into(), "original".into(), None);
        assert_eq!((hub.demand_count(), hub.viewer_count()), (1, 1));
        drop(v);
        assert_eq!((hub.demand_count(), hub.viewer_count()), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_waits_for_the_whole_linger() {
        let hub = CameraHub::new("c", 80);
        let guard = hub.demand();
        let h = hub.clone();
        let idle = tokio::spawn(async move { h.wait_idle_for(Duration::from_secs(10)).await });
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!idle.is_finished(), "demand held: not idle");
        drop(guard);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let g2 = hub.demand();
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert!(!idle.is_finished(), "demand came back within the linger");
        drop(g2);
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert!(idle.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn jpeg_demand_is_demand_less_h264_viewers() {
        let hub = CameraHub::new("c", 80);
        let mp4_viewer = (hub.demand(), hub.demand_h264());
        assert_eq!(hub.jpeg_demand_count(), 0);
        let h = hub.clone();
        let wanted = tokio::spawn(async move { h.wait_for_jpeg_demand().await });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!wanted.is_finished(), "an H.264 viewer wants no JPEG");
        let snapshot = hub.demand();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(wanted.is_finished());
        assert_eq!(hub.jpeg_demand_count(), 1);
        let h = hub.clone();
        let idle = tokio::spawn(async move { h.wait_jpeg_idle_for(Duration::from_secs(5)).await });
        drop(snapshot);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(idle.is_finished(), "only the H.264 viewer is left");
        drop(mp4_viewer);
        assert_eq!((hub.demand_count(), hub.jpeg_demand_count()), (0, 0));
    }

    #[test]
    fn variant_slots_are_limited_and_released() {
        let hub = CameraHub::new("c", 80);
        let req = |w| VariantRequest {
            width: Some(w),
            ..Default::default()
        };
        let slots: Vec<_> = (1..=MAX_VARIANTS as u32)
            .map(|w| hub.reserve_variant(req(w)).unwrap())
            .collect();
        assert!(
            hub.reserve_variant(req(999)).is_err(),
            "a ninth size is refused"
        );
        let again = hub.reserve_variant(req(1)).unwrap();
        let original = hub.reserve_variant(VariantRequest::default()).unwrap();
        drop(slots);
        assert!(hub.reserve_variant(req(999)).is_ok());
        drop((again, original));
        assert!(hub.variants_in_use.lock().unwrap().is_empty());
    }

    #[test]
    fn offline_counts_restarts_and_keeps_the_error() {
        let hub = CameraHub::new("c", 80);
        hub.set_state(SourceState::Offline, Some("boom".into()));
        hub.set_state(SourceState::Offline, Some("boom again".into()));
        hub.set_state(SourceState::Starting, None);
        let s = hub.status();
        assert_eq!((s.state, s.restarts), (SourceState::Starting, 2));
        assert_eq!(s.last_error.as_deref(), Some("boom again"));
    }
}
