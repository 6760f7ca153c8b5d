//! Over-limit PHC parameters are rejected before any memory is allocated.
//!
//! A stored hash is attacker-controlled in the worst case (SQL injection elsewhere, a tampered
//! backup). Asking for 4 TiB of memory or 2^32 passes must cost nothing: the global allocator is
//! instrumented and must see zero allocations during `verify`.
//!
//! `harness = false` (Cargo.toml): the allocator counters are process-wide, and libtest's own
//! threads (reporting one test while the next runs) allocate during a measured region on a loaded
//! machine, so the checks run one after another on the main thread with no other thread alive.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

#[path = "support/plain_harness.rs"]
mod plain_harness;

use std::alloc::System;

use medsec_credential::{Error, HashParams, Password, PasswordHasher, VerifyLimits};
use rand_chacha::rand_core::SeedableRng;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    plain_harness::run(&[
        (
            "over_limit_hashes_are_refused_with_zero_allocations",
            over_limit_hashes_are_refused_with_zero_allocations as fn(),
        ),
        (
            "firmware_hash_and_verify_do_not_allocate",
            firmware_hash_and_verify_do_not_allocate,
        ),
        (
            "a_broken_stored_hash_costs_what_an_unknown_user_costs",
            a_broken_stored_hash_costs_what_an_unknown_user_costs,
        ),
        (
            "firmware_login_guard_does_not_allocate",
            firmware_login_guard_does_not_allocate,
        ),
    ]);
}

fn over_limit_hashes_are_refused_with_zero_allocations() {
    let hasher = PasswordHasher::new(HashParams::SERVER).unwrap();
    let firmware = PasswordHasher::new(HashParams::FIRMWARE)
        .unwrap()
        .with_limits(VerifyLimits::for_memory_blocks(12_288).unwrap())
        .unwrap();
    let password = Password::new("violet kettle under the stairs").unwrap();
    let salt = "c2FsdHNhbHRzYWx0c2FsdA";
    let hash = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let long_salt = "A".repeat(87);
    let long_hash = "A".repeat(400);
    let cases = [
        format!("$argon2id$v=19$m=4294967295,t=2,p=1${salt}${hash}"),
        format!("$argon2id$v=19$m=65537,t=2,p=1${salt}${hash}"),
        format!("$argon2id$v=19$m=19456,t=4294967295,p=1${salt}${hash}"),
        format!("$argon2id$v=19$m=19456,t=11,p=1${salt}${hash}"),
        format!("$argon2id$v=19$m=65536,t=2,p=5${salt}${hash}"),
        format!("$argon2id$v=19$m=4294967295,t=4294967295,p=16777215${salt}${hash}"),
        format!("$argon2id$v=19$m=19456,t=2,p=1${long_salt}${hash}"),
        // Over the total length ceiling (256 bytes): refused before parsing.
        format!("$argon2id$v=19$m=19456,t=2,p=1${salt}${long_hash}"),
    ];
    let firmware_case = format!("$argon2id$v=19$m=12289,t=3,p=1${salt}${hash}");
    let region = Region::new(GLOBAL);
    let mut results: [Result<(), Error>; 9] = std::array::from_fn(|_| Ok(()));
    for (slot, case) in results.iter_mut().zip(&cases) {
        *slot = hasher.verify(&password, case).map(|_| ());
    }
    // Firmware ceilings follow its memory: 12,289 blocks is one too many.
    results[8] = firmware.verify(&password, &firmware_case).map(|_| ());
    let stats = region.change();
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(stats.bytes_allocated, 0);
    for (r, case) in results
        .iter()
        .zip(cases.iter().map(String::as_str).chain(["firmware"]))
    {
        assert!(
            matches!(r, Err(Error::LimitExceeded) | Err(Error::MalformedHash)),
            "{case}: {r:?}"
        );
    }
    assert_eq!(results[0], Err(Error::LimitExceeded));
    assert_eq!(results[8], Err(Error::LimitExceeded));

    // Sanity: a hash within the ceilings does allocate its Argon2 memory (about 19 MiB).
    let region = Region::new(GLOBAL);
    let within = format!("$argon2id$v=19$m=19456,t=2,p=1${salt}${hash}");
    assert_eq!(hasher.verify(&password, &within), Err(Error::NotVerified));
    assert!(region.change().bytes_allocated >= 19_456 * 1024);
}

