//! `lookout serve`: load the config, bind, announce, serve until a signal.

use super::output::{errln, outln};
use crate::config::{self, AuthMode, Config};
use crate::deploy::notify;
use crate::listen::systemd::SystemdSockets;
use crate::listen::{self, Bound, ListenSpec};
use crate::{app, server, signals};
use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Listen here instead of the configured addresses (IP:PORT, https://IP:PORT,
    /// unix:/PATH, systemd); repeat for several.
    #[arg(long, value_name = "ADDR")]
    pub listen: Vec<ListenSpec>,
}

pub fn run(
    args: ServeArgs,
    config_path: Option<&Path>,
    data_dir: Option<PathBuf>,
    mut systemd: SystemdSockets,
) -> Result<ExitCode, Error> {
    let mut config = config::discover(config_path)?;
    if !args.listen.is_empty() {
        config.server.listen = args.listen;
    }
    if let Some(d) = data_dir {
        config.data_dir = d;
    }
    let https_listener = config
        .server
        .listen
        .iter()
        .find(|l| matches!(l, ListenSpec::Tcp { tls: true, .. }));
    if let (Some(l), None, None) = (https_listener, &config.tls, &config.acme) {
        return Err(Error::invalid(format!(
            "{l} needs a certificate: add an [acme] table (automatic certificates) or set tls.cert and tls.key"
        )));
    }
    if config.server.listen.is_empty() {
        return Err(Error::invalid(
            "nothing to listen on: set server.listen in the config or pass --listen 127.0.0.1:8080",
        ));
    }
    // The demo has no accounts, which is only allowed on loopback: elsewhere it needs logins.
    if config.origin.is_none() && config.server.listen.iter().any(|a| !a.is_local()) {
        config.auth.mode = AuthMode::Login;
        errln!(
            "the demo listens beyond this machine, so it needs a login: create one with `lookout user add NAME --role admin`"
        );
    }
    warn_about_readable_secrets(&config);
    // Before binding: a second server on this data directory, a damaged database or a full
    // disk is said now, and nothing is announced.
    let data = app::open_data_dir(&config)?;
    server::raise_open_files_limit();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = config.server.worker_threads {
        runtime.worker_threads(n);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| Error::wrap(io_kind(&e), "cannot start the async runtime", e))?;
    runtime.block_on(async move {
        let listeners =
            listen::bind_all(&config.server.listen, &config.server.socket, &mut systemd).await?;
        if !systemd.is_empty() {
            // Closed when `systemd` is dropped; systemd keeps its own copies.
            tracing::warn!(
                "systemd passed {} socket(s) that server.listen does not use; add \"systemd\" to server.listen to serve on them",
                systemd.len()
            );
        }
        app::check_auth_mode(&config, &listeners)?;
        announce(&config, &listeners);
        let shutdown = CancellationToken::new();
        signals::install(shutdown.clone())
            .map_err(|e| Error::wrap(ErrorKind::Internal, "cannot install signal handlers", e))?;
        // Under a systemd `Type=notify` unit: READY=1 now that the listeners are bound,
        // WATCHDOG=1 pings, STOPPING=1 when the shutdown starts.
        let notifying = notify::Notifier::from_env().map(|n| n.serving(shutdown.clone()));
        let result = app::run_with(listeners, config, data, shutdown.clone()).await;
        // An error ends serving too: systemd hears STOPPING=1 either way.
        shutdown.cancel();
        if let Some(task) = notifying {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), task).await;
        }
        result?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// A TLS key or a password file that every user of the machine can read is a secret no
/// longer: said at start (the file is left as it is).
fn warn_about_readable_secrets(config: &Config) {
    for (what, path) in config::secret_files(config) {
        if let Some(mode) = lookout_store::files::readable_by_others(&path) {
            tracing::warn!(
                "{what} {} can be read by every user of this machine (mode {mode:o}); `chmod 600 {}` (or 640 with the group Lookout runs in) keeps it secret",
                path.display(),
                path.display()
            );
        }
    }
}

fn announce(config: &Config, listeners: &[Bound]) {
    let origin = config.origin.as_ref().map_or_else(
        || "no config file: serving the demo camera".to_owned(),
        |p| format!("config {}", p.display()),
    );
    outln!(
        "Lookout {} ({origin}), {} camera(s)",
        env!("CARGO_PKG_VERSION"),
        config.cameras.len()
    );
    for l in listeners {
        outln!("listening on {}", l.describe());
    }
    if config.origin.is_none() {
        outln!("{FIRST_RUN_HINT}");
    }
}

/// The next step for somebody who just ran `lookout` without a config.
const FIRST_RUN_HINT: &str = "next: make a config with `lookout config example > lookout.toml`, edit it and start again (Ctrl-C stops)";
