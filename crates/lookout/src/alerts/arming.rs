//! Which cameras' motion alerts are disarmed (MQTT's `alerts/set` command): their motion
//! events are still recorded and published, but queue no alert. In memory: every camera is
//! armed at start.

use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Arming {
    disarmed: Mutex<HashSet<String>>,
}

impl Arming {
    pub fn armed(&self, camera: &str) -> bool {
        !self
            .disarmed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(camera)
    }

    pub fn set(&self, camera: &str, armed: bool) {
        let mut disarmed = self.disarmed.lock().unwrap_or_else(|e| e.into_inner());
        if armed {
            disarmed.remove(camera);
        } else {
            disarmed.insert(camera.to_owned());
        }
    }
}
