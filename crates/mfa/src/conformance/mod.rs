//! The Store conformance suite: one check per contract of [`Store`], races included.
//!
//! Every backend runs it in its tests. Call it from a multi-threaded tokio runtime, so the races run
//! in parallel:
//!
//! ```
//! # async fn doc() -> Result<(), mfa::conformance::Failure> {
//! // In tests/conformance.rs of a backend crate, with the `conformance` feature of `mfa` on:
//! // #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! // async fn conforms() {
//! mfa::conformance::run_all(|| async { mfa::MemoryStore::new() }).await?;
//! // }
//! # Ok(()) }
//! # tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap().block_on(doc()).unwrap();
//! ```
//!
//! Each check works on users of its own with random ids, so a backend may hand out the same
//! database to every check. The checks can also be called one by one (each takes an `Arc` of the
//! store), for example to see which contracts a new backend meets so far.

use core::future::Future;
use std::sync::Arc;

use mfa_app_password::{AppPasswordRecord, AppPasswords, Argon2Params, Config, IssueOptions, TagKey};
use mfa_otp::TotpParams;
use mfa_policy::UnixTime;

use crate::{
    Channel, Credential, KeyId, MethodId, MethodRecord, PhoneChallenge, PhoneKind, PhoneNumber, SealedSecret,
    Store, StoreError, Tag, UserId,
};

/// Tasks in each race.
pub const RACERS: usize = 16;

/// A contract the store broke (or an error it returned), named after the check that found it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store conformance check `{check}` failed: {message}")]
pub struct Failure {
    /// The check.
    pub check: &'static str,
    /// What went wrong.
    pub message: String,
}

type Outcome = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

// One module per Store contract, holding its check and its race; re-exported below, so the paths
// `mfa::conformance::<check>` stay as they are.
mod app_passwords;
mod attempt;
mod devices;
mod key_checks;
mod methods;
mod passkeys;
mod pending;
mod phone_sends;
mod push;
mod users;

pub use app_passwords::{app_password_cap_race, app_passwords};
pub use attempt::{
    clear_pending, pending_attempt_race, pending_attempts, phone_challenge_race, phone_challenges,
    phone_code_goes_with_its_method, recovery_code_race, recovery_codes, throttle, throttle_race,
    totp_step_race, totp_steps,
};
pub use devices::{device_cap, device_cap_race, devices};
pub use key_checks::{key_check_race, key_checks};
pub use methods::{methods, methods_cap_race};
pub use passkeys::{passkey_challenges, passkey_race, rename_method};
pub use pending::{pending, pending_race, pending_secret, pending_secret_race};
pub use phone_sends::{phone_send_race, phone_sends};
pub use push::{
    push_answer_race, push_approval_race, push_devices, push_enrollment_race, push_enrollments, push_fatigue,
    push_nonce_race, push_nonces, pushes,
};
pub use users::{delete_user, users, users_race};

trait OrFail<T> {
    fn or_fail(self, op: &str) -> Result<T, String>;
}

impl<T> OrFail<T> for Result<T, StoreError> {
    fn or_fail(self, op: &str) -> Result<T, String> {
        self.map_err(|e| format!("{op} returned an error: {e}"))
    }
}

async fn named(check: &'static str, outcome: impl Future<Output = Outcome>) -> Result<(), Failure> {
    outcome.await.map_err(|message| Failure { check, message })
}

