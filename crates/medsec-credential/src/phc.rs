//! The PHC string profile this crate emits and accepts (docs/credential-format.md).
//!
//! ```text
//! $argon2id$v=19$m=<m>,t=<t>,p=<p>[,keyid=<B64 of 4 bytes>]$<B64 salt>$<B64 hash>
//! ```
//!
//! Parsing never allocates and checks every cost parameter and length against the caller's
//! [`VerifyLimits`] before anything is decoded, so a stored hash written by an attacker cannot
//! make the verifier allocate or compute more than the ceilings allow.

use core::fmt::{self, Write as _};

use base64ct::{Base64Unpadded, Encoding};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::hash::{HashParams, VerifyLimits};
use crate::{Error, Result};

/// Longest PHC string accepted, in bytes (checked before anything else).
pub const MAX_PHC_LEN: usize = 256;
/// Shortest salt accepted, in bytes (libargon2's minimum).
pub const MIN_SALT_LEN: usize = 8;
/// Longest salt representable (ceilings may be lower).
pub const MAX_SALT_LEN: usize = 64;
/// Shortest hash output accepted, in bytes.
pub const MIN_HASH_LEN: usize = 16;
/// Longest hash output representable (ceilings may be lower).
pub const MAX_HASH_LEN: usize = 64;
/// Salt length this crate emits.
pub const SALT_LEN: usize = 16;
/// Hash output length this crate emits.
pub const HASH_LEN: usize = 32;

const PREFIX: &str = "$argon2id$v=19$";

/// A parsed stored hash of our profile. No heap memory; `Debug` omits salt and hash.
#[derive(Clone)]
pub struct PhcHash {
    params: HashParams,
    pepper_id: Option<u32>,
    salt: [u8; MAX_SALT_LEN],
    salt_len: usize,
    hash: [u8; MAX_HASH_LEN],
    hash_len: usize,
}

impl PhcHash {
    /// Parses `s` strictly (canonical form only) and checks it against `limits`.
    ///
    /// # Errors
    /// [`Error::MalformedHash`] when `s` is not of the profile (wrong algorithm or version,
    /// other parameter order, leading zeros, non-canonical Base64, lengths outside the profile);
    /// [`Error::LimitExceeded`] when m, t, p, salt or hash length exceed `limits`. Both are
    /// decided without allocating.
    pub fn parse(s: &str, limits: &VerifyLimits) -> Result<Self> {
        if s.len() > MAX_PHC_LEN {
            return Err(Error::MalformedHash);
        }
        let rest = s.strip_prefix(PREFIX).ok_or(Error::MalformedHash)?;
        let mut fields = rest.split('$');
        let (Some(param_field), Some(salt_b64), Some(hash_b64), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(Error::MalformedHash);
        };

        let mut params = param_field.split(',');
        let m = decimal(params.next(), "m=")?;
        let t = decimal(params.next(), "t=")?;
        let p = decimal(params.next(), "p=")?;
        let keyid = params.next();
        if params.next().is_some() {
            return Err(Error::MalformedHash);
        }
        let params = HashParams::new(m, t, p).map_err(|_| Error::MalformedHash)?;
        // Ceilings before any decoding or allocation.
        limits.check(&params)?;
        let salt_max_b64 = b64_len(limits.max_salt_len());
        let hash_max_b64 = b64_len(limits.max_hash_len());
        if salt_b64.len() > salt_max_b64 || hash_b64.len() > hash_max_b64 {
            return Err(Error::LimitExceeded);
        }

        let pepper_id = match keyid {
            None => None,
            Some(k) => {
                let v = k.strip_prefix("keyid=").ok_or(Error::MalformedHash)?;
                let mut id = [0u8; 4];
                let got = Base64Unpadded::decode(v, &mut id).map_err(|_| Error::MalformedHash)?;
                if got.len() != 4 {
                    return Err(Error::MalformedHash);
                }
                Some(u32::from_be_bytes(id))
            }
        };

        let mut out = Self {
            params,
            pepper_id,
            salt: [0u8; MAX_SALT_LEN],
            salt_len: 0,
            hash: [0u8; MAX_HASH_LEN],
            hash_len: 0,
        };
        out.salt_len = Base64Unpadded::decode(salt_b64, &mut out.salt)
            .map_err(|_| Error::MalformedHash)?
            .len();
        out.hash_len = Base64Unpadded::decode(hash_b64, &mut out.hash)
            .map_err(|_| Error::MalformedHash)?
            .len();
        if out.salt_len < MIN_SALT_LEN || out.hash_len < MIN_HASH_LEN {
            return Err(Error::MalformedHash);
        }
        if out.salt_len > limits.max_salt_len() || out.hash_len > limits.max_hash_len() {
            return Err(Error::LimitExceeded);
        }
        Ok(out)
    }

