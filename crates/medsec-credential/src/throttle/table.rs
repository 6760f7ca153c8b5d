//! A fixed-size table of throttle records: the bounded core of the memory and fixed stores.
//!
//! A key lives in one of two runs of `RUN` consecutive slots, starting at two home slots taken
//! from independent bytes of its keyed hash ("two choices", so a run filling up by chance rarely
//! matters: at half load virtually every key finds room). Memory never grows: when both runs are
//! full, the least severe
//! record there (fewest failures, then oldest) is evicted — but never one at or above the
//! `protect_from` threshold (a record in backoff or locked). If every record in the window is
//! protected the write is refused and the attempt fails closed.

use super::{ThrottleKey, ThrottleRecord};
use crate::{Error, Result};

/// Slots per run; a key's window is two runs.
const RUN: usize = 8;
/// Slots searched per key.
#[cfg(any(feature = "std", test))]
pub(crate) const WINDOW: usize = 2 * RUN;

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
    let (a, b) = key.spreads();
    // Cannot truncate meaningfully: the results of `%` are below `len`.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "values are reduced modulo len first"
    )]
    let homes = [
        a.checked_rem(len as u64).unwrap_or(0) as usize,
        b.checked_rem(len as u64).unwrap_or(0) as usize,
    ];
    let run = RUN.min(len);
    homes.into_iter().flat_map(move |home| {
        (0..run).map(move |i| home.wrapping_add(i).checked_rem(len).unwrap_or(0))
    })
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
    // Per run: the first free slot and how many are free ("two choices": a new key goes to the
    // emptier run, which keeps runs from filling up).
    let mut free: [(Option<usize>, usize); 2] = [(None, 0); 2];
    let mut victim: Option<(usize, (u32, u64))> = None;
    for (n, i) in window(len, key).enumerate() {
        let Some(s) = slots.get(i) else { continue };
        if s.failures == 0 {
            if let Some((first, count)) = free.get_mut(n / RUN) {
                *first = first.or(Some(i));
                *count = count.saturating_add(1);
            }
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
    let [(first_a, count_a), (first_b, count_b)] = free;
    let free = if count_b > count_a {
        first_b
    } else {
        first_a.or(first_b)
    };
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
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects, reason = "tests")]
    use super::*;

    fn key(n: u64) -> ThrottleKey {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&n.to_le_bytes());
        b[8..].copy_from_slice(&(n + 8).to_le_bytes());
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
            assert!(
                compare_and_swap(&mut slots, &key(n), &ThrottleRecord::CLEAR, &rec(f, n), 5)
                    .unwrap()
            );
        }
        // A newcomer evicts the only unprotected record (key 4, one failure).
        assert!(
            compare_and_swap(&mut slots, &key(99), &ThrottleRecord::CLEAR, &rec(1, 50), 5).unwrap()
        );
        assert_eq!(load(&slots, &key(4)), ThrottleRecord::CLEAR);
        // Then key 99 is the only unprotected one; after it reaches 5 failures nothing can go.
        assert!(compare_and_swap(&mut slots, &key(99), &rec(1, 50), &rec(5, 51), 5).unwrap());
        assert_eq!(
            compare_and_swap(
                &mut slots,
                &key(100),
                &ThrottleRecord::CLEAR,
                &rec(1, 52),
                5
            ),
            Err(Error::Store)
        );
        for n in (0..WINDOW as u64).filter(|&n| n != 4) {
            assert_eq!(load(&slots, &key(n)).failures, 7);
        }
    }
}
