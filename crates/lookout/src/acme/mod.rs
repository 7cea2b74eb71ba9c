//! Automatic certificates from an ACME CA (Let's Encrypt): an account and the certificate
//! kept in the data directory, HTTP-01 answered by our own `/.well-known/acme-challenge/`
//! route, renewal `renew_before_days` before expiry, retries with backoff, and the state
//! for `lookout cert status` and `/api/cert`.

mod cert_info;
mod challenges;
mod settings;
mod state;
pub mod storage;

pub use cert_info::CertInfo;
pub use challenges::Challenges;
pub use settings::AcmeSettings;
pub use state::CertState;
pub use storage::Storage;

use crate::tls::CertStore;
use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus,
    RetryPolicy,
};
use lookout_core::redact::mask_url_secrets;
use lookout_core::{Error, ErrorKind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// First retry after a failed order; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// The longest one order may take, from account to certificate.
const ORDER_TIMEOUT: Duration = Duration::from_secs(300);
/// How often a valid certificate is looked at again.
const CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);
/// A CA that keeps refusing nonces (the client already retried each request three times)
/// is asked again soon, a few times, before the long backoff.
const NONCE_RETRY: Duration = Duration::from_secs(2);
const NONCE_RETRIES: u32 = 5;

pub struct AcmeManager {
    config: AcmeSettings,
    storage: Storage,
    certs: Arc<CertStore>,
    challenges: Arc<Challenges>,
    state: Mutex<CertState>,
    /// The stored certificate came from another directory (staging, before production):
    /// replace it even though it is valid.
    other_directory: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for AcmeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeManager")
            .field("domains", &self.config.domains)
            .finish()
    }
}

impl AcmeManager {
    /// Loads a stored certificate, if any, into `certs` so HTTPS works at once after a
    /// restart.
    pub fn new(
        config: AcmeSettings,
        storage: Storage,
        certs: Arc<CertStore>,
        challenges: Arc<Challenges>,
    ) -> Self {
        let mut state = CertState {
            domains: config.domains.clone(),
            directory: config.directory_url.clone(),
            ..CertState::default()
        };
        let issued_by = storage
            .load_state()
            .and_then(|s| s["issued_by"].as_str().map(str::to_owned));
        let other_directory = issued_by
            .as_ref()
            .is_some_and(|d| *d != config.directory_url);
        state.issued_by = issued_by;
        match storage.load_certificate() {
            Ok(Some((key, info))) => {
                certs.set(key);
                state.certificate = Some(info);
            }
            Ok(None) => {}
            Err(e) => state.last_error = Some(e.chain().to_string()),
        }
        Self {
            config,
            storage,
            certs,
            challenges,
            state: Mutex::new(state),
            other_directory: other_directory.into(),
        }
    }

