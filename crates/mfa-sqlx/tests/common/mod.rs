//! Shared set-up of the mfa-sqlx tests: PostgreSQL schemas per run, records, and the races run against
//! two independent stores on one database.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use mfa::store::{
    Attempt, AttemptTarget, Consume, Credential, LoadedCredential, MethodRecord, SealedSecret, Verdict,
};
use mfa::{
    AppPasswordRecord, KeyId, MethodId, Store, StoreError, ThrottleRule, TotpParams, UnixTime, UserId,
};
use mfa_app_password::{AppPasswords, Argon2Params, IssueOptions, TagKey};
use mfa_sqlx::PgStore;
use mfa_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use mfa_sqlx::sqlx::{self, PgPool};

/// Where the PostgreSQL tests find their server.
pub const PG_URL_VAR: &str = "MFA_TEST_POSTGRES_URL";

pub const T0: i64 = 1_700_000_000;

/// The URL of the test server (MFA_TEST_POSTGRES_URL, which must be set) with `schema` as the
/// connections' search_path, as a host would write it in its configuration.
pub fn pg_url_in(schema: &str) -> String {
    let url = std::env::var(PG_URL_VAR).unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// A random suffix for names of users and schemas.
pub fn random_name(prefix: &str) -> String {
    format!("{prefix}_{}", MethodId::generate().unwrap())
}

pub fn user(prefix: &str) -> UserId {
    UserId::new(&random_name(prefix)).unwrap()
}

/// A schema of its own for one test run, dropped by [`PgSchema::drop`].
pub struct PgSchema {
    admin: PgPool,
    options: PgConnectOptions,
    pub name: String,
}

impl PgSchema {
    /// `None` (with a note) when MFA_TEST_POSTGRES_URL is unset; panics when it is set but the server
    /// cannot be reached, so CI fails instead of skipping.
    pub async fn create(test: &str) -> Option<PgSchema> {
        let Ok(url) = std::env::var(PG_URL_VAR) else {
            eprintln!("note: {PG_URL_VAR} is not set; skipping the PostgreSQL test `{test}`");
            return None;
        };
        let base = PgConnectOptions::from_str(&url)
            .unwrap_or_else(|e| panic!("{PG_URL_VAR} is not a PostgreSQL URL: {e}"));
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(base.clone())
            .await
            .unwrap_or_else(|e| panic!("{PG_URL_VAR} is set but PostgreSQL is unreachable: {e}"));
        let name = random_name("mfa_test");
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .unwrap();
        let options = base.options([("search_path", name.as_str())]);
        Some(PgSchema { admin, options, name })
    }

    /// A new pool (an independent "service instance") on the schema.
    pub async fn pool(&self, connections: u32) -> PgPool {
        self.pool_with(connections, &[]).await
    }

    /// A new pool on the schema with more run-time settings for its connections.
    pub async fn pool_with(&self, connections: u32, settings: &[(&str, &str)]) -> PgPool {
        PgPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(self.options.clone().options(settings.iter().copied()))
            .await
            .unwrap()
    }

    /// A new store on its own pool, migrated.
    pub async fn store(&self, connections: u32) -> PgStore {
        let store = PgStore::from_pool(self.pool(connections).await);
        store.migrate().await.unwrap();
        store
    }

    pub async fn drop(self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await
            .unwrap();
        self.admin.close().await;
    }
}

/// Runs `body` on a fresh schema and drops the schema whatever the outcome; then re-raises a panic.
pub async fn with_pg_schema<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Arc<PgSchema>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(schema) = PgSchema::create(test).await else {
        return;
    };
    let schema = Arc::new(schema);
    let outcome = tokio::spawn(body(schema.clone())).await;
    match Arc::try_unwrap(schema) {
        Ok(schema) => schema.drop().await,
        Err(_) => eprintln!("warning: the schema of `{test}` is still in use and was not dropped"),
    }
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

pub fn app_method() -> MethodRecord {
    MethodRecord {
        id: MethodId::generate().unwrap(),
        name: "app".to_owned(),
        created_at: UnixTime::from_secs(T0),
        credential: Credential::AuthenticatorApp {
            secret: SealedSecret::from_parts(KeyId(1), vec![0x5A; 60]),
            params: TotpParams::default(),
            last_accepted_step: None,
        },
    }
}

pub fn app_passwords() -> AppPasswords {
    let config = mfa_app_password::Config {
        params: Argon2Params { m_kib: 8, t: 1, p: 1 },
        ..mfa_app_password::Config::default()
    };
    AppPasswords::new(config, TagKey::generate().unwrap()).unwrap()
}

pub fn app_password_record(service: &AppPasswords, name: &str) -> AppPasswordRecord {
    service
        .issue(0, name, IssueOptions::default(), T0.unsigned_abs())
        .unwrap()
        .record
}

/// Tasks per race.
pub const RACERS: usize = 32;

/// Runs `RACERS` tasks, alternately on `a` and `b`, released together; results in task order.
pub async fn race<S, T, F, Fut>(a: &Arc<S>, b: &Arc<S>, task: F) -> Vec<T>
where
    S: Store + 'static,
    T: Send + 'static,
    F: Fn(Arc<S>, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut handles = Vec::with_capacity(RACERS);
    for i in 0..RACERS {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let barrier = barrier.clone();
        let run = task(store, i);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            run.await
        }));
    }
    let mut results = Vec::with_capacity(RACERS);
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

