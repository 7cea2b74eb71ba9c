//! `lookout-bench jpeg`: times what each frame costs the server with the compiled-in JPEG
//! backend (`--features turbojpeg` for libjpeg-turbo): encode, decode and resize at 720p and
//! 1080p, on synthetic camera-like images (a noisy worst case and a smoother one), and
//! optionally on a picture read from a file.

use super::procfs::process_cpu_seconds;
use super::stats::quantiles_ms;
use super::synthetic::{camera_like, read_image, smooth_camera_like};
use lookout_core::{RgbImage, jpeg, scale};
use std::hint::black_box;
use std::io;
use std::path::PathBuf;
use std::time::Instant;

/// The quality we time encoding at: the server's default.
const QUALITY: u8 = 80;

#[derive(Debug, clap::Args)]
pub struct JpegArgs {
    /// Timed runs of each operation, after one untimed warm-up run.
    #[arg(long, default_value_t = 30)]
    pub iterations: usize,
    /// Also time encoding and decoding this picture (a PPM or a JPEG, decoded to RGB first),
    /// e.g. a camera frame, or ffmpeg's test picture:
    /// `ffmpeg -f lavfi -i testsrc2=size=1920x1080 -frames:v 1 frame.ppm`.
    #[arg(long, value_name = "PATH")]
    pub image: Option<PathBuf>,
    /// Time in wall-clock time instead of the process's CPU time (which a busy machine
    /// disturbs less: another job taking the core does not count).
    #[arg(long)]
    pub wall: bool,
}

/// Runs `op` once untimed, then `iterations` times; the median and p90 in milliseconds of
/// the process's CPU time (`--wall` for wall time).
fn time<T>(iterations: usize, wall: bool, mut op: impl FnMut() -> T) -> (f64, f64) {
    black_box(op());
    let secs = (0..iterations)
        .map(|_| {
            if wall {
                let t = Instant::now();
                black_box(op());
                t.elapsed().as_secs_f64()
            } else {
                let t = process_cpu_seconds();
                black_box(op());
                process_cpu_seconds() - t
            }
        })
        .collect();
    match quantiles_ms(secs, &[0.5, 0.9])[..] {
        [Some(median), Some(p90)] => (median, p90),
        _ => (f64::NAN, f64::NAN),
    }
}

fn core_error(what: &str, e: lookout_core::Error) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// Encodes `img` and checks the round trip once, so a broken backend is not timed as a fast one.
fn checked_encode(img: &RgbImage, what: &str) -> io::Result<Vec<u8>> {
    let data =
        jpeg::encode_rgb(img, QUALITY).map_err(|e| core_error(&format!("encode {what}"), e))?;
    let back = jpeg::decode_rgb(&data).map_err(|e| core_error(&format!("decode {what}"), e))?;
    if (back.width, back.height) != (img.width, img.height) {
        return Err(io::Error::other(format!(
            "{what}: decoded size differs from the encoded image"
        )));
    }
    Ok(data)
}

