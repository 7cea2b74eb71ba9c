//! The alert outbox: one row per event and alert rule, queued in the event's own transaction
//! (`UNIQUE (event_id, rule)`: never twice), delivered by lookout's outbox worker, which leases
//! a due row, tries it and records the outcome. Rows stay after delivery as the record of what
//! was sent. Each row has a [`Target`]: alert rules' rows are delivered as they fall due, in
//! any order; the MQTT broker's strictly in the order they were queued ([`take_next_in_order`]),
//! so that a motion `OFF` never overtakes its `ON`.

use crate::db::Db;
use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

/// How long a delivery in progress is leased: another process (the server and `lookout
/// alerts test`) will not take the same row meanwhile.
const LEASE_SECS: i64 = 60;

/// Who delivers a row: the alert worker (email, webhooks) or the MQTT worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Alert,
    Mqtt,
}

impl Target {
    fn as_str(self) -> &'static str {
        match self {
            Target::Alert => "alert",
            Target::Mqtt => "mqtt",
        }
    }
}

/// A rule an event is to be queued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertQueue<'a> {
    pub rule: &'a str,
    pub target: Target,
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
            "INSERT OR IGNORE INTO outbox (event_id, rule, next_attempt_at, target) VALUES (?1, ?2, ?3, ?4)",
            params![event_id, rule.rule, now, rule.target.as_str()],
        )?;
    }
    Ok(held_back)
}

/// Queues rows for event `event_id` after it was recorded (the end of a motion event), with
/// no hourly limit.
pub fn queue_later(
    db: &mut Db<'_>,
    event_id: i64,
    rules: &[AlertQueue<'_>],
) -> Result<(), StoreError> {
    let now = db.now();
    let tx = db.conn_mut().transaction()?;
    let unlimited: Vec<AlertQueue<'_>> = rules
        .iter()
        .map(|r| AlertQueue {
            max_per_hour: None,
            ..*r
        })
        .collect();
    queue(&tx, event_id, now, &unlimited)?;
    tx.commit()?;
    Ok(())
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
    /// A motion event that has ended: when, and its peak score.
    pub ended_at: Option<i64>,
    pub peak_score: Option<f64>,
    /// The event has a video clip (its camera records): `/api/events/{id}/clip.mp4`.
    pub has_clip: bool,
}

/// The oldest alert row due now, leased to the caller for [`LEASE_SECS`] (record its outcome
/// with [`delivered`] or [`failed`]); `None` if nothing is due.
pub fn take_due(db: &Db<'_>) -> Result<Option<Due>, StoreError> {
    let now = db.now();
    loop {
        let Some((due, at)) = candidate(db.conn(), now, Target::Alert, false)? else {
            return Ok(None);
        };
        if lease(db, &due, at)? {
            return Ok(Some(due));
        }
    }
}

/// What [`take_next_in_order`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum InOrder {
    /// The oldest undelivered row, leased to the caller.
    Due(Due),
    /// The oldest undelivered row is not due before this time (a retry's backoff, or another
    /// taker's lease): nothing after it goes first.
    NotBefore(i64),
    /// Nothing is waiting.
    Nothing,
}

/// The oldest undelivered row of `target` that was not given up, leased to the caller if it
/// is due now: rows are delivered one at a time in the order they were queued.
pub fn take_next_in_order(db: &Db<'_>, target: Target) -> Result<InOrder, StoreError> {
    let now = db.now();
    loop {
        let Some((due, at)) = candidate(db.conn(), now, target, true)? else {
            return Ok(InOrder::Nothing);
        };
        if at > now {
            return Ok(InOrder::NotBefore(at));
        }
        if lease(db, &due, at)? {
            return Ok(InOrder::Due(due));
        }
    }
}

/// Leases row `due` (read when its next attempt was `at`) for [`LEASE_SECS`]: `false` if
/// somebody leased or delivered it since.
fn lease(db: &Db<'_>, due: &Due, at: i64) -> Result<bool, StoreError> {
    // Taken only if nobody leased or delivered it since it was read.
    let taken = db.conn().execute(
        "UPDATE outbox SET next_attempt_at = ?1 WHERE id = ?2 AND next_attempt_at = ?3 AND delivered_at IS NULL",
        params![db.now() + LEASE_SECS, due.id, at],
    )?;
    Ok(taken == 1)
}

/// The oldest undelivered row of `target`: due now, or (`in_order`) whenever it is due, but
/// not one given up (`next_attempt_at = i64::MAX`).
fn candidate(
    c: &Connection,
    now: i64,
    target: Target,
    in_order: bool,
) -> Result<Option<(Due, i64)>, StoreError> {
    let due_by = if in_order { i64::MAX - 1 } else { now };
    Ok(c.query_row(
        "SELECT o.id, o.rule, o.attempts, e.id, e.camera, e.kind, e.started_at, e.details, o.next_attempt_at, e.snapshot, e.ended_at, e.peak_score, e.clip_start_ms \
         FROM outbox o JOIN events e ON e.id = o.event_id \
         WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ?1 AND o.target = ?2 ORDER BY o.id LIMIT 1",
        params![due_by, target.as_str()],
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
                        ended_at: r.get(10)?,
                        peak_score: r.get(11)?,
                        has_clip: r.get::<_, Option<i64>>(12)?.is_some(),
                    },
                },
                at,
            ))
        },
    )
    .optional()?)
}

