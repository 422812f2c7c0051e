#![no_main]
//! What a device reads from the service: the enrollment receipt, the pending challenges, the answer's
//! result, error bodies and wake-ups. Never a panic; what parses serialises to a body that parses to the
//! same value; a challenge's checks are a typed error or the challenge.

use libfuzzer_sys::fuzz_target;
use mfa_push::{
    AnswerResult, DeviceId, EnrollmentReceipt, ErrorBody, PendingChallenges, ServiceKey, UnixTime, Wake,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(receipt) = EnrollmentReceipt::from_json(data) {
        let again = EnrollmentReceipt::from_json(receipt.to_json().as_bytes()).expect("a built body parses");
        assert_eq!(again, receipt);
    }
    if let Ok(pending) = PendingChallenges::from_json(data) {
        let again = PendingChallenges::from_json(pending.to_json().as_bytes()).expect("a built body parses");
        assert_eq!(again, pending);
        let service = ServiceKey::from_seed(&[1; 32]).public_key();
        for signed in pending.challenges() {
            let _ = signed.verify(&service, signed.challenge().device_id(), UnixTime::from_secs(0));
        }
    }
    if let Ok(result) = AnswerResult::from_json(data) {
        assert_eq!(
            AnswerResult::from_json(result.to_json().as_bytes()).expect("parses"),
            result
        );
    }
    if let Ok(error) = ErrorBody::from_json(data) {
        assert_eq!(
            ErrorBody::from_json(error.to_json().as_bytes()).expect("parses"),
            error
        );
    }
    if let Ok(wake) = Wake::from_json(data) {
        assert_eq!(Wake::from_json(wake.to_json().as_bytes()).expect("parses"), wake);
        let service = ServiceKey::from_seed(&[1; 32]).public_key();
        let _ = wake.verify(&service, &DeviceId::new("d").expect("an id"));
    }
});
