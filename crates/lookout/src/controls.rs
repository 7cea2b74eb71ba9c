//! A V4L2 camera's controls as the API and the CLI use them: read and set on the device
//! (a second file descriptor is fine while the source streams), and remembered by the running
//! source so a reconnect applies them again.

use lookout_core::Error;
use lookout_sources::v4l2::{Assignment, ControlInfo};
use std::path::PathBuf;

pub struct CameraControls {
    pub device: PathBuf,
    #[cfg(all(feature = "v4l2", target_os = "linux"))]
    source: Option<std::sync::Arc<lookout_sources::v4l2::V4l2Source>>,
}

impl std::fmt::Debug for CameraControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraControls")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl CameraControls {
    /// Controls of `device` for a camera whose source is `source` (the CLI has none).
    #[cfg(all(feature = "v4l2", target_os = "linux"))]
    pub fn new(
        device: PathBuf,
        source: Option<std::sync::Arc<lookout_sources::v4l2::V4l2Source>>,
    ) -> Self {
        Self { device, source }
    }

    /// Every control with its range and current value.
    pub async fn list(&self) -> Result<Vec<ControlInfo>, Error> {
        let device = self.device.clone();
        blocking(move || read(&device)).await
    }

    /// Checks every assignment first (nothing is set if one is wrong), sets them, and
    /// returns the controls read back.
    pub async fn set(&self, set: Vec<Assignment>) -> Result<Vec<ControlInfo>, Error> {
        let device = self.device.clone();
        let applied = set.clone();
        let after = blocking(move || write(&device, &applied)).await?;
        #[cfg(all(feature = "v4l2", target_os = "linux"))]
        if let Some(source) = &self.source {
            source.remember_controls(&set);
        }
        Ok(after)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("controls thread stopped: {e}")))?
}

#[cfg(all(feature = "v4l2", target_os = "linux"))]
fn read(device: &std::path::Path) -> Result<Vec<ControlInfo>, Error> {
    lookout_sources::v4l2::read_controls(device)
}

#[cfg(all(feature = "v4l2", target_os = "linux"))]
fn write(device: &std::path::Path, set: &[Assignment]) -> Result<Vec<ControlInfo>, Error> {
    lookout_sources::v4l2::set_controls(device, set)
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
fn read(_: &std::path::Path) -> Result<Vec<ControlInfo>, Error> {
    Err(unsupported())
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
fn write(_: &std::path::Path, _: &[Assignment]) -> Result<Vec<ControlInfo>, Error> {
    Err(unsupported())
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
fn unsupported() -> Error {
    Error::new(
        lookout_core::ErrorKind::Unavailable,
        "this Lookout was built without V4L2 support (feature `v4l2`)",
    )
}

/// A control as JSON: what the camera page draws a slider, switch or menu from.
pub fn to_json(c: &ControlInfo) -> serde_json::Value {
    use lookout_sources::v4l2::ControlKind;
    let mut v = serde_json::json!({
        "name": c.key(),
        "label": c.name,
        "value": c.current,
        "range": c.describe_range(),
        // The page shows these without an input: setting them would fail.
        "read_only": c.read_only,
        "inactive": c.inactive,
    });
    match &c.kind {
        ControlKind::Integer {
            min,
            max,
            step,
            default,
        } => {
            v["type"] = "integer".into();
            v["min"] = (*min).into();
            v["max"] = (*max).into();
            v["step"] = (*step).into();
            v["default"] = (*default).into();
        }
        ControlKind::Boolean { default } => {
            v["type"] = "boolean".into();
            v["default"] = i64::from(*default).into();
        }
        ControlKind::Menu {
            min,
            max,
            default,
            items,
        } => {
            v["type"] = "menu".into();
            v["min"] = (*min).into();
            v["max"] = (*max).into();
            v["default"] = (*default).into();
            v["menu"] = items
                .iter()
                .map(|(value, name)| serde_json::json!({"value": value, "name": name}))
                .collect();
        }
    }
    v
}
