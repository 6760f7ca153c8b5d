//! A fixed-size table of throttle records: the bounded core of the memory and fixed stores.
//!
//! A key lives in one of two runs of `RUN` consecutive slots, starting at two home slots taken
//! from independent bytes of its keyed hash ("two choices", so a run filling up by chance rarely
//! matters: at half load virtually every key finds room). Memory never grows. A new key takes a
//! free slot; failing that, the slot of a record that its own schedule has already forgotten
//! (each slot keeps the `forget_after` of the schedule it was written under). A record that
//! still counts is never evicted: when the key's window holds nothing else, the write for the new
//! key is refused and its attempt fails closed, while every key with a record keeps it
//! (docs/credential-format.md section 8, "Eviction").

use super::{Schedule, ThrottleKey, ThrottleRecord};
use crate::{Error, Result};

/// Slots per run; a key's window is two runs.
const RUN: usize = 8;
/// Slots searched per key.
#[cfg(any(feature = "std", test))]
pub(crate) const WINDOW: usize = 2 * RUN;

/// A schedule's `forget_after`, as the table keeps it: whole seconds, rounded **up** (so a slot
/// is never reclaimed before its schedule forgets the record), [`Retention::NEVER`] for a
/// schedule that never forgets (or one longer than `u32::MAX - 1` seconds, about 136 years).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Retention(u32);

impl Retention {
    /// Kept until cleared: what records written without a schedule get.
    pub(crate) const NEVER: Self = Self(u32::MAX);

