//! What an event is about, as the `events.kind` column keeps it. Its own file: the events
//! that are recorded, the alert rules that filter them and the config that names them all
//! use it, and none of them should need the others for it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Motion,
    CameraOffline,
    CameraOnline,
    /// The public address watcher saw a new address.
    PublicAddressChanged,
    /// `lookout alerts test`.
    Test,
    /// The data directory's disk is below the free-space floor and retention cannot free
    /// enough: recording stopped (live view goes on).
    RecordingStopped,
    /// Free space is back above the floor: recording goes on.
    RecordingResumed,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::Motion,
        EventKind::CameraOffline,
        EventKind::CameraOnline,
        EventKind::PublicAddressChanged,
        EventKind::Test,
        EventKind::RecordingStopped,
        EventKind::RecordingResumed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Motion => "motion",
            EventKind::CameraOffline => "camera_offline",
            EventKind::CameraOnline => "camera_online",
            EventKind::PublicAddressChanged => "public_address_changed",
            EventKind::Test => "test",
            EventKind::RecordingStopped => "recording_stopped",
            EventKind::RecordingResumed => "recording_resumed",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn names_parse_back_and_match_serde() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::from(k.as_str())
            );
        }
        assert_eq!(EventKind::parse("Motion"), None);
    }
}
