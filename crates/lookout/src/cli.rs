//! The command line: `lookout [serve]`, `lookout config check|example`.

use crate::config::{self, Config};
use crate::{app, server, signals};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    name = "lookout",
    version,
    about = "Camera streaming server: MJPEG streams, snapshots and a web page for every camera"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the configured cameras (the default command).
    Serve(ServeArgs),
    /// Check or write config files.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Config file (default: ./lookout.toml, then /etc/lookout/lookout.toml, then a demo camera).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Listen on this address instead of the configured ones; repeat for several.
    #[arg(long, value_name = "ADDR")]
    pub listen: Vec<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file and print it with every default filled in.
    Check { file: PathBuf },
    /// Print a commented example config.
    Example,
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(args),
        Command::Config(ConfigCommand::Example) => {
            print!("{}", config::EXAMPLE);
            ExitCode::SUCCESS
        }
        Command::Config(ConfigCommand::Check { file }) => match config::load(&file) {
            Ok(c) => {
                match toml::to_string_pretty(&c.file.redacted()) {
                    Ok(text) => print!("{text}"),
                    Err(e) => eprintln!("(cannot print the resolved config: {e})"),
                }
                eprintln!("{}: OK ({} camera(s))", file.display(), c.cameras.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let mut config = match config::discover(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    if !args.listen.is_empty() {
        config.server.listen = args.listen;
    }
    if config.server.listen.is_empty() {
        eprintln!(
            "nothing to listen on: set server.listen in the config or pass --listen 127.0.0.1:8080"
        );
        return ExitCode::from(1);
    }
    server::raise_open_files_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let listeners = match server::bind_all(&config.server.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
        };
        announce(&config, &listeners);
        let shutdown = CancellationToken::new();
        if let Err(e) = signals::install(shutdown.clone()) {
            eprintln!("cannot install signal handlers: {e}");
            return ExitCode::from(1);
        }
        app::run(listeners, config, shutdown).await;
        tracing::info!("stopped");
        ExitCode::SUCCESS
    })
}

fn announce(config: &Config, listeners: &[tokio::net::TcpListener]) {
    let origin = config.origin.as_ref().map_or_else(
        || "no config file: serving the demo camera".to_owned(),
        |p| format!("config {}", p.display()),
    );
    println!(
        "Lookout {} ({origin}), {} camera(s)",
        env!("CARGO_PKG_VERSION"),
        config.cameras.len()
    );
    for l in listeners {
        if let Ok(addr) = l.local_addr() {
            println!("listening on http://{addr}/");
        }
    }
}
