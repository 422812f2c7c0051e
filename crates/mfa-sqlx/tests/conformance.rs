//! The facade's Store conformance suite (races included) on SQLite (memory and file) and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use mfa_sqlx::{AnyStore, SqliteStore};

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

// The store a URL chooses (issue 12, item 11): every operation forwarded to the backend.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn any_store_sqlite_in_memory_conforms() {
    let store = AnyStore::connect("sqlite::memory:").await.unwrap();
    assert!(matches!(store, AnyStore::Sqlite(_)));
    mfa::conformance::run_all(|| async { store.clone() })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn any_store_sqlite_file_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mfa.sqlite3").display());
    let store = AnyStore::connect(&url).await.unwrap();
    assert!(matches!(store, AnyStore::Sqlite(_)));
    mfa::conformance::run_all(|| async { store.clone() })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn any_store_postgres_conforms() {
    common::with_pg_schema("any_store_postgres_conforms", |schema| async move {
        let store = AnyStore::connect(&common::pg_url_in(&schema.name)).await.unwrap();
        assert!(matches!(store, AnyStore::Postgres(_)));
        mfa::conformance::run_all(|| async { store.clone() })
            .await
            .unwrap();
        if let AnyStore::Postgres(pg) = &store {
            pg.pool().close().await;
        }
    })
    .await;
}
