//! Revocation: dead token ids and a revocation epoch that a backend pushes to devices.
//!
//! Two mechanisms, checked by [`UnverifiedToken::verify`](crate::UnverifiedToken::verify)
//! after the signature or MAC has been checked:
//!
//! - **token ids**: a token whose `cti` is listed is dead (logout, a lost phone);
//! - **revocation epoch**: every token whose issued-at (`iat`) is *before* the epoch is dead
//!   ("log everyone out", a suspected key leak). A per-subject epoch does the same for one
//!   subject (an account disabled, a password reset), matched on `sub` alone whatever the
//!   token's issuer. Epochs count in the issuer's Unix
//!   seconds, so a device with no wall clock can still apply them: it only compares two
//!   issuer-side times.
//!
//! [`RevocationCheck`] is the seam the verifier reads. [`FixedRevocationList`] needs no heap
//! (firmware); [`RevocationList`] (feature `alloc`) grows and tracks per-subject epochs
//! (backends, session stores). Epochs only ever move forward.

use crate::clock::Clock;
use crate::keys::KeyLookup;
use crate::{Error, Result, TokenId};

mod update;
pub use update::{RevocationUpdate, MAX_SEQUENCE_STEP, MAX_UPDATE_IDS, MAX_UPDATE_TIME};

/// A revocation epoch in the issuer's Unix seconds: tokens issued (`iat`) before it are dead.
///
/// `RevocationEpoch::ZERO` revokes nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RevocationEpoch(u64);

impl RevocationEpoch {
    /// The epoch that revokes nothing.
    pub const ZERO: Self = Self(0);

    /// An epoch at `seconds` since the Unix epoch (issuer time).
    pub const fn from_unix_seconds(seconds: u64) -> Self {
        Self(seconds)
    }

    /// The epoch in seconds since the Unix epoch (issuer time).
    pub const fn unix_seconds(self) -> u64 {
        self.0
    }

    /// Whether a token issued at `issued_at` (Unix seconds, the `iat` claim) is dead under
    /// this epoch.
    pub const fn revokes(self, issued_at: u64) -> bool {
        issued_at < self.0
    }
}

/// What the verifier asks about revocation. Object safe; implement it over your own store
/// (a database table, a flash page) or use [`FixedRevocationList`] / [`RevocationList`].
pub trait RevocationCheck {
    /// The global epoch: tokens issued before it are dead.
    fn epoch(&self) -> RevocationEpoch;

    /// Whether the token with this id has been revoked.
    fn is_revoked(&self, id: &TokenId) -> bool;

    /// The epoch for one subject (the `sub` claim): that subject's tokens issued before it
    /// are dead. The default revokes nothing beyond the global epoch.
    ///
    /// Keyed by `sub` alone, not by `(iss, sub)`: it reaches that subject's tokens from every
    /// issuer the verifier trusts (profile §6). That errs towards refusing (it can only kill
    /// more tokens, never fewer), and it is the key `medsec-session` shares for a user's
    /// sessions, which have no issuer. Deployments whose issuers may give one `sub` to
    /// different holders should make subjects unique across those issuers.
    fn subject_epoch(&self, subject: &str) -> RevocationEpoch {
        let _ = subject;
        RevocationEpoch::ZERO
    }

    /// Whether a token with these claims is dead. Callers normally use the verifier, which
    /// calls this; it is public so that other crates (sessions) apply the same rule.
    fn is_dead(&self, id: &TokenId, subject: &str, issued_at: u64) -> bool {
        self.epoch().revokes(issued_at)
            || self.subject_epoch(subject).revokes(issued_at)
            || self.is_revoked(id)
    }
}

/// Whether a token expiring at `expires_at` is rejected at `now` whatever leeway a verifier
/// uses (`now >= exp + MAX_LEEWAY`): only then may its revocation entry go.
fn past_every_leeway(expires_at: u64, now: u64) -> bool {
    now >= expires_at.saturating_add(crate::Expectations::MAX_LEEWAY)
}

/// Revokes nothing. For tests and for deployments that rely on short lifetimes alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRevocation;

impl RevocationCheck for NoRevocation {
    fn epoch(&self) -> RevocationEpoch {
        RevocationEpoch::ZERO
    }
    fn is_revoked(&self, _id: &TokenId) -> bool {
        false
    }
}

impl<T: RevocationCheck + ?Sized> RevocationCheck for &T {
    fn epoch(&self) -> RevocationEpoch {
        (**self).epoch()
    }
    fn is_revoked(&self, id: &TokenId) -> bool {
        (**self).is_revoked(id)
    }
    fn subject_epoch(&self, subject: &str) -> RevocationEpoch {
        (**self).subject_epoch(subject)
    }
}

