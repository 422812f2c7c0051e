//! Damaged rows give typed errors, never panics; cancelled operations leave no transaction open;
//! stores that share nothing stay apart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::task::Poll;
use std::time::{Duration, Instant};

use mfa::store::{Attempt, Tag};
use mfa::{Store, StoreError, ThrottleRule, UnixTime};
use mfa_sqlx::SqliteStore;
use mfa_sqlx::sqlx;

async fn damaged(store: &SqliteStore, sql: &str, user: &mfa::UserId) {
    sqlx::query(sql)
        .bind(user.as_str())
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn damaged_rows_are_corrupt_errors() {
    let store = SqliteStore::in_memory().await.unwrap();

    let user = common::user("damaged_user");
    store
        .update_user(&user, |r| r.blocked_by_admin = true)
        .await
        .unwrap();
    damaged(
        &store,
        "UPDATE mfa_users SET record = '{\"mfa\": 7' WHERE user_id = $1",
        &user,
    )
    .await;
    assert!(matches!(store.get_user(&user).await, Err(StoreError::Corrupt(_))));
    assert!(matches!(
        store.get_user_and_methods(&user).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.update_user(&user, |_| {}).await,
        Err(StoreError::Corrupt(_))
    ));

    let user = common::user("damaged_counter");
    common::count_failure(
        &store,
        &user,
        UnixTime::from_secs(common::T0),
        &ThrottleRule::default(),
    )
    .await
    .unwrap();
    damaged(
        &store,
        "UPDATE mfa_users SET failures = -3 WHERE user_id = $1",
        &user,
    )
    .await;
    assert!(matches!(
        store.throttle_state(&user).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        common::count_failure(
            &store,
            &user,
            UnixTime::from_secs(common::T0),
            &ThrottleRule::default()
        )
        .await,
        Err(StoreError::Corrupt(_))
    ));
    damaged(
        &store,
        "UPDATE mfa_users SET failures = 'many' WHERE user_id = $1",
        &user,
    )
    .await;
    assert!(store.throttle_state(&user).await.is_err());

    let user = common::user("damaged_method");
    let method = common::app_method();
    let id = method.id;
    store.insert_method_capped(&user, method, 5).await.unwrap();
    damaged(
        &store,
        "UPDATE mfa_methods SET last_accepted_step = -1 WHERE user_id = $1",
        &user,
    )
    .await;
    assert!(matches!(
        store.list_methods(&user).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.get_user_and_methods(&user).await,
        Err(StoreError::Corrupt(_))
    ));
    damaged(
        &store,
        "UPDATE mfa_methods SET record = 'not json' WHERE user_id = $1",
        &user,
    )
    .await;
    assert!(matches!(
        store.list_methods(&user).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.get_user_and_methods(&user).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.remove_method(&user, id).await,
        Err(StoreError::Corrupt(_))
    ));

    let user = common::user("damaged_device");
    let device = mfa::store::DeviceRecord {
        id: mfa::DeviceId::generate().unwrap(),
        name: "laptop".to_owned(),
        token_hash: Tag::from_bytes([7; 32]),
        created_at: UnixTime::from_secs(common::T0),
        last_used_at: UnixTime::from_secs(common::T0),
    };
    store.insert_device_capped(&user, device, 20).await.unwrap();
    damaged(
        &store,
        "UPDATE mfa_devices SET device_id = x'0102' WHERE user_id = $1",
        &user,
    )
    .await;
    assert!(matches!(
        store.list_devices(&user).await,
        Err(StoreError::Corrupt(_))
    ));
    damaged(
        &store,
        "UPDATE mfa_devices SET token_hash = x'0102' WHERE user_id = $1",
        &user,
    )
    .await;
    assert!(matches!(
        store.list_devices(&user).await,
        Err(StoreError::Corrupt(_))
    ));

    let user = common::user("damaged_challenge");
    let phone = mfa::store::MethodRecord {
        id: mfa::MethodId::generate().unwrap(),
        name: "Mobile".to_owned(),
        created_at: UnixTime::from_secs(common::T0),
        credential: mfa::store::Credential::Phone {
            kind: mfa::PhoneKind::Mobile,
            number: "+14155550100".parse().unwrap(),
        },
    };
    let id = phone.id;
    assert!(store.insert_method_capped(&user, phone, 1).await.unwrap());
    let challenge = mfa::store::PhoneChallenge {
        method: id,
        channel: mfa::Channel::Sms,
        tag: Tag::from_bytes([9; 32]),
        created_at: UnixTime::from_secs(common::T0),
        expires_at: UnixTime::from_secs(common::T0 + 300),
    };
    store.put_phone_challenge(&user, challenge).await.unwrap();
    damaged(
        &store,
        "UPDATE mfa_phone_challenges SET record = '{\"method\": 7' WHERE user_id = $1",
        &user,
    )
    .await;
    let attempt = store
        .attempt(
            &user,
            mfa::store::AttemptTarget::Method(id),
            UnixTime::from_secs(common::T0),
            &ThrottleRule::default(),
            |_| (mfa::store::Verdict::Reject, ()),
        )
        .await;
    assert!(matches!(attempt, Err(StoreError::Corrupt(_))), "{attempt:?}");

    // After all that, the store still works (no transaction was left open on its one connection).
    let user = common::user("after_damage");
    assert!(
        store
            .update_user(&user, |r| r.mfa_on_every_sign_in = true)
            .await
            .unwrap()
            .mfa_on_every_sign_in
    );
}

#[tokio::test]
async fn a_missing_table_is_a_backend_error() {
    let dir = tempfile::tempdir().unwrap();
    // Not migrated.
    let store = SqliteStore::open(dir.path().join("empty.sqlite3")).await.unwrap();
    let user = common::user("unmigrated");
    assert!(matches!(store.get_user(&user).await, Err(StoreError::Backend(_))));
    assert!(matches!(
        store.update_user(&user, |_| {}).await,
        Err(StoreError::Backend(_))
    ));
}

/// Polls `future` until it is ready or `budget` has passed (yielding between polls, so the
/// connection's work goes on meanwhile), and drops it if still pending.
async fn poll_then_drop<F: Future>(future: F, budget: Duration) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let started = Instant::now();
    loop {
        let polled = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
        if let Poll::Ready(output) = polled {
            return Some(output);
        }
        if started.elapsed() >= budget {
            return None;
        }
        tokio::task::yield_now().await;
    }
}

