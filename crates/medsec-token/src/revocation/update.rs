//! Signed revocation updates: how a backend pushes revoked token ids and a new epoch to a
//! device over any channel (BLE via the phone, a file, an HTTP body) without trusting it.
//!
//! An update is a COSE_Sign1 under the issuer's Ed25519 key, with the same header rules as a
//! token (`docs/token-profile.md` §6.1). Its payload carries a sequence number that must grow
//! (by at most [`MAX_SEQUENCE_STEP`]), so a replayed old update is refused; its epoch is never
//! after its own `iat`, and a device with a wall clock refuses an update from the future, so
//! no single update can push the epoch or the sequence out of reach for good.

use crate::cbor::{Malformed, Reader, Writer};
use crate::clock::Clock;
use crate::keys::{KeyLookup, SigningKey, VerificationKey};
use crate::token::{
    parse_protected, to_be_signed, write_protected, ALG_EDDSA, MAX_TBS_LEN, MAX_TOKEN_LEN,
    SIGNATURE_LEN, TAG_COSE_SIGN1,
};
use crate::{Error, Result, RevocationEpoch, TokenId};

/// Update payload keys (private use, distinct from every token claim key, so an update can
/// never be read as a token nor a token as an update).
pub(crate) mod key {
    pub const ISS: i64 = 1;
    pub const AUD: i64 = 3;
    pub const IAT: i64 = 6;
    pub const SEQ: i64 = -65550;
    pub const EPOCH: i64 = -65551;
    pub const REVOKED: i64 = -65552;
}

/// Most token ids one update carries.
pub const MAX_UPDATE_IDS: usize = 32;

/// Largest amount by which one update may raise its issuer's sequence number (inclusive): a
/// device that last applied `s` from that issuer accepts only `s < seq <= s +
/// MAX_SEQUENCE_STEP`. So no single signed update can use up the sequence space (a `seq` of
/// 2^64 − 1 would refuse every later update from that issuer for good); exhausting it takes
/// 2^32 updates. Each issuer has its own sequence (profile §6.1): one issuer's numbers never
/// block another's updates.
pub const MAX_SEQUENCE_STEP: u64 = 1 << 32;

/// Largest `iat` (and so epoch) an update may carry: 2^63 − 1. The top half of the range is
/// reserved so that, whatever epoch `E` one update sets, tokens with `iat >= E` (and an `exp`
/// after it) can still be minted: a device without a wall clock, which cannot tell such an
/// update is from the future, is never left unable to accept any token (profile §6.1).
pub const MAX_UPDATE_TIME: u64 = (1 << 63) - 1;

/// The content of a revocation update (what the backend signs, what the device applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevocationUpdate<'a> {
    /// The issuer (`iss`) whose tokens this update revokes.
    pub issuer: &'a str,
    /// The device id or service the update is for (`aud`), as in tokens.
    pub audience: &'a str,
    /// When the backend made it (Unix seconds, issuer time).
    pub issued_at: u64,
    /// Sequence number, per issuer: a device applies only updates with a larger one than it
    /// last applied from this issuer, by at most [`MAX_SEQUENCE_STEP`].
    pub sequence: u64,
    /// The revocation epoch (tokens issued before it are dead); at most `issued_at`.
    pub epoch: RevocationEpoch,
    /// Revoked token ids with their expiry, up to [`MAX_UPDATE_IDS`].
    pub revoked: &'a [crate::RevokedToken],
}

