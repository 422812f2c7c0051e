//! Push approvals through the facade, with a software device speaking the protocol (mfa-push's device
//! side): registration by QR code, sign-in with number matching, denial, report, wrong number, replay,
//! tampering, expiry, fatigue, and races on the answer and on the approval.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use mfa::{
    Challenge, Clock, Config, Error, EventKind, Factor, KeyId, KeyRing, ManualClock, MemoryStore, MethodId,
    Mfa, PushStatus, Reason, RecordingEventSink, RecordingPhoneDelivery, Store, TagSecret, UnixTime, UserId,
};
use mfa_push::{
    Algorithm, AnswerRequest, AnswerResult, Decision, DeviceId, DeviceKey, EnrollmentAnswer, EnrollmentOffer,
    EnrollmentReceipt, ErrorCode, FetchRequest, PendingChallenges, ServiceKey, TypedNumber, WakeChannel,
};

type Service = Mfa<MemoryStore, RecordingPhoneDelivery>;

struct World {
    mfa: Arc<Service>,
    store: MemoryStore,
    clock: Arc<ManualClock>,
    events: RecordingEventSink,
}

fn world() -> World {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(1_700_000_000)));
    let events = RecordingEventSink::new();
    let config = Config {
        issuer: "Example".to_owned(),
        ..Config::default()
    };
    let mfa = Mfa::new(
        config,
        KeyRing::new(KeyId(1), &[0x11; 32]).unwrap(),
        TagSecret::from_bytes(&[0x33; 32]).unwrap(),
        store.clone(),
        RecordingPhoneDelivery::new(),
    )
    .unwrap()
    .with_clock(clock.clone())
    .with_events(Arc::new(events.clone()))
    .with_push(ServiceKey::from_seed(&[7; 32]), "https://example.com/mfa/push")
    .unwrap();
    World {
        mfa: Arc::new(mfa),
        store,
        clock,
        events,
    }
}

/// The device side: its key, its id and the offer it pinned the service key from.
struct Device {
    key: DeviceKey,
    id: DeviceId,
    offer: EnrollmentOffer,
}

impl Device {
    fn now(&self, w: &World) -> UnixTime {
        w.clock.now()
    }

    async fn fetch(&self, w: &World) -> Vec<mfa_push::Challenge> {
        let body = FetchRequest::sign(&self.key, &self.id, self.now(w))
            .unwrap()
            .to_json();
        let reply = w.mfa.push_device_pending(body.as_bytes()).await.unwrap();
        let pending = PendingChallenges::from_json(reply.as_bytes()).unwrap();
        pending
            .challenges()
            .iter()
            .map(|c| {
                c.verify(self.offer.service_key(), &self.id, self.now(w))
                    .unwrap()
                    .clone()
            })
            .collect()
    }

    fn answer_body(&self, w: &World, challenge: &mfa_push::ChallengeId, decision: Decision) -> String {
        AnswerRequest::sign(&self.key, &self.id, challenge, decision, self.now(w))
            .unwrap()
            .to_json()
    }

    async fn answer(
        &self,
        w: &World,
        challenge: &mfa_push::ChallengeId,
        decision: Decision,
    ) -> Result<AnswerResult, Error> {
        let body = self.answer_body(w, challenge, decision);
        let reply = w.mfa.push_device_answer(body.as_bytes()).await?;
        Ok(AnswerResult::from_json(reply.as_bytes()).unwrap())
    }
}

fn approve(number: &str) -> Decision {
    Decision::Approve(number.parse::<TypedNumber>().unwrap())
}

/// Registers a push app for `user` as a browser and a phone would, and returns the device and the
/// method (the browser's proof collected once).
async fn enroll(w: &World, user: &UserId) -> (Device, MethodId) {
    let enrollment = w
        .mfa
        .begin_push_enrollment(user, "alice@example.com", "My phone", None)
        .await
        .unwrap();
    assert!(enrollment.uri().starts_with("mfa-push://enroll?"));
    assert!(
        !format!("{enrollment:?}").contains(enrollment.uri()),
        "Debug shows the offer's secret"
    );
    assert_eq!(
        w.mfa
            .push_enrollment_status(user, enrollment.method(), enrollment.challenge())
            .await
            .unwrap(),
        None,
        "enrolled before the device answered"
    );
    let offer = EnrollmentOffer::parse(enrollment.uri()).unwrap();
    let key = DeviceKey::generate(Algorithm::EcdsaP256).unwrap();
    let body = EnrollmentAnswer::sign(&offer, &key, "Pixel 8", WakeChannel::poll())
        .unwrap()
        .to_json();
    let receipt = w.mfa.push_device_enroll(body.as_bytes()).await.unwrap();
    let id = EnrollmentReceipt::from_json(receipt.as_bytes())
        .unwrap()
        .verify(&offer, &key.public_key())
        .unwrap()
        .clone();
    let enrolled = w
        .mfa
        .push_enrollment_status(user, enrollment.method(), enrollment.challenge())
        .await
        .unwrap()
        .expect("the registration, once the device answered");
    assert_eq!(enrolled.proof.factor(), Factor::PushApproval);
    assert_eq!(enrolled.method.id, enrollment.method());
    assert!(
        w.mfa
            .push_enrollment_status(user, enrollment.method(), enrollment.challenge())
            .await
            .is_err(),
        "the registration's proof was given twice"
    );
    (Device { key, id, offer }, enrollment.method())
}

