//! The motion detector: background, difference, noise level, despeckle, score, light switch
//! and events, on one small grayscale picture a frame (the algorithm is in the module docs).

use super::events::{EventEdge, EventTracker};
use super::gray;
use super::gray_image::GrayImage;
use super::zones::{self, MaskZone};
use crate::{Error, ErrorKind, Frame, FrameKind, RgbImage};
use std::time::{Duration, Instant};

/// How a camera's motion is detected. [`Default`] gives values that suit a 720p or 1080p
/// camera at 5 to 30 fps; only `zones` usually needs setting.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionConfig {
    /// A frame has motion when at least this fraction of the watched area changed (after
    /// despeckling). Default 0.005 (0.5 %).
    pub threshold_fraction: f32,
    /// Consecutive frames with motion before an event starts. Default 3.
    pub min_frames: u32,
    /// An event ends once no frame has had motion for this long. Default 5 s.
    pub cooldown: Duration,
    /// Where motion counts; empty (the default) watches the whole picture.
    pub zones: Vec<MaskZone>,
    /// Frames are analysed reduced by a power of two that keeps their longer side at least
    /// this long. Default 160: 1280x720 is analysed at 160x90, 1920x1080 at 240x135.
    pub reduce_to: u32,
    /// How fast the background follows the picture, per analysed frame (an exponential moving
    /// average); changed pixels follow at a quarter of it, so something that stops moving
    /// fades into the background after 4 to 10 / alpha frames (80 to 200 at the default, 3 to
    /// 7 s at 30 fps), the more contrast the longer. Default 0.05.
    pub background_alpha: f32,
    /// A pixel changed when it differs from the background by more than this many times the
    /// noise level (a running median of the differences), and at least `min_pixel_threshold`.
    /// Default 5, about 3.4 standard deviations of Gaussian noise.
    pub noise_multiplier: f32,
    /// The smallest difference, in levels of 255, that counts as a change. Default 12.
    pub min_pixel_threshold: u8,
    /// A changed pixel counts only if at least this many of its 8 neighbours changed too
    /// (0 to 8; 0 keeps every pixel). Default 2: isolated pixels and pairs are noise.
    pub despeckle_neighbours: u8,
    /// A change of more than this fraction of the watched area is the lights, not motion: the
    /// background is reset to the new picture. Default 0.6.
    pub light_switch_fraction: f32,
    /// A jump of the mean brightness of the watched area by more than this many levels is also
    /// a global change. Default 30.
    pub light_switch_levels: u8,
    /// Frames after a start, a size change or a global change during which the background is
    /// learnt (fast) and no motion is reported. Default 10.
    pub learning_frames: u32,
}

impl Default for MotionConfig {
    fn default() -> Self {
        Self {
            threshold_fraction: 0.005,
            min_frames: 3,
            cooldown: Duration::from_secs(5),
            zones: Vec::new(),
            reduce_to: 160,
            background_alpha: 0.05,
            noise_multiplier: 5.0,
            min_pixel_threshold: 12,
            despeckle_neighbours: 2,
            light_switch_fraction: 0.6,
            light_switch_levels: 30,
            learning_frames: 10,
        }
    }
}

impl MotionConfig {
    /// Checks every field; the error names the field and its range.
    pub fn validate(&self) -> Result<(), Error> {
        let fraction = |name: &str, v: f32| {
            if v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "motion {name} must be above 0 and at most 1, not {v}"
                )))
            }
        };
        fraction("threshold_fraction", self.threshold_fraction)?;
        fraction("background_alpha", self.background_alpha)?;
        fraction("light_switch_fraction", self.light_switch_fraction)?;
        if self.min_frames == 0 {
            return Err(Error::invalid("motion min_frames must be at least 1"));
        }
        if !(self.noise_multiplier >= 0.0 && self.noise_multiplier <= 100.0) {
            return Err(Error::invalid(format!(
                "motion noise_multiplier must be 0 to 100, not {}",
                self.noise_multiplier
            )));
        }
        if self.despeckle_neighbours > 8 {
            return Err(Error::invalid(format!(
                "motion despeckle_neighbours must be 0 to 8, not {}",
                self.despeckle_neighbours
            )));
        }
        if !(16..=crate::jpeg::MAX_SIDE).contains(&self.reduce_to) {
            return Err(Error::invalid(format!(
                "motion reduce_to must be 16 to {}, not {}",
                crate::jpeg::MAX_SIDE,
                self.reduce_to
            )));
        }
        self.zones.iter().try_for_each(MaskZone::validate)
    }
}

