//! Capture from a [`CaptureDevice`]: negotiate the format, apply controls, stream, and hand
//! frames to the async side from a dedicated thread (dequeueing blocks, so it never runs on
//! the async runtime).
//!
//! The trait is the seam between the capture logic and the kernel: [`super::device`] is the
//! real V4L2 device; tests drive the same code with a fake one.

use super::controls::{self, Assignment, ControlInfo};
use super::formats::{self, Choice, FormatOffer, PixelFormat};
use super::queue::{self, Receiver, Sender};
use lookout_core::{Error, ErrorKind};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// What the driver actually set, which may differ from what was asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActualFormat {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes per row including padding (`0`: tightly packed, or not meaningful for JPEG).
    pub bytesperline: u32,
    /// The frame rate the driver accepted, when it tells.
    pub fps: Option<f64>,
}

/// Which clock a driver timestamp is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverTimestamp {
    /// CLOCK_MONOTONIC, what current drivers use.
    Monotonic(Duration),
    /// CLOCK_REALTIME (older drivers, which name no clock).
    Realtime(Duration),
    /// No usable timestamp: the frame is stamped when dequeued.
    None,
}

/// One dequeued buffer, copied out so the device buffer goes straight back to the driver.
#[derive(Clone, Debug, PartialEq)]
pub struct RawFrame {
    /// The buffer's first `bytesused` bytes.
    pub data: Vec<u8>,
    pub timestamp: DriverTimestamp,
    /// The driver's frame counter (gaps are frames the driver dropped).
    pub sequence: u32,
    /// The driver flagged the buffer as possibly damaged (`V4L2_BUF_FLAG_ERROR`).
    pub damaged: bool,
}

/// An open camera, as the capture logic needs it. Methods block.
pub trait CaptureDevice {
    /// Every format, size and rate the device offers.
    fn offers(&mut self) -> Result<Vec<FormatOffer>, Error>;
    /// The device's controls with their current values.
    fn controls(&mut self) -> Result<Vec<ControlInfo>, Error>;
    fn set_control(&mut self, id: u32, value: i64) -> Result<(), Error>;
    /// Sets format, size and rate and prepares `buffers` buffers; returns what was set.
    fn configure(&mut self, choice: &Choice, buffers: u32) -> Result<ActualFormat, Error>;
    /// Starts streaming.
    fn start(&mut self) -> Result<(), Error>;
    /// The next filled buffer, or `None` when none came within `timeout`.
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<RawFrame>, Error>;
}

/// What to ask the device for at each open.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturePlan {
    pub size: Option<(u32, u32)>,
    pub fps: Option<f64>,
    /// Capture only this format.
    pub format: Option<PixelFormat>,
    pub buffers: u32,
    /// Applied in order after the format is set; failures are logged, not fatal.
    pub controls: Vec<Assignment>,
}

/// A frame on its way to the async side.
#[derive(Clone, Debug)]
pub struct CapturedFrame {
    pub data: Vec<u8>,
    pub format: ActualFormat,
    pub captured_at: SystemTime,
    pub sequence: u32,
    pub damaged: bool,
}

/// Chooses a format from the device's offers, sets it, applies the plan's controls and
/// starts streaming.
pub fn start_capture(
    dev: &mut dyn CaptureDevice,
    plan: &CapturePlan,
    camera: &str,
) -> Result<ActualFormat, Error> {
    let offers = dev.offers()?;
    let usable: Vec<FormatOffer> = match plan.format {
        Some(wanted) => offers
            .iter()
            .filter(|o| o.format == wanted)
            .cloned()
            .collect(),
        None => offers.clone(),
    };
    if let (Some(wanted), true) = (plan.format, usable.is_empty()) {
        return Err(Error::invalid(format!(
            "the camera does not offer the configured format {wanted}; it offers: {}",
            formats::describe_offers(&offers)
        )));
    }
    let choice = formats::choose(&usable, plan.size, plan.fps)?;
    let actual = dev.configure(&choice, plan.buffers)?;
    if !actual.format.is_usable() {
        return Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "asked for {} but the driver set {}, which Lookout cannot use",
                choice.format, actual.format
            ),
        ));
    }
    let fps = actual
        .fps
        .map_or_else(|| "driver default".to_string(), |f| format!("{f:.2}"));
    tracing::info!(
        camera,
        "capturing {} {}x{} at {fps} fps",
        actual.format,
        actual.width,
        actual.height
    );
    apply_controls(dev, &plan.controls, camera);
    dev.start()?;
    Ok(actual)
}

