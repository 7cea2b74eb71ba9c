//! Motion mask zones drawn by an admin on a camera's page: stored in the database, where
//! they replace the config file's zones for that camera, and handed to the running motion
//! detector at once (which starts learning the background again).

use lookout_core::Error;
use lookout_core::motion::{MaskZone, ZoneKind};
use lookout_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tokio::sync::watch;

/// Limits for what a page may send.
pub const MAX_ZONES: usize = 16;
pub const MAX_POINTS: usize = 64;

/// A zone as JSON: `{"kind": "exclude", "points": [[0.1, 0.2], ...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneJson {
    pub kind: String,
    pub points: Vec<[f32; 2]>,
}

impl ZoneJson {
    pub fn of(z: &MaskZone) -> Self {
        Self {
            kind: match z.kind {
                ZoneKind::Include => "include",
                ZoneKind::Exclude => "exclude",
            }
            .into(),
            points: z.points.iter().map(|&(x, y)| [x, y]).collect(),
        }
    }

    pub fn to_zone(&self) -> Result<MaskZone, Error> {
        if self.points.len() > MAX_POINTS {
            return Err(Error::invalid(format!(
                "a zone has at most {MAX_POINTS} points"
            )));
        }
        let points = self.points.iter().map(|[x, y]| (*x, *y)).collect();
        let zone = match self.kind.as_str() {
            "include" => MaskZone::include(points),
            "exclude" => MaskZone::exclude(points),
            other => {
                return Err(Error::invalid(format!(
                    "zone kind {other:?}: use \"include\" or \"exclude\""
                )));
            }
        };
        zone.validate().map_err(|e| Error::invalid(e.to_string()))?;
        Ok(zone)
    }
}

/// Checks a whole list from a page.
pub fn parse(list: &[ZoneJson]) -> Result<Vec<MaskZone>, Error> {
    if list.len() > MAX_ZONES {
        return Err(Error::invalid(format!(
            "at most {MAX_ZONES} zones per camera"
        )));
    }
    list.iter().map(ZoneJson::to_zone).collect()
}

/// The zones of every camera with motion detection, as the detectors see them.
#[derive(Debug, Default)]
pub struct MotionZones {
    cameras: HashMap<String, watch::Sender<Vec<MaskZone>>>,
}

impl MotionZones {
    /// Registers a camera with its config zones, replaced by stored ones if an admin drew
    /// some; the receiver goes to its motion watcher.
    pub fn register(
        &mut self,
        store: &Store,
        camera: &str,
        configured: Vec<MaskZone>,
    ) -> watch::Receiver<Vec<MaskZone>> {
        let stored = load(store, camera).unwrap_or_else(|e| {
            tracing::warn!(
                camera,
                "stored motion zones unreadable, using the config's: {}",
                e.chain()
            );
            None
        });
        let (tx, rx) = watch::channel(stored.unwrap_or(configured));
        self.cameras.insert(camera.to_owned(), tx);
        rx
    }

    pub fn get(&self, camera: &str) -> Option<Vec<MaskZone>> {
        self.cameras.get(camera).map(|tx| tx.borrow().clone())
    }

    /// Stores `zones` for `camera` and applies them; `false` if the camera has no motion
    /// detection.
    pub fn set(&self, store: &Store, camera: &str, zones: Vec<MaskZone>) -> Result<bool, Error> {
        let Some(tx) = self.cameras.get(camera) else {
            return Ok(false);
        };
        // The same zones again: nothing to store, and no reason to restart learning.
        if *tx.borrow() == zones {
            return Ok(true);
        }
        let json = serde_json::to_string(&zones.iter().map(ZoneJson::of).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into());
        store.blocking(|db| lookout_store::zones::save(db, camera, &json))?;
        tx.send_replace(zones);
        Ok(true)
    }
}

fn load(store: &Store, camera: &str) -> Result<Option<Vec<MaskZone>>, Error> {
    let Some(json) = store.blocking(|db| lookout_store::zones::load(db, camera))? else {
        return Ok(None);
    };
    let list: Vec<ZoneJson> = serde_json::from_str(&json)
        .map_err(|e| Error::corrupt(format!("the stored zones are not zone JSON: {e}")))?;
    parse(&list).map(Some)
}
