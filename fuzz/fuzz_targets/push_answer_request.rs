#![no_main]
//! The body of `POST {base}/answer`: never a panic; whatever parses serialises to a body that parses to
//! the same request; verifying it with any key is a typed error or a verified answer.

use libfuzzer_sys::fuzz_target;
use mfa_push::{Algorithm, AnswerRequest, DeviceKey, UnixTime};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = AnswerRequest::from_json(data) {
        let again = AnswerRequest::from_json(request.to_json().as_bytes()).expect("a built body parses");
        assert_eq!(again, request);
        for algorithm in [Algorithm::EcdsaP256, Algorithm::Ed25519] {
            let key = DeviceKey::from_bytes(algorithm, &[7; 32]).expect("a key");
            let _ = request.verify(&key.public_key(), UnixTime::from_secs(1_700_000_000));
        }
    }
});