/// A revoked token id and the time (Unix seconds) after which the token would be expired
/// anyway, so the entry can be pruned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevokedToken {
    /// The revoked token's id.
    pub id: TokenId,
    /// The token's `exp` (Unix seconds); after it the entry is no longer needed.
    pub expires_at: u64,
}

/// Which issuer a [`FixedRevocationList`] sequence belongs to: the first 16 bytes of SHA-256
/// over the issuer's `iss` (the list keeps no text, so it needs no heap). Only allowlisted
/// issuers reach it, so two of them sharing a digest is not a practical concern.
fn issuer_digest(issuer: &str) -> [u8; 16] {
    use sha2::Digest as _;
    let full = sha2::Sha256::digest(issuer.as_bytes());
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(full.iter()) {
        *o = *b;
    }
    out
}

/// The last sequence number a [`FixedRevocationList`] applied from one issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IssuerSequence {
    issuer: [u8; 16],
    last: u64,
}

/// A fixed-capacity revocation list with no heap allocation (firmware): at most `N` revoked
/// token ids, and the sequence numbers of signed updates from at most `I` issuers (default
/// 4; each takes 32 bytes).
///
/// When it is full, [`FixedRevocationList::revoke`] fails: raise the epoch instead, which
/// revokes everything issued before it in one entry. Set `I` to at least the number of
/// issuers whose signed updates the device applies: an update from one more issuer is
/// refused ([`Error::CapacityExceeded`]).
#[derive(Clone, Debug)]
pub struct FixedRevocationList<const N: usize, const I: usize = 4> {
    entries: [Option<RevokedToken>; N],
    epoch: RevocationEpoch,
    sequences: [Option<IssuerSequence>; I],
}

impl<const N: usize, const I: usize> Default for FixedRevocationList<N, I> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const I: usize> FixedRevocationList<N, I> {
    /// An empty list at epoch zero.
    pub const fn new() -> Self {
        Self {
            entries: [None; N],
            epoch: RevocationEpoch::ZERO,
            sequences: [None; I],
        }
    }

    /// Verifies a signed [`RevocationUpdate`] (issuer key from `keys`, issuer in `issuers`
    /// and allowed for that key, addressed to `audience`) and applies it: raises the epoch
    /// and lists its token ids. Returns how many ids it carried. Prune expired entries first
    /// to make room. `clock` is the verifier's clock (a [`RollbackGuard`](crate::RollbackGuard)
    /// on devices): with a wall time, an update issued after `now + MAX_LEEWAY` is refused.
    ///
    /// Sequence numbers are counted per issuer (the update's `iss`): an update must be above
    /// the last one applied *from its issuer*, by at most [`MAX_SEQUENCE_STEP`], so one
    /// issuer's numbering (or a compromised issuer key) never blocks another issuer's updates.
    ///
    /// # Errors
    /// [`Error::Rejected`] when the update does not verify, its epoch is after its `iat`, it
    /// is from the future, or its sequence number is not above the last one applied from its
    /// issuer (a replay) or above it by more than [`MAX_SEQUENCE_STEP`];
    /// [`Error::CapacityExceeded`] when its issuer is new to the list and all `I` issuer
    /// slots are taken (nothing is applied), or when its ids do not all fit: the epoch is
    /// raised anyway and the ids up to the first that did not fit are listed, but the
    /// sequence is not advanced, so the same update can be applied again after pruning.
    pub fn apply_update<K: KeyLookup + ?Sized, C: Clock + ?Sized>(
        &mut self,
        update: &[u8],
        keys: &K,
        issuers: &[&str],
        audience: &str,
        clock: &C,
    ) -> Result<usize> {
        let u = update::verify_update(update, keys, issuers, audience)?;
        let digest = issuer_digest(u.issuer);
        let known = self
            .sequences
            .iter()
            .position(|s| s.is_some_and(|s| s.issuer == digest));
        let last = known
            .and_then(|i| self.sequences.get(i).copied().flatten())
            .map_or(0, |s| s.last);
        u.admissible(last, clock)?;
        let slot = match known {
            Some(i) => i,
            None => self
                .sequences
                .iter()
                .position(Option::is_none)
                .ok_or(Error::CapacityExceeded)?,
        };
        self.raise_epoch(u.epoch);
        let mut n = 0usize;
        for r in u.revoked() {
            self.revoke(r.id, r.expires_at)?;
            n = n.saturating_add(1);
        }
        if let Some(s) = self.sequences.get_mut(slot) {
            *s = Some(IssuerSequence {
                issuer: digest,
                last: u.sequence,
            });
        }
        Ok(n)
    }

    /// The sequence number of the last update applied from `issuer` (0: none).
    pub fn sequence(&self, issuer: &str) -> u64 {
        let digest = issuer_digest(issuer);
        self.sequences
            .iter()
            .flatten()
            .find(|s| s.issuer == digest)
            .map_or(0, |s| s.last)
    }

