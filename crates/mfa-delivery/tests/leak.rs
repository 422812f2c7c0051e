//! No credential, code or full phone number in `Debug` output, error texts or logs: every provider
//! sends, fails, retries and fails over through a configuration built from variables, while a
//! subscriber keeps every log line; then all of it is searched for the secrets.

#![cfg(all(feature = "twilio", feature = "vonage", feature = "webhook"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{CODE, Logs, MASKED, Mock, NUMBER, message, number, reply};
use mfa::{Channel, DeliveryError, PhoneDelivery};
use mfa_delivery::{DeliveryConfig, Provider};

const TWILIO_TOKEN: &str = "7c0ffee7c0ffee7c0ffee7c0ffee7c0f";
const VONAGE_SECRET: &str = "VonageSecretXyzzy42";
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PRIVATE_KEY: &str = include_str!("data/vonage-test-key.pem");

/// Everything that must never show: the credentials (also as they travel: Basic headers, the
/// webhook key's bytes, a JWT's start, any line of the private key), the code, the number.
fn forbidden() -> Vec<String> {
    let mut all = vec![
        TWILIO_TOKEN.to_owned(),
        VONAGE_SECRET.to_owned(),
        WEBHOOK_SECRET.to_owned(),
        WEBHOOK_SECRET.trim_start_matches("whsec_").to_owned(),
        STANDARD.encode(format!("ACe2f5a1b2c3d4e5f60718293a4b5c6d7e:{TWILIO_TOKEN}")),
        STANDARD.encode(format!("a1b2c3d4:{VONAGE_SECRET}")),
        "eyJhbGciOiJSUzI1NiIs".to_owned(),
        CODE.to_owned(),
        NUMBER.to_owned(),
        NUMBER[1..].to_owned(),
    ];
    all.extend(
        PRIVATE_KEY
            .lines()
            .filter(|line| !line.starts_with("-----") && line.len() > 20)
            .map(str::to_owned),
    );
    all
}

fn assert_clean(what: &str, text: &str) {
    for secret in forbidden() {
        assert!(!text.contains(&secret), "{what} shows {secret:?}:\n{text}");
    }
}

fn config(twilio: &str, vonage: &str, webhook: &str) -> DeliveryConfig {
    let key = PRIVATE_KEY.replace('\n', "\\n");
    let vars: Vec<(&str, String)> = vec![
        ("MFA_DELIVERY_PROVIDER", "twilio,vonage,webhook".into()),
        ("TWILIO_ACCOUNT_SID", "ACe2f5a1b2c3d4e5f60718293a4b5c6d7e".into()),
        ("TWILIO_AUTH_TOKEN", TWILIO_TOKEN.into()),
        ("TWILIO_FROM", "+15005550006".into()),
        ("TWILIO_API_BASE", twilio.into()),
        ("VONAGE_API_KEY", "a1b2c3d4".into()),
        ("VONAGE_API_SECRET", VONAGE_SECRET.into()),
        ("VONAGE_FROM", "447700900000".into()),
        (
            "VONAGE_APPLICATION_ID",
            "aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into(),
        ),
        ("VONAGE_PRIVATE_KEY", key),
        ("VONAGE_VOICE_FROM", "447700900001".into()),
        ("VONAGE_SMS_BASE", vonage.into()),
        ("VONAGE_VOICE_BASE", vonage.into()),
        ("MFA_WEBHOOK_URL", webhook.into()),
        ("MFA_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ("MFA_DELIVERY_RETRY_BACKOFF_MS", "1".into()),
        ("MFA_DELIVERY_MAX_RETRY_AFTER_MS", "10".into()),
    ];
    DeliveryConfig::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn secrets_stay_out_of_debug_errors_and_logs() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let mut shown = Vec::new();

    // Twilio down, Vonage throttling, the webhook takes it: every layer logs.
    let twilio = Mock::start(vec![reply(
        500,
        r#"{"code": 20500, "message": "Internal error for +14155552671", "status": 500}"#,
    )])
    .await;
    let vonage = Mock::start(vec![
        reply(200, r#"{"message-count": "1", "messages": [{"to": "14155552671", "status": "1", "error-text": "Throttled"}]}"#)
            .header("retry-after", "0"),
    ])
    .await;
    let webhook = Mock::start(vec![reply(200, r#"{"id": "gw-1"}"#)]).await;
    let config = config(&twilio.url, &vonage.url, &webhook.url);
    shown.push(format!("{config:?}"));
    let delivery = config.build().unwrap();
    shown.push(format!("{delivery:?}"));
    let id = delivery
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap();
    assert_eq!(id.0, "gw-1");
    assert_eq!((twilio.count(), vonage.count(), webhook.count()), (3, 3, 1));
    // A call: Vonage signs a JWT for it.
    let voice = delivery.deliver(&number(), Channel::Voice, &message()).await;
    shown.push(format!("{voice:?}"));

    // Every error kind, through both traits.
    let refusing = Mock::start(vec![reply(400, r#"{"code": 21211, "message": "The 'To' number +14155552671 is not a valid phone number.", "status": 400}"#)]).await;
    let rejecting = Mock::start(vec![reply(401, r#"{"code": 20003, "message": "Authenticate"}"#)]).await;
    for mock in [&refusing, &rejecting] {
        let delivery = self::config(&mock.url, &mock.url, &mock.url).build().unwrap();
        let error = delivery
            .deliver(&number(), Channel::Sms, &message())
            .await
            .unwrap_err();
        shown.push(error.to_string());
        shown.push(format!("{error:?}"));
        let facade: DeliveryError = PhoneDelivery::send(&delivery, &number(), Channel::Sms, &message())
            .await
            .unwrap_err();
        shown.push(facade.to_string());
        shown.push(format!("{facade:?}"));
    }
    let (reset, _) = common::resetting_server().await;
    let error = self::config(&reset, &reset, &reset)
        .build()
        .unwrap()
        .deliver(&number(), Channel::Sms, &message())
        .await;
    shown.push(format!("{error:?}"));
    shown.push(format!("{:?}", message()));

    for (i, text) in shown.iter().enumerate() {
        assert_clean(&format!("output {i}"), text);
    }
    let logged = logs.all();
    assert!(logged.contains(MASKED), "numbers are logged masked:\n{logged}");
    assert!(logged.contains("failing over from twilio to vonage"), "{logged}");
    assert!(logged.contains("twilio attempt 1 failed, retrying"), "{logged}");
    assert_clean("the logs", &logged);
    // The providers did get what they need, so the checks above are not vacuous.
    assert!(webhook.requests()[0].text().contains(CODE));
    assert!(twilio.requests()[0].header("authorization").starts_with("Basic "));
}
