//! `lookout-bench ros`: what a ROS image topic costs. First, on one thread, per frame: a
//! 1280x720 `sensor_msgs/Image` as a transport hands it over, converted to RGB (rgb8 and the
//! other encodings) and encoded to JPEG. Then the whole path at 30 Hz: messages fed into a
//! `RosTopicSource` through the subscription channel a transport would fill, published into a
//! camera hub, with the latency from a message entering the channel to its frame being
//! published, and the process's CPU per frame.

use super::procfs;
use super::stats::quantiles_ms;
use super::synthetic::{camera_like, smooth_camera_like};
use lookout_core::{CameraHub, Error, ErrorKind, FrameKind, RgbImage, jpeg};
use lookout_sources::ros::image::raw_to_rgb;
use lookout_sources::ros::{Reliability, RosImage, RosMessage, RosNode, RosTopicSource, TopicInfo};
use lookout_sources::{BoxFuture, FrameSink, Source};
use std::collections::HashMap;
use std::hint::black_box;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

/// The camera's default quality, as the server encodes.
const QUALITY: u8 = 80;
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
/// Distinct pictures each sequence cycles through.
const FRAMES: u64 = 4;
/// The subscription channel's capacity: a transport keeps only a few messages, like a
/// sensor-data QoS history.
const CHANNEL: usize = 2;

#[derive(Debug, clap::Args)]
pub struct RosArgs {
    /// Timed frames for each per-frame row, after one untimed pass over the pictures.
    #[arg(long, default_value_t = 300)]
    pub iterations: usize,
    /// Length of the 30 Hz run, after one second of warm-up.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Messages a second in that run.
    #[arg(long, default_value_t = 30.0)]
    pub rate: f64,
}

fn message(encoding: &str, bytes_per_pixel: u32, data: Vec<u8>) -> RosImage {
    RosImage {
        stamp: None,
        width: WIDTH,
        height: HEIGHT,
        encoding: encoding.into(),
        is_bigendian: false,
        step: WIDTH * bytes_per_pixel,
        data,
    }
}

fn rgb8(img: &RgbImage) -> RosImage {
    message("rgb8", 3, img.data.clone())
}

fn bgr8(img: &RgbImage) -> RosImage {
    let data = img
        .data
        .chunks_exact(3)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    message("bgr8", 3, data)
}

/// BT.601 limited range, 2 pixels sharing the first one's chroma: ROS's `yuv422` (UYVY).
fn yuv422(img: &RgbImage) -> RosImage {
    let yuv = |p: &[u8]| {
        let [r, g, b] = [p[0], p[1], p[2]].map(i32::from);
        [
            16 + ((66 * r + 129 * g + 25 * b + 128) >> 8),
            128 + ((-38 * r - 74 * g + 112 * b + 128) >> 8),
            128 + ((112 * r - 94 * g - 18 * b + 128) >> 8),
        ]
        .map(|v| v.clamp(0, 255) as u8)
    };
    let data = img
        .data
        .chunks_exact(6)
        .flat_map(|two| {
            let [y0, u, v] = yuv(&two[..3]);
            let [y1, _, _] = yuv(&two[3..]);
            [u, y0, v, y1]
        })
        .collect();
    message("yuv422", 2, data)
}

fn bayer_rggb8(img: &RgbImage) -> RosImage {
    let w = WIDTH as usize;
    let data = img
        .data
        .chunks_exact(3)
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = (i % w, i / w);
            p[[[0, 1], [1, 2]][y % 2][x % 2]]
        })
        .collect();
    message("bayer_rggb8", 1, data)
}

fn mono8(img: &RgbImage) -> RosImage {
    message("mono8", 1, img.data.chunks_exact(3).map(|p| p[1]).collect())
}

/// Green as metres of depth (0.5 to 8 m), with every 50th pixel NaN.
fn depth32f(img: &RgbImage) -> RosImage {
    let data = img
        .data
        .chunks_exact(3)
        .enumerate()
        .flat_map(|(i, p)| {
            let m = if i % 50 == 0 {
                f32::NAN
            } else {
                0.5 + f32::from(p[1]) * 0.029
            };
            m.to_le_bytes()
        })
        .collect();
    message("32FC1", 4, data)
}

