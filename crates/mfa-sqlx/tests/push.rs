//! Push approvals in the SQL stores: devices found across users, enrollments taken once, one push per
//! user with its fatigue strikes, answers recorded once, nonces remembered once; checked against the
//! memory store too, which holds the reference semantics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use mfa::store::{
    Attempt, AttemptTarget, Consume, Credential, LoadedCredential, MethodRecord, PendingEnrollment,
    PushAnswered, PushChallenge, PushFatigue, PushStart, PushState, Tag, Verdict,
};
use mfa::{MemoryStore, MethodId, Store, StoreError, ThrottleRule, UnixTime, UserId};
use mfa_push::{
    Algorithm, Challenge, ChallengeId, DeviceId, DeviceKey, Digits, EnrollmentAnswer, EnrollmentOffer, Nonce,
    ReplayKey, Requester, ServiceKey, WakeChannel,
};
use mfa_sqlx::{AnyStore, SqliteStore};

const T0: UnixTime = UnixTime::from_secs(common::T0);

fn at(secs: i64) -> UnixTime {
    UnixTime::from_secs(common::T0 + secs)
}

fn offer(now: UnixTime) -> EnrollmentOffer {
    let service = ServiceKey::generate().unwrap();
    EnrollmentOffer::generate(
        "https://example.com/mfa/push",
        service.public_key(),
        "Example",
        "alice",
        now,
    )
    .unwrap()
}

/// A registered push app with a fresh device id (or `device`).
fn push_app(device: Option<DeviceId>) -> MethodRecord {
    let offer = offer(T0);
    let key = DeviceKey::generate(Algorithm::EcdsaP256).unwrap();
    let answer = EnrollmentAnswer::sign(&offer, &key, "Pixel 8", WakeChannel::poll()).unwrap();
    let new_device = offer.pending().verify(&answer, T0).unwrap();
    MethodRecord {
        id: MethodId::generate().unwrap(),
        name: "Phone".to_owned(),
        created_at: T0,
        credential: Credential::PushApp {
            device: device.unwrap_or_else(|| DeviceId::generate().unwrap()),
            key: Box::new(new_device),
        },
    }
}

fn push_enrollment() -> PendingEnrollment {
    let offer = offer(T0);
    PendingEnrollment {
        method: MethodRecord {
            id: MethodId::generate().unwrap(),
            name: "Phone".to_owned(),
            created_at: T0,
            credential: Credential::PushEnrollment {
                offer: offer.pending(),
            },
        },
        expires_at: offer.expires_at(),
    }
}

/// A push to `method` sent at `now`, answerable for 60 seconds.
fn push(method: &MethodRecord, now: UnixTime, state: PushState) -> PushChallenge {
    let Credential::PushApp { device, .. } = &method.credential else {
        panic!("not a push app");
    };
    let requester = Requester {
        user: "alice".to_owned(),
        application: "Example".to_owned(),
        ..Requester::default()
    };
    PushChallenge {
        method: method.id,
        challenge: Challenge::new(
            ChallengeId::generate().unwrap(),
            device.clone(),
            requester,
            now,
            Duration::from_secs(60),
            Digits::Two,
        )
        .unwrap(),
        number_tag: Tag::from_bytes([7; 32]),
        state,
    }
}

/// A user with a push app.
async fn user_with_app<S: Store>(store: &S, prefix: &str) -> (UserId, MethodRecord) {
    let user = common::user(prefix);
    let app = push_app(None);
    assert!(store.insert_method_capped(&user, app.clone(), 5).await.unwrap());
    (user, app)
}

