#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod clock;
mod error;
mod id;
mod manager;
mod policy;
pub mod record;
mod revocation;
mod seal;
pub mod store;

#[cfg(feature = "std")]
pub use clock::SystemClock;
pub use clock::{Clock, ManualClock, Timestamp, TokenClock};
pub use error::{Error, Result};
pub use id::{
    ChannelBinding, IdHash, SessionId, UserId, ENCODED_ID_LEN, SESSION_ID_LEN, TLS_EXPORTER_LABEL,
    TLS_EXPORTER_LEN,
};
#[cfg(feature = "alloc")]
pub use manager::SessionData;
pub use manager::{
    Active, Elevated, EndReason, Ended, Established, Live, Session, SessionSummary, Sessions,
};
pub use medsec_token::Role;
pub use policy::{CapPolicy, PolicyViolation, SessionPolicy, SessionPolicyBuilder, TimeoutPolicy};
pub use record::{SessionMeta, StoredState};
pub use revocation::{NoRevocation, ReadOnly, RevocationCheck, RevocationEpoch, SubjectRevocation};
pub use seal::{DataSecret, RecordKey, MAX_DATA_LEN};
pub use store::SessionStore;
