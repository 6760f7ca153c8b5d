//! Throttle schedule through the login path, with an injected clock (milliseconds passed in).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

use std::cell::Cell;

use medsec_credential::hash::hazmat;
use medsec_credential::throttle::{
    self, Admission, FixedThrottleStore, MemoryThrottleStore, Schedule, ThrottleKey, ThrottleKeyer,
    ThrottleRecord, ThrottleStore,
};
use medsec_credential::{
    Attempt, Error, HashParams, LockoutHook, LoginGuard, Password, PasswordHasher, Protected,
};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;

fn cheap_hasher() -> PasswordHasher {
    hazmat::hasher_below_minimum(HashParams::new(64, 1, 1).unwrap()).unwrap()
}

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(1)
}

struct World {
    hasher: PasswordHasher,
    keyer: ThrottleKeyer,
    stored: String,
}

impl World {
    fn new() -> Self {
        let hasher = cheap_hasher();
        let stored = hasher
            .hash(&Password::new("right password").unwrap(), &mut rng())
            .unwrap()
            .as_str()
            .to_owned();
        Self {
            hasher,
            keyer: ThrottleKeyer::new([3; 32]),
            stored,
        }
    }

    fn attempt<'a>(&'a self, name: &str, known: bool) -> Attempt<'a> {
        Attempt {
            account: self.keyer.account(name.as_bytes()),
            source: None,
            stored_hash: known.then_some(self.stored.as_str()),
            protects: Protected::PatientData,
        }
    }
}

fn wrong() -> Password {
    Password::new("wrong password").unwrap()
}

fn right() -> Password {
    Password::new("right password").unwrap()
}

#[test]
fn account_schedule_free_failures_then_doubling_then_lock() {
    let w = World::new();
    let store = MemoryThrottleStore::with_capacity(1000).unwrap();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng()).unwrap();
    let a = w.attempt("alice", true);
    let mut now = 1_000_000u64;
    // Five free failures.
    for _ in 0..5 {
        assert_eq!(guard.attempt(&a, &wrong(), now), Err(Error::NotVerified));
    }
    // The sixth failure is admitted at once; after it, wait 1 s.
    assert_eq!(guard.attempt(&a, &wrong(), now), Err(Error::NotVerified));
    assert_eq!(
        guard.attempt(&a, &right(), now + 999),
        Err(Error::Throttled {
            retry_at_ms: now + 1_000
        })
    );
    // A refused attempt does not count and does not move the deadline.
    assert_eq!(store.load(&a.account).unwrap().failures, 6);
    now += 1_000;
    assert_eq!(guard.attempt(&a, &wrong(), now), Err(Error::NotVerified));
    assert_eq!(
        guard.attempt(&a, &wrong(), now + 1_999),
        Err(Error::Throttled {
            retry_at_ms: now + 2_000
        })
    );
    // Run failures up to 100 at the allowed times, checking each delay.
    let mut failures = 7u32;
    while failures < 100 {
        let delay = Schedule::ACCOUNT.delay_after(failures);
        now += delay;
        assert_eq!(
            guard.attempt(&a, &wrong(), now),
            Err(Error::NotVerified),
            "#{failures}"
        );
        failures += 1;
    }
    assert_eq!(Schedule::ACCOUNT.delay_after(99), 900_000);
    // Locked: even the right password, even much later, until an out-of-band unlock.
    assert_eq!(
        guard.attempt(&a, &right(), now + 10_000_000_000),
        Err(Error::LockedOut)
    );
    guard.unlock(&a.account).unwrap();
    assert!(guard.attempt(&a, &right(), now + 10_000_000_001).is_ok());
}

#[test]
fn password_change_needs_the_current_password_and_a_good_new_one() {
    let w = World::new();
    let store = MemoryThrottleStore::with_capacity(1000).unwrap();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng()).unwrap();
    let a = w.attempt("erin", true);
    let policy = medsec_credential::PasswordPolicy::WITH_SECOND_FACTOR;
    let new = Password::new("amber teapot on the landing").unwrap();
    // Wrong current password: refused, and counted like any failed login.
    assert_eq!(
        guard.change_password(&a, &wrong(), &new, &policy, &[], 1, &mut rng()),
        Err(Error::NotVerified)
    );
    assert_eq!(store.load(&a.account).unwrap().failures, 1);
    // Weak new password: typed rejection.
    let weak = Password::new("password").unwrap();
    assert_eq!(
        guard.change_password(&a, &right(), &weak, &policy, &[], 2, &mut rng()),
        Err(Error::Rejected(medsec_credential::Rejection::Common))
    );
    let phc = guard
        .change_password(&a, &right(), &new, &policy, &["erin"], 3, &mut rng())
        .unwrap();
    assert!(w.hasher.verify(&new, phc.as_str()).is_ok());
    assert_eq!(
        w.hasher.verify(&right(), phc.as_str()),
        Err(Error::NotVerified)
    );
}

