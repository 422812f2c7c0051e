//! Vonage against a double on 127.0.0.1: the SMS API (`POST /sms/json`) and the Voice API
//! (`POST /v1/calls`, a JWT signed RS256, a talk NCCO), and every kind of answer.

#![cfg(feature = "vonage")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{CODE, Mock, message, number, reply};
use mfa::{Channel, ManualClock, MessageId, UnixTime};
use mfa_delivery::{Provider, Secret, SendError, SmsTemplate, Vonage, VonageConfig};
use serde_json::json;

const KEY: &str = "a1b2c3d4";
const SECRET: &str = "S3cretVonage0000";
const APPLICATION: &str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
/// A 2048-bit RSA key made for these tests with `openssl genpkey -algorithm RSA` (PKCS#8 PEM, as
/// Vonage's dashboard gives them). It signs nothing anywhere else.
const PRIVATE_KEY: &str = include_str!("data/vonage-test-key.pem");

fn sms_config(base: &str) -> VonageConfig {
    VonageConfig {
        api_key: Some(KEY.into()),
        api_secret: Some(Secret::new(SECRET)),
        from: Some("+447700900000".into()),
        sms_base: base.into(),
        ..VonageConfig::default()
    }
}

fn voice_config(base: &str) -> VonageConfig {
    VonageConfig {
        application_id: Some(APPLICATION.into()),
        private_key: Some(Secret::new(PRIVATE_KEY)),
        voice_from: Some("447700900001".into()),
        voice_base: base.into(),
        ..VonageConfig::default()
    }
}

fn vonage(config: &VonageConfig) -> Vonage {
    Vonage::new(config, common::http(), SmsTemplate::default()).unwrap()
}

/// The SMS API's answer to an accepted message (its troubleshooting guide's example).
const SMS_SENT: &str = r#"{"message-count": "1", "messages": [{"to": "14155552671", "message-id": "0C000000217B7F02", "status": "0", "remaining-balance": "15.53590000", "message-price": "0.03330000", "network": "23410"}]}"#;

fn sms_status(status: &str) -> String {
    format!(r#"{{"message-count": "1", "messages": [{{"status": "{status}", "error-text": "Error"}}]}}"#)
}

#[tokio::test]
async fn sms_is_the_documented_sms_api_request() {
    let mock = Mock::start(vec![reply(200, SMS_SENT)]).await;
    let id = vonage(&sms_config(&mock.url))
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap();
    assert_eq!(id, MessageId("0C000000217B7F02".into()));

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/sms/json");
    assert_eq!(
        request.header("authorization"),
        format!("Basic {}", STANDARD.encode(format!("{KEY}:{SECRET}")))
    );
    assert_eq!(
        request.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let form = request.form();
    let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["from", "to", "text", "type", "ttl", "client-ref"]);
    assert_eq!(form[0].1, "447700900000");
    assert_eq!(form[1].1, "14155552671");
    assert_eq!(
        form[2].1,
        format!("{CODE} is your Example verification code. It expires in 5 minutes. Do not share it.")
    );
    assert_eq!(form[3].1, "text");
    assert_eq!(form[4].1, "300000");
    assert!(
        form[5].1.starts_with("mfa_") && form[5].1.len() == 26,
        "{}",
        form[5].1
    );
}

#[tokio::test]
async fn non_gsm_texts_are_sent_as_unicode_and_short_codes_live_20_seconds() {
    let mock = Mock::start(vec![reply(200, SMS_SENT)]).await;
    let message = mfa::PhoneMessage::new("Acme ✓", CODE, mfa::MessagePurpose::Registration, 10);
    vonage(&sms_config(&mock.url))
        .deliver(&number(), Channel::Sms, &message)
        .await
        .unwrap();
    let form = mock.requests()[0].form();
    assert_eq!(form[3], ("type".to_owned(), "unicode".to_owned()));
    assert_eq!(
        form[4],
        ("ttl".to_owned(), "20000".to_owned()),
        "Vonage's minimum"
    );
}

#[tokio::test]
async fn sms_statuses_say_what_to_do() {
    let cases: [(&str, SendError, usize); 5] = [
        (
            "1",
            SendError::RateLimited {
                provider: "vonage",
                retry_after: None,
            },
            3,
        ),
        (
            "5",
            SendError::Unavailable {
                provider: "vonage",
                detail: "Vonage SMS status 5 (HTTP 200)".into(),
            },
            3,
        ),
        (
            "4",
            SendError::Rejected {
                provider: "vonage",
                detail: "Vonage SMS status 4 (HTTP 200)".into(),
            },
            1,
        ),
        (
            "9",
            SendError::Rejected {
                provider: "vonage",
                detail: "Vonage SMS status 9 (HTTP 200)".into(),
            },
            1,
        ),
        (
            "7",
            SendError::NumberRefused {
                provider: "vonage",
                detail: "Vonage SMS status 7 (HTTP 200)".into(),
            },
            1,
        ),
    ];
    for (status, expected, attempts) in cases {
        let mock = Mock::start(vec![reply(200, &sms_status(status))]).await;
        let error = vonage(&sms_config(&mock.url))
            .deliver(&number(), Channel::Sms, &message())
            .await
            .unwrap_err();
        assert_eq!(error, expected, "status {status}");
        assert_eq!(mock.count(), attempts, "status {status}");
    }
}

#[tokio::test]
async fn a_throttled_sms_is_retried() {
    let mock = Mock::start(vec![reply(200, &sms_status("1")), reply(200, SMS_SENT)]).await;
    let id = vonage(&sms_config(&mock.url))
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap();
    assert_eq!(id.0, "0C000000217B7F02");
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].body, requests[1].body,
        "the same message, the same client-ref"
    );
}

