//! Retention: events older than `events.keep_days` go with their pictures; past
//! `events.max_snapshot_mib` of pictures the oldest pictures go first (the events stay, as a
//! record). The newest public address event always stays: it is what the watcher compares
//! with. Lookout runs [`sweep`] at start and then hourly.

use crate::db::{Db, Store};
use crate::error::StoreError;
use crate::event_kind::EventKind;
use crate::events::picture_path;
use lookout_core::Error;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub keep: Duration,
    pub max_snapshot_bytes: u64,
}

/// Deletes the events that started more than `keep` ago, but for the newest public address
/// event; their ids.
pub fn delete_older_than(db: &Db<'_>, keep: Duration) -> Result<Vec<i64>, StoreError> {
    let cutoff = db.now() - i64::try_from(keep.as_secs()).unwrap_or(i64::MAX / 2);
    let mut stmt = db.conn().prepare(
        "DELETE FROM events WHERE started_at < ?1 \
         AND id IS NOT (SELECT MAX(id) FROM events WHERE kind = ?2) RETURNING id",
    )?;
    let ids = stmt
        .query_map(
            rusqlite::params![cutoff, EventKind::PublicAddressChanged.as_str()],
            |r| r.get(0),
        )?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// Event `id` has no picture any more.
pub fn forget_picture(db: &Db<'_>, id: i64) -> Result<(), StoreError> {
    db.conn()
        .execute("UPDATE events SET snapshot = NULL WHERE id = ?1", [id])?;
    Ok(())
}

/// One pass over the database and the pictures folder `pictures`: (events removed, pictures
/// removed). Blocks: call it on the blocking pool.
pub fn sweep(store: &Store, pictures: &Path, policy: Retention) -> Result<(usize, usize), Error> {
    let old = store.blocking(|db| delete_older_than(db, policy.keep))?;
    for id in &old {
        let _ = std::fs::remove_file(picture_path(pictures, *id));
    }
    // Oldest pictures first until the folder fits.
    let mut files: Vec<(i64, u64)> = std::fs::read_dir(pictures)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let id = e.file_name().to_str()?.strip_suffix(".jpg")?.parse().ok()?;
            Some((id, e.metadata().ok()?.len()))
        })
        .collect();
    files.sort_unstable();
    let mut total: u64 = files.iter().map(|(_, len)| len).sum();
    let mut removed = 0;
    for (id, len) in files {
        if total <= policy.max_snapshot_bytes {
            break;
        }
        if std::fs::remove_file(picture_path(pictures, id)).is_ok() {
            total -= len;
            removed += 1;
            store.blocking(|db| forget_picture(db, id))?;
        }
    }
    Ok((old.len(), removed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::event_list::{self, EventScope};
    use crate::events::{NewEvent, record};

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_700_000_000;

    fn event(kind: EventKind, picture: bool) -> NewEvent {
        NewEvent {
            camera: (kind == EventKind::Motion).then(|| "front".to_owned()),
            kind,
            details: serde_json::json!({}),
            snapshot: picture.then(|| bytes::Bytes::from(vec![0u8; 1000])),
        }
    }

    /// Events recorded `age_days` before `NOW` (the clock is moved back for each), then the
    /// clock set to `NOW`.
    fn store_with(events: &[(EventKind, i64, bool)]) -> (Store, tempfile::TempDir, Vec<i64>) {
        let clock = ManualClock::new(NOW);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().with_clock(clock.clock());
        let pictures = dir.path().join("events");
        let ids = events
            .iter()
            .map(|&(kind, age_days, picture)| {
                clock.set(NOW - age_days * DAY);
                let e = event(kind, picture);
                store
                    .blocking(|db| record(db, &e, &pictures, &[]))
                    .unwrap()
                    .id
            })
            .collect();
        clock.set(NOW);
        (store, dir, ids)
    }

    fn ids_left(store: &Store) -> Vec<i64> {
        let page = store
            .blocking(|db| event_list::list(db, &EventScope::All, None, 100))
            .unwrap();
        page.events.iter().rev().map(|e| e.id).collect()
    }

    #[test]
    fn old_events_and_excess_pictures_go_oldest_first() {
        let m = EventKind::Motion;
        let (store, dir, ids) =
            store_with(&[(m, 40, true), (m, 3, true), (m, 2, true), (m, 1, true)]);
        let pics = dir.path().join("events");
        let policy = Retention {
            keep: Duration::from_secs(30 * 86_400),
            max_snapshot_bytes: 2000,
        };
        assert_eq!(sweep(&store, &pics, policy).unwrap(), (1, 1));
        assert!(
            !picture_path(&pics, ids[0]).exists(),
            "older than keep_days"
        );
        assert!(
            !picture_path(&pics, ids[1]).exists(),
            "the oldest picture past the size"
        );
        assert!(picture_path(&pics, ids[2]).exists() && picture_path(&pics, ids[3]).exists());
        assert_eq!(
            ids_left(&store),
            ids[1..],
            "event 2 stays without its picture"
        );
        let page = store
            .blocking(|db| event_list::list(db, &EventScope::All, None, 100))
            .unwrap();
        let with_picture: Vec<i64> = page
            .events
            .iter()
            .filter(|e| e.snapshot_url.is_some())
            .map(|e| e.id)
            .collect();
        assert_eq!(with_picture, [ids[3], ids[2]]);
    }

    #[test]
    fn keep_days_is_measured_by_the_store_clock_and_spares_the_last_address() {
        let (m, p) = (EventKind::Motion, EventKind::PublicAddressChanged);
        let (store, dir, ids) =
            store_with(&[(p, 90, false), (p, 60, false), (m, 8, false), (m, 6, false)]);
        let pics = dir.path().join("events");
        let week = Retention {
            keep: Duration::from_secs(7 * 86_400),
            max_snapshot_bytes: u64::MAX,
        };
        // The older address goes; the newer one is what the watcher compares with.
        assert_eq!(sweep(&store, &pics, week).unwrap(), (2, 0));
        assert_eq!(ids_left(&store), [ids[1], ids[3]]);
        // A day later the 6-day-old event is 7 days old: still kept (older than, not as old
        // as); two days later it goes.
        let clock = ManualClock::new(NOW + DAY);
        let store = store.with_clock(clock.clock());
        assert_eq!(sweep(&store, &pics, week).unwrap(), (0, 0));
        clock.set(NOW + 2 * DAY);
        assert_eq!(sweep(&store, &pics, week).unwrap(), (1, 0));
        assert_eq!(ids_left(&store), [ids[1]]);
    }
}
