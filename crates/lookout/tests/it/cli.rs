//! The `lookout` binary: config commands, serving with `--listen`, and signals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_lookout");

fn lookout(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("run lookout")
}

#[test]
fn config_check_names_file_line_and_fix_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[camera]]\nid = \"a\"\ncolour = \"red\"\n[camera.source]\nkind = \"testpattern\"\n",
    )
    .unwrap();
    let out = lookout(&["config", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3: unknown field `colour`", bad.display())),
        "{err}"
    );
    assert!(err.contains("fix:"), "{err}");
    let missing = lookout(&["config", "check", "/nonexistent/lookout.toml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the config file"));
}

/// `config check` on `text`: (exit code, standard error).
fn check(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let out = lookout(&["config", "check", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).replace(&*path.to_string_lossy(), "bad.toml");
    (out.status.code(), err)
}

/// The `FILE:LINE: message` lines of `err`, without their fixes.
fn error_lines(err: &str) -> Vec<&str> {
    err.lines().filter(|l| l.starts_with("bad.toml:")).collect()
}

#[test]
fn config_check_reports_every_error_of_a_file_in_line_order_each_at_its_key() {
    // Key and type errors in several tables come out together, in words.
    let (code, err) = check(
        "[server]\nlisten = \"127.0.0.1:8080\"\nmax_conections = 5\n\n[[camera]]\nid = \"a\"\nquality = \"high\"\n[camera.source]\nkind = \"testpattern\"\n",
    );
    assert_eq!(code, Some(1), "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with("bad.toml:2: server.listen is \"127.0.0.1:8080\"; it must be a list"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("bad.toml:3: unknown field `max_conections`"),
        "{err}"
    );
    assert_eq!(
        lines[2],
        "bad.toml:7: camera \"a\": quality is \"high\"; it must be a whole number"
    );
    assert_eq!(err.matches("\n  fix: ").count(), 3, "{err}");
    // Value errors too, each at its own key: the alert's `name` line, not the camera's.
    let (code, err) = check(
        "[[camera]]\nid = \"a\"\nname = \"A\"\nquality = 0\n[camera.source]\nkind = \"testpattern\"\n\n[server]\nmax_headers = 2\n\n[[alert]]\nname = \"\"\n[alert.email]\nto = [\"me@example.org\"]\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        error_lines(&err),
        [
            "bad.toml:4: camera \"a\": quality is 0; it must be a whole number from 1 to 100",
            "bad.toml:9: server.max_headers is 2; it must be a whole number from 8 to 1000",
            "bad.toml:12: [[alert]] name \"\" is empty or used twice",
            "bad.toml:14: [[alert]] \"\" sends email but there is no [smtp] table",
        ],
        "{err}"
    );
}

#[test]
fn config_check_masks_passwords_in_a_commands_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cams.toml");
    std::fs::write(
        &path,
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"command\"\n\
         command = [\"ffmpeg\", \"-i\", \"rtsp://viewer:s3cret@10.0.0.9/live\", \"-f\", \"mjpeg\", \"-\"]\n",
    )
    .unwrap();
    let out = lookout(&["config", "check", path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("\"rtsp://viewer:***@10.0.0.9/live\"") && !printed.contains("s3cret"),
        "{printed}"
    );
}

#[test]
fn config_example_passes_config_check_and_prints_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let example = lookout(&["config", "example"]);
    assert!(example.status.success());
    let path = dir.path().join("lookout.toml");
    std::fs::write(&path, &example.stdout).unwrap();
    let out = lookout(&["config", "check", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resolved = String::from_utf8_lossy(&out.stdout);
    assert!(
        resolved.contains("max_headers = 64") && resolved.contains("kind = \"testpattern\""),
        "{resolved}"
    );
}

/// Starts `lookout serve` with extra args in `dir`, returning the child, its base URL and
/// its first line.
fn serve(dir: &std::path::Path, args: &[&str]) -> (Child, String, String) {
    let (child, url, banner, _rest) = serve_reading(dir, args);
    (child, url, banner)
}

/// Like [`serve`], with the lines it prints after the first `listening on` (read by a thread
/// until it exits: a closed pipe would make its next line fail).
fn serve_reading(
    dir: &std::path::Path,
    args: &[&str],
) -> (Child, String, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lookout");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let banner = lines
        .next()
        .expect("lookout exited before listening (config error?)")
        .unwrap();
    let listening = lines.next().unwrap().unwrap();
    let url = listening
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{listening}"))
        .to_owned();
    let (tx, rest) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, url, banner, rest)
}

fn addr_of(url: &str) -> std::net::SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Sends SIGTERM to `child` and waits up to 10 s for it to exit: its exit code, if it did.
async fn sigterm_and_wait(mut child: Child) -> Option<i32> {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(10)))
        .await
        .unwrap()
        .and_then(|s| s.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_config_file_it_serves_the_demo_and_sigterm_ends_streams() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url, banner, rest) = serve_reading(dir.path(), &["--listen", "127.0.0.1:0"]);
    assert!(banner.contains("demo camera"), "{banner}");
    // The next step, and the command it names works: it writes a config that starts.
    let hint = rest.recv_timeout(Duration::from_secs(10)).expect("a hint");
    assert!(
        hint.contains("`lookout config example > lookout.toml`") && hint.contains("Ctrl-C"),
        "{hint}"
    );
    let example = lookout(&["config", "example"]);
    assert!(example.status.success());
    std::fs::write(dir.path().join("lookout.toml"), &example.stdout).unwrap();
    let addr = addr_of(&url);
    let mut s = lookout_bench::open_stream(addr, "/cameras/demo/stream.mjpeg", &[])
        .await
        .unwrap();
    let first = s.next_part().await.unwrap().expect("a frame");
    assert_eq!(crate::support::jpeg_size(&first.body), (1280, 720));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = s.next_part().await {}
    })
    .await;
    assert!(ended.is_ok(), "stream still open after SIGTERM");
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(10)))
            .await
            .unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "did not exit cleanly after SIGTERM"
    );
    // Started again, it reads the config just written and prints no hint.
    let data = dir.path().join("data");
    let (child, url, banner, rest) = serve_reading(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert!(
        banner.contains("lookout.toml") && !banner.contains("demo"),
        "{banner}"
    );
    // An answer means it serves, so its signal handlers are in place.
    let health = lookout_bench::get(addr_of(&url), "/healthz", &[])
        .await
        .unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(sigterm_and_wait(child).await, Some(0));
    // It exited, so the reader has seen the end of its output.
    let after: Vec<String> = rest.iter().collect();
    assert!(
        after.iter().all(|l| !l.contains("config example")),
        "{after:?}"
    );
}

