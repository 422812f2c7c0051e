//! TOTP sign-in verifications per second through the `mfa` facade on the SQL stores of `mfa-sqlx`:
//! SQLite (a file in WAL mode, `synchronous = FULL`) and PostgreSQL, with 1 and with 16 concurrent
//! tasks.
//!
//! Each verification is a whole `Mfa::verify` with a correct code: one `Store::attempt`, one write
//! transaction (lock the user's row, load the app, open the sealed secret and verify inside the facade's
//! check, accept the step, commit). Each task has its own user and its own time
//! line (a task-local clock moved two periods per call), so every call presents a fresh step and none
//! is refused as a replay; computing the code (well under a microsecond) is inside the timed loop.
//!
//! Beside each, at the same concurrency and through the store's own pool (`.pool()`), the same run
//! measures the floor: the bare durable transaction that any "at most once" verification needs (read
//! the state under a lock, write the outcome, commit), on a scratch table of its own
//! (`mfa_bench_floor`, one row per task). SQLite: `BEGIN IMMEDIATE`, read the task's counter, update
//! it, commit. PostgreSQL: `BEGIN ISOLATION LEVEL READ COMMITTED`, `SELECT ... FOR UPDATE` of the
//! task's row, update its counter, commit. A verification is one such transaction, so
//! verifications/s ÷ floor/s near 1 means the store adds little beyond it. The targets: at least 0.85
//! (PostgreSQL with 1 and 16 tasks, SQLite with 1), and SQLite with 16 tasks at least 3 times the
//! single-writer floor, which only group commit can reach.
//!
//! PostgreSQL runs when `MFA_TEST_POSTGRES_URL` is set (a schema of its own, dropped at the end);
//! otherwise the benchmark says so and measures SQLite only.
//!
//! `cargo bench --bench sign_in_sql -- --warm-up-time 1 --measurement-time 5` prints criterion's
//! figures, then per store and task count: verifications/s, floor transactions/s and their ratio, and
//! for SQLite with 16 tasks the ratio to the single-writer (1 task) floor.

#![allow(clippy::expect_used, clippy::panic)] // A benchmark with a broken setup should stop loudly.

use std::cell::Cell;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group};
use mfa::{Config, KeyId, KeyRing, MethodId, Mfa, RecordingPhoneDelivery, Store, TagSecret, UserId};
use mfa_enroll::KeyUri;
use mfa_otp::Totp;
use mfa_sqlx::sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use mfa_sqlx::sqlx::sqlite::SqlitePool;
use mfa_sqlx::{PgStore, SqliteStore};

mod support;
#[path = "support/task_clock.rs"]
mod task_clock;

use task_clock::{TASK_NOW, TaskClock};

const START: i64 = 1_700_000_000;
/// Two periods per call: see benches/sign_in.rs (a code equal to the next step's stays fresh).
const STRIDE: i64 = 60;
const TASK_COUNTS: [usize; 2] = [1, 16];
const GROUP: &str = "sign_in_sql";
/// The labels of the stores, as in the benchmark names.
const SQLITE: &str = "sqlite_file";
const POSTGRES: &str = "postgres";

/// One user with a registered authenticator app, and where its time line stands.
struct Signer {
    user: UserId,
    method: MethodId,
    totp: Totp,
    now: i64,
}

fn service<S: Store>(store: S) -> Arc<Mfa<S, RecordingPhoneDelivery>> {
    Arc::new(
        Mfa::new(
            Config {
                issuer: "Bench".to_owned(),
                ..Config::default()
            },
            KeyRing::new(KeyId(1), &[0x11; 32]).expect("key"),
            TagSecret::from_bytes(&[0x33; 32]).expect("tag secret"),
            store,
            RecordingPhoneDelivery::new(),
        )
        .expect("service")
        .with_clock(Arc::new(TaskClock { outside: START })),
    )
}

async fn enroll<S: Store>(mfa: &Mfa<S, RecordingPhoneDelivery>, name: &str) -> Signer {
    let user = UserId::new(&format!("{name}-{}", MethodId::generate().expect("id"))).expect("user");
    TASK_NOW
        .scope(Cell::new(START), async {
            let enrollment = mfa
                .begin_app_enrollment(&user, "bench@example.com", "phone", None)
                .await
                .expect("begin");
            let totp = KeyUri::parse(enrollment.uri().as_str())
                .expect("uri")
                .to_totp()
                .expect("totp");
            let code = totp.generate(START.unsigned_abs()).expect("code").to_string();
            mfa.confirm_app_enrollment(&user, enrollment.method(), &code)
                .await
                .expect("confirm");
            Signer {
                user,
                method: enrollment.method(),
                totp,
                now: START,
            }
        })
        .await
}

