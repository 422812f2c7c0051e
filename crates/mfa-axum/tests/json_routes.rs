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
#[track_caller]
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

    // An account label the app could not show is refused before anything is made; the longest
    // one (255 bytes, each character percent-encoded in the URI) still fits a QR code.
    for account in ["   ", "a\u{7}b", &"é".repeat(128)] {
        let body = json!({ "account": account });
        let answer = browser.json("POST", "/api/register/app", Some(body)).await;
        assert_json_error(&answer, StatusCode::BAD_REQUEST);
    }
    let body = json!({ "account": format!("{}x", "é".repeat(127)) });
    let answer = browser.json("POST", "/api/register/app", Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn app_passwords_are_created_once_listed_without_the_secret_and_deleted() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.fetch_csrf().await;
    let answer = browser
        .json("POST", "/api/app-passwords", Some(json!({ "name": "Mail" })))
        .await;
    assert_json_error(&answer, StatusCode::UNAUTHORIZED);
    browser.sign_in(&host, false).await;
    assert_eq!(parse(&browser.get("/api/app-passwords").await.body), json!([]));

    let answer = browser
        .json("POST", "/api/app-passwords", Some(json!({ "name": "Mail" })))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let created = parse(&answer.body);
    let id = created["id"].as_str().unwrap().to_owned();
    let password = created["password"].as_str().unwrap().to_owned();
    assert_eq!(password.replace(' ', "").len(), 16, "{password}");
    // It signs a legacy client in.
    let verified = host
        .mfa
        .verify_app_password(&host.alice, &password, None)
        .await
        .unwrap();
    assert_eq!(verified.to_string(), id);

    // Listed by name, never with the password.
    let answer = browser.get("/api/app-passwords").await;
    assert_eq!(answer.status, StatusCode::OK);
    let list = parse(&answer.body);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], json!(id));
    assert_eq!(list[0]["name"], "Mail");
    assert!(!answer.body.contains(&password), "{}", answer.body);
    assert!(
        !answer.body.contains(&password.replace(' ', "")),
        "{}",
        answer.body
    );
    assert!(!answer.body.contains("argon2"), "{}", answer.body);

    let answer = browser
        .json("DELETE", &format!("/api/app-passwords/{id}"), None)
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    assert_eq!(parse(&browser.get("/api/app-passwords").await.body), json!([]));
    assert!(matches!(
        host.mfa.verify_app_password(&host.alice, &password, None).await,
        Err(mfa::Error::Rejected)
    ));
    let answer = browser
        .json("DELETE", &format!("/api/app-passwords/{id}"), None)
        .await;
    assert_json_error(&answer, StatusCode::NOT_FOUND);
    // Malformed ids (app-password ids are lowercase) and names: the client's mistake, not a 500.
    for bad in ["xyz", &id.to_uppercase()] {
        let answer = browser
            .json("DELETE", &format!("/api/app-passwords/{bad}"), None)
            .await;
        assert_json_error(&answer, StatusCode::BAD_REQUEST);
    }
    for name in ["", "   ", "Mail\u{202E}"] {
        let answer = browser
            .json("POST", "/api/app-passwords", Some(json!({ "name": name })))
            .await;
        assert_json_error(&answer, StatusCode::BAD_REQUEST);
    }
    let answer = browser.json("POST", "/api/app-passwords", Some(json!({}))).await;
    assert_json_error(&answer, StatusCode::UNPROCESSABLE_ENTITY);

    // A sensitive action: an hour-old proof is refused with the step-up error, nothing made.
    host.clock.advance(Duration::from_secs(3600));
    let answer = browser
        .json("POST", "/api/app-passwords", Some(json!({ "name": "Mail" })))
        .await;
    assert_json_error(&answer, StatusCode::FORBIDDEN);
    assert_eq!(
        parse(&answer.body)["error"],
        "this action needs a fresh verification"
    );
    assert_eq!(parse(&browser.get("/api/app-passwords").await.body), json!([]));
}

