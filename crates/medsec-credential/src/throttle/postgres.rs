//! Throttle records in PostgreSQL, shared by several server instances (`postgres` feature).

use std::string::ToString;
use std::sync::Mutex;

use postgres::{Client, NoTls, Statement};

use super::{ThrottleKey, ThrottleRecord, ThrottleStore};
use crate::{Error, Result};

/// The table, created by [`PgThrottleStore::new`] and [`PgThrottleStore::migrate`]. Keys are keyed hashes, never user names.
pub const TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS medsec_credential_throttle (
    key bytea PRIMARY KEY CHECK (octet_length(key) = 16),
    failures bigint NOT NULL CHECK (failures > 0 AND failures <= 4294967295),
    last_failure_ms bigint NOT NULL CHECK (last_failure_ms >= 0)
)";

/// A [`ThrottleStore`] on one PostgreSQL connection. Every compare-and-swap is a single
/// conditional statement (`INSERT .. ON CONFLICT DO NOTHING`, `UPDATE .. WHERE`, `DELETE ..
/// WHERE`), atomic under concurrency from any number of connections and servers, and committed
/// before it returns. Use one store per thread (or a pool); a store serialises its own callers.
///
/// Bring your own [`Client`] (with TLS, per ASVS 12.3.1) through [`PgThrottleStore::new`];
/// [`PgThrottleStore::connect`] opens a plain connection for loopback and tests.
pub struct PgThrottleStore {
    client: Mutex<Client>,
    select: Statement,
    insert: Statement,
    update: Statement,
    delete: Statement,
}

impl PgThrottleStore {
    /// Connects without TLS (loopback or Unix socket only).
    ///
    /// # Errors
    /// [`Error::Store`] when the connection or statement preparation fails.
    pub fn connect(params: &str) -> Result<Self> {
        let client = Client::connect(params, NoTls).map_err(store_error)?;
        Self::new(client)
    }

    /// Uses an existing connection; prepares the statements.
    ///
    /// # Errors
    /// [`Error::Store`] when the table cannot be created or preparation fails.
    pub fn new(mut client: Client) -> Result<Self> {
        migrate(&mut client)?;
        let select = client
            .prepare(
                "SELECT failures, last_failure_ms FROM medsec_credential_throttle WHERE key = $1",
            )
            .map_err(store_error)?;
        let insert = client
            .prepare(
                "INSERT INTO medsec_credential_throttle (key, failures, last_failure_ms) \
                 VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
            )
            .map_err(store_error)?;
        let update = client
            .prepare(
                "UPDATE medsec_credential_throttle SET failures = $4, last_failure_ms = $5 \
                 WHERE key = $1 AND failures = $2 AND last_failure_ms = $3",
            )
            .map_err(store_error)?;
        let delete = client
            .prepare(
                "DELETE FROM medsec_credential_throttle \
                 WHERE key = $1 AND failures = $2 AND last_failure_ms = $3",
            )
            .map_err(store_error)?;
        Ok(Self {
            client: Mutex::new(client),
            select,
            insert,
            update,
            delete,
        })
    }

    /// Creates the table if it does not exist ([`TABLE_DDL`]); [`PgThrottleStore::new`] does it.
    ///
    /// # Errors
    /// [`Error::Store`] when the statement fails.
    pub fn migrate(&self) -> Result<()> {
        migrate(&mut *self.client()?)
    }

    fn client(&self) -> Result<std::sync::MutexGuard<'_, Client>> {
        self.client.lock().map_err(|_| Error::Store)
    }
}

impl ThrottleStore for PgThrottleStore {
    fn load(&self, key: &ThrottleKey) -> Result<ThrottleRecord> {
        let key_bytes: &[u8] = key.as_bytes();
        let row = self
            .client()?
            .query_opt(&self.select, &[&key_bytes])
            .map_err(store_error)?;
        match row {
            None => Ok(ThrottleRecord::CLEAR),
            Some(row) => {
                let failures: i64 = row.try_get(0).map_err(store_error)?;
                let last: i64 = row.try_get(1).map_err(store_error)?;
                Ok(ThrottleRecord {
                    failures: u32::try_from(failures).map_err(|_| Error::Store)?,
                    last_failure_ms: u64::try_from(last).map_err(|_| Error::Store)?,
                })
            }
        }
    }

    fn compare_and_swap(
        &self,
        key: &ThrottleKey,
        current: &ThrottleRecord,
        new: &ThrottleRecord,
    ) -> Result<bool> {
        let key_bytes: &[u8] = key.as_bytes();
        let (cur_f, cur_t) = sql_record(current)?;
        let (new_f, new_t) = sql_record(new)?;
        let mut client = self.client()?;
        let rows = match (current.is_clear(), new.is_clear()) {
            (true, true) => {
                let row = client
                    .query_opt(&self.select, &[&key_bytes])
                    .map_err(store_error)?;
                return Ok(row.is_none());
            }
            (true, false) => client.execute(&self.insert, &[&key_bytes, &new_f, &new_t]),
            (false, true) => client.execute(&self.delete, &[&key_bytes, &cur_f, &cur_t]),
            (false, false) => {
                client.execute(&self.update, &[&key_bytes, &cur_f, &cur_t, &new_f, &new_t])
            }
        }
        .map_err(store_error)?;
        Ok(rows == 1)
    }
}

impl core::fmt::Debug for PgThrottleStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgThrottleStore").finish_non_exhaustive()
    }
}

/// `CREATE TABLE IF NOT EXISTS` races with itself across connections (duplicate `pg_type`
/// rows), so instances starting together serialise on a transaction-scoped advisory lock.
fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction().map_err(store_error)?;
    tx.batch_execute("SELECT pg_advisory_xact_lock(7418293011)")
        .map_err(store_error)?;
    tx.batch_execute(TABLE_DDL).map_err(store_error)?;
    tx.commit().map_err(store_error)
}

fn sql_record(r: &ThrottleRecord) -> Result<(i64, i64)> {
    Ok((
        i64::from(r.failures),
        i64::try_from(r.last_failure_ms).map_err(|_| Error::Store)?,
    ))
}

fn store_error(e: postgres::Error) -> Error {
    // The database error may quote parameters; log only its class, never the key bytes.
    let code = e.code().map(|c| c.code().to_string());
    tracing::warn!(target: "medsec_credential::throttle", sqlstate = ?code, "PostgreSQL throttle store error");
    Error::Store
}
