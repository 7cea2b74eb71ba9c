//! `lookout-bench watch`: reads an MJPEG stream and prints, once a second, its frame rate, mean
//! part size and capture-to-receipt latency; a smoke test of the client against any server.

use super::runtime;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Server address, e.g. 127.0.0.1:8080.
    pub addr: SocketAddr,
    /// Path and query of the stream.
    #[arg(default_value = "/")]
    pub path: String,
    /// Stop after this many frames.
    #[arg(long, default_value_t = 150)]
    pub frames: u64,
}

pub fn run(args: &WatchArgs) -> io::Result<()> {
    runtime::single_thread()?.block_on(watch(args))
}

async fn watch(args: &WatchArgs) -> io::Result<()> {
    let started = Instant::now();
    let mut stream = lookout_bench::open_stream(args.addr, &args.path, &[]).await?;
    println!(
        "status {}, Content-Type {:?}, Transfer-Encoding {:?}",
        stream.status(),
        stream.header("content-type").unwrap_or("none"),
        stream.header("transfer-encoding").unwrap_or("none"),
    );
    if stream.boundary().is_none() {
        let body = stream.read_body().await?;
        println!("not multipart; body: {}", String::from_utf8_lossy(&body));
        return Ok(());
    }
    let (mut total, mut frames, mut bytes, mut latency) = (0u64, 0u32, 0usize, Duration::ZERO);
    let mut timed = 0u32;
    let mut tick = Instant::now();
    while total < args.frames {
        let Some(part) = stream.next_part().await? else {
            println!("the server ended the stream");
            break;
        };
        if total == 0 {
            println!(
                "first frame after {:.0} ms",
                started.elapsed().as_secs_f64() * 1e3
            );
        }
        total += 1;
        frames += 1;
        bytes += part.body.len();
        if let Some(l) = part.latency() {
            latency += l;
            timed += 1;
        }
        let elapsed = tick.elapsed();
        if elapsed >= Duration::from_secs(1) || total == args.frames {
            println!(
                "{:.1} fps, mean part {:.1} KB, mean latency {}",
                f64::from(frames) / elapsed.as_secs_f64(),
                bytes as f64 / f64::from(frames) / 1024.0,
                if timed > 0 {
                    format!("{:.1} ms", (latency / timed).as_secs_f64() * 1e3)
                } else {
                    "n/a (no X-Timestamp)".into()
                },
            );
            (frames, bytes, latency, timed) = (0, 0, Duration::ZERO, 0);
            tick = Instant::now();
        }
    }
    println!("{total} frames in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
