//! The floor for Lookout's idle memory: a hello-world HTTP server on the same runtime and
//! HTTP stack (tokio's multi-thread runtime, hyper-util's HTTP/1 + HTTP/2 `auto` builder,
//! axum's router), built with the same profile, to measure the same way as `lookout serve`
//! (docs/performance.md, "Idle memory of the release binary").
//!
//!     cargo build --release -p lookout --example idle_floor
//!     target/release/examples/idle_floor 127.0.0.1:8080
//!
//! It answers `GET /` with "hello" and nothing else.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(addr) = std::env::args().nth(1) else {
        eprintln!("usage: idle_floor IP:PORT");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(&addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{addr}: {e}");
            ExitCode::from(1)
        }
    }
}

async fn serve(addr: &str) -> std::io::Result<()> {
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            // A client that goes away is no error of the server's.
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
