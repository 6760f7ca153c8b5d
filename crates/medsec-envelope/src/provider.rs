//! AEAD providers: the same suites, the same bytes, different implementations.
//!
//! [`RustCrypto`] (pure Rust, `no_std`) is the default and what firmware uses. With the `aws-lc`
//! feature, [`AwsLc`] uses aws-lc-rs (faster on servers, FIPS-validated builds exist). Both
//! produce byte-identical output for every suite from the same `rng`; a test proves it.
//! `AwsLcUnwipedHpke` (opt-in) also runs HPKE on aws-lc, twice as fast for public-key
//! recipients but leaving secrets in freed heap memory and drawing its own ephemeral keys;
//! tests prove that its HPKE slots and the pure-Rust ones open each other.

use rand_core::CryptoRng;

use crate::error::Result;
use crate::keys::{DataKey, KEY_LEN};
use crate::recipient::RecipientPublicKey;
use crate::suite::Suite;

mod rust_crypto;
pub use rust_crypto::RustCrypto;

#[cfg(feature = "aws-lc")]
mod aws_lc;
#[cfg(feature = "aws-lc")]
pub(crate) use aws_lc::hpke_unwrap as aws_lc_hpke_unwrap;
#[cfg(feature = "aws-lc")]
pub use aws_lc::{AwsLc, AwsLcUnwipedHpke};

/// AEAD nonce length (96 bits) for both suites.
pub const NONCE_LEN: usize = 12;
/// AEAD tag length (128 bits) for both suites.
pub const TAG_LEN: usize = 16;

/// Supplies AEAD implementations for the envelope suites.
///
/// Sealed: the crate's providers are [`RustCrypto`] and (feature `aws-lc`) `AwsLc` and
/// `AwsLcUnwipedHpke`. A provider also decides which HPKE implementation seals and opens
/// public-key slots (section 5.2 of the format); the wire format is the same either way.
pub trait AeadProvider: private::Hooks + Copy + Default + core::fmt::Debug {
    /// A key prepared for repeated use (expanded key schedule), zeroized on drop.
    type Key: AeadKey;

    /// Prepares `key` for `suite`.
    fn key(&self, suite: Suite, key: &[u8; KEY_LEN]) -> Self::Key;
}

/// One prepared AEAD key.
pub trait AeadKey {
    /// Encrypts `buf` in place and returns the tag.
    ///
    /// # Errors
    /// [`crate::Error::MessageTooLarge`] when `buf` exceeds the algorithm's limit.
    fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]>;

    /// Decrypts `ciphertext || tag` in place, returning the plaintext length. On failure the
    /// buffer is wiped and the error is [`crate::Error::DidNotVerify`].
    ///
    /// # Errors
    /// [`crate::Error::DidNotVerify`] when the tag does not verify or the input is too short.
    fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext_and_tag: &mut [u8],
    ) -> Result<usize>;
}

pub(crate) use private::HpkeEngine;

pub(crate) mod private {
    use super::{CryptoRng, DataKey, RecipientPublicKey, Result};

    /// Which HPKE implementation unwraps public-key slots.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum HpkeEngine {
        /// The pure-Rust `hpke` crate.
        Hpke,
        /// rustls's HPKE on aws-lc-rs.
        #[cfg(feature = "aws-lc")]
        AwsLc,
    }

    /// Provider hooks beyond the body AEAD; not implementable outside the crate.
    pub trait Hooks {
        /// The HPKE implementation that opens public-key slots for this provider.
        fn hpke_engine(&self) -> HpkeEngine {
            HpkeEngine::Hpke
        }

        /// Wraps `data_key` to `recipient` with HPKE: `enc || ciphertext || tag` into `out`.
        /// The default is the pure-Rust `hpke` crate, drawing the ephemeral key from `rng`.
        fn hpke_wrap<R: CryptoRng + ?Sized>(
            &self,
            recipient: &RecipientPublicKey,
            data_key: &DataKey,
            aad: &[u8],
            rng: &mut R,
            out: &mut [u8],
        ) -> Result<()> {
            recipient.wrap(data_key, aad, rng, out)
        }
    }
}

/// The provider used when none is named: [`RustCrypto`].
pub type DefaultProvider = RustCrypto;

/// Splits `ciphertext || tag`; `None` if shorter than a tag.
pub(crate) fn split_tag(buf: &mut [u8]) -> Option<(&mut [u8], [u8; TAG_LEN])> {
    let at = buf.len().checked_sub(TAG_LEN)?;
    let (ct, tag) = buf.split_at_mut(at);
    let tag: [u8; TAG_LEN] = (&*tag).try_into().ok()?;
    Some((ct, tag))
}
