//! Measures what a JPEG of an H.264-only camera costs per frame (docs/performance.md "H.264
//! decoding"): openh264 in-process (decode, then decode + JPEG encode at quality 80, as the
//! decoder task does) against the `ffmpeg` child with the decoder's own arguments. CPU time
//! from getrusage(2): this thread's for openh264, the children's for ffmpeg; runs repeated,
//! median and range printed.
//!
//! `cargo run -p lookout-sources --features openh264 --example h264_decode FILE.h264 [runs]`

use lookout_core::h264::{AccessUnit, AnnexBReader, H264Decoder, MAX_NAL_BYTES};
use lookout_core::jpeg;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

fn cpu_ns(who: libc::c_int) -> u64 {
    // SAFETY: getrusage writes one rusage into the zeroed struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;
    t(u.ru_utime) + t(u.ru_stime)
}

fn units(data: &[u8]) -> Vec<AccessUnit> {
    let mut r = AnnexBReader::new(MAX_NAL_BYTES);
    r.push(data);
    let mut out = Vec::new();
    while let Some(au) = r.next_access_unit() {
        out.extend(au.ok());
    }
    let _ = r.finish();
    while let Some(au) = r.next_access_unit() {
        out.extend(au.ok());
    }
    out
}

fn openh264(aus: &[AccessUnit], with_jpeg: bool) -> (f64, usize) {
    let mut dec = H264Decoder::new().expect("openh264");
    let start = cpu_ns(libc::RUSAGE_THREAD);
    let mut pictures = 0;
    for au in aus {
        if let Ok(Some(img)) = dec.decode(au) {
            pictures += 1;
            if with_jpeg {
                std::hint::black_box(jpeg::encode_rgb(&img, 80).expect("jpeg"));
            }
        }
    }
    let ms = (cpu_ns(libc::RUSAGE_THREAD) - start) as f64 / 1e6;
    (ms / pictures.max(1) as f64, pictures)
}

/// ffmpeg's CPU per picture: RUSAGE_CHILDREN counts waited-for children, here only ffmpeg.
fn ffmpeg(file: &str) -> (f64, usize) {
    let before = cpu_ns(libc::RUSAGE_CHILDREN);
    let mut child = Command::new("ffmpeg")
        .args(lookout_sources::decode::ffmpeg_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start ffmpeg");
    let data = std::fs::read(file).expect("read");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("read");
    let _ = writer.join();
    child.wait().expect("wait");
    let pictures = out.windows(3).filter(|w| w == &[0xFF, 0xD8, 0xFF]).count();
    let ms = (cpu_ns(libc::RUSAGE_CHILDREN) - before) as f64 / 1e6;
    (ms / pictures.max(1) as f64, pictures)
}

fn summary(name: &str, mut runs: Vec<(f64, usize)>) {
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = runs.len();
    println!(
        "{name:32} {:6.2} ms CPU/frame (median of {n}; {:.2}–{:.2}), {} frames",
        runs[n / 2].0,
        runs[0].0,
        runs[n - 1].0,
        runs[0].1
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args.next().expect("usage: h264_decode FILE.h264 [runs]");
    let runs: usize = args.next().map_or(5, |a| a.parse().expect("runs"));
    let aus = units(&std::fs::read(&file).expect("read"));
    let p = aus.iter().find_map(|a| a.params.clone()).expect("an SPS");
    println!(
        "{file}: {} access units, {}x{} {}",
        aus.len(),
        p.width(),
        p.height(),
        p.codec_string()
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let wall = Instant::now();
    summary(
        "openh264 decode",
        (0..runs).map(|_| openh264(&aus, false)).collect(),
    );
    summary(
        "openh264 decode + JPEG q80",
        (0..runs).map(|_| openh264(&aus, true)).collect(),
    );
    summary(
        "ffmpeg child (decode + MJPEG)",
        (0..runs).map(|_| ffmpeg(&file)).collect(),
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average after: {} ({:.0} s)",
        load.trim(),
        wall.elapsed().as_secs_f64()
    );
}
