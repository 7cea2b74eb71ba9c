//! The outbox worker: delivers queued alerts, oldest first, retrying failures with
//! exponential backoff (`[alerts] retry_initial_seconds` doubling to `retry_max_seconds`)
//! and giving up after `give_up_after_hours`. Woken at once when an event is recorded.

use super::email::{self, Mail, SmtpConfig};
use super::webhook::{self, HttpsClient};
use super::{AlertConfig, Channel};
use crate::store::{Store, StoreError, now_secs};
use rusqlite::{OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const IDLE_LOOK: Duration = Duration::from_secs(30);

/// A queued delivery with its event.
#[derive(Debug)]
struct Due {
    id: i64,
    rule: String,
    attempts: i64,
    event: serde_json::Value,
    queued_at: i64,
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
            tracing::error!("alerts cannot be delivered: {e}");
            return;
        }
    };
    loop {
        let next = match deliver_due(&store, &config, &client, &snapshots).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!("alert outbox: {e}");
                Some(now_secs() + 5)
            }
        };
        // At most half a minute between looks: `lookout alerts test` and other processes
        // queue rows this one is not woken for.
        let wait = next
            .map_or(IDLE_LOOK, |at| {
                Duration::from_secs(u64::try_from(at - now_secs()).unwrap_or(0))
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
) -> Result<Option<i64>, StoreError> {
    loop {
        let now = now_secs();
        let Some(due) = store.run(move |c| next_due(c, now)).await? else {
            return store
                .run(|c| {
                    Ok(c.query_row(
                        "SELECT MIN(o.next_attempt_at) FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.delivered_at IS NULL",
                        [],
                        |r| r.get::<_, Option<i64>>(0),
                    )?)
                })
                .await;
        };
        let result = match config.rules.iter().find(|r| r.name == due.rule) {
            None => Err(format!(
                "no [[alert]] named {:?} in the config any more",
                due.rule
            )),
            Some(rule) => deliver(client, config, &rule.channel, &due, snapshots).await,
        };
        let attempts = due.attempts + 1;
        let id = due.id;
        // After the attempt, which may have taken a while.
        let now = now_secs();
        match result {
            Ok(()) => {
                tracing::info!(rule = due.rule, event = %due.event["id"], "alert delivered");
                store
                    .run(move |c| {
                        c.execute(
                            "UPDATE outbox SET delivered_at = ?1, attempts = ?2, last_error = NULL WHERE id = ?3",
                            params![now_secs(), attempts, id],
                        )?;
                        Ok(())
                    })
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
                    tracing::error!(rule = due.rule, event = %due.event["id"], "alert given up after {attempts} attempts: {e}");
                } else {
                    tracing::warn!(rule = due.rule, event = %due.event["id"], "alert not delivered (attempt {attempts}, next in {backoff:?}): {e}");
                }
                let next = if give_up {
                    i64::MAX
                } else {
                    now + backoff.as_secs() as i64
                };
                store
                    .run(move |c| {
                        c.execute(
                            "UPDATE outbox SET attempts = ?1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?4",
                            params![attempts, next, e, id],
                        )?;
                        Ok(())
                    })
                    .await?;
            }
        }
    }
}

/// How long a delivery in progress is leased: another process (the server and `lookout
/// alerts test`) will not take the same row meanwhile.
const LEASE_SECS: i64 = 60;

/// The oldest due row, leased to us.
fn next_due(c: &mut rusqlite::Connection, now: i64) -> Result<Option<Due>, StoreError> {
    loop {
        let Some((due, at)) = candidate(c, now)? else {
            return Ok(None);
        };
        let taken = c.execute(
            "UPDATE outbox SET next_attempt_at = ?1 WHERE id = ?2 AND next_attempt_at = ?3 AND delivered_at IS NULL",
            params![now + LEASE_SECS, due.id, at],
        )?;
        if taken == 1 {
            return Ok(Some(due));
        }
    }
}

fn candidate(c: &rusqlite::Connection, now: i64) -> Result<Option<(Due, i64)>, StoreError> {
    Ok(c.query_row(
        "SELECT o.id, o.rule, o.attempts, e.id, e.camera, e.kind, e.started_at, e.details, o.next_attempt_at, e.snapshot \
         FROM outbox o JOIN events e ON e.id = o.event_id \
         WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ?1 ORDER BY o.id LIMIT 1",
        [now],
        |r| {
            let details: String = r.get(7)?;
            let started_at: i64 = r.get(6)?;
            let at: i64 = r.get(8)?;
            let has_picture = r.get::<_, Option<String>>(9)?.is_some();
            Ok((Due {
                id: r.get(0)?,
                rule: r.get(1)?,
                attempts: r.get(2)?,
                queued_at: started_at,
                event: serde_json::json!({
                    "id": r.get::<_, i64>(3)?,
                    "camera": r.get::<_, Option<String>>(4)?,
                    "kind": r.get::<_, String>(5)?,
                    "started_at": started_at,
                    "details": serde_json::from_str::<serde_json::Value>(&details).unwrap_or_default(),
                    "has_picture": has_picture,
                }),
            }, at))
        },
    )
    .optional()?)
}

async fn deliver(
    client: &HttpsClient,
    config: &AlertConfig,
    channel: &Channel,
    due: &Due,
    snapshots: &Path,
) -> Result<(), String> {
    match channel {
        Channel::Email { to } => {
            let smtp = config
                .smtp
                .as_ref()
                .ok_or("an email rule without an [smtp] table")?;
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
    let when = crate::store::timestamp::rfc3339(e["started_at"].as_i64().unwrap_or(0));
    let mut text = format!("Lookout: {what} at {when} (UTC).\n");
    if let Some(err) = e["details"]["error"].as_str() {
        text.push_str(&format!("Reason: {err}\n"));
    }
    if let Some(base) = &smtp.link_base {
        text.push_str(&format!("\nSee it: {base}/events#event-{id}\n"));
    }
    text.push_str(&format!("\nAlert rule: {}. Event {id}.\n", due.rule));
    // Only the event's own picture (the column says it has one), never a leftover file.
    let attachment = e["has_picture"]
        .as_bool()
        .unwrap_or(false)
        .then(|| std::fs::read(crate::events::snapshot_path(snapshots, id)).ok())
        .flatten()
        .map(|jpeg| (format!("{camera}-event-{id}.jpg"), jpeg));
    Mail {
        to,
        subject: format!("Lookout: {what}"),
        text,
        attachment,
    }
}
