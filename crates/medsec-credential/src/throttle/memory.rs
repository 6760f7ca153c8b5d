//! The bounded in-memory store for servers and apps (`std`).

use alloc::vec::Vec;
use std::sync::Mutex;

use super::table::{self, Slot};
use super::{ThrottleKey, ThrottleRecord, ThrottleStore};
use crate::{Error, Result};

const SHARDS: usize = 16;

/// Records in a table allocated once at construction and never grown: an attacker spraying
/// millions of user names evicts the least severe records (never those in backoff or locked)
/// instead of growing memory. Sharded behind 16 mutexes for concurrent use.
///
/// Memory: `32 * slots` bytes, `slots = (2 * max_tracked).next_power_of_two()` (64 to 128 bytes
/// per tracked key; at least 16 shards of 16 slots, 8 KiB), reported by
/// [`MemoryThrottleStore::memory_bytes`].
#[derive(Debug)]
pub struct MemoryThrottleStore {
    shards: Vec<Mutex<Vec<Slot>>>,
    protect_from: u32,
}

impl MemoryThrottleStore {
    /// A store for about `max_tracked` keys; records with at least `protect_from` failures are
    /// never evicted (use the schedule's free failures).
    ///
    /// # Errors
    /// [`Error::Config`] when `max_tracked` is 0 or the table cannot be allocated.
    pub fn new(max_tracked: usize, protect_from: u32) -> Result<Self> {
        if max_tracked == 0 {
            return Err(Error::Config("memory store needs room for one key"));
        }
        let slots = max_tracked
            .checked_mul(2)
            .and_then(usize::checked_next_power_of_two)
            .ok_or(Error::Config("memory store too large"))?;
        let per_shard = (slots / SHARDS).max(table::WINDOW);
        let mut shards = Vec::with_capacity(SHARDS);
        for _ in 0..SHARDS {
            let mut v = Vec::new();
            v.try_reserve_exact(per_shard)
                .map_err(|_| Error::Config("memory store too large"))?;
            v.resize(per_shard, Slot::EMPTY);
            shards.push(Mutex::new(v));
        }
        Ok(Self {
            shards,
            protect_from,
        })
    }

    /// Bytes held by the table (fixed at construction).
    pub fn memory_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |v| v.capacity()))
            .sum::<usize>()
            .saturating_mul(size_of::<Slot>())
    }

    /// Number of keys with a record.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |v| table::occupied(&v)))
            .sum()
    }

    /// True when no key has a record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &ThrottleKey) -> Result<std::sync::MutexGuard<'_, Vec<Slot>>> {
        // The shard comes from key bytes the table's home slot does not use.
        let idx = usize::from(key.as_bytes()[ThrottleKey::LEN - 1]) % SHARDS;
        self.shards
            .get(idx)
            .ok_or(Error::Store)?
            .lock()
            .map_err(|_| Error::Store)
    }
}

impl ThrottleStore for MemoryThrottleStore {
    fn load(&self, key: &ThrottleKey) -> Result<ThrottleRecord> {
        Ok(table::load(&self.shard(key)?, key))
    }

    fn compare_and_swap(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
    ) -> Result<bool> {
        table::compare_and_swap(&mut self.shard(key)?, key, current, new, self.protect_from)
    }
}
