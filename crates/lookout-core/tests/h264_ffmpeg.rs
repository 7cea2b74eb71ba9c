//! H.264 from a real encoder (ffmpeg's libx264) through Lookout's Annex B reader and
//! fragmented MP4 muxer, checked by ffprobe and ffmpeg: the SPS parse must agree with
//! ffprobe's size, profile and level; the stream, fed in random chunk sizes, must come out as
//! one access unit per frame with key frames where the encoder put them; and the MP4 written
//! from them must play with every frame, monotonic timestamps and no decode error.
//!
//! ffprobe marks key frames from the H.264 bitstream, not from the MP4's sample flags, so
//! GStreamer's MP4 demuxer (qtdemux), which reads them, checks those.
//!
//! Under `LOOKOUT_TEST_STRICT=1` (scripts/test.sh) or `CI=true` a missing ffmpeg or
//! gst-launch-1.0 fails.

// A panic is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

use lookout_core::fmp4::Fmp4Muxer;
use lookout_core::h264::{AccessUnit, AnnexBReader, MAX_NAL_BYTES, nal_units};
use std::path::{Path, PathBuf};
use std::process::Command;

const FPS: u64 = 30;
const GOP: usize = 30;
const FRAMES: usize = 75;

fn strict() -> bool {
    std::env::var("LOOKOUT_TEST_STRICT").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether `program` is on PATH; under strict runs its absence fails the test.
fn require(program: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()));
    if !found {
        assert!(
            !strict(),
            "{program} (Debian package `{package}`) is missing; scripts/test.sh installs it"
        );
        eprintln!("SKIPPED: {program} (Debian package `{package}`) is missing");
    }
    found
}

/// xorshift64*: deterministic chunk sizes, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// An encoder setting under test.
struct Case {
    name: &'static str,
    size: (u32, u32),
    args: &'static [&'static str],
    /// ffprobe's name for the profile.
    profile: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "baseline",
        size: (1278, 718),
        args: &["-profile:v", "baseline", "-pix_fmt", "yuv420p"],
        profile: "Constrained Baseline",
    },
    Case {
        name: "main",
        size: (1278, 718),
        args: &["-profile:v", "main", "-pix_fmt", "yuv420p"],
        profile: "Main",
    },
    Case {
        name: "high",
        size: (1278, 718),
        args: &["-profile:v", "high", "-pix_fmt", "yuv420p"],
        profile: "High",
    },
    Case {
        name: "high10",
        size: (1278, 718),
        args: &["-profile:v", "high10", "-pix_fmt", "yuv420p10le"],
        profile: "High 10",
    },
    Case {
        name: "high422",
        size: (1278, 718),
        args: &["-profile:v", "high422", "-pix_fmt", "yuv422p"],
        profile: "High 4:2:2",
    },
    Case {
        name: "high444",
        size: (1278, 718),
        args: &["-profile:v", "high444", "-pix_fmt", "yuv444p"],
        profile: "High 4:4:4 Predictive",
    },
    // MBAFF: 716 lines are 23 map units of 32 lines, cropped by 20 (crop unit 4).
    Case {
        name: "interlaced",
        size: (1278, 716),
        args: &[
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-flags",
            "+ildct+ilme",
            "-x264-params",
            "interlaced=1",
        ],
        profile: "High",
    },
];

