//! Keys and the two constructions that protect stored sessions:
//! per-session data sealing (AES-256-GCM-SIV under a key derived from the session id) and
//! the record MAC (HMAC-SHA256) used by persistent stores. Specified in
//! `docs/session-format.md`.

use core::fmt;

use aes_gcm_siv::aead::{AeadInOut, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce, Tag};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::id::{IdHash, SessionId};
use crate::{Error, Result};

/// Largest per-session data (plaintext), in bytes.
pub const MAX_DATA_LEN: usize = 16 * 1024;
/// Bytes the sealing adds: 12-byte nonce + 16-byte tag.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;
/// Largest sealed data blob.
pub const MAX_SEALED_LEN: usize = MAX_DATA_LEN + SEAL_OVERHEAD;

pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;
const DATA_KEY_INFO: &[u8] = b"medsec-session/v1/data-key";
const DATA_AAD_DOMAIN: &[u8] = b"medsec-session/v1/data\0";
pub(crate) const RECORD_MAC_DOMAIN: &[u8] = b"medsec-session/v1/record\0";

/// The server-side secret from which per-session data keys are derived (32 bytes). Every
/// instance sharing a store must hold the same one. Zeroized on drop, `Debug` redacted.
pub struct DataSecret([u8; 32]);

/// The key persistent stores use to authenticate stored records (HMAC-SHA256, 32 bytes),
/// so that a tampered database row is refused rather than trusted.
pub struct RecordKey([u8; 32]);

macro_rules! secret_key {
    ($t:ident) => {
        impl $t {
            /// From 32 secret bytes (from a keyring, KMS or secure element).
            #[must_use]
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// A fresh random key.
            pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
                let mut k = [0u8; 32];
                rng.fill_bytes(&mut k);
                Self(k)
            }
        }

        impl Zeroize for $t {
            fn zeroize(&mut self) {
                self.0.zeroize();
            }
        }

        impl Drop for $t {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl ZeroizeOnDrop for $t {}

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    };
}

secret_key!(DataSecret);
secret_key!(RecordKey);

impl DataSecret {
    /// `HKDF-SHA256(salt = secret, IKM = session id, info = "medsec-session/v1/data-key")`,
    /// 32 bytes. Each session has its own key, and the store (which never sees the id)
    /// cannot derive it.
    fn data_key(&self, id: &SessionId) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(Some(&self.0), id.as_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        // 32 bytes is always a valid HKDF-SHA256 output length.
        let _ = hk.expand(DATA_KEY_INFO, key.as_mut_slice());
        key
    }

    /// Seals `plaintext` for the session `id` into `out` (`nonce || ciphertext || tag`,
    /// `plaintext.len() + 28` bytes). The manager calls this with a fresh random nonce; it
    /// is public for known-answer tests and independent implementations.
    ///
    /// # Errors
    /// [`Error::TooLarge`] beyond [`MAX_DATA_LEN`] or when `out` has the wrong length.
    pub fn seal(
        &self,
        id: &SessionId,
        id_hash: &IdHash,
        nonce: [u8; NONCE_LEN],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        if plaintext.len() > MAX_DATA_LEN
            || out.len() != plaintext.len().saturating_add(SEAL_OVERHEAD)
        {
            return Err(Error::TooLarge);
        }
        let key = self.data_key(id);
        let cipher =
            Aes256GcmSiv::new_from_slice(key.as_slice()).map_err(|_| Error::InvalidInput)?;
        let (nonce_out, rest) = out.split_at_mut(NONCE_LEN);
        let (body, tag_out) = rest.split_at_mut(plaintext.len());
        nonce_out.copy_from_slice(&nonce);
        body.copy_from_slice(plaintext);
        let aad = data_aad(id_hash);
        let tag = cipher
            .encrypt_inout_detached(&Nonce::from(nonce), &aad, body.into())
            .map_err(|_| Error::TooLarge)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Opens a sealed blob for the session `id` into `out` (exactly `sealed.len() - 28`
    /// bytes). On failure `out` is wiped and the one opaque [`Error::Rejected`] returned.
    ///
    /// # Errors
    /// [`Error::Rejected`] when the blob does not verify or `out` has the wrong length.
    pub fn open(
        &self,
        id: &SessionId,
        id_hash: &IdHash,
        sealed: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        if sealed.len() < SEAL_OVERHEAD || out.len() != sealed.len().saturating_sub(SEAL_OVERHEAD) {
            return Err(Error::Rejected);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(out.len());
        let nonce = Nonce::try_from(nonce).map_err(|_| Error::Rejected)?;
        let tag = Tag::try_from(tag).map_err(|_| Error::Rejected)?;
        out.copy_from_slice(body);
        let key = self.data_key(id);
        let cipher = Aes256GcmSiv::new_from_slice(key.as_slice()).map_err(|_| Error::Rejected)?;
        let aad = data_aad(id_hash);
        if cipher
            .decrypt_inout_detached(&nonce, &aad, out.into(), &tag)
            .is_err()
        {
            out.zeroize();
            return Err(Error::Rejected);
        }
        Ok(())
    }
}

const DATA_AAD_LEN: usize = DATA_AAD_DOMAIN.len() + 32;

fn data_aad(id_hash: &IdHash) -> [u8; DATA_AAD_LEN] {
    let mut aad = [0u8; DATA_AAD_LEN];
    let (d, h) = aad.split_at_mut(DATA_AAD_DOMAIN.len());
    d.copy_from_slice(DATA_AAD_DOMAIN);
    h.copy_from_slice(id_hash.as_bytes());
    aad
}

impl RecordKey {
    /// `HMAC-SHA256(key, "medsec-session/v1/record\0" || id_hash || body)`.
    pub(crate) fn mac(&self, id_hash: &IdHash, body: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        mac.update(RECORD_MAC_DOMAIN);
        mac.update(id_hash.as_bytes());
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check of a record MAC.
    pub(crate) fn verify(&self, id_hash: &IdHash, body: &[u8], tag: &[u8]) -> bool {
        let expected = self.mac(id_hash, body);
        expected.ct_eq(tag).into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        reason = "test code"
    )]
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let secret = DataSecret::from_bytes([9; 32]);
        let id = SessionId::from_bytes([1; 32]);
        let h = id.id_hash();
        let pt = b"therapy-draft: basal 0.8 U/h";
        let mut sealed = [0u8; 28 + 28];
        secret.seal(&id, &h, [3; 12], pt, &mut sealed).unwrap();
        let mut out = [0u8; 28];
        secret.open(&id, &h, &sealed, &mut out).unwrap();
        assert_eq!(&out, pt);
        for i in 0..sealed.len() * 8 {
            let mut t = sealed;
            t[i / 8] ^= 1 << (i % 8);
            let mut out = [0xAAu8; 28];
            assert_eq!(secret.open(&id, &h, &t, &mut out), Err(Error::Rejected));
            assert_eq!(out, [0u8; 28], "output wiped on failure");
        }
        // Another session's key cannot open it.
        let other = SessionId::from_bytes([2; 32]);
        assert!(secret
            .open(&other, &other.id_hash(), &sealed, &mut out)
            .is_err());
        assert!(secret.open(&other, &h, &sealed, &mut out).is_err());
        assert!(secret
            .open(&id, &other.id_hash(), &sealed, &mut out)
            .is_err());
    }
}
