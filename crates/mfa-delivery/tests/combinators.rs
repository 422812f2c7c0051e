//! Failover, timeouts and tracing: exact counts of calls, with scripted providers and with HTTP
//! doubles on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{CODE, Logs, MASKED, NUMBER, message, number};
use mfa::{
    Channel, DeliveryError, MessageId, PhoneDelivery, PhoneMessage, PhoneNumber, RecordingPhoneDelivery,
};
use mfa_delivery::{Adapt, Failover, Provider, SendError, Timeout, Traced, TracingDelivery};

/// A provider that answers from a script and counts its calls.
#[derive(Clone)]
struct Scripted {
    name: &'static str,
    answers: Arc<Mutex<VecDeque<Result<MessageId, SendError>>>>,
    calls: Arc<AtomicUsize>,
    delay: Duration,
}

impl Scripted {
    fn new(name: &'static str, answers: Vec<Result<MessageId, SendError>>) -> Self {
        Scripted {
            name,
            answers: Arc::new(Mutex::new(answers.into())),
            calls: Arc::new(AtomicUsize::new(0)),
            delay: Duration::ZERO,
        }
    }

    fn ok(name: &'static str) -> Self {
        Self::new(name, vec![Ok(MessageId(format!("{name}-1")))])
    }

    fn failing(name: &'static str, error: SendError) -> Self {
        Self::new(name, vec![Err(error)])
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Provider for Scripted {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn deliver(&self, _: &PhoneNumber, _: Channel, _: &PhoneMessage) -> Result<MessageId, SendError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("an answer left in the script")
    }
}

fn unavailable(provider: &'static str) -> SendError {
    SendError::Unavailable {
        provider,
        detail: "HTTP 503".into(),
    }
}

async fn send(provider: &impl Provider) -> Result<MessageId, SendError> {
    provider.deliver(&number(), Channel::Sms, &message()).await
}

#[tokio::test]
async fn transient_errors_fail_over_exactly_once() {
    for error in [
        unavailable("a"),
        SendError::RateLimited {
            provider: "a",
            retry_after: Some(Duration::from_secs(5)),
        },
        SendError::Unsupported {
            provider: "a",
            channel: Channel::Sms,
        },
    ] {
        let (a, b) = (Scripted::failing("a", error.clone()), Scripted::ok("b"));
        let failover = Failover::new(a.clone(), b.clone());
        assert_eq!(send(&failover).await, Ok(MessageId("b-1".into())), "{error}");
        assert_eq!((a.calls(), b.calls()), (1, 1), "{error}");
    }
}

#[tokio::test]
async fn permanent_errors_do_not_fail_over() {
    for error in [
        SendError::NumberRefused {
            provider: "a",
            detail: "Twilio error 21211 (HTTP 400)".into(),
        },
        SendError::Rejected {
            provider: "a",
            detail: "credentials rejected (HTTP 401)".into(),
        },
    ] {
        let (a, b) = (Scripted::failing("a", error.clone()), Scripted::ok("b"));
        let failover = Failover::new(a.clone(), b.clone());
        assert_eq!(send(&failover).await, Err(error.clone()));
        assert_eq!((a.calls(), b.calls()), (1, 0), "{error}");
    }
}

#[tokio::test]
async fn a_success_stays_with_the_primary() {
    let (a, b) = (Scripted::ok("a"), Scripted::ok("b"));
    assert_eq!(
        send(&Failover::new(a.clone(), b.clone())).await,
        Ok(MessageId("a-1".into()))
    );
    assert_eq!((a.calls(), b.calls()), (1, 0));
}

#[tokio::test]
async fn when_both_fail_the_secondary_error_is_returned() {
    let (a, b) = (
        Scripted::failing("a", unavailable("a")),
        Scripted::failing("b", unavailable("b")),
    );
    assert_eq!(
        send(&Failover::new(a.clone(), b.clone())).await,
        Err(unavailable("b"))
    );
    assert_eq!((a.calls(), b.calls()), (1, 1));
}

#[tokio::test]
async fn chains_try_each_in_order() {
    let (a, b, c) = (
        Scripted::failing("a", unavailable("a")),
        Scripted::failing(
            "b",
            SendError::RateLimited {
                provider: "b",
                retry_after: None,
            },
        ),
        Scripted::ok("c"),
    );
    let chain = Failover::new(a.clone(), Failover::new(b.clone(), c.clone()));
    assert_eq!(send(&chain).await, Ok(MessageId("c-1".into())));
    assert_eq!((a.calls(), b.calls(), c.calls()), (1, 1, 1));
    assert_eq!(chain.name(), "a");
}

#[tokio::test]
async fn deliveries_from_outside_the_crate_join_through_adapt() {
    let outbox = RecordingPhoneDelivery::new();
    let primary = Adapt::new("outbox", outbox.clone());
    let backup = Scripted::ok("backup");
    let failover = Failover::new(primary, backup.clone());

    outbox.fail_next(DeliveryError::Unavailable {
        reason: "down".into(),
    });
    assert_eq!(send(&failover).await, Ok(MessageId("backup-1".into())));
    outbox.fail_next(DeliveryError::NumberRefused);
    assert!(matches!(
        send(&failover).await,
        Err(SendError::NumberRefused {
            provider: "outbox",
            ..
        })
    ));
    assert_eq!(backup.calls(), 1);
    // And the facade's trait on the combinator.
    assert_eq!(
        failover.send(&number(), Channel::Sms, &message()).await,
        Ok(MessageId("rec-1".into()))
    );
    assert_eq!(outbox.sent().len(), 1);
}

#[tokio::test]
async fn a_timeout_cuts_a_slow_provider_and_the_failover_moves_on() {
    let slow = Scripted {
        delay: Duration::from_secs(5),
        ..Scripted::ok("slow")
    };
    let limited = Timeout::new(slow.clone(), Duration::from_millis(50));
    let started = std::time::Instant::now();
    assert_eq!(
        send(&limited).await,
        Err(SendError::Unavailable {
            provider: "slow",
            detail: "no answer within 50 ms".into()
        })
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    let backup = Scripted::ok("backup");
    let failover = Failover::new(
        Timeout::new(slow.clone(), Duration::from_millis(50)),
        backup.clone(),
    );
    assert_eq!(send(&failover).await, Ok(MessageId("backup-1".into())));
    assert_eq!((slow.calls(), backup.calls()), (2, 1));
}

#[tokio::test]
async fn the_tracing_delivery_logs_masked_numbers_and_never_codes() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let delivery = TracingDelivery::new();
    assert_eq!(send(&delivery).await, Ok(MessageId("trace-1".into())));
    let voice = delivery
        .deliver(&number(), Channel::Voice, &message())
        .await
        .unwrap();
    assert_eq!(voice.0, "trace-2");
    let lines = logs.lines();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("INFO mfa_delivery:"), "{}", lines[0]);
    assert!(
        lines[0].contains(&format!(
            "sms for {MASKED} (sign_in, valid 300 s, 83 characters) not sent"
        )),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains(&format!("voice for {MASKED}")), "{}", lines[1]);
    let all = logs.all();
    assert!(!all.contains(CODE) && !all.contains(&NUMBER[1..]), "{all}");
}