/// Green as millimetres of depth (0.5 to 8 m), with every 50th pixel a hole.
fn depth16(img: &RgbImage) -> RosImage {
    let data = img
        .data
        .chunks_exact(3)
        .enumerate()
        .flat_map(|(i, p)| {
            let mm = if i % 50 == 0 {
                0
            } else {
                500 + u16::from(p[1]) * 29
            };
            mm.to_le_bytes()
        })
        .collect();
    message("16UC1", 2, data)
}

/// This thread's CPU time. Unlike the wall clock it leaves out the time the scheduler gives
/// other processes, which on a shared 2-core machine is most of the noise (whole 4 ms slices).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to write.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    } else {
        Duration::ZERO
    }
}

/// Median and p95 of this thread's CPU time, and median wall time, in ms.
type Row = (f64, f64, f64);

/// Times `op` on a fresh copy of `msgs[i % len]` for each of `iterations` frames (the copy,
/// standing for the transport's deserialization, is not timed).
fn time(iterations: usize, msgs: &[RosImage], op: impl Fn(RosImage) -> usize) -> Row {
    for m in msgs {
        black_box(op(m.clone()));
    }
    let (cpu, wall): (Vec<f64>, Vec<f64>) = (0..iterations)
        .map(|i| {
            let msg = msgs[i % msgs.len()].clone();
            let (c, t) = (thread_cpu(), Instant::now());
            black_box(op(msg));
            let wall = t.elapsed().as_secs_f64();
            ((thread_cpu() - c).as_secs_f64(), wall)
        })
        .unzip();
    match (
        &quantiles_ms(cpu, &[0.5, 0.95])[..],
        &quantiles_ms(wall, &[0.5])[..],
    ) {
        ([Some(median), Some(p95)], [Some(wall)]) => (*median, *p95, *wall),
        _ => (f64::NAN, f64::NAN, f64::NAN),
    }
}

fn to_rgb_len(msg: RosImage) -> usize {
    raw_to_rgb(msg).map_or(0, |img| img.data.len())
}

fn to_jpeg_len(msg: RosImage) -> usize {
    raw_to_rgb(msg)
        .ok()
        .and_then(|img| jpeg::encode_rgb(&img, QUALITY).ok())
        .map_or(0, |j| j.len())
}

/// Checks that every message converts, so a failing conversion is not timed as a fast one.
fn checked(name: &str, msgs: Vec<RosImage>) -> io::Result<Vec<RosImage>> {
    for m in &msgs {
        raw_to_rgb(m.clone()).map_err(|e| io::Error::other(format!("{name}: {e}")))?;
    }
    Ok(msgs)
}

/// A transport stand-in: the subscription is a channel the feeder fills.
struct FeedNode {
    rx: Mutex<Option<mpsc::Receiver<RosMessage>>>,
}

impl RosNode for FeedNode {
    fn kind(&self) -> &'static str {
        "bench"
    }

    fn image_topics(&self) -> BoxFuture<'_, Result<Vec<TopicInfo>, Error>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn subscribe<'a>(
        &'a self,
        topic: &'a str,
        _reliability: Reliability,
    ) -> BoxFuture<'a, Result<mpsc::Receiver<RosMessage>, Error>> {
        Box::pin(async move {
            let rx = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take();
            rx.ok_or_else(|| Error::new(ErrorKind::Unavailable, format!("{topic}: subscribed")))
        })
    }
}

struct Live {
    sent: u64,
    full: u64,
    published: u64,
    dropped: u64,
    latency_ms: [Option<f64>; 4],
    cpu_ms_per_frame: f64,
    cpu_share: f64,
    encode_ms: f64,
    seconds: f64,
}

