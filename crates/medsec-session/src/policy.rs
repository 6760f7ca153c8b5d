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

    /// Checks the invariants: all non-zero, `idle <= absolute`, `elevation <= idle`.
    ///
    /// # Errors
    /// [`Error::InvalidPolicy`] when an invariant does not hold.
    pub fn validate(&self) -> Result<()> {
        let ok = !self.idle.is_zero()
            && !self.absolute.is_zero()
            && !self.elevation.is_zero()
            && self.idle <= self.absolute
            && self.elevation <= self.idle;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidPolicy)
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

    /// Checks the timeouts and that the cap is at least 1.
    ///
    /// # Errors
    /// [`Error::InvalidPolicy`] when inconsistent.
    pub fn validate(&self) -> Result<()> {
        self.timeouts.validate()?;
        if self.max_sessions_per_user == 0 {
            return Err(Error::InvalidPolicy);
        }
        Ok(())
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
        let b = SessionPolicy::builder();
        assert_eq!(
            b.idle(Duration::from_secs(13 * 3600)).build(),
            Err(Error::InvalidPolicy)
        );
        assert_eq!(
            b.elevation(Duration::from_secs(3600)).build(),
            Err(Error::InvalidPolicy)
        );
        assert_eq!(b.idle(Duration::ZERO).build(), Err(Error::InvalidPolicy));
        assert_eq!(
            b.max_sessions_per_user(0, CapPolicy::Reject).build(),
            Err(Error::InvalidPolicy)
        );
    }
}