#[test]
fn success_resets_and_is_not_counted() {
    let w = World::new();
    let store = MemoryThrottleStore::with_capacity(1000).unwrap();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng()).unwrap();
    let a = w.attempt("bob", true);
    for t in 0..4 {
        assert_eq!(guard.attempt(&a, &wrong(), t), Err(Error::NotVerified));
    }
    assert!(guard.attempt(&a, &right(), 10).is_ok());
    assert_eq!(store.load(&a.account).unwrap(), ThrottleRecord::CLEAR);
    assert!(store.is_empty());
}

/// The answers for a name depend only on its history, not on whether the account exists.
#[test]
fn unknown_users_answer_exactly_like_known_ones() {
    let w = World::new();
    let store = FixedThrottleStore::<64>::new();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng())
        .unwrap()
        .with_account_schedule(Schedule::DEVICE_PIN);
    let known = w.attempt("carol", true);
    let unknown = w.attempt("mallory", false);
    let times: Vec<u64> = (0..60).map(|i| i * 90_000 + (i % 3) * 7).collect();
    let mut answers = (Vec::new(), Vec::new());
    for &t in &times {
        answers.0.push(guard.attempt(&known, &wrong(), t));
        answers.1.push(guard.attempt(&unknown, &wrong(), t));
    }
    assert_eq!(answers.0, answers.1);
    assert!(answers.0.contains(&Err(Error::LockedOut)));
    assert!(answers
        .0
        .iter()
        .any(|a| matches!(a, Err(Error::Throttled { .. }))));
    // Even the right password of the known account is refused once locked.
    assert_eq!(
        guard.attempt(&known, &right(), 10_000_000),
        Err(Error::LockedOut)
    );
    // An unknown user with "the right password" of someone else is just not verified.
    let fresh_unknown = w.attempt("nobody", false);
    assert_eq!(
        guard.attempt(&fresh_unknown, &right(), 0),
        Err(Error::NotVerified)
    );
}

#[test]
fn device_pin_preset_allows_at_most_ten_attempts_and_calls_the_wipe_hook() {
    struct Wipe(Cell<u32>);
    impl LockoutHook for Wipe {
        fn locked_out(&self, _: &ThrottleKey, protected: Protected) {
            assert_eq!(protected, Protected::Settings);
            self.0.set(self.0.get() + 1);
        }
    }
    let wipe = Wipe(Cell::new(0));
    let w = World::new();
    let store = FixedThrottleStore::<16>::new();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng())
        .unwrap()
        .with_account_schedule(Schedule::DEVICE_PIN)
        .with_lockout_hook(&wipe);
    let a = Attempt {
        protects: Protected::Settings,
        ..w.attempt("device", true)
    };
    let mut now = 0u64;
    let mut admitted = 0;
    let mut last_delay = 0;
    for _ in 0..1000 {
        match guard.attempt(&a, &wrong(), now) {
            Err(Error::NotVerified) => {
                admitted += 1;
                // The hook runs when the tenth failure is answered, not before.
                assert_eq!(wipe.0.get(), u32::from(admitted == 10));
            }
            Err(Error::Throttled { retry_at_ms }) => {
                let delay = retry_at_ms - now;
                assert!(delay >= last_delay || delay < 30_000, "delays grow");
                last_delay = delay;
                now = retry_at_ms;
                continue;
            }
            Err(Error::LockedOut) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(admitted, 10);
    // And again for the attempt refused as locked (see `LockoutHook`: a power cut during the
    // tenth verification must not skip it).
    assert_eq!(wipe.0.get(), 2);
    let delays: Vec<u64> = (0..=10)
        .map(|f| Schedule::DEVICE_PIN.delay_after(f))
        .collect();
    assert_eq!(
        delays,
        [0, 0, 0, 0, 30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000]
    );
}

#[test]
fn right_password_on_the_last_attempt_does_not_lock_or_wipe() {
    struct Wipe(Cell<u32>);
    impl LockoutHook for Wipe {
        fn locked_out(&self, _: &ThrottleKey, _: Protected) {
            self.0.set(self.0.get() + 1);
        }
    }
    let wipe = Wipe(Cell::new(0));
    let w = World::new();
    let store = FixedThrottleStore::<16>::new();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng())
        .unwrap()
        .with_account_schedule(Schedule::DEVICE_PIN)
        .with_lockout_hook(&wipe);
    let a = w.attempt("device", true);
    let mut now = 0;
    for _ in 0..9 {
        now += 10_000_000;
        assert_eq!(guard.attempt(&a, &wrong(), now), Err(Error::NotVerified));
    }
    now += 10_000_000;
    assert!(guard.attempt(&a, &right(), now).is_ok());
    assert_eq!(wipe.0.get(), 0);
    assert!(store.is_empty());
}

