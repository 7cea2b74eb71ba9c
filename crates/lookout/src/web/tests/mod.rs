//! In-process tests of the web layer: the router answers requests through `oneshot` (axum's
//! testing recipe), with no socket, no server and no child process. The site has a temporary
//! in-memory store and cameras whose hubs no source feeds. Streaming, TLS, connection limits
//! and shutdown need a socket and stay in `tests/it`.

mod access;
mod errors;
mod escaping;

use super::{AppState, ConnInfo, ConnectionStats, ProxyTrust, router};
use crate::auth::devices::DeviceKey;
use crate::auth::limiter::{LimiterPolicy, LoginLimiter};
use crate::auth::password::{HashCost, Passwords};
use crate::auth::sessions::{self, SessionPolicy};
use crate::auth::{AuthState, Role};
use crate::camera_entry::CameraEntry;
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use lookout_core::CameraHub;
use lookout_store::{Store, users};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// Argon2 at its cheapest: these tests check answers, not hashing cost.
const CHEAP: HashCost = HashCost {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// A site answering in-process.
pub struct Site {
    pub state: Arc<AppState>,
    router: Router,
}

/// One answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.body))
    }
}

/// Builds a site with these cameras (id, name); with `auth`, logins are on (as
/// `auth.mode = "login"`) over an in-memory store.
pub fn site(cameras: &[(&str, &str)], auth: bool) -> Site {
    site_under("", cameras, auth)
}

/// [`site`] under a base path (`server.base_path`).
pub fn site_under(base: &str, cameras: &[(&str, &str)], auth: bool) -> Site {
    let cameras = cameras
        .iter()
        .map(|(id, name)| CameraEntry {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
            kind: "testpattern",
            hub: CameraHub::new(id, 80),
            controls: None,
            recording: crate::camera_entry::RecordingState {
                mode: "off",
                why_not: None,
            },
        })
        .collect();
    let store = Store::open_in_memory().expect("an in-memory database opens");
    // Events are read from the store; pictures would go here, but these tests record none.
    let events = crate::events::EventLog {
        store: store.clone(),
        snapshots: std::env::temp_dir().join("lookout-web-tests-no-pictures"),
        data_dir: std::env::temp_dir().join("lookout-web-tests-no-recordings"),
        alerts: Arc::default(),
        outbox_wake: Arc::default(),
        mqtt_wake: None,
        arming: Arc::default(),
        clip_edges: tokio::sync::broadcast::Sender::new(16),
        clip_pre_roll: Arc::default(),
    };
    let auth = auth.then(|| {
        Arc::new(AuthState::new(
            store,
            Passwords::new(CHEAP).expect("the cheap cost is valid"),
            LoginLimiter::new(LimiterPolicy {
                free_failures: 1000,
                max_lock: Duration::from_secs(60),
            }),
            SessionPolicy {
                idle: Duration::from_secs(3600),
                max_age: Duration::from_secs(86_400),
                remember: Duration::from_secs(86_400 * 30),
            },
            DeviceKey::ephemeral(),
        ))
    });
    let state = Arc::new(AppState {
        cameras,
        auth,
        snapshot_timeout: Duration::from_millis(200),
        request_timeout: Duration::from_secs(10),
        connections: Arc::new(ConnectionStats::default()),
        shutdown: tokio_util::sync::CancellationToken::new(),
        started: Instant::now(),
        proxy_trust: Arc::new(ProxyTrust::default()),
        acme_webroot: None,
        challenges: Arc::default(),
        acme: None,
        base: base.to_owned(),
        events: Some(events),
        motion_zones: Arc::default(),
        topics: None,
        webrtc: crate::webrtc::WebRtcState::Off {
            reason: "not in these tests".into(),
        },
        hls: crate::hls::LiveHls::new(tokio_util::sync::CancellationToken::new()),
        recording: None,
        mjpeg_writers: Arc::default(),
    });
    Site {
        router: router(state.clone()),
        state,
    }
}

impl Site {
    /// `method path` with these headers, as from a loopback client over plain HTTP.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "cam.test");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Body::empty()).expect("a valid request");
        req.extensions_mut().insert(ConnInfo {
            peer: Some(([127, 0, 0, 1], 40000).into()),
            tls: false,
            redirect_to_https: None,
        });
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|never| match never {});
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .expect("a body under 1 MiB");
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.request("GET", path, headers).await
    }

    /// Adds a user straight to the store and returns a `Cookie` header of a session of
    /// theirs: what `POST /login` would have given (that path has its own tests).
    pub fn session_of(&self, name: &str, role: Role, cameras: Option<&[String]>) -> String {
        let auth = self.state.auth.as_ref().expect("a site with logins");
        let hash = auth.passwords.hash("correct horse").expect("hashing works");
        let policy = auth.sessions;
        let token = auth
            .store
            .blocking(|db| {
                let user = users::add(db, name, &hash, role, cameras)?;
                sessions::create(db, &user, false, "127.0.0.1", "test", &policy)
            })
            .expect("a user and session are stored")
            .token;
        format!("lookout_session={token}")
    }
}
