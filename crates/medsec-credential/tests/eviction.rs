//! Eviction must never reset a counter: an attacker who fills a store with records of other
//! names must not be able to push out a target's record while it holds failures that its
//! schedule has not forgotten (docs/credential-format.md section 8, "Eviction").
//!
//! Before the fix, every store evicted the least severe record below `protect_from` (the
//! schedule's free failures, as the README advised): a target held at 4 failures under
//! `ACCOUNT` was reset to 0 by a fill, and the attacker got 4 fresh guesses per fill, without
//! end. These tests failed on all three stores then (`left: 0, right: 4`).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

use medsec_credential::hash::hazmat;
use medsec_credential::throttle::flash::{FlashError, RecordCodec, RECORD_LEN};
use medsec_credential::throttle::{
    self, FixedThrottleStore, FlashThrottleStore, MemoryThrottleStore, RecordFlash, Schedule,
    ThrottleKey, ThrottleKeyer, ThrottleRecord, ThrottleStore,
};
use medsec_credential::{Attempt, Error, HashParams, LoginGuard, Password, Protected};
use rand_chacha::rand_core::SeedableRng;

struct Mem(Vec<[u8; RECORD_LEN]>);

impl RecordFlash for Mem {
    fn slot_count(&self) -> u32 {
        self.0.len() as u32
    }
    fn read_slot(&mut self, s: u32, out: &mut [u8; RECORD_LEN]) -> Result<(), FlashError> {
        *out = *self.0.get(s as usize).ok_or(FlashError)?;
        Ok(())
    }
    fn write_slot(&mut self, s: u32, d: &[u8; RECORD_LEN]) -> Result<(), FlashError> {
        *self.0.get_mut(s as usize).ok_or(FlashError)? = *d;
        Ok(())
    }
}

fn flash_store(cells: usize) -> FlashThrottleStore<Mem> {
    FlashThrottleStore::new(
        Mem(vec![[0xFF; RECORD_LEN]; 2 * cells]),
        RecordCodec::new([1; 32]),
    )
    .unwrap()
}

fn key(n: u32) -> ThrottleKey {
    ThrottleKeyer::new([0x33; 32]).account(format!("name-{n}").as_bytes())
}

/// The attack: the target at 4 failures (free 5, so no wait yet), then `fillers` other names
/// with 5 failures each. Returns the target's failures afterwards and how many fillers were
/// refused for want of a cell.
fn fill_attack(store: &dyn ThrottleStore, fillers: u32) -> (u32, u32) {
    let schedule = Schedule::ACCOUNT;
    let target = key(u32::MAX);
    for t in 0..4 {
        throttle::begin(store, &target, &schedule, t).unwrap();
    }
    let mut refused = 0;
    for n in 0..fillers {
        for t in 0..5 {
            match throttle::begin(store, &key(n), &schedule, 100 + t) {
                Ok(_) => {}
                Err(Error::Store) => {
                    refused += 1;
                    break;
                }
                Err(e) => panic!("{e:?}"),
            }
        }
    }
    (store.load(&target).unwrap().failures, refused)
}

/// After the fill, a key that already had a record keeps working (counted, then cleared),
/// and a name without a record is refused until a cell frees up.
fn existing_keys_keep_working(store: &dyn ThrottleStore) {
    let schedule = Schedule::ACCOUNT;
    let target = key(u32::MAX);
    assert_eq!(
        throttle::begin(store, &target, &schedule, 1_000).unwrap(),
        ThrottleRecord {
            failures: 5,
            last_failure_ms: 1_000
        }
    );
    let newcomer = key(1_000_000);
    assert_eq!(
        throttle::begin(store, &newcomer, &schedule, 1_001),
        Err(Error::Store)
    );
    assert_eq!(store.load(&newcomer).unwrap(), ThrottleRecord::CLEAR);
    // A success frees the target's cell, and a newcomer may have it.
    throttle::clear(store, &target).unwrap();
    assert_eq!(store.load(&target).unwrap(), ThrottleRecord::CLEAR);
}

#[test]
fn filling_the_memory_store_cannot_reset_a_target() {
    // The smallest table: 16 shards of 16 slots.
    let store = MemoryThrottleStore::with_capacity(16).unwrap();
    let (target, refused) = fill_attack(&store, 4_000);
    assert_eq!(target, 4, "the target's failures were reset by eviction");
    assert!(refused > 0);
    existing_keys_keep_working(&store);
}

