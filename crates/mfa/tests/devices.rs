//! Remembered devices ("don't ask again on this device"): opaque random tokens, hashed in the store,
//! bound to their user, listed with name and times, and dead on every re-authentication trigger.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use mfa::{
    Action, DeviceId, Error, EventKind, MethodId, MfaState, Policy, Reason, RememberedDevice, RevokedBy,
    SignIn, SignInContext, Store, UserId, Verified,
};
use mfa_otp::Totp;
use sha2::{Digest, Sha256};

const DAY: u64 = 86_400;

struct Alice {
    id: UserId,
    app: MethodId,
    totp: Totp,
}

/// Alice, MFA enforced, with an authenticator app.
async fn alice(h: &Harness) -> Alice {
    let id = user("alice");
    h.mfa.set_mfa_state(&id, MfaState::Enforced).await.unwrap();
    let (app, totp) = h.enroll_app(&id, None).await;
    Alice { id, app, totp }
}

/// A verified sign-in on a new device, remembered as `name`.
async fn remember(h: &Harness, a: &Alice, name: &str) -> (Verified, RememberedDevice) {
    let proof = h.verify_next(&a.id, a.app, &a.totp).await;
    let device = h.mfa.remember_device(&proof, name).await.unwrap();
    (proof, device)
}

async fn sign_in(h: &Harness, user: &UserId, token: &str) -> SignIn {
    h.mfa
        .begin_sign_in(user, Some(token), SignInContext::sign_in(h.now()))
        .await
        .unwrap()
}

async fn spared(h: &Harness, user: &UserId, device: &RememberedDevice) -> bool {
    let answer = sign_in(h, user, device.token.expose()).await;
    match answer.device {
        Some(id) => {
            assert_eq!(id, device.id);
            assert_eq!(answer.decision.action, Action::Allow, "{:?}", answer.decision);
            true
        }
        None => {
            assert_eq!(
                answer.decision.action,
                Action::RequireMfa,
                "{:?}",
                answer.decision
            );
            false
        }
    }
}

fn listed(devices: &[mfa::DeviceSummary], id: DeviceId) -> bool {
    devices.iter().any(|d| d.id == id)
}

#[tokio::test]
async fn a_remembered_device_skips_the_prompt_and_is_listed() {
    let h = harness();
    let a = alice(&h).await;
    let first = sign_in(&h, &a.id, "").await;
    assert_eq!(first.decision.action, Action::RequireMfa);
    assert_eq!(first.device, None);

    let (proof, device) = remember(&h, &a, "Firefox on Linux").await;
    // The default policy (the hosted suite's): remembered for 90 days, 14 if unused.
    assert_eq!(
        device.ends_at,
        proof.at().saturating_add(Duration::from_secs(90 * DAY))
    );
    assert_eq!(
        device.lapses_at,
        proof.at().saturating_add(Duration::from_secs(14 * DAY))
    );
    assert!(
        h.events
            .kinds()
            .contains(&EventKind::DeviceRemembered { device: device.id })
    );
    let list = h.mfa.list_devices(&a.id).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, device.id);
    assert_eq!(list[0].name, "Firefox on Linux");
    assert_eq!(list[0].created_at, proof.at());
    assert_eq!(list[0].last_used_at, proof.at());

    h.advance(3 * DAY);
    assert!(spared(&h, &a.id, &device).await);
    let list = h.mfa.list_devices(&a.id).await.unwrap();
    assert_eq!(list[0].created_at, proof.at());
    assert_eq!(list[0].last_used_at, h.now());

    // Without the cookie the same user is asked.
    let answer = h
        .mfa
        .begin_sign_in(&a.id, None, SignInContext::sign_in(h.now()))
        .await
        .unwrap();
    assert_eq!(answer.decision.action, Action::RequireMfa);
}

