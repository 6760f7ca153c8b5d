//! What someone with write access to the session table can and cannot do
//! (`docs/session-format.md` §5.2 and §7), against a real SQLite file and a real PostgreSQL
//! server:
//!
//! - an edited clear column (`user_id`, `version`, `expires_at`) makes the row refused on
//!   every read, so it can neither escape logout-everywhere / revocation nor wedge the
//!   compare-and-swap;
//! - SQLite values of the wrong type (a TEXT record or user id) are refused, not counted in
//!   characters and not turned into an outage;
//! - the version counter stops at `2^63 - 1`, the largest value the signed column holds (every
//!   store);
//! - replaying an older authentic row (rollback) works exactly as far as the document says,
//!   and no further;
//! - changing `record_key` or `data_secret` behaves as the document's rotation section says.
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

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use medsec_session::record::MAX_VERSION;
use medsec_session::store::{FixedStore, MemoryStore, PostgresStore, SqliteStore};
use medsec_session::*;
use medsec_testkit::PgCluster;
use medsec_token::RevocationList;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const T0: u64 = 1_700_000_000_000;

type Revocation = Arc<RwLock<RevocationList>>;
type Mgr<S> = Sessions<S, Arc<ManualClock>, Revocation>;

fn manager<S: SessionStore>(store: S, clock: &Arc<ManualClock>, rev: &Revocation) -> Mgr<S> {
    Sessions::with_revocation(
        store,
        clock.clone(),
        rev.clone(),
        DataSecret::from_bytes([0x42; 32]),
        SessionPolicy::BACKEND_L3,
    )
    .unwrap()
}

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn copy(id: &SessionId) -> SessionId {
    SessionId::from_bytes(*id.as_bytes())
}

/// All five columns of one row, as stored.
#[derive(Clone)]
struct RowCopy {
    id_hash: Vec<u8>,
    user_id: Vec<u8>,
    version: i64,
    expires_at: i64,
    record: Vec<u8>,
}

/// Direct access to the table, beside the store under test (the attacker's connection).
trait Table {
    type Store: SessionStore;
    fn open_store(&mut self) -> Self::Store;
    fn set_user_id(&mut self, key: &IdHash, user_id: &[u8]);
    fn set_version(&mut self, key: &IdHash, version: i64);
    fn set_expires_at(&mut self, key: &IdHash, expires_at: i64);
    fn snapshot(&mut self, key: &IdHash) -> RowCopy;
    fn restore(&mut self, row: &RowCopy);
    fn rows(&mut self, key: &IdHash) -> i64;
}

struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
    conn: rusqlite::Connection,
}

impl Sqlite {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.db");
        // Create the schema, then open the attacker's connection.
        drop(SqliteStore::open(&path, RecordKey::from_bytes([0x33; 32])).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        Self {
            _dir: dir,
            path,
            conn,
        }
    }

    fn exec(&self, sql: &str, params: impl rusqlite::Params) {
        self.conn.execute(sql, params).unwrap();
    }
}

