//! The lifecycle suite, run against every store: fixed (no heap), memory, SQLite (a real
//! file) and PostgreSQL (a throwaway server). Every timeout is tested at its exact
//! boundary with an injected clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a panic is a failure"
)]

use std::sync::{Arc, RwLock};
use std::time::Duration;

use medsec_session::store::{FixedStore, MemoryStore, SqliteStore};
use medsec_session::*;
use medsec_token::{RevocationList, TokenId};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const T0: u64 = 1_700_000_000_000;

type Revocation = Arc<RwLock<RevocationList>>;

struct Fixture<S: SessionStore> {
    sessions: Sessions<S, Arc<ManualClock>, Revocation>,
    clock: Arc<ManualClock>,
    revocation: Revocation,
    rng: ChaCha20Rng,
}

fn fixture<S: SessionStore>(store: S, policy: SessionPolicy) -> Fixture<S> {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let revocation: Revocation = Arc::default();
    let sessions = Sessions::with_revocation(
        store,
        clock.clone(),
        revocation.clone(),
        DataSecret::from_bytes([0x42; 32]),
        policy,
    )
    .unwrap();
    Fixture {
        sessions,
        clock,
        revocation,
        rng: ChaCha20Rng::seed_from_u64(7),
    }
}

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A store factory: each case gets an empty store.
trait Factory {
    type Store: SessionStore;
    fn make(&mut self) -> Self::Store;
}

fn lifecycle_and_boundaries<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let t = TimeoutPolicy::BACKEND_L3;
    let idle = t.idle.as_millis() as u64;
    let s = &fx.sessions;
    let est = s
        .login(&mut fx.rng, &user("patient-1"), Role::Patient, None, None)
        .unwrap();
    assert_eq!(est.meta().state, StoredState::Established);
    let id = SessionId::from_bytes(*est.id().as_bytes());
    let active = s.activate(est, None).unwrap();
    assert_eq!(active.meta().state, StoredState::Active);
    assert_eq!(active.role(), Role::Patient);

    // Idle boundary: live at idle - 1 ms, dead at exactly idle.
    fx.clock.advance(ms(idle - 1));
    s.resume(&id, None).unwrap();
    fx.clock.advance(ms(idle - 1));
    s.resume(&id, None).unwrap();
    fx.clock.advance(ms(idle));
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Rejected);
    // Ended means gone: even with the clock set back it does not come back.
    fx.clock.set(Timestamp::from_millis(T0));
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Rejected);

    // Absolute boundary: touch every idle/2 until created + absolute.
    fx.clock.set(Timestamp::from_millis(T0));
    let a = s
        .login(&mut fx.rng, &user("patient-2"), Role::Patient, None, None)
        .unwrap();
    let id = SessionId::from_bytes(*a.id().as_bytes());
    let absolute = t.absolute.as_millis() as u64;
    let mut at = 0u64;
    while at + idle / 2 < absolute - 1 {
        at += idle / 2;
        fx.clock.set(Timestamp::from_millis(T0 + at));
        s.resume(&id, None).unwrap();
    }
    fx.clock.set(Timestamp::from_millis(T0 + absolute - 1));
    s.resume(&id, None).unwrap();
    fx.clock.set(Timestamp::from_millis(T0 + absolute));
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Rejected);
    assert!(
        s.store().load(&id.id_hash()).unwrap().is_none(),
        "expired session deleted"
    );
}

fn elevation_and_rotation<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let elev = TimeoutPolicy::BACKEND_L3.elevation.as_millis() as u64;
    let s = &fx.sessions;
    let est = s
        .login(
            &mut fx.rng,
            &user("clinician-1"),
            Role::Clinician,
            None,
            None,
        )
        .unwrap();
    let login_id = SessionId::from_bytes(*est.id().as_bytes());
    let stale = s.activate(est, None).unwrap();
    assert_eq!(
        s.resume_elevated(&login_id, None).unwrap_err(),
        Error::ElevationRequired
    );
    // Every request bumps the version, so the handle from before is stale for writes.
    assert_eq!(s.elevate(&mut fx.rng, stale).unwrap_err(), Error::Conflict);
    let active = s.resume(&login_id, None).unwrap();

    // Elevation rotates the id: the pre-elevation id is dead.
    let elevated = s.elevate(&mut fx.rng, active).unwrap();
    let eid = SessionId::from_bytes(*elevated.id().as_bytes());
    assert_ne!(eid, login_id);
    assert_eq!(s.resume(&login_id, None).unwrap_err(), Error::Rejected);
    fx.clock.advance(ms(elev - 1));
    let e2 = s.resume_elevated(&eid, None).unwrap();
    drop(e2);
    fx.clock.advance(ms(1));
    // Exactly at the elevation deadline: still a live session, no longer elevated.
    assert_eq!(
        s.resume_elevated(&eid, None).unwrap_err(),
        Error::ElevationRequired
    );
    let active = s.resume(&eid, None).unwrap();

    // Explicit rotation kills the old id and keeps the session.
    let rotated = s.rotate(&mut fx.rng, active).unwrap();
    let rid = SessionId::from_bytes(*rotated.id().as_bytes());
    assert_eq!(s.resume(&eid, None).unwrap_err(), Error::Rejected);
    let active = s.resume(&rid, None).unwrap();

    // Elevate then step down: two more rotations.
    let el = s.elevate(&mut fx.rng, active).unwrap();
    let el_id = SessionId::from_bytes(*el.id().as_bytes());
    let down = s.step_down(&mut fx.rng, el).unwrap();
    assert_eq!(s.resume(&el_id, None).unwrap_err(), Error::Rejected);
    let did = SessionId::from_bytes(*down.id().as_bytes());
    assert_eq!(
        s.resume_elevated(&did, None).unwrap_err(),
        Error::ElevationRequired
    );

    // A stale handle cannot write: its version is old.
    let stale = s.resume(&did, None).unwrap();
    let _fresh = s.resume(&did, None).unwrap();
    assert_eq!(s.rotate(&mut fx.rng, stale).unwrap_err(), Error::Conflict);

    // Elevation never outlives the absolute deadline.
    let abs = TimeoutPolicy::BACKEND_L3.absolute.as_millis() as u64;
    let mut fx2 = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let s2 = &fx2.sessions;
    let est = s2
        .login(
            &mut fx2.rng,
            &user("clinician-2"),
            Role::Clinician,
            None,
            None,
        )
        .unwrap();
    let id = SessionId::from_bytes(*est.id().as_bytes());
    let mut at = 0;
    let idle = TimeoutPolicy::BACKEND_L3.idle.as_millis() as u64;
    while at + idle / 2 < abs - elev / 2 {
        at += idle / 2;
        fx2.clock.set(Timestamp::from_millis(T0 + at));
        s2.resume(&id, None).unwrap();
    }
    fx2.clock.set(Timestamp::from_millis(T0 + abs - elev / 2));
    let a = s2.resume(&id, None).unwrap();
    let e = s2.elevate(&mut fx2.rng, a).unwrap();
    assert_eq!(e.meta().elevated_until, Timestamp::from_millis(T0 + abs));
}

fn logout_fixation_and_caps<F: Factory>(f: &mut F) {
    let policy = SessionPolicy::builder()
        .max_sessions_per_user(3, CapPolicy::EndOldest)
        .build()
        .unwrap();
    let mut fx = fixture(f.make(), policy);
    let s = &fx.sessions;
    let alice = user("patient-alice");
    let mut ids = Vec::new();
    for i in 0..3u64 {
        fx.clock.set(Timestamp::from_millis(T0 + i));
        let e = s
            .login(&mut fx.rng, &alice, Role::Patient, None, None)
            .unwrap();
        ids.push(SessionId::from_bytes(*e.id().as_bytes()));
    }
    assert_eq!(s.list(&alice).unwrap().len(), 3);
    // Fourth login ends the oldest (ASVS 7.1.2 behaviour documented in the crate docs).
    fx.clock.set(Timestamp::from_millis(T0 + 10));
    let e = s
        .login(&mut fx.rng, &alice, Role::Patient, None, None)
        .unwrap();
    ids.push(SessionId::from_bytes(*e.id().as_bytes()));
    assert_eq!(s.resume(&ids[0], None).unwrap_err(), Error::Rejected);
    for id in &ids[1..] {
        s.resume(id, None).unwrap();
    }
    // Terminate one from the list; someone else's user id cannot.
    let list = s.list(&alice).unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().any(|x| x.id_hash == ids[1].id_hash()));
    assert!(!s.terminate(&user("mallory"), &ids[1].id_hash()).unwrap());
    assert!(s.terminate(&alice, &ids[1].id_hash()).unwrap());
    assert_eq!(s.list(&alice).unwrap().len(), 2);
    // After a password change: end the other sessions, keep this one.
    let keep = s.resume(&ids[3], None).unwrap();
    assert_eq!(s.end_other_sessions(&keep).unwrap(), 1);
    assert_eq!(s.list(&alice).unwrap().len(), 1);
    assert_eq!(s.resume(&ids[2], None).unwrap_err(), Error::Rejected);
    s.resume(&ids[3], None).unwrap();
    let again = s
        .login(&mut fx.rng, &alice, Role::Patient, None, None)
        .unwrap();
    let again_id = SessionId::from_bytes(*again.id().as_bytes());
    // Logout everywhere.
    let bob = user("patient-bob");
    let bob_s = s
        .login(&mut fx.rng, &bob, Role::Patient, None, None)
        .unwrap();
    let bob_id = SessionId::from_bytes(*bob_s.id().as_bytes());
    assert_eq!(s.logout_everywhere(&alice).unwrap(), 2);
    assert_eq!(s.resume(&again_id, None).unwrap_err(), Error::Rejected);
    for id in &ids {
        assert_eq!(s.resume(id, None).unwrap_err(), Error::Rejected);
    }
    assert!(s.list(&alice).unwrap().is_empty());
    // Bob is untouched; his logout ends only his session.
    let b = s.resume(&bob_id, None).unwrap();
    let ended = s.logout(b).unwrap();
    assert_eq!(ended.reason, EndReason::Logout);
    assert_eq!(s.resume(&bob_id, None).unwrap_err(), Error::Rejected);

    // Fixation: an attacker logs in, plants their id in the victim's browser; the victim's
    // login presents it as `previous`. The victim gets a fresh id and the planted one dies.
    let planted = s
        .login(&mut fx.rng, &user("attacker"), Role::Patient, None, None)
        .unwrap();
    let planted_id = SessionId::from_bytes(*planted.id().as_bytes());
    let victim = s
        .login(
            &mut fx.rng,
            &user("victim"),
            Role::Clinician,
            None,
            Some(&planted_id),
        )
        .unwrap();
    assert_ne!(victim.id(), &planted_id);
    assert_eq!(s.resume(&planted_id, None).unwrap_err(), Error::Rejected);
    // An id the attacker made up was never issued, so it is never valid.
    let made_up = SessionId::from_bytes([0x11; 32]);
    let v2 = s
        .login(
            &mut fx.rng,
            &user("victim"),
            Role::Clinician,
            None,
            Some(&made_up),
        )
        .unwrap();
    assert_ne!(v2.id(), &made_up);
    assert_eq!(s.resume(&made_up, None).unwrap_err(), Error::Rejected);

    // Reject-at-cap policy.
    let policy = SessionPolicy::builder()
        .max_sessions_per_user(1, CapPolicy::Reject)
        .build()
        .unwrap();
    let mut fx = fixture(f.make(), policy);
    let d = user("device-owner");
    let first = fx
        .sessions
        .login(&mut fx.rng, &d, Role::Patient, None, None)
        .unwrap();
    assert_eq!(
        fx.sessions
            .login(&mut fx.rng, &d, Role::Patient, None, None)
            .unwrap_err(),
        Error::CapacityExhausted
    );
    fx.sessions.logout(first).unwrap();
    fx.sessions
        .login(&mut fx.rng, &d, Role::Patient, None, None)
        .unwrap();
}

