//! Parsing, verifying and minting tokens: CWT in COSE_Sign1 (EdDSA) or COSE_Mac0
//! (HMAC 256/256).
//!
//! The verify path allocates nothing: it reads the token in place, builds the COSE
//! `Sig_structure` in a fixed stack buffer (the MAC structure is streamed into the HMAC), and
//! returns claims that borrow from the token bytes. Its work is bounded by
//! [`MAX_TOKEN_LEN`].

use core::fmt;

use hmac::Mac as _;

use crate::cbor::{self, Malformed, Parse, Reader, Writer};
use crate::claims::{Claims, Narrowing, ProofKey};
use crate::clock::{Clock, FirstSight};
use crate::keys::{KeyLookup, MacKey, SigningKey, VerificationKey};
use crate::revocation::{NoRevocation, RevocationCheck};
use crate::scope::{Action, Resource, Role, ScopeSet};
use crate::{Error, Result, TokenId};

/// Largest token accepted, in bytes. Checked before any other work.
pub const MAX_TOKEN_LEN: usize = 1024;

/// COSE algorithm EdDSA (RFC 9053 §2.2).
pub const ALG_EDDSA: i64 = -8;
/// COSE algorithm HMAC 256/256 (RFC 9053 §3.1): HMAC-SHA256, full 256-bit tag.
pub const ALG_HMAC_256_256: i64 = 5;
/// CBOR tag for COSE_Sign1.
pub const TAG_COSE_SIGN1: u64 = 18;
/// CBOR tag for COSE_Mac0.
pub const TAG_COSE_MAC0: u64 = 17;
/// CBOR tag for CWT (RFC 8392 §6), accepted (not required) in front of the COSE tag.
pub const TAG_CWT: u64 = 61;

pub(crate) const SIGNATURE_LEN: usize = 64;
const MAC_LEN: usize = 32;
/// Limit on the protected header's content (the bytes inside its bstr), checked before it is
/// parsed. `{1: alg, 4: kid}` with a 16-byte kid is 21 bytes for the profile's algorithms and
/// at most 29 with any `i64` alg, so a header that passes the other rules never reaches it.
pub(crate) const MAX_PROTECTED_LEN: usize = 32;
/// Sig_structure = [ "Signature1", protected, h'', payload ]: the array head, the context
/// string, and at most three bstr heads beyond the token's own bytes.
pub(crate) const MAX_TBS_LEN: usize = MAX_TOKEN_LEN + 32;

/// Which COSE structure carries the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// COSE_Sign1 with EdDSA (Ed25519): devices verify it holding only a public key.
    Sign1,
    /// COSE_Mac0 with HMAC 256/256: backend-local.
    Mac0,
}

/// A token that has been parsed but not yet verified. Nothing in it can be trusted; only
/// [`UnverifiedToken::verify`] turns it into something that answers authorization questions.
#[derive(Clone, Copy)]
pub struct UnverifiedToken<'a> {
    kind: TokenKind,
    alg: i64,
    kid: &'a [u8],
    protected: &'a [u8],
    payload: &'a [u8],
    tag: &'a [u8],
}

impl fmt::Debug for UnverifiedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedToken")
            .field("kind", &self.kind)
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

/// Internal rejection reasons (never shown to callers; see [`Error::Rejected`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reject {
    Oversize,
    Malformed,
    UnknownKey,
    AlgorithmMismatch,
    BadSignature,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
    IssuedInFuture,
    Lifetime,
    Revoked,
    NoTimeSource,
    FirstSight,
}

impl From<Malformed> for Reject {
    fn from(_: Malformed) -> Self {
        Reject::Malformed
    }
}

fn opaque(reason: Reject) -> Error {
    #[cfg(feature = "std")]
    tracing::debug!(?reason, "token rejected");
    let _ = reason;
    Error::Rejected
}