impl Table for Sqlite {
    type Store = SqliteStore;
    fn open_store(&mut self) -> SqliteStore {
        SqliteStore::open(&self.path, RecordKey::from_bytes([0x33; 32])).unwrap()
    }
    fn set_user_id(&mut self, key: &IdHash, user_id: &[u8]) {
        self.exec(
            "UPDATE medsec_sessions SET user_id = ?1 WHERE id_hash = ?2",
            rusqlite::params![user_id, key.as_bytes().as_slice()],
        );
    }
    fn set_version(&mut self, key: &IdHash, version: i64) {
        self.exec(
            "UPDATE medsec_sessions SET version = ?1 WHERE id_hash = ?2",
            rusqlite::params![version, key.as_bytes().as_slice()],
        );
    }
    fn set_expires_at(&mut self, key: &IdHash, expires_at: i64) {
        self.exec(
            "UPDATE medsec_sessions SET expires_at = ?1 WHERE id_hash = ?2",
            rusqlite::params![expires_at, key.as_bytes().as_slice()],
        );
    }
    fn snapshot(&mut self, key: &IdHash) -> RowCopy {
        self.conn
            .query_row(
                "SELECT id_hash, user_id, version, expires_at, record FROM medsec_sessions
                 WHERE id_hash = ?1",
                [key.as_bytes().as_slice()],
                |r| {
                    Ok(RowCopy {
                        id_hash: r.get(0)?,
                        user_id: r.get(1)?,
                        version: r.get(2)?,
                        expires_at: r.get(3)?,
                        record: r.get(4)?,
                    })
                },
            )
            .unwrap()
    }
    fn restore(&mut self, row: &RowCopy) {
        self.exec(
            "INSERT OR REPLACE INTO medsec_sessions (id_hash, user_id, version, expires_at, record)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                row.id_hash,
                row.user_id,
                row.version,
                row.expires_at,
                row.record
            ],
        );
    }
    fn rows(&mut self, key: &IdHash) -> i64 {
        self.conn
            .query_row(
                "SELECT count(*) FROM medsec_sessions WHERE id_hash = ?1",
                [key.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .unwrap()
    }
}

struct Pg {
    params: String,
    client: postgres::Client,
}

impl Pg {
    /// A fresh database on `cluster`.
    fn new(cluster: &PgCluster, db: &str) -> Self {
        let mut admin =
            postgres::Client::connect(&cluster.connection_string(), postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .unwrap();
        let params = cluster
            .connection_string()
            .replace("dbname=postgres", &format!("dbname={db}"));
        drop(PostgresStore::connect_local(&params, RecordKey::from_bytes([0x33; 32])).unwrap());
        let client = postgres::Client::connect(&params, postgres::NoTls).unwrap();
        Self { params, client }
    }
}

impl Table for Pg {
    type Store = PostgresStore;
    fn open_store(&mut self) -> PostgresStore {
        PostgresStore::connect_local(&self.params, RecordKey::from_bytes([0x33; 32])).unwrap()
    }
    fn set_user_id(&mut self, key: &IdHash, user_id: &[u8]) {
        self.client
            .execute(
                "UPDATE medsec_sessions SET user_id = $1 WHERE id_hash = $2",
                &[&user_id, &key.as_bytes().as_slice()],
            )
            .unwrap();
    }
    fn set_version(&mut self, key: &IdHash, version: i64) {
        self.client
            .execute(
                "UPDATE medsec_sessions SET version = $1 WHERE id_hash = $2",
                &[&version, &key.as_bytes().as_slice()],
            )
            .unwrap();
    }
    fn set_expires_at(&mut self, key: &IdHash, expires_at: i64) {
        self.client
            .execute(
                "UPDATE medsec_sessions SET expires_at = $1 WHERE id_hash = $2",
                &[&expires_at, &key.as_bytes().as_slice()],
            )
            .unwrap();
    }
    fn snapshot(&mut self, key: &IdHash) -> RowCopy {
        let r = self
            .client
            .query_one(
                "SELECT id_hash, user_id, version, expires_at, record FROM medsec_sessions
                 WHERE id_hash = $1",
                &[&key.as_bytes().as_slice()],
            )
            .unwrap();
        RowCopy {
            id_hash: r.get(0),
            user_id: r.get(1),
            version: r.get(2),
            expires_at: r.get(3),
            record: r.get(4),
        }
    }
    fn restore(&mut self, row: &RowCopy) {
        self.client
            .execute(
                "INSERT INTO medsec_sessions (id_hash, user_id, version, expires_at, record)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id_hash) DO UPDATE SET user_id = $2, version = $3,
                     expires_at = $4, record = $5",
                &[
                    &row.id_hash,
                    &row.user_id,
                    &row.version,
                    &row.expires_at,
                    &row.record,
                ],
            )
            .unwrap();
    }
    fn rows(&mut self, key: &IdHash) -> i64 {
        self.client
            .query_one(
                "SELECT count(*) FROM medsec_sessions WHERE id_hash = $1",
                &[&key.as_bytes().as_slice()],
            )
            .unwrap()
            .get(0)
    }
}

/// Every read path refuses a row whose clear columns disagree with its record, and the
/// row cannot survive logout-everywhere as a usable session.
fn edited_clear_columns_are_refused<T: Table>(t: &mut T, what: &str) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let rev = Revocation::default();
    let s = manager(t.open_store(), &clock, &rev);
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let alice = user("alice");
    let mut ids = Vec::new();
    for _ in 0..4 {
        let e = s
            .login(&mut rng, &alice, Role::Patient, None, None)
            .unwrap();
        let mut a = s.activate(e, None).unwrap();
        s.set_data(&mut rng, &mut a, b"PHI: basal 0.8 U/h").unwrap();
        ids.push(copy(a.id()));
    }
    let keys: Vec<IdHash> = ids.iter().map(SessionId::id_hash).collect();

    // 1. user_id edited: the per-user delete would miss the row, so every read refuses it.
    t.set_user_id(&keys[0], b"mallory");
    assert_eq!(
        s.resume(&ids[0], None).unwrap_err(),
        Error::Rejected,
        "{what}"
    );
    assert_eq!(
        s.store().load(&keys[0]).unwrap_err(),
        Error::Rejected,
        "{what}"
    );
    assert!(s
        .store()
        .read_data(&keys[0], &mut [0u8; 46])
        .is_err_and(|e| e == Error::Rejected));
    let listed: Vec<IdHash> = s.list(&alice).unwrap().iter().map(|x| x.id_hash).collect();
    assert_eq!(
        listed.len(),
        3,
        "{what}: the edited row is not alice's any more"
    );
    assert!(!listed.contains(&keys[0]), "{what}");
    assert!(s.list(&user("mallory")).unwrap().is_empty(), "{what}");
    // Logout everywhere: the edited row escapes the DELETE but stays unusable.
    assert_eq!(s.logout_everywhere(&alice).unwrap(), 3, "{what}");
    assert_eq!(
        t.rows(&keys[0]),
        1,
        "{what}: the edited row escaped the delete"
    );
    assert_eq!(
        s.resume(&ids[0], None).unwrap_err(),
        Error::Rejected,
        "{what}: an edited user_id survived logout-everywhere"
    );
    // Changing it back after the logout does not help either: the row is back in reach of
    // the delete, and a revocation (epoch) refuses it whatever the columns say.
    t.set_user_id(&keys[0], b"alice");
    clock.advance(Duration::from_secs(1));
    assert_eq!(s.revoke_user(&alice).unwrap(), 1, "{what}");
    assert_eq!(s.resume(&ids[0], None).unwrap_err(), Error::Rejected);

    // 2. version edited: refused (not an endless compare-and-swap conflict); restoring the
    // column restores the session, so the refusal comes from the comparison.
    clock.advance(Duration::from_secs(1));
    let e = s
        .login(&mut rng, &alice, Role::Patient, None, None)
        .unwrap();
    let mut a = s.activate(e, None).unwrap();
    s.set_data(&mut rng, &mut a, b"PHI: bolus 2 U").unwrap();
    let (id, key) = (copy(a.id()), *a.id_hash());
    let v = i64::try_from(a.meta().version).unwrap();
    for edited in [v + 1, v - 1, v + (1 << 32), -v] {
        t.set_version(&key, edited);
        assert_eq!(
            s.resume(&id, None).unwrap_err(),
            Error::Rejected,
            "{what}: version {edited} in the column, {v} in the record"
        );
        assert_eq!(s.data(&a).unwrap_err(), Error::Rejected, "{what}");
        let mut buf = [0u8; 64];
        assert_eq!(
            s.read_data_into(&a, &mut buf).unwrap_err(),
            Error::Rejected,
            "{what}"
        );
        assert_eq!(
            s.set_data(&mut rng, &mut a, b"x").unwrap_err(),
            Error::Rejected,
            "{what}"
        );
        assert!(s.list(&alice).unwrap().is_empty(), "{what}");
    }
    t.set_version(&key, v);
    let a = s.resume(&id, None).unwrap();
    assert_eq!(s.data(&a).unwrap().unwrap().as_bytes(), b"PHI: bolus 2 U");

    // 3. expires_at edited (for example pushed out so the sweep never takes the row).
    let good = a.meta().expires_at_column();
    for edited in [i64::MAX, good + 1, good - 1, 0] {
        t.set_expires_at(&key, edited);
        assert_eq!(
            s.resume(&id, None).unwrap_err(),
            Error::Rejected,
            "{what}: expires_at {edited}"
        );
    }
    t.set_expires_at(&key, good);
    s.resume(&id, None).unwrap();
}

/// Replaying an older authentic row works exactly as far as `docs/session-format.md` §7
/// says: it needs the session id (the replayer gains nothing without it), revives a
/// logged-out or stepped-down session only within the idle timeout of the replayed
/// `last_seen`, never past the absolute deadline, never past a revocation epoch, and never
/// under another id.
fn rollback_is_bounded_as_documented<T: Table>(t: &mut T, what: &str) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let rev = Revocation::default();
    let s = manager(t.open_store(), &clock, &rev);
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let idle = TimeoutPolicy::BACKEND_L3.idle.as_millis() as u64;
    let elevation = TimeoutPolicy::BACKEND_L3.elevation.as_millis() as u64;
    let bob = user("clinician-bob");
    let e = s
        .login(&mut rng, &bob, Role::Clinician, None, None)
        .unwrap();
    let a = s.activate(e, None).unwrap();
    let el = s.elevate(&mut rng, a).unwrap();
    let el_id = copy(el.id());
    let el_key = *el.id_hash();
    let elevated_row = t.snapshot(&el_key);
    clock.advance(Duration::from_secs(10));
    // Step down early (rotates the id), then log out.
    let down = s.step_down(&mut rng, el).unwrap();
    let down_id = copy(down.id());
    let down_row = t.snapshot(down.id_hash());
    s.logout(down).unwrap();
    assert_eq!(s.resume(&down_id, None).unwrap_err(), Error::Rejected);

    // Re-inserting the logged-out row brings the session back (not protected)...
    t.restore(&down_row);
    s.resume(&down_id, None).unwrap();
    // ...and re-inserting the elevated row, deleted by the step-down's rotation, brings the
    // elevation back, but only until its original end (elevated_until), never longer.
    t.restore(&elevated_row);
    let again = s.resume_elevated(&el_id, None).unwrap();
    assert_eq!(
        again.meta().elevated_until,
        Timestamp::from_millis(T0 + elevation),
        "{what}"
    );
    clock.set(Timestamp::from_millis(T0 + elevation));
    assert_eq!(
        s.resume_elevated(&el_id, None).unwrap_err(),
        Error::ElevationRequired,
        "{what}"
    );
    // A row filed under another key is refused (the MAC covers id_hash).
    let mut moved = elevated_row.clone();
    moved.id_hash = down_row.id_hash.clone();
    t.restore(&moved);
    assert_eq!(s.resume(&down_id, None).unwrap_err(), Error::Rejected);

    // The replay window: a replayed row is live only while its own last_seen + idle lies
    // ahead.
    t.restore(&down_row);
    let replayed_last_seen = T0 + 10_000;
    clock.set(Timestamp::from_millis(replayed_last_seen + idle));
    assert_eq!(s.resume(&down_id, None).unwrap_err(), Error::Rejected);

    // Never past the absolute deadline: the deadline is the same in every record of the
    // session, and is also capped by the manager's policy.
    t.restore(&down_row);
    clock.set(Timestamp::from_millis(replayed_last_seen + idle - 1));
    s.resume(&down_id, None).unwrap();
    let abs = TimeoutPolicy::BACKEND_L3.absolute.as_millis() as u64;
    let mut at = replayed_last_seen + idle - 1;
    while at + idle / 2 < T0 + abs {
        at += idle / 2;
        clock.set(Timestamp::from_millis(at));
        s.resume(&down_id, None).unwrap();
    }
    clock.set(Timestamp::from_millis(T0 + abs));
    assert_eq!(s.resume(&down_id, None).unwrap_err(), Error::Rejected);
    t.restore(&down_row);
    assert_eq!(s.resume(&down_id, None).unwrap_err(), Error::Rejected);

    // Never past a revocation epoch (the epoch lives outside the session table).
    clock.set(Timestamp::from_millis(T0 + 20_000));
    t.restore(&down_row);
    // (bob's rows: the replayed one and the elevated one replayed above)
    assert_eq!(s.revoke_user(&bob).unwrap(), 2);
    t.restore(&down_row);
    assert_eq!(
        s.resume(&down_id, None).unwrap_err(),
        Error::Rejected,
        "{what}: a replayed row outlived a revocation"
    );
}