/// Applies each assignment in order; one that is unknown, invalid or refused is logged and
/// skipped, so a control never stops capture. Returns how many were applied.
pub fn apply_controls(dev: &mut dyn CaptureDevice, set: &[Assignment], camera: &str) -> usize {
    if set.is_empty() {
        return 0;
    }
    let known = match dev.controls() {
        Ok(known) => known,
        Err(e) => {
            tracing::warn!(
                camera,
                "cannot read the camera's controls, none applied: {e}"
            );
            return 0;
        }
    };
    let mut applied = 0;
    for a in set {
        let resolved = controls::find(&known, &a.name)
            .and_then(|c| controls::validate(c, &a.value).map(|v| (c, v)));
        match resolved {
            Ok((control, value)) => match dev.set_control(control.id, value) {
                Ok(()) => applied += 1,
                Err(e) => tracing::warn!(
                    camera,
                    "control {}={} not applied: {e}",
                    control.key(),
                    a.value
                ),
            },
            Err(e) => tracing::warn!(camera, "control {}={} not applied: {e}", a.name, a.value),
        }
    }
    applied
}

/// A driver timestamp as wall-clock time: the frame is as old as its monotonic stamp is
/// behind the monotonic clock now.
pub fn to_system_time(
    stamp: DriverTimestamp,
    monotonic_now: Duration,
    now: SystemTime,
) -> SystemTime {
    match stamp {
        DriverTimestamp::Monotonic(at) => now
            .checked_sub(monotonic_now.saturating_sub(at))
            .unwrap_or(now),
        DriverTimestamp::Realtime(at) => SystemTime::UNIX_EPOCH.checked_add(at).unwrap_or(now),
        DriverTimestamp::None => now,
    }
}

/// CLOCK_MONOTONIC now, as the kernel stamps buffers with it.
pub fn monotonic_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into; CLOCK_MONOTONIC always exists on Linux.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if r != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// How long the capture thread waits in one dequeue: also how soon it notices that nobody
/// wants frames any more.
const POLL_SLICE: Duration = Duration::from_millis(200);

/// One queued frame besides the one being taken absorbs jitter in encoding; more would only
/// add latency.
const QUEUE_FRAMES: usize = 2;

/// A device sending nothing for this long (or 5 frame intervals, if longer) is stuck: the
/// capture fails so the supervisor reopens it. UVC cameras can stall after a USB glitch.
const STALL_AFTER: Duration = Duration::from_secs(5);

pub type Opener = Box<dyn FnOnce() -> Result<Box<dyn CaptureDevice>, Error> + Send>;

/// Opens the device on a new thread and streams frames into the returned receiver until the
/// receiver is dropped (the thread then closes the device within 200 ms) or the
/// device fails (the receiver then returns the error).
pub fn spawn(
    camera: &str,
    open: Opener,
    plan: CapturePlan,
) -> Result<(Receiver<CapturedFrame>, JoinHandle<()>), Error> {
    let (tx, rx) = queue::queue(QUEUE_FRAMES);
    let camera = camera.to_owned();
    let thread = std::thread::Builder::new()
        .name(format!("v4l2 {camera}"))
        .spawn(move || {
            let why = match capture(&camera, open, &plan, &tx) {
                Ok(()) => return,
                Err(e) => e,
            };
            tx.finish(why);
        })
        .map_err(|e| Error::internal(format!("cannot start a capture thread: {e}")))?;
    Ok((rx, thread))
}

