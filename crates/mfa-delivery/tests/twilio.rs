//! Twilio against a double on 127.0.0.1: the exact requests of the Messages and Calls resources
//! (REST API 2010-04-01), and every kind of answer.

#![cfg(feature = "twilio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{CODE, Mock, NUMBER, message, number, reply};
use mfa::{Channel, DeliveryError, MessageId, PhoneDelivery};
use mfa_delivery::{HttpClient, HttpConfig, Provider, Secret, SendError, SmsTemplate, Twilio, TwilioConfig};

const SID: &str = "ACe2f5a1b2c3d4e5f60718293a4b5c6d7e";
const TOKEN: &str = "f00dfacef00dfacef00dfacef00dface";

fn config(base: &str) -> TwilioConfig {
    TwilioConfig {
        account_sid: SID.into(),
        auth_token: Secret::new(TOKEN),
        from: Some("+15005550006".into()),
        api_base: base.into(),
        ..TwilioConfig::default()
    }
}

fn twilio(mock: &Mock) -> Twilio {
    Twilio::new(&config(&mock.url), common::http(), SmsTemplate::default()).unwrap()
}

fn basic_auth() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    )
}

/// Twilio's answer to a created message, shortened (its documented fields that matter here).
const MESSAGE_CREATED: &str = r#"{"account_sid":"ACe2f5a1b2c3d4e5f60718293a4b5c6d7e","api_version":"2010-04-01","body":"...","num_segments":"1","sid":"SM1f0e8ae6ade43cb3c0ce4525424e404f","status":"queued","to":"+14155552671"}"#;
const CALL_CREATED: &str = r#"{"account_sid":"ACe2f5a1b2c3d4e5f60718293a4b5c6d7e","api_version":"2010-04-01","sid":"CAe1644a7eed5088b159577c5802d8be38","status":"queued","to":"+14155552671"}"#;

