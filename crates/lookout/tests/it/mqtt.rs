//! MQTT with a real broker (Debian's mosquitto on a free loopback port, with a password file
//! and with TLS) and a real subscriber (`mosquitto_sub`): Home Assistant's discovery payloads
//! checked against its documented schema, motion `ON` then `OFF` with the picture between,
//! retained state after a restart, a removed camera's entities removed, and events recorded
//! while the broker was down or across a `kill -9` of Lookout published afterwards.

use crate::support::{BIN, Running, ca_signed_cert, free_port, require};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "lookout";
const PASSWORD: &str = "s3cret pass";

/// A mosquitto on `port`, with a password file (`USER`/`PASSWORD`) or, if `tls`, anonymous
/// over TLS with a certificate of `ca_signed_cert` in `dir`.
fn broker(dir: &Path, port: u16, tls: bool) -> Running {
    let passwd = dir.join("passwd");
    if !passwd.exists() {
        let out = Command::new("mosquitto_passwd")
            .args(["-b", "-c"])
            .arg(&passwd)
            .args([USER, PASSWORD])
            .output()
            .expect("run mosquitto_passwd");
        assert!(out.status.success(), "{out:?}");
    }
    let mut conf = format!(
        "# Stays root: it reads files in the test's 0700 temporary folder.\nuser root\nlistener {port} 127.0.0.1\npersistence false\n"
    );
    if !tls {
        conf.push_str(&format!(
            "allow_anonymous false\npassword_file {}\n",
            passwd.display()
        ));
    } else {
        // No password file: anyone may connect (the subscriber's name is not checked).
        conf.push_str("allow_anonymous true\n");
        conf.push_str(&format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            dir.join("ca.crt").display(),
            dir.join("broker.crt").display(),
            dir.join("broker.key").display()
        ));
    }
    let path = dir.join("mosquitto.conf");
    std::fs::write(&path, conf).unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("mosquitto.log"))
        .unwrap();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("run mosquitto");
    wait_port(port, "mosquitto");
    Running(child)
}

fn wait_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sub_args(port: u16, tls_ca: Option<&Path>) -> Vec<String> {
    let mut args: Vec<String> = [
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-u",
        USER,
        "-P",
        PASSWORD,
        // Retain flag, topic, payload in hex: one line per message, pictures included.
        "-F",
        "%r %t %x",
        "-t",
        "#",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if let Some(ca) = tls_ca {
        args.extend(["--cafile".to_owned(), ca.display().to_string()]);
    }
    args
}

/// `mosquitto_sub` on every topic, writing what it receives to `out`.
fn subscriber(port: u16, out: &Path, tls_ca: Option<&Path>) -> Running {
    let child = Command::new("mosquitto_sub")
        .args(sub_args(port, tls_ca))
        .stdout(Stdio::from(std::fs::File::create(out).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .expect("run mosquitto_sub");
    // Subscribed once the retained status (or anything) may arrive; a short settle suffices
    // for the broker to register it before the test goes on.
    std::thread::sleep(Duration::from_millis(300));
    Running(child)
}

/// What the broker keeps retained now: a fresh subscriber's view, for 2 s.
fn retained(port: u16) -> Vec<Msg> {
    let out = Command::new("mosquitto_sub")
        .args(sub_args(port, None))
        .args(["--retained-only", "-W", "2"])
        .output()
        .expect("run mosquitto_sub");
    parse(&String::from_utf8_lossy(&out.stdout))
}

#[derive(Debug, Clone)]
struct Msg {
    retained: bool,
    topic: String,
    payload: Vec<u8>,
}

impl Msg {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.topic, self.text()))
    }
}

fn parse(text: &str) -> Vec<Msg> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            let retained = parts.next()? == "1";
            let topic = parts.next()?.to_owned();
            let hex = parts.next().unwrap_or("");
            let payload = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            Some(Msg {
                retained,
                topic,
                payload,
            })
        })
        .collect()
}

fn received(out: &Path) -> Vec<Msg> {
    let Ok(f) = std::fs::File::open(out) else {
        return Vec::new();
    };
    let text: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
    parse(&text.join("\n"))
}