impl<'a> UnverifiedToken<'a> {
    /// Parses the COSE structure (size limit, tags, header, lengths). Claims are not read
    /// until the signature or MAC has been checked.
    ///
    /// # Errors
    /// [`Error::Rejected`] for anything outside the profile.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        Self::parse_inner(bytes).map_err(opaque)
    }

    fn parse_inner(bytes: &'a [u8]) -> core::result::Result<Self, Reject> {
        if bytes.len() > MAX_TOKEN_LEN {
            return Err(Reject::Oversize);
        }
        let mut r = Reader::new(bytes);
        let mut tag = r.tag()?;
        if tag == TAG_CWT {
            tag = r.tag()?;
        }
        let kind = match tag {
            TAG_COSE_SIGN1 => TokenKind::Sign1,
            TAG_COSE_MAC0 => TokenKind::Mac0,
            _ => return Err(Reject::Malformed),
        };
        if r.array()? != 4 {
            return Err(Reject::Malformed);
        }
        let protected = r.bstr()?;
        let (alg, kid) = parse_protected(protected)?;
        // The unprotected bucket must be empty: nothing unauthenticated steers verification.
        if r.map()? != 0 {
            return Err(Reject::Malformed);
        }
        let payload = r.bstr()?;
        let tag_bytes = r.bstr()?;
        let want = match kind {
            TokenKind::Sign1 => SIGNATURE_LEN,
            TokenKind::Mac0 => MAC_LEN,
        };
        if tag_bytes.len() != want || !r.is_empty() {
            return Err(Reject::Malformed);
        }
        Ok(Self {
            kind,
            alg,
            kid,
            protected,
            payload,
            tag: tag_bytes,
        })
    }

    /// The structure the token claims to be (unauthenticated).
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The key id the token names (unauthenticated until verified; only a lookup hint).
    pub fn kid(&self) -> &'a [u8] {
        self.kid
    }

    /// Checks the signature or MAC under the trusted key named by the token's key id, then
    /// parses the claims strictly and validates them against `expectations` and `clock`.
    ///
    /// # Errors
    /// [`Error::Rejected`] for every failure, whatever the reason.
    pub fn verify<K, C>(
        &self,
        keys: &K,
        clock: &C,
        expectations: &Expectations<'_>,
    ) -> Result<VerifiedToken<'a>>
    where
        K: KeyLookup + ?Sized,
        C: Clock + ?Sized,
    {
        self.verify_inner(keys, clock, expectations).map_err(opaque)
    }

    pub(crate) fn verify_inner<K, C>(
        &self,
        keys: &K,
        clock: &C,
        exp: &Expectations<'_>,
    ) -> core::result::Result<VerifiedToken<'a>, Reject>
    where
        K: KeyLookup + ?Sized,
        C: Clock + ?Sized,
    {
        // 1. Authenticate. The key, not the token, fixes the algorithm.
        let key = keys.key_for(self.kid).ok_or(Reject::UnknownKey)?;
        let authentic = match (key, self.kind, self.alg) {
            (VerificationKey::Ed25519(k), TokenKind::Sign1, ALG_EDDSA) => {
                let mut buf = [0u8; MAX_TBS_LEN];
                let n = to_be_signed(b"Signature1", self.protected, self.payload, &mut buf)
                    .map_err(|_| Reject::Oversize)?;
                let tbs = buf.get(..n).ok_or(Reject::Oversize)?;
                let sig: &[u8; SIGNATURE_LEN] =
                    self.tag.try_into().map_err(|_| Reject::Malformed)?;
                k.verify(tbs, sig)
            }
            (VerificationKey::Hmac(k), TokenKind::Mac0, ALG_HMAC_256_256) => {
                let mut mac = k.keyed();
                feed_mac_structure(&mut mac, self.protected, self.payload);
                // Constant-time comparison of the full 256-bit tag.
                mac.verify_slice(self.tag).is_ok()
            }
            _ => return Err(Reject::AlgorithmMismatch),
        };
        if !authentic {
            return Err(Reject::BadSignature);
        }

        // 2. Only now read the claims, strictly.
        let claims = Claims::parse(self.payload)?;

        // 3. Who and for whom. A key bound to one issuer signs for no other.
        if !exp.issuers.contains(&claims.issuer) || !key.may_sign_for(claims.issuer) {
            return Err(Reject::Issuer);
        }
        if claims.audience != exp.audience {
            return Err(Reject::Audience);
        }

        // 4. When.
        if let Some(max) = exp.max_lifetime {
            let life = claims.expires_at.saturating_sub(claims.issued_at);
            if life > max || claims.exi.is_some_and(|e| e > max) {
                return Err(Reject::Lifetime);
            }
        }
        let wall = clock.unix_time();
        if let Some(now) = wall {
            if now >= claims.expires_at.saturating_add(exp.leeway) {
                return Err(Reject::Expired);
            }
            let start = claims.not_before.unwrap_or(claims.issued_at);
            if start.max(claims.issued_at) > now.saturating_add(exp.leeway) {
                return Err(if claims.issued_at > now.saturating_add(exp.leeway) {
                    Reject::IssuedInFuture
                } else {
                    Reject::NotYetValid
                });
            }
        } else if claims.exi.is_none() {
            // No wall clock and no first-sight lifetime: validity cannot be bounded.
            return Err(Reject::NoTimeSource);
        }

        // 5. Revocation (the parent too: revoking a token revokes what was narrowed from it).
        let rev = exp.revocation;
        if rev.is_dead(&claims.token_id, claims.subject, claims.issued_at)
            || claims.parent.is_some_and(|p| rev.is_revoked(&p))
        {
            return Err(Reject::Revoked);
        }

        // 6. First sight, last, so a rejected token never takes a slot.
        if let Some(exi) = claims.exi {
            let store = exp.first_sight.ok_or(Reject::NoTimeSource)?;
            let now = clock.monotonic().ok_or(Reject::NoTimeSource)?;
            let first = store
                .first_seen(&claims.token_id, claims.issued_at, now, exi)
                .ok_or(Reject::FirstSight)?;
            // Another boot, or a counter that went backwards: elapsed time is unknown, and
            // unknown time never extends validity.
            if first.boot != now.boot || now.seconds < first.seconds {
                return Err(Reject::Expired);
            }
            if now.seconds.saturating_sub(first.seconds) >= exi {
                return Err(Reject::Expired);
            }
        }

        Ok(VerifiedToken {
            claims,
            kind: self.kind,
            kid: self.kid,
        })
    }
}

