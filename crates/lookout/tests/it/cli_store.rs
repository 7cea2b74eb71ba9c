//! The account commands against a database on disk: read-only commands never create one,
//! token lifetimes are bounded and any stored one lists, and output to a pipe whose reader
//! has gone ends quietly.

use crate::support::{BIN, CHEAP_AUTH};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nmode = \"login\"\n{CHEAP_AUTH}[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    Setup { dir, config, data }
}

impl Setup {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Runs `lookout ARGS` with `stdin` as its input.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self.command(args).spawn().unwrap();
        // A command that stops before reading its input closes it: not the test's failure.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "lookout {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn db(&self) -> PathBuf {
        self.data.join("lookout.db")
    }
}

#[test]
fn read_only_commands_never_create_a_database() {
    let s = setup();
    for args in [
        &["user", "list"][..],
        &["user", "check", "alice", "--password-stdin"],
        &["user", "sessions", "alice"],
        &["user", "sessions", "alice", "--revoke"],
        &["user", "passwd", "alice", "--password-stdin"],
        &["user", "set", "alice", "--role", "admin"],
        &["user", "remove", "alice"],
        &["token", "list"],
        &["token", "create", "nvr", "--user", "alice"],
        &["token", "revoke", "nvr", "--user", "alice"],
    ] {
        let out = s.run(args, "a password\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "lookout {args:?}: {err}");
        assert!(
            err.contains("no Lookout database") && err.contains("lookout user add"),
            "lookout {args:?}: {err}"
        );
        assert!(
            !s.data.exists(),
            "lookout {args:?} created {}",
            s.data.display()
        );
    }
    // Adding the first user is what makes it.
    s.ok(&["user", "add", "alice", "--password-stdin"], "pw\n");
    assert!(s.db().is_file());
    assert_eq!(s.ok(&["user", "list"], ""), "alice\tviewer\tall cameras\n");
}

#[test]
fn token_lifetimes_are_bounded_and_any_stored_expiry_lists() {
    let s = setup();
    s.ok(&["user", "add", "alice", "--password-stdin"], "pw\n");
    let out = s.run(
        &[
            "token",
            "create",
            "far",
            "--user",
            "alice",
            "--expires",
            "2933000d",
        ],
        "",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("more than 10 years"), "{err}");
    s.ok(
        &[
            "token",
            "create",
            "year",
            "--user",
            "alice",
            "--expires",
            "365d",
        ],
        "",
    );
    // Tokens stored by an older Lookout that accepted any lifetime.
    for name in ["old", "oldest"] {
        s.ok(
            &[
                "token",
                "create",
                name,
                "--user",
                "alice",
                "--expires",
                "1d",
            ],
            "",
        );
    }
    let conn = rusqlite::Connection::open(s.db()).unwrap();
    conn.execute(
        "UPDATE api_tokens SET expires_at = created_at + 2933000 * 86400 WHERE name = 'old'",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE api_tokens SET expires_at = ?1 WHERE name = 'oldest'",
        [i64::MAX],
    )
    .unwrap();
    drop(conn);
    let out = s.run(&["token", "list"], "");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{list}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |name: &str| {
        list.lines()
            .find(|l| l.starts_with(&format!("alice\t{name}\t")))
            .unwrap_or_else(|| panic!("no token {name}: {list}"))
            .to_owned()
    };
    assert!(line("old").contains("\texpires +10"), "{list}");
    assert!(
        line("oldest").contains("\texpires +292277026596-12-04T15:30:07Z"),
        "{list}"
    );
    assert!(line("year").contains("\texpires 20"), "{list}");
}

/// `lookout user check NAME | grep -q true` where the reader is gone before the answer is
/// written: the pipe's read end is closed before the password is sent.
#[test]
fn output_to_a_closed_pipe_ends_quietly_with_the_commands_status() {
    let s = setup();
    s.ok(&["user", "add", "alice", "--password-stdin"], "right\n");
    for (password, status) in [("right", 0), ("wrong", 1)] {
        let mut child = s
            .command(&["user", "check", "alice", "--password-stdin"])
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
        drop(stdin);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let code = child.wait().unwrap().code();
        assert_eq!(code, Some(status), "{password}: {err}");
        assert_eq!(err, "", "{password}");
    }
}

/// `lookout user list | head -n 1` on a list far longer than a pipe holds (64 KiB).
#[test]
fn a_long_listing_into_head_ends_quietly() {
    if !crate::support::require("head", "coreutils") {
        return;
    }
    let s = setup();
    // 5000 flask-cam users (a bcrypt hash each, imported as it is: no hashing per user).
    let hash = bcrypt::hash("pw", 4).unwrap();
    let encoded = base64_encode(hash.as_bytes());
    let users: String = (0..5000)
        .map(|i| format!("user-{i:05}-{}\t{encoded}\n", "x".repeat(50)))
        .collect();
    let file = s.dir.path().join("users.txt");
    std::fs::write(&file, users).unwrap();
    s.ok(&["user", "import-flask-cam", file.to_str().unwrap()], "");
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#""$1" --config "$2" --data-dir "$3" user list | head -n 1; echo "status=${PIPESTATUS[0]}""#)
        .arg("bash")
        .arg(BIN)
        .arg(&s.config)
        .arg(&s.data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.starts_with("user-00000-"), "{stdout}");
    assert!(stdout.contains("status=0"), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