/// `count` verifications by one signer, each at the next step of its time line.
async fn sign_in<S: Store>(mfa: &Mfa<S, RecordingPhoneDelivery>, signer: &mut Signer, count: u64) {
    for _ in 0..count {
        signer.now += STRIDE;
        let code = signer
            .totp
            .generate(signer.now.unsigned_abs())
            .expect("code")
            .to_string();
        TASK_NOW
            .scope(
                Cell::new(signer.now),
                mfa.verify(&signer.user, signer.method, &code),
            )
            .await
            .expect("a fresh code was refused");
    }
}

/// The floor: one durable write transaction on the task's own row of a scratch table, through the
/// store's pool.
#[derive(Debug, Clone)]
enum Floor {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Floor {
    /// Creates the scratch table with rows `0..rows`, counters at zero.
    async fn create(&self, rows: usize) {
        let create = "CREATE TABLE IF NOT EXISTS mfa_bench_floor (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)";
        let insert = "INSERT INTO mfa_bench_floor (id, n) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING";
        match self {
            Floor::Sqlite(pool) => {
                mfa_sqlx::sqlx::query(create)
                    .execute(pool)
                    .await
                    .expect("create floor table");
                for id in 0..rows {
                    mfa_sqlx::sqlx::query(insert)
                        .bind(id as i64)
                        .execute(pool)
                        .await
                        .expect("floor row");
                }
            }
            Floor::Postgres(pool) => {
                mfa_sqlx::sqlx::query(create)
                    .execute(pool)
                    .await
                    .expect("create floor table");
                for id in 0..rows {
                    mfa_sqlx::sqlx::query(insert)
                        .bind(id as i64)
                        .execute(pool)
                        .await
                        .expect("floor row");
                }
            }
        }
    }

