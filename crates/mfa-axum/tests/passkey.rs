//! Passkeys through MfaWeb and the JSON routes (the `webauthn` feature), with mfa-webauthn's test
//! software authenticator: registration at "More information required" and from a signed-in session,
//! sign-in by passkey completing the sign-in as a code does, "don't ask again", a replayed answer,
//! another relying party, a removed passkey, and the session's pending registration.
#![cfg(feature = "webauthn")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../../mfa-webauthn/tests/support/mod.rs"]
mod soft;

use std::time::Duration;

use axum::http::StatusCode;
use common::{Client, Host};
use mfa_axum::WebConfig;
use serde_json::{Value, json};
use soft::SoftAuthenticator;

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

fn as_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Bob (no method yet) signs in with his password: the policy sends him to registration.
async fn bob_at_registration(browser: &mut Client) {
    let answer = browser.password_of("bob", "battery+staple").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("second_factor_pending"), "{}", answer.body);
    let me = browser.get("/me").await;
    assert_ne!(me.status, StatusCode::OK, "{}", me.body);
}

/// Registers `key` through the JSON routes: the options, the authenticator's answer, the confirmation.
/// Answers the method's id and the credential posted.
async fn register(
    browser: &mut Client,
    key: &mut SoftAuthenticator,
    remember_as: Option<&str>,
) -> (String, Value) {
    let answer = browser
        .json(
            "POST",
            "/api/register/passkey",
            Some(json!({ "name": "YubiKey", "kind": "security_key", "user_name": "bob@example.com" })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let begun = parse(&answer.body);
    assert!(begun["options"]["publicKey"]["challenge"].is_string(), "{begun}");
    assert_eq!(begun["options"]["publicKey"]["rp"]["id"], "example.com");
    assert!(begun.get("method").is_some());
    let response = key.register(&begun["options"].to_string());
    let mut body = json!({ "credential": as_json(&response) });
    let sent = body.clone();
    if let Some(name) = remember_as {
        body["remember_as"] = json!(name);
    }
    let answer = browser
        .json("POST", "/api/register/passkey/confirm", Some(body))
        .await;
    let mut body = sent;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let done = parse(&answer.body);
    assert_eq!(done["method"]["id"], begun["method"]);
    assert_eq!(done["method"]["kind"], "passkey");
    (
        begun["method"].as_str().unwrap().to_owned(),
        body["credential"].take(),
    )
}

/// The sign-in options and the authenticator's answer to them.
async fn assertion(browser: &mut Client, key: &mut SoftAuthenticator, method: Option<&str>) -> Value {
    let answer = browser
        .json("POST", "/api/passkey", Some(json!({ "method": method })))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let sent = parse(&answer.body);
    assert!(sent["expires_at"].is_number(), "{sent}");
    as_json(&key.authenticate(&sent["options"].to_string()))
}

#[tokio::test]
async fn registration_at_more_information_required_completes_the_sign_in_and_the_passkey_signs_in() {
    let host = Host::new(WebConfig::localhost_http()).await;
    let mut browser = host.client();
    bob_at_registration(&mut browser).await;
    let mut key = SoftAuthenticator::security_key(1);
    let (method, registration) = register(&mut browser, &mut key, None).await;
    // The registration's proof completed the sign-in.
    let me = browser.get("/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    // Its pending registration is gone: the same confirmation again finds none.
    let again = browser
        .json(
            "POST",
            "/api/register/passkey/confirm",
            Some(json!({ "credential": registration })),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
    browser.post("/sign-out", "").await;

    // A new sign-in: the password, then the passkey.
    let mut browser = host.client();
    let answer = browser.password_of("bob", "battery+staple").await;
    assert!(answer.body.contains("second_factor_pending"), "{}", answer.body);
    assert_ne!(browser.get("/me").await.status, StatusCode::OK);
    let credential = assertion(&mut browser, &mut key, Some(&method)).await;
    let session_before = browser.session_id();
    let answer = browser
        .json(
            "POST",
            "/api/passkey/verify",
            Some(json!({ "credential": credential })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let done = parse(&answer.body);
    assert!(done["verified_at"].is_number());
    assert_eq!(done["recovery_codes_left"], Value::Null);
    // Signed in, under a new session id, and no device remembered unasked.
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
    assert_ne!(browser.session_id(), session_before);
    assert!(answer.set_cookie("mfa_device").is_none());

    // The same answer again: its challenge was used.
    let replay = browser
        .json(
            "POST",
            "/api/passkey/verify",
            Some(json!({ "credential": credential })),
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.body);
}

#[tokio::test]
async fn remember_as_remembers_the_device_after_a_passkey_sign_in() {
    let host = Host::new(WebConfig::localhost_http()).await;
    let mut browser = host.client();
    bob_at_registration(&mut browser).await;
    let mut key = SoftAuthenticator::passkey(2);
    register(&mut browser, &mut key, None).await;
    browser.post("/sign-out", "").await;
    // A moment later (the registration revoked what came before it, to the millisecond).
    host.clock.advance(Duration::from_secs(1));

    let mut browser = host.client();
    browser.password_of("bob", "battery+staple").await;
    // Without a method: the user's passkey.
    let credential = assertion(&mut browser, &mut key, None).await;
    let answer = browser
        .json(
            "POST",
            "/api/passkey/verify",
            Some(json!({ "credential": credential, "remember_as": "Laptop" })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.set_cookie("mfa_device").is_some());
    let devices = browser.json("GET", "/api/devices", None).await;
    assert!(devices.body.contains("Laptop"), "{}", devices.body);
}

#[tokio::test]
async fn an_assertion_for_another_relying_party_is_refused_and_the_sign_in_stays_pending() {
    let host = Host::new(WebConfig::localhost_http()).await;
    let mut browser = host.client();
    bob_at_registration(&mut browser).await;
    let mut key = SoftAuthenticator::security_key(3);
    let (method, _) = register(&mut browser, &mut key, None).await;
    browser.post("/sign-out", "").await;

    let mut browser = host.client();
    browser.password_of("bob", "battery+staple").await;
    key.rp_id_override = Some("evil.example".into());
    let credential = assertion(&mut browser, &mut key, Some(&method)).await;
    let answer = browser
        .json(
            "POST",
            "/api/passkey/verify",
            Some(json!({ "credential": credential })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_ne!(browser.get("/me").await.status, StatusCode::OK);
    // The genuine key still signs in, with a new challenge.
    key.rp_id_override = None;
    let credential = assertion(&mut browser, &mut key, Some(&method)).await;
    let answer = browser
        .json(
            "POST",
            "/api/passkey/verify",
            Some(json!({ "credential": credential })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_removed_passkey_offers_no_options_and_its_answer_is_refused() {
    let host = Host::new(WebConfig::localhost_http()).await;
    let mut browser = host.client();
    // Alice, signed in with her app (a fresh proof), adds a passkey from her security info.
    browser.sign_in(&host, false).await;
    let mut key = SoftAuthenticator::passkey(4);
    let (method, _) = register(&mut browser, &mut key, None).await;
    let methods = browser.json("GET", "/api/methods", None).await;
    assert!(methods.body.contains("YubiKey"), "{}", methods.body);
    browser.post("/sign-out", "").await;

    let mut browser = host.client();
    browser.password().await;
    let credential = assertion(&mut browser, &mut key, Some(&method)).await;
    // Removed meanwhile (from another session).
    let mut other = host.client();
    // The app's next code (the last one was used).
    host.clock.advance(Duration::from_secs(30));
    other.sign_in(&host, false).await;
    let removed = other
        .json("DELETE", &format!("/api/methods/{method}"), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);

    let answer = browser
        .json(
            "POST",
            "/api/passkey/verify",
            Some(json!({ "credential": credential })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let options = browser
        .json("POST", "/api/passkey", Some(json!({ "method": method })))
        .await;
    assert_eq!(options.status, StatusCode::NOT_FOUND, "{}", options.body);
    // Nor is her app taken for a passkey: no code is sent for it.
    let options = browser
        .json("POST", "/api/passkey", Some(json!({ "method": host.app })))
        .await;
    assert_eq!(options.status, StatusCode::NOT_FOUND, "{}", options.body);
}

#[tokio::test]
async fn a_signed_in_user_with_methods_needs_a_fresh_proof_to_add_a_passkey() {
    let host = Host::new(WebConfig::localhost_http()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    host.clock.advance(Duration::from_secs(24 * 3600));
    let answer = browser
        .json("POST", "/api/register/passkey", Some(json!({})))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
}

#[tokio::test]
async fn passkey_routes_need_a_sign_in_and_json() {
    let host = Host::new(WebConfig::localhost_http()).await;
    let mut browser = host.client();
    browser.fetch_csrf().await;
    for path in ["/api/passkey", "/api/register/passkey"] {
        let answer = browser.json("POST", path, Some(json!({}))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}: {}", answer.body);
    }
    bob_at_registration(&mut browser).await;
    let answer = browser
        .json(
            "POST",
            "/api/register/passkey/confirm",
            Some(json!({ "nothing": 1 })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", answer.body);
    // No registration begun in this session.
    let answer = browser
        .json(
            "POST",
            "/api/register/passkey/confirm",
            Some(json!({ "credential": {} })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
}