    /// Lists a token id as revoked until `expires_at` (Unix seconds, the token's `exp`).
    /// Revoking an id twice keeps the later expiry.
    ///
    /// # Errors
    /// [`Error::CapacityExceeded`] when all `N` slots hold live entries; prune or raise the
    /// epoch.
    pub fn revoke(&mut self, id: TokenId, expires_at: u64) -> Result<()> {
        if let Some(existing) = self.entries.iter_mut().flatten().find(|e| e.id == id) {
            existing.expires_at = existing.expires_at.max(expires_at);
            return Ok(());
        }
        let slot = self
            .entries
            .iter_mut()
            .find(|e| e.is_none())
            .ok_or(Error::CapacityExceeded)?;
        *slot = Some(RevokedToken { id, expires_at });
        Ok(())
    }

    /// Raises the global epoch. A lower epoch than the current one is ignored, so a replayed
    /// old update can never bring tokens back. Returns whether the epoch moved.
    pub fn raise_epoch(&mut self, epoch: RevocationEpoch) -> bool {
        if epoch > self.epoch {
            self.epoch = epoch;
            true
        } else {
            false
        }
    }

    /// Drops entries for tokens that no verifier can accept any more at `now` (Unix
    /// seconds): `now >= exp + MAX_LEEWAY`, so that pruning never revives a revoked token
    /// that a verifier's leeway would still let through. Returns how many were dropped.
    pub fn prune_expired(&mut self, now: u64) -> usize {
        let mut dropped = 0usize;
        for slot in &mut self.entries {
            if matches!(slot, Some(e) if past_every_leeway(e.expires_at, now)) {
                *slot = None;
                dropped = dropped.saturating_add(1);
            }
        }
        dropped
    }

    /// Number of listed token ids.
    pub fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }

    /// Whether no token id is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<const N: usize, const I: usize> RevocationCheck for FixedRevocationList<N, I> {
    fn epoch(&self) -> RevocationEpoch {
        self.epoch
    }
    fn is_revoked(&self, id: &TokenId) -> bool {
        // Visit every slot: the time taken does not depend on where (or whether) the id is.
        self.entries
            .iter()
            .flatten()
            .fold(false, |hit, e| hit | (e.id == *id))
    }
}

#[cfg(feature = "alloc")]
pub use growable::RevocationList;

#[cfg(feature = "alloc")]
mod growable {
    use alloc::collections::BTreeMap;
    use alloc::string::String;

    use super::{RevocationCheck, RevocationEpoch, RevokedToken};
    use crate::TokenId;

    /// A growable revocation list with per-subject epochs (backends, session stores).
    #[derive(Clone, Debug, Default)]
    pub struct RevocationList {
        revoked: BTreeMap<TokenId, u64>,
        subjects: BTreeMap<String, RevocationEpoch>,
        epoch: RevocationEpoch,
        /// The last sequence number applied, per issuer (`iss`).
        sequences: BTreeMap<String, u64>,
    }

    impl RevocationList {
        /// An empty list at epoch zero.
        pub fn new() -> Self {
            Self::default()
        }

        /// Verifies and applies a signed [`RevocationUpdate`](super::RevocationUpdate), as
        /// [`FixedRevocationList::apply_update`](super::FixedRevocationList::apply_update)
        /// does (same checks, same `clock` rule, one sequence per issuer, with no limit on
        /// the number of issuers). Returns how many ids it carried.
        ///
        /// # Errors
        /// [`Error::Rejected`](crate::Error::Rejected) when it does not verify, is a replay,
        /// is from the future or moves its issuer's sequence too far (as the fixed list).
        pub fn apply_update<K: crate::KeyLookup + ?Sized, C: crate::Clock + ?Sized>(
            &mut self,
            update: &[u8],
            keys: &K,
            issuers: &[&str],
            audience: &str,
            clock: &C,
        ) -> crate::Result<usize> {
            let u = super::update::verify_update(update, keys, issuers, audience)?;
            u.admissible(self.sequence(u.issuer), clock)?;
            self.raise_epoch(u.epoch);
            let mut n = 0usize;
            for r in u.revoked() {
                self.revoke(r.id, r.expires_at);
                n = n.saturating_add(1);
            }
            self.sequences.insert(String::from(u.issuer), u.sequence);
            Ok(n)
        }

        /// The sequence number of the last update applied from `issuer` (0: none).
        pub fn sequence(&self, issuer: &str) -> u64 {
            self.sequences.get(issuer).copied().unwrap_or(0)
        }

        /// Lists a token id as revoked until `expires_at` (Unix seconds, the token's `exp`).
        pub fn revoke(&mut self, id: TokenId, expires_at: u64) {
            let e = self.revoked.entry(id).or_insert(expires_at);
            *e = (*e).max(expires_at);
        }

