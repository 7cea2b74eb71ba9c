//! A certificate's facts (names, validity, issuer) as `lookout cert status`, `/api/cert` and
//! the renewal schedule use them, read from a PEM chain.

use lookout_core::{Error, ErrorKind};
use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A certificate's facts, from its first (leaf) certificate.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CertInfo {
    pub domains: Vec<String>,
    /// Seconds since the Unix epoch.
    #[serde(default)]
    pub not_before: u64,
    /// Seconds since the Unix epoch.
    pub not_after: u64,
    pub issuer: String,
    pub serial: String,
}

impl CertInfo {
    pub fn not_after_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.not_after)
    }

    /// Reads the leaf of a PEM chain.
    pub fn of_pem_chain(chain_pem: &str) -> Result<CertInfo, Error> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let leaf = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .next()
            .ok_or_else(|| Error::invalid("no certificate in the chain"))?
            .map_err(|e| Error::wrap(ErrorKind::InvalidInput, "bad PEM certificate", e))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&leaf)
            .map_err(|e| Error::wrap(ErrorKind::InvalidInput, "bad certificate", e))?;
        let mut domains = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                if let x509_parser::extensions::GeneralName::DNSName(d) = name {
                    domains.push((*d).to_owned());
                }
            }
        }
        Ok(CertInfo {
            domains,
            not_before: u64::try_from(cert.validity().not_before.timestamp()).unwrap_or(0),
            not_after: u64::try_from(cert.validity().not_after.timestamp()).unwrap_or(0),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string(),
        })
    }
}
