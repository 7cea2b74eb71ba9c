//! Accounts with programs we did not write: a flask-cam users file made by Python's `bcrypt`,
//! headless Chromium signing in, curl keeping a device cookie through a lock, and the timing
//! of failed logins seen from outside.

use crate::support::{
    TestServer, basic, browser_scripts, hidden_field, login_config, require, test_python,
    testpattern,
};
use std::process::Command;
use std::time::{Duration, Instant};

/// The hash stored for `name`, read straight from the database.
fn stored_hash(s: &TestServer, name: &str) -> String {
    let db = rusqlite::Connection::open(s.data_dir.path().join("lookout.db")).unwrap();
    db.query_row(
        "SELECT password_hash FROM users WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .unwrap()
}

/// Writes a flask-cam users file with Python's bcrypt, as flask-cam's `password.py -a` does.
fn flask_cam_file(python: &std::path::Path, path: &std::path::Path, users: &[(&str, &str)]) {
    const SCRIPT: &str = r#"
import base64, bcrypt, sys
out, pairs = sys.argv[1], sys.argv[2:]
with open(out, "w") as f:
    for name, pw in zip(pairs[::2], pairs[1::2]):
        h = bcrypt.hashpw(pw.encode(), bcrypt.gensalt())
        f.write(name + "\t" + base64.b64encode(h).decode() + "\n")
"#;
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(SCRIPT).arg(path);
    for (u, p) in users {
        cmd.arg(u).arg(p);
    }
    let out = cmd.output().expect("run python");
    assert!(
        out.status.success(),
        "python bcrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn flask_cam_users_sign_in_with_their_old_passwords_and_get_argon2id() {
    let Some(python) = test_python() else { return };
    let s = TestServer::start(&format!(
        "{}{}",
        login_config(""),
        testpattern("cam", 160, 120, 10)
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.txt");
    flask_cam_file(
        &python,
        &file,
        &[("pi", "raspberry cam"), ("guest user", "guest pass")],
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.lines()
            .all(|l| l.split('\t').nth(1).is_some_and(|b| b.len() == 80))
    );

    // A broken line anywhere: named with its number, and nobody imported.
    let broken = dir.path().join("broken.txt");
    std::fs::write(&broken, format!("{text}mallory\tnot-base64!\n")).unwrap();
    let out = s.cli_output(&["user", "import-flask-cam", broken.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
    assert!(
        !s.cli(&["user", "list"], "").contains("pi"),
        "half-imported"
    );

    s.cli(&["user", "import-flask-cam", file.to_str().unwrap()], "");
    let list = s.cli(&["user", "list"], "");
    assert!(list.contains("pi") && list.contains("guest user"), "{list}");
    assert!(stored_hash(&s, "pi").starts_with("$2b$12$"));

    // Through the web login form, with the password flask-cam knew.
    assert_eq!(s.try_login("pi", "wrong", false).await.status, 401);
    s.login("pi", "raspberry cam", false).await;
    let upgraded = stored_hash(&s, "pi");
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    // And again with the new hash, and by Basic for the user with a space in the name.
    s.login("pi", "raspberry cam", false).await;
    let r = s
        .get_with(
            "/snapshot",
            &[("Authorization", &basic("guest user", "guest pass"))],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(stored_hash(&s, "guest user").starts_with("$argon2id$"));
    s.stop().await;
}

#[tokio::test]
async fn chromium_signs_in_sees_the_live_picture_and_signs_out() {
    let Some(scripts) = browser_scripts() else {
        return;
    };
    let s = TestServer::start(&format!(
        "{}{}",
        login_config(""),
        testpattern("yard", 320, 240, 10)
    ))
    .await;
    s.add_user("alice", "correct horse", &[]);
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium-login.png");
    let _ = std::fs::remove_file(&shot);
    let base = s.origin();
    let shot_arg = shot.to_str().expect("a UTF-8 target path");
    let report = crate::support::run_browser_script(
        &scripts,
        "login.mjs",
        &[&base, "alice", "correct horse", shot_arg],
    )
    .await;
    assert_eq!(report["first_url"], "/login?next=%2F", "{report}");
    assert!(
        report["wrong_password_message"]
            .as_str()
            .unwrap()
            .contains("Wrong"),
        "{report}"
    );
    assert_eq!(report["after_login_url"], "/", "{report}");
    assert!(
        report["user_bar"].as_str().unwrap().contains("alice"),
        "{report}"
    );
    assert_eq!(report["image_width"], 320, "{report}");
    assert!(
        !report["document_cookie"]
            .as_str()
            .unwrap()
            .contains("lookout_session"),
        "the session cookie is HttpOnly: {report}"
    );
    assert_eq!(report["after_logout_url"], "/login", "{report}");
    assert_eq!(report["api_after_logout"], 401, "{report}");
    assert_eq!(report["csp_violations"], serde_json::json!([]), "{report}");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    eprintln!("screenshot of the signed-in page: {}", shot.display());
    s.stop().await;
}

/// An attacker must not learn which names exist from how long a failed login takes: an
/// unknown name, a wrong password and an over-long password (refused before any hashing)
/// are answered after the same time. The production Argon2 cost is in use.
#[tokio::test]
async fn unknown_user_wrong_and_overlong_passwords_take_the_same_time() {
    let s = TestServer::start(&format!(
        "[auth]\nmode = \"login\"\nlogin_free_failures = 100000\n{}",
        testpattern("cam", 64, 48, 1)
    ))
    .await;
    s.add_user("alice", "correct horse", &[]);
    let long = "x".repeat(5000);
    let try_once = |user: &'static str, password: &str| {
        let auth = basic(user, password);
        let s = &s;
        async move {
            let t = Instant::now();
            let r = s
                .get_with("/api/cameras", &[("Authorization", &auth)])
                .await;
            assert_eq!(r.status, 401);
            t.elapsed()
        }
    };
    // Warm up (the dummy hash is made on first use), then interleave to share the noise.
    try_once("nobody", "wrong password").await;
    let (mut known, mut unknown, mut overlong) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..12 {
        known.push(try_once("alice", "wrong password").await);
        unknown.push(try_once("nobody", "wrong password").await);
        overlong.push(try_once("alice", &long).await);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (k, u, o) = (
        median(&mut known),
        median(&mut unknown),
        median(&mut overlong),
    );
    eprintln!("failed login medians: known name {k:?}, unknown name {u:?}, over-long {o:?}");
    // The leaks this guards against are of orders of magnitude (no hash for an unknown name:
    // ~1 ms against ~100 ms or more), so the bounds are wide: on a shared 2-core machine under
    // a load of 10 the medians of equal work differed by up to 1.5x.
    for (what, t) in [("an unknown name", u), ("an over-long password", o)] {
        let ratio = t.as_secs_f64() / k.as_secs_f64();
        assert!(
            (0.5..=2.0).contains(&ratio),
            "wrong password {k:?} vs {what} {t:?}: the answer time tells them apart"
        );
    }
    s.stop().await;
}

/// Signs in with curl from the local address `from`, keeping cookies in `jar` as a browser
/// does (a fresh jar is a browser never seen before): the login page for its CSRF token, then
/// the form. Returns the status of the form's answer.
fn curl_login(s: &TestServer, from: &str, jar: &std::path::Path, user: &str, pw: &str) -> u16 {
    let origin = s.origin();
    let run = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20", "--interface", from, "-b"])
            .arg(jar)
            .arg("-c")
            .arg(jar)
            .args(args)
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let page = run(&[&format!("{origin}/login")]);
    let csrf = hidden_field(&page, "csrf").expect("csrf field");
    let status = run(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        &format!("Origin: {origin}"),
        "--data-urlencode",
        &format!("csrf={csrf}"),
        "--data-urlencode",
        &format!("user={user}"),
        "--data-urlencode",
        &format!("password={pw}"),
        "--data-urlencode",
        "next=/",
        &format!("{origin}/login"),
    ]);
    status.trim().parse().expect("an HTTP status")
}

/// OWASP's device cookies: someone guessing at a name from elsewhere locks the name, but the
/// browser its owner signed in with before still gets in, even from the guesser's address.
/// Everybody else stays locked out, and the device cookie has its own lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_cookie_lets_its_browser_in_while_the_name_is_locked() {
    if !require("curl", "curl") {
        return;
    }
    let s = TestServer::start(&format!(
        "{}{}",
        login_config("login_free_failures = 2\nlogin_max_lock_seconds = 600\n"),
        testpattern("yard", 64, 48, 5)
    ))
    .await;
    // The server has opened its database once it answers: `lookout user add` run before
    // could race its first migration ("table users already exists").
    assert_eq!(s.get("/healthz").await.status, 200);
    s.add_user("alice", "correct horse", &[]);
    let dir = tempfile::tempdir().unwrap();
    let (alice, attacker, fresh) = ("127.0.0.3", "127.0.0.2", "127.0.0.4");
    let jar = dir.path().join("alice.jar");
    // Alice signs in once: her browser keeps a long-lived device cookie.
    assert_eq!(curl_login(&s, alice, &jar, "alice", "correct horse"), 303);
    let cookies = std::fs::read_to_string(&jar).unwrap();
    let device = cookies
        .lines()
        .find(|l| l.contains("\tlookout_device\t"))
        .unwrap_or_else(|| panic!("no device cookie in the jar:\n{cookies}"));
    assert!(device.starts_with("#HttpOnly_"), "HttpOnly: {device}");
    let expires: u64 = device.split('\t').nth(4).unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(expires > now + 300 * 86_400, "long-lived: {device}");
    // Someone else guesses at "alice" until the name is locked, and keeps at it as each lock
    // ends, so the lock grows to 16 s (2 s, 4 s, 8 s, 16 s): time for the five logins below
    // even when each one takes seconds (Argon2 on a loaded machine).
    let guesses = dir.path().join("guesser.jar");
    for _ in 0..3 {
        assert_eq!(curl_login(&s, attacker, &guesses, "alice", "guess"), 401);
    }
    for lock_s in [2, 4, 8] {
        tokio::time::sleep(Duration::from_millis(lock_s * 1000 + 200)).await;
        assert_eq!(curl_login(&s, attacker, &guesses, "alice", "guess"), 401);
    }
    assert_eq!(
        curl_login(&s, attacker, &guesses, "alice", "correct horse"),
        429
    );
    // A browser never seen before, from an address that never failed, is locked out too.
    let new_jar = dir.path().join("fresh.jar");
    assert_eq!(
        curl_login(&s, fresh, &new_jar, "alice", "correct horse"),
        429
    );
    // Alice's browser gets in, from home and from the guesser's (locked) address.
    assert_eq!(curl_login(&s, alice, &jar, "alice", "correct horse"), 303);
    assert_eq!(
        curl_login(&s, attacker, &jar, "alice", "correct horse"),
        303
    );
    // Her device cookie vouches for her name only: another name from the locked address waits.
    assert_eq!(curl_login(&s, attacker, &jar, "bob", "anything"), 429);
    // It counts its own failures: past the free ones it is locked like a name (2 s, 4 s, then
    // 8 s, long enough for the last login to land inside the lock on a loaded machine).
    for _ in 0..3 {
        assert_eq!(curl_login(&s, alice, &jar, "alice", "typo"), 401);
    }
    for lock_s in [2, 4] {
        tokio::time::sleep(Duration::from_millis(lock_s * 1000 + 200)).await;
        assert_eq!(curl_login(&s, alice, &jar, "alice", "typo"), 401);
    }
    assert_eq!(curl_login(&s, alice, &jar, "alice", "correct horse"), 429);
    s.stop().await;
}