#[tokio::test]
async fn tokens_are_random_opaque_and_only_their_hash_is_stored() {
    let h = harness();
    let a = alice(&h).await;
    let (_, one) = remember(&h, &a, "Laptop").await;
    let (_, two) = remember(&h, &a, "Phone").await;
    for token in [one.token.expose(), two.token.expose()] {
        // 256 bits as unpadded base64url.
        assert_eq!(token.len(), 43, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{token}"
        );
    }
    assert_ne!(one.token.expose(), two.token.expose());
    assert_ne!(one.id, two.id);
    assert_eq!(format!("{:?}", one.token), "DeviceToken(..)");
    assert!(!format!("{one:?}").contains(one.token.expose()));

    let stored = h.store_json();
    let events = h.events_json();
    for token in [one.token.expose(), two.token.expose()] {
        assert!(!stored.contains(token));
        assert!(!stored.contains(&token[..16]) && !stored.contains(&token[16..32]));
        assert!(!events.contains(token));
    }
    // What is stored is SHA-256 of the token's bytes, and the stored hash is no token: presented
    // as one (in the token's encoding) it is not recognised.
    let records = h.store.list_devices(&a.id).await.unwrap();
    h.advance(DAY);
    for (record, device) in records.iter().zip([&one, &two]) {
        let bytes = URL_SAFE_NO_PAD.decode(device.token.expose()).unwrap();
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(record.token_hash.as_bytes(), &digest);
        let hash_as_token = URL_SAFE_NO_PAD.encode(record.token_hash.as_bytes());
        let answer = sign_in(&h, &a.id, &hash_as_token).await;
        assert_eq!(answer.device, None);
        assert_eq!(answer.decision.action, Action::RequireMfa);
    }
    assert!(spared(&h, &a.id, &one).await);
}

#[tokio::test]
async fn a_token_is_bound_to_its_user() {
    let h = harness();
    let a = alice(&h).await;
    let (_, device) = remember(&h, &a, "Laptop").await;
    let bob = user("bob");
    h.mfa.set_mfa_state(&bob, MfaState::Enforced).await.unwrap();
    h.enroll_app(&bob, None).await;
    h.advance(DAY);

    let answer = sign_in(&h, &bob, device.token.expose()).await;
    assert_eq!(answer.device, None);
    assert_eq!(answer.decision.action, Action::RequireMfa);
    // Bob presenting it did not hurt Alice's device.
    assert!(spared(&h, &a.id, &device).await);
    assert!(h.mfa.list_devices(&bob).await.unwrap().is_empty());
    // Nor can Bob forget it.
    assert!(matches!(
        h.mfa.forget_device(&bob, device.id).await,
        Err(Error::NotFound { what: "device" })
    ));
    assert!(spared(&h, &a.id, &device).await);
}

#[tokio::test]
async fn tokens_that_were_never_issued_are_ignored() {
    let h = harness();
    let a = alice(&h).await;
    let (_, device) = remember(&h, &a, "Laptop").await;
    // Issued tokens spelled in the standard base64 alphabet ('+' for '-', '/' for '_') are other
    // strings: remember devices until tokens holding each of '-' and '_' turn up (a token holds a
    // given one with odds of about one half, so 100 misses in a row do not happen).
    let mut devices = vec![device];
    let mut spellings = Vec::new();
    for (url_safe, standard) in [('-', "+"), ('_', "/")] {
        let holder = match devices.iter().find(|d| d.token.expose().contains(url_safe)) {
            Some(d) => d.token.expose().to_owned(),
            None => {
                let mut tries = 0;
                loop {
                    let (_, d) = remember(&h, &a, "Another").await;
                    let token = d.token.expose().to_owned();
                    devices.push(d);
                    if token.contains(url_safe) {
                        break token;
                    }
                    tries += 1;
                    assert!(tries < 100, "no token with {url_safe:?} in 100");
                }
            }
        };
        spellings.push(holder.replace(url_safe, standard));
    }
    h.advance(DAY);
    let token = devices[0].token.expose().to_owned();
    let mut flipped = token.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let mut typed_tokens = vec![
        String::new(),
        "x".to_owned(),
        flipped,
        format!("{token}A"),
        token[..42].to_owned(),
        "A".repeat(43),
        "%%%%".repeat(11),
        "é".repeat(40),
    ];
    typed_tokens.extend(spellings);
    for typed in typed_tokens {
        assert!(devices.iter().all(|d| d.token.expose() != typed));
        let answer = sign_in(&h, &a.id, &typed).await;
        assert_eq!(answer.device, None, "{typed:?}");
        assert_eq!(answer.decision.action, Action::RequireMfa, "{typed:?}");
    }
    // None of them touched the real ones.
    for device in &devices {
        assert!(spared(&h, &a.id, device).await);
    }
}

