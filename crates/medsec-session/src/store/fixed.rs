//! Fixed-capacity store for firmware: `N` sessions with up to `D` bytes of sealed data
//! each, in one static-sized array. No heap, no `alloc`.

use core::cell::RefCell;
use core::fmt;

use zeroize::Zeroize;

use super::{DataUpdate, SessionStore};
use crate::clock::Timestamp;
use crate::id::{IdHash, UserId};
use crate::record::SessionMeta;
use crate::{Error, Result};

struct Slot<const D: usize> {
    entry: Option<(IdHash, SessionMeta)>,
    data_len: usize,
    data: [u8; D],
}

impl<const D: usize> Slot<D> {
    const EMPTY: Self = Self {
        entry: None,
        data_len: 0,
        data: [0; D],
    };

    fn clear(&mut self) {
        self.entry = None;
        self.data.zeroize();
        self.data_len = 0;
    }

    fn set_data(&mut self, data: &[u8]) -> Result<()> {
        let dst = self.data.get_mut(..data.len()).ok_or(Error::TooLarge)?;
        dst.copy_from_slice(data);
        if let Some(rest) = self.data.get_mut(data.len()..) {
            rest.zeroize();
        }
        self.data_len = data.len();
        Ok(())
    }
}

/// A store of at most `N` sessions, each with at most `D` bytes of sealed data (plaintext
/// up to `D - 28`). Single-context (`!Sync`): firmware serves one request at a time.
/// Ended sessions' slots are zeroized.
pub struct FixedStore<const N: usize, const D: usize> {
    slots: RefCell<[Slot<D>; N]>,
}

impl<const N: usize, const D: usize> FixedStore<N, D> {
    /// An empty store (usable in a `static` initialiser on firmware via a cell of your choice).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            slots: RefCell::new([const { Slot::EMPTY }; N]),
        }
    }

    /// Number of occupied slots.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots
            .try_borrow()
            .map(|s| s.iter().filter(|x| x.entry.is_some()).count())
            .unwrap_or(0)
    }

    /// No sessions stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn with<T>(&self, f: impl FnOnce(&mut [Slot<D>; N]) -> Result<T>) -> Result<T> {
        // Re-entrant use would be a bug; fail closed rather than panic.
        let mut slots = self
            .slots
            .try_borrow_mut()
            .map_err(|_| Error::Unavailable)?;
        f(&mut slots)
    }
}

impl<const N: usize, const D: usize> Default for FixedStore<N, D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const D: usize> fmt::Debug for FixedStore<N, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedStore")
            .field("capacity", &N)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

fn find<'a, const D: usize>(slots: &'a mut [Slot<D>], key: &IdHash) -> Option<&'a mut Slot<D>> {
    slots
        .iter_mut()
        .find(|s| s.entry.as_ref().is_some_and(|(k, _)| k == key))
}

impl<const N: usize, const D: usize> SessionStore for FixedStore<N, D> {
    fn insert(&self, key: &IdHash, meta: &SessionMeta, data: &[u8]) -> Result<()> {
        if data.len() > D {
            return Err(Error::TooLarge);
        }
        self.with(|slots| {
            if find(slots, key).is_some() {
                return Err(Error::Conflict);
            }
            let slot = slots
                .iter_mut()
                .find(|s| s.entry.is_none())
                .ok_or(Error::CapacityExhausted)?;
            slot.set_data(data)?;
            slot.entry = Some((*key, *meta));
            Ok(())
        })
    }

    fn load(&self, key: &IdHash) -> Result<Option<SessionMeta>> {
        self.with(|slots| Ok(find(slots, key).and_then(|s| s.entry.map(|(_, m)| m))))
    }

    fn read_data(&self, key: &IdHash, out: &mut [u8]) -> Result<()> {
        self.with(|slots| {
            let slot = find(slots, key).ok_or(Error::Rejected)?;
            if slot.data_len != out.len() {
                return Err(Error::Conflict);
            }
            out.copy_from_slice(slot.data.get(..slot.data_len).ok_or(Error::Conflict)?);
            Ok(())
        })
    }

    fn update(
        &self,
        key: &IdHash,
        expected_version: u64,
        meta: &SessionMeta,
        data: DataUpdate<'_>,
    ) -> Result<()> {
        self.with(|slots| {
            let slot = find(slots, key).ok_or(Error::Conflict)?;
            match &mut slot.entry {
                Some((_, m)) if m.version == expected_version => {
                    if let DataUpdate::Replace(d) = data {
                        slot.set_data(d)?;
                    }
                    slot.entry = Some((*key, *meta));
                    Ok(())
                }
                _ => Err(Error::Conflict),
            }
        })
    }

