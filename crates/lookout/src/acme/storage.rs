//! What ACME keeps in the data directory (`acme/`): one account per directory URL, the
//! certificate chain and its key (readable by Lookout's user only), and the last state for
//! `lookout cert status`. Files are written to a temporary name and renamed into place, so
//! a crash never leaves half a certificate.

use super::cert_info::CertInfo;
use super::state::CertState;
use instant_acme::AccountCredentials;
use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use rustls::sign::CertifiedKey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const CERT_FILE: &str = "cert.pem";
pub const KEY_FILE: &str = "key.pem";
pub const STATE_FILE: &str = "state.json";

#[derive(Debug, Clone)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    /// `data_dir/acme`, created with mode 0700.
    pub fn open(data_dir: &Path) -> Result<Storage, Error> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = data_dir.join("acme");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::wrap(io_kind(&e), format!("cannot create {}", dir.display()), e))?;
        Ok(Storage { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn account_file(&self, directory: &str) -> PathBuf {
        let id = hex(&Sha256::digest(directory.as_bytes())[..8]);
        self.dir.join(format!("account-{id}.json"))
    }

    pub fn load_account(&self, directory: &str) -> Result<Option<AccountCredentials>, Error> {
        let path = self.account_file(directory);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                Error::wrap(
                    ErrorKind::Corrupt,
                    format!(
                        "{} is damaged ({e}); remove it to make a new account",
                        path.display()
                    ),
                    e,
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::wrap(
                io_kind(&e),
                format!("cannot read {}", path.display()),
                e,
            )),
        }
    }

    pub fn save_account(&self, directory: &str, creds: &AccountCredentials) -> Result<(), Error> {
        write_json(&self.account_file(directory), creds)
    }

    /// The stored certificate and its facts, if there is one.
    pub fn load_certificate(&self) -> Result<Option<(CertifiedKey, CertInfo)>, Error> {
        let (cert, key) = (self.dir.join(CERT_FILE), self.dir.join(KEY_FILE));
        if !cert.exists() {
            return Ok(None);
        }
        let chain = std::fs::read_to_string(&cert)
            .map_err(|e| Error::wrap(io_kind(&e), format!("cannot read {}", cert.display()), e))?;
        let certified = crate::tls::load(&cert, &key)?;
        Ok(Some((certified, CertInfo::of_pem_chain(&chain)?)))
    }

    /// Stores a new chain and key (key first: a chain never sits next to a key that is not
    /// its own for longer than a rename) and returns them ready to serve.
    pub fn store_certificate(
        &self,
        chain_pem: &str,
        key_pem: &str,
    ) -> Result<(CertifiedKey, CertInfo), Error> {
        let info = CertInfo::of_pem_chain(chain_pem)?;
        let (cert, key) = (self.dir.join(CERT_FILE), self.dir.join(KEY_FILE));
        write_private(&key, key_pem.as_bytes())?;
        write_private(&cert, chain_pem.as_bytes())?;
        let certified = crate::tls::load(&cert, &key)?;
        Ok((certified, info))
    }

    pub fn save_state(&self, state: &CertState) -> Result<(), Error> {
        write_json(&self.dir.join(STATE_FILE), state)
    }

    pub fn load_state(&self) -> Option<serde_json::Value> {
        let b = std::fs::read(self.dir.join(STATE_FILE)).ok()?;
        serde_json::from_slice(&b).ok()
    }
}

/// `value` as pretty JSON, written as [`write_private`] does.
fn write_json(path: &Path, value: &impl Serialize) -> Result<(), Error> {
    // Serializing these plain structs to memory cannot fail short of a bug.
    let json = serde_json::to_vec_pretty(value).map_err(|e| {
        Error::wrap(
            ErrorKind::Internal,
            format!("cannot encode {}", path.display()),
            e,
        )
    })?;
    write_private(path, &json)
}

/// Writes `path` with mode 0600 through a temporary file and a rename.
fn write_private(path: &Path, data: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let cannot_write = |p: &Path, e: std::io::Error| {
        Error::wrap(io_kind(&e), format!("cannot write {}", p.display()), e)
    };
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| cannot_write(&tmp, e))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| cannot_write(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| cannot_write(path, e))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