/// What the detector made of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameVerdict {
    /// The background is being learnt (after a start, a size change or a global change).
    Learning,
    /// Below the threshold.
    Quiet,
    /// At or above the threshold.
    Motion,
    /// Most of the picture changed at once (lights, exposure, the camera moved): not motion;
    /// the background starts again from this frame.
    GlobalChange,
}

/// The result of [`MotionDetector::feed`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionUpdate {
    /// Fraction of the watched area that changed, after despeckling, 0 to 1. 0 while learning
    /// and on a global change.
    pub score: f32,
    /// `score` reached `threshold_fraction` (and the frame is not a global change).
    pub motion: bool,
    pub verdict: FrameVerdict,
    /// An event started or ended with this frame.
    pub event: Option<EventEdge>,
    /// This frame's score is the best of the event so far (or of the run of motion frames that
    /// may become one): keep its picture as the event's snapshot.
    pub peak: bool,
    /// The per-pixel difference, in levels, that counted as a change in this frame.
    pub pixel_threshold: f32,
    /// The noise level: the running median of per-pixel differences, in levels.
    pub noise_level: f32,
}

/// Fixed-point background: levels times 256.
const ONE: i32 = 256;
/// Histogram of differences in 1/16 levels, up to 64 levels: the median stays below that for
/// any sane camera, and a larger one is clamped to the top bin.
const HIST_BINS: usize = 1024;
/// Weight of the frame in the background while learning: it follows within a few frames.
const LEARNING_ALPHA: i32 = ONE / 2;
/// Weight of a new noise sample once 16 have been averaged.
const NOISE_RATE: f32 = 0.05;

/// Detects motion in one camera's frames. Feed it every frame (or every n-th: its settings are
/// per analysed frame) on a blocking thread: about 0.05 ms a 720p frame once reduced; see
/// [`reduce_jpeg`](super::reduce_jpeg) for the reduction's cost.
#[derive(Clone)]
pub struct MotionDetector {
    config: MotionConfig,
    alpha: i32,
    alpha_changed: i32,
    size: Option<(u32, u32)>,
    /// 1 for each watched pixel.
    mask: Vec<u8>,
    watched: u32,
    background: Vec<u16>,
    /// Changed pixels, with a border of one pixel so neighbours never need a bounds check.
    changed: Vec<u8>,
    noise: f32,
    noise_samples: u32,
    learning_left: u32,
    events: EventTracker,
}