    fn rotate(
        &self,
        old: &IdHash,
        expected_version: u64,
        new: &IdHash,
        meta: &SessionMeta,
        data: &[u8],
    ) -> Result<()> {
        if data.len() > D {
            return Err(Error::TooLarge);
        }
        self.with(|slots| {
            if find(slots, new).is_some() {
                return Err(Error::Conflict);
            }
            let slot = find(slots, old).ok_or(Error::Conflict)?;
            if slot.entry.map(|(_, m)| m.version) != Some(expected_version) {
                return Err(Error::Conflict);
            }
            // Same slot, new key: the old key stops existing in the same step.
            slot.set_data(data)?;
            slot.entry = Some((*new, *meta));
            Ok(())
        })
    }

    fn remove(&self, key: &IdHash) -> Result<bool> {
        self.with(|slots| Ok(find(slots, key).map(Slot::clear).is_some()))
    }

    fn remove_user(&self, user: &UserId) -> Result<usize> {
        self.with(|slots| {
            let mut n = 0usize;
            for s in slots.iter_mut() {
                if s.entry.as_ref().is_some_and(|(_, m)| m.user == *user) {
                    s.clear();
                    n = n.saturating_add(1);
                }
            }
            Ok(n)
        })
    }

    fn for_each_of_user(
        &self,
        user: &UserId,
        f: &mut dyn FnMut(&IdHash, &SessionMeta),
    ) -> Result<()> {
        self.with(|slots| {
            for (k, m) in slots.iter().filter_map(|s| s.entry.as_ref()) {
                if m.user == *user {
                    f(k, m);
                }
            }
            Ok(())
        })
    }

    fn sweep(&self, now: Timestamp) -> Result<usize> {
        let now = super::sweep_time(now)?;
        self.with(|slots| {
            let mut n = 0usize;
            for s in slots.iter_mut() {
                if s.entry.as_ref().is_some_and(|(_, m)| m.expires_at() <= now) {
                    s.clear();
                    n = n.saturating_add(1);
                }
            }
            Ok(n)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
    use super::*;
    use crate::record::StoredState;
    use medsec_token::Role;

    fn meta(user: &str) -> SessionMeta {
        SessionMeta {
            version: 1,
            user: UserId::new(user).unwrap(),
            role: Role::Patient,
            state: StoredState::Active,
            created_at: Timestamp::from_millis(0),
            authenticated_at: Timestamp::from_millis(0),
            last_seen: Timestamp::from_millis(0),
            idle_timeout_ms: 1000,
            absolute_deadline: Timestamp::from_millis(10_000),
            elevated_until: Timestamp::ZERO,
            binding: None,
            data_len: 40,
        }
    }

    /// The counter is cleared before the next person steps up: every way a session ends
    /// (logout, logout everywhere, sweep, rotation to a shorter blob) leaves no byte of its
    /// sealed data in the slot.
    #[test]
    fn ended_sessions_leave_zeroed_slots() {
        let s = FixedStore::<3, 64>::new();
        let (a, b, c) = (
            IdHash::from_bytes([1; 32]),
            IdHash::from_bytes([2; 32]),
            IdHash::from_bytes([3; 32]),
        );
        s.insert(&a, &meta("u"), &[0xA5; 40]).unwrap();
        s.insert(&b, &meta("v"), &[0xA5; 40]).unwrap();
        s.insert(&c, &meta("v"), &[0xA5; 40]).unwrap();
        let wiped = |s: &FixedStore<3, 64>, i: usize| {
            let slots = s.slots.borrow();
            slots[i].entry.is_none() && slots[i].data_len == 0 && slots[i].data == [0; 64]
        };
        // Rotation to a shorter blob: the tail of the old one is wiped.
        let mut m = meta("u");
        m.version = 2;
        m.data_len = 28;
        s.rotate(&a, 1, &IdHash::from_bytes([9; 32]), &m, &[0x11; 28])
            .unwrap();
        assert!(s.slots.borrow()[0].data[28..].iter().all(|&x| x == 0));
        assert!(s.remove(&IdHash::from_bytes([9; 32])).unwrap());
        assert!(wiped(&s, 0));
        assert_eq!(s.remove_user(&UserId::new("v").unwrap()).unwrap(), 2);
        assert!(wiped(&s, 1) && wiped(&s, 2));
        s.insert(&a, &meta("u"), &[0xA5; 40]).unwrap();
        assert_eq!(s.sweep(Timestamp::from_millis(1000)).unwrap(), 1);
        assert!(wiped(&s, 0));
    }
}
