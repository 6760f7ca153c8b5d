//! The crate's one error type.

use crate::policy::Rejection;

/// Everything that can go wrong in this crate.
///
/// Authentication failures are deliberately coarse: a wrong password, an unknown user and a
/// stored hash whose pepper is unknown all surface as [`Error::NotVerified`], so that neither the
/// message nor the variant tells an attacker which accounts exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Wrong user name or password (one answer for both).
    #[error("wrong user name or password")]
    NotVerified,
    /// Too many recent failures: try again at `retry_at_ms` (caller's clock, milliseconds).
    ///
    /// Unknown user names are throttled exactly like real ones, so this answer does not reveal
    /// whether an account exists.
    #[error("too many failed attempts; try again later")]
    Throttled {
        /// Earliest time (same clock as the attempt) at which a new attempt is admitted.
        retry_at_ms: u64,
    },
    /// The hard limit of consecutive failures was reached: an out-of-band unlock is needed.
    ///
    /// Reached by unknown user names too, after the same number of failures.
    #[error("too many failed attempts; the account must be unlocked out of band")]
    LockedOut,
    /// A new password or PIN does not meet the policy; the reason is for the user interface.
    #[error("password rejected by policy: {0}")]
    Rejected(Rejection),
    /// The password is longer than any policy accepts (checked before normalisation).
    #[error("password too long")]
    PasswordTooLong,
    /// A stored hash is not a PHC string of the profile this crate accepts.
    #[error("stored hash is malformed")]
    MalformedHash,
    /// A stored hash asks for more memory, time, lanes or bytes than the configured ceilings.
    ///
    /// Checked before any memory is allocated.
    #[error("stored hash exceeds the configured cost ceilings")]
    LimitExceeded,
    /// A stored hash was not made with the pepper the hasher requires
    /// ([`crate::PepperRequirement`]): no `keyid`, or not the current one.
    ///
    /// Checked before any memory is allocated. [`crate::LoginGuard`] answers it as an unknown
    /// user ([`Error::NotVerified`] after the dummy hash) and logs `stored_hash_rejected`.
    #[error("stored hash lacks the required pepper")]
    PepperRequired,
    /// Invalid configuration (parameters, schedule, pepper, limits).
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// The caller-provided Argon2 memory is smaller than the parameters need.
    #[error("not enough Argon2 memory blocks for these parameters")]
    MemoryTooSmall,
    /// The throttle store failed or is saturated; the attempt is refused (fail closed).
    #[error("throttle store unavailable")]
    Store,
}

/// Result type of this crate.
pub type Result<T> = core::result::Result<T, Error>;
