//! Schema migrations, applied in order; `PRAGMA user_version` holds how many ran.
//! Never edit a migration that has shipped: add a new one.

use crate::error::StoreError;
use rusqlite::{Connection, TransactionBehavior};

const MIGRATIONS: &[&str] = &[
    // 1: accounts.
    r#"
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        -- PHC string ($argon2id$...) or, for users imported from flask-cam until their first
        -- login, a bcrypt string ($2b$...).
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
        -- JSON array of camera ids this user may watch; NULL means every camera.
        cameras TEXT,
        created_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL,
        -- Bumped by every password change: ends streams opened with the old Basic password.
        password_generation INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        -- SHA-256 of the cookie's random token: a stolen database holds no usable session.
        token_hash BLOB NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        idle_secs INTEGER NOT NULL,
        remember INTEGER NOT NULL,
        client TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        -- The user's password_generation at login: a later password change ends the session
        -- even if it was created while the change ran.
        password_generation INTEGER NOT NULL
    );
    CREATE INDEX sessions_user ON sessions (user_id);
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash BLOB NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used INTEGER,
        UNIQUE (user_id, name)
    );
    -- Counters other processes bump so the server notices: auth_epoch changes on every
    -- revocation (session, token, user, password), which ends the affected open streams.
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO meta (key, value) VALUES ('auth_epoch', 0);
    "#,
    // 2: events and the alert outbox.
    r#"
    CREATE TABLE events (
        -- AUTOINCREMENT: ids are never reused, so `{id}-{rule}` stays a unique delivery key.
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        camera TEXT,
        kind TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        peak_score REAL,
        -- A JPEG in the data directory's events/ folder, relative to it.
        snapshot TEXT,
        details TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_started ON events (started_at);
    -- One row per event and alert rule: UNIQUE makes "never twice for one event and rule"
    -- a property of the schema. Rows stay after delivery as the record of what was sent.
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        rule TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        delivered_at INTEGER,
        last_error TEXT,
        UNIQUE (event_id, rule)
    );
    CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);
    "#,
    // 3: motion mask zones drawn on the camera pages (they replace the config's zones).
    r#"
    CREATE TABLE motion_zones (
        camera TEXT PRIMARY KEY,
        -- JSON: [{"kind": "include" | "exclude", "points": [[x, y], ...]}]
        zones TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    "#,
    // 4: a viewer limited to some cameras pages through their events by index, however many
    // events the other cameras have.
    r#"
    CREATE INDEX events_camera ON events (camera, id);
    "#,
    // 5: MQTT: outbox rows for the broker beside the alert rules' (`target`), delivered in
    // order by their own worker; the cameras announced to Home Assistant, so that a camera
    // taken out of the config has its entities removed at the next start.
    r#"
    ALTER TABLE outbox ADD COLUMN target TEXT NOT NULL DEFAULT 'alert';
    CREATE TABLE mqtt_announced (
        -- Home Assistant's node id (the MQTT client id): one Lookout, one device.
        node TEXT NOT NULL,
        camera TEXT NOT NULL,
        PRIMARY KEY (node, camera)
    );
    "#,
    // 6: recording. Init segments (one file per camera and distinct codec parameters) and the
    // segments that need them, one file each; times in milliseconds (events' are seconds).
    // An event's clip is a time range on its camera: the segments overlapping it.
    r#"
    CREATE TABLE recording_inits (
        id INTEGER PRIMARY KEY,
        camera TEXT NOT NULL,
        -- Hex SHA-256 of the init segment's bytes: a restart with the same parameters reuses it.
        sha256 TEXT NOT NULL,
        codec TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        -- Relative to the data directory.
        path TEXT NOT NULL,
        UNIQUE (camera, sha256)
    );
    CREATE TABLE recording_segments (
        id INTEGER PRIMARY KEY,
        camera TEXT NOT NULL,
        -- Per camera, rising by one per segment (an HLS media sequence number).
        camera_seq INTEGER NOT NULL,
        -- A stretch of segments that play one after the other (rising per camera).
        run INTEGER NOT NULL,
        init_id INTEGER NOT NULL REFERENCES recording_inits (id),
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        start_90k INTEGER NOT NULL,
        duration_90k INTEGER NOT NULL,
        frames INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        path TEXT NOT NULL,
        -- 'continuous' or 'event'.
        reason TEXT NOT NULL,
        UNIQUE (camera, camera_seq)
    );
    CREATE INDEX recording_segments_time ON recording_segments (camera, start_ms);
    CREATE INDEX recording_segments_age ON recording_segments (start_ms);
    ALTER TABLE events ADD COLUMN clip_start_ms INTEGER;
    -- NULL while the clip is still being recorded.
    ALTER TABLE events ADD COLUMN clip_end_ms INTEGER;
    "#,
];

/// Brings the schema up to date. The version is read inside an IMMEDIATE (write) transaction,
/// so two processes opening a new database at once (`lookout user add` while the service
/// starts) take turns: the second sees the first's version instead of creating the tables
/// again ("table users already exists").
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // Most opens find nothing to do: say so without taking the write lock.
    let version = user_version(conn)?;
    if version == MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = user_version(&tx)?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::NewerSchema {
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    for v in version + 1..=MIGRATIONS.len() {
        tracing::info!("database schema migrated to version {v}");
    }
    Ok(())
}

fn user_version(conn: &Connection) -> Result<usize, StoreError> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok(usize::try_from(v).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op_and_newer_schemas_are_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        c.pragma_update(None, "user_version", 99).unwrap();
        assert!(migrate(&mut c).unwrap_err().to_string().contains("newer"));
    }

    /// Several processes opening one new database at once: each waits for the one migrating.
    #[test]
    fn concurrent_first_opens_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lookout.db");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut c = Connection::open(&path).unwrap();
                    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                    crate::journal::use_wal(&c, std::time::Duration::from_secs(10)).unwrap();
                    migrate(&mut c)
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
    }
}