#[tokio::test]
async fn http_errors_and_malformed_answers() {
    let mock = Mock::start(vec![reply(
        401,
        r#"{"type":"https://developer.vonage.com/api-errors#unauthorized","title":"Unauthorized"}"#,
    )])
    .await;
    assert_eq!(
        vonage(&sms_config(&mock.url))
            .deliver(&number(), Channel::Sms, &message())
            .await,
        Err(SendError::Rejected {
            provider: "vonage",
            detail: "credentials rejected (HTTP 401)".into()
        })
    );
    assert_eq!(mock.count(), 1);

    let mock = Mock::start(vec![reply(502, "Bad Gateway")]).await;
    assert_eq!(
        vonage(&sms_config(&mock.url))
            .deliver(&number(), Channel::Sms, &message())
            .await,
        Err(SendError::Unavailable {
            provider: "vonage",
            detail: "HTTP 502".into()
        })
    );
    assert_eq!(mock.count(), 3);

    for body in [
        "not json",
        r#"{"message-count": "0", "messages": []}"#,
        r#"{"messages": [{"status": "0"}]}"#,
    ] {
        let mock = Mock::start(vec![reply(200, body)]).await;
        assert_eq!(
            vonage(&sms_config(&mock.url))
                .deliver(&number(), Channel::Sms, &message())
                .await,
            Err(SendError::Unavailable {
                provider: "vonage",
                detail: "HTTP 200 with a body that is not the documented JSON".into()
            }),
            "{body}"
        );
        assert_eq!(mock.count(), 1, "{body}");
    }
}

/// The Voice API's answer to a created call.
const CALL_CREATED: &str = r#"{"uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356", "status": "started", "direction": "outbound", "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"}"#;

/// The public half of the test key, for checking signatures as Vonage does.
fn public_key() -> Vec<u8> {
    let body: String = PRIVATE_KEY.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    pair.public().as_ref().to_vec()
}

