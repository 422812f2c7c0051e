//! `migrate()` beside a host's own sqlx migrations and under concurrent start-ups; PostgreSQL
//! transactions keep their guarantees whatever the database's default isolation level.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use mfa::Store;
use mfa_sqlx::sqlx;
use mfa_sqlx::{PgStore, SqliteStore};

/// What the host's own migrator records in `_sqlx_migrations` for a migration of its own.
const HOST_MIGRATION: &str = "INSERT INTO _sqlx_migrations \
     (version, description, success, checksum, execution_time) \
     VALUES (19990101000000, 'the host''s own table', TRUE, $1, 0)";

async fn record_host_migration_sqlite(pool: &sqlx::SqlitePool) {
    sqlx::query(HOST_MIGRATION)
        .bind(vec![0_u8; 48])
        .execute(pool)
        .await
        .unwrap();
}

async fn record_host_migration_pg(pool: &sqlx::PgPool) {
    sqlx::query(HOST_MIGRATION)
        .bind(vec![0_u8; 48])
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_migrate_leaves_the_hosts_migrations_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("shared.sqlite3"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    record_host_migration_sqlite(store.pool()).await;
    // Without ignoring the host's version, sqlx refuses: "migration ... was previously applied but is
    // missing in the resolved migrations".
    store.migrate().await.unwrap();
    assert_eq!(store.recovery_codes_left(&common::user("m")).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stores_starting_together_on_a_new_file_both_migrate() {
    for round in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("new-{round}.sqlite3"));
        let a = SqliteStore::open(&path).await.unwrap();
        let b = SqliteStore::open(&path).await.unwrap();
        let (ra, rb) = tokio::join!(
            tokio::spawn({
                let a = a.clone();
                async move { a.migrate().await }
            }),
            tokio::spawn({
                let b = b.clone();
                async move { b.migrate().await }
            }),
        );
        ra.unwrap().unwrap();
        rb.unwrap().unwrap();
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(a.pool())
            .await
            .unwrap();
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .count();
        assert_eq!(applied, i64::try_from(files).unwrap(), "round {round}");
        a.pool().close().await;
        b.pool().close().await;
    }
}

#[tokio::test]
async fn postgres_migrate_leaves_the_hosts_migrations_alone() {
    common::with_pg_schema(
        "postgres_migrate_leaves_the_hosts_migrations_alone",
        |schema| async move {
            let store = schema.store(1).await;
            record_host_migration_pg(store.pool()).await;
            store.migrate().await.unwrap();
            store.pool().close().await;
        },
    )
    .await;
}

/// Under REPEATABLE READ or SERIALIZABLE, racing read-modify-writes on one user's row would fail with
/// serialisation errors; the store's transactions ask for READ COMMITTED and queue on the row lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_races_hold_when_the_default_isolation_is_serializable() {
    common::with_pg_schema("postgres_races_hold_when_serializable", |schema| async move {
        schema.store(1).await.pool().close().await; // migrated
        let serializable = [("default_transaction_isolation", "serializable")];
        let a = Arc::new(PgStore::from_pool(schema.pool_with(8, &serializable).await));
        let b = Arc::new(PgStore::from_pool(schema.pool_with(8, &serializable).await));
        let level: String = sqlx::query_scalar("SHOW default_transaction_isolation")
            .fetch_one(a.pool())
            .await
            .unwrap();
        assert_eq!(level, "serializable");
        common::failure_race(Arc::clone(&a), Arc::clone(&b)).await;
        common::totp_step_race(Arc::clone(&a), Arc::clone(&b)).await;
        common::app_password_cap_race(Arc::clone(&a), Arc::clone(&b)).await;
        a.pool().close().await;
        b.pool().close().await;
    })
    .await;
}

/// Instants were whole seconds before the millisecond migration: a database written then reads the
/// same instants after `migrate()` (a remembered device and a lock).
#[tokio::test]
async fn sqlite_instants_written_in_seconds_read_the_same_after_migrating_to_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    std::fs::create_dir(&first).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/sqlite/20260101000000_mfa_init.sql"
        ),
        first.join("20260101000000_mfa_init.sql"),
    )
    .unwrap();
    let store = SqliteStore::open(dir.path().join("old.sqlite3")).await.unwrap();
    sqlx::migrate::Migrator::new(first.as_path())
        .await
        .unwrap()
        .run(store.pool())
        .await
        .unwrap();
    // What the first version wrote: seconds.
    let user = common::user("old");
    sqlx::query("INSERT INTO mfa_users (user_id, failures, locked_until) VALUES ($1, 5, 4000000000)")
        .bind(user.as_str())
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO mfa_devices (user_id, device_id, token_hash, name, created_at, last_used_at) \
         VALUES ($1, $2, $3, 'Laptop', 1700000000, 1700000060)",
    )
    .bind(user.as_str())
    .bind(vec![7_u8; 16])
    .bind(vec![9_u8; 32])
    .execute(store.pool())
    .await
    .unwrap();

    store.migrate().await.unwrap();
    let devices = store.list_devices(&user).await.unwrap();
    assert_eq!(devices[0].created_at, mfa::UnixTime::from_secs(1_700_000_000));
    assert_eq!(devices[0].last_used_at, mfa::UnixTime::from_secs(1_700_000_060));
    let throttle = store.throttle_state(&user).await.unwrap();
    assert_eq!(
        throttle.locked_until,
        Some(mfa::UnixTime::from_secs(4_000_000_000))
    );
}
