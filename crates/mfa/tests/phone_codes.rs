//! SMS and voice codes: number validation, channels, code length, lifetime, single use (also raced),
//! resends, send limits, the failure count across resends, and provider errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use mfa::{
    Challenge, Channel, DeliveryError, Error, EventKind, Factor, MessagePurpose, MethodId, PhoneKind, Store,
    UserId,
};

const MOBILE: &str = "+14155550100";
const OFFICE: &str = "+442071838750";

fn loose() -> Harness {
    harness_with(
        loose_sends_config(),
        mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap(),
    )
}

fn sent_code(challenge: &Challenge) -> &mfa::CodeSent {
    match challenge {
        Challenge::Phone(sent) => sent,
        other => panic!("expected a phone challenge, got {other:?}"),
    }
}

/// Sends a sign-in code to `method` until it differs from `previous` (a repeat has a chance of one
/// in a million); returns the new code.
async fn fresh_code(h: &Harness, alice: &UserId, method: MethodId, number: &str, previous: &str) -> String {
    loop {
        h.mfa.challenge(alice, Some(method), None).await.unwrap();
        let code = h.last_code(number);
        if code != previous {
            return code;
        }
    }
}

#[tokio::test]
async fn numbers_are_validated_before_anything_is_sent() {
    let h = harness();
    let alice = user("alice");
    for typed in [
        "4155550100",        // no country code
        "+0155550100",       // country codes do not start with 0
        "+1234567",          // 7 digits
        "+1234567890123456", // 16 digits
        "+1 415 555 O1OO",   // letters
        "+",
        "",
        "+-14155550100",
        "+1415555010０", // a full-width digit
    ] {
        for kind in [PhoneKind::Mobile, PhoneKind::Office] {
            let result = h
                .mfa
                .begin_phone_enrollment(&alice, kind, typed, Channel::Voice, None)
                .await;
            assert!(
                matches!(result, Err(Error::InvalidPhoneNumber { .. })),
                "{typed:?}: {result:?}"
            );
        }
    }
    assert_eq!(h.sent_count(), 0);
    assert!(h.events.events().is_empty());
    assert!(!h.store_json().contains("\"pending\":{"));

    // As people type them: spaces, dashes, dots and parentheses; the provider gets E.164.
    let sent = h
        .mfa
        .begin_phone_enrollment(
            &alice,
            PhoneKind::Mobile,
            " +1 (415) 555-01.00 ",
            Channel::Sms,
            None,
        )
        .await
        .unwrap();
    let messages = h.phones.sent();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to.as_str(), "+14155550100");
    assert_eq!(sent.masked_number, "+*********00");
    assert_eq!(sent.channel, Channel::Sms);
}

#[tokio::test]
async fn texts_go_to_mobiles_only_and_calls_to_every_phone() {
    let h = loose();
    let alice = user("alice");
    for kind in [PhoneKind::Office, PhoneKind::Alternate] {
        assert!(matches!(
            h.mfa
                .begin_phone_enrollment(&alice, kind, OFFICE, Channel::Sms, None)
                .await,
            Err(Error::Unsupported { .. })
        ));
    }
    assert_eq!(h.sent_count(), 0);

    // An office phone registers by a call.
    let sent = h
        .mfa
        .begin_phone_enrollment(&alice, PhoneKind::Office, OFFICE, Channel::Voice, None)
        .await
        .unwrap();
    let message = h.phones.sent().pop().unwrap();
    assert_eq!(message.channel, Channel::Voice);
    assert_eq!(message.message.purpose(), MessagePurpose::Registration);
    let office = h
        .mfa
        .confirm_phone_enrollment(&alice, sent.method, message.message.code())
        .await
        .unwrap()
        .method
        .id;
    h.advance(1);

    // By default a sign-in calls the office phone; a text to it is refused and nothing is sent.
    let challenge = h.mfa.challenge(&alice, Some(office), None).await.unwrap();
    assert_eq!(sent_code(&challenge).channel, Channel::Voice);
    let message = h.phones.sent().pop().unwrap();
    assert_eq!(message.channel, Channel::Voice);
    assert_eq!(message.message.purpose(), MessagePurpose::SignIn);
    let before = h.sent_count();
    assert!(matches!(
        h.mfa.challenge(&alice, Some(office), Some(Channel::Sms)).await,
        Err(Error::Unsupported { .. })
    ));
    assert_eq!(h.sent_count(), before);
    // The refused text did not replace the code of the call.
    h.mfa
        .verify(&alice, office, message.message.code())
        .await
        .unwrap();

    // A mobile gets a text by default, and a call when asked.
    let proof = {
        let code = fresh_code(&h, &alice, office, OFFICE, message.message.code()).await;
        h.mfa.verify(&alice, office, &code).await.unwrap()
    };
    let mobile = h.enroll_mobile(&alice, MOBILE, Some(proof.at())).await;
    let by_default = h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    assert_eq!(sent_code(&by_default).channel, Channel::Sms);
    assert_eq!(h.phones.sent().pop().unwrap().channel, Channel::Sms);
    let by_call = h
        .mfa
        .challenge(&alice, Some(mobile), Some(Channel::Voice))
        .await
        .unwrap();
    assert_eq!(sent_code(&by_call).channel, Channel::Voice);
    let call = h.phones.sent().pop().unwrap();
    assert_eq!(call.channel, Channel::Voice);
    assert_eq!(call.to.as_str(), MOBILE);
    h.mfa.verify(&alice, mobile, call.message.code()).await.unwrap();
}

