//! `lookout-bench jpeg`: times what each frame costs the server with the compiled-in JPEG
//! backend (`--features turbojpeg` for libjpeg-turbo): encode, decode and resize at 720p and
//! 1080p, on synthetic camera-like images.

use super::stats::quantiles_ms;
use super::synthetic::camera_like;
use lookout_core::{RgbImage, jpeg, scale};
use std::hint::black_box;
use std::io;
use std::time::Instant;

/// The quality we time encoding at: the server's default.
const QUALITY: u8 = 80;

#[derive(Debug, clap::Args)]
pub struct JpegArgs {
    /// Timed runs of each operation, after one untimed warm-up run.
    #[arg(long, default_value_t = 30)]
    pub iterations: usize,
}

/// Runs `op` once untimed, then `iterations` times; the median and p90 in milliseconds.
fn time<T>(iterations: usize, mut op: impl FnMut() -> T) -> (f64, f64) {
    black_box(op());
    let secs = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            black_box(op());
            t.elapsed().as_secs_f64()
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

pub fn run(args: &JpegArgs) -> io::Result<()> {
    if args.iterations == 0 {
        return Err(io::Error::other("--iterations must be above 0"));
    }
    let n = args.iterations;
    let img720 = camera_like(1280, 720, 1);
    let img1080 = camera_like(1920, 1080, 2);
    let jpeg720 = jpeg::encode_rgb(&img720, QUALITY).map_err(|e| core_error("encode 720p", e))?;
    let jpeg1080 =
        jpeg::encode_rgb(&img1080, QUALITY).map_err(|e| core_error("encode 1080p", e))?;
    // Check the round trip once, so a broken backend is not timed as a fast one.
    for (data, img) in [(&jpeg720, &img720), (&jpeg1080, &img1080)] {
        let back = jpeg::decode_rgb(data).map_err(|e| core_error("decode", e))?;
        if (back.width, back.height) != (img.width, img.height) {
            return Err(io::Error::other(
                "decoded size differs from the encoded image",
            ));
        }
    }

    let encode = |img: &RgbImage| jpeg::encode_rgb(img, QUALITY).map(|j| j.len()).unwrap_or(0);
    let decode = |data: &[u8]| jpeg::decode_rgb(data).map(|i| i.data.len()).unwrap_or(0);
    let rows = [
        ("encode q80 1280x720", time(n, || encode(&img720))),
        ("encode q80 1920x1080", time(n, || encode(&img1080))),
        ("decode 1280x720", time(n, || decode(&jpeg720))),
        ("decode 1920x1080", time(n, || decode(&jpeg1080))),
        (
            "resize 1920x1080 → 640x360",
            time(n, || scale::resize(&img1080, 640, 360)),
        ),
        (
            "resize 1280x720 → 640x360",
            time(n, || scale::resize(&img720, 640, 360)),
        ),
    ];

    println!("machine: {}", super::procfs::machine());
    println!("backend: {}", jpeg::BACKEND);
    println!("iterations: {n} (after one warm-up), one thread");
    println!(
        "JPEG q{QUALITY} sizes: 1280x720 {:.1} KB, 1920x1080 {:.1} KB (synthetic camera-like images)",
        jpeg720.len() as f64 / 1024.0,
        jpeg1080.len() as f64 / 1024.0
    );
    println!();
    println!("| operation | median ms | p90 ms |");
    println!("|---|---:|---:|");
    for (name, (median, p90)) in rows {
        println!("| {name} | {median:.2} | {p90:.2} |");
    }
    Ok(())
}
