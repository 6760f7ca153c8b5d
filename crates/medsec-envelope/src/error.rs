//! The crate's one error type.

/// Everything that can go wrong in this crate.
///
/// Anything that fails to verify — a tampered, truncated or malformed envelope, a wrong key, a
/// wrong context, a suite the policy refuses, a limit exceeded by untrusted input — is the single
/// opaque [`Error::DidNotVerify`]; which check failed is deliberately not revealed (no oracle). The
/// other variants describe mistakes by the caller, and [`Error::NoMatchingKey`], which only says
/// that none of the key ids printed in the envelope's clear header belongs to the caller's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input did not verify. Deliberately says nothing more.
    #[error("the envelope did not verify")]
    DidNotVerify,
    /// None of the envelope's recipient slots names a key that the supplied keys can use
    /// (unknown, or destroyed). Reveals nothing beyond the clear header.
    #[error("no usable key for this envelope")]
    NoMatchingKey,
    /// The caller's configuration or arguments are invalid; the text says which rule.
    #[error("invalid configuration: {0}")]
    InvalidConfiguration(&'static str),
    /// An output buffer is too small for the result.
    #[error("output buffer too small")]
    BufferTooSmall,
    /// A plaintext or stream is larger than the format or the configured limits allow.
    #[error("message too large")]
    MessageTooLarge,
    /// A key-wrapping backend (secure element, HSM, KMS) failed to perform an operation. When
    /// opening, reported only if no key opened or refused any slot, so it never tells which
    /// check failed.
    #[error("key-wrapping backend failure")]
    KeyWrapBackend,
    /// The operating system's random generator failed.
    #[error("random generator failure")]
    Randomness,
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
