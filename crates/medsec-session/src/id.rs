//! Session ids, their stored hashes, user ids and channel bindings.

use core::fmt;

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Error, Result};

/// Bytes in a session id: 256 bits from a CSPRNG (ASVS v5.0.0-7.2.3 asks for at least 128).
pub const SESSION_ID_LEN: usize = 32;
/// Characters in the text form of a session id (unpadded base64url of 32 bytes).
pub const ENCODED_ID_LEN: usize = 43;
/// Longest user id, in bytes: 128, the longest `sub` claim `medsec-token` accepts
/// (`docs/token-profile.md` §9), so every token subject can own sessions under the same text
/// and revoking it reaches both. Longer identifiers (e-mail addresses, federated
/// `issuer|subject` pairs) should be passed as a digest, in tokens and sessions alike.
pub const MAX_USER_ID_LEN: usize = 128;
/// RFC 9266 `tls-exporter` label.
pub const TLS_EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";
/// RFC 9266 `tls-exporter` output length in bytes.
pub const TLS_EXPORTER_LEN: usize = 32;

const ID_HASH_DOMAIN: &[u8] = b"medsec-session/v1/id-hash\0";
const BINDING_DOMAIN: &[u8] = b"medsec-session/v1/binding\0";

/// A session id: the bearer secret the client presents. Never stored by the server (only
/// its [`IdHash`]), never printed, zeroized on drop, compared in constant time.
pub struct SessionId([u8; SESSION_ID_LEN]);

impl SessionId {
    /// A fresh id from `rng` (256 bits).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; SESSION_ID_LEN];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// An id from its raw bytes, as received from a client.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; SESSION_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw bytes (secret: handle with care).
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; SESSION_ID_LEN] {
        &self.0
    }

    /// The key the store files this session under: `SHA-256("medsec-session/v1/id-hash\0" || id)`.
    /// A leaked store yields only these hashes, which cannot be turned back into live ids.
    #[must_use]
    pub fn id_hash(&self) -> IdHash {
        let mut h = Sha256::new();
        h.update(ID_HASH_DOMAIN);
        h.update(self.0);
        IdHash(h.finalize().into())
    }

    /// Text form for a cookie or header: 43 characters of unpadded base64url.
    #[must_use]
    pub fn encode(&self) -> EncodedSessionId {
        let mut out = [0u8; ENCODED_ID_LEN];
        base64url_encode(&self.0, &mut out);
        EncodedSessionId(out)
    }

    /// Parses the text form. Strict: exactly 43 base64url characters, canonical last symbol.
    ///
    /// # Errors
    /// [`Error::Rejected`] when the text is not a well-formed id (treat like an unknown id).
    pub fn decode(text: &str) -> Result<Self> {
        let mut out = [0u8; SESSION_ID_LEN];
        if base64url_decode(text.as_bytes(), &mut out) {
            Ok(Self(out))
        } else {
            out.zeroize();
            Err(Error::Rejected)
        }
    }
}

impl Zeroize for SessionId {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for SessionId {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SessionId {}

impl ConstantTimeEq for SessionId {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SessionId {}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionId").finish_non_exhaustive()
    }
}

/// The text form of a [`SessionId`]; zeroized on drop, `Debug` redacted.
pub struct EncodedSessionId([u8; ENCODED_ID_LEN]);

impl EncodedSessionId {
    /// The 43 characters.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only base64url ASCII is ever written here.
        core::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl Drop for EncodedSessionId {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for EncodedSessionId {}

impl fmt::Debug for EncodedSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedSessionId").finish_non_exhaustive()
    }
}

/// What the store keeps instead of the id: a SHA-256 hash of it (see
/// [`SessionId::id_hash`]). Not secret on its own, but still compared in constant time.
#[derive(Clone, Copy, PartialOrd, Ord)]
pub struct IdHash(pub(crate) [u8; 32]);

impl IdHash {
    /// From the 32 stored bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A short correlation tag for logs (first 4 bytes of the hash, hex). Never the id.
    #[must_use]
    pub fn log_tag(&self) -> u32 {
        let [a, b, c, d, ..] = self.0;
        u32::from_be_bytes([a, b, c, d])
    }
}

impl ConstantTimeEq for IdHash {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for IdHash {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for IdHash {}

impl core::hash::Hash for IdHash {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for IdHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdHash({:08x}..)", self.log_tag())
    }
}

/// Who a session belongs to: 1 to 128 bytes of well-formed UTF-8 (an account id, or a
/// digest of a federated `(issuer, subject)` pair), compared byte for byte (no Unicode
/// normalisation). The same text is the token's `sub` claim, which is how revoking a user
/// reaches their tokens; the limits are the token's. Stored inline, so firmware needs no
/// heap. `Debug` shows only the length: user ids can identify a patient.
#[derive(Clone, Copy)]
pub struct UserId {
    len: u8,
    bytes: [u8; MAX_USER_ID_LEN],
}

impl UserId {
    /// Longest accepted user id.
    pub const MAX_LEN: usize = MAX_USER_ID_LEN;

