//! Runs a camera's source for as long as Lookout runs: starts it when there is demand, stops it
//! when nobody has watched for a while, restarts it with backoff when it fails, and publishes a
//! "no signal" frame every second to anybody watching while no live frame arrives.

use crate::{Backoff, FrameSink, Source, no_signal};
use bytes::Bytes;
use lookout_core::{CameraHub, FrameKind, FrameParts, SourceState};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// Capture even when nobody watches.
    pub keep_warm: bool,
    /// How long to keep capturing after the last viewer left.
    pub idle_linger: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A source running this long without failing is healthy again: backoff starts over.
    pub healthy_after: Duration,
    /// Without a live frame for this long, viewers get "no signal" frames.
    pub no_signal_after: Duration,
    /// While the source runs (online) but is quiet, its last live frame is repeated once a
    /// second, marked stale, until it is this old (past `no_signal_after`); "no signal"
    /// frames only after that. Zero: "no signal" at once, for sources whose silence means
    /// trouble. A quiet ROS topic is not a broken camera (web_video_server's `publish_rate`).
    pub keep_last_frame: Duration,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            keep_warm: false,
            idle_linger: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            healthy_after: Duration::from_secs(30),
            no_signal_after: Duration::from_secs(2),
            keep_last_frame: Duration::ZERO,
        }
    }
}

/// Supervises `source` until `cancel` fires.
pub async fn supervise(
    hub: Arc<CameraHub>,
    source: Arc<dyn Source>,
    cfg: SupervisorConfig,
    cancel: CancellationToken,
) {
    let sink = FrameSink::new(hub.clone());
    let mut backoff = Backoff::new(cfg.backoff_initial, cfg.backoff_max);
    let camera = hub.id().to_owned();
    let kind = source.kind();
    // "No signal" only after missing a couple of the source's own frames.
    let stale_after = source.frame_interval().map_or(cfg.no_signal_after, |i| {
        cfg.no_signal_after.max(i.mul_f64(2.5))
    });
    loop {
        if !cfg.keep_warm && hub.demand_count() == 0 {
            hub.set_state(SourceState::Idle, None);
            tokio::select! {
                () = hub.wait_for_demand() => {}
                () = cancel.cancelled() => return,
            }
        }
        // A retry after a failure stays "offline" (and keeps its `since`) until frames flow.
        if hub.status().state != SourceState::Offline {
            hub.set_state(SourceState::Starting, None);
        }
        tracing::info!(camera, kind, "starting source");
        let started = Instant::now();
        let outcome = tokio::select! {
            r = source.run(&sink) => Some(r),
            () = idle(&hub, &cfg) => None,
            () = no_signal_while_stale(&hub, stale_after, cfg.keep_last_frame) => None,
            () = cancel.cancelled() => return,
        };
        // Whatever comes next (a restarted program, a reconnected camera) continues no GOP.
        hub.video().mark_broken();
        let error = match outcome {
            None => {
                tracing::info!(camera, "nobody watching: source stopped");
                backoff.reset();
                continue;
            }
            Some(Ok(())) => "source ended".to_owned(),
            Some(Err(e)) => e.to_string(),
        };
        if started.elapsed() >= cfg.healthy_after {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        tracing::warn!(camera, kind, retry_in = ?delay, "source failed: {error}");
        hub.set_state(SourceState::Offline, Some(error));
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = no_signal_while_stale(&hub, stale_after, Duration::ZERO) => {}
            () = cancel.cancelled() => return,
        }
    }
}

/// Completes when nobody has wanted frames for the linger; never when keep-warm.
async fn idle(hub: &CameraHub, cfg: &SupervisorConfig) {
    if cfg.keep_warm {
        std::future::pending::<()>().await;
    }
    hub.wait_idle_for(cfg.idle_linger).await;
}

/// Never completes: once a second, if somebody watches and no live frame came for `after`,
/// publishes the last live frame again, marked stale, while the source is online and that
/// frame is younger than `after + keep_last`; otherwise a "no signal" card.
async fn no_signal_while_stale(hub: &CameraHub, after: Duration, keep_last: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if hub.demand_count() == 0 {
            continue;
        }
        let status = hub.status();
        let state_age = status.since.elapsed().unwrap_or_default();
        let live_age = hub.live_age();
        let stale = state_age >= after && live_age.is_none_or(|age| age >= after);
        if !stale {
            continue;
        }
        if let Some(live) = hub.latest_live()
            && status.state == SourceState::Online
            && live.published.elapsed() < after + keep_last
        {
            hub.publish(FrameParts {
                jpeg: live.jpeg.clone(),
                width: live.width,
                height: live.height,
                captured_at: live.captured_at,
                raw: live.raw.clone(),
                kind: FrameKind::Stale,
            });
            continue;
        }
        let camera = hub.id().to_owned();
        let card = tokio::task::spawn_blocking(move || no_signal::render(&camera, &status)).await;
        if let Ok(Some(jpeg)) = card {
            let (width, height) = no_signal::SIZE;
            hub.publish(FrameParts {
                jpeg: Bytes::from(jpeg),
                width,
                height,
                captured_at: SystemTime::now(),
                raw: None,
                kind: FrameKind::NoSignal,
            });
        }
    }
}
