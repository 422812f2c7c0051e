//! The optional JSON routes, mounted under /api.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::Host;
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
