//! The `v4l2` layer against a real kernel device.
//!
//! The `device_*` tests run when `LOOKOUT_V4L2_DEVICE` names a vivid camera (e.g.
//! `/dev/video0`) and otherwise return at once, saying why. This machine has no
//! `/dev/video*`, so [`v4l2_device_tests_pass_in_a_vm`] runs this very test binary inside the
//! qemu VM of `scripts/v4l2-vm/run.sh`, where vivid is `/dev/video0`, a v4l2loopback device fed
//! by ffmpeg is `/dev/video10` and `v4l2-vm-replug` unplugs the camera.
#![cfg(all(feature = "v4l2", target_os = "linux"))]

use lookout_core::{CameraHub, ErrorKind, Frame, FrameKind};
use lookout_sources::v4l2::controls::{ControlInfo, parse_assignment};
use lookout_sources::v4l2::{
    DEFAULT_BUFFERS, V4l2Config, V4l2Source, list_devices, read_controls, set_controls,
};
use lookout_sources::{Source, SupervisorConfig, supervise};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

const DEVICE_VAR: &str = "LOOKOUT_V4L2_DEVICE";

/// Software emulation is 5–20 times slower than the host: be generous.
const PATIENCE: Duration = Duration::from_secs(120);

/// The device under test, or `None` (with a note) outside the VM.
fn device() -> Option<PathBuf> {
    match std::env::var_os(DEVICE_VAR) {
        Some(path) => Some(path.into()),
        None => {
            eprintln!(
                "skipped here: {DEVICE_VAR} is not set (v4l2_device_tests_pass_in_a_vm runs \
                 this test inside a VM with a vivid camera)"
            );
            None
        }
    }
}