/// A throttle rule that locks no one within these tests.
pub fn lenient() -> ThrottleRule {
    ThrottleRule {
        free_attempts: 100,
        ..ThrottleRule::default()
    }
}

/// A wrong guess: one attempt whose check rejects (on a recovery code no one has).
pub async fn count_failure<S: Store>(
    store: &S,
    user: &UserId,
    now: UnixTime,
    rule: &ThrottleRule,
) -> Result<Attempt<()>, StoreError> {
    let nobody = mfa::store::Tag::from_bytes([0xEE; 32]);
    store
        .attempt(user, AttemptTarget::RecoveryCode(&nobody), now, rule, |_| {
            (Verdict::Reject, ())
        })
        .await
}

/// An app's code of `step`, checked as the facade does: accepted only above the step the check is
/// shown. `true` if accepted. Rejections count under a rule that never locks within these tests.
pub async fn accept_step<S: Store>(
    store: &S,
    user: &UserId,
    method: MethodId,
    step: u64,
) -> Result<bool, StoreError> {
    let rule = ThrottleRule {
        free_attempts: 100,
        ..ThrottleRule::default()
    };
    let attempt = store
        .attempt(
            user,
            AttemptTarget::Method(method),
            UnixTime::from_secs(T0),
            &rule,
            |loaded| {
                let last = match loaded.credential {
                    LoadedCredential::Method {
                        method:
                            Some(MethodRecord {
                                credential:
                                    Credential::AuthenticatorApp {
                                        last_accepted_step, ..
                                    },
                                ..
                            }),
                        ..
                    } => *last_accepted_step,
                    _ => return (Verdict::Abort, ()),
                };
                if last.is_some_and(|last| last >= step) {
                    return (Verdict::Reject, ());
                }
                (Verdict::Accept(Consume::TotpStep { step, resealed: None }), ())
            },
        )
        .await?;
    Ok(matches!(attempt, Attempt::Accepted(())))
}

/// The same TOTP step offered by every racer, over several rounds: exactly one acceptance a round.
pub async fn totp_step_race<S: Store + 'static>(a: Arc<S>, b: Arc<S>) {
    let user = user("step_race");
    let method = app_method();
    let id = method.id;
    assert!(a.insert_method_capped(&user, method, 5).await.unwrap());
    for round in 0..5u64 {
        let step = 58_000_000 + round;
        let shared = user.clone();
        let results = race(&a, &b, move |store, _| {
            let user = shared.clone();
            async move { accept_step(&*store, &user, id, step).await.unwrap() }
        })
        .await;
        let accepted = results.iter().filter(|ok| **ok).count();
        assert_eq!(
            accepted, 1,
            "round {round}: {accepted} of {RACERS} racers accepted step {step}"
        );
        assert!(
            !accept_step(&*b, &user, id, step).await.unwrap(),
            "a replay was accepted"
        );
    }
    let methods = a.list_methods(&user).await.unwrap();
    assert!(matches!(
        methods[0].credential,
        Credential::AuthenticatorApp {
            last_accepted_step: Some(58_000_004),
            ..
        }
    ));
}

