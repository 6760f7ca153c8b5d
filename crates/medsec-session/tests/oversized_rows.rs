//! Untrusted stored bytes cannot make the process allocate without bound: a database row
//! whose `record` was replaced by a huge blob (someone with write access to the database)
//! is refused without being copied into process memory. Measured with a counting global
//! allocator (bytes allocated during the reads), so this binary holds one test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "tests: fixed inputs, a panic is a failure"
)]

use std::alloc::System;

use medsec_session::store::{PostgresStore, SqliteStore};
use medsec_session::*;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const HUGE: usize = 32 * 1024 * 1024;
const BOUND: usize = 1024 * 1024;

fn meta(user: &UserId) -> SessionMeta {
    SessionMeta {
        version: 1,
        user: *user,
        role: Role::Patient,
        state: StoredState::Established,
        created_at: Timestamp::from_millis(1),
        authenticated_at: Timestamp::from_millis(1),
        last_seen: Timestamp::from_millis(1),
        idle_timeout_ms: 1000,
        absolute_deadline: Timestamp::from_millis(10_000),
        elevated_until: Timestamp::ZERO,
        binding: None,
        data_len: 0,
    }
}

/// Every read path of `store` on the oversized row: refused, and no allocation near its size.
fn check_reads<S: SessionStore>(store: &S, key: &IdHash, user: &UserId, what: &str) {
    let region = Region::new(GLOBAL);
    assert_eq!(
        store.load(key).unwrap_err(),
        Error::Rejected,
        "{what}: load"
    );
    assert!(
        store.read_data(key, &mut [0u8; 28]).is_err(),
        "{what}: read_data"
    );
    let mut seen = 0;
    store.for_each_of_user(user, &mut |_, _| seen += 1).unwrap();
    assert_eq!(seen, 0, "{what}: tampered row skipped");
    let allocated = region.change().bytes_allocated;
    assert!(
        allocated < BOUND,
        "{what}: an oversized stored record was copied into memory ({allocated} bytes allocated)"
    );
}

#[test]
fn oversized_stored_records_are_refused_without_being_loaded() {
    let user = UserId::new("patient-huge").unwrap();
    let key = IdHash::from_bytes([0x5e; 32]);

    // SQLite.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path, RecordKey::from_bytes([1; 32])).unwrap();
    store.insert(&key, &meta(&user), &[]).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE medsec_sessions SET record = zeroblob(?1) WHERE id_hash = ?2",
        rusqlite::params![HUGE as i64, key.as_bytes().as_slice()],
    )
    .unwrap();
    check_reads(&store, &key, &user, "sqlite");

    // PostgreSQL.
    let Some(cluster) = medsec_testkit::PgCluster::start() else {
        return;
    };
    let store =
        PostgresStore::connect_local(&cluster.connection_string(), RecordKey::from_bytes([1; 32]))
            .unwrap();
    store.insert(&key, &meta(&user), &[]).unwrap();
    let mut client =
        postgres::Client::connect(&cluster.connection_string(), postgres::NoTls).unwrap();
    client
        .execute(
            "UPDATE medsec_sessions SET record = decode(repeat('00', $1), 'hex') WHERE id_hash = $2",
            &[&(HUGE as i32), &key.as_bytes().as_slice()],
        )
        .unwrap();
    drop(client);
    check_reads(&store, &key, &user, "postgres");
}
