//! The key-wrapping seam: where key-encryption keys live.
//!
//! [`KeyWrap`] is the small trait a secure element, HSM or cloud KMS implements; [`Kek`] (one
//! key, no allocation) and [`crate::Keyring`] (several keys with states) are the in-process
//! implementations. [`Unwrap`] is what `open` needs: anything that can recover a data key from
//! a recipient slot — every [`KeyWrap`] and every [`crate::RecipientSecretKey`].

use zeroize::Zeroize;

use crate::derive::{self, DIGEST_LEN};
use crate::error::{Error, Result};
use crate::header::{RecipientSlot, SlotKind};
use crate::keys::{DataKey, Kek, KeyId, KEY_LEN, MAX_KEY_ID_LEN};
use crate::provider::{AeadKey, AeadProvider, HpkeEngine, RustCrypto, NONCE_LEN, TAG_LEN};
use crate::suite::Suite;

/// Body length of a slot written by the in-process KEK wrap:
/// `wrap_salt (32) || ciphertext (32) || tag (16)`.
pub const KEK_WRAPPED_LEN: usize = DIGEST_LEN + KEY_LEN + TAG_LEN;

/// What a wrap must be bound to. `Debug` shows lengths only: the AAD starts with the binding,
/// a hash over the bound context, which a log must not offer for offline guessing.
pub struct WrapRequest<'a> {
    suite: Suite,
    aad: &'a [u8],
    randomness: &'a [u8; 32],
}

impl<'a> WrapRequest<'a> {
    pub(crate) fn new(suite: Suite, aad: &'a [u8], randomness: &'a [u8; 32]) -> Self {
        Self {
            suite,
            aad,
            randomness,
        }
    }
    /// The envelope's suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }
    /// Authenticated data the wrap must bind (envelope binding, slot kind and key id). A
    /// backend that cannot bind AAD must not be used: the binding is what stops a wrapped key
    /// from being moved to another envelope or context.
    pub fn aad(&self) -> &'a [u8] {
        self.aad
    }
    /// 32 fresh random bytes the wrapper may use (the in-process wrap uses them as its salt).
    pub fn randomness(&self) -> &'a [u8; 32] {
        self.randomness
    }
}

/// What an unwrap must check. `Debug` shows lengths only (see [`WrapRequest`]).
pub struct UnwrapRequest<'a> {
    suite: Suite,
    aad: &'a [u8],
    hpke: HpkeEngine,
}

impl<'a> UnwrapRequest<'a> {
    pub(crate) fn new(suite: Suite, aad: &'a [u8], hpke: HpkeEngine) -> Self {
        Self { suite, aad, hpke }
    }
    /// The HPKE implementation of the opener's provider.
    pub(crate) fn hpke_engine(&self) -> HpkeEngine {
        self.hpke
    }
    /// The envelope's suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }
    /// Authenticated data the wrap was bound to.
    pub fn aad(&self) -> &'a [u8] {
        self.aad
    }
}

impl core::fmt::Debug for WrapRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WrapRequest")
            .field("suite", &self.suite)
            .field("aad_len", &self.aad.len())
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for UnwrapRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnwrapRequest")
            .field("suite", &self.suite)
            .field("aad_len", &self.aad.len())
            .finish()
    }
}

/// A key-encryption key holder: wraps new data keys under its current key and unwraps data
/// keys wrapped under any of its usable keys.
pub trait KeyWrap {
    /// The id written into slots this wrapper creates (a keyring's primary).
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when there is no key to wrap with.
    fn wrapping_key_id(&self) -> Result<KeyId>;

    /// Exact length of every wrapped body this wrapper writes (1 to 1024 bytes).
    fn wrapped_len(&self) -> usize;

    /// Wraps `data_key`, binding `request.aad()`, into `out` (exactly [`KeyWrap::wrapped_len`]
    /// bytes).
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] without a usable key; [`Error::KeyWrapBackend`] when a
    /// backend fails.
    fn wrap(&self, request: &WrapRequest<'_>, data_key: &DataKey, out: &mut [u8]) -> Result<()>;

    /// Unwraps a data key wrapped under `key_id`. `Ok(None)` when `key_id` is not one of this
    /// wrapper's usable keys.
    ///
    /// # Errors
    /// [`Error::DidNotVerify`] when the key is known but the wrap does not verify (a KMS's
    /// "invalid ciphertext" answer belongs here); [`Error::KeyWrapBackend`] only when the
    /// backend could not answer at all (unreachable, throttled, locked), which openers pass on
    /// so callers retry instead of treating the envelope as tampered (unless another key
    /// refused a slot of the same envelope: then it did not verify).
    fn unwrap(
        &self,
        request: &UnwrapRequest<'_>,
        key_id: &[u8],
        wrapped: &[u8],
    ) -> Result<Option<DataKey>>;
}

/// Anything that can recover a data key from a recipient slot.
pub trait Unwrap {
    /// `Ok(None)` when the slot is not addressed to this key.
    ///
    /// # Errors
    /// [`Error::DidNotVerify`] when the slot is addressed to this key but does not verify;
    /// [`Error::KeyWrapBackend`] when a backend could not answer.
    fn unwrap_slot(
        &self,
        slot: &RecipientSlot<'_>,
        request: &UnwrapRequest<'_>,
    ) -> Result<Option<DataKey>>;
}

impl<T: KeyWrap + ?Sized> Unwrap for T {
    fn unwrap_slot(
        &self,
        slot: &RecipientSlot<'_>,
        request: &UnwrapRequest<'_>,
    ) -> Result<Option<DataKey>> {
        if slot.kind() != SlotKind::Kek {
            return Ok(None);
        }
        self.unwrap(request, slot.key_id(), slot.wrapped())
    }
}

