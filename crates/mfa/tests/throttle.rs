//! Brute-force throttling: one failure count per user across the app, phone codes and recovery codes;
//! a lock after the configured number of failures, growing, refusing even the right code, ending with
//! the clock; a success resets. Never 100 failures without a lock, whatever the configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use mfa::{Error, EventKind, KeyId, KeyRing, MethodId, Store, ThrottleRule, UnixTime, UserId};
use mfa_otp::Totp;
use proptest::prelude::*;

const MOBILE: &str = "+14155550100";
/// Well-formed, and in no set (one chance in 2^80).
const NOT_A_RECOVERY_CODE: &str = "0000-0000-0000-0000";

struct Alice {
    id: UserId,
    app: MethodId,
    totp: Totp,
    mobile: MethodId,
    recovery: Vec<String>,
}

async fn alice<S: Store>(h: &Harness<S>) -> Alice {
    let id = user("alice");
    let (app, totp) = h.enroll_app(&id, None).await;
    let proof = h.verify_next(&id, app, &totp).await;
    let mobile = h.enroll_mobile(&id, MOBILE, Some(proof.at())).await;
    let recovery = h
        .mfa
        .generate_recovery_codes(&id, h.last_registration())
        .await
        .unwrap()
        .codes()
        .map(str::to_owned)
        .collect();
    Alice {
        id,
        app,
        totp,
        mobile,
        recovery,
    }
}

fn harness_with_rule(rule: ThrottleRule) -> Harness {
    let mut config = loose_sends_config();
    config.throttle = rule;
    harness_with(config, KeyRing::new(KeyId(1), &KEY_1).unwrap())
}

/// A wrong guess with the `i`-th method in turn: app, phone, recovery code.
async fn guess_wrong<S: Store>(h: &Harness<S>, a: &Alice, i: usize) -> Result<mfa::Verified, Error> {
    match i % 3 {
        0 => h.mfa.verify(&a.id, a.app, &h.wrong_code(&a.totp)).await,
        // No code is outstanding, so every code is wrong.
        1 => h.mfa.verify(&a.id, a.mobile, "123456").await,
        _ => h.mfa.redeem_recovery_code(&a.id, NOT_A_RECOVERY_CODE).await,
    }
}

fn secs(until: UnixTime, now: UnixTime) -> u64 {
    u64::try_from(until.as_secs() - now.as_secs()).unwrap()
}

#[tokio::test]
async fn failures_are_summed_across_methods_and_the_lock_refuses_every_right_code() {
    let h = harness_with_rule(ThrottleRule::default());
    let a = alice(&h).await;
    h.advance(30);
    for i in 0..4 {
        assert!(matches!(guess_wrong(&h, &a, i).await, Err(Error::Rejected)));
        assert_eq!(h.store_failures(&a.id).await, u32::try_from(i + 1).unwrap());
    }
    // The fifth failure (a phone code) locks for 30 s.
    assert!(matches!(guess_wrong(&h, &a, 4).await, Err(Error::Rejected)));
    let until = h.now().saturating_add(Duration::from_secs(30));
    assert!(
        h.events
            .kinds()
            .contains(&EventKind::LockedOut { until, failures: 5 })
    );

    // While locked, every right answer is refused and nothing is counted.
    h.mfa.challenge(&a.id, Some(a.mobile), None).await.unwrap();
    let sms = h.last_code(MOBILE);
    let attempts: [Result<mfa::Verified, Error>; 3] = [
        h.mfa.verify(&a.id, a.app, &h.code(&a.totp)).await,
        h.mfa.verify(&a.id, a.mobile, &sms).await,
        h.mfa.redeem_recovery_code(&a.id, &a.recovery[0]).await,
    ];
    for attempt in attempts {
        assert!(
            matches!(attempt, Err(Error::Locked { until: u }) if u == until),
            "{attempt:?}"
        );
    }
    assert_eq!(h.store_failures(&a.id).await, 5);
    assert_eq!(h.mfa.recovery_codes_left(&a.id).await.unwrap(), 10);

    // One second before the end still locked; at the end the right code goes through and resets.
    h.advance(29);
    assert!(matches!(
        h.mfa.verify(&a.id, a.mobile, &sms).await,
        Err(Error::Locked { .. })
    ));
    h.advance(1);
    h.mfa.verify(&a.id, a.mobile, &sms).await.unwrap();
    assert_eq!(h.store_failures(&a.id).await, 0);
}

