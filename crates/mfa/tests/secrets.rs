//! Secrets at rest and in output: after a full scenario neither the store, the events nor the Debug
//! output of any outcome holds a plaintext; TOTP secrets are sealed under a rotating key ring, with
//! re-encryption on use and by call; damaged ciphertext is a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use mfa::store::{Credential, SealedSecret};
use mfa::{
    Channel, Error, EventKind, KeyId, KeyRing, ManualClock, MemoryStore, MethodId, PhoneKind, SignInContext,
    Store, UnixTime, UserId,
};
use mfa_enroll::KeyUri;

const MOBILE: &str = "+14155550100";

/// Every text form a byte secret could leak in.
fn byte_forms(bytes: &[u8]) -> Vec<String> {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        URL_SAFE_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        hex.clone(),
        hex.to_uppercase(),
        format!("{bytes:?}"),
    ]
}

/// `text` holds `code` as a token of its own: not inside a longer run of letters and digits (a
/// timestamp, a hexadecimal id, base64), where six given digits could turn up by chance.
fn has_code(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric())
    })
}

struct Plaintexts {
    long: Vec<String>,
    codes: Vec<String>,
}

#[tokio::test]
async fn after_a_full_scenario_no_plaintext_is_stored_emitted_or_printed() {
    let h = harness_with(loose_sends_config(), KeyRing::new(KeyId(1), &KEY_1).unwrap());
    let alice = user("alice");
    let mut secrets = Plaintexts {
        long: Vec::new(),
        codes: Vec::new(),
    };
    // The server's keys: the key ring's keys and the tag secret.
    for key in [KEY_1, KEY_2, TAG_SECRET] {
        secrets.long.extend(byte_forms(&key));
    }
    let mut debug = Vec::new();

    h.mfa
        .set_mfa_state(&alice, mfa::MfaState::Enforced)
        .await
        .unwrap();
    // An authenticator app.
    let enrollment = h
        .mfa
        .begin_app_enrollment(&alice, "alice@example.com", "Phone", None)
        .await
        .unwrap();
    debug.push(format!("{enrollment:?}"));
    let key = KeyUri::parse(enrollment.uri().as_str()).unwrap();
    let base32 = key.secret().to_base32().to_string();
    assert!(base32.len() >= 26, "{base32}");
    secrets.long.push(base32.clone());
    secrets.long.push(base32.to_lowercase());
    secrets.long.push(enrollment.secret_for_typing().to_string());
    secrets.long.extend(byte_forms(key.secret().expose_bytes()));
    // The pending registration is sealed already.
    check_store(&h, &secrets);
    let totp = key.to_totp().unwrap();
    let first = h.code(&totp);
    secrets.codes.push(first.clone());
    let app = h
        .mfa
        .confirm_app_enrollment(&alice, enrollment.method(), &first)
        .await
        .unwrap();
    debug.push(format!("{app:?}"));
    let app = app.method.id;

    // A phone.
    let proof = h.verify_next(&alice, app, &totp).await;
    secrets.codes.push(h.code(&totp));
    debug.push(format!("{proof:?}"));
    let sent = h
        .mfa
        .begin_phone_enrollment(&alice, PhoneKind::Mobile, MOBILE, Channel::Sms, Some(proof.at()))
        .await
        .unwrap();
    debug.push(format!("{sent:?}"));
    let code = h.last_code(MOBILE);
    secrets.codes.push(code.clone());
    check_store(&h, &secrets);
    let mobile = h
        .mfa
        .confirm_phone_enrollment(&alice, sent.method, &code)
        .await
        .unwrap()
        .method
        .id;
    h.advance(1);

    // A sign-in with an SMS code, remembered.
    let sign_in = h
        .mfa
        .begin_sign_in(&alice, None, SignInContext::sign_in(h.now()))
        .await
        .unwrap();
    debug.push(format!("{sign_in:?}"));
    let challenge = h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    debug.push(format!("{challenge:?}"));
    let code = h.last_code(MOBILE);
    secrets.codes.push(code.clone());
    debug.push(format!("{:?}", h.phones.sent()));
    // Outstanding: only its tag is stored.
    check_store(&h, &secrets);
    let wrong_result = h.mfa.verify(&alice, mobile, &wrong(&code)).await;
    debug.push(format!("{wrong_result:?}"));
    let proof = h.mfa.verify(&alice, mobile, &code).await.unwrap();
    let remembered = h.mfa.remember_device(&proof, "Laptop").await.unwrap();
    debug.push(format!("{remembered:?}"));
    debug.push(format!("{:?}", remembered.token));
    secrets.long.push(remembered.token.expose().to_owned());
    let token_bytes = URL_SAFE_NO_PAD.decode(remembered.token.expose()).unwrap();
    secrets.long.extend(byte_forms(&token_bytes));

    // Recovery codes and an app password.
    let codes = h
        .mfa
        .generate_recovery_codes(&alice, Some(proof.at()))
        .await
        .unwrap();
    debug.push(format!("{codes:?}"));
    for code in codes.codes() {
        secrets.long.push(code.to_owned());
        secrets.long.push(code.replace('-', ""));
        secrets.long.push(code.to_uppercase());
    }
    let first_recovery = codes.codes().next().unwrap().to_owned();
    let redeemed = h.mfa.redeem_recovery_code(&alice, &first_recovery).await.unwrap();
    debug.push(format!("{redeemed:?}"));
    let password = h
        .mfa
        .create_app_password(&alice, "Mail", Some(proof.at()))
        .await
        .unwrap();
    debug.push(format!("{password:?}"));
    secrets.long.push(password.password.expose().to_owned());
    secrets.long.push(password.password.expose().replace(' ', ""));
    h.mfa
        .verify_app_password(&alice, password.password.expose(), None)
        .await
        .unwrap();
    let bad_app_password = h
        .mfa
        .verify_app_password(&alice, "abcd efgh ijkl mnop", None)
        .await;
    debug.push(format!("{bad_app_password:?}"));

    // Later sign-ins: with the device, with the app.
    h.advance(86_400);
    let again = h
        .mfa
        .begin_sign_in(
            &alice,
            Some(remembered.token.expose()),
            SignInContext::sign_in(h.now()),
        )
        .await
        .unwrap();
    assert!(again.device.is_some());
    debug.push(format!("{again:?}"));
    let code = h.code(&totp);
    secrets.codes.push(code.clone());
    h.mfa.verify(&alice, app, &code).await.unwrap();
    let replay = h.mfa.verify(&alice, app, &code).await;
    debug.push(format!("{replay:?}"));

    // What the settings pages show.
    debug.push(format!("{:?}", h.mfa.list_methods(&alice).await.unwrap()));
    debug.push(format!("{:?}", h.mfa.list_devices(&alice).await.unwrap()));
    debug.push(format!("{:?}", h.mfa.list_app_passwords(&alice).await.unwrap()));
    debug.push(format!("{:?}", h.store.list_methods(&alice).await.unwrap()));
    // The service, with its store, keys and recording delivery inside.
    debug.push(format!("{:?}", h.mfa));
    debug.push(format!("{:?}", h.events.events()));

    check_store(&h, &secrets);
    let events = h.events_json();
    for secret in &secrets.long {
        assert!(!events.contains(secret.as_str()), "{secret} in the events");
        for (i, text) in debug.iter().enumerate() {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} in Debug output #{i}: {text}"
            );
        }
    }
    for code in &secrets.codes {
        assert!(!has_code(&events, code), "{code} in the events");
        for (i, text) in debug.iter().enumerate() {
            assert!(!has_code(text, code), "{code} in Debug output #{i}: {text}");
        }
    }
}

