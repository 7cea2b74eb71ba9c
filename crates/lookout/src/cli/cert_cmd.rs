//! `lookout cert status`: the certificate HTTPS serves, from the files (tls.cert, or the
//! ACME certificate in the data directory) and the ACME client's last state.

use super::output::outln;
use crate::acme::{CertInfo, Storage};
use crate::config::Config;
use clap::Subcommand;
use lookout_core::Error;
use lookout_core::error::io_kind;
use lookout_store::timestamp::rfc3339;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Which certificate is served, until when, and how renewal went. Exit status 1 if it
    /// expires within 7 days or there is none.
    Status,
}

pub fn run(cmd: CertCommand, config: &Config) -> Result<ExitCode, Error> {
    let CertCommand::Status = cmd;
    let (source, chain) = if let Some(t) = &config.tls {
        let chain = std::fs::read_to_string(&t.files.cert).map_err(|e| {
            Error::wrap(
                io_kind(&e),
                format!("cannot read {}", t.files.cert.display()),
                e,
            )
        })?;
        (format!("tls.cert {}", t.files.cert.display()), Some(chain))
    } else if config.acme.is_some() {
        let storage = Storage::open(&config.data_dir)?;
        let path = storage.dir().join(crate::acme::storage::CERT_FILE);
        (
            format!("ACME, stored in {}", storage.dir().display()),
            std::fs::read_to_string(&path).ok(),
        )
    } else {
        outln!("no HTTPS: neither [tls] nor [acme] is configured");
        return Ok(ExitCode::SUCCESS);
    };
    outln!("source: {source}");
    if let Some(acme) = &config.acme {
        outln!("domains wanted: {}", acme.domains.join(", "));
        outln!(
            "directory: {}",
            lookout_core::redact::mask_url_secrets(&acme.directory_url)
        );
    }
    let healthy = match chain {
        None => {
            outln!("certificate: none yet");
            false
        }
        Some(chain) => {
            let info = CertInfo::of_pem_chain(&chain)?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let days = (info.not_after.saturating_sub(now)) / 86_400;
            outln!("certificate: {}", info.domains.join(", "));
            outln!("issuer: {}", info.issuer);
            outln!(
                "expires: {} ({days} days left)",
                rfc3339(i64::try_from(info.not_after).unwrap_or(i64::MAX))
            );
            info.not_after > now + 7 * 86_400
        }
    };
    if config.acme.is_some() {
        let state = Storage::open(&config.data_dir)?.load_state();
        if let Some(err) = state.as_ref().and_then(|s| s["last_error"].as_str()) {
            outln!("last error: {err}");
        }
        if let Some(next) = state.as_ref().and_then(|s| s["next_attempt"].as_u64()) {
            outln!(
                "next check: {}",
                rfc3339(i64::try_from(next).unwrap_or(i64::MAX))
            );
        }
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