/// Waits until `ok` holds for what `out` received; the last look if it never does.
fn wait_for(out: &Path, secs: u64, what: &str, ok: impl Fn(&[Msg]) -> bool) -> Vec<Msg> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = received(out);
        if ok(&got) {
            return got;
        }
        let topics: Vec<_> = got.iter().map(|m| (&m.topic, m.text())).collect();
        assert!(
            Instant::now() < deadline,
            "{what}: not received in {secs} s; got {topics:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `lookout serve` on `port`, returning once it answers.
fn lookout(config: &Path, data: &Path, port: u16, log: &Path) -> Running {
    let child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info,lookout::mqtt=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .expect("run lookout");
    wait_port(port, "lookout");
    Running(child)
}

fn kill_9(mut process: Running) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(process.0.id() as i32, libc::SIGKILL);
    }
    let _ = process.0.wait();
}

fn stop(mut process: Running) {
    // SAFETY: kill(2) on our own child's pid; SIGTERM is the graceful shutdown.
    unsafe {
        libc::kill(process.0.id() as i32, libc::SIGTERM);
    }
    let _ = process.0.wait();
}

/// A folder of frames played in a loop at 10 fps: 3 s of a still grey picture, then 1 s of
/// a white square moving across it: a motion event every 4 s that ends within a second
/// (cooldown 1 s).
fn blinking_frames(dir: &Path) -> PathBuf {
    let frames = dir.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    let still = || {
        let mut picture = lookout_core::RgbImage::new(320, 240);
        picture.fill_rect(0, 0, 320, 240, [90, 90, 90]);
        picture
    };
    for i in 0..40 {
        let mut picture = still();
        if i >= 30 {
            picture.fill_rect(20 + (i - 30) * 25, 80, 60, 60, [255, 255, 255]);
        }
        let jpeg = lookout_core::jpeg::encode_rgb(&picture, 80).unwrap();
        std::fs::write(frames.join(format!("{i:03}.jpg")), jpeg).unwrap();
    }
    frames
}

fn blinking_camera(id: &str, frames: &Path) -> String {
    format!(
        "[[camera]]\nid = \"{id}\"\nname = \"Camera {id}\"\n[camera.source]\nkind = \"files\"\ndir = {frames:?}\nfps = 10\n\
         [camera.motion]\nanalyse_fps = 10\nmin_frames = 1\ncooldown_seconds = 1\n"
    )
}

/// A camera whose upstream never answers: offline at once, an event.
fn dead_camera(id: &str) -> String {
    format!(
        "[[camera]]\nid = \"{id}\"\nkeep_warm = true\n[camera.source]\nkind = \"http\"\nurl = \"http://127.0.0.1:{}/video\"\n",
        free_port()
    )
}

fn mqtt_section(url: &str, dir: &Path, extra: &str) -> String {
    let password = dir.join("mqtt-password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    format!(
        "[mqtt]\nurl = \"{url}\"\nusername = \"{USER}\"\npassword_file = {password:?}\n\
         configuration_url = \"http://cam.example.org/\"\nviewers_every_seconds = 1\n{extra}\n"
    )
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let config = dir.join("lookout.toml");
    std::fs::write(&config, format!("[auth]\nmode = \"none\"\n{body}")).unwrap();
    config
}

fn programs() -> bool {
    require("mosquitto", "mosquitto") && require("mosquitto_sub", "mosquitto-clients")
}