#[tokio::test]
async fn remembering_needs_a_fresh_proof_and_a_policy_that_allows_it() {
    let h = harness();
    let a = alice(&h).await;
    let proof = h.verify_next(&a.id, a.app, &a.totp).await;
    h.advance(599);
    h.mfa.remember_device(&proof, "Fresh").await.unwrap();
    h.advance(1);
    assert!(matches!(
        h.mfa.remember_device(&proof, "Stale").await,
        Err(Error::StepUpRequired)
    ));
    assert_eq!(h.mfa.list_devices(&a.id).await.unwrap().len(), 1);

    let mut config = config();
    config.policy = Policy::nist_aal2();
    let strict = harness_with(config, mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap());
    let a = alice(&strict).await;
    let proof = strict.verify_next(&a.id, a.app, &a.totp).await;
    assert!(matches!(
        strict.mfa.remember_device(&proof, "Laptop").await,
        Err(Error::Unsupported { .. })
    ));
    assert!(strict.mfa.list_devices(&a.id).await.unwrap().is_empty());
}

/// The re-authentication triggers (removing a method has its own test below).
#[derive(Debug, Clone, Copy)]
enum Trigger {
    PasswordChanged,
    SignOutEverywhere,
    AdminRevokesMfaSessions,
    MethodAdded,
    ReregistrationRequired,
    ForgetThisOne,
    /// The host records a password change in the store without telling the service: the policy alone
    /// must kill the device.
    PasswordChangedInTheStoreOnly,
}

