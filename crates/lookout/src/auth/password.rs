//! Password hashing: Argon2id PHC strings with OWASP's parameters (19 MiB, 2 passes, 1 lane:
//! ~27 ms here), and bcrypt verification for users imported from flask-cam, whose hashes are
//! replaced by Argon2id at their first login. Passwords past a limit are refused, never
//! truncated (bcrypt's own `verify` would silently ignore bytes past 72).

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use lookout_core::Error;
use std::sync::OnceLock;

/// Longest password we hash: Argon2 takes more, but nobody types 1 KiB, and hashing huge
/// inputs on demand would be a cheap denial of service.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// bcrypt reads only 72 bytes; a longer password cannot be checked honestly.
pub const BCRYPT_MAX_BYTES: usize = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashCost {
    /// OWASP's minimum recommendation for Argon2id.
    pub const OWASP: HashCost = HashCost {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
}

pub struct Passwords {
    argon: Argon2<'static>,
    cost: HashCost,
    dummy: OnceLock<String>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("cost", &self.cost)
            .finish()
    }
}

/// The result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    /// Right, and the stored hash is current.
    Right,
    /// Right, but stored as bcrypt or with other parameters: store a new hash.
    RightRehash,
}

impl Passwords {
    pub fn new(cost: HashCost) -> Result<Self, Error> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| Error::invalid(format!("invalid Argon2 parameters: {e}")))?;
        Ok(Self {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            cost,
            dummy: OnceLock::new(),
        })
    }

    /// Checks a new password's length, then hashes it.
    pub fn hash(&self, password: &str) -> Result<String, Error> {
        if password.is_empty() {
            return Err(Error::invalid("the password is empty"));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Error::invalid(format!(
                "the password is longer than {MAX_PASSWORD_BYTES} bytes; choose a shorter one"
            )));
        }
        self.argon
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(format!("cannot hash the password: {e}")))
    }

    pub fn verify(&self, password: &str, stored: &str) -> Verdict {
        if password.len() > MAX_PASSWORD_BYTES {
            return Verdict::Wrong;
        }
        if stored.starts_with("$2") {
            // flask-cam's `bcrypt.hashpw`; refuse what bcrypt would truncate.
            if password.len() > BCRYPT_MAX_BYTES {
                return Verdict::Wrong;
            }
            // With at most 72 bytes nothing is cut (the crate's `non_truncating_verify` also
            // refuses exactly 72, which Python's bcrypt accepts).
            return match bcrypt::verify(password, stored) {
                Ok(true) => Verdict::RightRehash,
                _ => Verdict::Wrong,
            };
        }
        if self
            .argon
            .verify_password(password.as_bytes(), stored)
            .is_err()
        {
            return Verdict::Wrong;
        }
        let current = format!(
            "$argon2id$v=19$m={},t={},p={}$",
            self.cost.memory_kib, self.cost.iterations, self.cost.parallelism
        );
        if stored.starts_with(&current) {
            Verdict::Right
        } else {
            Verdict::RightRehash
        }
    }

    /// Spends the time of a real check, for a user that does not exist: an unknown name and
    /// a wrong password must not be told apart by timing.
    pub fn verify_dummy(&self, password: &str) {
        let dummy = self
            .dummy
            .get_or_init(|| self.hash("lookout dummy password").unwrap_or_default());
        let _ = self
            .argon
            .verify_password(password.as_bytes(), dummy.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: HashCost = HashCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn argon2id_round_trip_and_rehash_on_new_cost() {
        let p = Passwords::new(CHEAP).unwrap();
        let h = p.hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert_eq!(p.verify("correct horse", &h), Verdict::Right);
        assert_eq!(p.verify("correct horsE", &h), Verdict::Wrong);
        let stronger = Passwords::new(HashCost {
            memory_kib: 128,
            ..CHEAP
        })
        .unwrap();
        assert_eq!(stronger.verify("correct horse", &h), Verdict::RightRehash);
    }

    #[test]
    fn bcrypt_hashes_verify_and_ask_for_rehash_and_long_passwords_are_refused() {
        let p = Passwords::new(CHEAP).unwrap();
        let b = bcrypt::hash("s3cret", 4).unwrap();
        assert_eq!(p.verify("s3cret", &b), Verdict::RightRehash);
        assert_eq!(p.verify("s3creT", &b), Verdict::Wrong);
        // bcrypt would accept any suffix past 72 bytes: refused instead.
        let long = "a".repeat(72);
        let bl = bcrypt::hash(&long, 4).unwrap();
        assert_eq!(p.verify(&long, &bl), Verdict::RightRehash);
        assert_eq!(p.verify(&format!("{long}extra"), &bl), Verdict::Wrong);
        assert!(p.hash(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(p.hash("").is_err());
    }
}
