//! The motion detector on synthetic camera sequences: a textured 1280x720 scene, encoded to
//! JPEG at q80 by Lookout's own encoder each frame and fed through `feed_jpeg` as a camera's
//! frames would be, 10 frames a second. Each test's name says the scores it measures, and it
//! asserts them: a moving object is motion and makes one event; sensor noise, the lights
//! going on and motion inside an exclude zone are not; an include zone sees only itself.

use lookout_core::RgbImage;
use lookout_core::jpeg::encode_rgb;
use lookout_core::motion::{
    EventEdge, FrameVerdict, GrayImage, MaskZone, MotionConfig, MotionDetector, MotionUpdate,
    ZoneKind,
};
use std::time::{Duration, Instant};

const W: u32 = 1280;
const H: u32 = 720;
/// 10 fps.
const FRAME_MS: u64 = 100;
/// The default `learning_frames` is 10: these many frames before anything is measured.
const SETTLE: usize = 12;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A still scene with texture everywhere (so there is something to detect against): gradients,
/// tiles of two shades, a few large "objects", all within 40..=210 so brightness can change.
fn scene() -> RgbImage {
    let mut img = RgbImage::new(W, H);
    for y in 0..H {
        for x in 0..W {
            let tile = if (x / 48 + y / 36) % 2 == 0 { 30 } else { 0 };
            let i = (y * W + x) as usize * 3;
            img.data[i] = (60 + x * 90 / W + tile) as u8;
            img.data[i + 1] = (70 + y * 80 / H + tile) as u8;
            img.data[i + 2] = (90 + (x + y) * 50 / (W + H) + tile / 2) as u8;
        }
    }
    img.fill_rect(100, 420, 300, 200, [150, 120, 90]); // a sofa
    img.fill_rect(900, 80, 200, 260, [200, 200, 180]); // a window
    img.fill_rect(560, 500, 120, 160, [70, 60, 50]); // a cupboard
    img
}