#[test]
fn source_throttling_is_separate_and_not_reset_by_success() {
    let w = World::new();
    let store = MemoryThrottleStore::with_capacity(1000).unwrap();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng())
        .unwrap()
        .with_source_schedule(Schedule::new(2, 5_000, 60_000, None, Some(3_600_000)).unwrap());
    let phone = w.keyer.source(b"phone-17");
    // Spraying different accounts from one source: the source throttles after 2 free failures.
    for (i, name) in ["u1", "u2"].iter().enumerate() {
        let a = Attempt {
            source: Some(phone),
            ..w.attempt(name, false)
        };
        assert_eq!(
            guard.attempt(&a, &wrong(), i as u64),
            Err(Error::NotVerified)
        );
    }
    let a3 = Attempt {
        source: Some(phone),
        ..w.attempt("u3", false)
    };
    assert_eq!(guard.attempt(&a3, &wrong(), 2), Err(Error::NotVerified));
    assert_eq!(
        guard.attempt(&a3, &wrong(), 3),
        Err(Error::Throttled { retry_at_ms: 5_002 })
    );
    // The refused attempt counted nothing on the account.
    assert_eq!(store.load(&a3.account).unwrap().failures, 1);
    // A success from the source resets the account; the source gets back only the count this
    // attempt added, so its three failures stay (it was 4 before successes were refunded).
    let good = Attempt {
        source: Some(phone),
        ..w.attempt("alice", true)
    };
    assert!(guard.attempt(&good, &right(), 5_002).is_ok());
    // Nothing else changed the source since this attempt's count, so the refund restores the
    // record as it was, time included: the success neither restarts the wait nor postpones
    // the forgetting.
    assert_eq!(
        store.load(&phone).unwrap(),
        ThrottleRecord {
            failures: 3,
            last_failure_ms: 2
        }
    );
    // Source failures are forgotten after an hour of quiet.
    assert_eq!(
        Schedule::new(2, 5_000, 60_000, None, Some(3_600_000))
            .unwrap()
            .admit(&store.load(&phone).unwrap(), 2 + 3_600_000),
        Admission::Allowed
    );
}

#[test]
fn clock_going_backwards_never_shortens_a_wait() {
    let s = Schedule::ACCOUNT;
    let r = ThrottleRecord {
        failures: 8,
        last_failure_ms: 1_000_000,
    };
    // After a reboot the boot-relative clock reads 5 s: the full 4 s delay runs from there.
    assert_eq!(s.admit(&r, 5_000), Admission::Wait { retry_at_ms: 9_000 });
    assert_eq!(
        s.admit(&r, 1_003_999),
        Admission::Wait {
            retry_at_ms: 1_004_000
        }
    );
    assert_eq!(s.admit(&r, 1_004_000), Admission::Allowed);
}

