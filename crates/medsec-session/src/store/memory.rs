//! In-memory store with a memory bound and expiry sweeping, laid out for density: sessions
//! live in a chunked slab (no doubling, no copying when it grows), an open-addressing index
//! maps id hashes to slab slots (8 bytes per bucket), and each user's sessions form a list
//! threaded through the slab (4 bytes per session) from a per-user head.

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
use crate::record::{SessionMeta, StoredState};
use crate::{Error, Result};

mod slot_index;

use slot_index::{tag_of, SlotIndex};

/// Slots per slab chunk.
const CHUNK: usize = 1024;
const CHUNK_U32: u32 = 1024;
/// End of a per-user list.
const NIL: u32 = u32::MAX;

/// Sealed data, wiped when the session ends or the data is replaced.
struct SealedBlob(Box<[u8]>);

impl Drop for SealedBlob {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

struct Entry {
    key: IdHash,
    meta: StoredMeta,
    data: Option<SealedBlob>,
    /// Next slot holding a session of a user with the same user-index hash.
    next_of_user: u32,
}

/// Longest user id a slot keeps inline. User ids may have 128 bytes (a token's `sub`), but
/// most are far shorter (account ids, UUIDs, 64-hex-digit digests): keeping 128 bytes in every
/// slot would make a million-session table 64 MB larger and each lookup touch one more cache
/// line. Longer ids live on the heap.
const INLINE_USER_LEN: usize = 64;

/// A slot's user id: inline up to [`INLINE_USER_LEN`] bytes, else on the heap.
enum StoredUser {
    Inline {
        len: u8,
        bytes: [u8; INLINE_USER_LEN],
    },
    Heap(Box<[u8]>),
}

impl StoredUser {
    fn of(user: &UserId) -> Self {
        let id = user.as_bytes();
        let mut bytes = [0u8; INLINE_USER_LEN];
        match (bytes.get_mut(..id.len()), u8::try_from(id.len())) {
            (Some(head), Ok(len)) => {
                head.copy_from_slice(id);
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(id.into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or(&[]),
            Self::Heap(b) => b,
        }
    }

    fn is(&self, user: &UserId) -> bool {
        self.as_bytes() == user.as_bytes()
    }
}

/// A [`SessionMeta`] as a slot keeps it: the same fields, the user id compact.
struct StoredMeta {
    version: u64,
    user: StoredUser,
    role: crate::Role,
    state: StoredState,
    created_at: Timestamp,
    authenticated_at: Timestamp,
    last_seen: Timestamp,
    idle_timeout_ms: u64,
    absolute_deadline: Timestamp,
    elevated_until: Timestamp,
    binding: Option<[u8; 32]>,
    data_len: u32,
}

impl StoredMeta {
    fn of(m: &SessionMeta) -> Self {
        Self {
            version: m.version,
            user: StoredUser::of(&m.user),
            role: m.role,
            state: m.state,
            created_at: m.created_at,
            authenticated_at: m.authenticated_at,
            last_seen: m.last_seen,
            idle_timeout_ms: m.idle_timeout_ms,
            absolute_deadline: m.absolute_deadline,
            elevated_until: m.elevated_until,
            binding: m.binding,
            data_len: m.data_len,
        }
    }

    /// Overwrites every field but the user id, which no update changes (callers check).
    fn update_from(&mut self, m: &SessionMeta) {
        self.version = m.version;
        self.role = m.role;
        self.state = m.state;
        self.created_at = m.created_at;
        self.authenticated_at = m.authenticated_at;
        self.last_seen = m.last_seen;
        self.idle_timeout_ms = m.idle_timeout_ms;
        self.absolute_deadline = m.absolute_deadline;
        self.elevated_until = m.elevated_until;
        self.binding = m.binding;
        self.data_len = m.data_len;
    }

    fn to_meta(&self) -> Result<SessionMeta> {
        Ok(SessionMeta {
            version: self.version,
            // The bytes came from a `UserId`: this cannot fail.
            user: UserId::from_utf8(self.user.as_bytes()).map_err(|_| Error::Unavailable)?,
            role: self.role,
            state: self.state,
            created_at: self.created_at,
            authenticated_at: self.authenticated_at,
            last_seen: self.last_seen,
            idle_timeout_ms: self.idle_timeout_ms,
            absolute_deadline: self.absolute_deadline,
            elevated_until: self.elevated_until,
            binding: self.binding,
            data_len: self.data_len,
        })
    }

    fn expires_at(&self) -> Timestamp {
        let idle = self.last_seen.saturating_add_millis(self.idle_timeout_ms);
        if idle < self.absolute_deadline {
            idle
        } else {
            self.absolute_deadline
        }
    }
}

fn table_hash(key: &IdHash) -> u32 {
    tag_of(key.as_bytes())
}

#[derive(Default, Clone, Copy)]
struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// User keys are already randomly keyed SipHash outputs.
#[derive(Default, Clone, Copy)]
struct BuildU64Hasher;

impl BuildHasher for BuildU64Hasher {
    type Hasher = U64Hasher;
    fn build_hasher(&self) -> U64Hasher {
        U64Hasher(0)
    }
}

struct Inner {
    chunks: Vec<Box<[Option<Entry>]>>,
    free: Vec<u32>,
    index: SlotIndex,
    /// User-index hash -> first slot of that user's list.
    users: HashMap<u64, u32, BuildU64Hasher>,
}

impl Inner {
    fn slot(&self, i: u32) -> Option<&Entry> {
        let i = i as usize;
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)?.as_ref()
    }

    fn slot_mut(&mut self, i: u32) -> Option<&mut Option<Entry>> {
        let i = i as usize;
        self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)
    }

