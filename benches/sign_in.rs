//! The complete TOTP sign-in verification through the `mfa` facade on `MemoryStore`, against a bare
//! `mfa_otp` verify, in one run.
//!
//! `Mfa::verify` with a correct code: one `Store::attempt` (lock the user, refuse if locked, load the
//! app; the facade's check opens the AES-256-GCM-SIV sealed secret, keys HMAC-SHA-1 and verifies the
//! window; accept the step, which resets the failure count) and `VerificationSucceeded` to a sink. The
//! sink is a counting one (one relaxed atomic add per event), so the event is built and delivered but
//! not serialised.
//! The parts are also measured one by one (opening the sealed secret, keying and verifying, the
//! store's attempt with a constant check, the event) and printed as a breakdown.
//!
//! Every call presents the code of a new time step, so replay refusal never short-circuits it:
//! `sign_in_verify` moves a `ManualClock` two periods per call (see `STRIDE`; the clock store is inside
//! the timed loop, one atomic write), `sign_in_verify_8_tasks` gives each of 8 tokio tasks its own user
//! and its own time line through a task-local clock. Codes are computed before the timer starts.
//!
//! `cargo bench --bench sign_in` prints criterion's figures, then the medians, the throughput with 8
//! tasks and the facade's overhead over the bare verify.

#![allow(clippy::expect_used, clippy::panic)] // A benchmark with a broken setup should stop loudly.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use aes_gcm_siv::Aes256GcmSiv;
use aes_gcm_siv::aead::KeyInit;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group};
use mfa::store::{Attempt, AttemptTarget, Consume, Verdict};
use mfa::{
    Clock, Config, Event, EventKind, EventSink, Factor, KeyId, KeyRing, ManualClock, MemoryStore, MethodId,
    Mfa, RecordingPhoneDelivery, Store, TagSecret, UnixTime, UserId,
};
use mfa_enroll::KeyUri;
use mfa_otp::{Code, Totp, TotpParams, Window};

#[path = "support/sealed.rs"]
mod sealed;
mod support;
#[path = "support/task_clock.rs"]
mod task_clock;

use task_clock::{TASK_NOW, TaskClock};

const GROUP: &str = "sign_in";
const START: i64 = 1_700_000_000;
const PERIOD: i64 = 30;
/// Two periods between calls: a code of step `s` that happens to equal the code of step `s + 1` (one
/// step in a million) is accepted as step `s + 1` (the window reaches one step ahead), and the next call
/// one period later would then rightly be refused as a replay. Two periods apart, the next call's own
/// step is always after the last accepted one, so no call is refused and the work per call is the same.
const STRIDE: i64 = 2 * PERIOD;
const TASKS: usize = 8;

type Service = Mfa<MemoryStore, RecordingPhoneDelivery>;

/// Counts events: the cheapest sink that still receives every event.
#[derive(Debug, Default)]
struct CountingSink {
    succeeded: AtomicU64,
    other: AtomicU64,
}

impl CountingSink {
    /// After a measured run: one success event per call, and no failure, replay or lock events
    /// beyond the `before` events of the registrations.
    fn assert_only_successes(&self, calls: u64, before: u64) {
        assert_eq!(
            self.succeeded.load(Ordering::Relaxed),
            calls,
            "one success event per call"
        );
        assert_eq!(
            self.other.load(Ordering::Relaxed),
            before,
            "no failure, replay or lock events"
        );
    }
}

