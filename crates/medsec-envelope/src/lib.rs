#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod context;
mod derive;
mod error;
mod header;
mod keys;
mod limits;
mod open;
pub mod provider;
mod recipient;
mod seal;
mod stream;
mod suite;
mod wrap;

#[cfg(feature = "std")]
mod io;
#[cfg(feature = "alloc")]
mod keyring;
#[cfg(feature = "alloc")]
mod plaintext;
#[cfg(feature = "alloc")]
mod rewrap;

pub use context::{
    Context, ContextEntry, ContextField, Disclosure, MAX_CONTEXT_ENTRIES, MAX_CONTEXT_KEY_LEN,
    MAX_CONTEXT_VALUE_LEN,
};
pub use error::{Error, Result};
pub use header::{
    peek_header_len, HeaderView, RecipientSlot, SlotKind, StoredEntry, HPKE_WRAPPED_LEN, MAGIC,
    MAX_WRAPPED_LEN, VERSION,
};
pub use keys::{DataKey, Kek, KeyId, KeyState, KEY_LEN, MAX_KEY_ID_LEN};
pub use limits::{
    Limits, MAX_CHUNK_SIZE, MAX_HEADER_LEN, MAX_ONE_SHOT_LEN, MAX_RECIPIENTS, MAX_STREAM_CHUNKS,
    MAX_VALID_HEADER_LEN, MIN_CHUNK_SIZE,
};
pub use open::Opener;
pub use recipient::{RecipientPublicKey, RecipientSecretKey, HPKE_INFO, X25519_KEY_LEN};
pub use seal::Sealer;
pub use stream::{StreamComplete, StreamOpener, StreamSealer};
pub use suite::{Suite, SuitePolicy};
pub use wrap::{KeyWrap, Unwrap, UnwrapAny, UnwrapRequest, WrapRequest, KEK_WRAPPED_LEN};

#[cfg(feature = "std")]
pub use io::{OpeningReader, SealingWriter};
#[cfg(feature = "alloc")]
pub use keyring::{Keyring, KEYRING_MAGIC, KEYRING_VERSION, MAX_KEYRING_KEYS};
#[cfg(feature = "alloc")]
pub use plaintext::Plaintext;

/// The operating system's CSPRNG (`getrandom`), panicking if the OS cannot supply randomness.
#[cfg(feature = "std")]
pub type OsRng = rand_core::UnwrapErr<getrandom::SysRng>;

/// The default streaming chunk size (16 KiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 16 * 1024;
