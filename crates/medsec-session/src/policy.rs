//! Timeouts, presets, and the concurrent-session cap.

use core::time::Duration;

use crate::{Error, Result};

/// The three clocks every session runs at once. A session is live while
/// `now < last_seen + idle` **and** `now < created + absolute`; elevation is live while
/// `now < elevated_at + elevation` (and never past the absolute deadline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutPolicy {
    /// Inactivity allowed between two requests.
    pub idle: Duration,
    /// Lifetime from login, whatever the activity.
    pub absolute: Duration,
    /// How long a re-authentication keeps the session elevated.
    pub elevation: Duration,
}

impl TimeoutPolicy {
    /// Clinic and cloud backends at ASVS level 3 / NIST SP 800-63B AAL3: 15 min idle,
    /// 12 h absolute, 5 min elevation.
    pub const BACKEND_L3: Self = Self {
        idle: Duration::from_secs(15 * 60),
        absolute: Duration::from_secs(12 * 3600),
        elevation: Duration::from_secs(5 * 60),
    };
    /// A web portal at NIST SP 800-63B AAL2 (rev. 3 values): 30 min idle, 12 h absolute,
    /// 10 min elevation.
    pub const PORTAL_AAL2: Self = Self {
        idle: Duration::from_secs(30 * 60),
        absolute: Duration::from_secs(12 * 3600),
        elevation: Duration::from_secs(10 * 60),
    };
    /// The patient's phone app talking to its backend: 15 min idle, 12 h absolute,
    /// 5 min elevation (same clocks as [`Self::BACKEND_L3`]).
    pub const APP: Self = Self::BACKEND_L3;
    /// A paired app on the device itself over BLE/USB: 2 min idle, 15 min absolute,
    /// 1 min elevation (therapy changes re-prompt quickly).
    pub const DEVICE: Self = Self {
        idle: Duration::from_secs(2 * 60),
        absolute: Duration::from_secs(15 * 60),
        elevation: Duration::from_secs(60),
    };

    /// The longest absolute lifetime a policy may set: 365 days. Nothing this crate is for
    /// (ASVS level 3 backends, 12 h; devices, minutes) comes near it; a longer value is a
    /// configuration slip (seconds where minutes were meant), and refusing it keeps every
    /// deadline far from the saturation of 64-bit milliseconds.
    pub const MAX_ABSOLUTE: Duration = Duration::from_secs(365 * 24 * 3600);

    /// Checks the ranges, in this order: every duration a whole number of milliseconds;
    /// idle and elevation at least 1 ms; `elevation <= idle <= absolute`; `absolute <=`
    /// [`Self::MAX_ABSOLUTE`].
    ///
    /// # Errors
    /// [`Error::InvalidPolicy`] naming the first rule that does not hold.
    pub fn validate(&self) -> Result<()> {
        let rule = if !whole_millis(self.idle)
            || !whole_millis(self.absolute)
            || !whole_millis(self.elevation)
        {
            Some(PolicyViolation::NotWholeMilliseconds)
        } else if self.idle.is_zero() {
            Some(PolicyViolation::IdleZero)
        } else if self.elevation.is_zero() {
            Some(PolicyViolation::ElevationZero)
        } else if self.idle > self.absolute {
            Some(PolicyViolation::IdleLongerThanAbsolute)
        } else if self.elevation > self.idle {
            Some(PolicyViolation::ElevationLongerThanIdle)
        } else if self.absolute > Self::MAX_ABSOLUTE {
            Some(PolicyViolation::AbsoluteTooLong)
        } else {
            None
        };
        refuse(rule)
    }
}