/// Compact: the per-pixel buffers are left out, a log line would be 40 KB of numbers.
impl std::fmt::Debug for MotionDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotionDetector")
            .field("size", &self.size)
            .field("watched", &self.watched)
            .field("noise", &self.noise)
            .field("learning_left", &self.learning_left)
            .field("event_active", &self.events.active())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MotionDetector {
    pub fn new(config: MotionConfig) -> Result<Self, Error> {
        config.validate()?;
        let alpha = ((config.background_alpha * ONE as f32).round() as i32).clamp(1, ONE);
        Ok(Self {
            alpha,
            alpha_changed: (alpha / 4).max(1),
            size: None,
            mask: Vec::new(),
            watched: 0,
            background: Vec::new(),
            changed: Vec::new(),
            noise: 0.0,
            noise_samples: 0,
            learning_left: 0,
            events: EventTracker::new(config.min_frames, config.cooldown),
            config,
        })
    }

    pub fn config(&self) -> &MotionConfig {
        &self.config
    }

    /// The analysed picture's size, once a frame has been fed.
    pub fn analysed_size(&self) -> Option<(u32, u32)> {
        self.size
    }

    /// Whether an event is going on.
    pub fn event_active(&self) -> bool {
        self.events.active()
    }

    /// Analyses a JPEG frame taken at `at` (reduced with [`super::reduce_jpeg`]). A damaged
    /// JPEG is an error of kind `Corrupt` and leaves the detector as it was.
    pub fn feed_jpeg(&mut self, jpeg: &[u8], at: Instant) -> Result<MotionUpdate, Error> {
        let image = gray::reduce_jpeg(jpeg, self.config.reduce_to)?;
        Ok(self.feed(&image, at))
    }

    /// Analyses RGB pixels taken at `at`, for sources that have them (no decode needed).
    pub fn feed_rgb(&mut self, image: &RgbImage, at: Instant) -> Result<MotionUpdate, Error> {
        let image = gray::reduce_rgb(image, self.config.reduce_to)?;
        Ok(self.feed(&image, at))
    }

    /// Analyses a hub frame: its raw pixels when the source had them, else its JPEG. A
    /// "no signal" card is refused (kind `InvalidInput`): call [`poll`](Self::poll) instead.
    pub fn feed_frame(&mut self, frame: &Frame, at: Instant) -> Result<MotionUpdate, Error> {
        if frame.kind != FrameKind::Live {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a no-signal card is not a camera picture",
            ));
        }
        match &frame.raw {
            Some(raw) => self.feed_rgb(raw, at),
            None => self.feed_jpeg(&frame.jpeg, at),
        }
    }

    /// Ends the event if no motion came for the cooldown by `at`: for when frames stop coming.
    pub fn poll(&mut self, at: Instant) -> Option<EventEdge> {
        self.events.poll(at)
    }

    /// Ends the event now, if there is one (the camera went away, detection is switched off).
    pub fn finish(&mut self) -> Option<EventEdge> {
        self.events.finish()
    }

    /// Forgets the background and noise level: the next frame starts learning again. An event
    /// going on is kept and ends by its cooldown.
    pub fn reset(&mut self) {
        self.size = None;
    }

    /// Analyses one reduced picture taken at `at`. Any size works; a change of size starts
    /// learning again. Pictures should come reduced (see [`super::reduce_jpeg`]): the cost is
    /// proportional to the pixel count.
    pub fn feed(&mut self, image: &GrayImage, at: Instant) -> MotionUpdate {
        let (w, h) = (image.width(), image.height());
        if self.size != Some((w, h)) {
            self.start_size(w, h);
            self.seed(image);
            let threshold = self.pixel_threshold();
            return self.update(FrameVerdict::Learning, 0.0, threshold, at);
        }
        let threshold = self.pixel_threshold();
        // Fixed point, and strictly above: a flat scene with no noise never "changes" by 0.
        let threshold_fixed = (threshold * ONE as f32) as u32;
        let mut hist = [0u32; HIST_BINS];
        let (mut changed_count, mut sum_frame, mut sum_background) = (0u32, 0u64, 0u64);
        let stride = w as usize + 2;
        let rows = image.pixels().chunks_exact(w as usize);
        for (y, row) in rows.enumerate() {
            let start = y * w as usize;
            let mask = &self.mask[start..start + w as usize];
            let background = &self.background[start..start + w as usize];
            let changed = &mut self.changed[(y + 1) * stride + 1..][..w as usize];
            for (((&p, &m), &b), c) in row.iter().zip(mask).zip(background).zip(changed) {
                let d = (u32::from(p) << 8).abs_diff(u32::from(b));
                let is_changed = m != 0 && d > threshold_fixed;
                *c = u8::from(is_changed);
                changed_count += u32::from(is_changed);
                if m != 0 {
                    hist[((d >> 4) as usize).min(HIST_BINS - 1)] += 1;
                    sum_frame += u64::from(p);
                    sum_background += u64::from(b);
                }
            }
        }
        if self.watched == 0 {
            // Everything is masked out: nothing can move.
            self.update_background(image, false);
            return self.update(FrameVerdict::Quiet, 0.0, threshold, at);
        }
        let watched = self.watched as f32;
        let learning = self.learning_left > 0;
        let mean_jump = (sum_frame as f32 - sum_background as f32 / ONE as f32).abs() / watched;
        // The changed-area rule waits for learning to end: until the noise level is known, a
        // noisy picture would look all changed, be taken for a light switch, and the noise level
        // (not learnt from global changes) would never be learnt. Learning follows the picture
        // fast anyway.
        if (!learning && changed_count as f32 / watched > self.config.light_switch_fraction)
            || mean_jump > f32::from(self.config.light_switch_levels)
        {
            self.seed(image);
            return self.update(FrameVerdict::GlobalChange, 0.0, threshold, at);
        }
        let kept = self.despeckle(w as usize, h as usize);
        let score = kept as f32 / watched;
        self.update_noise(&hist);
        self.update_background(image, learning);
        if learning {
            self.learning_left -= 1;
            return self.update(FrameVerdict::Learning, 0.0, threshold, at);
        }
        let verdict = if score >= self.config.threshold_fraction {
            FrameVerdict::Motion
        } else {
            FrameVerdict::Quiet
        };
        self.update(verdict, score, threshold, at)
    }

    fn pixel_threshold(&self) -> f32 {
        (self.config.noise_multiplier * self.noise).max(f32::from(self.config.min_pixel_threshold))
    }

    fn update(
        &mut self,
        verdict: FrameVerdict,
        score: f32,
        pixel_threshold: f32,
        at: Instant,
    ) -> MotionUpdate {
        let motion = verdict == FrameVerdict::Motion;
        let step = self.events.step(motion, score, at);
        MotionUpdate {
            score,
            motion,
            verdict,
            event: step.edge,
            peak: step.peak,
            pixel_threshold,
            noise_level: self.noise,
        }
    }

    /// A new picture size: the mask for it, empty state.
    fn start_size(&mut self, w: u32, h: u32) {
        let n = w as usize * h as usize;
        self.size = Some((w, h));
        self.mask = zones::rasterize(&self.config.zones, w, h);
        self.watched = self.mask.iter().map(|&m| u32::from(m)).sum();
        self.background = vec![0; n];
        self.changed = vec![0; (w as usize + 2) * (h as usize + 2)];
        self.noise = 0.0;
        self.noise_samples = 0;
    }

    /// Takes `image` as the whole background and starts learning.
    fn seed(&mut self, image: &GrayImage) {
        for (b, &p) in self.background.iter_mut().zip(image.pixels()) {
            *b = u16::from(p) << 8;
        }
        self.learning_left = self.config.learning_frames;
    }

    /// Keeps changed pixels with at least `despeckle_neighbours` changed neighbours; their
    /// count.
    fn despeckle(&self, w: usize, h: usize) -> u32 {
        let need = self.config.despeckle_neighbours;
        let stride = w + 2;
        let c = &self.changed;
        let mut kept = 0;
        for y in 1..=h {
            for x in 1..=w {
                let i = y * stride + x;
                if c[i] == 0 {
                    continue;
                }
                let neighbours = c[i - stride - 1]
                    + c[i - stride]
                    + c[i - stride + 1]
                    + c[i - 1]
                    + c[i + 1]
                    + c[i + stride - 1]
                    + c[i + stride]
                    + c[i + stride + 1];
                kept += u32::from(neighbours >= need);
            }
        }
        kept
    }

    /// A new noise sample: the median difference of this frame's watched pixels.
    fn update_noise(&mut self, hist: &[u32; HIST_BINS]) {
        let half = self.watched.div_ceil(2);
        let mut seen = 0;
        let mut median = HIST_BINS - 1;
        for (bin, &count) in hist.iter().enumerate() {
            seen += count;
            if seen >= half {
                median = bin;
                break;
            }
        }
        let sample = (median as f32 + 0.5) / 16.0;
        // The first samples are averaged, then followed with a time constant of 20 frames.
        self.noise_samples = self.noise_samples.saturating_add(1);
        let rate = (1.0 / self.noise_samples as f32).max(NOISE_RATE);
        self.noise += rate * (sample - self.noise);
    }

    fn update_background(&mut self, image: &GrayImage, learning: bool) {
        let (alpha, alpha_changed) = if learning {
            (LEARNING_ALPHA, LEARNING_ALPHA)
        } else {
            (self.alpha, self.alpha_changed)
        };
        let w = image.width() as usize;
        let stride = w + 2;
        for (y, row) in image.pixels().chunks_exact(w).enumerate() {
            let background = &mut self.background[y * w..(y + 1) * w];
            let changed = &self.changed[(y + 1) * stride + 1..][..w];
            for ((b, &p), &c) in background.iter_mut().zip(row).zip(changed) {
                let a = if c != 0 { alpha_changed } else { alpha };
                let diff = (i32::from(p) << 8) - i32::from(*b);
                *b = (i32::from(*b) + ((diff * a + ONE / 2) >> 8)).clamp(0, 255 << 8) as u16;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::ZoneKind;

    /// A textured 160x90 scene.
    fn scene() -> GrayImage {
        let mut img = GrayImage::new(160, 90);
        for (i, p) in img.pixels_mut().iter_mut().enumerate() {
            let (x, y) = (i % 160, i / 160);
            *p = (60 + (x * 13 + y * 7) % 90 + if (x / 10 + y / 10) % 2 == 0 { 40 } else { 0 })
                as u8;
        }
        img
    }

    fn frames(det: &mut MotionDetector, t0: Instant, n: u32, img: &GrayImage) -> MotionUpdate {
        let mut last = None;
        for i in 0..n {
            last = Some(det.feed(img, t0 + Duration::from_millis(100 * u64::from(i))));
        }
        last.expect("n > 0")
    }

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(MotionConfig::default().validate().is_ok());
        let bad = MotionConfig {
            threshold_fraction: 0.0,
            ..MotionConfig::default()
        };
        assert!(
            MotionDetector::new(bad)
                .unwrap_err()
                .message()
                .contains("threshold_fraction")
        );
        let nan = MotionConfig {
            noise_multiplier: f32::NAN,
            ..MotionConfig::default()
        };
        assert!(nan.validate().is_err());
        let zone = MotionConfig {
            zones: vec![MaskZone::include(vec![(0.0, 0.0)])],
            ..MotionConfig::default()
        };
        assert!(zone.validate().is_err());
    }

    #[test]
    fn learns_first_then_reports_quiet_on_a_still_scene() {
        let mut det = MotionDetector::new(MotionConfig::default()).expect("valid");
        let t0 = Instant::now();
        let img = scene();
        assert_eq!(det.feed(&img, t0).verdict, FrameVerdict::Learning);
        let u = frames(&mut det, t0, 10, &img);
        assert_eq!(
            u.verdict,
            FrameVerdict::Learning,
            "10 learning frames follow the first"
        );
        let u = det.feed(&img, t0 + Duration::from_secs(2));
        assert_eq!((u.verdict, u.score), (FrameVerdict::Quiet, 0.0));
        assert_eq!(u.pixel_threshold, 12.0);
    }

    #[test]
    fn a_block_is_motion_a_lone_pixel_is_not() {
        let mut det = MotionDetector::new(MotionConfig::default()).expect("valid");
        let t0 = Instant::now();
        let img = scene();
        frames(&mut det, t0, 12, &img);
        let mut speck = img.clone();
        speck.fill_rect(50, 50, 1, 1, 255);
        speck.fill_rect(80, 20, 2, 1, 0);
        let u = det.feed(&speck, t0 + Duration::from_secs(2));
        assert_eq!(u.score, 0.0, "despeckled");
        let mut block = img.clone();
        block.fill_rect(50, 30, 12, 12, 250);
        let u = det.feed(&block, t0 + Duration::from_secs(3));
        assert!(u.motion, "{u:?}");
        // 144 pixels of 14400, minus the few whose value was already near 250.
        assert!((0.008..=0.0101).contains(&u.score), "{}", u.score);
    }

    #[test]
    fn size_change_starts_learning_and_everything_masked_is_quiet() {
        let config = MotionConfig {
            zones: vec![MaskZone::rect(ZoneKind::Exclude, 0.0, 0.0, 1.0, 1.0)],
            ..MotionConfig::default()
        };
        let mut det = MotionDetector::new(config).expect("valid");
        let t0 = Instant::now();
        frames(&mut det, t0, 12, &scene());
        let mut moved = scene();
        moved.fill_rect(0, 0, 160, 45, 255);
        let u = det.feed(&moved, t0 + Duration::from_secs(2));
        assert_eq!((u.verdict, u.score), (FrameVerdict::Quiet, 0.0));
        let u = det.feed(&GrayImage::new(7, 3), t0 + Duration::from_secs(3));
        assert_eq!(u.verdict, FrameVerdict::Learning);
        assert_eq!(det.analysed_size(), Some((7, 3)));
    }

    #[test]
    fn bad_jpeg_is_an_error_and_changes_nothing() {
        let mut det = MotionDetector::new(MotionConfig::default()).expect("valid");
        let err = det
            .feed_jpeg(b"\xFF\xD8garbage", Instant::now())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert_eq!(det.analysed_size(), None);
    }
}
