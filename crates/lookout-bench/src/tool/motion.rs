//! `lookout-bench motion`: what motion detection costs per frame, one thread: reducing a JPEG
//! to the analysed picture (block means only, or a full luma decode and box average), the
//! detector on the reduced picture, and the two together as a camera would run them, at 720p
//! and 1080p, on sequences of synthetic camera frames with a moving square.

use super::stats::quantiles_ms;
use super::synthetic::{camera_like, read_image, smooth_camera_like};
use lookout_core::motion::{
    self, GrayImage, MotionConfig, MotionDetector, box_reduce, decode_luma, jpeg_block_means,
};
use lookout_core::{RgbImage, jpeg};
use std::hint::black_box;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The quality the frames are encoded at: the server's default.
const QUALITY: u8 = 80;
/// Distinct frames in each sequence; the timed runs cycle through them.
const FRAMES: usize = 24;

#[derive(Debug, clap::Args)]
pub struct MotionArgs {
    /// Timed frames for each row, after one untimed pass over the sequence.
    #[arg(long, default_value_t = 480)]
    pub iterations: usize,
    /// Also time a picture from a file: a JPEG is used as it is (e.g. a frame saved from a
    /// camera), a binary PPM is encoded at q80 first.
    #[arg(long, value_name = "PATH")]
    pub image: Option<PathBuf>,
}

/// A sequence of `FRAMES` frames: the scene with fresh noise each frame (`make(seed)`) and a
/// 1/8-of-the-height square moving across it.
fn sequence(width: u32, height: u32, make: impl Fn(u64) -> RgbImage) -> io::Result<Sequence> {
    let side = height / 8;
    let mut jpegs = Vec::with_capacity(FRAMES);
    let mut raw = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let mut img = make(i as u64 + 1);
        let x = i64::from(width / 10) + (i as i64) * i64::from(width / 40);
        img.fill_rect(x, i64::from(height / 3), side, side, [230, 220, 40]);
        let data = jpeg::encode_rgb(&img, QUALITY)
            .map_err(|e| io::Error::other(format!("encode: {e}")))?;
        jpegs.push(data);
        raw.push(img);
    }
    Ok(Sequence { jpegs, raw })
}

struct Sequence {
    jpegs: Vec<Vec<u8>>,
    raw: Vec<RgbImage>,
}

/// Times `op(i)` for i = 0..iterations after one untimed pass over `warmup` values of i:
/// median and p95 in milliseconds.
fn time(iterations: usize, warmup: usize, mut op: impl FnMut(usize) -> usize) -> (f64, f64) {
    for i in 0..warmup {
        black_box(op(i));
    }
    let secs = (0..iterations)
        .map(|i| {
            let t = Instant::now();
            black_box(op(i));
            t.elapsed().as_secs_f64()
        })
        .collect();
    match quantiles_ms(secs, &[0.5, 0.95])[..] {
        [Some(median), Some(p95)] => (median, p95),
        _ => (f64::NAN, f64::NAN),
    }
}

