//! Key material and key ids.

use core::fmt;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Length of every symmetric key in the format (AES-256).
pub const KEY_LEN: usize = 32;
/// Longest key id.
pub const MAX_KEY_ID_LEN: usize = 32;

/// Names a key-encryption key or a recipient key: 1 to 32 opaque bytes, printed in clear in
/// envelope headers. Never put an identifier that is itself sensitive (a patient's name) in a
/// key id; use a pseudonym or random bytes.
#[derive(Clone, Copy)]
pub struct KeyId {
    len: u8,
    bytes: [u8; MAX_KEY_ID_LEN],
}

impl KeyId {
    /// Makes a key id from 1 to [`MAX_KEY_ID_LEN`] bytes.
    ///
    /// # Errors
    /// [`Error::InvalidConfiguration`] when empty or too long.
    pub fn new(id: &[u8]) -> Result<Self> {
        let len = u8::try_from(id.len())
            .ok()
            .filter(|&n| n != 0 && usize::from(n) <= MAX_KEY_ID_LEN)
            .ok_or(Error::InvalidConfiguration("key id must be 1 to 32 bytes"))?;
        let mut bytes = [0u8; MAX_KEY_ID_LEN];
        bytes
            .get_mut(..id.len())
            .ok_or(Error::InvalidConfiguration("key id must be 1 to 32 bytes"))?
            .copy_from_slice(id);
        Ok(Self { len, bytes })
    }

    /// A fresh random 16-byte key id.
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; MAX_KEY_ID_LEN];
        if let Some(head) = bytes.get_mut(..16) {
            rng.fill_bytes(head);
        }
        Self { len: 16, bytes }
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl PartialEq for KeyId {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes().ct_eq(other.as_bytes()).into()
    }
}
impl Eq for KeyId {}

impl PartialEq<[u8]> for KeyId {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes().ct_eq(other).into()
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key ids are public (they sit in clear headers), so printing them is fine.
        f.write_str("KeyId(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A per-object data key: encrypts exactly one envelope body (through keys derived from it).
/// Zeroized on drop, never printed, never cloned casually.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// Draws a fresh data key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut key = [0u8; KEY_LEN];
        rng.fill_bytes(&mut key);
        Self(key)
    }

    /// Wraps raw key bytes (for key-wrapping backends that return unwrapped keys).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes, for key-wrapping backends. Do not store or log them.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey").finish_non_exhaustive()
    }
}

/// The state of a key-encryption key in a keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Wraps new data keys and unwraps old ones. One per keyring.
    Primary,
    /// Unwraps only (a rotated-out primary).
    DecryptOnly,
    /// Key material erased; everything wrapped only under it is unrecoverable.
    Destroyed,
}

impl KeyState {
    /// One-byte code used by the keyring file format.
    pub const fn code(self) -> u8 {
        match self {
            Self::Primary => 1,
            Self::DecryptOnly => 2,
            Self::Destroyed => 3,
        }
    }

    /// Parses [`KeyState::code`].
    ///
    /// # Errors
    /// [`Error::DidNotVerify`] for an unknown code.
    pub const fn from_code(code: u8) -> Result<Self> {
        match code {
            1 => Ok(Self::Primary),
            2 => Ok(Self::DecryptOnly),
            3 => Ok(Self::Destroyed),
            _ => Err(Error::DidNotVerify),
        }
    }
}

/// A 256-bit key-encryption key with its id. Implements [`crate::KeyWrap`] on its own, so a
/// device holding one KEK needs no allocation; [`crate::Keyring`] holds several.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Kek {
    #[zeroize(skip)]
    id: KeyId,
    key: [u8; KEY_LEN],
}

impl Kek {
    /// Makes a KEK from its id and raw bytes (taken by value; the caller's copy should be
    /// zeroized).
    pub fn from_bytes(id: KeyId, key: [u8; KEY_LEN]) -> Self {
        Self { id, key }
    }

    /// Draws a fresh KEK with a random id.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let id = KeyId::random(rng);
        let mut key = [0u8; KEY_LEN];
        rng.fill_bytes(&mut key);
        Self { id, key }
    }

    /// The KEK's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    pub(crate) fn secret(&self) -> &[u8; KEY_LEN] {
        &self.key
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