#[tokio::test]
async fn a_code_verifies_only_for_the_phone_it_was_sent_to() {
    let h = loose();
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    h.advance(1);
    let proof = {
        h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
        h.mfa.verify(&alice, mobile, &h.last_code(MOBILE)).await.unwrap()
    };
    let sent = h
        .mfa
        .begin_phone_enrollment(
            &alice,
            PhoneKind::Office,
            OFFICE,
            Channel::Voice,
            Some(proof.at()),
        )
        .await
        .unwrap();
    let office = h
        .mfa
        .confirm_phone_enrollment(&alice, sent.method, &h.last_code(OFFICE))
        .await
        .unwrap()
        .method
        .id;
    h.mfa.challenge(&alice, Some(office), None).await.unwrap();
    let code = h.last_code(OFFICE);
    assert!(matches!(
        h.mfa.verify(&alice, mobile, &code).await,
        Err(Error::Rejected)
    ));
    h.mfa.verify(&alice, office, &code).await.unwrap();
}

#[tokio::test]
async fn codes_have_the_configured_digits_and_look_random() {
    let h = loose();
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
        let code = h.last_code(MOBILE);
        assert_eq!(code.len(), 6, "{code}");
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        seen.insert(code);
    }
    // 20 draws from a million values: 15 distinct or fewer would take at least 5 collisions.
    assert!(seen.len() > 15, "{seen:?}");

    let mut config = loose_sends_config();
    config.phone_code_digits = 8;
    let h = harness_with(config, mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap());
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let code = h.last_code(MOBILE);
    assert_eq!(code.len(), 8);
    h.mfa.verify(&alice, mobile, &code).await.unwrap();

    for digits in [0, 4, 5, 9, 10] {
        let mut config = common::config();
        config.phone_code_digits = digits;
        assert!(
            matches!(
                try_new(config),
                Err(Error::InvalidConfig {
                    reason: "phone_code_digits must be 6 to 8"
                })
            ),
            "{digits}"
        );
    }
}

#[tokio::test]
async fn a_code_lives_five_minutes_by_default() {
    let h = loose();
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;

    // Accepted one second before the end.
    let sent_at = h.now();
    let challenge = h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    assert_eq!(
        sent_code(&challenge).expires_at,
        sent_at.saturating_add(Duration::from_secs(300))
    );
    let message = h.phones.sent().pop().unwrap();
    assert_eq!(message.message.ttl_secs(), 300);
    assert!(message.message.text(Channel::Sms).contains("5 minutes"));
    h.advance(299);
    h.mfa
        .verify(&alice, mobile, message.message.code())
        .await
        .unwrap();

    // Refused at the end and after it.
    for late in [300, 301] {
        h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
        let code = h.last_code(MOBILE);
        h.advance(late);
        assert!(
            matches!(h.mfa.verify(&alice, mobile, &code).await, Err(Error::Rejected)),
            "{late}"
        );
    }
}