fn clock_going_backwards<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let idle = TimeoutPolicy::BACKEND_L3.idle.as_millis() as u64;
    let s = &fx.sessions;
    let e = s
        .login(&mut fx.rng, &user("patient-c"), Role::Patient, None, None)
        .unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    fx.clock.set(Timestamp::from_millis(T0 + 60_000));
    s.resume(&id, None).unwrap();
    // Back by 1.5 s (inside the 2 s tolerance): accepted, but the session's time stays at
    // its high-water mark: last_seen does not move back, so the idle deadline does not
    // move later.
    fx.clock.set(Timestamp::from_millis(T0 + 58_500));
    let a = s.resume(&id, None).unwrap();
    assert_eq!(a.meta().last_seen, Timestamp::from_millis(T0 + 60_000));
    // The deadline is still T0 + 60 s + idle on the real timeline.
    fx.clock.set(Timestamp::from_millis(T0 + 60_000 + idle));
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Rejected);

    // A large step back ends the session.
    let e = s
        .login(&mut fx.rng, &user("patient-d"), Role::Patient, None, None)
        .unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    fx.clock.rewind(Duration::from_secs(3600));
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Rejected);
    fx.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        s.resume(&id, None).unwrap_err(),
        Error::Rejected,
        "ended, not paused"
    );
}

fn revocation_and_roles<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    let carol = user("clinician-carol");
    let e1 = s
        .login(&mut fx.rng, &carol, Role::Clinician, None, None)
        .unwrap();
    let e2 = s
        .login(&mut fx.rng, &carol, Role::Clinician, None, None)
        .unwrap();
    let other = s
        .login(
            &mut fx.rng,
            &user("clinician-dave"),
            Role::Clinician,
            None,
            None,
        )
        .unwrap();
    let ids = [e1.id(), e2.id()].map(|i| SessionId::from_bytes(*i.as_bytes()));
    let other_id = SessionId::from_bytes(*other.id().as_bytes());
    // A token minted from the session (iat = session issue time) is alive before...
    let token_id = TokenId::from_slice(&[1; 16]).unwrap();
    let iat = e1.issued_at();
    assert!(!fx
        .revocation
        .read()
        .unwrap()
        .is_dead(&token_id, "clinician-carol", iat));
    fx.clock.advance(Duration::from_secs(5));
    // ...lowering the role ends every session and revokes the derived tokens.
    assert_eq!(s.role_changed(&carol).unwrap(), 2);
    for id in &ids {
        assert_eq!(s.resume(id, None).unwrap_err(), Error::Rejected);
    }
    assert!(fx
        .revocation
        .read()
        .unwrap()
        .is_dead(&token_id, "clinician-carol", iat));
    // A token minted in the very second of the revocation is dead too.
    let now_s = (T0 + 5000) / 1000;
    assert!(fx
        .revocation
        .read()
        .unwrap()
        .is_dead(&token_id, "clinician-carol", now_s));
    s.resume(&other_id, None).unwrap();

    // Another instance revoked the user (shared epoch) while this store still holds a
    // session: it is refused and removed at its next request.
    let e3 = s
        .login(
            &mut fx.rng,
            &user("patient-erin"),
            Role::Patient,
            None,
            None,
        )
        .unwrap();
    let id3 = SessionId::from_bytes(*e3.id().as_bytes());
    fx.clock.advance(Duration::from_secs(2));
    fx.revocation.write().unwrap().raise_subject_epoch(
        "patient-erin",
        RevocationEpoch::from_unix_seconds((T0 + 7000) / 1000 + 1),
    );
    assert_eq!(s.resume(&id3, None).unwrap_err(), Error::Rejected);
    assert!(s.store().load(&id3.id_hash()).unwrap().is_none());
    // A new login after the epoch works again.
    fx.clock.advance(Duration::from_secs(2));
    let e4 = s
        .login(
            &mut fx.rng,
            &user("patient-erin"),
            Role::Patient,
            None,
            None,
        )
        .unwrap();
    let id4 = SessionId::from_bytes(*e4.id().as_bytes());
    s.resume(&id4, None).unwrap();
    let _ = &mut fx.rng;
}

fn binding_and_data_isolation<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    let chan_a = ChannelBinding::from_exporter([0xA1; 32]);
    let chan_b = ChannelBinding::from_exporter([0xB2; 32]);
    let e = s
        .login(
            &mut fx.rng,
            &user("patient-f"),
            Role::Patient,
            Some(&chan_a),
            None,
        )
        .unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    assert_eq!(s.resume(&id, Some(&chan_b)).unwrap_err(), Error::Rejected);
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Rejected);
    // Refusal on the wrong channel does not end the session for its owner.
    let mut a = s.resume(&id, Some(&chan_a)).unwrap();

    // Per-session data: sealed, isolated, wiped at the end.
    s.set_data(&mut fx.rng, &mut a, b"draft basal profile 0.85 U/h")
        .unwrap();
    let e2 = s
        .login(&mut fx.rng, &user("patient-g"), Role::Patient, None, None)
        .unwrap();
    let id2 = SessionId::from_bytes(*e2.id().as_bytes());
    let mut b = s.resume(&id2, None).unwrap();
    assert!(s.data(&b).unwrap().is_none());
    s.set_data(&mut fx.rng, &mut b, b"bob's notes").unwrap();
    assert_eq!(
        s.data(&a).unwrap().unwrap().as_bytes(),
        b"draft basal profile 0.85 U/h"
    );
    assert_eq!(s.data(&b).unwrap().unwrap().as_bytes(), b"bob's notes");
    let mut buf = [0u8; 64];
    let n = s.read_data_into(&a, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"draft basal profile 0.85 U/h");
    assert_eq!(
        s.read_data_into(&a, &mut [0u8; 4]).unwrap_err(),
        Error::TooLarge
    );

    // Data survives rotation (re-sealed under the new id) and the old id reads nothing.
    let a = s.rotate(&mut fx.rng, a).unwrap();
    assert_eq!(
        s.data(&a).unwrap().unwrap().as_bytes(),
        b"draft basal profile 0.85 U/h"
    );
    assert_eq!(s.resume(&id, Some(&chan_a)).unwrap_err(), Error::Rejected);
    // Size limit.
    let mut a = a;
    assert_eq!(
        s.set_data(&mut fx.rng, &mut a, &vec![0u8; MAX_DATA_LEN + 1])
            .unwrap_err(),
        Error::TooLarge
    );
    let key = *a.id_hash();
    s.logout(a).unwrap();
    assert!(s.store().load(&key).unwrap().is_none());
}

/// The binding rules of `docs/session-format.md` §3, case by case.
fn binding_rules<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    let chan_a = ChannelBinding::from_exporter([0xA1; 32]);
    let chan_b = ChannelBinding::from_exporter([0xB2; 32]);

    // Unbound session: accepted with or without a presented exporter, and it never becomes
    // bound (no bind-on-first-use): any later channel is accepted too.
    let e = s
        .login(&mut fx.rng, &user("patient-u"), Role::Patient, None, None)
        .unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    s.resume(&id, Some(&chan_a)).unwrap();
    s.resume(&id, Some(&chan_b)).unwrap();
    let a = s.resume(&id, None).unwrap();
    assert_eq!(a.meta().binding, None);

    // Bound session: refused without an exporter (a TLS 1.2 or plain connection) and on any
    // other channel, without being ended; accepted on its own channel.
    let e = s
        .login(
            &mut fx.rng,
            &user("patient-b"),
            Role::Patient,
            Some(&chan_a),
            None,
        )
        .unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    for presented in [None, Some(&chan_b)] {
        assert_eq!(s.resume(&id, presented).unwrap_err(), Error::Rejected);
    }
    // The binding survives rotation and elevation unchanged.
    let a = s.resume(&id, Some(&chan_a)).unwrap();
    let a = s.rotate(&mut fx.rng, a).unwrap();
    let el = s.elevate(&mut fx.rng, a).unwrap();
    assert_eq!(el.meta().binding, Some(chan_a.binding_hash()));
    let eid = SessionId::from_bytes(*el.id().as_bytes());
    assert_eq!(s.resume(&eid, None).unwrap_err(), Error::Rejected);
    s.resume_elevated(&eid, Some(&chan_a)).unwrap();

    // A stored all-zero binding hash is well-formed but matches no connection (it would
    // take a SHA-256 preimage): refused with any exporter and without one.
    let zid = SessionId::from_bytes([0x0b; 32]);
    let now = fx.clock.now();
    let meta = SessionMeta {
        version: 1,
        user: user("patient-z"),
        role: Role::Patient,
        state: StoredState::Established,
        created_at: now,
        authenticated_at: now,
        last_seen: now,
        idle_timeout_ms: 60_000,
        absolute_deadline: now.saturating_add_millis(600_000),
        elevated_until: Timestamp::ZERO,
        binding: Some([0; 32]),
        data_len: 0,
    };
    s.store().insert(&zid.id_hash(), &meta, &[]).unwrap();
    for presented in [
        None,
        Some(&chan_a),
        Some(&ChannelBinding::from_exporter([0; 32])),
    ] {
        assert_eq!(s.resume(&zid, presented).unwrap_err(), Error::Rejected);
    }
    assert!(
        s.store().load(&zid.id_hash()).unwrap().is_some(),
        "not ended"
    );
    let _ = &mut fx.rng;
}

