//! Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser
//! that signed in as a user gets a cookie, signed by the server, that names that user. Its
//! later logins as that user skip the name's and the address's lock and are counted, and
//! locked, on their own; so whoever guesses at a name cannot keep its owner out.
//!
//! The cookie is `NONCE.MAC`: 16 random bytes and HMAC-SHA256 over the user name and the nonce,
//! both base64url. The key is 32 random bytes in the data directory, made on first use, so
//! cookies stay valid across restarts; deleting the file voids every device cookie.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::{self, Read, Write};
use std::path::Path;

/// The key's file in the data directory.
pub const KEY_FILE: &str = "device-cookie.key";
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 16;
/// Binds MACs to this use and version, should the key ever sign anything else.
const CONTEXT: &[u8] = b"lookout device cookie v1\0";

pub struct DeviceKey {
    key: [u8; KEY_BYTES],
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(..)")
    }
}

impl DeviceKey {
    /// The key in `data_dir`, created (mode 0600, whatever the umask) if there is none yet.
    pub fn load_or_create(data_dir: &Path) -> io::Result<Self> {
        let path = data_dir.join(KEY_FILE);
        let context = |what: &str, e: io::Error| {
            io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display()))
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                let mut key = [0u8; KEY_BYTES];
                getrandom::fill(&mut key)
                    .map_err(|e| context("make a key for", io::Error::other(e.to_string())))?;
                file.write_all(&key)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| context("write", e))?;
                Ok(Self { key })
            }
            // Made by an earlier start (or by another process at this very moment: a short
            // read then says so, and the next start reads it whole).
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let mut key = [0u8; KEY_BYTES];
                std::fs::File::open(&path)
                    .and_then(|mut f| f.read_exact(&mut key))
                    .map_err(|e| context("read", e))?;
                Ok(Self { key })
            }
            Err(e) => Err(context("create", e)),
        }
    }

    /// A key that lives as long as the process, for tests.
    pub fn ephemeral() -> Self {
        let mut key = [0u8; KEY_BYTES];
        // No OS randomness means no sessions either: see `secret::random_token`.
        getrandom::fill(&mut key).unwrap_or_else(|e| panic!("no OS randomness: {e}"));
        Self { key }
    }

    fn mac(&self, user: &str, nonce: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(CONTEXT);
        mac.update(user.as_bytes());
        mac.update(b"\0");
        mac.update(nonce.as_bytes());
        mac
    }

    /// A new cookie value for `user` (the exact name: names are case-sensitive).
    pub fn issue(&self, user: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).unwrap_or_else(|e| panic!("no OS randomness: {e}"));
        let nonce = URL_SAFE_NO_PAD.encode(nonce);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(user, &nonce).finalize().into_bytes());
        format!("{nonce}.{tag}")
    }

    /// The cookie's nonce, which names this device to the login limiter, if we issued the
    /// cookie for `user`; `None` for anything else (another user's, forged, damaged).
    pub fn verify<'a>(&self, cookie: &'a str, user: &str) -> Option<&'a str> {
        let (nonce, tag) = cookie.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(user, nonce).verify_slice(&tag).ok()?;
        Some(nonce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_bound_to_their_key_and_user() {
        let key = DeviceKey::ephemeral();
        let cookie = key.issue("alice");
        let nonce = key.verify(&cookie, "alice").expect("valid for alice");
        assert_eq!(cookie.split_once('.').map(|(n, _)| n), Some(nonce));
        assert_ne!(key.issue("alice"), cookie, "a new nonce each time");
        assert_eq!(
            key.verify(&cookie, "Alice"),
            None,
            "names are case-sensitive"
        );
        assert_eq!(key.verify(&cookie, "bob"), None);
        assert_eq!(DeviceKey::ephemeral().verify(&cookie, "alice"), None);
        let (nonce, tag) = cookie.split_once('.').unwrap();
        assert_eq!(key.verify(&format!("x{nonce}.{tag}"), "alice"), None);
        for junk in ["", ".", "abc", "a.b.c", "a.%%%"] {
            assert_eq!(key.verify(junk, "alice"), None, "{junk:?}");
        }
    }

    #[test]
    fn the_key_file_is_made_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = DeviceKey::load_or_create(dir.path()).unwrap();
        let cookie = first.issue("alice");
        let again = DeviceKey::load_or_create(dir.path()).unwrap();
        assert!(
            again.verify(&cookie, "alice").is_some(),
            "survives a restart"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        let err = DeviceKey::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains(KEY_FILE), "{err}");
    }
}
