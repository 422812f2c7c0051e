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
use std::time::Duration;

use mfa_app_password::{AppPasswordRecord, AppPasswords, Argon2Params, Config, IssueOptions, TagKey};
use mfa_otp::TotpParams;
use mfa_policy::{MfaState, UnixTime};

use crate::{
    Attempt, AttemptTarget, Channel, Credential, DeviceId, DeviceRecord, KeyId, LoadedCredential, MethodId,
    MethodKind, MethodRecord, PendingEnrollment, PhoneChallenge, PhoneKind, PhoneNumber, SealedSecret,
    SendLimit, Store, StoreError, Tag, ThrottleRule, ThrottleState, UserId, Verdict,
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

mod attempts;
pub use attempts::{
    pending_attempt_race, pending_attempts, phone_challenge_race, phone_challenges, recovery_code_race,
    recovery_codes, throttle, throttle_race, totp_step_race, totp_steps,
};

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
    pending_attempts(Arc::new(make().await)).await?;
    pending_attempt_race(Arc::new(make().await)).await?;
    throttle(Arc::new(make().await)).await?;
    throttle_race(Arc::new(make().await)).await?;
    phone_challenges(Arc::new(make().await)).await?;
    phone_challenge_race(Arc::new(make().await)).await?;
    phone_sends(Arc::new(make().await)).await?;
    phone_send_race(Arc::new(make().await)).await?;
    recovery_codes(Arc::new(make().await)).await?;
    recovery_code_race(Arc::new(make().await)).await?;
    app_passwords(Arc::new(make().await)).await?;
    app_password_cap_race(Arc::new(make().await)).await?;
    devices(Arc::new(make().await)).await?;
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

/// A random North American number, so that runs sharing a database do not share numbers.
fn fresh_number() -> Result<PhoneNumber, String> {
    let bytes = MethodId::generate().map_err(|e| e.to_string())?;
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes.as_bytes()[..8]);
    PhoneNumber::parse(&format!("+1{:010}", u64::from_be_bytes(n) % 10_000_000_000))
        .map_err(|e| e.to_string())
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

// ------------------------------------------------------------------------------------------ checks

/// `get_user`, `update_user`: unknown users read as `None`; updates start from the default record and
/// are returned as stored.
pub async fn users<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("users", async {
        let user = fresh_user("users")?;
        ensure!(
            store.get_user(&user).await.or_fail("get_user")?.is_none(),
            "an unknown user has a record"
        );
        let stored = store
            .update_user(&user, |r| {
                r.mfa = MfaState::Enforced;
                r.password_changed_at = Some(at(5));
            })
            .await
            .or_fail("update_user")?;
        ensure!(
            stored.mfa == MfaState::Enforced,
            "update_user did not return the changed record"
        );
        ensure!(
            !stored.blocked_by_admin,
            "update_user did not start from the default record"
        );
        let read = store.get_user(&user).await.or_fail("get_user")?;
        ensure!(
            read.as_ref() == Some(&stored),
            "get_user returned {read:?}, not what was stored"
        );
        let again = store
            .update_user(&user, |r| r.suspicious_activity_reported = true)
            .await
            .or_fail("update_user")?;
        ensure!(
            again.password_changed_at == Some(at(5)) && again.suspicious_activity_reported,
            "a second update_user lost the first one's change"
        );
        let other = fresh_user("users")?;
        ensure!(
            store.get_user(&other).await.or_fail("get_user")?.is_none(),
            "a record leaked to another user"
        );
        Ok(())
    })
    .await
}

/// `update_user` under a race: every one of the racing read-modify-writes is kept.
pub async fn users_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("users_race", async {
        let user = fresh_user("users_race")?;
        let shared = user.clone();
        race(&store, move |store, _| {
            let user = shared.clone();
            async move {
                store
                    .update_user(&user, |r| {
                        let n = r.security_info_confirmed_at.map_or(0, UnixTime::as_secs);
                        r.security_info_confirmed_at = Some(UnixTime::from_secs(n + 1));
                    })
                    .await
            }
        })
        .await?;
        let record = store.get_user(&user).await.or_fail("get_user")?;
        let count = record
            .and_then(|r| r.security_info_confirmed_at)
            .map(UnixTime::as_secs);
        ensure!(
            count == Some(RACERS as i64),
            "{RACERS} racing updates left the count at {count:?}: updates were lost"
        );
        Ok(())
    })
    .await
}

