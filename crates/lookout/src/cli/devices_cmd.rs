//! `lookout devices` (the V4L2 cameras with their formats, sizes and rates, as
//! `v4l2-ctl --list-formats-ext` shows them) and `lookout controls CAMERA [NAME=VALUE…]`.

#[cfg(all(feature = "v4l2", target_os = "linux"))]
use super::output::outln;
use crate::config::{Config, SourceConfig};
use clap::Args;
use lookout_core::Error;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ControlsArgs {
    /// A configured camera's id, or a device path such as /dev/video0.
    pub camera: String,
    /// Controls to set, e.g. brightness=140 auto_exposure=manual; none: list them.
    pub set: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The device of `camera`: a configured V4L2 camera's, or the path itself.
fn device_of(camera: &str, config: Option<&Config>) -> Result<PathBuf, Error> {
    let config = match config {
        Some(c) if !camera.starts_with('/') => c,
        _ => return Ok(PathBuf::from(camera)),
    };
    let cam = config
        .cameras
        .iter()
        .find(|c| c.id == camera)
        .ok_or_else(|| {
            let ids: Vec<&str> = config.cameras.iter().map(|c| c.id.as_str()).collect();
            Error::not_found(format!(
                "no camera {camera:?} in the config (cameras: {}); or give a device path such as /dev/video0",
                ids.join(", ")
            ))
        })?;
    match &cam.source {
        SourceConfig::V4l2(v) => Ok(v.device.clone()),
        other => Err(Error::invalid(format!(
            "camera {camera:?} is a {} camera; only kind = \"v4l2\" cameras have controls",
            other.kind()
        ))),
    }
}

#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub fn devices(args: &DevicesArgs) -> Result<ExitCode, Error> {
    let list = lookout_sources::v4l2::list_devices();
    if args.json {
        let json: Vec<serde_json::Value> = list
            .iter()
            .map(|d| {
                serde_json::json!({
                    "path": d.path.display().to_string(),
                    "stable_names": d.stable_names.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                    "card": d.card,
                    "driver": d.driver,
                    "bus_info": d.bus_info,
                    "formats": match &d.offers {
                        Ok(offers) => offers.iter().map(|o| serde_json::json!({
                            "format": o.format.fourcc_str(),
                            "width": o.width,
                            "height": o.height,
                            "fps": o.fps,
                        })).collect::<Vec<_>>(),
                        Err(_) => Vec::new(),
                    },
                    "error": d.offers.as_ref().err().map(|e| e.message()),
                })
            })
            .collect();
        outln!("{}", serde_json::Value::from(json));
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        outln!("no V4L2 capture devices found (is the camera plugged in? `ls /dev/video*`)");
        return Ok(ExitCode::SUCCESS);
    }
    for d in &list {
        outln!(
            "{}  {} ({}, {})",
            d.path.display(),
            d.card,
            d.driver,
            d.bus_info
        );
        for name in &d.stable_names {
            outln!("  stable name: {}", name.display());
        }
        match &d.offers {
            Ok(offers) if offers.is_empty() => outln!("  no formats offered"),
            Ok(offers) => {
                for o in offers {
                    outln!("  {o}");
                }
            }
            Err(e) => outln!("  cannot list formats: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub fn controls(args: &ControlsArgs, config: Option<&Config>) -> Result<ExitCode, Error> {
    use lookout_sources::v4l2::{self, controls::parse_assignment};
    let device = device_of(&args.camera, config)?;
    let list = if args.set.is_empty() {
        v4l2::read_controls(&device)
    } else {
        let set = args
            .set
            .iter()
            .map(|a| parse_assignment(a))
            .collect::<Result<Vec<_>, _>>()?;
        v4l2::set_controls(&device, &set)
    }?;
    if args.json {
        let json: Vec<serde_json::Value> = list.iter().map(crate::controls::to_json).collect();
        outln!("{}", serde_json::Value::from(json));
    } else {
        for c in &list {
            outln!("{c}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
pub fn devices(_: &DevicesArgs) -> Result<ExitCode, Error> {
    Err(not_built())
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
pub fn controls(args: &ControlsArgs, config: Option<&Config>) -> Result<ExitCode, Error> {
    device_of(&args.camera, config)?;
    Err(not_built())
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
fn not_built() -> Error {
    Error::unavailable("this Lookout was built without V4L2 support (feature `v4l2`, Linux only)")
}
