//! The alert outbox: one row per event and alert rule, queued in the event's own transaction
//! (`UNIQUE (event_id, rule)`: never twice), delivered by lookout's outbox worker, which leases
//! a due row, tries it and records the outcome. Rows stay after delivery as the record of what
//! was sent.

use crate::db::Db;
use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

/// How long a delivery in progress is leased: another process (the server and `lookout
/// alerts test`) will not take the same row meanwhile.
const LEASE_SECS: i64 = 60;

/// A rule an event is to be queued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertQueue<'a> {
    pub rule: &'a str,
    /// Not queued if the rule has queued this many alerts for events of the last hour;
    /// `None`: no limit (a test alert).
    pub max_per_hour: Option<u32>,
}

/// A rule that was not queued for an event: it has sent its hourly maximum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBack {
    pub rule: String,
    /// Alerts it queued for events of the last hour.
    pub last_hour: i64,
}

/// Queues event `event_id` (started `now`) for each rule under its hourly limit; the rules
/// held back. Runs in the caller's transaction.
pub(crate) fn queue(
    tx: &Connection,
    event_id: i64,
    now: i64,
    rules: &[AlertQueue<'_>],
) -> Result<Vec<HeldBack>, StoreError> {
    let mut held_back = Vec::new();
    for rule in rules {
        if let Some(max) = rule.max_per_hour {
            let last_hour: i64 = tx.query_row(
                "SELECT COUNT(*) FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.rule = ?1 AND e.started_at > ?2",
                params![rule.rule, now - 3600],
                |r| r.get(0),
            )?;
            if last_hour >= i64::from(max) {
                held_back.push(HeldBack {
                    rule: rule.rule.to_owned(),
                    last_hour,
                });
                continue;
            }
        }
        tx.execute(
            "INSERT OR IGNORE INTO outbox (event_id, rule, next_attempt_at) VALUES (?1, ?2, ?3)",
            params![event_id, rule.rule, now],
        )?;
    }
    Ok(held_back)
}

/// A queued delivery with its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub id: i64,
    pub rule: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub event: DueEvent,
}

/// The event of a delivery, as alerts describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct DueEvent {
    pub id: i64,
    pub camera: Option<String>,
    pub kind: String,
    /// Seconds since the Unix epoch; also when the alert was queued.
    pub started_at: i64,
    pub details: serde_json::Value,
    /// The event has a picture (the column names one): only then is the file attached.
    pub has_picture: bool,
}

/// The oldest row due now, leased to the caller for [`LEASE_SECS`] (record its outcome with
/// [`delivered`] or [`failed`]); `None` if nothing is due.
pub fn take_due(db: &Db<'_>) -> Result<Option<Due>, StoreError> {
    let now = db.now();
    loop {
        let Some((due, at)) = candidate(db.conn(), now)? else {
            return Ok(None);
        };
        // Taken only if nobody leased or delivered it since it was read.
        let taken = db.conn().execute(
            "UPDATE outbox SET next_attempt_at = ?1 WHERE id = ?2 AND next_attempt_at = ?3 AND delivered_at IS NULL",
            params![now + LEASE_SECS, due.id, at],
        )?;
        if taken == 1 {
            return Ok(Some(due));
        }
    }
}

fn candidate(c: &Connection, now: i64) -> Result<Option<(Due, i64)>, StoreError> {
    Ok(c.query_row(
        "SELECT o.id, o.rule, o.attempts, e.id, e.camera, e.kind, e.started_at, e.details, o.next_attempt_at, e.snapshot \
         FROM outbox o JOIN events e ON e.id = o.event_id \
         WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ?1 ORDER BY o.id LIMIT 1",
        [now],
        |r| {
            let details: String = r.get(7)?;
            let at: i64 = r.get(8)?;
            Ok((
                Due {
                    id: r.get(0)?,
                    rule: r.get(1)?,
                    attempts: r.get(2)?,
                    event: DueEvent {
                        id: r.get(3)?,
                        camera: r.get(4)?,
                        kind: r.get(5)?,
                        started_at: r.get(6)?,
                        details: serde_json::from_str(&details).unwrap_or_default(),
                        has_picture: r.get::<_, Option<String>>(9)?.is_some(),
                    },
                },
                at,
            ))
        },
    )
    .optional()?)
}

