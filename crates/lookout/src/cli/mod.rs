//! The command line: `lookout [serve]`, `lookout config check|example`, `lookout user ...`,
//! `lookout token ...`, `lookout nginx-site`, `lookout systemd-unit`, `lookout devices`,
//! `lookout controls`. Each command returns an exit code, or an error that `main` prints with
//! its causes (the message already says what to do) and exits 1 for.

mod alerts_cmd;
mod cert_cmd;
mod config_cmd;
mod deploy_cmd;
mod devices_cmd;
mod output;
mod password_input;
mod serve;
mod tokens;
mod users;

use crate::config::{self, Config};
use crate::listen::systemd::SystemdSockets;
use clap::{Parser, Subcommand};
use lookout_core::Error;
use std::path::PathBuf;
use std::process::ExitCode;

pub use output::stdout_error;

#[derive(Debug, Parser)]
#[command(
    name = "lookout",
    version,
    about = "Camera streaming server: MJPEG streams, snapshots and a web page for every camera"
)]
pub struct Cli {
    /// Config file (default: ./lookout.toml, then /etc/lookout/lookout.toml, then a demo camera).
    #[arg(long, short, global = true)]
    pub config: Option<PathBuf>,
    /// Where the database lives (default: server.data_dir, else /var/lib/lookout as root,
    /// else ~/.local/share/lookout).
    #[arg(long, global = true, env = "LOOKOUT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the configured cameras (the default command).
    Serve(serve::ServeArgs),
    /// Check or write config files.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Manage users: add, passwd, remove, list, check, sessions, import-flask-cam.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage API tokens for programs: create, list, revoke.
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    /// Print an nginx site that serves Lookout over HTTPS (Let's Encrypt) and proxies to it.
    NginxSite(deploy_cmd::NginxSiteArgs),
    /// Print (or --install) a hardened systemd service for Lookout.
    SystemdUnit(deploy_cmd::SystemdUnitArgs),
    /// The HTTPS certificate: `lookout cert status`.
    #[command(subcommand)]
    Cert(cert_cmd::CertCommand),
    /// Alerts: `lookout alerts test` sends one through every rule now.
    #[command(subcommand)]
    Alerts(alerts_cmd::AlertsCommand),
    /// List the V4L2 cameras (webcams) with their formats, sizes and frame rates.
    Devices(devices_cmd::DevicesArgs),
    /// List a V4L2 camera's controls, or set some: `lookout controls front brightness=140`.
    Controls(devices_cmd::ControlsArgs),
}

/// Runs the command; `systemd` holds the sockets systemd passed, which only `serve` uses.
/// The caller prints an error with its causes, then checks [`stdout_error`].
pub fn run(cli: Cli, systemd: SystemdSockets) -> Result<ExitCode, Error> {
    match cli
        .command
        .unwrap_or(Command::Serve(serve::ServeArgs::default()))
    {
        Command::Serve(args) => serve::run(args, cli.config.as_deref(), cli.data_dir, systemd),
        Command::Config(cmd) => config_cmd::run(cmd),
        Command::User(cmd) => load(&cli.config, cli.data_dir).and_then(|c| users::run(cmd, &c)),
        Command::Token(cmd) => load(&cli.config, cli.data_dir).and_then(|c| tokens::run(cmd, &c)),
        Command::NginxSite(args) => {
            load(&cli.config, cli.data_dir).and_then(|c| deploy_cmd::nginx_site(&args, &c))
        }
        Command::SystemdUnit(args) => {
            load(&cli.config, cli.data_dir).and_then(|c| deploy_cmd::systemd_unit(&args, &c))
        }
        Command::Cert(cmd) => load(&cli.config, cli.data_dir).and_then(|c| cert_cmd::run(cmd, &c)),
        Command::Alerts(cmd) => {
            load(&cli.config, cli.data_dir).and_then(|c| alerts_cmd::run(cmd, &c))
        }
        Command::Devices(args) => devices_cmd::devices(&args),
        // A device path needs no config (it may not load yet while a camera is set up).
        Command::Controls(args) if args.camera.starts_with('/') => {
            devices_cmd::controls(&args, None)
        }
        Command::Controls(args) => {
            load(&cli.config, cli.data_dir).and_then(|c| devices_cmd::controls(&args, Some(&c)))
        }
    }
}

/// The config (for the data directory and password cost), with `--data-dir` applied.
fn load(path: &Option<PathBuf>, data_dir: Option<PathBuf>) -> Result<Config, Error> {
    let mut c = config::discover(path.as_deref())?;
    if let Some(d) = data_dir {
        c.data_dir = d;
    }
    Ok(c)
}