/// `delete_user` removes every kind of record of that user and nothing of another.
pub async fn delete_user<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("delete_user", async {
        let user = fresh_user("delete_user")?;
        let other = fresh_user("delete_user")?;
        let service = cheap_app_passwords()?;
        let mut app_ids = Vec::new();
        for who in [&user, &other] {
            store
                .update_user(who, |r| r.mfa = MfaState::Enabled)
                .await
                .or_fail("update_user")?;
            let app = app_method("app", 0)?;
            let app_id = app.id;
            app_ids.push(app_id);
            store
                .insert_method_capped(who, app, 5)
                .await
                .or_fail("insert_method_capped")?;
            let pending = PendingEnrollment {
                method: app_method("pending", 1)?,
                expires_at: at(600),
            };
            store.put_pending(who, pending).await.or_fail("put_pending")?;
            store
                .put_phone_challenge(who, challenge(app_id, tag(1), 0, 300))
                .await
                .or_fail("put_phone_challenge")?;
            store
                .attempt(
                    who,
                    AttemptTarget::Method(app_id),
                    at(0),
                    &ThrottleRule::default(),
                    |_| (Verdict::Reject, ()),
                )
                .await
                .or_fail("attempt")?;
            store
                .replace_recovery_codes(who, vec![tag(2), tag(3)])
                .await
                .or_fail("replace_recovery_codes")?;
            let record = app_password_record(&service, "mail")?;
            store
                .insert_app_password_capped(who, record, 40)
                .await
                .or_fail("insert_app_password_capped")?;
            let device = DeviceRecord {
                id: DeviceId::generate().map_err(|e| e.to_string())?,
                name: "laptop".to_owned(),
                token_hash: tag(4),
                created_at: at(0),
                last_used_at: at(0),
            };
            store.insert_device(who, device).await.or_fail("insert_device")?;
        }
        store.delete_user(&user).await.or_fail("delete_user")?;
        ensure!(
            store.get_user(&user).await.or_fail("get_user")?.is_none(),
            "the record survived delete_user"
        );
        ensure!(
            store
                .list_methods(&user)
                .await
                .or_fail("list_methods")?
                .is_empty(),
            "methods survived"
        );
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "the pending enrollment survived"
        );
        // The phone code is gone too: a phone registered again under the same id is shown none.
        let mut phone = phone_method(PhoneKind::Mobile, "+14155550100", 2)?;
        phone.id = app_ids[0];
        store
            .insert_method_capped(&user, phone, 1)
            .await
            .or_fail("insert_method_capped")?;
        let shown = store
            .attempt(
                &user,
                AttemptTarget::Method(app_ids[0]),
                at(1),
                &ThrottleRule::default(),
                |loaded| {
                    let code = match loaded.credential {
                        LoadedCredential::Method { challenge, .. } => challenge.is_some(),
                        _ => true,
                    };
                    (Verdict::Abort, code)
                },
            )
            .await
            .or_fail("attempt")?;
        ensure!(
            shown == Attempt::Aborted(false),
            "the phone challenge survived: {shown:?}"
        );
        store
            .remove_all_methods(&user)
            .await
            .or_fail("remove_all_methods")?;
        ensure!(
            store.throttle_state(&user).await.or_fail("throttle_state")? == ThrottleState::default(),
            "the failure counter survived"
        );
        ensure!(
            store
                .recovery_codes_left(&user)
                .await
                .or_fail("recovery_codes_left")?
                == 0,
            "recovery codes survived"
        );
        ensure!(
            store
                .list_app_passwords(&user)
                .await
                .or_fail("list_app_passwords")?
                .is_empty(),
            "app passwords survived"
        );
        ensure!(
            store
                .list_devices(&user)
                .await
                .or_fail("list_devices")?
                .is_empty(),
            "devices survived"
        );

        ensure!(
            store.get_user(&other).await.or_fail("get_user")?.is_some(),
            "delete_user removed another user"
        );
        ensure!(
            store.list_methods(&other).await.or_fail("list_methods")?.len() == 1,
            "another user's methods went"
        );
        ensure!(
            store
                .recovery_codes_left(&other)
                .await
                .or_fail("recovery_codes_left")?
                == 2,
            "another user's codes went"
        );
        ensure!(
            store.list_devices(&other).await.or_fail("list_devices")?.len() == 1,
            "another user's devices went"
        );
        Ok(())
    })
    .await
}

