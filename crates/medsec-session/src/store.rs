//! The storage seam: a small object-safe trait, and its implementations.
//!
//! | store | feature | for |
//! |---|---|---|
//! | [`FixedStore`] | none (no heap) | firmware: a handful of sessions |
//! | [`MemoryStore`] | `memory` | one server process; one lock, bounded, swept |
//! | [`SqliteStore`] | `sqlite` | apps and the server example's embedded default |
//! | [`PostgresStore`] | `postgres` | several server instances sharing sessions |
//!
//! Every store keys sessions by [`IdHash`] (never the id), updates them only by versioned
//! compare-and-swap, and fails closed: an unreachable store is an error, never "no session"
//! turned into "allow", and never a silent drop.

use crate::clock::Timestamp;
use crate::id::{IdHash, UserId};
use crate::record::SessionMeta;
use crate::Result;

mod fixed;
#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use fixed::FixedStore;
#[cfg(feature = "memory")]
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// What an update does with the sealed data blob.
#[derive(Debug, Clone, Copy)]
pub enum DataUpdate<'a> {
    /// Leave it as stored.
    Keep,
    /// Replace it (an empty slice removes it); its length must equal the new
    /// [`SessionMeta::data_len`].
    Replace(&'a [u8]),
}

/// What the SQL stores share: the row as read, and the check every read applies to it.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql {
    use std::vec::Vec;

    use crate::id::{IdHash, MAX_USER_ID_LEN};
    use crate::record::{self, SessionMeta, MAX_RECORD_LEN, MAX_VERSION};
    use crate::seal::RecordKey;
    use crate::{Error, Result};

    /// Reads return the `record` column only when it is a byte string of at most this many
    /// bytes (the longest well-formed record); anything else comes back empty, which the
    /// decoder refuses, instead of being copied into process memory whatever its size.
    pub(crate) const MAX_STORED_RECORD: i64 = MAX_RECORD_LEN as i64;
    /// Likewise for the `user_id` column (the longest user id).
    pub(crate) const MAX_STORED_USER: i64 = MAX_USER_ID_LEN as i64;

    /// One row as read: the (size-limited) record and the clear columns beside it. `None`
    /// where the column did not hold an integer (SQLite is dynamically typed).
    pub(crate) struct Row {
        pub(crate) record: Vec<u8>,
        pub(crate) user_id: Vec<u8>,
        pub(crate) version: Option<i64>,
        pub(crate) expires_at: Option<i64>,
    }

    /// The `version` column's value for `version`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] past [`MAX_VERSION`] (the manager never gets there).
    pub(crate) fn version_column(version: u64) -> Result<i64> {
        if version > MAX_VERSION {
            return Err(Error::InvalidInput);
        }
        i64::try_from(version).map_err(|_| Error::InvalidInput)
    }

    /// Verifies a row filed under `key`: the record's MAC and fields, then that every clear
    /// column equals the authenticated record's value. The columns are what the per-user
    /// delete (logout everywhere, revocation), the compare-and-swap and the sweep select
    /// on; a row whose columns were edited would escape them, so it is refused.
    ///
    /// # Errors
    /// [`Error::Rejected`] (one opaque error) for any failure; the reason is logged.
    pub(crate) fn verify<'a>(
        record_key: &RecordKey,
        key: &IdHash,
        row: &'a Row,
    ) -> Result<(SessionMeta, &'a [u8])> {
        let Ok((meta, data)) = record::decode(record_key, key, &row.record) else {
            tracing::error!(
                session = key.log_tag(),
                "stored session record failed verification"
            );
            return Err(Error::Rejected);
        };
        let columns_match = row.user_id.as_slice() == meta.user.as_bytes()
            && row
                .version
                .is_some_and(|v| u64::try_from(v) == Ok(meta.version))
            && row.expires_at == Some(meta.expires_at_column());
        if !columns_match {
            tracing::error!(
                session = key.log_tag(),
                "stored session row: clear columns disagree with its record"
            );
            return Err(Error::Rejected);
        }
        Ok((meta, data))
    }
}

/// Every store's sweep starts here: no sweep without trusted time.
fn sweep_time(now: Timestamp) -> Result<Timestamp> {
    if now == Timestamp::UNTRUSTED {
        tracing::error!("sweep refused: no trusted time");
        return Err(crate::Error::Unavailable);
    }
    Ok(now)
}

/// How many times the default [`SessionStore::modify`] retries a lost compare-and-swap.
const MODIFY_RETRIES: usize = 8;

