//! Token identifiers (the CWT `cti` claim).

use core::fmt;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use crate::{Error, Result};

/// A token identifier: the CWT `cti` claim (RFC 8392 §3.1.7), 1 to [`TokenId::MAX_LEN`] bytes.
///
/// Identifiers are not secret (they name a token in revocation lists and audit records), but they
/// are still compared in constant time so that a lookup never becomes a timing oracle.
#[derive(Clone, Copy)]
pub struct TokenId {
    len: u8,
    bytes: [u8; TokenId::MAX_LEN],
}

impl TokenId {
    /// Longest identifier accepted, in bytes.
    pub const MAX_LEN: usize = 32;
    /// Length of the identifiers that [`TokenId::random`] makes (128 bits).
    pub const RANDOM_LEN: usize = 16;

    /// Copies an identifier out of `bytes`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `bytes` is empty or longer than [`TokenId::MAX_LEN`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let (len, bytes) = bounded_copy(bytes)?;
        Ok(Self { len, bytes })
    }

    /// A fresh 128-bit identifier from a CSPRNG.
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; Self::MAX_LEN];
        if let Some(head) = bytes.get_mut(..Self::RANDOM_LEN) {
            rng.fill_bytes(head);
        }
        Self { len: 16, bytes }
    }

    /// The identifier's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl ConstantTimeEq for TokenId {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // Lengths are public; the contents are compared without an early exit.
        self.len.ct_eq(&other.len) & self.bytes.ct_eq(&other.bytes)
    }
}

impl PartialEq for TokenId {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for TokenId {}

impl PartialOrd for TokenId {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TokenId {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl core::hash::Hash for TokenId {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenId(")?;
        fmt::Display::fmt(self, f)?;
        write!(f, ")")
    }
}

/// Lower-case hex, the form used in logs and in the CLI's JSON output.
impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Copies 1 to `N` bytes into a zero-padded array with their length: the storage of the
/// fixed-capacity identifiers (`TokenId`, `KeyId`).
///
/// # Errors
/// [`Error::InvalidInput`] when `bytes` is empty or longer than `N` (at most 255).
pub(crate) fn bounded_copy<const N: usize>(bytes: &[u8]) -> Result<(u8, [u8; N])> {
    if bytes.is_empty() || bytes.len() > N {
        return Err(Error::InvalidInput);
    }
    let mut out = [0u8; N];
    out.get_mut(..bytes.len())
        .ok_or(Error::InvalidInput)?
        .copy_from_slice(bytes);
    let len = u8::try_from(bytes.len()).map_err(|_| Error::InvalidInput)?;
    Ok((len, out))
}