/// Home Assistant's documented discovery schema, as far as every entity shares it: the
/// keys each component requires, a unique id, the device block and the availability topic.
fn check_discovery(msg: &Msg, component: &str) {
    let c = msg.json();
    let shown = c.to_string();
    let required: &[&str] = match component {
        // https://www.home-assistant.io/integrations/binary_sensor.mqtt/: state_topic;
        // device_class motion; payloads ON/OFF are its defaults, said anyway.
        "binary_sensor" => &["state_topic", "payload_on", "payload_off", "device_class"],
        // https://www.home-assistant.io/integrations/camera.mqtt/: `topic` is required.
        "camera" => &["topic"],
        // https://www.home-assistant.io/integrations/sensor.mqtt/: state_topic is required.
        "sensor" => &["state_topic"],
        "switch" => &["command_topic", "state_topic"],
        "button" => &["command_topic"],
        other => panic!("no schema for {other}"),
    };
    for key in required {
        assert!(c[key].is_string(), "{component} lacks {key}: {shown}");
    }
    assert!(
        c["unique_id"].as_str().unwrap().starts_with("lookout_"),
        "{shown}"
    );
    assert!(c["name"].is_string(), "{shown}");
    assert_eq!(c["availability_topic"], "lookout/status", "{shown}");
    let device = &c["device"];
    assert_eq!(
        device["identifiers"],
        serde_json::json!(["lookout_lookout"]),
        "{shown}"
    );
    assert_eq!(device["name"], "Lookout", "{shown}");
    assert_eq!(device["sw_version"], env!("CARGO_PKG_VERSION"), "{shown}");
    assert_eq!(
        device["configuration_url"], "http://cam.example.org/",
        "{shown}"
    );
    if component == "binary_sensor" {
        assert_eq!(c["device_class"], "motion", "{shown}");
    }
    if component == "sensor" && c["state_topic"].as_str().unwrap().ends_with("/state") {
        assert_eq!(c["value_template"], "{{ value_json.state }}", "{shown}");
        assert!(c["options"].as_array().unwrap().contains(&"online".into()));
    }
}

