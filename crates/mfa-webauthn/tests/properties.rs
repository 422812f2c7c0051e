//! Whatever a browser (or an attacker posing as one) sends, the `finish_*` calls return a value or a
//! typed error and never panic; a changed assertion is never accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::LazyLock;

use mfa_webauthn::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use support::{SoftAuthenticator, b64, rp, unb64, with_field};

/// One registration and one authentication, with their stored states, made once.
struct Fixture {
    rp: RelyingParty,
    registration: Vec<u8>,
    registration_state: String,
    assertion: Vec<u8>,
    authentication_state: String,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let rp = rp();
    let mut key = SoftAuthenticator::security_key(1);
    let (options, state) = rp
        .start_registration(
            [1; 16],
            "alice@example.com",
            "Alice",
            CredentialKind::SecurityKey,
            &[],
        )
        .unwrap();
    let registration = key.register(&options);
    let registration_state = state.to_json().unwrap();
    let credential = rp
        .finish_registration(
            &registration,
            RegistrationState::from_json(&registration_state).unwrap(),
        )
        .unwrap();
    let (options, state) = rp.start_authentication(&[credential]).unwrap();
    let assertion = key.authenticate(&options);
    let authentication_state = state.to_json().unwrap();
    // The untouched assertion is accepted: what the properties change is what makes them fail.
    rp.finish_authentication(
        &assertion,
        AuthenticationState::from_json(&authentication_state).unwrap(),
    )
    .unwrap();
    Fixture {
        rp,
        registration,
        registration_state,
        assertion,
        authentication_state,
    }
});

fn finish_registration(response: &[u8]) -> Result<StoredCredential, Error> {
    let f = &*FIXTURE;
    f.rp.finish_registration(
        response,
        RegistrationState::from_json(&f.registration_state).unwrap(),
    )
}

fn finish_authentication(response: &[u8]) -> Result<Authenticated, Error> {
    let f = &*FIXTURE;
    f.rp.finish_authentication(
        response,
        AuthenticationState::from_json(&f.authentication_state).unwrap(),
    )
}

/// The decoded bytes of one base64url field of a response.
fn field(response: &[u8], pointer: &str) -> Vec<u8> {
    let json: Value = serde_json::from_slice(response).unwrap();
    unb64(json.pointer(pointer).unwrap().as_str().unwrap())
}

const ASSERTION_FIELDS: [&str; 3] = [
    "/response/authenticatorData",
    "/response/clientDataJSON",
    "/response/signature",
];
const REGISTRATION_FIELDS: [&str; 2] = ["/response/attestationObject", "/response/clientDataJSON"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(finish_registration(&bytes).is_err());
        prop_assert!(finish_authentication(&bytes).is_err());
    }

    #[test]
    fn arbitrary_text_near_a_response_never_panics(
        at in 0.0f64..1.0,
        cut in 0usize..64,
        insert in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        for response in [&FIXTURE.registration, &FIXTURE.assertion] {
            let mut bytes = response.clone();
            let start = ((bytes.len() as f64) * at) as usize;
            let end = (start + cut).min(bytes.len());
            bytes.splice(start..end, insert.iter().copied());
            // Whitespace between tokens keeps a response valid: only "no panic" is certain.
            let _ = finish_registration(&bytes);
            let _ = finish_authentication(&bytes);
        }
    }

    #[test]
    fn arbitrary_binary_fields_never_panic(
        which in 0usize..5,
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        if which < REGISTRATION_FIELDS.len() {
            let response = with_field(&FIXTURE.registration, REGISTRATION_FIELDS[which], json!(b64(&bytes)));
            prop_assert!(finish_registration(&response).is_err());
        } else {
            let pointer = ASSERTION_FIELDS[which - REGISTRATION_FIELDS.len()];
            let response = with_field(&FIXTURE.assertion, pointer, json!(b64(&bytes)));
            prop_assert!(finish_authentication(&response).is_err());
        }
    }

    /// Authenticator data whose header is right and whose rest is arbitrary: reaches the attested
    /// credential data and extension parsers (CBOR) behind the flags.
    #[test]
    fn arbitrary_authenticator_data_tails_never_panic(
        flags in any::<u8>(),
        tail in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let original = field(&FIXTURE.assertion, "/response/authenticatorData");
        let mut data = original.clone();
        data.truncate(37);
        data[32] = flags;
        data.extend_from_slice(&tail);
        prop_assume!(data != original);
        let response = with_field(&FIXTURE.assertion, "/response/authenticatorData", json!(b64(&data)));
        prop_assert!(finish_authentication(&response).is_err());
    }

    /// Any one bit changed in what an assertion signs, or in its signature, and it is refused.
    #[test]
    fn a_changed_assertion_is_refused(which in 0usize..3, at in 0.0f64..1.0, bit in 0u8..8) {
        let pointer = ASSERTION_FIELDS[which];
        let mut bytes = field(&FIXTURE.assertion, pointer);
        let index = ((bytes.len() as f64) * at) as usize;
        bytes[index] ^= 1 << bit;
        let response = with_field(&FIXTURE.assertion, pointer, json!(b64(&bytes)));
        prop_assert!(finish_authentication(&response).is_err());
    }

    /// A registration with attestation "none" is not signed: a changed one may still register (another
    /// credential id, say), but never panics.
    #[test]
    fn a_changed_registration_never_panics(which in 0usize..2, at in 0.0f64..1.0, bit in 0u8..8) {
        let pointer = REGISTRATION_FIELDS[which];
        let mut bytes = field(&FIXTURE.registration, pointer);
        let index = ((bytes.len() as f64) * at) as usize;
        bytes[index] ^= 1 << bit;
        let _ = finish_registration(&with_field(&FIXTURE.registration, pointer, json!(b64(&bytes))));
    }
}

#[test]
fn deeply_nested_cbor_is_malformed() {
    // 40 000 nested CBOR arrays as the attestation object.
    let nested = vec![0x81u8; 40_000];
    let response = with_field(
        &FIXTURE.registration,
        "/response/attestationObject",
        json!(b64(&nested)),
    );
    assert!(matches!(
        finish_registration(&response),
        Err(Error::Malformed { .. })
    ));

    // The same behind the "extension data" flag of an assertion's authenticator data.
    let mut data = field(&FIXTURE.assertion, "/response/authenticatorData");
    data[32] |= 0x80;
    data.extend_from_slice(&nested);
    let response = with_field(
        &FIXTURE.assertion,
        "/response/authenticatorData",
        json!(b64(&data)),
    );
    assert!(matches!(
        finish_authentication(&response),
        Err(Error::Malformed { .. })
    ));

    // And deeply nested JSON.
    let mut json = "[".repeat(30_000);
    json.push_str(&"]".repeat(30_000));
    assert!(matches!(
        finish_authentication(json.as_bytes()),
        Err(Error::Malformed { .. })
    ));
}
