//! The revocation-epoch seam. A user's epoch is a counter kept by the token side
//! (`medsec-token`): tokens carry the epoch they were issued under, sessions record it at
//! login, and advancing it revokes both at once.

use crate::id::UserId;
use crate::Result;

/// Where the per-user revocation epoch lives. Implementations must fail closed: an error
/// here denies the request ([`crate::Error::Unavailable`]).
pub trait RevocationEpochs {
    /// The user's current epoch (0 for a user never revoked).
    ///
    /// # Errors
    /// [`crate::Error::Unavailable`] when the epoch cannot be read.
    fn current(&self, user: &UserId) -> Result<u64>;

    /// Advances the user's epoch and returns the new value: every session and token
    /// issued under an older epoch stops working.
    ///
    /// # Errors
    /// [`crate::Error::Unavailable`] when the epoch cannot be advanced.
    fn advance(&self, user: &UserId) -> Result<u64>;
}

impl<E: RevocationEpochs + ?Sized> RevocationEpochs for &E {
    fn current(&self, user: &UserId) -> Result<u64> {
        (**self).current(user)
    }
    fn advance(&self, user: &UserId) -> Result<u64> {
        (**self).advance(user)
    }
}

#[cfg(feature = "alloc")]
impl<E: RevocationEpochs + ?Sized> RevocationEpochs for alloc::sync::Arc<E> {
    fn current(&self, user: &UserId) -> Result<u64> {
        (**self).current(user)
    }
    fn advance(&self, user: &UserId) -> Result<u64> {
        (**self).advance(user)
    }
}

/// Epochs that never change: for firmware without token revocation (a device ends its one
/// session directly). `advance` fails closed, so nobody mistakes it for real revocation.
#[derive(Debug, Default, Clone, Copy)]
pub struct StaticEpochs;

impl RevocationEpochs for StaticEpochs {
    fn current(&self, _user: &UserId) -> Result<u64> {
        Ok(0)
    }
    fn advance(&self, _user: &UserId) -> Result<u64> {
        Err(crate::Error::Unavailable)
    }
}

/// Process-local epochs (one server instance, or tests). Multi-instance deployments use
/// the shared revocation store from `medsec-token`.
#[cfg(feature = "std")]
#[derive(Debug, Default)]
pub struct LocalEpochs(std::sync::Mutex<std::collections::HashMap<UserId, u64>>);

#[cfg(feature = "std")]
impl RevocationEpochs for LocalEpochs {
    fn current(&self, user: &UserId) -> Result<u64> {
        let map = self.0.lock().map_err(|_| crate::Error::Unavailable)?;
        Ok(map.get(user).copied().unwrap_or(0))
    }
    fn advance(&self, user: &UserId) -> Result<u64> {
        let mut map = self.0.lock().map_err(|_| crate::Error::Unavailable)?;
        let e = map.entry(*user).or_insert(0);
        *e = e.checked_add(1).ok_or(crate::Error::Unavailable)?;
        Ok(*e)
    }
}
