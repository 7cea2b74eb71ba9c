//! The memory that variant encodes may hold at once, shared by every camera of a server: a
//! burst of big variants waits for its turn instead of allocating without bound.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget counts KiB: `Semaphore::acquire_many` takes a `u32`, and in KiB that reaches
/// 4 TiB, while bytes would stop at 4 GiB.
const KIB: u64 = 1024;

#[derive(Debug)]
pub struct VariantBudget {
    capacity_kib: u32,
    free: Arc<Semaphore>,
}

/// A share of the budget, given back on drop.
#[derive(Debug)]
pub struct BudgetPermit {
    _permit: Option<OwnedSemaphorePermit>,
}

impl VariantBudget {
    /// `server.variant_memory_mb`'s default: room for several 1080p encodes (~25 MB each) or
    /// one 4K encode at a time, little next to even a small board's memory.
    pub const DEFAULT_BYTES: u64 = 128 << 20;

    /// A budget of `bytes` (at least 1 KiB).
    pub fn new(bytes: u64) -> Self {
        let most = u64::from(u32::MAX).min(Semaphore::MAX_PERMITS as u64);
        let capacity_kib = (bytes / KIB).clamp(1, most) as u32;
        Self {
            capacity_kib,
            free: Arc::new(Semaphore::new(capacity_kib as usize)),
        }
    }

    pub fn capacity_bytes(&self) -> u64 {
        u64::from(self.capacity_kib) * KIB
    }

    /// Bytes held by encodes running now.
    pub fn in_use_bytes(&self) -> u64 {
        let free = self.free.available_permits() as u64;
        u64::from(self.capacity_kib).saturating_sub(free) * KIB
    }

    /// Waits until `bytes` are free and holds them. Waiters are served in order. An encode
    /// larger than the whole budget waits for all of it and then runs alone, so no size is
    /// refused, and memory stays below the budget or one encode, whichever is larger.
    pub async fn reserve(&self, bytes: u64) -> BudgetPermit {
        let kib = bytes.div_ceil(KIB).clamp(1, u64::from(self.capacity_kib)) as u32;
        // `acquire_many_owned` fails only on a closed semaphore, and this one is never closed.
        let permit = self.free.clone().acquire_many_owned(kib).await.ok();
        BudgetPermit { _permit: permit }
    }
}

impl Default for VariantBudget {
    fn default() -> Self {
        Self::new(Self::DEFAULT_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn reservations_wait_for_room_and_oversized_ones_run_alone() {
        let budget = Arc::new(VariantBudget::new(10 * KIB));
        let a = budget.reserve(6 * KIB).await;
        assert_eq!(budget.in_use_bytes(), 6 * KIB);
        let b = budget.reserve(4 * KIB).await;
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(1).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the budget is full");
        drop(a);
        let c = waiting.await.unwrap();
        assert_eq!(budget.in_use_bytes(), 5 * KIB);
        drop((b, c));
        // Bigger than the whole budget: it takes all of it.
        let huge = budget.reserve(1 << 30).await;
        assert_eq!(budget.in_use_bytes(), budget.capacity_bytes());
        drop(huge);
        assert_eq!(budget.in_use_bytes(), 0);
    }
}
