//! Push approvals: devices found by their id across users, enrollment offers taken once, one push per
//! user answered once and collected once, strikes toward MFA fatigue, and nonces remembered once.

use std::sync::Arc;
use std::time::Duration;

use mfa_policy::{PushFatigue, PushStrikes};
use mfa_push::{
    Algorithm, ChallengeId, DeviceKey, Digits, EnrollmentAnswer, EnrollmentOffer, Nonce, ReplayKey,
    Requester, ServiceKey, WakeChannel,
};

use super::{Failure, OrFail, RACERS, app_method, at, count_true, fresh_user, named, race, tag};
use crate::{
    Attempt, AttemptTarget, Consume, Credential, LoadedCredential, MethodId, MethodRecord, PendingEnrollment,
    PushChallenge, PushStart, PushState, Store, ThrottleRule, UserId, Verdict,
};

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// An offer and a device that answered it, made as a real enrollment would make them.
fn offer_and_device(created: i64) -> Result<(EnrollmentOffer, mfa_push::NewDevice), String> {
    let service = ServiceKey::generate().map_err(err)?;
    let offer = EnrollmentOffer::generate(
        "https://example.com/mfa/push",
        service.public_key(),
        "Example",
        "alice@example.com",
        at(created),
    )
    .map_err(err)?;
    let key = DeviceKey::generate(Algorithm::EcdsaP256).map_err(err)?;
    let answer = EnrollmentAnswer::sign(&offer, &key, "Pixel", WakeChannel::poll()).map_err(err)?;
    let device = offer.pending().verify(&answer, at(created)).map_err(err)?;
    Ok((offer, device))
}

fn push_app(created: i64) -> Result<MethodRecord, String> {
    let (_, device) = offer_and_device(created)?;
    Ok(MethodRecord {
        id: MethodId::generate().map_err(err)?,
        name: "push".to_owned(),
        created_at: at(created),
        credential: Credential::PushApp {
            device: mfa_push::DeviceId::generate().map_err(err)?,
            key: Box::new(device),
        },
    })
}

fn push_enrollment(created: i64) -> Result<PendingEnrollment, String> {
    let (offer, _) = offer_and_device(created)?;
    Ok(PendingEnrollment {
        method: MethodRecord {
            id: MethodId::generate().map_err(err)?,
            name: "push".to_owned(),
            created_at: at(created),
            credential: Credential::PushEnrollment {
                offer: offer.pending(),
            },
        },
        expires_at: offer.expires_at(),
    })
}

fn device_of(method: &MethodRecord) -> Result<mfa_push::DeviceId, String> {
    match &method.credential {
        Credential::PushApp { device, .. } => Ok(device.clone()),
        _ => Err("not a push app".to_owned()),
    }
}

/// A push to `method`, created at `created` and answerable for 120 s.
fn push_to(method: &MethodRecord, created: i64, state: PushState) -> Result<PushChallenge, String> {
    let requester = Requester {
        user: "alice@example.com".to_owned(),
        application: "Example Mail".to_owned(),
        client_ip: "203.0.113.7".to_owned(),
        location: "Paris, France".to_owned(),
    };
    let challenge = mfa_push::Challenge::new(
        ChallengeId::generate().map_err(err)?,
        device_of(method)?,
        requester,
        at(created),
        Duration::from_secs(120),
        Digits::Two,
    )
    .map_err(err)?;
    Ok(PushChallenge {
        method: method.id,
        challenge,
        number_tag: tag(9),
        state,
    })
}

async fn user_with_push_app<S: Store>(store: &S, check: &str) -> Result<(UserId, MethodRecord), String> {
    let user = fresh_user(check)?;
    let app = push_app(0)?;
    let inserted = store
        .insert_method_capped(&user, app.clone(), 5)
        .await
        .or_fail("insert_method_capped")?;
    ensure!(inserted, "a first push app was not inserted");
    Ok((user, app))
}

fn lenient() -> ThrottleRule {
    ThrottleRule {
        free_attempts: 100,
        ..ThrottleRule::default()
    }
}