/// The version counter stops at 2^63 - 1 (the signed column's maximum) in every store:
/// the request that would go past it is refused, and nothing is written.
fn version_counter_stops_at_the_signed_maximum<S: SessionStore>(
    store: S,
    column: &mut dyn FnMut(&IdHash) -> Option<i64>,
    what: &str,
) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let rev = Revocation::default();
    let s = manager(store, &clock, &rev);
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let id = SessionId::from_bytes([0x71; 32]);
    let key = id.id_hash();
    let meta = SessionMeta {
        version: MAX_VERSION - 1,
        user: user("patient-counter"),
        role: Role::Patient,
        state: StoredState::Active,
        created_at: Timestamp::from_millis(T0),
        authenticated_at: Timestamp::from_millis(T0),
        last_seen: Timestamp::from_millis(T0),
        idle_timeout_ms: 900_000,
        absolute_deadline: Timestamp::from_millis(T0 + 43_200_000),
        elevated_until: Timestamp::ZERO,
        binding: None,
        data_len: 0,
    };
    s.store().insert(&key, &meta, &[]).unwrap();
    let mut last = s.resume(&id, None).unwrap();
    assert_eq!(last.meta().version, MAX_VERSION, "{what}");
    if let Some(v) = column(&key) {
        assert_eq!(v, i64::MAX, "{what}: column");
    }
    // Every further write is refused: the touch, data, rotation and elevation.
    assert_eq!(
        s.resume(&id, None).unwrap_err(),
        Error::Rejected,
        "{what}: a version past 2^63 - 1 was written"
    );
    assert_eq!(
        s.set_data(&mut rng, &mut last, b"x").unwrap_err(),
        Error::Rejected,
        "{what}"
    );
    let stored = s.store().load(&key).unwrap().unwrap();
    assert_eq!(stored.version, MAX_VERSION, "{what}: nothing written");
    assert_eq!(stored.data_len, 0, "{what}");
    assert_eq!(
        s.rotate(&mut rng, last).unwrap_err(),
        Error::Rejected,
        "{what}"
    );
    if let Some(v) = column(&key) {
        assert_eq!(v, i64::MAX, "{what}: column");
    }
    // The store itself refuses to write such a version where it keeps a column.
    let mut past = meta;
    past.version = MAX_VERSION + 1;
    let other = IdHash::from_bytes([0x72; 32]);
    if column(&key).is_some() {
        assert_eq!(
            s.store().insert(&other, &past, &[]).unwrap_err(),
            Error::InvalidInput,
            "{what}"
        );
    }
}