#[test]
fn store_failure_fails_closed_without_verifying() {
    struct Broken;
    impl ThrottleStore for Broken {
        fn load(&self, _: &ThrottleKey) -> medsec_credential::Result<ThrottleRecord> {
            Ok(ThrottleRecord::CLEAR)
        }
        fn compare_and_swap(
            &self,
            _: &ThrottleKey,
            _: &ThrottleRecord,
            _: &ThrottleRecord,
        ) -> medsec_credential::Result<bool> {
            Err(Error::Store)
        }
    }
    let w = World::new();
    let guard = LoginGuard::new(&w.hasher, &Broken, &mut rng()).unwrap();
    // Even the right password is refused: the attempt could not be counted first.
    assert_eq!(
        guard.attempt(&w.attempt("alice", true), &right(), 0),
        Err(Error::Store)
    );
}

#[test]
fn throttle_keys_do_not_reveal_names_in_debug() {
    let k = ThrottleKeyer::new([1; 32]);
    let shown = format!("{:?} {:?}", k.account(b"alice@example.org"), k);
    assert!(!shown.contains("alice"), "{shown}");
}

proptest! {
    /// Invariants of the schedule over arbitrary event sequences: failures never exceed the hard
    /// limit, a refused attempt never changes the record, waits never exceed the cap.
    #[test]
    fn schedule_invariants(events in prop::collection::vec((0u64..2_000_000, any::<bool>()), 1..200)) {
        let s = Schedule::DEVICE_PIN;
        let store = FixedThrottleStore::<4>::new();
        let key = ThrottleKey::from_bytes([9; 16]);
        let mut now = 0u64;
        for (dt, success) in events {
            now += dt;
            let before = store.load(&key).unwrap();
            match throttle::begin(&store, &key, &s, now) {
                Ok(counted) => {
                    prop_assert_eq!(counted.failures, before.failures + 1);
                    prop_assert!(counted.failures <= s.hard_limit().unwrap());
                    if success { throttle::clear(&store, &key).unwrap(); }
                }
                Err(Error::Throttled { retry_at_ms }) => {
                    prop_assert!(retry_at_ms > now);
                    prop_assert!(retry_at_ms - now <= 1_800_000);
                    prop_assert_eq!(store.load(&key).unwrap(), before);
                }
                Err(Error::LockedOut) => {
                    prop_assert_eq!(before.failures, s.hard_limit().unwrap());
                    prop_assert_eq!(store.load(&key).unwrap(), before);
                }
                Err(e) => prop_assert!(false, "{e:?}"),
            }
        }
    }
}

/// A clock that went back (a device reboot with a boot-relative clock) restarts the wait from the
/// new clock: the `retry_at_ms` the caller is given is honoured, not moved on at every retry
/// until the clock catches up with the old last failure.
#[test]
fn after_the_clock_went_back_the_wait_ends_at_the_time_given() {
    let s = Schedule::ACCOUNT;
    let store = MemoryThrottleStore::with_capacity(100).unwrap();
    let key = ThrottleKey::from_bytes([4; 16]);
    // Eight failures, the last at 1,000 s of the old clock: the next wait is 4 s.
    for i in 0..8u64 {
        throttle::begin(&store, &key, &s, 900_000 + i * 100_000).unwrap();
    }
    assert_eq!(store.load(&key).unwrap().last_failure_ms, 1_600_000);
    // Reboot: the clock now reads 5 s.
    assert_eq!(
        throttle::begin(&store, &key, &s, 5_000),
        Err(Error::Throttled { retry_at_ms: 9_000 })
    );
    // Retrying at the time given is admitted (and counted at the new clock).
    let counted = throttle::begin(&store, &key, &s, 9_000).unwrap();
    assert_eq!(counted.failures, 9);
    assert_eq!(counted.last_failure_ms, 9_000);
    // The same for a key that is only checked (a source before the account is counted).
    let source = ThrottleKey::from_bytes([5; 16]);
    let src = Schedule::new(0, 4_000, 60_000, None, Some(3_600_000)).unwrap();
    throttle::begin(&store, &source, &src, 1_000_000).unwrap();
    assert_eq!(
        throttle::peek(&store, &source, &src, 5_000),
        Err(Error::Throttled { retry_at_ms: 9_000 })
    );
    assert_eq!(throttle::peek(&store, &source, &src, 9_000), Ok(()));
    // Never shorter than a full delay from the new clock.
    assert_eq!(
        throttle::peek(&store, &source, &src, 8_999),
        Err(Error::Throttled { retry_at_ms: 9_000 })
    );
}

