//! SQLite file store: apps, and the server example's embedded default.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::sql::{self, Row, MAX_STORED_RECORD, MAX_STORED_USER};
use super::{DataUpdate, SessionStore};
use crate::clock::Timestamp;
use crate::id::{IdHash, UserId};
use crate::record::{self, SessionMeta};
use crate::seal::RecordKey;
use crate::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS medsec_sessions (
    id_hash    BLOB    PRIMARY KEY NOT NULL CHECK (length(id_hash) = 32),
    user_id    BLOB    NOT NULL,
    version    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    record     BLOB    NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS medsec_sessions_user ON medsec_sessions (user_id);
CREATE INDEX IF NOT EXISTS medsec_sessions_expiry ON medsec_sessions (expires_at);
";

/// Sessions in a SQLite database file, one row per session: the id hash (key), the user
/// and expiry in clear for the indexes, and the authenticated record
/// (`docs/session-format.md`). Tampered rows are refused. `secure_delete` is on, so ended
/// sessions are overwritten in the file, not just unlinked. Several `SqliteStore`s (threads
/// or processes) may open the same file; compare-and-swap is a conditional `UPDATE`.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    key: RecordKey,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn db<E: core::fmt::Display>(e: E) -> Error {
    tracing::error!(error = %e, "sqlite session store failed");
    Error::Unavailable
}

/// The columns every read selects. SQLite is dynamically typed: a column may hold a value of
/// any type whatever its declaration, and `length()` of a TEXT value counts characters, not
/// bytes. So the record and the user id are returned only when they are BLOBs within their
/// bounds (otherwise an empty BLOB, which verification refuses), and the two integers only
/// when they are INTEGERs (otherwise NULL). `length()` of a BLOB reads only its header: an
/// oversized value is never copied into process memory.
/// (`?2` is the record bound, `?3` the user id bound.)
macro_rules! select_row {
    () => {
        "CASE WHEN typeof(record) = 'blob' AND length(record) <= ?2 THEN record ELSE x'' END,
         CASE WHEN typeof(user_id) = 'blob' AND length(user_id) <= ?3 THEN user_id ELSE x'' END,
         CASE WHEN typeof(version) = 'integer' THEN version END,
         CASE WHEN typeof(expires_at) = 'integer' THEN expires_at END"
    };
}

fn row_at(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Row> {
    Ok(Row {
        record: r.get(first)?,
        user_id: r.get(first.saturating_add(1))?,
        version: r.get(first.saturating_add(2))?,
        expires_at: r.get(first.saturating_add(3))?,
    })
}

impl SqliteStore {
    /// Opens (creating if needed) the session database at `path`.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the file cannot be opened or initialised.
    pub fn open(path: impl AsRef<Path>, key: RecordKey) -> Result<Self> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Self {
            conn: Mutex::new(conn),
            key,
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| Error::Unavailable)
    }

    fn fetch(conn: &Connection, key: &IdHash) -> Result<Option<Row>> {
        conn.prepare_cached(concat!(
            "SELECT ",
            select_row!(),
            " FROM medsec_sessions WHERE id_hash = ?1"
        ))
        .map_err(db)?
        .query_row(
            params![key.as_bytes(), MAX_STORED_RECORD, MAX_STORED_USER],
            |r| row_at(r, 0),
        )
        .optional()
        .map_err(db)
    }

    fn verify<'a>(&self, key: &IdHash, row: &'a Row) -> Result<(SessionMeta, &'a [u8])> {
        sql::verify(&self.key, key, row)
    }
}

impl SessionStore for SqliteStore {
    fn insert(&self, key: &IdHash, meta: &SessionMeta, data: &[u8]) -> Result<()> {
        let rec = record::encode(&self.key, key, meta, data)?;
        let conn = self.conn()?;
        let n = conn
            .prepare_cached(
                "INSERT INTO medsec_sessions (id_hash, user_id, version, expires_at, record)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id_hash) DO NOTHING",
            )
            .map_err(db)?
            .execute(params![
                key.as_bytes(),
                meta.user.as_bytes(),
                sql::version_column(meta.version)?,
                meta.expires_at_column(),
                rec
            ])
            .map_err(db)?;
        if n == 1 {
            Ok(())
        } else {
            Err(Error::Conflict)
        }
    }

    fn load(&self, key: &IdHash) -> Result<Option<SessionMeta>> {
        let Some(row) = Self::fetch(&*self.conn()?, key)? else {
            return Ok(None);
        };
        Ok(Some(self.verify(key, &row)?.0))
    }

    fn read_data(&self, key: &IdHash, out: &mut [u8]) -> Result<()> {
        let row = Self::fetch(&*self.conn()?, key)?.ok_or(Error::Rejected)?;
        let (_, data) = self.verify(key, &row)?;
        if data.len() != out.len() {
            return Err(Error::Conflict);
        }
        out.copy_from_slice(data);
        Ok(())
    }

