//! Keys: Ed25519 signing/verifying keys, HMAC-SHA256 keys, key ids, key sets for rotation,
//! and the COSE_Key file format (`docs/token-profile.md`, "Key files").
//!
//! The algorithm is a property of the key. A token names a key id; the key found under that
//! id decides whether the token must be a COSE_Sign1 with EdDSA or a COSE_Mac0 with
//! HMAC 256/256, so a token can never choose its own algorithm.

use core::fmt;

use ed25519_dalek::Signer as _;
use hmac::{Hmac, KeyInit as _};
use rand_core::CryptoRng;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::cbor::{Reader, Writer};
use crate::{Error, Result};

/// A key identifier (COSE header parameter `kid`, label 4): 1 to [`KeyId::MAX_LEN`] bytes.
#[derive(Clone, Copy)]
pub struct KeyId {
    len: u8,
    bytes: [u8; KeyId::MAX_LEN],
}

impl KeyId {
    /// Longest key id accepted, in bytes.
    pub const MAX_LEN: usize = 16;
    /// Length of derived key ids.
    pub const DERIVED_LEN: usize = 8;

    /// A key id from bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when empty or longer than [`KeyId::MAX_LEN`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let (len, bytes) = crate::token_id::bounded_copy(bytes)?;
        Ok(Self { len, bytes })
    }

    /// The profile's derived key id for an Ed25519 public key: the first 8 bytes of
    /// SHA-256 over the 32-byte public key.
    pub fn derive_ed25519(public_key: &[u8; 32]) -> Self {
        let digest = Sha256::digest(public_key);
        let mut bytes = [0u8; Self::MAX_LEN];
        for (o, d) in bytes.iter_mut().zip(digest.iter()).take(Self::DERIVED_LEN) {
            *o = *d;
        }
        Self { len: 8, bytes }
    }

    /// The key id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl PartialEq for KeyId {
    fn eq(&self, other: &Self) -> bool {
        (self.len.ct_eq(&other.len) & self.bytes.ct_eq(&other.bytes)).into()
    }
}
impl Eq for KeyId {}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId(")?;
        fmt::Display::fmt(self, f)?;
        write!(f, ")")
    }
}

/// Lower-case hex.
impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An Ed25519 signing key with its key id (issuer side). Zeroized on drop; `Debug` shows
/// only the key id.
pub struct SigningKey {
    kid: KeyId,
    key: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// A fresh key from a CSPRNG, with the derived key id.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed, None)
    }

    /// A key from its 32-byte seed (RFC 8032 private key); `kid` defaults to the derived id.
    pub fn from_seed(seed: &[u8; 32], kid: Option<KeyId>) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let kid = kid.unwrap_or_else(|| KeyId::derive_ed25519(key.verifying_key().as_bytes()));
        Self { kid, key }
    }

    /// The key id.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    /// The matching verification key (same key id, bound to no issuer).
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            kid: self.kid,
            key: self.key.verifying_key(),
            issuer: None,
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Encodes the key as a COSE_Key private key file (OKP, Ed25519, with `d`).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is shorter than [`SigningKey::COSE_KEY_MAX_LEN`].
    pub fn to_cose_key(&self, out: &mut [u8]) -> Result<usize> {
        let seed = Zeroizing::new(self.key.to_bytes());
        write_cose_key(
            out,
            &self.kid,
            self.key.verifying_key().as_bytes(),
            Some(&seed),
        )
    }

    /// Longest COSE_Key encoding of a signing key.
    pub const COSE_KEY_MAX_LEN: usize = 128;

    /// Reads a COSE_Key private key file (the form [`SigningKey::to_cose_key`] writes). The
    /// public key in the file must match the one derived from `d`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for anything else.
    pub fn from_cose_key(bytes: &[u8]) -> Result<Self> {
        let parsed = parse_cose_key(bytes).map_err(|_| Error::InvalidKey)?;
        let d = parsed.d.ok_or(Error::InvalidKey)?;
        let key = Self::from_seed(&d, Some(parsed.kid));
        if !bool::from(key.key.verifying_key().as_bytes().ct_eq(&parsed.x)) {
            return Err(Error::InvalidKey);
        }
        Ok(key)
    }
}

impl ZeroizeOnDrop for SigningKey {}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// An Ed25519 verification key with its key id (device side), optionally bound to the one
/// issuer it may sign for ([`VerifyingKey::bound_to_issuer`]). Public.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey {
    kid: KeyId,
    key: ed25519_dalek::VerifyingKey,
    issuer: Option<BoundIssuer>,
}

