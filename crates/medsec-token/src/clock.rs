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
/// `Instant` since the first reading in this process. Each process is its own "boot", with a
/// random boot id, so a first-sight record that outlives the process (a persisted store) is
/// never measured against another process's uptime. If the OS random source fails there is
/// no monotonic reading (`exi` tokens are then refused).
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
        static START: std::sync::OnceLock<Option<(std::time::Instant, u32)>> =
            std::sync::OnceLock::new();
        let (start, boot) = START
            .get_or_init(|| {
                let boot = getrandom::u32().ok()?;
                Some((std::time::Instant::now(), boot))
            })
            .as_ref()?;
        Some(MonotonicTime {
            boot: *boot,
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
    /// The inner reading, raised to the high-water mark. While the inner clock has no
    /// reading this has none either: the last time seen is not "now" (real time has moved
    /// on), and a frozen clock would keep a token valid for ever.
    fn unix_time(&self) -> Option<u64> {
        let now = self.inner.unix_time()?;
        let pinned = self.high_water.get().map_or(now, |h| now.max(h));
        self.high_water.set(Some(pinned));
        Some(pinned)
    }
    fn monotonic(&self) -> Option<MonotonicTime> {
        self.inner.monotonic()
    }
}

/// Remembers when this device first saw each token (for `exi`). Object safe; implementations
/// use interior mutability because verification takes shared references.
///
/// A store that forgets a record (to make room) must never let that token look new again,
/// or an expired `exi` token would get a fresh window: it keeps the largest `iat` it has
/// forgotten and from then on refuses every unseen token issued at or before it
/// (`docs/token-profile.md` §5.2).
pub trait FirstSight {
    /// When the token `id` (issued at `issued_at`, its `iat`) was first seen. If it has not
    /// been seen, records `now` and returns it. `expires_after` is the token's `exi`, so a
    /// store can tell which records' windows have passed. Returns `None` when the store
    /// cannot record (full of live records), or when the token is unseen but issued at or
    /// before a record it forgot: the token is then rejected, never accepted unrecorded.
    /// A record under `id` whose `issued_at` or `expires_after` differs belongs to another
    /// token with the same id (another issuer's, say): return `None` for it.
    fn first_seen(
        &self,
        id: &TokenId,
        issued_at: u64,
        now: MonotonicTime,
        expires_after: u64,
    ) -> Option<MonotonicTime>;
}

#[derive(Clone, Copy, Debug)]
struct Sighting {
    id: TokenId,
    issued_at: u64,
    at: MonotonicTime,
    /// The token's `exi`: its window is `[at.seconds, at.seconds + exi)` in `at.boot`.
    exi: u64,
}

impl Sighting {
    /// Whether this record's window is over at `now`, exactly when the verifier would call
    /// the token expired for elapsed time (profile §5.2): another boot, or `exi` seconds or
    /// more since the first sight. Computed by subtraction, so a window that reaches past
    /// 2^64 − 1 never ends within its boot (no sum to overflow or saturate).
    fn is_stale(&self, now: MonotonicTime) -> bool {
        self.at.boot != now.boot
            || now
                .seconds
                .checked_sub(self.at.seconds)
                .is_some_and(|elapsed| elapsed >= self.exi)
    }
}

/// A fixed-capacity first-sight table in RAM (firmware). A record whose window has passed,
/// or from an earlier boot, may be replaced; the table then remembers the replaced token's
/// `iat` and refuses every unseen token issued at or before it, so a forgotten token never
/// gets a fresh window. (It replaces the record with the oldest `iat` first.)
///
/// RAM does not survive a reboot, and a table that starts empty would let a token seen
/// before the reboot look new. So a device persists one number,
/// [`FixedFirstSight::iat_high_water`] (after each new sighting), and after a reboot starts
/// from [`FixedFirstSight::resume`]: every record is then forgotten, so tokens issued at or
/// before that `iat` are refused and later ones are seen afresh. (Or implement
/// [`FirstSight`] over flash.) See `docs/token-profile.md`, "Validity without a wall clock".
#[derive(Debug)]
pub struct FixedFirstSight<const N: usize> {
    slots: RefCell<[Option<Sighting>; N]>,
    /// The largest `iat` of a record that was replaced.
    forgotten: Cell<Option<u64>>,
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
            forgotten: Cell::new(None),
        }
    }

    /// An empty table after a reboot, resuming from the persisted
    /// [`FixedFirstSight::iat_high_water`] of the previous boot: the records it lost count
    /// as forgotten, so no token issued at or before `iat_high_water` looks new.
    pub const fn resume(iat_high_water: u64) -> Self {
        Self {
            slots: RefCell::new([None; N]),
            forgotten: Cell::new(Some(iat_high_water)),
        }
    }

    /// The largest `iat` recorded or forgotten so far (`None` before the first sighting).
    /// Persist it whenever it changes and pass it to [`FixedFirstSight::resume`] at boot.
    pub fn iat_high_water(&self) -> Option<u64> {
        let recorded = self
            .slots
            .try_borrow()
            .ok()
            .and_then(|slots| slots.iter().flatten().map(|s| s.issued_at).max());
        match (recorded, self.forgotten.get()) {
            (Some(r), Some(f)) => Some(r.max(f)),
            (r, f) => r.or(f),
        }
    }
}