#[tokio::test]
async fn registrations_are_locked_and_counted_too() {
    let h = harness_with_rule(ThrottleRule::default());
    let a = alice(&h).await;
    let proof = h.verify_next(&a.id, a.app, &a.totp).await;
    let enrollment = h
        .mfa
        .begin_app_enrollment(&a.id, "alice", "Second", Some(proof.at()))
        .await
        .unwrap();
    let second = mfa_enroll::KeyUri::parse(enrollment.uri().as_str())
        .unwrap()
        .to_totp()
        .unwrap();
    for i in 0..4 {
        assert!(matches!(guess_wrong(&h, &a, i).await, Err(Error::Rejected)));
    }
    // A wrong confirmation is the fifth failure.
    assert!(matches!(
        h.mfa
            .confirm_app_enrollment(&a.id, enrollment.method(), &h.wrong_code(&second))
            .await,
        Err(Error::Rejected)
    ));
    assert_eq!(h.store_failures(&a.id).await, 5);
    let until = h.now().saturating_add(Duration::from_secs(30));
    assert!(matches!(
        h.mfa
            .confirm_app_enrollment(&a.id, enrollment.method(), &h.code(&second))
            .await,
        Err(Error::Locked { until: u }) if u == until
    ));
    h.advance(30);
    h.mfa
        .confirm_app_enrollment(&a.id, enrollment.method(), &h.code(&second))
        .await
        .unwrap();
    assert_eq!(h.store_failures(&a.id).await, 0);
}