fn core_error(what: &str, e: lookout_core::Error) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// The rows for one sequence of JPEGs (and their RGB pixels when there are any).
fn rows_for(
    name: &str,
    jpegs: &[Vec<u8>],
    raw: &[RgbImage],
    n: usize,
) -> io::Result<Vec<(String, (f64, f64))>> {
    let config = MotionConfig::default();
    let first = jpeg::decode_rgb(&jpegs[0]).map_err(|e| core_error(name, e))?;
    let factor = motion::reduction_factor(first.width, first.height, config.reduce_to);
    let reduced: Vec<GrayImage> = jpegs
        .iter()
        .map(|j| motion::reduce_jpeg(j, config.reduce_to))
        .collect::<Result<_, _>>()
        .map_err(|e| core_error(name, e))?;
    let (rw, rh) = (reduced[0].width(), reduced[0].height());
    // Both reductions must give the same picture, or the fast one is timed doing something else.
    if let Ok(means) = jpeg_block_means(&jpegs[0]) {
        let full = decode_luma(&jpegs[0]).map_err(|e| core_error(name, e))?;
        let slow = box_reduce(&full, 8);
        let worst = means
            .pixels()
            .iter()
            .zip(slow.pixels())
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        if (means.width(), means.height()) != (slow.width(), slow.height())
            || worst.is_none_or(|w| w > 8)
        {
            return Err(io::Error::other(format!(
                "{name}: block means differ from the decoded luma by {worst:?} levels (if the \
                 JPEG has one scan per component: zune-jpeg 0.5.15 decodes those wrong, \
                 zune-image issue 422)"
            )));
        }
    }
    let k = jpegs.len();
    let size = format!("{}x{}", first.width, first.height);
    let to = format!("{rw}x{rh}");
    let mut rows = vec![(
        format!("{name} {size}: full RGB decode (for comparison)"),
        time(n, k, |i| {
            jpeg::decode_rgb(&jpegs[i % k]).map_or(0, |img| img.data.len())
        }),
    )];
    rows.push((
        format!("{name} {size}: luma decode + box → {to}"),
        time(n, k, |i| {
            decode_luma(&jpegs[i % k]).map_or(0, |g| box_reduce(&g, factor).pixels().len())
        }),
    ));
    if jpeg_block_means(&jpegs[0]).is_ok() {
        rows.push((
            format!("{name} {size}: block means (DC only) → {to}"),
            time(n, k, |i| {
                jpeg_block_means(&jpegs[i % k])
                    .map_or(0, |g| box_reduce(&g, (factor / 8).max(1)).pixels().len())
            }),
        ));
    }
    let t0 = Instant::now();
    let at = |i: usize| t0 + Duration::from_millis(100 * i as u64);
    let mut det = MotionDetector::new(config.clone()).map_err(|e| core_error(name, e))?;
    rows.push((
        format!("{name} {size}: detector alone on {to}"),
        time(n, 2 * k, |i| {
            det.feed(&reduced[i % k], at(i)).motion as usize
        }),
    ));
    let mut det = MotionDetector::new(config.clone()).map_err(|e| core_error(name, e))?;
    rows.push((
        format!("{name} {size}: **feed_jpeg: reduce + detect**"),
        time(n, 2 * k, |i| {
            det.feed_jpeg(&jpegs[i % k], at(i))
                .map_or(0, |u| u.motion as usize)
        }),
    ));
    if !raw.is_empty() {
        let mut det = MotionDetector::new(config).map_err(|e| core_error(name, e))?;
        rows.push((
            format!("{name} {size}: feed_rgb (raw pixels): reduce + detect"),
            time(n, 2 * k, |i| {
                det.feed_rgb(&raw[i % k], at(i))
                    .map_or(0, |u| u.motion as usize)
            }),
        ));
    }
    Ok(rows)
}

pub fn run(args: &MotionArgs) -> io::Result<()> {
    if args.iterations == 0 {
        return Err(io::Error::other("--iterations must be above 0"));
    }
    let n = args.iterations;
    let noisy720 = sequence(1280, 720, |s| camera_like(1280, 720, s))?;
    let smooth720 = sequence(1280, 720, |s| smooth_camera_like(1280, 720, s))?;
    let smooth1080 = sequence(1920, 1080, |s| smooth_camera_like(1920, 1080, s))?;
    let kb = |s: &Sequence| {
        s.jpegs.iter().map(Vec::len).sum::<usize>() as f64 / s.jpegs.len() as f64 / 1024.0
    };
    let mut rows = Vec::new();
    rows.extend(rows_for("noisy", &noisy720.jpegs, &noisy720.raw, n)?);
    rows.extend(rows_for("smooth", &smooth720.jpegs, &smooth720.raw, n)?);
    rows.extend(rows_for("smooth", &smooth1080.jpegs, &[], n)?);
    let mut file_note = None;
    if let Some(path) = &args.image {
        let data = std::fs::read(path)?;
        let name = path.display().to_string();
        let jpeg = if data.starts_with(&[0xFF, 0xD8]) {
            data
        } else {
            let img = read_image(path)?;
            jpeg::encode_rgb(&img, QUALITY).map_err(|e| core_error(&name, e))?
        };
        file_note = Some(format!("{name}: {:.1} KB", jpeg.len() as f64 / 1024.0));
        // One picture: the detector sees no motion, which is its common case.
        rows.extend(rows_for(&name, std::slice::from_ref(&jpeg), &[], n)?);
    }

    println!("machine: {}", super::procfs::machine());
    println!("backend: {}", jpeg::BACKEND);
    println!(
        "{n} timed frames a row, cycling through {FRAMES} frames (after one untimed pass), one \
         thread; default MotionConfig"
    );
    println!(
        "JPEG q{QUALITY} mean sizes: noisy 1280x720 {:.1} KB, smooth 1280x720 {:.1} KB, smooth \
         1920x1080 {:.1} KB",
        kb(&noisy720),
        kb(&smooth720),
        kb(&smooth1080)
    );
    println!(
        "frames: the jpeg bench's synthetic scenes with fresh noise each frame and a square of \
         1/8 of the height moving 1/40 of the width a frame"
    );
    if let Some(note) = file_note {
        println!("{note}");
    }
    println!();
    println!("| per frame | median ms | p95 ms |");
    println!("|---|---:|---:|");
    for (name, (median, p95)) in rows {
        println!("| {name} | {median:.3} | {p95:.3} |");
    }
    Ok(())
}
