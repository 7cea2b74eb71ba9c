//! Live HLS sessions, one per camera at most: started by a playlist request, stopped after
//! [`IDLE_STOP`] without any request (playlist, segment or init), so a camera nobody watches
//! by HLS captures nothing for it. The HTTP side is `web::hls`; recordings are served as HLS
//! from their files on disk (`web::hls_recorded`), without a session.

pub mod live;

use live::{Cutter, Window};
use lookout_core::CameraHub;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A session with no request for this long stops (a player polls its playlist every target
/// duration, 2 s: fifteen missed polls).
pub const IDLE_STOP: Duration = Duration::from_secs(30);

/// One camera's running session.
#[derive(Debug)]
pub struct LiveSession {
    pub camera: String,
    /// 16 random hex digits in this session's segment URLs: a segment URL is never reused for
    /// other bytes, across sessions and restarts of Lookout, so caches may keep it for good.
    pub tag: String,
    window: watch::Sender<Window>,
    last_used: Mutex<Instant>,
}

impl LiveSession {
    pub fn window(&self) -> watch::Receiver<Window> {
        self.window.subscribe()
    }

    fn touch(&self) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
    }

    fn idle_for(&self) -> Duration {
        self.last_used
            .lock()
            .map_or(Duration::ZERO, |t| t.elapsed())
    }
}

/// The running sessions. See the module docs.
#[derive(Debug)]
pub struct LiveHls {
    sessions: Mutex<HashMap<String, Arc<LiveSession>>>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    /// Segments and inits served, live and recorded (`/metrics`).
    pub segments_served: AtomicU64,
}

impl LiveHls {
    pub fn new(shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            sessions: Mutex::default(),
            tasks: TaskTracker::new(),
            shutdown,
            segments_served: AtomicU64::new(0),
        })
    }

    /// `hub`'s session, started if there is none; the request counts as use.
    pub fn session(self: &Arc<Self>, hub: &Arc<CameraHub>) -> Arc<LiveSession> {
        let Ok(mut sessions) = self.sessions.lock() else {
            // A panic while the map was held: serve a session that is not kept.
            return self.start(hub);
        };
        if let Some(s) = sessions.get(hub.id()) {
            s.touch();
            return s.clone();
        }
        let s = self.start(hub);
        sessions.insert(hub.id().to_owned(), s.clone());
        s
    }

    /// The running session of `camera`, if any (segment requests do not start one); the
    /// request counts as use.
    pub fn running(&self, camera: &str) -> Option<Arc<LiveSession>> {
        let sessions = self.sessions.lock().ok()?;
        let s = sessions.get(camera)?;
        s.touch();
        Some(s.clone())
    }

    /// How many sessions run (`/metrics`).
    pub fn count(&self) -> usize {
        self.sessions.lock().map_or(0, |s| s.len())
    }

    pub fn count_served(&self) {
        self.segments_served.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits for the sessions' tasks after shutdown.
    pub async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    fn start(self: &Arc<Self>, hub: &Arc<CameraHub>) -> Arc<LiveSession> {
        let mut tag = [0u8; 8];
        // getrandom fails only without any OS randomness source; the time then still makes
        // the tag differ between runs.
        if getrandom::fill(&mut tag).is_err() {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            tag = nanos.to_be_bytes();
        }
        let session = Arc::new(LiveSession {
            camera: hub.id().to_owned(),
            tag: tag.iter().map(|b| format!("{b:02x}")).collect(),
            window: watch::Sender::new(Window::default()),
            last_used: Mutex::new(Instant::now()),
        });
        self.tasks
            .spawn(run(self.clone(), hub.clone(), session.clone()));
        session
    }

    /// Removes `session` if nobody used it for [`IDLE_STOP`]: under the map's lock, so a
    /// request either finds it still running or starts a new one.
    fn stop_if_idle(&self, session: &Arc<LiveSession>) -> bool {
        let Ok(mut sessions) = self.sessions.lock() else {
            return true;
        };
        if session.idle_for() < IDLE_STOP {
            return false;
        }
        if sessions
            .get(&session.camera)
            .is_some_and(|s| Arc::ptr_eq(s, session))
        {
            sessions.remove(&session.camera);
        }
        true
    }

    fn forget(&self, session: &Arc<LiveSession>) {
        if let Ok(mut sessions) = self.sessions.lock()
            && sessions
                .get(&session.camera)
                .is_some_and(|s| Arc::ptr_eq(s, session))
        {
            sessions.remove(&session.camera);
        }
    }
}

/// A session's task: the camera's frames into segments until it is idle or Lookout stops.
async fn run(hls: Arc<LiveHls>, hub: Arc<CameraHub>, session: Arc<LiveSession>) {
    let camera = session.camera.clone();
    // The source runs and (for a JPEG camera with an encoder) H.264 is made while this lives.
    let _demand = hub.demand();
    let _h264 = hub.demand_h264();
    // Media sequence numbers start at the Unix time in seconds: segments last about 2 s, so
    // a later session (or a restarted Lookout) starts above where the last one got to, and a
    // player polling across a restart sees them go on rising.
    let first_seq = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut cutter = Cutter::new(first_seq);
    let (gop, mut rx) = hub.video().join();
    let mut changed = false;
    for f in &gop {
        changed |= cutter.push(f);
    }
    if changed {
        session.window.send_replace(cutter.window().clone());
    }
    tracing::debug!(camera, "live HLS started");
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let changed = tokio::select! {
            f = rx.recv() => match f {
                Ok(f) => cutter.push(&f),
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(camera, "live HLS fell {n} frames behind");
                    cutter.lost_frames()
                }
                Err(RecvError::Closed) => break,
            },
            _ = tick.tick() => {
                if hls.stop_if_idle(&session) {
                    break;
                }
                false
            }
            () = hls.shutdown.cancelled() => break,
        };
        if changed {
            session.window.send_replace(cutter.window().clone());
        }
    }
    hls.forget(&session);
    tracing::debug!(camera, "live HLS stopped");
}