/// Push apps are found by their device id whoever the user is, and no longer once removed.
pub async fn push_devices<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("push_devices", async {
        let (alice, app) = user_with_push_app(&*store, "push_devices").await?;
        let (bob, other) = user_with_push_app(&*store, "push_devices").await?;
        let found = store
            .find_push_device(&device_of(&app)?)
            .await
            .or_fail("find_push_device")?;
        ensure!(
            found == Some((alice.clone(), app.clone())),
            "find_push_device did not give the user and the method: {found:?}"
        );
        let found = store
            .find_push_device(&device_of(&other)?)
            .await
            .or_fail("find_push_device")?;
        ensure!(
            found.as_ref().map(|f| &f.0) == Some(&bob),
            "the second user's device was not found"
        );
        let unknown = mfa_push::DeviceId::generate().map_err(err)?;
        ensure!(
            store
                .find_push_device(&unknown)
                .await
                .or_fail("find_push_device")?
                .is_none(),
            "an unknown device was found"
        );
        store
            .remove_method(&alice, app.id)
            .await
            .or_fail("remove_method")?;
        ensure!(
            store
                .find_push_device(&device_of(&app)?)
                .await
                .or_fail("find_push_device")?
                .is_none(),
            "a removed push app is still found"
        );
        Ok(())
    })
    .await
}

/// An enrollment offer is taken by its id, with its user, once; a replaced one is gone; other kinds of
/// pending registration are never taken by it.
pub async fn push_enrollments<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("push_enrollments", async {
        let user = fresh_user("push_enrollments")?;
        let first = push_enrollment(0)?;
        let second = push_enrollment(5)?;
        let id_of = |p: &PendingEnrollment| match &p.method.credential {
            Credential::PushEnrollment { offer } => Ok(offer.enrollment_id().clone()),
            _ => Err("not a push enrollment".to_owned()),
        };
        store
            .put_pending(&user, first.clone())
            .await
            .or_fail("put_pending")?;
        store
            .put_pending(&user, second.clone())
            .await
            .or_fail("put_pending")?;
        ensure!(
            store
                .take_push_enrollment(&id_of(&first)?)
                .await
                .or_fail("take_push_enrollment")?
                .is_none(),
            "a replaced offer was taken"
        );
        let taken = store
            .take_push_enrollment(&id_of(&second)?)
            .await
            .or_fail("take_push_enrollment")?;
        ensure!(
            taken == Some((user.clone(), second.clone())),
            "take_push_enrollment did not give the user and the registration: {taken:?}"
        );
        ensure!(
            store
                .take_push_enrollment(&id_of(&second)?)
                .await
                .or_fail("take_push_enrollment")?
                .is_none(),
            "an offer was taken twice"
        );
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.is_none(),
            "take_push_enrollment left the registration in place"
        );
        // An app's registration stays put whatever offer id is asked for.
        let app = PendingEnrollment {
            method: app_method("app", 0)?,
            expires_at: at(600),
        };
        store
            .put_pending(&user, app.clone())
            .await
            .or_fail("put_pending")?;
        ensure!(
            store
                .take_push_enrollment(&id_of(&first)?)
                .await
                .or_fail("take_push_enrollment")?
                .is_none(),
            "an offer id took an app's registration"
        );
        ensure!(
            store.get_pending(&user).await.or_fail("get_pending")?.as_ref() == Some(&app),
            "an app's registration was touched"
        );
        Ok(())
    })
    .await
}

/// Of racing answers of one device to one offer, one gets the registration.
pub async fn push_enrollment_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("push_enrollment_race", async {
        let user = fresh_user("push_enrollment_race")?;
        let pending = push_enrollment(0)?;
        let Credential::PushEnrollment { offer } = &pending.method.credential else {
            return Err("not a push enrollment".to_owned());
        };
        let id = offer.enrollment_id().clone();
        store
            .put_pending(&user, pending.clone())
            .await
            .or_fail("put_pending")?;
        let results = race(&store, |store, _| {
            let id = id.clone();
            async move { Ok(store.take_push_enrollment(&id).await?.is_some()) }
        })
        .await?;
        ensure!(
            count_true(&results) == 1,
            "{} of {RACERS} racing takes got the offer",
            count_true(&results)
        );
        Ok(())
    })
    .await
}

