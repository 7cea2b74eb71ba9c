//! HTTPS with certificate files (`[tls] cert`, `key`): loaded at start with a clear error for a
//! key that does not match, and reloaded when the files change (a certbot renewal) without a
//! restart. A failed reload keeps serving the certificate that worked.

use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// The certificate being served, swapped whole on reload or renewal. Empty until ACME has
/// obtained the first one (handshakes fail until then).
#[derive(Debug, Default)]
pub struct CertStore {
    current: RwLock<Option<Arc<CertifiedKey>>>,
}

impl CertStore {
    pub fn new(key: Option<CertifiedKey>) -> Self {
        Self {
            current: RwLock::new(key.map(Arc::new)),
        }
    }

    pub fn set(&self, key: CertifiedKey) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(key));
    }

    pub fn get(&self) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.get()
    }
}

/// A rustls server config offering HTTP/2 and HTTP/1.1 (ALPN), TLS 1.2 and 1.3.
pub fn server_config(certs: Arc<dyn ResolvesServerCert>) -> Result<Arc<ServerConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::wrap(ErrorKind::Internal, "cannot set up TLS", e))?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reads a PEM certificate chain and private key, checking that they belong together.
pub fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, Error> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| Error::wrap(pem_kind(&e), format!("tls.cert {}", cert.display()), e))?
        .collect::<Result<_, _>>()
        .map_err(|e| {
            Error::wrap(
                ErrorKind::InvalidInput,
                format!("tls.cert {}: not a PEM certificate", cert.display()),
                e,
            )
        })?;
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "tls.cert {}: no certificate in it; point it at the full chain (fullchain.pem)",
            cert.display()
        )));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::wrap(
            pem_kind(&e),
            format!(
                "tls.key {}: no usable private key ({e}); point it at the key file (privkey.pem)",
                key.display()
            ),
            e,
        )
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| {
            Error::wrap(
                ErrorKind::InvalidInput,
                format!("tls.key {}", key.display()),
                e,
            )
        })?;
    let certified = CertifiedKey::new(certs, signing);
    // rustls' own words ("the private key and the certificate do not match") add nothing.
    certified.keys_match().map_err(|_| {
        Error::invalid(format!(
            "tls.key {} does not belong to the certificate in {}; use the key that was made with it",
            key.display(),
            cert.display()
        ))
    })?;
    Ok(certified)
}

/// A file that cannot be read is the file system's problem; one that reads but holds no
/// usable PEM is the operator's.
fn pem_kind(e: &rustls_pki_types::pem::Error) -> ErrorKind {
    match e {
        rustls_pki_types::pem::Error::Io(io) => io_kind(io),
        _ => ErrorKind::InvalidInput,
    }
}

/// Certificate files to watch.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn modified(files: &CertFiles) -> Option<(SystemTime, SystemTime)> {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((m(&files.cert)?, m(&files.key)?))
}

/// Reloads the files into `store` whenever their modification times change, until
/// `shutdown`. Both files are re-read together; a half-written pair fails the key check and
/// is retried at the next tick.
pub async fn watch(
    files: CertFiles,
    store: Arc<CertStore>,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut seen = modified(&files);
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        let now = modified(&files);
        if now.is_none() || now == seen {
            continue;
        }
        match load(&files.cert, &files.key) {
            Ok(key) => {
                store.set(key);
                seen = now;
                tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
            }
            Err(e) => tracing::warn!(
                "TLS certificate not reloaded, still serving the old one: {}",
                e.chain()
            ),
        }
    }
}
