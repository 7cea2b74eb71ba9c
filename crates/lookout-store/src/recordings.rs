//! The recording index: init segments and segments on disk (their files live under
//! `DATA_DIR/recordings/`, written by the server before their rows exist), event clips as
//! time ranges, and the questions retention and export ask. Times are milliseconds since the
//! Unix epoch.
//!
//! The crash-safety rule the callers keep: a file is complete and synced before its row is
//! inserted, and a row is deleted before its file. So every row names a playable file, and a
//! crash leaves at most files without rows, which start-up recovery deletes.

use crate::db::Db;
use crate::error::StoreError;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// An init segment to index.
#[derive(Debug, Clone)]
pub struct NewInit<'a> {
    pub camera: &'a str,
    /// Hex SHA-256 of the bytes.
    pub sha256: &'a str,
    /// RFC 6381 codec string, `avc1.42C01F`.
    pub codec: &'a str,
    pub width: u32,
    pub height: u32,
    /// Relative to the data directory.
    pub path: &'a str,
}

/// A segment to index, once its file is on disk.
#[derive(Debug, Clone)]
pub struct NewSegment<'a> {
    pub camera: &'a str,
    pub camera_seq: i64,
    pub run: i64,
    pub init_id: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub start_90k: i64,
    pub duration_90k: i64,
    pub frames: i64,
    pub bytes: i64,
    pub path: &'a str,
    pub reason: Reason,
}

/// Why a segment was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    Continuous,
    /// Part of an event's clip (pre-roll, the event, post-roll).
    Event,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Continuous => "continuous",
            Reason::Event => "event",
        }
    }
}

/// An indexed segment, as export and retention read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    pub id: i64,
    pub camera: String,
    pub camera_seq: i64,
    pub run: i64,
    pub init_id: i64,
    /// The init segment's file, relative to the data directory.
    pub init_path: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub start_90k: i64,
    pub duration_90k: i64,
    pub frames: i64,
    pub bytes: i64,
    pub path: String,
}

