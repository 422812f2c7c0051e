//! Passkeys and security keys through the facade (the `webauthn` feature), with mfa-webauthn's test
//! software authenticator: registration, sign-in, a replayed answer, another relying party, a counter
//! that goes backwards, removal, the AAL3 policy, and a service without WebAuthn configured.
#![cfg(feature = "webauthn")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../mfa-webauthn/tests/support/mod.rs"]
mod soft;

use std::sync::Arc;

use mfa::{
    Challenge, Config, CredentialKind, Error, EventKind, Factor, KeyId, KeyRing, ManualClock, MemoryStore,
    MethodId, MethodKind, Mfa, Policy, RecordingEventSink, RecordingPhoneDelivery, Store, TagSecret,
    UnixTime, UserId,
};
use soft::SoftAuthenticator;

type Service = Mfa<MemoryStore, RecordingPhoneDelivery>;

fn service_with(config: Config) -> (Service, MemoryStore, RecordingEventSink) {
    let store = MemoryStore::new();
    let events = RecordingEventSink::new();
    let mfa = Mfa::new(
        config,
        KeyRing::new(KeyId(1), &[0x11; 32]).unwrap(),
        TagSecret::from_bytes(&[0x33; 32]).unwrap(),
        store.clone(),
        RecordingPhoneDelivery::new(),
    )
    .unwrap()
    .with_clock(Arc::new(ManualClock::new(UnixTime::from_secs(1_700_000_000))))
    .with_events(Arc::new(events.clone()))
    .with_webauthn(&soft::config())
    .unwrap();
    (mfa, store, events)
}

fn service() -> (Service, MemoryStore, RecordingEventSink) {
    service_with(Config::default())
}

async fn register(
    mfa: &Service,
    user: &UserId,
    key: &mut SoftAuthenticator,
    kind: CredentialKind,
) -> MethodId {
    let begun = mfa
        .begin_passkey_enrollment(user, "alice@example.com", "My key", kind, None)
        .await
        .unwrap();
    let response = key.register(&begun.options.to_string());
    let enrolled = mfa
        .confirm_passkey_enrollment(user, begun.method, &response)
        .await
        .unwrap();
    assert_eq!(enrolled.proof.factor(), Factor::Passkey);
    assert_eq!(enrolled.method.kind, MethodKind::Passkey);
    begun.method
}

async fn options(mfa: &Service, user: &UserId, method: MethodId) -> String {
    match mfa.challenge(user, Some(method), None).await.unwrap() {
        Challenge::Passkey(sent) => sent.options.to_string(),
        other => panic!("not a passkey challenge: {other:?}"),
    }
}

#[tokio::test]
async fn a_passkey_registers_and_signs_in_once_per_challenge() {
    let (mfa, store, _) = service();
    let alice = UserId::new("alice").unwrap();
    let mut key = SoftAuthenticator::passkey(1);
    let method = register(&mfa, &alice, &mut key, CredentialKind::Passkey).await;

    let answer = key.authenticate(&options(&mfa, &alice, method).await);
    let proof = mfa.verify_passkey(&alice, &answer).await.unwrap();
    assert_eq!(proof.factor(), Factor::Passkey);
    assert_eq!(proof.method(), Some(method));
    // The same answer again: the challenge was used.
    assert!(matches!(
        mfa.verify_passkey(&alice, &answer).await,
        Err(Error::Rejected)
    ));
    assert_eq!(store.throttle_state(&alice).await.unwrap().failures, 1);
    // A new challenge, a new answer: fine again (and the count reset).
    let answer = key.authenticate(&options(&mfa, &alice, method).await);
    mfa.verify_passkey(&alice, &answer).await.unwrap();
    assert_eq!(store.throttle_state(&alice).await.unwrap().failures, 0);
}

