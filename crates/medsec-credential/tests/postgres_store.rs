//! The PostgreSQL store on a real throwaway cluster (`medsec_testkit::PgCluster`): no lost
//! counts under concurrent attempts from several threads, each with its own connection, as
//! several server instances would; backoff cannot be bypassed by a burst of parallel attempts;
//! records survive a server restart; with the database down every attempt fails closed.
#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a failure should stop the test"
)]

use std::sync::{Arc, Barrier};

use medsec_credential::hash::hazmat;
use medsec_credential::throttle::{
    self, PgThrottleStore, Schedule, ThrottleKeyer, ThrottleRecord, ThrottleStore,
};
use medsec_credential::{Attempt, Error, HashParams, LoginGuard, Password, Protected};
use medsec_testkit::PgCluster;
use rand_chacha::rand_core::SeedableRng;

const THREADS: usize = 8;

#[test]
fn postgres_store_under_concurrency() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let conn = cluster.connection_string();
    let keyer = Arc::new(ThrottleKeyer::new([0x11; 32]));

    // 1. No lost counts: 8 "servers" x 40 wrong attempts on one account, all admitted.
    let generous = Schedule::new(1_000, 1_000, 1_000, None, None).unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (conn, keyer, barrier) = (conn.clone(), keyer.clone(), barrier.clone());
            std::thread::spawn(move || {
                let store = PgThrottleStore::connect(&conn).unwrap();
                let key = keyer.account(b"shared-account");
                barrier.wait();
                for i in 0..40u64 {
                    throttle::begin(&store, &key, &generous, t as u64 * 1_000 + i).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let store = PgThrottleStore::connect(&conn).unwrap();
    let key = keyer.account(b"shared-account");
    assert_eq!(store.load(&key).unwrap().failures, (THREADS * 40) as u32);

    // 2. A burst of parallel attempts cannot bypass backoff: with no free failures and a long
    //    delay, exactly one of 8 simultaneous attempts is admitted; the rest are throttled.
    let strict = Schedule::new(0, 3_600_000, 3_600_000, Some(100), None).unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (conn, keyer, barrier) = (conn.clone(), keyer.clone(), barrier.clone());
            std::thread::spawn(move || {
                let store = PgThrottleStore::connect(&conn).unwrap();
                let key = keyer.account(b"burst-target");
                barrier.wait();
                (0..5)
                    .map(|_| throttle::begin(&store, &key, &strict, 50_000))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let outcomes: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let admitted = outcomes.iter().filter(|o| o.is_ok()).count();
    let throttled = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                Err(Error::Throttled {
                    retry_at_ms: 3_650_000
                })
            )
        })
        .count();
    assert_eq!((admitted, throttled), (1, THREADS * 5 - 1), "{outcomes:?}");
    assert_eq!(
        store
            .load(&keyer.account(b"burst-target"))
            .unwrap()
            .failures,
        1
    );

    // 3. The login path on the shared store: two "servers" alternate on one account; the
    //    account locks at exactly 100 failures in total, not 100 per server.
    let hasher = hazmat::hasher_below_minimum(HashParams::new(64, 1, 1).unwrap()).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    let stored = hasher
        .hash(&Password::new("right password").unwrap(), &mut rng)
        .unwrap();
    let servers = [
        PgThrottleStore::connect(&conn).unwrap(),
        PgThrottleStore::connect(&conn).unwrap(),
    ];
    let guards: Vec<_> = servers
        .iter()
        .map(|s| LoginGuard::new(&hasher, s, &mut rng).unwrap())
        .collect();
    let attempt = Attempt {
        account: keyer.account(b"alice"),
        source: None,
        stored_hash: Some(stored.as_str()),
        protects: Protected::PatientData,
    };
    let wrong = Password::new("wrong").unwrap();
    let mut now = 0u64;
    let mut admitted = 0;
    for i in 0..200 {
        now += 1_000_000;
        match guards[i % 2].attempt(&attempt, &wrong, now) {
            Err(Error::NotVerified) => admitted += 1,
            Err(Error::LockedOut) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(admitted, 100);

    // 4. Records are durable across a server restart; an unlock clears them.
    cluster.stop();
    cluster.restart();
    let store = PgThrottleStore::connect(&conn).unwrap();
    assert_eq!(store.load(&attempt.account).unwrap().failures, 100);
    throttle::clear(&store, &attempt.account).unwrap();
    assert_eq!(store.load(&attempt.account).unwrap(), ThrottleRecord::CLEAR);
    // Stored keys are keyed hashes: no user name reaches the database.
    let mut client = postgres::Client::connect(&conn, postgres::NoTls).unwrap();
    let rows = client
        .query("SELECT key FROM medsec_credential_throttle", &[])
        .unwrap();
    for row in rows {
        let k: Vec<u8> = row.get(0);
        assert_eq!(k.len(), 16);
        assert!(!k.windows(5).any(|w| w == b"alice"));
    }

    // 5. The database unreachable: every attempt fails closed, even with the right password,
    //    and nothing is verified; a new instance cannot start without its store.
    let store = PgThrottleStore::connect(&conn).unwrap();
    let guard = LoginGuard::new(&hasher, &store, &mut rng).unwrap();
    let right = Password::new("right password").unwrap();
    assert!(guard.attempt(&attempt, &right, now).is_ok());
    cluster.stop();
    assert_eq!(guard.attempt(&attempt, &right, now + 1), Err(Error::Store));
    let unknown = Attempt {
        account: keyer.account(b"nobody"),
        stored_hash: None,
        ..attempt
    };
    assert_eq!(guard.attempt(&unknown, &right, now + 2), Err(Error::Store));
    assert_eq!(guard.unlock(&attempt.account), Err(Error::Store));
    assert!(matches!(PgThrottleStore::connect(&conn), Err(Error::Store)));
}