/// Protected header: exactly `{1: alg, 4: kid}` (either order), nothing else.
pub(crate) fn parse_protected(bytes: &[u8]) -> Parse<(i64, &[u8])> {
    if bytes.len() > MAX_PROTECTED_LEN {
        return Err(Malformed);
    }
    let mut r = Reader::new(bytes);
    if r.map()? != 2 {
        return Err(Malformed);
    }
    let (mut alg, mut kid) = (None, None);
    for _ in 0..2 {
        let fresh = match r.int()? {
            1 => alg.replace(r.int()?).is_none(),
            4 => kid.replace(r.bstr()?).is_none(),
            _ => return Err(Malformed),
        };
        if !fresh {
            return Err(Malformed);
        }
    }
    let kid = kid.ok_or(Malformed)?;
    if kid.is_empty() || kid.len() > crate::KeyId::MAX_LEN || !r.is_empty() {
        return Err(Malformed);
    }
    Ok((alg.ok_or(Malformed)?, kid))
}

/// Writes `[context, protected, h'', payload]` (RFC 9052 §4.4 / §6.3) into `out`.
pub(crate) fn to_be_signed(
    context: &[u8],
    protected: &[u8],
    payload: &[u8],
    out: &mut [u8],
) -> core::result::Result<usize, cbor::Full> {
    let mut w = Writer::new(out);
    w.array(4)?;
    w.head(cbor::MAJOR_TSTR, context.len() as u64)?;
    w.raw(context)?;
    w.bstr(protected)?;
    w.bstr(&[])?;
    w.bstr(payload)?;
    Ok(w.position())
}

/// Streams `["MAC0", protected, h'', payload]` into the MAC without a buffer.
fn feed_mac_structure(mac: &mut hmac::Hmac<sha2::Sha256>, protected: &[u8], payload: &[u8]) {
    let mut head = [0u8; 9];
    let mut put = |major: u8, len: usize, mac: &mut hmac::Hmac<sha2::Sha256>| {
        let mut w = Writer::new(&mut head);
        let n = if w.head(major, len as u64).is_ok() {
            w.position()
        } else {
            0
        };
        mac.update(head.get(..n).unwrap_or(&[]));
    };
    mac.update(&[0x84, 0x64]);
    mac.update(b"MAC0");
    put(cbor::MAJOR_BSTR, protected.len(), mac);
    mac.update(protected);
    mac.update(&[0x40]);
    put(cbor::MAJOR_BSTR, payload.len(), mac);
    mac.update(payload);
}

/// What the verifier requires beyond a valid signature: issuer allowlist, this service's
/// audience, leeway, revocation, first-sight store, lifetime cap.
#[derive(Clone, Copy)]
pub struct Expectations<'a> {
    issuers: &'a [&'a str],
    audience: &'a str,
    leeway: u64,
    max_lifetime: Option<u64>,
    revocation: &'a dyn RevocationCheck,
    first_sight: Option<&'a dyn FirstSight>,
}