    fn find(&self, key: &IdHash) -> Option<u32> {
        let chunks = &self.chunks;
        self.index.find(table_hash(key), |i| {
            let i = i as usize;
            chunks
                .get(i / CHUNK)
                .and_then(|c| c.get(i % CHUNK))
                .and_then(Option::as_ref)
                .is_some_and(|e| e.key == *key)
        })
    }

    fn get(&self, key: &IdHash) -> Option<&Entry> {
        self.find(key).and_then(|i| self.slot(i))
    }

    fn get_mut(&mut self, key: &IdHash) -> Option<&mut Entry> {
        let i = self.find(key)?;
        self.slot_mut(i)?.as_mut()
    }

    fn alloc_slot(&mut self) -> Result<u32> {
        if let Some(i) = self.free.pop() {
            return Ok(i);
        }
        let base = self
            .chunks
            .len()
            .checked_mul(CHUNK)
            .ok_or(Error::CapacityExhausted)?;
        let base = u32::try_from(base).map_err(|_| Error::CapacityExhausted)?;
        // Slot numbers stay below NIL.
        if base.checked_add(CHUNK_U32).is_none_or(|end| end == NIL) {
            return Err(Error::CapacityExhausted);
        }
        self.chunks.push((0..CHUNK).map(|_| None).collect());
        // Hand out the new chunk's slots lowest first.
        self.free
            .extend((1..CHUNK_U32).rev().map(|o| base.saturating_add(o)));
        Ok(base)
    }

    /// Inserts at a fresh slot and links it at the head of its user's list.
    fn insert(
        &mut self,
        key: IdHash,
        meta: SessionMeta,
        data: Option<SealedBlob>,
        ukey: u64,
    ) -> Result<()> {
        let i = self.alloc_slot()?;
        let head = self.users.get(&ukey).copied().unwrap_or(NIL);
        let slot = self.slot_mut(i).ok_or(Error::Unavailable)?;
        *slot = Some(Entry {
            key,
            meta: StoredMeta::of(&meta),
            data,
            next_of_user: head,
        });
        self.index.insert(table_hash(&key), i);
        self.users.insert(ukey, i);
        Ok(())
    }