fn check_store(h: &Harness, secrets: &Plaintexts) {
    let stored = h.store_json();
    for secret in &secrets.long {
        assert!(
            !stored.contains(secret.as_str()),
            "{secret} in the store: {stored}"
        );
    }
    for code in &secrets.codes {
        assert!(!has_code(&stored, code), "{code} in the store: {stored}");
    }
}

/// The sealed secrets of the user's apps, by method.
async fn sealed(store: &MemoryStore, user: &UserId) -> Vec<(MethodId, SealedSecret)> {
    store
        .list_methods(user)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m.credential {
            Credential::AuthenticatorApp { secret, .. } => Some((m.id, secret)),
            _ => None,
        })
        .collect()
}

fn ring_1() -> KeyRing {
    KeyRing::new(KeyId(1), &KEY_1).unwrap()
}

fn ring_2_over_1() -> KeyRing {
    KeyRing::new(KeyId(2), &KEY_2)
        .unwrap()
        .with_previous(KeyId(1), &KEY_1)
        .unwrap()
}

fn ring_2_only() -> KeyRing {
    KeyRing::new(KeyId(2), &KEY_2).unwrap()
}

/// Services over one store and clock with different key rings.
fn service(store: &MemoryStore, clock: &Arc<ManualClock>, keys: KeyRing) -> Harness {
    build(config(), keys, store.clone(), clock.clone())
}

