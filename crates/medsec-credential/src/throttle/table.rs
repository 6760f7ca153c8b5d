//! A fixed-size table of throttle records: the bounded core of the memory and fixed stores.
//!
//! A key lives in one of `WINDOW` consecutive slots starting at its home slot (its keyed hash
//! modulo the capacity). Memory never grows: when a key's window is full, the least severe
//! record there (fewest failures, then oldest) is evicted — but never one at or above the
//! `protect_from` threshold (a record in backoff or locked). If every record in the window is
//! protected the write is refused and the attempt fails closed.

use super::{ThrottleKey, ThrottleRecord};
use crate::{Error, Result};

/// Slots searched per key.
pub(crate) const WINDOW: usize = 16;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slot {
    key: [u8; ThrottleKey::LEN],
    // Zero failures marks an empty slot: clear records are never stored.
    failures: u32,
    last_failure_ms: u64,
}

impl Slot {
    pub(crate) const EMPTY: Self = Self {
        key: [0; ThrottleKey::LEN],
        failures: 0,
        last_failure_ms: 0,
    };

    fn record(&self) -> ThrottleRecord {
        ThrottleRecord {
            failures: self.failures,
            last_failure_ms: self.last_failure_ms,
        }
    }
}

fn window(slots_len: usize, key: &ThrottleKey) -> impl Iterator<Item = usize> {
    let len = slots_len.max(1);
    // Cannot truncate meaningfully: the result of `%` is below `len`.
    #[allow(clippy::cast_possible_truncation, reason = "value is reduced modulo len first")]
    let home = (key.spread() % len as u64) as usize;
    (0..WINDOW.min(len)).map(move |i| (home + i) % len)
}

pub(crate) fn load(slots: &[Slot], key: &ThrottleKey) -> ThrottleRecord {
    window(slots.len(), key)
        .filter_map(|i| slots.get(i))
        .find(|s| s.failures != 0 && s.key == *key.as_bytes())
        .map_or(ThrottleRecord::CLEAR, Slot::record)
}

pub(crate) fn compare_and_swap(
    slots: &mut [Slot],
    key: &ThrottleKey,
    current: &ThrottleRecord,
    new: &ThrottleRecord,
    protect_from: u32,
) -> Result<bool> {
    let len = slots.len();
    let mut found = None;
    let mut free = None;
    let mut victim: Option<(usize, (u32, u64))> = None;
    for i in window(len, key) {
        let Some(s) = slots.get(i) else { continue };
        if s.failures == 0 {
            free = free.or(Some(i));
        } else if s.key == *key.as_bytes() {
            found = Some(i);
            break;
        } else {
            let severity = (s.failures, s.last_failure_ms);
            if victim.is_none_or(|(_, v)| severity < v) {
                victim = Some((i, severity));
            }
        }
    }
    let stored = found
        .and_then(|i| slots.get(i))
        .map_or(ThrottleRecord::CLEAR, Slot::record);
    if stored != *current {
        return Ok(false);
    }
    let target = match (found, new.is_clear()) {
        (Some(i), _) => i,
        (None, true) => return Ok(true),
        (None, false) => match (free, victim) {
            (Some(i), _) => i,
            (None, Some((i, (failures, _)))) if failures < protect_from => i,
            _ => return Err(Error::Store),
        },
    };
    let slot = slots.get_mut(target).ok_or(Error::Store)?;
    *slot = if new.is_clear() {
        Slot::EMPTY
    } else {
        Slot {
            key: *key.as_bytes(),
            failures: new.failures,
            last_failure_ms: new.last_failure_ms,
        }
    };
    Ok(true)
}

pub(crate) fn occupied(slots: &[Slot]) -> usize {
    slots.iter().filter(|s| s.failures != 0).count()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn key(n: u64) -> ThrottleKey {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&n.to_le_bytes());
        b[8] = 0xAA;
        ThrottleKey::from_bytes(b)
    }

    fn rec(failures: u32, t: u64) -> ThrottleRecord {
        ThrottleRecord {
            failures,
            last_failure_ms: t,
        }
    }

    #[test]
    fn cas_semantics() {
        let mut slots = [Slot::EMPTY; 32];
        let k = key(3);
        assert!(!compare_and_swap(&mut slots, &k, &rec(1, 0), &rec(2, 0), 5).unwrap());
        assert!(compare_and_swap(&mut slots, &k, &ThrottleRecord::CLEAR, &rec(1, 9), 5).unwrap());
        assert_eq!(load(&slots, &k), rec(1, 9));
        assert!(!compare_and_swap(&mut slots, &k, &ThrottleRecord::CLEAR, &rec(1, 9), 5).unwrap());
        assert!(compare_and_swap(&mut slots, &k, &rec(1, 9), &ThrottleRecord::CLEAR, 5).unwrap());
        assert_eq!(occupied(&slots), 0);
    }

    #[test]
    fn full_window_evicts_least_severe_but_never_protected() {
        let mut slots = [Slot::EMPTY; WINDOW];
        // Fill every slot (all keys share the one window of a 16-slot table).
        for n in 0..WINDOW as u64 {
            let f = if n == 4 { 1 } else { 7 };
            assert!(compare_and_swap(&mut slots, &key(n), &ThrottleRecord::CLEAR, &rec(f, n), 5).unwrap());
        }
        // A newcomer evicts the only unprotected record (key 4, one failure).
        assert!(compare_and_swap(&mut slots, &key(99), &ThrottleRecord::CLEAR, &rec(1, 50), 5).unwrap());
        assert_eq!(load(&slots, &key(4)), ThrottleRecord::CLEAR);
        // Then key 99 is the only unprotected one; after it reaches 5 failures nothing can go.
        assert!(compare_and_swap(&mut slots, &key(99), &rec(1, 50), &rec(5, 51), 5).unwrap());
        assert_eq!(
            compare_and_swap(&mut slots, &key(100), &ThrottleRecord::CLEAR, &rec(1, 52), 5),
            Err(Error::Store)
        );
        for n in (0..WINDOW as u64).filter(|&n| n != 4) {
            assert_eq!(load(&slots, &key(n)).failures, 7);
        }
    }
}