/// One push per user: stored, read back, answered once while pending and unexpired, loaded by an
/// attempt with its method and collected once; a wrong number counts a failure; removing the method
/// takes its push along.
pub async fn pushes<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("pushes", async {
        let (user, app) = user_with_push_app(&*store, "pushes").await?;
        let fatigue = PushFatigue::default();
        let rule = lenient();
        ensure!(
            store.get_push(&user).await.or_fail("get_push")?.is_none(),
            "a push before any was sent"
        );
        let push = push_to(&app, 0, PushState::Pending)?;
        let started = store
            .start_push(&user, push.clone(), at(0), &fatigue)
            .await
            .or_fail("start_push")?;
        ensure!(started == PushStart::Started, "a first push was {started:?}");
        ensure!(
            store.get_push(&user).await.or_fail("get_push")?.as_ref() == Some(&push),
            "get_push differs from what was started"
        );
        let other_id = ChallengeId::generate().map_err(err)?;
        let answer = |id: ChallengeId, state, now| {
            let store = Arc::clone(&store);
            let user = user.clone();
            async move {
                store
                    .answer_push(&user, &id, state, at(now), &rule, &fatigue)
                    .await
                    .or_fail("answer_push")
            }
        };
        ensure!(
            answer(other_id, PushState::Approved, 10).await?.is_none(),
            "another push id was answered"
        );
        ensure!(
            answer(push.id().clone(), PushState::Approved, 121)
                .await?
                .is_none(),
            "a push was answered at its expiry (121 s; the protocol's last second is 120)"
        );
        let approved = answer(push.id().clone(), PushState::Approved, 10).await?;
        ensure!(
            approved.is_some_and(|a| a.failures.is_none()),
            "an approval was not recorded, or counted a failure: {approved:?}"
        );
        ensure!(
            answer(push.id().clone(), PushState::Denied, 11).await?.is_none(),
            "an answered push was answered again"
        );
        let stored = store.get_push(&user).await.or_fail("get_push")?;
        ensure!(
            stored.as_ref().map(|p| p.state) == Some(PushState::Approved),
            "the stored state is not approved: {stored:?}"
        );
        // The attempt sees the push and its method, and consumes it once.
        let collect = |verdict: Verdict| {
            let store = Arc::clone(&store);
            let user = user.clone();
            let id = push.id().clone();
            async move {
                store
                    .attempt(&user, AttemptTarget::Push(&id), at(12), &rule, |loaded| {
                        let seen = match loaded.credential {
                            LoadedCredential::Push { push, method } => (push.cloned(), method.cloned()),
                            _ => (None, None),
                        };
                        (verdict, seen)
                    })
                    .await
                    .or_fail("attempt")
            }
        };
        let first = collect(Verdict::Accept(Consume::Push)).await?;
        let Attempt::Accepted((Some(seen), Some(method))) = first else {
            return Err(format!("collecting the approval: {first:?}"));
        };
        ensure!(
            seen.state == PushState::Approved && seen.id() == push.id() && method == app,
            "the attempt was shown {seen:?} with {method:?}"
        );
        let second = collect(Verdict::Accept(Consume::Push)).await?;
        ensure!(
            matches!(second, Attempt::Rejected { value: (None, _), .. }),
            "an approval was collected twice: {second:?}"
        );
        // A wrong number counts a failure as a rejected attempt does.
        let before = store
            .throttle_state(&user)
            .await
            .or_fail("throttle_state")?
            .failures;
        let wrong = push_to(&app, 20, PushState::Pending)?;
        store
            .start_push(&user, wrong.clone(), at(20), &fatigue)
            .await
            .or_fail("start_push")?;
        let answered = answer(wrong.id().clone(), PushState::WrongNumber, 21).await?;
        ensure!(
            answered.and_then(|a| a.failures) == Some(before + 1),
            "a wrong number gave {answered:?}, not {} failures",
            before + 1
        );
        // Removing the push app takes its push along.
        let pending = push_to(&app, 30, PushState::Pending)?;
        store
            .start_push(&user, pending, at(30), &fatigue)
            .await
            .or_fail("start_push")?;
        store
            .remove_method(&user, app.id)
            .await
            .or_fail("remove_method")?;
        ensure!(
            store.get_push(&user).await.or_fail("get_push")?.is_none(),
            "a removed method's push is still there"
        );
        Ok(())
    })
    .await
}

