//! `lookout nginx-site` and `lookout systemd-unit`: print, or install, the files that run
//! Lookout behind nginx and as a systemd service. The file goes to standard output, what the
//! operator should fix in the config to standard error.

use super::output::{errln, out, outln};
use crate::config::Config;
use crate::deploy::{Generated, nginx, systemd};
use crate::listen::ListenSpec;
use lookout_core::Error;
use lookout_core::error::io_kind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct NginxSiteArgs {
    /// The domain clients use; it also names the Let's Encrypt certificate.
    #[arg(long, value_name = "NAME", default_value = nginx::PLACEHOLDER_NAME)]
    pub server_name: String,
    /// Where `certbot --webroot` puts HTTP-01 challenges, served on port 80.
    #[arg(long, value_name = "DIR", default_value = nginx::DEFAULT_WEBROOT)]
    pub webroot: PathBuf,
    /// Proxy to this address (unix:/PATH or IP:PORT) instead of the first usable one of
    /// server.listen: for a socket systemd passes (`listen = ["systemd"]`).
    #[arg(long, value_name = "ADDR")]
    pub upstream: Option<ListenSpec>,
}

#[derive(Debug, clap::Args)]
pub struct SystemdUnitArgs {
    /// Write /etc/systemd/system/lookout.service (as root) instead of printing it.
    #[arg(long)]
    pub install: bool,
}

pub fn nginx_site(args: &NginxSiteArgs, config: &Config) -> Result<ExitCode, Error> {
    let site = nginx::nginx_site(
        config,
        &args.server_name,
        &args.webroot,
        args.upstream.as_ref(),
    )?;
    print_warnings(&site);
    out!("{}", site.text);
    Ok(ExitCode::SUCCESS)
}

pub fn systemd_unit(args: &SystemdUnitArgs, config: &Config) -> Result<ExitCode, Error> {
    let exe = std::env::current_exe().map_err(|e| {
        Error::wrap(
            io_kind(&e),
            "cannot find the path of this program for ExecStart",
            e,
        )
    })?;
    let config_path = match &config.origin {
        Some(p) => Some(std::path::absolute(p).map_err(|e| {
            Error::wrap(
                io_kind(&e),
                format!("cannot make {} an absolute path", p.display()),
                e,
            )
        })?),
        None => None,
    };
    let unit = systemd::systemd_unit(config, &exe, config_path.as_deref())?;
    print_warnings(&unit);
    if !args.install {
        out!("{}", unit.text);
        return Ok(ExitCode::SUCCESS);
    }
    let path = Path::new(systemd::UNIT_PATH);
    systemd::install(&unit.text, path)?;
    outln!(
        "wrote {}; now run:\n    systemctl daemon-reload\n    systemctl enable --now lookout",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn print_warnings(g: &Generated) {
    for w in &g.warnings {
        errln!("warning: {w}");
    }
}