/// A handle kept past its session's end (a long request, a handle cached by firmware
/// between BLE messages) must not keep reading the session's data: reads re-check the
/// clocks and the revocation epoch exactly as writes do.
fn stale_handles_read_nothing_after_the_end<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let idle = TimeoutPolicy::BACKEND_L3.idle.as_millis() as u64;
    let s = &fx.sessions;
    let mut buf = [0u8; 64];

    // Idle timeout passes while the handle is held.
    let e = s
        .login(
            &mut fx.rng,
            &user("patient-stale"),
            Role::Patient,
            None,
            None,
        )
        .unwrap();
    let mut a = s.activate(e, None).unwrap();
    s.set_data(&mut fx.rng, &mut a, b"PHI: last bolus 2.5 U")
        .unwrap();
    fx.clock.advance(ms(idle - 1));
    assert!(s.data(&a).unwrap().is_some(), "live: readable");
    fx.clock.advance(ms(1));
    assert_eq!(s.data(&a).unwrap_err(), Error::Rejected, "idle-expired");
    assert_eq!(s.read_data_into(&a, &mut buf).unwrap_err(), Error::Rejected);
    assert!(
        s.store().load(a.id_hash()).unwrap().is_none(),
        "the expired session is ended (deleted) when found"
    );

    // Absolute timeout passes while the handle is held (touched through another handle).
    fx.clock.set(Timestamp::from_millis(T0));
    let e = s
        .login(
            &mut fx.rng,
            &user("patient-stale-2"),
            Role::Patient,
            None,
            None,
        )
        .unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    let mut a = s.activate(e, None).unwrap();
    s.set_data(&mut fx.rng, &mut a, b"PHI: glucose 142 mg/dL")
        .unwrap();
    let abs = TimeoutPolicy::BACKEND_L3.absolute.as_millis() as u64;
    let mut at = 0;
    while at + idle / 2 < abs {
        at += idle / 2;
        fx.clock.set(Timestamp::from_millis(T0 + at));
        s.resume(&id, None).unwrap();
    }
    fx.clock.set(Timestamp::from_millis(T0 + abs));
    assert_eq!(s.data(&a).unwrap_err(), Error::Rejected, "past absolute");

    // Revoked by epoch on another instance while the handle is held.
    fx.clock.set(Timestamp::from_millis(T0));
    let e = s
        .login(
            &mut fx.rng,
            &user("patient-stale-3"),
            Role::Patient,
            None,
            None,
        )
        .unwrap();
    let mut a = s.activate(e, None).unwrap();
    s.set_data(&mut fx.rng, &mut a, b"PHI: therapy draft")
        .unwrap();
    fx.clock.advance(Duration::from_secs(2));
    fx.revocation.write().unwrap().raise_subject_epoch(
        "patient-stale-3",
        RevocationEpoch::from_unix_seconds(T0 / 1000 + 1),
    );
    assert_eq!(s.data(&a).unwrap_err(), Error::Rejected, "revoked");
    assert_eq!(s.read_data_into(&a, &mut buf).unwrap_err(), Error::Rejected);
}

fn concurrent_updates<F: Factory>(f: &mut F)
where
    F::Store: Sync,
{
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    let e = s
        .login(&mut fx.rng, &user("patient-h"), Role::Patient, None, None)
        .unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    let mut a = s.activate(e, None).unwrap();
    s.set_data(&mut fx.rng, &mut a, &0u64.to_be_bytes())
        .unwrap();
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 25;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let id = SessionId::from_bytes(*id.as_bytes());
            scope.spawn(move || {
                let mut rng = ChaCha20Rng::seed_from_u64(100 + t);
                let mut done = 0;
                while done < PER_THREAD {
                    // Read-modify-write of a counter held in the session's data.
                    let Ok(mut sess) = s.resume(&id, None) else {
                        continue;
                    };
                    let Ok(Some(d)) = s.data(&sess) else { continue };
                    let n = u64::from_be_bytes(d.as_bytes().try_into().unwrap());
                    match s.set_data(&mut rng, &mut sess, &(n + 1).to_be_bytes()) {
                        Ok(()) => done += 1,
                        Err(Error::Conflict) => {}
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
            });
        }
    });
    let a = s.resume(&id, None).unwrap();
    let n = u64::from_be_bytes(s.data(&a).unwrap().unwrap().as_bytes().try_into().unwrap());
    assert_eq!(n, THREADS * PER_THREAD, "no update lost");

    // Logout racing with touches: once ended, nothing brings it back.
    std::thread::scope(|scope| {
        let toucher = scope.spawn(|| {
            let mut ok_after_end = 0;
            for _ in 0..200 {
                let r = s.resume(&id, None);
                if r.is_err() {
                    // Once refused, it must stay refused.
                    for _ in 0..20 {
                        if s.resume(&id, None).is_ok() {
                            ok_after_end += 1;
                        }
                    }
                    break;
                }
            }
            ok_after_end
        });
        let _ = s.logout(a);
        assert_eq!(toucher.join().unwrap(), 0, "ended session resurrected");
    });
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Rejected);
    assert!(s.store().load(&id.id_hash()).unwrap().is_none());
}