async fn sign_in_push(w: &World, user: &UserId, method: MethodId) -> mfa::PushSent {
    match w.mfa.challenge(user, Some(method), None).await.unwrap() {
        Challenge::Push(sent) => sent,
        other => panic!("not a push: {other:?}"),
    }
}

#[tokio::test]
async fn a_push_app_registers_by_qr_code_and_approves_a_sign_in_with_the_number() {
    let w = world();
    let alice = UserId::new("alice").unwrap();
    let (device, method) = enroll(&w, &alice).await;
    let sent = sign_in_push(&w, &alice, method).await;
    assert_eq!(sent.number.to_string().len(), 2);
    assert!(matches!(
        w.mfa.push_status(&alice, &sent.challenge).await.unwrap(),
        PushStatus::Waiting { .. }
    ));

    let shown = device.fetch(&w).await;
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].id(), &sent.challenge);
    assert_eq!(shown[0].requester().application, "Example");

    let result = device
        .answer(&w, &sent.challenge, approve(&sent.number.to_string()))
        .await
        .unwrap();
    assert_eq!(result, AnswerResult::Approved);
    assert!(
        device.fetch(&w).await.is_empty(),
        "an answered push is still pending"
    );
    let PushStatus::Approved(proof) = w.mfa.push_status(&alice, &sent.challenge).await.unwrap() else {
        panic!("not approved");
    };
    assert_eq!(proof.factor(), Factor::PushApproval);
    assert_eq!(proof.method(), Some(method));
    assert!(
        matches!(
            w.mfa.push_status(&alice, &sent.challenge).await,
            Err(Error::NotFound { .. })
        ),
        "an approval was collected twice"
    );
    let kinds: Vec<_> = w.events.events().into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::PushSent { method }));
    assert!(kinds.contains(&EventKind::PushAnswered {
        method,
        answer: "approved"
    }));
}

#[tokio::test]
async fn a_wrong_number_is_refused_and_counts_as_a_failure() {
    let w = world();
    let alice = UserId::new("alice").unwrap();
    let (device, method) = enroll(&w, &alice).await;
    let sent = sign_in_push(&w, &alice, method).await;
    let wrong = format!(
        "{:02}",
        (sent.number.to_string().parse::<u32>().unwrap() + 1) % 100
    );
    let result = device.answer(&w, &sent.challenge, approve(&wrong)).await.unwrap();
    assert_eq!(result, AnswerResult::WrongNumber);
    assert_eq!(
        w.mfa.push_status(&alice, &sent.challenge).await.unwrap(),
        PushStatus::WrongNumber
    );
    assert_eq!(w.store.throttle_state(&alice).await.unwrap().failures, 1);
    // The right number after a wrong one is too late: the push ended with its first answer.
    let again = device
        .answer(&w, &sent.challenge, approve(&sent.number.to_string()))
        .await;
    assert_eq!(again.unwrap_err().push_code(), ErrorCode::NotPending);
    assert!(w.events.events().iter().any(|e| matches!(
        e.kind,
        EventKind::VerificationFailed {
            factor: Factor::PushApproval,
            failures: Some(1)
        }
    )));
}