impl fmt::Debug for Expectations<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expectations")
            .field("issuers", &self.issuers)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .field("first_sight", &self.first_sight.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> Expectations<'a> {
    /// Default clock-skew leeway, seconds.
    pub const DEFAULT_LEEWAY: u64 = 60;
    /// Largest leeway accepted (inclusive); [`Expectations::leeway`] refuses a larger one.
    pub const MAX_LEEWAY: u64 = 600;

    /// Accept tokens from one of `issuers` addressed to `audience` (this device's id or this
    /// service's name), with the default leeway, no revocation list and no first-sight store.
    pub fn new(issuers: &'a [&'a str], audience: &'a str) -> Self {
        Self {
            issuers,
            audience,
            leeway: Self::DEFAULT_LEEWAY,
            max_lifetime: None,
            revocation: &NoRevocation,
            first_sight: None,
        }
    }

    /// Clock-skew leeway in seconds, 0 to [`Expectations::MAX_LEEWAY`] inclusive.
    ///
    /// A larger value is a configuration error, never silently lowered: a verifier must not
    /// run with a policy other than the one its operator wrote down.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `seconds` exceeds [`Expectations::MAX_LEEWAY`].
    pub fn leeway(mut self, seconds: u64) -> Result<Self> {
        if seconds > Self::MAX_LEEWAY {
            return Err(Error::InvalidInput);
        }
        self.leeway = seconds;
        Ok(self)
    }

    /// Reject tokens whose `exp - iat` (or `exi`) exceeds this many seconds.
    #[must_use]
    pub fn max_lifetime(mut self, seconds: u64) -> Self {
        self.max_lifetime = Some(seconds);
        self
    }

    /// Check revoked token ids and epochs here.
    #[must_use]
    pub fn revocation(mut self, list: &'a dyn RevocationCheck) -> Self {
        self.revocation = list;
        self
    }

    /// Record first sights here (needed to accept tokens that carry `exi`).
    #[must_use]
    pub fn first_sight(mut self, store: &'a dyn FirstSight) -> Self {
        self.first_sight = Some(store);
        self
    }
}

/// A token whose signature or MAC, claims, times and revocation status have been checked.
/// The only type that answers authorization questions.
#[derive(Clone, Copy, Debug)]
pub struct VerifiedToken<'a> {
    claims: Claims<'a>,
    kind: TokenKind,
    kid: &'a [u8],
}

impl<'a> VerifiedToken<'a> {
    /// Whether the token permits `action` on `resource`. Deny by default.
    pub fn allows(&self, resource: &Resource<'_>, action: Action) -> bool {
        self.claims.scopes.allows(resource, action)
    }

    /// Whether the token permits `action` on `resource` of `patient`'s data: the scope must
    /// allow it, and the token must be bound to that patient (or be that patient's own
    /// token: role patient with `sub` equal to `patient`). Unbound tokens of other roles
    /// reach no patient's data.
    pub fn allows_for_patient(
        &self,
        resource: &Resource<'_>,
        action: Action,
        patient: &str,
    ) -> bool {
        self.claims.reached_patient() == Some(patient) && self.allows(resource, action)
    }

    /// The verified claims.
    pub fn claims(&self) -> &Claims<'a> {
        &self.claims
    }

    /// (`iss`, `sub`): the key to identify the holder by. Subjects are only unique per
    /// issuer (ASVS 6.8.1).
    pub fn principal(&self) -> (&'a str, &'a str) {
        (self.claims.issuer, self.claims.subject)
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.claims.role
    }

    /// The scopes.
    pub fn scopes(&self) -> &ScopeSet<'a> {
        &self.claims.scopes
    }

    /// `cti`.
    pub fn token_id(&self) -> TokenId {
        self.claims.token_id
    }

    /// The patient binding.
    pub fn patient(&self) -> Option<&'a str> {
        self.claims.patient
    }

    /// The proof-of-possession key, if the token requires one.
    pub fn proof_key(&self) -> Option<ProofKey<'a>> {
        self.claims.proof_key
    }

    /// Which structure carried it.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The key id it verified under.
    pub fn kid(&self) -> &'a [u8] {
        self.kid
    }

    /// Starts deriving a narrower token (issuer side): subset of scopes, shorter lifetime,
    /// the patient this token reaches or none. Sign the result with the issuer's key.
    pub fn narrow(&self) -> Narrowing<'a> {
        Narrowing::new(self.claims)
    }
}

pub(crate) fn write_protected(
    alg: i64,
    kid: &[u8],
    out: &mut [u8],
) -> core::result::Result<usize, cbor::Full> {
    let mut w = Writer::new(out);
    w.map(2)?;
    w.int(1)?;
    w.int(alg)?;
    w.int(4)?;
    w.bstr(kid)?;
    Ok(w.position())
}

