//! Secrets the config names but does not hold (a webhook's signing secret, the SMTP password, an
//! IP camera's password): read from a file or an environment variable by one rule.

use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use std::path::Path;

/// Where a secret is: `*_file` or `*_env`.
#[derive(Debug, Clone, Copy)]
pub(super) enum SecretFrom<'a> {
    File(&'a Path),
    Env(&'a str),
}

/// The secret in a file or an environment variable, by the one rule docs/ref/config.md
/// gives: the whole content, less the line ends (`\n`, `\r\n`) at its end, which
/// `echo secret > file` and editors add; nothing else is trimmed, as a space may be part of a
/// password. A line break inside is refused: such a file is not a secret file. `what` names
/// the secret in errors ("SMTP password").
pub(super) fn read_secret(from: SecretFrom<'_>, what: &str) -> Result<String, Error> {
    let (raw, origin) = match from {
        SecretFrom::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::wrap(
                    io_kind(&e),
                    format!("cannot read the {what} {}: {e}", path.display()),
                    e,
                )
            })?;
            (text, path.display().to_string())
        }
        SecretFrom::Env(var) => {
            let value = std::env::var(var).map_err(|e| {
                Error::wrap(
                    ErrorKind::NotFound,
                    format!("the environment variable {var} ({what}) is not set"),
                    e,
                )
            })?;
            (value, format!("the environment variable {var}"))
        }
    };
    let secret = raw.trim_end_matches(['\n', '\r']);
    if secret.contains(['\n', '\r']) {
        return Err(Error::invalid(format!(
            "the {what} in {origin} has more than one line"
        )));
    }
    Ok(secret.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_file(content: &str) -> Result<String, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, content).unwrap();
        read_secret(SecretFrom::File(&path), "test secret")
    }

    #[test]
    fn only_the_line_ends_at_the_end_are_trimmed() {
        assert_eq!(from_file("s3cret\n").unwrap(), "s3cret");
        assert_eq!(from_file("s3cret\r\n").unwrap(), "s3cret");
        assert_eq!(from_file("s3cret\n\n").unwrap(), "s3cret");
        assert_eq!(from_file("s3cret").unwrap(), "s3cret");
        // Spaces may be part of a password.
        assert_eq!(from_file(" pass word \n").unwrap(), " pass word ");
        assert_eq!(from_file("").unwrap(), "");
    }

    #[test]
    fn a_secret_of_several_lines_is_refused() {
        let e = from_file("first\nsecond\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            e.message().starts_with("the test secret in ")
                && e.message().ends_with("has more than one line"),
            "{e}"
        );
    }

    #[test]
    fn variables_are_read_by_the_same_rule_and_missing_ones_named() {
        // PATH is set wherever tests run, on one line (setting a variable here would race
        // with other tests reading the environment).
        let path = std::env::var("PATH").unwrap();
        assert_eq!(
            read_secret(SecretFrom::Env("PATH"), "test secret").unwrap(),
            path.trim_end_matches(['\n', '\r'])
        );
        let var = "LOOKOUT_TEST_SURELY_UNSET_SECRET";
        let e = read_secret(SecretFrom::Env(var), "test secret").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(
            e.message(),
            "the environment variable LOOKOUT_TEST_SURELY_UNSET_SECRET (test secret) is not set"
        );
        let e = read_secret(
            SecretFrom::File(Path::new("/nonexistent/lookout-secret")),
            "test secret",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(
            e.message()
                .starts_with("cannot read the test secret /nonexistent/lookout-secret: "),
            "{e}"
        );
    }
}