impl RevocationUpdate<'_> {
    /// Signs the update with the issuer key into `out`; returns its length.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for empty or oversize texts, more than [`MAX_UPDATE_IDS`]
    /// ids, an epoch after `issued_at` or an `issued_at` above [`MAX_UPDATE_TIME`] (every
    /// device refuses those), or an update longer than
    /// [`MAX_TOKEN_LEN`](crate::MAX_TOKEN_LEN) bytes (long token ids: send fewer per
    /// update; whatever the size of `out`); [`Error::BufferTooSmall`] when `out` is shorter
    /// than the update.
    pub fn sign(&self, key: &SigningKey, out: &mut [u8]) -> Result<usize> {
        let texts_ok = [self.issuer, self.audience]
            .iter()
            .all(|t| !t.is_empty() && t.len() <= crate::claims::MAX_TEXT_LEN);
        if !texts_ok
            || self.revoked.len() > MAX_UPDATE_IDS
            || self.epoch.unix_seconds() > self.issued_at
            || self.issued_at > MAX_UPDATE_TIME
        {
            return Err(Error::InvalidInput);
        }
        let mut payload = [0u8; MAX_TOKEN_LEN];
        let n = {
            let mut w = Writer::new(&mut payload);
            let full = |_| Error::InvalidInput;
            w.map(6).map_err(full)?;
            w.int(key::ISS).map_err(full)?;
            w.tstr(self.issuer).map_err(full)?;
            w.int(key::AUD).map_err(full)?;
            w.tstr(self.audience).map_err(full)?;
            w.int(key::IAT).map_err(full)?;
            w.uint(self.issued_at).map_err(full)?;
            w.int(key::SEQ).map_err(full)?;
            w.uint(self.sequence).map_err(full)?;
            w.int(key::EPOCH).map_err(full)?;
            w.uint(self.epoch.unix_seconds()).map_err(full)?;
            w.int(key::REVOKED).map_err(full)?;
            w.array(self.revoked.len()).map_err(full)?;
            for r in self.revoked {
                w.array(2).map_err(full)?;
                w.bstr(r.id.as_bytes()).map_err(full)?;
                w.uint(r.expires_at).map_err(full)?;
            }
            w.position()
        };
        let payload = payload.get(..n).ok_or(Error::InvalidInput)?;
        let mut protected = [0u8; 32];
        let plen = write_protected(ALG_EDDSA, key.kid().as_bytes(), &mut protected)
            .map_err(|_| Error::InvalidInput)?;
        let protected = protected.get(..plen).ok_or(Error::InvalidInput)?;
        let mut tbs = [0u8; MAX_TBS_LEN];
        let t = to_be_signed(b"Signature1", protected, payload, &mut tbs)
            .map_err(|_| Error::InvalidInput)?;
        let sig = key.sign(tbs.get(..t).ok_or(Error::InvalidInput)?);
        // Never sign what every device would refuse (split the ids over several updates);
        // checked before writing, so it is InvalidInput whatever the size of `out`.
        if crate::cbor::cose_len(plen, n, sig.len()) > MAX_TOKEN_LEN {
            return Err(Error::InvalidInput);
        }
        let mut w = Writer::new(out);
        let full = |_| Error::BufferTooSmall;
        w.tag(TAG_COSE_SIGN1).map_err(full)?;
        w.array(4).map_err(full)?;
        w.bstr(protected).map_err(full)?;
        w.map(0).map_err(full)?;
        w.bstr(payload).map_err(full)?;
        w.bstr(&sig).map_err(full)?;
        if w.position() > MAX_TOKEN_LEN {
            return Err(Error::InvalidInput);
        }
        Ok(w.position())
    }
}

/// A verified update's content, with the token ids still to be read from the payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VerifiedUpdate<'a> {
    /// The update's `iss`: whose sequence it advances.
    pub issuer: &'a str,
    pub issued_at: u64,
    pub sequence: u64,
    pub epoch: RevocationEpoch,
    ids: &'a [u8],
    count: usize,
}

impl<'a> VerifiedUpdate<'a> {
    /// Whether a list that last applied sequence `last` from this update's issuer may apply
    /// this update now
    /// (profile §6.1): the sequence moves forward by 1 to [`MAX_SEQUENCE_STEP`], and with a
    /// wall clock the update is not from the future (`iat <= now + MAX_LEEWAY`), so its
    /// epoch (never above its `iat`) cannot lie beyond real time either.
    pub fn admissible<C: Clock + ?Sized>(&self, last: u64, clock: &C) -> Result<()> {
        let step_ok = self
            .sequence
            .checked_sub(last)
            .is_some_and(|step| (1..=MAX_SEQUENCE_STEP).contains(&step));
        let time_ok = clock.unix_time().is_none_or(|now| {
            self.issued_at <= now.saturating_add(crate::Expectations::MAX_LEEWAY)
        });
        if step_ok && time_ok {
            Ok(())
        } else {
            Err(Error::Rejected)
        }
    }

    /// The revoked ids, parsed lazily (already validated once).
    pub fn revoked(&self) -> impl Iterator<Item = crate::RevokedToken> + 'a {
        let mut r = Reader::new(self.ids);
        (0..self.count).map_while(move |_| read_entry(&mut r).ok())
    }
}

