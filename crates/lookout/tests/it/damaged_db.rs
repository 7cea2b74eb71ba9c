//! A database that breaks under a running server: the users table's pages are overwritten on
//! disk (as a failing disk or a stray write would), then another process writes to the
//! database (the revocation counter, as `lookout token revoke` does), which makes the server
//! read its pages from disk again. Logins then get 503 (never "wrong password", never a
//! lock), requests with a session or a token get 503 (never anonymous), and open streams
//! whose credentials can no longer be checked end (fail closed).

use crate::data_dir::damage_table;
use crate::support::{TestServer, basic, cookie_pair, login_config, read_parts, testpattern};
use std::time::Duration;

/// What `lookout user`/`lookout token` do after a revocation: bump the counter the server
/// polls, in a transaction of another process's connection.
fn bump_auth_epoch(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'auth_epoch'",
        [],
    )
    .unwrap();
}

async fn ends_within(stream: &mut lookout_bench::MjpegStream, limit: Duration) {
    let ended = tokio::time::timeout(limit, async {
        while let Ok(Some(_)) = stream.next_part().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream still runs {limit:?} after its credentials became uncheckable"
    );
}

/// A server with alice, her session cookie and an API token.
async fn server_with_alice() -> (TestServer, String, String) {
    let s = TestServer::start(&format!(
        "{}{}",
        login_config(""),
        testpattern("a", 160, 120, 10)
    ))
    .await;
    s.add_user("alice", "correct horse", &[]);
    let session = s.login("alice", "correct horse", false).await;
    let cookie = cookie_pair(&[session], "lookout_session").unwrap();
    let token = s
        .cli(&["token", "create", "nvr", "--user", "alice"], "")
        .trim()
        .to_owned();
    (s, cookie, format!("Bearer {token}"))
}

/// Damages the users table under the running server and makes it read from disk again.
fn damage_users(s: &TestServer) {
    let db = s.state_dir.join("lookout.db");
    damage_table(&db, "users");
    bump_auth_epoch(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_whose_credentials_cannot_be_checked_end() {
    let (s, cookie, bearer) = server_with_alice().await;
    let mut by_session = s
        .stream_with("/cameras/a/stream.mjpeg", &[("Cookie", &cookie)])
        .await;
    let mut by_token = s
        .stream_with("/cameras/a/stream.mjpeg", &[("Authorization", &bearer)])
        .await;
    read_parts(&mut by_session, 1, Duration::from_secs(10)).await;
    read_parts(&mut by_token, 1, Duration::from_secs(10)).await;
    damage_users(&s);
    // The sweep cannot vouch for either stream any more.
    ends_within(&mut by_session, Duration::from_secs(10)).await;
    ends_within(&mut by_token, Duration::from_secs(10)).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_errors_are_503_never_a_failed_login_or_anonymous() {
    let (s, cookie, bearer) = server_with_alice().await;
    damage_users(&s);
    // More attempts than the free failures (5): none counts, none locks.
    for attempt in 0..8 {
        let r = s.try_login("alice", "correct horse", false).await;
        assert_eq!(
            r.status,
            503,
            "login attempt {attempt}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.header("retry-after").is_some());
    }
    let basic = basic("alice", "correct horse");
    for (what, header) in [
        ("session", ("Cookie", cookie.as_str())),
        ("token", ("Authorization", bearer.as_str())),
        ("basic", ("Authorization", basic.as_str())),
    ] {
        let r = s.get_with("/api/cameras", &[header]).await;
        assert_eq!(
            r.status,
            503,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(
            v["error"].as_str().unwrap().contains("database"),
            "{what}: {v}"
        );
    }
    s.stop().await;
}