async fn apply(h: &Harness, a: &Alice, trigger: Trigger, device: &RememberedDevice) {
    match trigger {
        Trigger::PasswordChanged => h.mfa.password_changed(&a.id).await.unwrap(),
        Trigger::SignOutEverywhere => {
            h.mfa.sign_out_everywhere(&a.id).await.unwrap();
            assert!(h.events.kinds().contains(&EventKind::SessionsRevoked {
                by: RevokedBy::User,
                devices: 2
            }));
        }
        Trigger::AdminRevokesMfaSessions => {
            h.mfa.revoke_mfa_sessions(&a.id).await.unwrap();
            assert!(h.events.kinds().contains(&EventKind::SessionsRevoked {
                by: RevokedBy::Admin,
                devices: 2
            }));
        }
        Trigger::MethodAdded => {
            let proof = h.verify_next(&a.id, a.app, &a.totp).await;
            h.enroll_app(&a.id, Some(proof.at())).await;
        }
        Trigger::ReregistrationRequired => h.mfa.require_reregistration(&a.id).await.unwrap(),
        Trigger::ForgetThisOne => {
            h.mfa.forget_device(&a.id, device.id).await.unwrap();
            assert!(
                h.events
                    .kinds()
                    .contains(&EventKind::DeviceForgotten { device: device.id })
            );
        }
        Trigger::PasswordChangedInTheStoreOnly => {
            let now = h.now();
            h.store
                .update_user(&a.id, |r| r.password_changed_at = Some(now))
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn every_reauthentication_trigger_kills_the_device() {
    for trigger in [
        Trigger::PasswordChanged,
        Trigger::SignOutEverywhere,
        Trigger::AdminRevokesMfaSessions,
        Trigger::MethodAdded,
        Trigger::ReregistrationRequired,
        Trigger::ForgetThisOne,
        Trigger::PasswordChangedInTheStoreOnly,
    ] {
        let h = harness();
        let a = alice(&h).await;
        let (_, device) = remember(&h, &a, "Laptop").await;
        let (_, other) = remember(&h, &a, "Phone").await;
        h.advance(DAY);
        assert!(spared(&h, &a.id, &device).await, "{trigger:?}");
        h.advance(1);
        apply(&h, &a, trigger, &device).await;
        h.advance(1);

        let answer = sign_in(&h, &a.id, device.token.expose()).await;
        assert_eq!(answer.device, None, "{trigger:?}");
        let expected = match trigger {
            Trigger::ReregistrationRequired => Action::RequireRegistration,
            _ => Action::RequireMfa,
        };
        assert_eq!(
            answer.decision.action, expected,
            "{trigger:?}: {:?}",
            answer.decision
        );
        let devices = h.mfa.list_devices(&a.id).await.unwrap();
        assert!(!listed(&devices, device.id), "{trigger:?}: still listed");
        // Forgetting one leaves the other; every other trigger ends them all.
        let other_alive = matches!(trigger, Trigger::ForgetThisOne);
        let answer = sign_in(&h, &a.id, other.token.expose()).await;
        assert_eq!(answer.device.is_some(), other_alive, "{trigger:?}");
        assert_eq!(
            listed(&h.mfa.list_devices(&a.id).await.unwrap(), other.id),
            other_alive,
            "{trigger:?}"
        );

        // A trigger does not break remembering for good: a new verification may remember again.
        if !matches!(trigger, Trigger::ReregistrationRequired) {
            let (_, again) = remember(&h, &a, "Laptop").await;
            h.advance(DAY);
            assert!(spared(&h, &a.id, &again).await, "{trigger:?}");
        }
    }
}

#[tokio::test]
async fn removing_a_method_kills_the_device() {
    let h = harness();
    let a = alice(&h).await;
    let proof = h.verify_next(&a.id, a.app, &a.totp).await;
    let (second, _) = h.enroll_app(&a.id, Some(proof.at())).await;
    let (_, device) = remember(&h, &a, "Laptop").await;
    h.advance(DAY);
    assert!(spared(&h, &a.id, &device).await);
    let proof = h.verify_next(&a.id, a.app, &a.totp).await;
    h.mfa
        .remove_method(&a.id, second, Some(proof.at()))
        .await
        .unwrap();
    h.advance(1);
    let answer = sign_in(&h, &a.id, device.token.expose()).await;
    assert_eq!(answer.device, None);
    assert!(answer.decision.reasons.contains(&Reason::MethodsChanged));
    assert!(h.mfa.list_devices(&a.id).await.unwrap().is_empty());
    assert!(
        h.events
            .kinds()
            .contains(&EventKind::DeviceForgotten { device: device.id })
    );
}

#[tokio::test]
async fn the_remembered_window_ends_at_exactly_ninety_days() {
    let h = harness();
    let a = alice(&h).await;
    let (proof, device) = remember(&h, &a, "Laptop").await;
    let start = proof.at();
    // Used every 13 days, so inactivity never ends it first.
    for day in [13, 26, 39, 52, 65, 78] {
        h.clock.set(start.saturating_add(Duration::from_secs(day * DAY)));
        assert!(spared(&h, &a.id, &device).await, "day {day}");
    }
    h.clock
        .set(start.saturating_add(Duration::from_secs(90 * DAY - 1)));
    assert!(spared(&h, &a.id, &device).await);
    h.clock.set(start.saturating_add(Duration::from_secs(90 * DAY)));
    assert_eq!(h.now(), device.ends_at);
    let answer = sign_in(&h, &a.id, device.token.expose()).await;
    assert_eq!(answer.device, None);
    assert_eq!(answer.decision.action, Action::RequireMfa);
    assert!(
        answer.decision.reasons.contains(&Reason::RememberedDeviceExpired),
        "{:?}",
        answer.decision
    );
    assert!(h.mfa.list_devices(&a.id).await.unwrap().is_empty());
    assert!(
        h.events
            .kinds()
            .contains(&EventKind::DeviceForgotten { device: device.id })
    );
}

#[tokio::test]
async fn fourteen_days_without_use_end_it() {
    let h = harness();
    let a = alice(&h).await;
    let (_, used) = remember(&h, &a, "Used").await;
    let (_, idle) = remember(&h, &a, "Idle").await;
    let used_at = h.mfa.list_devices(&a.id).await.unwrap()[0].last_used_at;
    let idle_at = h.mfa.list_devices(&a.id).await.unwrap()[1].last_used_at;

    h.clock
        .set(used_at.saturating_add(Duration::from_secs(14 * DAY - 1)));
    assert!(spared(&h, &a.id, &used).await);
    let used_at = h.now();

    h.clock.set(idle_at.saturating_add(Duration::from_secs(14 * DAY)));
    let answer = sign_in(&h, &a.id, idle.token.expose()).await;
    assert_eq!(answer.device, None);
    assert!(
        answer.decision.reasons.contains(&Reason::InactivityLimitReached),
        "{:?}",
        answer.decision
    );
    assert!(!listed(&h.mfa.list_devices(&a.id).await.unwrap(), idle.id));

    // The used one counts from its last use.
    h.clock
        .set(used_at.saturating_add(Duration::from_secs(14 * DAY - 1)));
    assert!(spared(&h, &a.id, &used).await);
    let used_at = h.now();
    h.clock.set(used_at.saturating_add(Duration::from_secs(14 * DAY)));
    assert!(!spared(&h, &a.id, &used).await);
    assert!(h.mfa.list_devices(&a.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn forgetting_an_unknown_device_is_not_found() {
    let h = harness();
    let a = alice(&h).await;
    assert!(matches!(
        h.mfa.forget_device(&a.id, DeviceId::generate().unwrap()).await,
        Err(Error::NotFound { what: "device" })
    ));
}

#[tokio::test]
async fn a_report_made_after_the_proof_stops_remembering_the_device() {
    let h = harness();
    let a = alice(&h).await;
    let proof = h.verify_next(&a.id, a.app, &a.totp).await;
    h.mfa.report_suspicious_activity(&a.id).await.unwrap();
    assert!(matches!(
        h.mfa.remember_device(&proof, "Firefox on Linux").await,
        Err(Error::NotAllowed(Reason::SuspiciousActivityReported))
    ));
    assert!(h.mfa.list_devices(&a.id).await.unwrap().is_empty());
}

/// Issue 12, item 10: with the hosted-suite preset and "don't ask again for 30 days", a device
/// lapses after 14 days unused. The remembered device and its summary say both instants, and each use moves the
/// lapse on (never past the hard end).
#[tokio::test]
async fn a_remembered_device_says_when_it_lapses_unused_and_when_it_ends() {
    let h = harness_with(thirty_days(), mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap());
    let a = alice(&h).await;
    let (proof, device) = remember(&h, &a, "Laptop").await;
    let start = proof.at();
    let at = |days: u64| start.saturating_add(Duration::from_secs(days * DAY));
    assert_eq!(device.ends_at, at(30));
    assert_eq!(device.lapses_at, at(14));
    let listed = &h.mfa.list_devices(&a.id).await.unwrap()[0];
    assert_eq!((listed.lapses_at, listed.ends_at), (at(14), at(30)));

    // Used on day 10: it now lapses on day 24, and the list says so.
    h.clock.set(at(10));
    assert!(spared(&h, &a.id, &device).await);
    let listed = &h.mfa.list_devices(&a.id).await.unwrap()[0];
    assert_eq!((listed.lapses_at, listed.ends_at), (at(24), at(30)));
    // Used on day 20: the lapse would be day 34, but the hard end comes first.
    h.clock.set(at(20));
    assert!(spared(&h, &a.id, &device).await);
    let listed = &h.mfa.list_devices(&a.id).await.unwrap()[0];
    assert_eq!((listed.lapses_at, listed.ends_at), (at(30), at(30)));
    // The instants are what the policy does: spared just before the end, not at it.
    h.clock.set(at(30).saturating_sub(Duration::from_millis(1)));
    assert!(spared(&h, &a.id, &device).await);
    h.clock.set(at(30));
    assert!(!spared(&h, &a.id, &device).await);
}

/// Issue 12, item 10, the other limit: a device unused until its lapse is asked again right then.
#[tokio::test]
async fn a_remembered_device_unused_until_it_lapses_is_asked_again() {
    let h = harness_with(thirty_days(), mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap());
    let a = alice(&h).await;
    let (_, device) = remember(&h, &a, "Laptop").await;
    h.clock
        .set(device.lapses_at.saturating_sub(Duration::from_millis(1)));
    assert!(spared(&h, &a.id, &device).await);
    let listed = &h.mfa.list_devices(&a.id).await.unwrap()[0];
    h.clock.set(listed.lapses_at);
    assert!(!spared(&h, &a.id, &device).await);
}

/// The hosted suite's policy with "don't ask again for 30 days".
fn thirty_days() -> mfa::Config {
    let mut config = config();
    config.policy = Policy::new(mfa::PolicyConfig {
        remember_device: Some(Duration::from_secs(30 * DAY)),
        ..mfa::PolicyConfig::hosted_suite()
    })
    .unwrap();
    config
}

#[tokio::test]
async fn one_proof_cannot_remember_more_than_the_cap_and_the_least_recently_used_go() {
    // Issue 12, item 6a: one proof remembered 2,000 devices. The default cap is 20 per user; beyond
    // it the least recently used (by last use) are forgotten, each with its event.
    let h = harness();
    let a = alice(&h).await;
    let proof = h.verify_next(&a.id, a.app, &a.totp).await;
    let mut devices = Vec::new();
    for i in 0..20 {
        h.advance(1);
        devices.push(
            h.mfa
                .remember_device(&proof, &format!("device {i}"))
                .await
                .unwrap(),
        );
    }
    // The oldest one is used again: it is now the most recently used.
    h.advance(1);
    assert!(spared(&h, &a.id, &devices[0]).await);
    h.advance(1);
    let mut more = Vec::new();
    for i in 20..25 {
        more.push(
            h.mfa
                .remember_device(&proof, &format!("device {i}"))
                .await
                .unwrap(),
        );
    }
    let listed: Vec<DeviceId> = h
        .mfa
        .list_devices(&a.id)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(listed.len(), 20);
    // Devices 1 to 5 were the least recently used; device 0 (used) and every new one stay.
    let evicted: Vec<DeviceId> = devices[1..6].iter().map(|d| d.id).collect();
    for id in &evicted {
        assert!(!listed.contains(id));
    }
    assert!(listed.contains(&devices[0].id));
    for d in &more {
        assert!(listed.contains(&d.id));
    }
    let forgotten: Vec<DeviceId> = h
        .events
        .kinds()
        .into_iter()
        .filter_map(|k| match k {
            EventKind::DeviceForgotten { device } => Some(device),
            _ => None,
        })
        .collect();
    assert_eq!(forgotten, evicted);
    for d in &devices[1..6] {
        assert!(!spared(&h, &a.id, d).await);
    }
}

#[tokio::test]
async fn the_device_cap_is_configurable_within_bounds() {
    for (cap, ok) in [(0, false), (1, true), (1000, true), (1001, false)] {
        let config = mfa::Config {
            max_remembered_devices: cap,
            ..config()
        };
        assert_eq!(try_new(config).is_ok(), ok, "cap {cap}");
    }
    let from_file: mfa::Config = serde_json::from_str(r#"{ "max_remembered_devices": 3 }"#).unwrap();
    assert_eq!(from_file.max_remembered_devices, 3);
    assert_eq!(mfa::Config::default().max_remembered_devices, 20);

    let h = harness_with(
        mfa::Config {
            max_remembered_devices: 2,
            ..config()
        },
        mfa::KeyRing::new(mfa::KeyId(1), &KEY_1).unwrap(),
    );
    let a = alice(&h).await;
    let (_, first) = remember(&h, &a, "first").await;
    let (_, second) = remember(&h, &a, "second").await;
    let (_, third) = remember(&h, &a, "third").await;
    let listed: Vec<DeviceId> = h
        .mfa
        .list_devices(&a.id)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(listed, [second.id, third.id]);
    assert!(!spared(&h, &a.id, &first).await);
}