#[tokio::test]
async fn a_new_key_reseals_a_secret_when_it_verifies() {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(START)));
    let old = service(&store, &clock, ring_1());
    let alice = user("alice");
    let (app, totp) = old.enroll_app(&alice, None).await;
    let before = sealed(&store, &alice).await;
    assert_eq!(before[0].1.key_id(), KeyId(1));

    // A service with only the new key cannot open it yet.
    let new_only = service(&store, &clock, ring_2_only());
    new_only.advance(30);
    assert!(matches!(
        new_only.mfa.verify(&alice, app, &new_only.code(&totp)).await,
        Err(Error::UnknownKey { id: KeyId(1) })
    ));

    // The rotated ring opens the old ciphertext; a wrong code is refused and reseals nothing.
    let rotated = service(&store, &clock, ring_2_over_1());
    rotated.advance(3600); // past any lock the attempt above may have counted toward
    assert!(matches!(
        rotated.mfa.verify(&alice, app, &rotated.wrong_code(&totp)).await,
        Err(Error::Rejected)
    ));
    assert_eq!(sealed(&store, &alice).await, before);
    assert_eq!(sealed(&store, &alice).await[0].1.key_id(), KeyId(1));
    // A right code reseals it.
    rotated.verify_next(&alice, app, &totp).await;
    let after = sealed(&store, &alice).await;
    assert_eq!(after[0].1.key_id(), KeyId(2));
    assert_ne!(after[0].1.as_bytes(), before[0].1.as_bytes());

    // Now the new key alone suffices, and the old key alone no longer does.
    new_only.verify_next(&alice, app, &totp).await;
    old.advance(30);
    assert!(matches!(
        old.mfa.verify(&alice, app, &old.code(&totp)).await,
        Err(Error::UnknownKey { id: KeyId(2) })
    ));
}

#[tokio::test]
async fn reencrypt_user_reseals_every_old_secret_at_once() {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(START)));
    let old = service(&store, &clock, ring_1());
    let alice = user("alice");
    let (app, totp) = old.enroll_app(&alice, None).await;
    let proof = old.verify_next(&alice, app, &totp).await;
    let accepted_first = old.code(&totp);
    let (second, second_totp) = old.enroll_app(&alice, Some(proof.at())).await;
    let proof = old.last_registration().unwrap();
    // The code that confirmed the second app (same clock): its step is used.
    let accepted_second = old.code(&second_totp);
    old.enroll_mobile(&alice, MOBILE, Some(proof)).await;
    let before = sealed(&store, &alice).await;
    assert_eq!(before.len(), 2);
    assert!(before.iter().all(|(_, s)| s.key_id() == KeyId(1)));

    let rotated = service(&store, &clock, ring_2_over_1());
    assert_eq!(rotated.mfa.reencrypt_user(&alice).await.unwrap(), 2);
    assert_eq!(
        rotated.events.kinds(),
        vec![EventKind::SecretsReencrypted { count: 2 }]
    );
    let after = sealed(&store, &alice).await;
    assert!(after.iter().all(|(_, s)| s.key_id() == KeyId(2)));
    // Nothing left to do, and no event for nothing.
    assert_eq!(rotated.mfa.reencrypt_user(&alice).await.unwrap(), 0);
    assert_eq!(rotated.events.kinds().len(), 1);
    assert_eq!(rotated.mfa.reencrypt_user(&user("nobody")).await.unwrap(), 0);

    // Replay protection survived the resealing: the codes accepted before it, still inside the
    // window (the clock has not moved), are refused as replays.
    let new_only = service(&store, &clock, ring_2_only());
    for (method, code) in [(app, &accepted_first), (second, &accepted_second)] {
        assert!(matches!(
            new_only.mfa.verify(&alice, method, code).await,
            Err(Error::Rejected)
        ));
        assert!(
            new_only
                .events
                .kinds()
                .contains(&EventKind::ReplayRefused { method })
        );
    }
    // Both apps work under the new key alone.
    new_only.verify_next(&alice, app, &totp).await;
    new_only.verify_next(&alice, second, &second_totp).await;
}

