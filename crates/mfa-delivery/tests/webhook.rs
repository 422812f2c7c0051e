//! The signed webhook against a receiver on 127.0.0.1: the exact request (Standard Webhooks 1.0.0
//! headers, the JSON body), signatures checked independently, and every kind of answer.

#![cfg(feature = "webhook")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{CODE, Mock, NUMBER, Recorded, message, number, reply};
use mfa::{Channel, ManualClock, MessageId, UnixTime};
use mfa_delivery::{Provider, Secret, SendError, SmsTemplate, Webhook, WebhookConfig, WebhookSecret};

/// The Standard Webhooks reference libraries' example secret, and a second one as during a rotation.
const OLD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEW: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const NOW: i64 = 1_700_000_000;

fn webhook(url: &str) -> Webhook {
    let config = WebhookConfig {
        url: url.into(),
        secrets: vec![Secret::new(OLD), Secret::new(NEW)],
        locale: "en-GB".into(),
    };
    Webhook::new(&config, common::http(), SmsTemplate::default())
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(UnixTime::from_secs(NOW))))
}

/// HMAC-SHA256 by *ring*, not the crate's RustCrypto code: an independent check.
fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!("v1,{}", STANDARD.encode(ring::hmac::sign(&key, &signed).as_ref()))
}

fn assert_signed(request: &Recorded) {
    let id = request.header("webhook-id");
    let timestamp = request.header("webhook-timestamp");
    let signatures: Vec<&str> = request.header("webhook-signature").split(' ').collect();
    assert_eq!(
        signatures,
        [
            expected_signature(OLD, id, timestamp, &request.body),
            expected_signature(NEW, id, timestamp, &request.body)
        ]
    );
    // A receiver with only one of the secrets accepts it, as the reference libraries would.
    for secret in [OLD, NEW] {
        let secret: WebhookSecret = secret.parse().unwrap();
        secret
            .verify(
                id,
                timestamp,
                request.header("webhook-signature"),
                &request.body,
                NOW + 10,
            )
            .unwrap();
    }
}

#[tokio::test]
async fn sms_is_a_signed_json_post() {
    let mock = Mock::start(vec![reply(200, r#"{"id": "gw-42"}"#)]).await;
    let id = webhook(&format!("{}/hooks/mfa?tenant=7", mock.url))
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap();
    assert_eq!(id, MessageId("gw-42".into()));

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/mfa");
    assert_eq!(request.query.as_deref(), Some("tenant=7"));
    assert_eq!(request.header("content-type"), "application/json");
    let webhook_id = request.header("webhook-id");
    assert!(webhook_id.starts_with("msg_") && webhook_id.len() == 26 && !webhook_id.contains('.'));
    assert_eq!(request.header("webhook-timestamp"), NOW.to_string());
    assert_signed(request);
    // The exact bytes: the signed body, fields in their documented order.
    assert_eq!(
        request.text(),
        format!(
            concat!(
                r#"{{"type":"mfa.phone_code","idempotency_key":"{id}","channel":"sms","to":"{number}","#,
                r#""purpose":"sign_in","issuer":"Example","#,
                r#""text":"{code} is your Example verification code. It expires in 5 minutes. Do not share it.","#,
                r#""code":"{code}","ttl_secs":300,"expires_at":1700000300,"locale":"en-GB"}}"#
            ),
            id = webhook_id,
            number = NUMBER,
            code = CODE,
        )
    );
}

#[tokio::test]
async fn voice_carries_the_speakable_script() {
    let mock = Mock::start(vec![reply(204, "")]).await;
    let id = webhook(&mock.url)
        .deliver(&number(), Channel::Voice, &message())
        .await
        .unwrap();
    let request = &mock.requests()[0];
    // No id in the answer: the webhook id is the message id.
    assert_eq!(id.0, request.header("webhook-id"));
    let body = request.json();
    assert_eq!(body["channel"], "voice");
    assert_eq!(
        body["text"],
        "Your Example verification code is: 9. 0. 7. 1. 5. 3. Again, your code is: 9. 0. 7. 1. 5. 3. Goodbye."
    );
    assert_eq!(body["code"], CODE);
    assert_signed(request);
}

#[tokio::test]
async fn retries_keep_the_id_and_the_body() {
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(NOW)));
    let mock = Mock::start(vec![reply(503, ""), reply(500, ""), reply(200, "{}")]).await;
    let webhook = webhook(&mock.url).with_clock(clock);
    let id = webhook
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap();
    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.header("webhook-id"), id.0);
        assert_eq!(request.body, requests[0].body);
        assert_signed(request);
    }
}