#[tokio::test]
async fn a_denial_refuses_and_a_report_raises_the_suspicious_activity_flow() {
    let w = world();
    let alice = UserId::new("alice").unwrap();
    let (device, method) = enroll(&w, &alice).await;
    let sent = sign_in_push(&w, &alice, method).await;
    assert_eq!(
        device.answer(&w, &sent.challenge, Decision::Deny).await.unwrap(),
        AnswerResult::Denied
    );
    assert_eq!(
        w.mfa.push_status(&alice, &sent.challenge).await.unwrap(),
        PushStatus::Denied
    );

    let sent = sign_in_push(&w, &alice, method).await;
    assert_eq!(
        device
            .answer(&w, &sent.challenge, Decision::Report)
            .await
            .unwrap(),
        AnswerResult::Reported
    );
    let record = w.store.get_user(&alice).await.unwrap().unwrap();
    assert!(record.suspicious_activity_reported);
    assert!(matches!(
        w.mfa.challenge(&alice, Some(method), None).await,
        Err(Error::NotAllowed(Reason::SuspiciousActivityReported))
    ));
    assert!(
        w.events
            .events()
            .iter()
            .any(|e| matches!(e.kind, EventKind::SuspiciousActivityReported { .. }))
    );
}

#[tokio::test]
async fn replayed_tampered_unknown_and_late_requests_are_refused_with_the_protocol_codes() {
    let w = world();
    let alice = UserId::new("alice").unwrap();
    let (device, method) = enroll(&w, &alice).await;
    let sent = sign_in_push(&w, &alice, method).await;

    // Tampered: the decision changed after signing.
    let body = device.answer_body(&w, &sent.challenge, Decision::Deny);
    let tampered = body.replace("\"deny\"", "\"report\"");
    assert_ne!(body, tampered);
    let code = w
        .mfa
        .push_device_answer(tampered.as_bytes())
        .await
        .unwrap_err()
        .push_code();
    assert_eq!(code, ErrorCode::Unauthorized);

    // Signed by another key for this device id.
    let stranger = Device {
        key: DeviceKey::generate(Algorithm::Ed25519).unwrap(),
        id: device.id.clone(),
        offer: device.offer.clone(),
    };
    let forged = stranger.answer_body(&w, &sent.challenge, approve(&sent.number.to_string()));
    let code = w
        .mfa
        .push_device_answer(forged.as_bytes())
        .await
        .unwrap_err()
        .push_code();
    assert_eq!(code, ErrorCode::Unauthorized);

    // An unknown device.
    let unknown = Device {
        key: DeviceKey::generate(Algorithm::EcdsaP256).unwrap(),
        id: DeviceId::generate().unwrap(),
        offer: device.offer.clone(),
    };
    let body = FetchRequest::sign(&unknown.key, &unknown.id, w.clock.now())
        .unwrap()
        .to_json();
    let code = w
        .mfa
        .push_device_pending(body.as_bytes())
        .await
        .unwrap_err()
        .push_code();
    assert_eq!(code, ErrorCode::Unauthorized);

    // A request from more than 60 s ago.
    let old = FetchRequest::sign(
        &device.key,
        &device.id,
        w.clock.now().saturating_sub(Duration::from_secs(61)),
    )
    .unwrap()
    .to_json();
    let code = w
        .mfa
        .push_device_pending(old.as_bytes())
        .await
        .unwrap_err()
        .push_code();
    assert_eq!(code, ErrorCode::ClockSkew);

    // Malformed.
    let code = w
        .mfa
        .push_device_answer(b"{not json")
        .await
        .unwrap_err()
        .push_code();
    assert_eq!(code, ErrorCode::Malformed);

    // The same request twice: the second is a replay, and the push was answered once.
    let body = device.answer_body(&w, &sent.challenge, Decision::Deny);
    w.mfa.push_device_answer(body.as_bytes()).await.unwrap();
    let code = w
        .mfa
        .push_device_answer(body.as_bytes())
        .await
        .unwrap_err()
        .push_code();
    assert_eq!(code, ErrorCode::Replayed);
}

#[tokio::test]
async fn an_approval_after_expiry_is_refused_and_the_push_expires() {
    let w = world();
    let alice = UserId::new("alice").unwrap();
    let (device, method) = enroll(&w, &alice).await;
    let sent = sign_in_push(&w, &alice, method).await;
    w.clock.advance(Duration::from_secs(121));
    let late = device
        .answer(&w, &sent.challenge, approve(&sent.number.to_string()))
        .await;
    assert_eq!(late.unwrap_err().push_code(), ErrorCode::Expired);
    assert_eq!(
        w.mfa.push_status(&alice, &sent.challenge).await.unwrap(),
        PushStatus::Expired
    );
    assert!(device.fetch(&w).await.is_empty(), "an expired push is offered");
}

