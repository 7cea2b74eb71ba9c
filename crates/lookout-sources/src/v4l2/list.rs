//! The cameras on this machine (`lookout devices`) and their controls, read and set by
//! device path (`lookout controls`, the API). Setting controls from a second open file while
//! the source streams is normal V4L2 usage.

use super::controls::{self, Assignment, ControlInfo};
use super::device::V4l2Device;
use super::formats::FormatOffer;
use lookout_core::Error;
use std::path::{Path, PathBuf};

/// One capture device.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    /// `/dev/videoN`.
    pub path: PathBuf,
    /// The `/dev/v4l/by-id/…` and `/dev/v4l/by-path/…` links to it: names that survive
    /// replugging, for the config.
    pub stable_names: Vec<PathBuf>,
    /// The driver's name for the camera, e.g. "HD Pro Webcam C920".
    pub card: String,
    pub driver: String,
    pub bus_info: String,
    /// What it can capture, or why that could not be read.
    pub offers: Result<Vec<FormatOffer>, Error>,
}

/// The number in `videoN`, for sorting `video2` before `video10`.
fn video_number(name: &str) -> Option<u32> {
    name.strip_prefix("video")?.parse().ok()
}

/// `/dev/video*` nodes in numeric order.
fn video_nodes(dev: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dev) else {
        return Vec::new();
    };
    let mut nodes: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = video_number(e.file_name().to_str()?)?;
            Some((n, e.path()))
        })
        .collect();
    nodes.sort();
    nodes.into_iter().map(|(_, p)| p).collect()
}

/// The links in `dirs` that resolve to `target`, sorted.
pub fn links_to(target: &Path, dirs: &[PathBuf]) -> Vec<PathBuf> {
    let Ok(target) = target.canonicalize() else {
        return Vec::new();
    };
    let mut links: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.filter_map(Result::ok).map(|e| e.path()))
        .filter(|link| link.canonicalize().is_ok_and(|t| t == target))
        .collect();
    links.sort();
    links
}

/// The video capture devices, in `/dev/videoN` order. Metadata, output and codec nodes are
/// left out; a node that cannot be opened is listed with the reason (a missing `video` group
/// would otherwise hide every camera).
pub fn list_devices() -> Vec<DeviceInfo> {
    let stable_dirs = [
        PathBuf::from("/dev/v4l/by-id"),
        PathBuf::from("/dev/v4l/by-path"),
    ];
    let mut devices = Vec::new();
    for path in video_nodes(Path::new("/dev")) {
        let stable_names = links_to(&path, &stable_dirs);
        match V4l2Device::open(&path) {
            Ok(dev) => {
                let caps = dev.caps();
                if !caps.is_video_capture() {
                    continue;
                }
                devices.push(DeviceInfo {
                    card: caps.card.clone(),
                    driver: caps.driver.clone(),
                    bus_info: caps.bus_info.clone(),
                    offers: dev.format_offers(),
                    path,
                    stable_names,
                });
            }
            Err(e) => devices.push(DeviceInfo {
                path,
                stable_names,
                card: String::new(),
                driver: String::new(),
                bus_info: String::new(),
                offers: Err(e),
            }),
        }
    }
    devices
}

/// The controls of the camera at `path`, with their current values.
pub fn read_controls(path: &Path) -> Result<Vec<ControlInfo>, Error> {
    V4l2Device::open_capture(path)?.read_controls()
}

/// Sets controls on the camera at `path`, automatic-mode switches first, then in the given
/// order. Every assignment is checked against the
/// device's controls first: if any is unknown, out of range or read-only, the error names
/// each bad one with its valid values and nothing is set. Should the device then refuse one
/// (an inactive control, say), the error also names those already set. Returns the controls
/// read back afterwards.
pub fn set_controls(path: &Path, set: &[Assignment]) -> Result<Vec<ControlInfo>, Error> {
    let dev = V4l2Device::open_capture(path)?;
    let known = dev.read_controls()?;
    let set = controls::mode_switches_first(set);
    let pairs = controls::validate_all(&known, &set)?;
    let mut done: Vec<String> = Vec::new();
    for (id, value) in pairs {
        let control = known.iter().find(|c| c.id == id);
        let name = control.map_or_else(|| format!("control {id:#x}"), ControlInfo::key);
        if let Err(e) = dev.write_control(id, value, &name) {
            if done.is_empty() {
                return Err(e);
            }
            let msg = format!("{e} (already set: {})", done.join(", "));
            return Err(Error::new(e.kind(), msg));
        }
        let shown = control.map_or_else(|| value.to_string(), |c| c.describe_value(value));
        done.push(format!("{name}={shown}"));
    }
    dev.read_controls()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_core::ErrorKind;

    #[test]
    fn video_nodes_sort_by_number() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["video10", "video2", "video0", "vbi0", "media0", "videox"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let names: Vec<String> = video_nodes(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["video0", "video2", "video10"]);
        assert!(video_nodes(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn stable_names_are_the_links_to_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("video0");
        let other = dir.path().join("video1");
        std::fs::write(&node, b"").unwrap();
        std::fs::write(&other, b"").unwrap();
        let by_id = dir.path().join("by-id");
        let by_path = dir.path().join("by-path");
        std::fs::create_dir(&by_id).unwrap();
        std::fs::create_dir(&by_path).unwrap();
        let link = |dir: &Path, name: &str, to: &str| {
            std::os::unix::fs::symlink(format!("../{to}"), dir.join(name)).unwrap();
        };
        link(&by_id, "usb-Cam_123-video-index0", "video0");
        link(&by_id, "usb-Other_9-video-index0", "video1");
        link(
            &by_path,
            "pci-0000:00:14.0-usb-0:1:1.0-video-index0",
            "video0",
        );
        let names = links_to(&node, &[by_id.clone(), by_path.clone()]);
        assert_eq!(
            names,
            vec![
                by_id.join("usb-Cam_123-video-index0"),
                by_path.join("pci-0000:00:14.0-usb-0:1:1.0-video-index0")
            ]
        );
        assert!(links_to(&dir.path().join("video9"), &[by_id]).is_empty());
    }

    #[test]
    fn controls_of_a_missing_camera_say_it_is_unplugged() {
        let path = Path::new("/dev/v4l/by-id/usb-gone-video-index0");
        let err = read_controls(path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("unplugged"), "{err}");
        let set = [controls::parse_assignment("brightness=1").unwrap()];
        assert_eq!(
            set_controls(path, &set).unwrap_err().kind(),
            ErrorKind::Unavailable
        );
    }
}