fn strict() -> bool {
    std::env::var("LOOKOUT_TEST_STRICT").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Under scripts/test.sh or CI a missing dependency fails the test; elsewhere it is skipped.
fn missing(what: &str) -> bool {
    assert!(!strict(), "{what} is missing; scripts/test.sh installs it");
    eprintln!("SKIPPED: {what} is missing; scripts/test.sh installs it");
    false
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

fn config(device: &Path, size: (u32, u32)) -> V4l2Config {
    V4l2Config {
        device: device.to_owned(),
        size: Some(size),
        fps: None,
        format: None,
        buffers: DEFAULT_BUFFERS,
        controls: Vec::new(),
    }
}

/// A source under the real supervisor, as Lookout runs it; stops on drop.
struct Running {
    hub: Arc<CameraHub>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    fn start(source: Arc<V4l2Source>) -> Self {
        let hub = CameraHub::new("cam", 80);
        let cancel = CancellationToken::new();
        let cfg = SupervisorConfig {
            keep_warm: true,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(1),
            ..SupervisorConfig::default()
        };
        let task = tokio::spawn(supervise(hub.clone(), source, cfg, cancel.clone()));
        Self {
            hub,
            cancel,
            task: Some(task),
        }
    }

    /// The first live frame published after `since` (a frame sequence number) that `ok` accepts.
    async fn frame_after(&self, since: u64, ok: impl Fn(&Frame) -> bool) -> Arc<Frame> {
        let mut frames = self.hub.subscribe();
        let wait = async {
            loop {
                let latest = frames.borrow_and_update().clone();
                if let Some(f) = latest
                    && f.kind == FrameKind::Live
                    && f.seq > since
                    && ok(&f)
                {
                    return f;
                }
                if frames.changed().await.is_err() {
                    panic!("the hub went away");
                }
            }
        };
        match tokio::time::timeout(PATIENCE, wait).await {
            Ok(frame) => frame,
            Err(_) => panic!(
                "no matching live frame within {PATIENCE:?}; source status: {:?}",
                self.hub.status()
            ),
        }
    }

    async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn control<'a>(controls: &'a [ControlInfo], key: &str) -> &'a ControlInfo {
    controls
        .iter()
        .find(|c| c.key() == key)
        .unwrap_or_else(|| panic!("no control {key}; the device has {controls:?}"))
}

fn current(path: &Path, key: &str) -> i64 {
    let controls = read_controls(path).unwrap_or_else(|e| panic!("reading controls: {e}"));
    control(&controls, key).current
}

#[test]
fn device_list_finds_the_camera_with_its_offers() {
    let Some(path) = device() else { return };
    let devices = list_devices();
    let node = path.canonicalize().unwrap_or(path.clone());
    let found = devices
        .iter()
        .find(|d| d.path == node)
        .unwrap_or_else(|| panic!("{} not in {devices:#?}", node.display()));
    assert!(
        !found.card.is_empty() && !found.driver.is_empty(),
        "{found:?}"
    );
    let offers = found
        .offers
        .as_ref()
        .unwrap_or_else(|e| panic!("offers: {e}"));
    assert!(
        offers.iter().any(|o| o.format.is_usable() && o.width > 0),
        "{offers:?}"
    );
    // vivid's ranges are reduced to the usual sizes, not 16384x8640.
    if found.driver == "vivid" {
        assert!(offers.iter().any(|o| (o.width, o.height) == (640, 480)));
        assert!(offers.iter().all(|o| o.width <= 3840), "{offers:?}");
    }
    let mut paths: Vec<&Path> = devices.iter().map(|d| d.path.as_path()).collect();
    let listed = paths.clone();
    paths.sort_by_key(|p| {
        p.to_string_lossy()
            .trim_start_matches("/dev/video")
            .parse::<u32>()
            .unwrap_or(u32::MAX)
    });
    assert_eq!(paths, listed, "sorted by node number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_captures_at_two_sizes() {
    let Some(path) = device() else { return };
    for size in [(640, 480), (320, 240)] {
        let source = Arc::new(V4l2Source::new(config(&path, size)));
        let running = Running::start(source);
        let frame = running
            .frame_after(0, |f| (f.width, f.height) == size)
            .await;
        let raw = frame.raw.as_ref().expect("raw formats are converted");
        assert_eq!((raw.width, raw.height), size);
        // vivid draws colour bars: far from one flat colour.
        let (lo, hi) = raw
            .data
            .iter()
            .fold((255, 0), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert!(hi - lo > 100, "flat picture: {lo}..{hi}");
        assert_eq!(frame.jpeg[..2], [0xff, 0xd8]);
        // Driver timestamps (CLOCK_MONOTONIC) became wall-clock time.
        let age = SystemTime::now()
            .duration_since(frame.captured_at)
            .unwrap_or_else(|e| e.duration());
        assert!(age < Duration::from_secs(60), "captured_at is {age:?} off");
        // Controls change from a second open file while the source streams (the API's way).
        let before = current(&path, "saturation");
        let wanted = if before == 10 { 20 } else { 10 };
        let set = [parse_assignment(&format!("saturation={wanted}")).unwrap()];
        let after = set_controls(&path, &set).unwrap_or_else(|e| panic!("while streaming: {e}"));
        assert_eq!(control(&after, "saturation").current, wanted);
        let restore = [parse_assignment(&format!("saturation={before}")).unwrap()];
        set_controls(&path, &restore).unwrap_or_else(|e| panic!("restore: {e}"));
        assert!(
            running
                .hub
                .latest_live()
                .is_some_and(|f| f.seq >= frame.seq)
        );
        running.stop().await;
    }
}

#[test]
fn device_control_is_set_and_read_back() {
    let Some(path) = device() else { return };
    let before = current(&path, "brightness");
    let wanted = if before == 200 { 100 } else { 200 };
    let set = [parse_assignment(&format!("Brightness={wanted}")).unwrap()];
    let after = set_controls(&path, &set).unwrap_or_else(|e| panic!("set: {e}"));
    assert_eq!(control(&after, "brightness").current, wanted);
    assert_eq!(current(&path, "brightness"), wanted, "read on a new open");
    let restore = [parse_assignment(&format!("brightness={before}")).unwrap()];
    set_controls(&path, &restore).unwrap_or_else(|e| panic!("restore: {e}"));
}

#[test]
fn device_out_of_range_value_errors_and_changes_nothing() {
    let Some(path) = device() else { return };
    let (brightness, contrast) = (current(&path, "brightness"), current(&path, "contrast"));
    let new_contrast = if contrast == 10 { 20 } else { 10 };
    let set = [
        parse_assignment(&format!("contrast={new_contrast}")).unwrap(),
        parse_assignment("brightness=999").unwrap(),
    ];
    let err = set_controls(&path, &set).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message()
            .contains("brightness: 999 is out of range; valid: 0 to 255"),
        "{err}"
    );
    assert_eq!(
        current(&path, "contrast"),
        contrast,
        "the valid one was not set either"
    );
    assert_eq!(current(&path, "brightness"), brightness);
}

#[test]
fn device_read_only_and_inactive_controls_are_flagged() {
    let Some(path) = device() else { return };
    let controls = read_controls(&path).unwrap_or_else(|e| panic!("{e}"));
    // vivid: gain is inactive while gain_automatic is on; one control is read-only.
    let gain = control(&controls, "gain");
    assert!(gain.inactive && !gain.read_only, "{gain:?}");
    assert!(gain.to_string().contains("inactive"), "{gain}");
    let ro = control(&controls, "read_only_integer_32_bits");
    assert!(ro.read_only, "{ro:?}");
    let err = set_controls(
        &path,
        &[parse_assignment("read_only_integer_32_bits=1").unwrap()],
    )
    .unwrap_err();
    assert!(err.message().contains("read-only"), "{err}");
    // Menus come with their items; integer menus with their values.
    let menu = control(&controls, "test_pattern");
    assert_eq!(menu.describe_value(0), "75% Colorbar");
    let int_menu = control(&controls, "integer_menu");
    assert_eq!(int_menu.describe_value(8), "42");
}

/// Unplugs the VM's vivid camera for `seconds` and plugs it back.
fn replug(seconds: &str) {
    let out = Command::new("v4l2-vm-replug")
        .arg(seconds)
        .output()
        .unwrap_or_else(|e| panic!("v4l2-vm-replug: {e}"));
    assert!(
        out.status.success(),
        "v4l2-vm-replug: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_unplugged_comes_back_with_its_controls() {
    let Some(path) = device() else { return };
    if !on_path("v4l2-vm-replug") {
        missing("v4l2-vm-replug (only inside scripts/v4l2-vm/run.sh)");
        return;
    }
    // The premise: a replugged vivid starts from its defaults, as a real webcam does.
    set_controls(&path, &[parse_assignment("brightness=50").unwrap()]).unwrap();
    replug("1");
    assert_eq!(
        current(&path, "brightness"),
        128,
        "vivid kept a value over a replug"
    );

    // A stable name, as /dev/v4l/by-id gives (the VM has no udev to make those).
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("usb-Vivid_Camera-video-index0");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let mut cfg = config(&link, (320, 240));
    cfg.controls = vec![parse_assignment("brightness=77").unwrap()];
    let source = Arc::new(V4l2Source::new(cfg));
    source.remember_controls(&[parse_assignment("contrast=99").unwrap()]);
    let running = Running::start(source.clone());
    let first = running.frame_after(0, |_| true).await;
    assert_eq!(current(&path, "brightness"), 77);
    assert_eq!(current(&path, "contrast"), 99);

    // A fresh vivid instance starts from its defaults (128): seeing 77/99 again afterwards
    // means the source applied them again.
    replug("3");
    // The old stream died during the unplug: any live frame after the latest one now
    // (perhaps a "no signal" card) comes from the reopened device.
    let mark = running.hub.latest().map_or(first.seq, |f| f.seq);
    let again = running.frame_after(mark, |_| true).await;
    let status = running.hub.status();
    assert!(status.restarts >= 1, "{status:?}");
    let why = status.last_error.unwrap_or_default();
    assert!(
        why.contains("unplugged") || why.contains("does not exist"),
        "{why}"
    );
    assert!(again.seq > first.seq);
    assert_eq!(current(&path, "brightness"), 77);
    assert_eq!(current(&path, "contrast"), 99);
    running.stop().await;
    for restore in ["brightness=128", "contrast=128"] {
        let _ = set_controls(&path, &[parse_assignment(restore).unwrap()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_loopback_fed_by_ffmpeg_is_captured() {
    if device().is_none() {
        return;
    }
    let Some(loopback) = list_devices()
        .into_iter()
        .find(|d| d.driver.contains("loopback"))
    else {
        missing("a v4l2loopback device (scripts/v4l2-vm/run.sh makes /dev/video10)");
        return;
    };
    let source = V4l2Source::new(config(&loopback.path, (640, 480)));
    assert_eq!(source.kind(), "v4l2");
    let running = Running::start(Arc::new(source));
    let frame = running.frame_after(0, |_| true).await;
    assert_eq!((frame.width, frame.height), (640, 480));
    running.stop().await;
}

/// Runs every `device_*` test above inside the qemu VM against its vivid camera.
#[test]
fn v4l2_device_tests_pass_in_a_vm() {
    if std::env::var_os(DEVICE_VAR).is_some() {
        return; // Inside the VM: the device tests themselves run.
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/v4l2-vm/run.sh");
    if !script.is_file() {
        missing(&format!("{} (the V4L2 test VM)", script.display()));
        return;
    }
    if !on_path("qemu-system-x86_64") {
        missing("qemu-system-x86_64 (Debian package `qemu-system-x86`)");
        return;
    }
    // Under /tmp works too: run.sh keeps the paths it is given visible in the VM.
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(&script)
        .arg("env")
        .arg(format!("{DEVICE_VAR}=/dev/video0"))
        .arg(&exe)
        .args(["--test-threads=1", "--nocapture"])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    // run.sh exits 125 when the VM cannot run; missing packages are a skip outside CI.
    if out.status.code() == Some(125) && stderr.contains("missing") {
        missing(&format!("what the V4L2 VM needs ({})", stderr.trim()));
        return;
    }
    assert!(
        out.status.success(),
        "the tests failed in the VM ({})",
        out.status
    );
    // A test binary that ran nothing would pass too.
    for name in [
        "device_list_finds_the_camera_with_its_offers",
        "device_captures_at_two_sizes",
        "device_control_is_set_and_read_back",
        "device_out_of_range_value_errors_and_changes_nothing",
        "device_read_only_and_inactive_controls_are_flagged",
        "device_unplugged_comes_back_with_its_controls",
        "device_loopback_fed_by_ffmpeg_is_captured",
    ] {
        assert!(
            stdout.contains(&format!("{name} ... ok")),
            "{name} did not pass in the VM"
        );
    }
    assert!(
        !stderr.contains("skipped here") && !stderr.contains("SKIPPED"),
        "a device test skipped in the VM"
    );
}