/// Checks a JWT's RS256 signature and returns its header and claims.
fn check_jwt(token: &str) -> (serde_json::Value, serde_json::Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let signed = format!("{}.{}", parts[0], parts[1]);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public_key())
        .verify(signed.as_bytes(), &signature)
        .expect("the token is signed by the application's key");
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    (header, claims)
}

#[tokio::test]
async fn voice_is_the_documented_create_call_request() {
    let mock = Mock::start(vec![reply(201, CALL_CREATED)]).await;
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(1_700_000_000)));
    let vonage = vonage(&voice_config(&mock.url)).with_clock(clock);
    let id = vonage
        .deliver(&number(), Channel::Voice, &message())
        .await
        .unwrap();
    assert_eq!(id, MessageId("63f61863-4a51-4f6b-86e1-46edebcf9356".into()));

    let request = &mock.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/calls");
    assert_eq!(request.header("content-type"), "application/json");
    let token = request.header("authorization").strip_prefix("Bearer ").unwrap();
    let (header, claims) = check_jwt(token);
    assert_eq!(header, json!({ "alg": "RS256", "typ": "JWT" }));
    assert_eq!(claims["application_id"], APPLICATION);
    assert_eq!(claims["iat"], 1_700_000_000);
    assert_eq!(claims["exp"], 1_700_000_300);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() == 22));
    assert_eq!(claims.as_object().unwrap().len(), 4);
    assert_eq!(
        request.json(),
        json!({
            "to": [{ "type": "phone", "number": "14155552671" }],
            "from": { "type": "phone", "number": "447700900001" },
            "ncco": [
                {
                    "action": "talk",
                    "text": "Your Example verification code is: 9. 0. 7. 1. 5. 3.",
                    "language": "en-US"
                },
                {
                    "action": "talk",
                    "text": "Again, your code is: 9. 0. 7. 1. 5. 3. Goodbye.",
                    "language": "en-US"
                }
            ],
            "length_timer": 90
        })
    );
}

