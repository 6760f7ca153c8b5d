//! The crate's one error type.

/// Everything that can go wrong in `medsec-token`.
///
/// Every failure to parse, authenticate or validate a token is the single opaque
/// [`Error::Rejected`]: an attacker learns nothing about *why* (bad signature, expired,
/// unknown key, wrong audience), so the verifier is no oracle. The reason is kept internal
/// and reported only through `tracing` at debug level, without claim values.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The token did not verify (malformed, forged, expired, revoked, wrong audience, ...).
    #[error("the token did not verify")]
    Rejected,
    /// A caller-supplied value is outside what the profile allows (empty or oversize text,
    /// an empty scope set, a lifetime that overflows, a narrowing that widens).
    #[error("invalid input for a token")]
    InvalidInput,
    /// Key material is malformed (wrong length, not a valid Ed25519 point, bad key file).
    #[error("invalid key material")]
    InvalidKey,
    /// A fixed-capacity store (revocation list, first-sight table, key set) is full.
    #[error("capacity exceeded")]
    CapacityExceeded,
    /// The output buffer is too small for the encoded token.
    #[error("output buffer too small")]
    BufferTooSmall,
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