/// Session storage. Implementations must be linearizable per key: every write states the
/// version it expects and fails with [`crate::Error::Conflict`] when the stored version
/// differs or the session is gone, so concurrent requests cannot lose updates or bring an
/// ended session back. Versions stay within `1..=`[`crate::record::MAX_VERSION`].
///
/// Stores that keep values in clear beside an authenticated record (the SQL stores' `user_id`,
/// `version` and `expires_at` columns) must refuse, on every read, a row whose clear values
/// differ from the record's: those values drive the per-user delete and the compare-and-swap.
///
/// Errors: [`crate::Error::Unavailable`] whenever the backing storage fails (the manager
/// then denies the request), [`crate::Error::Conflict`] for a lost compare-and-swap,
/// [`crate::Error::CapacityExhausted`] when a bounded store is full.
pub trait SessionStore {
    /// Adds a new session under `key` with `meta.version == 1`.
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] if `key` exists; `CapacityExhausted`; `Unavailable`.
    fn insert(&self, key: &IdHash, meta: &SessionMeta, data: &[u8]) -> Result<()>;

    /// The session's metadata, or `None` when there is no such session.
    ///
    /// # Errors
    /// `Unavailable`; `Rejected` when a persistent record fails verification.
    fn load(&self, key: &IdHash) -> Result<Option<SessionMeta>>;

    /// Copies the sealed data blob into `out`, which must be exactly as long as it.
    ///
    /// # Errors
    /// `Rejected` when there is no such session; `Conflict` when the length differs (the
    /// data changed since the caller's load); `Unavailable`.
    fn read_data(&self, key: &IdHash, out: &mut [u8]) -> Result<()>;

    /// Replaces the metadata (and maybe the data) if the stored version is
    /// `expected_version`. `meta.version` must be `expected_version + 1`.
    ///
    /// # Errors
    /// `Conflict` on a version mismatch or a missing session; `Unavailable`.
    fn update(
        &self,
        key: &IdHash,
        expected_version: u64,
        meta: &SessionMeta,
        data: DataUpdate<'_>,
    ) -> Result<()>;

    /// Read-modify-write of the metadata in one step: `f` sees the stored metadata and
    /// returns the replacement (whose version must be one higher), or `None` to leave it.
    /// Returns what was written; `None` when the session is missing or `f` declined.
    /// The default is [`SessionStore::load`] + [`SessionStore::update`] retried on a lost
    /// compare-and-swap; stores that can do it under one lock override it.
    ///
    /// # Errors
    /// `Conflict` when concurrent writers kept winning; `Unavailable`; `Rejected` as `load`.
    fn modify(
        &self,
        key: &IdHash,
        f: &mut dyn FnMut(&SessionMeta) -> Option<SessionMeta>,
    ) -> Result<Option<SessionMeta>> {
        for _ in 0..MODIFY_RETRIES {
            let Some(meta) = self.load(key)? else {
                return Ok(None);
            };
            let Some(next) = f(&meta) else {
                return Ok(None);
            };
            match self.update(key, meta.version, &next, DataUpdate::Keep) {
                Ok(()) => return Ok(Some(next)),
                Err(crate::Error::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Err(crate::Error::Conflict)
    }

    /// Atomically removes `old` (if at `expected_version`) and inserts `new` with `meta`
    /// and `data`: id rotation.
    ///
    /// # Errors
    /// `Conflict` on a version mismatch, a missing `old` or an existing `new` (`new == old`
    /// included: every store refuses it, nothing written); `Unavailable`.
    fn rotate(
        &self,
        old: &IdHash,
        expected_version: u64,
        new: &IdHash,
        meta: &SessionMeta,
        data: &[u8],
    ) -> Result<()>;

    /// Removes a session, wiping its data where the medium allows. `true` if it existed.
    ///
    /// # Errors
    /// `Unavailable`.
    fn remove(&self, key: &IdHash) -> Result<bool>;

    /// Removes every session of `user`; returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    fn remove_user(&self, user: &UserId) -> Result<usize>;

    /// Calls `f` for each stored session of `user` (expired ones included).
    ///
    /// # Errors
    /// `Unavailable`.
    fn for_each_of_user(
        &self,
        user: &UserId,
        f: &mut dyn FnMut(&IdHash, &SessionMeta),
    ) -> Result<()>;

    /// Removes every session whose [`SessionMeta::expires_at`] is at or before `now`;
    /// returns how many. With `now` = [`Timestamp::UNTRUSTED`] (no trusted time) it removes
    /// nothing and fails: that reading is a clock fault, and sweeping with it would empty
    /// the store.
    ///
    /// # Errors
    /// `Unavailable` (also for [`Timestamp::UNTRUSTED`]).
    fn sweep(&self, now: Timestamp) -> Result<usize>;
}

macro_rules! forward_store {
    ($($ty:tt)*) => {
        impl<S: SessionStore + ?Sized> SessionStore for $($ty)* {
            fn insert(&self, key: &IdHash, meta: &SessionMeta, data: &[u8]) -> Result<()> {
                (**self).insert(key, meta, data)
            }
            fn load(&self, key: &IdHash) -> Result<Option<SessionMeta>> {
                (**self).load(key)
            }
            fn read_data(&self, key: &IdHash, out: &mut [u8]) -> Result<()> {
                (**self).read_data(key, out)
            }
            fn update(&self, key: &IdHash, expected_version: u64, meta: &SessionMeta, data: DataUpdate<'_>) -> Result<()> {
                (**self).update(key, expected_version, meta, data)
            }
            fn rotate(&self, old: &IdHash, expected_version: u64, new: &IdHash, meta: &SessionMeta, data: &[u8]) -> Result<()> {
                (**self).rotate(old, expected_version, new, meta, data)
            }
            fn modify(&self, key: &IdHash, f: &mut dyn FnMut(&SessionMeta) -> Option<SessionMeta>) -> Result<Option<SessionMeta>> {
                (**self).modify(key, f)
            }
            fn remove(&self, key: &IdHash) -> Result<bool> {
                (**self).remove(key)
            }
            fn remove_user(&self, user: &UserId) -> Result<usize> {
                (**self).remove_user(user)
            }
            fn for_each_of_user(&self, user: &UserId, f: &mut dyn FnMut(&IdHash, &SessionMeta)) -> Result<()> {
                (**self).for_each_of_user(user, f)
            }
            fn sweep(&self, now: Timestamp) -> Result<usize> {
                (**self).sweep(now)
            }
        }
    };
}

forward_store!(&S);
#[cfg(feature = "alloc")]
forward_store!(alloc::sync::Arc<S>);
#[cfg(feature = "alloc")]
forward_store!(alloc::boxed::Box<S>);
