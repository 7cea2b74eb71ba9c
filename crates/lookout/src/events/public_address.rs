//! The public address watcher (flask-cam's one alert): asks a URL that answers with the
//! caller's address (e.g. https://api.ipify.org) at an interval, and records a
//! `public_address_changed` event when the answer differs from the last one recorded, so a
//! home server's owner learns the new address to reach it by.

use super::{EventKind, EventLog, NewEvent};
use crate::alerts::webhook::HttpsClient;
use http_body_util::{BodyExt, Full};
use lookout_core::redact::mask_url_secrets;
use lookout_core::{Error, ErrorKind};
use std::net::IpAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct PublicAddressConfig {
    pub url: String,
    pub every: Duration,
}

pub async fn watch(
    config: PublicAddressConfig,
    log: EventLog,
    client: HttpsClient,
    shutdown: CancellationToken,
) {
    loop {
        match fetch(&client, &config.url).await {
            Ok(address) => {
                if let Err(e) = note(&log, address).await {
                    tracing::warn!("public address: {}", e.chain());
                }
            }
            Err(e) => tracing::warn!(
                url = %mask_url_secrets(&config.url),
                "public address not known: {e}"
            ),
        }
        tokio::select! {
            () = tokio::time::sleep(config.every) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

async fn fetch(client: &HttpsClient, url: &str) -> Result<IpAddr, Error> {
    let req = http::Request::get(url)
        .header(
            http::header::USER_AGENT,
            concat!("Lookout/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(bytes::Bytes::new()))
        .map_err(|e| Error::invalid(e.to_string()))?;
    let no_answer = || Error::new(ErrorKind::Timeout, "no answer within 15 s");
    let resp = tokio::time::timeout(Duration::from_secs(15), client.request(req))
        .await
        .map_err(|_| no_answer())?
        .map_err(|e| Error::unavailable(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(Error::unavailable(format!(
            "the service answered {}",
            resp.status()
        )));
    }
    // An address is a few bytes: a service sending more is not one to believe.
    let limited = http_body_util::Limited::new(resp.into_body(), 1024);
    let body = tokio::time::timeout(Duration::from_secs(15), limited.collect())
        .await
        .map_err(|_| no_answer())?
        .map_err(|e| Error::unavailable(e.to_string()))?
        .to_bytes();
    let text = String::from_utf8_lossy(&body[..body.len().min(256)])
        .trim()
        .to_owned();
    text.parse().map_err(|_| {
        Error::invalid(format!(
            "the answer {text:?} is not an address; use a URL that returns only the address"
        ))
    })
}

/// Records an event if `address` differs from the last one recorded.
async fn note(log: &EventLog, address: IpAddr) -> Result<(), Error> {
    let previous = log
        .store
        .run(|db| lookout_store::events::last_public_address(db))
        .await?;
    if previous.as_deref() == Some(address.to_string().as_str()) {
        return Ok(());
    }
    tracing::info!(%address, ?previous, "public address changed");
    log.record(NewEvent {
        camera: None,
        kind: EventKind::PublicAddressChanged,
        details: serde_json::json!({ "address": address.to_string(), "previous": previous }),
        snapshot: None,
    })
    .await
    .map(|_| ())
}
