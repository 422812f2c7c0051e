//! The push wake webhook against a gateway double on 127.0.0.1: the signed body, what "gone" means,
//! retries, and the facade reporting a gone device.

#![cfg(feature = "webhook")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{Mock, reply};
use mfa::{
    Challenge, Config, EventKind, KeyId, KeyRing, ManualClock, MemoryStore, Mfa, PushWake,
    RecordingEventSink, RecordingPhoneDelivery, TagSecret, UnixTime, UserId, WakeError,
};
use mfa_delivery::{PushWakeWebhook, Secret, WebhookConfig, WebhookSecret};
use mfa_push::{
    Algorithm, ChallengeId, DeviceId, DeviceKey, EnrollmentAnswer, EnrollmentOffer, ServiceKey, Wake,
    WakeChannel,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_700_000_000;

fn wake_webhook(url: &str) -> PushWakeWebhook {
    let config = WebhookConfig {
        url: url.into(),
        secrets: vec![Secret::new(SECRET)],
        locale: "en".into(),
    };
    PushWakeWebhook::new(&config, common::http())
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(UnixTime::from_secs(NOW))))
}

#[tokio::test]
async fn a_wake_is_a_signed_post_carrying_the_channel_and_the_signed_ids_only() {
    let mock = Mock::start(vec![reply(202, "")]).await;
    let service = ServiceKey::from_seed(&[7; 32]);
    let device = DeviceId::new("dev-1").unwrap();
    let wake = Wake::sign(&service, device.clone(), ChallengeId::new("ch-1").unwrap());
    let channel = WakeChannel::new("fcm", "token-abc").unwrap();
    wake_webhook(&format!("{}/wake", mock.url))
        .wake(&channel, &wake)
        .await
        .unwrap();

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/wake");
    let secret: WebhookSecret = SECRET.parse().unwrap();
    secret
        .verify(
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
            request.header("webhook-signature"),
            &request.body,
            NOW,
        )
        .unwrap();
    let body = request.json();
    assert_eq!(body["type"], "mfa.push_wake");
    assert_eq!(body["wake_kind"], "fcm");
    assert_eq!(body["wake_address"], "token-abc");
    let members: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(members, ["type", "wake", "wake_address", "wake_kind"]);
    // The wake verifies with the service key, for this device.
    let forwarded = Wake::from_json(body["wake"].to_string().as_bytes()).unwrap();
    assert_eq!(
        forwarded.verify(&service.public_key(), &device).unwrap().as_str(),
        "ch-1"
    );
}

#[tokio::test]
async fn gone_is_404_or_410_and_is_not_retried_while_5xx_is() {
    for status in [404, 410] {
        let mock = Mock::start(vec![reply(status, "")]).await;
        let service = ServiceKey::from_seed(&[7; 32]);
        let wake = Wake::sign(
            &service,
            DeviceId::new("d").unwrap(),
            ChallengeId::new("c").unwrap(),
        );
        let result = wake_webhook(&mock.url)
            .wake(&WakeChannel::new("fcm", "t").unwrap(), &wake)
            .await;
        assert_eq!(result, Err(WakeError::Gone), "HTTP {status}");
        assert_eq!(mock.count(), 1);
    }
    let mock = Mock::start(vec![reply(503, ""), reply(200, "")]).await;
    let service = ServiceKey::from_seed(&[7; 32]);
    let wake = Wake::sign(
        &service,
        DeviceId::new("d").unwrap(),
        ChallengeId::new("c").unwrap(),
    );
    wake_webhook(&mock.url)
        .wake(&WakeChannel::new("fcm", "t").unwrap(), &wake)
        .await
        .unwrap();
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("webhook-id"), requests[1].header("webhook-id"));

    let mock = Mock::start(vec![reply(400, "")]).await;
    let result = wake_webhook(&mock.url)
        .wake(&WakeChannel::new("fcm", "t").unwrap(), &wake)
        .await;
    assert!(matches!(result, Err(WakeError::Failed(_))), "{result:?}");
    assert_eq!(mock.count(), 1);
}

/// The facade wakes a device that gave a wake channel, and reports one whose address is gone; the
/// push still waits for the device to poll.
#[tokio::test]
async fn the_facade_wakes_devices_and_reports_a_gone_one() {
    let mock = Mock::start(vec![reply(200, ""), reply(410, "")]).await;
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(NOW)));
    let events = RecordingEventSink::new();
    let mfa = Mfa::new(
        Config::default(),
        KeyRing::generate(KeyId(1)).unwrap(),
        TagSecret::generate().unwrap(),
        MemoryStore::new(),
        RecordingPhoneDelivery::new(),
    )
    .unwrap()
    .with_clock(clock.clone())
    .with_events(Arc::new(events.clone()))
    .with_push(ServiceKey::from_seed(&[7; 32]), "https://example.com/mfa/push")
    .unwrap()
    .with_push_wake(Arc::new(wake_webhook(&mock.url).with_clock(clock)));
    let alice = UserId::new("alice").unwrap();
    let enrollment = mfa
        .begin_push_enrollment(&alice, "alice", "Phone", None)
        .await
        .unwrap();
    let offer = EnrollmentOffer::parse(enrollment.uri()).unwrap();
    let key = DeviceKey::generate(Algorithm::EcdsaP256).unwrap();
    let channel = WakeChannel::new("fcm", "token-abc").unwrap();
    let body = EnrollmentAnswer::sign(&offer, &key, "Phone", channel)
        .unwrap()
        .to_json();
    mfa.push_device_enroll(body.as_bytes()).await.unwrap();

    for _ in 0..2 {
        let Challenge::Push(_) = mfa
            .challenge(&alice, Some(enrollment.method()), None)
            .await
            .unwrap()
        else {
            panic!("not a push");
        };
    }
    assert_eq!(mock.count(), 2);
    assert_eq!(mock.requests()[0].json()["wake_address"], "token-abc");
    let gone: Vec<_> = events
        .events()
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::PushDeviceGone { .. }))
        .collect();
    assert_eq!(gone.len(), 1);
}