/// Strikes: a push replaced while pending, denied or reported adds one; at the fatigue limit pushes
/// stop and the pending one goes; an accepted attempt resets them.
pub async fn push_fatigue<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("push_fatigue", async {
        let (user, app) = user_with_push_app(&*store, "push_fatigue").await?;
        let fatigue = PushFatigue::default();
        let rule = lenient();
        let strikes = |store: Arc<S>, user: UserId| async move {
            Ok::<_, String>(
                store
                    .throttle_state(&user)
                    .await
                    .or_fail("throttle_state")?
                    .push_strikes,
            )
        };
        let first = push_to(&app, 0, PushState::Pending)?;
        store
            .start_push(&user, first.clone(), at(0), &fatigue)
            .await
            .or_fail("start_push")?;
        ensure!(
            strikes(Arc::clone(&store), user.clone()).await?.count == 0,
            "a first push struck"
        );
        // Replaced unanswered: strike 1.
        let second = push_to(&app, 10, PushState::Pending)?;
        store
            .start_push(&user, second.clone(), at(10), &fatigue)
            .await
            .or_fail("start_push")?;
        let now = strikes(Arc::clone(&store), user.clone()).await?;
        ensure!(
            now == PushStrikes {
                count: 1,
                since: Some(at(10))
            },
            "replacing a pending push gave {now:?}"
        );
        // Denied: strike 2.
        store
            .answer_push(&user, second.id(), PushState::Denied, at(11), &rule, &fatigue)
            .await
            .or_fail("answer_push")?;
        ensure!(
            strikes(Arc::clone(&store), user.clone()).await?.count == 2,
            "a denial did not strike"
        );
        // Replacing an answered push is no strike.
        let third = push_to(&app, 20, PushState::Pending)?;
        let started = store
            .start_push(&user, third.clone(), at(20), &fatigue)
            .await
            .or_fail("start_push")?;
        ensure!(
            started == PushStart::Started && strikes(Arc::clone(&store), user.clone()).await?.count == 2,
            "replacing a denied push struck or stopped: {started:?}"
        );
        // Replaced unanswered again: strike 3 reaches the limit, pushes stop, the pending one goes.
        let fourth = push_to(&app, 30, PushState::Pending)?;
        let stopped = store
            .start_push(&user, fourth, at(30), &fatigue)
            .await
            .or_fail("start_push")?;
        ensure!(stopped == PushStart::Stopped, "the third strike gave {stopped:?}");
        ensure!(
            store.get_push(&user).await.or_fail("get_push")?.is_none(),
            "pushes stopped but one is still stored"
        );
        let fifth = push_to(&app, 40, PushState::Pending)?;
        let still = store
            .start_push(&user, fifth, at(40), &fatigue)
            .await
            .or_fail("start_push")?;
        ensure!(
            still == PushStart::Stopped,
            "pushes started again without a success: {still:?}"
        );
        // Another method succeeds: the strikes are reset.
        let code = app_method("app", 0)?;
        let code_id = code.id;
        store
            .insert_method_capped(&user, code, 5)
            .await
            .or_fail("insert_method_capped")?;
        let attempt = store
            .attempt(&user, AttemptTarget::Method(code_id), at(50), &rule, |_| {
                (
                    Verdict::Accept(Consume::TotpStep {
                        step: 5,
                        resealed: None,
                    }),
                    (),
                )
            })
            .await
            .or_fail("attempt")?;
        ensure!(
            matches!(attempt, Attempt::Accepted(())),
            "the app's attempt: {attempt:?}"
        );
        ensure!(
            strikes(Arc::clone(&store), user.clone()).await? == PushStrikes::default(),
            "a success did not reset the strikes"
        );
        let sixth = push_to(&app, 60, PushState::Pending)?;
        let again = store
            .start_push(&user, sixth, at(60), &fatigue)
            .await
            .or_fail("start_push")?;
        ensure!(
            again == PushStart::Started,
            "pushes did not start again after a success: {again:?}"
        );
        Ok(())
    })
    .await
}

