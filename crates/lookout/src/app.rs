//! Wiring: a hub and a supervised source per camera, the router, the server.
//! [`run`] is what `lookout serve` calls and what tests call on a port-0 listener.

use crate::acme::{self, AcmeManager, Challenges};
use crate::alerts::{self, Arming};
use crate::auth::AuthState;
use crate::auth::devices::DeviceKey;
use crate::auth::limiter::LoginLimiter;
use crate::auth::password::Passwords;
use crate::camera_entry::CameraEntry;
use crate::config::{AuthMode, Config, SourceConfig};
use crate::controls::CameraControls;
use crate::events::zones::MotionZones;
use crate::events::{EventLog, camera_watch, motion_watch, public_address, retention};
use crate::listen::Bound;
use crate::mqtt;
use crate::recording::writer::{self, WriterConfig, WriterHandle};
use crate::recording::{self, RecordMode};
use crate::ros::RosNodes;
use crate::ros::topics::TopicCameras;
use crate::server::{self, Limits};
use crate::tls::{self, CertStore};
use crate::web::ProxyTrust;
use crate::web::{self, AppState, ConnectionStats};
use lookout_core::error::io_kind;
use lookout_core::{CameraHub, Error, VariantBudget};
use lookout_sources::http::HttpSource;
use lookout_sources::ros::RosTopicSource;
use lookout_sources::rtsp::RtspSource;
use lookout_sources::v4l2::V4l2Config;
use lookout_sources::{Source, supervise};
use lookout_store::lock::DataDirLock;
use lookout_store::{Store, files, sessions};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a camera's H.264 → JPEG decoder goes on after the last JPEG consumer left: a
/// page reload or a poller's next snapshot then finds it running.
const JPEG_DECODE_LINGER: Duration = Duration::from_secs(5);
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

type Controls = Option<Arc<CameraControls>>;

/// A camera's source, and its controls when it has some.
fn source_of(cfg: &SourceConfig, ros: &RosNodes) -> Result<(Arc<dyn Source>, Controls), Error> {
    Ok(match cfg {
        SourceConfig::TestPattern(s) => (Arc::new(s.clone()), None),
        SourceConfig::Files(s) => (Arc::new(s.clone()), None),
        SourceConfig::Command(s) => (Arc::new(s.clone()), None),
        SourceConfig::Http(s) => (Arc::new(HttpSource::clone(s)), None),
        SourceConfig::Rtsp(s) => (Arc::new(RtspSource::clone(s)), None),
        SourceConfig::V4l2(v) => v4l2_source(v)?,
        SourceConfig::Ros(r) => {
            let node = ros.get(r.transport)?;
            let source = RosTopicSource::new(node, r.topic.clone(), r.reliability);
            (Arc::new(source), None)
        }
    })
}