/// Which policy rule a value broke ([`Error::InvalidPolicy`]). The ranges, all of them:
/// every duration a whole number of milliseconds; `1 ms <= elevation <= idle <= absolute <=`
/// [`TimeoutPolicy::MAX_ABSOLUTE`]; `max_clock_regression <= idle`;
/// `1 <= max_sessions_per_user <=` [`SessionPolicy::MAX_SESSIONS_PER_USER`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// A duration has a part below one millisecond (stored times are whole milliseconds).
    #[error("durations must be whole milliseconds")]
    NotWholeMilliseconds,
    /// The idle timeout is zero: every session would be over at login.
    #[error("the idle timeout must be at least 1 ms")]
    IdleZero,
    /// The elevation lifetime is zero: an elevation would be over when granted.
    #[error("the elevation lifetime must be at least 1 ms")]
    ElevationZero,
    /// The idle timeout is longer than the absolute lifetime.
    #[error("the idle timeout must not exceed the absolute lifetime")]
    IdleLongerThanAbsolute,
    /// The elevation lifetime is longer than the idle timeout.
    #[error("the elevation lifetime must not exceed the idle timeout")]
    ElevationLongerThanIdle,
    /// The absolute lifetime is above [`TimeoutPolicy::MAX_ABSOLUTE`].
    #[error("the absolute lifetime must not exceed 365 days")]
    AbsoluteTooLong,
    /// The tolerated clock regression is longer than the idle timeout (a clock set back by
    /// that much would keep an idle session alive for more than twice its idle timeout).
    #[error("max_clock_regression must not exceed the idle timeout")]
    ClockRegressionAboveIdle,
    /// The per-user cap is zero: nobody could log in.
    #[error("max_sessions_per_user must be at least 1")]
    CapZero,
    /// The per-user cap is above [`SessionPolicy::MAX_SESSIONS_PER_USER`] (the cap's
    /// clean-up at login and [`crate::Sessions::end_other_sessions`] list the user's
    /// sessions a number of times that grows with it).
    #[error("max_sessions_per_user must not exceed 1024")]
    CapTooLarge,
}

fn whole_millis(d: Duration) -> bool {
    d.subsec_nanos().is_multiple_of(1_000_000)
}

fn refuse(rule: Option<PolicyViolation>) -> Result<()> {
    match rule {
        None => Ok(()),
        Some(rule) => {
            tracing::error!(%rule, "session policy refused");
            Err(Error::InvalidPolicy(rule))
        }
    }
}

/// What a login does when the user already has [`SessionPolicy::max_sessions_per_user`]
/// live sessions (ASVS v5.0.0-7.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapPolicy {
    /// End the user's oldest session (by login time), then create the new one. The default:
    /// a user who lost a device can always log in again, and the lost one is logged out.
    EndOldest,
    /// Refuse the new login with [`Error::CapacityExhausted`] until a session ends.
    Reject,
}

/// Everything a [`crate::Sessions`] manager enforces. Build with [`SessionPolicy::builder`]
/// or start from a preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Idle, absolute and elevation clocks.
    pub timeouts: TimeoutPolicy,
    /// Concurrent live sessions one user may hold.
    pub max_sessions_per_user: u32,
    /// What happens at the cap.
    pub on_cap: CapPolicy,
    /// Every session must be bound to a TLS channel (RFC 9266).
    pub require_channel_binding: bool,
    /// A clock step backwards larger than this, seen by a session, ends it (the time
    /// source can no longer be trusted). Smaller steps only freeze the session's clocks.
    pub max_clock_regression: Duration,
}

impl SessionPolicy {
    /// Default cap on concurrent sessions per user on backends.
    pub const DEFAULT_MAX_SESSIONS_PER_USER: u32 = 5;
    /// The largest allowed [`Self::max_sessions_per_user`]. It keeps the work of one login
    /// (the cap's clean-up) and of [`crate::Sessions::end_other_sessions`] (at most
    /// `max(16, ceil(2 × cap / 8))` = 256 batches) bounded.
    pub const MAX_SESSIONS_PER_USER: u32 = 1024;
    /// Default tolerated clock regression (NTP slew, leap smearing).
    pub const DEFAULT_MAX_CLOCK_REGRESSION: Duration = Duration::from_secs(2);

    /// Backend preset: [`TimeoutPolicy::BACKEND_L3`], 5 sessions per user, end oldest.
    pub const BACKEND_L3: Self = Self {
        timeouts: TimeoutPolicy::BACKEND_L3,
        max_sessions_per_user: Self::DEFAULT_MAX_SESSIONS_PER_USER,
        on_cap: CapPolicy::EndOldest,
        require_channel_binding: false,
        max_clock_regression: Self::DEFAULT_MAX_CLOCK_REGRESSION,
    };
    /// Device preset: [`TimeoutPolicy::DEVICE`], one paired app at a time, a second
    /// connection is refused until the first ends, channel binding required.
    pub const DEVICE: Self = Self {
        timeouts: TimeoutPolicy::DEVICE,
        max_sessions_per_user: 1,
        on_cap: CapPolicy::Reject,
        require_channel_binding: true,
        max_clock_regression: Self::DEFAULT_MAX_CLOCK_REGRESSION,
    };

