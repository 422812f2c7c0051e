//! How argon2 app-password verifications affect everything else the service does.
//!
//! A trivial request, `begin_sign_in` on a `MemoryStore` (microseconds of work), is sent into a
//! multi-threaded tokio runtime with `WORKERS` worker threads from a thread outside it, as a request
//! arriving from the network would be, and timed until its answer is back. First with the runtime
//! idle, then while `VERIFIERS` tasks verify app passwords in a loop with the default argon2id
//! parameters (m = 19456 KiB, t = 2, p = 1). The service hashes on a bounded pool of blocking
//! threads (`Config::max_concurrent_hashes`, default one less than the number of CPUs), so the workers stay free
//! and the trivial request's latency should barely move; before that pool, each verification held
//! a worker for a whole argon2 evaluation and the requests queued behind them.
//!
//! `cargo bench --bench hashing_load` prints the idle and loaded p50 and p99, the difference of the
//! p99s against the target (at most 2 ms), and how many verifications ran meanwhile. Every loop is
//! bounded in count and in time. `MFA_BENCH_VERIFIERS` sets the number of verifying tasks (default 4).

#![allow(clippy::expect_used, clippy::panic)] // A benchmark with a broken setup should stop loudly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mfa::{
    Config, KeyId, KeyRing, ManualClock, MemoryStore, Mfa, RecordingPhoneDelivery, SignInContext, TagSecret,
    UnixTime, UserId,
};
use mfa_enroll::KeyUri;

const START: i64 = 1_700_000_000;
/// Worker threads of the runtime, as in the report that found the problem.
const WORKERS: usize = 2;
/// Verifying tasks, unless `MFA_BENCH_VERIFIERS` says otherwise.
const DEFAULT_VERIFIERS: usize = 4;
/// Timed requests per phase.
const SAMPLES: usize = 1_000;
/// Pause between two timed requests, so the samples spread over the load's phases.
const GAP: Duration = Duration::from_micros(500);
/// The most a phase may take, whatever the machine.
const PHASE_BUDGET: Duration = Duration::from_secs(20);
/// The most one request may take before the benchmark gives up (hashing on the async threads made
/// requests wait for whole rounds of argon2 evaluations).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Verifications per verifying task at most (each also stops when the phase ends).
const MAX_VERIFICATIONS_PER_TASK: u64 = 10_000;
/// The target: loaded p99 at most this much above the idle p99.
const TARGET: Duration = Duration::from_millis(2);

type Service = Mfa<MemoryStore, RecordingPhoneDelivery>;

fn service() -> Service {
    let keys = KeyRing::new(KeyId(1), &[0x11; 32]).expect("32-byte key");
    let tags = TagSecret::from_bytes(&[0x33; 32]).expect("32-byte tag secret");
    let config = Config {
        issuer: "Bench".to_owned(),
        ..Config::default()
    };
    Mfa::new(
        config,
        keys,
        tags,
        MemoryStore::new(),
        RecordingPhoneDelivery::new(),
    )
    .expect("default configuration")
    .with_clock(Arc::new(ManualClock::new(UnixTime::from_secs(START))))
}

/// A user with an authenticator app (so app passwords may be made) and one app password; returns
/// the app password as shown.
async fn user_with_app_password(mfa: &Service, user: &UserId) -> String {
    let enrollment = mfa
        .begin_app_enrollment(user, "bench@example.com", "Phone", None)
        .await
        .expect("begin registration");
    let totp = KeyUri::parse(enrollment.uri().as_str())
        .expect("our own URI")
        .to_totp()
        .expect("a TOTP URI");
    let code = totp.generate(START as u64).expect("time after T0").to_string();
    let enrolled = mfa
        .confirm_app_enrollment(user, enrollment.method(), &code)
        .await
        .expect("confirm registration");
    let created = mfa
        .create_app_password(user, "Mail", Some(enrolled.proof.at()))
        .await
        .expect("create an app password");
    created.password.expose().to_owned()
}