/// A clock reading of 2^64 - 1 ("no trusted time", what `TokenClock` reports when the
/// platform lost its wall time) is a fault, not a time: requests are refused with
/// `Unavailable`, nothing is ended, touched or swept, and everything works again once the
/// time is back (`docs/session-format.md` §6.1).
fn no_trusted_time_ends_nothing<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let idle = TimeoutPolicy::BACKEND_L3.idle.as_millis() as u64;
    let s = &fx.sessions;
    // An already expired session (logged in one idle timeout and a second ago)...
    fx.clock.set(Timestamp::from_millis(T0 - idle - 1000));
    let old = s
        .login(&mut fx.rng, &user("patient-old"), Role::Patient, None, None)
        .unwrap();
    let old_key = *old.id_hash();
    // ...and two live ones, one with data.
    fx.clock.set(Timestamp::from_millis(T0));
    let pat = user("patient-t");
    let e = s
        .login(&mut fx.rng, &pat, Role::Patient, None, None)
        .unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    let mut a = s.activate(e, None).unwrap();
    s.set_data(&mut fx.rng, &mut a, b"PHI: basal 0.85 U/h")
        .unwrap();
    let other = s
        .login(&mut fx.rng, &user("patient-u2"), Role::Patient, None, None)
        .unwrap();
    let keys = [old_key, *a.id_hash(), *other.id_hash()];
    let stored = |s: &Sessions<F::Store, Arc<ManualClock>, Revocation>| {
        keys.map(|k| s.store().load(&k).unwrap())
    };
    let before = stored(s);
    assert!(before.iter().all(Option::is_some));

    fx.clock.set(Timestamp::UNTRUSTED);
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Unavailable);
    assert_eq!(
        s.resume_elevated(&id, None).unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(s.data(&a).unwrap_err(), Error::Unavailable);
    assert_eq!(
        s.read_data_into(&a, &mut [0u8; 64]).unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(
        s.set_data(&mut fx.rng, &mut a, b"x").unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(s.list(&pat).unwrap_err(), Error::Unavailable);
    assert_eq!(
        s.login(&mut fx.rng, &pat, Role::Patient, None, None)
            .unwrap_err(),
        Error::Unavailable
    );
    // Neither the manager's sweep nor the store's own deletes anything (before the fix,
    // the SQL sweep clamped 2^64 - 1 to 2^63 - 1 and emptied the table).
    assert_eq!(s.sweep().unwrap_err(), Error::Unavailable);
    assert_eq!(
        s.store().sweep(Timestamp::UNTRUSTED).unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(stored(s), before, "nothing ended, touched or swept");
    let rotated = s.rotate(&mut fx.rng, a);
    assert_eq!(rotated.unwrap_err(), Error::Unavailable);
    assert_eq!(stored(s), before);

    // The time is back: the live sessions resume with their data, the expired one is
    // swept by an ordinary sweep.
    fx.clock.set(Timestamp::from_millis(T0 + 1000));
    let a = s.resume(&id, None).unwrap();
    assert_eq!(
        s.data(&a).unwrap().unwrap().as_bytes(),
        b"PHI: basal 0.85 U/h"
    );
    assert_eq!(s.sweep().unwrap(), 1);
    assert!(s.store().load(&old_key).unwrap().is_none());
    assert!(s.store().load(other.id_hash()).unwrap().is_some());
}

/// Revocation wins: a session whose user was revoked (the epoch raised elsewhere, its row
/// still in the table) is ended (row deleted) at its next read, whatever else is wrong with
/// the request, and resume and the handle operations check in the same order
/// (`docs/session-format.md` §6.3-§6.5).
fn revocation_wins_over_other_refusals<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    let chan = ChannelBinding::from_exporter([0xC1; 32]);
    let other_chan = ChannelBinding::from_exporter([0xC2; 32]);
    let revoke = |name: &str| {
        fx.revocation
            .write()
            .unwrap()
            .raise_subject_epoch(name, RevocationEpoch::from_unix_seconds(T0 / 1000 + 1));
    };
    let login = |rng: &mut ChaCha20Rng, name: &str, binding: Option<&ChannelBinding>| {
        let e = s
            .login(rng, &user(name), Role::Patient, binding, None)
            .unwrap();
        SessionId::from_bytes(*e.id().as_bytes())
    };
    let gone = |id: &SessionId| s.store().load(&id.id_hash()).unwrap().is_none();

    // A bound session presented without an exporter, and on another channel: refused and
    // left in place while the user is not revoked; ended once they are.
    let a = login(&mut fx.rng, "patient-rv1", Some(&chan));
    let b = login(&mut fx.rng, "patient-rv2", Some(&chan));
    assert_eq!(s.resume(&a, None).unwrap_err(), Error::Rejected);
    assert_eq!(
        s.resume(&b, Some(&other_chan)).unwrap_err(),
        Error::Rejected
    );
    assert!(!gone(&a) && !gone(&b));
    revoke("patient-rv1");
    revoke("patient-rv2");
    assert_eq!(s.resume(&a, None).unwrap_err(), Error::Rejected);
    assert!(gone(&a), "revoked, no exporter: ended");
    assert_eq!(
        s.resume(&b, Some(&other_chan)).unwrap_err(),
        Error::Rejected
    );
    assert!(gone(&b), "revoked, wrong channel: ended");

    // A session at the version limit: refused and left in place; ended once revoked.
    let c = login(&mut fx.rng, "patient-rv3", None);
    let ck = c.id_hash();
    let cur = s.store().load(&ck).unwrap().unwrap();
    let mut at_limit = cur;
    at_limit.version = record::MAX_VERSION;
    s.store()
        .update(&ck, cur.version, &at_limit, store::DataUpdate::Keep)
        .unwrap();
    assert_eq!(s.resume(&c, None).unwrap_err(), Error::Rejected);
    assert_eq!(
        s.store().load(&ck).unwrap().unwrap().version,
        record::MAX_VERSION,
        "refused, not ended"
    );
    revoke("patient-rv3");
    assert_eq!(s.resume(&c, None).unwrap_err(), Error::Rejected);
    assert!(gone(&c), "revoked at the version limit: ended");

    // Through a handle: a stale handle (another request moved the version on) to a revoked
    // session gets the session ended, not "changed concurrently", on a data read and on a
    // write alike.
    let d = login(&mut fx.rng, "patient-rv4", None);
    let mut stale = s.resume(&d, None).unwrap();
    s.set_data(&mut fx.rng, &mut stale, b"PHI: note").unwrap();
    let stale_copy = s.resume(&d, None).unwrap();
    let _newer = s.resume(&d, None).unwrap();
    assert_eq!(
        s.set_data(&mut fx.rng, &mut stale, b"y").unwrap_err(),
        Error::Conflict,
        "stale, not revoked: conflict"
    );
    revoke("patient-rv4");
    assert_eq!(s.data(&stale_copy).unwrap_err(), Error::Rejected);
    assert!(gone(&d), "revoked, stale handle, data read: ended");
    let e = login(&mut fx.rng, "patient-rv5", None);
    let mut stale = s.resume(&e, None).unwrap();
    let _newer = s.resume(&e, None).unwrap();
    revoke("patient-rv5");
    assert_eq!(
        s.set_data(&mut fx.rng, &mut stale, b"z").unwrap_err(),
        Error::Rejected
    );
    assert!(gone(&e), "revoked, stale handle, write: ended");
}

/// The per-user cap counts live sessions only (not expired, not revoked), deletes the
/// others it finds, and at the cap ends the oldest login, ties broken by the smaller id
/// hash (`docs/session-format.md` §6.2).
fn cap_counts_live_sessions_and_breaks_ties<F: Factory>(f: &mut F) {
    let policy = SessionPolicy::builder()
        .max_sessions_per_user(2, CapPolicy::EndOldest)
        .build()
        .unwrap();
    let mut fx = fixture(f.make(), policy);
    let s = &fx.sessions;
    let u = user("patient-cap");
    // Two logins in the same millisecond; the third ends the one with the smaller id hash.
    let first = s.login(&mut fx.rng, &u, Role::Patient, None, None).unwrap();
    let second = s.login(&mut fx.rng, &u, Role::Patient, None, None).unwrap();
    let (lo, hi) = if first.id_hash().as_bytes() < second.id_hash().as_bytes() {
        (*first.id_hash(), *second.id_hash())
    } else {
        (*second.id_hash(), *first.id_hash())
    };
    let third = s.login(&mut fx.rng, &u, Role::Patient, None, None).unwrap();
    assert!(
        s.store().load(&lo).unwrap().is_none(),
        "smaller id hash ended"
    );
    assert!(s.store().load(&hi).unwrap().is_some());
    assert!(s.store().load(third.id_hash()).unwrap().is_some());

    // Revoked (epoch raised elsewhere, rows still stored): not listed, not counted, and
    // deleted by the next login's cap check. With Reject at 1, the login goes through.
    let policy = SessionPolicy::builder()
        .max_sessions_per_user(1, CapPolicy::Reject)
        .build()
        .unwrap();
    let mut fx = fixture(f.make(), policy);
    let s = &fx.sessions;
    let u = user("patient-cap2");
    let old = s.login(&mut fx.rng, &u, Role::Patient, None, None).unwrap();
    fx.revocation.write().unwrap().raise_subject_epoch(
        "patient-cap2",
        RevocationEpoch::from_unix_seconds(T0 / 1000 + 1),
    );
    assert!(s.list(&u).unwrap().is_empty(), "revoked: not listed");
    assert!(
        s.store().load(old.id_hash()).unwrap().is_some(),
        "listing deletes nothing"
    );
    fx.clock.advance(Duration::from_secs(1));
    let new = s.login(&mut fx.rng, &u, Role::Patient, None, None).unwrap();
    assert!(
        s.store().load(old.id_hash()).unwrap().is_none(),
        "deleted at login"
    );
    assert_eq!(s.list(&u).unwrap().len(), 1);
    // Expired: the same.
    fx.clock.advance(TimeoutPolicy::BACKEND_L3.idle);
    assert!(s.list(&u).unwrap().is_empty(), "expired: not listed");
    s.login(&mut fx.rng, &u, Role::Patient, None, None).unwrap();
    assert!(s.store().load(new.id_hash()).unwrap().is_none());
}

fn sweeping<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    for i in 0..5 {
        s.login(
            &mut fx.rng,
            &user(&format!("u{i}")),
            Role::Patient,
            None,
            None,
        )
        .unwrap();
    }
    fx.clock.advance(TimeoutPolicy::BACKEND_L3.idle - ms(1));
    assert_eq!(s.sweep().unwrap(), 0);
    fx.clock.advance(ms(1));
    assert_eq!(s.sweep().unwrap(), 5);
    assert_eq!(s.sweep().unwrap(), 0);
}

/// What a handle holds after a write, and what a stale one can do
/// (`docs/session-format.md` §6.4, "Handles"): a handle is refreshed only by a successful
/// write through it; a write through a stale handle fails (`Conflict`, or `Rejected` once its
/// id was rotated away) and never overwrites the newer state; reads need no version; logout
/// deletes whatever the version.
fn stale_handles_never_overwrite<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    let u = user("patient-handles");
    let est = s.login(&mut fx.rng, &u, Role::Patient, None, None).unwrap();
    assert_eq!(est.meta().version, 1);
    let id = SessionId::from_bytes(*est.id().as_bytes());
    let mut h1 = s.activate(est, None).unwrap();
    assert_eq!(h1.meta().version, 2);
    fx.clock.advance(ms(1000));
    // Another request resumes the same id: h1 is not refreshed, and is now stale.
    let mut h2 = s.resume(&id, None).unwrap();
    assert_eq!(h2.meta().version, 3);
    assert_eq!(h2.meta().last_seen, Timestamp::from_millis(T0 + 1000));
    assert_eq!(h1.meta().version, 2);
    let h1_before = *h1.meta();

    // A write through the stale handle: Conflict, nothing written, the handle unchanged.
    assert_eq!(
        s.set_data(&mut fx.rng, &mut h1, b"stale write")
            .unwrap_err(),
        Error::Conflict
    );
    assert_eq!(*h1.meta(), h1_before);
    assert_eq!(s.store().load(h2.id_hash()).unwrap().unwrap(), *h2.meta());

    // A write through the current handle: the handle now holds exactly what was written.
    fx.clock.advance(ms(1000));
    s.set_data(&mut fx.rng, &mut h2, b"PHI: current").unwrap();
    assert_eq!(h2.meta().version, 4);
    assert_eq!(h2.meta().last_seen, Timestamp::from_millis(T0 + 2000));
    assert_eq!(h2.meta().data_len, 12 + 28);
    assert_eq!(s.store().load(h2.id_hash()).unwrap().unwrap(), *h2.meta());

    // A read through the stale handle (same id) gets the current data and refreshes nothing.
    assert_eq!(s.data(&h1).unwrap().unwrap().as_bytes(), b"PHI: current");
    assert_eq!(*h1.meta(), h1_before);
    assert_eq!(
        s.set_data(&mut fx.rng, &mut h1, b"").unwrap_err(),
        Error::Conflict,
        "still stale after a read"
    );
    // Rotation through a stale handle: Conflict, and the old id still works (nothing
    // written). The same for elevation.
    assert_eq!(s.rotate(&mut fx.rng, h1).unwrap_err(), Error::Conflict);
    let h3 = s.resume(&id, None).unwrap(); // v5: h2 is stale now
    assert_eq!(s.elevate(&mut fx.rng, h2).unwrap_err(), Error::Conflict);
    let stored = s.store().load(h3.id_hash()).unwrap().unwrap();
    assert_eq!(stored, *h3.meta());
    assert_eq!(stored.elevated_until, Timestamp::ZERO);

    // Rotated through another handle: the stale handle's id hash is gone, so its writes and
    // reads are refused (Rejected, not Conflict) and its logout deletes nothing.
    let mut old_key_handle = s.resume(&id, None).unwrap(); // v6
    let current = s.resume(&id, None).unwrap(); // v7
    let rotated = s.rotate(&mut fx.rng, current).unwrap(); // v8, new id
    assert_eq!(rotated.meta().version, 8);
    let new_id = SessionId::from_bytes(*rotated.id().as_bytes());
    assert_eq!(
        s.set_data(&mut fx.rng, &mut old_key_handle, b"x")
            .unwrap_err(),
        Error::Rejected
    );
    assert_eq!(s.data(&old_key_handle).unwrap_err(), Error::Rejected);
    assert_eq!(s.data(&h3).unwrap_err(), Error::Rejected);
    s.logout(old_key_handle).unwrap();
    assert_eq!(
        s.data(&rotated).unwrap().unwrap().as_bytes(),
        b"PHI: current",
        "the rotated session survived the stale handle's logout"
    );
    // A stale handle of the current id logs the session out, whatever the version.
    let stale = s.resume(&new_id, None).unwrap();
    let _newer = s.resume(&new_id, None).unwrap();
    s.logout(stale).unwrap();
    assert_eq!(s.resume(&new_id, None).unwrap_err(), Error::Rejected);
    drop((h3, rotated));

    // Ending the other sessions through a handle whose id was rotated away elsewhere ends
    // the rotated session too: only the handle's id hash is spared.
    let v = user("patient-handles-2");
    let a = s.login(&mut fx.rng, &v, Role::Patient, None, None).unwrap();
    let a_id = SessionId::from_bytes(*a.id().as_bytes());
    let _b = s.login(&mut fx.rng, &v, Role::Patient, None, None).unwrap();
    let a_stale = s.resume(&a_id, None).unwrap();
    let a_now = s.resume(&a_id, None).unwrap();
    let a_rotated = s.rotate(&mut fx.rng, a_now).unwrap();
    assert_eq!(s.end_other_sessions(&a_stale).unwrap(), 2);
    assert_eq!(
        s.resume(&SessionId::from_bytes(*a_rotated.id().as_bytes()), None)
            .unwrap_err(),
        Error::Rejected
    );
    assert!(s.list(&v).unwrap().is_empty());
}