impl VerifyingKey {
    /// A key from its 32 bytes; `kid` defaults to the derived id.
    ///
    /// The bytes must be the canonical encoding of a curve point (RFC 8032 §5.1.2: `y < p`,
    /// and the sign bit clear when `x = 0`) that is not of small order
    /// (`docs/token-profile.md` §1.2, §8). ed25519-dalek alone would load a non-canonical
    /// encoding (it reduces `y` mod `p`); refusing it here means that a key is one byte
    /// string, whichever library reads it.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when the bytes are not a usable Ed25519 public key.
    pub fn from_bytes(bytes: &[u8; 32], kid: Option<KeyId>) -> Result<Self> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidKey)?;
        // Weak (small-order) keys verify forged signatures; non-canonical encodings would make
        // the key's identity (its hash input, its derived kid) differ between libraries.
        if key.is_weak() || key.to_edwards().compress().as_bytes() != bytes {
            return Err(Error::InvalidKey);
        }
        Ok(Self {
            kid: kid.unwrap_or_else(|| KeyId::derive_ed25519(bytes)),
            key,
            issuer: None,
        })
    }

    /// Restricts the key to tokens and revocation updates whose `iss` is `issuer`: anything
    /// else it verifies is rejected (profile §1.3). Unbound keys sign for every issuer in the
    /// verifier's allowlist; bind every key when the allowlist holds several issuers.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `issuer` is empty or longer than 128 bytes.
    pub fn bound_to_issuer(mut self, issuer: &str) -> Result<Self> {
        self.issuer = Some(BoundIssuer::new(issuer)?);
        Ok(self)
    }

    /// The issuer the key is bound to, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_ref().map(BoundIssuer::as_str)
    }

    /// The key id.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    /// The 32 public key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        self.key.verify_strict(message, &sig).is_ok()
    }

    /// Longest COSE_Key encoding of a verification key.
    pub const COSE_KEY_MAX_LEN: usize = 96;

    /// Encodes the key as a COSE_Key public key file.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is too short.
    pub fn to_cose_key(&self, out: &mut [u8]) -> Result<usize> {
        write_cose_key(out, &self.kid, self.key.as_bytes(), None)
    }

    /// Reads a public key file: a COSE_Key (OKP, Ed25519, no `d`) or 32 raw bytes (derived key
    /// id). A COSE_Key that carries a private part is refused here, so a secret never ends up
    /// where only a public key was meant to be.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for anything else.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self> {
        if let Ok(raw) = <&[u8; 32]>::try_from(bytes) {
            return Self::from_bytes(raw, None);
        }
        let parsed = parse_cose_key(bytes).map_err(|_| Error::InvalidKey)?;
        if parsed.d.is_some() {
            return Err(Error::InvalidKey);
        }
        Self::from_bytes(&parsed.x, Some(parsed.kid))
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer())
            .finish_non_exhaustive()
    }
}

/// The one issuer (`iss`) a verification key may sign for: 1 to 128 bytes of UTF-8, stored
/// in place (no heap) so that key sets stay usable on firmware.
#[derive(Clone, Copy, PartialEq, Eq)]
struct BoundIssuer {
    len: u8,
    bytes: [u8; crate::claims::MAX_TEXT_LEN],
}

impl BoundIssuer {
    fn new(issuer: &str) -> Result<Self> {
        let (len, bytes) = crate::token_id::bounded_copy(issuer.as_bytes())?;
        Ok(Self { len, bytes })
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    fn as_str(&self) -> &str {
        // Copied from a `&str` whole, so always UTF-8.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

/// A 256-bit HMAC-SHA256 key with its key id, for COSE_Mac0 tokens (backend-local). The
/// keyed HMAC state is computed once here, so each verification costs only the message.
/// Zeroized on drop; `Debug` shows only the key id.
#[derive(Clone)]
pub struct MacKey {
    kid: KeyId,
    keyed: Hmac<Sha256>,
    issuer: Option<BoundIssuer>,
}

impl MacKey {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// A key from 32 secret bytes.
    pub fn new(kid: KeyId, key: &[u8; 32]) -> Self {
        // Hmac accepts any key length; 32 bytes can never fail, but stay total.
        let keyed = Hmac::<Sha256>::new_from_slice(key)
            .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        Self {
            kid,
            keyed,
            issuer: None,
        }
    }

    /// Restricts the key to tokens whose `iss` is `issuer`, as
    /// [`VerifyingKey::bound_to_issuer`] does.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `issuer` is empty or longer than 128 bytes.
    pub fn bound_to_issuer(mut self, issuer: &str) -> Result<Self> {
        self.issuer = Some(BoundIssuer::new(issuer)?);
        Ok(self)
    }

    /// The issuer the key is bound to, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_ref().map(BoundIssuer::as_str)
    }

    /// A fresh random key.
    pub fn generate<R: CryptoRng + ?Sized>(kid: KeyId, rng: &mut R) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut());
        Self::new(kid, &key)
    }

