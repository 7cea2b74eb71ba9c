//! The data directory as `lookout serve` holds it, with real processes: one server per
//! directory (a second exits 1 naming the first's PID), private files whatever the umask,
//! a damaged database or a full disk said before anything is announced.

use crate::support::{BIN, CHEAP_AUTH, Running};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A config that needs the database (logins), with a camera that is never started.
fn login_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("lookout.toml");
    std::fs::write(
        &path,
        format!(
            "[auth]\nmode = \"login\"\n{CHEAP_AUTH}{extra}\n[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n"
        ),
    )
    .unwrap();
    path
}

/// `lookout serve` on a port-0 loopback listener with a umask of 022 (a shell's usual one);
/// stdout lines arrive on the receiver, stderr goes to `log`.
fn spawn_serve(config: &Path, data: &Path, log: &Path) -> (Running, mpsc::Receiver<String>) {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()));
    // SAFETY: umask is async-signal-safe and touches only the child's own state.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("run lookout serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (Running(child), rx)
}

/// The address from the `listening on http://...` line, if it comes within `within`.
fn listening(lines: &mpsc::Receiver<String>, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(l) => {
                if let Some(url) = l.strip_prefix("listening on http://") {
                    return Some(url.trim_end_matches('/').to_owned());
                }
            }
            Err(_) => return None,
        }
    }
    None
}

fn wait_exit(child: &mut std::process::Child, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_second_server_on_the_same_data_dir_exits_1_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = login_config(dir.path(), "");
    let (mut first, first_out) = spawn_serve(&config, &data, &dir.path().join("first.log"));
    listening(&first_out, Duration::from_secs(30)).expect("the first server did not start");

    let log = dir.path().join("second.log");
    let (mut second, second_out) = spawn_serve(&config, &data, &log);
    let code = wait_exit(&mut second.0, Duration::from_secs(30));
    let err = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, Some(1), "the second server still runs: {err}");
    assert!(
        err.contains(&format!("PID {}", first.0.id())) && err.contains(&*data.to_string_lossy()),
        "{err}"
    );
    assert_eq!(
        listening(&second_out, Duration::from_millis(100)),
        None,
        "the second server announced a listener"
    );

    // The kernel drops the lock with its holder, even one killed by SIGKILL.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let (_third, third_out) = spawn_serve(&config, &data, &dir.path().join("third.log"));
    assert!(
        listening(&third_out, Duration::from_secs(30)).is_some(),
        "a server could not start after the first was killed: {}",
        std::fs::read_to_string(dir.path().join("third.log")).unwrap()
    );
}

#[test]
fn files_in_the_data_dir_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A secret file left readable by everybody is warned about.
    let secret = dir.path().join("webhook.secret");
    std::fs::write(&secret, "0123456789abcdef0123\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Motion on the moving test pattern makes an event with a picture; the alert rule only
    // names the secret file (it takes test alerts only, so nothing is sent).
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nmode = \"none\"\n\
             [[alert]]\nname = \"hook\"\nkinds = [\"test\"]\n[alert.webhook]\nurl = \"http://127.0.0.1:9/\"\nsecret_file = {secret:?}\n\
             [[camera]]\nid = \"moving\"\n[camera.source]\nkind = \"testpattern\"\nwidth = 320\nheight = 240\nfps = 10\n\
             [camera.motion]\nanalyse_fps = 10\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let (_server, out) = spawn_serve(&config, &data, &log);
    let addr = listening(&out, Duration::from_secs(30)).expect("lookout did not start");
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let picture = loop {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = rt
            .block_on(lookout_bench::get(addr, "/api/events", &[]))
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let found = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["snapshot_url"].is_string())
            .map(|e| e["id"].as_i64().unwrap());
        if let Some(id) = found {
            break data.join("events").join(format!("{id}.jpg"));
        }
        assert!(Instant::now() < deadline, "no event with a picture: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(mode(&data), 0o700, "data directory");
    for file in [
        "lookout.db",
        "lookout.db-wal",
        "lookout.db-shm",
        "lookout.lock",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&data.join("events")), 0o700, "events/");
    assert_eq!(mode(&picture), 0o600, "{}", picture.display());
    let err = std::fs::read_to_string(&log).unwrap();
    assert!(
        err.contains("can be read by every user") && err.contains(&*secret.to_string_lossy()),
        "no warning about the readable secret file: {err}"
    );
}

