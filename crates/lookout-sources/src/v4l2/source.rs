//! The `v4l2` source: a webcam through the kernel's V4L2 API.
//!
//! Each `run` opens the device anew (following a `/dev/v4l/by-id/…` link again, so a
//! replugged camera that became another `/dev/videoN` is found), chooses the format, applies
//! the configured controls and then those changed at runtime, and streams from a capture
//! thread. MJPEG frames are published as they come, H.264 ones to the hub's H.264 track; raw
//! ones are converted to RGB and encoded. An unplugged camera ends `run` with an Unavailable
//! error: the supervisor shows
//! "no signal" and calls `run` again with backoff, which is the reopen.

use super::capture::{self, CaptureDevice, CapturePlan, CapturedFrame};
use super::config::{DEFAULT_BUFFERS, V4l2Config};
use super::controls::{self, Assignment};
use super::device::V4l2Device;
use super::formats::PixelFormat;
use super::h264::H264Buffers;
use crate::{BoxFuture, FrameSink, Source};
use bytes::Bytes;
use lookout_core::Error;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Opens a device by path; tests substitute a fake.
pub type DeviceOpener = Arc<dyn Fn(&Path) -> Result<Box<dyn CaptureDevice>, Error> + Send + Sync>;

pub struct V4l2Source {
    cfg: V4l2Config,
    opener: DeviceOpener,
    /// Controls changed at runtime, re-applied after the configured ones at each open.
    remembered: Mutex<Vec<Assignment>>,
    /// The capture thread of the last run: the next run waits for it to close the device.
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn open_device(path: &Path) -> Result<Box<dyn CaptureDevice>, Error> {
    let dev = V4l2Device::open_capture(path)?;
    if let Ok(node) = path.canonicalize()
        && node != path
    {
        tracing::info!(
            "{} is {} ({})",
            path.display(),
            node.display(),
            dev.caps().card
        );
    }
    Ok(Box::new(dev))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl V4l2Source {
    pub fn new(cfg: V4l2Config) -> Self {
        Self::with_opener(cfg, Arc::new(open_device))
    }

    /// A source whose device comes from `opener` (the test seam).
    pub fn with_opener(cfg: V4l2Config, opener: DeviceOpener) -> Self {
        Self {
            cfg,
            opener,
            remembered: Mutex::new(Vec::new()),
            thread: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &V4l2Config {
        &self.cfg
    }

    /// Keeps controls set at runtime so the next open applies them again. A control named
    /// again (in any spelling) replaces its earlier value and moves to the end, so the
    /// order of changes is kept (auto exposure off, then the exposure time).
    pub fn remember_controls(&self, set: &[Assignment]) {
        let mut remembered = lock(&self.remembered);
        for a in set {
            let key = controls::normalize(&controls::key(&a.name));
            remembered.retain(|old| controls::normalize(&controls::key(&old.name)) != key);
            remembered.push(a.clone());
        }
    }

    /// The controls changed at runtime, in the order they are re-applied.
    pub fn remembered_controls(&self) -> Vec<Assignment> {
        lock(&self.remembered).clone()
    }

    fn plan(&self) -> CapturePlan {
        let mut controls = self.cfg.controls.clone();
        controls.extend(self.remembered_controls());
        CapturePlan {
            size: self.cfg.size,
            fps: self.cfg.fps,
            format: self.cfg.format,
            buffers: if self.cfg.buffers == 0 {
                DEFAULT_BUFFERS
            } else {
                self.cfg.buffers
            },
            controls,
        }
    }
}

/// Publishes one frame: JPEG and H.264 untouched, raw formats converted off the runtime.
/// Frames that cannot be used are counted as dropped.
async fn publish(
    sink: &FrameSink,
    frame: CapturedFrame,
    h264: &mut H264Buffers,
) -> Result<(), Error> {
    let f = frame.format;
    if frame.damaged {
        sink.drop_frame("the driver marked the buffer as damaged");
        return Ok(());
    }
    if frame.data.is_empty() {
        sink.drop_frame("the driver returned an empty buffer");
        return Ok(());
    }
    if f.format.is_jpeg() {
        sink.publish_jpeg(Bytes::from(frame.data), frame.captured_at);
        return Ok(());
    }
    if f.format == PixelFormat::H264 {
        h264.publish(sink, frame.data, frame.captured_at);
        return Ok(());
    }
    let converted = tokio::task::spawn_blocking(move || {
        lookout_core::pixels::to_rgb(
            f.format,
            &frame.data,
            f.width,
            f.height,
            f.bytesperline as usize,
        )
    })
    .await
    .map_err(|e| Error::internal(format!("conversion thread stopped: {e}")))?;
    match converted {
        Ok(img) => sink.publish_rgb(img, frame.captured_at).await,
        Err(why) => {
            sink.drop_frame(why.message());
            Ok(())
        }
    }
}

impl Source for V4l2Source {
    fn kind(&self) -> &'static str {
        "v4l2"
    }

    fn frame_interval(&self) -> Option<Duration> {
        self.cfg
            .fps
            .filter(|f| f.is_finite() && *f > 0.0)
            .map(|f| Duration::from_secs_f64(1.0 / f))
    }

    fn run<'a>(&'a self, sink: &'a FrameSink) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            // A stopped run's thread notices within a fraction of a second and closes the
            // device; opening it before that would find it busy.
            let previous = lock(&self.thread).take();
            if let Some(thread) = previous {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            }
            let camera = sink.hub().id().to_owned();
            let opener = self.opener.clone();
            let path = self.cfg.device.clone();
            let (mut frames, thread) =
                capture::spawn(&camera, Box::new(move || opener(&path)), self.plan())?;
            *lock(&self.thread) = Some(thread);
            let mut h264 = H264Buffers::default();
            let mut first = true;
            loop {
                let frame = frames.recv().await?;
                if std::mem::take(&mut first) {
                    // The format is chosen at each open (an H.264-only camera, or `format =
                    // "H264"`): JPEG viewers, snapshots and motion need the decoder then.
                    sink.hub()
                        .set_sends_h264_only(frame.format.format == PixelFormat::H264);
                }
                publish(sink, frame, &mut h264).await?;
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::v4l2::PixelFormat;
    use crate::v4l2::capture::ActualFormat;
    use crate::v4l2::controls::parse_assignment;
    use crate::v4l2::fake::{FakeCamera, frame, int_control, offer};
    use lookout_core::{CameraHub, ErrorKind, RgbImage};
    use std::path::PathBuf;
    use std::sync::atomic::Ordering;

    fn config(controls: &[&str]) -> V4l2Config {
        V4l2Config {
            device: PathBuf::from("/dev/v4l/by-id/usb-fake-video-index0"),
            size: None,
            fps: None,
            format: None,
            buffers: 0,
            controls: controls
                .iter()
                .map(|c| parse_assignment(c).unwrap())
                .collect(),
        }
    }

    fn source(cam: &FakeCamera, cfg: V4l2Config) -> V4l2Source {
        let cam = cam.clone();
        V4l2Source::with_opener(
            cfg,
            Arc::new(move |_: &Path| Ok(Box::new(cam.device()) as Box<dyn CaptureDevice>)),
        )
    }

    /// A hub and sink, with the camera serving each frame only after the previous one was
    /// published or dropped: the queue then never skips one and counts are exact.
    fn sink_for(cam: &FakeCamera) -> FrameSink {
        let hub = CameraHub::new("cam", 80);
        let stats = hub.stats().clone();
        cam.state().gate = Some(Arc::new(move |served| {
            let handled = stats.frames_captured.load(Ordering::SeqCst)
                + stats.frames_dropped.load(Ordering::SeqCst);
            handled >= served as u64
        }));
        FrameSink::new(hub)
    }

    fn unplugged() -> Error {
        Error::new(ErrorKind::Unavailable, "the camera was unplugged")
    }

    async fn run_until_error(source: &V4l2Source, sink: &FrameSink) -> Error {
        tokio::time::timeout(Duration::from_secs(30), source.run(sink))
            .await
            .unwrap()
            .unwrap_err()
    }

    fn counts(sink: &FrameSink) -> (u64, u64) {
        let stats = sink.hub().stats();
        (
            stats.frames_captured.load(Ordering::SeqCst),
            stats.frames_dropped.load(Ordering::SeqCst),
        )
    }

    #[tokio::test]
    async fn mjpeg_frames_pass_through_byte_identical() {
        let cam = FakeCamera::new(vec![
            offer(PixelFormat::Yuyv, 16, 8, &[30.0]),
            offer(PixelFormat::Mjpeg, 16, 8, &[30.0]),
        ]);
        let jpeg = lookout_core::jpeg::encode_rgb(&RgbImage::new(16, 8), 70).unwrap();
        cam.state().script.push_back(Ok(frame(jpeg.clone())));
        cam.state().script.push_back(Err(unplugged()));
        let sink = sink_for(&cam);
        let src = source(&cam, config(&[]));
        let err = run_until_error(&src, &sink).await;
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(cam.state().configured[0].format, PixelFormat::Mjpeg);
        let published = sink.hub().latest_live().unwrap();
        assert_eq!(published.jpeg.as_ref(), jpeg.as_slice());
        assert!(published.raw.is_none(), "not decoded");
        assert_eq!((published.width, published.height), (16, 8));
    }

    #[tokio::test]
    async fn yuyv_frames_are_converted_with_the_driver_stride() {
        let cam = FakeCamera::new(vec![offer(PixelFormat::Yuyv, 4, 2, &[])]);
        // Rows of 8 bytes padded to 12: padding read as pixels would not be white.
        cam.state().actual = Some(ActualFormat {
            format: PixelFormat::Yuyv,
            width: 4,
            height: 2,
            bytesperline: 12,
            fps: None,
        });
        let white = [235, 128, 235, 128];
        let mut data = Vec::new();
        for row in 0..2 {
            data.extend(white.iter().cycle().take(8));
            if row == 0 {
                data.extend([0; 4]);
            }
        }
        cam.state().script.push_back(Ok(frame(data)));
        cam.state().script.push_back(Err(unplugged()));
        let sink = sink_for(&cam);
        run_until_error(&source(&cam, config(&[])), &sink).await;
        let published = sink.hub().latest_live().unwrap();
        let raw = published.raw.as_ref().unwrap();
        assert_eq!((raw.width, raw.height), (4, 2));
        assert!(raw.data.iter().all(|&v| v == 255), "{:?}", raw.data);
        assert_eq!(published.jpeg[..2], [0xff, 0xd8]);
    }

    #[tokio::test]
    async fn short_and_damaged_buffers_are_counted_as_dropped() {
        let cam = FakeCamera::new(vec![offer(PixelFormat::Yuyv, 4, 2, &[])]);
        let mut damaged = frame(vec![128; 16]);
        damaged.damaged = true;
        for f in [
            frame(vec![1, 2, 3]),
            damaged,
            frame(vec![]),
            frame(vec![128; 16]),
        ] {
            cam.state().script.push_back(Ok(f));
        }
        cam.state()
            .script
            .push_back(Ok(frame(b"\xff\xd8 not a jpeg".to_vec())));
        cam.state().script.push_back(Err(unplugged()));
        let sink = sink_for(&cam);
        run_until_error(&source(&cam, config(&[])), &sink).await;
        // The JPEG-looking bytes are a YUYV buffer too short for 4x2.
        assert_eq!(counts(&sink), (1, 4));
    }

    #[tokio::test]
    async fn broken_mjpeg_frames_are_counted_as_dropped() {
        let cam = FakeCamera::new(vec![offer(PixelFormat::Mjpeg, 16, 8, &[])]);
        cam.state()
            .script
            .push_back(Ok(frame(b"\xff\xd8 cut short".to_vec())));
        cam.state().script.push_back(Err(unplugged()));
        let sink = sink_for(&cam);
        run_until_error(&source(&cam, config(&[])), &sink).await;
        assert_eq!(counts(&sink), (0, 1));
    }

    #[tokio::test]
    async fn h264_buffers_go_to_the_video_track_untouched() {
        // libx264 High profile, an AUD and two slices a picture (lookout-core's test stream),
        // cut into access units as a UVC camera or v4l2loopback delivers them.
        let stream: &[u8] =
            include_bytes!("../../../lookout-core/tests/data/small_high_aud_2slices.h264");
        let mut reader = lookout_core::h264::AnnexBReader::new(1 << 20);
        reader.push(stream);
        let mut units = Vec::new();
        while let Some(au) = reader.next_access_unit() {
            units.push(au.unwrap());
        }
        reader.finish().unwrap();
        while let Some(au) = reader.next_access_unit() {
            units.push(au.unwrap());
        }
        assert!(units.len() >= 3 && units[0].is_key, "{} units", units.len());
        let cam = FakeCamera::new(vec![
            offer(PixelFormat::H264, 64, 48, &[30.0]),
            offer(
                PixelFormat::Other(crate::v4l2::formats::fourcc(b"HEVC")),
                64,
                48,
                &[30.0],
            ),
        ]);
        for au in &units {
            let mut annex_b = Vec::new();
            au.write_annex_b(&mut annex_b);
            cam.state().script.push_back(Ok(frame(annex_b)));
        }
        cam.state()
            .script
            .push_back(Ok(frame(b"no start code".to_vec())));
        cam.state().script.push_back(Err(unplugged()));
        let sink = sink_for(&cam);
        run_until_error(&source(&cam, config(&[])), &sink).await;
        assert_eq!(cam.state().configured[0].format, PixelFormat::H264);
        assert!(sink.hub().sends_h264_only());
        assert_eq!(counts(&sink), (units.len() as u64, 1));
        let latest = sink.hub().video().latest().unwrap();
        let last = units.last().unwrap();
        assert_eq!(latest.au.nals, last.nals, "passed through byte for byte");
        assert!(sink.hub().video().latest_params().is_some());
    }

    fn camera_with_controls() -> FakeCamera {
        let cam = FakeCamera::new(vec![offer(PixelFormat::Grey, 2, 2, &[])]);
        cam.state().controls = vec![
            int_control(1, "Brightness", 0, 255, 128),
            int_control(2, "Contrast", 0, 255, 128),
            int_control(3, "Saturation", 0, 255, 128),
        ];
        cam
    }

    #[tokio::test]
    async fn controls_are_applied_at_open_config_first_then_remembered() {
        let cam = camera_with_controls();
        cam.state().script.push_back(Ok(frame(vec![9; 4])));
        cam.state().script.push_back(Err(unplugged()));
        let src = source(
            &cam,
            config(&["brightness=10", "contrast=20", "hue=1", "contrast=300"]),
        );
        src.remember_controls(&[
            parse_assignment("BRIGHTNESS=30").unwrap(),
            parse_assignment("saturation=5").unwrap(),
        ]);
        src.remember_controls(&[parse_assignment("brightness=40").unwrap()]);
        assert_eq!(
            src.remembered_controls(),
            vec![
                parse_assignment("saturation=5").unwrap(),
                parse_assignment("brightness=40").unwrap()
            ]
        );
        let sink = sink_for(&cam);
        run_until_error(&src, &sink).await;
        // The unknown and the out-of-range ones are logged and skipped; capture went on.
        assert_eq!(
            cam.state().set_calls,
            vec![(1, 10), (2, 20), (3, 5), (1, 40)]
        );
        assert_eq!(counts(&sink), (1, 0));
    }

    #[tokio::test]
    async fn a_reopen_after_an_unplug_applies_the_controls_again() {
        let cam = camera_with_controls();
        let src = source(&cam, config(&["brightness=10"]));
        let sink = sink_for(&cam);

        cam.state().script.push_back(Ok(frame(vec![9; 4])));
        cam.state().script.push_back(Err(unplugged()));
        let err = run_until_error(&src, &sink).await;
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("unplugged"));

        // Changed while the camera was away; the supervisor then runs the source again.
        src.remember_controls(&[parse_assignment("contrast=50").unwrap()]);
        cam.state().script.push_back(Ok(frame(vec![9; 4])));
        cam.state().script.push_back(Err(unplugged()));
        run_until_error(&src, &sink).await;

        let state = cam.state();
        assert_eq!(state.opens, 2);
        assert_eq!(state.set_calls, vec![(1, 10), (1, 10), (2, 50)]);
        drop(state);
        assert_eq!(counts(&sink), (2, 0));
    }

    #[tokio::test]
    async fn an_open_failure_is_the_error_of_run() {
        let src = V4l2Source::with_opener(
            config(&[]),
            Arc::new(|path: &Path| {
                Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("{} does not exist", path.display()),
                ))
            }),
        );
        let sink = FrameSink::new(CameraHub::new("cam", 80));
        let err = run_until_error(&src, &sink).await;
        assert!(
            err.message()
                .contains("usb-fake-video-index0 does not exist"),
            "{err}"
        );
    }

    #[test]
    fn kind_interval_and_buffers() {
        let cam = camera_with_controls();
        let mut cfg = config(&[]);
        cfg.fps = Some(4.0);
        let src = source(&cam, cfg.clone());
        assert_eq!(src.kind(), "v4l2");
        assert_eq!(src.frame_interval(), Some(Duration::from_millis(250)));
        assert_eq!(src.plan().buffers, DEFAULT_BUFFERS);
        cfg.fps = None;
        cfg.buffers = 8;
        let src = source(&cam, cfg);
        assert_eq!(src.frame_interval(), None);
        assert_eq!(src.plan().buffers, 8);
    }
}
