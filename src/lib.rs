#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

#[cfg(feature = "std")]
extern crate std;

/// Password/PIN policy, Argon2id hashing and throttled login: see [`medsec_credential`].
pub use medsec_credential as credential;
/// Envelope encryption: see [`medsec_envelope`].
pub use medsec_envelope as envelope;
/// Session lifecycles, timeouts, revocation and session stores: see [`medsec_session`].
pub use medsec_session as session;
/// Role-scoped access tokens (CWT in COSE_Sign1 / COSE_Mac0): see [`medsec_token`].
pub use medsec_token as token;