    pub fn state(&self) -> CertState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut CertState)) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s);
        let _ = self.storage.save_state(&s);
    }

    /// When the current certificate should be renewed: now if there is none or it does not
    /// cover every configured domain.
    fn renew_at(&self) -> SystemTime {
        let state = self.state();
        if self
            .other_directory
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return SystemTime::UNIX_EPOCH;
        }
        match &state.certificate {
            Some(c) if self.config.domains.iter().all(|d| c.domains.contains(d)) => {
                // `renew_before` ahead of expiry, or two thirds into the lifetime for a
                // certificate shorter-lived than that (a private CA's day-long ones), and
                // never sooner than an hour after issuance: no order loop.
                let lifetime = c.not_after.saturating_sub(c.not_before);
                let by_days = c.not_after_time() - self.config.renew_before;
                let by_life =
                    SystemTime::UNIX_EPOCH + Duration::from_secs(c.not_before + lifetime * 2 / 3);
                let floor = SystemTime::UNIX_EPOCH + Duration::from_secs(c.not_before + 3600);
                by_days.min(by_life).max(floor.min(c.not_after_time()))
            }
            _ => SystemTime::UNIX_EPOCH,
        }
    }

    /// Obtains and renews the certificate until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut backoff = FIRST_BACKOFF;
        let mut nonce_retries = 0;
        loop {
            let wait = match self.renew_at().duration_since(SystemTime::now()) {
                Ok(until) => until.min(CHECK_EVERY),
                // A CA that takes a connection and never answers must not stall renewal.
                Err(_) => match tokio::time::timeout(ORDER_TIMEOUT, self.obtain())
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::new(
                            ErrorKind::Timeout,
                            format!("no answer from the CA within {ORDER_TIMEOUT:?}"),
                        ))
                    }) {
                    Ok(info) => {
                        tracing::info!(domains = ?info.domains, not_after = info.not_after, "certificate obtained");
                        backoff = FIRST_BACKOFF;
                        nonce_retries = 0;
                        self.other_directory
                            .store(false, std::sync::atomic::Ordering::Relaxed);
                        self.update(|s| {
                            s.certificate = Some(info);
                            s.issued_by = Some(self.config.directory_url.clone());
                            s.last_error = None;
                        });
                        continue;
                    }
                    Err(e) if is_bad_nonce(&e) && nonce_retries < NONCE_RETRIES => {
                        nonce_retries += 1;
                        tracing::info!(
                            "the CA refused nonces again; retrying in {NONCE_RETRY:?}: {}",
                            e.chain()
                        );
                        NONCE_RETRY
                    }
                    Err(e) => {
                        tracing::warn!(
                            "could not obtain a certificate (retrying in {backoff:?}): {}",
                            e.chain()
                        );
                        nonce_retries = 0;
                        let retry = backoff;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        self.update(|s| s.last_error = Some(e.chain().to_string()));
                        retry
                    }
                },
            };
            let next = SystemTime::now() + wait;
            self.update(|s| {
                s.next_attempt = next
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs());
            });
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// One order: account, HTTP-01 challenges, CSR, certificate; stored and served.
    async fn obtain(&self) -> Result<CertInfo, Error> {
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = self
            .config
            .domains
            .iter()
            .map(|d| Identifier::Dns(d.clone()))
            .collect();
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(|e| ca_error("new order", e))?;
        let mut tokens = Vec::new();
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(|e| ca_error("authorization", e))?;
            match authz.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(Error::new(
                        ErrorKind::FailedPrecondition,
                        format!("authorization is {other:?}"),
                    ));
                }
            }
            let mut challenge = authz.challenge(ChallengeType::Http01).ok_or_else(|| {
                Error::new(
                    ErrorKind::FailedPrecondition,
                    "the CA offers no HTTP-01 challenge",
                )
            })?;
            let token = challenge.token.clone();
            self.challenges
                .insert(&token, challenge.key_authorization().as_str());
            tokens.push(token);
            challenge
                .set_ready()
                .await
                .map_err(|e| ca_error("challenge", e))?;
        }
        let retries = RetryPolicy::new()
            .initial_delay(Duration::from_millis(250))
            .timeout(Duration::from_secs(90));
        let status = order.poll_ready(&retries).await;
        for t in &tokens {
            self.challenges.remove(t);
        }
        match status.map_err(|e| ca_error("validation", e))? {
            OrderStatus::Ready => {}
            other => {
                return Err(Error::new(
                    ErrorKind::FailedPrecondition,
                    format!(
                        "the CA did not validate the domains (order {other:?}); check that port 80 of each name reaches this server"
                    ),
                ));
            }
        }
        let key_pem = order
            .finalize()
            .await
            .map_err(|e| ca_error("finalize", e))?;
        let chain_pem = order
            .poll_certificate(&retries)
            .await
            .map_err(|e| ca_error("certificate", e))?;
        let (key, info) = self.storage.store_certificate(&chain_pem, &key_pem)?;
        self.certs.set(key);
        Ok(info)
    }

    /// The stored account for this directory, or a new one (stored).
    async fn account(&self) -> Result<Account, Error> {
        let builder = || match &self.config.directory_ca {
            Some(ca) => Account::builder_with_root(ca),
            None => Account::builder(),
        };
        if let Some(creds) = self.storage.load_account(&self.config.directory_url)? {
            return builder()
                .map_err(|e| ca_error("ACME client", e))?
                .from_credentials(creds)
                .await
                .map_err(|e| ca_error("stored ACME account", e));
        }
        let contact = self.config.contact.as_ref().map(|c| {
            if c.starts_with("mailto:") {
                c.clone()
            } else {
                format!("mailto:{c}")
            }
        });
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let (account, creds) = builder()
            .map_err(|e| ca_error("ACME client", e))?
            .create(
                &NewAccount {
                    contact: &contacts,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.config.directory_url.clone(),
                None,
            )
            .await
            .map_err(|e| {
                ca_error(
                    &format!(
                        "new ACME account at {}",
                        mask_url_secrets(&self.config.directory_url)
                    ),
                    e,
                )
            })?;
        self.storage
            .save_account(&self.config.directory_url, &creds)?;
        tracing::info!(
            directory = self.config.directory_url,
            "ACME account created"
        );
        Ok(account)
    }
}

/// A step of an order that failed at the CA or on the way to it: `doing` says which.
fn ca_error(doing: &str, e: instant_acme::Error) -> Error {
    let kind = match &e {
        // The CA answered and refused (a problem document, RFC 8555 §6.7): mostly for the
        // operator to fix; rate limits and bad nonces pass, so later tries may work.
        instant_acme::Error::Api(_) => ErrorKind::FailedPrecondition,
        instant_acme::Error::Timeout(_) => ErrorKind::Timeout,
        _ => ErrorKind::Unavailable,
    };
    Error::wrap(kind, doing, e)
}

/// The CA refused a nonce (`urn:ietf:params:acme:error:badNonce`, RFC 8555 §6.5) even after
/// the client's own retries: worth asking again soon.
fn is_bad_nonce(e: &Error) -> bool {
    use std::error::Error as _;
    let mut next = e.source();
    while let Some(cause) = next {
        if let Some(instant_acme::Error::Api(problem)) = cause.downcast_ref::<instant_acme::Error>()
            && problem
                .r#type
                .as_deref()
                .is_some_and(|t| t.ends_with(":badNonce"))
        {
            return true;
        }
        next = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(problem_type: &str) -> instant_acme::Error {
        let problem: instant_acme::Problem = serde_json::from_value(serde_json::json!({
            "type": problem_type,
            "detail": "JWS has an invalid anti-replay nonce",
            "status": 400,
        }))
        .unwrap();
        instant_acme::Error::Api(problem)
    }

    #[test]
    fn a_refused_nonce_is_told_by_the_ca_s_problem_type() {
        let e = ca_error("new order", refused("urn:ietf:params:acme:error:badNonce"));
        assert!(is_bad_nonce(&e));
        assert!(is_bad_nonce(&e.clone().context("obtaining a certificate")));
        assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
        assert_eq!(
            e.chain().to_string(),
            "new order: API error: JWS has an invalid anti-replay nonce (urn:ietf:params:acme:error:badNonce)"
        );
        let limited = ca_error(
            "new order",
            refused("urn:ietf:params:acme:error:rateLimited"),
        );
        assert!(!is_bad_nonce(&limited));
        // Words alone are not the CA's answer.
        assert!(!is_bad_nonce(&Error::new(ErrorKind::Timeout, "badNonce")));
    }
}