        /// Raises the global epoch; a lower one is ignored. Returns whether it moved.
        pub fn raise_epoch(&mut self, epoch: RevocationEpoch) -> bool {
            if epoch > self.epoch {
                self.epoch = epoch;
                true
            } else {
                false
            }
        }

        /// Raises one subject's epoch: that subject's tokens issued before it are dead, from
        /// whichever issuer (matched on `sub` alone, see
        /// [`RevocationCheck::subject_epoch`]). A lower one is ignored. Returns whether it
        /// moved.
        pub fn raise_subject_epoch(&mut self, subject: &str, epoch: RevocationEpoch) -> bool {
            match self.subjects.get_mut(subject) {
                Some(current) if *current >= epoch => false,
                Some(current) => {
                    *current = epoch;
                    true
                }
                None => {
                    self.subjects.insert(String::from(subject), epoch);
                    true
                }
            }
        }

        /// Drops token-id entries whose tokens no verifier can accept any more at `now`
        /// (Unix seconds; `now >= exp + MAX_LEEWAY`, as
        /// [`FixedRevocationList::prune_expired`](super::FixedRevocationList::prune_expired)).
        /// Returns how many were dropped. Subject epochs are kept.
        pub fn prune_expired(&mut self, now: u64) -> usize {
            let before = self.revoked.len();
            self.revoked
                .retain(|_, exp| !super::past_every_leeway(*exp, now));
            before.saturating_sub(self.revoked.len())
        }

        /// The listed token ids with their expiry, in id order (for pushing to devices).
        pub fn revoked(&self) -> impl Iterator<Item = RevokedToken> + '_ {
            self.revoked.iter().map(|(id, exp)| RevokedToken {
                id: *id,
                expires_at: *exp,
            })
        }

        /// Number of listed token ids.
        pub fn len(&self) -> usize {
            self.revoked.len()
        }

