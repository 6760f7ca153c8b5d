//! The crate's one error type.

/// What went wrong. Deliberately coarse: a caller (and so an attacker) learns whether to
/// re-authenticate, retry or report an outage, never *why* a presented session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The presented session is not valid: unknown, ended, expired, revoked, bound to another
    /// channel, or its stored record did not verify. One opaque variant on purpose; the
    /// reason is logged (without the id) through `tracing`.
    #[error("session rejected")]
    Rejected,
    /// The session is live but the operation needs a recent re-authentication (elevation).
    #[error("re-authentication required")]
    ElevationRequired,
    /// A concurrent request changed the session first (versioned compare-and-swap lost).
    /// Reload the session and retry.
    #[error("session changed concurrently")]
    Conflict,
    /// The session store or the revocation source could not be reached or failed, or the
    /// clock reports no trusted time ([`crate::Timestamp::UNTRUSTED`]). Fail closed: deny the
    /// request. No session is ended because of the fault, and a session may work again once
    /// the fault is gone; but deletions an operation made before it failed stay made (a
    /// login's pre-login id and the cap's deletions, [`crate::Sessions::revoke_user`]'s
    /// deletion without trusted time).
    #[error("session store unavailable")]
    Unavailable,
    /// The store is full (its memory bound is reached even after sweeping expired sessions),
    /// or the user is at the concurrent-session cap and the policy rejects new sessions.
    #[error("session capacity exhausted")]
    CapacityExhausted,
    /// Per-session data is larger than [`crate::MAX_DATA_LEN`] (or the store's own bound).
    #[error("session data too large")]
    TooLarge,
    /// A caller-supplied value is malformed (for example an empty or over-long user id, or a
    /// session id that does not decode).
    #[error("invalid input")]
    InvalidInput,
    /// A policy value is out of range or inconsistent with another (for example an idle
    /// timeout of zero, or idle > absolute); the [`crate::PolicyViolation`] names the rule.
    /// Only returned when a policy is built or a manager is constructed.
    #[error("invalid session policy: {0}")]
    InvalidPolicy(crate::PolicyViolation),
}

/// Result with the crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
