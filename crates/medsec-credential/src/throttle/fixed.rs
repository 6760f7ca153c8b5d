//! A fixed-capacity store for firmware: no heap, records in RAM.

use core::cell::RefCell;

use super::table::{self, Slot};
use super::{ThrottleKey, ThrottleRecord, ThrottleStore};
use crate::{Error, Result};

/// `N` records in a static array (no allocation). Records are lost at reset, so on a device
/// whose attempts must survive power loss use [`super::FlashThrottleStore`]; this store suits
/// per-boot source throttling and tests.
///
/// Not `Sync`: firmware is single-threaded; a re-entrant call fails closed with
/// [`Error::Store`].
#[derive(Debug)]
pub struct FixedThrottleStore<const N: usize> {
    slots: RefCell<[Slot; N]>,
    protect_from: u32,
}

impl<const N: usize> FixedThrottleStore<N> {
    /// An empty store whose records with at least `protect_from` failures are never evicted
    /// (use the schedule's free failures: records in backoff or locked stay).
    pub const fn new(protect_from: u32) -> Self {
        Self {
            slots: RefCell::new([Slot::EMPTY; N]),
            protect_from,
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
        table::compare_and_swap(&mut slots[..], key, current, new, self.protect_from)
    }
}