/// Feeds rgb8 messages at `rate` through a `RosTopicSource` into a hub for `seconds` after a
/// second of warm-up, on a 2-worker runtime like the server's.
fn live(args: &RosArgs, msgs: &[RosImage]) -> io::Result<Live> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let hub = CameraHub::new("bench", QUALITY);
        let (tx, rx) = mpsc::channel(CHANNEL);
        let node = Arc::new(FeedNode {
            rx: Mutex::new(Some(rx)),
        });
        let source = RosTopicSource::new(node, "/bench/image_raw".into(), Reliability::BestEffort);
        let sink = FrameSink::new(hub.clone());
        let running = tokio::spawn(async move { source.run(&sink).await });

        // When each message entered the channel, by its stamp, and whether it is measured.
        let sent_at: Arc<Mutex<HashMap<SystemTime, (Instant, bool)>>> = Arc::default();
        let mut frames = hub.subscribe();

        let watcher = {
            let sent_at = sent_at.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut published = 0u64;
                while frames.changed().await.is_ok() {
                    let Some(frame) = frames.borrow_and_update().clone() else {
                        continue;
                    };
                    if frame.kind != FrameKind::Live {
                        continue;
                    }
                    let sent = sent_at
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&frame.captured_at);
                    if let Some((sent, true)) = sent {
                        latencies.push(frame.published.duration_since(sent).as_secs_f64());
                        published += 1;
                    }
                }
                (latencies, published)
            })
        };

        let period = Duration::from_secs_f64(1.0 / args.rate);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let warmup = (args.rate.round() as u64).max(1);
        let total = warmup + (args.seconds as f64 * args.rate).round() as u64;
        let (mut sent, mut full) = (0u64, 0u64);
        let mut window = None;
        let pid = std::process::id();
        for i in 0..total {
            tick.tick().await;
            if i == warmup {
                let stats = hub.stats();
                window = Some((
                    Instant::now(),
                    procfs::cpu_seconds(pid)?,
                    stats.frames_dropped.load(Ordering::Relaxed),
                    stats.encodes.load(Ordering::Relaxed),
                    stats.encode_nanos.load(Ordering::Relaxed),
                ));
            }
            // The transport's copy out of the wire buffer.
            let mut msg = msgs[i as usize % msgs.len()].clone();
            let stamp = SystemTime::now();
            msg.stamp = Some(stamp);
            let counted = i >= warmup;
            sent_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(stamp, (Instant::now(), counted));
            // A transport drops what the subscriber has no room for; so do we.
            match tx.try_send(RosMessage::Image(msg)) {
                Ok(()) => sent += u64::from(counted),
                Err(_) => full += u64::from(counted),
            }
        }
        // Let the last frame through, then stop.
        tokio::time::sleep(period).await;
        let Some((started, cpu0, dropped0, encodes0, nanos0)) = window else {
            return Err(io::Error::other("--seconds must be above 0"));
        };
        let seconds = started.elapsed().as_secs_f64();
        let cpu = procfs::cpu_seconds(pid)? - cpu0;
        let stats = hub.stats();
        let dropped = stats.frames_dropped.load(Ordering::Relaxed) - dropped0;
        let encodes = stats.encodes.load(Ordering::Relaxed) - encodes0;
        let nanos = stats.encode_nanos.load(Ordering::Relaxed) - nanos0;
        drop(tx);
        let ended = running
            .await
            .map_err(|e| io::Error::other(format!("source task: {e}")))?;
        // Unavailable: the subscription ended because we stopped feeding it.
        match ended {
            Err(e) if e.kind() != ErrorKind::Unavailable => {
                return Err(io::Error::other(format!("source: {e}")));
            }
            _ => {}
        }
        drop(hub);
        let (latencies, published) = watcher
            .await
            .map_err(|e| io::Error::other(format!("watcher task: {e}")))?;
        let q = quantiles_ms(latencies, &[0.5, 0.95, 0.99, 1.0]);
        Ok(Live {
            sent,
            full,
            published,
            dropped,
            latency_ms: [q[0], q[1], q[2], q[3]],
            cpu_ms_per_frame: cpu * 1e3 / published.max(1) as f64,
            cpu_share: cpu / seconds,
            encode_ms: nanos as f64 / 1e6 / encodes.max(1) as f64,
            seconds,
        })
    })
}

