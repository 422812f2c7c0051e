//! The reference web service (`examples/web`) under load: complete TOTP sign-ins over loopback HTTP.
//!
//! The service runs in this process as `cargo run --example web` runs it: the example's own router and
//! state on 127.0.0.1 (a free port), a SQLite file in a temporary directory (`SqliteStore::open`, WAL
//! mode, `synchronous = FULL`, migrated), the real system clock, development mode off (keys
//! generated at start, no outbox page), on a multi-threaded tokio runtime with one worker per CPU.
//!
//! `CLIENTS` simulated browsers, on a runtime of their own (as another process would be), each with
//! its own `reqwest` client and cookie jar, following no redirect by themselves (each answer is
//! checked: status, `Location`, page), sign in one after another. One sign-in is six requests, timed
//! from the first to the last: GET /sign-in (read `csrf_token` from the form), POST /sign-in (user
//! name and password; 303 to /sign-in/next), GET /sign-in/next (303 to /sign-in/verify), GET
//! /sign-in/verify (read `csrf_token` and `method`), POST /sign-in/verify with the authenticator
//! app's current code (one durable write: the step accepted; 303 to /), GET / ("Welcome, NAME").
//! The client then signs out (POST /sign-out, untimed) and starts afresh with the next user.
//!
//! A TOTP step is accepted once per user, so every sign-in has a user of its own: before the run (not
//! timed) the benchmark adds `MAX_SIGN_INS` accounts to the host's table with MFA enabled, each with
//! an authenticator app registered through the facade, confirmed with the code of the previous step
//! (the window accepts one step behind) so that the current step is still fresh when the user signs
//! in. A sign-in computes its code from the system clock just before posting it.
//!
//! In the same run, the floor: the same clients each doing rounds of six GET /sign-in (the same
//! number of round trips through the same stack, with a session and a CSRF token, a template
//! rendered, but no password, no facade, no database). A sign-in's latency over a round's says what
//! the sign-in's own work (the facade, the SQLite reads and the write, the session changes) adds to
//! the HTTP stack's.
//!
//! Both phases are bounded in count (`MAX_SIGN_INS`, `MAX_FLOOR_ROUNDS`) and in time (`BUDGET`
//! each); every request has a timeout (`REQUEST_TIMEOUT`). `cargo bench --bench web_load` prints
//! sign-ins/s, p50, p99 and max latency, the error count, the floor and the ratios, and the p99
//! against its target (at most 50 ms). Any error (a request failed, an unexpected status or page)
//! fails the benchmark after the figures are printed. Without `--bench` (`cargo test --benches`) it
//! runs a small smoke version.

#![allow(clippy::expect_used, clippy::panic)] // A benchmark with a broken setup should stop loudly.

// The example's modules, compiled here as `examples/web/main.rs` compiles them: they refer to each other
// as `crate::app`, `crate::pages` and so on, so each is declared with its own name at this crate's root.
// The benchmark uses the router and the state; what only the example's `main` uses is dead code here.
#[allow(dead_code)]
#[path = "../examples/web/accounts.rs"]
mod accounts;
#[allow(dead_code)]
#[path = "../examples/web/admin.rs"]
mod admin;
#[allow(dead_code)]
#[path = "../examples/web/app.rs"]
mod app;
#[allow(dead_code)]
#[path = "../examples/web/auth.rs"]
mod auth;
#[allow(dead_code)]
#[path = "../examples/web/mail.rs"]
mod mail;
#[allow(dead_code)]
#[path = "../examples/web/outbox.rs"]
mod outbox;
#[allow(dead_code)]
#[path = "../examples/web/pages.rs"]
mod pages;
#[allow(dead_code)]
#[path = "../examples/web/passkey.rs"]
mod passkey;
#[allow(dead_code)]
#[path = "../examples/web/password.rs"]
mod password;
#[allow(dead_code)]
#[path = "../examples/web/push.rs"]
mod push;
#[allow(dead_code)]
#[path = "../examples/web/security_info.rs"]
mod security_info;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mfa::{KeyId, KeyRing, MfaState, SystemClock, TagSecret};
use mfa_enroll::KeyUri;
use mfa_otp::Totp;
use mfa_sqlx::SqliteStore;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