/// When the next undelivered row is due (`None`: nothing is waiting).
pub fn next_attempt_at(db: &Db<'_>) -> Result<Option<i64>, StoreError> {
    Ok(db.conn().query_row(
        "SELECT MIN(o.next_attempt_at) FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.delivered_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Row `id` was delivered (now), at attempt `attempts`.
pub fn delivered(db: &Db<'_>, id: i64, attempts: i64) -> Result<(), StoreError> {
    db.conn().execute(
        "UPDATE outbox SET delivered_at = ?1, attempts = ?2, last_error = NULL WHERE id = ?3",
        params![db.now(), attempts, id],
    )?;
    Ok(())
}

/// Row `id` failed at attempt `attempts` with `error`; tried again at `next_attempt_at`
/// (`i64::MAX`: given up).
pub fn failed(
    db: &Db<'_>,
    id: i64,
    attempts: i64,
    next_attempt_at: i64,
    error: &str,
) -> Result<(), StoreError> {
    db.conn().execute(
        "UPDATE outbox SET attempts = ?1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?4",
        params![attempts, next_attempt_at, error, id],
    )?;
    Ok(())
}

/// What became of one rule's alert for an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub rule: String,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
}

/// The alerts queued for event `event_id`, by rule name.
pub fn deliveries(db: &Db<'_>, event_id: i64) -> Result<Vec<Delivery>, StoreError> {
    let mut stmt = db.conn().prepare(
        "SELECT rule, delivered_at, last_error FROM outbox WHERE event_id = ?1 ORDER BY rule",
    )?;
    let rows = stmt
        .query_map([event_id], |r| {
            Ok(Delivery {
                rule: r.get(0)?,
                delivered_at: r.get(1)?,
                last_error: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_kind::EventKind;
    use crate::events::{NewEvent, record};
    use crate::{ManualClock, Store};

    fn motion() -> NewEvent {
        NewEvent {
            camera: Some("front".into()),
            kind: EventKind::Motion,
            details: serde_json::json!({ "score": 0.5 }),
            snapshot: None,
        }
    }

    #[test]
    fn rows_are_leased_once_retried_when_due_and_limited_per_hour() {
        let clock = ManualClock::new(1_700_000_000);
        let store = Store::open_in_memory().unwrap().with_clock(clock.clock());
        let dir = tempfile::tempdir().unwrap();
        let rules = [AlertQueue {
            rule: "hook",
            max_per_hour: Some(2),
        }];
        let rec = |store: &Store| {
            store
                .blocking(|db| record(db, &motion(), dir.path(), &rules))
                .unwrap()
        };
        let first = rec(&store);
        assert!(first.held_back.is_empty());
        let due = store.blocking(|db| take_due(db)).unwrap().unwrap();
        assert_eq!((due.rule.as_str(), due.attempts), ("hook", 0));
        assert_eq!(due.event.id, first.id);
        assert_eq!(due.event.details["score"], 0.5);
        assert!(!due.event.has_picture);
        // Leased: not due again for a minute, also for another taker.
        assert_eq!(store.blocking(|db| take_due(db)).unwrap(), None);
        assert_eq!(
            store.blocking(|db| next_attempt_at(db)).unwrap(),
            Some(1_700_000_000 + LEASE_SECS)
        );
        store
            .blocking(|db| failed(db, due.id, 1, 1_700_000_030, "503"))
            .unwrap();
        clock.advance(std::time::Duration::from_secs(30));
        let again = store.blocking(|db| take_due(db)).unwrap().unwrap();
        assert_eq!((again.id, again.attempts), (due.id, 1));
        store.blocking(|db| delivered(db, again.id, 2)).unwrap();
        assert_eq!(store.blocking(|db| next_attempt_at(db)).unwrap(), None);
        let d = store.blocking(|db| deliveries(db, first.id)).unwrap();
        assert_eq!(d[0].delivered_at, Some(1_700_000_030));
        assert_eq!(d[0].last_error, None);
        // Two in the last hour: the third event is recorded, its alert held back...
        rec(&store);
        let third = rec(&store);
        assert_eq!(
            third.held_back,
            [HeldBack {
                rule: "hook".into(),
                last_hour: 2
            }]
        );
        assert!(
            store
                .blocking(|db| deliveries(db, third.id))
                .unwrap()
                .is_empty()
        );
        // ...until the first is more than an hour old.
        clock.advance(std::time::Duration::from_secs(3600 - 30));
        assert!(rec(&store).held_back.is_empty());
    }
}