#[tokio::test]
async fn locks_double_up_to_the_maximum() {
    let h = harness_with_rule(ThrottleRule::default());
    let a = alice(&h).await;
    let mut locks = Vec::new();
    let mut i = 0;
    while locks.len() < 10 {
        match guess_wrong(&h, &a, i).await {
            Err(Error::Rejected) => i += 1,
            Err(Error::Locked { until }) => {
                // Asked at the instant of the failure that set it: the whole lock.
                let wait = secs(until, h.now());
                locks.push(wait);
                h.advance(wait);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(locks, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
}

#[tokio::test]
async fn a_success_by_any_method_resets_the_count() {
    for reset_with in 0..3 {
        let h = harness_with_rule(ThrottleRule::default());
        let a = alice(&h).await;
        h.advance(30);
        for i in 0..4 {
            assert!(matches!(guess_wrong(&h, &a, i).await, Err(Error::Rejected)));
        }
        assert_eq!(h.store_failures(&a.id).await, 4);
        match reset_with {
            0 => {
                h.mfa.verify(&a.id, a.app, &h.code(&a.totp)).await.unwrap();
            }
            1 => {
                h.mfa.challenge(&a.id, Some(a.mobile), None).await.unwrap();
                h.mfa.verify(&a.id, a.mobile, &h.last_code(MOBILE)).await.unwrap();
            }
            _ => {
                h.mfa.redeem_recovery_code(&a.id, &a.recovery[0]).await.unwrap();
            }
        }
        assert_eq!(h.store_failures(&a.id).await, 0, "{reset_with}");
        // Four more failures are again free.
        h.advance(30);
        for i in 0..4 {
            assert!(matches!(guess_wrong(&h, &a, i).await, Err(Error::Rejected)));
        }
        assert_eq!(h.store_failures(&a.id).await, 4);
    }
}

#[tokio::test]
async fn one_users_failures_do_not_touch_another() {
    let h = harness_with_rule(ThrottleRule::default());
    let a = alice(&h).await;
    let bob = user("bob");
    let (bobs_app, bobs_totp) = h.enroll_app(&bob, None).await;
    for i in 0..6 {
        let _ = guess_wrong(&h, &a, i).await;
    }
    assert!(matches!(
        h.mfa.verify(&a.id, a.app, &h.code(&a.totp)).await,
        Err(Error::Locked { .. })
    ));
    assert_eq!(h.store_failures(&bob).await, 0);
    h.verify_next(&bob, bobs_app, &bobs_totp).await;
}

#[tokio::test]
async fn app_passwords_are_outside_the_count() {
    // As documented on `verify_app_password`: a legacy client retrying a stale app password must not
    // lock its user out of interactive sign-in, and a lock does not stop app passwords.
    let h = harness_with_rule(ThrottleRule::default());
    let a = alice(&h).await;
    let proof = h.verify_next(&a.id, a.app, &a.totp).await;
    let created = h
        .mfa
        .create_app_password(&a.id, "Mail", Some(proof.at()))
        .await
        .unwrap();
    for _ in 0..20 {
        assert!(matches!(
            h.mfa
                .verify_app_password(&a.id, "abcd efgh ijkl mnop", None)
                .await,
            Err(Error::Rejected)
        ));
    }
    assert_eq!(h.store_failures(&a.id).await, 0);
    for i in 0..5 {
        let _ = guess_wrong(&h, &a, i).await;
    }
    assert!(matches!(
        h.mfa.verify(&a.id, a.app, &h.code(&a.totp)).await,
        Err(Error::Locked { .. })
    ));
    h.mfa
        .verify_app_password(&a.id, created.password.expose(), None)
        .await
        .unwrap();
}

/// 30 wrong guesses across the app, the phone and recovery codes race: five are counted, 25 locked.
async fn race_guesses<S: Store + 'static>(h: Harness<S>) {
    let a = Arc::new(alice(&h).await);
    let h = Arc::new(h);
    let results = race(30, |i| {
        let (h, a) = (h.clone(), a.clone());
        async move { guess_wrong(&h, &a, i).await }
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
    assert_eq!((rejected, locked), (5, 25));
    assert_eq!(h.store_failures(&a.id).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_guesses_across_methods_never_pass_the_lock() {
    for _ in 0..5 {
        race_guesses(harness_with_rule(ThrottleRule::default())).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_guesses_across_methods_never_pass_the_lock_when_every_store_call_yields() {
    for _ in 0..5 {
        race_guesses(yielding_harness_with(loose_sends_config())).await;
    }
}

#[test]
fn out_of_range_rules_are_refused() {
    let reason_free = "throttle.free_attempts must be 1 to 100 (NIST SP 800-63B: at most 100 failures)";
    let reason_locks = "throttle locks must be at least 1 second, with max_lock >= base_lock";
    let base = ThrottleRule::default();
    for (rule, reason) in [
        (
            ThrottleRule {
                free_attempts: 0,
                ..base
            },
            reason_free,
        ),
        (
            ThrottleRule {
                free_attempts: 101,
                ..base
            },
            reason_free,
        ),
        (
            ThrottleRule {
                base_lock: Duration::ZERO,
                ..base
            },
            reason_locks,
        ),
        (
            ThrottleRule {
                base_lock: Duration::from_millis(500),
                max_lock: Duration::from_secs(10),
                ..base
            },
            reason_locks,
        ),
        (
            ThrottleRule {
                base_lock: Duration::from_secs(60),
                max_lock: Duration::from_secs(59),
                ..base
            },
            reason_locks,
        ),
    ] {
        let mut config = config();
        config.throttle = rule;
        match try_new(config) {
            Err(Error::InvalidConfig { reason: got }) => assert_eq!(got, reason, "{rule:?}"),
            other => panic!("{rule:?}: {other:?}"),
        }
    }
    let from_file: mfa::Config = serde_json::from_str(
        r#"{ "throttle": { "free_attempts": 3, "base_lock_secs": 10, "max_lock_secs": 100 } }"#,
    )
    .unwrap();
    assert_eq!(
        from_file.throttle,
        ThrottleRule {
            free_attempts: 3,
            base_lock: Duration::from_secs(10),
            max_lock: Duration::from_secs(100),
        }
    );
    try_new(from_file).unwrap();
}

/// Drives `failures` wrong guesses across methods through the service under `rule`, waiting out each
/// lock; returns the locks seen (seconds) and the longest run of failures without one.
async fn drive(rule: ThrottleRule, failures: usize) -> (Vec<u64>, usize) {
    let h = harness_with_rule(rule);
    let a = alice(&h).await;
    let (mut locks, mut run, mut longest_run, mut counted) = (Vec::new(), 0, 0, 0);
    while counted < failures {
        match guess_wrong(&h, &a, counted).await {
            Err(Error::Rejected) => {
                counted += 1;
                run += 1;
                longest_run = longest_run.max(run);
                if let Some(EventKind::LockedOut { until, .. }) = h.events.kinds().last().cloned() {
                    // This failure set a lock: it is the end of a run.
                    locks.push(secs(until, h.now()));
                    run = 0;
                }
            }
            Err(Error::Locked { until }) => panic!("locked until {until} although every lock was waited out"),
            other => panic!("unexpected {other:?}"),
        }
        if let Some(&lock) = locks.last()
            && run == 0
        {
            h.advance(lock);
        }
    }
    (locks, longest_run)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the configuration, the first lock comes by the configured failure (and so by the
    /// 100th), every later failure locks, and locks never shrink nor pass the maximum.
    #[test]
    fn never_100_failures_without_a_lock(
        free_attempts in 1u32..=100,
        base_lock in 1u64..=600,
        extra in 0u64..=7200,
    ) {
        let rule = ThrottleRule {
            free_attempts,
            base_lock: Duration::from_secs(base_lock),
            max_lock: Duration::from_secs(base_lock + extra),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (locks, longest_run) = runtime.block_on(drive(rule, 110));
        let free = usize::try_from(free_attempts).unwrap();
        prop_assert_eq!(longest_run, free);
        prop_assert_eq!(locks.len(), 110 - free + 1);
        prop_assert_eq!(locks[0], base_lock);
        for pair in locks.windows(2) {
            prop_assert!(pair[0] <= pair[1], "{:?}", locks);
        }
        // Exactly: the k-th lock is the base doubled k times, up to the maximum.
        for (k, &lock) in locks.iter().enumerate() {
            let doubled = base_lock << k.min(31);
            prop_assert_eq!(lock, doubled.min(base_lock + extra), "lock {}", k);
        }
    }
}