    /// A user id of 1..=128 bytes of UTF-8.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when empty or longer than [`UserId::MAX_LEN`] bytes.
    pub fn new(id: &str) -> Result<Self> {
        Self::from_utf8(id.as_bytes())
    }

    /// A user id from bytes that must be well-formed UTF-8 (stored records): overlong
    /// forms, surrogates, code points past U+10FFFF and truncated sequences are refused.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when empty, too long, or not UTF-8.
    pub fn from_utf8(id: &[u8]) -> Result<Self> {
        core::str::from_utf8(id).map_err(|_| Error::InvalidInput)?;
        let len = u8::try_from(id.len()).map_err(|_| Error::InvalidInput)?;
        if id.is_empty() || id.len() > MAX_USER_ID_LEN {
            return Err(Error::InvalidInput);
        }
        let mut bytes = [0u8; MAX_USER_ID_LEN];
        bytes
            .get_mut(..id.len())
            .ok_or(Error::InvalidInput)?
            .copy_from_slice(id);
        Ok(Self { len, bytes })
    }

    /// The id's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The id as text (the token's `sub`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Checked UTF-8 at construction.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl PartialEq for UserId {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for UserId {}

impl core::hash::Hash for UserId {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserId")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A TLS channel binding (RFC 9266 `tls-exporter`): 32 bytes exported from the TLS 1.3
/// connection with label [`TLS_EXPORTER_LABEL`] and an empty context. A session bound to
/// it is refused on any other connection. Only a hash of it is stored.
///
/// Exactly [`TLS_EXPORTER_LEN`] bytes, no other length: [`ChannelBinding::from_exporter`]
/// takes an array, and [`ChannelBinding::try_from_exporter`] refuses a slice of any other
/// length (empty included) with [`Error::InvalidInput`]. Nothing is truncated or padded, and
/// an empty value is not "no binding": a caller whose TLS stack gave no exporter passes
/// `None` to the manager.
pub struct ChannelBinding([u8; TLS_EXPORTER_LEN]);

impl ChannelBinding {
    /// Wraps the exporter output of the current connection.
    #[must_use]
    pub const fn from_exporter(value: [u8; TLS_EXPORTER_LEN]) -> Self {
        Self(value)
    }

    /// Wraps exporter output handed over as a byte slice (TLS stacks that fill a buffer).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless `value` is exactly [`TLS_EXPORTER_LEN`] (32) bytes:
    /// an empty, shorter or longer value is a caller error (wrong exporter length asked of
    /// the TLS stack, or the wrong value passed), never truncated, padded or hashed as is.
    pub fn try_from_exporter(value: &[u8]) -> Result<Self> {
        <[u8; TLS_EXPORTER_LEN]>::try_from(value)
            .map(Self)
            .map_err(|_| Error::InvalidInput)
    }

    /// The stored form: `SHA-256("medsec-session/v1/binding\0" || exporter)`.
    #[must_use]
    pub fn binding_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(BINDING_DOMAIN);
        h.update(self.0);
        h.finalize().into()
    }
}

impl TryFrom<&[u8]> for ChannelBinding {
    type Error = Error;