#[test]
fn the_old_protect_from_argument_no_longer_opens_eviction() {
    // The constructor earlier versions had, with the value the README used to advise.
    let store = MemoryThrottleStore::new(16, Schedule::ACCOUNT.free_failures()).unwrap();
    assert_eq!(fill_attack(&store, 4_000).0, 4);
    for p in [1, 5, 100] {
        assert!(MemoryThrottleStore::new(16, p).is_ok(), "{p}");
    }
    for p in [0, 101, u32::MAX] {
        assert!(
            matches!(MemoryThrottleStore::new(16, p), Err(Error::Config(_))),
            "{p}"
        );
    }
}

#[test]
fn filling_the_fixed_store_cannot_reset_a_target() {
    let store = FixedThrottleStore::<16>::new();
    let (target, refused) = fill_attack(&store, 64);
    assert_eq!(target, 4);
    assert!(refused > 0);
    existing_keys_keep_working(&store);
}

#[test]
fn filling_the_flash_store_cannot_reset_a_target() {
    let store = flash_store(4);
    let (target, refused) = fill_attack(&store, 64);
    assert_eq!(target, 4);
    // Three cells for the fillers; the 61 others were refused.
    assert_eq!(refused, 61);
    existing_keys_keep_working(&store);
    // The target's cleared cell is free again.
    assert!(throttle::begin(&store, &key(1_000_000), &Schedule::ACCOUNT, 2_000).is_ok());
}

/// A record its own schedule has forgotten holds nothing back: its cell is reused.
#[test]
fn forgotten_records_make_room_in_table_stores() {
    let source = Schedule::SOURCE;
    let day = source.forget_after_ms().unwrap();
    for store in [
        &MemoryThrottleStore::with_capacity(16).unwrap() as &dyn ThrottleStore,
        &FixedThrottleStore::<16>::new(),
    ] {
        // Fill with source records: far more names than slots, so every window is full.
        for n in 0..2_000 {
            let _ = throttle::begin(store, &key(n), &source, 0);
        }
        let newcomer = key(1_000_000);
        // One millisecond before they are forgotten: still refused.
        assert_eq!(
            throttle::begin(store, &newcomer, &source, day - 1),
            Err(Error::Store)
        );
        // At the moment the schedule forgets them, a forgotten record's slot is taken.
        assert!(throttle::begin(store, &newcomer, &source, day).is_ok());
    }
    // ACCOUNT records are never forgotten: a fill with them holds for good, and no newcomer,
    // however late, takes the place of one.
    for store in [
        &MemoryThrottleStore::with_capacity(16).unwrap() as &dyn ThrottleStore,
        &FixedThrottleStore::<16>::new(),
    ] {
        let account = Schedule::ACCOUNT;
        let kept: Vec<u32> = (0..2_000)
            .filter(|&m| throttle::begin(store, &key(m), &account, 0).is_ok())
            .collect();
        assert!(!kept.is_empty());
        for n in 1_000_000..1_002_000 {
            let _ = throttle::begin(store, &key(n), &account, u64::MAX);
        }
        for m in kept {
            assert_eq!(store.load(&key(m)).unwrap().failures, 1, "{m}");
        }
    }
}

/// The flash record does not carry its schedule, so even forgotten records keep their cells.
#[test]
fn flash_never_reuses_a_cell_with_failures() {
    let store = flash_store(2);
    let source = Schedule::SOURCE;
    throttle::begin(&store, &key(1), &source, 0).unwrap();
    throttle::begin(&store, &key(2), &source, 0).unwrap();
    assert_eq!(
        throttle::begin(&store, &key(3), &source, u64::MAX),
        Err(Error::Store)
    );
    // The key itself is forgotten by its schedule and counts from 0 again in its own cell.
    assert_eq!(
        throttle::begin(&store, &key(1), &source, u64::MAX).unwrap(),
        ThrottleRecord {
            failures: 1,
            last_failure_ms: u64::MAX
        }
    );
}

