//! Authenticator-app registration and sign-in: replay (also raced), brute-force throttling, step-up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use mfa::{
    Action, Challenge, Error, EventKind, Factor, MfaState, Reason, Recommendation, SensitiveAction,
    SignInContext, Store,
};

#[tokio::test]
async fn registration_then_sign_in_with_the_app() {
    let h = harness();
    let alice = user("alice");
    h.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();

    let first = h
        .mfa
        .begin_sign_in(&alice, None, SignInContext::sign_in(h.now()))
        .await
        .unwrap();
    assert_eq!(first.decision.action, Action::RequireRegistration);

    let (app, totp) = h.enroll_app(&alice, None).await;
    let methods = h.mfa.list_methods(&alice).await.unwrap();
    assert_eq!(methods.len(), 1);
    assert!(methods[0].is_default);
    assert_eq!(
        h.mfa.recommendations(&alice).await.unwrap(),
        vec![Recommendation::AddSecondMethod]
    );

    h.advance(60);
    let sign_in = h
        .mfa
        .begin_sign_in(&alice, None, SignInContext::sign_in(h.now()))
        .await
        .unwrap();
    assert_eq!(sign_in.decision.action, Action::RequireMfa);
    assert_eq!(sign_in.methods[0].id, app);
    assert_eq!(
        h.mfa.challenge(&alice, None, None).await.unwrap(),
        Challenge::AuthenticatorApp { method: app }
    );
    let verified = h.mfa.verify(&alice, app, &h.code(&totp)).await.unwrap();
    assert_eq!(verified.at(), h.now());
    assert_eq!(verified.factor(), Factor::AuthenticatorApp);
    assert!(h.events.kinds().contains(&EventKind::VerificationSucceeded {
        factor: Factor::AuthenticatorApp,
        method: Some(app)
    }));
}

#[tokio::test]
async fn the_confirmation_code_cannot_sign_in_again() {
    let h = harness();
    let alice = user("alice");
    let enrollment = h
        .mfa
        .begin_app_enrollment(&alice, "alice", "Phone", None)
        .await
        .unwrap();
    let totp = mfa_enroll::KeyUri::parse(enrollment.uri().as_str())
        .unwrap()
        .to_totp()
        .unwrap();
    let code = h.code(&totp);
    assert!(matches!(
        h.mfa
            .confirm_app_enrollment(&alice, enrollment.method(), &h.wrong_code(&totp))
            .await,
        Err(Error::Rejected)
    ));
    h.mfa
        .confirm_app_enrollment(&alice, enrollment.method(), &code)
        .await
        .unwrap();
    assert!(matches!(
        h.mfa.verify(&alice, enrollment.method(), &code).await,
        Err(Error::Rejected)
    ));
    // The pending registration is used up: a second confirmation finds nothing.
    assert!(matches!(
        h.mfa
            .confirm_app_enrollment(&alice, enrollment.method(), &code)
            .await,
        Err(Error::Rejected)
    ));
}