#[tokio::test]
async fn methods_get_a_new_default_and_removal_needs_a_fresh_proof() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    let body = json!({ "kind": "mobile", "number": "+14155552671" });
    let sent = parse(&browser.json("POST", "/api/register/phone", Some(body)).await.body);
    let phone = sent["method"].as_str().unwrap().to_owned();
    let code = host
        .mfa
        .delivery()
        .last_code_to(&"+14155552671".parse().unwrap())
        .unwrap();
    let body = json!({ "method": phone, "code": code.as_str() });
    let answer = browser
        .json("POST", "/api/register/phone/confirm", Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    // The phone becomes the default.
    let default_of = |methods: &Value| {
        methods
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["is_default"] == true)
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let methods = parse(&browser.get("/api/methods").await.body);
    assert_eq!(default_of(&methods), [host.app.to_string()]);
    let answer = browser
        .json("PUT", &format!("/api/methods/{phone}/default"), None)
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    let methods = parse(&browser.get("/api/methods").await.body);
    assert_eq!(default_of(&methods), vec![phone.clone()]);
    let unknown = "0".repeat(32);
    let answer = browser
        .json("PUT", &format!("/api/methods/{unknown}/default"), None)
        .await;
    assert_json_error(&answer, StatusCode::NOT_FOUND);
    let answer = browser.json("PUT", "/api/methods/phone/default", None).await;
    assert_json_error(&answer, StatusCode::BAD_REQUEST);

    // Removal without a fresh proof: the step-up error, and the phone stays.
    host.clock.advance(Duration::from_secs(3600));
    let answer = browser
        .json("DELETE", &format!("/api/methods/{phone}"), None)
        .await;
    assert_json_error(&answer, StatusCode::FORBIDDEN);
    assert_eq!(
        parse(&answer.body)["error"],
        "this action needs a fresh verification"
    );
    assert_eq!(
        parse(&browser.get("/api/methods").await.body)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let answer = browser.json("DELETE", "/api/methods/not-an-id", None).await;
    assert_json_error(&answer, StatusCode::BAD_REQUEST);

    // After a step-up it goes; the app is the default again. The change voids the session's proof,
    // not the sign-in.
    let body = json!({ "method": host.app, "code": host.code() });
    assert_eq!(
        browser.json("POST", "/api/verify", Some(body)).await.status,
        StatusCode::OK
    );
    let answer = browser
        .json("DELETE", &format!("/api/methods/{phone}"), None)
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    let methods = parse(&browser.get("/api/methods").await.body);
    assert_eq!(default_of(&methods), [host.app.to_string()]);
    assert_eq!(methods.as_array().unwrap().len(), 1);
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::FORBIDDEN);
    let answer = browser
        .json("DELETE", &format!("/api/methods/{phone}"), None)
        .await;
    assert_json_error(&answer, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn recovery_codes_generated_once_redeem_once_each() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    let answer = browser.json("POST", "/api/recovery-codes", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let codes: Vec<String> = serde_json::from_value(parse(&answer.body)["codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        parse(&browser.get("/api/recovery-codes").await.body),
        json!({ "left": 10 })
    );

    // Another browser signs in with a code in place of the app: once.
    let mut other = host.client();
    assert_eq!(other.password().await.status, StatusCode::OK);
    let body = json!({ "code": codes[0] });
    let answer = other
        .json("POST", "/api/recovery-codes/redeem", Some(body.clone()))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(parse(&answer.body)["recovery_codes_left"], 9);
    assert_eq!(other.get("/me").await.status, StatusCode::OK);
    let mut third = host.client();
    third.password().await;
    let answer = third.json("POST", "/api/recovery-codes/redeem", Some(body)).await;
    assert_json_error(&answer, StatusCode::UNAUTHORIZED);
    assert_eq!(third.get("/me").await.status, StatusCode::UNAUTHORIZED);

    // A new set needs a fresh proof, and replaces the old one.
    host.clock.advance(Duration::from_secs(3600));
    let answer = browser.json("POST", "/api/recovery-codes", None).await;
    assert_json_error(&answer, StatusCode::FORBIDDEN);
    let body = json!({ "method": host.app, "code": host.code() });
    assert_eq!(
        browser.json("POST", "/api/verify", Some(body)).await.status,
        StatusCode::OK
    );
    let answer = browser.json("POST", "/api/recovery-codes", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let fresh: Vec<String> = serde_json::from_value(parse(&answer.body)["codes"].clone()).unwrap();
    assert!(fresh.iter().all(|c| !codes.contains(c)));
    let answer = third
        .json(
            "POST",
            "/api/recovery-codes/redeem",
            Some(json!({ "code": codes[1] })),
        )
        .await;
    assert_json_error(&answer, StatusCode::UNAUTHORIZED);
    let answer = third
        .json(
            "POST",
            "/api/recovery-codes/redeem",
            Some(json!({ "code": fresh[0] })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}
