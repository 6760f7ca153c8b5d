//! Revocation, in `medsec-token`'s vocabulary. A [`RevocationEpoch`] is an issuer time
//! (Unix seconds): every token *issued* before it is dead, and every session *created*
//! before it is dead too. Revoking a user raises that user's (subject's) epoch, which
//! revokes their sessions and every token derived from them in one step, on every server
//! instance that reads the same revocation state.

pub use medsec_token::{RevocationCheck, RevocationEpoch};

use crate::clock::Timestamp;
use crate::id::UserId;
use crate::{Error, Result};

/// Where sessions read and raise per-user revocation epochs. Implementations fail closed:
/// an error denies the request ([`Error::Unavailable`]).
pub trait SubjectRevocation {
    /// The epoch in force for `user`: the later of the global epoch and the user's own.
    /// A session of `user` whose login second (`created_at / 1000`, rounded down) is below
    /// it is revoked. Called on every request, inside the store's read-modify-write (the
    /// memory store holds its lock meanwhile): keep it fast, and never call back into the
    /// session manager from it.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when it cannot be read.
    fn epoch_for(&self, user: &UserId) -> Result<RevocationEpoch>;

    /// Raises `user`'s epoch to at least `epoch` (never lowers it).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when it cannot be raised; revocation is then incomplete and
    /// the caller must retry.
    fn raise(&self, user: &UserId, epoch: RevocationEpoch) -> Result<()>;
}

impl<R: SubjectRevocation + ?Sized> SubjectRevocation for &R {
    fn epoch_for(&self, user: &UserId) -> Result<RevocationEpoch> {
        (**self).epoch_for(user)
    }
    fn raise(&self, user: &UserId, epoch: RevocationEpoch) -> Result<()> {
        (**self).raise(user, epoch)
    }
}

#[cfg(feature = "alloc")]
impl<R: SubjectRevocation + ?Sized> SubjectRevocation for alloc::sync::Arc<R> {
    fn epoch_for(&self, user: &UserId) -> Result<RevocationEpoch> {
        (**self).epoch_for(user)
    }
    fn raise(&self, user: &UserId, epoch: RevocationEpoch) -> Result<()> {
        (**self).raise(user, epoch)
    }
}

/// Reads epochs from any [`RevocationCheck`] (for example a `FixedRevocationList` a device
/// received from its backend) but cannot raise them: [`SubjectRevocation::raise`] fails
/// closed with [`Error::Unavailable`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadOnly<T>(pub T);

impl<T: RevocationCheck> SubjectRevocation for ReadOnly<T> {
    fn epoch_for(&self, user: &UserId) -> Result<RevocationEpoch> {
        Ok(self.0.epoch().max(self.0.subject_epoch(user.as_str())))
    }
    fn raise(&self, _user: &UserId, _epoch: RevocationEpoch) -> Result<()> {
        Err(Error::Unavailable)
    }
}

/// No revocation source: nothing is revoked by epoch, and raising fails closed. The
/// default for [`crate::Sessions::new`] (firmware, where a device ends its session directly).
pub type NoRevocation = ReadOnly<medsec_token::NoRevocation>;

/// A shared, growable [`medsec_token::RevocationList`] (one server process, or a list the
/// backend keeps in sync): sessions read it, and revoking a user raises its subject epoch,
/// which the token verifier then applies to that user's tokens.
#[cfg(feature = "std")]
impl SubjectRevocation for std::sync::RwLock<medsec_token::RevocationList> {
    fn epoch_for(&self, user: &UserId) -> Result<RevocationEpoch> {
        let list = self.read().map_err(|_| Error::Unavailable)?;
        Ok(list.epoch().max(list.subject_epoch(user.as_str())))
    }
    fn raise(&self, user: &UserId, epoch: RevocationEpoch) -> Result<()> {
        let mut list = self.write().map_err(|_| Error::Unavailable)?;
        list.raise_subject_epoch(user.as_str(), epoch);
        Ok(())
    }
}

/// The issuer time (Unix seconds) a session counts as issued at.
pub(crate) fn issued_at(created_at: Timestamp) -> u64 {
    created_at.as_millis() / 1000
}

/// The epoch that revokes everything created up to and including `now`'s second.
pub(crate) fn epoch_after(now: Timestamp) -> RevocationEpoch {
    RevocationEpoch::from_unix_seconds(issued_at(now).saturating_add(1))
}