    /// One floor transaction on row `id`.
    async fn once(&self, id: i64) {
        let updated = match self {
            Floor::Sqlite(pool) => {
                // The write lock of the whole database, as the store's transactions take it.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.expect("begin");
                mfa_sqlx::sqlx::query("SELECT n FROM mfa_bench_floor WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .expect("read");
                let done = mfa_sqlx::sqlx::query("UPDATE mfa_bench_floor SET n = n + 1 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .expect("update");
                tx.commit().await.expect("commit");
                done.rows_affected()
            }
            Floor::Postgres(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                    .await
                    .expect("begin");
                // Lock and read the row, as the store locks a user's row, then write.
                mfa_sqlx::sqlx::query("SELECT n FROM mfa_bench_floor WHERE id = $1 FOR UPDATE")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .expect("lock");
                let done = mfa_sqlx::sqlx::query("UPDATE mfa_bench_floor SET n = n + 1 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .expect("update");
                tx.commit().await.expect("commit");
                done.rows_affected()
            }
        };
        assert_eq!(updated, 1, "one floor row per transaction");
    }

    /// The sum of the counters: every floor transaction that committed.
    async fn total(&self) -> i64 {
        let sum = "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM mfa_bench_floor";
        match self {
            Floor::Sqlite(pool) => mfa_sqlx::sqlx::query_scalar(sum).fetch_one(pool).await,
            Floor::Postgres(pool) => mfa_sqlx::sqlx::query_scalar(sum).fetch_one(pool).await,
        }
        .expect("floor total")
    }
}

fn bench_store<S: Store + 'static>(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    label: &str,
    store: S,
    floor: Floor,
) {
    let mfa = service(store);
    runtime.block_on(floor.create(TASK_COUNTS.into_iter().max().unwrap_or(1)));
    let mut floor_calls = 0i64;
    let mut group = c.benchmark_group(GROUP);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(1));
    for tasks in TASK_COUNTS {
        let signers: Vec<Signer> = runtime.block_on(async {
            let mut signers = Vec::new();
            for i in 0..tasks {
                signers.push(enroll(&mfa, &format!("{label}-{tasks}-{i}")).await);
            }
            signers
        });
        let signers = Arc::new(tokio::sync::Mutex::new(signers));
        group.bench_function(format!("{label}_{tasks}_tasks"), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let per_task = iters.div_ceil(tasks as u64);
                    let mut taken = std::mem::take(&mut *signers.lock().await);
                    let started = Instant::now();
                    let handles: Vec<_> = taken
                        .drain(..)
                        .map(|mut signer| {
                            let mfa = mfa.clone();
                            tokio::spawn(async move {
                                sign_in(&mfa, &mut signer, per_task).await;
                                signer
                            })
                        })
                        .collect();
                    let mut back = Vec::with_capacity(tasks);
                    for handle in handles {
                        back.push(handle.await.expect("task"));
                    }
                    let elapsed = started.elapsed();
                    *signers.lock().await = back;
                    // Scaled to `iters` verifications (the tasks ran per_task × tasks of them).
                    elapsed.mul_f64(iters as f64 / (per_task * tasks as u64) as f64)
                })
            });
        });
        // The floor at the same concurrency, each task on its own row.
        group.bench_function(format!("{label}_{tasks}_tasks_floor"), |b| {
            b.iter_custom(|iters| {
                let per_task = iters.div_ceil(tasks as u64);
                floor_calls += (per_task * tasks as u64) as i64;
                runtime.block_on(async {
                    let started = Instant::now();
                    let handles: Vec<_> = (0..tasks)
                        .map(|task| {
                            let floor = floor.clone();
                            tokio::spawn(async move {
                                for _ in 0..per_task {
                                    floor.once(task as i64).await;
                                }
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.expect("floor task");
                    }
                    started
                        .elapsed()
                        .mul_f64(iters as f64 / (per_task * tasks as u64) as f64)
                })
            });
        });
    }
    group.finish();
    assert_eq!(
        runtime.block_on(floor.total()),
        floor_calls,
        "every floor transaction committed once"
    );
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = runtime.block_on(async {
        let store = SqliteStore::open(dir.path().join("bench.sqlite3"))
            .await
            .expect("open");
        store.migrate().await.expect("migrate");
        store
    });
    let floor = Floor::Sqlite(sqlite.pool().clone());
    bench_store(c, &runtime, SQLITE, sqlite, floor);

    let Ok(url) = std::env::var("MFA_TEST_POSTGRES_URL") else {
        println!("note: MFA_TEST_POSTGRES_URL is not set; PostgreSQL not measured");
        return;
    };
    let schema = format!("mfa_bench_{}", MethodId::generate().expect("id"));
    let base = PgConnectOptions::from_str(&url).expect("MFA_TEST_POSTGRES_URL");
    let admin = runtime.block_on(async {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(base.clone())
            .await
            .expect("PostgreSQL unreachable");
        mfa_sqlx::sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .expect("create schema");
        admin
    });
    let postgres = runtime.block_on(async {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(base.options([("search_path", schema.as_str())]))
            .await
            .expect("pool");
        let store = PgStore::from_pool(pool);
        store.migrate().await.expect("migrate");
        store
    });
    let floor = Floor::Postgres(postgres.pool().clone());
    bench_store(c, &runtime, POSTGRES, postgres.clone(), floor);
    runtime.block_on(async {
        postgres.pool().close().await;
        mfa_sqlx::sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await
            .expect("drop schema");
    });
}

/// Per second, from criterion's median time per call of this run.
fn per_second(name: &str) -> Option<f64> {
    support::median_ns(GROUP, name)
        .filter(|m| *m > 0.0)
        .map(|m| 1e9 / m)
}

fn report() {
    let ratio = |num: Option<f64>, den: Option<f64>| match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => format!("{:.2}", n / d),
        _ => "n/a".to_owned(),
    };
    let rate = |r: Option<f64>| r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.0}"));
    println!("\nper second (criterion's medians); a verification is one write transaction:");
    println!(
        "  {:<12} {:>5} {:>15} {:>10} {:>16} {:>8}",
        "store", "tasks", "verifications/s", "floor/s", "verif. / floor", "target"
    );
    for label in [SQLITE, POSTGRES] {
        for tasks in TASK_COUNTS {
            let verify = per_second(&format!("{label}_{tasks}_tasks"));
            let floor = per_second(&format!("{label}_{tasks}_tasks_floor"));
            if verify.is_none() && floor.is_none() {
                continue;
            }
            // SQLite with many tasks is held to the single-writer floor instead (below).
            let target = if label == SQLITE && tasks > 1 {
                ""
            } else {
                ">= 0.85"
            };
            println!(
                "  {label:<12} {tasks:>5} {:>15} {:>10} {:>16} {target:>8}",
                rate(verify),
                rate(floor),
                ratio(verify, floor)
            );
        }
    }
    let [one, many] = TASK_COUNTS;
    let single_writer = per_second(&format!("{SQLITE}_{one}_tasks_floor"));
    println!(
        "  {SQLITE}, {many} tasks: verifications/s / single-writer ({one} task) floor/s = {} (target >= 3); \
         floor/s {many} tasks / {one} task = {}",
        ratio(per_second(&format!("{SQLITE}_{many}_tasks")), single_writer),
        ratio(per_second(&format!("{SQLITE}_{many}_tasks_floor")), single_writer),
    );
}

criterion_group!(sign_in_sql, benches);

fn main() {
    sign_in_sql();
    Criterion::default().configure_from_args().final_summary();
    // In `cargo test --benches` mode nothing is measured, so there is nothing to report.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        report();
    }
}
