//! PostgreSQL store: several server instances share sessions.

use std::boxed::Box;
use std::string::ToString;
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

use postgres::error::SqlState;
use postgres::{Client, NoTls};

use super::sql::{self, Row, MAX_STORED_RECORD, MAX_STORED_USER};
use super::{DataUpdate, SessionStore};
use crate::clock::Timestamp;
use crate::id::{IdHash, UserId};
use crate::record::{self, SessionMeta};
use crate::seal::RecordKey;
use crate::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS medsec_sessions (
    id_hash    bytea  PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    user_id    bytea  NOT NULL,
    version    bigint NOT NULL,
    expires_at bigint NOT NULL,
    record     bytea  NOT NULL
);
CREATE INDEX IF NOT EXISTS medsec_sessions_user ON medsec_sessions (user_id);
CREATE INDEX IF NOT EXISTS medsec_sessions_expiry ON medsec_sessions (expires_at);
";

type Connect = Box<dyn Fn() -> core::result::Result<Client, postgres::Error> + Send + Sync>;

/// Sessions in a PostgreSQL table shared by every server instance (same schema and record
/// format as [`super::SqliteStore`]). Holds one connection and reconnects lazily: while the
/// server is unreachable every call fails with [`Error::Unavailable`] (fail closed), and
/// once it is back the next call reconnects; nothing is cached locally, so nothing is lost
/// or resurrected across the outage.
pub struct PostgresStore {
    connect: Connect,
    client: Mutex<Option<Client>>,
    key: RecordKey,
}

impl core::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// The columns every read selects: the record and the user id only within their bounds (a
/// longer value, which someone wrote to the database, comes back empty, which verification
/// refuses, instead of being sent over and copied into process memory whatever its size;
/// `octet_length()` of a TOASTed value reads only its header), and the version and expiry
/// columns, which verification compares with the record. (`$2` is the record bound, `$3`
/// the user id bound.)
macro_rules! select_row {
    () => {
        "CASE WHEN octet_length(record) <= $2::bigint THEN record ELSE ''::bytea END,
         CASE WHEN octet_length(user_id) <= $3::bigint THEN user_id ELSE ''::bytea END,
         version, expires_at"
    };
}

fn row_at(r: &postgres::Row, first: usize) -> core::result::Result<Row, postgres::Error> {
    Ok(Row {
        record: r.try_get(first)?,
        user_id: r.try_get(first.saturating_add(1))?,
        version: Some(r.try_get(first.saturating_add(2))?),
        expires_at: Some(r.try_get(first.saturating_add(3))?),
    })
}

fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl PostgresStore {
    /// Connects with a caller-supplied connect function, so production deployments can pass
    /// a TLS connector (ASVS v5.0.0-12.3.1): for example
    /// `move || config.connect(tls.clone())`. Creates the table if needed.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the first connection or the schema setup fails.
    pub fn connect_with(
        connect: impl Fn() -> core::result::Result<Client, postgres::Error> + Send + Sync + 'static,
        key: RecordKey,
    ) -> Result<Self> {
        let store = Self {
            connect: Box::new(connect),
            client: Mutex::new(None),
            key,
        };
        store.with_client(|c| c.batch_execute(SCHEMA).map(Ok))?;
        Ok(store)
    }

    /// Connects without TLS: only for a server on loopback or a Unix socket (tests, a
    /// database on the same host). `params` is a libpq-style connection string.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed connection string; [`Error::Unavailable`]
    /// when the server cannot be reached.
    pub fn connect_local(params: &str, key: RecordKey) -> Result<Self> {
        let config: postgres::Config = params.parse().map_err(|_| Error::InvalidInput)?;
        Self::connect_with(move || config.connect(NoTls), key)
    }

    /// Runs `f` on a live connection, reconnecting first if needed. Database errors mean
    /// [`Error::Unavailable`], and a broken connection is dropped so the next call
    /// reconnects.
    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> core::result::Result<Result<T>, postgres::Error>,
    ) -> Result<T> {
        let mut guard: MutexGuard<'_, Option<Client>> =
            self.client.lock().map_err(|_| Error::Unavailable)?;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = None;
            match (self.connect)() {
                Ok(c) => *guard = Some(c),
                Err(e) => {
                    tracing::error!(error = %e.to_string(), "postgres session store unreachable");
                    return Err(Error::Unavailable);
                }
            }
        }
        let client = guard.as_mut().ok_or(Error::Unavailable)?;
        match f(client) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e.to_string(), "postgres session store failed");
                if client.is_closed() || e.code().is_none() {
                    *guard = None;
                }
                Err(Error::Unavailable)
            }
        }
    }

    fn verify<'a>(&self, key: &IdHash, row: &'a Row) -> Result<(SessionMeta, &'a [u8])> {
        sql::verify(&self.key, key, row)
    }

    fn fetch(&self, key: &IdHash) -> Result<Option<Row>> {
        self.with_client(|c| {
            let row = c.query_opt(
                concat!(
                    "SELECT ",
                    select_row!(),
                    " FROM medsec_sessions WHERE id_hash = $1"
                ),
                &[
                    &key.as_bytes().as_slice(),
                    &MAX_STORED_RECORD,
                    &MAX_STORED_USER,
                ],
            )?;
            Ok(Ok(row.map(|r| row_at(&r, 0)).transpose()?))
        })
    }
}