/// A freshly generated id that is already in use (here: a generator seeded like the one
/// before it) never overwrites the other session: login and rotation fail with
/// `Unavailable`, no second id is tried, and the store's own insert refuses the key.
fn colliding_ids_never_overwrite<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    let alice = user("alice-collide");
    let bob = user("bob-collide");
    let repeating = || ChaCha20Rng::seed_from_u64(99);
    let est = s
        .login(&mut repeating(), &alice, Role::Clinician, None, None)
        .unwrap();
    let alice_id = SessionId::from_bytes(*est.id().as_bytes());
    let alice_key = alice_id.id_hash();
    let mut a = s.activate(est, None).unwrap();
    s.set_data(&mut fx.rng, &mut a, b"PHI: alice").unwrap();
    let alice_row = s.store().load(&alice_key).unwrap().unwrap();

    // Login: the generator repeats alice's id.
    assert_eq!(
        s.login(&mut repeating(), &bob, Role::Patient, None, None)
            .unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(s.store().load(&alice_key).unwrap().unwrap(), alice_row);
    assert!(s.list(&bob).unwrap().is_empty(), "no session for bob");

    // The store itself: an insert under an existing key is refused and changes nothing.
    let mut bob_meta = alice_row;
    bob_meta.user = bob;
    bob_meta.version = 1;
    bob_meta.data_len = 0;
    assert_eq!(
        s.store().insert(&alice_key, &bob_meta, &[]).unwrap_err(),
        Error::Conflict
    );
    assert_eq!(s.store().load(&alice_key).unwrap().unwrap(), alice_row);

    // Rotation: bob's new id would be alice's. Refused; bob's old id still works.
    let b = s
        .login(&mut fx.rng, &bob, Role::Patient, None, None)
        .unwrap();
    let bob_id = SessionId::from_bytes(*b.id().as_bytes());
    let b = s.activate(b, None).unwrap();
    assert_eq!(
        s.rotate(&mut repeating(), b).unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(s.store().load(&alice_key).unwrap().unwrap(), alice_row);
    let b = s.resume(&bob_id, None).unwrap();
    assert_eq!(b.user(), &bob);
    let a = s.resume(&alice_id, None).unwrap();
    assert_eq!(a.user(), &alice);
    assert_eq!(s.data(&a).unwrap().unwrap().as_bytes(), b"PHI: alice");
}

/// A repeating generator never gets an id handed out twice, and never frees the id it repeats
/// by deleting first (`docs/session-format.md` §6.2, §6.4): the fresh id is drawn before
/// anything is deleted and refused with `Unavailable` when it equals the pre-login id (a
/// planted, predicted id), names any stored session (one the cap would end, live or
/// expired), or, at a rotation, equals the handle's own id. Nothing is deleted or written,
/// and the old id keeps working. (Before the fix a pre-login or cap deletion freed the key
/// and the login reused it, and the SQL stores "rotated" a row onto its own key.)
fn repeated_ids_are_refused_before_anything_is_deleted<F: Factory>(f: &mut F) {
    let store = f.make();
    let policy = SessionPolicy::builder()
        .max_sessions_per_user(1, CapPolicy::EndOldest)
        .build()
        .unwrap();
    let fx = fixture(&store, policy);
    let s = &fx.sessions;
    let alice = user("alice-repeat");
    let repeating = || ChaCha20Rng::seed_from_u64(4242);
    let drawn = SessionId::generate(&mut repeating());
    let key = drawn.id_hash();
    let copy = |id: &SessionId| SessionId::from_bytes(*id.as_bytes());

    // A pre-login id that is the id the login draws (planted by someone who predicts the
    // generator): refused, no session.
    assert_eq!(
        s.login(&mut repeating(), &alice, Role::Patient, None, Some(&drawn))
            .unwrap_err(),
        Error::Unavailable
    );
    assert!(store.load(&key).unwrap().is_none());
    assert!(s.list(&alice).unwrap().is_empty());

    // Alice's session under that id.
    let est = s
        .login(&mut repeating(), &alice, Role::Patient, None, None)
        .unwrap();
    assert_eq!(est.id_hash(), &key);
    let a = s.activate(est, None).unwrap();
    let row = store.load(&key).unwrap().unwrap();

    // The store itself refuses to "rotate" a row onto its own key (before the fix the SQL
    // stores did it: DELETE + INSERT of the same key, an UPDATE setting the same key).
    let mut moved = row;
    moved.version += 1;
    assert_eq!(
        store
            .rotate(&key, row.version, &key, &moved, &[])
            .unwrap_err(),
        Error::Conflict
    );
    assert_eq!(store.load(&key).unwrap().unwrap(), row, "nothing written");

    // Rotation, elevation and step-down drawing the handle's own id.
    assert_eq!(
        s.rotate(&mut repeating(), a).unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(store.load(&key).unwrap().unwrap(), row, "nothing written");
    let a = s.resume(&drawn, None).unwrap();
    let row = store.load(&key).unwrap().unwrap();
    assert_eq!(row, *a.meta());
    assert_eq!(
        s.elevate(&mut repeating(), a).unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(store.load(&key).unwrap().unwrap(), row);
    let a = s.resume(&drawn, None).unwrap();
    let elevating = || ChaCha20Rng::seed_from_u64(4243);
    let e = s.elevate(&mut elevating(), a).unwrap();
    let elevated_id = copy(e.id());
    let elevated_row = store.load(e.id_hash()).unwrap().unwrap();
    assert_eq!(
        s.step_down(&mut elevating(), e).unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(
        store.load(&elevated_id.id_hash()).unwrap().unwrap(),
        elevated_row
    );
    assert!(store.load(&key).unwrap().is_none(), "rotated away");
    let e = s.resume_elevated(&elevated_id, None).unwrap();
    // Back under the first id (a rotation with the repeating generator).
    let a = s.step_down(&mut repeating(), e).unwrap();
    assert_eq!(a.id_hash(), &key);
    let row = store.load(&key).unwrap().unwrap();

    // A login presenting alice's id as its pre-login id and drawing it again: refused before
    // the pre-login delete.
    assert_eq!(
        s.login(&mut repeating(), &alice, Role::Patient, None, Some(&drawn))
            .unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(store.load(&key).unwrap().unwrap(), row);
    // Another login of alice's: at the cap (1, end oldest) it would end alice's session.
    assert_eq!(
        s.login(&mut repeating(), &alice, Role::Patient, None, None)
            .unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(store.load(&key).unwrap().unwrap(), row);
    assert!(s.resume(&drawn, None).is_ok());
    let row = store.load(&key).unwrap().unwrap();
    // Once alice's session has expired, the cap would delete it as dead: still refused, and
    // the row stays (the sweep or a later login removes it).
    fx.clock.advance(s.policy().timeouts.idle);
    assert_eq!(
        s.login(&mut repeating(), &alice, Role::Patient, None, None)
            .unwrap_err(),
        Error::Unavailable
    );
    assert_eq!(store.load(&key).unwrap().unwrap(), row);
    // A working generator: the login succeeds and its cap ends the expired session.
    let fresh = s
        .login(
            &mut ChaCha20Rng::seed_from_u64(4244),
            &alice,
            Role::Patient,
            None,
            None,
        )
        .unwrap();
    assert!(store.load(&key).unwrap().is_none());
    assert_eq!(s.resume(&drawn, None).unwrap_err(), Error::Rejected);
    assert!(s.activate(fresh, None).is_ok());
}

macro_rules! suite {
    ($f:expr, [$($case:ident),*]) => {{
        $( { eprintln!("-- {}", stringify!($case)); $case($f); } )*
    }};
}

/// An elevated handle is returned (or kept) only while the session is elevated: rotate and
/// set data through an elevated handle whose elevation has lapsed fail with
/// `ElevationRequired` and write nothing; step down still works.
fn lapsed_elevated_handles_are_not_passed_on<F: Factory>(f: &mut F) {
    let mut fx = fixture(f.make(), SessionPolicy::BACKEND_L3);
    let elev = TimeoutPolicy::BACKEND_L3.elevation.as_millis() as u64;
    let s = &fx.sessions;
    let est = s
        .login(
            &mut fx.rng,
            &user("clinician-e"),
            Role::Clinician,
            None,
            None,
        )
        .unwrap();
    let a = s.activate(est, None).unwrap();
    let el = s.elevate(&mut fx.rng, a).unwrap();
    let until = el.meta().elevated_until;
    fx.clock.advance(ms(elev - 1));
    // Still elevated: both work and the elevated handle keeps its deadline.
    let mut el = el;
    s.set_data(&mut fx.rng, &mut el, b"before").unwrap();
    let mut el = s.rotate(&mut fx.rng, el).unwrap();
    assert_eq!(el.meta().elevated_until, until);
    let el_id = SessionId::from_bytes(*el.id().as_bytes());

    // At the deadline (exclusive): refused, nothing written.
    fx.clock.advance(ms(1));
    let before = s.store().load(el.id_hash()).unwrap().unwrap();
    assert_eq!(before, *el.meta());
    assert_eq!(
        s.set_data(&mut fx.rng, &mut el, b"after").unwrap_err(),
        Error::ElevationRequired
    );
    assert_eq!(*el.meta(), before, "the handle is unchanged");
    assert_eq!(s.store().load(el.id_hash()).unwrap().unwrap(), before);
    // Reading needs no elevation.
    assert_eq!(s.data(&el).unwrap().unwrap().as_bytes(), b"before");
    assert_eq!(
        s.rotate(&mut fx.rng, el).unwrap_err(),
        Error::ElevationRequired
    );
    // Nothing was rotated: the id still works, as a plain session.
    assert_eq!(
        s.resume_elevated(&el_id, None).unwrap_err(),
        Error::ElevationRequired
    );
    let a = s.resume(&el_id, None).unwrap();
    assert_eq!(s.data(&a).unwrap().unwrap().as_bytes(), b"before");
    // An active handle of the same session rotates as ever.
    let a = s.rotate(&mut fx.rng, a).unwrap();

    // Step down of a lapsed elevated handle still works (it returns an active handle).
    let el = s.elevate(&mut fx.rng, a).unwrap();
    let el_id = SessionId::from_bytes(*el.id().as_bytes());
    fx.clock.advance(ms(elev - 1));
    let el = s.resume_elevated(&el_id, None).unwrap();
    fx.clock.advance(ms(1));
    let down = s.step_down(&mut fx.rng, el).unwrap();
    assert_eq!(down.meta().elevated_until, Timestamp::ZERO);
    let mut down = s.rotate(&mut fx.rng, down).unwrap();
    s.set_data(&mut fx.rng, &mut down, b"after").unwrap();
}

fn run_all<F: Factory>(f: &mut F)
where
    F::Store: Sync,
{
    suite!(
        f,
        [
            lifecycle_and_boundaries,
            elevation_and_rotation,
            lapsed_elevated_handles_are_not_passed_on,
            logout_fixation_and_caps,
            clock_going_backwards,
            revocation_and_roles,
            binding_and_data_isolation,
            binding_rules,
            stale_handles_read_nothing_after_the_end,
            concurrent_updates,
            sweeping,
            no_trusted_time_ends_nothing,
            revocation_wins_over_other_refusals,
            cap_counts_live_sessions_and_breaks_ties,
            stale_handles_never_overwrite,
            colliding_ids_never_overwrite,
            repeated_ids_are_refused_before_anything_is_deleted
        ]
    );
}

struct Memory;
impl Factory for Memory {
    type Store = MemoryStore;
    fn make(&mut self) -> MemoryStore {
        MemoryStore::with_max_sessions(10_000)
    }
}

#[test]
fn memory_store() {
    run_all(&mut Memory);
}

struct Fixed;
impl Factory for Fixed {
    type Store = FixedStore<8, 256>;
    fn make(&mut self) -> Self::Store {
        FixedStore::new()
    }
}

#[test]
fn fixed_store_no_heap() {
    // FixedStore is single-context (not Sync): everything but the threaded case.
    let f = &mut Fixed;
    suite!(
        f,
        [
            lifecycle_and_boundaries,
            elevation_and_rotation,
            lapsed_elevated_handles_are_not_passed_on,
            logout_fixation_and_caps,
            clock_going_backwards,
            revocation_and_roles,
            binding_rules,
            stale_handles_read_nothing_after_the_end,
            sweeping,
            no_trusted_time_ends_nothing,
            revocation_wins_over_other_refusals,
            cap_counts_live_sessions_and_breaks_ties,
            stale_handles_never_overwrite,
            colliding_ids_never_overwrite,
            repeated_ids_are_refused_before_anything_is_deleted
        ]
    );
    // Data larger than the slot allows is refused, not truncated.
    let mut fx = fixture(FixedStore::<2, 64>::new(), SessionPolicy::BACKEND_L3);
    let e = fx
        .sessions
        .login(&mut fx.rng, &user("p"), Role::Patient, None, None)
        .unwrap();
    let mut a = fx.sessions.activate(e, None).unwrap();
    fx.sessions
        .set_data(&mut fx.rng, &mut a, &[1u8; 36])
        .unwrap();
    assert_eq!(
        fx.sessions
            .set_data(&mut fx.rng, &mut a, &[1u8; 37])
            .unwrap_err(),
        Error::TooLarge
    );
    // Full store: a third user cannot log in until a slot frees.
    fx.sessions
        .login(&mut fx.rng, &user("q"), Role::Patient, None, None)
        .unwrap();
    assert_eq!(
        fx.sessions
            .login(&mut fx.rng, &user("r"), Role::Patient, None, None)
            .unwrap_err(),
        Error::CapacityExhausted
    );
}

#[test]
fn memory_store_bound_and_full_sweep() {
    let mut fx = fixture(MemoryStore::with_max_sessions(3), SessionPolicy::BACKEND_L3);
    for i in 0..3 {
        fx.sessions
            .login(
                &mut fx.rng,
                &user(&format!("m{i}")),
                Role::Patient,
                None,
                None,
            )
            .unwrap();
    }
    assert_eq!(
        fx.sessions
            .login(&mut fx.rng, &user("m9"), Role::Patient, None, None)
            .unwrap_err(),
        Error::CapacityExhausted
    );
    // Once the old ones have expired, a login sweeps them and succeeds.
    fx.clock.advance(TimeoutPolicy::BACKEND_L3.idle);
    fx.sessions
        .login(&mut fx.rng, &user("m9"), Role::Patient, None, None)
        .unwrap();
    assert_eq!(fx.sessions.store().len(), 1);
}

struct Sqlite {
    dir: tempfile::TempDir,
    n: usize,
}
impl Factory for Sqlite {
    type Store = SqliteStore;
    fn make(&mut self) -> SqliteStore {
        self.n += 1;
        SqliteStore::open(
            self.dir.path().join(format!("s{}.db", self.n)),
            RecordKey::from_bytes([0x33; 32]),
        )
        .unwrap()
    }
}

#[test]
fn sqlite_store() {
    run_all(&mut Sqlite {
        dir: tempfile::tempdir().unwrap(),
        n: 0,
    });
}

#[test]
fn policy_requiring_binding() {
    let mut fx = fixture(MemoryStore::new(), SessionPolicy::DEVICE);
    assert_eq!(
        fx.sessions
            .login(&mut fx.rng, &user("p"), Role::Patient, None, None)
            .unwrap_err(),
        Error::InvalidInput
    );
    let ch = ChannelBinding::from_exporter([5; 32]);
    let e = fx
        .sessions
        .login(&mut fx.rng, &user("p"), Role::Patient, Some(&ch), None)
        .unwrap();
    // The device preset allows one paired app: a second one is refused.
    assert_eq!(
        fx.sessions
            .login(&mut fx.rng, &user("p"), Role::Patient, Some(&ch), None)
            .unwrap_err(),
        Error::CapacityExhausted
    );
    let id = SessionId::from_bytes(*e.id().as_bytes());
    fx.sessions.resume(&id, Some(&ch)).unwrap();
    // Device preset boundary: 2 minutes idle.
    fx.clock.advance(Duration::from_secs(120));
    assert_eq!(
        fx.sessions.resume(&id, Some(&ch)).unwrap_err(),
        Error::Rejected
    );
}

/// Every place a raw id could leak to: its bytes and its text form.
fn assert_no_raw_id(haystack: &[u8], ids: &[SessionId]) {
    for id in ids {
        let raw = id.as_bytes();
        let text = id.encode();
        assert!(
            !haystack.windows(32).any(|w| w == raw),
            "raw id bytes at rest"
        );
        assert!(
            !haystack
                .windows(text.as_str().len())
                .any(|w| w == text.as_str().as_bytes()),
            "encoded id at rest"
        );
        // Half of the id would already be too much.
        assert!(
            !haystack.windows(16).any(|w| w == &raw[..16]),
            "partial id at rest"
        );
    }
}

#[test]
fn sqlite_file_holds_only_hashes_and_refuses_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    let store = SqliteStore::open(&path, RecordKey::from_bytes([0x33; 32])).unwrap();
    let mut fx = fixture(store, SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    let mut ids = Vec::new();
    for i in 0..20 {
        let e = s
            .login(
                &mut fx.rng,
                &user(&format!("p{i}")),
                Role::Patient,
                None,
                None,
            )
            .unwrap();
        let mut a = s.activate(e, None).unwrap();
        s.set_data(
            &mut fx.rng,
            &mut a,
            b"glucose-export-cursor=1234; PHI-MARKER",
        )
        .unwrap();
        ids.push(SessionId::from_bytes(*a.id().as_bytes()));
    }
    // Read the database file (and its WAL) byte for byte.
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("sessions.db-wal")) {
        bytes.extend_from_slice(&wal);
    }
    assert_no_raw_id(&bytes, &ids);
    assert!(
        !bytes.windows(10).any(|w| w == b"PHI-MARKER"),
        "session data encrypted at rest"
    );
    // The stored keys are exactly the id hashes.
    for id in &ids {
        assert!(bytes.windows(32).any(|w| w == id.id_hash().as_bytes()));
    }

    // Tampering: swap the records of two sessions, extend one's deadline; all refused.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (h0, h1) = (ids[0].id_hash(), ids[1].id_hash());
    let rec1: Vec<u8> = conn
        .query_row(
            "SELECT record FROM medsec_sessions WHERE id_hash = ?1",
            [h1.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE medsec_sessions SET record = ?1 WHERE id_hash = ?2",
        rusqlite::params![rec1, h0.as_bytes().as_slice()],
    )
    .unwrap();
    assert_eq!(s.resume(&ids[0], None).unwrap_err(), Error::Rejected);
    // Move the absolute deadline (bytes 48..56 of the record) a year ahead.
    let mut rec2: Vec<u8> = conn
        .query_row(
            "SELECT record FROM medsec_sessions WHERE id_hash = ?1",
            [ids[2].id_hash().as_bytes().as_slice()],
            |r| r.get(0),
        )
        .unwrap();
    rec2[50] ^= 0x40;
    conn.execute(
        "UPDATE medsec_sessions SET record = ?1 WHERE id_hash = ?2",
        rusqlite::params![rec2, ids[2].id_hash().as_bytes().as_slice()],
    )
    .unwrap();
    assert_eq!(s.resume(&ids[2], None).unwrap_err(), Error::Rejected);
    // Untouched sessions still work, and a logout wipes the row.
    s.resume(&ids[3], None).unwrap();
    let a = s.resume(&ids[4], None).unwrap();
    s.logout(a).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM medsec_sessions WHERE id_hash = ?1",
            [ids[4].id_hash().as_bytes().as_slice()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
}

/// The SQLite store binds every byte value as a BLOB (`docs/session-format.md` §5.3): after
/// every kind of write, each row's `id_hash`, `user_id` and `record` are BLOBs and its
/// `version` and `expires_at` INTEGERs. It matters: in SQLite a TEXT value never equals a
/// BLOB, so a writer that bound the user id as text would make `DELETE ... WHERE user_id = ?`
/// (logout everywhere, revocation) match nothing.
#[test]
fn sqlite_binds_every_byte_value_as_blob() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("types.db");
    let store = SqliteStore::open(&path, RecordKey::from_bytes([0x33; 32])).unwrap();
    let mut fx = fixture(store, SessionPolicy::BACKEND_L3);
    let s = &fx.sessions;
    let u = user("patient-blob");
    let chan = ChannelBinding::from_exporter([7; 32]);
    let e = s
        .login(&mut fx.rng, &u, Role::Patient, Some(&chan), None)
        .unwrap();
    let mut a = s.activate(e, Some(&chan)).unwrap();
    s.set_data(&mut fx.rng, &mut a, b"PHI: data").unwrap();
    let a = s.rotate(&mut fx.rng, a).unwrap();
    let el = s.elevate(&mut fx.rng, a).unwrap();
    s.login(&mut fx.rng, &u, Role::Patient, None, None).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let types: Vec<[String; 5]> = conn
        .prepare(
            "SELECT typeof(id_hash), typeof(user_id), typeof(version), typeof(expires_at),
                    typeof(record) FROM medsec_sessions",
        )
        .unwrap()
        .query_map([], |r| {
            Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
        })
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(types.len(), 2);
    for t in &types {
        assert_eq!(
            t,
            &["blob", "blob", "integer", "integer", "blob"].map(String::from)
        );
    }
    // The same user id bound as TEXT matches no row; as a BLOB it matches both.
    let count = |sql: &str, v: &dyn rusqlite::ToSql| -> i64 {
        conn.query_row(sql, [v], |r| r.get(0)).unwrap()
    };
    let q = "SELECT count(*) FROM medsec_sessions WHERE user_id = ?1";
    assert_eq!(count(q, &"patient-blob"), 0);
    assert_eq!(count(q, &b"patient-blob".as_slice()), 2);
    assert_eq!(s.logout_everywhere(&u).unwrap(), 2);
    drop(el);
}

mod pg {
    use super::*;
    use medsec_session::store::PostgresStore;
    use medsec_testkit::PgCluster;

    struct Pg<'a> {
        cluster: &'a PgCluster,
        n: usize,
    }

    impl Factory for Pg<'_> {
        type Store = PostgresStore;
        fn make(&mut self) -> PostgresStore {
            // A fresh database per case.
            self.n += 1;
            let db = format!("case{}", self.n);
            let mut admin =
                postgres::Client::connect(&self.cluster.connection_string(), postgres::NoTls)
                    .unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {db}"))
                .unwrap();
            let params = self
                .cluster
                .connection_string()
                .replace("dbname=postgres", &format!("dbname={db}"));
            PostgresStore::connect_local(&params, RecordKey::from_bytes([0x44; 32])).unwrap()
        }
    }

    #[test]
    fn postgres_store() {
        let Some(cluster) = PgCluster::start() else {
            return;
        };
        let mut f = Pg {
            cluster: &cluster,
            n: 0,
        };
        run_all(&mut f);

        // Several server instances (separate connections) share sessions: a session made on
        // one resumes on another, and logout on the second is seen by the first.
        let key = || RecordKey::from_bytes([0x44; 32]);
        let params = cluster.connection_string();
        let a = PostgresStore::connect_local(&params, key()).unwrap();
        let b = PostgresStore::connect_local(&params, key()).unwrap();
        let mut fa = fixture(a, SessionPolicy::BACKEND_L3);
        let fb = Sessions::with_revocation(
            b,
            fa.clock.clone(),
            fa.revocation.clone(),
            DataSecret::from_bytes([0x42; 32]),
            SessionPolicy::BACKEND_L3,
        )
        .unwrap();
        let e = fa
            .sessions
            .login(&mut fa.rng, &user("shared"), Role::Clinician, None, None)
            .unwrap();
        let mut act = fa.sessions.activate(e, None).unwrap();
        fa.sessions
            .set_data(&mut fa.rng, &mut act, b"PHI-MARKER across instances")
            .unwrap();
        let id = SessionId::from_bytes(*act.id().as_bytes());
        let on_b = fb.resume(&id, None).unwrap();
        assert_eq!(
            fb.data(&on_b).unwrap().unwrap().as_bytes(),
            b"PHI-MARKER across instances"
        );

        // Hashed ids at rest: dump the whole table as bytes.
        let mut client = postgres::Client::connect(&params, postgres::NoTls).unwrap();
        let mut dump = Vec::new();
        for row in client
            .query("SELECT id_hash, user_id, record FROM medsec_sessions", &[])
            .unwrap()
        {
            for i in 0..3 {
                dump.extend_from_slice(&row.get::<_, Vec<u8>>(i));
            }
        }
        assert_no_raw_id(&dump, &[SessionId::from_bytes(*id.as_bytes())]);
        assert!(dump.windows(32).any(|w| w == id.id_hash().as_bytes()));
        assert!(!dump.windows(10).any(|w| w == b"PHI-MARKER"));

        // And on disk: the table's heap and index files and the write-ahead log, after a
        // checkpoint, byte for byte.
        client.batch_execute("CHECKPOINT").unwrap();
        let data_dir: String = client.query_one("SHOW data_directory", &[]).unwrap().get(0);
        let data_dir = std::path::PathBuf::from(data_dir);
        let mut disk = Vec::new();
        let mut files = 0;
        for rel in [
            "medsec_sessions",
            "medsec_sessions_pkey",
            "medsec_sessions_user",
        ] {
            let p: String = client
                .query_one("SELECT pg_relation_filepath($1::text::regclass)", &[&rel])
                .unwrap()
                .get(0);
            disk.extend_from_slice(&std::fs::read(data_dir.join(p)).unwrap());
            files += 1;
        }
        for wal in std::fs::read_dir(data_dir.join("pg_wal")).unwrap() {
            let wal = wal.unwrap().path();
            if wal.is_file() {
                disk.extend_from_slice(&std::fs::read(&wal).unwrap());
                files += 1;
            }
        }
        assert!(files >= 4, "heap, indexes and WAL read");
        assert_no_raw_id(&disk, &[SessionId::from_bytes(*id.as_bytes())]);
        assert!(
            disk.windows(32).any(|w| w == id.id_hash().as_bytes()),
            "the id hash is what is on disk"
        );
        assert!(!disk.windows(10).any(|w| w == b"PHI-MARKER"));
        fb.logout(on_b).unwrap();
        assert_eq!(fa.sessions.resume(&id, None).unwrap_err(), Error::Rejected);
    }

    #[test]
    fn postgres_outage_fails_closed_and_recovers_without_loss() {
        let Some(cluster) = PgCluster::start() else {
            return;
        };
        let store = PostgresStore::connect_local(
            &cluster.connection_string(),
            RecordKey::from_bytes([0x55; 32]),
        )
        .unwrap();
        let mut fx = fixture(store, SessionPolicy::BACKEND_L3);
        let s = &fx.sessions;
        let mut ids = Vec::new();
        for i in 0..10 {
            let e = s
                .login(
                    &mut fx.rng,
                    &user(&format!("p{i}")),
                    Role::Patient,
                    None,
                    None,
                )
                .unwrap();
            let mut a = s.activate(e, None).unwrap();
            s.set_data(&mut fx.rng, &mut a, format!("cart-{i}").as_bytes())
                .unwrap();
            ids.push(SessionId::from_bytes(*a.id().as_bytes()));
        }
        // Requests running in other threads while the server goes away.
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (granted_during, denied_during) = std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let (mut ok, mut denied) = (0u32, 0u32);
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    for id in &ids {
                        match s.resume(id, None) {
                            Ok(_) => ok += 1,
                            Err(Error::Unavailable) => denied += 1,
                            Err(e) => panic!("during outage: {e:?} (must be Unavailable)"),
                        }
                    }
                }
                (ok, denied)
            });
            std::thread::sleep(Duration::from_millis(200));
            cluster.stop();
            // While down: every request is denied, logins fail, nothing is granted.
            for id in &ids {
                assert_eq!(s.resume(id, None).unwrap_err(), Error::Unavailable);
            }
            assert_eq!(
                s.login(
                    &mut ChaCha20Rng::seed_from_u64(1),
                    &user("new"),
                    Role::Patient,
                    None,
                    None
                )
                .unwrap_err(),
                Error::Unavailable
            );
            assert_eq!(
                s.logout_everywhere(&user("p1")).unwrap_err(),
                Error::Unavailable
            );
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            worker.join().unwrap()
        });
        assert!(
            granted_during > 0 && denied_during > 0,
            "{granted_during} {denied_during}"
        );
        cluster.restart();
        // After restart: every session resumes with its data (none lost, none resurrected).
        for (i, id) in ids.iter().enumerate() {
            let a = s.resume(id, None).unwrap();
            assert_eq!(
                s.data(&a).unwrap().unwrap().as_bytes(),
                format!("cart-{i}").as_bytes()
            );
        }
        let a = s.resume(&ids[0], None).unwrap();
        s.logout(a).unwrap();
        assert_eq!(s.resume(&ids[0], None).unwrap_err(), Error::Rejected);
    }

    /// Backends on the server waiting for a lock (polled, never timed).
    fn wait_for_lock_waiters(client: &mut postgres::Client, n: i64) {
        loop {
            let row = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                    &[],
                )
                .unwrap();
            if row.get::<_, i64>(0) >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// An id rotation on one instance racing a logout-everywhere on another: whichever
    /// the database orders first, no session of the user outlives the logout. (Rotation
    /// used to delete the old row and insert a new one; a concurrent `DELETE ... WHERE
    /// user_id` at READ COMMITTED could not see the new row and let it survive.)
    #[test]
    fn postgres_rotation_racing_logout_everywhere_leaves_nothing() {
        let Some(cluster) = PgCluster::start() else {
            return;
        };
        let params = cluster.connection_string();
        let key = || RecordKey::from_bytes([0x66; 32]);
        let mut fa = fixture(
            PostgresStore::connect_local(&params, key()).unwrap(),
            SessionPolicy::BACKEND_L3,
        );
        let fb = Sessions::with_revocation(
            PostgresStore::connect_local(&params, key()).unwrap(),
            fa.clock.clone(),
            fa.revocation.clone(),
            DataSecret::from_bytes([0x42; 32]),
            SessionPolicy::BACKEND_L3,
        )
        .unwrap();
        let u = user("patient-race");
        let e = fa
            .sessions
            .login(&mut fa.rng, &u, Role::Patient, None, None)
            .unwrap();
        let a = fa.sessions.activate(e, None).unwrap();
        let hash = *a.id_hash();

        // A third connection holds the row lock so both operations queue behind it in a
        // known order: the rotation first, then the logout-everywhere.
        let mut blocker = postgres::Client::connect(&params, postgres::NoTls).unwrap();
        let mut watcher = postgres::Client::connect(&params, postgres::NoTls).unwrap();
        let mut tx = blocker.transaction().unwrap();
        tx.query(
            "SELECT 1 FROM medsec_sessions WHERE id_hash = $1 FOR UPDATE",
            &[&hash.as_bytes().as_slice()],
        )
        .unwrap();
        let (rotated, ended) = std::thread::scope(|scope| {
            let sa = &fa.sessions;
            let rotation = scope.spawn(move || {
                let mut rng = ChaCha20Rng::seed_from_u64(77);
                sa.rotate(&mut rng, a)
                    .map(|s| SessionId::from_bytes(*s.id().as_bytes()))
            });
            wait_for_lock_waiters(&mut watcher, 1);
            let fb = &fb;
            let u = &u;
            let logout = scope.spawn(move || fb.logout_everywhere(u));
            wait_for_lock_waiters(&mut watcher, 2);
            tx.commit().unwrap();
            (rotation.join().unwrap(), logout.join().unwrap())
        });
        let ended = ended.unwrap();
        assert_eq!(ended, 1, "the session existed when logout-everywhere began");
        if let Ok(new_id) = rotated {
            assert_eq!(
                fa.sessions.resume(&new_id, None).unwrap_err(),
                Error::Rejected,
                "a rotated session survived logout-everywhere"
            );
        }
        let mut left = 0;
        fa.sessions
            .store()
            .for_each_of_user(&u, &mut |_, _| left += 1)
            .unwrap();
        assert_eq!(left, 0, "no session of the user may remain");
    }
}

