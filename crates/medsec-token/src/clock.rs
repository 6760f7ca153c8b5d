//! Time, injected: wall clocks, monotonic counters, a rollback guard and first-sight records.
//!
//! A device may have a trusted wall clock, only a monotonic counter (seconds since boot plus a
//! boot count), or both. With a wall clock the verifier checks `exp`/`nbf`/`iat` with leeway.
//! Without one, the token must carry `exi` (RFC 9200 §5.10.3): it is valid for `exi` seconds
//! counted from the moment this device first saw it, by its own monotonic counter.
//! Time that runs backwards never extends validity: [`RollbackGuard`] pins the wall clock to
//! its high-water mark, and a monotonic reading before a token's first sight (or from another
//! boot) is a rejection.

use core::cell::{Cell, RefCell};

use crate::TokenId;

/// A reading of a monotonic counter: seconds since boot, and which boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonotonicTime {
    /// Boot count (or any id that changes whenever the counter restarts).
    pub boot: u32,
    /// Seconds since that boot.
    pub seconds: u64,
}

/// The platform's time source. Object safe.
pub trait Clock {
    /// Trusted wall-clock time in seconds since the Unix epoch, or `None` when the device has
    /// no trusted wall clock.
    fn unix_time(&self) -> Option<u64>;

    /// The monotonic counter, or `None` when there is none.
    fn monotonic(&self) -> Option<MonotonicTime> {
        None
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn unix_time(&self) -> Option<u64> {
        (**self).unix_time()
    }
    fn monotonic(&self) -> Option<MonotonicTime> {
        (**self).monotonic()
    }
}

/// A clock that always reads the same values (tests, replaying a decision, the CLI's
/// `--now`).
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedClock {
    /// What [`Clock::unix_time`] returns.
    pub unix: Option<u64>,
    /// What [`Clock::monotonic`] returns.
    pub monotonic: Option<MonotonicTime>,
}

impl FixedClock {
    /// A wall clock stopped at `unix` seconds.
    pub const fn at(unix: u64) -> Self {
        Self {
            unix: Some(unix),
            monotonic: None,
        }
    }

    /// A device with no wall clock, only a monotonic counter.
    pub const fn monotonic_only(boot: u32, seconds: u64) -> Self {
        Self {
            unix: None,
            monotonic: Some(MonotonicTime { boot, seconds }),
        }
    }
}

impl Clock for FixedClock {
    fn unix_time(&self) -> Option<u64> {
        self.unix
    }
    fn monotonic(&self) -> Option<MonotonicTime> {
        self.monotonic
    }
}

/// The operating system's clocks (`std`): wall time from `SystemTime`, monotonic time from
/// `Instant` since the first reading in this process (boot id 0).
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[cfg(feature = "std")]
impl Clock for SystemClock {
    fn unix_time(&self) -> Option<u64> {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs())
    }
    fn monotonic(&self) -> Option<MonotonicTime> {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let start = START.get_or_init(std::time::Instant::now);
        Some(MonotonicTime {
            boot: 0,
            seconds: start.elapsed().as_secs(),
        })
    }
}

/// Wraps a clock so that its wall time never goes backwards: each reading is the largest seen
/// so far. A clock set back (by an attacker, or a drained RTC battery) therefore cannot bring
/// an expired token back to life. Single-threaded (`Cell`); share one per verifier.
#[derive(Debug)]
pub struct RollbackGuard<C> {
    inner: C,
    high_water: Cell<Option<u64>>,
}

impl<C: Clock> RollbackGuard<C> {
    /// Guards `inner`.
    pub const fn new(inner: C) -> Self {
        Self {
            inner,
            high_water: Cell::new(None),
        }
    }

    /// Guards `inner`, starting from a persisted high-water mark (e.g. read from flash).
    pub const fn resume(inner: C, high_water: u64) -> Self {
        Self {
            inner,
            high_water: Cell::new(Some(high_water)),
        }
    }

    /// The largest wall time seen so far (persist it to survive reboots).
    pub fn high_water(&self) -> Option<u64> {
        self.high_water.get()
    }