impl EventSink for CountingSink {
    fn emit(&self, event: &Event) {
        let counter = match event.kind {
            EventKind::VerificationSucceeded { .. } => &self.succeeded,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A user with one authenticator app, registered through the facade; the app's `Totp` on the side.
struct Enrolled {
    user: UserId,
    method: MethodId,
    totp: Totp,
    /// The next time to verify at (`STRIDE` after the last one used).
    next: AtomicI64,
}

impl Enrolled {
    /// The (time, code) pairs of the next `n` steps.
    fn next_codes(&self, n: u64) -> Vec<(i64, String)> {
        let n = i64::try_from(n).expect("iteration count fits i64");
        let first = self.next.fetch_add(n * STRIDE, Ordering::Relaxed);
        (0..n)
            .map(|i| {
                let t = first + i * STRIDE;
                let code = self.totp.generate(t as u64).expect("time after T0");
                (t, code.to_string())
            })
            .collect()
    }
}

fn service(clock: Arc<dyn Clock>, sink: Arc<CountingSink>) -> Service {
    let config = Config {
        issuer: "Bench".to_owned(),
        ..Config::default()
    };
    let keys = KeyRing::new(KeyId(1), &[0x11; 32]).expect("32-byte key");
    let tags = TagSecret::from_bytes(&[0x33; 32]).expect("32-byte tag secret");
    Mfa::new(
        config,
        keys,
        tags,
        MemoryStore::new(),
        RecordingPhoneDelivery::new(),
    )
    .expect("default configuration")
    .with_clock(clock)
    .with_events(sink)
}

/// Registers an app for `name` at `at` (begin, then confirm with the app's code), so the stored secret
/// is sealed exactly as in production.
async fn enroll(mfa: &Service, name: &str, at: i64) -> Enrolled {
    let user = UserId::new(name).expect("user id");
    let enrollment = mfa
        .begin_app_enrollment(&user, "bench@example.com", "Phone", None)
        .await
        .expect("begin registration");
    let totp = KeyUri::parse(enrollment.uri().as_str())
        .expect("our own URI")
        .to_totp()
        .expect("a TOTP URI");
    let code = totp.generate(at as u64).expect("time after T0").to_string();
    mfa.confirm_app_enrollment(&user, enrollment.method(), &code)
        .await
        .expect("confirm registration");
    Enrolled {
        user,
        method: enrollment.method(),
        totp,
        next: AtomicI64::new(at + STRIDE),
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let mut g = c.benchmark_group(GROUP);

    // ---- one caller, one user, a new time step per call.
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(START)));
    let sink = Arc::new(CountingSink::default());
    let mfa = service(clock.clone(), sink.clone());
    let alice = rt.block_on(enroll(&mfa, "alice", START));
    let registration_events = sink.other.load(Ordering::Relaxed);
    let mut calls = 0u64;
    g.bench_function("sign_in_verify", |b| {
        b.iter_custom(|iters| {
            let codes = alice.next_codes(iters);
            calls += iters;
            rt.block_on(async {
                let start = Instant::now();
                for (t, code) in &codes {
                    clock.set(UnixTime::from_secs(*t));
                    let verified = mfa.verify(&alice.user, alice.method, code).await;
                    if verified.is_err() {
                        panic!("a fresh code was refused: {verified:?}");
                    }
                    black_box(verified.ok());
                }
                start.elapsed()
            })
        })
    });
    sink.assert_only_successes(calls, registration_events);

    // ---- the bare core for the same work: a secret keyed per call and a correct code in the window,
    // and the keyed `Totp` alone.
    let secret = mfa_otp::Secret::from_bytes(&[0x5a; 20]).expect("160-bit secret");
    let totp = Totp::new(&secret, TotpParams::default()).expect("default params");
    let good = totp.generate(START as u64).expect("time after T0").to_string();
    let good_code = Code::parse(&good).expect("six digits");
    g.bench_function("mfa_otp_key_and_verify_after", |b| {
        b.iter(|| {
            let totp = Totp::new(black_box(&secret), TotpParams::default()).expect("default params");
            let code = Code::parse(black_box(&good)).expect("six digits");
            let step = totp.verify_after(&code, black_box(START as u64), Window::default(), None);
            assert!(step.is_some());
            step
        })
    });
    g.bench_function("mfa_otp_verify_after", |b| {
        b.iter(|| {
            let step = totp.verify_after(
                black_box(&good_code),
                black_box(START as u64),
                Window::default(),
                black_box(None),
            );
            assert!(step.is_some());
            step
        })
    });

    // ---- the parts of a verification one by one, for the breakdown.
    // Opening the sealed secret: AES-256-GCM-SIV on a 20-byte secret, as `KeyRing::open` does.
    let cipher = Aes256GcmSiv::new(&[0x11; 32].into());
    let aad = sealed::associated_data();
    let sealed_secret = sealed::seal(&cipher, &aad);
    g.bench_function("part_open", |b| {
        b.iter(|| sealed::open(black_box(&cipher), black_box(&aad), black_box(&sealed_secret)))
    });
    // The store's part: one attempt that loads the app and accepts a new step (the check itself a
    // constant), on the same store and user.
    let rule = mfa.config().throttle;
    let mut step = 1_000_000_000u64;
    g.bench_function("part_store_attempt", |b| {
        b.iter(|| {
            step += 1;
            let attempt = rt.block_on(mfa.store().attempt(
                &alice.user,
                AttemptTarget::Method(alice.method),
                UnixTime::from_secs(START),
                &rule,
                |_| {
                    let accept = Consume::TotpStep { step, resealed: None };
                    (Verdict::Accept(accept), ())
                },
            ));
            assert!(matches!(attempt, Ok(Attempt::Accepted(()))), "{attempt:?}");
        })
    });
    // The events' part: the success event built and handed to the sink.
    let counting = CountingSink::default();
    g.bench_function("part_event", |b| {
        b.iter(|| {
            let event = Event::new(
                black_box(&alice.user).clone(),
                UnixTime::from_secs(START),
                EventKind::VerificationSucceeded {
                    factor: Factor::AuthenticatorApp,
                    method: Some(alice.method),
                },
            );
            counting.emit(&event);
        })
    });

    // ---- 8 tasks on a multi-threaded runtime, one shared service, a user and a time line each.
    let mt = tokio::runtime::Builder::new_multi_thread()
        .build()
        .expect("tokio runtime");
    let sink = Arc::new(CountingSink::default());
    let shared = Arc::new(service(Arc::new(TaskClock { outside: START }), sink.clone()));
    let users: Vec<Arc<Enrolled>> = (0..TASKS)
        .map(|i| Arc::new(mt.block_on(enroll(&shared, &format!("user-{i}"), START))))
        .collect();
    let registration_events = sink.other.load(Ordering::Relaxed);
    let mut calls = 0u64;
    g.throughput(Throughput::Elements(1));
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("sign_in_verify_8_tasks", |b| {
        b.iter_custom(|iters| {
            // `iters` verifications in all, spread over the tasks.
            let per_task = iters.div_ceil(TASKS as u64);
            let work: Vec<Vec<(i64, String)>> = users.iter().map(|u| u.next_codes(per_task)).collect();
            calls += per_task * TASKS as u64;
            let elapsed = mt.block_on(async {
                let start = Instant::now();
                let handles: Vec<_> = users
                    .iter()
                    .zip(work)
                    .map(|(enrolled, codes)| {
                        let mfa = Arc::clone(&shared);
                        let enrolled = Arc::clone(enrolled);
                        tokio::spawn(TASK_NOW.scope(Cell::new(START), async move {
                            for (t, code) in &codes {
                                TASK_NOW.with(|now| now.set(*t));
                                let verified = mfa.verify(&enrolled.user, enrolled.method, code).await;
                                if verified.is_err() {
                                    panic!("a fresh code was refused: {verified:?}");
                                }
                                black_box(verified.ok());
                            }
                        }))
                    })
                    .collect();
                for handle in handles {
                    handle.await.expect("verification task");
                }
                start.elapsed()
            });
            // Scale to exactly `iters` calls (each task ran `per_task`).
            elapsed.mul_f64(iters as f64 / (per_task * TASKS as u64) as f64)
        })
    });
    sink.assert_only_successes(calls, registration_events);
    g.finish();
}

/// The facade's targets: a median of at most 1.5 µs, and at most 4.5 times the bare keying and
/// verifying measured in the same run.
const TARGET_NS: f64 = 1500.0;
const TARGET_RATIO: f64 = 4.5;

fn report() {
    let names = [
        "sign_in_verify",
        "sign_in_verify_8_tasks",
        "mfa_otp_key_and_verify_after",
        "mfa_otp_verify_after",
        "part_open",
        "part_store_attempt",
        "part_event",
    ];
    println!("\nmedians (ns per verification):");
    for name in names {
        match support::median_ns(GROUP, name) {
            Some(m) => println!("  {name:<32} {m:>10.1}"),
            None => println!("  {name:<32} {:>10}", "n/a"),
        }
    }
    let median = |name| support::median_ns(GROUP, name);
    let facade = median("sign_in_verify");
    let bare = median("mfa_otp_key_and_verify_after");
    if let (Some(f), Some(b)) = (facade, bare)
        && b > 0.0
    {
        let ratio = f / b;
        let met = f <= TARGET_NS && ratio <= TARGET_RATIO;
        println!(
            "facade median {:.2} µs (target <= {:.1} µs), {ratio:.1} x keying and verifying (target <= {TARGET_RATIO}): {}",
            f / 1000.0,
            TARGET_NS / 1000.0,
            if met { "met" } else { "NOT met" }
        );
    }
    let parts = [
        ("open the sealed secret", median("part_open")),
        ("key HMAC-SHA-1, verify the window", bare),
        ("the store's attempt", median("part_store_attempt")),
        ("the success event", median("part_event")),
    ];
    if let (Some(f), Some(known)) = (facade, parts.iter().map(|(_, m)| *m).sum::<Option<f64>>()) {
        println!("breakdown of the facade median (ns):");
        for (what, m) in parts {
            println!("  {what:<36} {:>8.1}", m.unwrap_or(f64::NAN));
        }
        println!(
            "  {:<36} {:>8.1}",
            "the rest (parsing, policy, results)",
            f - known
        );
    }
    match median("sign_in_verify_8_tasks") {
        Some(m) if m > 0.0 => println!(
            "throughput, {TASKS} tasks on {} worker threads: {:.0} verifications/s",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            1e9 / m
        ),
        _ => println!("throughput n/a"),
    }
    for bare in ["mfa_otp_key_and_verify_after", "mfa_otp_verify_after"] {
        match (facade, median(bare)) {
            (Some(f), Some(b)) if b > 0.0 => println!("  sign_in_verify / {bare:<30} {:>6.1}", f / b),
            _ => println!("  sign_in_verify / {bare:<30} {:>6}", "n/a"),
        }
    }
}

criterion_group!(sign_in, benches);

fn main() {
    sign_in();
    Criterion::default().configure_from_args().final_summary();
    // In `cargo test --benches` mode nothing is measured, so there is nothing to report.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        report();
    }
}
