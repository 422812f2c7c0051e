//! Push approvals: the device router under /mfa/push (the protocol's bodies, limits and errors),
//! driven by a software device made of mfa-push's device-side types, and the browser's JSON routes
//! (registration by QR code, a push at sign-in, its poll).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::{StatusCode, header};
use common::{Answer, Client, Host};
use mfa::Clock;
use mfa_axum::WebConfig;
use mfa_push::{
    Algorithm, AnswerRequest, AnswerResult, Decision, DeviceId, DeviceKey, EnrollmentAnswer, EnrollmentOffer,
    EnrollmentReceipt, ErrorBody, ErrorCode, FetchRequest, MAX_BODY_BYTES, PendingChallenges, TypedNumber,
    WakeChannel,
};
use serde_json::{Value, json};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

/// A software authenticator: its key and, once enrolled, its id and the service key it pinned.
struct Device {
    key: DeviceKey,
    offer: EnrollmentOffer,
    id: DeviceId,
}

/// The protocol's error answer with this code: its status, body and headers.
fn assert_refused(answer: &Answer, code: ErrorCode) {
    assert_eq!(answer.status.as_u16(), code.status(), "{}", answer.body);
    let body = ErrorBody::from_json(answer.body.as_bytes()).unwrap();
    assert_eq!(body.code(), code);
    assert_device_headers(answer);
}

fn assert_device_headers(answer: &Answer) {
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
}