/// The init segment already indexed for `camera` with these bytes: its id.
pub fn find_init(db: &Db<'_>, camera: &str, sha256: &str) -> Result<Option<i64>, StoreError> {
    Ok(db
        .conn()
        .query_row(
            "SELECT id FROM recording_inits WHERE camera = ?1 AND sha256 = ?2",
            params![camera, sha256],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn insert_init(db: &Db<'_>, init: &NewInit<'_>) -> Result<i64, StoreError> {
    db.conn().execute(
        "INSERT INTO recording_inits (camera, sha256, codec, width, height, path) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![init.camera, init.sha256, init.codec, init.width, init.height, init.path],
    )?;
    Ok(db.conn().last_insert_rowid())
}

/// The next `camera_seq` and run numbers for `camera`: one past the highest indexed, so a
/// restart goes on where the last run stopped.
pub fn next_seq_and_run(db: &Db<'_>, camera: &str) -> Result<(i64, i64), StoreError> {
    Ok(db.conn().query_row(
        "SELECT COALESCE(MAX(camera_seq), 0) + 1, COALESCE(MAX(run), 0) + 1 FROM recording_segments WHERE camera = ?1",
        [camera],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

pub fn insert_segment(db: &Db<'_>, s: &NewSegment<'_>) -> Result<i64, StoreError> {
    db.conn().execute(
        "INSERT INTO recording_segments (camera, camera_seq, run, init_id, start_ms, end_ms, start_90k, duration_90k, frames, bytes, path, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            s.camera,
            s.camera_seq,
            s.run,
            s.init_id,
            s.start_ms,
            s.end_ms,
            s.start_90k,
            s.duration_90k,
            s.frames,
            s.bytes,
            s.path,
            s.reason.as_str()
        ],
    )?;
    Ok(db.conn().last_insert_rowid())
}

const SEGMENT_COLUMNS: &str = "SELECT s.id, s.camera, s.camera_seq, s.run, s.init_id, i.path, s.start_ms, s.end_ms, s.start_90k, s.duration_90k, s.frames, s.bytes, s.path
     FROM recording_segments s JOIN recording_inits i ON i.id = s.init_id";

fn segment_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SegmentRow> {
    Ok(SegmentRow {
        id: r.get(0)?,
        camera: r.get(1)?,
        camera_seq: r.get(2)?,
        run: r.get(3)?,
        init_id: r.get(4)?,
        init_path: r.get(5)?,
        start_ms: r.get(6)?,
        end_ms: r.get(7)?,
        start_90k: r.get(8)?,
        duration_90k: r.get(9)?,
        frames: r.get(10)?,
        bytes: r.get(11)?,
        path: r.get(12)?,
    })
}

/// `camera`'s segments overlapping `[from_ms, to_ms)`, in recording order.
pub fn segments_between(
    db: &Db<'_>,
    camera: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<SegmentRow>, StoreError> {
    let sql = format!(
        "{SEGMENT_COLUMNS} WHERE s.camera = ?1 AND s.end_ms > ?2 AND s.start_ms < ?3 ORDER BY s.camera_seq"
    );
    let mut stmt = db.conn().prepare(&sql)?;
    let rows = stmt.query_map(params![camera, from_ms, to_ms], segment_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every indexed file (segments and inits), relative to the data directory: what start-up
/// recovery compares the disk with.
pub fn all_paths(db: &Db<'_>) -> Result<Vec<(FileKind, i64, String)>, StoreError> {
    let mut out = Vec::new();
    let mut stmt = db.conn().prepare("SELECT id, path FROM recording_inits")?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, path) = row?;
        out.push((FileKind::Init, id, path));
    }
    let mut stmt = db
        .conn()
        .prepare("SELECT id, path FROM recording_segments")?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, path) = row?;
        out.push((FileKind::Segment, id, path));
    }
    Ok(out)
}

/// Which table a path is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Init,
    Segment,
}

/// Deletes the rows of segments (and then of inits no segment needs any more) in one
/// transaction. Returns the init files that lost their rows: the caller unlinks them after.
pub fn delete_segments(db: &mut Db<'_>, ids: &[i64]) -> Result<Vec<String>, StoreError> {
    let tx = db.conn_mut().transaction()?;
    {
        let mut del = tx.prepare("DELETE FROM recording_segments WHERE id = ?1")?;
        for id in ids {
            del.execute([id])?;
        }
    }
    let unused: Vec<(i64, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, path FROM recording_inits i WHERE NOT EXISTS (SELECT 1 FROM recording_segments s WHERE s.init_id = i.id)",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    for (id, _) in &unused {
        tx.execute("DELETE FROM recording_inits WHERE id = ?1", [id])?;
    }
    tx.commit()?;
    Ok(unused.into_iter().map(|(_, p)| p).collect())
}

/// Deletes index rows whose files are gone (a disk replaced, files removed by hand): the
/// segments first, then the inits. Returns how many rows went.
pub fn forget_missing(
    db: &mut Db<'_>,
    segments: &[i64],
    inits: &[i64],
) -> Result<usize, StoreError> {
    let tx = db.conn_mut().transaction()?;
    let mut n = 0;
    for id in segments {
        n += tx.execute("DELETE FROM recording_segments WHERE id = ?1", [id])?;
    }
    for id in inits {
        n += tx.execute("DELETE FROM recording_segments WHERE init_id = ?1", [id])?;
        n += tx.execute("DELETE FROM recording_inits WHERE id = ?1", [id])?;
    }
    tx.commit()?;
    Ok(n)
}

/// A segment retention may delete: id, file, size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletable {
    pub id: i64,
    pub camera: String,
    pub path: String,
    pub bytes: i64,
}

/// Segments of `camera` that started before `before_ms` and are in no event's clip (an
/// event's clip is kept as long as the event: `[events] keep_days`), oldest first.
pub fn expired(
    db: &Db<'_>,
    camera: &str,
    before_ms: i64,
    limit: u32,
) -> Result<Vec<Deletable>, StoreError> {
    let mut stmt = db.conn().prepare(
        "SELECT s.id, s.camera, s.path, s.bytes FROM recording_segments s
         WHERE s.camera = ?1 AND s.start_ms < ?2
           AND NOT EXISTS (SELECT 1 FROM events e WHERE e.camera = s.camera AND e.clip_start_ms IS NOT NULL
                           AND e.clip_start_ms < s.end_ms AND COALESCE(e.clip_end_ms, 9223372036854775807) > s.start_ms)
         ORDER BY s.start_ms LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![camera, before_ms, limit], deletable_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Event segments whose event is gone (deleted by events retention): no clip needs them.
pub fn orphaned_event_segments(db: &Db<'_>, limit: u32) -> Result<Vec<Deletable>, StoreError> {
    let mut stmt = db.conn().prepare(
        "SELECT s.id, s.camera, s.path, s.bytes FROM recording_segments s
         WHERE s.reason = 'event'
           AND NOT EXISTS (SELECT 1 FROM events e WHERE e.camera = s.camera AND e.clip_start_ms IS NOT NULL
                           AND e.clip_start_ms < s.end_ms AND COALESCE(e.clip_end_ms, 9223372036854775807) > s.start_ms)
         ORDER BY s.start_ms LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], deletable_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The oldest segments of `camera` (every camera when `None`), whatever they hold: for the
/// size caps and the free-space floor.
pub fn oldest(db: &Db<'_>, camera: Option<&str>, limit: u32) -> Result<Vec<Deletable>, StoreError> {
    let mut stmt = db.conn().prepare(
        "SELECT id, camera, path, bytes FROM recording_segments
         WHERE ?1 IS NULL OR camera = ?1 ORDER BY start_ms LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![camera, limit], deletable_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn deletable_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Deletable> {
    Ok(Deletable {
        id: r.get(0)?,
        camera: r.get(1)?,
        path: r.get(2)?,
        bytes: r.get(3)?,
    })
}

/// Bytes of segments per camera.
pub fn bytes_per_camera(db: &Db<'_>) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = db.conn().prepare(
        "SELECT camera, SUM(bytes) FROM recording_segments GROUP BY camera ORDER BY camera",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Sets event `id`'s clip: from `start_ms` to `end_ms` (`None` while it is recorded).
pub fn set_clip(
    db: &Db<'_>,
    id: i64,
    start_ms: i64,
    end_ms: Option<i64>,
) -> Result<(), StoreError> {
    db.conn().execute(
        "UPDATE events SET clip_start_ms = ?1, clip_end_ms = ?2 WHERE id = ?3",
        params![start_ms, end_ms, id],
    )?;
    Ok(())
}

/// Ends the clips an earlier run left open (it stopped during an event or its post-roll):
/// each ends where its camera's recording after its start ends (or at its start). Until
/// then a clip without an end would keep every later segment from age retention. Returns
/// how many were closed.
pub fn close_open_clips(db: &Db<'_>) -> Result<usize, StoreError> {
    Ok(db.conn().execute(
        "UPDATE events SET clip_end_ms = MAX(clip_start_ms, COALESCE(
            (SELECT MAX(s.end_ms) FROM recording_segments s
             WHERE s.camera = events.camera AND s.end_ms > events.clip_start_ms),
            clip_start_ms))
         WHERE clip_start_ms IS NOT NULL AND clip_end_ms IS NULL",
        [],
    )?)
}

/// An event's clip range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipRange {
    pub camera: Option<String>,
    pub start_ms: i64,
    /// `None` while it is recorded.
    pub end_ms: Option<i64>,
}

/// Event `id`'s clip, `Ok(None)` when the event does not exist or has none.
pub fn clip(db: &Db<'_>, id: i64) -> Result<Option<ClipRange>, StoreError> {
    Ok(db
        .conn()
        .query_row(
            "SELECT camera, clip_start_ms, clip_end_ms FROM events WHERE id = ?1 AND clip_start_ms IS NOT NULL",
            [id],
            |r| {
                Ok(ClipRange {
                    camera: r.get(0)?,
                    start_ms: r.get(1)?,
                    end_ms: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// A stretch of `camera`'s recording that plays as one: consecutive segments of one
/// segmenter run and one init segment, with no gap longer than the segment before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRun {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Where its last segment starts.
    pub last_start_ms: i64,
    pub init_id: i64,
    /// RFC 6381 codec string of its init segment, `avc1.42C01F`.
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub segments: i64,
    pub bytes: i64,
}

/// The index range of `camera`'s segments overlapping `[?2, ?3)`: from the last segment that
/// starts at or before `?2` (a camera's segments follow one another, so only that one can
/// reach into the window) instead of every older one; a week of 1 s segments is 600 000 rows.
const OVERLAPPING: &str = "camera = ?1 AND end_ms > ?2 AND start_ms < ?3
     AND start_ms >= COALESCE((SELECT MAX(start_ms) FROM recording_segments WHERE camera = ?1 AND start_ms <= ?2), ?2)";

/// `camera`'s segments overlapping `[from_ms, to_ms)`, in recording order, found through the
/// time index in O(log n + found), as [`OVERLAPPING`]: for exports of any range.
pub fn segments_in_range(
    db: &Db<'_>,
    camera: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<SegmentRow>, StoreError> {
    let sql = format!(
        "{SEGMENT_COLUMNS} WHERE s.camera = ?1 AND s.end_ms > ?2 AND s.start_ms < ?3
         AND s.start_ms >= COALESCE((SELECT MAX(start_ms) FROM recording_segments WHERE camera = ?1 AND start_ms <= ?2), ?2)
         ORDER BY s.camera_seq"
    );
    let mut stmt = db.conn().prepare(&sql)?;
    let rows = stmt.query_map(params![camera, from_ms, to_ms], segment_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `camera`'s recorded runs overlapping `[from_ms, to_ms)`, oldest first: the timeline's
/// bars. The segments are read in time order straight from the index (a day of 1 s
/// segments is 86 400 small rows) and merged here.
pub fn runs_between(
    db: &Db<'_>,
    camera: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<RecordedRun>, StoreError> {
    let sql = format!(
        "SELECT run, init_id, start_ms, end_ms, bytes FROM recording_segments WHERE {OVERLAPPING} ORDER BY start_ms"
    );
    let mut stmt = db.conn().prepare(&sql)?;
    let mut rows = stmt.query(params![camera, from_ms, to_ms])?;
    // The run being merged, with its segmenter run number.
    let mut runs: Vec<(i64, RecordedRun)> = Vec::new();
    while let Some(r) = rows.next()? {
        let (run, init_id, start_ms, end_ms, bytes): (i64, i64, i64, i64, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        if let Some((last_run, last)) = runs.last_mut() {
            // The gap allowed: the length of the segment before (about one segment).
            let gap_ok = start_ms - last.end_ms <= last.end_ms - last.last_start_ms;
            if *last_run == run && last.init_id == init_id && gap_ok {
                last.end_ms = end_ms;
                last.last_start_ms = start_ms;
                last.segments += 1;
                last.bytes += bytes;
                continue;
            }
        }
        runs.push((
            run,
            RecordedRun {
                start_ms,
                end_ms,
                last_start_ms: start_ms,
                init_id,
                codec: String::new(),
                width: 0,
                height: 0,
                segments: 1,
                bytes,
            },
        ));
    }
    let mut runs: Vec<RecordedRun> = runs.into_iter().map(|(_, r)| r).collect();
    let mut init = db
        .conn()
        .prepare("SELECT codec, width, height FROM recording_inits WHERE id = ?1")?;
    for r in &mut runs {
        let found: Option<(String, u32, u32)> = init
            .query_row([r.init_id], |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?)))
            .optional()?;
        if let Some((codec, width, height)) = found {
            (r.codec, r.width, r.height) = (codec, width, height);
        }
    }
    Ok(runs)
}

/// An event of a camera, as the timeline marks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMark {
    pub id: i64,
    pub kind: String,
    /// Seconds since the Unix epoch, as `events.started_at`.
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub clip_start_ms: Option<i64>,
    pub clip_end_ms: Option<i64>,
}

/// `camera`'s events that started in `[from_s, to_s)`, oldest first, at most `limit`.
pub fn events_between(
    db: &Db<'_>,
    camera: &str,
    from_s: i64,
    to_s: i64,
    limit: u32,
) -> Result<Vec<EventMark>, StoreError> {
    let mut stmt = db.conn().prepare(
        "SELECT id, kind, started_at, ended_at, clip_start_ms, clip_end_ms FROM events
         WHERE camera = ?1 AND started_at >= ?2 AND started_at < ?3
         ORDER BY started_at, id LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![camera, from_s, to_s, limit], |r| {
        Ok(EventMark {
            id: r.get(0)?,
            kind: r.get(1)?,
            started_at: r.get(2)?,
            ended_at: r.get(3)?,
            clip_start_ms: r.get(4)?,
            clip_end_ms: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `camera`'s segment `id` (an HLS segment URL names it), if it is still indexed.
pub fn segment_of_camera(
    db: &Db<'_>,
    camera: &str,
    id: i64,
) -> Result<Option<SegmentRow>, StoreError> {
    let sql = format!("{SEGMENT_COLUMNS} WHERE s.camera = ?1 AND s.id = ?2");
    Ok(db
        .conn()
        .query_row(&sql, params![camera, id], segment_from_row)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::event_kind::EventKind;
    use crate::events::{NewEvent, record};

    fn seg<'a>(
        camera: &'a str,
        seq: i64,
        init_id: i64,
        start_ms: i64,
        path: &'a str,
    ) -> NewSegment<'a> {
        NewSegment {
            camera,
            camera_seq: seq,
            run: 1,
            init_id,
            start_ms,
            end_ms: start_ms + 2000,
            start_90k: 0,
            duration_90k: 180_000,
            frames: 60,
            bytes: 1000,
            path,
            reason: Reason::Continuous,
        }
    }

    fn init(camera: &str) -> NewInit<'_> {
        NewInit {
            camera,
            sha256: "ab",
            codec: "avc1.42C01F",
            width: 640,
            height: 360,
            path: "recordings/x/init-ab.mp4",
        }
    }

    #[test]
    fn segments_are_found_by_time_and_deleted_with_their_unused_inits() {
        let store = Store::open_in_memory().unwrap();
        store
            .blocking(|db| {
                assert_eq!(next_seq_and_run(db, "front")?, (1, 1));
                let i = insert_init(db, &init("front"))?;
                assert_eq!(find_init(db, "front", "ab")?, Some(i));
                assert_eq!(find_init(db, "back", "ab")?, None);
                for (n, start) in [(1, 0), (2, 2000), (3, 4000)] {
                    insert_segment(db, &seg("front", n, i, start, "s"))?;
                }
                assert_eq!(next_seq_and_run(db, "front")?, (4, 2));
                let found = segments_between(db, "front", 1999, 2001)?;
                assert_eq!(
                    found.iter().map(|s| s.camera_seq).collect::<Vec<_>>(),
                    [1, 2]
                );
                assert_eq!(found[0].init_path, "recordings/x/init-ab.mp4");
                assert_eq!(bytes_per_camera(db)?, [("front".to_owned(), 3000)]);
                let old = oldest(db, None, 2)?;
                assert_eq!(old.len(), 2);
                let gone = delete_segments(db, &[old[0].id, old[1].id])?;
                assert!(gone.is_empty(), "segment 3 still needs the init");
                let last = oldest(db, Some("front"), 10)?;
                let gone = delete_segments(db, &[last[0].id])?;
                assert_eq!(gone, ["recordings/x/init-ab.mp4"]);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn age_retention_keeps_segments_in_an_events_clip_until_the_event_goes() {
        let store = Store::open_in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        store
            .blocking(|db| {
                let i = insert_init(db, &init("front"))?;
                for (n, start) in [(1, 0), (2, 2000), (3, 4000)] {
                    insert_segment(db, &seg("front", n, i, start, "s"))?;
                }
                let event = NewEvent {
                    camera: Some("front".into()),
                    kind: EventKind::Motion,
                    details: serde_json::json!({}),
                    snapshot: None,
                };
                let id = record(db, &event, dir.path(), &[])?.id;
                // The clip is still being recorded: everything from 2500 on is kept.
                set_clip(db, id, 2500, None)?;
                assert_eq!(
                    clip(db, id)?,
                    Some(ClipRange {
                        camera: Some("front".into()),
                        start_ms: 2500,
                        end_ms: None
                    })
                );
                let old = expired(db, "front", 10_000, 10)?;
                assert_eq!(old.len(), 1, "{old:?}");
                // An earlier run stopped while recording it: start-up closes it at the end
                // of what was recorded.
                assert_eq!(close_open_clips(db)?, 1);
                assert_eq!(clip(db, id)?.and_then(|c| c.end_ms), Some(6000));
                assert_eq!(close_open_clips(db)?, 0);
                set_clip(db, id, 2500, Some(3000))?;
                assert_eq!(expired(db, "front", 10_000, 10)?.len(), 2);
                db.conn().execute("DELETE FROM events", [])?;
                assert_eq!(expired(db, "front", 10_000, 10)?.len(), 3);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn runs_merge_consecutive_segments_and_split_at_gaps_and_format_changes() {
        let store = Store::open_in_memory().unwrap();
        store
            .blocking(|db| {
                let a = insert_init(db, &init("front"))?;
                let mut other = init("front");
                other.sha256 = "cd";
                other.width = 1280;
                let b = insert_init(db, &other)?;
                // 0-6000 in one piece; a gap; 10000-12000; a new format at 12000.
                for (n, init_id, start) in [
                    (1, a, 0),
                    (2, a, 2000),
                    (3, a, 4000),
                    (4, a, 10_000),
                    (5, b, 12_000),
                ] {
                    insert_segment(db, &seg("front", n, init_id, start, "s"))?;
                }
                insert_segment(db, &seg("back", 1, a, 0, "s"))?;
                let runs = runs_between(db, "front", 0, 20_000)?;
                let spans: Vec<_> = runs
                    .iter()
                    .map(|r| (r.start_ms, r.end_ms, r.segments, r.bytes))
                    .collect();
                assert_eq!(
                    spans,
                    [
                        (0, 6000, 3, 3000),
                        (10_000, 12_000, 1, 1000),
                        (12_000, 14_000, 1, 1000)
                    ]
                );
                assert_eq!((runs[2].width, runs[2].init_id), (1280, b));
                // A window inside the first run: only the segments overlapping it.
                let runs = runs_between(db, "front", 2500, 3000)?;
                assert_eq!(
                    (runs.len(), runs[0].start_ms, runs[0].end_ms),
                    (1, 2000, 4000)
                );
                assert!(runs_between(db, "front", 6000, 10_000)?.is_empty());
                // The same segments as segments_between, through the bounded index range.
                for (from, to) in [
                    (1999, 2001),
                    (2500, 3000),
                    (6000, 10_000),
                    (5000, 11_000),
                    (0, 99_000),
                    (-5, 0),
                ] {
                    let seqs =
                        |v: Vec<SegmentRow>| v.iter().map(|s| s.camera_seq).collect::<Vec<_>>();
                    assert_eq!(
                        seqs(segments_in_range(db, "front", from, to)?),
                        seqs(segments_between(db, "front", from, to)?),
                        "{from}..{to}"
                    );
                }
                assert_eq!(segments_in_range(db, "front", 5000, 11_000)?.len(), 2);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn a_cameras_events_are_found_by_their_start() {
        let store = Store::open_in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        store
            .blocking(|db| {
                for camera in ["front", "back", "front"] {
                    let event = NewEvent {
                        camera: Some(camera.into()),
                        kind: EventKind::Motion,
                        details: serde_json::json!({}),
                        snapshot: None,
                    };
                    record(db, &event, dir.path(), &[])?;
                }
                let now = db.now();
                let found = events_between(db, "front", now - 60, now + 60, 10)?;
                assert_eq!(found.len(), 2, "{found:?}");
                assert!(
                    found
                        .iter()
                        .all(|e| e.kind == "motion" && e.clip_start_ms.is_none())
                );
                assert_eq!(events_between(db, "front", now - 60, now + 60, 1)?.len(), 1);
                assert!(events_between(db, "front", now + 60, now + 120, 10)?.is_empty());
                Ok(())
            })
            .unwrap();
    }
}
