//! The remembered-device cookie: its attributes, its Max-Age, its refresh and its clearing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::Host;
use mfa::Clock;
use mfa_axum::WebConfig;

fn attributes(set_cookie: &str) -> Vec<String> {
    let mut parts: Vec<String> = set_cookie.split("; ").skip(1).map(str::to_owned).collect();
    parts.sort();
    parts
}

#[tokio::test]
async fn remembering_sets_an_httponly_lax_secure_cookie_until_the_device_lapses() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    assert_eq!(browser.password().await.status, StatusCode::OK);
    let answer = browser.verify(&host, true).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let devices = host.mfa.list_devices(&host.alice).await.unwrap();
    assert_eq!(devices.len(), 1);
    let max_age = (devices[0].lapses_at.as_millis() - host.clock.now().as_millis()) / 1000;
    assert_eq!(max_age, 14 * 86_400, "the hosted-suite policy's inactivity limit");
    let set_cookie = answer.set_cookie("mfa_device").unwrap();
    let token = browser.cookies["mfa_device"].clone();
    assert_eq!(token.len(), 43);
    assert_eq!(
        attributes(&set_cookie),
        [
            "HttpOnly",
            &format!("Max-Age={max_age}"),
            "Path=/",
            "SameSite=Lax",
            "Secure"
        ]
    );
}

#[tokio::test]
async fn a_sign_in_the_device_spares_refreshes_the_cookie() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    assert_eq!(browser.password().await.status, StatusCode::OK);
    assert_eq!(browser.verify(&host, true).await.status, StatusCode::OK);
    assert_eq!(browser.post("/sign-out", "").await.status, StatusCode::OK);
    browser.csrf = None;

    // Three days later: no prompt, and the cookie runs 14 days from now.
    host.clock.advance(Duration::from_secs(3 * 86_400));
    let answer = browser.password().await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains(r#""stage":"signed_in""#), "{}", answer.body);
    let set_cookie = answer.set_cookie("mfa_device").unwrap();
    let devices = host.mfa.list_devices(&host.alice).await.unwrap();
    let max_age = (devices[0].lapses_at.as_millis() - host.clock.now().as_millis()) / 1000;
    assert_eq!(max_age, 14 * 86_400);
    assert!(attributes(&set_cookie).contains(&format!("Max-Age={max_age}")));
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
    // Spared by a device, the session has no fresh proof: step-up asks for a code.
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_cookie_the_facade_refuses_is_cleared() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    assert_eq!(browser.password().await.status, StatusCode::OK);
    assert_eq!(browser.verify(&host, true).await.status, StatusCode::OK);
    assert_eq!(browser.post("/sign-out", "").await.status, StatusCode::OK);

    host.clock.advance(Duration::from_secs(60));
    host.mfa.password_changed(&host.alice).await.unwrap();
    host.clock.advance(Duration::from_secs(1));
    browser.csrf = None;
    let answer = browser.password().await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("second_factor_pending"), "{}", answer.body);
    let set_cookie = answer.set_cookie("mfa_device").unwrap();
    assert!(set_cookie.starts_with("mfa_device=;"), "{set_cookie}");
    assert!(attributes(&set_cookie).contains(&"Max-Age=0".to_owned()));
    assert!(!browser.cookies.contains_key("mfa_device"));
}

#[tokio::test]
async fn a_cookie_that_is_not_a_token_is_cleared() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser
        .cookies
        .insert("mfa_device".to_owned(), "not-a-token".to_owned());
    let answer = browser.password().await;
    assert!(answer.body.contains("second_factor_pending"), "{}", answer.body);
    assert!(answer.set_cookie("mfa_device").unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn plain_http_on_localhost_drops_secure_only() {
    let host = Host::new(WebConfig::localhost_http()).await;
    let mut browser = host.client();
    assert_eq!(browser.password().await.status, StatusCode::OK);
    let answer = browser.verify(&host, true).await;
    let attributes = attributes(&answer.set_cookie("mfa_device").unwrap());
    assert!(!attributes.contains(&"Secure".to_owned()));
    for expected in ["HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(attributes.contains(&expected.to_owned()), "{attributes:?}");
    }
}