pub fn run(args: &RosArgs) -> io::Result<()> {
    if args.iterations == 0 || args.seconds == 0 || !args.rate.is_finite() || args.rate <= 0.0 {
        return Err(io::Error::other(
            "--iterations, --seconds and --rate must be above 0",
        ));
    }
    let n = args.iterations;
    let smooth: Vec<RgbImage> = (1..=FRAMES)
        .map(|s| smooth_camera_like(WIDTH, HEIGHT, s))
        .collect();
    let noisy: Vec<RgbImage> = (1..=FRAMES)
        .map(|s| camera_like(WIDTH, HEIGHT, s))
        .collect();
    let of = |imgs: &[RgbImage], make: fn(&RgbImage) -> RosImage| -> Vec<RosImage> {
        imgs.iter().map(make).collect()
    };
    let rgb_smooth = checked("rgb8", of(&smooth, rgb8))?;
    let rgb_noisy = checked("rgb8", of(&noisy, rgb8))?;
    let jpeg_kb = |msgs: &[RosImage]| {
        let total: usize = msgs.iter().map(|m| to_jpeg_len(m.clone())).sum();
        total as f64 / msgs.len() as f64 / 1024.0
    };
    let (smooth_kb, noisy_kb) = (jpeg_kb(&rgb_smooth), jpeg_kb(&rgb_noisy));
    let size = format!("{WIDTH}x{HEIGHT}");
    let mut rows = vec![
        (
            format!("rgb8 {size} smooth: **message → RGB → JPEG q{QUALITY}**"),
            time(n, &rgb_smooth, to_jpeg_len),
        ),
        (
            format!("rgb8 {size} noisy: message → RGB → JPEG q{QUALITY}"),
            time(n, &rgb_noisy, to_jpeg_len),
        ),
        (
            format!("rgb8 {size}: message → RGB (no padding: no copy)"),
            time(n, &rgb_smooth, to_rgb_len),
        ),
    ];
    for (name, make) in [
        ("bgr8", bgr8 as fn(&RgbImage) -> RosImage),
        ("yuv422", yuv422),
        ("bayer_rggb8", bayer_rggb8),
        ("mono8", mono8),
        ("16UC1", depth16),
        ("32FC1", depth32f),
    ] {
        let msgs = checked(name, of(&smooth, make))?;
        rows.push((
            format!("{name} {size}: message → RGB"),
            time(n, &msgs, to_rgb_len),
        ));
    }
    let live = live(args, &rgb_smooth)?;

    println!("machine: {}", procfs::machine());
    println!("backend: {}", jpeg::BACKEND);
    println!(
        "per frame: {n} timed frames a row, cycling through {FRAMES} pictures (after one untimed \
         pass), one thread, its CPU time (and the wall clock); the message copy a transport makes is not timed"
    );
    println!(
        "pictures: the jpeg bench's synthetic scenes; mean JPEG q{QUALITY}: smooth {smooth_kb:.1} \
         KB, noisy {noisy_kb:.1} KB"
    );
    println!();
    println!("| per frame | CPU median ms | CPU p95 ms | wall median ms |");
    println!("|---|---:|---:|---:|");
    for (name, (median, p95, wall)) in rows {
        println!("| {name} | {median:.2} | {p95:.2} | {wall:.2} |");
    }
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
    println!();
    println!(
        "RosTopicSource, rgb8 {size} smooth at {} Hz for {:.1} s (after 1 s of warm-up), 2 \
         runtime workers, subscription channel of {CHANNEL}:",
        args.rate, live.seconds
    );
    println!(
        "- messages sent {}, channel full (dropped by the \"transport\") {}, frames published {}, \
         skipped for a newer one {}, bad {}",
        live.sent,
        live.full,
        live.published,
        live.sent.saturating_sub(live.published + live.dropped),
        live.dropped
    );
    println!(
        "- latency, message into the channel → frame published: p50 {} ms, p95 {} ms, p99 {} ms, \
         max {} ms",
        ms(live.latency_ms[0]),
        ms(live.latency_ms[1]),
        ms(live.latency_ms[2]),
        ms(live.latency_ms[3])
    );
    println!(
        "- process CPU {:.1} % of a core, {:.2} ms per published frame (includes the bench's \
         message copy and its watcher); the encode alone took {:.2} ms a frame of wall time",
        live.cpu_share * 100.0,
        live.cpu_ms_per_frame,
        live.encode_ms
    );
    Ok(())
}
