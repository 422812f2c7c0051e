//! What a revocation takes with it: a registration begun before a password change, a sign-out
//! everywhere or an administrator's revocation cannot be confirmed afterwards, nor during a block or a
//! suspicious-activity report; app passwords older than a password change never verify; with app
//! passwords turned off, none verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use mfa::{
    Channel, Error, KeyId, KeyRing, MethodId, MfaState, PhoneKind, Reason, SignInContext, Store, UnixTime,
    UserId,
};
use mfa_enroll::KeyUri;

const MOBILE: &str = "+14155552671";

/// Begins an app registration for a user without methods, runs `revoke` a second later, and a second
/// after that tries to confirm the registration with a current code.
async fn app_registration_across<F, Fut>(h: &Harness, who: &UserId, revoke: F) -> Result<(), Error>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let enrollment = h
        .mfa
        .begin_app_enrollment(who, "who@example.com", "Phone", None)
        .await
        .unwrap();
    let totp = KeyUri::parse(enrollment.uri().as_str())
        .unwrap()
        .to_totp()
        .unwrap();
    h.advance(1);
    revoke().await.unwrap();
    h.advance(1);
    let code = h.code(&totp);
    h.mfa
        .confirm_app_enrollment(who, enrollment.method(), &code)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_registration_begun_before_a_password_change_cannot_be_confirmed() {
    let h = harness();
    let who = user("alice");
    let result = app_registration_across(&h, &who, || h.mfa.password_changed(&who)).await;
    assert!(matches!(result, Err(Error::Rejected)), "{result:?}");
    assert!(h.mfa.list_methods(&who).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_registration_begun_before_a_sign_out_everywhere_or_an_admin_revocation_cannot_be_confirmed() {
    let h = harness();
    let bob = user("bob");
    let result = app_registration_across(&h, &bob, || h.mfa.sign_out_everywhere(&bob)).await;
    assert!(matches!(result, Err(Error::Rejected)), "{result:?}");
    let carol = user("carol");
    let result = app_registration_across(&h, &carol, || h.mfa.revoke_mfa_sessions(&carol)).await;
    assert!(matches!(result, Err(Error::Rejected)), "{result:?}");
    assert!(h.mfa.list_methods(&bob).await.unwrap().is_empty());
    assert!(h.mfa.list_methods(&carol).await.unwrap().is_empty());

    // A registration begun after the revocation is confirmed as usual.
    h.advance(1);
    h.enroll_app(&bob, None).await;
    assert_eq!(h.mfa.list_methods(&bob).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_phone_registration_begun_before_a_password_change_cannot_be_confirmed() {
    let h = harness();
    let who = user("dave");
    let sent = h
        .mfa
        .begin_phone_enrollment(&who, PhoneKind::Mobile, MOBILE, Channel::Sms, None)
        .await
        .unwrap();
    let code = h.phones.last_code_to(&MOBILE.parse().unwrap()).unwrap();
    h.advance(1);
    h.mfa.password_changed(&who).await.unwrap();
    h.advance(1);
    let result = h.mfa.confirm_phone_enrollment(&who, sent.method, &code).await;
    assert!(
        matches!(
            result,
            Err(Error::NotFound {
                what: "pending registration"
            })
        ),
        "{result:?}"
    );
    assert!(h.mfa.list_methods(&who).await.unwrap().is_empty());
}

#[tokio::test]
async fn no_registration_is_confirmed_during_a_block_or_a_suspicious_activity_report() {
    let h = harness();
    let erin = user("erin");
    let result = app_registration_across(&h, &erin, || h.mfa.report_suspicious_activity(&erin)).await;
    assert!(
        matches!(result, Err(Error::NotAllowed(Reason::SuspiciousActivityReported))),
        "{result:?}"
    );
    let frank = user("frank");
    let result = app_registration_across(&h, &frank, || async {
        h.store.update_user(&frank, |r| r.blocked_by_admin = true).await?;
        Ok(())
    })
    .await;
    assert!(
        matches!(result, Err(Error::NotAllowed(Reason::BlockedByAdmin))),
        "{result:?}"
    );
    // Refused before anything is counted.
    assert_eq!(h.store.throttle_state(&erin).await.unwrap().failures, 0);
    assert_eq!(h.store.throttle_state(&frank).await.unwrap().failures, 0);
    assert!(h.mfa.list_methods(&erin).await.unwrap().is_empty());
    assert!(h.mfa.list_methods(&frank).await.unwrap().is_empty());
}

#[tokio::test]
async fn app_passwords_older_than_a_password_change_never_verify() {
    let h = harness();
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    let proof = h.verify_next(&alice, app, &totp).await;
    let old = h
        .mfa
        .create_app_password(&alice, "Mail", Some(proof.at()))
        .await
        .unwrap();
    // The password changes, as the store records it, but the deletion `password_changed` does
    // never happened (a failed store call, a host that writes the instant itself).
    h.advance(1);
    let changed = h.now();
    h.store
        .update_user(&alice, |r| r.password_changed_at = Some(changed))
        .await
        .unwrap();
    // Issue 12, item 2: it can never verify, so it is not listed either.
    assert!(h.mfa.list_app_passwords(&alice).await.unwrap().is_empty());
    assert!(matches!(
        h.mfa
            .verify_app_password(&alice, old.password.expose(), None)
            .await,
        Err(Error::Rejected)
    ));

    // One made after the change works.
    let proof = h.verify_next(&alice, app, &totp).await;
    let new = h
        .mfa
        .create_app_password(&alice, "Mail", Some(proof.at()))
        .await
        .unwrap();
    assert_eq!(
        h.mfa
            .verify_app_password(&alice, new.password.expose(), None)
            .await
            .unwrap(),
        new.id
    );
}

#[tokio::test]
async fn with_app_passwords_turned_off_none_verifies_whatever_the_mfa_state() {
    let h = harness();
    let alice = user("alice");
    let last_mfa = h.registered(&alice).await;
    let created = h.mfa.create_app_password(&alice, "Mail", last_mfa).await.unwrap();
    h.mfa.set_mfa_state(&alice, MfaState::Disabled).await.unwrap();

    // The same store and keys behind a service whose policy turns app passwords off.
    let mut config = config();
    let mut policy = config.policy.config().clone();
    policy.allow_app_passwords = false;
    config.policy = mfa::Policy::new(policy).unwrap();
    let off = build(
        config,
        KeyRing::new(KeyId(1), &KEY_1).unwrap(),
        h.store.clone(),
        Arc::clone(&h.clock),
    );
    assert!(matches!(
        off.mfa
            .verify_app_password(&alice, created.password.expose(), None)
            .await,
        Err(Error::NotAllowed(Reason::LegacyClientBlocked))
    ));
    // The service that allows them still verifies it.
    assert_eq!(
        h.mfa
            .verify_app_password(&alice, created.password.expose(), None)
            .await
            .unwrap(),
        created.id
    );
}

/// The revocations whose instant ends earlier verifications.
#[derive(Debug, Clone, Copy)]
enum Revocation {
    PasswordChanged,
    SignOutEverywhere,
    AdminRevokesMfaSessions,
    MethodRemoved,
    MethodAdded,
}

/// Runs the revocation now (`mobile`: the phone a removal removes; `last_mfa`: the step-up it needs).
async fn revoke(
    h: &Harness,
    who: &UserId,
    revocation: Revocation,
    mobile: Option<MethodId>,
    last_mfa: UnixTime,
) {
    match revocation {
        Revocation::PasswordChanged => h.mfa.password_changed(who).await.unwrap(),
        Revocation::SignOutEverywhere => h.mfa.sign_out_everywhere(who).await.unwrap(),
        Revocation::AdminRevokesMfaSessions => h.mfa.revoke_mfa_sessions(who).await.unwrap(),
        Revocation::MethodRemoved => h
            .mfa
            .remove_method(who, mobile.unwrap(), Some(last_mfa))
            .await
            .unwrap(),
        Revocation::MethodAdded => {
            h.enroll_mobile(who, "+14155550100", Some(last_mfa)).await;
        }
    }
}

const EVERY_REVOCATION: [Revocation; 5] = [
    Revocation::PasswordChanged,
    Revocation::SignOutEverywhere,
    Revocation::AdminRevokesMfaSessions,
    Revocation::MethodRemoved,
    Revocation::MethodAdded,
];

async fn spared(h: &Harness, who: &UserId, token: &str) -> bool {
    let answer = h
        .mfa
        .begin_sign_in(who, Some(token), SignInContext::sign_in(h.now()))
        .await
        .unwrap();
    answer.decision.is_allowed()
}

/// Issue 12, item 1: a proof made at the very instant of a revocation is revoked by it. It cannot be
/// turned into a remembered device afterwards, and a device remembered at that instant is not spared.
#[tokio::test]
async fn a_proof_made_at_the_instant_of_a_revocation_is_revoked_by_it() {
    for revocation in EVERY_REVOCATION {
        let h = harness();
        let who = user("alice");
        h.mfa.set_mfa_state(&who, MfaState::Enforced).await.unwrap();
        let (app, totp) = h.enroll_app(&who, None).await;
        let mobile = match revocation {
            Revocation::MethodRemoved => Some(h.enroll_mobile(&who, MOBILE, h.last_registration()).await),
            _ => None,
        };
        let proof = h.verify_next(&who, app, &totp).await;
        let remembered = h.mfa.remember_device(&proof, "Laptop").await.unwrap();
        // The revocation lands in the same millisecond as the proof.
        revoke(&h, &who, revocation, mobile, proof.at()).await;
        let turned_into_device = h.mfa.remember_device(&proof, "Phone").await;
        assert!(
            matches!(turned_into_device, Err(Error::StepUpRequired)),
            "{revocation:?}: {turned_into_device:?}"
        );
        h.clock.advance(Duration::from_secs(60));
        assert!(
            !spared(&h, &who, remembered.token.expose()).await,
            "{revocation:?}: a device remembered at the revoking instant is still spared"
        );
    }
}

/// The other side of the boundary: a proof made a millisecond after the revocation stands.
#[tokio::test]
async fn a_proof_made_a_millisecond_after_a_revocation_stands() {
    for revocation in EVERY_REVOCATION {
        let h = harness();
        let who = user("alice");
        h.mfa.set_mfa_state(&who, MfaState::Enforced).await.unwrap();
        let (app, totp) = h.enroll_app(&who, None).await;
        let mobile = match revocation {
            Revocation::MethodRemoved => Some(h.enroll_mobile(&who, MOBILE, h.last_registration()).await),
            _ => None,
        };
        h.advance(30);
        let before = h.now();
        revoke(&h, &who, revocation, mobile, before).await;
        h.clock.advance(Duration::from_millis(1));
        let proof = h.mfa.verify(&who, app, &h.code(&totp)).await.unwrap();
        let remembered = h.mfa.remember_device(&proof, "Laptop").await.unwrap();
        h.clock.advance(Duration::from_secs(60));
        assert!(
            spared(&h, &who, remembered.token.expose()).await,
            "{revocation:?}: a device remembered after the revocation is not spared"
        );
    }
}