/// Racing answers to one push, half approving and half denying: one is recorded, and the stored state
/// is that one's.
pub async fn push_answer_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("push_answer_race", async {
        let (user, app) = user_with_push_app(&*store, "push_answer_race").await?;
        let fatigue = PushFatigue::default();
        let push = push_to(&app, 0, PushState::Pending)?;
        store
            .start_push(&user, push.clone(), at(0), &fatigue)
            .await
            .or_fail("start_push")?;
        let results = race(&store, |store, i| {
            let user = user.clone();
            let id = push.id().clone();
            let state = if i % 2 == 0 {
                PushState::Approved
            } else {
                PushState::Denied
            };
            async move {
                let answered = store
                    .answer_push(&user, &id, state, at(5), &lenient(), &PushFatigue::default())
                    .await?;
                Ok(answered.map(|_| state))
            }
        })
        .await?;
        let recorded: Vec<PushState> = results.into_iter().flatten().collect();
        ensure!(
            recorded.len() == 1,
            "{} of {RACERS} racing answers were recorded",
            recorded.len()
        );
        let stored = store.get_push(&user).await.or_fail("get_push")?.map(|p| p.state);
        ensure!(
            stored == recorded.first().copied(),
            "the stored state {stored:?} is not the recorded answer {recorded:?}"
        );
        Ok(())
    })
    .await
}

/// Racing collections of one approval: one is accepted.
pub async fn push_approval_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("push_approval_race", async {
        let (user, app) = user_with_push_app(&*store, "push_approval_race").await?;
        let push = push_to(&app, 0, PushState::Approved)?;
        store
            .start_push(&user, push.clone(), at(0), &PushFatigue::default())
            .await
            .or_fail("start_push")?;
        let results = race(&store, |store, _| {
            let user = user.clone();
            let id = push.id().clone();
            async move {
                let attempt = store
                    .attempt(
                        &user,
                        AttemptTarget::Push(&id),
                        at(5),
                        &lenient(),
                        |loaded| match loaded.credential {
                            LoadedCredential::Push { push: Some(p), .. }
                                if p.state == PushState::Approved =>
                            {
                                (Verdict::Accept(Consume::Push), ())
                            }
                            _ => (Verdict::Abort, ()),
                        },
                    )
                    .await?;
                Ok(matches!(attempt, Attempt::Accepted(())))
            }
        })
        .await?;
        ensure!(
            count_true(&results) == 1,
            "{} of {RACERS} racing collections got the approval",
            count_true(&results)
        );
        Ok(())
    })
    .await
}

/// Nonces: remembered once per device while kept; the same nonce of another device, or after its
/// `keep_until`, is new.
pub async fn push_nonces<S: Store>(store: Arc<S>) -> Result<(), Failure> {
    named("push_nonces", async {
        let device = mfa_push::DeviceId::generate().map_err(err)?;
        let other = mfa_push::DeviceId::generate().map_err(err)?;
        let nonce = Nonce::generate().map_err(err)?;
        let key = ReplayKey::new(device.clone(), nonce, at(0));
        let remember = |key: ReplayKey, now| {
            let store = Arc::clone(&store);
            async move {
                store
                    .remember_push_nonce(&key, at(now))
                    .await
                    .or_fail("remember_push_nonce")
            }
        };
        ensure!(remember(key.clone(), 0).await?, "a new nonce was refused");
        ensure!(!remember(key.clone(), 1).await?, "a nonce was remembered twice");
        ensure!(
            remember(ReplayKey::new(other, nonce, at(0)), 1).await?,
            "another device's nonce was refused"
        );
        let later = key.keep_until().as_secs() - at(0).as_secs() + 1;
        ensure!(
            remember(ReplayKey::new(device, nonce, at(later)), later).await?,
            "a nonce past its keep_until was refused"
        );
        Ok(())
    })
    .await
}

/// Racing requests with one nonce: one is remembered.
pub async fn push_nonce_race<S: Store + 'static>(store: Arc<S>) -> Result<(), Failure> {
    named("push_nonce_race", async {
        let key = ReplayKey::new(
            mfa_push::DeviceId::generate().map_err(err)?,
            Nonce::generate().map_err(err)?,
            at(0),
        );
        let results = race(&store, |store, _| {
            let key = key.clone();
            async move { store.remember_push_nonce(&key, at(0)).await }
        })
        .await?;
        ensure!(
            count_true(&results) == 1,
            "{} of {RACERS} racing requests with one nonce were remembered",
            count_true(&results)
        );
        Ok(())
    })
    .await
}
