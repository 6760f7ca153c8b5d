//! Bounded memory under a spray of 1,000,000 distinct user names.
//!
//! An attacker tries one wrong password for each of a million invented names. The in-memory
//! store must not grow (no allocation at all during the spray), and no record that still counts
//! may be pushed out: a real account in backoff, and one below the backoff threshold, keep their
//! counts. The price (docs/credential-rate-limits.md, control 9): once the table is full of
//! records that still count, names without a record are refused (fail closed) — under
//! `ACCOUNT`, which never forgets, until records are cleared. Only the throttle path is
//! exercised per name (`begin`, exactly what `LoginGuard` does before hashing); hashing a million
//! passwords would test Argon2, not memory bounds.
//!
//! `harness = false` (Cargo.toml): the allocator counters are process-wide, and libtest's own
//! threads allocate now and then on a loaded machine (seen: 4 allocations, 900 bytes, in about one
//! run of three with two suites in parallel), so the check runs on the main thread with no other
//! thread alive.
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

use medsec_credential::throttle::{
    self, MemoryThrottleStore, Schedule, ThrottleKeyer, ThrottleStore,
};
use medsec_credential::Error;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    plain_harness::run(&[(
        "a_million_name_spray_does_not_grow_memory_or_reset_any_count",
        a_million_name_spray_does_not_grow_memory_or_reset_any_count as fn(),
    )]);
}

fn a_million_name_spray_does_not_grow_memory_or_reset_any_count() {
    let schedule = Schedule::ACCOUNT;
    let keyer = ThrottleKeyer::new([0x5e; 32]);
    let store = MemoryThrottleStore::with_capacity(10_000).unwrap();
    let table_bytes = store.memory_bytes();

    // A real account driven into backoff before the spray.
    let victim = keyer.account(b"dr.ng@clinic.example");
    for i in 0..8 {
        throttle::begin(&store, &victim, &schedule, 1_000_000 + i * 100_000).unwrap();
    }
    let victim_record = store.load(&victim).unwrap();
    assert_eq!(victim_record.failures, 8);
    // And one below the backoff threshold: before the eviction fix, the first to go.
    let typo = keyer.account(b"nurse.li@clinic.example");
    throttle::begin(&store, &typo, &schedule, 1_500_000).unwrap();
    let typo_record = store.load(&typo).unwrap();

    let mut name = [0u8; 24];
    name[..6].copy_from_slice(b"spray-");
    let region = Region::new(GLOBAL);
    let mut refused = 0u32;
    for i in 0u64..1_000_000 {
        name[6..14].copy_from_slice(&i.to_be_bytes());
        let key = keyer.account(&name);
        match throttle::begin(&store, &key, &schedule, 10_000_000 + i) {
            Ok(r) => assert_eq!(r.failures, 1),
            // A window full of records that still count: refused, fail closed.
            Err(Error::Store) => refused += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    let stats = region.change();

    assert_eq!(stats.allocations, 0, "the spray allocated: {stats:?}");
    assert_eq!(stats.reallocations, 0);
    assert_eq!(store.memory_bytes(), table_bytes);
    let slots = (2 * 10_000usize).next_power_of_two();
    assert!(store.len() <= slots);
    // The table filled (nearly every slot holds a record) and the rest of the spray was refused.
    assert!(store.len() > slots * 9 / 10, "{}", store.len());
    assert_eq!(store.len() as u64 + u64::from(refused), 1_000_000 + 2);
    // Neither account lost a failure: the spray could not reset a count.
    assert_eq!(store.load(&victim).unwrap(), victim_record);
    assert_eq!(store.load(&typo).unwrap(), typo_record);
    // Keys with a record keep working; the typo's next attempt is counted in place.
    assert_eq!(
        throttle::begin(&store, &typo, &schedule, 20_000_000)
            .unwrap()
            .failures,
        2
    );
    eprintln!(
        "spray: 1,000,000 names, table {} bytes, {} records kept, {} refused, 0 allocations",
        table_bytes,
        store.len(),
        refused
    );
}