    pub(crate) fn of(schedule: &Schedule) -> Self {
        match schedule.forget_after_ms() {
            None => Self::NEVER,
            Some(ms) => {
                let secs = ms.div_ceil(1_000);
                Self(u32::try_from(secs).unwrap_or(u32::MAX))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slot {
    key: [u8; ThrottleKey::LEN],
    // Zero failures marks an empty slot: clear records are never stored.
    failures: u32,
    // Fills what would be padding: the slot stays 32 bytes.
    retention: Retention,
    last_failure_ms: u64,
}

impl Slot {
    pub(crate) const EMPTY: Self = Self {
        key: [0; ThrottleKey::LEN],
        failures: 0,
        retention: Retention(0),
        last_failure_ms: 0,
    };

    /// True when the schedule this record was written under has forgotten it at `now_ms`
    /// (`now >= last + forget_after`, saturating, as `Schedule::effective`).
    fn forgotten_at(&self, now_ms: u64) -> bool {
        self.retention != Retention::NEVER
            && now_ms
                >= self
                    .last_failure_ms
                    .saturating_add(u64::from(self.retention.0).saturating_mul(1_000))
    }

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

/// Compare-and-swap in the key's window. `retention` is the schedule `new` is kept under.
pub(crate) fn compare_and_swap(
    slots: &mut [Slot],
    key: &ThrottleKey,
    current: &ThrottleRecord,
    new: &ThrottleRecord,
    retention: Retention,
) -> Result<bool> {
    let len = slots.len();
    let mut found = None;
    // Per run: the first free slot and how many are free ("two choices": a new key goes to the
    // emptier run, which keeps runs from filling up).
    let mut free: [(Option<usize>, usize); 2] = [(None, 0); 2];
    // The first slot of another key whose record its schedule has forgotten at the new record's
    // time: reusable without losing a failure that still counts.
    let mut forgotten = None;
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
        } else if forgotten.is_none() && s.forgotten_at(new.last_failure_ms) {
            forgotten = Some(i);
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
        // No free or forgotten slot: every record in the window still counts. Refuse the new
        // key (its attempt fails closed) rather than reset another key's count.
        (None, false) => free.or(forgotten).ok_or(Error::Store)?,
    };
    let slot = slots.get_mut(target).ok_or(Error::Store)?;
    *slot = if new.is_clear() {
        Slot::EMPTY
    } else {
        Slot {
            key: *key.as_bytes(),
            failures: new.failures,
            retention,
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

    const NEVER: Retention = Retention::NEVER;

    #[test]
    fn slots_stay_32_bytes() {
        assert_eq!(size_of::<Slot>(), 32);
    }

    #[test]
    fn cas_semantics() {
        let mut slots = [Slot::EMPTY; 32];
        let k = key(3);
        assert!(!compare_and_swap(&mut slots, &k, &rec(1, 0), &rec(2, 0), NEVER).unwrap());
        assert!(
            compare_and_swap(&mut slots, &k, &ThrottleRecord::CLEAR, &rec(1, 9), NEVER).unwrap()
        );
        assert_eq!(load(&slots, &k), rec(1, 9));
        assert!(
            !compare_and_swap(&mut slots, &k, &ThrottleRecord::CLEAR, &rec(1, 9), NEVER).unwrap()
        );
        assert!(
            compare_and_swap(&mut slots, &k, &rec(1, 9), &ThrottleRecord::CLEAR, NEVER).unwrap()
        );
        assert_eq!(occupied(&slots), 0);
    }

    #[test]
    fn a_full_window_refuses_newcomers_and_keeps_every_record() {
        let mut slots = [Slot::EMPTY; WINDOW];
        // Fill every slot (all keys share the one window of a 16-slot table), one of them with a
        // single failure: before the eviction fix, that one was the newcomer's victim.
        for n in 0..WINDOW as u64 {
            let f = if n == 4 { 1 } else { 7 };
            let new = rec(f, n);
            assert!(
                compare_and_swap(&mut slots, &key(n), &ThrottleRecord::CLEAR, &new, NEVER).unwrap()
            );
        }
        assert_eq!(
            compare_and_swap(
                &mut slots,
                &key(99),
                &ThrottleRecord::CLEAR,
                &rec(1, 50),
                NEVER
            ),
            Err(Error::Store)
        );
        for n in 0..WINDOW as u64 {
            assert_eq!(load(&slots, &key(n)).failures, if n == 4 { 1 } else { 7 });
        }
        // Keys with a record keep working: counted further, then cleared.
        assert!(compare_and_swap(&mut slots, &key(4), &rec(1, 4), &rec(2, 60), NEVER).unwrap());
        assert!(compare_and_swap(
            &mut slots,
            &key(4),
            &rec(2, 60),
            &ThrottleRecord::CLEAR,
            NEVER
        )
        .unwrap());
        // The cleared slot is free again: the newcomer gets it.
        assert!(compare_and_swap(
            &mut slots,
            &key(99),
            &ThrottleRecord::CLEAR,
            &rec(1, 70),
            NEVER
        )
        .unwrap());
    }

    #[test]
    fn only_records_their_schedule_forgot_are_reused() {
        let day = Schedule::new(0, 1_000, 60_000, None, Some(86_400_000)).unwrap();
        let odd = Schedule::new(0, 1_000, 60_000, None, Some(86_400_001)).unwrap();
        assert_eq!(Retention::of(&day), Retention(86_400));
        // Rounded up: never reused before the schedule forgets.
        assert_eq!(Retention::of(&odd), Retention(86_401));
        assert_eq!(Retention::of(&Schedule::ACCOUNT), NEVER);
        let huge = Schedule::new(0, 1, 1, None, Some(u64::MAX)).unwrap();
        assert_eq!(Retention::of(&huge), NEVER);

        let mut slots = [Slot::EMPTY; WINDOW];
        for n in 0..WINDOW as u64 {
            // Key 5 is kept under a 1-day schedule, the others under ACCOUNT (never forgotten).
            let retention = if n == 5 { Retention::of(&day) } else { NEVER };
            let new = rec(3, 1_000 + n);
            assert!(
                compare_and_swap(&mut slots, &key(n), &ThrottleRecord::CLEAR, &new, retention)
                    .unwrap()
            );
        }
        let forgotten_at = 1_005 + 86_400_000;
        // One millisecond early: key 5 still counts, the newcomer is refused.
        let early = rec(1, forgotten_at - 1);
        assert_eq!(
            compare_and_swap(&mut slots, &key(99), &ThrottleRecord::CLEAR, &early, NEVER),
            Err(Error::Store)
        );
        assert_eq!(load(&slots, &key(5)).failures, 3);
        // From the moment the schedule forgets key 5, its slot is reused.
        let on_time = rec(1, forgotten_at);
        assert!(compare_and_swap(
            &mut slots,
            &key(99),
            &ThrottleRecord::CLEAR,
            &on_time,
            NEVER
        )
        .unwrap());
        assert_eq!(load(&slots, &key(5)), ThrottleRecord::CLEAR);
        assert_eq!(load(&slots, &key(99)), on_time);
        // ACCOUNT records are never reused, however old.
        let late = rec(1, u64::MAX);
        assert_eq!(
            compare_and_swap(&mut slots, &key(100), &ThrottleRecord::CLEAR, &late, NEVER),
            Err(Error::Store)
        );
    }
}
