//! The aws-lc-rs providers (feature `aws-lc`): same suites, same bytes, faster on servers; and
//! an opt-in variant whose HPKE runs on aws-lc too, at the cost of unwiped heap memory.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, AES_256_GCM_SIV};
use rand_core::CryptoRng;
use rustls::crypto::aws_lc_rs::hpke::DH_KEM_X25519_HKDF_SHA256_AES_256;
use rustls::crypto::hpke::{EncapsulatedSecret, Hpke as _, HpkePrivateKey, HpkePublicKey};
use zeroize::{Zeroize, Zeroizing};

use super::{AeadKey, AeadProvider, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::header::HPKE_WRAPPED_LEN;
use crate::keys::{DataKey, KEY_LEN};
use crate::recipient::{RecipientPublicKey, HPKE_INFO, X25519_KEY_LEN};
use crate::suite::Suite;

/// aws-lc-rs AEADs for the body. aws-lc cleanses its key material when the key is dropped.
/// HPKE slots are sealed and opened by the pure-Rust `hpke` crate, as with
/// [`RustCrypto`](super::RustCrypto), so the output is byte-identical to that provider's for
/// the same `rng` and every intermediate secret is wiped.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsLc;

/// [`AwsLc`], plus HPKE slots sealed and opened by rustls's HPKE suite on aws-lc-rs
/// (`DH_KEM_X25519_HKDF_SHA256_AES_256`, the suite of format section 5.2): about twice as fast
/// for public-key recipients, because aws-lc's X25519 is. Opt in only with the hazard below
/// understood.
///
/// **Secrets left in freed memory.** rustls 0.23's HPKE does not wipe its temporary heap
/// buffers: every HPKE seal or open through this provider leaves the X25519 shared secret, the
/// HKDF PRKs derived from it and a copy of the data key in freed heap blocks until the
/// allocator reuses them. Whoever can later read the process's memory (core dump, swap, a
/// memory-disclosure bug) and holds the envelope can recover its data key. Use it only in a
/// process whose global allocator wipes freed blocks, or where that exposure is accepted.
///
/// **Not reproducible.** Ephemeral keys come from aws-lc's own generator (seeded by the
/// operating system), not from the `rng` passed to the sealer: HPKE slots differ from the other
/// providers' for the same `rng` (the slot bytes remain valid RFC 9180 for any reader).
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsLcUnwipedHpke;

impl super::private::Hooks for AwsLc {}

impl AeadProvider for AwsLcUnwipedHpke {
    type Key = AwsLcKey;

    fn key(&self, suite: Suite, key: &[u8; KEY_LEN]) -> AwsLcKey {
        AwsLc.key(suite, key)
    }
}

/// A prepared aws-lc-rs key.
pub struct AwsLcKey(Option<LessSafeKey>);

impl core::fmt::Debug for AwsLcKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AwsLcKey").finish_non_exhaustive()
    }
}

impl super::private::Hooks for AwsLcUnwipedHpke {
    fn hpke_engine(&self) -> super::HpkeEngine {
        super::HpkeEngine::AwsLc
    }

    fn hpke_wrap<R: CryptoRng + ?Sized>(
        &self,
        recipient: &RecipientPublicKey,
        data_key: &DataKey,
        aad: &[u8],
        _rng: &mut R,
        out: &mut [u8],
    ) -> Result<()> {
        const FAILED: Error = Error::InvalidConfiguration("HPKE encapsulation failed");
        let out: &mut [u8; HPKE_WRAPPED_LEN] = out.try_into().map_err(|_| Error::BufferTooSmall)?;
        let public = HpkePublicKey(recipient.to_bytes().to_vec());
        let (enc, sealed) = DH_KEM_X25519_HKDF_SHA256_AES_256
            .seal(HPKE_INFO, aad, data_key.expose_secret(), &public)
            .map_err(|_| FAILED)?;
        let (enc_out, sealed_out) = out.split_at_mut(X25519_KEY_LEN);
        if enc.0.len() != enc_out.len() || sealed.len() != sealed_out.len() {
            return Err(FAILED);
        }
        enc_out.copy_from_slice(&enc.0);
        sealed_out.copy_from_slice(&sealed);
        Ok(())
    }
}

/// Opens an HPKE slot body (`enc || ciphertext || tag`, format section 5.2) with rustls's
/// aws-lc-rs HPKE. The secret key is copied into rustls's key type, which wipes it on drop; the
/// returned data key's buffer is wiped once copied out.
pub(crate) fn hpke_unwrap(
    secret_key: &[u8; X25519_KEY_LEN],
    wrapped: &[u8],
    aad: &[u8],
) -> Result<DataKey> {
    let (enc, sealed) = wrapped
        .split_at_checked(X25519_KEY_LEN)
        .ok_or(Error::DidNotVerify)?;
    let secret = HpkePrivateKey::from(secret_key.to_vec());
    let opened = DH_KEM_X25519_HKDF_SHA256_AES_256
        .open(
            &EncapsulatedSecret(enc.to_vec()),
            HPKE_INFO,
            aad,
            sealed,
            &secret,
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::DidNotVerify)?;
    let mut key: [u8; KEY_LEN] = opened
        .as_slice()
        .try_into()
        .map_err(|_| Error::DidNotVerify)?;
    let data_key = DataKey::from_bytes(key);
    // `DataKey::from_bytes` took a copy; wipe this one, as the pure-Rust path does.
    key.zeroize();
    Ok(data_key)
}

impl AeadProvider for AwsLc {
    type Key = AwsLcKey;

    fn key(&self, suite: Suite, key: &[u8; KEY_LEN]) -> AwsLcKey {
        let algorithm = match suite {
            Suite::Aes256GcmSiv => &AES_256_GCM_SIV,
            Suite::Aes256Gcm => &AES_256_GCM,
        };
        // A 32-byte key is always the right length for these algorithms; should aws-lc still
        // refuse it, every later operation fails closed.
        AwsLcKey(UnboundKey::new(algorithm, key).ok().map(LessSafeKey::new))
    }
}

impl AeadKey for AwsLcKey {
    fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        let key = self.0.as_ref().ok_or(Error::MessageTooLarge)?;
        let tag = key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .map_err(|_| Error::MessageTooLarge)?;
        tag.as_ref().try_into().map_err(|_| Error::MessageTooLarge)
    }

    fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext_and_tag: &mut [u8],
    ) -> Result<usize> {
        let Some(key) = self.0.as_ref() else {
            return Err(Error::DidNotVerify);
        };
        let len = ciphertext_and_tag
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::DidNotVerify)?;
        let ok = key
            .open_in_place(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                ciphertext_and_tag,
            )
            .is_ok();
        if !ok {
            ciphertext_and_tag.zeroize();
            return Err(Error::DidNotVerify);
        }
        Ok(len)
    }
}
