//! Accounts and access: every route guarded, logins, sessions, CSRF, lockout, Basic and
//! token access, roles, per-camera access, and revocation ending open streams.

use crate::support::{
    TestServer, basic, cookie_pair, hidden_field, login_config, read_parts, set_cookies,
    testpattern,
};
use std::time::{Duration, Instant};

fn two_cameras() -> String {
    format!(
        "{}{}",
        testpattern("front", 160, 120, 10),
        testpattern("back", 160, 120, 10)
    )
}

async fn server(extra_auth: &str) -> TestServer {
    TestServer::start(&format!("{}{}", login_config(extra_auth), two_cameras())).await
}

// The route access table is walked in-process: src/web/tests/access.rs.

#[tokio::test]
async fn login_session_cookie_and_logout() {
    let s = server("").await;
    s.add_user("alice", "correct horse", &[]);
    // A browser without a session is sent to the login page, and back after it.
    let r = s.get("/cameras/front").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login?next=%2Fcameras%2Ffront"));

    let wrong = s.try_login("alice", "wrong", false).await;
    assert_eq!(wrong.status, 401);
    assert!(String::from_utf8_lossy(&wrong.body).contains("Wrong user name or password"));

    let cookie = s.login("alice", "correct horse", false).await;
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(
        !cookie.contains("Max-Age"),
        "a browser-session cookie: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let session = [("Cookie", pair.as_str())];

    let page = s.get_with("/", &session).await;
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(html.contains("alice"), "the page names who is signed in");
    assert!(
        page.header("content-security-policy")
            .is_some_and(|c| c.contains("frame-ancestors 'none'")),
        "security headers on pages"
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.header("referrer-policy").is_some());
    assert_eq!(s.get_with("/api/cameras", &session).await.status, 200);
    let snap = s.get_with("/cameras/front/snapshot.jpg", &session).await;
    assert_eq!(snap.status, 200);

    // Signing out needs the page's CSRF token and our origin.
    let csrf = hidden_field(&html, "csrf").expect("sign-out form");
    let origin = s.origin();
    let form = format!("csrf={csrf}");
    let forged = s
        .request(
            "POST",
            "/logout",
            &[
                session[0],
                ("Origin", "http://evil.example"),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(form.as_bytes()),
        )
        .await;
    assert_eq!(forged.status, 403, "cross-site sign-out refused");
    let no_token = s
        .request(
            "POST",
            "/logout",
            &[
                session[0],
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(b"csrf=guess"),
        )
        .await;
    assert_eq!(no_token.status, 403, "sign-out without the token refused");
    assert_eq!(s.get_with("/api/cameras", &session).await.status, 200);
    let out = s
        .request(
            "POST",
            "/logout",
            &[
                session[0],
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(form.as_bytes()),
        )
        .await;
    assert_eq!(out.status, 303);
    assert!(
        set_cookies(&out)
            .iter()
            .any(|c| c.starts_with("lookout_session=;") && c.contains("Max-Age=0"))
    );
    assert_eq!(
        s.get_with("/api/cameras", &session).await.status,
        401,
        "the session is gone from the server, not only from the browser"
    );
    s.stop().await;
}

#[tokio::test]
async fn login_form_needs_its_csrf_token_and_our_origin() {
    let s = server("").await;
    s.add_user("alice", "correct horse", &[]);
    let page = s.get("/login").await;
    let cookie = cookie_pair(&set_cookies(&page), "lookout_csrf").unwrap();
    let token = hidden_field(&String::from_utf8_lossy(&page.body), "csrf").unwrap();
    let post = |headers: Vec<(&'static str, String)>, csrf: String| {
        let s = &s;
        async move {
            let body = format!("user=alice&password=correct+horse&csrf={csrf}");
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            s.request("POST", "/login", &h, Some(body.as_bytes()))
                .await
                .status
        }
    };
    let ct = (
        "Content-Type",
        "application/x-www-form-urlencoded".to_owned(),
    );
    let origin = ("Origin", s.origin());
    let with_cookie = ("Cookie", cookie.clone());
    // Another site's form: right token (it cannot know it, but even so), wrong origin.
    assert_eq!(
        post(
            vec![
                ct.clone(),
                with_cookie.clone(),
                ("Origin", "http://evil.example".into())
            ],
            token.clone()
        )
        .await,
        403
    );
    // No Origin and no Referer.
    assert_eq!(
        post(vec![ct.clone(), with_cookie.clone()], token.clone()).await,
        403
    );
    // Token missing from the cookie, or not matching it.
    assert_eq!(
        post(vec![ct.clone(), origin.clone()], token.clone()).await,
        403
    );
    assert_eq!(
        post(
            vec![ct.clone(), origin.clone(), with_cookie.clone()],
            "x".repeat(token.len())
        )
        .await,
        403
    );
    // All present: signed in.
    assert_eq!(post(vec![ct, origin, with_cookie], token).await, 303);
    s.stop().await;
}

#[tokio::test]
async fn remember_me_outlives_the_browser_and_expired_sessions_are_refused() {
    let s = server("remember_me_days = 7\nsession_idle_minutes = 60\n").await;
    s.add_user("alice", "correct horse", &[]);
    let remembered = s.login("alice", "correct horse", true).await;
    assert!(
        remembered.contains(&format!("Max-Age={}", 7 * 86_400)),
        "{remembered}"
    );
    let short = s.login("alice", "correct horse", false).await;
    let cookie = |c: &str| c.split(';').next().unwrap().to_owned();
    let (remembered, short) = (cookie(&remembered), cookie(&short));
    for c in [&remembered, &short] {
        assert_eq!(
            s.get_with("/api/cameras", &[("Cookie", c)]).await.status,
            200
        );
    }
    // Two hours pass without a request: the short session is idle past its hour, the
    // remembered one is not (its idle limit is its whole lifetime).
    age_sessions(
        &s,
        "last_seen = last_seen - 7200, created_at = created_at - 7200",
    );
    assert_eq!(
        s.get_with("/api/cameras", &[("Cookie", &short)])
            .await
            .status,
        401
    );
    assert_eq!(
        s.get_with("/api/cameras", &[("Cookie", &remembered)])
            .await
            .status,
        200
    );
    // Past its absolute end, the remembered session goes too.
    age_sessions(&s, "expires_at = expires_at - 8 * 86400");
    assert_eq!(
        s.get_with("/api/cameras", &[("Cookie", &remembered)])
            .await
            .status,
        401
    );
    let listed = s.cli(&["user", "sessions", "alice"], "");
    assert!(!listed.is_empty(), "sessions are listed");
    s.stop().await;
}

/// Moves every session's clocks back: time passing without waiting for it.
fn age_sessions(s: &TestServer, set: &str) {
    let db = rusqlite::Connection::open(s.data_dir.path().join("lookout.db")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.execute(&format!("UPDATE sessions SET {set}"), [])
        .unwrap();
}

#[tokio::test]
async fn repeated_failures_lock_the_name_and_address_with_429() {
    let s = server("login_free_failures = 3\nlogin_max_lock_seconds = 60\n").await;
    s.add_user("alice", "correct horse", &[]);
    for _ in 0..3 {
        assert_eq!(s.try_login("alice", "wrong", false).await.status, 401);
    }
    // The next failure locks; from then on even the right password waits.
    let _ = s.try_login("alice", "wrong", false).await;
    let locked = s.try_login("alice", "correct horse", false).await;
    assert_eq!(locked.status, 429);
    let retry: u64 = locked
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    // Basic credentials count against the same lock.
    let r = s
        .get_with(
            "/cameras/front/snapshot.jpg",
            &[("Authorization", &basic("alice", "correct horse"))],
        )
        .await;
    assert_eq!(r.status, 429);
    s.stop().await;
}

/// `Retry-After` is rounded up: a client that waits what it says is let in. (Rounded down, a
/// 2 s lock with 1.7 s left said 1, and the retry a second later was refused again.)
#[tokio::test]
async fn waiting_what_retry_after_says_is_enough() {
    let s = server("login_free_failures = 0\nlogin_max_lock_seconds = 60\n").await;
    // The server has opened its database once it answers: `lookout user add` run before
    // could race its first migration ("table users already exists").
    assert_eq!(s.get("/healthz").await.status, 200);
    s.add_user("alice", "correct horse", &[]);
    // No free failures: this one locks the name and the address for 2 s.
    assert_eq!(s.try_login("alice", "wrong", false).await.status, 401);
    let locked = s.try_login("alice", "correct horse", false).await;
    assert_eq!(locked.status, 429);
    let retry: u64 = locked
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    let body = String::from_utf8_lossy(&locked.body).into_owned();
    assert!(
        body.contains(&format!("try again in {retry} s")),
        "{retry}: {body}"
    );
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let r = s.try_login("alice", "correct horse", false).await;
    assert_eq!(
        r.status,
        303,
        "refused after waiting Retry-After: {retry} s: {}",
        String::from_utf8_lossy(&r.body)
    );
    s.stop().await;
}

#[tokio::test]
async fn basic_bearer_and_query_tokens_open_streams_and_snapshots() {
    let s = server("").await;
    s.add_user("cam-reader", "s3cret pass", &[]);
    let auth = basic("cam-reader", "s3cret pass");
    let r = s
        .get_with("/cameras/front/snapshot.jpg", &[("Authorization", &auth)])
        .await;
    assert_eq!(r.status, 200);
    let mut stream = s
        .stream_with("/cameras/front/stream.mjpeg", &[("Authorization", &auth)])
        .await;
    assert_eq!(stream.status(), 200);
    read_parts(&mut stream, 2, Duration::from_secs(5)).await;

    let token = s
        .cli(&["token", "create", "ha", "--user", "cam-reader"], "")
        .trim()
        .to_owned();
    assert!(token.starts_with("lk_"), "{token}");
    let bearer = format!("Bearer {token}");
    assert_eq!(
        s.get_with("/api/cameras", &[("Authorization", &bearer)])
            .await
            .status,
        200
    );
    let mut by_query = s
        .stream(&format!("/cameras/front/stream.mjpeg?token={token}&fps=5"))
        .await;
    assert_eq!(by_query.status(), 200);
    read_parts(&mut by_query, 2, Duration::from_secs(5)).await;
    assert_eq!(
        s.get(&format!("/snapshot?token={token}x")).await.status,
        401,
        "a wrong token is refused"
    );
    let listed = s.cli(&["token", "list"], "");
    assert!(
        listed.contains("ha") && !listed.contains(&token),
        "{listed}"
    );

    let short = s
        .cli(
            &[
                "token",
                "create",
                "brief",
                "--user",
                "cam-reader",
                "--expires",
                "1s",
            ],
            "",
        )
        .trim()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        s.get(&format!("/snapshot?token={short}")).await.status,
        401,
        "an expired token is refused"
    );
    s.stop().await;
}

#[tokio::test]
async fn viewers_watch_admins_also_read_metrics_and_camera_lists_limit_both_ways() {
    let s = server("").await;
    s.add_user("root", "admin password", &["--role", "admin"]);
    s.add_user("guest", "guest password", &["--cameras", "back"]);
    let admin = basic("root", "admin password");
    let guest = basic("guest", "guest password");
    assert_eq!(
        s.get_with("/metrics", &[("Authorization", &admin)])
            .await
            .status,
        200
    );
    let r = s.get_with("/metrics", &[("Authorization", &guest)]).await;
    assert_eq!(r.status, 403, "viewers do not read metrics");

    let list = s
        .get_with("/api/cameras", &[("Authorization", &guest)])
        .await;
    let list: serde_json::Value = serde_json::from_slice(&list.body).unwrap();
    let ids: Vec<&str> = list["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["back"], "{list}");
    for path in [
        "/cameras/front/snapshot.jpg",
        "/cameras/front/stream.mjpeg",
        "/api/cameras/front",
        "/snapshot?camera=front",
        "/?action=snapshot&camera=front",
    ] {
        let r = s.get_with(path, &[("Authorization", &guest)]).await;
        assert_eq!(r.status, 403, "{path}");
    }
    // URLs that name no camera give this user's first camera.
    let r = s.get_with("/snapshot", &[("Authorization", &guest)]).await;
    assert_eq!(r.status, 200);
    let page = s.login("guest", "guest password", false).await;
    let pair = page.split(';').next().unwrap();
    let html = s.get_with("/", &[("Cookie", pair)]).await;
    let html = String::from_utf8_lossy(&html.body);
    assert!(html.contains("/cameras/back/") && !html.contains("/cameras/front/"));
    // Admins see every camera.
    let r = s
        .get_with("/cameras/front/snapshot.jpg", &[("Authorization", &admin)])
        .await;
    assert_eq!(r.status, 200);
    // Taking a camera from a user's list ends their open stream of it.
    let mut watching = s
        .stream_with("/cameras/back/stream.mjpeg", &[("Authorization", &guest)])
        .await;
    read_parts(&mut watching, 1, Duration::from_secs(5)).await;
    s.cli(&["user", "set", "guest", "--cameras", "front"], "");
    let t = ends_within(&mut watching, Instant::now()).await;
    assert!(
        t < Duration::from_secs(1),
        "camera taken away, stream ended after {t:?}"
    );
    let r = s
        .get_with("/cameras/front/snapshot.jpg", &[("Authorization", &guest)])
        .await;
    assert_eq!(r.status, 200, "and the new list applies at once");
    s.stop().await;
}

/// Reads parts until the server ends the stream; the time from `since` to the end.
async fn ends_within(stream: &mut lookout_bench::MjpegStream, since: Instant) -> Duration {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.next_part()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None) | Err(_)) => return since.elapsed(),
            Err(_) => panic!("the stream was still open 5 s after the revocation"),
        }
    }
}

#[tokio::test]
async fn revoking_a_session_token_user_or_password_ends_its_streams_within_a_second() {
    let s = server("").await;
    s.add_user("alice", "correct horse", &[]);
    s.add_user("bob", "battery staple", &[]);
    let session = s.login("alice", "correct horse", false).await;
    let session = session.split(';').next().unwrap().to_owned();
    let token = s
        .cli(&["token", "create", "nvr", "--user", "alice"], "")
        .trim()
        .to_owned();

    let open = |headers: Vec<(&'static str, String)>, path: &'static str| {
        let s = &s;
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut st = s.stream_with(path, &h).await;
            assert_eq!(st.status(), 200);
            read_parts(&mut st, 1, Duration::from_secs(5)).await;
            st
        }
    };
    let stream = "/cameras/front/stream.mjpeg";
    let mut by_session = open(vec![("Cookie", session.clone())], stream).await;
    let mut by_token = open(vec![("Authorization", format!("Bearer {token}"))], stream).await;
    let mut bobs = open(
        vec![("Authorization", basic("bob", "battery staple"))],
        stream,
    )
    .await;
    let mut alices_basic = open(
        vec![("Authorization", basic("alice", "correct horse"))],
        stream,
    )
    .await;

    // Each revocation runs in another process, as an admin would run it.
    s.cli(&["user", "sessions", "alice", "--revoke"], "");
    let t = ends_within(&mut by_session, Instant::now()).await;
    assert!(
        t < Duration::from_secs(1),
        "session revoked, stream ended after {t:?}"
    );

    s.cli(&["token", "revoke", "nvr", "--user", "alice"], "");
    let t = ends_within(&mut by_token, Instant::now()).await;
    assert!(
        t < Duration::from_secs(1),
        "token revoked, stream ended after {t:?}"
    );

    s.cli(
        &["user", "passwd", "alice", "--password-stdin"],
        "new horse\n",
    );
    let t = ends_within(&mut alices_basic, Instant::now()).await;
    assert!(
        t < Duration::from_secs(1),
        "password changed, Basic stream ended after {t:?}"
    );

    // Bob's stream was untouched by all that.
    read_parts(&mut bobs, 2, Duration::from_secs(5)).await;
    s.cli(&["user", "remove", "bob"], "");
    let t = ends_within(&mut bobs, Instant::now()).await;
    assert!(
        t < Duration::from_secs(1),
        "user removed, stream ended after {t:?}"
    );
    let r = s
        .get_with(
            stream,
            &[("Authorization", &basic("bob", "battery staple"))],
        )
        .await;
    assert_eq!(r.status, 401);
    s.stop().await;
}

#[tokio::test]
async fn user_commands_check_list_and_refuse_bad_input() {
    let s = server("").await;
    s.add_user("alice", "correct horse", &["--role", "admin"]);
    let right = s.cli_output(
        &["user", "check", "alice", "--password-stdin"],
        "correct horse\n",
    );
    assert_eq!(right.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&right.stdout).trim(), "true");
    let wrong = s.cli_output(&["user", "check", "alice", "--password-stdin"], "nope\n");
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&wrong.stdout).trim(), "false");
    let warned = s.cli_output(&["user", "add", "bob", "--password", "visible in ps"], "");
    assert!(warned.status.success());
    assert!(String::from_utf8_lossy(&warned.stderr).contains("ps"));

    let list = s.cli(&["user", "list"], "");
    assert!(
        list.contains("alice") && list.contains("admin") && list.contains("bob"),
        "{list}"
    );
    let dup = s.cli_output(&["user", "add", "alice", "--password-stdin"], "x\n");
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("exists already"));
    // Past bcrypt's and our limit: refused, not cut.
    let long = "x".repeat(1025);
    let too_long = s.cli_output(
        &["user", "add", "carol", "--password-stdin"],
        &format!("{long}\n"),
    );
    assert_eq!(
        too_long.status.code(),
        Some(1),
        "an over-long password is refused"
    );
    let none = s.cli_output(&["user", "remove", "nobody"], "");
    assert_eq!(none.status.code(), Some(1));
    s.stop().await;
}

