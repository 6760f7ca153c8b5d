#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

// The crate is a no_std + alloc core: normalised passwords and the in-memory stores need a heap.
// Hashing with caller-provided memory blocks (the firmware preset) and the fixed-capacity and
// flash throttle stores never allocate.
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod error;
pub mod hash;
mod login;
pub mod phc;
pub mod policy;
mod secret;
pub mod throttle;

pub use error::{Error, Result};
pub use hash::{
    HashParams, PasswordHasher, Pepper, PepperRequirement, PepperRing, Verified, VerifyLimits,
};
pub use login::{Attempt, LockoutHook, LoginGuard, Protected};
pub use phc::{PhcHash, PhcString};
pub use policy::{PasswordPolicy, PinPolicy, Rejection, POLICY_UNICODE_VERSION};
pub use secret::{Password, NFKC_UNICODE_VERSION};
pub use throttle::{
    Admission, Schedule, ThrottleKey, ThrottleKeyer, ThrottleRecord, ThrottleStore,
};