/// Alice, signed in with her app's code (a fresh proof), registers a push app: the page's URI is
/// scanned, the device enrolls, and the browser's poll sees the registration.
async fn enroll(host: &Host, browser: &mut Client) -> (Device, String) {
    browser.sign_in(host, false).await;
    let answer = browser
        .json("POST", "/api/register/push", Some(json!({ "name": "Pixel" })))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let begun = parse(&answer.body);
    assert!(
        begun["qr_data_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    assert!(begun["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let method = begun["method"].as_str().unwrap().to_owned();

    let answer = browser
        .json("POST", "/api/register/push/status", Some(json!({})))
        .await;
    assert_eq!(parse(&answer.body), json!({ "status": "waiting" }));

    let offer = EnrollmentOffer::parse(begun["uri"].as_str().unwrap()).unwrap();
    let key = DeviceKey::generate(Algorithm::Ed25519).unwrap();
    let body = EnrollmentAnswer::sign(&offer, &key, "Test phone", WakeChannel::poll())
        .unwrap()
        .to_json();
    let answer = browser.device("enroll", &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_device_headers(&answer);
    let receipt = EnrollmentReceipt::from_json(answer.body.as_bytes()).unwrap();
    let id = receipt.verify(&offer, &key.public_key()).unwrap().clone();
    // The same answer again finds no offer.
    assert_refused(
        &browser.device("enroll", &body).await,
        ErrorCode::EnrollmentUnusable,
    );

    let answer = browser
        .json("POST", "/api/register/push/status", Some(json!({})))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let done = parse(&answer.body);
    assert_eq!(done["status"], "enrolled");
    assert_eq!(done["method"]["id"], json!(method));
    // Collected once.
    let answer = browser
        .json("POST", "/api/register/push/status", Some(json!({})))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    (Device { key, offer, id }, method)
}

impl Device {
    /// Fetches the pending pushes and checks each as a device must before it shows it.
    async fn fetch(&self, host: &Host, client: &mut Client) -> Vec<mfa_push::Challenge> {
        let body = FetchRequest::sign(&self.key, &self.id, host.clock.now())
            .unwrap()
            .to_json();
        let answer = client.device("pending", &body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_device_headers(&answer);
        let pending = PendingChallenges::from_json(answer.body.as_bytes()).unwrap();
        pending
            .challenges()
            .iter()
            .map(|c| {
                c.verify(self.offer.service_key(), &self.id, host.clock.now())
                    .unwrap()
                    .clone()
            })
            .collect()
    }

    fn answer(&self, host: &Host, challenge: &mfa_push::Challenge, decision: Decision) -> String {
        AnswerRequest::sign(&self.key, &self.id, challenge.id(), decision, host.clock.now())
            .unwrap()
            .to_json()
    }
}

trait DeviceRequests {
    async fn device(&mut self, endpoint: &str, body: &str) -> Answer;
}

impl DeviceRequests for Client {
    /// A device request: JSON, no cookie that matters, no CSRF header.
    async fn device(&mut self, endpoint: &str, body: &str) -> Answer {
        let csrf = self.csrf.take();
        let answer = self
            .raw(
                "POST",
                &format!("/mfa/push/{endpoint}"),
                Some("application/json"),
                body,
            )
            .await;
        self.csrf = csrf;
        answer
    }
}

/// Password, then a push to the push app: its number.
async fn push_sign_in(browser: &mut Client, method: &str) -> TypedNumber {
    let answer = browser.password().await;
    assert!(answer.body.contains("second_factor_pending"), "{}", answer.body);
    let answer = browser
        .json("POST", "/api/push", Some(json!({ "method": method })))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let sent = parse(&answer.body);
    sent["number"].to_string().trim_matches('"').parse().unwrap()
}

#[tokio::test]
async fn a_push_app_enrolls_then_approves_a_sign_in_with_the_number_and_replays_are_refused() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    let (device, method) = enroll(&host, &mut browser).await;
    assert_eq!(device.fetch(&host, &mut browser).await.len(), 0);

    let mut browser = host.client();
    let number = push_sign_in(&mut browser, &method).await;
    let answer = browser.json("POST", "/api/push/status", Some(json!({}))).await;
    assert_eq!(parse(&answer.body)["status"], "waiting", "{}", answer.body);
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);

    let pushes = device.fetch(&host, &mut browser).await;
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].requester().user, common::ALICE);
    let body = device.answer(&host, &pushes[0], Decision::Approve(number));
    let answer = browser.device("answer", &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        AnswerResult::from_json(answer.body.as_bytes()).unwrap(),
        AnswerResult::Approved
    );
    // The same request again: its nonce was used.
    assert_refused(&browser.device("answer", &body).await, ErrorCode::Replayed);
    // A fresh answer to the ended push: not pending.
    let again = device.answer(&host, &pushes[0], Decision::Deny);
    assert_refused(&browser.device("answer", &again).await, ErrorCode::NotPending);

    let pending = browser.session_id();
    let answer = browser.json("POST", "/api/push/status", Some(json!({}))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(parse(&answer.body)["status"], "approved");
    assert_ne!(browser.session_id(), pending, "signing in gives a new session id");
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
    // Collected once.
    let answer = browser.json("POST", "/api/push/status", Some(json!({}))).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_wrong_number_or_a_denial_refuses_the_sign_in() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    let (device, method) = enroll(&host, &mut browser).await;

    let mut browser = host.client();
    let number = push_sign_in(&mut browser, &method).await;
    let wrong: TypedNumber = if number.as_str() == "10" { "11" } else { "10" }.parse().unwrap();
    let pushes = device.fetch(&host, &mut browser).await;
    let answer = browser
        .device(
            "answer",
            &device.answer(&host, &pushes[0], Decision::Approve(wrong)),
        )
        .await;
    assert_eq!(
        AnswerResult::from_json(answer.body.as_bytes()).unwrap(),
        AnswerResult::WrongNumber
    );
    let answer = browser.json("POST", "/api/push/status", Some(json!({}))).await;
    assert_eq!(parse(&answer.body), json!({ "status": "wrong_number" }));
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);

    // Another push, denied.
    let answer = browser
        .json("POST", "/api/challenge", Some(json!({ "method": method })))
        .await;
    assert_eq!(parse(&answer.body)["kind"], "push", "{}", answer.body);
    let pushes = device.fetch(&host, &mut browser).await;
    let answer = browser
        .device("answer", &device.answer(&host, &pushes[0], Decision::Deny))
        .await;
    assert_eq!(
        AnswerResult::from_json(answer.body.as_bytes()).unwrap(),
        AnswerResult::Denied
    );
    let answer = browser.json("POST", "/api/push/status", Some(json!({}))).await;
    assert_eq!(parse(&answer.body), json!({ "status": "denied" }));
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn device_requests_refused_the_protocols_way() {
    let host = Host::new(WebConfig::default()).await;
    let mut client = host.client();
    for endpoint in ["enroll", "pending", "answer"] {
        // Not a message of the protocol.
        assert_refused(&client.device(endpoint, "{not json").await, ErrorCode::Malformed);
        assert_refused(&client.device(endpoint, r#"{"v":1}"#).await, ErrorCode::Malformed);
        // Over 16 KiB: refused unread.
        let large = format!(r#"{{"v":1,"pad":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        assert_refused(&client.device(endpoint, &large).await, ErrorCode::TooLarge);
        // Without the JSON content type.
        let answer = client
            .raw("POST", &format!("/mfa/push/{endpoint}"), Some("text/plain"), "{}")
            .await;
        assert_refused(&answer, ErrorCode::Malformed);
    }
    // Another version.
    let answer = client.device("pending", r#"{"v":2}"#).await;
    assert_refused(&answer, ErrorCode::UnsupportedVersion);
    // A well-signed request from a device the service does not know.
    let key = DeviceKey::generate(Algorithm::Ed25519).unwrap();
    let stranger = DeviceId::generate().unwrap();
    let body = FetchRequest::sign(&key, &stranger, host.clock.now())
        .unwrap()
        .to_json();
    assert_refused(&client.device("pending", &body).await, ErrorCode::Unauthorized);
    // An enrollment nobody offered.
    let offer = EnrollmentOffer::generate(
        common::PUSH_BASE_URL,
        mfa_push::ServiceKey::from_seed(&[0x33; 32]).public_key(),
        "Example",
        "alice",
        host.clock.now(),
    )
    .unwrap();
    let body = EnrollmentAnswer::sign(&offer, &key, "Phone", WakeChannel::poll())
        .unwrap()
        .to_json();
    assert_refused(
        &client.device("enroll", &body).await,
        ErrorCode::EnrollmentUnusable,
    );
    // GET is not a device request.
    let answer = client.get("/mfa/push/pending").await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_device_with_a_skewed_clock_is_told_the_server_time() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    let (device, _) = enroll(&host, &mut browser).await;
    let late = mfa::UnixTime::from_secs(host.clock.now().as_secs() - 120);
    let body = FetchRequest::sign(&device.key, &device.id, late)
        .unwrap()
        .to_json();
    let answer = browser.device("pending", &body).await;
    assert_refused(&answer, ErrorCode::ClockSkew);
    let error = ErrorBody::from_json(answer.body.as_bytes()).unwrap();
    assert_eq!(error.server_time().as_secs(), host.clock.now().as_secs());
}