/// Failures raced past the lock threshold: the counts 1..=free_attempts each once, then only Locked;
/// the stored count is exact and the lock holds.
pub async fn failure_race<S: Store + 'static>(a: Arc<S>, b: Arc<S>) {
    let user = user("failure_race");
    let rule = ThrottleRule {
        free_attempts: 10,
        base_lock: Duration::from_secs(60),
        max_lock: Duration::from_secs(3600),
    };
    let now = UnixTime::from_secs(T0);
    let shared = user.clone();
    let results = race(&a, &b, move |store, _| {
        let user = shared.clone();
        async move { count_failure(&*store, &user, now, &rule).await.unwrap() }
    })
    .await;
    let counted: Vec<u32> = results
        .iter()
        .filter_map(|r| match r {
            Attempt::Rejected { failures, .. } => Some(*failures),
            _ => None,
        })
        .collect();
    let distinct: BTreeSet<u32> = counted.iter().copied().collect();
    assert_eq!(counted.len(), 10, "counted attempts: {counted:?}");
    assert_eq!(
        distinct,
        (1..=10).collect::<BTreeSet<u32>>(),
        "counts: {counted:?}"
    );
    let until = now.saturating_add(Duration::from_secs(60));
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Attempt::Rejected { .. }) || *r == Attempt::Locked { until }),
        "{results:?}"
    );
    for store in [&a, &b] {
        let state = store.throttle_state(&user).await.unwrap();
        assert_eq!(state.failures, 10);
        assert_eq!(state.locked_until, Some(until));
        assert_eq!(
            count_failure(&**store, &user, now, &rule).await.unwrap(),
            Attempt::Locked { until }
        );
    }
}

/// App passwords inserted concurrently past the cap: never more than the cap.
pub async fn app_password_cap_race<S: Store + 'static>(a: Arc<S>, b: Arc<S>) {
    let user = user("cap_race");
    let service = Arc::new(app_passwords());
    let records: Vec<AppPasswordRecord> = (0..RACERS)
        .map(|i| app_password_record(&service, &format!("client {i}")))
        .collect();
    let records = Arc::new(records);
    let shared = user.clone();
    let results = race(&a, &b, move |store, i| {
        let user = shared.clone();
        let record = records[i].clone();
        async move { store.insert_app_password_capped(&user, record, 7).await.unwrap() }
    })
    .await;
    let inserted = results.iter().filter(|ok| **ok).count();
    assert_eq!(inserted, 7, "{inserted} inserted with a cap of 7");
    assert_eq!(a.list_app_passwords(&user).await.unwrap().len(), 7);
    assert_eq!(b.list_app_passwords(&user).await.unwrap().len(), 7);
}

/// Two `Mfa` services (two instances of a service) sharing keys, a clock and one database: the same
/// fresh code submitted by every racer to either is accepted exactly once.
pub async fn verify_race<S: Store + 'static>(a: S, b: S) {
    use mfa::{Config, KeyRing, ManualClock, Mfa, RecordingPhoneDelivery, TagSecret};
    use mfa_enroll::KeyUri;

    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(T0)));
    let mut config = Config {
        issuer: "Example".to_owned(),
        ..Config::default()
    };
    // Enough free attempts that the losers' failures never lock the user mid-race.
    config.throttle.free_attempts = 100;
    let service = |store: S| {
        Arc::new(
            Mfa::new(
                config.clone(),
                KeyRing::new(KeyId(1), &[0x11; 32]).unwrap(),
                TagSecret::from_bytes(&[0x33; 32]).unwrap(),
                store,
                RecordingPhoneDelivery::new(),
            )
            .unwrap()
            .with_clock(clock.clone()),
        )
    };
    let (first, second) = (service(a), service(b));
    let user = user("verify_race");
    let enrollment = first
        .begin_app_enrollment(&user, "alice@example.com", "My phone", None)
        .await
        .unwrap();
    let totp = KeyUri::parse(enrollment.uri().as_str())
        .unwrap()
        .to_totp()
        .unwrap();
    let now = || T0.unsigned_abs() + u64::try_from(clock.now_secs() - T0).unwrap();
    let code = totp.generate(now()).unwrap().to_string();
    second
        .confirm_app_enrollment(&user, enrollment.method(), &code)
        .await
        .unwrap();
    let method = enrollment.method();
    for round in 0..3 {
        clock.advance(Duration::from_secs(30));
        let code = totp.generate(now()).unwrap().to_string();
        let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
        let mut handles = Vec::new();
        for i in 0..RACERS {
            let service = if i % 2 == 0 { first.clone() } else { second.clone() };
            let (barrier, user, code) = (barrier.clone(), user.clone(), code.clone());
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                service.verify(&user, method, &code).await
            }));
        }
        let mut accepted = 0;
        for handle in handles {
            match handle.await.unwrap() {
                Ok(_) => accepted += 1,
                Err(mfa::Error::Rejected) => {}
                Err(other) => panic!("round {round}: unexpected error {other}"),
            }
        }
        assert_eq!(
            accepted, 1,
            "round {round}: the same code was accepted {accepted} times"
        );
    }
}