#[tokio::test]
async fn each_attempt_has_a_token_of_its_own() {
    let mock = Mock::start(vec![
        reply(500, r#"{"title":"Internal Error"}"#),
        reply(201, CALL_CREATED),
    ])
    .await;
    vonage(&voice_config(&mock.url))
        .deliver(&number(), Channel::Voice, &message())
        .await
        .unwrap();
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let jti = |r: &common::Recorded| {
        check_jwt(r.header("authorization").strip_prefix("Bearer ").unwrap()).1["jti"].clone()
    };
    assert_ne!(jti(&requests[0]), jti(&requests[1]));
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test]
async fn voice_errors() {
    let mock = Mock::start(vec![
        reply(429, r#"{"title":"Too Many Requests"}"#).header("retry-after", "120"),
    ])
    .await;
    assert_eq!(
        vonage(&voice_config(&mock.url))
            .deliver(&number(), Channel::Voice, &message())
            .await,
        Err(SendError::RateLimited {
            provider: "vonage",
            retry_after: Some(Duration::from_secs(120))
        })
    );
    assert_eq!(mock.count(), 1);

    let mock = Mock::start(vec![reply(201, r#"{"status": "started"}"#)]).await;
    assert_eq!(
        vonage(&voice_config(&mock.url))
            .deliver(&number(), Channel::Voice, &message())
            .await,
        Err(SendError::Unavailable {
            provider: "vonage",
            detail: "HTTP 201 with a body that is not the documented JSON".into()
        })
    );
}

#[tokio::test]
async fn channels_not_configured_are_unsupported() {
    let mock = Mock::start(vec![reply(200, SMS_SENT)]).await;
    let sms_only = vonage(&sms_config(&mock.url));
    assert!(sms_only.has_sms() && !sms_only.has_voice());
    assert_eq!(
        sms_only.deliver(&number(), Channel::Voice, &message()).await,
        Err(SendError::Unsupported {
            provider: "vonage",
            channel: Channel::Voice
        })
    );
    let voice_only = vonage(&voice_config(&mock.url));
    assert_eq!(
        voice_only.deliver(&number(), Channel::Sms, &message()).await,
        Err(SendError::Unsupported {
            provider: "vonage",
            channel: Channel::Sms
        })
    );
    assert_eq!(mock.count(), 0);
}

#[test]
fn configurations_are_checked() {
    let base = "https://rest.nexmo.com";
    let cases = [
        (
            VonageConfig::default(),
            "vonage.api_key (VONAGE_API_KEY) for SMS or vonage.application_id (VONAGE_APPLICATION_ID) for voice is not set",
        ),
        (
            VonageConfig {
                api_secret: None,
                ..sms_config(base)
            },
            "vonage.api_secret (VONAGE_API_SECRET) is not set",
        ),
        (
            VonageConfig {
                from: None,
                ..sms_config(base)
            },
            "vonage.from (VONAGE_FROM) is not set",
        ),
        (
            VonageConfig {
                from: Some("Example Company".into()),
                ..sms_config(base)
            },
            "vonage.from (VONAGE_FROM): must be a Vonage number (447700900000 or +447700900000) or an alphanumeric sender id (1 to 11 letters, digits and spaces)",
        ),
        (
            VonageConfig {
                application_id: Some("app".into()),
                ..voice_config(base)
            },
            "vonage.application_id (VONAGE_APPLICATION_ID): must be the application's id, a UUID",
        ),
        (
            VonageConfig {
                private_key: Some(Secret::new(
                    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                )),
                ..voice_config(base)
            },
            "vonage.private_key or vonage.private_key_path (VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_PATH): must be the application's RSA private key in PEM (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY), 2048 bits or more",
        ),
        (
            VonageConfig {
                private_key: None,
                ..voice_config(base)
            },
            "vonage.private_key or vonage.private_key_path (VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_PATH) is not set",
        ),
        (
            VonageConfig {
                private_key_path: Some("/nonexistent/key.pem".into()),
                private_key: None,
                ..voice_config(base)
            },
            "vonage.private_key or vonage.private_key_path (VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_PATH): the file /nonexistent/key.pem cannot be read: entity not found",
        ),
        (
            VonageConfig {
                voice_from: Some("+0123".into()),
                ..voice_config(base)
            },
            "vonage.voice_from (VONAGE_VOICE_FROM): must be a Vonage number in international form, such as 447700900000",
        ),
        (
            VonageConfig {
                voice_base: "http://api.nexmo.com".into(),
                ..voice_config(base)
            },
            "vonage.voice_base (VONAGE_VOICE_BASE): must be https (http only to 127.0.0.1, ::1 or localhost)",
        ),
    ];
    for (config, expected) in cases {
        let error = Vonage::new(&config, common::http(), SmsTemplate::default())
            .unwrap_err()
            .to_string();
        assert_eq!(error, expected);
        assert!(!error.contains(SECRET) && !error.contains("MII"));
    }
    // Both channels; the key from a file; `\n` written for line breaks in one variable.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vonage-test-key.pem");
    let both = VonageConfig {
        private_key: None,
        private_key_path: Some(path.into()),
        ..VonageConfig {
            api_key: Some(KEY.into()),
            api_secret: Some(Secret::new(SECRET)),
            from: Some("Example".into()),
            ..voice_config(base)
        }
    };
    let vonage = Vonage::new(&both, common::http(), SmsTemplate::default()).unwrap();
    assert!(vonage.has_sms() && vonage.has_voice());
    let one_line = VonageConfig {
        private_key: Some(Secret::new(PRIVATE_KEY.replace('\n', "\\n"))),
        ..voice_config(base)
    };
    assert!(
        Vonage::new(&one_line, common::http(), SmsTemplate::default())
            .unwrap()
            .has_voice()
    );
    let debug = format!("{vonage:?}");
    assert!(!debug.contains(SECRET) && !debug.contains("MII"), "{debug}");
}