/// The whole way with a password: discovery, retained online status and camera state,
/// motion ON, its picture, OFF in that order, the event JSON with its id; a graceful stop
/// leaves `offline`; a restart without one camera removes that camera's entities.
#[test]
fn motion_state_and_discovery_reach_a_real_subscriber_and_removed_cameras_go() {
    if !programs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let _broker = broker(d, mqtt_port, false);
    let out = d.join("sub.txt");
    let _sub = subscriber(mqtt_port, &out, None);
    let frames = blinking_frames(d);
    let mqtt = mqtt_section(
        &format!("mqtt://127.0.0.1:{mqtt_port}"),
        d,
        "commands = true",
    );
    let config = write_config(
        d,
        &format!(
            "{mqtt}{}{}",
            blinking_camera("yard", &frames),
            dead_camera("gate")
        ),
    );
    let data = d.join("data");
    let first = lookout(&config, &data, http_port, &d.join("first.log"));

    let got = wait_for(&out, 20, "motion ON then OFF", |m| {
        let on = m
            .iter()
            .position(|m| m.topic == "lookout/camera/yard/motion" && m.text() == "ON");
        on.is_some_and(|on| {
            m[on..]
                .iter()
                .any(|m| m.topic == "lookout/camera/yard/motion" && m.text() == "OFF")
        })
    });
    let log = || std::fs::read_to_string(d.join("first.log")).unwrap_or_default();
    // Discovery: every entity of both cameras, each by Home Assistant's schema.
    for camera in ["yard", "gate"] {
        for (component, object) in [
            ("binary_sensor", "motion"),
            ("camera", "picture"),
            ("sensor", "state"),
            ("sensor", "viewers"),
            ("switch", "alerts"),
            ("button", "snapshot"),
        ] {
            let topic = format!("homeassistant/{component}/lookout/{camera}_{object}/config");
            let msg = got
                .iter()
                .find(|m| m.topic == topic)
                .unwrap_or_else(|| panic!("no {topic}; log: {}", log()));
            check_discovery(msg, component);
        }
    }
    assert!(
        got.iter()
            .any(|m| m.topic == "lookout/status" && m.text() == "online"),
        "online"
    );
    // In order: ON, the picture (a JPEG, retained), the start event; then OFF after the end.
    let yard: Vec<&Msg> = got
        .iter()
        .filter(|m| m.topic.starts_with("lookout/camera/yard/") || m.topic == "lookout/events")
        .filter(|m| {
            !m.topic.ends_with("/state")
                && !m.topic.ends_with("/viewers")
                && !m.topic.ends_with("/alerts")
        })
        .collect();
    let on = yard
        .iter()
        .position(|m| m.topic.ends_with("/motion") && m.text() == "ON")
        .unwrap();
    let off = on
        + yard[on..]
            .iter()
            .position(|m| m.topic.ends_with("/motion") && m.text() == "OFF")
            .unwrap();
    let between: Vec<_> = yard[on..off].iter().map(|m| m.topic.as_str()).collect();
    assert!(
        between.contains(&"lookout/camera/yard/picture"),
        "{between:?}"
    );
    let picture = yard[on..]
        .iter()
        .find(|m| m.topic.ends_with("/picture"))
        .unwrap();
    assert_eq!(&picture.payload[..2], [0xff, 0xd8], "a JPEG");
    let start = yard[on..off]
        .iter()
        .find(|m| m.topic == "lookout/events" && m.json()["camera"] == "yard")
        .unwrap()
        .json();
    assert_eq!(
        (start["kind"].as_str(), start["phase"].as_str()),
        (Some("motion"), Some("start"))
    );
    let end = yard[on..off]
        .iter()
        .find(|m| m.topic == "lookout/events" && m.json()["phase"] == "end")
        .map(|m| m.json())
        .unwrap_or_else(|| panic!("an end event before OFF: {between:?}"));
    assert_eq!(end["id"], start["id"]);
    assert!(end["peak_score"].as_f64().unwrap() > 0.0, "{end}");
    // The dead camera's state: offline, with its error, retained.
    let gate = wait_for(&out, 20, "gate offline", |m| {
        m.iter()
            .any(|m| m.topic == "lookout/camera/gate/state" && m.json()["state"] == "offline")
    });
    let state = gate
        .iter()
        .rev()
        .find(|m| m.topic == "lookout/camera/gate/state")
        .unwrap();
    assert!(state.json()["last_error"].is_string(), "{}", state.text());
    // What a newcomer (Home Assistant after a restart) gets: the configs and states, not
    // the events.
    let kept = retained(mqtt_port);
    assert!(kept.iter().all(|m| m.retained), "{kept:?}");
    let shown: Vec<_> = kept.iter().map(|m| m.topic.as_str()).collect();
    for topic in [
        "lookout/status",
        "lookout/camera/gate/state",
        "lookout/camera/yard/state",
        "lookout/camera/yard/picture",
        "lookout/camera/yard/viewers",
        "lookout/camera/yard/alerts",
        "homeassistant/camera/lookout/yard_picture/config",
    ] {
        assert!(shown.contains(&topic), "{topic} retained: {shown:?}");
    }
    assert!(!shown.contains(&"lookout/camera/yard/motion"), "{shown:?}");
    assert!(!shown.contains(&"lookout/events"), "{shown:?}");

    // A graceful stop says offline itself (the broker sends no will then).
    stop(first);
    let kept = retained(mqtt_port);
    let status = kept.iter().find(|m| m.topic == "lookout/status").unwrap();
    assert_eq!(status.text(), "offline");
    assert!(
        kept.iter().any(|m| m.topic == "lookout/camera/yard/state"),
        "{kept:?}"
    );

    // Restarted without the gate: online again, the gate's entities removed, the yard's kept.
    let config = write_config(d, &format!("{mqtt}{}", blinking_camera("yard", &frames)));
    let second = lookout(&config, &data, http_port, &d.join("second.log"));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let kept = retained(mqtt_port);
        let status = kept
            .iter()
            .find(|m| m.topic == "lookout/status")
            .map(Msg::text);
        let gate = kept
            .iter()
            .filter(|m| m.topic.contains("/lookout/gate_"))
            .count();
        let yard = kept
            .iter()
            .filter(|m| m.topic.contains("/lookout/yard_"))
            .count();
        if status.as_deref() == Some("online") && gate == 0 && yard == 6 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "status {status:?}, {gate} gate and {yard} yard configs retained; log: {}",
            std::fs::read_to_string(d.join("second.log")).unwrap_or_default()
        );
    }
    // kill -9: the broker publishes the last will.
    kill_9(second);
    let deadline = Instant::now() + Duration::from_secs(10);
    while retained(mqtt_port)
        .iter()
        .find(|m| m.topic == "lookout/status")
        .map(Msg::text)
        .as_deref()
        != Some("offline")
    {
        assert!(Instant::now() < deadline, "the last will was not published");
    }
}