/// The capture thread's body; returns `Ok` when the receiver went away.
fn capture(
    camera: &str,
    open: Opener,
    plan: &CapturePlan,
    tx: &Sender<CapturedFrame>,
) -> Result<(), Error> {
    let mut dev = open()?;
    let format = start_capture(dev.as_mut(), plan, camera)?;
    let interval = format
        .fps
        .or(plan.fps)
        .filter(|f| *f > 0.0 && f.is_finite());
    let stall_after = interval.map_or(STALL_AFTER, |fps| {
        STALL_AFTER.max(Duration::from_secs_f64(5.0 / fps))
    });
    let mut last_frame = Instant::now();
    let mut skipped: u64 = 0;
    while !tx.is_closed() {
        let Some(raw) = dev.next_frame(POLL_SLICE)? else {
            if last_frame.elapsed() >= stall_after {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the camera sent no frame for {} s; reopening it",
                        stall_after.as_secs()
                    ),
                ));
            }
            continue;
        };
        last_frame = Instant::now();
        let captured_at = to_system_time(raw.timestamp, monotonic_now(), SystemTime::now());
        let frame = CapturedFrame {
            data: raw.data,
            format,
            captured_at,
            sequence: raw.sequence,
            damaged: raw.damaged,
        };
        let dropped = tx.push(frame);
        if dropped > 0 {
            skipped += dropped as u64;
            // Powers of two: a hint in the log, not a line per frame.
            if skipped.is_power_of_two() {
                tracing::debug!(
                    camera,
                    skipped,
                    "frames skipped: publishing is slower than capture"
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::v4l2::fake::{FakeCamera, frame, int_control, offer};

    #[test]
    fn monotonic_stamps_become_wall_clock_time() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mono = Duration::from_secs(500);
        let stamp = DriverTimestamp::Monotonic(Duration::from_millis(499_750));
        assert_eq!(
            to_system_time(stamp, mono, now),
            now - Duration::from_millis(250)
        );
        // A stamp from the future (clock skew between cores) is "now", not later.
        let ahead = DriverTimestamp::Monotonic(Duration::from_secs(501));
        assert_eq!(to_system_time(ahead, mono, now), now);
        let real = DriverTimestamp::Realtime(Duration::from_secs(42));
        assert_eq!(
            to_system_time(real, mono, now),
            SystemTime::UNIX_EPOCH + Duration::from_secs(42)
        );
        assert_eq!(to_system_time(DriverTimestamp::None, mono, now), now);
        assert!(monotonic_now() > Duration::ZERO);
    }

    fn plan() -> CapturePlan {
        CapturePlan {
            size: None,
            fps: None,
            format: None,
            buffers: 4,
            controls: Vec::new(),
        }
    }

    #[test]
    fn the_format_is_chosen_from_the_offers_and_streaming_starts() {
        let cam = FakeCamera::new(vec![
            offer(PixelFormat::Yuyv, 640, 480, &[30.0]),
            offer(PixelFormat::Mjpeg, 640, 480, &[30.0]),
            offer(PixelFormat::Yuyv, 320, 240, &[30.0]),
        ]);
        let mut dev = cam.device();
        let mut p = plan();
        p.size = Some((320, 240));
        let actual = start_capture(&mut dev, &p, "cam").unwrap();
        assert_eq!((actual.format, actual.width), (PixelFormat::Yuyv, 320));
        let state = cam.state();
        assert_eq!(state.configured.len(), 1);
        assert_eq!(state.configured[0].format, PixelFormat::Yuyv);
        assert_eq!(state.buffers, 4);
        assert!(state.started);
    }

    #[test]
    fn a_configured_format_restricts_the_choice() {
        let cam = FakeCamera::new(vec![
            offer(PixelFormat::Mjpeg, 1280, 720, &[30.0]),
            offer(PixelFormat::Yuyv, 640, 480, &[30.0]),
        ]);
        let mut p = plan();
        p.format = Some(PixelFormat::Yuyv);
        let actual = start_capture(&mut cam.device(), &p, "cam").unwrap();
        assert_eq!((actual.format, actual.width), (PixelFormat::Yuyv, 640));

        p.format = Some(PixelFormat::Nv12);
        let err = start_capture(&mut cam.device(), &p, "cam").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.message()
                .contains("does not offer the configured format NV12")
                && err.message().contains("MJPG 1280x720"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_control_is_skipped_and_the_rest_applied() {
        let cam = FakeCamera::new(vec![offer(PixelFormat::Yuyv, 640, 480, &[])]);
        cam.state().controls = vec![
            int_control(1, "Brightness", 0, 255, 128),
            int_control(2, "Contrast", 0, 255, 128),
        ];
        let set: Vec<Assignment> = ["hue=3", "brightness=10", "contrast=999", "contrast=7"]
            .iter()
            .map(|s| controls::parse_assignment(s).unwrap())
            .collect();
        assert_eq!(apply_controls(&mut cam.device(), &set, "cam"), 2);
        assert_eq!(cam.state().set_calls, vec![(1, 10), (2, 7)]);
    }

    #[tokio::test]
    async fn the_thread_stops_when_the_receiver_is_dropped() {
        let cam = FakeCamera::new(vec![offer(PixelFormat::Grey, 2, 2, &[])]);
        cam.state().endless = Some(frame(vec![0; 4]));
        let (mut rx, thread) = spawn("cam", cam.opener(), plan()).unwrap();
        let first = rx.recv().await.unwrap();
        assert_eq!(first.format.format, PixelFormat::Grey);
        drop(rx);
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .unwrap()
            .unwrap();
        assert!(cam.state().dropped, "the device was closed");
    }

    #[tokio::test]
    async fn a_device_error_ends_the_receiver_with_it() {
        let cam = FakeCamera::new(vec![offer(PixelFormat::Grey, 2, 2, &[])]);
        cam.state().script.push_back(Err(Error::new(
            ErrorKind::Unavailable,
            "the camera was unplugged",
        )));
        let (mut rx, thread) = spawn("cam", cam.opener(), plan()).unwrap();
        let err = rx.recv().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("unplugged"));
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .unwrap()
            .unwrap();
    }
}