#[tokio::test]
async fn answers_say_what_to_do() {
    let cases: Vec<(common::Reply, SendError, usize)> = vec![
        (
            reply(422, r#"{"error": "number_refused"}"#),
            SendError::NumberRefused {
                provider: "webhook",
                detail: "number_refused (HTTP 422)".into(),
            },
            1,
        ),
        (
            reply(401, r#"{"error": "bad signature"}"#),
            SendError::Rejected {
                provider: "webhook",
                detail: "credentials rejected (HTTP 401)".into(),
            },
            1,
        ),
        (
            reply(404, ""),
            SendError::Rejected {
                provider: "webhook",
                detail: "HTTP 404".into(),
            },
            1,
        ),
        (
            reply(429, "").header("retry-after", "30"),
            SendError::RateLimited {
                provider: "webhook",
                retry_after: Some(Duration::from_secs(30)),
            },
            1,
        ),
        (
            reply(500, r#"{"error": "number_refused"}"#),
            SendError::Unavailable {
                provider: "webhook",
                detail: "HTTP 500".into(),
            },
            3,
        ),
        (
            reply(200, "<html>ok</html>"),
            SendError::Unavailable {
                provider: "webhook",
                detail: "HTTP 200 with a body that is not the documented JSON".into(),
            },
            1,
        ),
        (
            reply(302, "").header("location", "https://elsewhere.example/"),
            SendError::Rejected {
                provider: "webhook",
                detail: "HTTP 302".into(),
            },
            1,
        ),
    ];
    for (answer, expected, attempts) in cases {
        let mock = Mock::start(vec![answer.clone()]).await;
        let error = webhook(&mock.url)
            .deliver(&number(), Channel::Sms, &message())
            .await
            .unwrap_err();
        assert_eq!(error, expected, "{answer:?}");
        assert_eq!(mock.count(), attempts, "{answer:?}");
    }
}

#[tokio::test]
async fn slow_receivers_and_reset_connections() {
    let mock = Mock::start(vec![reply(200, "").after(Duration::from_secs(2))]).await;
    let config = WebhookConfig {
        url: mock.url.clone(),
        secrets: vec![Secret::new(OLD)],
        locale: "en".into(),
    };
    let http = mfa_delivery::HttpClient::new(&mfa_delivery::HttpConfig {
        attempt_timeout_ms: 150,
        max_attempts: 2,
        ..common::http_config()
    })
    .unwrap();
    let slow = Webhook::new(&config, http, SmsTemplate::default()).unwrap();
    assert_eq!(
        slow.deliver(&number(), Channel::Sms, &message()).await,
        Err(SendError::Unavailable {
            provider: "webhook",
            detail: "no answer within 150 ms".into()
        })
    );
    assert_eq!(mock.count(), 2);

    let (url, connections) = common::resetting_server().await;
    let error = webhook(&url)
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            SendError::Unavailable {
                provider: "webhook",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn configurations_are_checked() {
    let config = |url: &str, secrets: &[&str], locale: &str| WebhookConfig {
        url: url.into(),
        secrets: secrets.iter().map(|s| Secret::new(*s)).collect(),
        locale: locale.into(),
    };
    let cases = [
        (
            config("http://gateway.example/hook", &[OLD], "en"),
            "webhook.url (MFA_WEBHOOK_URL): must be https (http only to 127.0.0.1, ::1 or localhost)",
        ),
        (
            config("https://gateway.example/hook", &[], "en"),
            "webhook.secrets (MFA_WEBHOOK_SECRET) is not set",
        ),
        (
            config("https://gateway.example/hook", &[OLD, "whsec_dG9vIHNob3J0"], "en"),
            "webhook.secrets (MFA_WEBHOOK_SECRET): must hold 24 to 64 bytes (Standard Webhooks); make one with: echo \"whsec_$(openssl rand -base64 32)\"",
        ),
        (
            config("https://gateway.example/hook", &["whsec_***"], "en"),
            "webhook.secrets (MFA_WEBHOOK_SECRET): must be whsec_ followed by base64",
        ),
        (
            config("https://gateway.example/hook", &[OLD], "English"),
            "webhook.locale (MFA_WEBHOOK_LOCALE): must be a language tag such as en or en-GB",
        ),
    ];
    for (config, expected) in cases {
        let error = Webhook::new(&config, common::http(), SmsTemplate::default())
            .unwrap_err()
            .to_string();
        assert_eq!(error, expected);
        assert!(!error.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") && !error.contains("dG9vIHNob3J0"));
    }
    let webhook = Webhook::new(
        &config("https://gateway.example/hook?token=abc", &[OLD, NEW], "en"),
        common::http(),
        SmsTemplate::default(),
    )
    .unwrap();
    let debug = format!("{webhook:?}");
    assert!(
        debug.contains(r#"url: "https://gateway.example/hook?<redacted>""#),
        "{debug}"
    );
    assert!(
        !debug.contains("abc") && !debug.contains("MfKQ") && !debug.contains("C2FV"),
        "{debug}"
    );
}

#[tokio::test]
async fn https_never_falls_back_to_plain_http() {
    // A plain HTTP server behind an https URL: the TLS handshake fails, nothing reaches it as a
    // request, and the send is unavailable (the TLS configuration itself was accepted at start-up).
    let mock = Mock::start(vec![reply(200, "")]).await;
    let https = mock.url.replace("http://", "https://");
    let error = webhook(&https)
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Unavailable {
            provider: "webhook",
            detail: "could not connect".into()
        }
    );
    assert_eq!(mock.count(), 0);
}

#[test]
fn client_settings_are_checked() {
    let bad = mfa_delivery::HttpConfig {
        max_attempts: 0,
        ..common::http_config()
    };
    assert_eq!(
        mfa_delivery::HttpClient::new(&bad).unwrap_err().to_string(),
        "http.max_attempts (MFA_DELIVERY_MAX_ATTEMPTS): must be between 1 and 5"
    );
}