#[tokio::test]
async fn damaged_or_misplaced_ciphertext_is_a_typed_error() {
    let h = harness();
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    let proof = h.verify_next(&alice, app, &totp).await;
    let (second, second_totp) = h.enroll_app(&alice, Some(proof.at())).await;
    let bob = user("bob");
    let (bobs_app, _) = h.enroll_app(&bob, None).await;
    let original = sealed(&h.store, &alice).await[0].1.clone();
    let bytes = original.as_bytes().to_vec();

    let mut damaged: Vec<(&str, SealedSecret)> = Vec::new();
    let format = [
        ("format byte", 0),
        ("nonce", 1),
        ("ciphertext", 20),
        ("tag", bytes.len() - 1),
    ];
    for (what, index) in format {
        let mut flipped = bytes.clone();
        flipped[index] ^= 0x01;
        damaged.push((what, SealedSecret::from_parts(KeyId(1), flipped)));
    }
    damaged.push((
        "truncated",
        SealedSecret::from_parts(KeyId(1), bytes[..39].to_vec()),
    ));
    damaged.push(("empty", SealedSecret::from_parts(KeyId(1), Vec::new())));
    damaged.push((
        "one byte short",
        SealedSecret::from_parts(KeyId(1), bytes[..bytes.len() - 1].to_vec()),
    ));
    damaged.push(("another method's", sealed(&h.store, &alice).await[1].1.clone()));
    damaged.push(("another user's", sealed(&h.store, &bob).await[0].1.clone()));
    assert_eq!(sealed(&h.store, &bob).await[0].0, bobs_app);

    for (what, secret) in damaged {
        assert!(h.store.update_app_secret(&alice, app, secret).await.unwrap());
        h.advance(3600);
        let result = h.mfa.verify(&alice, app, &h.code(&totp)).await;
        assert!(matches!(result, Err(Error::Decrypt)), "{what}: {result:?}");
    }

    // A key id the ring does not have.
    let unknown = SealedSecret::from_parts(KeyId(9), bytes.clone());
    assert!(h.store.update_app_secret(&alice, app, unknown).await.unwrap());
    h.advance(3600);
    assert!(matches!(
        h.mfa.verify(&alice, app, &h.code(&totp)).await,
        Err(Error::UnknownKey { id: KeyId(9) })
    ));

    // Re-encryption meets the same errors instead of sealing garbage.
    let mut flipped = bytes.clone();
    flipped[30] ^= 0x80;
    let damaged_old = SealedSecret::from_parts(KeyId(1), flipped);
    assert!(
        h.store
            .update_app_secret(&alice, app, damaged_old.clone())
            .await
            .unwrap()
    );
    let rotated = service(&h.store, &h.clock, ring_2_over_1());
    assert!(matches!(
        rotated.mfa.reencrypt_user(&alice).await,
        Err(Error::Decrypt)
    ));
    assert_eq!(sealed(&h.store, &alice).await[0].1, damaged_old);

    // The untouched app still works; restoring the original ciphertext restores the first one.
    h.advance(3600);
    h.verify_next(&alice, second, &second_totp).await;
    assert!(h.store.update_app_secret(&alice, app, original).await.unwrap());
    h.verify_next(&alice, app, &totp).await;
}

/// `plain` sealed for (`user`, `method`) under `key` (id `key_id`) the way the first format did:
/// XChaCha20-Poly1305, 24-byte nonce ‖ ciphertext ‖ tag, no format byte.
fn sealed_in_first_format(
    key: &[u8; 32],
    key_id: KeyId,
    user: &UserId,
    method: MethodId,
    plain: &[u8],
    nonce: [u8; 24],
) -> SealedSecret {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let mut aad = b"mfa/totp-secret/v1\0".to_vec();
    aad.extend_from_slice(&key_id.0.to_be_bytes());
    aad.extend_from_slice(method.as_bytes());
    aad.extend_from_slice(user.as_str().as_bytes());
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.into());
    let ciphertext = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plain,
                aad: &aad,
            },
        )
        .unwrap();
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&ciphertext);
    SealedSecret::from_parts(key_id, bytes)
}

