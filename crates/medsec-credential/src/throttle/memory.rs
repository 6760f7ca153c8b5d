//! The bounded in-memory store for servers and apps (`std`).

use alloc::vec::Vec;
use std::sync::Mutex;

use super::table::{self, Retention, Slot};
use super::{Schedule, ThrottleKey, ThrottleRecord, ThrottleStore, NIST_MAX_CONSECUTIVE_FAILURES};
use crate::{Error, Result};

const SHARDS: usize = 16;

/// Records in a table allocated once at construction and never grown: an attacker spraying
/// millions of user names cannot make it allocate. Sharded behind 16 mutexes for concurrent use.
///
/// **Full windows.** A record is never evicted while its schedule still counts it (see
/// [`ThrottleStore`], "Eviction"); the slot of a record its schedule has forgotten (for example
/// a [`Schedule::SOURCE`] record quiet for 24 h) is reused. A new key whose window (16 slots)
/// holds only records that still count is refused with [`Error::Store`], so its attempt fails
/// closed, while every key that has a record keeps working. Under [`Schedule::ACCOUNT`], which
/// never forgets, a spray of about `2 * max_tracked` distinct names, one failure each, fills the
/// table until the process restarts: size `max_tracked` above the number of names an attacker
/// can fail, throttle sources, or use the PostgreSQL store (docs/credential-rate-limits.md,
/// control 9).
///
/// Memory: `32 * slots` bytes, `slots = (2 * max_tracked).next_power_of_two()` (64 to 128 bytes
/// per tracked key; at least 16 shards of 16 slots, 8 KiB), reported by
/// [`MemoryThrottleStore::memory_bytes`].
#[derive(Debug)]
pub struct MemoryThrottleStore {
    shards: Vec<Mutex<Vec<Slot>>>,
}

impl MemoryThrottleStore {
    /// A store for about `max_tracked` keys.
    ///
    /// # Errors
    /// [`Error::Config`] when `max_tracked` is 0 or the table cannot be allocated.
    pub fn with_capacity(max_tracked: usize) -> Result<Self> {
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
        Ok(Self { shards })
    }

    /// [`MemoryThrottleStore::with_capacity`], with the argument earlier versions took.
    ///
    /// `protect_from` used to let a full window evict records with fewer failures than it,
    /// which reset their counts (the attack in [`ThrottleStore`], "Eviction"). Records that
    /// still count are now never evicted, which keeps every record with at least
    /// `protect_from` failures for any `protect_from >= 1`; the argument changes nothing else
    /// and remains so that existing callers compile. Valid range `1..=100`
    /// ([`NIST_MAX_CONSECUTIVE_FAILURES`]); prefer [`MemoryThrottleStore::with_capacity`].
    ///
    /// # Errors
    /// [`Error::Config`] when `protect_from` is 0 or above 100, or as
    /// [`MemoryThrottleStore::with_capacity`].
    pub fn new(max_tracked: usize, protect_from: u32) -> Result<Self> {
        if protect_from == 0 || protect_from > NIST_MAX_CONSECUTIVE_FAILURES {
            return Err(Error::Config("protect_from: need 1 <= protect_from <= 100"));
        }
        Self::with_capacity(max_tracked)
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
        table::compare_and_swap(&mut self.shard(key)?, key, current, new, Retention::NEVER)
    }

    fn compare_and_swap_scheduled(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
        schedule: &Schedule,
    ) -> Result<bool> {
        let retention = Retention::of(schedule);
        table::compare_and_swap(&mut self.shard(key)?, key, current, new, retention)
    }
}
