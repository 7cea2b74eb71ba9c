//! The outbox worker: delivers queued alerts (`lookout_store::outbox`), oldest first,
//! retrying failures with exponential backoff (`[alerts] retry_initial_seconds` doubling to
//! `retry_max_seconds`) and giving up after `give_up_after_hours`. Woken at once when an event
//! is recorded.

use super::email::{self, Mail, SmtpConfig};
use super::webhook::{self, HttpsClient};
use super::{AlertConfig, Channel};
use lookout_core::{Error, ErrorKind};
use lookout_store::Store;
use lookout_store::outbox::{self, DueEvent};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const IDLE_LOOK: Duration = Duration::from_secs(30);

/// A queued delivery with its event as alerts describe it.
#[derive(Debug)]
struct Due {
    id: i64,
    rule: String,
    attempts: i64,
    event: serde_json::Value,
    queued_at: i64,
}

impl From<outbox::Due> for Due {
    fn from(d: outbox::Due) -> Self {
        let DueEvent {
            id,
            camera,
            kind,
            started_at,
            details,
            has_picture,
            has_clip,
            ..
        } = d.event;
        Due {
            id: d.id,
            rule: d.rule,
            attempts: d.attempts,
            queued_at: started_at,
            event: serde_json::json!({
                "id": id,
                "camera": camera,
                "kind": kind,
                "started_at": started_at,
                "details": details,
                "has_picture": has_picture,
                // Relative to Lookout's address and base path; complete once the event and
                // its post-roll are over.
                "clip_path": has_clip.then(|| format!("/api/events/{id}/clip.mp4")),
            }),
        }
    }
}

pub async fn run(
    store: Store,
    config: Arc<AlertConfig>,
    snapshots: PathBuf,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let client = match webhook::client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("alerts cannot be delivered: {}", e.chain());
            return;
        }
    };
    loop {
        let next = match deliver_due(&store, &config, &client, &snapshots).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!("alert outbox: {}", e.chain());
                Some(store.now() + 5)
            }
        };
        // At most half a minute between looks: `lookout alerts test` and other processes
        // queue rows this one is not woken for.
        let wait = next
            .map_or(IDLE_LOOK, |at| {
                Duration::from_secs(u64::try_from(at - store.now()).unwrap_or(0))
            })
            .clamp(Duration::from_secs(1), IDLE_LOOK);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = wake.notified() => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Delivers every row that is due; returns when the next one will be.
pub async fn deliver_due(
    store: &Store,
    config: &AlertConfig,
    client: &HttpsClient,
    snapshots: &Path,
) -> Result<Option<i64>, Error> {
    loop {
        let Some(due) = store.run(|db| outbox::take_due(db)).await? else {
            return store.run(|db| outbox::next_attempt_at(db)).await;
        };
        let due = Due::from(due);
        let result = match config.rules.iter().find(|r| r.name == due.rule) {
            None => Err(Error::new(
                ErrorKind::FailedPrecondition,
                format!("no [[alert]] named {:?} in the config any more", due.rule),
            )),
            Some(rule) => deliver(client, config, &rule.channel, &due, snapshots).await,
        };
        let attempts = due.attempts + 1;
        let id = due.id;
        // After the attempt, which may have taken a while.
        let now = store.now();
        match result {
            Ok(()) => {
                tracing::info!(rule = due.rule, event = %due.event["id"], "alert delivered");
                store
                    .run(move |db| outbox::delivered(db, id, attempts))
                    .await?;
            }
            Err(e) => {
                let shift = u32::try_from(attempts - 1).unwrap_or(u32::MAX).min(20);
                let backoff = config
                    .retry_initial
                    .saturating_mul(1 << shift)
                    .min(config.retry_max);
                let give_up = now - due.queued_at > config.give_up_after.as_secs() as i64;
                if give_up {
                    tracing::error!(rule = due.rule, event = %due.event["id"], "alert given up after {attempts} attempts: {}", e.chain());
                } else {
                    tracing::warn!(rule = due.rule, event = %due.event["id"], "alert not delivered (attempt {attempts}, next in {backoff:?}): {}", e.chain());
                }
                let next = if give_up {
                    i64::MAX
                } else {
                    now + backoff.as_secs() as i64
                };
                let error = e.chain().to_string();
                store
                    .run(move |db| outbox::failed(db, id, attempts, next, &error))
                    .await?;
            }
        }
    }
}

async fn deliver(
    client: &HttpsClient,
    config: &AlertConfig,
    channel: &Channel,
    due: &Due,
    snapshots: &Path,
) -> Result<(), Error> {
    match channel {
        Channel::Email { to } => {
            let smtp = config.smtp.as_ref().ok_or_else(|| {
                Error::new(
                    ErrorKind::FailedPrecondition,
                    "an email rule without an [smtp] table",
                )
            })?;
            email::send(smtp, mail(smtp, to, due, snapshots)).await
        }
        Channel::Webhook { url, secret } => {
            let body = serde_json::json!({
                "event": due.event,
                "rule": due.rule,
                "sent_by": concat!("Lookout ", env!("CARGO_PKG_VERSION")),
            });
            let delivery = format!("{}-{}", due.event["id"], due.rule);
            webhook::post(
                client,
                url,
                secret,
                &delivery,
                body.to_string().into_bytes(),
            )
            .await
        }
    }
}

/// The mail for an event: what, where, when, a link, and the picture.
fn mail<'a>(
    smtp: &SmtpConfig,
    to: &'a [lettre::message::Mailbox],
    due: &Due,
    snapshots: &Path,
) -> Mail<'a> {
    let e = &due.event;
    let id = e["id"].as_i64().unwrap_or(0);
    let camera = e["camera"].as_str().unwrap_or("Lookout");
    let what = match e["kind"].as_str().unwrap_or("") {
        "motion" => format!("motion on {camera}"),
        "camera_offline" => format!("camera {camera} is offline"),
        "camera_online" => format!("camera {camera} is back online"),
        "public_address_changed" => format!(
            "the public address is now {}",
            e["details"]["address"].as_str().unwrap_or("?")
        ),
        "test" => "test alert".to_owned(),
        other => format!("{other} on {camera}"),
    };
    let when = lookout_store::timestamp::rfc3339(e["started_at"].as_i64().unwrap_or(0));
    let mut text = format!("Lookout: {what} at {when} (UTC).\n");
    if let Some(err) = e["details"]["error"].as_str() {
        text.push_str(&format!("Reason: {err}\n"));
    }
    if let Some(base) = &smtp.link_base {
        text.push_str(&format!("\nSee it: {base}/events#event-{id}\n"));
        if let Some(clip) = e["clip_path"].as_str() {
            text.push_str(&format!(
                "Video clip (complete after the event ends): {base}{clip}\n"
            ));
        }
    } else if let Some(clip) = e["clip_path"].as_str() {
        text.push_str(&format!(
            "Video clip: {clip} on this Lookout (complete after the event ends)\n"
        ));
    }
    text.push_str(&format!("\nAlert rule: {}. Event {id}.\n", due.rule));
    // Only the event's own picture (the column says it has one), never a leftover file.
    let attachment = e["has_picture"]
        .as_bool()
        .unwrap_or(false)
        .then(|| std::fs::read(lookout_store::events::picture_path(snapshots, id)).ok())
        .flatten()
        .map(|jpeg| (format!("{camera}-event-{id}.jpg"), jpeg));
    Mail {
        to,
        subject: format!("Lookout: {what}"),
        text,
        attachment,
    }
}
