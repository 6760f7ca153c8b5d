//! Ending a user's other sessions terminates even while logins racing it (on other instances)
//! keep adding sessions: it stops with `Conflict` after a bounded number of batches instead of
//! looping for ever, and what it ended stays ended.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "tests: fixed inputs, a panic is a failure"
)]

use std::cell::Cell;

use medsec_session::store::{DataUpdate, MemoryStore, SessionStore};
use medsec_session::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The real memory store, plus one new session of the listed user inserted on every listing:
/// what a login on another instance between two batches does.
struct RacingLogins {
    inner: MemoryStore,
    racing: Cell<bool>,
    next: Cell<u8>,
}

impl SessionStore for RacingLogins {
    fn insert(&self, key: &IdHash, meta: &SessionMeta, data: &[u8]) -> Result<()> {
        self.inner.insert(key, meta, data)
    }
    fn load(&self, key: &IdHash) -> Result<Option<SessionMeta>> {
        self.inner.load(key)
    }
    fn read_data(&self, key: &IdHash, out: &mut [u8]) -> Result<()> {
        self.inner.read_data(key, out)
    }
    fn update(
        &self,
        key: &IdHash,
        expected_version: u64,
        meta: &SessionMeta,
        data: DataUpdate<'_>,
    ) -> Result<()> {
        self.inner.update(key, expected_version, meta, data)
    }
    fn rotate(
        &self,
        old: &IdHash,
        expected_version: u64,
        new: &IdHash,
        meta: &SessionMeta,
        data: &[u8],
    ) -> Result<()> {
        self.inner.rotate(old, expected_version, new, meta, data)
    }
    fn remove(&self, key: &IdHash) -> Result<bool> {
        self.inner.remove(key)
    }
    fn remove_user(&self, user: &UserId) -> Result<usize> {
        self.inner.remove_user(user)
    }
    fn for_each_of_user(
        &self,
        user: &UserId,
        f: &mut dyn FnMut(&IdHash, &SessionMeta),
    ) -> Result<()> {
        if self.racing.get() {
            let mut template = None;
            self.inner
                .for_each_of_user(user, &mut |_, m| template = Some(*m))?;
            if let Some(meta) = template {
                let n = self.next.get();
                self.next.set(n.wrapping_add(1));
                self.inner
                    .insert(&IdHash::from_bytes([n; 32]), &meta, &[])?;
            }
        }
        self.inner.for_each_of_user(user, f)
    }
    fn sweep(&self, now: Timestamp) -> Result<usize> {
        self.inner.sweep(now)
    }
}

#[test]
fn end_other_sessions_stops_when_sessions_keep_appearing() {
    let store = RacingLogins {
        inner: MemoryStore::new(),
        racing: Cell::new(false),
        next: Cell::new(1),
    };
    let clock = ManualClock::new(Timestamp::from_secs(1_767_225_600));
    let mut policy = SessionPolicy::BACKEND_L3;
    policy.max_sessions_per_user = 4;
    let s = Sessions::new(store, clock, DataSecret::from_bytes([7; 32]), policy).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let alice = UserId::new("alice").unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let e = s
            .login(&mut rng, &alice, Role::Patient, None, None)
            .unwrap();
        ids.push(SessionId::from_bytes(*e.id().as_bytes()));
    }
    let keep = s.resume(&ids[0], None).unwrap();

    // Without racing logins it ends the other two and returns.
    assert_eq!(s.end_other_sessions(&keep).unwrap(), 2);

    // With a new session appearing at every listing it stops after its bound (2 x cap / 8,
    // at least 16 batches), reporting Conflict; the current session survives.
    s.store().racing.set(true);
    assert_eq!(s.end_other_sessions(&keep).unwrap_err(), Error::Conflict);
    s.store().racing.set(false);
    assert!(s.resume(&ids[0], None).is_ok());
    // Every session it ended stays ended; a retry without the race cleans up the rest.
    let left = s.list(&alice).unwrap().len();
    assert!(left <= 2, "{left} sessions left");
    s.end_other_sessions(&keep).unwrap();
    assert_eq!(s.list(&alice).unwrap().len(), 1);
}