impl<const N: usize> FirstSight for FixedFirstSight<N> {
    fn first_seen(
        &self,
        id: &TokenId,
        issued_at: u64,
        now: MonotonicTime,
        expires_after: u64,
    ) -> Option<MonotonicTime> {
        let mut slots = self.slots.try_borrow_mut().ok()?;
        if let Some(s) = slots.iter().flatten().find(|s| s.id == *id) {
            // The same `cti` with another `iat` or `exi` is another token (ids are one
            // namespace for all issuers): it must not inherit this record's window, nor
            // escape the floor below through it. Refused (profile §5.2 sub-step 1).
            return (s.issued_at == issued_at && s.exi == expires_after).then_some(s.at);
        }
        // Unseen, or seen and forgotten: when in doubt it is not new.
        if self.forgotten.get().is_some_and(|f| issued_at <= f) {
            return None;
        }
        // A free slot, else the stale record (window passed, or another boot) with the
        // oldest `iat`, so the refusal floor rises as little as possible.
        let replaceable = |s: &Option<Sighting>| match s {
            None => Some(None),
            Some(s) if s.is_stale(now) => Some(Some(s.issued_at)),
            Some(_) => None,
        };
        let slot = slots
            .iter_mut()
            .filter_map(|s| replaceable(s).map(|iat| (iat, s)))
            .min_by_key(|(iat, _)| *iat)
            .map(|(_, s)| s)?;
        if let Some(old) = slot.replace(Sighting {
            id: *id,
            issued_at,
            at: now,
            exi: expires_after,
        }) {
            let floor = self
                .forgotten
                .get()
                .map_or(old.issued_at, |f| f.max(old.issued_at));
            self.forgotten.set(Some(floor));
        }
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
        // No reading: no wall time (a frozen clock would extend validity), and the
        // high-water mark survives the gap.
        g.inner().0.set(None);
        assert_eq!(g.unix_time(), None);
        assert_eq!(g.high_water(), Some(100));
        g.inner().0.set(Some(60));
        assert_eq!(g.unix_time(), Some(100));
        g.inner().0.set(Some(150));
        assert_eq!(g.unix_time(), Some(150));
    }

    /// A token whose `cti` another token already holds a record under (another issuer's, say)
    /// does not inherit that record's window: with another `iat` or `exi` it is refused, also
    /// when the floor would refuse it anyway (it must not escape the floor through the record).
    #[test]
    fn a_reused_cti_does_not_inherit_a_record() {
        let t = FixedFirstSight::<2>::resume(1_000);
        let shared = TokenId::from_slice(&[7; 16]).unwrap();
        let m = |s| MonotonicTime {
            boot: 1,
            seconds: s,
        };
        // Y (issued after the floor) is recorded under the shared id.
        assert_eq!(t.first_seen(&shared, 2_000, m(10), 100), Some(m(10)));
        // X has the same id but was issued at or before the floor: refused, not given Y's window.
        assert_eq!(t.first_seen(&shared, 900, m(20), 100), None);
        // Same id and iat, another exi: another token, refused.
        assert_eq!(t.first_seen(&shared, 2_000, m(20), 50), None);
        // Y itself is still found.
        assert_eq!(t.first_seen(&shared, 2_000, m(30), 100), Some(m(10)));
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
        assert_eq!(t.first_seen(&a, 1_000, m(10), 100), Some(m(10)));
        assert_eq!(t.first_seen(&a, 1_000, m(50), 100), Some(m(10)));
        // Full with a live record: refuse rather than forget.
        assert_eq!(t.first_seen(&b, 1_001, m(50), 100), None);
        // a's window ended at 110.
        assert_eq!(t.first_seen(&b, 1_001, m(110), 100), Some(m(110)));
        // a was forgotten: it never looks new again, nor does anything issued with or
        // before it; a later token does once a slot is free.
        assert_eq!(t.first_seen(&a, 1_000, m(500), 100), None);
        let c = TokenId::from_slice(&[3; 16]).unwrap();
        assert_eq!(t.first_seen(&c, 999, m(500), 100), None);
        assert_eq!(t.first_seen(&c, 1_002, m(500), 100), Some(m(500)));
    }

