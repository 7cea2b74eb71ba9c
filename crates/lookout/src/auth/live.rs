//! Open streams and the credentials they were opened with: when a session, token or user is
//! revoked (here or by `lookout user`/`lookout token` in another process, which bump the
//! database's auth epoch), the affected streams end within a second.

use super::principal::Credential;
use lookout_store::{Db, Store, StoreError, auth_epoch, sessions, tokens, users};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
pub struct LiveStreams {
    next: AtomicU64,
    /// Open streams: credential, cancel token, and whether it was checked since it opened.
    open: Mutex<HashMap<u64, Entry>>,
}

#[derive(Debug)]
struct Entry {
    credential: Credential,
    /// The camera watched: a user whose camera list loses it is cut off too.
    camera: String,
    revoked: CancellationToken,
    /// False until the first sweep after the stream opened: a revocation that landed
    /// between the request's credential check and the registration is caught then.
    checked: bool,
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
    pub fn register(
        self: &std::sync::Arc<Self>,
        credential: Credential,
        camera: &str,
    ) -> Registration {
        self.register_under(credential, camera, &CancellationToken::new())
    }

    /// Like [`LiveStreams::register`], with a token that `parent` (the server's shutdown)
    /// cancels too: a stream that ends on either waits on one token.
    pub fn register_under(
        self: &std::sync::Arc<Self>,
        credential: Credential,
        camera: &str,
        parent: &CancellationToken,
    ) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let revoked = parent.child_token();
        self.open.lock().unwrap_or_else(|e| e.into_inner()).insert(
            id,
            Entry {
                credential,
                camera: camera.to_owned(),
                revoked: revoked.clone(),
                checked: false,
            },
        );
        Registration {
            id,
            revoked,
            streams: self.clone(),
        }
    }

    /// Watches the auth epoch in `store` and ends revoked streams, until `shutdown`;
    /// `on_revocation` runs at every change of the epoch (it clears the Basic login cache).
    pub async fn watch(
        self: std::sync::Arc<Self>,
        store: Store,
        on_revocation: impl Fn() + Send + 'static,
        shutdown: CancellationToken,
    ) {
        let mut last_epoch = None;
        let mut failing = false;
        let mut since_check = Duration::ZERO;
        loop {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = shutdown.cancelled() => return,
            }
            since_check += POLL;
            let epoch = match store.run(|db| auth_epoch(db)).await {
                Ok(e) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!("the revocation counter reads again");
                    }
                    e
                }
                Err(e) => {
                    // Revocations can no longer be seen: fail closed. Said once, not at
                    // every poll, unless there were streams to end.
                    let why = format!(
                        "cannot read the revocation counter in {}: {e}",
                        store.path().display()
                    );
                    if !self.end_all(&why) && !failing {
                        tracing::error!("{why}; streams opened now will be ended");
                    }
                    failing = true;
                    last_epoch = None;
                    continue;
                }
            };
            // The first reading counts as a change: a revocation may have come before it.
            let changed = last_epoch != Some(epoch);
            if changed {
                on_revocation();
            }
            let all = changed || since_check >= RECHECK;
            if all {
                since_check = Duration::ZERO;
            }
            // The epoch counts as seen only after a sweep that could read the database.
            if self.end_revoked(&store, all).await {
                last_epoch = Some(epoch);
            }
        }
    }

    /// Ends every open stream (revocations cannot be read: the database failed); false if
    /// there was none.
    fn end_all(&self, why: &str) -> bool {
        let map = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let live = map.values().filter(|e| !e.revoked.is_cancelled()).count();
        for entry in map.values() {
            entry.revoked.cancel();
        }
        if live > 0 {
            tracing::error!("{why}; ended {live} open stream(s) that could not be vouched for");
        }
        live > 0
    }

    /// Ends the streams whose credential is no longer valid: every stream when `all`, else
    /// only those opened since the last sweep. False if the database could not be read.
    async fn end_revoked(&self, store: &Store, all: bool) -> bool {
        let open: Vec<(u64, Credential, String)> = self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, e)| all || !e.checked)
            .map(|(id, e)| (*id, e.credential.clone(), e.camera.clone()))
            .collect();
        if open.is_empty() {
            return true;
        }
        let checked: Vec<u64> = open.iter().map(|(id, ..)| *id).collect();
        let verdicts = store
            .run(move |db| {
                open.into_iter()
                    .map(|(id, cred, camera)| Ok((id, still_valid(db, &cred, &camera)?)))
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .await;
        let verdicts = match verdicts {
            Ok(v) => v,
            Err(e) => {
                // Fail closed: a stream whose credential cannot be checked may be one that
                // was revoked. Its viewer can reconnect once the database reads again.
                let map = self.open.lock().unwrap_or_else(|e| e.into_inner());
                let mut ended = 0;
                for id in &checked {
                    if let Some(entry) = map.get(id).filter(|e| !e.revoked.is_cancelled()) {
                        entry.revoked.cancel();
                        ended += 1;
                    }
                }
                if ended > 0 {
                    tracing::error!(
                        "cannot check open streams' credentials, the database {} failed: {e}; ended {ended} stream(s) that could not be vouched for",
                        store.path().display()
                    );
                }
                return false;
            }
        };
        let mut map = self.open.lock().unwrap_or_else(|e| e.into_inner());
        for id in checked {
            if let Some(e) = map.get_mut(&id) {
                e.checked = true;
            }
        }
        for (id, valid) in verdicts {
            if let (false, Some(e)) = (valid, map.get(&id)) {
                e.revoked.cancel();
            }
        }
        true
    }
}

fn still_valid(db: &Db<'_>, cred: &Credential, camera: &str) -> Result<bool, StoreError> {
    let user_id: Option<i64> = match cred {
        Credential::Session { id, .. } => sessions::live_user(db, *id)?,
        Credential::Token { id } => tokens::live_user(db, *id)?,
        Credential::Basic { user_id, .. } => Some(*user_id),
    };
    let Some(user) = user_id.map(|id| users::get(db, id)).transpose()?.flatten() else {
        return Ok(false);
    };
    // Basic credentials are checked again at the next request; an open stream ends when
    // its password changes (the epoch is bumped).
    if let Credential::Basic { generation, .. } = cred
        && user.password_generation != *generation
    {
        return Ok(false);
    }
    Ok(user.may_view(camera))
}
