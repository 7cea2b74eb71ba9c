//! The cameras announced to Home Assistant over MQTT, per node (the client id): at start,
//! the ones no longer in the config get their entities removed, then the list is replaced.

use crate::db::Db;
use crate::error::StoreError;
use rusqlite::params;

/// The cameras announced by `node`, in name order.
pub fn announced(db: &Db<'_>, node: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = db
        .conn()
        .prepare("SELECT camera FROM mqtt_announced WHERE node = ?1 ORDER BY camera")?;
    let rows = stmt
        .query_map([node], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(rows)
}

/// `node` has announced exactly `cameras` now.
pub fn set_announced(db: &mut Db<'_>, node: &str, cameras: &[String]) -> Result<(), StoreError> {
    let tx = db.conn_mut().transaction()?;
    tx.execute("DELETE FROM mqtt_announced WHERE node = ?1", [node])?;
    for camera in cameras {
        tx.execute(
            "INSERT INTO mqtt_announced (node, camera) VALUES (?1, ?2)",
            params![node, camera],
        )?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn the_list_is_replaced_per_node() {
        let store = Store::open_in_memory().unwrap();
        let cams = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        store
            .blocking(|db| set_announced(db, "a", &cams(&["front", "back"])))
            .unwrap();
        store
            .blocking(|db| set_announced(db, "b", &cams(&["yard"])))
            .unwrap();
        store
            .blocking(|db| set_announced(db, "a", &cams(&["front"])))
            .unwrap();
        assert_eq!(store.blocking(|db| announced(db, "a")).unwrap(), ["front"]);
        assert_eq!(store.blocking(|db| announced(db, "b")).unwrap(), ["yard"]);
    }
}
