//! Motion detection on a camera: frames from the hub (at most `analyse_fps`) go through the
//! detector on a blocking thread; an event is recorded when motion starts (so alerts leave
//! at once, with that moment's picture) and completed when it ends, with its peak score and
//! the picture of the peak.

use super::{EventKind, EventLog, NewEvent};
use bytes::Bytes;
use lookout_core::CameraHub;
use lookout_core::motion::{EventEdge, MaskZone, MotionConfig, MotionDetector};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// `[camera.motion]` as `config/` resolves it.
#[derive(Debug, Clone)]
pub struct MotionSettings {
    pub detector: MotionConfig,
    /// Frames closer together than this are not analysed.
    pub min_interval: Duration,
}

pub async fn watch(
    hub: Arc<CameraHub>,
    camera: String,
    settings: MotionSettings,
    mut zones: watch::Receiver<Vec<MaskZone>>,
    log: EventLog,
    shutdown: CancellationToken,
) {
    let make = |zones: Vec<MaskZone>| {
        MotionDetector::new(MotionConfig {
            zones,
            ..settings.detector.clone()
        })
    };
    let detector = match make(zones.borrow_and_update().clone()) {
        Ok(d) => Arc::new(Mutex::new(d)),
        Err(e) => {
            tracing::error!(camera, "motion detection is off: {e}");
            return;
        }
    };
    let mut frames = hub.subscribe();
    let mut last_analysed: Option<std::time::Instant> = None;
    // The open event: its id and the best picture so far.
    let mut open: Option<(i64, Option<Bytes>)> = None;
    // One ticker for the whole loop: frames arriving all the time (skipped or undecodable)
    // must not keep putting off the check that ends events by cooldown.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let edge = tokio::select! {
            changed = frames.changed() => {
                if changed.is_err() {
                    return;
                }
                let Some(frame) = frames.borrow_and_update().clone() else { continue };
                if last_analysed.is_some_and(|t| frame.published.duration_since(t) < settings.min_interval) {
                    continue;
                }
                last_analysed = Some(frame.published);
                let det = detector.clone();
                let f = frame.clone();
                let update = tokio::task::spawn_blocking(move || {
                    det.lock().unwrap_or_else(|e| e.into_inner()).feed_frame(&f, f.published)
                })
                .await;
                // No-signal cards and damaged frames are not pictures to judge.
                let Ok(Ok(update)) = update else { continue };
                if update.peak
                    && let Some((_, best)) = &mut open
                {
                    *best = Some(frame.jpeg.clone());
                }
                match update.event {
                    Some(EventEdge::Start { .. }) => {
                        let event = NewEvent {
                            camera: Some(camera.clone()),
                            kind: EventKind::Motion,
                            details: serde_json::json!({ "score": update.score }),
                            snapshot: Some(frame.jpeg.clone()),
                        };
                        match log.record(event).await {
                            Ok(id) => {
                                open = Some((id, None));
                                // No recorder listening is fine.
                                let _ = log.clip_edges.send(super::ClipEdge::Start {
                                    camera: camera.clone(),
                                    event: id,
                                });
                            }
                            Err(e) => tracing::warn!(camera, "cannot record a motion event: {e}"),
                        }
                        None
                    }
                    other => other,
                }
            }
            changed = zones.changed() => {
                if changed.is_err() {
                    return;
                }
                // New zones from the camera page: the event going on ends, learning restarts.
                let new = zones.borrow_and_update().clone();
                match make(new) {
                    Ok(d) => {
                        let mut current = detector.lock().unwrap_or_else(|e| e.into_inner());
                        let edge = current.finish();
                        *current = d;
                        tracing::info!(camera, "motion zones changed");
                        edge
                    }
                    Err(e) => {
                        tracing::warn!(camera, "motion zones not applied: {e}");
                        None
                    }
                }
            }
            _ = tick.tick() => {
                // Frames may have stopped (camera offline): the cooldown still ends events.
                detector.lock().unwrap_or_else(|e| e.into_inner()).poll(Instant::now().into_std())
            }
            () = shutdown.cancelled() => detector.lock().unwrap_or_else(|e| e.into_inner()).finish(),
        };
        if let Some(EventEdge::End {
            peak_score,
            last_motion_at,
            ..
        }) = edge
            && let Some((id, best)) = open.take()
        {
            let ended = SystemTime::now() - last_motion_at.elapsed();
            let _ = log.clip_edges.send(super::ClipEdge::End {
                camera: camera.clone(),
                event: id,
                at: ended,
            });
            if let Err(e) = finish(&log, id, ended, peak_score, best).await {
                tracing::warn!(camera, "cannot complete motion event {id}: {e}");
            }
        }
        if shutdown.is_cancelled() {
            return;
        }
    }
}

/// Completes a motion event: when it ended, its peak, and the peak's picture.
async fn finish(
    log: &EventLog,
    id: i64,
    ended: SystemTime,
    peak_score: f32,
    best: Option<Bytes>,
) -> Result<(), lookout_core::Error> {
    if let Some(jpeg) = best {
        let pictures = log.snapshots.clone();
        let written = tokio::task::spawn_blocking(move || {
            lookout_store::events::replace_picture(&pictures, id, &jpeg)
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        if let Err(e) = written {
            tracing::warn!("cannot keep the peak picture of event {id}: {e}");
        }
    }
    let ended = ended
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    log.store
        .run(move |db| lookout_store::events::finish(db, id, ended, peak_score))
        .await?;
    log.queue_end(id).await
}