/// Methods: insertion order, caps per kind, duplicates refused, removal, isolation between users.
pub async fn methods<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("methods", async {
        let user = fresh_user("methods")?;
        let first = app_method("first", 0)?;
        let second = app_method("second", 10)?;
        let mobile = phone_method(PhoneKind::Mobile, "+14155550100", 20)?;
        ensure!(
            store
                .insert_method_capped(&user, first.clone(), 2)
                .await
                .or_fail("insert")?,
            "refused below the cap"
        );
        ensure!(
            store
                .insert_method_capped(&user, second.clone(), 2)
                .await
                .or_fail("insert")?,
            "refused below the cap"
        );
        ensure!(
            !store
                .insert_method_capped(&user, app_method("third", 30)?, 2)
                .await
                .or_fail("insert")?,
            "a third app was inserted with cap 2"
        );
        ensure!(
            store
                .insert_method_capped(&user, mobile.clone(), 1)
                .await
                .or_fail("insert")?,
            "a phone was refused because of apps: caps are per kind"
        );
        ensure!(
            !store
                .insert_method_capped(&user, phone_method(PhoneKind::Mobile, "+14155550101", 40)?, 1)
                .await
                .or_fail("insert")?,
            "a second mobile was inserted with cap 1"
        );
        ensure!(
            store
                .insert_method_capped(&user, phone_method(PhoneKind::Office, "+14155550102", 50)?, 1)
                .await
                .or_fail("insert")?,
            "an office phone was refused because of the mobile: caps are per kind"
        );
        let duplicate = store.insert_method_capped(&user, first.clone(), 9).await;
        ensure!(
            matches!(duplicate, Err(StoreError::Duplicate)),
            "a duplicate id gave {duplicate:?}, not Duplicate"
        );

        let listed = store.list_methods(&user).await.or_fail("list_methods")?;
        let ids: Vec<MethodId> = listed.iter().map(|m| m.id).collect();
        ensure!(
            ids.len() == 4 && ids[..3] == [first.id, second.id, mobile.id],
            "list_methods is not oldest first: {ids:?}"
        );
        ensure!(
            listed[0] == first && listed[2] == mobile,
            "a listed method differs from what was inserted"
        );
        ensure!(
            listed[3].kind() == MethodKind::Phone(PhoneKind::Office),
            "the office phone came back as {:?}",
            listed[3].kind()
        );

        let other = fresh_user("methods")?;
        ensure!(
            store
                .list_methods(&other)
                .await
                .or_fail("list_methods")?
                .is_empty(),
            "methods leaked to another user"
        );
        ensure!(
            store
                .remove_method(&other, first.id)
                .await
                .or_fail("remove_method")?
                .is_none(),
            "removed another user's method"
        );

        let removed = store
            .remove_method(&user, second.id)
            .await
            .or_fail("remove_method")?;
        ensure!(
            removed.as_ref() == Some(&second),
            "remove_method returned {removed:?}"
        );
        ensure!(
            store
                .remove_method(&user, second.id)
                .await
                .or_fail("remove_method")?
                .is_none(),
            "removed twice"
        );
        ensure!(
            store
                .insert_method_capped(&user, app_method("again", 60)?, 2)
                .await
                .or_fail("insert")?,
            "a removed method still counts toward the cap"
        );
        ensure!(
            store
                .remove_all_methods(&user)
                .await
                .or_fail("remove_all_methods")?
                == 4,
            "remove_all_methods miscounted"
        );
        ensure!(
            store
                .list_methods(&user)
                .await
                .or_fail("list_methods")?
                .is_empty(),
            "methods survived remove_all_methods"
        );
        Ok(())
    })
    .await
}

/// `insert_method_capped` under a race: never more than the cap.
pub async fn methods_cap_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("methods_cap_race", async {
        let user = fresh_user("methods_cap_race")?;
        let shared = user.clone();
        let results = race(&store, move |store, i| {
            let user = shared.clone();
            let method = app_method(&format!("app {i}"), i as i64);
            async move {
                match method {
                    Ok(method) => store.insert_method_capped(&user, method, 5).await,
                    Err(e) => Err(StoreError::Corrupt(e)),
                }
            }
        })
        .await?;
        let listed = store.list_methods(&user).await.or_fail("list_methods")?.len();
        ensure!(
            count_true(&results) == 5 && listed == 5,
            "{RACERS} racing inserts with cap 5: {} accepted, {listed} stored",
            count_true(&results)
        );
        Ok(())
    })
    .await
}