/// Makes every waiting row of `target` due now (not those given up): for a worker that is
/// the only one of its target (the MQTT worker: one server per data directory), at its
/// start, so that a row leased by a process that was killed mid-delivery does not wait out
/// the lease, nor a retry the backoff of a broker that is back.
pub fn due_now(db: &Db<'_>, target: Target) -> Result<usize, StoreError> {
    Ok(db.conn().execute(
        "UPDATE outbox SET next_attempt_at = ?1 \
         WHERE target = ?2 AND delivered_at IS NULL AND next_attempt_at > ?1 AND next_attempt_at < ?3",
        params![db.now(), target.as_str(), i64::MAX],
    )?)
}

/// Queues an `end` row (rule `end`, target `target`) for every motion event that has a
/// `start` row but was never finished and started before `before` (seconds since the epoch):
/// the events a killed process left open, so that their subscribers hear they ended.
/// Returns how many were queued.
pub fn end_abandoned(
    db: &Db<'_>,
    target: Target,
    start: &str,
    end: &str,
    before: i64,
) -> Result<usize, StoreError> {
    Ok(db.conn().execute(
        "INSERT OR IGNORE INTO outbox (event_id, rule, next_attempt_at, target) \
         SELECT o.event_id, ?1, ?2, o.target FROM outbox o JOIN events e ON e.id = o.event_id \
         WHERE o.target = ?3 AND o.rule = ?4 AND e.kind = 'motion' AND e.ended_at IS NULL \
         AND e.started_at < ?5 \
         AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.event_id = o.event_id AND x.rule = ?1)",
        params![end, db.now(), target.as_str(), start, before],
    )?)
}

/// When the next undelivered alert row is due (`None`: nothing is waiting).
pub fn next_attempt_at(db: &Db<'_>) -> Result<Option<i64>, StoreError> {
    Ok(db.conn().query_row(
        "SELECT MIN(o.next_attempt_at) FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.delivered_at IS NULL AND o.target = 'alert'",
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
            target: Target::Alert,
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

    #[test]
    fn mqtt_rows_go_in_queue_order_even_past_a_retry() {
        let clock = ManualClock::new(1_700_000_000);
        let store = Store::open_in_memory().unwrap().with_clock(clock.clock());
        let dir = tempfile::tempdir().unwrap();
        let rules = [
            AlertQueue {
                rule: "hook",
                target: Target::Alert,
                max_per_hour: None,
            },
            AlertQueue {
                rule: "mqtt",
                target: Target::Mqtt,
                max_per_hour: None,
            },
        ];
        let first = store
            .blocking(|db| record(db, &motion(), dir.path(), &rules))
            .unwrap();
        let take = || {
            store
                .blocking(|db| take_next_in_order(db, Target::Mqtt))
                .unwrap()
        };
        let InOrder::Due(on) = take() else {
            panic!("the first row is due")
        };
        assert_eq!((on.rule.as_str(), on.event.id), ("mqtt", first.id));
        // The broker is down: retried in 30 s.
        store
            .blocking(|db| failed(db, on.id, 1, 1_700_000_030, "no broker"))
            .unwrap();
        clock.advance(std::time::Duration::from_secs(10));
        let end = [AlertQueue {
            rule: "mqtt-end",
            target: Target::Mqtt,
            max_per_hour: None,
        }];
        store
            .blocking(|db| queue_later(db, first.id, &end))
            .unwrap();
        // The end row is due, but waits for the start row.
        assert_eq!(take(), InOrder::NotBefore(1_700_000_030));
        // Unless the worker starts again (the lease of a killed process, a retry's backoff).
        assert_eq!(store.blocking(|db| due_now(db, Target::Mqtt)).unwrap(), 1);
        let InOrder::Due(early) = take() else {
            panic!("due at once")
        };
        assert_eq!(early.id, on.id);
        store
            .blocking(|db| failed(db, on.id, 1, 1_700_000_030, "no broker"))
            .unwrap();
        // The alert worker sees only its own row.
        let hook = store.blocking(|db| take_due(db)).unwrap().unwrap();
        assert_eq!(hook.rule, "hook");
        assert_eq!(store.blocking(|db| take_due(db)).unwrap(), None);
        clock.advance(std::time::Duration::from_secs(20));
        let InOrder::Due(again) = take() else {
            panic!("the start row is due again")
        };
        assert_eq!((again.id, again.attempts), (on.id, 1));
        store.blocking(|db| delivered(db, again.id, 2)).unwrap();
        let InOrder::Due(off) = take() else {
            panic!("then the end row")
        };
        assert_eq!(off.rule, "mqtt-end");
        store.blocking(|db| delivered(db, off.id, 1)).unwrap();
        assert_eq!(take(), InOrder::Nothing);
        // A motion event a killed process left open gets its end row, once.
        let open = store
            .blocking(|db| record(db, &motion(), dir.path(), &rules[1..]))
            .unwrap();
        let now = clock.clock().now_secs();
        let abandon = || {
            store
                .blocking(|db| end_abandoned(db, Target::Mqtt, "mqtt", "mqtt-end", now + 1))
                .unwrap()
        };
        let none_before_it = store
            .blocking(|db| end_abandoned(db, Target::Mqtt, "mqtt", "mqtt-end", now))
            .unwrap();
        assert_eq!(
            none_before_it, 0,
            "an event of this second may be the new process's"
        );
        assert_eq!(abandon(), 1);
        assert_eq!(abandon(), 0);
        let d = store.blocking(|db| deliveries(db, open.id)).unwrap();
        let rules: Vec<_> = d.iter().map(|d| d.rule.as_str()).collect();
        assert_eq!(rules, ["mqtt", "mqtt-end"]);
    }
}