    /// A builder starting from [`Self::BACKEND_L3`].
    #[must_use]
    pub const fn builder() -> SessionPolicyBuilder {
        SessionPolicyBuilder(Self::BACKEND_L3)
    }

    /// Checks the timeouts ([`TimeoutPolicy::validate`]), then that `max_clock_regression`
    /// is a whole number of milliseconds and at most the idle timeout, then that the cap is
    /// at least 1 and at most [`Self::MAX_SESSIONS_PER_USER`]. [`crate::Sessions`] managers call this when they are constructed, so a
    /// manager never runs with a policy outside these ranges.
    ///
    /// # Errors
    /// [`Error::InvalidPolicy`] naming the first rule that does not hold.
    pub fn validate(&self) -> Result<()> {
        self.timeouts.validate()?;
        let rule = if !whole_millis(self.max_clock_regression) {
            Some(PolicyViolation::NotWholeMilliseconds)
        } else if self.max_clock_regression > self.timeouts.idle {
            Some(PolicyViolation::ClockRegressionAboveIdle)
        } else if self.max_sessions_per_user == 0 {
            Some(PolicyViolation::CapZero)
        } else if self.max_sessions_per_user > Self::MAX_SESSIONS_PER_USER {
            Some(PolicyViolation::CapTooLarge)
        } else {
            None
        };
        refuse(rule)
    }
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self::BACKEND_L3
    }
}

/// Builds a validated [`SessionPolicy`].
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicyBuilder(SessionPolicy);

impl SessionPolicyBuilder {
    /// Sets all three clocks.
    #[must_use]
    pub const fn timeouts(mut self, t: TimeoutPolicy) -> Self {
        self.0.timeouts = t;
        self
    }
    /// Sets the idle timeout.
    #[must_use]
    pub const fn idle(mut self, d: Duration) -> Self {
        self.0.timeouts.idle = d;
        self
    }
    /// Sets the absolute lifetime.
    #[must_use]
    pub const fn absolute(mut self, d: Duration) -> Self {
        self.0.timeouts.absolute = d;
        self
    }
    /// Sets the elevation lifetime.
    #[must_use]
    pub const fn elevation(mut self, d: Duration) -> Self {
        self.0.timeouts.elevation = d;
        self
    }
    /// Sets the per-user cap and what happens at it.
    #[must_use]
    pub const fn max_sessions_per_user(mut self, cap: u32, on_cap: CapPolicy) -> Self {
        self.0.max_sessions_per_user = cap;
        self.0.on_cap = on_cap;
        self
    }
    /// Requires RFC 9266 channel binding on every session.
    #[must_use]
    pub const fn require_channel_binding(mut self, yes: bool) -> Self {
        self.0.require_channel_binding = yes;
        self
    }
    /// Sets the tolerated clock regression.
    #[must_use]
    pub const fn max_clock_regression(mut self, d: Duration) -> Self {
        self.0.max_clock_regression = d;
        self
    }
    /// Validates and returns the policy.
    ///
    /// # Errors
    /// [`Error::InvalidPolicy`] when inconsistent (see [`SessionPolicy::validate`]).
    pub fn build(self) -> Result<SessionPolicy> {
        self.0.validate()?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]
    use super::*;

    #[test]
    fn presets_are_valid() {
        for p in [
            TimeoutPolicy::BACKEND_L3,
            TimeoutPolicy::PORTAL_AAL2,
            TimeoutPolicy::DEVICE,
        ] {
            assert_eq!(p.validate(), Ok(()));
        }
        assert_eq!(SessionPolicy::BACKEND_L3.validate(), Ok(()));
        assert_eq!(SessionPolicy::DEVICE.validate(), Ok(()));
    }