/// Several connections (as several server instances would hold) racing on one session:
/// the compare-and-swap is the database's conditional UPDATE, not a process-local lock.
fn counter_race_across_connections<S: SessionStore + Send + Sync>(stores: Vec<S>) {
    const PER_THREAD: u64 = 15;
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let revocation: Revocation = Arc::default();
    let managers: Vec<_> = stores
        .into_iter()
        .map(|st| {
            Sessions::with_revocation(
                st,
                clock.clone(),
                revocation.clone(),
                DataSecret::from_bytes([0x42; 32]),
                SessionPolicy::BACKEND_L3,
            )
            .unwrap()
        })
        .collect();
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let e = managers[0]
        .login(&mut rng, &user("shared-counter"), Role::Patient, None, None)
        .unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    let mut a = managers[0].activate(e, None).unwrap();
    managers[0]
        .set_data(&mut rng, &mut a, &0u64.to_be_bytes())
        .unwrap();
    let conflicts = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for (t, m) in managers.iter().enumerate() {
            let id = SessionId::from_bytes(*id.as_bytes());
            let conflicts = &conflicts;
            scope.spawn(move || {
                let mut rng = ChaCha20Rng::seed_from_u64(200 + t as u64);
                let mut done = 0;
                while done < PER_THREAD {
                    let mut s = match m.resume(&id, None) {
                        Ok(s) => s,
                        Err(Error::Conflict) => continue,
                        Err(e) => panic!("resume: {e:?}"),
                    };
                    let Ok(Some(d)) = m.data(&s) else { continue };
                    let n = u64::from_be_bytes(d.as_bytes().try_into().unwrap());
                    match m.set_data(&mut rng, &mut s, &(n + 1).to_be_bytes()) {
                        Ok(()) => done += 1,
                        Err(Error::Conflict) => {
                            conflicts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(e) => panic!("set_data: {e:?}"),
                    }
                }
            });
        }
    });
    let s = managers[1].resume(&id, None).unwrap();
    let n = u64::from_be_bytes(
        managers[1]
            .data(&s)
            .unwrap()
            .unwrap()
            .as_bytes()
            .try_into()
            .unwrap(),
    );
    assert_eq!(
        n,
        managers.len() as u64 * PER_THREAD,
        "no update lost across connections"
    );
    eprintln!(
        "   lost compare-and-swaps retried: {}",
        conflicts.into_inner()
    );
}

