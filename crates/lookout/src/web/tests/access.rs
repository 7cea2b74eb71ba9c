//! The route table's access rules, walked in-process: every route but the public ones
//! refuses a request without valid credentials, whatever kind it tries.

use super::site;
use crate::auth::Role;
use crate::web::{Access, routes};
use base64::Engine;

fn concrete(path: &str) -> String {
    path.replace("{id}", "front")
        .replace("{event}", "1")
        .replace("{file}", "app.css")
        .replace("{token}", "no-such-token")
}

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Walks the router's own table: a route added without thinking about access fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_the_public_ones_refuses_a_stranger() {
    let s = site(&[("front", "Front"), ("back", "Back")], true);
    s.session_of("alice", Role::Admin, None);
    let table = routes();
    assert!(table.len() >= 10, "the route table looks truncated");
    let wrong_basic = basic("alice", "wrong");
    let strangers: [&[(&str, &str)]; 4] = [
        &[],
        &[("Authorization", "Bearer lk_not-a-token")],
        &[("Cookie", "lookout_session=forged")],
        &[("Authorization", &wrong_basic)],
    ];
    let mut asked = Vec::new();
    for (path, access, _) in &table {
        for method in ["GET", "POST"] {
            for headers in strangers {
                asked.push((concrete(path), *access, method, headers));
            }
        }
    }
    // A failed Basic login answers after 300 ms on purpose: ask them all at once.
    let answers = futures_util::future::join_all(
        asked
            .iter()
            .map(|(path, _, method, headers)| s.request(method, path, headers)),
    )
    .await;
    for ((path, access, method, headers), r) in asked.iter().zip(answers) {
        if *access == Access::Public {
            // The login page, its assets and /healthz answer anybody.
            if *method == "GET" && !path.contains("acme-challenge") {
                assert_eq!(r.status, 200, "GET {path} is public");
            }
            continue;
        }
        let refused = match r.status.as_u16() {
            401 => r.header("www-authenticate").is_some(),
            303 => r
                .header("location")
                .is_some_and(|l| l.starts_with("/login")),
            405 => true,
            _ => false,
        };
        assert!(
            refused,
            "{method} {path} with {headers:?} answered {} without valid credentials",
            r.status
        );
    }
    // The aliases that live on `/` and the unknown-page fallback refuse too.
    for path in ["/?action=stream", "/?action=snapshot", "/nope"] {
        let r = s.get(path).await;
        assert!(
            matches!(r.status.as_u16(), 401 | 303 | 404),
            "{path}: {}",
            r.status
        );
    }
    assert_eq!(s.get("/?action=snapshot").await.status, 401);
    // Our pages' own fetches get no Basic challenge (no browser password dialog over them).
    let r = s
        .get_with("/api/cameras", &[("Sec-Fetch-Dest", "empty")])
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), None);
}

/// A viewer is refused the admin routes with 403 and a reason; an admin is let in.
#[tokio::test]
async fn viewers_get_403_on_admin_routes_and_admins_pass() {
    let s = site(&[("front", "Front")], true);
    let viewer = s.session_of("kid", Role::Viewer, None);
    let admin = s.session_of("boss", Role::Admin, None);
    for (path, access, _) in routes() {
        if access != Access::Admin {
            continue;
        }
        let path = concrete(path);
        let r = s.get_with(&path, &[("Cookie", &viewer)]).await;
        assert_eq!(r.status, 403, "GET {path} as a viewer: {}", r.body);
        assert_eq!(r.json()["error"], "user \"kid\" is not an admin", "{path}");
        let r = s.get_with(&path, &[("Cookie", &admin)]).await;
        assert_ne!(r.status, 403, "GET {path} as an admin: {}", r.body);
        assert_ne!(r.status, 401, "GET {path} as an admin: {}", r.body);
    }
}

/// Every answer carries the security headers, refusals and 404s too.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let s = site(&[("front", "Front")], true);
    for path in [
        "/login",
        "/healthz",
        "/api/cameras",
        "/nope",
        "/cameras/front",
    ] {
        let r = s.get(path).await;
        let csp = r.header("content-security-policy").unwrap_or("");
        assert!(
            csp.starts_with("default-src 'none'; script-src 'self'"),
            "{path}: {csp}"
        );
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{path}");
    }
}