/// Seconds of a manual clock (a small helper trait so the race reads plainly).
trait NowSecs {
    fn now_secs(&self) -> i64;
}

impl NowSecs for mfa::ManualClock {
    fn now_secs(&self) -> i64 {
        use mfa::Clock;
        self.now().as_secs()
    }
}

/// Steps accepted while the same app's secret is re-sealed and other writes run, on two stores:
/// every call succeeds (on PostgreSQL: no deadlock between the user's row and the method's row) and
/// the steps accepted are exactly the increasing ones.
pub async fn mixed_writes_race<S: Store + 'static>(a: Arc<S>, b: Arc<S>) {
    let user = user("mixed_race");
    let method = app_method();
    let id = method.id;
    assert!(a.insert_method_capped(&user, method, 5).await.unwrap());
    let shared = user.clone();
    let results = race(&a, &b, move |store, i| {
        let user = shared.clone();
        async move {
            match i % 4 {
                0 | 1 => accept_step(&*store, &user, id, 1_000 + i as u64)
                    .await
                    .map(|ok| ok.to_string()),
                2 => store
                    .update_app_secret(&user, id, SealedSecret::from_parts(KeyId(2), vec![i as u8; 60]))
                    .await
                    .map(|ok| ok.to_string()),
                // Under a rule that does not lock here: a lock would refuse the steps.
                _ => count_failure(&*store, &user, UnixTime::from_secs(T0), &lenient())
                    .await
                    .map(|attempt| format!("{attempt:?}")),
            }
        }
    })
    .await;
    for (i, result) in results.iter().enumerate() {
        assert!(result.is_ok(), "task {i}: {result:?}");
    }
    let methods = a.list_methods(&user).await.unwrap();
    let Credential::AuthenticatorApp {
        secret,
        last_accepted_step,
        ..
    } = &methods[0].credential
    else {
        panic!("not an app")
    };
    assert_eq!(secret.key_id(), KeyId(2), "the re-sealed secret was kept");
    let highest = (0..RACERS as u64).filter(|i| i % 4 < 2).max().unwrap();
    assert_eq!(
        *last_accepted_step,
        Some(1_000 + highest),
        "the highest step stands"
    );
}

/// Many users sending to one number through two stores: never more than the number's limit.
pub async fn phone_number_race<S: Store + 'static>(a: Arc<S>, b: Arc<S>) {
    let random = MethodId::generate().unwrap();
    let bytes = random.as_bytes();
    let suffix = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) % 10_000_000;
    let number = mfa::PhoneNumber::parse(&format!("+4420{suffix:07}")).unwrap();
    let users: Arc<Vec<UserId>> = Arc::new((0..RACERS).map(|_| user("number_race")).collect());
    let limit = mfa::SendLimit {
        per_user: 5,
        per_number: 9,
        window: Duration::from_secs(600),
        min_interval: Duration::from_secs(30),
    };
    let results = race(&a, &b, move |store, i| {
        let (users, number) = (users.clone(), number.clone());
        async move {
            store
                .record_phone_send(&users[i], &number, UnixTime::from_secs(T0), &limit)
                .await
                .unwrap()
        }
    })
    .await;
    let allowed = results.iter().filter(|answer| answer.is_recorded()).count();
    assert_eq!(
        allowed, 9,
        "{RACERS} users on one number with per_number 9: {allowed} allowed"
    );
}
