//! Motion mask zones drawn on a camera's page, kept per camera as the JSON lookout's
//! `events::zones` reads and writes (the store keeps the text, lookout checks its meaning).

use crate::db::Db;
use crate::error::StoreError;
use rusqlite::{OptionalExtension, params};

/// The zones stored for `camera`, if an admin drew some.
pub fn load(db: &Db<'_>, camera: &str) -> Result<Option<String>, StoreError> {
    Ok(db
        .conn()
        .query_row(
            "SELECT zones FROM motion_zones WHERE camera = ?1",
            [camera],
            |r| r.get(0),
        )
        .optional()?)
}

/// Stores `json` as `camera`'s zones, replacing what it had.
pub fn save(db: &Db<'_>, camera: &str, json: &str) -> Result<(), StoreError> {
    db.conn().execute(
        "INSERT INTO motion_zones (camera, zones, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (camera) DO UPDATE SET zones = ?2, updated_at = ?3",
        params![camera, json, db.now()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn saving_again_replaces() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.blocking(|db| load(db, "a")).unwrap(), None);
        store.blocking(|db| save(db, "a", "[1]")).unwrap();
        store.blocking(|db| save(db, "a", "[2]")).unwrap();
        store.blocking(|db| save(db, "b", "[3]")).unwrap();
        assert_eq!(
            store.blocking(|db| load(db, "a")).unwrap().as_deref(),
            Some("[2]")
        );
    }
}
