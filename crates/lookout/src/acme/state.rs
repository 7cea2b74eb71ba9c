//! What the ACME client last knew about the certificate: kept in `acme/state.json` for
//! `lookout cert status`, and served by `/api/cert`.

use super::cert_info::CertInfo;
use serde::Serialize;

/// What `/api/cert` and the logs say about the certificate.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CertState {
    pub domains: Vec<String>,
    pub directory: String,
    /// The certificate being served, if any.
    pub certificate: Option<CertInfo>,
    /// The directory that issued it.
    pub issued_by: Option<String>,
    pub last_error: Option<String>,
    /// Seconds since the Unix epoch.
    pub next_attempt: Option<u64>,
}