async fn devices_and_enrollments<S: Store + 'static>(store: Arc<S>, sql: bool) {
    let (alice, app) = user_with_app(&*store, "alice").await;
    let Credential::PushApp { device, .. } = &app.credential else {
        unreachable!()
    };
    assert_eq!(
        store.find_push_device(device).await.unwrap(),
        Some((alice.clone(), app.clone()))
    );
    assert_eq!(
        store
            .find_push_device(&DeviceId::generate().unwrap())
            .await
            .unwrap(),
        None
    );
    let bob = common::user("bob");
    if sql {
        // The SQL stores refuse a device id of another user's push app (the facade makes them
        // random; the unique index is what makes the lookup an index lookup).
        let clash = store
            .insert_method_capped(&bob, push_app(Some(device.clone())), 5)
            .await;
        assert!(matches!(clash, Err(StoreError::Duplicate)), "{clash:?}");
        assert!(store.list_methods(&bob).await.unwrap().is_empty());
    }
    // The cap counts push apps as a kind.
    assert!(
        !store
            .insert_method_capped(&alice, push_app(None), 1)
            .await
            .unwrap()
    );
    store.remove_method(&alice, app.id).await.unwrap();
    assert_eq!(store.find_push_device(device).await.unwrap(), None);

    // Enrollments: found by their offer's id, taken once.
    let pending = push_enrollment();
    let Credential::PushEnrollment { offer } = &pending.method.credential else {
        unreachable!()
    };
    let enrollment = offer.enrollment_id().clone();
    store.put_pending(&alice, pending.clone()).await.unwrap();
    assert_eq!(store.get_pending(&alice).await.unwrap(), Some(pending.clone()));
    assert_eq!(
        store.take_push_enrollment(&enrollment).await.unwrap(),
        Some((alice.clone(), pending.clone()))
    );
    assert_eq!(store.take_push_enrollment(&enrollment).await.unwrap(), None);
    assert_eq!(store.get_pending(&alice).await.unwrap(), None);
    // A replaced registration is not found by its old offer.
    store.put_pending(&alice, pending.clone()).await.unwrap();
    store.put_pending(&alice, push_enrollment()).await.unwrap();
    assert_eq!(store.take_push_enrollment(&enrollment).await.unwrap(), None);

    // Racing takers: one gets it.
    let pending = push_enrollment();
    let Credential::PushEnrollment { offer } = &pending.method.credential else {
        unreachable!()
    };
    let enrollment = offer.enrollment_id().clone();
    store.put_pending(&bob, pending).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let enrollment = enrollment.clone();
        tasks.push(tokio::spawn(async move {
            store.take_push_enrollment(&enrollment).await.unwrap().is_some()
        }));
    }
    let mut taken = 0;
    for task in tasks {
        taken += usize::from(task.await.unwrap());
    }
    assert_eq!(taken, 1);
}

async fn pushes_and_fatigue<S: Store + 'static>(store: Arc<S>) {
    let fatigue = PushFatigue::default(); // 3 strikes within an hour
    let rule = ThrottleRule::default();
    let (user, app) = user_with_app(&*store, "pushes").await;
    assert_eq!(store.get_push(&user).await.unwrap(), None);

    let first = push(&app, T0, PushState::Pending);
    assert_eq!(
        store
            .start_push(&user, first.clone(), T0, &fatigue)
            .await
            .unwrap(),
        PushStart::Started
    );
    assert_eq!(store.get_push(&user).await.unwrap(), Some(first.clone()));
    assert_eq!(store.throttle_state(&user).await.unwrap().push_strikes.count, 0);

    // Replacing a pending push is a strike.
    let second = push(&app, at(10), PushState::Pending);
    assert_eq!(
        store
            .start_push(&user, second.clone(), at(10), &fatigue)
            .await
            .unwrap(),
        PushStart::Started
    );
    let strikes = store.throttle_state(&user).await.unwrap().push_strikes;
    assert_eq!((strikes.count, strikes.since), (1, Some(at(10))));
    // The replaced push can no longer be answered; a wrong id is not either.
    let answer = |id: ChallengeId, state, now| {
        let store = Arc::clone(&store);
        let user = user.clone();
        async move {
            store
                .answer_push(&user, &id, state, now, &rule, &fatigue)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        answer(first.id().clone(), PushState::Approved, at(11)).await,
        None
    );
    // Denied: a strike; answered once.
    assert_eq!(
        answer(second.id().clone(), PushState::Denied, at(12)).await,
        Some(PushAnswered { failures: None })
    );
    assert_eq!(
        answer(second.id().clone(), PushState::Approved, at(13)).await,
        None
    );
    assert_eq!(
        store.get_push(&user).await.unwrap().unwrap().state,
        PushState::Denied
    );
    assert_eq!(store.throttle_state(&user).await.unwrap().push_strikes.count, 2);

    // Replacing an answered push is no strike; an expired push is not answered.
    let third = push(&app, at(20), PushState::Pending);
    assert_eq!(
        store
            .start_push(&user, third.clone(), at(20), &fatigue)
            .await
            .unwrap(),
        PushStart::Started
    );
    assert_eq!(store.throttle_state(&user).await.unwrap().push_strikes.count, 2);
    assert_eq!(
        answer(third.id().clone(), PushState::Approved, third.expires_at()).await,
        None
    );
    // Left unanswered and replaced: the third strike stops pushes, and the push goes.
    assert_eq!(
        store
            .start_push(&user, push(&app, at(90), PushState::Pending), at(90), &fatigue)
            .await
            .unwrap(),
        PushStart::Stopped
    );
    assert_eq!(store.get_push(&user).await.unwrap(), None);
    assert_eq!(
        store
            .start_push(
                &user,
                push(&app, at(7200), PushState::Pending),
                at(7200),
                &fatigue
            )
            .await
            .unwrap(),
        PushStart::Stopped,
        "stopped pushes stay stopped until a success"
    );

    // A success (a recovery code) resets the strikes.
    let tag = Tag::from_bytes([3; 32]);
    store.replace_recovery_codes(&user, vec![tag]).await.unwrap();
    let accepted = store
        .attempt(&user, AttemptTarget::RecoveryCode(&tag), at(7300), &rule, |_| {
            (Verdict::Accept(Consume::RecoveryCode), ())
        })
        .await
        .unwrap();
    assert_eq!(accepted, Attempt::Accepted(()));
    assert_eq!(store.throttle_state(&user).await.unwrap(), Default::default());

    // A wrong number counts as a failed attempt, locking by the rule.
    let strict = ThrottleRule {
        free_attempts: 1,
        ..ThrottleRule::default()
    };
    let fourth = push(&app, at(7400), PushState::Pending);
    store
        .start_push(&user, fourth.clone(), at(7400), &fatigue)
        .await
        .unwrap();
    let answered = store
        .answer_push(
            &user,
            fourth.id(),
            PushState::WrongNumber,
            at(7401),
            &strict,
            &fatigue,
        )
        .await
        .unwrap();
    assert_eq!(answered, Some(PushAnswered { failures: Some(1) }));
    let throttle = store.throttle_state(&user).await.unwrap();
    assert_eq!(throttle.failures, 1);
    assert_eq!(throttle.locked_until, Some(at(7431)));
    assert_eq!(throttle.push_strikes.count, 0);
    assert_eq!(
        store.get_push(&user).await.unwrap().unwrap().state,
        PushState::WrongNumber
    );
}

