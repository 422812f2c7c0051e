//! The optional JSON routes, mounted under /api.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::Host;
use mfa::Clock;
use mfa_axum::WebConfig;
use serde_json::{Value, json};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn challenge_and_verify_complete_a_pending_sign_in_and_remember_the_device() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    // Nothing before the password.
    browser.fetch_csrf().await;
    let answer = browser.json("POST", "/api/challenge", Some(json!({}))).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    assert_eq!(browser.password().await.status, StatusCode::OK);
    let answer = browser.json("POST", "/api/challenge", Some(json!({}))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        parse(&answer.body),
        json!({ "kind": "authenticator_app", "method": host.app.to_string() })
    );
    // Signed-in routes wait for the second factor.
    assert_eq!(browser.get("/api/methods").await.status, StatusCode::UNAUTHORIZED);

    let pending = browser.session_id();
    let body = json!({ "method": host.app, "code": host.code(), "remember_as": "Firefox on Linux" });
    let answer = browser.json("POST", "/api/verify", Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.set_cookie("mfa_device").unwrap().contains("HttpOnly"));
    assert_ne!(browser.session_id(), pending);
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);

    let methods = parse(&browser.get("/api/methods").await.body);
    assert_eq!(methods[0]["id"], json!(host.app.to_string()));
    let devices = parse(&browser.get("/api/devices").await.body);
    let id = devices[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(devices[0]["name"], "Firefox on Linux");

    let answer = browser.json("DELETE", &format!("/api/devices/{id}"), None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    assert_eq!(parse(&browser.get("/api/devices").await.body), json!([]));
    let answer = browser.json("DELETE", &format!("/api/devices/{id}"), None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = browser.json("DELETE", "/api/devices/not-an-id", None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        parse(&browser.get("/api/recovery-codes").await.body),
        json!({ "left": 0 })
    );
}

#[tokio::test]
async fn json_posts_need_the_csrf_header_and_wrong_codes_are_401() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    assert_eq!(browser.password().await.status, StatusCode::OK);
    let token = browser.csrf.take();
    let body = json!({ "method": host.app, "code": host.code() });
    let answer = browser.json("POST", "/api/verify", Some(body.clone())).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    browser.csrf = token;
    let wrong = if host.code() == "000000" {
        "111111"
    } else {
        "000000"
    };
    let answer = browser
        .json(
            "POST",
            "/api/verify",
            Some(json!({ "method": host.app, "code": wrong })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body, r#"{"error":"verification failed"}"#);
    let answer = browser.json("POST", "/api/verify", Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn a_signed_in_user_steps_up_through_the_json_verify() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    host.clock.advance(Duration::from_secs(3600));
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::FORBIDDEN);
    let body = json!({ "method": host.app, "code": host.code() });
    let answer = browser.json("POST", "/api/verify", Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::OK);
}

/// A JSON error: the status, and a body `{"error": "..."}` with a message.
fn assert_json_error(answer: &common::Answer, status: StatusCode) {
    assert_eq!(answer.status, status, "{}", answer.body);
    let body = parse(&answer.body);
    assert!(
        body["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        answer.body
    );
    assert_eq!(answer.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn malformed_bodies_and_ids_are_json_errors_and_nothing_is_cached() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    let json = Some("application/json");
    // Not JSON; JSON without the fields; a malformed id in the body; no JSON content type.
    let answer = browser.raw("POST", "/api/verify", json, "{\"method\":").await;
    assert_json_error(&answer, StatusCode::BAD_REQUEST);
    let answer = browser
        .raw("POST", "/api/verify", json, r#"{"code":"123456"}"#)
        .await;
    assert_json_error(&answer, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("method"), "{}", answer.body);
    let body = r#"{"method":"not-an-id","code":"123456"}"#;
    let answer = browser.raw("POST", "/api/verify", json, body).await;
    assert_json_error(&answer, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("invalid id"), "{}", answer.body);
    let answer = browser.raw("POST", "/api/challenge", None, "{}").await;
    assert_json_error(&answer, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Ids in the path: too short, not hexadecimal, not UTF-8 once decoded.
    for id in ["abc", &"g".repeat(32), "%FF%FE"] {
        let answer = browser.json("DELETE", &format!("/api/devices/{id}"), None).await;
        assert_json_error(&answer, StatusCode::BAD_REQUEST);
        assert_eq!(
            parse(&answer.body)["error"],
            "invalid id: expected 32 hexadecimal digits"
        );
    }
    // Answers that succeed are not cached either.
    let answer = browser.get("/api/methods").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["cache-control"], "no-store");
}

/// The current code of the authenticator app whose `otpauth://` URI this is.
fn app_code(host: &Host, uri: &str) -> String {
    let totp = mfa_enroll::KeyUri::parse(uri).unwrap().to_totp().unwrap();
    totp.generate(host.clock.now().as_secs() as u64)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_app_registered_during_a_pending_register_sign_in_completes_it() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    // Nothing before the password.
    browser.fetch_csrf().await;
    let answer = browser.json("POST", "/api/register/app", Some(json!({}))).await;
    assert_json_error(&answer, StatusCode::UNAUTHORIZED);

    // Bob has no method: "More information required".
    let answer = browser.password_of("bob", "battery+staple").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("second_factor_pending"), "{}", answer.body);
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);

    let body = json!({ "name": "Pixel", "account": "bob@example.com" });
    let answer = browser.json("POST", "/api/register/app", Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let begun = parse(&answer.body);
    let uri = begun["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains("bob%40example.com"), "{uri}");
    // The key for typing is the URI's secret in groups of four.
    let secret = begun["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 39, "{secret}");
    assert!(
        uri.contains(&format!("secret={}", secret.replace(' ', ""))),
        "{uri}"
    );
    assert!(begun["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(
        begun["qr_data_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    assert!(begun["expires_at"].is_number());
    let method = begun["method"].as_str().unwrap().to_owned();

    // A wrong code: refused, still pending.
    let code = app_code(&host, uri);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let answer = browser
        .json(
            "POST",
            "/api/register/app/confirm",
            Some(json!({ "method": method, "code": wrong })),
        )
        .await;
    assert_json_error(&answer, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);

    // The right code proves the new method: signed in, under a new session id, device remembered.
    let pending = browser.session_id();
    let body = json!({ "method": method, "code": code, "remember_as": "Firefox on Linux" });
    let answer = browser
        .json("POST", "/api/register/app/confirm", Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let confirmed = parse(&answer.body);
    assert_eq!(confirmed["method"]["id"], json!(method));
    assert_eq!(confirmed["method"]["name"], "Pixel");
    assert_eq!(confirmed["method"]["is_default"], true);
    assert!(confirmed["verified_at"].is_number());
    assert!(answer.set_cookie("mfa_device").unwrap().contains("HttpOnly"));
    assert_ne!(browser.session_id(), pending);
    assert_eq!(browser.get("/me").await.body, host.bob.to_string());
    // Freshly proven: sensitive actions pass.
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::OK);
    let devices = parse(&browser.get("/api/devices").await.body);
    assert_eq!(devices[0]["name"], "Firefox on Linux");
}

#[tokio::test]
async fn a_phone_registered_during_a_pending_register_sign_in_completes_it() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.password_of("bob", "battery+staple").await;

    // What the facade refuses, as JSON: a number that is not E.164, SMS to an office phone, and a
    // kind of phone there is not.
    let body = json!({ "kind": "mobile", "number": "555-2671" });
    let answer = browser.json("POST", "/api/register/phone", Some(body)).await;
    assert_json_error(&answer, StatusCode::BAD_REQUEST);
    let body = json!({ "kind": "office", "number": "+14155552671", "channel": "sms" });
    let answer = browser.json("POST", "/api/register/phone", Some(body)).await;
    assert_json_error(&answer, StatusCode::UNPROCESSABLE_ENTITY);
    let body = json!({ "kind": "fax", "number": "+14155552671" });
    let answer = browser.json("POST", "/api/register/phone", Some(body)).await;
    assert_json_error(&answer, StatusCode::UNPROCESSABLE_ENTITY);

    // A mobile: a text by default.
    let body = json!({ "kind": "mobile", "number": "+1 415 555 2671" });
    let answer = browser.json("POST", "/api/register/phone", Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let sent = parse(&answer.body);
    assert_eq!(sent["channel"], "sms");
    assert_eq!(sent["masked_number"], "+*********71");
    let method = sent["method"].as_str().unwrap().to_owned();
    let number = "+14155552671".parse().unwrap();
    let code = host.mfa.delivery().last_code_to(&number).unwrap();
    assert!(!answer.body.contains(code.as_str()));
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);

    let body = json!({ "method": method, "code": code.as_str() });
    let answer = browser
        .json("POST", "/api/register/phone/confirm", Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        parse(&answer.body)["method"]["kind"],
        json!({ "phone": "mobile" })
    );
    assert_eq!(answer.set_cookie("mfa_device"), None);
    assert_eq!(browser.get("/me").await.body, host.bob.to_string());
    let methods = parse(&browser.get("/api/methods").await.body);
    assert_eq!(methods.as_array().unwrap().len(), 1);
    assert_eq!(methods[0]["masked_number"], "+*********71");
}

#[tokio::test]
async fn a_pending_sign_in_of_a_user_with_methods_cannot_register_one() {
    // Alice has an app: her password alone must not add a method (it would sign her in).
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.password().await;
    let answer = browser.json("POST", "/api/register/app", Some(json!({}))).await;
    assert_json_error(&answer, StatusCode::FORBIDDEN);
    assert_eq!(
        parse(&answer.body)["error"],
        "this action needs a fresh verification"
    );
    let body = json!({ "kind": "mobile", "number": "+14155552671" });
    let answer = browser.json("POST", "/api/register/phone", Some(body)).await;
    assert_json_error(&answer, StatusCode::FORBIDDEN);
    assert!(host.mfa.delivery().sent().is_empty());
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_signed_in_user_adds_a_method_with_a_fresh_proof_and_the_confirmation_refreshes_it() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    // An hour later the sign-in's proof is stale: step-up first.
    host.clock.advance(Duration::from_secs(3600));
    let answer = browser.json("POST", "/api/register/app", Some(json!({}))).await;
    assert_json_error(&answer, StatusCode::FORBIDDEN);
    let body = json!({ "method": host.app, "code": host.code() });
    assert_eq!(
        browser.json("POST", "/api/verify", Some(body)).await.status,
        StatusCode::OK
    );

    // Nine minutes on the proof is still fresh; the account label defaults to the user id.
    host.clock.advance(Duration::from_secs(540));
    let answer = browser.json("POST", "/api/register/app", Some(json!({}))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let begun = parse(&answer.body);
    assert!(begun["uri"].as_str().unwrap().contains(common::ALICE));
    // Two minutes more: the step-up's proof is stale, but the confirmation proves the new app.
    host.clock.advance(Duration::from_secs(120));
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::FORBIDDEN);
    let code = app_code(&host, begun["uri"].as_str().unwrap());
    let body = json!({ "method": begun["method"], "code": code });
    let answer = browser
        .json("POST", "/api/register/app/confirm", Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(parse(&answer.body)["method"]["name"], "Authenticator app");
    assert_eq!(parse(&answer.body)["method"]["is_default"], false);
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::OK);
    let methods = parse(&browser.get("/api/methods").await.body);
    assert_eq!(methods.as_array().unwrap().len(), 2);

    // An account label the app could not show is refused before anything is made.
    for account in ["   ", "a\u{7}b"] {
        let body = json!({ "account": account });
        let answer = browser.json("POST", "/api/register/app", Some(body)).await;
        assert_json_error(&answer, StatusCode::BAD_REQUEST);
    }
}