    fn update(
        &self,
        key: &IdHash,
        expected_version: u64,
        meta: &SessionMeta,
        data: DataUpdate<'_>,
    ) -> Result<()> {
        let conn = self.conn()?;
        let old = Self::fetch(&conn, key)?.ok_or(Error::Conflict)?;
        let (old_meta, old_data) = self.verify(key, &old)?;
        if old_meta.version != expected_version || old_meta.user != meta.user {
            return Err(Error::Conflict);
        }
        let data = match data {
            DataUpdate::Keep => old_data,
            DataUpdate::Replace(d) => d,
        };
        let rec = record::encode(&self.key, key, meta, data)?;
        // The version condition makes this a compare-and-swap even across connections;
        // `expected_version` is the verified record's version, which the column equals.
        let n = conn
            .prepare_cached(
                "UPDATE medsec_sessions SET version = ?1, expires_at = ?2, record = ?3
                 WHERE id_hash = ?4 AND version = ?5 AND user_id = ?6",
            )
            .map_err(db)?
            .execute(params![
                sql::version_column(meta.version)?,
                meta.expires_at_column(),
                rec,
                key.as_bytes(),
                sql::version_column(expected_version)?,
                meta.user.as_bytes()
            ])
            .map_err(db)?;
        if n == 1 {
            Ok(())
        } else {
            Err(Error::Conflict)
        }
    }

    fn rotate(
        &self,
        old: &IdHash,
        expected_version: u64,
        new: &IdHash,
        meta: &SessionMeta,
        data: &[u8],
    ) -> Result<()> {
        if old == new {
            // The new key exists (it is the old one): moving a row onto its own key would
            // succeed here and leave the old id working.
            return Err(Error::Conflict);
        }
        let rec = record::encode(&self.key, new, meta, data)?;
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let deleted = tx
            .execute(
                "DELETE FROM medsec_sessions WHERE id_hash = ?1 AND version = ?2 AND user_id = ?3",
                params![
                    old.as_bytes(),
                    sql::version_column(expected_version)?,
                    meta.user.as_bytes()
                ],
            )
            .map_err(db)?;
        if deleted != 1 {
            return Err(Error::Conflict); // dropping `tx` rolls back
        }
        let inserted = tx
            .execute(
                "INSERT INTO medsec_sessions (id_hash, user_id, version, expires_at, record)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id_hash) DO NOTHING",
                params![
                    new.as_bytes(),
                    meta.user.as_bytes(),
                    sql::version_column(meta.version)?,
                    meta.expires_at_column(),
                    rec
                ],
            )
            .map_err(db)?;
        if inserted != 1 {
            return Err(Error::Conflict);
        }
        tx.commit().map_err(db)
    }

    fn remove(&self, key: &IdHash) -> Result<bool> {
        let n = self
            .conn()?
            .prepare_cached("DELETE FROM medsec_sessions WHERE id_hash = ?1")
            .map_err(db)?
            .execute(params![key.as_bytes()])
            .map_err(db)?;
        Ok(n > 0)
    }

    fn remove_user(&self, user: &UserId) -> Result<usize> {
        self.conn()?
            .prepare_cached("DELETE FROM medsec_sessions WHERE user_id = ?1")
            .map_err(db)?
            .execute(params![user.as_bytes()])
            .map_err(db)
    }

    fn for_each_of_user(
        &self,
        user: &UserId,
        f: &mut dyn FnMut(&IdHash, &SessionMeta),
    ) -> Result<()> {
        let rows: Vec<(Vec<u8>, Row)> = {
            let conn = self.conn()?;
            let mut stmt = conn
                // A key that is not a BLOB (a 32-character TEXT value passes the table's
                // CHECK) comes back empty and the row is skipped, instead of failing the
                // whole listing on its type.
                .prepare_cached(concat!(
                    "SELECT CASE WHEN typeof(id_hash) = 'blob' THEN id_hash ELSE x'' END, ",
                    select_row!(),
                    " FROM medsec_sessions WHERE user_id = ?1"
                ))
                .map_err(db)?;
            let rows = stmt
                .query_map(
                    params![user.as_bytes(), MAX_STORED_RECORD, MAX_STORED_USER],
                    |r| Ok((r.get(0)?, row_at(r, 1)?)),
                )
                .map_err(db)?;
            rows.collect::<core::result::Result<_, _>>().map_err(db)?
        };
        for (k, row) in rows {
            let Ok(k) = <[u8; 32]>::try_from(k.as_slice()) else {
                continue;
            };
            let k = IdHash::from_bytes(k);
            // A row that fails verification is skipped (and logged), never trusted.
            if let Ok((m, _)) = self.verify(&k, &row) {
                if m.user == *user {
                    f(&k, &m);
                }
            }
        }
        Ok(())
    }

    fn sweep(&self, now: Timestamp) -> Result<usize> {
        let now = i64::try_from(super::sweep_time(now)?.as_millis()).unwrap_or(i64::MAX);
        self.conn()?
            .prepare_cached("DELETE FROM medsec_sessions WHERE expires_at <= ?1")
            .map_err(db)?
            .execute(params![now])
            .map_err(db)
    }
}