/// Runs every check, each on a fresh store from `make`, and stops at the first failure.
pub async fn run_all<S, F, Fut>(make: F) -> Result<(), Failure>
where
    S: Store + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    users(Arc::new(make().await)).await?;
    users_race(Arc::new(make().await)).await?;
    delete_user(Arc::new(make().await)).await?;
    methods(Arc::new(make().await)).await?;
    methods_cap_race(Arc::new(make().await)).await?;
    totp_steps(Arc::new(make().await)).await?;
    totp_step_race(Arc::new(make().await)).await?;
    pending(Arc::new(make().await)).await?;
    pending_race(Arc::new(make().await)).await?;
    pending_secret(Arc::new(make().await)).await?;
    pending_secret_race(Arc::new(make().await)).await?;
    clear_pending(Arc::new(make().await)).await?;
    pending_attempts(Arc::new(make().await)).await?;
    pending_attempt_race(Arc::new(make().await)).await?;
    throttle(Arc::new(make().await)).await?;
    throttle_race(Arc::new(make().await)).await?;
    phone_challenges(Arc::new(make().await)).await?;
    phone_challenge_race(Arc::new(make().await)).await?;
    phone_code_goes_with_its_method(Arc::new(make().await)).await?;
    phone_sends(Arc::new(make().await)).await?;
    phone_send_race(Arc::new(make().await)).await?;
    recovery_codes(Arc::new(make().await)).await?;
    recovery_code_race(Arc::new(make().await)).await?;
    app_passwords(Arc::new(make().await)).await?;
    app_password_cap_race(Arc::new(make().await)).await?;
    devices(Arc::new(make().await)).await?;
    device_cap(Arc::new(make().await)).await?;
    device_cap_race(Arc::new(make().await)).await?;
    key_checks(Arc::new(make().await)).await?;
    key_check_race(Arc::new(make().await)).await?;
    push_devices(Arc::new(make().await)).await?;
    push_enrollments(Arc::new(make().await)).await?;
    push_enrollment_race(Arc::new(make().await)).await?;
    pushes(Arc::new(make().await)).await?;
    push_fatigue(Arc::new(make().await)).await?;
    push_answer_race(Arc::new(make().await)).await?;
    push_approval_race(Arc::new(make().await)).await?;
    push_nonces(Arc::new(make().await)).await?;
    push_nonce_race(Arc::new(make().await)).await?;
    passkey_challenges(Arc::new(make().await)).await?;
    passkey_race(Arc::new(make().await)).await?;
    rename_method(Arc::new(make().await)).await?;
    Ok(())
}

// ------------------------------------------------------------------------------------------ helpers

fn fresh_user(check: &str) -> Result<UserId, String> {
    let id = MethodId::generate().map_err(|e| e.to_string())?;
    UserId::new(&format!("conformance-{check}-{id}")).map_err(|e| e.to_string())
}

const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

fn at(offset: i64) -> UnixTime {
    UnixTime::from_secs(T0.as_secs() + offset)
}

fn app_method(name: &str, created: i64) -> Result<MethodRecord, String> {
    Ok(MethodRecord {
        id: MethodId::generate().map_err(|e| e.to_string())?,
        name: name.to_owned(),
        created_at: at(created),
        credential: Credential::AuthenticatorApp {
            secret: SealedSecret::from_parts(KeyId(1), vec![0xA5; 60]),
            params: TotpParams::default(),
            last_accepted_step: None,
        },
    })
}

fn phone_method(kind: PhoneKind, number: &str, created: i64) -> Result<MethodRecord, String> {
    Ok(MethodRecord {
        id: MethodId::generate().map_err(|e| e.to_string())?,
        name: "phone".to_owned(),
        created_at: at(created),
        credential: Credential::Phone {
            kind,
            number: PhoneNumber::parse(number).map_err(|e| e.to_string())?,
        },
    })
}

fn tag(n: u8) -> Tag {
    let mut bytes = [n; 32];
    bytes[31] = n.wrapping_mul(7).wrapping_add(1);
    Tag::from_bytes(bytes)
}

fn challenge(method: MethodId, tag: Tag, created: i64, ttl: i64) -> PhoneChallenge {
    PhoneChallenge {
        method,
        channel: Channel::Sms,
        tag,
        created_at: at(created),
        expires_at: at(created + ttl),
    }
}

fn app_password_record(service: &AppPasswords, name: &str) -> Result<AppPasswordRecord, String> {
    service
        .issue(0, name, IssueOptions::default(), T0.as_secs().unsigned_abs())
        .map(|issued| issued.record)
        .map_err(|e| e.to_string())
}

fn cheap_app_passwords() -> Result<AppPasswords, String> {
    let config = Config {
        params: Argon2Params { m_kib: 8, t: 1, p: 1 },
        ..Config::default()
    };
    let key = TagKey::generate().map_err(|e| e.to_string())?;
    AppPasswords::new(config, key).map_err(|e| e.to_string())
}

/// Runs `task(store, i)` for i in 0..RACERS, all released together, and collects the results in order.
async fn race<S, T, F, Fut>(store: &Arc<S>, task: F) -> Result<Vec<T>, String>
where
    S: Store + 'static,
    T: Send + 'static,
    F: Fn(Arc<S>, usize) -> Fut,
    Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut handles = Vec::with_capacity(RACERS);
    for i in 0..RACERS {
        let barrier = Arc::clone(&barrier);
        let run = task(Arc::clone(store), i);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            run.await
        }));
    }
    let mut results = Vec::with_capacity(RACERS);
    for handle in handles {
        let result = handle.await.map_err(|e| format!("a racing task failed: {e}"))?;
        results.push(result.or_fail("a racing call")?);
    }
    Ok(results)
}

fn count_true(results: &[bool]) -> usize {
    results.iter().filter(|b| **b).count()
}