    /// A record is stale exactly when the verifier would call its token expired (profile
    /// §5.2): a window that reaches past 2^64 − 1 never ends within its boot, so the record
    /// is not dropped while the token is still accepted — not after a wrapped sum `first +
    /// exi` (stale at once), nor at the reading 2^64 − 1 after a saturated one (where
    /// `until <= now` held although the token was still within its window).
    #[test]
    fn first_sight_window_reaching_past_the_counter_never_ends() {
        let t = FixedFirstSight::<1>::new();
        let a = TokenId::from_slice(&[1; 16]).unwrap();
        let b = TokenId::from_slice(&[2; 16]).unwrap();
        let m = |s| MonotonicTime {
            boot: 1,
            seconds: s,
        };
        assert_eq!(t.first_seen(&a, 1_000, m(10), u64::MAX), Some(m(10)));
        assert_eq!(t.first_seen(&b, 1_001, m(11), 100), None);
        assert_eq!(t.first_seen(&b, 1_001, m(u64::MAX - 1), 100), None);
        assert_eq!(t.first_seen(&b, 1_001, m(u64::MAX), 100), None);
        assert_eq!(t.first_seen(&a, 1_000, m(u64::MAX), u64::MAX), Some(m(10)));
        // Another boot makes it stale.
        let other = MonotonicTime {
            boot: 2,
            seconds: 0,
        };
        assert_eq!(t.first_seen(&b, 1_001, other, 100), Some(other));
        assert_eq!(t.iat_high_water(), Some(1_001));
    }

    /// Run as a child process by `system_clock_boot_id_is_per_process`.
    #[cfg(feature = "std")]
    #[test]
    fn print_system_clock_boot_id() {
        if std::env::var_os("MEDSEC_TOKEN_PRINT_BOOT").is_some() {
            let m = SystemClock.monotonic().unwrap();
            std::println!("BOOT={}", m.boot);
        }
    }

    /// `SystemClock` counts seconds from the start of the process, so each process must be
    /// another "boot": with a shared boot id, a first-sight record kept across a restart
    /// (a persisted store) would take the new process's uptime for the time since the
    /// sighting, and an `exi` token would live longer than `exi`.
    #[cfg(feature = "std")]
    #[test]
    fn system_clock_boot_id_is_per_process() {
        let a = SystemClock.monotonic().unwrap();
        let b = SystemClock.monotonic().unwrap();
        assert_eq!(a.boot, b.boot);
        assert!(b.seconds >= a.seconds);
        let child_boot = || {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "clock::tests::print_system_clock_boot_id",
                    "--nocapture",
                ])
                .env("MEDSEC_TOKEN_PRINT_BOOT", "1")
                .output()
                .unwrap();
            let text = std::string::String::from_utf8(out.stdout).unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix("BOOT="))
                .and_then(|b| b.trim().parse::<u32>().ok())
                .unwrap()
        };
        let (c1, c2) = (child_boot(), child_boot());
        assert!(
            c1 != c2 && c1 != a.boot && c2 != a.boot,
            "boot ids {} {} {}",
            a.boot,
            c1,
            c2
        );
    }

    #[test]
    fn first_sight_replaces_the_oldest_stale_record() {
        let t = FixedFirstSight::<2>::new();
        let id = |b| TokenId::from_slice(&[b; 16]).unwrap();
        let m = |s| MonotonicTime {
            boot: 1,
            seconds: s,
        };
        assert!(t.first_seen(&id(1), 2_000, m(0), 10).is_some());
        assert!(t.first_seen(&id(2), 1_000, m(0), 10).is_some());
        // Both stale; the one issued at 1000 goes (had the one issued at 2000 gone, a
        // token issued at 1500 would now be refused).
        assert!(t.first_seen(&id(3), 3_000, m(20), 10).is_some());
        assert!(t.first_seen(&id(4), 1_500, m(20), 10).is_some());
        assert!(t.first_seen(&id(2), 1_000, m(20), 10).is_none());
    }
}
