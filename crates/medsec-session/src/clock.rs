//! Time, injected: firmware may only have a monotonic counter, tests step a manual clock.

use core::time::Duration;

#[cfg(target_has_atomic = "64")]
use core::sync::atomic::{AtomicU64, Ordering};

/// A point in time: milliseconds since the Unix epoch (or since any fixed origin the
/// platform's clock uses; the crate only compares and adds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The origin (also used as "never" for optional deadlines in the stored format).
    pub const ZERO: Self = Self(0);
    /// What a clock reports when it has no trusted time ([`TokenClock`] without a wall
    /// clock): `2^64 - 1` ms. The manager treats it as a fault, not as a time: every request
    /// and login is refused with [`crate::Error::Unavailable`], nothing is ended or swept
    /// because of it (stored sessions are left as they are and work again once the time is
    /// back), and no revocation epoch is derived from it. Stores refuse to sweep with it.
    pub const UNTRUSTED: Self = Self(u64::MAX);

    /// From milliseconds since the origin.
    #[must_use]
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// From whole seconds since the origin (saturating).
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Milliseconds since the origin.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the far future instead of wrapping.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(duration_millis(d)))
    }

    /// `self + ms`, saturating.
    #[must_use]
    pub const fn saturating_add_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// `self - other` in milliseconds, zero when `other` is later.
    #[must_use]
    pub const fn saturating_millis_since(self, other: Self) -> u64 {
        self.0.saturating_sub(other.0)
    }
}

/// Milliseconds in a [`Duration`], saturating at `u64::MAX`.
pub(crate) fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The time source a [`crate::Sessions`] manager reads. It may jump or go backwards; the
/// manager never lets that extend a session (see the crate docs, "Clock").
pub trait Clock {
    /// The current time.
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

#[cfg(feature = "alloc")]
impl<C: Clock + ?Sized> Clock for alloc::sync::Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// A clock set by hand: tests, simulations, and firmware that feeds it from an RTC tick.
/// Shareable between threads where the target has 64-bit atomics; a plain cell elsewhere
/// (Cortex-M4 has no 64-bit atomics, and firmware runs one context).
#[derive(Debug, Default)]
pub struct ManualClock(
    #[cfg(target_has_atomic = "64")] AtomicU64,
    #[cfg(not(target_has_atomic = "64"))] core::cell::Cell<u64>,
);

impl ManualClock {
    /// A clock showing `t`.
    #[must_use]
    pub const fn new(t: Timestamp) -> Self {
        #[cfg(target_has_atomic = "64")]
        {
            Self(AtomicU64::new(t.0))
        }
        #[cfg(not(target_has_atomic = "64"))]
        {
            Self(core::cell::Cell::new(t.0))
        }
    }

    fn update(&self, f: impl Fn(u64) -> u64) {
        #[cfg(target_has_atomic = "64")]
        {
            let _ = self
                .0
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(f(t)));
        }
        #[cfg(not(target_has_atomic = "64"))]
        {
            self.0.set(f(self.0.get()));
        }
    }

    /// Sets the time (may go backwards: that is what clock tests need).
    pub fn set(&self, t: Timestamp) {
        self.update(|_| t.0);
    }

    /// Moves the clock forward by `d` (saturating).
    pub fn advance(&self, d: Duration) {
        let ms = duration_millis(d);
        self.update(|t| t.saturating_add(ms));
    }

    /// Moves the clock backwards by `d` (saturating at zero).
    pub fn rewind(&self, d: Duration) {
        let ms = duration_millis(d);
        self.update(|t| t.saturating_sub(ms));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        #[cfg(target_has_atomic = "64")]
        {
            Timestamp(self.0.load(Ordering::SeqCst))
        }
        #[cfg(not(target_has_atomic = "64"))]
        {
            Timestamp(self.0.get())
        }
    }
}

/// Reads time from a `medsec-token` [`medsec_token::Clock`] (the family's shared clock
/// seam), so one platform clock drives both token checks and sessions. Fail closed: when the
/// platform has no trusted wall-clock time, the reading is [`Timestamp::UNTRUSTED`], so every
/// request and login is refused (nothing is ended) until the time is back; sessions never
/// fall back to a monotonic counter, whose origin changes at every boot.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenClock<C>(pub C);

impl<C: medsec_token::Clock> Clock for TokenClock<C> {
    fn now(&self) -> Timestamp {
        match self.0.unix_time() {
            Some(secs) => Timestamp::from_secs(secs),
            None => Timestamp::UNTRUSTED,
        }
    }
}

/// The operating system's wall clock (`std`).
#[cfg(feature = "std")]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[cfg(feature = "std")]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(duration_millis(since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_clock_reads_seconds_and_fails_closed() {
        let c = TokenClock(medsec_token::FixedClock::at(1_700_000_000));
        assert_eq!(c.now(), Timestamp::from_millis(1_700_000_000_000));
        let none = TokenClock(medsec_token::FixedClock::default());
        assert_eq!(none.now().as_millis(), u64::MAX);
    }
}
