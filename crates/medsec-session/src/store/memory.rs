//! Sharded in-memory store with a memory bound and expiry sweeping.

use std::boxed::Box;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

use zeroize::Zeroize;

use super::{DataUpdate, SessionStore};
use crate::clock::Timestamp;
use crate::id::{IdHash, UserId};
use crate::record::SessionMeta;
use crate::{Error, Result};

const SHARDS: usize = 16;

/// Sealed data, wiped when the session ends or the data is replaced.
struct SealedBlob(Box<[u8]>);

impl Drop for SealedBlob {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

struct Entry {
    meta: SessionMeta,
    data: Option<SealedBlob>,
}

/// The index key is already a SHA-256 output, uniformly distributed and not chosen by
/// clients (they pick ids, not hashes), so its first 8 bytes are the hash.
#[derive(Default, Clone, Copy)]
struct IdHashHasher(u64);

impl Hasher for IdHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        if let Some(first) = bytes.first_chunk::<8>() {
            self.0 ^= u64::from_le_bytes(*first);
        } else {
            for &b in bytes {
                self.0 = self.0.rotate_left(8) ^ u64::from(b);
            }
        }
    }
    fn write_usize(&mut self, _len: usize) {}
}

#[derive(Default, Clone, Copy)]
struct BuildIdHashHasher;

impl BuildHasher for BuildIdHashHasher {
    type Hasher = IdHashHasher;
    fn build_hasher(&self) -> IdHashHasher {
        IdHashHasher(0)
    }
}

/// Session keys of one user (one is by far the common case: no allocation for it).
enum UserKeys {
    One(IdHash),
    Many(Vec<IdHash>),
}

type Shard = HashMap<IdHash, Entry, BuildIdHashHasher>;

/// In-memory sessions for one server process.
///
/// - 16 shards, each behind its own mutex, keyed by the id hash.
/// - A per-user index (keyed by a randomly keyed SipHash of the user id) for
///   logout-everywhere and the concurrent-session cap.
/// - A hard bound: at most `max_sessions` live entries; an insert beyond it fails with
///   [`Error::CapacityExhausted`] (the manager sweeps expired sessions and retries once).
/// - [`SessionStore::sweep`] drops expired sessions; sealed data is zeroized on removal.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    users: Mutex<HashMap<u64, UserKeys, BuildIdHashHasher>>,
    user_hasher: RandomState,
    live: AtomicUsize,
    max_sessions: usize,
}

impl MemoryStore {
    /// Default bound on live sessions.
    pub const DEFAULT_MAX_SESSIONS: usize = 1 << 21;