/// A known account whose stored hash is malformed or over the ceilings takes the unknown-user
/// path: the dummy hash is verified (same work, same failure modes) and the answer is the one
/// opaque `NotVerified`.
#[test]
fn a_broken_stored_hash_answers_exactly_like_an_unknown_user() {
    use medsec_credential::hash::Block;
    let w = World::new();
    let store = MemoryThrottleStore::with_capacity(1000).unwrap();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng()).unwrap();
    let over_limit = w.stored.replace("m=64,", "m=4194304,");
    assert!(over_limit.contains("m=4194304,"), "{over_limit}");
    let truncated = &w.stored[..w.stored.len() - 3];
    for (i, broken) in ["", "not a hash", truncated, over_limit.as_str()]
        .into_iter()
        .enumerate()
    {
        let known = Attempt {
            stored_hash: Some(broken),
            ..w.attempt(&format!("broken-{i}"), true)
        };
        let unknown = w.attempt(&format!("unknown-{i}"), false);
        let t = 1_000 + i as u64;
        assert_eq!(
            guard.attempt(&known, &right(), t),
            Err(Error::NotVerified),
            "{broken}"
        );
        assert_eq!(
            guard.attempt(&unknown, &right(), t),
            Err(Error::NotVerified)
        );
        // The dummy really runs: in memory too small for it, both fail the same way.
        let mut tiny = vec![Block::new(); 8];
        assert_eq!(
            guard.attempt_with_memory(&known, &right(), t, &mut tiny),
            guard.attempt_with_memory(&unknown, &right(), t, &mut tiny),
        );
        assert_eq!(
            guard.attempt_with_memory(&known, &right(), t, &mut tiny),
            Err(Error::MemoryTooSmall)
        );
        // And each of the three attempts is counted like any other failure.
        assert_eq!(store.load(&known.account).unwrap().failures, 3);
    }
}

/// The lockout hook cannot be skipped by cutting the power between counting the attempt that
/// reaches the hard limit and the end of its verification: the next attempt, refused as locked,
/// runs it.
#[test]
fn the_lockout_hook_runs_even_if_the_limit_was_reached_without_an_answer() {
    struct Wipe(Cell<u32>);
    impl LockoutHook for Wipe {
        fn locked_out(&self, _: &ThrottleKey, _: Protected) {
            self.0.set(self.0.get() + 1);
        }
    }
    let w = World::new();
    let store = FixedThrottleStore::<16>::new();
    let a = w.attempt("device", true);
    let mut now = 0;
    {
        let guard = LoginGuard::new(&w.hasher, &store, &mut rng())
            .unwrap()
            .with_account_schedule(Schedule::DEVICE_PIN);
        for _ in 0..9 {
            now += 10_000_000;
            assert_eq!(guard.attempt(&a, &wrong(), now), Err(Error::NotVerified));
        }
    }
    // The tenth attempt is counted, then the power goes before the PIN is checked.
    now += 10_000_000;
    throttle::begin(&store, &a.account, &Schedule::DEVICE_PIN, now).unwrap();
    // After the reboot.
    let wipe = Wipe(Cell::new(0));
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng())
        .unwrap()
        .with_account_schedule(Schedule::DEVICE_PIN)
        .with_lockout_hook(&wipe);
    assert_eq!(guard.attempt(&a, &right(), now + 1), Err(Error::LockedOut));
    assert_eq!(wipe.0.get(), 1);
}

/// `Debug` of an attempt must not print the stored hash (salt and tag are what a cracker needs).
#[test]
fn attempt_debug_does_not_print_the_stored_hash() {
    let w = World::new();
    let a = w.attempt("alice", true);
    let shown = format!("{a:?}");
    let tail = w.stored.rsplit('$').next().unwrap();
    assert!(!shown.contains(tail), "{shown}");
    let salt = w.stored.rsplit('$').nth(1).unwrap();
    assert!(!shown.contains(salt), "{shown}");
}

