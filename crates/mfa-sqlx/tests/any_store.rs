//! The store a URL chooses (issue 12, item 11): which store each URL gives, the tables ready, and a
//! typed error for every URL it cannot take. (The conformance suite runs on it in conformance.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use mfa::{
    Config, KeyId, KeyRing, Mfa, MfaState, RecordingPhoneDelivery, Store, StoreError, TagSecret, UserId,
};
use mfa_sqlx::{AnyStore, ConnectError};

#[tokio::test]
async fn a_sqlite_url_opens_and_migrates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfa.sqlite3");
    for url in [
        format!("sqlite://{}", path.display()),
        format!("SQLite:{}", path.display()),
    ] {
        let store = AnyStore::connect(&url).await.unwrap();
        let AnyStore::Sqlite(sqlite) = &store else {
            panic!("{url} gave {store:?}");
        };
        // The tables are there: a write goes through.
        let alice = UserId::new("alice").unwrap();
        store
            .update_user(&alice, |r| r.mfa = MfaState::Enabled)
            .await
            .unwrap();
        assert!(store.get_user(&alice).await.unwrap().is_some());
        sqlite.pool().close().await;
    }
    assert!(path.exists());
}

#[tokio::test]
async fn sqlite_memory_urls_give_an_empty_ready_database() {
    for url in ["sqlite::memory:", "sqlite://:memory:", " sqlite::memory: "] {
        let store = AnyStore::connect(url).await.unwrap();
        assert!(matches!(store, AnyStore::Sqlite(_)), "{url}");
        let alice = UserId::new("alice").unwrap();
        assert!(store.list_methods(&alice).await.unwrap().is_empty());
        store.update_user(&alice, |_| {}).await.unwrap();
    }
}

#[tokio::test]
async fn urls_it_cannot_take_are_typed_errors() {
    type Expected = fn(&ConnectError) -> bool;
    let cases: [(&str, Expected); 8] = [
        (
            "mysql://root:hunter2@db/app",
            |e| matches!(e, ConnectError::UnknownScheme { scheme } if scheme == "mysql"),
        ),
        (
            "redis://cache",
            |e| matches!(e, ConnectError::UnknownScheme { scheme } if scheme == "redis"),
        ),
        ("", |e| matches!(e, ConnectError::NotAUrl)),
        ("/var/lib/mfa.sqlite3", |e| matches!(e, ConnectError::NotAUrl)),
        (":memory:", |e| matches!(e, ConnectError::NotAUrl)),
        ("sqlite://", |e| matches!(e, ConnectError::Unsupported { .. })),
        ("sqlite://mfa.sqlite3?mode=ro", |e| {
            matches!(e, ConnectError::Unsupported { .. })
        }),
        ("postgres://nobody:hunter2@db:not-a-port/app", |e| {
            matches!(e, ConnectError::Store(StoreError::Backend(_)))
        }),
    ];
    for (url, expected) in cases {
        let error = AnyStore::connect(url).await.unwrap_err();
        assert!(expected(&error), "{url:?} gave {error:?}");
        let text = error.to_string();
        assert!(!text.contains("hunter2"), "the URL's password in {text:?}");
    }
    let error = AnyStore::connect("mysql://db/app").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown database URL scheme `mysql`: expected `sqlite` or `postgres` (or `postgresql`)"
    );
    // A long scheme is cut, not echoed whole.
    let long = format!("{}://x", "a".repeat(500));
    let Err(ConnectError::UnknownScheme { scheme }) = AnyStore::connect(&long).await else {
        panic!("expected an unknown scheme");
    };
    assert_eq!(scheme.len(), 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_url_connects_and_migrates() {
    common::with_pg_schema("a_postgres_url_connects_and_migrates", |schema| async move {
        for scheme in ["postgres", "postgresql"] {
            let url = common::pg_url_in(&schema.name);
            let (_, rest) = url.split_once(':').unwrap();
            let url = format!("{scheme}:{rest}");
            let store = AnyStore::connect(&url).await.unwrap();
            let AnyStore::Postgres(pg) = &store else {
                panic!("{scheme} gave {store:?}");
            };
            let alice = common::user("alice");
            store.update_user(&alice, |_| {}).await.unwrap();
            // In the schema the URL named.
            let (in_schema,): (i64,) =
                mfa_sqlx::sqlx::query_as("SELECT count(*) FROM mfa_users WHERE user_id = $1")
                    .bind(alice.as_str())
                    .fetch_one(pg.pool())
                    .await
                    .unwrap();
            assert_eq!(in_schema, 1);
            pg.pool().close().await;
        }
    })
    .await;
}

#[tokio::test]
async fn the_facade_runs_on_the_store_a_url_chose() {
    let store = AnyStore::connect("sqlite::memory:").await.unwrap();
    let mfa: Mfa<AnyStore, RecordingPhoneDelivery> = Mfa::new(
        Config::default(),
        KeyRing::new(KeyId(1), &[0x11; 32]).unwrap(),
        TagSecret::from_bytes(&[0x22; 32]).unwrap(),
        store,
        RecordingPhoneDelivery::new(),
    )
    .unwrap();
    let alice = UserId::new("alice").unwrap();
    mfa.set_mfa_state(&alice, MfaState::Enabled).await.unwrap();
    mfa.begin_app_enrollment(&alice, "alice@example.com", "Phone", None)
        .await
        .unwrap();
    assert!(mfa.store().get_pending(&alice).await.unwrap().is_some());
}