/// Events recorded while the broker is down wait in the outbox, survive a `kill -9` of
/// Lookout in the middle of trying them, and are published once the broker is back.
#[test]
fn events_wait_for_the_broker_and_survive_kill_9() {
    if !programs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let mqtt = mqtt_section(&format!("mqtt://127.0.0.1:{mqtt_port}"), d, "");
    let config = write_config(d, &format!("{mqtt}{}", dead_camera("gate")));
    let data = d.join("data");
    // No broker yet: the camera goes offline, an event is queued, tries fail.
    let first = lookout(&config, &data, http_port, &d.join("first.log"));
    let deadline = Instant::now() + Duration::from_secs(15);
    while !std::fs::read_to_string(d.join("first.log"))
        .unwrap_or_default()
        .contains("cannot connect to the MQTT broker")
    {
        assert!(Instant::now() < deadline, "no connection attempt");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    kill_9(first);

    // Restarted, still without a broker for a while, then the broker comes up.
    let second = lookout(&config, &data, http_port, &d.join("second.log"));
    std::thread::sleep(Duration::from_secs(2));
    let _broker = broker(d, mqtt_port, false);
    let out = d.join("sub.txt");
    let _sub = subscriber(mqtt_port, &out, None);
    let got = wait_for(&out, 40, "the camera_offline event", |m| {
        m.iter()
            .any(|m| m.topic == "lookout/events" && m.json()["kind"] == "camera_offline")
    });
    let offline: Vec<_> = got
        .iter()
        .filter(|m| m.topic == "lookout/events" && m.json()["kind"] == "camera_offline")
        .map(Msg::json)
        .collect();
    // The first run's event (one per offline spell: the restart is a second spell).
    assert!(!offline.is_empty());
    assert!(
        offline
            .iter()
            .all(|e| e["camera"] == "gate" && e["details"]["error"].is_string()),
        "{offline:?}"
    );
    let first_id = offline
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .min()
        .unwrap();
    assert_eq!(first_id, 1, "the event of the killed run: {offline:?}");
    // Give a duplicate every chance: several retry periods.
    std::thread::sleep(Duration::from_secs(3));
    let again = received(&out)
        .iter()
        .filter(|m| m.topic == "lookout/events" && m.json()["id"] == 1)
        .count();
    assert_eq!(again, 1, "published once");
    stop(second);
}

/// `mqtts://` with the broker's own CA in `ca_file`: connected, discovery published; the
/// same broker without that CA is refused (the system's roots do not know it).
#[test]
fn tls_with_a_ca_file_connects_and_without_it_does_not() {
    if !programs() || !require("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ca, _, _) = ca_signed_cert(d, "broker");
    let (mqtt_port, http_port) = (free_port(), free_port());
    let _broker = broker(d, mqtt_port, true);
    let out = d.join("sub.txt");
    let _sub = subscriber(mqtt_port, &out, Some(&ca));
    let url = format!("mqtts://127.0.0.1:{mqtt_port}");
    // Anonymous: no username, no password.
    let anonymous = |extra: &str| format!("[mqtt]\nurl = \"{url}\"\n{extra}\n");
    let mqtt = anonymous(&format!("ca_file = {ca:?}"));
    let config = write_config(d, &format!("{mqtt}{}", dead_camera("gate")));
    let data = d.join("data");
    let first = lookout(&config, &data, http_port, &d.join("first.log"));
    wait_for(&out, 20, "discovery over TLS", |m| {
        m.iter()
            .any(|m| m.topic == "homeassistant/binary_sensor/lookout/gate_motion/config")
            && m.iter()
                .any(|m| m.topic == "lookout/status" && m.text() == "online")
    });
    stop(first);

    let mqtt = anonymous("");
    let config = write_config(d, &format!("{mqtt}{}", dead_camera("gate")));
    let second = lookout(&config, &data, http_port, &d.join("second.log"));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let log = std::fs::read_to_string(d.join("second.log")).unwrap_or_default();
        if log.contains("cannot connect to the MQTT broker") {
            assert!(!log.contains("connected to the MQTT broker"), "{log}");
            break;
        }
        assert!(Instant::now() < deadline, "no refused connection: {log}");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop(second);
}

/// Commands, when on: `snapshot/set` publishes a fresh picture, `alerts/set OFF` disarms the
/// camera's motion alerts (its events are still recorded and published) and says so on
/// `alerts`; `ON` arms them again.
#[test]
fn commands_take_a_snapshot_and_disarm_motion_alerts() {
    if !programs() || !require("mosquitto_pub", "mosquitto-clients") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let _broker = broker(d, mqtt_port, false);
    let out = d.join("sub.txt");
    let _sub = subscriber(mqtt_port, &out, None);
    let frames = blinking_frames(d);
    let mqtt = mqtt_section(
        &format!("mqtt://127.0.0.1:{mqtt_port}"),
        d,
        "commands = true",
    );
    // An alert rule for motion, so that disarming has something to hold back.
    std::fs::write(d.join("hook-secret"), "0123456789abcdef0123456789abcdef\n").unwrap();
    let rule = format!(
        "[[alert]]\nname = \"hook\"\nkinds = [\"motion\"]\n[alert.webhook]\nurl = \"http://127.0.0.1:{}/\"\nsecret_file = {:?}\n",
        free_port(),
        d.join("hook-secret")
    );
    let config = write_config(
        d,
        &format!("{mqtt}{rule}{}", blinking_camera("yard", &frames)),
    );
    let log_path = d.join("lookout.log");
    let server = lookout(&config, &d.join("data"), http_port, &log_path);
    wait_for(&out, 20, "online", |m| {
        m.iter()
            .any(|m| m.topic == "lookout/camera/yard/alerts" && m.text() == "ON")
    });
    let publish = |topic: &str, payload: &str| {
        let status = Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &mqtt_port.to_string(),
                "-u",
                USER,
                "-P",
                PASSWORD,
            ])
            .args(["-q", "1", "-t", topic, "-m", payload])
            .status()
            .unwrap();
        assert!(status.success());
    };
    let pictures = |m: &[Msg]| {
        m.iter()
            .filter(|m| m.topic == "lookout/camera/yard/picture")
            .count()
    };
    let before = pictures(&received(&out));
    publish("lookout/camera/yard/snapshot/set", "PRESS");
    let got = wait_for(&out, 15, "a snapshot", |m| pictures(m) > before);
    let picture = got
        .iter()
        .rev()
        .find(|m| m.topic == "lookout/camera/yard/picture")
        .unwrap();
    assert_eq!(crate::support::jpeg_size(&picture.payload), (320, 240));

    publish("lookout/camera/yard/alerts/set", "off");
    wait_for(&out, 10, "disarmed", |m| {
        m.iter()
            .any(|m| m.topic == "lookout/camera/yard/alerts" && m.text() == "OFF")
    });
    // The next motion event is published, and its alert is held back.
    let deadline = Instant::now() + Duration::from_secs(20);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("motion alerts disarmed: event") {
            break log;
        }
        assert!(Instant::now() < deadline, "no disarmed event: {log}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let id: i64 = log
        .split("motion alerts disarmed: event ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    wait_for(&out, 20, "the disarmed event on MQTT", |m| {
        m.iter()
            .any(|m| m.topic == "lookout/events" && m.json()["id"] == id)
    });
    publish("lookout/camera/yard/alerts/set", "ON");
    wait_for(&out, 10, "armed again", |m| {
        let last = m
            .iter()
            .rev()
            .find(|m| m.topic == "lookout/camera/yard/alerts");
        last.is_some_and(|m| m.text() == "ON")
            && m.iter()
                .any(|m| m.topic == "lookout/camera/yard/alerts" && m.text() == "OFF")
    });
    stop(server);
}

