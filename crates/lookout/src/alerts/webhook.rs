//! Webhooks: a JSON POST signed with HMAC-SHA256. The receiver recomputes
//! `hex(HMAC(secret, "{timestamp}.{body}"))` and compares it with `X-Lookout-Signature:
//! t={timestamp},v1={hex}`, rejecting old timestamps to stop replays.

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lookout_core::{Error, ErrorKind};
use sha2::Sha256;
use std::time::Duration;

pub type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<bytes::Bytes>>;

/// An HTTP and HTTPS client with the system's trusted roots.
pub fn client() -> Result<HttpsClient, Error> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_platform_verifier(rustls::crypto::ring::default_provider())
        .map_err(|e| Error::internal(format!("cannot set up TLS for webhooks: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Posts `body`; `Ok` only for a 2xx answer within 15 s.
pub async fn post(
    client: &HttpsClient,
    url: &str,
    secret: &str,
    delivery_id: &str,
    body: Vec<u8>,
) -> Result<(), Error> {
    let timestamp = lookout_store::Clock::system().now_secs();
    let sig = signature(secret, timestamp, &body);
    let req = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            http::header::USER_AGENT,
            concat!("Lookout/", env!("CARGO_PKG_VERSION")),
        )
        .header("X-Lookout-Signature", format!("t={timestamp},v1={sig}"))
        .header("X-Lookout-Delivery", delivery_id)
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| Error::wrap(ErrorKind::InvalidInput, "bad webhook request", e))?;
    let resp = tokio::time::timeout(Duration::from_secs(15), client.request(req))
        .await
        .map_err(|_| Error::new(ErrorKind::Timeout, "no answer within 15 s"))?
        .map_err(|e| Error::unavailable(e.to_string()))?;
    let status = resp.status();
    let _ = tokio::time::timeout(Duration::from_secs(5), resp.into_body().collect()).await;
    if status.is_success() {
        Ok(())
    } else {
        Err(Error::unavailable(format!(
            "the receiver answered {status}"
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_a_known_vector() {
        // echo -n '1700000000.{}' | openssl dgst -sha256 -hmac s3cret
        assert_eq!(
            super::signature("s3cret", 1_700_000_000, b"{}"),
            "97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf"
        );
    }
}