/// Sends `SAMPLES` trivial requests into the runtime one after another from this (non-runtime)
/// thread and returns their latencies, sorted.
fn sample(rt: &tokio::runtime::Runtime, mfa: &Arc<Service>, user: &UserId) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(SAMPLES);
    let phase = Instant::now();
    let (tx, rx) = mpsc::channel();
    while latencies.len() < SAMPLES && phase.elapsed() < PHASE_BUDGET {
        let (mfa, user, tx) = (mfa.clone(), user.clone(), tx.clone());
        let start = Instant::now();
        rt.spawn(async move {
            let answer = mfa
                .begin_sign_in(&user, None, SignInContext::sign_in(UnixTime::from_secs(START)))
                .await;
            let _ = tx.send(answer.is_ok());
        });
        match rx.recv_timeout(REQUEST_TIMEOUT) {
            Ok(true) => latencies.push(start.elapsed()),
            Ok(false) => panic!("begin_sign_in failed"),
            Err(_) => panic!("a trivial request took more than {REQUEST_TIMEOUT:?}"),
        }
        std::thread::sleep(GAP);
    }
    latencies.sort_unstable();
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let last = sorted.len().saturating_sub(1);
    let index = ((last as f64) * p).round() as usize;
    sorted.get(index.min(last)).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once as a smoke test too.
    let verifiers = std::env::var("MFA_BENCH_VERIFIERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| (1..=256).contains(&n))
        .unwrap_or(DEFAULT_VERIFIERS);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mfa = Arc::new(service());
    let probe = UserId::new("probe").expect("user id");
    let mail = UserId::new("mail").expect("user id");
    let password = rt.block_on(async {
        // The probe has an app too, so begin_sign_in reads a user and a method list.
        user_with_app_password(&mfa, &probe).await;
        user_with_app_password(&mfa, &mail).await
    });

    // Warm up (allocator, code paths), then the idle figure.
    let _ = sample(&rt, &mfa, &probe);
    let idle = sample(&rt, &mfa, &probe);

    // The loaded figure: `verifiers` tasks verifying until the sampling is done.
    let stop = Arc::new(AtomicBool::new(false));
    let verified = Arc::new(AtomicU64::new(0));
    let load: Vec<_> = (0..verifiers)
        .map(|_| {
            let (mfa, mail, password) = (mfa.clone(), mail.clone(), password.clone());
            let (stop, verified) = (stop.clone(), verified.clone());
            rt.spawn(async move {
                let started = Instant::now();
                for _ in 0..MAX_VERIFICATIONS_PER_TASK {
                    if stop.load(Ordering::Relaxed) || started.elapsed() > PHASE_BUDGET {
                        break;
                    }
                    mfa.verify_app_password(&mail, &password, None)
                        .await
                        .expect("the right app password verifies");
                    verified.fetch_add(1, Ordering::Relaxed);
                    // As a server's request loop would between two requests (MemoryStore never
                    // yields, so without this a verifying task would keep its worker for good).
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    // Let every verifier start its first evaluation.
    std::thread::sleep(Duration::from_millis(100));
    let loaded_started = Instant::now();
    let loaded = sample(&rt, &mfa, &probe);
    let loaded_for = loaded_started.elapsed();
    let during = verified.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for task in load {
            task.await.expect("a verifying task panicked");
        }
    });

    let (idle50, idle99) = (percentile(&idle, 0.50), percentile(&idle, 0.99));
    let (load50, load99) = (percentile(&loaded, 0.50), percentile(&loaded, 0.99));
    let difference = load99.saturating_sub(idle99);
    println!(
        "hashing_load: {WORKERS} tokio workers, {} CPUs, {verifiers} tasks verifying app passwords \
         (argon2id m=19456 t=2 p=1)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  begin_sign_in idle:   p50 {:7.3} ms  p99 {:7.3} ms  ({} samples)",
        ms(idle50),
        ms(idle99),
        idle.len()
    );
    println!(
        "  begin_sign_in loaded: p50 {:7.3} ms  p99 {:7.3} ms  ({} samples, {during} verifications in {:.2} s)",
        ms(load50),
        ms(load99),
        loaded.len(),
        loaded_for.as_secs_f64()
    );
    println!(
        "  p99 loaded - idle: {:.3} ms (target <= {:.0} ms): {}",
        ms(difference),
        ms(TARGET),
        if difference <= TARGET { "met" } else { "NOT MET" }
    );
}
