//! Retention, run at start and then hourly: `lookout_store::retention` removes the events
//! older than `events.keep_days` with their pictures, and the oldest pictures past
//! `events.max_snapshot_mib`.

use lookout_store::Store;
pub use lookout_store::retention::Retention;
use lookout_store::retention::sweep;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub async fn run(store: Store, dir: PathBuf, policy: Retention, shutdown: CancellationToken) {
    loop {
        let (s, d) = (store.clone(), dir.clone());
        match tokio::task::spawn_blocking(move || sweep(&s, &d, policy)).await {
            Ok(Ok((events, pictures))) if events + pictures > 0 => {
                tracing::info!("retention: {events} old events and {pictures} pictures removed");
            }
            Ok(Err(e)) => tracing::warn!("retention: {}", e.chain()),
            _ => {}
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