#[tokio::test]
async fn sms_is_the_documented_messages_request() {
    let mock = Mock::start(vec![reply(201, MESSAGE_CREATED)]).await;
    let id = twilio(&mock)
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap();
    assert_eq!(id, MessageId("SM1f0e8ae6ade43cb3c0ce4525424e404f".into()));

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert_eq!(request.query, None);
    assert_eq!(request.header("authorization"), basic_auth());
    assert_eq!(
        request.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    assert!(request.header("user-agent").starts_with("mfa-delivery/"));
    assert_eq!(
        request.form(),
        [
            ("To".to_owned(), NUMBER.to_owned()),
            ("From".to_owned(), "+15005550006".to_owned()),
            (
                "Body".to_owned(),
                format!(
                    "{CODE} is your Example verification code. It expires in 5 minutes. Do not share it."
                )
            ),
            ("ValidityPeriod".to_owned(), "300".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_messaging_service_and_a_webotp_line() {
    let mock = Mock::start(vec![reply(201, MESSAGE_CREATED)]).await;
    let config = TwilioConfig {
        from: None,
        messaging_service_sid: Some("MG9752274e9e519418a7406176694466fa".into()),
        ..config(&mock.url)
    };
    let twilio = Twilio::new(
        &config,
        common::http(),
        SmsTemplate::with_webotp("login.example.com").unwrap(),
    )
    .unwrap();
    twilio.deliver(&number(), Channel::Sms, &message()).await.unwrap();
    assert_eq!(
        mock.requests()[0].form(),
        [
            ("To".to_owned(), NUMBER.to_owned()),
            (
                "MessagingServiceSid".to_owned(),
                "MG9752274e9e519418a7406176694466fa".to_owned()
            ),
            (
                "Body".to_owned(),
                format!(
                    "{CODE} is your Example verification code. It expires in 5 minutes. Do not share it.\n\n@login.example.com #{CODE}"
                )
            ),
            ("ValidityPeriod".to_owned(), "300".to_owned()),
        ]
    );
    // Without a number to call from, voice goes elsewhere (a failover), and nothing is sent.
    assert!(!twilio.has_voice());
    assert_eq!(
        twilio.deliver(&number(), Channel::Voice, &message()).await,
        Err(SendError::Unsupported {
            provider: "twilio",
            channel: Channel::Voice
        })
    );
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn voice_is_the_documented_calls_request_with_inline_twiml() {
    let mock = Mock::start(vec![reply(201, CALL_CREATED)]).await;
    let id = twilio(&mock)
        .deliver(&number(), Channel::Voice, &message())
        .await
        .unwrap();
    assert_eq!(id, MessageId("CAe1644a7eed5088b159577c5802d8be38".into()));

    let request = &mock.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/2010-04-01/Accounts/{SID}/Calls.json"));
    assert_eq!(request.header("authorization"), basic_auth());
    assert_eq!(
        request.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    // Digit by digit, a pause after each, twice.
    let twiml = concat!(
        r#"<Response><Say language="en-US">Your Example verification code is:</Say><Pause length="1"/>"#,
        r#"<Say language="en-US">9</Say><Pause length="1"/><Say language="en-US">0</Say><Pause length="1"/>"#,
        r#"<Say language="en-US">7</Say><Pause length="1"/><Say language="en-US">1</Say><Pause length="1"/>"#,
        r#"<Say language="en-US">5</Say><Pause length="1"/><Say language="en-US">3</Say><Pause length="1"/>"#,
        r#"<Say language="en-US">Again, your code is:</Say><Pause length="1"/>"#,
        r#"<Say language="en-US">9</Say><Pause length="1"/><Say language="en-US">0</Say><Pause length="1"/>"#,
        r#"<Say language="en-US">7</Say><Pause length="1"/><Say language="en-US">1</Say><Pause length="1"/>"#,
        r#"<Say language="en-US">5</Say><Pause length="1"/><Say language="en-US">3</Say><Pause length="1"/>"#,
        r#"<Say language="en-US">Goodbye.</Say></Response>"#,
    );
    assert_eq!(
        request.form(),
        [
            ("To".to_owned(), NUMBER.to_owned()),
            ("From".to_owned(), "+15005550006".to_owned()),
            ("Twiml".to_owned(), twiml.to_owned()),
            ("TimeLimit".to_owned(), "90".to_owned()),
        ]
    );
    assert!(
        twiml.len() < 4000,
        "Twilio takes at most 4000 characters of TwiML"
    );
}

#[tokio::test]
async fn number_errors_are_permanent_and_not_retried() {
    // Twilio's error body repeats the number; only the code may be kept.
    let body = r#"{"code": 21211, "message": "The 'To' number +14155552671 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#;
    let mock = Mock::start(vec![reply(400, body)]).await;
    let error = twilio(&mock)
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::NumberRefused {
            provider: "twilio",
            detail: "Twilio error 21211 (HTTP 400)".into()
        }
    );
    assert!(!error.is_transient());
    assert!(!error.to_string().contains("14155552671"));
    assert_eq!(mock.count(), 1);
    // Through the facade's trait.
    assert_eq!(
        twilio(&mock).send(&number(), Channel::Sms, &message()).await,
        Err(DeliveryError::NumberRefused)
    );
}

#[tokio::test]
async fn rejected_credentials_are_permanent() {
    let body = r#"{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}"#;
    let mock = Mock::start(vec![reply(401, body)]).await;
    let error = twilio(&mock)
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Rejected {
            provider: "twilio",
            detail: "credentials rejected (HTTP 401, error 20003)".into()
        }
    );
    assert_eq!(mock.count(), 1);
    let DeliveryError::Unavailable { reason } = DeliveryError::from(error) else {
        panic!("a rejection reaches the facade as unavailable");
    };
    assert!(reason.contains("permanent, check the configuration"), "{reason}");
}

#[tokio::test]
async fn another_4xx_is_rejected_with_its_code() {
    let body = r#"{"code": 21606, "message": "The From phone number is not a valid, SMS-capable inbound phone number", "status": 400}"#;
    let mock = Mock::start(vec![reply(400, body)]).await;
    assert_eq!(
        twilio(&mock).deliver(&number(), Channel::Sms, &message()).await,
        Err(SendError::Rejected {
            provider: "twilio",
            detail: "HTTP 400, error 21606".into()
        })
    );
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let mock = Mock::start(vec![
        reply(
            500,
            r#"{"code": 20500, "message": "Internal Server Error", "status": 500}"#,
        ),
        reply(503, "Service Unavailable"),
        reply(201, MESSAGE_CREATED),
    ])
    .await;
    let id = twilio(&mock)
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap();
    assert_eq!(id.0, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
    // Three attempts, the same request each time: the same code.
    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.body == requests[0].body));
}

#[tokio::test]
async fn server_errors_stop_after_the_last_attempt() {
    let mock = Mock::start(vec![reply(503, "")]).await;
    let error = twilio(&mock)
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Unavailable {
            provider: "twilio",
            detail: "HTTP 503".into()
        }
    );
    assert!(error.is_transient());
    assert_eq!(mock.count(), 3);
}

#[tokio::test]
async fn rate_limits_wait_for_a_short_retry_after() {
    let too_many = r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#;
    let mock = Mock::start(vec![
        reply(429, too_many).header("retry-after", "0"),
        reply(201, MESSAGE_CREATED),
    ])
    .await;
    twilio(&mock)
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap();
    assert_eq!(mock.count(), 2);
}

#[tokio::test]
async fn a_long_retry_after_is_returned_at_once() {
    let too_many = r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#;
    let mock = Mock::start(vec![reply(429, too_many).header("retry-after", "60")]).await;
    let error = twilio(&mock)
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::RateLimited {
            provider: "twilio",
            retry_after: Some(Duration::from_secs(60))
        }
    );
    assert_eq!(mock.count(), 1);
    assert_eq!(
        DeliveryError::from(error),
        DeliveryError::RateLimited {
            retry_after: Some(Duration::from_secs(60))
        }
    );
}

#[tokio::test]
async fn rate_limits_without_retry_after_use_the_backoff() {
    let mock = Mock::start(vec![reply(429, "{}")]).await;
    assert_eq!(
        twilio(&mock).deliver(&number(), Channel::Sms, &message()).await,
        Err(SendError::RateLimited {
            provider: "twilio",
            retry_after: None
        })
    );
    assert_eq!(mock.count(), 3);
}

#[tokio::test]
async fn malformed_json_is_unavailable_and_not_sent_again() {
    // A 201 means Twilio took the message: another attempt could send it twice.
    for body in [
        "{\"sid\": ",
        "<html>oops</html>",
        "{\"status\": \"queued\"}",
        "{\"sid\": \"\"}",
    ] {
        let mock = Mock::start(vec![reply(201, body)]).await;
        let error = twilio(&mock)
            .deliver(&number(), Channel::Sms, &message())
            .await
            .unwrap_err();
        assert_eq!(
            error,
            SendError::Unavailable {
                provider: "twilio",
                detail: "HTTP 201 with a body that is not the documented JSON".into()
            },
            "{body}"
        );
        assert_eq!(mock.count(), 1, "{body}");
    }
}

#[tokio::test]
async fn slow_answers_time_out_on_every_attempt() {
    let mock = Mock::start(vec![reply(201, MESSAGE_CREATED).after(Duration::from_secs(2))]).await;
    let http = HttpClient::new(&HttpConfig {
        attempt_timeout_ms: 200,
        ..common::http_config()
    })
    .unwrap();
    let twilio = Twilio::new(&config(&mock.url), http, SmsTemplate::default()).unwrap();
    let error = twilio
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Unavailable {
            provider: "twilio",
            detail: "no answer within 200 ms".into()
        }
    );
    assert_eq!(mock.count(), 3);
}

#[tokio::test]
async fn a_reset_connection_is_unavailable_and_retried() {
    let (url, connections) = common::resetting_server().await;
    let twilio = Twilio::new(&config(&url), common::http(), SmsTemplate::default()).unwrap();
    let error = twilio
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(
        matches!(
            error,
            SendError::Unavailable {
                provider: "twilio",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn nothing_listening_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let twilio = Twilio::new(&config(&url), common::http(), SmsTemplate::default()).unwrap();
    assert_eq!(
        twilio.deliver(&number(), Channel::Sms, &message()).await,
        Err(SendError::Unavailable {
            provider: "twilio",
            detail: "could not connect".into()
        })
    );
}

#[test]
fn configurations_are_checked() {
    let http = || common::http();
    let base = "https://api.twilio.com";
    let bad = [
        (
            TwilioConfig {
                account_sid: "AC123".into(),
                ..config(base)
            },
            "twilio.account_sid (TWILIO_ACCOUNT_SID): must be AC followed by 32 hexadecimal digits",
        ),
        (
            TwilioConfig {
                auth_token: Secret::new("has space"),
                ..config(base)
            },
            "twilio.auth_token (TWILIO_AUTH_TOKEN): must be the account's auth token: printable characters, no spaces",
        ),
        (
            TwilioConfig {
                from: Some("4155552671".into()),
                ..config(base)
            },
            "twilio.from (TWILIO_FROM): must be a number in E.164 form (+14155552671), a short code or an alphanumeric sender id (1 to 11 letters, digits and spaces)",
        ),
        (
            TwilioConfig {
                from: None,
                ..config(base)
            },
            "twilio.from (TWILIO_FROM) or twilio.messaging_service_sid (TWILIO_MESSAGING_SERVICE_SID) is not set",
        ),
        (
            TwilioConfig {
                messaging_service_sid: Some("MGxyz".into()),
                ..config(base)
            },
            "twilio.messaging_service_sid (TWILIO_MESSAGING_SERVICE_SID): must be MG followed by 32 hexadecimal digits",
        ),
        (
            TwilioConfig {
                voice_from: Some("Example".into()),
                ..config(base)
            },
            "twilio.voice_from (TWILIO_VOICE_FROM): must be a number in E.164 form, such as +14155552671",
        ),
        (
            TwilioConfig {
                api_base: "http://api.twilio.com".into(),
                ..config(base)
            },
            "twilio.api_base (TWILIO_API_BASE): must be https (http only to 127.0.0.1, ::1 or localhost)",
        ),
        (
            TwilioConfig {
                voice_language: "english".into(),
                ..config(base)
            },
            "twilio.voice_language (TWILIO_VOICE_LANGUAGE): must be a language tag such as en-US",
        ),
    ];
    for (config, expected) in bad {
        let error = Twilio::new(&config, http(), SmsTemplate::default()).unwrap_err();
        assert_eq!(error.to_string(), expected);
        assert!(!error.to_string().contains(TOKEN));
    }
    // An alphanumeric sender sends SMS only.
    let alphanumeric = TwilioConfig {
        from: Some("Example".into()),
        ..config(base)
    };
    assert!(
        !Twilio::new(&alphanumeric, http(), SmsTemplate::default())
            .unwrap()
            .has_voice()
    );
    let with_voice = TwilioConfig {
        voice_from: Some("+15005550006".into()),
        ..alphanumeric
    };
    assert!(
        Twilio::new(&with_voice, http(), SmsTemplate::default())
            .unwrap()
            .has_voice()
    );
}

#[tokio::test]
async fn an_accepted_send_whose_answer_is_lost_is_not_sent_again() {
    // Twilio took the message (201) and the connection dropped in the body: another attempt could
    // text the user twice, so there is none.
    let (url, connections) = common::accepting_then_resetting_server().await;
    let twilio = Twilio::new(&config(&url), common::http(), SmsTemplate::default()).unwrap();
    let error = twilio
        .deliver(&number(), Channel::Sms, &message())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            SendError::Unavailable {
                provider: "twilio",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}