/// End to end through the login guard: however often the attacker fills the store with unknown
/// names between guesses, the target account admits at most its hard limit of guesses.
#[test]
fn filling_between_guesses_never_buys_more_than_the_hard_limit() {
    let hasher = hazmat::hasher_below_minimum(HashParams::new(64, 1, 1).unwrap()).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let stored = hasher
        .hash(&Password::new("the right password").unwrap(), &mut rng)
        .unwrap();
    // 9 free failures, locked at 10: every guess below the lock is instant.
    let schedule = Schedule::new(9, 1, 1, Some(10), None).unwrap();
    let keyer = ThrottleKeyer::new([5; 32]);
    let wrong = Password::new("a wrong guess").unwrap();
    let fixed = FixedThrottleStore::<16>::new();
    let flash = flash_store(6);
    let memory = MemoryThrottleStore::with_capacity(16).unwrap();
    for store in [
        &fixed as &dyn ThrottleStore,
        &flash as &dyn ThrottleStore,
        &memory as &dyn ThrottleStore,
    ] {
        let guard = LoginGuard::new(&hasher, store, &mut rng)
            .unwrap()
            .with_account_schedule(schedule);
        let target = Attempt {
            account: keyer.account(b"dr.ng"),
            source: None,
            stored_hash: Some(stored.as_str()),
            protects: Protected::PatientData,
        };
        let mut admitted = 0;
        let mut filler = 0u32;
        for round in 0..30u64 {
            // Eight guesses (below the evictable count of old), then a fill.
            for _ in 0..8 {
                match guard.attempt(&target, &wrong, round) {
                    Err(Error::NotVerified) => admitted += 1,
                    Err(Error::LockedOut) => {}
                    other => panic!("{other:?}"),
                }
            }
            for _ in 0..300 {
                let name = format!("filler-{filler}");
                filler += 1;
                let junk = Attempt {
                    account: keyer.account(name.as_bytes()),
                    stored_hash: None,
                    ..target
                };
                for _ in 0..9 {
                    match guard.attempt(&junk, &wrong, round) {
                        Err(Error::NotVerified | Error::Store) => {}
                        other => panic!("{other:?}"),
                    }
                }
            }
        }
        assert_eq!(admitted, 10, "guesses admitted against the target");
        assert_eq!(guard.attempt(&target, &wrong, 1_000), Err(Error::LockedOut));
    }
}

/// The flash store keeps no source records: no login ever clears a source, so each source that
/// failed once would hold a cell for good. `LoginGuard` refuses an attempt with a source on it
/// with `Config` before anything is read, counted or hashed; the same attempt without a source
/// (or on the table stores) runs as usual (docs/credential-format.md section 8).
#[test]
fn the_flash_store_refuses_source_keys() {
    let hasher = hazmat::hasher_below_minimum(HashParams::new(64, 1, 1).unwrap()).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let stored = hasher
        .hash(&Password::new("the right password").unwrap(), &mut rng)
        .unwrap();
    let keyer = ThrottleKeyer::new([6; 32]);
    let right = Password::new("the right password").unwrap();
    let wrong = Password::new("a wrong guess").unwrap();
    let flash = flash_store(4);
    assert!(!flash.keeps_source_records());
    let plain = Attempt {
        account: keyer.account(b"pump-user"),
        source: None,
        stored_hash: Some(stored.as_str()),
        protects: Protected::Settings,
    };
    let with_source = Attempt {
        source: Some(keyer.source(b"phone:5f2c")),
        ..plain
    };
    {
        let guard = LoginGuard::new(&hasher, &flash, &mut rng).unwrap();
        for pw in [&wrong, &right] {
            assert_eq!(
                guard.attempt(&with_source, pw, 1_000),
                Err(Error::Config("this throttle store keeps no source records"))
            );
        }
    }
    // Nothing was written: every slot is still erased.
    let flash = flash.into_flash();
    assert!(flash.0.iter().all(|s| *s == [0xFF; RECORD_LEN]));
    let flash = FlashThrottleStore::new(flash, RecordCodec::new([1; 32])).unwrap();
    let guard = LoginGuard::new(&hasher, &flash, &mut rng).unwrap();
    assert_eq!(
        guard.attempt(&plain, &wrong, 2_000),
        Err(Error::NotVerified)
    );
    assert!(guard.attempt(&plain, &right, 3_000).is_ok());
    // Table stores keep sources.
    let memory = MemoryThrottleStore::with_capacity(16).unwrap();
    let fixed = FixedThrottleStore::<16>::new();
    for store in [&memory as &dyn ThrottleStore, &fixed as &dyn ThrottleStore] {
        assert!(store.keeps_source_records());
        let guard = LoginGuard::new(&hasher, store, &mut rng).unwrap();
        assert_eq!(
            guard.attempt(&with_source, &wrong, 1_000),
            Err(Error::NotVerified)
        );
        assert_eq!(
            store.load(&with_source.source.unwrap()).unwrap().failures,
            1
        );
    }
    // Through a trait object too.
    let flash_dyn = flash_store(2);
    let store: &dyn ThrottleStore = &flash_dyn;
    assert!(!store.keeps_source_records());
    let guard = LoginGuard::new(&hasher, store, &mut rng).unwrap();
    assert!(matches!(
        guard.attempt(&with_source, &right, 1),
        Err(Error::Config(_))
    ));
}
