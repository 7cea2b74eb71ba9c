//! What a camera lends the variant encodes of its frames: the default quality, its encoder
//! slots, the server's variant memory budget and its counters. The hub owns one per camera and
//! hands it to [`Frame::jpeg_for`](crate::Frame::jpeg_for), so a frame needs nothing else of
//! the hub.

use crate::budget::VariantBudget;
use crate::stats::CameraStats;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub struct VariantEncoder {
    default_quality: u8,
    /// Variant encodes of this camera running at once.
    slots: Arc<Semaphore>,
    /// The memory variant encodes of every camera may hold at once.
    budget: Arc<VariantBudget>,
    stats: Arc<CameraStats>,
}

impl VariantEncoder {
    /// [`encoders_per_camera`] slots; encodes count in `stats` and hold memory of `budget`.
    pub fn new(default_quality: u8, budget: Arc<VariantBudget>, stats: Arc<CameraStats>) -> Self {
        Self {
            default_quality,
            slots: Arc::new(Semaphore::new(encoders_per_camera())),
            budget,
            stats,
        }
    }

    /// The JPEG quality of a variant that names none.
    pub fn default_quality(&self) -> u8 {
        self.default_quality
    }

    pub fn budget(&self) -> &Arc<VariantBudget> {
        &self.budget
    }

    pub fn stats(&self) -> &Arc<CameraStats> {
        &self.stats
    }

    /// Waits for one of the camera's encoder slots ([`encoders_per_camera`]): one camera's
    /// variants cannot take every core or every place in the memory budget's queue.
    pub async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        // Fails only on a closed semaphore, and this one is never closed.
        self.slots.clone().acquire_owned().await.ok()
    }
}

/// Variant encodes one camera runs at once: the machine's cores, at least 2. More would not
/// be faster, only hold more memory.
pub fn encoders_per_camera() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}