/// Several unwrapping keys tried in order, e.g. a keyring and an HPKE secret key.
#[derive(Clone, Copy)]
pub struct UnwrapAny<'a>(pub &'a [&'a dyn Unwrap]);

impl core::fmt::Debug for UnwrapAny<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnwrapAny")
            .field("keys", &self.0.len())
            .finish()
    }
}

impl Unwrap for UnwrapAny<'_> {
    fn unwrap_slot(
        &self,
        slot: &RecipientSlot<'_>,
        request: &UnwrapRequest<'_>,
    ) -> Result<Option<DataKey>> {
        let mut failures: Option<crate::open::UnwrapFailures> = None;
        for key in self.0 {
            match key.unwrap_slot(slot, request) {
                Ok(Some(dk)) => return Ok(Some(dk)),
                Ok(None) => {}
                Err(e) => failures.get_or_insert_with(Default::default).record(e),
            }
        }
        match failures {
            Some(f) => Err(f.into_error()),
            None => Ok(None),
        }
    }
}

impl KeyWrap for Kek {
    fn wrapping_key_id(&self) -> Result<KeyId> {
        Ok(self.id())
    }

    fn wrapped_len(&self) -> usize {
        KEK_WRAPPED_LEN
    }

    fn wrap(&self, request: &WrapRequest<'_>, data_key: &DataKey, out: &mut [u8]) -> Result<()> {
        kek_wrap(self.secret(), request, data_key, out)
    }

    fn unwrap(
        &self,
        request: &UnwrapRequest<'_>,
        key_id: &[u8],
        wrapped: &[u8],
    ) -> Result<Option<DataKey>> {
        if self.id() != *key_id {
            return Ok(None);
        }
        kek_unwrap(self.secret(), request, wrapped).map(Some)
    }
}

const ZERO_NONCE: [u8; NONCE_LEN] = [0; NONCE_LEN];

/// The in-process wrap: `wrap_key = HKDF(salt, KEK)`, then the suite's AEAD with a zero nonce
/// (the wrap key is used once) over the data key, binding the request's AAD.
fn kek_wrap(
    kek: &[u8; KEY_LEN],
    request: &WrapRequest<'_>,
    data_key: &DataKey,
    out: &mut [u8],
) -> Result<()> {
    let out: &mut [u8; KEK_WRAPPED_LEN] = out.try_into().map_err(|_| Error::BufferTooSmall)?;
    let (salt, rest) = out.split_at_mut(DIGEST_LEN);
    let (ct, tag_out) = rest.split_at_mut(KEY_LEN);
    salt.copy_from_slice(request.randomness());
    let wrap_key = derive::wrap_key(kek, request.suite(), request.randomness());
    ct.copy_from_slice(data_key.expose_secret());
    let tag =
        RustCrypto
            .key(request.suite(), &wrap_key)
            .seal_in_place(&ZERO_NONCE, request.aad(), ct)?;
    tag_out.copy_from_slice(&tag);
    Ok(())
}

fn kek_unwrap(kek: &[u8; KEY_LEN], request: &UnwrapRequest<'_>, wrapped: &[u8]) -> Result<DataKey> {
    let wrapped: &[u8; KEK_WRAPPED_LEN] = wrapped.try_into().map_err(|_| Error::DidNotVerify)?;
    let (salt, ct_and_tag) = wrapped.split_at(DIGEST_LEN);
    let salt: &[u8; DIGEST_LEN] = salt.try_into().map_err(|_| Error::DidNotVerify)?;
    let wrap_key = derive::wrap_key(kek, request.suite(), salt);
    let mut buf = [0u8; KEY_LEN + TAG_LEN];
    buf.copy_from_slice(ct_and_tag);
    let opened = RustCrypto.key(request.suite(), &wrap_key).open_in_place(
        &ZERO_NONCE,
        request.aad(),
        &mut buf,
    );
    let result = match opened {
        Ok(_) => {
            let mut key = [0u8; KEY_LEN];
            key.copy_from_slice(buf.get(..KEY_LEN).ok_or(Error::DidNotVerify)?);
            let data_key = DataKey::from_bytes(key);
            key.zeroize();
            Ok(data_key)
        }
        Err(_) => Err(Error::DidNotVerify),
    };
    buf.zeroize();
    result
}

/// Longest wrap AAD: binding, kind, key id length, key id.
const MAX_WRAP_AAD_LEN: usize = DIGEST_LEN + 2 + MAX_KEY_ID_LEN;

/// `binding || kind || key_id_len || key_id`, built on the stack.
pub(crate) struct WrapAad {
    buf: [u8; MAX_WRAP_AAD_LEN],
    len: usize,
}

impl WrapAad {
    pub(crate) fn new(binding: &[u8; DIGEST_LEN], kind: SlotKind, key_id: &[u8]) -> Result<Self> {
        let id_len = u8::try_from(key_id.len()).map_err(|_| Error::DidNotVerify)?;
        let len = DIGEST_LEN
            .checked_add(2)
            .and_then(|n| n.checked_add(key_id.len()))
            .filter(|&n| n <= MAX_WRAP_AAD_LEN)
            .ok_or(Error::DidNotVerify)?;
        let mut buf = [0u8; MAX_WRAP_AAD_LEN];
        let (b, rest) = buf.split_at_mut(DIGEST_LEN);
        b.copy_from_slice(binding);
        let (head, tail) = rest.split_at_mut(2);
        head.copy_from_slice(&[kind.code(), id_len]);
        tail.get_mut(..key_id.len())
            .ok_or(Error::DidNotVerify)?
            .copy_from_slice(key_id);
        Ok(Self { buf, len })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}