/// The firmware path (caller-provided Argon2 memory) hashes and verifies without the heap.
fn firmware_hash_and_verify_do_not_allocate() {
    use medsec_credential::hash::Block;
    let hasher = PasswordHasher::new(HashParams::FIRMWARE)
        .unwrap()
        .with_limits(VerifyLimits::for_memory_blocks(12_288).unwrap())
        .unwrap();
    let mut memory = vec![Block::new(); 12_288];
    let pin = Password::new("482915").unwrap();
    let wrong = Password::new("482916").unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
    let region = Region::new(GLOBAL);
    let phc = hasher
        .hash_with_memory(&pin, &mut rng, &mut memory)
        .unwrap();
    let ok = hasher
        .verify_with_memory(&pin, phc.as_str(), &mut memory)
        .is_ok();
    let bad = hasher.verify_with_memory(&wrong, phc.as_str(), &mut memory);
    let stats = region.change();
    assert!(ok);
    assert_eq!(bad, Err(Error::NotVerified));
    assert_eq!(stats.allocations, 0, "{stats:?}");
}

/// A known account whose stored hash is malformed or over the ceilings must not answer faster (or
/// cheaper) than an unknown user: the login guard verifies its dummy hash for it, allocating the
/// same Argon2 memory.
fn a_broken_stored_hash_costs_what_an_unknown_user_costs() {
    use medsec_credential::throttle::{MemoryThrottleStore, ThrottleKeyer};
    use medsec_credential::{Attempt, LoginGuard, Protected};
    let hasher = PasswordHasher::new(HashParams::SERVER).unwrap();
    let store = MemoryThrottleStore::with_capacity(100).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
    let guard = LoginGuard::new(&hasher, &store, &mut rng).unwrap();
    let keyer = ThrottleKeyer::new([1; 32]);
    let password = Password::new("violet kettle under the stairs").unwrap();
    let bytes_for = |name: &[u8], stored: Option<&str>| {
        let attempt = Attempt {
            account: keyer.account(name),
            source: None,
            stored_hash: stored,
            protects: Protected::PatientData,
        };
        let region = Region::new(GLOBAL);
        let answer = guard.attempt(&attempt, &password, 1_000);
        (answer, region.change().bytes_allocated)
    };
    let (unknown, unknown_bytes) = bytes_for(b"nobody", None);
    assert_eq!(unknown, Err(Error::NotVerified));
    assert!(unknown_bytes >= 19_456 * 1024, "{unknown_bytes}");
    let salt = "c2FsdHNhbHRzYWx0c2FsdA";
    let hash = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    for (i, broken) in [
        format!("$argon2id$v=19$m=4294967295,t=2,p=1${salt}${hash}"),
        format!("$argon2id$v=19$m=19456,t=2,p=1${salt}"),
        String::from("$2b$12$not-even-argon2"),
    ]
    .iter()
    .enumerate()
    {
        let (answer, bytes) = bytes_for(format!("broken-{i}").as_bytes(), Some(broken));
        assert_eq!(answer, Err(Error::NotVerified), "{broken}");
        assert_eq!(bytes, unknown_bytes, "{broken}");
    }
}

/// On firmware the whole login path runs without the heap: the guard's dummy hash is made in
/// caller-provided memory, and attempts verify in it.
fn firmware_login_guard_does_not_allocate() {
    use medsec_credential::hash::Block;
    use medsec_credential::throttle::{FixedThrottleStore, Schedule, ThrottleKeyer};
    use medsec_credential::{Attempt, LoginGuard, Protected};
    let hasher = PasswordHasher::new(HashParams::FIRMWARE)
        .unwrap()
        .with_limits(VerifyLimits::for_memory_blocks(12_288).unwrap())
        .unwrap();
    let mut memory = vec![Block::new(); 12_288];
    let store = FixedThrottleStore::<8>::new();
    let keyer = ThrottleKeyer::new([2; 32]);
    let pin = Password::new("482915").unwrap();
    let wrong = Password::new("482916").unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([6; 32]);
    let stored = hasher
        .hash_with_memory(&pin, &mut rng, &mut memory)
        .unwrap();
    let attempt = Attempt {
        account: keyer.account(b"device"),
        source: None,
        stored_hash: Some(stored.as_str()),
        protects: Protected::Settings,
    };
    let region = Region::new(GLOBAL);
    let guard = LoginGuard::new_with_memory(&hasher, &store, &mut rng, &mut memory)
        .unwrap()
        .with_account_schedule(Schedule::DEVICE_PIN);
    let bad = guard.attempt_with_memory(&attempt, &wrong, 1, &mut memory);
    let good = guard.attempt_with_memory(&attempt, &pin, 2, &mut memory);
    let stats = region.change();
    assert_eq!(bad, Err(Error::NotVerified));
    assert!(good.is_ok());
    assert_eq!(stats.allocations, 0, "{stats:?}");
}
