//! `lookout-bench memory`: a server's resident memory at rest, with many stalled viewers, and
//! after the server dropped them. Stalled viewers send their request and never read, as
//! sleeping laptops do; the server drops each once its write timeout runs out.

use super::server::Server;
use super::{procfs, runtime};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// How long after start the idle server's memory is read (as `fanout` does).
const IDLE_SETTLE: Duration = Duration::from_secs(2);

/// Viewers join this many at a time, one batch every `RAMP_INTERVAL` (as in `fanout`).
const RAMP_BATCH: usize = 10;
const RAMP_INTERVAL: Duration = Duration::from_millis(10);

/// Each stalled viewer's receive buffer: small, so that the server's writes block after a few
/// frames instead of after the megabytes loopback's autotuning would take.
const STALLED_RECV_BUFFER_BYTES: u32 = 4096;

/// After the viewers are gone, memory is read at these times.
const AFTER: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(15),
    Duration::from_secs(45),
];

#[derive(Debug, clap::Args)]
pub struct MemoryArgs {
    /// The `lookout` binary to measure, e.g. target/release/lookout.
    #[arg(long, value_name = "PATH")]
    pub server_bin: PathBuf,
    /// Stalled viewers to open.
    #[arg(long, default_value_t = 1000)]
    pub viewers: usize,
    /// The server's `write_timeout_ms`: how long a stalled viewer is kept.
    #[arg(long, default_value_t = 5000)]
    pub write_timeout_ms: u64,
    /// Camera width (the built-in test pattern).
    #[arg(long, default_value_t = 1280)]
    pub width: u32,
    /// Camera height.
    #[arg(long, default_value_t = 720)]
    pub height: u32,
    /// Camera frame rate.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Environment for the server, `NAME=VALUE`, repeatable (e.g. `MALLOC_ARENA_MAX=1`, to
    /// compare allocator settings).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
}

pub fn run(args: &MemoryArgs) -> io::Result<()> {
    if args.viewers == 0 {
        return Err(io::Error::other("--viewers must be above 0"));
    }
    let limit = procfs::raise_open_files_limit()?;
    if limit < args.viewers as u64 + 64 {
        return Err(io::Error::other(format!(
            "the open-files limit is {limit}, too low for {} viewers; raise the hard limit \
             (ulimit -Hn)",
            args.viewers
        )));
    }
    let env = args
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| io::Error::other(format!("--env {kv:?} is not NAME=VALUE")))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let rt = runtime::single_thread()?;
    rt.block_on(measure(args, &env))
}

fn config_toml(args: &MemoryArgs) -> String {
    // No logins (a config file turns them on); connection limits above the viewer count: all
    // viewers come from 127.0.0.1.
    let most = args.viewers + 64;
    format!(
        "[auth]\nmode = \"none\"\n[server]\nwrite_timeout_ms = {}\nmax_connections = {most}\nmax_connections_per_address = {most}\n\
         [[camera]]\nid = \"bench\"\n[camera.source]\nkind = \"testpattern\"\nwidth = {}\nheight = {}\nfps = {}\n",
        args.write_timeout_ms, args.width, args.height, args.fps
    )
}

async fn measure(args: &MemoryArgs, env: &[(String, String)]) -> io::Result<()> {
    let server = Server::start_with_env(&args.server_bin, &config_toml(args), env).await?;
    let pid = server.pid();
    println!(
        "server {} {}, camera testpattern {}x{} at {} fps, {} stalled viewers, write timeout {} ms",
        args.server_bin.display(),
        args.env.join(" "),
        args.width,
        args.height,
        args.fps,
        args.viewers,
        args.write_timeout_ms
    );
    println!(
        "| when | RSS MB | anonymous MB | file MB | threads | viewers |\n|---|---:|---:|---:|---:|---:|"
    );
    tokio::time::sleep(IDLE_SETTLE).await;
    let idle = procfs::memory(pid)?;
    row("idle, 2 s after start", idle, Some(0));

    let mut viewers = Vec::with_capacity(args.viewers);
    for batch in 0..args.viewers.div_ceil(RAMP_BATCH) {
        let first = batch * RAMP_BATCH;
        for _ in first..args.viewers.min(first + RAMP_BATCH) {
            viewers.push(stalled_viewer(server.addr).await?);
        }
        tokio::time::sleep(RAMP_INTERVAL).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let count = viewer_count(server.addr).await;
    row(
        "all viewers in, 1 s after the last",
        procfs::memory(pid)?,
        count,
    );

    // The server drops them once its writes blocked for the write timeout.
    let deadline = Instant::now() + Duration::from_millis(args.write_timeout_ms * 2 + 10_000);
    loop {
        let count = viewer_count(server.addr).await;
        if count == Some(0) || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let dropped_at = Instant::now();
    let left = viewer_count(server.addr).await;
    let m = procfs::memory(pid)?;
    row("the server dropped them", m, left);
    drop(viewers);
    for after in AFTER {
        tokio::time::sleep_until(dropped_at + after).await;
        let m = procfs::memory(pid)?;
        row(
            &format!("{} s after", after.as_secs()),
            m,
            viewer_count(server.addr).await,
        );
    }
    let end = procfs::memory(pid)?;
    println!(
        "\npeak RSS {:.1} MB; {:.1} MB above idle {} s after the viewers were dropped",
        mb(end.peak_kib),
        (end.rss_kib as f64 - idle.rss_kib as f64) / 1024.0,
        AFTER[AFTER.len() - 1].as_secs()
    );
    server.stop().await?;
    Ok(())
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn row(when: &str, m: procfs::Memory, viewers: Option<u64>) {
    let viewers = viewers.map_or_else(|| "?".to_owned(), |v| v.to_string());
    println!(
        "| {when} | {:.1} | {:.1} | {:.1} | {} | {viewers} |",
        mb(m.rss_kib),
        mb(m.anon_kib),
        mb(m.file_kib),
        m.threads
    );
}

/// Connects with a small receive buffer, asks for the stream and never reads.
async fn stalled_viewer(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_recv_buffer_size(STALLED_RECV_BUFFER_BYTES)?;
    let mut s = socket.connect(addr).await?;
    let request = format!("GET /cameras/bench/stream.mjpeg HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    s.write_all(request.as_bytes()).await?;
    Ok(s)
}

/// The camera's `viewer_count` from `/api/cameras/bench`, or `None` if that cannot be read.
async fn viewer_count(addr: SocketAddr) -> Option<u64> {
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        lookout_bench::get(addr, "/api/cameras/bench", &[]),
    )
    .await
    .ok()?
    .ok()?;
    let body = String::from_utf8_lossy(&r.body);
    let rest = body.split_once("\"viewer_count\":")?.1;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: MemoryArgs,
    }

    #[test]
    fn the_config_lets_every_viewer_in_and_drops_them_after_the_timeout() {
        let a = Cli::try_parse_from(["memory", "--server-bin", "lookout", "--viewers", "10"])
            .expect("valid arguments")
            .args;
        let toml = config_toml(&a);
        assert!(toml.contains("write_timeout_ms = 5000\n"), "{toml}");
        assert!(
            toml.contains("max_connections_per_address = 74\n"),
            "{toml}"
        );
        assert!(
            toml.contains("width = 1280\nheight = 720\nfps = 30\n"),
            "{toml}"
        );
    }
}