fn motion_event_ids(port: u16) -> Vec<i64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let r = rt
        .block_on(lookout_bench::get(addr, "/api/events", &[]))
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "motion")
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

/// `kill -9` of Lookout while the broker has not acknowledged an event (the broker is
/// frozen with SIGSTOP, so the publish is on its way and unanswered): after the restart,
/// every motion event recorded before is published, none lost.
#[test]
fn kill_9_mid_publish_loses_no_event() {
    if !programs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let broker_process = broker(d, mqtt_port, false);
    let out = d.join("sub.txt");
    let _sub = subscriber(mqtt_port, &out, None);
    let frames = blinking_frames(d);
    let mqtt = mqtt_section(&format!("mqtt://127.0.0.1:{mqtt_port}"), d, "");
    let config = write_config(d, &format!("{mqtt}{}", blinking_camera("yard", &frames)));
    let data = d.join("data");
    let first = lookout(&config, &data, http_port, &d.join("first.log"));
    let starts = |m: &[Msg]| -> Vec<i64> {
        m.iter()
            .filter(|m| m.topic == "lookout/events" && m.json()["phase"] == "start")
            .map(|m| m.json()["id"].as_i64().unwrap())
            .collect()
    };
    wait_for(&out, 20, "a first motion event", |m| !starts(m).is_empty());
    let broker_pid = broker_process.0.id() as i32;
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(broker_pid, libc::SIGSTOP);
    }
    let published_before = starts(&received(&out)).len();
    // Motion starts every 4 s: at least one more event is recorded and its publish waits.
    let deadline = Instant::now() + Duration::from_secs(20);
    let recorded = loop {
        let ids = motion_event_ids(http_port);
        if ids.len() > published_before {
            break ids;
        }
        assert!(
            Instant::now() < deadline,
            "no motion event while the broker is frozen"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_secs(1));
    kill_9(first);
    // SAFETY: as above.
    unsafe {
        libc::kill(broker_pid, libc::SIGCONT);
    }
    let second = lookout(&config, &data, http_port, &d.join("second.log"));
    let ends = |m: &[Msg]| -> Vec<i64> {
        m.iter()
            .filter(|m| m.topic == "lookout/events" && m.json()["phase"] == "end")
            .map(|m| m.json()["id"].as_i64().unwrap())
            .collect()
    };
    // Each started and ended, also the one the kill left open (Home Assistant's motion
    // sensor would stay ON otherwise).
    let got = wait_for(&out, 30, "every event recorded before the kill", |m| {
        let (published, ended) = (starts(m), ends(m));
        recorded
            .iter()
            .all(|id| published.contains(id) && ended.contains(id))
    });
    // In order of the events, each at least once.
    let published = starts(&got);
    let firsts: Vec<i64> = published
        .iter()
        .enumerate()
        .filter(|(i, id)| !published[..*i].contains(id))
        .map(|(_, id)| *id)
        .collect();
    let mut sorted = firsts.clone();
    sorted.sort_unstable();
    assert_eq!(firsts, sorted, "in the order they were recorded");
    stop(second);
}