    /// The wrapped clock.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C: Clock> Clock for RollbackGuard<C> {
    fn unix_time(&self) -> Option<u64> {
        let now = self.inner.unix_time();
        let pinned = match (now, self.high_water.get()) {
            (Some(n), Some(h)) => Some(n.max(h)),
            (Some(n), None) => Some(n),
            // A clock that stops answering keeps the last time seen: it never goes back.
            (None, h) => h,
        };
        self.high_water.set(pinned);
        pinned
    }
    fn monotonic(&self) -> Option<MonotonicTime> {
        self.inner.monotonic()
    }
}

/// Remembers when this device first saw each token (for `exi`). Object safe; implementations
/// use interior mutability because verification takes shared references.
pub trait FirstSight {
    /// When the token `id` was first seen. If it has not been seen, records `now` and returns
    /// it. `expires_after` is the token's `exi`, so a store can forget records whose window
    /// has passed. Returns `None` when the store cannot record (full): the token is then
    /// rejected, never accepted unrecorded.
    fn first_seen(
        &self,
        id: &TokenId,
        now: MonotonicTime,
        expires_after: u64,
    ) -> Option<MonotonicTime>;
}

#[derive(Clone, Copy, Debug)]
struct Sighting {
    id: TokenId,
    at: MonotonicTime,
    until: u64,
}

/// A fixed-capacity first-sight table in RAM (firmware). Records from an earlier boot are
/// treated as expired and may be replaced. Because RAM does not survive a reboot, a token
/// seen before a reboot looks new afterwards; devices that must bound `exi` tokens across
/// reboots persist the table (implement [`FirstSight`] over flash) or raise the revocation
/// epoch at boot. See `docs/token-profile.md`, "Validity without a wall clock".
#[derive(Debug)]
pub struct FixedFirstSight<const N: usize> {
    slots: RefCell<[Option<Sighting>; N]>,
}

impl<const N: usize> Default for FixedFirstSight<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FixedFirstSight<N> {
    /// An empty table.
    pub const fn new() -> Self {
        Self {
            slots: RefCell::new([None; N]),
        }
    }
}

impl<const N: usize> FirstSight for FixedFirstSight<N> {
    fn first_seen(
        &self,
        id: &TokenId,
        now: MonotonicTime,
        expires_after: u64,
    ) -> Option<MonotonicTime> {
        let mut slots = self.slots.try_borrow_mut().ok()?;
        if let Some(s) = slots.iter().flatten().find(|s| s.id == *id) {
            return Some(s.at);
        }
        let stale = |s: &Option<Sighting>| match s {
            None => true,
            Some(s) => s.at.boot != now.boot || s.until <= now.seconds,
        };
        let slot = slots.iter_mut().find(|s| stale(s))?;
        *slot = Some(Sighting {
            id: *id,
            at: now,
            until: now.seconds.saturating_add(expires_after),
        });
        Some(now)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn rollback_guard_never_goes_back() {
        struct Settable(Cell<Option<u64>>);
        impl Clock for Settable {
            fn unix_time(&self) -> Option<u64> {
                self.0.get()
            }
        }
        let g = RollbackGuard::new(Settable(Cell::new(Some(100))));
        assert_eq!(g.unix_time(), Some(100));
        g.inner().0.set(Some(50));
        assert_eq!(g.unix_time(), Some(100));
        g.inner().0.set(None);
        assert_eq!(g.unix_time(), Some(100));
        g.inner().0.set(Some(150));
        assert_eq!(g.unix_time(), Some(150));
    }

    #[test]
    fn first_sight_records_once_and_evicts_stale() {
        let t = FixedFirstSight::<1>::new();
        let a = TokenId::from_slice(&[1; 16]).unwrap();
        let b = TokenId::from_slice(&[2; 16]).unwrap();
        let m = |s| MonotonicTime {
            boot: 1,
            seconds: s,
        };
        assert_eq!(t.first_seen(&a, m(10), 100), Some(m(10)));
        assert_eq!(t.first_seen(&a, m(50), 100), Some(m(10)));
        // Full with a live record: refuse rather than forget.
        assert_eq!(t.first_seen(&b, m(50), 100), None);
        // a's window ended at 110.
        assert_eq!(t.first_seen(&b, m(110), 100), Some(m(110)));
    }
}