/// Runs `lookout serve` to its end (it must not start) and returns (status, stdout, stderr).
fn serve_to_the_end(config: &Path, data: &Path) -> (Option<i32>, String, String) {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lookout serve");
    let code = wait_exit(&mut child, Duration::from_secs(30));
    if code.is_none() {
        let _ = child.kill();
    }
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = child.wait();
    (code, out, err)
}

/// Overwrites the root pages of `table` and its indexes with bytes that are no b-tree page,
/// as a failing disk or a stray write would. The database is checkpointed first, so that
/// the pages are read from the main file, not the WAL.
pub fn damage_table(db: &Path, table: &str) {
    use std::io::{Seek, SeekFrom, Write};
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint could not complete");
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let roots: Vec<i64> = conn
        .prepare("SELECT rootpage FROM sqlite_master WHERE tbl_name = ?1 AND rootpage > 0")
        .unwrap()
        .query_map([table], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!roots.is_empty(), "no table {table}");
    let mut f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    for root in roots {
        f.seek(SeekFrom::Start(((root - 1) * page_size) as u64))
            .unwrap();
        f.write_all(&vec![0xA5; page_size as usize]).unwrap();
    }
    f.sync_all().unwrap();
}

#[test]
fn a_damaged_database_stops_serve_before_it_announces_anything() {
    let dir = tempfile::tempdir().unwrap();
    let config = login_config(dir.path(), "");

    // Not a database at all.
    let data = dir.path().join("garbage");
    std::fs::create_dir(&data).unwrap();
    let db = data.join("lookout.db");
    std::fs::write(&db, vec![0x42; 8192]).unwrap();
    let (code, out, err) = serve_to_the_end(&config, &data);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(!out.contains("listening on"), "announced: {out}");
    assert!(
        err.contains(&*db.to_string_lossy()) && err.contains("damaged") && err.contains("backup"),
        "{err}"
    );

    // A real database with its users table damaged: only reading every page finds it.
    let data = dir.path().join("pages");
    let add = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .args(["user", "add", "alice", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"secret\n")?;
            c.wait()
        })
        .unwrap();
    assert!(add.success());
    let db = data.join("lookout.db");
    damage_table(&db, "users");
    let (code, out, err) = serve_to_the_end(&config, &data);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(!out.contains("listening on"), "announced: {out}");
    assert!(
        err.contains(&*db.to_string_lossy()) && err.contains("damaged"),
        "{err}"
    );
    // The commands say it the same way when a query meets the damage.
    let list = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .args(["user", "list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&list.stderr);
    assert_eq!(list.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&*db.to_string_lossy()) && err.contains("damaged"),
        "{err}"
    );
}

/// A full disk: a 64 KiB tmpfs, filled, in a mount namespace of its own (`unshare -m`), so
/// nothing is mounted outside the test.
#[test]
fn a_full_disk_is_said_as_such_and_leaves_no_probe_file() {
    if !crate::support::require("unshare", "util-linux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = login_config(dir.path(), "");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let script = r#"
        set -u
        mount -t tmpfs -o size=64k tmpfs "$1" || exit 77
        mkdir "$1/data"
        dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null
        "$2" --config "$3" --data-dir "$1/data" serve --listen 127.0.0.1:0
        echo "exit=$?"
        ls -A "$1/data"
    "#;
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(&mnt)
        .arg(BIN)
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(77) || (!out.status.success() && stdout.is_empty()) {
        // Not root, or no mount namespaces here: then there is no full disk to make.
        crate::support::missing(&format!(
            "a private tmpfs mount (unshare -m, mount -t tmpfs): {stderr}"
        ));
        return;
    }
    assert!(stdout.contains("exit=1"), "{stdout}{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(
        stderr.contains("is full") && !stderr.contains("permissions"),
        "{stderr}"
    );
    let left: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("exit="))
        .skip(1)
        .collect();
    assert!(
        !left.contains(&".lookout-write-test"),
        "the probe file was left behind: {left:?}"
    );
}