    /// Assembles a hash from its parts.
    ///
    /// # Errors
    /// [`Error::Config`] when salt or hash length is outside the profile.
    pub fn from_parts(
        params: HashParams,
        pepper_id: Option<u32>,
        salt: &[u8],
        hash: &[u8],
    ) -> Result<Self> {
        let mut out = Self {
            params,
            pepper_id,
            salt: [0u8; MAX_SALT_LEN],
            salt_len: salt.len(),
            hash: [0u8; MAX_HASH_LEN],
            hash_len: hash.len(),
        };
        let (Some(s), Some(h)) = (
            out.salt.get_mut(..salt.len()),
            out.hash.get_mut(..hash.len()),
        ) else {
            return Err(Error::Config("salt or hash too long"));
        };
        if salt.len() < MIN_SALT_LEN || hash.len() < MIN_HASH_LEN {
            return Err(Error::Config("salt or hash too short"));
        }
        s.copy_from_slice(salt);
        h.copy_from_slice(hash);
        Ok(out)
    }

    /// Argon2id cost parameters.
    pub fn params(&self) -> &HashParams {
        &self.params
    }

    /// Pepper key id, when the hash was computed with a pepper (Argon2 secret).
    pub fn pepper_id(&self) -> Option<u32> {
        self.pepper_id
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        self.salt.get(..self.salt_len).unwrap_or(&[])
    }

    /// The hash output (the tag).
    pub fn hash(&self) -> &[u8] {
        self.hash.get(..self.hash_len).unwrap_or(&[])
    }

    /// Constant-time comparison of `candidate` with the stored hash output.
    pub(crate) fn hash_matches(&self, candidate: &[u8]) -> bool {
        bool::from(self.hash().ct_eq(candidate))
    }

    /// The canonical PHC string.
    pub fn encode(&self) -> PhcString {
        let mut out = PhcString::empty();
        // Cannot fail: the longest string of the profile fits MAX_PHC_LEN.
        let _ = write!(
            out,
            "{PREFIX}m={},t={},p={}",
            self.params.m_kib(),
            self.params.t(),
            self.params.p()
        );
        if let Some(id) = self.pepper_id {
            let mut b = [0u8; 6];
            if let Ok(k) = Base64Unpadded::encode(&id.to_be_bytes(), &mut b) {
                let _ = write!(out, ",keyid={k}");
            }
        }
        let mut b = [0u8; 88];
        if let Ok(salt) = Base64Unpadded::encode(self.salt(), &mut b) {
            let _ = write!(out, "${salt}");
        }
        if let Ok(hash) = Base64Unpadded::encode(self.hash(), &mut b) {
            let _ = write!(out, "${hash}");
        }
        b.zeroize();
        out
    }
}

impl Drop for PhcHash {
    fn drop(&mut self) {
        self.hash.zeroize();
    }
}

impl fmt::Debug for PhcHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhcHash")
            .field("params", &self.params)
            .field("pepper_id", &self.pepper_id)
            .finish_non_exhaustive()
    }
}

/// A PHC string held in a fixed buffer (no heap), so firmware can hash without allocating.
///
/// `Debug` shows only the algorithm and parameters; `as_str` gives the whole string for storage.
#[derive(Clone)]
pub struct PhcString {
    buf: [u8; MAX_PHC_LEN],
    len: usize,
}

impl PhcString {
    fn empty() -> Self {
        Self {
            buf: [0u8; MAX_PHC_LEN],
            len: 0,
        }
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl fmt::Write for PhcString {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl fmt::Display for PhcString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for PhcString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Up to the salt: algorithm, version and parameters, nothing a cracker needs.
        let s = self.as_str();
        let shown = s
            .match_indices('$')
            .nth(3)
            .map_or(s, |(i, _)| s.get(..i).unwrap_or(""));
        write!(f, "PhcString({shown}$…)")
    }
}

impl PartialEq for PhcString {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.as_str().as_bytes().ct_eq(other.as_str().as_bytes()))
    }
}

impl Eq for PhcString {}