#[test]
fn sqlite_rows_are_checked_against_their_records() {
    let mut t = Sqlite::new();
    edited_clear_columns_are_refused(&mut t, "sqlite");
    let mut t = Sqlite::new();
    rollback_is_bounded_as_documented(&mut t, "sqlite");
}

#[test]
fn postgres_rows_are_checked_against_their_records() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let mut t = Pg::new(&cluster, "columns");
    edited_clear_columns_are_refused(&mut t, "postgres");
    let mut t = Pg::new(&cluster, "rollback");
    rollback_is_bounded_as_documented(&mut t, "postgres");
}

#[test]
fn version_counter_stops_at_the_signed_maximum_in_every_store() {
    version_counter_stops_at_the_signed_maximum(MemoryStore::new(), &mut |_| None, "memory");
    version_counter_stops_at_the_signed_maximum(FixedStore::<2, 64>::new(), &mut |_| None, "fixed");
    let mut t = Sqlite::new();
    let store = t.open_store();
    version_counter_stops_at_the_signed_maximum(
        store,
        &mut |k| Some(t.snapshot(k).version),
        "sqlite",
    );
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let mut t = Pg::new(&cluster, "counter");
    let store = t.open_store();
    version_counter_stops_at_the_signed_maximum(
        store,
        &mut |k| Some(t.snapshot(k).version),
        "postgres",
    );
}