    #[test]
    fn inconsistent_policies_are_refused() {
        use PolicyViolation as V;
        let b = SessionPolicy::builder();
        let refused = |p: SessionPolicyBuilder| match p.build() {
            Err(Error::InvalidPolicy(rule)) => rule,
            other => panic!("accepted: {other:?}"),
        };
        let ms = Duration::from_millis;
        assert_eq!(refused(b.idle(Duration::ZERO)), V::IdleZero);
        assert_eq!(refused(b.elevation(Duration::ZERO)), V::ElevationZero);
        // Below one millisecond is zero milliseconds, and any sub-millisecond part is refused.
        assert_eq!(
            refused(b.idle(Duration::from_micros(500))),
            V::NotWholeMilliseconds
        );
        assert_eq!(
            refused(b.absolute(Duration::from_nanos(12 * 3_600_000_000_001))),
            V::NotWholeMilliseconds
        );
        assert_eq!(
            refused(b.max_clock_regression(Duration::from_micros(1500))),
            V::NotWholeMilliseconds
        );
        assert_eq!(
            refused(b.idle(Duration::from_secs(13 * 3600))),
            V::IdleLongerThanAbsolute
        );
        assert_eq!(
            refused(b.elevation(Duration::from_secs(3600))),
            V::ElevationLongerThanIdle
        );
        assert_eq!(
            refused(b.absolute(TimeoutPolicy::MAX_ABSOLUTE + ms(1))),
            V::AbsoluteTooLong
        );
        assert_eq!(refused(b.absolute(Duration::MAX)), V::NotWholeMilliseconds);
        assert_eq!(
            refused(b.absolute(Duration::from_secs(u64::MAX))),
            V::AbsoluteTooLong
        );
        assert_eq!(
            refused(b.max_clock_regression(TimeoutPolicy::BACKEND_L3.idle + ms(1))),
            V::ClockRegressionAboveIdle
        );
        assert_eq!(
            refused(b.max_sessions_per_user(0, CapPolicy::Reject)),
            V::CapZero
        );
        assert_eq!(
            refused(b.max_sessions_per_user(1025, CapPolicy::EndOldest)),
            V::CapTooLarge
        );
        assert_eq!(
            refused(b.max_sessions_per_user(u32::MAX, CapPolicy::Reject)),
            V::CapTooLarge
        );
        b.max_sessions_per_user(SessionPolicy::MAX_SESSIONS_PER_USER, CapPolicy::Reject)
            .build()
            .unwrap();
        // The edges that are allowed: all three equal at 1 ms, the longest absolute
        // lifetime, no clock tolerance, a tolerance equal to the idle timeout.
        let one = TimeoutPolicy {
            idle: ms(1),
            absolute: ms(1),
            elevation: ms(1),
        };
        b.timeouts(one).max_clock_regression(ms(1)).build().unwrap();
        // (The default 2 s tolerance is above a 1 ms idle timeout.)
        assert_eq!(refused(b.timeouts(one)), V::ClockRegressionAboveIdle);
        b.absolute(TimeoutPolicy::MAX_ABSOLUTE).build().unwrap();
        b.max_clock_regression(Duration::ZERO).build().unwrap();
        b.max_clock_regression(TimeoutPolicy::BACKEND_L3.idle)
            .build()
            .unwrap();
        // The message names the rule.
        assert_eq!(
            std::format!("{}", Error::InvalidPolicy(V::IdleZero)),
            "invalid session policy: the idle timeout must be at least 1 ms"
        );
    }

    #[test]
    fn a_cap_built_by_hand_above_the_limit_is_refused_by_the_manager() {
        let mut p = SessionPolicy::BACKEND_L3;
        p.max_sessions_per_user = u32::MAX;
        let made = crate::Sessions::new(
            crate::store::FixedStore::<1, 64>::new(),
            crate::ManualClock::default(),
            crate::DataSecret::from_bytes([1; 32]),
            p,
        );
        assert_eq!(
            made.map(|_| ()),
            Err(Error::InvalidPolicy(PolicyViolation::CapTooLarge))
        );
    }

    #[test]
    fn a_policy_built_by_hand_is_checked_by_the_manager() {
        let mut p = SessionPolicy::BACKEND_L3;
        p.timeouts.idle = Duration::ZERO;
        let made = crate::Sessions::new(
            crate::store::FixedStore::<1, 64>::new(),
            crate::ManualClock::default(),
            crate::DataSecret::from_bytes([1; 32]),
            p,
        );
        assert_eq!(
            made.map(|_| ()),
            Err(Error::InvalidPolicy(PolicyViolation::IdleZero))
        );
    }
}
