//! The facade's Store conformance suite (races included) on SQLite (memory and file) and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use mfa_sqlx::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_in_memory_conforms() {
    let store = SqliteStore::in_memory().await.unwrap();
    mfa::conformance::run_all(|| async { store.clone() })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("mfa.sqlite3")).await.unwrap();
    store.migrate().await.unwrap();
    // Migrating again is a no-op.
    store.migrate().await.unwrap();
    mfa::conformance::run_all(|| async { store.clone() })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_conforms() {
    common::with_pg_schema("postgres_conforms", |schema| async move {
        let store = schema.store(10).await;
        store.migrate().await.unwrap();
        mfa::conformance::run_all(|| async { store.clone() })
            .await
            .unwrap();
        store.pool().close().await;
    })
    .await;
}