/// `img` with roughly Gaussian noise of standard deviation `sigma` levels on every channel.
fn with_noise(img: &RgbImage, rng: &mut Rng, sigma: f32) -> RgbImage {
    let mut out = img.clone();
    // The sum of 4 uniform bytes has a standard deviation of 147.8 around 510.
    let scale = sigma / 147.8;
    for v in &mut out.data {
        let r = rng.next();
        let sum = (r & 0xFF) + (r >> 8 & 0xFF) + (r >> 16 & 0xFF) + (r >> 24 & 0xFF);
        let n = (sum as f32 - 510.0) * scale;
        *v = (f32::from(*v) + n).round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// `img` with every channel scaled by `gain`: the lights.
fn brightness(img: &RgbImage, gain: f32) -> RgbImage {
    let mut out = img.clone();
    for v in &mut out.data {
        *v = (f32::from(*v) * gain).round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// A dark 160x160 square (1/4.5 of the height: a person a few metres away) at `x`, `y`.
fn with_square(img: &RgbImage, x: i64, y: i64) -> RgbImage {
    let mut out = img.clone();
    out.fill_rect(x, y, 160, 160, [25, 30, 35]);
    out
}

/// Feeds `frames` as JPEGs, 100 ms apart from `t0`, and returns every update.
fn feed(
    det: &mut MotionDetector,
    t0: Instant,
    frames: impl IntoIterator<Item = RgbImage>,
) -> Vec<MotionUpdate> {
    frames
        .into_iter()
        .enumerate()
        .map(|(i, img)| {
            let jpeg = encode_rgb(&img, 80).expect("encode");
            let at = t0 + Duration::from_millis(FRAME_MS * i as u64);
            det.feed_jpeg(&jpeg, at).expect("a valid JPEG")
        })
        .collect()
}

fn detector(config: MotionConfig) -> MotionDetector {
    MotionDetector::new(config).expect("valid config")
}

fn max_score(updates: &[MotionUpdate]) -> f32 {
    updates.iter().map(|u| u.score).fold(0.0, f32::max)
}

fn events(updates: &[MotionUpdate]) -> Vec<EventEdge> {
    updates.iter().filter_map(|u| u.event).collect()
}

/// Still frames with light noise (sigma 2, a well-lit camera), then `moving` frames with the
/// square crossing the scene 40 px a frame along `path(i)`, then `after` still frames.
fn moving_square_sequence(
    rng: &mut Rng,
    moving: usize,
    after: usize,
    path: impl Fn(usize) -> (i64, i64),
) -> Vec<RgbImage> {
    let base = scene();
    let mut frames = Vec::new();
    for _ in 0..SETTLE {
        frames.push(with_noise(&base, rng, 2.0));
    }
    for i in 0..moving {
        let (x, y) = path(i);
        frames.push(with_noise(&with_square(&base, x, y), rng, 2.0));
    }
    for _ in 0..after {
        frames.push(with_noise(&base, rng, 2.0));
    }
    frames
}

/// The square walks left to right through the middle of the picture, 40 px a frame. It covers
/// 25 600 of 921 600 pixels (2.8 %); measured: 2.92 % every frame (the 8x8 blocks it touches),
/// nothing left behind where it was.
#[test]
fn moving_square_scores_2_5_to_3_5_percent_starts_an_event_on_its_3rd_frame_and_ends_5_s_later() {
    let mut rng = Rng(1);
    let t0 = Instant::now();
    let mut det = detector(MotionConfig::default());
    let moving = 20;
    let frames = moving_square_sequence(&mut rng, moving, 60, |i| (100 + 40 * i as i64, 280));
    let updates = feed(&mut det, t0, frames);

    let still = &updates[SETTLE - 1..SETTLE];
    assert_eq!(
        still[0].verdict,
        FrameVerdict::Quiet,
        "settled before it moves"
    );
    let during = &updates[SETTLE..SETTLE + moving];
    for (i, u) in during.iter().enumerate() {
        println!("moving frame {i}: score {:.4}", u.score);
        assert!(u.motion, "frame {i}: {u:?}");
        assert!((0.025..=0.035).contains(&u.score), "frame {i}: {}", u.score);
    }
    let first_motion = t0 + Duration::from_millis(FRAME_MS * SETTLE as u64);
    let last_motion = first_motion + Duration::from_millis(FRAME_MS * (moving as u64 - 1));
    // min_frames = 3: the event starts with the 3rd moving frame, dated from the 1st.
    assert_eq!(
        updates[SETTLE + 2].event,
        Some(EventEdge::Start {
            started_at: first_motion
        })
    );
    let after = &updates[SETTLE + moving..];
    assert!(after.iter().all(|u| !u.motion), "the still scene after it");
    // Cooldown 5 s: the end comes with the first frame 5 s after the last motion.
    let end_index = SETTLE + moving - 1 + 50;
    let Some(EventEdge::End {
        started_at,
        last_motion_at,
        peak_score,
        motion_frames,
    }) = updates[end_index].event
    else {
        panic!("no end at frame {end_index}: {:?}", events(&updates));
    };
    assert_eq!((started_at, last_motion_at), (first_motion, last_motion));
    assert_eq!(motion_frames, moving as u32);
    assert!((0.025..=0.035).contains(&peak_score), "{peak_score}");
    assert_eq!(events(&updates).len(), 2, "one start, one end");
    println!(
        "moving square: scores {:.4}..{:.4}, peak {peak_score:.4}",
        during.iter().map(|u| u.score).fold(1.0, f32::min),
        max_score(during)
    );
}

/// Strong sensor noise, every frame afresh: sigma 10 levels on every channel (a dim webcam at
/// high gain), and sigma 20 (worse than any camera one would watch). Averaging 8x8 blocks
/// leaves about 1.3 and 2.5 levels, far under the 12-level floor: measured 0 for both.
#[test]
fn sensor_noise_sigma_10_and_20_scores_below_0_1_percent_and_makes_no_event() {
    for (sigma, seed) in [(10.0, 2), (20.0, 3)] {
        let mut rng = Rng(seed);
        let t0 = Instant::now();
        let mut det = detector(MotionConfig::default());
        let base = scene();
        let frames: Vec<RgbImage> = (0..60)
            .map(|_| with_noise(&base, &mut rng, sigma))
            .collect();
        let updates = feed(&mut det, t0, frames);
        let measured = &updates[SETTLE..];
        let worst = max_score(measured);
        println!(
            "noise sigma {sigma}: worst score {worst:.5}, noise level {:.2}, pixel threshold {:.1}",
            measured[measured.len() - 1].noise_level,
            measured[measured.len() - 1].pixel_threshold
        );
        assert!(worst < 0.001, "sigma {sigma}: {worst}");
        assert!(measured.iter().all(|u| u.verdict == FrameVerdict::Quiet));
        assert!(events(&updates).is_empty(), "sigma {sigma}");
    }
}

/// The automatic noise level at work: noise of sigma 6 levels directly on the analysed 160x90
/// picture (fed as grayscale, no averaging to hide it) with the fixed floor lowered to 1
/// level. The threshold rises to 5 x the median difference (measured: noise level 4.3,
/// threshold 21.7), so noise scores below 0.1 % (measured: 0), while a 12x12 block 60 levels
/// brighter moving across still scores 1.0 %.
#[test]
fn analysed_scale_noise_raises_the_threshold_scoring_below_0_1_percent_and_a_block_still_1_percent()
{
    let config = MotionConfig {
        min_pixel_threshold: 1,
        ..MotionConfig::default()
    };
    let mut det = detector(config);
    let mut rng = Rng(10);
    let t0 = Instant::now();
    let mut base = GrayImage::new(160, 90);
    for (i, p) in base.pixels_mut().iter_mut().enumerate() {
        *p = (70 + (i % 160) / 2 + (i / 160) % 30) as u8;
    }
    let noisy = |img: &GrayImage, rng: &mut Rng| {
        let mut out = img.clone();
        for v in out.pixels_mut() {
            let r = rng.next();
            let sum = (r & 0xFF) + (r >> 8 & 0xFF) + (r >> 16 & 0xFF) + (r >> 24 & 0xFF);
            let n = (sum as f32 - 510.0) * 6.0 / 147.8;
            *v = (f32::from(*v) + n).round().clamp(0.0, 255.0) as u8;
        }
        out
    };
    let at = |i: usize| t0 + Duration::from_millis(FRAME_MS * i as u64);
    let mut quiet = Vec::new();
    for i in 0..60 {
        quiet.push(det.feed(&noisy(&base, &mut rng), at(i)));
    }
    let measured = &quiet[30..];
    let last = measured[measured.len() - 1];
    println!(
        "analysed-scale noise: worst {:.5}, noise level {:.2}, threshold {:.1}",
        max_score(measured),
        last.noise_level,
        last.pixel_threshold
    );
    assert!(max_score(measured) < 0.001, "{}", max_score(measured));
    assert!((15.0..=30.0).contains(&last.pixel_threshold), "{last:?}");
    assert!(events(&quiet).is_empty());
    for i in 0..5 {
        let mut img = base.clone();
        let x = 20 + 20 * i as i64;
        let under = img.pixel(x as u32, 40);
        img.fill_rect(x, 40, 12, 12, under.saturating_add(60));
        let u = det.feed(&noisy(&img, &mut rng), at(60 + i));
        println!("block on noise: {:.4}", u.score);
        assert!((0.008..=0.012).contains(&u.score), "{u:?}");
        assert!(u.motion);
    }
}

/// The lights go on: the whole picture jumps from 45 % to full brightness in one frame, then,
/// as a camera's auto-exposure does, overshoots and settles over three more. The jump is a
/// global change (score 0), and so is the overshoot; learning follows, and no frame is motion
/// (measured: every score 0).
#[test]
fn lights_on_is_a_global_change_scoring_0_and_makes_no_event() {
    let mut rng = Rng(4);
    let t0 = Instant::now();
    let mut det = detector(MotionConfig::default());
    let base = scene();
    let mut frames = Vec::new();
    for _ in 0..SETTLE + 5 {
        frames.push(with_noise(&brightness(&base, 0.45), &mut rng, 2.0));
    }
    for gain in [1.0, 1.15, 1.08, 1.03] {
        frames.push(with_noise(&brightness(&base, gain), &mut rng, 2.0));
    }
    for _ in 0..30 {
        frames.push(with_noise(&base, &mut rng, 2.0));
    }
    let updates = feed(&mut det, t0, frames);
    let switch = SETTLE + 5;
    assert_eq!(updates[switch].verdict, FrameVerdict::GlobalChange);
    assert_eq!(updates[switch].score, 0.0);
    assert!(max_score(&updates) < 0.001, "{}", max_score(&updates));
    assert!(updates.iter().all(|u| !u.motion));
    assert!(events(&updates).is_empty());
    assert_eq!(updates[updates.len() - 1].verdict, FrameVerdict::Quiet);
    let verdicts: Vec<_> = updates[switch..switch + 6]
        .iter()
        .map(|u| u.verdict)
        .collect();
    println!(
        "lights on: verdicts {verdicts:?}, worst score {}",
        max_score(&updates)
    );
}

/// The lights go off: full brightness to 35 %.
#[test]
fn lights_off_is_a_global_change_scoring_0_and_makes_no_event() {
    let mut rng = Rng(5);
    let t0 = Instant::now();
    let mut det = detector(MotionConfig::default());
    let base = scene();
    let frames: Vec<RgbImage> = (0..SETTLE + 30)
        .map(|i| {
            let gain = if i < SETTLE + 5 { 1.0 } else { 0.35 };
            with_noise(&brightness(&base, gain), &mut rng, 2.0)
        })
        .collect();
    let updates = feed(&mut det, t0, frames);
    assert_eq!(updates[SETTLE + 5].verdict, FrameVerdict::GlobalChange);
    assert_eq!(max_score(&updates), 0.0);
    assert!(events(&updates).is_empty());
}

/// The square moves only inside an exclude zone over the left 40 % of the picture (a road, a
/// tree): it scores 0, exactly, and makes no event.
#[test]
fn motion_inside_an_exclude_zone_scores_0() {
    let mut rng = Rng(6);
    let t0 = Instant::now();
    let config = MotionConfig {
        zones: vec![MaskZone::rect(ZoneKind::Exclude, 0.0, 0.0, 0.4, 1.0)],
        ..MotionConfig::default()
    };
    let mut det = detector(config);
    // x from 40 to 300: the square's right edge stays at 460 px, left of 512 (0.4 x 1280).
    let frames = moving_square_sequence(&mut rng, 14, 5, |i| (40 + 20 * i as i64, 280));
    let updates = feed(&mut det, t0, frames);
    let worst = max_score(&updates);
    println!("inside the exclude zone: worst score {worst}");
    assert_eq!(worst, 0.0);
    assert!(events(&updates).is_empty());
}

/// A polygon include zone over the right half (a door), as the web page would draw it: the
/// square crossing it scores as a share of the zone, which is half the picture (measured:
/// 6.13 %, twice the 2.92 % it scores in the whole picture), and makes an event; the same walk
/// in the left half scores 0.
#[test]
fn motion_inside_an_include_zone_scores_5_to_7_percent_of_it_and_outside_it_0() {
    let door = MaskZone::include(vec![(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)]);
    let config = MotionConfig {
        zones: vec![door],
        ..MotionConfig::default()
    };

    let mut rng = Rng(7);
    let mut det = detector(config.clone());
    let inside = moving_square_sequence(&mut rng, 10, 0, |i| (700 + 40 * i as i64, 300));
    let updates = feed(&mut det, Instant::now(), inside);
    let scores: Vec<f32> = updates[SETTLE..].iter().map(|u| u.score).collect();
    println!("inside the include zone: {scores:.4?}");
    assert!(
        scores.iter().all(|s| (0.05..=0.07).contains(s)),
        "{scores:?}"
    );
    assert!(matches!(events(&updates)[..], [EventEdge::Start { .. }]));

    let mut det = detector(config);
    let outside = moving_square_sequence(&mut rng, 10, 0, |i| (40 + 30 * i as i64, 300));
    let updates = feed(&mut det, Instant::now(), outside);
    assert_eq!(max_score(&updates), 0.0);
    assert!(events(&updates).is_empty());
}

/// A cat: a 48x40 square (0.2 % of the picture) running across. It changes about 0.2 % of
/// the picture, under the 0.5 % threshold: seen, scored, not motion.
#[test]
fn small_object_scores_0_1_to_0_4_percent_below_the_0_5_percent_threshold() {
    let mut rng = Rng(9);
    let t0 = Instant::now();
    let mut det = detector(MotionConfig::default());
    let base = scene();
    let mut frames: Vec<RgbImage> = (0..SETTLE)
        .map(|_| with_noise(&base, &mut rng, 2.0))
        .collect();
    for i in 0..10 {
        let mut img = base.clone();
        img.fill_rect(200 + 60 * i, 600, 48, 40, [20, 20, 20]);
        frames.push(with_noise(&img, &mut rng, 2.0));
    }
    let updates = feed(&mut det, t0, frames);
    let scores: Vec<f32> = updates[SETTLE..].iter().map(|u| u.score).collect();
    println!("small object: {scores:.4?}");
    assert!(
        scores.iter().all(|s| (0.001..=0.004).contains(s)),
        "{scores:?}"
    );
    assert!(updates.iter().all(|u| !u.motion));
    assert!(events(&updates).is_empty());
}

/// Damaged frames between good ones are errors; the detector carries on as if they had not
/// come: still quiet, no event.
#[test]
fn damaged_frames_are_errors_and_leave_the_detector_quiet() {
    let mut rng = Rng(8);
    let t0 = Instant::now();
    let mut det = detector(MotionConfig::default());
    let base = scene();
    let good: Vec<Vec<u8>> = (0..SETTLE + 4)
        .map(|_| encode_rgb(&with_noise(&base, &mut rng, 2.0), 80).expect("encode"))
        .collect();
    for (i, jpeg) in good.iter().enumerate() {
        let at = t0 + Duration::from_millis(FRAME_MS * i as u64);
        let u = det.feed_jpeg(jpeg, at).expect("good frame");
        if i >= SETTLE {
            assert_eq!(u.verdict, FrameVerdict::Quiet);
        }
        let cut = &jpeg[..jpeg.len() * 2 / 3];
        assert!(det.feed_jpeg(cut, at).is_err(), "a frame cut short");
        let mut flipped = jpeg.clone();
        let mid = flipped.len() / 2;
        flipped[mid..mid + 64].fill(0xFF);
        if let Ok(u) = det.feed_jpeg(&flipped, at) {
            // Damage the decoder cannot see is at worst a picture with a smear in it.
            assert!(u.event.is_none(), "{u:?}");
        }
    }
    assert!(!det.event_active());
}
