#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod cbor;
pub mod claims;
pub mod clock;
mod error;
pub mod keys;
pub mod revocation;
pub mod scope;
mod token;
mod token_id;

pub use claims::{Claims, ClaimsBuilder, Narrowing, ProofKey};
#[cfg(feature = "std")]
pub use clock::SystemClock;
pub use clock::{Clock, FirstSight, FixedClock, FixedFirstSight, MonotonicTime, RollbackGuard};
pub use error::{Error, Result};
pub use keys::{KeyId, KeyLookup, KeySet, MacKey, SigningKey, VerificationKey, VerifyingKey};
#[cfg(feature = "alloc")]
pub use revocation::RevocationList;
pub use revocation::{
    FixedRevocationList, NoRevocation, RevocationCheck, RevocationEpoch, RevocationUpdate,
    RevokedToken, MAX_SEQUENCE_STEP, MAX_UPDATE_TIME,
};
pub use scope::{Action, Actions, PolicyTable, Resource, Role, Scope, ScopeSet};
pub use token::{
    Expectations, TokenKind, UnverifiedToken, VerifiedToken, ALG_EDDSA, ALG_HMAC_256_256,
    MAX_TOKEN_LEN, TAG_COSE_MAC0, TAG_COSE_SIGN1, TAG_CWT,
};
pub use token_id::TokenId;