#[tokio::test]
async fn an_answer_for_another_relying_party_or_origin_is_refused_and_counted() {
    let (mfa, store, _) = service();
    let alice = UserId::new("alice").unwrap();
    let mut key = SoftAuthenticator::security_key(2);
    let method = register(&mfa, &alice, &mut key, CredentialKind::SecurityKey).await;

    key.rp_id_override = Some("evil.example".into());
    let answer = key.authenticate(&options(&mfa, &alice, method).await);
    assert!(matches!(
        mfa.verify_passkey(&alice, &answer).await,
        Err(Error::Rejected)
    ));
    key.rp_id_override = None;
    key.origin = "https://example.com.evil.example".into();
    let answer = key.authenticate(&options(&mfa, &alice, method).await);
    assert!(matches!(
        mfa.verify_passkey(&alice, &answer).await,
        Err(Error::Rejected)
    ));
    assert_eq!(store.throttle_state(&alice).await.unwrap().failures, 2);
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_and_raises_an_event() {
    let (mfa, _, events) = service();
    let alice = UserId::new("alice").unwrap();
    let mut key = SoftAuthenticator::security_key(3);
    let method = register(&mfa, &alice, &mut key, CredentialKind::SecurityKey).await;
    for _ in 0..3 {
        let answer = key.authenticate(&options(&mfa, &alice, method).await);
        mfa.verify_passkey(&alice, &answer).await.unwrap();
    }
    // A clone of the key, still at an old counter.
    key.counter = 0;
    let answer = key.authenticate(&options(&mfa, &alice, method).await);
    assert!(matches!(
        mfa.verify_passkey(&alice, &answer).await,
        Err(Error::Rejected)
    ));
    assert!(
        events
            .events()
            .iter()
            .any(|e| e.kind == EventKind::PasskeyCounterRegressed { method })
    );
}

#[tokio::test]
async fn a_removed_passkey_is_refused() {
    let (mfa, store, _) = service();
    let alice = UserId::new("alice").unwrap();
    let mut key = SoftAuthenticator::passkey(4);
    let method = register(&mfa, &alice, &mut key, CredentialKind::Passkey).await;
    let answer = key.authenticate(&options(&mfa, &alice, method).await);
    store.remove_method(&alice, method).await.unwrap();
    assert!(matches!(
        mfa.verify_passkey(&alice, &answer).await,
        Err(Error::Rejected)
    ));
    assert!(mfa.challenge(&alice, Some(method), None).await.is_err());
}

#[tokio::test]
async fn a_malformed_answer_is_a_typed_error_and_leaves_the_registration_waiting() {
    let (mfa, _, _) = service();
    let alice = UserId::new("alice").unwrap();
    let mut key = SoftAuthenticator::passkey(5);
    let begun = mfa
        .begin_passkey_enrollment(&alice, "alice", "Key", CredentialKind::Passkey, None)
        .await
        .unwrap();
    for junk in [&b"{not json"[..], b"{}", b"", &[0xff; 70_000][..]] {
        assert!(
            mfa.confirm_passkey_enrollment(&alice, begun.method, junk)
                .await
                .is_err()
        );
    }
    let response = key.register(&begun.options.to_string());
    mfa.confirm_passkey_enrollment(&alice, begun.method, &response)
        .await
        .unwrap();
}

#[tokio::test]
async fn under_the_aal3_policy_only_passkeys_count() {
    let config = Config {
        policy: Policy::nist_aal3(),
        ..Config::default()
    };
    let (mfa, _, _) = service_with(config);
    let alice = UserId::new("alice").unwrap();
    let mut key = SoftAuthenticator::security_key(6);
    let method = register(&mfa, &alice, &mut key, CredentialKind::SecurityKey).await;
    let answer = key.authenticate(&options(&mfa, &alice, method).await);
    mfa.verify_passkey(&alice, &answer).await.unwrap();
    assert!(mfa.policy().allows_method(mfa::Method::Passkey));
    assert!(!mfa.policy().allows_method(mfa::Method::AuthenticatorApp));
}

#[tokio::test]
async fn without_with_webauthn_passkeys_are_unsupported() {
    let mfa = Mfa::new(
        Config::default(),
        KeyRing::generate(KeyId(1)).unwrap(),
        TagSecret::generate().unwrap(),
        MemoryStore::new(),
        RecordingPhoneDelivery::new(),
    )
    .unwrap();
    let alice = UserId::new("alice").unwrap();
    let begun = mfa
        .begin_passkey_enrollment(&alice, "alice", "Key", CredentialKind::Passkey, None)
        .await;
    assert!(matches!(begun, Err(Error::Unsupported { .. })));
}

#[tokio::test]
async fn a_passkey_is_renamed_with_a_checked_name_and_no_event_and_still_signs_in() {
    let (mfa, _, events) = service();
    let alice = UserId::new("alice").unwrap();
    let mut key = SoftAuthenticator::security_key(7);
    let method = register(&mfa, &alice, &mut key, CredentialKind::SecurityKey).await;
    let before = events.events().len();

    mfa.rename_method(&alice, method, "  Blue key  ").await.unwrap();
    let listed = mfa.list_methods(&alice).await.unwrap();
    assert_eq!(listed[0].name, "Blue key");
    assert_eq!(events.events().len(), before, "a rename emits nothing");

    for bad in ["", "   ", "tab\there"] {
        assert!(
            matches!(
                mfa.rename_method(&alice, method, bad).await,
                Err(Error::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
    let unknown = MethodId::generate().unwrap();
    assert!(matches!(
        mfa.rename_method(&alice, unknown, "Red key").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(mfa.list_methods(&alice).await.unwrap()[0].name, "Blue key");

    let answer = key.authenticate(&options(&mfa, &alice, method).await);
    mfa.verify_passkey(&alice, &answer).await.unwrap();
}

/// A ceremony begun on one instance is finished on another: the state is in the shared store.
#[tokio::test]
async fn another_instance_finishes_the_ceremonies_one_began() {
    let (first, store, _) = service();
    let second = Mfa::new(
        Config::default(),
        KeyRing::new(KeyId(1), &[0x11; 32]).unwrap(),
        TagSecret::from_bytes(&[0x33; 32]).unwrap(),
        store.clone(),
        RecordingPhoneDelivery::new(),
    )
    .unwrap()
    .with_clock(Arc::new(ManualClock::new(UnixTime::from_secs(1_700_000_000))))
    .with_webauthn(&soft::config())
    .unwrap();
    let alice = UserId::new("alice").unwrap();
    let mut key = SoftAuthenticator::security_key(7);
    let begun = first
        .begin_passkey_enrollment(&alice, "alice", "Key", CredentialKind::SecurityKey, None)
        .await
        .unwrap();
    let response = key.register(&begun.options.to_string());
    second
        .confirm_passkey_enrollment(&alice, begun.method, &response)
        .await
        .unwrap();
    let answer = key.authenticate(&options(&second, &alice, begun.method).await);
    first.verify_passkey(&alice, &answer).await.unwrap();
    // And not twice, whichever instance is asked.
    assert!(matches!(
        second.verify_passkey(&alice, &answer).await,
        Err(Error::Rejected)
    ));
}