/// Writes `tag([protected, {}, payload, tag_bytes])` given a closure that authenticates.
fn assemble(
    kind: TokenKind,
    alg: i64,
    kid: &[u8],
    claims: &Claims<'_>,
    out: &mut [u8],
    authenticate: impl FnOnce(&[u8], &[u8], &mut [u8; SIGNATURE_LEN]) -> Result<usize>,
) -> Result<usize> {
    let mut protected = [0u8; MAX_PROTECTED_LEN];
    let plen = write_protected(alg, kid, &mut protected).map_err(|_| Error::InvalidInput)?;
    let protected = protected.get(..plen).ok_or(Error::InvalidInput)?;
    let mut payload = [0u8; MAX_TOKEN_LEN];
    let n = claims
        .encode(&mut payload)
        .map_err(|_| Error::InvalidInput)?;
    let payload = payload.get(..n).ok_or(Error::InvalidInput)?;
    let mut tag = [0u8; SIGNATURE_LEN];
    let tlen = authenticate(protected, payload, &mut tag)?;
    // Never mint what a verifier would refuse; checked before writing, so an oversize token
    // is InvalidInput whatever the size of `out`.
    if cbor::cose_len(plen, n, tlen) > MAX_TOKEN_LEN {
        return Err(Error::InvalidInput);
    }
    let mut w = Writer::new(out);
    let full = |_| Error::BufferTooSmall;
    w.tag(match kind {
        TokenKind::Sign1 => TAG_COSE_SIGN1,
        TokenKind::Mac0 => TAG_COSE_MAC0,
    })
    .map_err(full)?;
    w.array(4).map_err(full)?;
    w.bstr(protected).map_err(full)?;
    w.map(0).map_err(full)?;
    w.bstr(payload).map_err(full)?;
    w.bstr(tag.get(..tlen).ok_or(Error::InvalidInput)?)
        .map_err(full)?;
    if w.position() > MAX_TOKEN_LEN {
        return Err(Error::InvalidInput);
    }
    Ok(w.position())
}

impl SigningKey {
    /// Mints a COSE_Sign1 token (EdDSA) carrying `claims` into `out`; returns its length.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the token would exceed [`MAX_TOKEN_LEN`] (whatever the
    /// size of `out`); [`Error::BufferTooSmall`] when `out` is shorter than the token.
    pub fn mint(&self, claims: &Claims<'_>, out: &mut [u8]) -> Result<usize> {
        let kid = self.kid();
        assemble(
            TokenKind::Sign1,
            ALG_EDDSA,
            kid.as_bytes(),
            claims,
            out,
            |protected, payload, sig| {
                let mut buf = [0u8; MAX_TBS_LEN];
                let n = to_be_signed(b"Signature1", protected, payload, &mut buf)
                    .map_err(|_| Error::InvalidInput)?;
                *sig = self.sign(buf.get(..n).ok_or(Error::InvalidInput)?);
                Ok(SIGNATURE_LEN)
            },
        )
    }

    /// [`SigningKey::mint`] into a new vector.
    ///
    /// # Errors
    /// As [`SigningKey::mint`].
    #[cfg(feature = "alloc")]
    pub fn mint_vec(&self, claims: &Claims<'_>) -> Result<alloc::vec::Vec<u8>> {
        let mut buf = alloc::vec![0u8; MAX_TOKEN_LEN];
        let n = self.mint(claims, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }
}

impl MacKey {
    /// Mints a COSE_Mac0 token (HMAC 256/256) carrying `claims` into `out`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the token would exceed [`MAX_TOKEN_LEN`] (whatever the
    /// size of `out`); [`Error::BufferTooSmall`] when `out` is shorter than the token.
    pub fn mint(&self, claims: &Claims<'_>, out: &mut [u8]) -> Result<usize> {
        let kid = self.kid();
        assemble(
            TokenKind::Mac0,
            ALG_HMAC_256_256,
            kid.as_bytes(),
            claims,
            out,
            |protected, payload, tag| {
                let mut mac = self.keyed();
                feed_mac_structure(&mut mac, protected, payload);
                let out = mac.finalize().into_bytes();
                for (t, o) in tag.iter_mut().zip(out.iter()) {
                    *t = *o;
                }
                Ok(MAC_LEN)
            },
        )
    }

    /// [`MacKey::mint`] into a new vector.
    ///
    /// # Errors
    /// As [`MacKey::mint`].
    #[cfg(feature = "alloc")]
    pub fn mint_vec(&self, claims: &Claims<'_>) -> Result<alloc::vec::Vec<u8>> {
        let mut buf = alloc::vec![0u8; MAX_TOKEN_LEN];
        let n = self.mint(claims, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests;
