//! TOTP sign-in verifications per second through the `mfa` facade on the SQL stores of `mfa-sqlx`:
//! SQLite (a file in WAL mode, `synchronous = FULL`) and PostgreSQL, with 1 and with 16 concurrent
//! tasks.
//!
//! Each verification is a whole `Mfa::verify` with a correct code: read the user and the methods, count
//! the attempt (a write transaction), open the sealed secret, verify, compare-and-set the accepted
//! step and reset the count (a second write transaction). Each task has its own user and its own time
//! line (a task-local clock moved two periods per call), so every call presents a fresh step and none
//! is refused as a replay; computing the code (well under a microsecond) is inside the timed loop.
//!
//! PostgreSQL runs when `MFA_TEST_POSTGRES_URL` is set (a schema of its own, dropped at the end);
//! otherwise the benchmark says so and measures SQLite only.
//!
//! `cargo bench --bench sign_in_sql -- --warm-up-time 1 --measurement-time 5`

#![allow(clippy::expect_used, clippy::panic)] // A benchmark with a broken setup should stop loudly.

use std::cell::Cell;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group};
use mfa::{Config, KeyId, KeyRing, MethodId, Mfa, RecordingPhoneDelivery, Store, TagSecret, UserId};
use mfa_enroll::KeyUri;
use mfa_otp::Totp;
use mfa_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use mfa_sqlx::{PgStore, SqliteStore};

#[path = "support/task_clock.rs"]
mod task_clock;

use task_clock::{TASK_NOW, TaskClock};

const START: i64 = 1_700_000_000;
/// Two periods per call: see benches/sign_in.rs (a code equal to the next step's stays fresh).
const STRIDE: i64 = 60;
const TASK_COUNTS: [usize; 2] = [1, 16];

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

fn bench_store<S: Store + 'static>(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    label: &str,
    store: S,
) {
    let mfa = service(store);
    let mut group = c.benchmark_group("sign_in_sql");
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
    }
    group.finish();
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
    bench_store(c, &runtime, "sqlite_file", sqlite);

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
    bench_store(c, &runtime, "postgres", postgres.clone());
    runtime.block_on(async {
        postgres.pool().close().await;
        mfa_sqlx::sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await
            .expect("drop schema");
    });
}

criterion_group!(sign_in_sql, benches);

fn main() {
    sign_in_sql();
    Criterion::default().configure_from_args().final_summary();
}
