//! A fixed-capacity store for firmware: no heap, records in RAM.

use core::cell::RefCell;

use super::table::{self, Retention, Slot};
use super::{Schedule, ThrottleKey, ThrottleRecord, ThrottleStore};
use crate::{Error, Result};

/// `N` records in a static array (no allocation). Records are lost at reset, so on a device
/// whose attempts must survive power loss use [`super::FlashThrottleStore`]; this store suits
/// per-boot source throttling and tests.
///
/// A record is never evicted while its schedule still counts it (see [`ThrottleStore`],
/// "Eviction"): a new key whose window of slots holds only such records is refused with
/// [`Error::Store`]. Give the table room for every key that can fail between two resets.
///
/// Not `Sync`: firmware is single-threaded; a re-entrant call fails closed with
/// [`Error::Store`].
#[derive(Debug)]
pub struct FixedThrottleStore<const N: usize> {
    slots: RefCell<[Slot; N]>,
}

impl<const N: usize> FixedThrottleStore<N> {
    /// An empty store.
    pub const fn new() -> Self {
        Self {
            slots: RefCell::new([Slot::EMPTY; N]),
        }
    }

    /// Number of keys with a record.
    pub fn len(&self) -> usize {
        self.slots
            .try_borrow()
            .map_or(0, |s| table::occupied(&s[..]))
    }

    /// True when no key has a record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<const N: usize> ThrottleStore for FixedThrottleStore<N> {
    fn load(&self, key: &ThrottleKey) -> Result<ThrottleRecord> {
        let slots = self.slots.try_borrow().map_err(|_| Error::Store)?;
        Ok(table::load(&slots[..], key))
    }

    fn compare_and_swap(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
    ) -> Result<bool> {
        let mut slots = self.slots.try_borrow_mut().map_err(|_| Error::Store)?;
        table::compare_and_swap(&mut slots[..], key, current, new, Retention::NEVER)
    }

    fn compare_and_swap_scheduled(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
        schedule: &Schedule,
    ) -> Result<bool> {
        let mut slots = self.slots.try_borrow_mut().map_err(|_| Error::Store)?;
        let retention = Retention::of(schedule);
        table::compare_and_swap(&mut slots[..], key, current, new, retention)
    }
}

impl<const N: usize> Default for FixedThrottleStore<N> {
    fn default() -> Self {
        Self::new()
    }
}