async fn approvals<S: Store + 'static>(store: Arc<S>) {
    let fatigue = PushFatigue::default();
    let rule = ThrottleRule::default();
    let (user, app) = user_with_app(&*store, "approvals").await;
    let pending = push(&app, T0, PushState::Pending);
    store
        .start_push(&user, pending.clone(), T0, &fatigue)
        .await
        .unwrap();
    // A push not yet approved loads, and the check may leave it.
    let seen = store
        .attempt(&user, AttemptTarget::Push(pending.id()), at(1), &rule, |loaded| {
            let LoadedCredential::Push { push, method } = loaded.credential else {
                panic!("not a push");
            };
            (Verdict::Abort, (push.cloned(), method.cloned()))
        })
        .await
        .unwrap();
    assert_eq!(seen, Attempt::Aborted((Some(pending.clone()), Some(app.clone()))));
    // Racing answers: one is recorded.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let user = user.clone();
        let id = pending.id().clone();
        tasks.push(tokio::spawn(async move {
            store
                .answer_push(&user, &id, PushState::Approved, at(2), &rule, &fatigue)
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        recorded += usize::from(task.await.unwrap());
    }
    assert_eq!(recorded, 1);
    // A strike (a pending push replaced), then an approval collected: consumed once, and the
    // strikes reset.
    store
        .start_push(&user, push(&app, at(3), PushState::Pending), at(3), &fatigue)
        .await
        .unwrap();
    store
        .start_push(&user, push(&app, at(3), PushState::Approved), at(3), &fatigue)
        .await
        .unwrap();
    assert_eq!(store.throttle_state(&user).await.unwrap().push_strikes.count, 1);
    let approved = store.get_push(&user).await.unwrap().unwrap();
    let collect = |now| {
        let store = Arc::clone(&store);
        let user = user.clone();
        let id = approved.id().clone();
        async move {
            store
                .attempt(
                    &user,
                    AttemptTarget::Push(&id),
                    now,
                    &rule,
                    |loaded| match loaded.credential {
                        LoadedCredential::Push {
                            push: Some(push),
                            method: Some(_),
                        } if push.state == PushState::Approved => (Verdict::Accept(Consume::Push), true),
                        _ => (Verdict::Abort, false),
                    },
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(collect(at(4)).await, Attempt::Accepted(true));
    assert_eq!(collect(at(5)).await, Attempt::Aborted(false));
    assert_eq!(store.get_push(&user).await.unwrap(), None);
    assert_eq!(store.throttle_state(&user).await.unwrap(), Default::default());

    // The push goes with its method, and with all methods, and with the user.
    store
        .start_push(&user, push(&app, at(6), PushState::Pending), at(6), &fatigue)
        .await
        .unwrap();
    let other_app = push_app(None);
    store
        .insert_method_capped(&user, other_app.clone(), 5)
        .await
        .unwrap();
    store.remove_method(&user, other_app.id).await.unwrap();
    assert!(
        store.get_push(&user).await.unwrap().is_some(),
        "sent to another method"
    );
    store.remove_method(&user, app.id).await.unwrap();
    assert_eq!(store.get_push(&user).await.unwrap(), None);
    store.insert_method_capped(&user, app.clone(), 5).await.unwrap();
    store
        .start_push(&user, push(&app, at(7), PushState::Pending), at(7), &fatigue)
        .await
        .unwrap();
    assert_eq!(store.remove_all_methods(&user).await.unwrap(), 1);
    assert_eq!(store.get_push(&user).await.unwrap(), None);
    store.insert_method_capped(&user, app.clone(), 5).await.unwrap();
    store
        .start_push(&user, push(&app, at(8), PushState::Pending), at(8), &fatigue)
        .await
        .unwrap();
    store.delete_user(&user).await.unwrap();
    assert_eq!(store.get_push(&user).await.unwrap(), None);
    assert_eq!(store.throttle_state(&user).await.unwrap(), Default::default());
}

async fn nonces<S: Store + 'static>(store: Arc<S>) {
    let device = DeviceId::generate().unwrap();
    let key = ReplayKey::new(device.clone(), Nonce::generate().unwrap(), T0);
    assert!(store.remember_push_nonce(&key, T0).await.unwrap());
    assert!(!store.remember_push_nonce(&key, at(1)).await.unwrap());
    // Another device, same nonce: a different entry.
    let other = ReplayKey::new(DeviceId::generate().unwrap(), *key.nonce(), T0);
    assert!(store.remember_push_nonce(&other, at(1)).await.unwrap());
    // Past its keep_until, the entry may be recorded again.
    let later = key.keep_until().saturating_add(Duration::from_secs(1));
    let again = ReplayKey::new(device, *key.nonce(), later);
    assert!(store.remember_push_nonce(&again, later).await.unwrap());
    assert!(!store.remember_push_nonce(&again, later).await.unwrap());
    // Racing calls with one key: one records it.
    let key = ReplayKey::new(DeviceId::generate().unwrap(), Nonce::generate().unwrap(), T0);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            store.remember_push_nonce(&key, T0).await.unwrap()
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        recorded += usize::from(task.await.unwrap());
    }
    assert_eq!(recorded, 1);
}

async fn all<S: Store + 'static>(store: S, sql: bool) {
    let store = Arc::new(store);
    devices_and_enrollments(Arc::clone(&store), sql).await;
    pushes_and_fatigue(Arc::clone(&store)).await;
    approvals(Arc::clone(&store)).await;
    nonces(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_keeps_the_push_contract() {
    all(MemoryStore::new(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_in_memory_keeps_the_push_contract() {
    all(SqliteStore::in_memory().await.unwrap(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_keeps_the_push_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("push.sqlite3")).await.unwrap();
    store.migrate().await.unwrap();
    all(AnyStore::from(store), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_keeps_the_push_contract() {
    common::with_pg_schema("postgres_keeps_the_push_contract", |schema| async move {
        let store = schema.store(8).await;
        all(store.clone(), true).await;
        store.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_push_state_is_a_corrupt_error() {
    let store = SqliteStore::in_memory().await.unwrap();
    let (user, app) = user_with_app(&store, "damaged").await;
    let sent = push(&app, T0, PushState::Pending);
    store
        .start_push(&user, sent.clone(), T0, &PushFatigue::default())
        .await
        .unwrap();
    mfa_sqlx::sqlx::query("UPDATE mfa_push_challenges SET state = 'sideways' WHERE user_id = $1")
        .bind(user.as_str())
        .execute(store.pool())
        .await
        .unwrap();
    let read = store.get_push(&user).await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
    // A push no one can read can still be replaced, and goes with its method.
    store
        .start_push(&user, sent.clone(), T0, &PushFatigue::default())
        .await
        .unwrap();
    assert_eq!(store.get_push(&user).await.unwrap(), Some(sent));
    store.remove_method(&user, app.id).await.unwrap();
    assert_eq!(store.get_push(&user).await.unwrap(), None);
}