/// Alternating sources does not spread an account's failures: the account locks at its limit.
#[test]
fn alternating_sources_cannot_bypass_the_account_limit() {
    let w = World::new();
    let store = MemoryThrottleStore::with_capacity(1000).unwrap();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng())
        .unwrap()
        .with_account_schedule(Schedule::DEVICE_PIN);
    let mut admitted = 0;
    for i in 0..100u64 {
        let a = Attempt {
            source: Some(w.keyer.source(&i.to_be_bytes())),
            ..w.attempt("pump-7", true)
        };
        match guard.attempt(&a, &wrong(), i * 10_000_000) {
            Err(Error::NotVerified) => admitted += 1,
            Err(Error::LockedOut) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(admitted, 10);
}

/// Parallel attempts on the in-memory store cannot slip past a backoff.
#[test]
fn a_parallel_burst_on_the_memory_store_admits_one() {
    let store = std::sync::Arc::new(MemoryThrottleStore::with_capacity(1000).unwrap());
    let strict = Schedule::new(0, 3_600_000, 3_600_000, Some(100), None).unwrap();
    let key = ThrottleKey::from_bytes([6; 16]);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..50)
                    .filter(|_| throttle::begin(&*store, &key, &strict, 7).is_ok())
                    .count()
            })
        })
        .collect();
    let admitted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(admitted, 1);
    assert_eq!(store.load(&key).unwrap().failures, 1);
}

/// Many users behind one address (a clinic's NAT) who log in correctly never put the address
/// into backoff: each verified login gives back the source count its attempt added
/// (docs/credential-format.md section 7, step 5). Before the refund, every admitted login
/// counted against the source, and the 22nd login of the hour was throttled.
#[test]
fn forty_correct_logins_from_one_source_never_throttle_it() {
    let w = World::new();
    let store = MemoryThrottleStore::with_capacity(1000).unwrap();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng()).unwrap();
    let nat = w
        .keyer
        .source_ip(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            198, 51, 100, 7,
        )));
    for i in 0..40u64 {
        let name = format!("clinician-{i:02}");
        let a = Attempt {
            source: Some(nat),
            ..w.attempt(&name, true)
        };
        let now = 1_000_000 + i * 60_000;
        assert!(guard.attempt(&a, &right(), now).is_ok(), "login {i}");
        assert_eq!(
            store.load(&nat).unwrap(),
            ThrottleRecord::CLEAR,
            "login {i}"
        );
        assert_eq!(
            Schedule::SOURCE.admit(&store.load(&nat).unwrap(), now),
            Admission::Allowed
        );
    }
    assert!(store.is_empty());
}

/// An attacker who owns an account cannot use its successes to lower the source count between
/// sprayed guesses: each success refunds only its own count, so the source holds exactly the
/// admitted failures, and every guess is throttled at least as much as without the successes.
#[test]
fn own_account_successes_do_not_launder_a_spraying_source() {
    let w = World::new();
    let run = |with_own_logins: bool| {
        let store = MemoryThrottleStore::with_capacity(1000).unwrap();
        let guard = LoginGuard::new(&w.hasher, &store, &mut rng()).unwrap();
        let source = w.keyer.source(b"attacker");
        let own = Attempt {
            source: Some(source),
            ..w.attempt("attacker-own", true)
        };
        let mut failed = 0u32;
        let mut guesses = Vec::new();
        for i in 0..400u64 {
            let now = i * 250;
            let guess = Attempt {
                source: Some(source),
                ..w.attempt(&format!("victim-{i}"), false)
            };
            let answer = guard.attempt(&guess, &wrong(), now);
            match answer {
                Err(Error::NotVerified) => failed += 1,
                Err(Error::Throttled { .. }) => {}
                ref other => panic!("{other:?}"),
            }
            guesses.push(answer.is_err_and(|e| e == Error::NotVerified));
            if with_own_logins {
                match guard.attempt(&own, &right(), now + 1) {
                    Ok(_) | Err(Error::Throttled { .. }) => {}
                    other => panic!("{other:?}"),
                }
            }
            // The source holds exactly the failures: successes neither add nor remove any.
            assert_eq!(store.load(&source).unwrap().failures, failed, "step {i}");
        }
        (failed, guesses)
    };
    let (alone, alone_guesses) = run(false);
    let (mixed, mixed_guesses) = run(true);
    // 21 free failures, then 1 s doubling: 27 guesses in 100 s of 250 ms steps.
    assert_eq!(alone, 27);
    assert!(mixed <= alone, "{mixed} > {alone}");
    assert!(mixed >= 21);
    // No guess is admitted with the successes that would not be admitted without them.
    for (i, (m, a)) in mixed_guesses.iter().zip(&alone_guesses).enumerate() {
        assert!(!m || *a || i < 21, "guess {i}");
    }
}

