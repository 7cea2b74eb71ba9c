//! `lookout cert status`: the certificate HTTPS serves, from the files (tls.cert, or the
//! ACME certificate in the data directory) and the ACME client's last state.

use crate::acme::{CertInfo, Storage};
use crate::config::Config;
use clap::Subcommand;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Which certificate is served, until when, and how renewal went. Exit status 1 if it
    /// expires within 7 days or there is none.
    Status,
}

pub fn run(cmd: CertCommand, config: &Config) -> Result<ExitCode, String> {
    let CertCommand::Status = cmd;
    let (source, chain) = if let Some(t) = &config.tls {
        let chain = std::fs::read_to_string(&t.files.cert)
            .map_err(|e| format!("cannot read {}: {e}", t.files.cert.display()))?;
        (format!("tls.cert {}", t.files.cert.display()), Some(chain))
    } else if config.acme.is_some() {
        let storage = Storage::open(&config.data_dir)?;
        let path = storage.dir().join(crate::acme::storage::CERT_FILE);
        (
            format!("ACME, stored in {}", storage.dir().display()),
            std::fs::read_to_string(&path).ok(),
        )
    } else {
        println!("no HTTPS: neither [tls] nor [acme] is configured");
        return Ok(ExitCode::SUCCESS);
    };
    println!("source: {source}");
    if let Some(acme) = &config.acme {
        println!("domains wanted: {}", acme.domains.join(", "));
        println!(
            "directory: {}",
            lookout_core::redact::mask_url_secrets(&acme.directory_url)
        );
    }
    let healthy = match chain {
        None => {
            println!("certificate: none yet");
            false
        }
        Some(chain) => {
            let info = CertInfo::of_pem_chain(&chain)?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let days = (info.not_after.saturating_sub(now)) / 86_400;
            println!("certificate: {}", info.domains.join(", "));
            println!("issuer: {}", info.issuer);
            println!(
                "expires: {} ({days} days left)",
                humantime::format_rfc3339_seconds(
                    UNIX_EPOCH + std::time::Duration::from_secs(info.not_after)
                )
            );
            info.not_after > now + 7 * 86_400
        }
    };
    if config.acme.is_some() {
        let state = Storage::open(&config.data_dir)?.load_state();
        if let Some(err) = state.as_ref().and_then(|s| s["last_error"].as_str()) {
            println!("last error: {err}");
        }
        if let Some(next) = state.as_ref().and_then(|s| s["next_attempt"].as_u64()) {
            println!(
                "next check: {}",
                humantime::format_rfc3339_seconds(
                    UNIX_EPOCH + std::time::Duration::from_secs(next)
                )
            );
        }
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
