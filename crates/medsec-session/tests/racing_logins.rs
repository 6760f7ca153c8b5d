//! The loops that list a user's sessions and end some of them terminate even while logins
//! racing them (on other instances) keep adding sessions: ending the other sessions stops with
//! `Conflict` after `max(16, ceil(2 x cap / 8))` batches, the login's cap after ending 16 more
//! sessions than its first listing showed; what they ended stays ended. And a row under a
//! login's fresh id that appears only while the login runs (another instance repeating the
//! same generator) is never deleted by that login's cap (`docs/session-format.md` §6.2, §6.6).
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

/// The real memory store, plus one new session of the listed user inserted on every listing
/// while `racing` (what a login on another instance between two batches does), at most
/// `limit` of them; `plant` is inserted at the next listing. Counts listings and deletions.
struct RacingLogins {
    inner: MemoryStore,
    racing: Cell<bool>,
    next: Cell<u8>,
    limit: Cell<usize>,
    plant: Cell<Option<(IdHash, SessionMeta)>>,
    listings: Cell<usize>,
    removals: Cell<usize>,
}

impl RacingLogins {
    fn new() -> Self {
        Self {
            inner: MemoryStore::new(),
            racing: Cell::new(false),
            next: Cell::new(1),
            limit: Cell::new(usize::MAX),
            plant: Cell::new(None),
            listings: Cell::new(0),
            removals: Cell::new(0),
        }
    }
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
        self.removals.set(self.removals.get() + 1);
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
        self.listings.set(self.listings.get() + 1);
        if let Some((key, meta)) = self.plant.take() {
            self.inner.insert(&key, &meta, &[])?;
        }
        if self.racing.get() && self.limit.get() > 0 {
            self.limit.set(self.limit.get() - 1);
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
    let store = RacingLogins::new();
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
    // at least 16 batches), reporting Conflict when the 17th listing still shows one; the
    // current session survives.
    s.store().racing.set(true);
    s.store().listings.set(0);
    s.store().removals.set(0);
    assert_eq!(s.end_other_sessions(&keep).unwrap_err(), Error::Conflict);
    assert_eq!(s.store().listings.get(), 17);
    assert_eq!(s.store().removals.get(), 16);
    s.store().racing.set(false);
    assert!(s.resume(&ids[0], None).is_ok());
    // Every session it ended stays ended; a retry without the race cleans up the rest.
    let left = s.list(&alice).unwrap().len();
    assert!(left <= 2, "{left} sessions left");
    s.end_other_sessions(&keep).unwrap();
    assert_eq!(s.list(&alice).unwrap().len(), 1);
}

fn manager(store: RacingLogins, policy: SessionPolicy) -> Sessions<RacingLogins, ManualClock> {
    let clock = ManualClock::new(Timestamp::from_secs(1_767_225_600));
    Sessions::new(store, clock, DataSecret::from_bytes([7; 32]), policy).unwrap()
}

/// Exactly as many other sessions as the batches can end (16 batches of 8 with a cap of 4):
/// the listing after the last batch shows none, so the call succeeds (before the fix it
/// answered `Conflict` without that listing).
#[test]
fn end_other_sessions_at_exactly_its_bound_succeeds() {
    let mut policy = SessionPolicy::BACKEND_L3;
    policy.max_sessions_per_user = 4;
    let s = manager(RacingLogins::new(), policy);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let alice = UserId::new("alice").unwrap();
    let e = s
        .login(&mut rng, &alice, Role::Patient, None, None)
        .unwrap();
    let keep = s.activate(e, None).unwrap();
    for n in 1..=128u8 {
        s.store()
            .inner
            .insert(&IdHash::from_bytes([n; 32]), keep.meta(), &[])
            .unwrap();
    }
    s.store().listings.set(0);
    assert_eq!(s.end_other_sessions(&keep).unwrap(), 128);
    assert_eq!(s.store().listings.get(), 17);
    assert_eq!(s.list(&alice).unwrap().len(), 1);
    // One more, and the 17th listing still shows it: Conflict, that one not ended.
    for n in 1..=129u8 {
        s.store()
            .inner
            .insert(&IdHash::from_bytes([n; 32]), keep.meta(), &[])
            .unwrap();
    }
    assert_eq!(s.end_other_sessions(&keep).unwrap_err(), Error::Conflict);
    assert_eq!(s.list(&alice).unwrap().len(), 2);
}

/// The cap at login: with a new session of the user appearing at every listing (cap 1, end
/// oldest), the login stops once it has ended 16 more sessions than its first listing showed
/// (2 + 16), at the 19th listing, with `Conflict` and without creating its session. Before the
/// fix it kept going as long as sessions kept appearing (here: until the race gave up after
/// 100, and then it succeeded).
#[test]
fn cap_stops_when_sessions_keep_appearing() {
    let mut policy = SessionPolicy::BACKEND_L3;
    policy.max_sessions_per_user = 1;
    let s = manager(RacingLogins::new(), policy);
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let alice = UserId::new("alice").unwrap();
    s.login(&mut rng, &alice, Role::Patient, None, None)
        .unwrap();
    s.store().racing.set(true);
    s.store().limit.set(100);
    s.store().listings.set(0);
    s.store().removals.set(0);
    let mut next = rng.clone();
    let refused = SessionId::generate(&mut next).id_hash();
    assert_eq!(
        s.login(&mut rng, &alice, Role::Patient, None, None)
            .unwrap_err(),
        Error::Conflict
    );
    assert_eq!(s.store().listings.get(), 19);
    assert_eq!(s.store().removals.get(), 18);
    assert!(
        s.store().load(&refused).unwrap().is_none(),
        "no session created"
    );
    // Each round ended the oldest row (ties on created_at go to the smaller id hash, so the
    // raced-in rows went first); without the race the next login succeeds, ending the two
    // rows left.
    s.store().racing.set(false);
    assert_eq!(s.store().inner.len(), 2);
    let e = s
        .login(&mut rng, &alice, Role::Patient, None, None)
        .unwrap();
    assert_eq!(s.list(&alice).unwrap().len(), 1);
    assert!(s.activate(e, None).is_ok());
}

/// A row under the login's fresh id that appears after the login looked the id up (another
/// instance repeating the same generator at the same moment) and shows up in the cap's
/// listing: the login is refused with `Unavailable` before that round deletes anything, so
/// the row is never deleted, even expired (before the fix the cap deleted it as dead and the
/// login reused its id).
#[test]
fn cap_never_deletes_a_row_under_the_fresh_id() {
    let s = manager(RacingLogins::new(), SessionPolicy::BACKEND_L3);
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let alice = UserId::new("alice").unwrap();
    let e = s
        .login(&mut rng, &alice, Role::Patient, None, None)
        .unwrap();
    let mut expired = *e.meta();
    expired.created_at = Timestamp::from_secs(1_000_000_000);
    expired.last_seen = expired.created_at;
    expired.absolute_deadline = Timestamp::from_secs(1_000_000_001);
    let mut next = rng.clone();
    let key = SessionId::generate(&mut next).id_hash();
    s.store().plant.set(Some((key, expired)));
    assert_eq!(
        s.login(&mut rng, &alice, Role::Patient, None, None)
            .unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(s.store().load(&key).unwrap().unwrap(), expired);
    assert!(s.resume(e.id(), None).is_ok(), "the cap deleted nothing");
}