/// Pending enrollments: one per user, replaced by the next, taken only by their id, once.
pub async fn pending<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("pending", async {
        let user = fresh_user("pending")?;
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "an unknown user has a pending enrollment"
        );
        let first = PendingEnrollment {
            method: app_method("first", 0)?,
            expires_at: at(600),
        };
        let second = PendingEnrollment {
            method: phone_method(PhoneKind::Mobile, "+14155550100", 5)?,
            expires_at: at(605),
        };
        store
            .put_pending(&user, first.clone())
            .await
            .or_fail("put_pending")?;
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.as_ref() == Some(&first),
            "get_pending differs from what was put"
        );
        store
            .put_pending(&user, second.clone())
            .await
            .or_fail("put_pending")?;
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.as_ref() == Some(&second),
            "put_pending did not replace"
        );
        ensure!(
            store
                .take_pending(&user, first.method.id)
                .await
                .or_fail("take_pending")?
                .is_none(),
            "took a replaced enrollment"
        );
        let other = fresh_user("pending")?;
        ensure!(
            store
                .take_pending(&other, second.method.id)
                .await
                .or_fail("take_pending")?
                .is_none(),
            "took another user's enrollment"
        );
        ensure!(
            store
                .take_pending(&user, second.method.id)
                .await
                .or_fail("take_pending")?
                .as_ref()
                == Some(&second),
            "take_pending missed"
        );
        ensure!(
            store
                .take_pending(&user, second.method.id)
                .await
                .or_fail("take_pending")?
                .is_none(),
            "took one enrollment twice"
        );
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "take_pending left it in place"
        );
        Ok(())
    })
    .await
}

/// `take_pending` under a race: exactly one racer gets it.
pub async fn pending_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("pending_race", async {
        let user = fresh_user("pending_race")?;
        let pending = PendingEnrollment {
            method: app_method("app", 0)?,
            expires_at: at(600),
        };
        let id = pending.method.id;
        store.put_pending(&user, pending).await.or_fail("put_pending")?;
        let shared = user.clone();
        let results = race(&store, move |store, _| {
            let user = shared.clone();
            async move { store.take_pending(&user, id).await.map(|p| p.is_some()) }
        })
        .await?;
        ensure!(
            count_true(&results) == 1,
            "{RACERS} racers took the pending enrollment {} times",
            count_true(&results)
        );
        Ok(())
    })
    .await
}

/// `record_phone_send`: limits per user, per number across users, the minimum interval, and the
/// sliding window.
pub async fn phone_sends<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("phone_sends", async {
        let limit = SendLimit {
            per_user: 3,
            per_number: 4,
            window: Duration::from_secs(600),
            min_interval: Duration::from_secs(30),
        };
        let alice = fresh_user("phone_sends")?;
        let bob = fresh_user("phone_sends")?;
        let number = fresh_number()?;
        let spare = fresh_number()?;
        ensure!(
            store
                .record_phone_send(&alice, &number, at(0), &limit)
                .await
                .or_fail("record_phone_send")?,
            "the first send was refused"
        );
        ensure!(
            !store
                .record_phone_send(&alice, &spare, at(29), &limit)
                .await
                .or_fail("record_phone_send")?,
            "a send within min_interval was allowed"
        );
        ensure!(
            store
                .record_phone_send(&alice, &number, at(30), &limit)
                .await
                .or_fail("record_phone_send")?,
            "a send after min_interval was refused"
        );
        ensure!(
            store
                .record_phone_send(&alice, &spare, at(60), &limit)
                .await
                .or_fail("record_phone_send")?,
            "the third send was refused"
        );
        ensure!(
            !store
                .record_phone_send(&alice, &spare, at(90), &limit)
                .await
                .or_fail("record_phone_send")?,
            "a fourth send per user was allowed"
        );
        ensure!(
            store
                .record_phone_send(&bob, &number, at(90), &limit)
                .await
                .or_fail("record_phone_send")?,
            "another user was refused"
        );
        ensure!(
            store
                .record_phone_send(&bob, &number, at(120), &limit)
                .await
                .or_fail("record_phone_send")?,
            "the number's fourth send was refused"
        );
        ensure!(
            !store
                .record_phone_send(&bob, &number, at(150), &limit)
                .await
                .or_fail("record_phone_send")?,
            "a fifth send to one number was allowed"
        );
        ensure!(
            store
                .record_phone_send(&bob, &spare, at(150), &limit)
                .await
                .or_fail("record_phone_send")?,
            "a refused send was recorded for the user"
        );
        ensure!(
            store
                .record_phone_send(&alice, &number, at(601), &limit)
                .await
                .or_fail("record_phone_send")?,
            "the window does not slide"
        );
        Ok(())
    })
    .await
}