#[tokio::test]
async fn traced_logs_each_outcome_at_its_level() {
    let logs = Logs::default();
    let _guard = logs.capture();
    send(&Traced::new(Scripted::ok("a"))).await.unwrap();
    send(&Traced::new(Scripted::failing("b", unavailable("b"))))
        .await
        .unwrap_err();
    send(&Traced::new(Scripted::failing(
        "c",
        SendError::Rejected {
            provider: "c",
            detail: "HTTP 400".into(),
        },
    )))
    .await
    .unwrap_err();
    let lines = logs.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("INFO")
            && lines[0].contains(&format!("a sent sms to {MASKED} in "))
            && lines[0].contains("a-1")
    );
    assert!(
        lines[1].starts_with("WARN")
            && lines[1].contains("transient")
            && lines[1].contains("b is unavailable: HTTP 503")
    );
    assert!(lines[2].starts_with("ERROR") && lines[2].contains("permanent"));
    assert!(!logs.all().contains(&NUMBER[1..]));
}

#[cfg(all(feature = "twilio", feature = "webhook"))]
mod over_http {
    use super::*;
    use common::{Mock, reply};
    use mfa_delivery::DeliveryConfig;

    const MESSAGE_CREATED: &str = r#"{"sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued"}"#;

    fn config(twilio: &str, webhook: &str, call_timeout_ms: &str) -> DeliveryConfig {
        let vars = [
            ("MFA_DELIVERY_PROVIDER", "twilio,webhook".to_owned()),
            (
                "TWILIO_ACCOUNT_SID",
                "ACe2f5a1b2c3d4e5f60718293a4b5c6d7e".to_owned(),
            ),
            ("TWILIO_AUTH_TOKEN", "f00dfacef00dfacef00dfacef00dface".to_owned()),
            ("TWILIO_FROM", "+15005550006".to_owned()),
            ("TWILIO_API_BASE", twilio.to_owned()),
            ("MFA_WEBHOOK_URL", webhook.to_owned()),
            (
                "MFA_WEBHOOK_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
            ),
            ("MFA_DELIVERY_RETRY_BACKOFF_MS", "1".to_owned()),
            ("MFA_DELIVERY_ATTEMPT_TIMEOUT_MS", "1000".to_owned()),
            ("MFA_DELIVERY_CALL_TIMEOUT_MS", call_timeout_ms.to_owned()),
        ];
        DeliveryConfig::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn twilio_down_three_attempts_then_one_webhook() {
        let twilio = Mock::start(vec![reply(503, "")]).await;
        let webhook = Mock::start(vec![reply(200, r#"{"id": "gw-1"}"#)]).await;
        let delivery = config(&twilio.url, &webhook.url, "5000").build().unwrap();
        assert_eq!(send(&delivery).await, Ok(MessageId("gw-1".into())));
        assert_eq!((twilio.count(), webhook.count()), (3, 1));
        // The same code went both ways.
        assert!(
            twilio.requests()[0]
                .form()
                .iter()
                .any(|(k, v)| k == "Body" && v.starts_with(CODE))
        );
        assert_eq!(webhook.requests()[0].json()["code"], CODE);
    }

    #[tokio::test]
    async fn a_refused_number_stays_refused() {
        let twilio = Mock::start(vec![reply(400, r#"{"code": 21614, "status": 400}"#)]).await;
        let webhook = Mock::start(vec![reply(200, "")]).await;
        let delivery = config(&twilio.url, &webhook.url, "5000").build().unwrap();
        assert!(matches!(
            send(&delivery).await,
            Err(SendError::NumberRefused {
                provider: "twilio",
                ..
            })
        ));
        assert_eq!((twilio.count(), webhook.count()), (1, 0));
        assert_eq!(
            PhoneDelivery::send(&delivery, &number(), Channel::Sms, &message()).await,
            Err(DeliveryError::NumberRefused)
        );
    }

    #[tokio::test]
    async fn slow_attempts_time_out_then_the_webhook_sends() {
        let twilio = Mock::start(vec![reply(201, MESSAGE_CREATED).after(Duration::from_secs(3))]).await;
        let webhook = Mock::start(vec![reply(200, "")]).await;
        let mut config = config(&twilio.url, &webhook.url, "5000");
        config.http.attempt_timeout_ms = 200;
        let id = send(&config.build().unwrap()).await.unwrap();
        assert_eq!(id.0, webhook.requests()[0].header("webhook-id"));
        assert_eq!((twilio.count(), webhook.count()), (3, 1));
    }

    #[tokio::test]
    async fn the_call_timeout_cuts_the_retries_and_leaves_time_for_the_failover() {
        // The first attempt times out at 500 ms; the retry would start at 800 ms, past the send's
        // 700 ms: Twilio sees one request, and the webhook sends.
        let twilio = Mock::start(vec![reply(201, MESSAGE_CREATED).after(Duration::from_secs(3))]).await;
        let webhook = Mock::start(vec![reply(200, "")]).await;
        let mut config = config(&twilio.url, &webhook.url, "700");
        config.http.attempt_timeout_ms = 500;
        config.http.retry_backoff_ms = 300;
        let started = std::time::Instant::now();
        send(&config.build().unwrap()).await.unwrap();
        assert_eq!((twilio.count(), webhook.count()), (1, 1));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