#[test]
fn sqlite_several_connections_race_without_losing_updates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let stores = (0..3)
        .map(|_| SqliteStore::open(&path, RecordKey::from_bytes([0x33; 32])).unwrap())
        .collect();
    counter_race_across_connections(stores);
}

#[test]
fn postgres_several_connections_race_without_losing_updates() {
    let Some(cluster) = medsec_testkit::PgCluster::start() else {
        return;
    };
    let stores = (0..3)
        .map(|_| {
            store::PostgresStore::connect_local(
                &cluster.connection_string(),
                RecordKey::from_bytes([0x44; 32]),
            )
            .unwrap()
        })
        .collect();
    counter_race_across_connections(stores);
}

#[test]
fn no_trusted_time_fails_closed() {
    use std::cell::Cell;
    // A platform clock that loses its wall time (RTC reset) half way.
    #[derive(Default)]
    struct Flaky(Cell<Option<u64>>);
    impl medsec_token::Clock for &Flaky {
        fn unix_time(&self) -> Option<u64> {
            self.0.get()
        }
    }
    let flaky = Flaky(Cell::new(Some(T0 / 1000)));
    let revocation: Revocation = Arc::default();
    let s = Sessions::with_revocation(
        MemoryStore::new(),
        TokenClock(&flaky),
        revocation.clone(),
        DataSecret::from_bytes([1; 32]),
        SessionPolicy::BACKEND_L3,
    )
    .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let u = user("patient-rtc");
    let e = s.login(&mut rng, &u, Role::Patient, None, None).unwrap();
    let id = SessionId::from_bytes(*e.id().as_bytes());
    s.resume(&id, None).unwrap();
    flaky.0.set(None);
    // Refused, not ended: the session survives the clock fault.
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Unavailable);
    assert!(s.store().load(&id.id_hash()).unwrap().is_some());
    assert_eq!(
        s.login(&mut rng, &u, Role::Patient, None, None)
            .unwrap_err(),
        Error::Unavailable
    );
    // Revocation is an explicit order: it still deletes the user's sessions, but reports
    // itself incomplete, and no far-future epoch is written.
    assert_eq!(s.revoke_user(&u).unwrap_err(), Error::Unavailable);
    assert!(s.store().load(&id.id_hash()).unwrap().is_none());
    assert_eq!(
        revocation.read().unwrap().subject_epoch("patient-rtc"),
        RevocationEpoch::ZERO
    );
    flaky.0.set(Some(T0 / 1000 + 10));
    s.login(&mut rng, &u, Role::Patient, None, None).unwrap();
}