/// Registers an app and returns its id, its TOTP and the plaintext secret.
async fn enroll_app_with_secret(h: &Harness, user: &UserId) -> (MethodId, mfa_otp::Totp, Vec<u8>) {
    let enrollment = h
        .mfa
        .begin_app_enrollment(user, "alice@example.com", "Phone", None)
        .await
        .unwrap();
    let key = KeyUri::parse(enrollment.uri().as_str()).unwrap();
    let plain = key.secret().expose_bytes().to_vec();
    let totp = key.to_totp().unwrap();
    h.mfa
        .confirm_app_enrollment(user, enrollment.method(), &h.code(&totp))
        .await
        .unwrap();
    (enrollment.method(), totp, plain)
}

#[tokio::test]
async fn a_secret_sealed_in_the_first_format_opens_and_is_resealed_in_the_current_one() {
    let h = harness();
    let alice = user("alice");
    let (app, totp, plain) = enroll_app_with_secret(&h, &alice).await;
    let old = sealed_in_first_format(&KEY_1, KeyId(1), &alice, app, &plain, [0x24; 24]);
    assert!(h.store.update_app_secret(&alice, app, old.clone()).await.unwrap());

    // A wrong code opens it but reseals nothing.
    h.advance(30);
    assert!(matches!(
        h.mfa.verify(&alice, app, &h.wrong_code(&totp)).await,
        Err(Error::Rejected)
    ));
    assert_eq!(sealed(&h.store, &alice).await[0].1, old);
    // A right code opens it and reseals it in the current format, under the same key.
    h.verify_next(&alice, app, &totp).await;
    let new = sealed(&h.store, &alice).await[0].1.clone();
    assert_eq!(new.key_id(), KeyId(1));
    assert_eq!(new.as_bytes()[0], 0x01);
    assert_eq!(new.as_bytes().len(), 1 + 12 + plain.len() + 16);
    h.verify_next(&alice, app, &totp).await;
    assert_eq!(
        sealed(&h.store, &alice).await[0].1,
        new,
        "current: not resealed again"
    );

    // `reencrypt_user` upgrades one too, and then has nothing left to do.
    let bob = user("bob");
    let (bobs_app, bobs_totp, bobs_plain) = enroll_app_with_secret(&h, &bob).await;
    let old = sealed_in_first_format(&KEY_1, KeyId(1), &bob, bobs_app, &bobs_plain, [0x42; 24]);
    assert!(h.store.update_app_secret(&bob, bobs_app, old).await.unwrap());
    assert_eq!(h.mfa.reencrypt_user(&bob).await.unwrap(), 1);
    let upgraded = sealed(&h.store, &bob).await[0].1.clone();
    assert_eq!(upgraded.as_bytes()[0], 0x01);
    assert_eq!(upgraded.as_bytes().len(), 1 + 12 + bobs_plain.len() + 16);
    assert_eq!(h.mfa.reencrypt_user(&bob).await.unwrap(), 0);
    h.verify_next(&bob, bobs_app, &bobs_totp).await;
}

#[tokio::test]
async fn an_old_secret_that_begins_with_the_format_byte_opens_and_is_upgraded_like_any_other() {
    // 1 in 256 secrets of the first format begin with the format byte by chance. They open (the
    // current format's tag check fails, the first format's passes), and opening tells their format, so
    // the next verification reseals them like any other old secret.
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(START)));
    let h = service(&store, &clock, ring_1());
    let alice = user("alice");
    let (app, totp, plain) = enroll_app_with_secret(&h, &alice).await;
    let mut nonce = [0x24; 24];
    nonce[0] = 0x01;
    let old = sealed_in_first_format(&KEY_1, KeyId(1), &alice, app, &plain, nonce);
    assert!(h.store.update_app_secret(&alice, app, old.clone()).await.unwrap());
    h.verify_next(&alice, app, &totp).await;
    let upgraded = sealed(&store, &alice).await[0].1.clone();
    assert_ne!(upgraded, old);
    assert_eq!(upgraded.as_bytes().len(), 1 + 12 + plain.len() + 16);
    assert_eq!(h.mfa.reencrypt_user(&alice).await.unwrap(), 0);

    // reencrypt_user finds one too.
    assert!(h.store.update_app_secret(&alice, app, old).await.unwrap());
    assert_eq!(h.mfa.reencrypt_user(&alice).await.unwrap(), 1);
    h.verify_next(&alice, app, &totp).await;

    let rotated = service(&store, &clock, ring_2_over_1());
    assert_eq!(rotated.mfa.reencrypt_user(&alice).await.unwrap(), 1);
    let new = sealed(&store, &alice).await[0].1.clone();
    assert_eq!(new.key_id(), KeyId(2));
    assert_eq!(new.as_bytes().len(), 1 + 12 + plain.len() + 16);
    rotated.verify_next(&alice, app, &totp).await;
}