#[tokio::test]
async fn a_registration_can_be_confirmed_until_just_before_900_seconds() {
    // The pending registration lives `enrollment_ttl` (900 s by default): confirmable while
    // now < begun + 900 s.
    let h = harness();
    let (alice, bob) = (user("alice"), user("bob"));
    let mut begun = Vec::new();
    for who in [&alice, &bob] {
        let enrollment = h
            .mfa
            .begin_app_enrollment(who, "someone", "Phone", None)
            .await
            .unwrap();
        assert_eq!(
            enrollment.expires_at(),
            h.now().saturating_add(std::time::Duration::from_secs(900))
        );
        let totp = mfa_enroll::KeyUri::parse(enrollment.uri().as_str())
            .unwrap()
            .to_totp()
            .unwrap();
        begun.push((enrollment.method(), totp));
    }
    h.advance(899);
    h.mfa
        .confirm_app_enrollment(&alice, begun[0].0, &h.code(&begun[0].1))
        .await
        .unwrap();
    h.advance(1);
    assert!(matches!(
        h.mfa
            .confirm_app_enrollment(&bob, begun[1].0, &h.code(&begun[1].1))
            .await,
        Err(Error::Rejected)
    ));
    assert_eq!(h.mfa.list_methods(&alice).await.unwrap().len(), 1);
    assert!(h.mfa.list_methods(&bob).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_code_is_accepted_once_and_older_steps_never_after() {
    let h = harness();
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    h.advance(30);
    let earlier = h.code(&totp);
    h.advance(30);
    let current = h.code(&totp);
    h.mfa.verify(&alice, app, &current).await.unwrap();
    assert!(matches!(
        h.mfa.verify(&alice, app, &current).await,
        Err(Error::Rejected)
    ));
    // The previous step is still inside the window, but older than the accepted one.
    assert!(matches!(
        h.mfa.verify(&alice, app, &earlier).await,
        Err(Error::Rejected)
    ));
    let replays = h
        .events
        .kinds()
        .iter()
        .filter(|k| matches!(k, EventKind::ReplayRefused { .. }))
        .count();
    assert_eq!(replays, 2);
}

/// Sixteen verifications with one app code race: one signs in, the others are refused (replays, or
/// locked once the racing attempts reach the lock).
async fn race_one_code<S: Store + 'static>(h: Harness<S>) {
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    h.advance(30);
    let code = h.code(&totp);
    let results = race(16, |_| {
        let (mfa, alice, code) = (h.mfa.clone(), alice.clone(), code.clone());
        async move { mfa.verify(&alice, app, &code).await }
    })
    .await;
    let mut accepted = 0;
    for result in results {
        match result {
            Ok(_) => accepted += 1,
            Err(Error::Rejected | Error::Locked { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racing_requests_with_one_code_sign_in_once() {
    for _ in 0..10 {
        race_one_code(harness()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racing_requests_with_one_code_sign_in_once_when_every_store_call_yields() {
    for _ in 0..10 {
        race_one_code(yielding_harness_with(config())).await;
    }
}

#[tokio::test]
async fn failures_lock_for_a_growing_time_and_a_success_resets() {
    let h = harness();
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    h.advance(30);
    let right = h.code(&totp);
    let bad = h.wrong_code(&totp);
    for _ in 0..4 {
        assert!(matches!(
            h.mfa.verify(&alice, app, &bad).await,
            Err(Error::Rejected)
        ));
    }
    // The fifth failure locks for 30 s; while locked even the right code is refused, uncounted.
    assert!(matches!(
        h.mfa.verify(&alice, app, &bad).await,
        Err(Error::Rejected)
    ));
    let until = h.now().saturating_add(std::time::Duration::from_secs(30));
    assert!(matches!(h.mfa.verify(&alice, app, &right).await, Err(Error::Locked { until: u }) if u == until));
    assert_eq!(h.store_failures(&alice).await, 5);
    assert!(
        h.events
            .kinds()
            .contains(&EventKind::LockedOut { until, failures: 5 })
    );

    // After the lock another failure locks for 60 s.
    h.advance(30);
    let bad = h.wrong_code(&totp);
    assert!(matches!(
        h.mfa.verify(&alice, app, &bad).await,
        Err(Error::Rejected)
    ));
    let until = h.now().saturating_add(std::time::Duration::from_secs(60));
    assert!(matches!(h.mfa.verify(&alice, app, &bad).await, Err(Error::Locked { until: u }) if u == until));

    // After that lock the right code works and resets the count.
    h.advance(60);
    h.mfa.verify(&alice, app, &h.code(&totp)).await.unwrap();
    assert_eq!(h.store_failures(&alice).await, 0);
    h.advance(30);
    assert!(matches!(
        h.mfa.verify(&alice, app, &h.wrong_code(&totp)).await,
        Err(Error::Rejected)
    ));
    assert_eq!(h.store_failures(&alice).await, 1);
}

#[tokio::test]
async fn never_100_failures_without_a_lock_and_locks_cap_at_an_hour() {
    let h = harness();
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    let mut failures = 0u32;
    let mut last_lock = 0u64;
    let mut unlocked_failures_in_a_row = 0;
    while failures < 100 {
        match h.mfa.verify(&alice, app, &h.wrong_code(&totp)).await {
            Err(Error::Rejected) => {
                failures += 1;
                unlocked_failures_in_a_row += 1;
            }
            Err(Error::Locked { until }) => {
                let wait = (until.as_secs() - h.now().as_secs()) as u64;
                assert!(
                    wait >= last_lock,
                    "a lock of {wait} s after one of {last_lock} s: locks must grow"
                );
                assert!(wait <= 3600, "a lock longer than an hour: {wait} s");
                last_lock = wait;
                unlocked_failures_in_a_row = 0;
                h.advance(wait);
            }
            Err(other) => panic!("unexpected {other:?}"),
            Ok(_) => panic!("a wrong code verified"),
        }
        assert!(
            unlocked_failures_in_a_row <= 5,
            "more than 5 failures without a lock"
        );
    }
    assert_eq!(last_lock, 3600);
}

/// 32 wrong guesses race: exactly five are counted and refused, the other 27 meet the lock.
async fn race_wrong_guesses<S: Store + 'static>(h: Harness<S>) {
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    let bad = h.wrong_code(&totp);
    let results = race(32, |_| {
        let (mfa, alice, bad) = (h.mfa.clone(), alice.clone(), bad.clone());
        async move { mfa.verify(&alice, app, &bad).await }
    })
    .await;
    let (mut rejected, mut locked) = (0, 0);
    for result in results {
        match result {
            Err(Error::Rejected) => rejected += 1,
            Err(Error::Locked { .. }) => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((rejected, locked), (5, 27));
    assert_eq!(h.store_failures(&alice).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_wrong_guesses_never_pass_the_lock() {
    for _ in 0..10 {
        race_wrong_guesses(harness()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_wrong_guesses_never_pass_the_lock_when_every_store_call_yields() {
    for _ in 0..10 {
        race_wrong_guesses(yielding_harness_with(config())).await;
    }
}

#[tokio::test]
async fn malformed_codes_are_typed_errors_and_not_counted() {
    let h = harness();
    let alice = user("alice");
    let (app, _) = h.enroll_app(&alice, None).await;
    for typed in ["12ab56", "", "12345", "12345678901", "１２３４５６"] {
        assert!(
            matches!(
                h.mfa.verify(&alice, app, typed).await,
                Err(Error::InvalidCode { .. })
            ),
            "{typed:?}"
        );
    }
    assert_eq!(h.store_failures(&alice).await, 0);
    let unknown = mfa::MethodId::generate().unwrap();
    assert!(matches!(
        h.mfa.verify(&alice, unknown, "123456").await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn sensitive_flows_need_a_fresh_verification() {
    let h = harness();
    let alice = user("alice");
    // The first method needs none: there is nothing to step up with.
    let (app, totp) = h.enroll_app(&alice, None).await;
    assert!(matches!(
        h.mfa.begin_app_enrollment(&alice, "alice", "Second", None).await,
        Err(Error::StepUpRequired)
    ));
    let verified = h.verify_next(&alice, app, &totp).await;
    h.mfa
        .begin_app_enrollment(&alice, "alice", "Second", Some(verified.at()))
        .await
        .unwrap();
    // Ten minutes later (the hosted-suite step-up freshness) it is stale.
    h.advance(600);
    assert!(matches!(
        h.mfa.generate_recovery_codes(&alice, Some(verified.at())).await,
        Err(Error::StepUpRequired)
    ));
    assert!(matches!(
        h.mfa.remove_method(&alice, app, Some(verified.at())).await,
        Err(Error::StepUpRequired)
    ));
    assert!(matches!(
        h.mfa
            .check_step_up(&alice, SensitiveAction::ChangePassword, Some(verified.at()))
            .await,
        Err(Error::StepUpRequired)
    ));
    let fresh = h.verify_next(&alice, app, &totp).await;
    h.mfa
        .check_step_up(&alice, SensitiveAction::ChangePassword, Some(fresh.at()))
        .await
        .unwrap();
    h.mfa.remove_method(&alice, app, Some(fresh.at())).await.unwrap();
    assert!(h.mfa.list_methods(&alice).await.unwrap().is_empty());
}

#[tokio::test]
async fn at_most_five_apps_and_one_phone_of_each_kind() {
    let h = harness();
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    for _ in 0..4 {
        let v = h.verify_next(&alice, app, &totp).await;
        h.enroll_app(&alice, Some(v.at())).await;
    }
    let v = h.verify_next(&alice, app, &totp).await;
    assert!(matches!(
        h.mfa
            .begin_app_enrollment(&alice, "alice", "Sixth", Some(v.at()))
            .await,
        Err(Error::LimitReached { max: 5, .. })
    ));
    h.enroll_mobile(&alice, "+14155550100", Some(v.at())).await;
    h.advance(30);
    let v = h.verify_next(&alice, app, &totp).await;
    assert!(matches!(
        h.mfa
            .begin_phone_enrollment(
                &alice,
                mfa::PhoneKind::Mobile,
                "+14155550199",
                mfa::Channel::Sms,
                Some(v.at())
            )
            .await,
        Err(Error::LimitReached { max: 1, .. })
    ));
}

#[tokio::test]
async fn suspicious_activity_stops_prompts_until_cleared() {
    let h = harness();
    let alice = user("alice");
    h.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
    let (app, totp) = h.enroll_app(&alice, None).await;
    h.mfa.report_suspicious_activity(&alice).await.unwrap();
    assert!(h.events.kinds().contains(&EventKind::SuspiciousActivityReported {
        prompts_blocked: true
    }));
    let sign_in = h
        .mfa
        .begin_sign_in(&alice, None, SignInContext::sign_in(h.now()))
        .await
        .unwrap();
    assert_eq!(sign_in.decision.action, Action::Deny);
    assert!(matches!(
        h.mfa.challenge(&alice, None, None).await,
        Err(Error::NotAllowed(Reason::SuspiciousActivityReported))
    ));
    h.advance(30);
    assert!(matches!(
        h.mfa.verify(&alice, app, &h.code(&totp)).await,
        Err(Error::NotAllowed(_))
    ));
    h.mfa.clear_suspicious_activity(&alice).await.unwrap();
    h.mfa.challenge(&alice, None, None).await.unwrap();
    h.mfa.verify(&alice, app, &h.code(&totp)).await.unwrap();
}

#[tokio::test]
async fn reregistration_removes_methods_and_asks_to_register() {
    let h = harness();
    let alice = user("alice");
    h.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
    h.enroll_app(&alice, None).await;
    h.advance(5);
    h.mfa.require_reregistration(&alice).await.unwrap();
    assert!(h.mfa.list_methods(&alice).await.unwrap().is_empty());
    let sign_in = h
        .mfa
        .begin_sign_in(&alice, None, SignInContext::sign_in(h.now()))
        .await
        .unwrap();
    assert_eq!(sign_in.decision.action, Action::RequireRegistration);
    assert!(h.events.kinds().contains(&EventKind::ReregistrationRequired));
}

/// Issue 12, item 7: a registration made during a sign-in completes it. The confirmation's proof is
/// a verification like `verify`'s: the device can be remembered with it, and the next sign-in on that
/// device is not asked again (before, confirming returned only the method and nothing proved MFA).
#[tokio::test]
async fn a_registration_during_a_sign_in_completes_it() {
    let h = harness();
    let alice = user("alice");
    h.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
    let started = h.now();
    let sign_in = h
        .mfa
        .begin_sign_in(&alice, None, SignInContext::sign_in(started))
        .await
        .unwrap();
    assert_eq!(sign_in.decision.action, Action::RequireRegistration);

    let enrollment = h
        .mfa
        .begin_app_enrollment(&alice, "alice@example.com", "Phone", None)
        .await
        .unwrap();
    let totp = mfa_enroll::KeyUri::parse(enrollment.uri().as_str())
        .unwrap()
        .to_totp()
        .unwrap();
    let enrolled = h
        .mfa
        .confirm_app_enrollment(&alice, enrollment.method(), &h.code(&totp))
        .await
        .unwrap();
    assert!(enrolled.method.is_default);
    assert_eq!(enrolled.proof.method(), Some(enrollment.method()));
    assert_eq!(enrolled.proof.factor(), Factor::AuthenticatorApp);
    // Fresh for a step-up right away: a second method needs no second code.
    h.enroll_mobile(&alice, "+14155552671", Some(enrolled.proof.at()))
        .await;

    let device = h.mfa.remember_device(&enrolled.proof, "Laptop").await.unwrap();
    h.advance(3600);
    let again = h
        .mfa
        .begin_sign_in(
            &alice,
            Some(device.token.expose()),
            SignInContext::sign_in(h.now()),
        )
        .await
        .unwrap();
    assert!(again.decision.is_allowed(), "{:?}", again.decision);
}

/// Issue 12, item 9: what a host sends to a browser serialises, and says nothing secret.
#[tokio::test]
async fn host_facing_outcomes_serialise_without_secrets() {
    let h = harness();
    let alice = user("alice");
    h.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
    let (app, totp) = h.enroll_app(&alice, None).await;
    let mobile = h
        .enroll_mobile(&alice, "+14155552671", h.last_registration())
        .await;
    h.advance(60);
    let sign_in = h
        .mfa
        .begin_sign_in(&alice, None, SignInContext::sign_in(h.now()))
        .await
        .unwrap();
    let json = serde_json::to_value(&sign_in).unwrap();
    assert_eq!(json["decision"]["action"], "require_mfa", "{json}");
    assert_eq!(json["methods"][0]["id"], app.to_string(), "{json}");
    assert_eq!(json["methods"][1]["masked_number"], "+*********71", "{json}");

    let challenge = h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let json = serde_json::to_value(&challenge).unwrap();
    assert_eq!(json["kind"], "phone", "{json}");
    assert_eq!(json["masked_number"], "+*********71", "{json}");
    let code = h.phones.last_code_to(&"+14155552671".parse().unwrap()).unwrap();
    assert!(!json.to_string().contains(code.as_str()) && !json.to_string().contains("4155552671"));

    let proof = h.mfa.verify(&alice, app, &h.code(&totp)).await.unwrap();
    let json = serde_json::to_value(&proof).unwrap();
    assert_eq!(json["user"], "alice", "{json}");
    assert_eq!(json["factor"], "authenticator_app", "{json}");
    assert_eq!(json["at"], serde_json::json!(h.now().as_secs()), "{json}");
}