impl AsRef<str> for PhcString {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Parses `<prefix><decimal>`: 1 to 10 ASCII digits, no sign, no leading zero, fits in u32.
fn decimal(field: Option<&str>, prefix: &str) -> Result<u32> {
    let digits = field
        .and_then(|f| f.strip_prefix(prefix))
        .ok_or(Error::MalformedHash)?;
    if digits.is_empty()
        || digits.len() > 10
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return Err(Error::MalformedHash);
    }
    digits.parse::<u32>().map_err(|_| Error::MalformedHash)
}

/// Length of unpadded Base64 for `n` bytes.
const fn b64_len(n: usize) -> usize {
    n.saturating_mul(4).div_ceil(3)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use alloc::format;
    use alloc::string::String;

    const GOOD: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                        AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    fn limits() -> VerifyLimits {
        VerifyLimits::SERVER
    }

    #[test]
    fn round_trip_is_canonical() {
        let h = PhcHash::parse(GOOD, &limits()).unwrap();
        assert_eq!(h.params().m_kib(), 19456);
        assert_eq!(h.salt(), b"saltsaltsaltsalt");
        assert_eq!(h.hash().len(), 32);
        assert_eq!(h.encode().as_str(), GOOD);
    }

    #[test]
    fn keyid_round_trip() {
        let h = PhcHash::from_parts(HashParams::SERVER, Some(7), &[1; 16], &[2; 32]).unwrap();
        let s = h.encode();
        assert!(s.as_str().contains(",keyid=AAAABw$"), "{}", s.as_str());
        let back = PhcHash::parse(s.as_str(), &limits()).unwrap();
        assert_eq!(back.pepper_id(), Some(7));
    }

    #[test]
    fn rejects_non_canonical_forms() {
        let bad = [
            GOOD.replace("argon2id", "argon2i"),
            GOOD.replace("v=19", "v=16"),
            GOOD.replace("$v=19", ""),
            GOOD.replace("m=19456,t=2,p=1", "t=2,m=19456,p=1"),
            GOOD.replace("m=19456", "m=019456"),
            GOOD.replace("m=19456", "m=+19456"),
            GOOD.replace("m=19456", "m="),
            GOOD.replace("p=1", "p=1,data=AAAA"),
            GOOD.replace("p=1", "p=1,keyid=AAA"),
            GOOD.replace("p=1", "p=1,keyid=AAAAAAA"),
            GOOD.replace("p=1", "p=1,keyid=AAAAAQ,"),
            format!("{GOOD}$"),
            format!("{GOOD}="),
            // Non-canonical trailing bits in the last Base64 character ("8" -> "9").
            GOOD.replace("Hh8", "Hh9"),
            // Salt below 8 bytes, hash below 16 bytes.
            GOOD.replace("c2FsdHNhbHRzYWx0c2FsdA", "c2FsdA"),
            GOOD.replace(
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
                "AAECAwQFBgcICQ",
            ),
            // p too large for m (argon2 needs m >= 8p).
            GOOD.replace("m=19456,t=2,p=1", "m=8,t=2,p=2"),
            GOOD.replace("t=2", "t=0"),
            String::from("$argon2id$v=19$m=19456,t=2,p=1"),
            String::new(),
        ];
        for s in &bad {
            assert_eq!(
                PhcHash::parse(s, &limits()).unwrap_err(),
                Error::MalformedHash,
                "{s}"
            );
        }
    }

    #[test]
    fn over_limit_is_a_distinct_error() {
        for s in [
            GOOD.replace("m=19456", "m=4294967295"),
            GOOD.replace("t=2", "t=4294967295"),
            GOOD.replace("p=1", "p=5"),
        ] {
            assert_eq!(
                PhcHash::parse(&s, &limits()).unwrap_err(),
                Error::LimitExceeded,
                "{s}"
            );
        }
        assert_eq!(
            PhcHash::parse(&GOOD.replace("m=19456", "m=99999999999"), &limits()).unwrap_err(),
            Error::MalformedHash
        );
    }

    #[test]
    fn debug_hides_salt_and_hash() {
        let h = PhcHash::parse(GOOD, &limits()).unwrap();
        let d = format!("{h:?} {:?}", h.encode());
        assert!(!d.contains("c2FsdHNh") && !d.contains("AAECAw"), "{d}");
    }

    #[test]
    fn b64_lengths() {
        assert_eq!(b64_len(16), 22);
        assert_eq!(b64_len(32), 43);
        assert_eq!(b64_len(64), 86);
        assert_eq!(b64_len(4), 6);
    }
}