#[tokio::test]
async fn an_enrollment_offer_is_used_once_and_not_after_it_expires() {
    let w = world();
    let alice = UserId::new("alice").unwrap();
    let enrollment = w
        .mfa
        .begin_push_enrollment(&alice, "alice", "Phone", None)
        .await
        .unwrap();
    let offer = EnrollmentOffer::parse(enrollment.uri()).unwrap();
    let answer = |key: &DeviceKey| {
        EnrollmentAnswer::sign(&offer, key, "Phone", WakeChannel::poll())
            .unwrap()
            .to_json()
    };
    let first = DeviceKey::generate(Algorithm::EcdsaP256).unwrap();
    let second = DeviceKey::generate(Algorithm::EcdsaP256).unwrap();
    w.mfa.push_device_enroll(answer(&first).as_bytes()).await.unwrap();
    let again = w
        .mfa
        .push_device_enroll(answer(&second).as_bytes())
        .await
        .unwrap_err();
    assert_eq!(again.push_code(), ErrorCode::EnrollmentUnusable);
    assert_eq!(w.mfa.list_methods(&alice).await.unwrap().len(), 1);

    let bob = UserId::new("bob").unwrap();
    let enrollment = w
        .mfa
        .begin_push_enrollment(&bob, "bob", "Phone", None)
        .await
        .unwrap();
    let offer = EnrollmentOffer::parse(enrollment.uri()).unwrap();
    w.clock.advance(Duration::from_secs(241));
    let body = EnrollmentAnswer::sign(&offer, &first, "Phone", WakeChannel::poll())
        .unwrap()
        .to_json();
    let late = w.mfa.push_device_enroll(body.as_bytes()).await.unwrap_err();
    assert_eq!(late.push_code(), ErrorCode::EnrollmentUnusable);
    assert!(w.mfa.list_methods(&bob).await.unwrap().is_empty());
}

#[tokio::test]
async fn unanswered_pushes_stop_until_another_method_succeeds() {
    let w = world();
    let alice = UserId::new("alice").unwrap();
    let (device, method) = enroll(&w, &alice).await;
    // Recovery codes while the registration's proof is fresh: the other method of this test.
    // (The registration's proof is dated just after the change it made.)
    let proof_at = w.clock.now().saturating_add(Duration::from_millis(1));
    let codes = w
        .mfa
        .generate_recovery_codes(&alice, Some(proof_at))
        .await
        .unwrap();
    // Two pushes, the second replacing the first unanswered (strike 1); a third replaces the second
    // (strike 2) and is denied (strike 3): pushes stop.
    for _ in 0..2 {
        sign_in_push(&w, &alice, method).await;
        w.clock.advance(Duration::from_secs(10));
    }
    let sent = sign_in_push(&w, &alice, method).await;
    assert_eq!(
        device.answer(&w, &sent.challenge, Decision::Deny).await.unwrap(),
        AnswerResult::Denied
    );
    let stopped = w.mfa.challenge(&alice, Some(method), None).await;
    assert!(matches!(stopped, Err(Error::PushesStopped)), "{stopped:?}");
    assert!(
        w.events
            .events()
            .iter()
            .any(|e| matches!(e.kind, EventKind::PushesStopped { .. }))
    );
    // Hours later, still stopped: only a success ends it.
    w.clock.advance(Duration::from_secs(6 * 3600));
    assert!(matches!(
        w.mfa.challenge(&alice, Some(method), None).await,
        Err(Error::PushesStopped)
    ));
    let code = codes.codes().next().unwrap().to_owned();
    w.mfa.redeem_recovery_code(&alice, &code).await.unwrap();
    let sent = sign_in_push(&w, &alice, method).await;
    assert_eq!(device.fetch(&w).await[0].id(), &sent.challenge);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_racing_answers_one_counts_and_of_racing_polls_one_gets_the_approval() {
    let w = world();
    let alice = UserId::new("alice").unwrap();
    let (device, method) = enroll(&w, &alice).await;
    let sent = sign_in_push(&w, &alice, method).await;
    let number = sent.number.to_string();
    // Eight approvals and eight denials, each with its own nonce.
    let bodies: Vec<String> = (0..16)
        .map(|i| {
            let decision = if i % 2 == 0 {
                approve(&number)
            } else {
                Decision::Deny
            };
            device.answer_body(&w, &sent.challenge, decision)
        })
        .collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(bodies.len()));
    let answers: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (mfa, barrier) = (w.mfa.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                mfa.push_device_answer(body.as_bytes()).await
            })
        })
        .collect();
    let mut recorded = Vec::new();
    for task in answers {
        if let Ok(reply) = task.await.unwrap() {
            recorded.push(AnswerResult::from_json(reply.as_bytes()).unwrap());
        }
    }
    assert_eq!(recorded.len(), 1, "answers recorded: {recorded:?}");
    let status = w.mfa.push_status(&alice, &sent.challenge).await.unwrap();
    match recorded[0] {
        AnswerResult::Approved => assert!(matches!(status, PushStatus::Approved(_))),
        _ => assert_eq!(status, PushStatus::Denied),
    }

    // A fresh approved push, polled by 16 browsers at once: one gets the proof.
    let sent = sign_in_push(&w, &alice, method).await;
    device
        .answer(&w, &sent.challenge, approve(&sent.number.to_string()))
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let polls: Vec<_> = (0..16)
        .map(|_| {
            let (mfa, barrier, alice, id) = (
                w.mfa.clone(),
                barrier.clone(),
                alice.clone(),
                sent.challenge.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                matches!(mfa.push_status(&alice, &id).await, Ok(PushStatus::Approved(_)))
            })
        })
        .collect();
    let mut approved = 0;
    for poll in polls {
        approved += usize::from(poll.await.unwrap());
    }
    assert_eq!(approved, 1);
}

