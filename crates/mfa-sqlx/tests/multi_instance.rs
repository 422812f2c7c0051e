//! Several service instances on one database: two independent pools on one PostgreSQL schema, two
//! stores on one SQLite file, and two processes on one SQLite file. Every guarantee of the facade
//! holds: one acceptance per TOTP step, exact failure counts under a lock, never more app passwords
//! than the cap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mfa::store::Attempt;
use mfa::{Store, ThrottleRule, UnixTime, UserId};
use mfa_sqlx::SqliteStore;

// ------------------------------------------------------------------------------ PostgreSQL

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_pools_accept_each_step_once() {
    common::with_pg_schema("postgres_two_pools_accept_each_step_once", |schema| async move {
        let (a, b) = (schema.store(8).await, schema.store(8).await);
        common::totp_step_race(Arc::new(a.clone()), Arc::new(b.clone())).await;
        a.pool().close().await;
        b.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_pools_count_failures_exactly() {
    common::with_pg_schema("postgres_two_pools_count_failures_exactly", |schema| async move {
        let (a, b) = (schema.store(8).await, schema.store(8).await);
        common::failure_race(Arc::new(a.clone()), Arc::new(b.clone())).await;
        a.pool().close().await;
        b.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_pools_keep_the_app_password_cap() {
    common::with_pg_schema(
        "postgres_two_pools_keep_the_app_password_cap",
        |schema| async move {
            let (a, b) = (schema.store(8).await, schema.store(8).await);
            common::app_password_cap_race(Arc::new(a.clone()), Arc::new(b.clone())).await;
            a.pool().close().await;
            b.pool().close().await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_pools_keep_the_per_number_send_limit() {
    common::with_pg_schema(
        "postgres_two_pools_keep_the_per_number_send_limit",
        |schema| async move {
            let (a, b) = (schema.store(8).await, schema.store(8).await);
            for _ in 0..3 {
                common::phone_number_race(Arc::new(a.clone()), Arc::new(b.clone())).await;
            }
            a.pool().close().await;
            b.pool().close().await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_services_accept_a_code_once() {
    common::with_pg_schema("postgres_two_services_accept_a_code_once", |schema| async move {
        let (a, b) = (schema.store(8).await, schema.store(8).await);
        common::verify_race(a.clone(), b.clone()).await;
        a.pool().close().await;
        b.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_pools_mixed_writes_never_deadlock() {
    common::with_pg_schema(
        "postgres_two_pools_mixed_writes_never_deadlock",
        |schema| async move {
            let (a, b) = (schema.store(8).await, schema.store(8).await);
            for _ in 0..5 {
                common::mixed_writes_race(Arc::new(a.clone()), Arc::new(b.clone())).await;
            }
            a.pool().close().await;
            b.pool().close().await;
        },
    )
    .await;
}

// ------------------------------------------------------------------------------ SQLite, one process

async fn two_sqlite_stores(dir: &Path) -> (Arc<SqliteStore>, Arc<SqliteStore>) {
    let path = dir.join("shared.sqlite3");
    let a = SqliteStore::open(&path).await.unwrap();
    a.migrate().await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    b.migrate().await.unwrap();
    (Arc::new(a), Arc::new(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_stores_on_one_file_keep_every_guarantee() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_sqlite_stores(dir.path()).await;
    common::totp_step_race(a.clone(), b.clone()).await;
    common::failure_race(a.clone(), b.clone()).await;
    common::app_password_cap_race(a.clone(), b.clone()).await;
    common::mixed_writes_race(a.clone(), b.clone()).await;
    common::phone_number_race(a.clone(), b.clone()).await;
    common::verify_race((*a).clone(), (*b).clone()).await;
}

// ------------------------------------------------------------------------------ SQLite, two processes

/// Set for the child processes: the database file they share.
const CHILD_DB: &str = "MFA_SQLX_CHILD_DB";
/// Set for the child processes: the Unix time in milliseconds at which they start, together.
const CHILD_START_MS: &str = "MFA_SQLX_CHILD_START_MS";
/// The users and method the children work on, and the steps they offer.
const CHILD_STEP_USER: &str = "two-processes-steps";
const CHILD_THROTTLE_USER: &str = "two-processes-throttle";
const CHILD_CAP_USER: &str = "two-processes-cap";
const CHILD_METHOD: &str = "MFA_SQLX_CHILD_METHOD";
const STEPS: u64 = 60;
const ATTEMPTS: u32 = 40;
const PASSWORDS: usize = 12;
const PASSWORD_CAP: usize = 15;
const PAUSE: Duration = Duration::from_millis(2);

fn child_rule() -> ThrottleRule {
    ThrottleRule {
        free_attempts: 100,
        ..ThrottleRule::default()
    }
}

fn unix_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

/// The work of one child process (a no-op in an ordinary test run): offers every TOTP step, counts
/// failures and inserts app passwords on the shared file, and prints what it won.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_child() {
    let (Ok(path), Ok(start), Ok(method)) = (
        std::env::var(CHILD_DB),
        std::env::var(CHILD_START_MS),
        std::env::var(CHILD_METHOD),
    ) else {
        return;
    };
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let method: mfa::MethodId = method.parse().unwrap();
    let passwords = common::app_passwords();
    let records: Vec<_> = (0..PASSWORDS)
        .map(|i| common::app_password_record(&passwords, &format!("client {i}")))
        .collect();
    let start: u128 = start.parse().unwrap();
    if let Some(wait) = start.checked_sub(unix_ms()) {
        tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap())).await;
    }
    let steps = {
        let store = store.clone();
        tokio::spawn(async move {
            let user = UserId::new(CHILD_STEP_USER).unwrap();
            let mut won = Vec::new();
            for step in 1..=STEPS {
                if common::accept_step(&*store, &user, method, step).await.unwrap() {
                    won.push(step);
                }
                // A pause lets the other process take the write lock: the processes interleave.
                tokio::time::sleep(PAUSE).await;
            }
            won
        })
    };
    let counts = {
        let store = store.clone();
        tokio::spawn(async move {
            let user = UserId::new(CHILD_THROTTLE_USER).unwrap();
            let now = UnixTime::from_secs(common::T0);
            let mut counts = Vec::new();
            for _ in 0..ATTEMPTS {
                match common::count_failure(&*store, &user, now, &child_rule())
                    .await
                    .unwrap()
                {
                    Attempt::Rejected { failures, .. } => counts.push(failures),
                    other => panic!("below the threshold: {other:?}"),
                }
                tokio::time::sleep(PAUSE).await;
            }
            counts
        })
    };
    let inserted = {
        let store = store.clone();
        tokio::spawn(async move {
            let user = UserId::new(CHILD_CAP_USER).unwrap();
            let mut inserted = 0;
            for record in records {
                if store
                    .insert_app_password_capped(&user, record, PASSWORD_CAP)
                    .await
                    .unwrap()
                {
                    inserted += 1;
                }
                tokio::time::sleep(PAUSE).await;
            }
            inserted
        })
    };
    let steps = steps.await.unwrap();
    let counts = counts.await.unwrap();
    let inserted = inserted.await.unwrap();
    println!(
        "CHILD-RESULT {}",
        serde_json::json!({ "steps": steps, "counts": counts, "inserted": inserted })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_on_one_file_keep_every_guarantee() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("processes.sqlite3");
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    let method = common::app_method();
    let method_id = method.id;
    let step_user = UserId::new(CHILD_STEP_USER).unwrap();
    assert!(store.insert_method_capped(&step_user, method, 5).await.unwrap());
    store.pool().close().await;

    let exe = std::env::current_exe().unwrap();
    let start = unix_ms() + 1500;
    let children: Vec<_> = (0..2)
        .map(|_| {
            let (exe, path) = (exe.clone(), path.clone());
            std::thread::spawn(move || {
                Command::new(exe)
                    .args([
                        "two_processes_child",
                        "--exact",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(CHILD_DB, path)
                    .env(CHILD_START_MS, start.to_string())
                    .env(CHILD_METHOD, method_id.to_string())
                    .output()
            })
        })
        .collect();
    let mut results = Vec::new();
    for child in children {
        let output = child.join().unwrap().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|line| line.split_once("CHILD-RESULT ").map(|(_, json)| json))
            .unwrap_or_else(|| panic!("no result from the child:\n{stdout}"));
        println!("child: {line}");
        results.push(serde_json::from_str::<serde_json::Value>(line).unwrap());
    }

    // Steps: no step won by both processes, and the last one won by someone.
    let mut won = BTreeSet::new();
    for result in &results {
        for step in result["steps"].as_array().unwrap() {
            let step = step.as_u64().unwrap();
            assert!(won.insert(step), "step {step} was accepted in both processes");
        }
    }
    assert!(won.contains(&STEPS), "the last step was never accepted: {won:?}");

    // Failures: the counts 1..=2*ATTEMPTS, each exactly once.
    let mut counts = Vec::new();
    for result in &results {
        counts.extend(
            result["counts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap()),
        );
    }
    counts.sort_unstable();
    let expected: Vec<u64> = (1..=u64::from(2 * ATTEMPTS)).collect();
    assert_eq!(counts, expected, "counts across both processes");

    // App passwords: exactly the cap.
    let inserted: u64 = results.iter().map(|r| r["inserted"].as_u64().unwrap()).sum();
    assert_eq!(inserted, PASSWORD_CAP as u64);

    let store = SqliteStore::open(&path).await.unwrap();
    let throttle = store
        .throttle_state(&UserId::new(CHILD_THROTTLE_USER).unwrap())
        .await
        .unwrap();
    assert_eq!(throttle.failures, 2 * ATTEMPTS);
    let passwords = store
        .list_app_passwords(&UserId::new(CHILD_CAP_USER).unwrap())
        .await
        .unwrap();
    assert_eq!(passwords.len(), PASSWORD_CAP);
}
