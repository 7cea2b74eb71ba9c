//! Variants (`?width=&height=&quality=`): never larger than the camera's own frame, and the
//! memory their encodes hold at once is capped, measured on the real `lookout serve` process.

use crate::support::{BIN, Running, TestServer, jpeg_size, read_parts, testpattern};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const SECS: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_is_never_larger_than_the_source() {
    let srv = TestServer::start(&testpattern("a", 320, 240, 10)).await;
    for (query, want) in [
        // Both sides: the asked shape, shrunk until it fits the 320x240 frame.
        ("width=8192&height=8192", (240, 240)),
        ("width=1000&height=500", (320, 160)),
        ("width=100&height=8000", (3, 240)),
        // One side: the frame's own shape, so at most the frame itself.
        ("width=8192", (320, 240)),
        ("height=4000", (320, 240)),
        ("width=8192&quality=50", (320, 240)),
        // Smaller than the frame: as asked.
        ("width=160", (160, 120)),
        ("width=100&height=100", (100, 100)),
    ] {
        let r = srv.get(&format!("/cameras/a/snapshot.jpg?{query}")).await;
        assert_eq!(
            r.status,
            200,
            "{query}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(jpeg_size(&r.body), want, "{query}");
    }
    let mut s = srv
        .stream("/cameras/a/stream.mjpeg?width=8192&height=8192")
        .await;
    for p in read_parts(&mut s, 3, SECS).await {
        assert_eq!(jpeg_size(&p.body), (240, 240));
    }
    drop(s);
    srv.stop().await;
}

/// `VmHWM` (peak resident memory) of a process, in MiB.
fn peak_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"));
    kib / 1024
}

/// Sixteen snapshots of big variants of two 4096x3072 cameras (eight sizes each, the most a
/// camera serves at once), all at once. Each encode holds about 110 MB (the decoded frame,
/// the resize's buffers, the encoder's), so running them together took 745 MB with one
/// camera; the variant memory budget (`server.variant_memory_mb`, 128 by default) lets them
/// through one or two at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_big_variants_keep_the_servers_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    let (w, h) = (4096u32, 3072u32);
    let mut img = lookout_core::RgbImage::new(w, h);
    for (i, px) in img.data.chunks_exact_mut(3).enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        px.copy_from_slice(&[(x / 16) as u8, (y / 12) as u8, ((x ^ y) & 0xff) as u8]);
    }
    let jpeg = lookout_core::jpeg::encode_rgb(&img, 90).unwrap();
    drop(img);
    std::fs::write(frames.join("big.jpg"), jpeg).unwrap();
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nmode = \"none\"\n[server]\nrequest_timeout_ms = 180000\nsnapshot_timeout_ms = 60000\n\
             [[camera]]\nid = \"big\"\n[camera.source]\nkind = \"files\"\ndir = \"{dir}\"\nfps = 1\n\
             [[camera]]\nid = \"big2\"\n[camera.source]\nkind = \"files\"\ndir = \"{dir}\"\nfps = 1\n",
            dir = frames.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lookout");
    let stdout = child.stdout.take().unwrap();
    let server = Running(child);
    let pid = server.0.id();
    let addr: std::net::SocketAddr = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("listening on http://")
                .map(|a| a.trim_end_matches('/').to_owned())
        })
        .expect("a listening line")
        .parse()
        .unwrap();
    // The cameras running and an original snapshot: what the server holds without variants.
    for cam in ["big", "big2"] {
        let r = lookout_bench::get(addr, &format!("/cameras/{cam}/snapshot.jpg"), &[])
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(jpeg_size(&r.body), (w, h));
    }
    let before = peak_mib(pid);
    let mut tasks = Vec::new();
    for i in 0..16u32 {
        let width = 4000 - (i % 8) * 100;
        let cam = if i < 8 { "big" } else { "big2" };
        tasks.push(tokio::spawn(async move {
            let path = format!("/cameras/{cam}/snapshot.jpg?width={width}");
            let r = lookout_bench::get(addr, &path, &[]).await.unwrap();
            assert_eq!(
                r.status,
                200,
                "{path}: {}",
                String::from_utf8_lossy(&r.body)
            );
            let (vw, vh) = jpeg_size(&r.body);
            assert!(vw == width && vh <= h, "{path}: {vw}x{vh}");
        }));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(240), t)
            .await
            .expect("the variants came within 4 minutes")
            .unwrap();
    }
    let after = peak_mib(pid);
    eprintln!("lookout serve VmHWM: {before} MiB before the variants, {after} MiB after");
    // Sixteen encodes at once would add well over 1000 MiB; one or two at a time add ~250.
    assert!(
        after.saturating_sub(before) < 600,
        "peak memory grew from {before} MiB to {after} MiB"
    );
    drop(server);
}

/// A camera that sends low-quality JPEG (ffmpeg's MJPEG encoder at `-q:v 12`): its variants
/// are encoded at the camera's estimated quality, never the higher one asked for or the
/// server's default of 80, and a higher quality alone at full size is the original.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variants_are_never_encoded_above_the_cameras_own_quality() {
    if !crate::support::require("ffmpeg", "ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let frame = dir.path().join("frame.jpg");
    let made = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .args(["testsrc2=size=640x480", "-frames:v", "1", "-q:v", "12"])
        .arg(&frame)
        .status()
        .unwrap();
    assert!(made.success());
    let original = std::fs::read(&frame).unwrap();
    let source_q = lookout_core::jpeg::estimate_quality(&original).unwrap();
    assert!(source_q < 70, "ffmpeg -q:v 12 estimated at {source_q}");
    let srv = TestServer::start(&crate::support::camera(
        "low",
        "",
        &format!("kind = \"files\"\ndir = {:?}\nfps = 5\n", dir.path()),
    ))
    .await;
    for query in ["width=320", "width=320&quality=95", "width=320&quality=80"] {
        let r = srv.get(&format!("/cameras/low/snapshot.jpg?{query}")).await;
        assert_eq!(r.status, 200, "{query}");
        assert_eq!(jpeg_size(&r.body), (320, 240), "{query}");
        let q = lookout_core::jpeg::estimate_quality(&r.body);
        assert_eq!(q, Some(source_q), "{query}: the camera's is {source_q}");
    }
    // Below the camera's quality: as asked.
    let r = srv
        .get("/cameras/low/snapshot.jpg?width=320&quality=10")
        .await;
    assert_eq!(lookout_core::jpeg::estimate_quality(&r.body), Some(10));
    // Only a higher quality, at the camera's size: its own JPEG, byte for byte.
    let r = srv.get("/cameras/low/snapshot.jpg?quality=95").await;
    assert_eq!(r.body, original);
    srv.stop().await;
}