#[tokio::test]
async fn a_removed_push_app_can_no_longer_fetch_or_approve() {
    let w = world();
    let alice = UserId::new("alice").unwrap();
    let (device, method) = enroll(&w, &alice).await;
    let sent = sign_in_push(&w, &alice, method).await;
    w.store.remove_method(&alice, method).await.unwrap();
    let body = FetchRequest::sign(&device.key, &device.id, w.clock.now())
        .unwrap()
        .to_json();
    let code = w
        .mfa
        .push_device_pending(body.as_bytes())
        .await
        .unwrap_err()
        .push_code();
    assert_eq!(code, ErrorCode::Unauthorized);
    let late = device
        .answer(&w, &sent.challenge, approve(&sent.number.to_string()))
        .await;
    assert_eq!(late.unwrap_err().push_code(), ErrorCode::Unauthorized);
    assert!(w.mfa.push_status(&alice, &sent.challenge).await.is_err());
}

#[tokio::test]
async fn without_with_push_the_flows_say_so() {
    let mfa = Mfa::new(
        Config::default(),
        KeyRing::generate(KeyId(1)).unwrap(),
        TagSecret::generate().unwrap(),
        MemoryStore::new(),
        RecordingPhoneDelivery::new(),
    )
    .unwrap();
    let alice = UserId::new("alice").unwrap();
    let begun = mfa.begin_push_enrollment(&alice, "alice", "Phone", None).await;
    assert!(matches!(begun, Err(Error::PushNotConfigured)));
    assert!(matches!(
        mfa.push_device_pending(b"{}").await,
        Err(Error::PushNotConfigured)
    ));
}

/// Two instances of the service on one store: a push sent by one is fetched and answered through the
/// other and collected by the first; a replayed request is refused by either.
#[tokio::test]
async fn instances_sharing_a_store_share_pushes_and_nonces() {
    let w = world();
    let other = Mfa::new(
        Config {
            issuer: "Example".to_owned(),
            ..Config::default()
        },
        KeyRing::new(KeyId(1), &[0x11; 32]).unwrap(),
        TagSecret::from_bytes(&[0x33; 32]).unwrap(),
        w.store.clone(),
        RecordingPhoneDelivery::new(),
    )
    .unwrap()
    .with_clock(w.clock.clone())
    .with_push(ServiceKey::from_seed(&[7; 32]), "https://example.com/mfa/push")
    .unwrap();
    let alice = UserId::new("alice").unwrap();
    let (device, method) = enroll(&w, &alice).await;
    let sent = sign_in_push(&w, &alice, method).await;
    let body = device.answer_body(&w, &sent.challenge, approve(&sent.number.to_string()));
    let reply = other.push_device_answer(body.as_bytes()).await.unwrap();
    assert_eq!(
        AnswerResult::from_json(reply.as_bytes()).unwrap(),
        AnswerResult::Approved
    );
    let replayed = w.mfa.push_device_answer(body.as_bytes()).await.unwrap_err();
    assert_eq!(replayed.push_code(), ErrorCode::Replayed);
    assert!(matches!(
        w.mfa.push_status(&alice, &sent.challenge).await.unwrap(),
        PushStatus::Approved(_)
    ));
    assert!(
        other.push_status(&alice, &sent.challenge).await.is_err(),
        "collected twice"
    );
}