    /// A store bounded at [`Self::DEFAULT_MAX_SESSIONS`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_sessions(Self::DEFAULT_MAX_SESSIONS)
    }

    /// A store holding at most `max_sessions` sessions.
    #[must_use]
    pub fn with_max_sessions(max_sessions: usize) -> Self {
        let shards = (0..SHARDS)
            .map(|_| Mutex::new(HashMap::with_hasher(BuildIdHashHasher)))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Self {
            shards,
            users: Mutex::new(HashMap::with_hasher(BuildIdHashHasher)),
            user_hasher: RandomState::new(),
            live: AtomicUsize::new(0),
            max_sessions,
        }
    }

    /// Live (stored) sessions, expired-but-unswept included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// No sessions stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard_index(key: &IdHash) -> usize {
        // The hash's last byte: independent of the first 8 bytes the map hashes on.
        usize::from(key.as_bytes()[31]) % SHARDS
    }

    fn shard(&self, key: &IdHash) -> Result<MutexGuard<'_, Shard>> {
        self.shards
            .get(Self::shard_index(key))
            .ok_or(Error::Unavailable)?
            .lock()
            .map_err(|_| Error::Unavailable)
    }

    fn users(&self) -> Result<MutexGuard<'_, HashMap<u64, UserKeys, BuildIdHashHasher>>> {
        self.users.lock().map_err(|_| Error::Unavailable)
    }

    fn user_key(&self, user: &UserId) -> u64 {
        self.user_hasher.hash_one(user)
    }

    fn index_add(users: &mut HashMap<u64, UserKeys, BuildIdHashHasher>, ukey: u64, key: IdHash) {
        match users.get_mut(&ukey) {
            None => {
                users.insert(ukey, UserKeys::One(key));
            }
            Some(UserKeys::Many(v)) => v.push(key),
            Some(slot @ UserKeys::One(_)) => {
                if let UserKeys::One(first) = *slot {
                    *slot = UserKeys::Many(std::vec![first, key]);
                }
            }
        }
    }

    fn index_remove(
        users: &mut HashMap<u64, UserKeys, BuildIdHashHasher>,
        ukey: u64,
        key: &IdHash,
    ) {
        let empty = match users.get_mut(&ukey) {
            Some(UserKeys::One(k)) => k == key,
            Some(UserKeys::Many(v)) => {
                v.retain(|k| k != key);
                if v.len() == 1 {
                    if let Some(&only) = v.first() {
                        users.insert(ukey, UserKeys::One(only));
                    }
                    false
                } else {
                    v.is_empty()
                }
            }
            None => false,
        };
        if empty {
            users.remove(&ukey);
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("max_sessions", &self.max_sessions)
            .finish_non_exhaustive()
    }
}

fn blob(data: &[u8]) -> Option<SealedBlob> {
    (!data.is_empty()).then(|| SealedBlob(data.into()))
}

impl SessionStore for MemoryStore {
    fn insert(&self, key: &IdHash, meta: &SessionMeta, data: &[u8]) -> Result<()> {
        // Lock order everywhere: users, then shard. Holding `users` across the insert
        // means logout-everywhere can never miss a session being created.
        let mut users = self.users()?;
        let mut shard = self.shard(key)?;
        if shard.contains_key(key) {
            return Err(Error::Conflict);
        }
        if self.live.load(Ordering::Relaxed) >= self.max_sessions {
            return Err(Error::CapacityExhausted);
        }
        shard.insert(
            *key,
            Entry {
                meta: *meta,
                data: blob(data),
            },
        );
        self.live.fetch_add(1, Ordering::Relaxed);
        Self::index_add(&mut users, self.user_key(&meta.user), *key);
        Ok(())
    }

    fn load(&self, key: &IdHash) -> Result<Option<SessionMeta>> {
        Ok(self.shard(key)?.get(key).map(|e| e.meta))
    }

    fn read_data(&self, key: &IdHash, out: &mut [u8]) -> Result<()> {
        let shard = self.shard(key)?;
        let entry = shard.get(key).ok_or(Error::Rejected)?;
        let data: &[u8] = entry.data.as_ref().map_or(&[], |b| &b.0);
        if data.len() != out.len() {
            return Err(Error::Conflict);
        }
        out.copy_from_slice(data);
        Ok(())
    }

    fn update(
        &self,
        key: &IdHash,
        expected_version: u64,
        meta: &SessionMeta,
        data: DataUpdate<'_>,
    ) -> Result<()> {
        let mut shard = self.shard(key)?;
        let entry = shard.get_mut(key).ok_or(Error::Conflict)?;
        if entry.meta.version != expected_version || entry.meta.user != meta.user {
            return Err(Error::Conflict);
        }
        entry.meta = *meta;
        if let DataUpdate::Replace(d) = data {
            entry.data = blob(d);
        }
        Ok(())
    }

