use core::ops::{Deref, DerefMut};

use mfa::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::rows::db;
use crate::store_impl::impl_store;

/// A [`Store`](mfa::Store) on PostgreSQL, for a service that runs as several instances sharing one
/// database.
///
/// Every operation that reads before it writes runs in a transaction (READ COMMITTED) that first
/// upserts and so locks the user's row; a phone send also locks a row for the number. Compare-and-set
/// operations are conditional `UPDATE`s or `DELETE ... RETURNING`. So the facade's guarantees hold
/// across any number of instances and connections. Clones share the pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// The user's row, locked, and one of their methods (see `lock_user_with_method`).
    const SELECT_USER_AND_METHOD_LOCKED: &str = "SELECT u.record, u.failures, u.locked_until, \
         u.push_strikes, u.push_strikes_since, m.record, m.last_accepted_step \
         FROM mfa_users u LEFT JOIN mfa_methods m \
         ON m.user_id = u.user_id AND m.method_id = $2 WHERE u.user_id = $1 FOR UPDATE OF u";

    /// The user's row, locked until commit (a concurrent writer of it waits, then reads the latest).
    const SELECT_USER_LOCKED: &str = "SELECT record, failures, locked_until, push_strikes, push_strikes_since FROM mfa_users \
         WHERE user_id = $1 FOR UPDATE";

    /// Drops push nonces past their `keep_until` ($1), a bounded batch at a time, skipping rows
    /// that a concurrent prune holds: device requests never wait on one another's housekeeping.
    const PRUNE_PUSH_NONCES: &str = "DELETE FROM mfa_push_nonces WHERE (device_id, nonce) IN \
         (SELECT device_id, nonce FROM mfa_push_nonces WHERE keep_until <= $1 \
          LIMIT 100 FOR UPDATE SKIP LOCKED)";

    /// Connects a pool (up to 10 connections) to `url`, e.g.
    /// `postgres://mfa@db.internal:5432/app`. Does not create the tables: call
    /// [`migrate`](Self::migrate). For TLS, pool sizes or a schema of your own, build a pool yourself
    /// and use [`from_pool`](Self::from_pool).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect(url)
            .await
            .map_err(db)?;
        Ok(PgStore { pool })
    }

    /// A store on a pool you configured.
    pub fn from_pool(pool: PgPool) -> Self {
        PgStore { pool }
    }

    /// The pool, for the host's own queries (and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates or upgrades the tables, in the first schema of the connection's `search_path`: runs
    /// the migrations in `migrations/postgres` of this crate that have not run yet (recorded in
    /// `_sqlx_migrations`, under an advisory lock so instances starting together take turns).
    ///
    /// Migrations the host recorded in the same `_sqlx_migrations` table are left alone; the host's
    /// own migrator needs [`set_ignore_missing(true)`](sqlx::migrate::Migrator::set_ignore_missing)
    /// in turn (or give this store a schema of its own).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("migrations/postgres");
        migrator.set_ignore_missing(true);
        migrator.run(&self.pool).await.map_err(StoreError::backend)
    }

    /// READ COMMITTED whatever the database's default: the row locks serialise a user's operations,
    /// where REPEATABLE READ or SERIALIZABLE would fail racing ones with serialisation errors.
    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await
            .map_err(db)
    }

    /// A single-statement write runs on its own (autocommit): PostgreSQL row locks order them.
    async fn write_turn(&self) -> Result<Autocommit, StoreError> {
        Ok(Autocommit(self.pool.acquire().await.map_err(db)?))
    }

    /// Locks the number's row until commit, so sends to one number are checked one at a time.
    /// Always taken after the user's row, so two sends cannot wait on each other.
    async fn lock_number(
        tx: &mut Transaction<'static, Postgres>,
        number: &mfa::PhoneNumber,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mfa_phone_numbers (number) VALUES ($1) \
             ON CONFLICT (number) DO UPDATE SET number = excluded.number",
        )
        .bind(number.as_str())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        Ok(())
    }
}

/// A pooled connection in autocommit mode: each statement commits by itself, so
/// [`commit`](Self::commit) has nothing left to do.
#[derive(Debug)]
struct Autocommit(PoolConnection<Postgres>);

impl Autocommit {
    async fn commit(self) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl Deref for Autocommit {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.0
    }
}

impl DerefMut for Autocommit {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.0
    }
}

impl_store!(PgStore, Transaction<'static, Postgres>);