/// SQLite keeps whatever type is written into a column. A TEXT value in `record` or
/// `user_id` is refused like any other tampering: not measured in characters (16,000 'é'
/// are 32,000 bytes), not read into memory, and not an outage for the user's other sessions.
#[test]
fn sqlite_values_of_the_wrong_type_are_refused() {
    let t = Sqlite::new();
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let rev = Revocation::default();
    let s = manager(
        SqliteStore::open(&t.path, RecordKey::from_bytes([0x33; 32])).unwrap(),
        &clock,
        &rev,
    );
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let carol = user("caregiver-carol");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let e = s
            .login(&mut rng, &carol, Role::Caregiver, None, None)
            .unwrap();
        let mut a = s.activate(e, None).unwrap();
        s.set_data(&mut rng, &mut a, b"PHI: alarm history").unwrap();
        ids.push(copy(a.id()));
    }
    let keys: Vec<IdHash> = ids.iter().map(SessionId::id_hash).collect();
    let text_32k = "\u{e9}".repeat(16_000);
    let chars_and_bytes = |k: &IdHash| -> (String, i64, i64) {
        t.conn
            .query_row(
                "SELECT typeof(record), length(record), length(CAST(record AS BLOB))
                 FROM medsec_sessions WHERE id_hash = ?1",
                [k.as_bytes().as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
    };

    // The record's own bytes, retyped as TEXT.
    t.exec(
        "UPDATE medsec_sessions SET record = CAST(record AS TEXT) WHERE id_hash = ?1",
        [keys[0].as_bytes().as_slice()],
    );
    assert_eq!(chars_and_bytes(&keys[0]).0, "text");
    // 32,000 bytes of TEXT that length() counts as 16,000 (under the 16,674 bound).
    t.exec(
        "UPDATE medsec_sessions SET record = ?1 WHERE id_hash = ?2",
        rusqlite::params![text_32k, keys[1].as_bytes().as_slice()],
    );
    let (ty, chars, bytes) = chars_and_bytes(&keys[1]);
    assert_eq!((ty.as_str(), chars, bytes), ("text", 16_000, 32_000));
    for i in 0..2 {
        assert_eq!(s.store().load(&keys[i]).unwrap_err(), Error::Rejected);
        assert_eq!(s.resume(&ids[i], None).unwrap_err(), Error::Rejected);
        assert_eq!(
            s.store().read_data(&keys[i], &mut [0u8; 46]).unwrap_err(),
            Error::Rejected
        );
    }
    // The user's untouched session is listed, and logging in (which counts the user's
    // sessions) still works.
    let listed: Vec<IdHash> = s.list(&carol).unwrap().iter().map(|x| x.id_hash).collect();
    assert_eq!(listed, vec![keys[2]]);
    s.login(&mut rng, &carol, Role::Caregiver, None, None)
        .unwrap();

    // user_id retyped as TEXT: the blob-keyed per-user delete no longer matches it, so the
    // readers refuse it.
    t.exec(
        "UPDATE medsec_sessions SET user_id = CAST(user_id AS TEXT) WHERE id_hash = ?1",
        [keys[2].as_bytes().as_slice()],
    );
    assert_eq!(s.resume(&ids[2], None).unwrap_err(), Error::Rejected);
    s.logout_everywhere(&carol).unwrap();
    assert_eq!(s.resume(&ids[2], None).unwrap_err(), Error::Rejected);

    // version stored as a REAL: refused.
    let e = s
        .login(&mut rng, &carol, Role::Caregiver, None, None)
        .unwrap();
    let id = copy(e.id());
    t.exec(
        "UPDATE medsec_sessions SET version = version + 0.5 WHERE id_hash = ?1",
        [id.id_hash().as_bytes().as_slice()],
    );
    assert_eq!(s.resume(&id, None).unwrap_err(), Error::Rejected);
}

/// What a reader sees of one row's integer columns after someone wrote `expr` into `column`
/// (raw SQL, on the attacker's connection), and the value's stored type.
fn retype(t: &Sqlite, key: &IdHash, column: &str, expr: &str) -> String {
    t.exec(
        &format!("UPDATE medsec_sessions SET {column} = {expr} WHERE id_hash = ?1"),
        [key.as_bytes().as_slice()],
    );
    t.conn
        .query_row(
            &format!("SELECT typeof({column}) FROM medsec_sessions WHERE id_hash = ?1"),
            [key.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .unwrap()
}

/// Every way a reader can meet a session's row, none of which may write or end it: the
/// lookup, the data read through a handle, and the per-user listing.
fn assert_refused<S: SessionStore>(s: &Mgr<S>, a: &Session<Active>, user: &UserId, what: &str) {
    let key = a.id_hash();
    assert_eq!(s.store().load(key).unwrap_err(), Error::Rejected, "{what}");
    assert_eq!(s.data(a).unwrap_err(), Error::Rejected, "{what}");
    assert_eq!(
        s.store().read_data(key, &mut [0u8; 46]).unwrap_err(),
        Error::Rejected,
        "{what}"
    );
    assert_eq!(
        s.resume(&copy(a.id()), None).unwrap_err(),
        Error::Rejected,
        "{what}"
    );
    let listed = s.list(user).unwrap();
    assert!(listed.iter().all(|x| x.id_hash != *key), "{what}: listed");
}

/// SQLite's INTEGER affinity (`docs/session-format.md` §5.2): a TEXT or REAL value that is
/// exactly an integer in the signed 64-bit range is stored as that INTEGER when written, so
/// the row is the same as an honest one and reads accept it when the integer equals the
/// record's. Every other value (a fraction, a number beyond 2^63 - 1, text that is not a
/// number, a BLOB, a negative or otherwise different integer) stays what it is, and every read
/// refuses the row with the one opaque error: no panic, no coercion by the reader, no outage
/// for the user's other sessions. `NULL` is refused by the table's `NOT NULL`.
#[test]
fn sqlite_integer_columns_hold_only_the_records_integers() {
    let mut t = Sqlite::new();
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let rev = Revocation::default();
    let s = manager(t.open_store(), &clock, &rev);
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let dana = user("clinician-dana");
    let e = s
        .login(&mut rng, &dana, Role::Clinician, None, None)
        .unwrap();
    let mut a = s.activate(e, None).unwrap();
    s.set_data(&mut rng, &mut a, b"PHI: insulin ratio 1:12")
        .unwrap();
    let other = s
        .login(&mut rng, &dana, Role::Clinician, None, None)
        .unwrap();
    let key = *a.id_hash();
    assert_eq!(a.meta().version, 3);
    let expires = a.meta().expires_at_column();
    let accepted = |what: &str| {
        assert_eq!(s.store().load(&key).unwrap().unwrap(), *a.meta(), "{what}");
        assert_eq!(
            s.data(&a).unwrap().unwrap().as_bytes(),
            b"PHI: insulin ratio 1:12",
            "{what}"
        );
        assert_eq!(s.list(&dana).unwrap().len(), 2, "{what}");
    };

    // version: written as TEXT or REAL, stored as INTEGER 3 (the column's affinity), accepted.
    for expr in [
        "'3'",
        "' 3 '",
        "'+3'",
        "'03'",
        // SQLite's whitespace around an integer literal: space, \t \n \v \f \r.
        "char(9, 51)",
        "char(11, 51)",
        "char(12, 51, 13)",
        "char(10, 51, 10)",
        "'3.0'",
        "'3e0'",
        "3.0",
        "CAST(3 AS TEXT)",
        // Numeric text with a point or an exponent goes through a double: these are 3.0.
        "'3.0000000000000001'",
        "'2.9999999999999999'",
        // The same whitespace is skipped around any numeric text.
        "' 3.0 '",
        "char(11, 51, 101, 48)",
        "char(9, 46, 51, 101, 49, 12)",
    ] {
        assert_eq!(retype(&t, &key, "version", expr), "integer", "{expr}");
        accepted(expr);
    }
    // version: anything else stays what it is and is refused.
    for (expr, ty) in [
        ("3.5", "real"),
        ("'3.5'", "real"),
        ("'9223372036854775808'", "real"),
        ("1e19", "real"),
        ("'3x'", "text"),
        // Non-ASCII whitespace (U+00A0) is not skipped.
        ("char(160, 51)", "text"),
        ("'0x3'", "text"),
        ("''", "text"),
        ("x'03'", "blob"),
        ("x'0000000000000003'", "blob"),
        ("CAST('3' AS BLOB)", "blob"),
        ("-3", "integer"),
        ("0", "integer"),
        ("4", "integer"),
        ("9223372036854775807", "integer"),
        ("-9223372036854775808", "integer"),
        // Through a double: 2^53 + 1 becomes 2^53 (an INTEGER, just not 3), and a double
        // of +-2^63 stays REAL.
        ("'9007199254740993.0'", "integer"),
        ("9007199254740993.0", "integer"),
        ("'9223372036854775807.0'", "real"),
        ("'-9223372036854775808.0'", "real"),
        // Whitespace around numeric text that is not a whole number, or not 3.
        ("' 3.5 '", "real"),
        ("'1e3 '", "integer"),
        (
            "char(11, 57, 50, 50, 51, 51, 55, 50, 48, 51, 54, 56, 53, 52, 55, 55, 53, 56, 48, 56)",
            "real",
        ),
    ] {
        assert_eq!(retype(&t, &key, "version", expr), ty, "{expr}");
        assert_refused(&s, &a, &dana, &format!("version {expr}"));
        // The user's other session is untouched by the refusal.
        assert_eq!(s.list(&dana).unwrap().len(), 1, "{expr}");
        assert_eq!(retype(&t, &key, "version", "3"), "integer");
        accepted("version restored");
    }
    // The precision lost on the way (docs/session-format.md §5.2: SQLite 3.54.1, the one
    // `libsqlite3-sys` 0.40 bundles).
    assert_eq!(
        rusqlite::version(),
        "3.54.1",
        "the bundled SQLite changed: re-check and update docs/session-format.md §5.2"
    );
    for (expr, stored) in [
        ("'9007199254740993.0'", 9_007_199_254_740_992i64),
        ("'9007199254740993'", 9_007_199_254_740_993),
        ("'4503599627370497.5'", 4_503_599_627_370_498),
        ("'1e3 '", 1000),
        ("' 3.0 '", 3),
    ] {
        assert_eq!(retype(&t, &key, "version", expr), "integer", "{expr}");
        let v: i64 = t
            .conn
            .query_row(
                "SELECT version FROM medsec_sessions WHERE id_hash = ?1",
                [key.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(v, stored, "{expr}");
    }
    assert_eq!(retype(&t, &key, "version", "3"), "integer");
    accepted("version restored");
    assert!(
        t.conn
            .execute(
                "UPDATE medsec_sessions SET version = NULL WHERE id_hash = ?1",
                [key.as_bytes().as_slice()],
            )
            .is_err(),
        "NOT NULL"
    );

    // expires_at: the same rules.
    for expr in [
        format!("'{expires}'"),
        format!("'{expires}.0'"),
        format!("{expires}.0"),
    ] {
        assert_eq!(retype(&t, &key, "expires_at", &expr), "integer", "{expr}");
        accepted(&expr);
    }
    for (expr, ty) in [
        (format!("{expires}.5"), "real"),
        (format!("'{expires}x'"), "text"),
        ("'9223372036854775808'".to_owned(), "real"),
        (format!("CAST({expires} AS BLOB)"), "blob"),
        (format!("{}", expires + 1), "integer"),
        (format!("{}", -expires), "integer"),
    ] {
        assert_eq!(retype(&t, &key, "expires_at", &expr), ty, "{expr}");
        assert_refused(&s, &a, &dana, &format!("expires_at {expr}"));
        assert_eq!(
            retype(&t, &key, "expires_at", &expires.to_string()),
            "integer"
        );
        accepted("expires_at restored");
    }

    // The sweep compares as SQLite does: a REAL by its value, a TEXT or BLOB as greater than
    // every number, so such a row (refused anyway) is never swept.
    let e_text = s
        .login(&mut rng, &dana, Role::Clinician, None, None)
        .unwrap();
    let e_real = s
        .login(&mut rng, &dana, Role::Clinician, None, None)
        .unwrap();
    let e_blob = s
        .login(&mut rng, &dana, Role::Clinician, None, None)
        .unwrap();
    retype(&t, e_text.id_hash(), "expires_at", "'soon'");
    let at = e_real.meta().expires_at_column();
    retype(&t, e_real.id_hash(), "expires_at", &format!("{at}.5"));
    retype(&t, e_blob.id_hash(), "expires_at", "x'00'");
    clock.set(Timestamp::from_millis(i64::MAX as u64 - 1));
    // Every integer row (a, other) and the REAL row go; the TEXT and BLOB rows stay.
    assert_eq!(s.sweep().unwrap(), 3);
    assert_eq!(t.rows(e_text.id_hash()), 1);
    assert_eq!(t.rows(e_blob.id_hash()), 1);
    assert_eq!(t.rows(e_real.id_hash()), 0);
    assert_eq!(t.rows(other.id_hash()), 0);
}

/// A database writer who rewrote the table without the declared types and `NOT NULL` (so
/// SQLite converts nothing): TEXT, REAL, BLOB and NULL values all reach the reader, which
/// refuses each; a 32-character TEXT `id_hash` (which the real table's `CHECK` lets through)
/// is skipped by the per-user listing instead of failing it.
#[test]
fn sqlite_values_of_every_type_reach_the_reader_and_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE medsec_sessions (id_hash PRIMARY KEY NOT NULL, user_id, version,
         expires_at, record) WITHOUT ROWID",
    )
    .unwrap();
    drop(conn);
    let mut t = Sqlite {
        path: path.clone(),
        conn: rusqlite::Connection::open(&path).unwrap(),
        _dir: dir,
    };
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let rev = Revocation::default();
    let s = manager(t.open_store(), &clock, &rev);
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let erin = user("patient-erin");
    let e = s.login(&mut rng, &erin, Role::Patient, None, None).unwrap();
    let mut a = s.activate(e, None).unwrap();
    s.set_data(&mut rng, &mut a, b"PHI: CGM serial").unwrap();
    let key = *a.id_hash();
    let v = a.meta().version;
    let expires = a.meta().expires_at_column();
    let accepted = || {
        assert_eq!(s.store().load(&key).unwrap().unwrap(), *a.meta());
        assert_eq!(s.list(&erin).unwrap().len(), 1);
    };
    accepted();
    for (column, good) in [
        ("version", v.to_string()),
        ("expires_at", expires.to_string()),
    ] {
        for (expr, ty) in [
            (format!("'{good}'"), "text"),
            (format!("{good}.0"), "real"),
            (format!("CAST({good} AS BLOB)"), "blob"),
            ("NULL".to_owned(), "null"),
        ] {
            assert_eq!(retype(&t, &key, column, &expr), ty, "{column} {expr}");
            assert_refused(&s, &a, &erin, &format!("{column} {expr}"));
            assert_eq!(retype(&t, &key, column, &good), "integer");
            accepted();
        }
    }
    for (column, good) in [("user_id", "CAST('patient-erin' AS BLOB)"), ("record", "")] {
        if good.is_empty() {
            let record: Vec<u8> = t
                .conn
                .query_row(
                    "SELECT record FROM medsec_sessions WHERE id_hash = ?1",
                    [key.as_bytes().as_slice()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(retype(&t, &key, column, "NULL"), "null");
            assert_refused(&s, &a, &erin, "record NULL");
            t.exec(
                "UPDATE medsec_sessions SET record = ?1 WHERE id_hash = ?2",
                rusqlite::params![record, key.as_bytes().as_slice()],
            );
        } else {
            assert_eq!(retype(&t, &key, column, "NULL"), "null");
            // A NULL user_id is not found by the per-user listing at all.
            assert_refused(&s, &a, &erin, "user_id NULL");
            assert_eq!(retype(&t, &key, column, good), "blob");
        }
        accepted();
    }
}

/// In the real table a 32-character TEXT `id_hash` passes the `CHECK`; the per-user listing
/// skips such a row (it cannot be a session key) and goes on, so the user can still list,
/// log in (the cap lists) and end their other sessions; logout everywhere deletes it.
#[test]
fn sqlite_text_key_is_skipped_by_the_listing() {
    let mut t = Sqlite::new();
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let rev = Revocation::default();
    let s = manager(t.open_store(), &clock, &rev);
    let mut rng = ChaCha20Rng::seed_from_u64(18);
    let finn = user("caregiver-finn");
    let e = s
        .login(&mut rng, &finn, Role::Caregiver, None, None)
        .unwrap();
    let keep = s.activate(e, None).unwrap();
    let moved = s
        .login(&mut rng, &finn, Role::Caregiver, None, None)
        .unwrap();
    let _third = s
        .login(&mut rng, &finn, Role::Caregiver, None, None)
        .unwrap();
    t.exec(
        "UPDATE medsec_sessions SET id_hash = '0123456789abcdef0123456789abcdef'
         WHERE id_hash = ?1",
        [moved.id_hash().as_bytes().as_slice()],
    );
    assert_eq!(t.rows(moved.id_hash()), 0, "moved to a TEXT key");
    assert_eq!(s.list(&finn).unwrap().len(), 2);
    s.login(&mut rng, &finn, Role::Caregiver, None, None)
        .unwrap();
    assert_eq!(s.end_other_sessions(&keep).unwrap(), 2);
    let text_rows = |t: &Sqlite| -> i64 {
        t.conn
            .query_row(
                "SELECT count(*) FROM medsec_sessions WHERE typeof(id_hash) = 'text'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(text_rows(&t), 1, "listed rows only are ended");
    assert_eq!(s.logout_everywhere(&finn).unwrap(), 2);
    assert_eq!(
        text_rows(&t),
        0,
        "the per-user delete goes by the user_id column"
    );
}

/// `record_key` and `data_secret` have no key id and one value per deployment; the document
/// says what changing them does. This checks it.
#[test]
fn changing_record_key_or_data_secret_behaves_as_documented() {
    let mut t = Sqlite::new();
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let rev = Revocation::default();
    let s = manager(
        SqliteStore::open(&t.path, RecordKey::from_bytes([0x33; 32])).unwrap(),
        &clock,
        &rev,
    );
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let e = s
        .login(&mut rng, &user("tech-1"), Role::Technician, None, None)
        .unwrap();
    let mut a = s.activate(e, None).unwrap();
    s.set_data(&mut rng, &mut a, b"firmware job 7").unwrap();
    let id = copy(a.id());

    // A new data_secret, same record_key: the session resumes, its old data cannot be
    // opened (nor re-sealed by a rotation), new data can be written.
    let s2 = Sessions::with_revocation(
        SqliteStore::open(&t.path, RecordKey::from_bytes([0x33; 32])).unwrap(),
        clock.clone(),
        rev.clone(),
        DataSecret::from_bytes([0x43; 32]),
        SessionPolicy::BACKEND_L3,
    )
    .unwrap();
    let a2 = s2.resume(&id, None).unwrap();
    assert_eq!(s2.data(&a2).unwrap_err(), Error::Rejected);
    let a2 = s2.resume(&id, None).unwrap();
    assert_eq!(s2.rotate(&mut rng, a2).unwrap_err(), Error::Rejected);
    let mut a2 = s2.resume(&id, None).unwrap();
    s2.set_data(&mut rng, &mut a2, b"new job").unwrap();
    assert_eq!(s2.data(&a2).unwrap().unwrap().as_bytes(), b"new job");

    // A new record_key: every existing row is refused (log in again); the rows stay until
    // the sweep reaches their expires_at, or until the operator deletes them.
    let s3 = Sessions::with_revocation(
        SqliteStore::open(&t.path, RecordKey::from_bytes([0x34; 32])).unwrap(),
        clock.clone(),
        rev.clone(),
        DataSecret::from_bytes([0x43; 32]),
        SessionPolicy::BACKEND_L3,
    )
    .unwrap();
    assert_eq!(s3.resume(&id, None).unwrap_err(), Error::Rejected);
    assert_eq!(t.rows(&id.id_hash()), 1);
    let expires_at = t.snapshot(&id.id_hash()).expires_at;
    clock.set(Timestamp::from_millis(expires_at as u64 - 1));
    assert_eq!(s3.sweep().unwrap(), 0);
    clock.set(Timestamp::from_millis(expires_at as u64));
    assert_eq!(s3.sweep().unwrap(), 1);
    assert_eq!(t.rows(&id.id_hash()), 0);
}