impl SessionStore for PostgresStore {
    fn insert(&self, key: &IdHash, meta: &SessionMeta, data: &[u8]) -> Result<()> {
        let rec = record::encode(&self.key, key, meta, data)?;
        let version = sql::version_column(meta.version)?;
        self.with_client(|c| {
            let n = c.execute(
                "INSERT INTO medsec_sessions (id_hash, user_id, version, expires_at, record)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id_hash) DO NOTHING",
                &[
                    &key.as_bytes().as_slice(),
                    &meta.user.as_bytes(),
                    &version,
                    &meta.expires_at_column(),
                    &rec,
                ],
            )?;
            Ok(if n == 1 { Ok(()) } else { Err(Error::Conflict) })
        })
    }

    fn load(&self, key: &IdHash) -> Result<Option<SessionMeta>> {
        match self.fetch(key)? {
            None => Ok(None),
            Some(row) => Ok(Some(self.verify(key, &row)?.0)),
        }
    }

    fn read_data(&self, key: &IdHash, out: &mut [u8]) -> Result<()> {
        let row = self.fetch(key)?.ok_or(Error::Rejected)?;
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
        let old = self.fetch(key)?.ok_or(Error::Conflict)?;
        let (old_meta, old_data) = self.verify(key, &old)?;
        if old_meta.version != expected_version || old_meta.user != meta.user {
            return Err(Error::Conflict);
        }
        let data = match data {
            DataUpdate::Keep => old_data,
            DataUpdate::Replace(d) => d,
        };
        let rec = record::encode(&self.key, key, meta, data)?;
        let (version, expected) = (
            sql::version_column(meta.version)?,
            sql::version_column(expected_version)?,
        );
        // `expected` is the verified record's version, which the column equals.
        self.with_client(|c| {
            let n = c.execute(
                "UPDATE medsec_sessions SET version = $1, expires_at = $2, record = $3
                 WHERE id_hash = $4 AND version = $5 AND user_id = $6",
                &[
                    &version,
                    &meta.expires_at_column(),
                    &rec,
                    &key.as_bytes().as_slice(),
                    &expected,
                    &meta.user.as_bytes(),
                ],
            )?;
            Ok(if n == 1 { Ok(()) } else { Err(Error::Conflict) })
        })
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
        let (version, expected) = (
            sql::version_column(meta.version)?,
            sql::version_column(expected_version)?,
        );
        // One UPDATE that moves the row to its new key, not DELETE + INSERT: a concurrent
        // `DELETE ... WHERE user_id` (logout everywhere, revocation) that waits on this row
        // then re-checks the *updated* row and deletes it, whereas a freshly inserted row
        // would be invisible to its snapshot and survive (READ COMMITTED).
        self.with_client(|c| {
            let updated = c.execute(
                "UPDATE medsec_sessions SET id_hash = $1, version = $2, expires_at = $3, record = $4
                 WHERE id_hash = $5 AND version = $6 AND user_id = $7",
                &[
                    &new.as_bytes().as_slice(),
                    &version,
                    &meta.expires_at_column(),
                    &rec,
                    &old.as_bytes().as_slice(),
                    &expected,
                    &meta.user.as_bytes(),
                ],
            );
            match updated {
                Ok(1) => Ok(Ok(())),
                Ok(_) => Ok(Err(Error::Conflict)),
                // The new key exists already.
                Err(e) if is_unique_violation(&e) => Ok(Err(Error::Conflict)),
                Err(e) => Err(e),
            }
        })
    }

    fn remove(&self, key: &IdHash) -> Result<bool> {
        self.with_client(|c| {
            let n = c.execute(
                "DELETE FROM medsec_sessions WHERE id_hash = $1",
                &[&key.as_bytes().as_slice()],
            )?;
            Ok(Ok(n > 0))
        })
    }

    fn remove_user(&self, user: &UserId) -> Result<usize> {
        self.with_client(|c| {
            let n = c.execute(
                "DELETE FROM medsec_sessions WHERE user_id = $1",
                &[&user.as_bytes()],
            )?;
            Ok(Ok(usize::try_from(n).unwrap_or(usize::MAX)))
        })
    }

    fn for_each_of_user(
        &self,
        user: &UserId,
        f: &mut dyn FnMut(&IdHash, &SessionMeta),
    ) -> Result<()> {
        let rows: Vec<(Vec<u8>, Row)> = self.with_client(|c| {
            let rows = c.query(
                concat!(
                    "SELECT id_hash, ",
                    select_row!(),
                    " FROM medsec_sessions WHERE user_id = $1"
                ),
                &[&user.as_bytes(), &MAX_STORED_RECORD, &MAX_STORED_USER],
            )?;
            let rows = rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, row_at(r, 1)?)))
                .collect::<core::result::Result<_, postgres::Error>>()?;
            Ok(Ok(rows))
        })?;
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
        self.with_client(|c| {
            let n = c.execute(
                "DELETE FROM medsec_sessions WHERE expires_at <= $1",
                &[&now],
            )?;
            Ok(Ok(usize::try_from(n).unwrap_or(usize::MAX)))
        })
    }
}