/// `server.base_path`: Lookout under `https://host/cam/`, as behind a proxy's sub-path.
#[tokio::test]
async fn base_path_moves_pages_links_redirects_and_cookies() {
    let s = TestServer::start(&format!(
        "[server]\nbase_path = \"/cam\"\n{}{}",
        login_config(""),
        two_cameras()
    ))
    .await;
    s.add_user("alice", "correct horse", &[]);
    assert_eq!(
        s.get("/api/cameras").await.status,
        404,
        "nothing outside the base"
    );
    for (path, next) in [("/cam/", "%2Fcam%2F"), ("/cam", "%2Fcam")] {
        let r = s.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(
            r.header("location"),
            Some(format!("/cam/login?next={next}").as_str())
        );
    }
    let page = s.get("/cam/login?next=/cam/").await;
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(
        html.contains(r#"action="/cam/login""#) && html.contains(r#"href="/cam/assets/app.css""#)
    );
    assert_eq!(s.get("/cam/assets/app.js").await.status, 200);
    let csrf_cookie = cookie_pair(&set_cookies(&page), "lookout_csrf").unwrap();
    assert!(set_cookies(&page).iter().any(|c| c.contains("Path=/cam/")));
    let token = hidden_field(&html, "csrf").unwrap();
    let origin = s.origin();
    let post = |next: &'static str| {
        let body = format!("csrf={token}&user=alice&password=correct+horse&next={next}");
        let (s, csrf_cookie, origin) = (&s, csrf_cookie.clone(), origin.clone());
        async move {
            s.request(
                "POST",
                "/cam/login",
                &[
                    ("Cookie", &csrf_cookie),
                    ("Origin", &origin),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                Some(body.as_bytes()),
            )
            .await
        }
    };
    let r = post("%2Fcam%2Fcameras%2Ffront").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/cam/cameras/front"));
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("lookout_session="))
        .unwrap();
    assert!(session.contains("Path=/cam/"), "{session}");
    // A `next` outside the base goes to the base instead.
    assert_eq!(post("%2Felsewhere").await.header("location"), Some("/cam/"));

    let pair = session.split(';').next().unwrap();
    let grid = s.get_with("/cam/", &[("Cookie", pair)]).await;
    let grid = String::from_utf8_lossy(&grid.body);
    assert!(
        grid.contains(r#"src="/cam/cameras/front/stream.mjpeg""#),
        "{grid}"
    );
    assert!(grid.contains(r#"action="/cam/logout""#) && grid.contains(r#"data-base="/cam""#));
    let list = s.get_with("/cam/api/cameras", &[("Cookie", pair)]).await;
    let list: serde_json::Value = serde_json::from_slice(&list.body).unwrap();
    assert_eq!(
        list["cameras"][0]["stream_url"],
        "/cam/cameras/front/stream.mjpeg"
    );
    let mut stream = s
        .stream_with(
            "/cam/cameras/front/stream.mjpeg",
            &[("Authorization", &basic("alice", "correct horse"))],
        )
        .await;
    read_parts(&mut stream, 1, Duration::from_secs(5)).await;
    s.stop().await;
}

/// A stream ended by the server (here by revoking its token) ends as an HTTP/1.1 response
/// should, with the last chunk, and leaves the connection for the next request: curl, which
/// checks the chunked framing of the whole stream, reuses the connection for the second URL.
/// Plain HTTP/1 streams are written straight to the socket and handed back to hyper at the end
/// (`handoff`), so this is the hand-back seen from a real client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ended_by_the_server_finishes_its_response_and_keeps_the_connection() {
    if !crate::support::require("curl", "curl") {
        return;
    }
    let s = server("").await;
    assert_eq!(s.get("/healthz").await.status, 200);
    s.add_user("alice", "correct horse", &[]);
    let token = s
        .cli(&["token", "create", "nvr", "--user", "alice"], "")
        .trim()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let (stream_out, health_out) = (dir.path().join("stream"), dir.path().join("health"));
    let base = format!("http://{}", s.addr);
    let curl = tokio::process::Command::new("curl")
        .args(["-sS", "-v", "--max-time", "20"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(format!("{base}/cameras/front/stream.mjpeg"))
        .arg("-o")
        .arg(&stream_out)
        .arg(format!("{base}/healthz"))
        .arg("-o")
        .arg(&health_out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Parts flow (the file grows), then the token goes.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&stream_out).map_or(0, |m| m.len()) < 20_000 {
        assert!(Instant::now() < deadline, "no stream within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.cli(&["token", "revoke", "nvr", "--user", "alice"], "");
    let out = tokio::time::timeout(Duration::from_secs(15), curl.wait_with_output())
        .await
        .expect("curl still running 15 s after the revocation")
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "curl failed: {log}");
    assert!(
        log.contains("Re-using existing connection") || log.contains("Reusing existing"),
        "curl opened a second connection: {log}"
    );
    let health = std::fs::read_to_string(&health_out).unwrap();
    assert!(health.contains(r#""status":"ok""#), "{health}");
    let body = std::fs::read(&stream_out).unwrap();
    let parts = body
        .windows(b"Content-Length:".len())
        .filter(|w| w == b"Content-Length:")
        .count();
    assert!(parts >= 2, "{parts} parts before the revocation");
    s.stop().await;
}
