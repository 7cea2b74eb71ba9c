//! Wiring: a hub and a supervised source per camera, the router, the server.
//! [`run`] is what `lookout serve` calls and what tests call on a port-0 listener.

use crate::config::{Config, SourceConfig};
use crate::server::{self, ConnectionStats, Limits};
use crate::web::{self, AppState, CameraEntry};
use lookout_core::CameraHub;
use lookout_sources::http::HttpSource;
use lookout_sources::{Source, supervise};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

fn source_of(cfg: &SourceConfig) -> Arc<dyn Source> {
    match cfg {
        SourceConfig::TestPattern(s) => Arc::new(s.clone()),
        SourceConfig::Files(s) => Arc::new(s.clone()),
        SourceConfig::Command(s) => Arc::new(s.clone()),
        SourceConfig::Http(s) => Arc::new(HttpSource::clone(s)),
    }
}

/// Serves `config` on `listeners` until `shutdown` is cancelled, then ends every stream,
/// stops every source and returns.
pub async fn run(listeners: Vec<TcpListener>, config: Config, shutdown: CancellationToken) {
    let sources = TaskTracker::new();
    let cameras: Vec<CameraEntry> = config
        .cameras
        .iter()
        .map(|c| {
            let hub = CameraHub::new(&c.id, c.quality);
            sources.spawn(supervise(
                hub.clone(),
                source_of(&c.source),
                c.supervisor.clone(),
                shutdown.clone(),
            ));
            CameraEntry {
                id: c.id.clone(),
                name: c.name.clone(),
                kind: c.source.kind(),
                hub,
            }
        })
        .collect();
    sources.close();
    let connections = Arc::new(ConnectionStats::default());
    let s = &config.server;
    let state = Arc::new(AppState {
        cameras,
        snapshot_timeout: s.snapshot_timeout,
        request_timeout: s.request_timeout,
        connections: connections.clone(),
        shutdown: shutdown.clone(),
        started: Instant::now(),
    });
    let limits = Limits {
        max_connections: s.max_connections,
        write_timeout: s.write_timeout,
        header_read_timeout: s.header_read_timeout,
        max_header_bytes: s.max_header_bytes,
        max_headers: s.max_headers,
    };
    server::serve(listeners, web::router(state), limits, connections, shutdown).await;
    if tokio::time::timeout(Duration::from_secs(5), sources.wait())
        .await
        .is_err()
    {
        tracing::warn!("some sources did not stop within 5 s");
    }
}
