//! Open streams and the credentials they were opened with: when a session, token or user is
//! revoked (here or by `lookout user`/`lookout token` in another process, which bump the
//! database's auth epoch), the affected streams end within a second.

use super::Credential;
use crate::auth::{auth_epoch, sessions, tokens, users};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
pub struct LiveStreams {
    next: AtomicU64,
    open: Mutex<HashMap<u64, (Credential, CancellationToken)>>,
}

/// A registered stream; cancelled when its credential is revoked, unregistered on drop.
#[derive(Debug)]
pub struct Registration {
    id: u64,
    pub revoked: CancellationToken,
    streams: std::sync::Arc<LiveStreams>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.streams
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// How often the database's auth epoch is read.
const POLL: Duration = Duration::from_millis(400);
/// Open streams are re-checked this often even without a revocation (sessions expire).
const RECHECK: Duration = Duration::from_secs(30);

impl LiveStreams {
    pub fn register(self: &std::sync::Arc<Self>, credential: Credential) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let revoked = CancellationToken::new();
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (credential, revoked.clone()));
        Registration {
            id,
            revoked,
            streams: self.clone(),
        }
    }

    /// Watches the auth epoch and ends revoked streams, until `shutdown`.
    pub async fn watch(
        self: std::sync::Arc<Self>,
        auth: std::sync::Arc<super::AuthState>,
        shutdown: CancellationToken,
    ) {
        let mut last_epoch = None;
        let mut since_check = Duration::ZERO;
        loop {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = shutdown.cancelled() => return,
            }
            since_check += POLL;
            let epoch = match auth
                .store
                .run(|c| auth_epoch(c).map_err(StoreError::from))
                .await
            {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!("cannot read the auth epoch: {e}");
                    continue;
                }
            };
            // The first reading counts as a change: a revocation may have come before it.
            let changed = last_epoch != Some(epoch);
            last_epoch = Some(epoch);
            if changed {
                auth.forget_basic_logins();
            }
            if changed || since_check >= RECHECK {
                since_check = Duration::ZERO;
                self.end_revoked(&auth.store).await;
            }
        }
    }

    async fn end_revoked(&self, store: &Store) {
        let open: Vec<(u64, Credential)> = self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, (c, _))| (*id, c.clone()))
            .collect();
        if open.is_empty() {
            return;
        }
        let dead = store
            .run(move |c| {
                Ok(open
                    .into_iter()
                    .filter(|(_, cred)| !still_valid(c, cred))
                    .map(|(id, _)| id)
                    .collect::<Vec<_>>())
            })
            .await
            .unwrap_or_default();
        let map = self.open.lock().unwrap_or_else(|e| e.into_inner());
        for id in dead {
            if let Some((_, token)) = map.get(&id) {
                token.cancel();
            }
        }
    }
}

fn still_valid(c: &rusqlite::Connection, cred: &Credential) -> bool {
    match cred {
        Credential::Session { id, .. } => sessions::is_live(c, *id).unwrap_or(true),
        Credential::Token { id } => tokens::is_live(c, *id).unwrap_or(true),
        // Basic credentials are checked again at the next request; an open stream ends when
        // its user is removed or its password changes (both bump the epoch).
        Credential::Basic {
            user_id,
            generation,
        } => users::get(c, *user_id)
            .map(|u| u.is_some_and(|u| u.password_generation == *generation))
            .unwrap_or(true),
    }
}
