//! Any phone delivery behind one type (issue 12, item 11): a service whose delivery is chosen at
//! run time sends through it as through the delivery itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use mfa::{
    BoxedPhoneDelivery, Channel, DeliveryError, DevPhoneDelivery, KeyId, KeyRing, ManualClock, MemoryStore,
    Mfa, PhoneDelivery, PhoneKind, RecordingPhoneDelivery, TagSecret, UnixTime,
};

fn service(delivery: BoxedPhoneDelivery) -> Mfa<MemoryStore, BoxedPhoneDelivery> {
    Mfa::new(
        config(),
        KeyRing::new(KeyId(1), &KEY_1).unwrap(),
        TagSecret::from_bytes(&TAG_SECRET).unwrap(),
        MemoryStore::new(),
        delivery,
    )
    .unwrap()
    .with_clock(Arc::new(ManualClock::new(UnixTime::from_secs(START))))
}

#[tokio::test]
async fn a_phone_registers_through_a_boxed_delivery() {
    let phones = RecordingPhoneDelivery::new();
    let mfa = service(BoxedPhoneDelivery::new(phones.clone()));
    let alice = user("alice");
    let sent = mfa
        .begin_phone_enrollment(&alice, PhoneKind::Mobile, "+1 415 555 2671", Channel::Sms, None)
        .await
        .unwrap();
    let number = "+14155552671".parse().unwrap();
    let code = phones.last_code_to(&number).expect("the code went out");
    mfa.confirm_phone_enrollment(&alice, sent.method, &code)
        .await
        .unwrap();
    assert_eq!(mfa.list_methods(&alice).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_boxed_delivery_passes_failures_on() {
    let phones = RecordingPhoneDelivery::new();
    phones.fail_next(DeliveryError::NumberRefused);
    let mfa = service(BoxedPhoneDelivery::new(phones.clone()));
    let error = mfa
        .begin_phone_enrollment(
            &user("alice"),
            PhoneKind::Mobile,
            "+14155552671",
            Channel::Sms,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, mfa::Error::Delivery(DeliveryError::NumberRefused)),
        "{error:?}"
    );
}

#[tokio::test]
async fn one_type_holds_any_delivery_chosen_at_run_time() {
    let recording = RecordingPhoneDelivery::new();
    let choices = [
        BoxedPhoneDelivery::new(DevPhoneDelivery),
        BoxedPhoneDelivery::new(recording.clone()),
        // A boxed one boxed again still sends.
        BoxedPhoneDelivery::new(BoxedPhoneDelivery::new(recording.clone())),
    ];
    let to = "+14155552671".parse().unwrap();
    let message = mfa::PhoneMessage::new("Example", "123456", mfa::MessagePurpose::SignIn, 300);
    for delivery in &choices {
        delivery.send(&to, Channel::Sms, &message).await.unwrap();
    }
    assert_eq!(recording.sent().len(), 2);
    let debug = format!("{:?}", choices[0]);
    assert!(debug.contains("DevPhoneDelivery"), "{debug}");
    // Clones share the delivery.
    let clone = choices[1].clone();
    clone.send(&to, Channel::Voice, &message).await.unwrap();
    assert_eq!(recording.sent().len(), 3);
}