/// `record_phone_send` under a race of many users on one number: never more than `per_number`.
pub async fn phone_send_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("phone_send_race", async {
        let number = fresh_number()?;
        let users: Vec<UserId> = (0..RACERS)
            .map(|_| fresh_user("phone_send_race"))
            .collect::<Result<_, _>>()?;
        let users = Arc::new(users);
        let limit = SendLimit {
            per_user: 5,
            per_number: 10,
            window: Duration::from_secs(600),
            min_interval: Duration::from_secs(30),
        };
        let results = race(&store, move |store, i| {
            let users = Arc::clone(&users);
            let number = number.clone();
            async move { store.record_phone_send(&users[i], &number, at(0), &limit).await }
        })
        .await?;
        ensure!(
            count_true(&results) == 10,
            "{RACERS} users racing on one number with per_number 10: {} allowed",
            count_true(&results)
        );
        Ok(())
    })
    .await
}

/// App passwords: the cap, insertion order, updates, deletes.
pub async fn app_passwords<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("app_passwords", async {
        let service = cheap_app_passwords()?;
        let user = fresh_user("app_passwords")?;
        let a = app_password_record(&service, "iPhone mail")?;
        let b = app_password_record(&service, "Thunderbird")?;
        ensure!(
            store
                .insert_app_password_capped(&user, a.clone(), 2)
                .await
                .or_fail("insert")?,
            "refused below the cap"
        );
        ensure!(
            store
                .insert_app_password_capped(&user, b.clone(), 2)
                .await
                .or_fail("insert")?,
            "refused below the cap"
        );
        ensure!(
            !store
                .insert_app_password_capped(&user, app_password_record(&service, "third")?, 2)
                .await
                .or_fail("insert")?,
            "passed the cap"
        );
        let duplicate = store.insert_app_password_capped(&user, a.clone(), 9).await;
        ensure!(
            matches!(duplicate, Err(StoreError::Duplicate)),
            "a duplicate id gave {duplicate:?}"
        );
        let listed = store
            .list_app_passwords(&user)
            .await
            .or_fail("list_app_passwords")?;
        ensure!(
            listed == [a.clone(), b.clone()],
            "list_app_passwords is not what was inserted, oldest first"
        );

        let mut used = a.clone();
        used.mark_used(T0.as_secs().unsigned_abs() + 60);
        ensure!(
            store
                .update_app_password(&user, used.clone())
                .await
                .or_fail("update_app_password")?,
            "update refused"
        );
        ensure!(
            store.list_app_passwords(&user).await.or_fail("list")?[0] == used,
            "the update was not stored"
        );
        let other = fresh_user("app_passwords")?;
        ensure!(
            !store
                .update_app_password(&other, used.clone())
                .await
                .or_fail("update_app_password")?,
            "updated another user's"
        );
        ensure!(
            store.list_app_passwords(&other).await.or_fail("list")?.is_empty(),
            "update_app_password created a record"
        );
        ensure!(
            !store
                .delete_app_password(&other, a.id())
                .await
                .or_fail("delete_app_password")?,
            "deleted another user's"
        );

        ensure!(
            store
                .delete_app_password(&user, a.id())
                .await
                .or_fail("delete_app_password")?,
            "delete refused"
        );
        ensure!(
            !store
                .delete_app_password(&user, a.id())
                .await
                .or_fail("delete_app_password")?,
            "deleted twice"
        );
        ensure!(
            !store
                .update_app_password(&user, used)
                .await
                .or_fail("update_app_password")?,
            "update re-created a deleted record"
        );
        ensure!(
            store
                .insert_app_password_capped(&user, app_password_record(&service, "new")?, 2)
                .await
                .or_fail("insert")?,
            "a deleted one still counts"
        );
        ensure!(
            store
                .delete_all_app_passwords(&user)
                .await
                .or_fail("delete_all")?
                == 2,
            "delete_all miscounted"
        );
        ensure!(
            store.list_app_passwords(&user).await.or_fail("list")?.is_empty(),
            "delete_all left records"
        );
        Ok(())
    })
    .await
}