pub fn run(args: &JpegArgs) -> io::Result<()> {
    if args.iterations == 0 {
        return Err(io::Error::other("--iterations must be above 0"));
    }
    let n = args.iterations;
    let wall = args.wall;
    let img720 = camera_like(1280, 720, 1);
    let img1080 = camera_like(1920, 1080, 2);
    let smooth720 = smooth_camera_like(1280, 720, 1);
    let smooth1080 = smooth_camera_like(1920, 1080, 2);
    let file = match &args.image {
        Some(path) => Some((path.display().to_string(), read_image(path)?)),
        None => None,
    };
    let jpeg720 = checked_encode(&img720, "720p")?;
    let jpeg1080 = checked_encode(&img1080, "1080p")?;
    let smooth_jpeg720 = checked_encode(&smooth720, "smooth 720p")?;
    let smooth_jpeg1080 = checked_encode(&smooth1080, "smooth 1080p")?;
    let file_jpeg = match &file {
        Some((name, img)) => Some(checked_encode(img, name)?),
        None => None,
    };

    let encode = |img: &RgbImage| jpeg::encode_rgb(img, QUALITY).map(|j| j.len()).unwrap_or(0);
    // The encoder the default build used before its own (jpeg-encoder 0.7, AVX2), same settings.
    let encode_before = |img: &RgbImage| {
        let mut out = Vec::with_capacity(img.data.len() / 8);
        let mut enc = jpeg_encoder::Encoder::new(&mut out, QUALITY);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        enc.encode(
            &img.data,
            img.width as u16,
            img.height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .map(|()| out.len())
        .unwrap_or(0)
    };
    // A `?width=` variant of a JPEG camera as the server makes it: decode, resize, encode.
    // "before" is how it was made before: full decode, resize, jpeg-encoder (to compare in
    // one run); "full decode + reduce" as round 2 made it: full decode, reduce by 2/4/8,
    // resize the rest, our encoder; "after" as now: the same with the decode straight to
    // 1/2, 1/4 or 1/8 (`decode_rgb_at_least`).
    let resize_encode = |img: RgbImage, w: u32, h: u32| {
        if (img.width, img.height) == (w, h) {
            jpeg::encode_rgb(&img, QUALITY)
        } else {
            jpeg::encode_rgb(&scale::resize(&img, w, h), QUALITY)
        }
    };
    let variant_full = |data: &[u8], w: u32, h: u32| {
        jpeg::decode_rgb(data)
            .map(|img| encode_before(&scale::resize(&img, w, h)))
            .unwrap_or(0)
    };
    // Round 2's path, before the scaled decode: full decode, reduce by 2/4/8, resize, encode.
    let variant_full_reduce = |data: &[u8], w: u32, h: u32| {
        jpeg::decode_rgb(data)
            .map(
                |img| match scale::reduction_for(img.width, img.height, w, h) {
                    Some(factor) => scale::reduce(&img, factor),
                    None => img,
                },
            )
            .and_then(|img| resize_encode(img, w, h))
            .map(|j| j.len())
            .unwrap_or(0)
    };
    let variant_scaled = |data: &[u8], w: u32, h: u32| {
        jpeg::decode_rgb_at_least(data, w, h)
            .and_then(|img| resize_encode(img, w, h))
            .map(|j| j.len())
            .unwrap_or(0)
    };
    let decode = |data: &[u8]| jpeg::decode_rgb(data).map(|i| i.data.len()).unwrap_or(0);
    let mut rows = vec![
        (
            "encode q80 1280x720 noisy, jpeg-encoder 0.7 (before)".to_owned(),
            time(n, wall, || encode_before(&img720)),
        ),
        (
            "encode q80 1280x720 smooth, jpeg-encoder 0.7 (before)".to_owned(),
            time(n, wall, || encode_before(&smooth720)),
        ),
        (
            "encode q80 1920x1080 smooth, jpeg-encoder 0.7 (before)".to_owned(),
            time(n, wall, || encode_before(&smooth1080)),
        ),
        (
            "encode q80 1280x720 noisy".to_owned(),
            time(n, wall, || encode(&img720)),
        ),
        (
            "encode q80 1920x1080 noisy".to_owned(),
            time(n, wall, || encode(&img1080)),
        ),
        (
            "encode q80 1280x720 smooth".to_owned(),
            time(n, wall, || encode(&smooth720)),
        ),
        (
            "encode q80 1920x1080 smooth".to_owned(),
            time(n, wall, || encode(&smooth1080)),
        ),
    ];
    if let (Some((name, img)), Some(data)) = (&file, &file_jpeg) {
        let size = format!("{}x{}", img.width, img.height);
        rows.push((
            format!("encode q80 {size} {name}"),
            time(n, wall, || encode(img)),
        ));
        rows.push((
            format!("decode {size} {name}"),
            time(n, wall, || decode(data)),
        ));
    }
    let mut variants = vec![
        ("1280x720 noisy", &jpeg720, 640, 360),
        ("1280x720 noisy", &jpeg720, 480, 270),
        ("1280x720 smooth", &smooth_jpeg720, 640, 360),
        ("1920x1080 smooth", &smooth_jpeg1080, 640, 360),
    ];
    // A JPEG file's own bytes (a camera's frame, with its encoder's tables), else our encode.
    let file_bytes = match &args.image {
        Some(path) if jpeg::inspect(&std::fs::read(path)?).is_ok() => Some(std::fs::read(path)?),
        _ => file_jpeg.clone(),
    };
    if let (Some((name, img)), Some(data)) = (&file, &file_bytes) {
        variants.push((name.as_str(), data, img.width / 2, img.height / 2));
    }
    for (name, data, w, h) in variants {
        rows.push((
            format!("variant {name} → {w}x{h}, before"),
            time(n, wall, || variant_full(data, w, h)),
        ));
        rows.push((
            format!("variant {name} → {w}x{h}, full decode + reduce"),
            time(n, wall, || variant_full_reduce(data, w, h)),
        ));
        rows.push((
            format!("variant {name} → {w}x{h}, after"),
            time(n, wall, || variant_scaled(data, w, h)),
        ));
    }
    rows.extend([
        (
            "decode 1280x720 noisy".to_owned(),
            time(n, wall, || decode(&jpeg720)),
        ),
        (
            "decode 1280x720 noisy to ≥ 640x360 (decode_rgb_at_least: 1/2)".to_owned(),
            time(n, wall, || {
                jpeg::decode_rgb_at_least(&jpeg720, 640, 360)
                    .map(|i| i.data.len())
                    .unwrap_or(0)
            }),
        ),
        (
            "decode 1280x720 smooth to ≥ 640x360 (decode_rgb_at_least: 1/2)".to_owned(),
            time(n, wall, || {
                jpeg::decode_rgb_at_least(&smooth_jpeg720, 640, 360)
                    .map(|i| i.data.len())
                    .unwrap_or(0)
            }),
        ),
        (
            "decode 1920x1080 noisy".to_owned(),
            time(n, wall, || decode(&jpeg1080)),
        ),
        (
            "decode 1280x720 smooth".to_owned(),
            time(n, wall, || decode(&smooth_jpeg720)),
        ),
        (
            "decode 1920x1080 smooth".to_owned(),
            time(n, wall, || decode(&smooth_jpeg1080)),
        ),
        (
            "resize 1920x1080 → 640x360".to_owned(),
            time(n, wall, || scale::resize(&img1080, 640, 360)),
        ),
        (
            "resize 1280x720 → 640x360".to_owned(),
            time(n, wall, || scale::resize(&img720, 640, 360)),
        ),
    ]);

    println!("machine: {}", super::procfs::machine());
    println!("backend: {}", jpeg::BACKEND);
    println!(
        "iterations: {n} (after one warm-up), one thread; times are {}",
        if wall {
            "wall clock"
        } else {
            "the process's CPU time (all threads)"
        }
    );
    let kb = |j: &[u8]| j.len() as f64 / 1024.0;
    println!(
        "JPEG q{QUALITY} sizes: noisy 1280x720 {:.1} KB, 1920x1080 {:.1} KB; smooth 1280x720 \
         {:.1} KB, 1920x1080 {:.1} KB",
        kb(&jpeg720),
        kb(&jpeg1080),
        kb(&smooth_jpeg720),
        kb(&smooth_jpeg1080),
    );
    println!(
        "noisy: synthetic, gradients + hard-edged blocks + about ±12 per-pixel noise (a dim \
         webcam, worst case); smooth: synthetic, gradients + soft discs + about ±2 noise"
    );
    if let (Some((name, img)), Some(data)) = (&file, &file_jpeg) {
        println!(
            "{name}: {}x{}, {:.1} KB at q{QUALITY}",
            img.width,
            img.height,
            kb(data)
        );
    }
    println!();
    println!("| operation | median ms | p90 ms |");
    println!("|---|---:|---:|");
    for (name, (median, p90)) in rows {
        println!("| {name} | {median:.2} | {p90:.2} |");
    }
    Ok(())
}
