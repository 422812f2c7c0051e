#![no_main]
//! The body of `POST {base}/enroll`: never a panic; whatever parses serialises to a body that parses to
//! the same signed bytes; checking it against a pending enrollment is a typed error or a device.

use libfuzzer_sys::fuzz_target;
use mfa_push::{EnrollmentAnswer, EnrollmentId, EnrollmentSecret, Error, PendingEnrollment, UnixTime};

fuzz_target!(|data: &[u8]| {
    if let Ok(answer) = EnrollmentAnswer::from_json(data) {
        let body = answer.to_json();
        let again = EnrollmentAnswer::from_json(body.as_bytes()).expect("a built body parses");
        assert_eq!(*again.canonical_bytes(), *answer.canonical_bytes());
        let pending = PendingEnrollment::new(
            answer.enrollment_id().clone(),
            EnrollmentSecret::from_bytes([0; 32]).digest(),
            UnixTime::from_secs(1_700_000_000),
        );
        let _ = pending.verify(&answer, UnixTime::from_secs(0));
        if answer.enrollment_id().as_str() != "other" {
            let other = PendingEnrollment::new(
                EnrollmentId::new("other").expect("an id"),
                EnrollmentSecret::from_bytes([0; 32]).digest(),
                UnixTime::from_secs(0),
            );
            assert_eq!(
                other.verify(&answer, UnixTime::from_secs(0)),
                Err(Error::WrongRecipient {
                    what: "enrollment answer"
                })
            );
        }
    }
});
