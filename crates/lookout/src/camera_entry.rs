//! A camera as the server serves it: its id, name, hub and controls. Its own module because
//! the configured cameras (`app`), the on-demand ROS topics (`ros::topics`) and the web layer
//! all hold them, and none of those may import another for it.

use lookout_core::CameraHub;
use std::sync::Arc;

/// A camera as the web layer sees it.
#[derive(Debug, Clone)]
pub struct CameraEntry {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub hub: Arc<CameraHub>,
    /// A V4L2 camera's controls; `None` for other sources.
    pub controls: Option<Arc<crate::controls::CameraControls>>,
    pub recording: RecordingState,
}

/// Whether a camera records, as the API shows it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RecordingState {
    /// `"off"`, `"events"` or `"continuous"`.
    pub mode: &'static str,
    /// When it cannot record at all: why (a JPEG camera without an H.264 encoder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<&'static str>,
}