        /// Whether no token id is listed.
        pub fn is_empty(&self) -> bool {
            self.revoked.is_empty()
        }
    }

    impl RevocationCheck for RevocationList {
        fn epoch(&self) -> RevocationEpoch {
            self.epoch
        }
        fn is_revoked(&self, id: &TokenId) -> bool {
            self.revoked.contains_key(id)
        }
        fn subject_epoch(&self, subject: &str) -> RevocationEpoch {
            self.subjects
                .get(subject)
                .copied()
                .unwrap_or(RevocationEpoch::ZERO)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;

    fn id(b: u8) -> TokenId {
        TokenId::from_slice(&[b; 16]).unwrap()
    }

    #[test]
    fn epoch_revokes_strictly_earlier() {
        let e = RevocationEpoch::from_unix_seconds(100);
        assert!(e.revokes(99));
        assert!(!e.revokes(100));
        assert!(!RevocationEpoch::ZERO.revokes(0));
    }

    #[test]
    fn fixed_list_capacity_and_prune() {
        let mut l = FixedRevocationList::<2>::new();
        l.revoke(id(1), 10).unwrap();
        l.revoke(id(2), 20).unwrap();
        l.revoke(id(1), 30).unwrap();
        assert_eq!(l.revoke(id(3), 5), Err(Error::CapacityExceeded));
        assert!(l.is_revoked(&id(1)) && l.is_revoked(&id(2)) && !l.is_revoked(&id(3)));
        // Kept while any leeway (up to 600 s) could still accept the token.
        assert_eq!(l.prune_expired(25), 0);
        assert_eq!(l.prune_expired(20 + 599), 0);
        assert_eq!(l.prune_expired(20 + 600), 1);
        assert!(!l.is_revoked(&id(2)));
        l.revoke(id(3), 5).unwrap();
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn epochs_never_go_back() {
        let mut l = FixedRevocationList::<1>::new();
        assert!(l.raise_epoch(RevocationEpoch::from_unix_seconds(50)));
        assert!(!l.raise_epoch(RevocationEpoch::from_unix_seconds(40)));
        assert_eq!(l.epoch().unix_seconds(), 50);
        assert!(l.is_dead(&id(9), "s", 49));
        assert!(!l.is_dead(&id(9), "s", 50));
    }

    #[test]
    fn signed_updates_apply_once_and_only_from_the_issuer() {
        let sk = crate::SigningKey::from_seed(&[8; 32], None);
        let mut keys = crate::KeySet::<1>::new();
        keys.insert(sk.verifying_key()).unwrap();
        let ids = [
            RevokedToken {
                id: id(1),
                expires_at: 500,
            },
            RevokedToken {
                id: id(2),
                expires_at: 600,
            },
        ];
        let update = RevocationUpdate {
            issuer: "clinic.example",
            audience: "pump-1",
            issued_at: 100,
            sequence: 7,
            epoch: RevocationEpoch::from_unix_seconds(90),
            revoked: &ids,
        };
        let mut buf = [0u8; 512];
        let n = update.sign(&sk, &mut buf).unwrap();
        let bytes = &buf[..n];
        let clock = crate::FixedClock::at(100);
        let iss = ["clinic.example"];
        let mut list = FixedRevocationList::<4>::new();
        // Wrong audience, wrong issuer, tampered: refused, nothing applied.
        assert_eq!(
            list.apply_update(bytes, &keys, &iss, "pump-2", &clock),
            Err(Error::Rejected)
        );
        assert_eq!(
            list.apply_update(bytes, &keys, &["x"], "pump-1", &clock),
            Err(Error::Rejected)
        );
        let mut bad = [0u8; 512];
        bad[..n].copy_from_slice(bytes);
        bad[n / 2] ^= 1;
        assert_eq!(
            list.apply_update(&bad[..n], &keys, &iss, "pump-1", &clock),
            Err(Error::Rejected)
        );
        assert!(list.is_empty() && list.epoch() == RevocationEpoch::ZERO);
        // Applied once; a replay is refused.
        assert_eq!(
            list.apply_update(bytes, &keys, &iss, "pump-1", &clock),
            Ok(2)
        );
        assert!(list.is_revoked(&id(1)) && list.is_revoked(&id(2)));
        assert_eq!(list.epoch().unix_seconds(), 90);
        assert_eq!(list.sequence("clinic.example"), 7);
        assert_eq!(
            list.apply_update(bytes, &keys, &iss, "pump-1", &clock),
            Err(Error::Rejected)
        );
        // An update is not a token, and a token is not an update.
        let ex = crate::Expectations::new(&iss, "pump-1");
        let as_token = crate::UnverifiedToken::parse(bytes)
            .and_then(|t| t.verify(&keys, &crate::FixedClock::at(100), &ex));
        assert!(as_token.is_err());
        // Too many ids for the list: epoch raised, sequence not advanced.
        let mut tiny = FixedRevocationList::<1>::new();
        assert_eq!(
            tiny.apply_update(bytes, &keys, &iss, "pump-1", &clock),
            Err(Error::CapacityExceeded)
        );
        assert_eq!(tiny.sequence("clinic.example"), 0);
        assert_eq!(tiny.epoch().unix_seconds(), 90);
        #[cfg(feature = "alloc")]
        {
            let mut grow = RevocationList::new();
            assert_eq!(
                grow.apply_update(bytes, &keys, &iss, "pump-1", &clock),
                Ok(2)
            );
            assert_eq!(
                grow.apply_update(bytes, &keys, &iss, "pump-1", &clock),
                Err(Error::Rejected)
            );
        }
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn growable_list_subject_epochs() {
        let mut l = RevocationList::new();
        l.revoke(id(1), 100);
        assert!(l.raise_subject_epoch("alice", RevocationEpoch::from_unix_seconds(10)));
        assert!(!l.raise_subject_epoch("alice", RevocationEpoch::from_unix_seconds(5)));
        assert!(l.is_dead(&id(2), "alice", 9));
        assert!(!l.is_dead(&id(2), "bob", 9));
        assert!(l.is_dead(&id(1), "bob", 9));
        assert_eq!(l.prune_expired(101), 0);
        assert_eq!(l.prune_expired(100 + 600), 1);
        assert!(l.is_empty());
    }

    fn signed(sk: &crate::SigningKey, iat: u64, seq: u64, epoch: u64) -> ([u8; 256], usize) {
        signed_update(sk, "clinic.example", iat, seq, epoch)
    }

    fn signed_update(
        sk: &crate::SigningKey,
        issuer: &str,
        iat: u64,
        seq: u64,
        epoch: u64,
    ) -> ([u8; 256], usize) {
        let update = RevocationUpdate {
            issuer,
            audience: "pump-1",
            issued_at: iat,
            sequence: seq,
            epoch: RevocationEpoch::from_unix_seconds(epoch),
            revoked: &[],
        };
        let mut buf = [0u8; 256];
        let n = update.sign(sk, &mut buf).unwrap();
        (buf, n)
    }

    /// One signed update must not be able to disable a device for good: a sequence number
    /// of 2^64 - 1 would refuse every later update, an epoch far in the future every token.
    #[test]
    fn one_update_cannot_push_sequence_or_epoch_out_of_reach() {
        use rand_chacha::rand_core::SeedableRng as _;
        let sk = crate::SigningKey::from_seed(&[8; 32], None);
        let mut keys = crate::KeySet::<1>::new();
        keys.insert(sk.verifying_key()).unwrap();
        let iss = ["clinic.example"];
        let now = 1_767_225_600;
        let wall = crate::FixedClock::at(now);
        let apply = |list: &mut FixedRevocationList<2>, u: &[u8], clock: &crate::FixedClock| {
            list.apply_update(u, &keys, &iss, "pump-1", clock)
        };
        // Sequence: by 1 to 2^32 past the last one applied, inclusive.
        let mut list = FixedRevocationList::<2>::new();
        let (b, n) = signed(&sk, now, MAX_SEQUENCE_STEP + 1, now);
        assert_eq!(apply(&mut list, &b[..n], &wall), Err(Error::Rejected));
        let (b, n) = signed(&sk, now, u64::MAX, now);
        assert_eq!(apply(&mut list, &b[..n], &wall), Err(Error::Rejected));
        assert_eq!(list.sequence("clinic.example"), 0);
        let (b, n) = signed(&sk, now, MAX_SEQUENCE_STEP, now);
        assert_eq!(apply(&mut list, &b[..n], &wall), Ok(0));
        let (b, n) = signed(&sk, now, 2 * MAX_SEQUENCE_STEP + 1, now);
        assert_eq!(apply(&mut list, &b[..n], &wall), Err(Error::Rejected));
        let (b, n) = signed(&sk, now, 2 * MAX_SEQUENCE_STEP, now);
        assert_eq!(apply(&mut list, &b[..n], &wall), Ok(0));
        assert_eq!(list.sequence("clinic.example"), 2 * MAX_SEQUENCE_STEP);

        // Epoch: never after the update's own iat (the signer refuses to make one; a
        // device refuses one made by other means, see the vectors); with a wall clock,
        // the update's iat is at most now + 600 s.
        let future = RevocationUpdate {
            issuer: "clinic.example",
            audience: "pump-1",
            issued_at: now,
            sequence: 1,
            epoch: RevocationEpoch::from_unix_seconds(now + 1),
            revoked: &[],
        };
        assert_eq!(future.sign(&sk, &mut [0u8; 256]), Err(Error::InvalidInput));
        let mut list = FixedRevocationList::<2>::new();
        let (b, n) = signed(&sk, now + 601, 1, now + 601);
        assert_eq!(apply(&mut list, &b[..n], &wall), Err(Error::Rejected));
        let (b, n) = signed(&sk, MAX_UPDATE_TIME, 1, MAX_UPDATE_TIME);
        assert_eq!(apply(&mut list, &b[..n], &wall), Err(Error::Rejected));
        assert_eq!(list.epoch(), RevocationEpoch::ZERO);
        let (b, n) = signed(&sk, now + 600, 1, now + 600);
        assert_eq!(apply(&mut list, &b[..n], &wall), Ok(0));
        assert_eq!(list.epoch().unix_seconds(), now + 600);
        // Without a wall clock the device cannot judge the update's time: only epoch <= iat
        // <= MAX_UPDATE_TIME and the sequence step hold, so tokens with iat >= epoch stay
        // mintable (profile §6.1 says how such a device recovers).
        let blind_clock = crate::FixedClock::default();
        let mut blind = FixedRevocationList::<2>::new();
        let (b, n) = signed(&sk, now + 86_400, 1, now + 86_400);
        assert_eq!(apply(&mut blind, &b[..n], &blind_clock), Ok(0));
        let top = RevocationUpdate {
            issuer: "clinic.example",
            audience: "pump-1",
            issued_at: MAX_UPDATE_TIME + 1,
            sequence: 2,
            epoch: RevocationEpoch::from_unix_seconds(MAX_UPDATE_TIME + 1),
            revoked: &[],
        };
        assert_eq!(top.sign(&sk, &mut [0u8; 256]), Err(Error::InvalidInput));
        let (b, n) = signed(&sk, MAX_UPDATE_TIME, 2, MAX_UPDATE_TIME);
        assert_eq!(apply(&mut blind, &b[..n], &blind_clock), Ok(0));
        assert_eq!(blind.epoch().unix_seconds(), MAX_UPDATE_TIME);
        // ... and a token issued at the epoch still verifies there (exi, no wall clock).
        let recovery = crate::ClaimsBuilder::new("clinic.example", crate::Role::Patient)
            .subject("p")
            .audience("pump-1")
            .issued_at(MAX_UPDATE_TIME)
            .ttl(3600)
            .exi(600)
            .token_id(TokenId::from_slice(&[5; 16]).unwrap())
            .build(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1))
            .map(|c| sk.mint_vec(&c).unwrap())
            .unwrap();
        let seen = crate::FixedFirstSight::<1>::new();
        let exp = crate::Expectations::new(&iss, "pump-1")
            .revocation(&blind)
            .first_sight(&seen);
        let mono = crate::FixedClock::monotonic_only(1, 5);
        assert!(crate::UnverifiedToken::parse(&recovery)
            .and_then(|t| t.verify(&keys, &mono, &exp))
            .is_ok());
        #[cfg(feature = "alloc")]
        {
            let mut grow = RevocationList::new();
            let (b, n) = signed(&sk, now + 601, 1, now);
            assert_eq!(
                grow.apply_update(&b[..n], &keys, &iss, "pump-1", &wall),
                Err(Error::Rejected)
            );
            let (b, n) = signed(&sk, now, MAX_SEQUENCE_STEP + 1, now);
            assert_eq!(
                grow.apply_update(&b[..n], &keys, &iss, "pump-1", &wall),
                Err(Error::Rejected)
            );
            assert_eq!(
                grow.apply_update(
                    &b[..n],
                    &keys,
                    &iss,
                    "pump-1",
                    &crate::FixedClock::default()
                ),
                Err(Error::Rejected)
            );
        }
    }

    /// A key bound to one issuer signs no update for another, even an allowlisted one.
    #[test]
    fn a_key_bound_to_one_issuer_signs_no_update_for_another() {
        let sk = crate::SigningKey::from_seed(&[8; 32], None);
        let (b, n) = signed(&sk, 100, 1, 50);
        let both = ["clinic.example", "lab.example"];
        let clock = crate::FixedClock::at(100);
        let mut bound = crate::KeySet::<1>::new();
        bound
            .insert(sk.verifying_key().bound_to_issuer("lab.example").unwrap())
            .unwrap();
        let mut list = FixedRevocationList::<2>::new();
        assert_eq!(
            list.apply_update(&b[..n], &bound, &both, "pump-1", &clock),
            Err(Error::Rejected)
        );
        let mut right = crate::KeySet::<1>::new();
        right
            .insert(
                sk.verifying_key()
                    .bound_to_issuer("clinic.example")
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(
            list.apply_update(&b[..n], &right, &both, "pump-1", &clock),
            Ok(0)
        );
    }

    fn signed_by(sk: &crate::SigningKey, issuer: &str, seq: u64, epoch: u64) -> ([u8; 256], usize) {
        signed_update(sk, issuer, 100, seq, epoch)
    }

    /// Each issuer has its own sequence: one issuer (a bug, or its compromised key) that
    /// jumps its numbering as far as allowed does not make the device refuse another
    /// issuer's updates, and replays are still refused per issuer.
    #[test]
    fn sequences_are_per_issuer() {
        let clinic = crate::SigningKey::from_seed(&[8; 32], None);
        let lab = crate::SigningKey::from_seed(&[9; 32], None);
        let mut keys = crate::KeySet::<2>::new();
        keys.insert(
            clinic
                .verifying_key()
                .bound_to_issuer("clinic.example")
                .unwrap(),
        )
        .unwrap();
        keys.insert(lab.verifying_key().bound_to_issuer("lab.example").unwrap())
            .unwrap();
        let iss = ["clinic.example", "lab.example"];
        let clock = crate::FixedClock::at(100);
        let (c1, nc1) = signed_by(&clinic, "clinic.example", 1, 10);
        let (c2, nc2) = signed_by(&clinic, "clinic.example", 2, 20);
        let (jump, nj) = signed_by(&lab, "lab.example", MAX_SEQUENCE_STEP, 15);
        let mut fixed = FixedRevocationList::<2>::new();
        assert_eq!(
            fixed.apply_update(&c1[..nc1], &keys, &iss, "pump-1", &clock),
            Ok(0)
        );
        assert_eq!(
            fixed.apply_update(&jump[..nj], &keys, &iss, "pump-1", &clock),
            Ok(0)
        );
        assert_eq!(fixed.sequence("lab.example"), MAX_SEQUENCE_STEP);
        assert_eq!(fixed.sequence("clinic.example"), 1);
        // The clinic's next update still applies; the lab's jump did not move its sequence.
        assert_eq!(
            fixed.apply_update(&c2[..nc2], &keys, &iss, "pump-1", &clock),
            Ok(0)
        );
        assert_eq!(fixed.sequence("clinic.example"), 2);
        assert_eq!(fixed.epoch().unix_seconds(), 20);
        // Replays are refused, each against its own issuer's sequence.
        for (b, n) in [(&c1, nc1), (&c2, nc2), (&jump, nj)] {
            assert_eq!(
                fixed.apply_update(&b[..n], &keys, &iss, "pump-1", &clock),
                Err(Error::Rejected)
            );
        }
        assert_eq!(fixed.sequence("unknown.example"), 0);
        #[cfg(feature = "alloc")]
        {
            let mut grow = RevocationList::new();
            assert_eq!(
                grow.apply_update(&c1[..nc1], &keys, &iss, "pump-1", &clock),
                Ok(0)
            );
            assert_eq!(
                grow.apply_update(&jump[..nj], &keys, &iss, "pump-1", &clock),
                Ok(0)
            );
            assert_eq!(
                grow.apply_update(&c2[..nc2], &keys, &iss, "pump-1", &clock),
                Ok(0)
            );
            assert_eq!(grow.sequence("clinic.example"), 2);
            assert_eq!(grow.sequence("lab.example"), MAX_SEQUENCE_STEP);
            assert_eq!(
                grow.apply_update(&c2[..nc2], &keys, &iss, "pump-1", &clock),
                Err(Error::Rejected)
            );
        }
    }

    /// A fixed list keeps sequences for at most `I` issuers: an update from one more is
    /// refused as a whole (nothing applied), never applied without replay protection.
    #[test]
    fn issuer_slots_are_bounded() {
        let clinic = crate::SigningKey::from_seed(&[8; 32], None);
        let mut keys = crate::KeySet::<1>::new();
        keys.insert(clinic.verifying_key()).unwrap();
        let iss = ["clinic.example", "lab.example"];
        let clock = crate::FixedClock::at(100);
        let (a, na) = signed_by(&clinic, "clinic.example", 1, 10);
        let (b, nb) = signed_by(&clinic, "lab.example", 1, 50);
        let mut one = FixedRevocationList::<2, 1>::new();
        assert_eq!(
            one.apply_update(&a[..na], &keys, &iss, "pump-1", &clock),
            Ok(0)
        );
        assert_eq!(
            one.apply_update(&b[..nb], &keys, &iss, "pump-1", &clock),
            Err(Error::CapacityExceeded)
        );
        assert_eq!(one.epoch().unix_seconds(), 10);
        assert_eq!(one.sequence("lab.example"), 0);
        // A replay from the known issuer is still a rejection, not a capacity error.
        assert_eq!(
            one.apply_update(&a[..na], &keys, &iss, "pump-1", &clock),
            Err(Error::Rejected)
        );
        assert_eq!(
            size_of::<FixedRevocationList<0, 4>>(),
            size_of::<RevocationEpoch>() + 4 * 32
        );
    }

    /// The sizes profile §6.1 quotes: with `iss` "clinic.example", `aud` "pump-SN004711", an
    /// 8-byte kid, `seq` 42 and 4-byte times, 32 ids of 16 bytes make 884 bytes (883 with a
    /// `seq` below 24, 885 from 256 to 65535); 21 ids of 32 bytes make 987 and 22 would make
    /// 1027, over the limit, so the signer refuses.
    #[test]
    fn update_sizes_quoted_in_the_profile() {
        let sk = crate::SigningKey::from_seed(&[8; 32], None);
        let t0 = 1_767_225_600;
        let sized = |n: usize, id_len: usize, sequence: u64| {
            let ids: std::vec::Vec<RevokedToken> = (0..n)
                .map(|i| RevokedToken {
                    id: TokenId::from_slice(&[u8::try_from(i).unwrap(); 32][..id_len]).unwrap(),
                    expires_at: t0 + 3600,
                })
                .collect();
            let u = RevocationUpdate {
                issuer: "clinic.example",
                audience: "pump-SN004711",
                issued_at: t0 + 120,
                sequence,
                epoch: RevocationEpoch::from_unix_seconds(t0 - 86_400),
                revoked: &ids,
            };
            u.sign(&sk, &mut [0u8; 2048])
        };
        let size = |n: usize, id_len: usize| sized(n, id_len, 42);
        assert_eq!(size(32, 16), Ok(884));
        assert_eq!(sized(32, 16, 24), Ok(884));
        assert_eq!(sized(32, 16, 255), Ok(884));
        assert_eq!(sized(32, 16, 23), Ok(883));
        assert_eq!(sized(32, 16, 256), Ok(885));
        assert_eq!(sized(32, 16, 65_535), Ok(885));
        assert_eq!(size(21, 32), Ok(987));
        assert_eq!(size(22, 32), Err(Error::InvalidInput));
        // Oversize is InvalidInput whatever the buffer (it was BufferTooSmall in a buffer of
        // 1024 bytes); a buffer shorter than a valid update is BufferTooSmall.
        let ids: std::vec::Vec<RevokedToken> = (0..22u8)
            .map(|i| RevokedToken {
                id: TokenId::from_slice(&[i; 32]).unwrap(),
                expires_at: t0 + 3600,
            })
            .collect();
        let update = |n: usize| RevocationUpdate {
            issuer: "clinic.example",
            audience: "pump-SN004711",
            issued_at: t0 + 120,
            sequence: 42,
            epoch: RevocationEpoch::from_unix_seconds(t0 - 86_400),
            revoked: &ids[..n],
        };
        assert_eq!(
            update(22).sign(&sk, &mut [0u8; 1024]),
            Err(Error::InvalidInput)
        );
        assert_eq!(
            update(22).sign(&sk, &mut [0u8; 10]),
            Err(Error::InvalidInput)
        );
        assert_eq!(update(21).sign(&sk, &mut [0u8; 1024]), Ok(987));
        assert_eq!(
            update(21).sign(&sk, &mut [0u8; 986]),
            Err(Error::BufferTooSmall)
        );
    }
}