fn read_entry(r: &mut Reader<'_>) -> core::result::Result<crate::RevokedToken, Malformed> {
    if r.array()? != 2 {
        return Err(Malformed);
    }
    let id = TokenId::from_slice(r.bstr()?).map_err(|_| Malformed)?;
    let expires_at = r.uint()?;
    Ok(crate::RevokedToken { id, expires_at })
}

/// Verifies an update: Ed25519 key from `keys` by kid, issuer in `issuers`, audience equal.
pub(crate) fn verify_update<'a, K: KeyLookup + ?Sized>(
    bytes: &'a [u8],
    keys: &K,
    issuers: &[&str],
    audience: &str,
) -> Result<VerifiedUpdate<'a>> {
    verify_inner(bytes, keys, issuers, audience).map_err(|_| Error::Rejected)
}

fn verify_inner<'a, K: KeyLookup + ?Sized>(
    bytes: &'a [u8],
    keys: &K,
    issuers: &[&str],
    audience: &str,
) -> core::result::Result<VerifiedUpdate<'a>, Malformed> {
    if bytes.len() > MAX_TOKEN_LEN {
        return Err(Malformed);
    }
    let mut r = Reader::new(bytes);
    if r.tag()? != TAG_COSE_SIGN1 || r.array()? != 4 {
        return Err(Malformed);
    }
    let protected = r.bstr()?;
    let (alg, kid) = parse_protected(protected)?;
    if r.map()? != 0 {
        return Err(Malformed);
    }
    let payload = r.bstr()?;
    let sig: &[u8; SIGNATURE_LEN] = r.bstr()?.try_into().map_err(|_| Malformed)?;
    if !r.is_empty() || alg != ALG_EDDSA {
        return Err(Malformed);
    }
    let Some(trusted) = keys.key_for(kid) else {
        return Err(Malformed);
    };
    let VerificationKey::Ed25519(key) = trusted else {
        return Err(Malformed);
    };
    let mut tbs = [0u8; MAX_TBS_LEN];
    let n = to_be_signed(b"Signature1", protected, payload, &mut tbs).map_err(|_| Malformed)?;
    if !key.verify(tbs.get(..n).ok_or(Malformed)?, sig) {
        return Err(Malformed);
    }
    // Exactly the six keys, each once, any order.
    let mut p = Reader::new(payload);
    if p.map()? != 6 {
        return Err(Malformed);
    }
    let (mut iss, mut aud, mut iat, mut seq, mut epoch, mut ids) =
        (None, None, None, None, None, None);
    for _ in 0..6 {
        let fresh = match p.int()? {
            key::ISS => iss.replace(p.tstr()?).is_none(),
            key::AUD => aud.replace(p.tstr()?).is_none(),
            key::IAT => iat.replace(p.uint()?).is_none(),
            key::SEQ => seq.replace(p.uint()?).is_none(),
            key::EPOCH => epoch.replace(p.uint()?).is_none(),
            key::REVOKED => {
                let count = p.array()?;
                if count > MAX_UPDATE_IDS {
                    return Err(Malformed);
                }
                let start = p.clone();
                for _ in 0..count {
                    read_entry(&mut p)?;
                }
                ids.replace((start, count)).is_none()
            }
            _ => return Err(Malformed),
        };
        if !fresh {
            return Err(Malformed);
        }
    }
    if !p.is_empty() {
        return Err(Malformed);
    }
    let iss = iss.ok_or(Malformed)?;
    if !issuers.contains(&iss) || !trusted.may_sign_for(iss) || aud.ok_or(Malformed)? != audience {
        return Err(Malformed);
    }
    let (iat, epoch) = (iat.ok_or(Malformed)?, epoch.ok_or(Malformed)?);
    // An update revokes only what was issued before it was made: an epoch beyond the
    // update's own `iat` would refuse tokens not yet minted (up to every future token). The
    // reserved top half keeps tokens with `iat >= epoch` mintable whatever the epoch.
    if epoch > iat || iat > MAX_UPDATE_TIME {
        return Err(Malformed);
    }
    let (start, count) = ids.ok_or(Malformed)?;
    Ok(VerifiedUpdate {
        issuer: iss,
        issued_at: iat,
        sequence: seq.ok_or(Malformed)?,
        epoch: RevocationEpoch::from_unix_seconds(epoch),
        ids: start.remaining(),
        count,
    })
}