#[test]
fn a_config_error_at_serve_exits_1_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lookout.toml"),
        "[server]\nlisten = \"oops\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lookout.toml:2:"), "{err}");
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", &addr])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_while_a_request_holds_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    // A camera that never sends a frame, and snapshots that wait a minute for one: a snapshot
    // request in flight keeps the graceful shutdown waiting.
    let config = "[auth]\nmode = \"none\"\n[server]\nsnapshot_timeout_ms = 60000\nrequest_timeout_ms = 120000\n[[camera]]\nid = \"slow\"\n[camera.source]\nkind = \"command\"\ncommand = [\"sleep\", \"600\"]\n";
    std::fs::write(dir.path().join("lookout.toml"), config).unwrap();
    let (mut child, url, _) = serve(dir.path(), &["--listen", "127.0.0.1:0"]);
    let addr = addr_of(&url);
    let pending =
        tokio::spawn(
            async move { lookout_bench::get(addr, "/cameras/slow/snapshot.jpg", &[]).await },
        );
    // The request is in flight once it woke the camera (a snapshot takes demand).
    let start = Instant::now();
    loop {
        let r = lookout_bench::get(addr, "/api/cameras/slow", &[])
            .await
            .unwrap();
        let cam: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        if cam["state"] != "idle" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the snapshot never woke the camera: {cam}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id() as i32;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited before the pending request finished"
    );
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(3)))
        .await
        .unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(130),
        "second signal did not exit at once"
    );
    pending.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_worker_threads_sets_the_threads_serving_connections() {
    let dir = tempfile::tempdir().unwrap();
    // One more than the runtime's default (one per core), so the default cannot pass for it.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let config = format!(
        "[auth]\nmode = \"none\"\n[server]\nworker_threads = {}\n[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n",
        cores + 1
    );
    std::fs::write(dir.path().join("lookout.toml"), config).unwrap();
    let (child, url, _) = serve(dir.path(), &["--listen", "127.0.0.1:0"]);
    let metrics = lookout_bench::get(addr_of(&url), "/metrics", &[])
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&metrics.body);
    let line = text
        .lines()
        .find(|l| l.starts_with("lookout_worker_threads "))
        .unwrap_or_else(|| panic!("no lookout_worker_threads in:\n{text}"));
    assert_eq!(line, format!("lookout_worker_threads {}", cores + 1));
    assert_eq!(sigterm_and_wait(child).await, Some(0));
}