    /// Removes the session in slot `i` (index, user list, slab) and returns it.
    fn remove_slot(&mut self, i: u32, ukey: u64) -> Option<Entry> {
        let entry = self.slot_mut(i)?.take()?;
        self.index.remove(table_hash(&entry.key), i);
        // Unlink from the user's list.
        let next = entry.next_of_user;
        match self.users.get(&ukey).copied() {
            Some(head) if head == i => {
                if next == NIL {
                    self.users.remove(&ukey);
                } else {
                    self.users.insert(ukey, next);
                }
            }
            Some(mut cur) => {
                while cur != NIL {
                    let Some(Some(e)) = self.slot_mut(cur) else {
                        break;
                    };
                    if e.next_of_user == i {
                        e.next_of_user = next;
                        break;
                    }
                    cur = e.next_of_user;
                }
            }
            None => {}
        }
        self.free.push(i);
        Some(entry)
    }

    /// Slots of the sessions on `ukey`'s list.
    fn user_slots(&self, ukey: u64) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cur = self.users.get(&ukey).copied().unwrap_or(NIL);
        while cur != NIL {
            out.push(cur);
            cur = self.slot(cur).map_or(NIL, |e| e.next_of_user);
        }
        out
    }
}

/// In-memory sessions for one server process.
///
/// - Dense layout: a chunked slab of entries, an open-addressing index of 8-byte buckets
///   (32 bits of the id hash and a 32-bit slot number; one cache line per probe), and per-user lists threaded through the slab (for
///   logout-everywhere and the concurrent-session cap) under a randomly keyed SipHash of
///   the user id.
/// - A hard bound: at most `max_sessions` entries; an insert beyond it fails with
///   [`Error::CapacityExhausted`] (the manager sweeps expired sessions and retries once).
/// - [`SessionStore::sweep`] drops expired sessions chunk by chunk, releasing the lock
///   between chunks; sealed data is zeroized on removal.
/// - One mutex; critical sections are a hash probe and a copy of the metadata.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    user_hasher: RandomState,
    live: AtomicUsize,
    max_sessions: usize,
}

impl MemoryStore {
    /// Default bound on live sessions.
    pub const DEFAULT_MAX_SESSIONS: usize = 1 << 22;

