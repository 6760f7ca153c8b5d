//! Bounded memory under a spray of 1,000,000 distinct user names.
//!
//! An attacker tries one wrong password for each of a million invented names. The in-memory
//! store must not grow (no allocation at all during the spray), and the records that matter —
//! a real account in backoff — must survive the eviction pressure. Only the throttle path is
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
        "a_million_name_spray_does_not_grow_memory_or_evict_accounts_in_backoff",
        a_million_name_spray_does_not_grow_memory_or_evict_accounts_in_backoff as fn(),
    )]);
}

fn a_million_name_spray_does_not_grow_memory_or_evict_accounts_in_backoff() {
    let schedule = Schedule::ACCOUNT;
    let keyer = ThrottleKeyer::new([0x5e; 32]);
    let store = MemoryThrottleStore::new(10_000, schedule.free_failures()).unwrap();
    let table_bytes = store.memory_bytes();

    // A real account driven into backoff before the spray.
    let victim = keyer.account(b"dr.ng@clinic.example");
    for i in 0..8 {
        throttle::begin(&store, &victim, &schedule, 1_000_000 + i * 100_000).unwrap();
    }
    let victim_record = store.load(&victim).unwrap();
    assert_eq!(victim_record.failures, 8);

    let mut name = [0u8; 24];
    name[..6].copy_from_slice(b"spray-");
    let region = Region::new(GLOBAL);
    let mut refused = 0u32;
    for i in 0u64..1_000_000 {
        name[6..14].copy_from_slice(&i.to_be_bytes());
        let key = keyer.account(&name);
        match throttle::begin(&store, &key, &schedule, 10_000_000 + i) {
            Ok(r) => assert_eq!(r.failures, 1),
            // A window full of protected records: refused, fail closed (never with a spray of
            // single failures, which are all evictable).
            Err(Error::Store) => refused += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    let stats = region.change();

    assert_eq!(stats.allocations, 0, "the spray allocated: {stats:?}");
    assert_eq!(stats.reallocations, 0);
    assert_eq!(store.memory_bytes(), table_bytes);
    assert!(store.len() <= 2 * 10_000usize.next_power_of_two());
    assert_eq!(refused, 0);
    // The account in backoff kept its record: the spray could not reset its count.
    assert_eq!(store.load(&victim).unwrap(), victim_record);
    eprintln!(
        "spray: 1,000,000 names, table {} bytes, {} records kept, 0 allocations",
        table_bytes,
        store.len()
    );
}