    /// The key id.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    pub(crate) fn keyed(&self) -> Hmac<Sha256> {
        self.keyed.clone()
    }
}

impl ZeroizeOnDrop for MacKey {}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKey")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer())
            .finish_non_exhaustive()
    }
}

/// One key a verifier trusts. Its variant fixes the token's algorithm.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum VerificationKey {
    /// Tokens under this key id must be COSE_Sign1 with EdDSA (Ed25519).
    Ed25519(VerifyingKey),
    /// Tokens under this key id must be COSE_Mac0 with HMAC 256/256.
    Hmac(MacKey),
}

impl VerificationKey {
    /// The key id.
    pub fn kid(&self) -> KeyId {
        match self {
            VerificationKey::Ed25519(k) => k.kid,
            VerificationKey::Hmac(k) => k.kid,
        }
    }

    /// The issuer the key is bound to, if any.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            VerificationKey::Ed25519(k) => k.issuer(),
            VerificationKey::Hmac(k) => k.issuer(),
        }
    }

    /// The same key restricted to `issuer` (see [`VerifyingKey::bound_to_issuer`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `issuer` is empty or longer than 128 bytes.
    pub fn bound_to_issuer(self, issuer: &str) -> Result<Self> {
        Ok(match self {
            VerificationKey::Ed25519(k) => VerificationKey::Ed25519(k.bound_to_issuer(issuer)?),
            VerificationKey::Hmac(k) => VerificationKey::Hmac(k.bound_to_issuer(issuer)?),
        })
    }

    /// Whether a token or update that verified under this key may carry `iss` = `issuer`:
    /// always for an unbound key, else only the issuer it is bound to (byte-wise).
    pub fn may_sign_for(&self, issuer: &str) -> bool {
        let bound = match self {
            VerificationKey::Ed25519(k) => k.issuer.as_ref(),
            VerificationKey::Hmac(k) => k.issuer.as_ref(),
        };
        bound.is_none_or(|b| b.as_bytes() == issuer.as_bytes())
    }
}

impl From<VerifyingKey> for VerificationKey {
    fn from(k: VerifyingKey) -> Self {
        VerificationKey::Ed25519(k)
    }
}

impl From<MacKey> for VerificationKey {
    fn from(k: MacKey) -> Self {
        VerificationKey::Hmac(k)
    }
}

/// Finds the trusted key for a key id. Implemented by [`KeySet`], by a single
/// [`VerificationKey`] and by slices of keys.
pub trait KeyLookup {
    /// The key whose id equals `kid`, if trusted.
    fn key_for(&self, kid: &[u8]) -> Option<&VerificationKey>;
}

impl KeyLookup for VerificationKey {
    fn key_for(&self, kid: &[u8]) -> Option<&VerificationKey> {
        (self.kid().as_bytes() == kid).then_some(self)
    }
}

impl KeyLookup for [VerificationKey] {
    fn key_for(&self, kid: &[u8]) -> Option<&VerificationKey> {
        self.iter().find(|k| k.kid().as_bytes() == kid)
    }
}

impl<K: KeyLookup + ?Sized> KeyLookup for &K {
    fn key_for(&self, kid: &[u8]) -> Option<&VerificationKey> {
        (**self).key_for(kid)
    }
}

/// Up to `N` keys live at once (rotation: the new key is added before tokens under it are
/// issued; the old one is removed after its last token expires). No heap allocation.
#[derive(Clone, Debug)]
pub struct KeySet<const N: usize> {
    keys: [Option<VerificationKey>; N],
}

