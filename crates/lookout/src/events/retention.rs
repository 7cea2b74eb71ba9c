//! Retention: events older than `events.keep_days` go with their pictures; past
//! `events.max_snapshot_mib` of pictures the oldest pictures go first (the events stay, as
//! a record). The newest public address event always stays: it is what the watcher compares
//! with. Runs at start and then hourly.

use super::snapshot_path;
use crate::store::{Store, StoreError, now_secs};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub keep: Duration,
    pub max_snapshot_bytes: u64,
}

pub async fn run(store: Store, dir: PathBuf, policy: Retention, shutdown: CancellationToken) {
    loop {
        let (s, d) = (store.clone(), dir.clone());
        match tokio::task::spawn_blocking(move || sweep(&s, &d, policy)).await {
            Ok(Ok((events, pictures))) if events + pictures > 0 => {
                tracing::info!("retention: {events} old events and {pictures} pictures removed");
            }
            Ok(Err(e)) => tracing::warn!("retention: {e}"),
            _ => {}
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// One pass: (events removed, pictures removed).
pub fn sweep(store: &Store, dir: &Path, policy: Retention) -> Result<(usize, usize), StoreError> {
    let cutoff = now_secs() - i64::try_from(policy.keep.as_secs()).unwrap_or(i64::MAX / 2);
    let old: Vec<i64> = store.blocking(|c| {
        let mut stmt = c.prepare("SELECT id FROM events WHERE started_at < ?1 AND id IS NOT (SELECT MAX(id) FROM events WHERE kind = 'public_address_changed')")?;
        let ids = stmt
            .query_map([cutoff], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        c.execute("DELETE FROM events WHERE started_at < ?1 AND id IS NOT (SELECT MAX(id) FROM events WHERE kind = 'public_address_changed')", [cutoff])?;
        Ok::<_, StoreError>(ids)
    })?;
    for id in &old {
        let _ = std::fs::remove_file(snapshot_path(dir, *id));
    }
    // Oldest pictures first until the folder fits.
    let mut pictures: Vec<(i64, u64)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let id = e.file_name().to_str()?.strip_suffix(".jpg")?.parse().ok()?;
            Some((id, e.metadata().ok()?.len()))
        })
        .collect();
    pictures.sort_unstable();
    let mut total: u64 = pictures.iter().map(|(_, len)| len).sum();
    let mut removed = 0;
    for (id, len) in pictures {
        if total <= policy.max_snapshot_bytes {
            break;
        }
        if std::fs::remove_file(snapshot_path(dir, id)).is_ok() {
            total -= len;
            removed += 1;
            store.blocking(|c| {
                c.execute("UPDATE events SET snapshot = NULL WHERE id = ?1", [id])?;
                Ok::<_, StoreError>(())
            })?;
        }
    }
    Ok((old.len(), removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_events_and_excess_pictures_go_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let pics = dir.path().join("events");
        std::fs::create_dir_all(&pics).unwrap();
        let now = now_secs();
        for (id, age_days) in [(1, 40), (2, 3), (3, 2), (4, 1)] {
            store
                .blocking(|c| {
                    c.execute(
                        "INSERT INTO events (id, kind, started_at, snapshot) VALUES (?1, 'motion', ?2, 'x')",
                        [id, now - age_days * 86_400],
                    )?;
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            std::fs::write(snapshot_path(&pics, id), vec![0u8; 1000]).unwrap();
        }
        let policy = Retention {
            keep: Duration::from_secs(30 * 86_400),
            max_snapshot_bytes: 2000,
        };
        assert_eq!(sweep(&store, &pics, policy).unwrap(), (1, 1));
        assert!(!snapshot_path(&pics, 1).exists(), "older than keep_days");
        assert!(
            !snapshot_path(&pics, 2).exists(),
            "the oldest picture past the size"
        );
        assert!(snapshot_path(&pics, 3).exists() && snapshot_path(&pics, 4).exists());
        let left: i64 = store
            .blocking(|c| {
                Ok::<_, StoreError>(c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?)
            })
            .unwrap();
        assert_eq!(left, 3, "event 2 stays without its picture");
    }
}
