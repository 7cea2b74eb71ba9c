//! `lookout-bench webrtc` (feature `webrtc`): for each peer count, start a fresh server with
//! one libx264 `command` camera passed through (no re-encode), open that many WebRTC peers
//! over WHEP (str0m clients on loopback UDP, in this one process), and measure frames each
//! peer receives and the server's CPU over a window (`/proc`, as `fanout` does; ffmpeg's CPU
//! apart).

use super::server::Server;
use super::{procfs, runtime};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

#[derive(Debug, clap::Args)]
pub struct WebRtcArgs {
    /// The `lookout` binary to measure, built with `--features webrtc`.
    #[arg(long, value_name = "PATH")]
    pub server_bin: PathBuf,
    /// Peer counts to measure, comma-separated; each gets a freshly started server.
    #[arg(long, value_delimiter = ',', default_value = "1,10,50")]
    pub peers: Vec<usize>,
    /// Length of each measurement window, after the warm-up.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Seconds after the last peer was opened, before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup_seconds: u64,
    #[arg(long, default_value_t = 1280)]
    pub width: u32,
    #[arg(long, default_value_t = 720)]
    pub height: u32,
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
}

pub fn run(args: &WebRtcArgs) -> io::Result<()> {
    if args.peers.is_empty() || args.peers.contains(&0) || args.seconds == 0 {
        return Err(io::Error::other(
            "--peers must be counts above 0 and --seconds above 0",
        ));
    }
    let rt = runtime::single_thread()?;
    println!(
        "| peers | fps per peer min | fps median | server CPU % of a core | server CPU ms per peer-second | ffmpeg CPU % | client CPU % |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &args.peers {
        eprintln!("webrtc: {n} peer(s)…");
        let line = rt.block_on(run_one(args, n))?;
        println!("{line}");
    }
    Ok(())
}

fn config_toml(args: &WebRtcArgs, peers: usize) -> String {
    let (w, h, fps) = (args.width, args.height, args.fps);
    format!(
        "[auth]\nmode = \"none\"\n[webrtc]\nudp_port = 0\ntcp = false\nmax_peers = {peers}\n\
         max_peers_per_camera = {peers}\n\
         [[camera]]\nid = \"bench\"\nkeep_warm = true\n[camera.source]\nkind = \"command\"\n\
         format = \"h264\"\ncommand = [\"ffmpeg\", \"-hide_banner\", \"-loglevel\", \"error\", \
         \"-re\", \"-f\", \"lavfi\", \"-i\", \"testsrc2=size={w}x{h}:rate={fps}\", \"-c:v\", \
         \"libx264\", \"-preset\", \"veryfast\", \"-tune\", \"zerolatency\", \"-bf\", \"0\", \
         \"-g\", \"{fps}\", \"-f\", \"h264\", \"-\"]\n"
    )
}

async fn run_one(args: &WebRtcArgs, peers: usize) -> io::Result<String> {
    let mut server = Server::start(&args.server_bin, &config_toml(args, peers)).await?;
    let pid = server.pid();
    let mut counters = Vec::new();
    for _ in 0..peers {
        let frames = Arc::new(AtomicU64::new(0));
        let peer = open_peer(server.addr).await?;
        let count = frames.clone();
        tokio::spawn(async move { drive(peer, count).await });
        counters.push(frames);
    }
    tokio::time::sleep(Duration::from_secs(args.warmup_seconds)).await;
    let frames0: Vec<u64> = counters.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let cpu0 = procfs::cpu_seconds(pid)?;
    let ffmpeg0: f64 = procfs::descendants(pid).iter().map(|p| p.cpu_s).sum();
    let client0 = procfs::cpu_seconds(std::process::id())?;
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let secs = start.elapsed().as_secs_f64();
    let cpu = procfs::cpu_seconds(pid)? - cpu0;
    let ffmpeg = procfs::descendants(pid)
        .iter()
        .map(|p| p.cpu_s)
        .sum::<f64>()
        - ffmpeg0;
    let client = procfs::cpu_seconds(std::process::id())? - client0;
    if let Some(status) = server.exited()? {
        return Err(io::Error::other(format!("the server exited: {status}")));
    }
    // Frame counts over a window of seconds are far inside f64's exact range.
    #[allow(clippy::cast_precision_loss)]
    let mut fps: Vec<f64> = counters
        .iter()
        .zip(frames0)
        .map(|(c, f0)| (c.load(Ordering::Relaxed) - f0) as f64 / secs)
        .collect();
    fps.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)]
    let per_peer_ms = cpu * 1000.0 / secs / peers as f64;
    server.stop().await?;
    Ok(format!(
        "| {peers} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} |",
        fps.first().copied().unwrap_or(0.0),
        fps[fps.len() / 2],
        cpu * 100.0 / secs,
        per_peer_ms,
        ffmpeg * 100.0 / secs,
        client * 100.0 / secs,
    ))
}

struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
}

async fn open_peer(server: SocketAddr) -> io::Result<Peer> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let local = socket.local_addr()?;
    let mut rtc = Rtc::builder()
        .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
        .build(Instant::now());
    let candidate = Candidate::host(local, "udp").map_err(io::Error::other)?;
    rtc.add_local_candidate(candidate);
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, pending) = api.apply().ok_or_else(|| io::Error::other("no offer"))?;
    let r = lookout_bench::request(
        server,
        "POST",
        "/cameras/bench/whep",
        &[("content-type", "application/sdp")],
        Some(offer.to_sdp_string().as_bytes()),
    )
    .await?;
    let body = String::from_utf8_lossy(&r.body).into_owned();
    if r.status != 201 {
        return Err(io::Error::other(format!(
            "WHEP answered {}: {body}",
            r.status
        )));
    }
    let answer = SdpAnswer::from_sdp_string(&body).map_err(io::Error::other)?;
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .map_err(io::Error::other)?;
    Ok(Peer { rtc, socket, local })
}

/// Drives one peer (str0m is sans-I/O) and counts the frames it receives.
async fn drive(mut p: Peer, frames: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 2048];
    loop {
        let timeout = loop {
            match p.rtc.poll_output() {
                Ok(Output::Timeout(t)) => break t,
                Ok(Output::Transmit(t)) => {
                    let _ = p.socket.send_to(&t.contents, t.destination).await;
                }
                Ok(Output::Event(Event::MediaData(_))) => {
                    frames.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Output::Event(_)) => {}
                Err(_) => return,
            }
        };
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let input = match tokio::time::timeout(wait, p.socket.recv_from(&mut buf)).await {
            Ok(Ok((n, source))) => match buf[..n].try_into() {
                Ok(contents) => Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: p.local,
                        contents,
                    },
                ),
                Err(_) => continue,
            },
            _ => Input::Timeout(Instant::now()),
        };
        if p.rtc.handle_input(input).is_err() {
            return;
        }
    }
}
