#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod error;
pub mod revocation;
mod token_id;

pub use error::{Error, Result};
pub use revocation::{
    FixedRevocationList, NoRevocation, RevocationCheck, RevocationEpoch, RevokedToken,
};
#[cfg(feature = "alloc")]
pub use revocation::RevocationList;
pub use token_id::TokenId;