#[tokio::test]
async fn the_lifetime_is_configurable_up_to_ten_minutes() {
    let mut config = loose_sends_config();
    config.phone_code_ttl = mfa::MAX_PHONE_CODE_TTL;
    let h = harness_with(config, mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap());
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    h.advance(599);
    h.mfa.verify(&alice, mobile, &h.last_code(MOBILE)).await.unwrap();
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    h.advance(600);
    assert!(matches!(
        h.mfa.verify(&alice, mobile, &h.last_code(MOBILE)).await,
        Err(Error::Rejected)
    ));

    assert_eq!(mfa::MAX_PHONE_CODE_TTL, Duration::from_secs(600));
    for secs in [0, 59, 601, 3600] {
        let mut config = common::config();
        config.phone_code_ttl = Duration::from_secs(secs);
        assert!(
            matches!(
                try_new(config),
                Err(Error::InvalidConfig {
                    reason: "phone_code_ttl must be 60 to 600 seconds"
                })
            ),
            "{secs}"
        );
    }
    let from_file: mfa::Config = serde_json::from_str(r#"{ "phone_code_ttl_secs": 601 }"#).unwrap();
    assert!(matches!(try_new(from_file), Err(Error::InvalidConfig { .. })));
}

#[tokio::test]
async fn a_registration_code_confirms_until_just_before_300_seconds() {
    let h = loose();
    let (alice, bob) = (user("alice"), user("bob"));
    let mut begun = Vec::new();
    for (who, number) in [(&alice, MOBILE), (&bob, "+14155550101")] {
        let sent = h
            .mfa
            .begin_phone_enrollment(who, PhoneKind::Mobile, number, Channel::Sms, None)
            .await
            .unwrap();
        begun.push((sent.method, h.last_code(number)));
    }
    h.advance(299);
    h.mfa
        .confirm_phone_enrollment(&alice, begun[0].0, &begun[0].1)
        .await
        .unwrap();
    h.advance(1);
    assert!(matches!(
        h.mfa
            .confirm_phone_enrollment(&bob, begun[1].0, &begun[1].1)
            .await,
        Err(Error::Rejected)
    ));
    assert!(h.mfa.list_methods(&bob).await.unwrap().is_empty());
}

#[tokio::test]
async fn wrong_registration_codes_count_toward_the_lock() {
    let h = loose();
    let alice = user("alice");
    let sent = h
        .mfa
        .begin_phone_enrollment(&alice, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
        .await
        .unwrap();
    let code = h.last_code(MOBILE);
    for failures in 1..=5 {
        assert!(matches!(
            h.mfa
                .confirm_phone_enrollment(&alice, sent.method, &wrong(&code))
                .await,
            Err(Error::Rejected)
        ));
        assert_eq!(h.store_failures(&alice).await, failures);
    }
    let until = h.now().saturating_add(Duration::from_secs(30));
    assert!(
        h.events
            .kinds()
            .contains(&EventKind::LockedOut { until, failures: 5 })
    );
    // Locked: even the right code is refused, and stays outstanding.
    assert!(matches!(
        h.mfa.confirm_phone_enrollment(&alice, sent.method, &code).await,
        Err(Error::Locked { until: u }) if u == until
    ));
    h.advance(30);
    h.mfa
        .confirm_phone_enrollment(&alice, sent.method, &code)
        .await
        .unwrap();
    assert_eq!(h.store_failures(&alice).await, 0);
}

#[tokio::test]
async fn a_code_is_accepted_once() {
    let h = loose();
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    // The registration's test code is used up too.
    let registration_code = h.last_code(MOBILE);
    assert!(matches!(
        h.mfa.verify(&alice, mobile, &registration_code).await,
        Err(Error::Rejected)
    ));
    let code = fresh_code(&h, &alice, mobile, MOBILE, &registration_code).await;
    let proof = h.mfa.verify(&alice, mobile, &code).await.unwrap();
    assert_eq!(proof.factor(), Factor::Phone);
    assert_eq!(proof.method(), Some(mobile));
    assert!(matches!(
        h.mfa.verify(&alice, mobile, &code).await,
        Err(Error::Rejected)
    ));
}

/// Sixteen verifications with the right phone code race: one succeeds.
async fn race_one_code<S: Store + 'static>(h: Harness<S>) {
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let code = h.last_code(MOBILE);
    let results = race(16, |_| {
        let (mfa, alice, code) = (h.mfa.clone(), alice.clone(), code.clone());
        async move { mfa.verify(&alice, mobile, &code).await }
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
    let successes = h
        .events
        .kinds()
        .iter()
        .filter(|k| {
            matches!(
                k,
                EventKind::VerificationSucceeded {
                    factor: Factor::Phone,
                    ..
                }
            )
        })
        .count();
    // One for the registration's confirmation (a verification too), one for the race.
    assert_eq!(successes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racing_requests_with_the_right_code_succeed_once() {
    for _ in 0..10 {
        race_one_code(loose()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racing_requests_with_the_right_code_succeed_once_when_every_store_call_yields() {
    for _ in 0..10 {
        race_one_code(yielding_harness_with(loose_sends_config())).await;
    }
}

#[tokio::test]
async fn a_resend_invalidates_the_previous_code() {
    let h = loose();
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let first = h.last_code(MOBILE);
    let second = fresh_code(&h, &alice, mobile, MOBILE, &first).await;
    assert!(matches!(
        h.mfa.verify(&alice, mobile, &first).await,
        Err(Error::Rejected)
    ));
    h.mfa.verify(&alice, mobile, &second).await.unwrap();
}

#[tokio::test]
async fn resends_are_limited_per_user_and_spaced_out() {
    // Defaults: 5 per user in 15 minutes, 30 seconds apart.
    let h = harness();
    let alice = user("alice");
    let start = h.now();
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await; // send 1, at +0
    // Issue 12, item 9: the refusal says until when, for `Retry-After`.
    let refused = h.mfa.challenge(&alice, Some(mobile), None).await;
    assert!(
        matches!(refused, Err(Error::ResendLimited { until }) if until == start.saturating_add(Duration::from_secs(30))),
        "{refused:?}"
    );
    h.advance(29);
    assert!(matches!(
        h.mfa.challenge(&alice, Some(mobile), None).await,
        Err(Error::ResendLimited { .. })
    ));
    h.advance(1);
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap(); // send 2, at +30
    for _ in 0..3 {
        h.advance(30);
        h.mfa.challenge(&alice, Some(mobile), None).await.unwrap(); // sends 3 to 5
    }
    let kept_after = h.last_code(MOBILE);
    assert_eq!(h.sent_count(), 5);
    h.advance(30);
    assert!(matches!(
        h.mfa.challenge(&alice, Some(mobile), Some(Channel::Voice)).await,
        Err(Error::ResendLimited { .. })
    ));
    assert_eq!(h.sent_count(), 5);
    let sent_events = h
        .events
        .kinds()
        .iter()
        .filter(|k| matches!(k, EventKind::ChallengeSent { .. }))
        .count();
    assert_eq!(sent_events, 5);
    // A refused resend leaves the outstanding code alone.
    assert_eq!(kept_after, h.last_code(MOBILE));

    // The first send leaves the 15-minute window at exactly +900.
    h.clock.set(start.saturating_add(Duration::from_secs(899)));
    assert!(matches!(
        h.mfa.challenge(&alice, Some(mobile), None).await,
        Err(Error::ResendLimited { .. })
    ));
    h.clock.set(start.saturating_add(Duration::from_secs(900)));
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    assert_eq!(h.sent_count(), 6);
}

#[tokio::test]
async fn a_refused_resend_keeps_the_outstanding_code() {
    let h = harness();
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    h.advance(30);
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let code = h.last_code(MOBILE);
    assert!(matches!(
        h.mfa.challenge(&alice, Some(mobile), None).await,
        Err(Error::ResendLimited { .. })
    ));
    h.mfa.verify(&alice, mobile, &code).await.unwrap();
}

#[tokio::test]
async fn sends_to_one_number_are_limited_across_users() {
    // Defaults: 10 per number in 15 minutes, whoever asks.
    let h = harness();
    for i in 0..10 {
        let u = user(&format!("user-{i}"));
        h.mfa
            .begin_phone_enrollment(&u, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
            .await
            .unwrap();
    }
    assert_eq!(h.sent_count(), 10);
    let eleventh = user("user-10");
    assert!(matches!(
        h.mfa
            .begin_phone_enrollment(&eleventh, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
            .await,
        Err(Error::ResendLimited { .. })
    ));
    // Typed differently, it is the same number.
    assert!(matches!(
        h.mfa
            .begin_phone_enrollment(
                &eleventh,
                PhoneKind::Mobile,
                "+1 415-555-0100",
                Channel::Voice,
                None
            )
            .await,
        Err(Error::ResendLimited { .. })
    ));
    assert_eq!(h.sent_count(), 10);
    // The same user may still reach another number.
    h.mfa
        .begin_phone_enrollment(&eleventh, PhoneKind::Mobile, OFFICE, Channel::Sms, None)
        .await
        .unwrap();
    assert_eq!(h.sent_count(), 11);
    // After the window the number may be sent to again.
    h.advance(900);
    h.mfa
        .begin_phone_enrollment(&user("user-11"), PhoneKind::Mobile, MOBILE, Channel::Sms, None)
        .await
        .unwrap();
    assert_eq!(h.sent_count(), 12);
}

#[tokio::test]
async fn a_new_code_does_not_reset_failures_and_a_success_does() {
    let h = loose();
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let code = h.last_code(MOBILE);
    for n in 1..=3 {
        assert!(matches!(
            h.mfa.verify(&alice, mobile, &wrong(&code)).await,
            Err(Error::Rejected)
        ));
        assert_eq!(h.store_failures(&alice).await, n);
    }
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    assert_eq!(h.store_failures(&alice).await, 3);
    let code = h.last_code(MOBILE);
    assert!(matches!(
        h.mfa.verify(&alice, mobile, &wrong(&code)).await,
        Err(Error::Rejected)
    ));
    // The fifth failure locks for 30 s: even the right code is refused, and a new code changes nothing.
    assert!(matches!(
        h.mfa.verify(&alice, mobile, &wrong(&code)).await,
        Err(Error::Rejected)
    ));
    let until = h.now().saturating_add(Duration::from_secs(30));
    assert!(matches!(
        h.mfa.verify(&alice, mobile, &code).await,
        Err(Error::Locked { until: u }) if u == until
    ));
    h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let code = h.last_code(MOBILE);
    assert!(matches!(
        h.mfa.verify(&alice, mobile, &code).await,
        Err(Error::Locked { until: u }) if u == until
    ));
    assert_eq!(h.store_failures(&alice).await, 5);
    h.advance(30);
    h.mfa.verify(&alice, mobile, &code).await.unwrap();
    assert_eq!(h.store_failures(&alice).await, 0);
}

fn provider_errors() -> [DeliveryError; 3] {
    [
        DeliveryError::Unavailable {
            reason: "503 from the gateway".to_owned(),
        },
        DeliveryError::NumberRefused,
        DeliveryError::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
        },
    ]
}

/// The decided behaviour when the provider reports a failure: the error comes back typed, with no
/// "challenge sent" event; the earlier code is replaced; the failed send's own code stays valid until
/// it expires, since providers can fail after delivering (a timeout, say).
#[tokio::test]
async fn a_failed_send_replaces_the_earlier_code_and_its_own_code_stays_valid_until_it_expires() {
    for error in provider_errors() {
        let h = loose();
        let alice = user("alice");
        let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
        h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
        let earlier = h.last_code(MOBILE);
        let sent_before = h.sent_count();
        let events_before = h.events.events().len();

        // The message reached the phone, and then the provider reported the error (again if its
        // code happens to repeat the earlier one, a chance of one in a million).
        let delivered = loop {
            h.fail_after_delivery(error.clone());
            match h.mfa.challenge(&alice, Some(mobile), None).await {
                Err(Error::Delivery(got)) => assert_eq!(got, error),
                other => panic!("expected {error:?}, got {other:?}"),
            }
            let delivered = h.last_code(MOBILE);
            if delivered != earlier {
                break delivered;
            }
        };
        assert!(h.sent_count() > sent_before);
        assert_eq!(h.events.events().len(), events_before);
        assert!(matches!(
            h.mfa.verify(&alice, mobile, &earlier).await,
            Err(Error::Rejected)
        ));
        // Until it expires (five minutes by default).
        h.advance(299);
        h.mfa.verify(&alice, mobile, &delivered).await.unwrap();

        // The same, left to expire.
        h.fail_after_delivery(error.clone());
        assert!(matches!(
            h.mfa.challenge(&alice, Some(mobile), None).await,
            Err(Error::Delivery(_))
        ));
        let delivered = h.last_code(MOBILE);
        h.advance(300);
        assert!(matches!(
            h.mfa.verify(&alice, mobile, &delivered).await,
            Err(Error::Rejected)
        ));

        // A send that failed before reaching the phone also replaced the earlier code.
        h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
        let earlier = h.last_code(MOBILE);
        let sent_before = h.sent_count();
        h.phones.fail_next(error.clone());
        assert!(matches!(
            h.mfa.challenge(&alice, Some(mobile), None).await,
            Err(Error::Delivery(_))
        ));
        assert_eq!(h.sent_count(), sent_before);
        assert!(matches!(
            h.mfa.verify(&alice, mobile, &earlier).await,
            Err(Error::Rejected)
        ));
        // The next send works and its code verifies.
        let code = fresh_code(&h, &alice, mobile, MOBILE, &earlier).await;
        h.mfa.verify(&alice, mobile, &code).await.unwrap();
    }

    // At registration: a typed error; a send that failed before reaching the phone registers nothing,
    // one that failed after delivering can still be confirmed with its code.
    let h = loose();
    let alice = user("alice");
    h.phones.fail_next(DeliveryError::NumberRefused);
    assert!(matches!(
        h.mfa
            .begin_phone_enrollment(&alice, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
            .await,
        Err(Error::Delivery(DeliveryError::NumberRefused))
    ));
    assert_eq!(h.sent_count(), 0);
    assert!(h.mfa.list_methods(&alice).await.unwrap().is_empty());

    h.fail_after_delivery(DeliveryError::Unavailable {
        reason: "timeout".to_owned(),
    });
    assert!(matches!(
        h.mfa
            .begin_phone_enrollment(&alice, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
            .await,
        Err(Error::Delivery(DeliveryError::Unavailable { .. }))
    ));
    let pending = h.store.get_pending(&alice).await.unwrap().unwrap();
    let added = h
        .mfa
        .confirm_phone_enrollment(&alice, pending.method.id, &h.last_code(MOBILE))
        .await
        .unwrap();
    assert_eq!(h.mfa.list_methods(&alice).await.unwrap()[0].id, added.method.id);
}

#[tokio::test]
async fn failed_sends_still_count_toward_the_send_limits() {
    // A provider error must not become a way around the limits (SMS pumping).
    let h = harness();
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await; // send 1
    // Failures before delivering (sends 2, 3) and after (sends 4, 5).
    for i in 0..4 {
        h.advance(30);
        let error = DeliveryError::Unavailable {
            reason: "timeout".to_owned(),
        };
        if i < 2 {
            h.phones.fail_next(error);
        } else {
            h.fail_after_delivery(error);
        }
        assert!(matches!(
            h.mfa.challenge(&alice, Some(mobile), None).await,
            Err(Error::Delivery(_))
        ));
    }
    h.advance(30);
    assert!(matches!(
        h.mfa.challenge(&alice, Some(mobile), None).await,
        Err(Error::ResendLimited { .. })
    ));
    assert_eq!(h.sent_count(), 3);
}

#[test]
fn a_national_trunk_prefix_in_parentheses_is_not_part_of_the_number() {
    // "+44 (0)20 ..." is how British numbers are often written: the 0 is dialled only from inside
    // the country. Kept, it made a second spelling of one phone, which escaped the per-number limit.
    let plain: mfa::PhoneNumber = "+44 20 7946 0958".parse().unwrap();
    for typed in [
        "+44 (0)20 7946 0958",
        "+44(0)20-7946-0958",
        "+44 (0) 20 7946 0958",
    ] {
        let number: mfa::PhoneNumber = typed.parse().unwrap();
        assert_eq!(number, plain, "{typed}");
    }
    // A 0 that belongs to the number stays: Italian numbers keep it after the country code.
    let rome: mfa::PhoneNumber = "+39 (06) 6988 4857".parse().unwrap();
    assert_eq!(rome.as_str(), "+390669884857");
    assert_eq!("+39 06 6988 4857".parse::<mfa::PhoneNumber>().unwrap(), rome);
    // A "(0)" cannot stand for the country code.
    assert!("+(0)44 20 7946 0958".parse::<mfa::PhoneNumber>().is_err());
}
