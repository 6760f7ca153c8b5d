//! Over-limit PHC parameters are rejected before any memory is allocated.
//!
//! A stored hash is attacker-controlled in the worst case (SQL injection elsewhere, a tampered
//! backup). Asking for 4 TiB of memory or 2^32 passes must cost nothing: the global allocator is
//! instrumented and must see zero allocations during `verify`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

use std::alloc::System;

use medsec_credential::{Error, HashParams, Password, PasswordHasher, VerifyLimits};
use rand_chacha::rand_core::SeedableRng;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The allocator counters are global: the tests in this file take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn over_limit_hashes_are_refused_with_zero_allocations() {
    let _turn = SERIAL.lock().unwrap();
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
#[test]
fn firmware_hash_and_verify_do_not_allocate() {
    use medsec_credential::hash::Block;
    let _turn = SERIAL.lock().unwrap();
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