/// The refund does not reopen the race that counting before verifying closes: at the last free
/// failure, simultaneous wrong guesses and correct logins from one source admit at most one
/// wrong guess, and the source ends with exactly the admitted failures.
#[test]
fn refunds_do_not_let_a_parallel_burst_past_the_source_limit() {
    let w = World::new();
    let store = MemoryThrottleStore::with_capacity(1000).unwrap();
    let source = w.keyer.source(b"burst");
    let now = 5_000_000u64;
    // 20 failures: one more attempt is admitted at once, then a 1 s wait.
    store
        .compare_and_swap(
            &source,
            &ThrottleRecord::CLEAR,
            &ThrottleRecord {
                failures: 20,
                last_failure_ms: now,
            },
        )
        .unwrap();
    let (wrong_admitted, right_admitted) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let (w, store) = (&w, &store);
                scope.spawn(move || {
                    let guard = LoginGuard::new(&w.hasher, store, &mut rng()).unwrap();
                    let (mut wrong_ok, mut right_ok) = (0u32, 0u32);
                    for i in 0..20 {
                        if (t + i) % 2 == 0 {
                            let a = Attempt {
                                source: Some(source),
                                ..w.attempt(&format!("victim-{t}-{i}"), false)
                            };
                            match guard.attempt(&a, &wrong(), now) {
                                Err(Error::NotVerified) => wrong_ok += 1,
                                Err(Error::Throttled { .. }) => {}
                                other => panic!("{other:?}"),
                            }
                        } else {
                            let a = Attempt {
                                source: Some(source),
                                ..w.attempt(&format!("own-{t}"), true)
                            };
                            match guard.attempt(&a, &right(), now) {
                                Ok(_) => right_ok += 1,
                                Err(Error::Throttled { .. }) => {}
                                other => panic!("{other:?}"),
                            }
                        }
                    }
                    (wrong_ok, right_ok)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    });
    assert!(
        wrong_admitted <= 1,
        "{wrong_admitted} wrong guesses admitted"
    );
    assert_eq!(store.load(&source).unwrap().failures, 20 + wrong_admitted);
    let _ = right_admitted;
}

/// `throttle::refund` takes back one count and never more. When the store still holds the
/// record its attempt wrote, it restores the record the attempt replaced, time included; when
/// other attempts changed the record since, `(f, last)` becomes `(f - 1, last)`. One failure
/// becomes the clear record, and a clear record stays clear without a write.
#[test]
fn refund_gives_back_exactly_one_count() {
    let store = FixedThrottleStore::<8>::new();
    let key = ThrottleKey::from_bytes([9; 16]);
    let s = Schedule::SOURCE;
    // A refund that finds a clear record writes nothing.
    let never_stored = throttle::Counted {
        prior: ThrottleRecord::CLEAR,
        counted: ThrottleRecord {
            failures: 1,
            last_failure_ms: 99,
        },
    };
    throttle::refund(&store, &key, &s, &never_stored).unwrap();
    assert_eq!(store.load(&key).unwrap(), ThrottleRecord::CLEAR);
    let c: Vec<_> = (0..3)
        .map(|t| throttle::begin_counted(&store, &key, &s, 100 + t).unwrap())
        .collect();
    // Refunded in reverse order, each finds its own record and restores the one before it.
    throttle::refund(&store, &key, &s, &c[2]).unwrap();
    assert_eq!(
        store.load(&key).unwrap(),
        ThrottleRecord {
            failures: 2,
            last_failure_ms: 101
        }
    );
    throttle::refund(&store, &key, &s, &c[1]).unwrap();
    throttle::refund(&store, &key, &s, &c[0]).unwrap();
    assert_eq!(store.load(&key).unwrap(), ThrottleRecord::CLEAR);
    assert!(store.is_empty());
    throttle::refund(&store, &key, &s, &c[0]).unwrap();
    assert_eq!(store.load(&key).unwrap(), ThrottleRecord::CLEAR);
    // Another attempt counted after ours: only one count comes back, the time stays that of
    // the latest count (it is the other attempt's failure).
    let ours = throttle::begin_counted(&store, &key, &s, 200).unwrap();
    throttle::begin(&store, &key, &s, 201).unwrap();
    throttle::refund(&store, &key, &s, &ours).unwrap();
    assert_eq!(
        store.load(&key).unwrap(),
        ThrottleRecord {
            failures: 1,
            last_failure_ms: 201
        }
    );
}

