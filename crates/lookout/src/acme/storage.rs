//! What ACME keeps in the data directory (`acme/`): one account per directory URL, the
//! certificate chain and its key (readable by Lookout's user only), and the last state for
//! `lookout cert status`. Files are written to a temporary name and renamed into place, so
//! a crash never leaves half a certificate.

use super::CertState;
use instant_acme::AccountCredentials;
use rustls::sign::CertifiedKey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const CERT_FILE: &str = "cert.pem";
pub const KEY_FILE: &str = "key.pem";
pub const STATE_FILE: &str = "state.json";

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
    pub fn of_pem_chain(chain_pem: &str) -> Result<CertInfo, String> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let leaf = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .next()
            .ok_or("no certificate in the chain")?
            .map_err(|e| format!("bad PEM certificate: {e}"))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&leaf)
            .map_err(|e| format!("bad certificate: {e}"))?;
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

#[derive(Debug, Clone)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    /// `data_dir/acme`, created with mode 0700.
    pub fn open(data_dir: &Path) -> Result<Storage, String> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = data_dir.join("acme");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Storage { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn account_file(&self, directory: &str) -> PathBuf {
        let id = hex(&Sha256::digest(directory.as_bytes())[..8]);
        self.dir.join(format!("account-{id}.json"))
    }

    pub fn load_account(&self, directory: &str) -> Result<Option<AccountCredentials>, String> {
        let path = self.account_file(directory);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                format!(
                    "{} is damaged ({e}); remove it to make a new account",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    pub fn save_account(&self, directory: &str, creds: &AccountCredentials) -> Result<(), String> {
        let json = serde_json::to_vec_pretty(creds).map_err(|e| e.to_string())?;
        write_private(&self.account_file(directory), &json)
    }

    /// The stored certificate and its facts, if there is one.
    pub fn load_certificate(&self) -> Result<Option<(CertifiedKey, CertInfo)>, String> {
        let (cert, key) = (self.dir.join(CERT_FILE), self.dir.join(KEY_FILE));
        if !cert.exists() {
            return Ok(None);
        }
        let chain = std::fs::read_to_string(&cert)
            .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
        let certified = crate::tls::load(&cert, &key)?;
        Ok(Some((certified, CertInfo::of_pem_chain(&chain)?)))
    }

    /// Stores a new chain and key (key first: a chain never sits next to a key that is not
    /// its own for longer than a rename) and returns them ready to serve.
    pub fn store_certificate(
        &self,
        chain_pem: &str,
        key_pem: &str,
    ) -> Result<(CertifiedKey, CertInfo), String> {
        let info = CertInfo::of_pem_chain(chain_pem)?;
        let (cert, key) = (self.dir.join(CERT_FILE), self.dir.join(KEY_FILE));
        write_private(&key, key_pem.as_bytes())?;
        write_private(&cert, chain_pem.as_bytes())?;
        let certified = crate::tls::load(&cert, &key)?;
        Ok((certified, info))
    }

    pub fn save_state(&self, state: &CertState) -> Result<(), String> {
        let json = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
        write_private(&self.dir.join(STATE_FILE), &json)
    }

    pub fn load_state(&self) -> Option<serde_json::Value> {
        let b = std::fs::read(self.dir.join(STATE_FILE)).ok()?;
        serde_json::from_slice(&b).ok()
    }
}

/// Writes `path` with mode 0600 through a temporary file and a rename.
fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
