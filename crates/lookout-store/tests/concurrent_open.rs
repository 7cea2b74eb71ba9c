//! Opening the database while another process writes to it: SQLite refuses a change of
//! journal mode at once ("database is locked", without waiting like the busy timeout) while
//! another connection holds a write transaction, e.g. another `lookout` process creating the
//! same new database. Opening must wait for it instead of failing.

// A panic is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

use lookout_store::Store;
use rusqlite::Connection;
use std::time::Duration;

#[test]
fn opening_waits_for_another_writer_of_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let other = Connection::open(dir.path().join("lookout.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let path = dir.path().to_path_buf();
    let opening = std::thread::spawn(move || Store::open(&path).map(|_| ()));
    std::thread::sleep(Duration::from_millis(300));
    other.execute_batch("ROLLBACK").unwrap();
    opening.join().unwrap().unwrap();
}