use crate::app::{AppState, Delivery};

/// Concurrent clients.
const CLIENTS: usize = 32;
/// Sign-ins at most, and so the accounts made before the run (each signs in once).
const MAX_SIGN_INS: usize = 3_200;
/// Floor rounds at most.
const MAX_FLOOR_ROUNDS: usize = 3_200;
/// Sign-ins before the measured phases (users of their own), not counted.
const WARM_UP: usize = 64;
/// Requests per sign-in, and per floor round.
const REQUESTS: usize = 6;
/// The most a phase may take, whatever the machine (clients start no sign-in after it).
const BUDGET: Duration = Duration::from_secs(20);
/// The most one request may take; a request that takes longer is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The target for a whole sign-in's p99.
const TARGET_P99: Duration = Duration::from_millis(50);
/// The name of the clients' threads (15 bytes at most: Linux's limit).
const CLIENT_THREADS: &str = "load-client";
/// Errors whose message is printed (the rest are only counted).
const SHOWN_ERRORS: usize = 5;

/// A user with an authenticator app.
struct Signer {
    username: String,
    password: String,
    totp: Totp,
}

/// The service, started.
struct Site {
    state: AppState,
    base: String,
    /// The database's directory, removed at the end.
    _dir: tempfile::TempDir,
}

async fn start() -> Site {
    let dir = tempfile::Builder::new()
        .prefix("mfa-web-load-")
        .tempdir()
        .expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("mfa.sqlite3"))
        .await
        .expect("open the database");
    store.migrate().await.expect("migrate");
    let state = AppState::with_store(
        store,
        KeyRing::generate(KeyId(1)).expect("keys"),
        TagSecret::generate().expect("tag secret"),
        Delivery::Nowhere,
        None,
        None,
        Arc::new(SystemClock),
    )
    .await
    .expect("the service");
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = app::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Site {
        state,
        base,
        _dir: dir,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Adds the account `username` with MFA enabled and registers an authenticator app for it,
/// confirmed with the previous step's code: the current one stays fresh for its sign-in.
async fn signer(state: &AppState, username: String) -> Signer {
    let password = format!("{username}-load-password");
    let account = state
        .add_account(&username, &password, false, MfaState::Enabled)
        .await
        .expect("add the account");
    // A step that ends between the code and its check makes the previous step two behind: try again.
    for _ in 0..3 {
        let enrollment = state
            .mfa
            .begin_app_enrollment(&account.user, &username, "Authenticator app", None)
            .await
            .expect("begin the registration");
        let totp = KeyUri::parse(enrollment.uri().as_str())
            .expect("our own URI")
            .to_totp()
            .expect("a TOTP URI");
        let code = totp.generate(unix_now() - 30).expect("code").to_string();
        match state
            .mfa
            .confirm_app_enrollment(&account.user, enrollment.method(), &code)
            .await
        {
            Ok(_) => {
                return Signer {
                    username,
                    password,
                    totp,
                };
            }
            Err(mfa::Error::Rejected) => continue,
            Err(error) => panic!("confirm the registration: {error}"),
        }
    }
    panic!("the registration of {username} was refused three times")
}

/// `count` signers named `PREFIX-N`, made by `CLIENTS` tasks at once (their writes share commits).
async fn signers(state: &AppState, prefix: &str, count: usize) -> Vec<Signer> {
    let per_task = count.div_ceil(CLIENTS);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|task| {
            let state = state.clone();
            let prefix = prefix.to_owned();
            tokio::spawn(async move {
                let mut made = Vec::new();
                for n in (task * per_task)..((task + 1) * per_task).min(count) {
                    made.push(signer(&state, format!("{prefix}-{n:05}")).await);
                }
                made
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for task in tasks {
        all.extend(task.await.expect("a setup task panicked"));
    }
    all
}

/// A browser without JavaScript: its own cookie jar, no redirect followed.
fn browser() -> reqwest::Client {
    // mfa-delivery (in the graph through the web example) builds reqwest without a TLS provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// The value of the first `<input name="NAME" value="...">` of a page.
fn field(body: &str, name: &str) -> Result<String, String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = body
        .find(&marker)
        .ok_or_else(|| format!("no field {name} in the page"))?
        + marker.len();
    Ok(body[start..].split('"').next().unwrap_or_default().to_owned())
}

/// An answer read: status, `Location` and body.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

async fn read(what: &str, sent: reqwest::RequestBuilder) -> Result<Answer, String> {
    let response = sent.send().await.map_err(|e| format!("{what}: {e}"))?;
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.map_err(|e| format!("{what}: {e}"))?;
    Ok(Answer {
        status,
        location,
        body,
    })
}

/// A page (200).
async fn page(client: &reqwest::Client, base: &str, path: &str) -> Result<String, String> {
    let answer = read(&format!("GET {path}"), client.get(format!("{base}{path}"))).await?;
    match answer.status {
        StatusCode::OK => Ok(answer.body),
        status => Err(format!("GET {path}: {status}")),
    }
}

/// A request answered with a redirect (303) to `to`.
async fn redirect(what: &str, sent: reqwest::RequestBuilder, to: &str) -> Result<(), String> {
    let answer = read(what, sent).await?;
    if answer.status == StatusCode::SEE_OTHER && answer.location.as_deref() == Some(to) {
        return Ok(());
    }
    let start: String = answer.body.chars().take(200).collect();
    Err(format!(
        "{what}: {} to {:?}, not 303 to {to} ({start:?})",
        answer.status, answer.location
    ))
}

/// The six requests of a sign-in, as printed.
const STEPS: [&str; REQUESTS] = [
    "GET /sign-in",
    "POST /sign-in",
    "GET /sign-in/next",
    "GET /sign-in/verify",
    "POST /sign-in/verify",
    "GET /",
];

/// One whole sign-in; answers how long each request took and the home page's CSRF token (for
/// signing out).
async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    signer: &Signer,
) -> Result<([Duration; REQUESTS], String), String> {
    let mut steps = [Duration::ZERO; REQUESTS];
    let mut lap = Instant::now();
    let mut split = |step: usize| {
        steps[step] = lap.elapsed();
        lap = Instant::now();
    };
    let form = page(client, base, "/sign-in").await?;
    let csrf = field(&form, "csrf_token")?;
    split(0);
    redirect(
        "POST /sign-in",
        client.post(format!("{base}/sign-in")).form(&[
            ("csrf_token", csrf.as_str()),
            ("username", &signer.username),
            ("password", &signer.password),
        ]),
        "/sign-in/next",
    )
    .await?;
    split(1);
    redirect(
        "GET /sign-in/next",
        client.get(format!("{base}/sign-in/next")),
        "/sign-in/verify",
    )
    .await?;
    split(2);
    let prompt = page(client, base, "/sign-in/verify").await?;
    let (csrf, method) = (field(&prompt, "csrf_token")?, field(&prompt, "method")?);
    split(3);
    let code = signer
        .totp
        .generate(unix_now())
        .map_err(|e| format!("code: {e}"))?
        .to_string();
    redirect(
        "POST /sign-in/verify",
        client.post(format!("{base}/sign-in/verify")).form(&[
            ("csrf_token", csrf.as_str()),
            ("method", &method),
            ("code", &code),
        ]),
        "/",
    )
    .await?;
    split(4);
    let home = page(client, base, "/").await?;
    if !home.contains(&format!("Welcome, {}", signer.username)) {
        return Err("GET /: no welcome".to_owned());
    }
    let csrf = field(&home, "csrf_token")?;
    split(5);
    Ok((steps, csrf))
}

async fn sign_out(client: &reqwest::Client, base: &str, csrf: &str) -> Result<(), String> {
    redirect(
        "POST /sign-out",
        client
            .post(format!("{base}/sign-out"))
            .form(&[("csrf_token", csrf)]),
        "/sign-in",
    )
    .await
}

/// The floor's round: six GET /sign-in.
async fn floor_round(client: &reqwest::Client, base: &str) -> Result<(), String> {
    for _ in 0..REQUESTS {
        let form = page(client, base, "/sign-in").await?;
        field(&form, "csrf_token")?;
    }
    Ok(())
}

/// What a phase measured.
#[derive(Default)]
struct Phase {
    /// Latencies of the rounds that succeeded, sorted.
    latencies: Vec<Duration>,
    /// For sign-ins, each request's latencies, sorted.
    steps: [Vec<Duration>; REQUESTS],
    errors: usize,
    messages: Vec<String>,
    elapsed: Duration,
}

impl Phase {
    fn record(&mut self, outcome: Result<(Duration, Option<[Duration; REQUESTS]>), String>) {
        match outcome {
            Ok((latency, steps)) => {
                self.latencies.push(latency);
                for (all, step) in self.steps.iter_mut().zip(steps.unwrap_or_default()) {
                    all.push(step);
                }
            }
            Err(message) => {
                self.errors += 1;
                if self.messages.len() < SHOWN_ERRORS {
                    self.messages.push(message);
                }
            }
        }
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// `clients` clients running rounds until `max` are done or the budget is spent: a sign-in of
/// `signers[i]` each (then a sign-out), or a floor round when `signers` is `None`.
async fn run(base: &str, clients: usize, max: usize, signers: Option<Arc<Vec<Signer>>>) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let phase = Arc::new(Mutex::new(Phase::default()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (base, next, phase, signers) =
                (base.to_owned(), next.clone(), phase.clone(), signers.clone());
            tokio::spawn(async move {
                let client = browser();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= max || started.elapsed() > BUDGET {
                        break;
                    }
                    let round = Instant::now();
                    let outcome = match &signers {
                        Some(signers) => match sign_in(&client, &base, &signers[i]).await {
                            Ok((steps, csrf)) => {
                                let latency = round.elapsed();
                                let out = sign_out(&client, &base, &csrf).await;
                                out.map(|()| (latency, Some(steps)))
                            }
                            Err(error) => Err(error),
                        },
                        None => floor_round(&client, &base)
                            .await
                            .map(|()| (round.elapsed(), None)),
                    };
                    phase.lock().expect("phase").record(outcome);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a client panicked");
    }
    let mut phase = std::mem::take(&mut *phase.lock().expect("phase"));
    phase.elapsed = started.elapsed();
    phase.latencies.sort_unstable();
    for step in &mut phase.steps {
        step.sort_unstable();
    }
    phase
}

/// Processor time used, in clock ticks of 10 ms (Linux's `USER_HZ`), from `/proc`: by the whole
/// process and by the clients' threads. `None` where there is no `/proc`.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    process: u64,
    clients: u64,
}

/// User and system ticks of a `stat` file of `/proc`, and the thread's name.
fn ticks(stat: &str) -> Option<(&str, u64)> {
    let (head, tail) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1;
    let fields: Vec<&str> = tail.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((name, user + system))
}

fn cpu() -> Option<Cpu> {
    let (_, process) = ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let mut clients = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(stat) = std::fs::read_to_string(task.ok()?.path().join("stat")) else {
            continue; // the thread has ended
        };
        if let Some((CLIENT_THREADS, used)) = ticks(&stat) {
            clients += used;
        }
    }
    Some(Cpu { process, clients })
}

/// Processor time per round of `phase`, in ms: the service's (every thread but the clients') and
/// the clients'.
fn cpu_per_round(before: Option<Cpu>, after: Option<Cpu>, phase: &Phase) -> Option<(f64, f64)> {
    let (before, after) = (before?, after?);
    let clients = after.clients.saturating_sub(before.clients);
    let service = after
        .process
        .saturating_sub(before.process)
        .saturating_sub(clients);
    let rounds = (phase.latencies.len() + phase.errors) as f64;
    (rounds > 0.0).then(|| (service as f64 * 10.0 / rounds, clients as f64 * 10.0 / rounds))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let last = sorted.len().saturating_sub(1);
    let index = ((last as f64) * p).round() as usize;
    sorted.get(index.min(last)).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print(label: &str, phase: &Phase) {
    println!(
        "  {label:<26} {:>5} in {:5.2} s: {:7.1}/s  p50 {:6.2} ms  p99 {:6.2} ms  max {:6.2} ms  errors {}",
        phase.latencies.len(),
        phase.elapsed.as_secs_f64(),
        phase.per_second(),
        ms(percentile(&phase.latencies, 0.50)),
        ms(percentile(&phase.latencies, 0.99)),
        ms(phase.latencies.last().copied().unwrap_or_default()),
        phase.errors
    );
    for message in &phase.messages {
        println!("    error: {message}");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs a small version as a smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    let (clients, max_sign_ins, max_rounds, warm_up) = match full {
        true => (CLIENTS, MAX_SIGN_INS, MAX_FLOOR_ROUNDS, WARM_UP),
        false => (4, 16, 16, 4),
    };
    let server = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the service's runtime");
    let clients_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name(CLIENT_THREADS)
        .enable_all()
        .build()
        .expect("the clients' runtime");

    let setup = Instant::now();
    let (site, warm, measured) = server.block_on(async {
        let site = start().await;
        let warm = signers(&site.state, "warm", warm_up).await;
        let measured = signers(&site.state, "load", max_sign_ins).await;
        (site, Arc::new(warm), Arc::new(measured))
    });
    let setup = setup.elapsed();

    let base = site.base.clone();
    let warmed = clients_rt.block_on(run(&base, clients, warm.len(), Some(warm)));
    assert_eq!(warmed.errors, 0, "warm-up sign-ins failed: {:?}", warmed.messages);
    let cpu_floor = cpu();
    let floor = clients_rt.block_on(run(&base, clients, max_rounds, None));
    let cpu_signed = cpu();
    let signed = clients_rt.block_on(run(&base, clients, max_sign_ins, Some(measured)));
    let cpu_end = cpu();
    let floor_cpu = cpu_per_round(cpu_floor, cpu_signed, &floor);
    let signed_cpu = cpu_per_round(cpu_signed, cpu_end, &signed);

    println!(
        "web_load: {clients} clients over loopback HTTP, {} CPUs; the service on a SQLite file (WAL, \
         synchronous = FULL), development mode off; setup of {} accounts with an app {:.1} s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        warm_up + max_sign_ins,
        setup.as_secs_f64()
    );
    print(&format!("sign-in ({REQUESTS} requests)"), &signed);
    for (name, step) in STEPS.iter().zip(&signed.steps) {
        println!(
            "    {name:<22} p50 {:6.2} ms  p99 {:6.2} ms",
            ms(percentile(step, 0.50)),
            ms(percentile(step, 0.99))
        );
    }
    print(&format!("floor ({REQUESTS} x GET /sign-in)"), &floor);
    let ratio = |a: Duration, b: Duration| ms(a) / ms(b).max(1e-9);
    if let (Some((service, clients)), Some((floor_service, floor_clients))) = (signed_cpu, floor_cpu) {
        println!(
            "  CPU time per sign-in: service {service:.2} ms, clients {clients:.2} ms; per floor round: \
             service {floor_service:.2} ms, clients {floor_clients:.2} ms"
        );
    }
    println!(
        "  sign-in / floor: p50 {:.2}, p99 {:.2}; throughput floor / sign-in {:.2}",
        ratio(
            percentile(&signed.latencies, 0.50),
            percentile(&floor.latencies, 0.50)
        ),
        ratio(
            percentile(&signed.latencies, 0.99),
            percentile(&floor.latencies, 0.99)
        ),
        floor.per_second() / signed.per_second().max(1e-9)
    );
    let p99 = percentile(&signed.latencies, 0.99);
    println!(
        "  sign-in p99 {:.2} ms (target <= {:.0} ms): {}; errors {} (target 0)",
        ms(p99),
        ms(TARGET_P99),
        if p99 <= TARGET_P99 { "met" } else { "NOT MET" },
        signed.errors + floor.errors
    );
    assert_eq!(
        signed.errors + floor.errors,
        0,
        "requests failed under load (see the errors above)"
    );
}