/// `insert_app_password_capped` under a race: never more than the cap.
pub async fn app_password_cap_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("app_password_cap_race", async {
        let service = cheap_app_passwords()?;
        let user = fresh_user("app_password_cap_race")?;
        let records: Vec<AppPasswordRecord> = (0..RACERS)
            .map(|i| app_password_record(&service, &format!("client {i}")))
            .collect::<Result<_, _>>()?;
        let records = Arc::new(records);
        let shared = user.clone();
        let results = race(&store, move |store, i| {
            let user = shared.clone();
            let records = Arc::clone(&records);
            async move {
                store
                    .insert_app_password_capped(&user, records[i].clone(), 3)
                    .await
            }
        })
        .await?;
        let stored = store.list_app_passwords(&user).await.or_fail("list")?.len();
        ensure!(
            count_true(&results) == 3 && stored == 3,
            "{RACERS} racing inserts with cap 3: {} accepted, {stored} stored",
            count_true(&results)
        );
        Ok(())
    })
    .await
}

/// Remembered devices: found by token hash for their user only, touched, listed, forgotten.
pub async fn devices<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("devices", async {
        let user = fresh_user("devices")?;
        let other = fresh_user("devices")?;
        let device = |n: u8, created: i64| -> Result<DeviceRecord, String> {
            Ok(DeviceRecord {
                id: DeviceId::generate().map_err(|e| e.to_string())?,
                name: format!("device {n}"),
                token_hash: tag(n),
                created_at: at(created),
                last_used_at: at(created),
            })
        };
        let laptop = device(1, 0)?;
        let phone = device(2, 10)?;
        store
            .insert_device(&user, laptop.clone())
            .await
            .or_fail("insert_device")?;
        store
            .insert_device(&user, phone.clone())
            .await
            .or_fail("insert_device")?;
        let duplicate = store.insert_device(&user, laptop.clone()).await;
        ensure!(
            matches!(duplicate, Err(StoreError::Duplicate)),
            "a duplicate id gave {duplicate:?}"
        );
        ensure!(
            store
                .find_device(&user, &tag(1))
                .await
                .or_fail("find_device")?
                .as_ref()
                == Some(&laptop),
            "find_device missed"
        );
        ensure!(
            store
                .find_device(&other, &tag(1))
                .await
                .or_fail("find_device")?
                .is_none(),
            "a device was found for another user"
        );
        ensure!(
            store
                .find_device(&user, &tag(3))
                .await
                .or_fail("find_device")?
                .is_none(),
            "an unknown token was found"
        );
        ensure!(
            store
                .touch_device(&user, laptop.id, at(500))
                .await
                .or_fail("touch_device")?,
            "touch refused"
        );
        ensure!(
            !store
                .touch_device(&other, laptop.id, at(500))
                .await
                .or_fail("touch_device")?,
            "touched another user's device"
        );
        let found = store.find_device(&user, &tag(1)).await.or_fail("find_device")?;
        ensure!(
            found.as_ref().map(|d| d.last_used_at) == Some(at(500)),
            "touch_device did not store last_used_at: {found:?}"
        );
        let listed: Vec<DeviceId> = store
            .list_devices(&user)
            .await
            .or_fail("list_devices")?
            .iter()
            .map(|d| d.id)
            .collect();
        ensure!(
            listed == [laptop.id, phone.id],
            "list_devices is not oldest first"
        );
        ensure!(
            !store
                .forget_device(&other, phone.id)
                .await
                .or_fail("forget_device")?,
            "forgot another user's device"
        );
        ensure!(
            store
                .forget_device(&user, phone.id)
                .await
                .or_fail("forget_device")?,
            "forget refused"
        );
        ensure!(
            !store
                .forget_device(&user, phone.id)
                .await
                .or_fail("forget_device")?,
            "forgot twice"
        );
        ensure!(
            store
                .find_device(&user, &tag(2))
                .await
                .or_fail("find_device")?
                .is_none(),
            "a forgotten device was found"
        );
        store
            .insert_device(&user, device(5, 20)?)
            .await
            .or_fail("insert_device")?;
        ensure!(
            store
                .forget_all_devices(&user)
                .await
                .or_fail("forget_all_devices")?
                == 2,
            "forget_all_devices miscounted"
        );
        ensure!(
            store
                .list_devices(&user)
                .await
                .or_fail("list_devices")?
                .is_empty(),
            "devices survived forget_all_devices"
        );
        Ok(())
    })
    .await
}
