//! What the ACME client is asked to do: `[acme]` as `config/` resolves it.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// DNS names the certificate is for, each validated over HTTP-01.
    pub domains: Vec<String>,
    /// An email address the CA may write to.
    pub contact: Option<String>,
    /// The https:// URL of the ACME directory.
    pub directory_url: String,
    /// A PEM CA certificate to trust for the directory's own HTTPS (a private CA).
    pub directory_ca: Option<PathBuf>,
    /// Renew this long before the certificate expires.
    pub renew_before: Duration,
}