#[cfg(all(feature = "v4l2", target_os = "linux"))]
fn v4l2_source(v: &V4l2Config) -> Result<(Arc<dyn Source>, Controls), Error> {
    use lookout_sources::v4l2::V4l2Source;
    let source = Arc::new(V4l2Source::new(v.clone()));
    let controls = CameraControls::new(v.device.clone(), Some(source.clone()));
    Ok((source, Some(Arc::new(controls))))
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
fn v4l2_source(_: &V4l2Config) -> Result<(Arc<dyn Source>, Controls), Error> {
    Err(Error::unavailable(
        "this Lookout was built without V4L2 support (feature `v4l2`, Linux only)",
    ))
}

/// `auth.mode = "none"` is for a machine's own use: refused on any listener but loopback
/// addresses and unix sockets.
pub fn check_auth_mode(config: &Config, listeners: &[Bound]) -> Result<(), Error> {
    if config.auth.mode != AuthMode::None {
        return Ok(());
    }
    // A unix socket whose clients are trusted proxies is how nginx publishes Lookout.
    let proxied = config
        .server
        .trusted_proxies
        .contains(&crate::web::TrustedProxy::Unix);
    if let Some(l) = listeners
        .iter()
        .find(|l| !l.is_local() || (proxied && matches!(l, Bound::Unix { .. })))
    {
        return Err(Error::invalid(format!(
            "auth.mode = \"none\" is only allowed on this machine's own addresses, and {} is not (a unix socket counts as public while server.trusted_proxies has \"unix\": a proxy publishes it); remove it (logins are the default) or listen on 127.0.0.1",
            l.describe()
        )));
    }
    Ok(())
}

/// Opens the database and sets up logins, unless `auth.mode = "none"`.
pub fn open_auth(config: &Config, store: Option<&Store>) -> Result<Option<Arc<AuthState>>, Error> {
    let (AuthMode::Login, Some(store)) = (config.auth.mode, store) else {
        return Ok(None);
    };
    let store = store.clone();
    let passwords = Passwords::new(config.auth.cost)?;
    let devices = DeviceKey::load_or_create(&config.data_dir).map_err(|e| {
        Error::wrap(
            io_kind(&e),
            format!("{e}; the data directory must be writable by this user (see --data-dir)"),
            e,
        )
    })?;
    Ok(Some(Arc::new(AuthState::new(
        store,
        passwords,
        LoginLimiter::new(config.auth.limiter),
        config.auth.sessions,
        devices,
    ))))
}

/// The data directory as the server holds it: locked against a second server, and the
/// database opened and checked. Both stay until the server stops.
#[derive(Debug, Default)]
pub struct DataDir {
    pub store: Option<Store>,
    lock: Option<DataDirLock>,
}

/// The database holds accounts, events and the alert outbox: it is needed when logins, alerts
/// or events are (the loopback demo runs without one).
fn needs_store(config: &Config) -> bool {
    config.auth.mode == AuthMode::Login
        || !config.alerts.rules.is_empty()
        || config.public_address.is_some()
        // The MQTT outbox and the list of cameras announced to Home Assistant.
        || config.mqtt.is_some()
        || config.cameras.iter().any(|c| c.motion.is_some())
        || records(config)
}

/// Some camera records: the data directory holds the segments and their index.
fn records(config: &Config) -> bool {
    config
        .cameras
        .iter()
        .any(|c| c.recording.mode != RecordMode::Off)
}

/// Recovers the recordings after an unclean stop, then starts the writer thread.
async fn start_recording(
    config: &Config,
    log: &EventLog,
) -> Result<(Arc<WriterHandle>, std::thread::JoinHandle<()>), Error> {
    let dir = config.data_dir.clone();
    let store = log.store.clone();
    tokio::task::spawn_blocking(move || recording::recover::recover(&dir, &store))
        .await
        .map_err(|e| Error::internal(format!("recording recovery stopped: {e}")))??;
    let cameras = config
        .cameras
        .iter()
        .filter(|c| c.recording.mode != RecordMode::Off)
        .map(|c| (c.id.clone(), c.recording.clone()))
        .collect();
    writer::spawn(WriterConfig {
        data_dir: config.data_dir.clone(),
        store: log.store.clone(),
        settings: config.recording.clone(),
        cameras,
        events: log.clone(),
        runtime: tokio::runtime::Handle::current(),
    })
    .map_err(|e| {
        Error::wrap(
            io_kind(&e),
            format!("cannot start the recording writer: {e}"),
            e,
        )
    })
}

/// Creates (0700), locks and opens the data directory, and reads the whole database once,
/// so that a second server, a damaged database or a full disk stop the start before anything
/// is announced. Without a database or ACME the directory is not touched at all.
pub fn open_data_dir(config: &Config) -> Result<DataDir, lookout_core::Error> {
    let store_needed = needs_store(config);
    if !store_needed && config.acme.is_none() {
        return Ok(DataDir::default());
    }
    let dir = &config.data_dir;
    lookout_store::prepare_dir(dir)?;
    let lock = DataDirLock::acquire(dir)?;
    let store = if store_needed {
        let store = Store::open(dir)?;
        store.check()?;
        Some(store)
    } else {
        None
    };
    warn_if_readable(dir, "the data directory", "700");
    if let Some(s) = &store {
        warn_if_readable(s.path(), "the database", "600");
    }
    Ok(DataDir {
        store,
        lock: Some(lock),
    })
}

/// Files made by an older Lookout (or by hand) may be open to every user of the machine:
/// said at start, and left as they are (the owner may have a reason).
fn warn_if_readable(path: &std::path::Path, what: &str, mode: &str) {
    if let Some(m) = files::readable_by_others(path) {
        tracing::warn!(
            "{what} {} can be read by every user of this machine (mode {m:o}); `chmod {mode} {}` makes it private",
            path.display(),
            path.display()
        );
    }
}

/// Serves `config` on `listeners` until `shutdown` is cancelled, then ends every stream,
/// stops every source and returns. Errors (a data directory that cannot be used or is in use
/// by another server, `none` auth on a public address) come before anything is served.
pub async fn run(
    listeners: Vec<Bound>,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    check_auth_mode(&config, &listeners)?;
    let data = open_data_dir(&config)?;
    run_with(listeners, config, data, shutdown).await
}

/// [`run`] with the data directory opened already (`lookout serve` opens it before it binds
/// and announces its listeners).
pub async fn run_with(
    listeners: Vec<Bound>,
    config: Config,
    data: DataDir,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    check_auth_mode(&config, &listeners)?;
    // Held until this function returns: the server's whole life.
    let DataDir { store, lock: _lock } = data;
    let auth = open_auth(&config, store.as_ref())?;
    let background = TaskTracker::new();
    let events = store.as_ref().map(|store| EventLog {
        store: store.clone(),
        snapshots: config.data_dir.join("events"),
        data_dir: config.data_dir.clone(),
        alerts: config.alerts.clone(),
        outbox_wake: Arc::new(Notify::new()),
        mqtt_wake: config.mqtt.as_ref().map(|_| Arc::new(Notify::new())),
        arming: Arc::new(Arming::default()),
        clip_edges: tokio::sync::broadcast::Sender::new(64),
        clip_pre_roll: Arc::new(
            config
                .cameras
                .iter()
                .filter(|c| c.recording.mode != RecordMode::Off)
                .map(|c| (c.id.clone(), c.recording.pre_roll))
                .collect(),
        ),
    });
    // Before any camera starts: motion events older than this were left by an earlier run.
    let mqtt_since = events.as_ref().map(|log| log.store.now());
    if let Some(log) = &events {
        background.spawn(retention::run(
            log.store.clone(),
            log.snapshots.clone(),
            config.retention,
            shutdown.clone(),
        ));
        if let Some(p) = &config.public_address {
            match alerts::webhook::client() {
                Ok(client) => {
                    background.spawn(public_address::watch(
                        p.clone(),
                        log.clone(),
                        client,
                        shutdown.clone(),
                    ));
                }
                Err(e) => tracing::error!("the public address watcher cannot start: {e}"),
            }
        }
        background.spawn(alerts::outbox::run(
            log.store.clone(),
            log.alerts.clone(),
            log.snapshots.clone(),
            log.outbox_wake.clone(),
            shutdown.clone(),
        ));
    }
    let challenges = Arc::new(Challenges::default());
    let mut acme = None;
    let tls = match (&config.tls, &config.acme) {
        (Some(t), _) => {
            let certs = Arc::new(CertStore::new(Some(t.initial.clone())));
            background.spawn(tls::watch(
                t.files.clone(),
                certs.clone(),
                t.reload_every,
                shutdown.clone(),
            ));
            Some(tls::server_config(certs)?)
        }
        (None, Some(a)) => {
            let certs = Arc::new(CertStore::default());
            let storage = acme::Storage::open(&config.data_dir)?;
            let manager = Arc::new(AcmeManager::new(
                a.clone(),
                storage,
                certs.clone(),
                challenges.clone(),
            ));
            background.spawn(manager.clone().run(shutdown.clone()));
            acme = Some(manager);
            Some(tls::server_config(certs)?)
        }
        (None, None) => None,
    };
    if let Some(auth) = &auth {
        let forget = {
            let auth = auth.clone();
            move || auth.forget_basic_logins()
        };
        background.spawn(
            auth.live
                .clone()
                .watch(auth.store.clone(), forget, shutdown.clone()),
        );
        background.spawn(purge_sessions(auth.clone(), shutdown.clone()));
    }
    background.close();
    let sources = TaskTracker::new();
    let mut motion_zones = MotionZones::default();
    let ros = RosNodes::new(&config.ros);
    let s = &config.server;
    let variant_budget = Arc::new(VariantBudget::new(s.variant_memory_bytes));
    let mut recorder = match (&events, records(&config)) {
        (Some(log), true) => Some(start_recording(&config, log).await?),
        _ => None,
    };
    let cameras: Vec<CameraEntry> = config
        .cameras
        .iter()
        .map(|c| {
            let (source, controls) = source_of(&c.source, &ros)
                .map_err(|e| e.context(format_args!("camera {:?}", c.id)))?;
            let hub = CameraHub::with_budget(&c.id, c.quality, variant_budget.clone());
            hub.set_sends_h264_only(c.source.sends_h264_only());
            // An RTSP camera says what it sends when it first connects: until then,
            // stream.mp4 starts it and waits for H.264.
            hub.set_may_send_h264(matches!(c.source, SourceConfig::Rtsp(_)));
            // Cameras that send (or may send) H.264 only get JPEG from a decoder, while
            // somebody wants JPEG (always, for motion detection). A V4L2 camera that offers
            // only H.264 is captured as H.264 (the decoder idles while a camera sends JPEG).
            if let Some(decoder) = &s.h264_decoder
                && (c.source.sends_h264_only()
                    || matches!(c.source, SourceConfig::Rtsp(_) | SourceConfig::V4l2(_)))
            {
                hub.set_jpeg_decoder(Some(decoder.name()));
                sources.spawn(lookout_sources::decode::decode_while_wanted(
                    hub.clone(),
                    lookout_sources::decode::DecodeConfig {
                        decoder: decoder.clone(),
                        always: c.motion.is_some(),
                        linger: JPEG_DECODE_LINGER,
                    },
                    shutdown.clone(),
                ));
            }
            if let (Some(log), Some(m)) = (&events, &c.motion) {
                let zones = motion_zones.register(&log.store, &c.id, m.detector.zones.clone());
                background.spawn(motion_watch::watch(
                    hub.clone(),
                    c.id.clone(),
                    m.clone(),
                    zones,
                    log.clone(),
                    shutdown.clone(),
                ));
            }
            if let (Some(log), Some((writer, _)), true) =
                (&events, &recorder, c.recording.mode != RecordMode::Off)
            {
                background.spawn(recording::camera::record(
                    hub.clone(),
                    c.id.clone(),
                    c.recording.clone(),
                    config.recording.segment,
                    recording::camera::Sinks {
                        writer: writer.clone(),
                        store: log.store.clone(),
                    },
                    log.clip_edges.subscribe(),
                    shutdown.clone(),
                ));
            }
            if let Some(log) = &events {
                background.spawn(camera_watch::watch(
                    hub.clone(),
                    c.id.clone(),
                    log.clone(),
                    shutdown.clone(),
                ));
            }
            #[cfg(feature = "openh264")]
            if let Some(enc) = c.h264_encode
                && !c.source.sends_h264_only()
            {
                let fps = source
                    .frame_interval()
                    .map(|i| (1.0 / i.as_secs_f32()).clamp(1.0, 240.0))
                    .unwrap_or(enc.fps);
                sources.spawn(lookout_sources::encode::encode_while_wanted(
                    hub.clone(),
                    lookout_sources::encode::EncodeConfig { fps, ..enc },
                    shutdown.clone(),
                ));
            }
            sources.spawn(supervise(
                hub.clone(),
                source,
                c.supervisor.clone(),
                shutdown.clone(),
            ));
            let native = c.source.sends_h264_only() || matches!(c.source, SourceConfig::Rtsp(_));
            let encoder = cfg!(feature = "openh264") && c.h264_encode.is_some();
            Ok(CameraEntry {
                recording: crate::camera_entry::RecordingState {
                    mode: c.recording.mode.as_str(),
                    why_not: (!native && !encoder).then_some(if cfg!(feature = "openh264") {
                        "the camera sends JPEG and its [camera.h264] mode is \"off\": recordings are H.264"
                    } else {
                        "the camera sends JPEG and this Lookout was built without an H.264 encoder (feature openh264): recordings are H.264"
                    }),
                },
                id: c.id.clone(),
                name: c.name.clone(),
                kind: c.source.kind(),
                hub,
                controls,
            })
        })
        .collect::<Result<_, Error>>()?;
    if let (Some(settings), Some(log)) = (&config.mqtt, &events)
        && let Some(wake) = &log.mqtt_wake
    {
        let shown = cameras
            .iter()
            .map(|c| mqtt::MqttCamera {
                id: c.id.clone(),
                name: c.name.clone(),
                hub: c.hub.clone(),
            })
            .collect();
        let source = mqtt::EventSource {
            store: log.store.clone(),
            started_at: mqtt_since.unwrap_or(0),
            snapshots: log.snapshots.clone(),
            wake: wake.clone(),
        };
        mqtt::start(
            settings.clone(),
            shown,
            source,
            log.arming.clone(),
            &background,
            shutdown.clone(),
        );
    }
    let topics = config.ros.topics.as_ref().and_then(|t| {
        let node = ros.get(t.transport).ok()?;
        Some(Arc::new(TopicCameras::new(
            node,
            t.clone(),
            // As cameras default to; viewers may ask for another with `quality=`.
            80,
            shutdown.clone(),
            sources.clone(),
            variant_budget.clone(),
        )))
    });
    sources.close();
    // WebRTC's UDP port on the HTTP listeners' addresses: a loopback-only Lookout opens no
    // UDP port to the network either.
    let listen_ips: Vec<std::net::IpAddr> = listeners
        .iter()
        .filter_map(|l| match l {
            Bound::Tcp { listener, .. } => listener.local_addr().ok().map(|a| a.ip()),
            _ => None,
        })
        .collect();
    let webrtc = crate::webrtc::start(&config.webrtc, &listen_ips, shutdown.clone()).await;
    let connections = Arc::new(ConnectionStats::default());
    let state = Arc::new(AppState {
        cameras,
        auth,
        snapshot_timeout: s.snapshot_timeout,
        request_timeout: s.request_timeout,
        connections: connections.clone(),
        shutdown: shutdown.clone(),
        started: Instant::now(),
        acme_webroot: config.acme_webroot.clone(),
        challenges,
        acme,
        base: s.base_path.clone(),
        events,
        motion_zones: Arc::new(motion_zones),
        topics,
        webrtc,
        hls: crate::hls::LiveHls::new(shutdown.clone()),
        recording: recorder.as_ref().map(|(w, _)| w.stats().clone()),
        mjpeg_writers: Arc::default(),
        proxy_trust: Arc::new(ProxyTrust {
            trusted: s.trusted_proxies.clone(),
        }),
    });
    let limits = Limits {
        max_connections: s.max_connections,
        max_connections_per_address: s.max_connections_per_address,
        trusted_proxies: state.proxy_trust.clone(),
        write_timeout: s.write_timeout,
        header_read_timeout: s.header_read_timeout,
        max_header_bytes: s.max_header_bytes,
        max_headers: s.max_headers,
    };
    let https = server::HttpsPolicy {
        redirect_http: config.redirect_http,
        hsts_max_age_s: s.hsts_max_age_s,
        https_port: listeners.iter().find_map(|l| match l {
            Bound::Tcp {
                listener,
                tls: true,
            } => listener.local_addr().ok().map(|a| a.port()),
            _ => None,
        }),
    };
    let hls = state.hls.clone();
    server::serve(
        listeners,
        web::router(state),
        tls,
        https,
        limits,
        connections,
        shutdown,
    )
    .await;
    // Live HLS sessions end on the shutdown token and drop their demand on the cameras.
    let _ = tokio::time::timeout(Duration::from_secs(2), hls.wait()).await;
    if tokio::time::timeout(Duration::from_secs(5), sources.wait())
        .await
        .is_err()
    {
        tracing::warn!("some sources did not stop within 5 s");
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), background.wait()).await;
    if let Some((writer, thread)) = recorder.take() {
        // The recorders have sent their last segments: the thread writes what is queued and
        // ends when the last handle is gone.
        drop(writer);
        let joined = tokio::task::spawn_blocking(move || thread.join());
        if tokio::time::timeout(Duration::from_secs(10), joined)
            .await
            .is_err()
        {
            tracing::warn!("the recording writer did not finish within 10 s");
        }
    }
    Ok(())
}

/// Deletes expired sessions once an hour.
async fn purge_sessions(auth: Arc<AuthState>, shutdown: CancellationToken) {
    loop {
        let purged = auth.store.run(|db| sessions::purge_expired(db)).await;
        if let Err(e) = purged {
            tracing::warn!("cannot purge expired sessions: {e}");
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