/// Operations cancelled at any point (their futures dropped mid-transaction) are rolled back, or
/// committed whole, and never hold the write lock: the store keeps working and the count is exact
/// for the attempts that completed.
async fn cancelled_operations_leave_no_transaction_open<S: Store>(store: S) {
    let user = common::user("cancelled");
    let rule = ThrottleRule {
        free_attempts: 100,
        ..ThrottleRule::default()
    };
    let now = UnixTime::from_secs(common::T0);
    let mut completed = 0u32;
    let mut cancelled = 0u32;
    for round in 0..90usize {
        // Dropped after 0 to 17 ms: before, during and after BEGIN, the upsert, the UPDATE and
        // COMMIT, or not at all; every tenth attempt has time to finish.
        let budget = if round % 10 == 9 {
            Duration::from_secs(5)
        } else {
            Duration::from_micros(20 * (round as u64 % 30).pow(2))
        };
        match poll_then_drop(common::count_failure(&store, &user, now, &rule), budget).await {
            Some(Ok(Attempt::Rejected { .. })) => completed += 1,
            Some(other) => panic!("round {round}: {other:?}"),
            None => cancelled += 1,
        }
    }
    eprintln!("{completed} attempts completed, {cancelled} cancelled");
    assert!(cancelled > 0, "no attempt was cancelled: the test proves nothing");
    assert!(
        completed > 0,
        "every attempt was cancelled: the test proves little"
    );
    // Whatever was cancelled, the next operations get the write lock promptly.
    let last = tokio::time::timeout(
        Duration::from_secs(5),
        common::count_failure(&store, &user, now, &rule),
    )
    .await
    .expect("a cancelled transaction still holds the write lock")
    .unwrap();
    let Attempt::Rejected { failures, .. } = last else {
        panic!("{last:?}")
    };
    assert!(
        failures > completed && failures <= completed + cancelled + 1,
        "{failures} failures after {completed} completed and {cancelled} cancelled attempts"
    );
    assert_eq!(store.throttle_state(&user).await.unwrap().failures, failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_operations_in_memory() {
    cancelled_operations_leave_no_transaction_open(SqliteStore::in_memory().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_operations_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("cancel.sqlite3"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    cancelled_operations_leave_no_transaction_open(store).await;
}

#[tokio::test]
async fn in_memory_stores_are_separate() {
    let (a, b) = (
        SqliteStore::in_memory().await.unwrap(),
        SqliteStore::in_memory().await.unwrap(),
    );
    let user = common::user("separate");
    a.update_user(&user, |r| r.blocked_by_admin = true).await.unwrap();
    assert!(a.get_user(&user).await.unwrap().is_some());
    assert!(b.get_user(&user).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_operations_on_postgres() {
    common::with_pg_schema("cancelled_operations_on_postgres", |schema| async move {
        let store = schema.store(2).await;
        cancelled_operations_leave_no_transaction_open(store.clone()).await;
        store.pool().close().await;
    })
    .await;
}

#[tokio::test]
async fn open_sets_wal_full_sync_busy_timeout_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pragmas.sqlite3");
    assert!(!path.exists());
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.exists(), "open creates the file");
    let mut conn = store.pool().acquire().await.unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(synchronous, 2, "FULL");
    assert_eq!(
        busy,
        i64::try_from(mfa_sqlx::SQLITE_BUSY_TIMEOUT.as_millis()).unwrap()
    );
    assert_eq!(foreign_keys, 1);
}

/// The database holds phone numbers: a file `open` creates is readable by its owner only, whatever the
/// umask, and so are the WAL and shared-memory files SQLite makes beside it.
#[cfg(unix)]
#[tokio::test]
async fn open_creates_the_file_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.sqlite3");
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    let user = common::user("private");
    store.update_user(&user, |_| {}).await.unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", entry.path().display());
    }
    // An existing file keeps the mode its owner gave it.
    let shared = dir.path().join("shared.sqlite3");
    std::fs::write(&shared, b"").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
    SqliteStore::open(&shared).await.unwrap();
    let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

/// A database that cannot be opened says which file.
#[tokio::test]
async fn an_unopenable_database_names_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("mfa.sqlite3");
    let error = SqliteStore::open(&path).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    assert!(
        message.contains(&path.display().to_string()),
        "the message does not name the file: {message}"
    );
}
