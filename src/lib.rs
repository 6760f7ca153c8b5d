#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

#[cfg(feature = "std")]
extern crate std;

/// Envelope encryption: see [`medsec_envelope`].
pub use medsec_envelope as envelope;