    /// As [`ChannelBinding::try_from_exporter`].
    fn try_from(value: &[u8]) -> Result<Self> {
        Self::try_from_exporter(value)
    }
}

impl Drop for ChannelBinding {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for ChannelBinding {}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelBinding").finish_non_exhaustive()
    }
}

// Text form: `base64ct`, whose encoder and decoder take the same time whatever the bytes
// (no table lookups or early exits on secret values), and which refuses non-canonical input.
use base64ct::{Base64UrlUnpadded, Encoding};

fn base64url_encode(input: &[u8; SESSION_ID_LEN], out: &mut [u8; ENCODED_ID_LEN]) {
    // 32 bytes always encode to exactly 43 symbols; the buffer is sized for it.
    let _ = Base64UrlUnpadded::encode(input, out);
}

/// Strict decode of exactly 43 symbols into 32 bytes; false on any deviation.
fn base64url_decode(text: &[u8], out: &mut [u8; SESSION_ID_LEN]) -> bool {
    if text.len() != ENCODED_ID_LEN {
        return false;
    }
    matches!(Base64UrlUnpadded::decode(text, out), Ok(d) if d.len() == SESSION_ID_LEN)
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
    fn encode_decode_round_trip_and_strictness() {
        for seed in 0u8..=255 {
            let mut b = [0u8; 32];
            for (i, x) in b.iter_mut().enumerate() {
                *x = seed.wrapping_mul(31).wrapping_add(u8::try_from(i).unwrap());
            }
            let id = SessionId::from_bytes(b);
            let text = id.encode();
            assert_eq!(text.as_str().len(), ENCODED_ID_LEN);
            let back = SessionId::decode(text.as_str()).unwrap();
            assert_eq!(back.as_bytes(), &b);
        }
        let id = SessionId::from_bytes([0xff; 32]);
        let s = std::string::String::from(id.encode().as_str());
        assert_eq!(s, "__________________________________________8");
        // Non-canonical final symbol (spare bits set) is refused.
        let mut bad = s.clone();
        bad.pop();
        bad.push('9');
        assert_eq!(SessionId::decode(&bad), Err(Error::Rejected));
        assert!(SessionId::decode(&s[..42]).is_err());
        assert!(SessionId::decode(&(s.clone() + "A")).is_err());
        assert!(SessionId::decode(&s.replace('_', "/")).is_err());
        assert!(SessionId::decode(&s.replace('_', "=")).is_err());
    }

    #[test]
    fn final_symbol_must_be_canonical() {
        // The last of 43 symbols carries 4 data bits and 2 spare bits: exactly the 16
        // symbols whose spare bits are zero are accepted, and they decode back to themselves.
        let base = SessionId::from_bytes([0x3c; 32]).encode();
        let head = &base.as_str()[..42];
        let mut accepted = 0;
        for (v, &c) in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            .iter()
            .enumerate()
        {
            let text = std::format!("{head}{}", c as char);
            let ok = SessionId::decode(&text).is_ok();
            assert_eq!(ok, v % 4 == 0, "final symbol {}", c as char);
            if ok {
                accepted += 1;
                assert_eq!(SessionId::decode(&text).unwrap().encode().as_str(), text);
            }
        }
        assert_eq!(accepted, 16);
        for bad in ["+", "/", "=", " ", "\u{e9}"] {
            let text = std::format!("{}{bad}", &base.as_str()[..43 - bad.len()]);
            assert!(SessionId::decode(&text).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn exporter_must_be_exactly_32_bytes() {
        let value: std::vec::Vec<u8> = (0u8..64).collect();
        let exact = ChannelBinding::try_from_exporter(&value[..32]).unwrap();
        let mut array = [0u8; 32];
        array.copy_from_slice(&value[..32]);
        assert_eq!(
            exact.binding_hash(),
            ChannelBinding::from_exporter(array).binding_hash()
        );
        for len in [0, 1, 16, 31, 33, 48, 64] {
            assert_eq!(
                ChannelBinding::try_from_exporter(&value[..len]).unwrap_err(),
                Error::InvalidInput,
                "{len} bytes"
            );
            assert_eq!(
                ChannelBinding::try_from(&value[..len]).unwrap_err(),
                Error::InvalidInput
            );
        }
    }

    #[test]
    fn debug_redacts() {
        let id = SessionId::from_bytes([7; 32]);
        let shown = std::format!(
            "{id:?} {:?} {:?}",
            id.encode(),
            UserId::new("patient-7").unwrap()
        );
        assert!(!shown.contains('7') || !shown.contains("patient"));
        assert!(!shown.contains("BwcH"));
    }

    #[test]
    fn user_id_bounds() {
        assert!(UserId::new("").is_err());
        assert!(UserId::new(&"a".repeat(64)).is_ok());
        assert!(UserId::new(&"a".repeat(65)).is_ok());
        assert!(UserId::new(&"a".repeat(128)).is_ok());
        assert!(UserId::new(&"a".repeat(129)).is_err());
        // 128 bytes of two-byte characters, and one byte more.
        assert!(UserId::new(&"\u{e9}".repeat(64)).is_ok());
        assert!(UserId::new(&("\u{e9}".repeat(64) + "a")).is_err());
        assert!(UserId::from_utf8(&[0xff]).is_err());
        for bad in [
            &b"\x80"[..],
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"ab\xc3",
        ] {
            assert_eq!(UserId::from_utf8(bad).unwrap_err(), Error::InvalidInput);
        }
        assert_eq!(UserId::new("abc").unwrap().as_str(), "abc");
    }
}
