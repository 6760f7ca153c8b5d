//! The RustCrypto provider: `aes-gcm-siv` and `aes-gcm`, pure Rust, `no_std`.

use aead::{inout::InOutBuf, AeadInOut, KeyInit};
use aes_gcm::Aes256Gcm;
use aes_gcm_siv::Aes256GcmSiv;
use zeroize::Zeroize;

use super::{split_tag, AeadKey, AeadProvider, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::keys::KEY_LEN;
use crate::suite::Suite;

/// RustCrypto AEADs (default; pure Rust, `no_std`, constant-time on targets with AES
/// instructions and in the bitsliced fallback).
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

/// A prepared RustCrypto key. The cipher crates zeroize their key schedules on drop.
pub struct RustCryptoKey(Inner);

enum Inner {
    GcmSiv(Aes256GcmSiv),
    Gcm(Aes256Gcm),
}

impl core::fmt::Debug for RustCryptoKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RustCryptoKey").finish_non_exhaustive()
    }
}

impl super::private::Hooks for RustCrypto {}

impl AeadProvider for RustCrypto {
    type Key = RustCryptoKey;

    fn key(&self, suite: Suite, key: &[u8; KEY_LEN]) -> RustCryptoKey {
        let key = (*key).into();
        RustCryptoKey(match suite {
            Suite::Aes256GcmSiv => Inner::GcmSiv(Aes256GcmSiv::new(&key)),
            Suite::Aes256Gcm => Inner::Gcm(Aes256Gcm::new(&key)),
        })
    }
}

impl AeadKey for RustCryptoKey {
    fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        let nonce = (*nonce).into();
        let tag = match &self.0 {
            Inner::GcmSiv(c) => c.encrypt_inout_detached(&nonce, aad, InOutBuf::from(buf)),
            Inner::Gcm(c) => c.encrypt_inout_detached(&nonce, aad, InOutBuf::from(buf)),
        }
        .map_err(|_| Error::MessageTooLarge)?;
        Ok(tag.into())
    }

    fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext_and_tag: &mut [u8],
    ) -> Result<usize> {
        let (ct, tag) = split_tag(ciphertext_and_tag).ok_or(Error::DidNotVerify)?;
        let nonce = (*nonce).into();
        let tag = tag.into();
        let len = ct.len();
        let result = match &self.0 {
            Inner::GcmSiv(c) => c.decrypt_inout_detached(&nonce, aad, InOutBuf::from(ct), &tag),
            Inner::Gcm(c) => c.decrypt_inout_detached(&nonce, aad, InOutBuf::from(ct), &tag),
        };
        if result.is_err() {
            ciphertext_and_tag.zeroize();
            return Err(Error::DidNotVerify);
        }
        Ok(len)
    }
}