    fn rotate(
        &self,
        old: &IdHash,
        expected_version: u64,
        new: &IdHash,
        meta: &SessionMeta,
        data: &[u8],
    ) -> Result<()> {
        let mut users = self.users()?;
        let (a, b) = (Self::shard_index(old), Self::shard_index(new));
        let ukey = self.user_key(&meta.user);
        let check = |shard: &Shard| -> Result<()> {
            match shard.get(old) {
                Some(e) if e.meta.version == expected_version && e.meta.user == meta.user => Ok(()),
                _ => Err(Error::Conflict),
            }
        };
        if a == b {
            let mut shard = self.shard(old)?;
            check(&shard)?;
            if shard.contains_key(new) {
                return Err(Error::Conflict);
            }
            shard.remove(old);
            shard.insert(
                *new,
                Entry {
                    meta: *meta,
                    data: blob(data),
                },
            );
        } else {
            // Two shards: lock in index order so concurrent rotations cannot deadlock.
            let (first, second) = if a < b { (old, new) } else { (new, old) };
            let mut g1 = self.shard(first)?;
            let mut g2 = self.shard(second)?;
            let (old_shard, new_shard) = if a < b {
                (&mut g1, &mut g2)
            } else {
                (&mut g2, &mut g1)
            };
            check(old_shard)?;
            if new_shard.contains_key(new) {
                return Err(Error::Conflict);
            }
            old_shard.remove(old);
            new_shard.insert(
                *new,
                Entry {
                    meta: *meta,
                    data: blob(data),
                },
            );
        }
        Self::index_remove(&mut users, ukey, old);
        Self::index_add(&mut users, ukey, *new);
        Ok(())
    }

    fn remove(&self, key: &IdHash) -> Result<bool> {
        let removed = self.shard(key)?.remove(key);
        match removed {
            Some(entry) => {
                self.live.fetch_sub(1, Ordering::Relaxed);
                let ukey = self.user_key(&entry.meta.user);
                drop(entry);
                Self::index_remove(&mut *self.users()?, ukey, key);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn remove_user(&self, user: &UserId) -> Result<usize> {
        let mut users = self.users()?;
        let keys = match users.remove(&self.user_key(user)) {
            None => return Ok(0),
            Some(UserKeys::One(k)) => std::vec![k],
            Some(UserKeys::Many(v)) => v,
        };
        let mut n = 0usize;
        let mut keep = Vec::new();
        for k in keys {
            let mut shard = self.shard(&k)?;
            // The index is keyed by a 64-bit hash: a colliding user's sessions stay.
            if shard.get(&k).is_some_and(|e| e.meta.user == *user) {
                shard.remove(&k);
                self.live.fetch_sub(1, Ordering::Relaxed);
                n = n.saturating_add(1);
            } else if shard.contains_key(&k) {
                keep.push(k);
            }
        }
        let ukey = self.user_key(user);
        for k in keep {
            Self::index_add(&mut users, ukey, k);
        }
        Ok(n)
    }

    fn for_each_of_user(
        &self,
        user: &UserId,
        f: &mut dyn FnMut(&IdHash, &SessionMeta),
    ) -> Result<()> {
        let keys: Vec<IdHash> = match self.users()?.get(&self.user_key(user)) {
            None => return Ok(()),
            Some(UserKeys::One(k)) => std::vec![*k],
            Some(UserKeys::Many(v)) => v.clone(),
        };
        for k in keys {
            if let Some(e) = self.shard(&k)?.get(&k) {
                if e.meta.user == *user {
                    f(&k, &e.meta);
                }
            }
        }
        Ok(())
    }

    fn sweep(&self, now: Timestamp) -> Result<usize> {
        let mut total = 0usize;
        for shard in &*self.shards {
            let mut gone = Vec::new();
            {
                let mut shard = shard.lock().map_err(|_| Error::Unavailable)?;
                shard.retain(|k, e| {
                    let keep = e.meta.expires_at() > now;
                    if !keep {
                        gone.push((*k, e.meta.user));
                    }
                    keep
                });
            }
            if gone.is_empty() {
                continue;
            }
            self.live.fetch_sub(gone.len(), Ordering::Relaxed);
            total = total.saturating_add(gone.len());
            let mut users = self.users()?;
            for (k, user) in gone {
                Self::index_remove(&mut users, self.user_key(&user), &k);
            }
        }
        Ok(total)
    }
}