fn work_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("h264_ffmpeg");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `FRAMES` frames of the moving test pattern as H.264 Annex B, no B-frames, a key frame
/// every `GOP` frames and nowhere else.
fn encode(case: &Case) -> Vec<u8> {
    let (w, h) = case.size;
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={w}x{h}:rate={FPS}"))
        .args([
            "-frames:v",
            &FRAMES.to_string(),
            "-c:v",
            "libx264",
            "-bf",
            "0",
        ])
        .args(["-g", &GOP.to_string(), "-sc_threshold", "0"])
        .args(case.args)
        .args(["-f", "h264", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg {}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// ffprobe's `key=value` lines for the first video stream (or its packets) of `path`.
fn ffprobe(path: &Path, extra: &[&str], entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(extra)
        .args([
            "-show_entries",
            entries,
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field<'a>(probe: &'a str, key: &str) -> &'a str {
    probe
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in ffprobe output:\n{probe}"))
}

/// The stream through the reader in chunks of 1 byte to 64 KiB.
fn read_in_random_chunks(data: &[u8], seed: u64) -> Vec<AccessUnit> {
    let mut rng = Rng(seed);
    let mut reader = AnnexBReader::new(MAX_NAL_BYTES);
    let mut units = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let len = match rng.next() % 4 {
            0 => 1 + rng.next() % 4,
            1 => 1 + rng.next() % 200,
            2 => 1 + rng.next() % 5000,
            _ => 1 + rng.next() % 65_536,
        } as usize;
        let end = (pos + len).min(data.len());
        reader.push(&data[pos..end]);
        pos = end;
        while let Some(au) = reader.next_access_unit() {
            units.push(au.unwrap());
        }
    }
    reader.finish().unwrap();
    while let Some(au) = reader.next_access_unit() {
        units.push(au.unwrap());
    }
    assert_eq!(reader.discarded_bytes(), 0);
    units
}

/// Writes init + fragments of `per_fragment` access units to `path`, 30 fps timestamps
/// starting at an arbitrary RTP-like time.
fn write_mp4(path: &Path, units: &[AccessUnit], per_fragment: usize) {
    let params = units[0].params.clone().unwrap();
    let mut muxer = Fmp4Muxer::new(params);
    let mut file = muxer.init_segment();
    let t0 = 123_456_789u64;
    let timed: Vec<(&AccessUnit, u64)> = units
        .iter()
        .enumerate()
        .map(|(i, au)| (au, t0 + i as u64 * 90_000 / FPS))
        .collect();
    for chunk in timed.chunks(per_fragment) {
        let fragment = muxer.fragment(chunk).unwrap();
        assert_eq!(fragment.starts_with_key, chunk[0].0.is_key);
        file.extend_from_slice(&fragment.bytes);
    }
    std::fs::write(path, file).unwrap();
}

/// The samples GStreamer's MP4 demuxer reads as key frames: its buffers without the
/// `delta-unit` flag, which it sets from the `trun` sample flags.
fn gstreamer_sync_samples(path: &Path) -> Vec<usize> {
    let out = Command::new("gst-launch-1.0")
        .args(["-v", "filesrc"])
        .arg(format!("location={}", path.display()))
        .args(["!", "qtdemux", "!", "fakesink", "silent=false"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stdout);
    let buffers: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("chain   ******* (fakesink0:sink)"))
        .collect();
    assert_eq!(buffers.len(), FRAMES, "qtdemux buffers:\n{log}");
    buffers
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.contains("delta-unit"))
        .map(|(i, _)| i)
        .collect()
}

fn check_mp4(path: &Path, case: &Case) {
    let (w, h) = case.size;
    let stream = ffprobe(
        path,
        &["-count_frames"],
        "stream=codec_name,width,height,nb_read_frames,profile",
    );
    assert_eq!(field(&stream, "codec_name"), "h264", "{}", case.name);
    assert_eq!(field(&stream, "width"), w.to_string(), "{}", case.name);
    assert_eq!(field(&stream, "height"), h.to_string(), "{}", case.name);
    assert_eq!(field(&stream, "profile"), case.profile, "{}", case.name);
    assert_eq!(
        field(&stream, "nb_read_frames"),
        FRAMES.to_string(),
        "{}",
        case.name
    );

    let packets = ffprobe(path, &[], "packet=pts_time,flags");
    let pts: Vec<f64> = packets
        .lines()
        .filter_map(|l| l.strip_prefix("pts_time="))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(pts.len(), FRAMES, "{}", case.name);
    assert!(
        pts[0].abs() < 1e-9,
        "{}: starts at 0, not {}",
        case.name,
        pts[0]
    );
    for (i, pair) in pts.windows(2).enumerate() {
        let step = pair[1] - pair[0];
        assert!(
            (step - 1.0 / FPS as f64).abs() < 1e-4,
            "{}: pts {i} -> {}: {pair:?}",
            case.name,
            i + 1
        );
    }
    let keys: Vec<usize> = packets
        .lines()
        .filter_map(|l| l.strip_prefix("flags="))
        .enumerate()
        .filter(|(_, f)| f.starts_with('K'))
        .map(|(i, _)| i)
        .collect();
    let expected: Vec<usize> = (0..FRAMES).step_by(GOP).collect();
    assert_eq!(keys, expected, "{}: sync samples", case.name);

    assert_eq!(
        gstreamer_sync_samples(path),
        expected,
        "{}: sync samples by their MP4 sample flags",
        case.name
    );

    let decode = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(decode.status.success(), "{}", case.name);
    assert_eq!(
        String::from_utf8_lossy(&decode.stderr),
        "",
        "{}: ffmpeg reports decode errors",
        case.name
    );
}

#[test]
fn libx264_streams_split_parse_and_mux_into_mp4_that_ffmpeg_plays() {
    if !(require("ffmpeg", "ffmpeg")
        && require("ffprobe", "ffmpeg")
        && require("gst-launch-1.0", "gstreamer1.0-tools"))
    {
        return;
    }
    let dir = work_dir();
    for (n, case) in CASES.iter().enumerate() {
        let data = encode(case);
        let raw = dir.join(format!("{}.h264", case.name));
        std::fs::write(&raw, &data).unwrap();

        // Our SPS parse against ffprobe's reading of the raw stream.
        let units = read_in_random_chunks(&data, 0x5EED + n as u64);
        let params = units[0]
            .params
            .clone()
            .expect("SPS and PPS before the first picture");
        let probe = ffprobe(&raw, &[], "stream=width,height,profile,level");
        assert_eq!(
            (params.width(), params.height()),
            case.size,
            "{}: our SPS size",
            case.name
        );
        assert_eq!(
            field(&probe, "width"),
            case.size.0.to_string(),
            "{}",
            case.name
        );
        assert_eq!(
            field(&probe, "height"),
            case.size.1.to_string(),
            "{}",
            case.name
        );
        assert_eq!(field(&probe, "profile"), case.profile, "{}", case.name);
        assert_eq!(
            field(&probe, "level"),
            params.level_idc().to_string(),
            "{}: level",
            case.name
        );
        let profile_idc = match case.profile {
            "Constrained Baseline" => 66,
            "Main" => 77,
            "High" => 100,
            "High 10" => 110,
            "High 4:2:2" => 122,
            _ => 244,
        };
        assert_eq!(params.profile_idc(), profile_idc, "{}", case.name);
        if case.profile == "Constrained Baseline" {
            assert_ne!(params.compat() & 0x40, 0, "constraint_set1_flag");
        }
        assert_eq!(
            params.sps.timing.and_then(|t| t.frame_rate()),
            Some(FPS as f64),
            "{}: VUI frame rate",
            case.name
        );

        // One access unit per frame, key frames exactly where the encoder was told.
        assert_eq!(units.len(), FRAMES, "{}", case.name);
        let keys: Vec<usize> = (0..FRAMES).filter(|&i| units[i].is_key).collect();
        assert_eq!(
            keys,
            (0..FRAMES).step_by(GOP).collect::<Vec<_>>(),
            "{}",
            case.name
        );
        // Nothing lost or reordered: the units hold exactly the stream's NAL units.
        let ours: Vec<&[u8]> = units
            .iter()
            .flat_map(|u| u.nals.iter().map(|n| n.as_ref()))
            .collect();
        let whole: Vec<&[u8]> = nal_units(&data).collect();
        assert_eq!(ours, whole, "{}", case.name);

        // A fragment per access unit (live) and a fragment per GOP (segments).
        for per_fragment in [1, GOP] {
            let mp4 = dir.join(format!("{}-{per_fragment}.mp4", case.name));
            write_mp4(&mp4, &units, per_fragment);
            check_mp4(&mp4, case);
        }
    }
}
