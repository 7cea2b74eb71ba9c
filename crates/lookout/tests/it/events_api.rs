//! `/api/events` for viewers limited to some cameras: filtered in the database, so a page is
//! full however many events the other cameras have, and `before=` pages through every event
//! exactly once.

use crate::support::{TestServer, basic, login_config, testpattern};
use std::collections::BTreeSet;

async fn events(s: &TestServer, who: &str, query: &str) -> serde_json::Value {
    let auth = basic(who, "pw");
    let r = s
        .get_with(&format!("/api/events{query}"), &[("Authorization", &auth)])
        .await;
    assert_eq!(
        r.status,
        200,
        "{who} {query}: {}",
        String::from_utf8_lossy(&r.body)
    );
    serde_json::from_slice(&r.body).unwrap()
}

fn ids(page: &serde_json::Value) -> Vec<i64> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_viewer_gets_full_pages_and_pages_through_each_event_once() {
    let s = TestServer::start(&format!(
        "{}{}{}",
        login_config(""),
        testpattern("a", 160, 120, 5),
        testpattern("b", 160, 120, 5)
    ))
    .await;
    s.add_user("root", "pw", &["--role", "admin"]);
    s.add_user("ann", "pw", &["--cameras", "a"]);
    s.add_user("vic", "pw", &[]);
    // 400 events of the busy camera b, 25 of a spread among them, and 8 without a camera.
    let conn = rusqlite::Connection::open(s.state_dir.join("lookout.db")).unwrap();
    let mut of_a = BTreeSet::new();
    for i in 0..433 {
        let camera = match i {
            i if i % 17 == 0 && of_a.len() < 25 => Some("a"),
            i if i % 50 == 7 => None,
            _ => Some("b"),
        };
        let kind = if camera.is_some() { "motion" } else { "test" };
        conn.execute(
            "INSERT INTO events (camera, kind, started_at) VALUES (?1, ?2, 1700000000)",
            rusqlite::params![camera, kind],
        )
        .unwrap();
        if camera == Some("a") {
            of_a.insert(conn.last_insert_rowid());
        }
    }
    drop(conn);
    assert_eq!(of_a.len(), 25);

    let first = events(&s, "ann", "?limit=10").await;
    assert_eq!(ids(&first).len(), 10, "{first}");
    let mut seen = Vec::new();
    let mut page = first;
    for _ in 0..10 {
        for e in page["events"].as_array().unwrap() {
            assert_eq!(e["camera"], "a", "{e}");
        }
        seen.extend(ids(&page));
        let Some(next) = page["next_before"].as_i64() else {
            break;
        };
        page = events(&s, "ann", &format!("?limit=10&before={next}")).await;
    }
    assert!(page["next_before"].is_null(), "no last page: {page}");
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {seen:?}"
    );
    assert_eq!(
        seen.iter().copied().collect::<BTreeSet<_>>(),
        of_a,
        "every event of a, once"
    );
    assert_eq!(seen.len(), 25);

    // A viewer of all cameras sees no event without a camera; an admin does.
    let vic = events(&s, "vic", "?limit=1000").await;
    assert_eq!(ids(&vic).len(), 425, "vic");
    let root = events(&s, "root", "?limit=1000").await;
    assert_eq!(ids(&root).len(), 433, "root");
    assert!(root["next_before"].is_null());

    // Refusals are JSON with a reason.
    for bad in ["?limit=ten", "?before=yesterday"] {
        let r = s
            .get_with(
                &format!("/api/events{bad}"),
                &[("Authorization", &basic("ann", "pw"))],
            )
            .await;
        assert_eq!(r.status, 400, "{bad}");
        let v: serde_json::Value =
            serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{bad}: not JSON ({e})"));
        assert!(v["error"].as_str().unwrap().contains("before"), "{v}");
    }
    s.stop().await;
}