/// A wrong password: the broker refuses, Lookout says so and keeps trying; nothing is
/// published under its name.
#[test]
fn a_wrong_password_is_refused_and_said() {
    if !programs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let _broker = broker(d, mqtt_port, false);
    let out = d.join("sub.txt");
    let _sub = subscriber(mqtt_port, &out, None);
    std::fs::write(d.join("wrong"), "not the password\n").unwrap();
    let mqtt = format!(
        "[mqtt]\nurl = \"mqtt://127.0.0.1:{mqtt_port}\"\nusername = \"{USER}\"\npassword_file = {:?}\n",
        d.join("wrong")
    );
    let config = write_config(d, &format!("{mqtt}{}", dead_camera("gate")));
    let log_path = d.join("lookout.log");
    let server = lookout(&config, &d.join("data"), http_port, &log_path);
    let deadline = Instant::now() + Duration::from_secs(15);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("cannot connect to the MQTT broker") {
            break log;
        }
        assert!(Instant::now() < deadline, "no refusal: {log}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        log.contains("NotAuthorized") || log.contains("BadUserNamePassword"),
        "{log}"
    );
    assert!(
        !log.contains("not the password"),
        "the password is not logged: {log}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(received(&out).is_empty(), "{:?}", received(&out));
    stop(server);
}
