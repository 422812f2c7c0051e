use core::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mfa::StoreError;
use sqlx::Connection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::group_commit::{SqliteTx, Writer};
use crate::rows::db;
use crate::store_impl::impl_store;

/// How long a connection waits for another's write lock before SQLite reports "database is locked".
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections of the pool of [`SqliteStore::open`]: writers take turns (SQLite has one write lock),
/// readers run side by side (WAL).
const FILE_POOL_CONNECTIONS: u32 = 8;

/// A [`Store`](mfa::Store) on SQLite: one database file for a service on one machine (any number of
/// processes), or an in-memory database for tests and development.
///
/// Every write runs in a `BEGIN IMMEDIATE` transaction, which takes the database's write lock at its
/// start: writes run one at a time, also across processes sharing the file, so the facade's
/// guarantees hold. Concurrent writes of one store share a transaction and its commit (group
/// commit), each in its own savepoint; none answers before that commit. An operation that fails or
/// whose future is dropped is rolled back to its savepoint. Clones share the pool and the writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// This store's write operations queue here, in order, and share one transaction when they
    /// come together (group commit), instead of polling SQLite's write lock with the busy handler's
    /// sleeps. (Other processes, and other stores on the same file, still meet at the write lock.)
    writer: Arc<Writer>,
    /// For an in-memory database: a connection that keeps it alive while the pool's connection is
    /// closed and reopened (after a cancelled transaction). Never used for queries.
    _keep_alive: Option<Arc<Mutex<SqliteConnection>>>,
}

impl SqliteStore {
    /// The user's row and one of their methods, under the write lock (see `lock_user_with_method`).
    const SELECT_USER_AND_METHOD_LOCKED: &str = "SELECT u.record, u.failures, u.locked_until, \
         u.push_strikes, u.push_strikes_since, m.record, m.last_accepted_step \
         FROM mfa_users u LEFT JOIN mfa_methods m \
         ON m.user_id = u.user_id AND m.method_id = $2 WHERE u.user_id = $1";

    /// The user's row: `BEGIN IMMEDIATE` holds the whole database's write lock already.
    const SELECT_USER_LOCKED: &str = "SELECT record, failures, locked_until, push_strikes, push_strikes_since FROM mfa_users \
         WHERE user_id = $1";

    /// Drops the push nonces past their `keep_until` ($1): under the write lock, all of them (the
    /// index on `keep_until` finds them).
    const PRUNE_PUSH_NONCES: &str = "DELETE FROM mfa_push_nonces WHERE keep_until <= $1";

    /// Opens (and creates if missing) the database file at `path`, in WAL mode with a busy timeout of
    /// [`SQLITE_BUSY_TIMEOUT`], foreign keys on and `synchronous = FULL` (a committed step or
    /// counter survives a power loss). Does not create the tables: call [`migrate`](Self::migrate).
    ///
    /// The database holds phone numbers: on Unix a file this creates is readable and writable by its
    /// owner only (mode 0600, whatever the umask), and SQLite gives its WAL and shared-memory files the
    /// same mode. An existing file keeps its mode. A failure to open names the file.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let failed = |error: Box<dyn std::error::Error + Send + Sync>| {
            StoreError::backend(OpenError {
                path: path.to_path_buf(),
                error,
            })
        };
        create_private(path).map_err(|e| failed(Box::new(e)))?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        // No ping before each use: a connection here is a thread of this process on a local file, not a
        // network link that goes stale, and sqlx pings every connection as it goes back to the pool
        // anyway (dropping one that fails). Each ping is a round trip to the connection's thread, a
        // third of the cost of a one-statement read (benches/web_load.rs).
        let pool = SqlitePoolOptions::new()
            .max_connections(FILE_POOL_CONNECTIONS)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| failed(Box::new(e)))?;
        Ok(SqliteStore {
            writer: Writer::new(pool.clone()),
            pool,
            _keep_alive: None,
        })
    }

    /// A new, empty in-memory database with its tables already created: for tests and development
    /// (everything is lost when the last clone of the store is dropped). Clones see the same data;
    /// operations take turns on one connection.
    pub async fn in_memory() -> Result<Self, StoreError> {
        // A uniquely named shared-cache database: it lives as long as one connection to it is open.
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(db)?
            .foreign_keys(true);
        let keep_alive = SqliteConnection::connect_with(&options).await.map_err(db)?;
        // One connection: several would meet shared-cache table locks, which do not wait.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false) // as in `open`
            .connect_with(options)
            .await
            .map_err(db)?;
        let store = SqliteStore {
            writer: Writer::new(pool.clone()),
            pool,
            _keep_alive: Some(Arc::new(Mutex::new(keep_alive))),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// A store on a pool you configured. Use WAL mode and a busy timeout for a file. For an in-memory
    /// database prefer [`in_memory`](Self::in_memory): a pool of your own must keep the database
    /// alive itself (a connection that is never closed, as an operation whose future is dropped
    /// closes the connection it was using).
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteStore {
            writer: Writer::new(pool.clone()),
            pool,
            _keep_alive: None,
        }
    }

    /// The pool, for the host's own queries (and tests).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Creates or upgrades the tables: runs the migrations in `migrations/sqlite` of this crate that
    /// have not run yet (recorded in the table `_sqlx_migrations`). Safe to call at every start, also
    /// from several processes starting together on one file.
    ///
    /// Migrations the host recorded in the same `_sqlx_migrations` table are left alone; the host's
    /// own migrator needs [`set_ignore_missing(true)`](sqlx::migrate::Migrator::set_ignore_missing)
    /// in turn.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("migrations/sqlite");
        migrator.set_ignore_missing(true);
        // sqlx takes no lock on SQLite: a process starting at the same moment may apply a
        // migration between our reading of `_sqlx_migrations` and our applying it, which then
        // fails. Each migration commits as one transaction, so a next pass sees it and goes on;
        // each failed pass means the other process applied one more migration, so there are at
        // most as many failed passes as migrations.
        let most_failures = migrator.iter().count();
        let mut attempts = 0;
        loop {
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(_) if attempts < most_failures => attempts += 1,
                Err(error) => return Err(StoreError::backend(error)),
            }
        }
    }

    /// Takes this store's turn among its writers: the operation joins the open write transaction
    /// or begins one (see [`group_commit`](crate::group_commit)).
    async fn begin(&self) -> Result<SqliteTx, StoreError> {
        self.writer.begin().await
    }

    /// A single-statement write takes its turn like any other (it must not wait for the write
    /// lock that the store's own open batch holds).
    async fn write_turn(&self) -> Result<SqliteTx, StoreError> {
        self.writer.begin().await
    }

    /// The write lock of `BEGIN IMMEDIATE` covers the whole database: nothing more to lock.
    async fn lock_number(_tx: &mut SqliteTx, _number: &mfa::PhoneNumber) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Creates the database file, empty, readable by its owner only, unless it exists (SQLite then fills
/// it, and takes the mode of its WAL and shared-memory files from it).
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// [`SqliteStore::open`] failed: which file, and why.
#[derive(Debug)]
struct OpenError {
    path: PathBuf,
    error: Box<dyn std::error::Error + Send + Sync>,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot open the SQLite database {}: {}",
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.error)
    }
}

impl_store!(SqliteStore, SqliteTx);