#[tokio::test]
async fn a_pending_registration_is_sealed_for_its_user_and_method() {
    let h = harness();
    let alice = user("alice");
    let enrollment = h
        .mfa
        .begin_app_enrollment(&alice, "alice", "Phone", None)
        .await
        .unwrap();
    let pending = h.store.get_pending(&alice).await.unwrap().unwrap();
    assert_eq!(pending.method.id, enrollment.method());
    match &pending.method.credential {
        Credential::AuthenticatorApp { secret, .. } => {
            assert_eq!(secret.key_id(), KeyId(1));
            let key = KeyUri::parse(enrollment.uri().as_str()).unwrap();
            let plain = key.secret().expose_bytes();
            // The format byte, a 12-byte nonce, the ciphertext, a 16-byte tag; the plaintext is not in it.
            assert_eq!(secret.as_bytes()[0], 0x01);
            assert_eq!(secret.as_bytes().len(), 1 + 12 + plain.len() + 16);
            assert!(!secret.as_bytes().windows(plain.len()).any(|w| w == plain));
            assert_eq!(
                format!("{secret:?}"),
                format!(
                    "SealedSecret {{ key_id: KeyId(1), len: {} }}",
                    secret.as_bytes().len()
                )
            );
        }
        other => panic!("expected an app, got {other:?}"),
    }
}

#[tokio::test]
async fn debug_output_masks_phone_numbers() {
    // Not a secret, but personal data: `Debug` (what ends up in logs) shows the last two digits only,
    // the service and its in-memory store included. Events carry no number at all.
    let h = harness();
    let alice = user("alice");
    let mobile = h.enroll_mobile(&alice, MOBILE, None).await;
    h.advance(30);
    let challenge = h.mfa.challenge(&alice, Some(mobile), None).await.unwrap();
    let outputs = [
        format!("{:?}", h.mfa),
        format!("{:?}", h.store),
        format!("{:?}", h.phones),
        format!("{challenge:?}"),
        format!("{:?}", h.mfa.list_methods(&alice).await.unwrap()),
        format!("{:?}", h.store.list_methods(&alice).await.unwrap()),
        h.events_json(),
    ];
    for (i, text) in outputs.iter().enumerate() {
        assert!(!text.contains("4155550100"), "#{i}: {text}");
    }
    assert!(outputs[0].contains("+*********00"));
    // The store's JSON is what a database holds: the number, to send codes to.
    assert!(h.store_json().contains(MOBILE));
}

#[tokio::test]
async fn reencrypt_user_reseals_a_pending_registration_so_the_old_key_can_go() {
    // Issue 12, item 6b: a registration begun under the old key, re-encrypted, then confirmed with
    // only the new key.
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(START)));
    let old = service(&store, &clock, ring_1());
    let alice = user("alice");
    let enrollment = old
        .mfa
        .begin_app_enrollment(&alice, "alice", "Phone", None)
        .await
        .unwrap();
    let totp = KeyUri::parse(enrollment.uri().as_str())
        .unwrap()
        .to_totp()
        .unwrap();
    let rotated = service(&store, &clock, ring_2_over_1());
    assert_eq!(rotated.mfa.reencrypt_user(&alice).await.unwrap(), 1);
    let pending = store.get_pending(&alice).await.unwrap().unwrap();
    match &pending.method.credential {
        Credential::AuthenticatorApp { secret, .. } => assert_eq!(secret.key_id(), KeyId(2)),
        other => panic!("expected an app, got {other:?}"),
    }
    assert_eq!(rotated.mfa.reencrypt_user(&alice).await.unwrap(), 0);
    let new_only = service(&store, &clock, ring_2_only());
    new_only
        .mfa
        .confirm_app_enrollment(&alice, enrollment.method(), &new_only.code(&totp))
        .await
        .unwrap();
}