/// At `u32::MAX` failures a count adds nothing (it saturates), so its refund gives nothing
/// back: the refund never takes away a failure it did not add.
#[test]
fn a_refund_at_the_saturated_count_does_nothing() {
    let store = FixedThrottleStore::<8>::new();
    let key = ThrottleKey::from_bytes([9; 16]);
    let s = Schedule::new(0, 1, 1, None, None).unwrap();
    let full = ThrottleRecord {
        failures: u32::MAX,
        last_failure_ms: 10,
    };
    store
        .compare_and_swap(&key, &ThrottleRecord::CLEAR, &full)
        .unwrap();
    let c = throttle::begin_counted(&store, &key, &s, 20).unwrap();
    assert!(c.saturated());
    assert_eq!(c.prior, full);
    assert_eq!(c.counted.failures, u32::MAX);
    throttle::refund(&store, &key, &s, &c).unwrap();
    assert_eq!(store.load(&key).unwrap(), c.counted);
}

/// The clean-room auditor's scenario (round 6, nat.py): 31 failures put a shared address into
/// the 900 s wait; then one correct login a minute for 72 h. Each verified login leaves the
/// source as it was before the login, so the logins are admitted once the failures' own wait
/// ends and the failures are forgotten 24 h after the last of them, exactly as with no logins.
/// With the old refund (which kept the login's time as `last_failure_ms`) every login restarted
/// the wait: 287 admitted, 4,032 refused, and the record was never forgotten.
#[test]
fn correct_logins_from_a_shared_source_neither_extend_its_wait_nor_its_memory() {
    let w = World::new();
    let store = MemoryThrottleStore::with_capacity(1000).unwrap();
    let guard = LoginGuard::new(&w.hasher, &store, &mut rng()).unwrap();
    let nat = w
        .keyer
        .source_ip(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            198, 51, 100, 9,
        )));
    // 31 sprayed failures, each as soon as the source admits it.
    let mut now = 1_000_000u64;
    let mut failed = 0u64;
    while failed < 31 {
        let a = Attempt {
            source: Some(nat),
            ..w.attempt(&format!("spray-{failed}"), false)
        };
        match guard.attempt(&a, &wrong(), now) {
            Err(Error::NotVerified) => failed += 1,
            Err(Error::Throttled { retry_at_ms }) => now = retry_at_ms,
            other => panic!("{other:?}"),
        }
    }
    let last = now;
    let after_spray = ThrottleRecord {
        failures: 31,
        last_failure_ms: last,
    };
    assert_eq!(store.load(&nat).unwrap(), after_spray);
    assert_eq!(Schedule::SOURCE.delay_after(31), 900_000);
    let wait_ends = last + 900_000;
    let forgotten = last + 24 * 3_600_000;
    let (mut admitted, mut refused) = (0u32, 0u32);
    for m in 1..=72 * 60u64 {
        let now = last + m * 60_000;
        let a = Attempt {
            source: Some(nat),
            ..w.attempt(&format!("clinician-{}", m % 7), true)
        };
        match guard.attempt(&a, &right(), now) {
            Ok(_) => {
                assert!(now >= wait_ends, "minute {m}");
                admitted += 1;
            }
            Err(Error::Throttled { retry_at_ms }) => {
                assert!(now < wait_ends, "minute {m}");
                assert_eq!(retry_at_ms, wait_ends);
                refused += 1;
            }
            other => panic!("minute {m}: {other:?}"),
        }
        // As if the logins never happened: the spray's record until it is forgotten.
        let effective = Schedule::SOURCE.effective(&store.load(&nat).unwrap(), now);
        if now < forgotten {
            assert_eq!(store.load(&nat).unwrap(), after_spray, "minute {m}");
        } else {
            assert_eq!(effective, ThrottleRecord::CLEAR, "minute {m}");
        }
    }
    // Refused only during the spray's own 900 s wait (minutes 1..=14).
    assert_eq!(refused, 14);
    assert_eq!(admitted, 72 * 60 - 14);
    // Once forgotten, a login's count and refund leave no record of the source at all.
    assert_eq!(store.load(&nat).unwrap(), ThrottleRecord::CLEAR);
}