/// What `lookout serve` logs on standard error from start to a SIGINT, run by `sh`: to a pipe,
/// or to a terminal (`script` gives it one) when `tty`; `NO_COLOR=1` when `no_color`.
fn serve_logs(tty: bool, no_color: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stdout");
    // SIGINT only once it listens, so its handler is installed and logs the shutdown.
    let run = format!(
        "'{BIN}' serve --listen 127.0.0.1:0 > '{out}' & pid=$!\n\
         until grep -q 'listening on' '{out}' 2>/dev/null; do sleep 0.1; done\n\
         kill -INT $pid\nwait $pid\n",
        out = out.display()
    );
    let script = dir.path().join("run.sh");
    std::fs::write(&script, run).unwrap();
    let mut cmd = if tty {
        let mut c = Command::new("script");
        c.args(["-qec", &format!("sh '{}'", script.display()), "/dev/null"]);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg(&script);
        c
    };
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let done = cmd
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run sh");
    assert!(done.status.success(), "{done:?}");
    // `script` passes the terminal's output on its standard output.
    let logs = if tty { done.stdout } else { done.stderr };
    assert!(
        String::from_utf8_lossy(&logs).contains("stopped"),
        "no log lines: {}",
        String::from_utf8_lossy(&logs)
    );
    logs
}

#[test]
fn logs_are_coloured_only_on_a_terminal_and_never_with_no_color() {
    const ESC: u8 = 0x1b;
    assert!(
        !serve_logs(false, false).contains(&ESC),
        "escape sequences in logs written to a pipe"
    );
    if !crate::support::require("script", "bsdutils") {
        return;
    }
    assert!(
        serve_logs(true, false).contains(&ESC),
        "no colour on a terminal"
    );
    assert!(
        !serve_logs(true, true).contains(&ESC),
        "colour despite NO_COLOR"
    );
}

#[test]
fn systemd_unit_warns_when_the_sandbox_hides_the_program() {
    // This very binary, linked (or copied) into /tmp, which the unit's PrivateTmp=yes hides.
    let dir = tempfile::Builder::new()
        .prefix("lookout-bin")
        .tempdir_in("/tmp")
        .unwrap();
    let exe = dir.path().join("lookout");
    if std::fs::hard_link(BIN, &exe).is_err() {
        std::fs::copy(BIN, &exe).unwrap();
    }
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n",
    )
    .unwrap();
    let out = Command::new(&exe)
        .args(["--config", config.to_str().unwrap(), "systemd-unit"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("this program is {}", exe.display()))
            && err.contains("PrivateTmp=yes")
            && err.contains("sudo install -m 755"),
        "{err}"
    );
    let unit = String::from_utf8_lossy(&out.stdout);
    assert!(
        unit.contains(&format!("ExecStart={} serve", exe.display())),
        "{unit}"
    );
}
