use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use mfa::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Sqlite, Transaction};

use crate::rows::db;
use crate::store_impl::impl_store;

/// How long a connection waits for another's write lock before SQLite reports "database is locked".
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections of the pool of [`SqliteStore::open`]: writers take turns (SQLite has one write lock),
/// readers run side by side (WAL).
const FILE_POOL_CONNECTIONS: u32 = 8;

/// How often `BEGIN IMMEDIATE` is retried when it still finds the database locked after the busy
/// timeout (many writers in several processes).
const BEGIN_RETRIES: u32 = 3;

/// A [`Store`](mfa::Store) on SQLite: one database file for a service on one machine (any number of
/// processes), or an in-memory database for tests and development.
///
/// Every operation that reads before it writes runs in a `BEGIN IMMEDIATE` transaction, which takes
/// the database's write lock at its start: such operations run one at a time, also across processes
/// sharing the file, so the facade's guarantees hold. A transaction that fails or whose future is
/// dropped is rolled back before its connection is used again. Clones share the pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (and creates if missing) the database file at `path`, in WAL mode with a busy timeout of
    /// [`SQLITE_BUSY_TIMEOUT`], foreign keys on and `synchronous = FULL` (a committed step or
    /// counter survives a power loss). Does not create the tables: call [`migrate`](Self::migrate).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(FILE_POOL_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(db)?;
        Ok(SqliteStore { pool })
    }

    /// A new, empty in-memory database with its tables already created: for tests and development
    /// (everything is lost when the store is dropped). It lives in one connection that the pool never
    /// closes, so clones of the store see the same data and operations take turns.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(db)?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db)?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// A store on a pool you configured. Use WAL mode and a busy timeout for a file, and one
    /// connection (that is never closed) for an in-memory database.
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteStore { pool }
    }

    /// The pool, for the host's own queries (and tests).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Creates or upgrades the tables: runs the migrations in `migrations/sqlite` of this crate that
    /// have not run yet (recorded in the table `_sqlx_migrations`). Safe to call at every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(StoreError::backend)
    }

    /// `BEGIN IMMEDIATE`: waits for the write lock (busy timeout), retried a few times when another
    /// process holds it longer.
    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        let mut retries = 0;
        loop {
            match self.pool.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => return Ok(tx),
                Err(error) if is_busy(&error) && retries < BEGIN_RETRIES => retries += 1,
                Err(error) => return Err(db(error)),
            }
        }
    }

    /// The write lock of `BEGIN IMMEDIATE` covers the whole database: nothing more to lock.
    async fn lock_number(
        _tx: &mut Transaction<'static, Sqlite>,
        _number: &mfa::PhoneNumber,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}

/// SQLITE_BUSY (5) and its extended codes.
fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => e
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == 5),
        _ => false,
    }
}

impl_store!(SqliteStore, Sqlite);