    /// A store bounded at [`Self::DEFAULT_MAX_SESSIONS`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_sessions(Self::DEFAULT_MAX_SESSIONS)
    }

    /// A store holding at most `max_sessions` sessions.
    #[must_use]
    pub fn with_max_sessions(max_sessions: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                chunks: Vec::new(),
                free: Vec::new(),
                index: SlotIndex::new(),
                users: HashMap::with_hasher(BuildU64Hasher),
            }),
            user_hasher: RandomState::new(),
            live: AtomicUsize::new(0),
            max_sessions,
        }
    }

    /// Stored sessions, expired-but-unswept included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// No sessions stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| Error::Unavailable)
    }

    fn user_key(&self, user: &UserId) -> u64 {
        self.user_key_of(user.as_bytes())
    }

    /// The same hash as [`MemoryStore::user_key`] (`UserId` hashes as its byte slice).
    fn user_key_of(&self, user: &[u8]) -> u64 {
        self.user_hasher.hash_one(user)
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
        let ukey = self.user_key(&meta.user);
        let mut inner = self.lock()?;
        if inner.find(key).is_some() {
            return Err(Error::Conflict);
        }
        if self.live.load(Ordering::Relaxed) >= self.max_sessions {
            return Err(Error::CapacityExhausted);
        }
        inner.insert(*key, *meta, blob(data), ukey)?;
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn load(&self, key: &IdHash) -> Result<Option<SessionMeta>> {
        self.lock()?.get(key).map(|e| e.meta.to_meta()).transpose()
    }

    fn read_data(&self, key: &IdHash, out: &mut [u8]) -> Result<()> {
        let inner = self.lock()?;
        let entry = inner.get(key).ok_or(Error::Rejected)?;
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
        let mut inner = self.lock()?;
        let entry = inner.get_mut(key).ok_or(Error::Conflict)?;
        if entry.meta.version != expected_version || !entry.meta.user.is(&meta.user) {
            return Err(Error::Conflict);
        }
        entry.meta.update_from(meta);
        if let DataUpdate::Replace(d) = data {
            entry.data = blob(d);
        }
        Ok(())
    }

    fn modify(
        &self,
        key: &IdHash,
        f: &mut dyn FnMut(&SessionMeta) -> Option<SessionMeta>,
    ) -> Result<Option<SessionMeta>> {
        // One lock, one probe: the per-request path (lookup + touch).
        let mut inner = self.lock()?;
        let Some(entry) = inner.get_mut(key) else {
            return Ok(None);
        };
        let Some(next) = f(&entry.meta.to_meta()?) else {
            return Ok(None);
        };
        if Some(next.version) != entry.meta.version.checked_add(1)
            || !entry.meta.user.is(&next.user)
        {
            return Err(Error::Conflict);
        }
        entry.meta.update_from(&next);
        Ok(Some(next))
    }

    fn rotate(
        &self,
        old: &IdHash,
        expected_version: u64,
        new: &IdHash,
        meta: &SessionMeta,
        data: &[u8],
    ) -> Result<()> {
        let ukey = self.user_key(&meta.user);
        let mut inner = self.lock()?;
        let i = inner.find(old).ok_or(Error::Conflict)?;
        match inner.slot(i) {
            Some(e) if e.meta.version == expected_version && e.meta.user.is(&meta.user) => {}
            _ => return Err(Error::Conflict),
        }
        if inner.find(new).is_some() {
            return Err(Error::Conflict);
        }
        // One critical section: no moment where both or neither id is valid.
        drop(inner.remove_slot(i, ukey));
        inner.insert(*new, *meta, blob(data), ukey)?;
        Ok(())
    }

    fn remove(&self, key: &IdHash) -> Result<bool> {
        let mut inner = self.lock()?;
        let Some(i) = inner.find(key) else {
            return Ok(false);
        };
        let ukey = match inner.slot(i) {
            Some(e) => self.user_key_of(e.meta.user.as_bytes()),
            None => return Ok(false),
        };
        let removed = inner.remove_slot(i, ukey).is_some();
        if removed {
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(removed)
    }

    fn remove_user(&self, user: &UserId) -> Result<usize> {
        let ukey = self.user_key(user);
        let mut inner = self.lock()?;
        let mut n = 0usize;
        for i in inner.user_slots(ukey) {
            // The user index is keyed by a 64-bit hash: a colliding user's sessions stay.
            if inner.slot(i).is_some_and(|e| e.meta.user.is(user))
                && inner.remove_slot(i, ukey).is_some()
            {
                n = n.saturating_add(1);
            }
        }
        self.live.fetch_sub(n, Ordering::Relaxed);
        Ok(n)
    }

    fn for_each_of_user(
        &self,
        user: &UserId,
        f: &mut dyn FnMut(&IdHash, &SessionMeta),
    ) -> Result<()> {
        let ukey = self.user_key(user);
        let found: Vec<(IdHash, SessionMeta)> = {
            let inner = self.lock()?;
            inner
                .user_slots(ukey)
                .into_iter()
                .filter_map(|i| inner.slot(i))
                .filter(|e| e.meta.user.is(user))
                .map(|e| Ok((e.key, e.meta.to_meta()?)))
                .collect::<Result<_>>()?
        };
        for (k, m) in &found {
            f(k, m);
        }
        Ok(())
    }

    fn sweep(&self, now: Timestamp) -> Result<usize> {
        let now = super::sweep_time(now)?;
        let mut total = 0usize;
        let mut chunk = 0usize;
        loop {
            // One chunk per lock acquisition, so requests are not stalled by a long sweep.
            let mut inner = self.lock()?;
            if chunk >= inner.chunks.len() {
                break;
            }
            let base = chunk.saturating_mul(CHUNK);
            let expired: Vec<(u32, u64)> = inner
                .chunks
                .get(chunk)
                .into_iter()
                .flat_map(|c| c.iter().enumerate())
                .filter_map(|(o, e)| {
                    let e = e.as_ref()?;
                    let slot = u32::try_from(base.saturating_add(o)).ok()?;
                    (e.meta.expires_at() <= now)
                        .then(|| (slot, self.user_key_of(e.meta.user.as_bytes())))
                })
                .collect();
            for (i, ukey) in expired {
                if inner.remove_slot(i, ukey).is_some() {
                    self.live.fetch_sub(1, Ordering::Relaxed);
                    total = total.saturating_add(1);
                }
            }
            chunk = chunk.saturating_add(1);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::indexing_slicing,
        reason = "test code"
    )]
    use super::*;
    use crate::record::StoredState;
    use medsec_token::Role;

    fn meta(user: &str, t: u64) -> SessionMeta {
        SessionMeta {
            version: 1,
            user: UserId::new(user).unwrap(),
            role: Role::Patient,
            state: StoredState::Established,
            created_at: Timestamp::from_millis(t),
            authenticated_at: Timestamp::from_millis(t),
            last_seen: Timestamp::from_millis(t),
            idle_timeout_ms: 1000,
            absolute_deadline: Timestamp::from_millis(t + 10_000),
            elevated_until: Timestamp::ZERO,
            binding: None,
            data_len: 0,
        }
    }

    fn key(i: u32) -> IdHash {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_le_bytes());
        b[31] = 0xAA;
        IdHash::from_bytes(b)
    }

    #[test]
    fn slab_index_and_user_lists_stay_consistent() {
        let s = MemoryStore::with_max_sessions(10_000);
        // 3 users, interleaved, across several chunks.
        for i in 0..3000u32 {
            let u = ["a", "b", "c"][(i % 3) as usize];
            s.insert(&key(i), &meta(u, u64::from(i)), &[]).unwrap();
        }
        assert_eq!(s.len(), 3000);
        // Remove every 7th session individually.
        for i in (0..3000u32).step_by(7) {
            assert!(s.remove(&key(i)).unwrap());
            assert!(!s.remove(&key(i)).unwrap());
        }
        let mut count_b = 0;
        s.for_each_of_user(&UserId::new("b").unwrap(), &mut |_, m| {
            assert_eq!(m.user.as_str(), "b");
            count_b += 1;
        })
        .unwrap();
        let expected_b = (0..3000u32).filter(|i| i % 3 == 1 && i % 7 != 0).count();
        assert_eq!(count_b, expected_b);
        assert_eq!(
            s.remove_user(&UserId::new("b").unwrap()).unwrap(),
            expected_b
        );
        // Freed slots are reused; lookups still find the right entries.
        for i in 3000..3500u32 {
            s.insert(&key(i), &meta("d", 0), &[]).unwrap();
        }
        for i in 0..3500u32 {
            let present = s.load(&key(i)).unwrap().is_some();
            let expected = if i >= 3000 {
                true
            } else {
                i % 7 != 0 && i % 3 != 1
            };
            assert_eq!(present, expected, "slot {i}");
        }
        // Sweep: the "d" sessions (t = 0) expire at 1000; the others at t + 1000.
        let gone = s.sweep(Timestamp::from_millis(1500)).unwrap();
        let expected_gone = 500
            + (0..3000u32)
                .filter(|&i| i % 7 != 0 && i % 3 != 1 && u64::from(i) + 1000 <= 1500)
                .count();
        assert_eq!(gone, expected_gone);
        assert_eq!(s.len(), 3500 - 3000 / 7 - 1 - expected_b - expected_gone);
    }
}