impl<const N: usize> Default for KeySet<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> KeySet<N> {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            keys: core::array::from_fn(|_| None),
        }
    }

    /// Adds a key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when a key with the same id is already in the set (two keys under
    /// one id would make the lookup ambiguous); [`Error::CapacityExceeded`] when full.
    pub fn insert(&mut self, key: impl Into<VerificationKey>) -> Result<()> {
        let key = key.into();
        if self.key_for(key.kid().as_bytes()).is_some() {
            return Err(Error::InvalidKey);
        }
        let slot = self
            .keys
            .iter_mut()
            .find(|k| k.is_none())
            .ok_or(Error::CapacityExceeded)?;
        *slot = Some(key);
        Ok(())
    }

    /// Removes the key with this id; returns whether one was there.
    pub fn remove(&mut self, kid: &KeyId) -> bool {
        for slot in &mut self.keys {
            if slot.as_ref().is_some_and(|k| k.kid() == *kid) {
                *slot = None;
                return true;
            }
        }
        false
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.iter().flatten().count()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<const N: usize> KeyLookup for KeySet<N> {
    fn key_for(&self, kid: &[u8]) -> Option<&VerificationKey> {
        self.keys
            .iter()
            .flatten()
            .find(|k| k.kid().as_bytes() == kid)
    }
}

// COSE_Key labels (RFC 9052 §7.1, RFC 9053 §7.1): kty 1, kid 2, alg 3, crv -1, x -2, d -4.
const KTY_OKP: i64 = 1;
const CRV_ED25519: i64 = 6;
const ALG_EDDSA: i64 = -8;

struct ParsedCoseKey {
    kid: KeyId,
    x: [u8; 32],
    d: Option<Zeroizing<[u8; 32]>>,
}

fn write_cose_key(
    out: &mut [u8],
    kid: &KeyId,
    x: &[u8; 32],
    d: Option<&Zeroizing<[u8; 32]>>,
) -> Result<usize> {
    let mut w = Writer::new(out);
    let full = |_| Error::BufferTooSmall;
    w.map(if d.is_some() { 6 } else { 5 }).map_err(full)?;
    w.int(1).map_err(full)?;
    w.int(KTY_OKP).map_err(full)?;
    w.int(2).map_err(full)?;
    w.bstr(kid.as_bytes()).map_err(full)?;
    w.int(3).map_err(full)?;
    w.int(ALG_EDDSA).map_err(full)?;
    w.int(-1).map_err(full)?;
    w.int(CRV_ED25519).map_err(full)?;
    w.int(-2).map_err(full)?;
    w.bstr(x).map_err(full)?;
    if let Some(d) = d {
        w.int(-4).map_err(full)?;
        w.bstr(d.as_ref()).map_err(full)?;
    }
    Ok(w.position())
}

/// Strict: exactly kty, kid, alg, crv, x and optionally d, each once, any order; nothing else.
fn parse_cose_key(bytes: &[u8]) -> core::result::Result<ParsedCoseKey, ()> {
    let mut r = Reader::new(bytes);
    let n = r.map().map_err(|_| ())?;
    let (mut kty, mut kid, mut alg, mut crv, mut x, mut d) = (None, None, None, None, None, None);
    for _ in 0..n {
        let label = r.int().map_err(|_| ())?;
        let fresh = match label {
            1 => kty.replace(r.int().map_err(|_| ())?).is_none(),
            2 => kid
                .replace(KeyId::from_slice(r.bstr().map_err(|_| ())?).map_err(|_| ())?)
                .is_none(),
            3 => alg.replace(r.int().map_err(|_| ())?).is_none(),
            -1 => crv.replace(r.int().map_err(|_| ())?).is_none(),
            -2 => x
                .replace(<[u8; 32]>::try_from(r.bstr().map_err(|_| ())?).map_err(|_| ())?)
                .is_none(),
            -4 => {
                let mut secret = Zeroizing::new([0u8; 32]);
                let raw = r.bstr().map_err(|_| ())?;
                if raw.len() != 32 {
                    return Err(());
                }
                secret.copy_from_slice(raw);
                d.replace(secret).is_none()
            }
            _ => return Err(()),
        };
        if !fresh {
            return Err(());
        }
    }
    if !r.is_empty() || kty != Some(KTY_OKP) || alg != Some(ALG_EDDSA) || crv != Some(CRV_ED25519) {
        return Err(());
    }
    Ok(ParsedCoseKey {
        kid: kid.ok_or(())?,
        x: x.ok_or(())?,
        d,
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        reason = "tests"
    )]
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn cose_key_files_round_trip() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let sk = SigningKey::generate(&mut rng);
        let mut buf = [0u8; SigningKey::COSE_KEY_MAX_LEN];
        let n = sk.to_cose_key(&mut buf).unwrap();
        let back = SigningKey::from_cose_key(&buf[..n]).unwrap();
        assert_eq!(back.kid(), sk.kid());
        assert_eq!(back.verifying_key(), sk.verifying_key());
        // A private key file is refused where a public key is expected.
        assert!(VerifyingKey::from_file_bytes(&buf[..n]).is_err());
        let mut pbuf = [0u8; VerifyingKey::COSE_KEY_MAX_LEN];
        let m = sk.verifying_key().to_cose_key(&mut pbuf).unwrap();
        assert_eq!(
            VerifyingKey::from_file_bytes(&pbuf[..m]).unwrap(),
            sk.verifying_key()
        );
        let raw = sk.verifying_key().to_bytes();
        assert_eq!(
            VerifyingKey::from_file_bytes(&raw).unwrap(),
            sk.verifying_key()
        );
        assert!(std::format!("{sk:?}").starts_with("SigningKey { kid: KeyId("));
    }

    /// `MacKey` keeps the keyed HMAC state: two SHA-256 midstates that are as good as the
    /// key. hmac 0.13 has no `Drop` of its own; the midstates are wiped only by SHA-256's
    /// core when sha2's `zeroize` feature is on. This fails to compile otherwise.
    #[test]
    fn hmac_key_state_is_wiped_on_drop() {
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<sha2::block_api::Sha256VarCore>();
        wiped_on_drop::<ed25519_dalek::SigningKey>();
    }

    #[test]
    fn key_set_rejects_duplicate_kids_and_overflow() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let a = SigningKey::generate(&mut rng).verifying_key();
        let b = SigningKey::generate(&mut rng).verifying_key();
        let mut set = KeySet::<1>::new();
        set.insert(a).unwrap();
        assert_eq!(set.insert(a), Err(Error::InvalidKey));
        assert_eq!(set.insert(b), Err(Error::CapacityExceeded));
        assert!(set.remove(&a.kid()));
        set.insert(b).unwrap();
        assert!(set.key_for(b.kid().as_bytes()).is_some());
    }

    /// The encodings of the 8 points of small order that RFC 8032 decoding accepts when it
    /// reduces `y` mod `p` and allows `x = 0` with the sign bit set (ed25519-dalek does):
    /// the 8 canonical ones, then 6 non-canonical ones. `docs/token-profile.md` §1.2 lists
    /// the same table.
    pub(crate) const SMALL_ORDER_ENCODINGS: [&str; 14] = [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ];

    fn bytes32(h: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// Every small-order encoding is refused as a public key, whatever its form; ed25519-dalek
    /// decodes all 14 (so the table is exactly what a library that reduces `y` sees).
    #[test]
    fn small_order_keys_are_refused_in_every_encoding() {
        for h in SMALL_ORDER_ENCODINGS {
            let b = bytes32(h);
            let dalek = ed25519_dalek::VerifyingKey::from_bytes(&b).unwrap();
            assert!(dalek.is_weak(), "{h}");
            assert_eq!(
                VerifyingKey::from_bytes(&b, None),
                Err(Error::InvalidKey),
                "{h}"
            );
            assert!(VerifyingKey::from_file_bytes(&b).is_err(), "{h}");
        }
    }

    /// A non-canonical encoding (`y >= p`) of a point of large order: ed25519-dalek loads it
    /// (and would hash these bytes, not the canonical ones, into every signature check); the
    /// profile refuses it so that a key has one encoding in every implementation.
    #[test]
    fn non_canonical_public_keys_are_refused() {
        // y = p + 3 with either sign: on the curve, not of small order.
        for h in [
            "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ] {
            let b = bytes32(h);
            let dalek = ed25519_dalek::VerifyingKey::from_bytes(&b).unwrap();
            assert!(!dalek.is_weak(), "{h}");
            assert_eq!(
                VerifyingKey::from_bytes(&b, None),
                Err(Error::InvalidKey),
                "{h}"
            );
        }
        // The same point encoded canonically (y = 3) loads, as does a real key.
        let mut y3 = [0u8; 32];
        y3[0] = 3;
        assert!(VerifyingKey::from_bytes(&y3, None).is_ok());
        let canonical = SigningKey::from_seed(&[1; 32], None)
            .verifying_key()
            .to_bytes();
        assert!(VerifyingKey::from_bytes(&canonical, None).is_ok());
    }
}
