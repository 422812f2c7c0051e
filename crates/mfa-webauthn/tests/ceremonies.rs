//! Full registrations and authentications against a software authenticator, and every way they
//! must fail: replays, another relying party, another origin, a counter going backwards, an unknown
//! credential, missing user verification, malformed input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use mfa_webauthn::*;
use serde_json::{Value, json};
use support::{SoftAuthenticator, b64, rp, unb64, with_field};

const USER: [u8; 16] = [7; 16];

fn register(
    rp: &RelyingParty,
    authenticator: &mut SoftAuthenticator,
    kind: CredentialKind,
) -> StoredCredential {
    let (options, state) = rp
        .start_registration(USER, "alice@example.com", "Alice", kind, &[])
        .unwrap();
    let response = authenticator.register(&options);
    rp.finish_registration(&response, state).unwrap()
}

fn authenticate(
    rp: &RelyingParty,
    authenticator: &mut SoftAuthenticator,
    credentials: &[StoredCredential],
) -> Result<Authenticated, Error> {
    let (options, state) = rp.start_authentication(credentials).unwrap();
    let response = authenticator.authenticate(&options);
    rp.finish_authentication(&response, state)
}

fn rejected(result: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match result {
        Err(Error::Rejected { reason }) => reason,
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[test]
fn passkey_registers_then_authenticates() {
    let rp = rp();
    let mut phone = SoftAuthenticator::passkey(1);
    let (options, state) = rp
        .start_registration(USER, "alice@example.com", "Alice", CredentialKind::Passkey, &[])
        .unwrap();

    // The options ask for a discoverable credential with user verification, for this user and site.
    let parsed: Value = serde_json::from_str(&options).unwrap();
    let public_key = &parsed["publicKey"];
    assert_eq!(public_key["rp"], json!({"id": "example.com", "name": "Example"}));
    assert_eq!(unb64(public_key["user"]["id"].as_str().unwrap()), USER);
    assert_eq!(public_key["user"]["name"], "alice@example.com");
    assert_eq!(public_key["user"]["displayName"], "Alice");
    assert_eq!(public_key["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(public_key["authenticatorSelection"]["requireResidentKey"], true);
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(public_key["attestation"], "none");
    assert_eq!(unb64(public_key["challenge"].as_str().unwrap()).len(), 32);

    // The state goes to the database and comes back.
    let state = RegistrationState::from_json(&state.to_json().unwrap()).unwrap();
    let credential = rp.finish_registration(&phone.register(&options), state).unwrap();
    assert_eq!(credential.kind(), CredentialKind::Passkey);
    assert_eq!(credential.id(), phone.credential_id.as_slice());
    assert_eq!(credential.id_text(), b64(&phone.credential_id));
    assert_eq!(credential.counter(), 0);
    assert!(credential.backup_eligible());
    assert!(credential.backed_up());

    // The credential goes to the database and comes back.
    let mut credential = StoredCredential::from_json(&credential.to_json().unwrap()).unwrap();

    let (options, state) = rp
        .start_authentication(std::slice::from_ref(&credential))
        .unwrap();
    let parsed: Value = serde_json::from_str(&options).unwrap();
    let public_key = &parsed["publicKey"];
    assert_eq!(public_key["rpId"], "example.com");
    assert_eq!(public_key["userVerification"], "required");
    assert_eq!(public_key["allowCredentials"][0]["id"], credential.id_text());
    let state = AuthenticationState::from_json(&state.to_json().unwrap()).unwrap();
    let authenticated = rp
        .finish_authentication(&phone.authenticate(&options), state)
        .unwrap();
    assert_eq!(authenticated.credential_id(), credential.id());
    assert_eq!(authenticated.counter(), 0);
    assert!(authenticated.user_verified());
    assert!(authenticated.backed_up());
    assert!(authenticated.backup_eligible());
    // A synced passkey: nothing to update.
    assert!(!credential.apply(&authenticated));
}

#[test]
fn security_key_registers_then_authenticates_and_its_counter_moves_forward() {
    let rp = rp();
    let mut key = SoftAuthenticator::security_key(2);
    let (options, state) = rp
        .start_registration(
            USER,
            "alice@example.com",
            "Alice",
            CredentialKind::SecurityKey,
            &[],
        )
        .unwrap();
    let parsed: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(
        parsed["publicKey"]["authenticatorSelection"]["userVerification"],
        "preferred"
    );
    assert_eq!(
        parsed["publicKey"]["authenticatorSelection"]["requireResidentKey"],
        false
    );

    // A key without a PIN: user presence only, accepted for a second factor.
    let mut credential = rp.finish_registration(&key.register(&options), state).unwrap();
    assert_eq!(credential.kind(), CredentialKind::SecurityKey);
    assert_eq!(credential.counter(), 1);
    assert!(!credential.backup_eligible());

    for expected in 2..5 {
        let authenticated = authenticate(&rp, &mut key, std::slice::from_ref(&credential)).unwrap();
        assert_eq!(authenticated.counter(), expected);
        assert!(!authenticated.user_verified());
        assert!(credential.apply(&authenticated), "the counter advanced");
        assert_eq!(credential.counter(), expected);
        assert!(!credential.apply(&authenticated), "applied twice: nothing new");
    }
}

#[test]
fn a_replayed_assertion_is_refused_by_a_new_ceremony() {
    let rp = rp();
    for mut authenticator in [SoftAuthenticator::passkey(3), SoftAuthenticator::security_key(3)] {
        let kind = if authenticator.counting {
            CredentialKind::SecurityKey
        } else {
            CredentialKind::Passkey
        };
        let mut credential = register(&rp, &mut authenticator, kind);
        let (options, state) = rp
            .start_authentication(std::slice::from_ref(&credential))
            .unwrap();
        let response = authenticator.authenticate(&options);
        credential.apply(&rp.finish_authentication(&response, state).unwrap());

        // The same response against the next ceremony: another challenge.
        let (_, state) = rp
            .start_authentication(std::slice::from_ref(&credential))
            .unwrap();
        assert_eq!(
            rejected(rp.finish_authentication(&response, state)),
            "challenge mismatch (replay?)"
        );

        // A registration response replayed into another registration.
        let (options, state) = rp
            .start_registration(USER, "alice@example.com", "Alice", kind, &[])
            .unwrap();
        let registration = authenticator.register(&options);
        let (_, other_state) = rp
            .start_registration(USER, "alice@example.com", "Alice", kind, &[])
            .unwrap();
        assert_eq!(
            rejected(rp.finish_registration(&registration, other_state)),
            "challenge mismatch (replay?)"
        );
        drop(state);
    }
}

#[test]
fn an_assertion_for_another_relying_party_is_refused() {
    let rp = rp();
    let mut authenticator = SoftAuthenticator::passkey(4);
    let credential = register(&rp, &mut authenticator, CredentialKind::Passkey);

    // A phishing site's RP id in the signed authenticator data, the right origin in the client data.
    authenticator.rp_id_override = Some("evil.example".into());
    assert_eq!(
        rejected(authenticate(
            &rp,
            &mut authenticator,
            std::slice::from_ref(&credential)
        )),
        "relying party id hash mismatch"
    );

    // And at registration.
    let (options, state) = rp
        .start_registration(USER, "alice@example.com", "Alice", CredentialKind::Passkey, &[])
        .unwrap();
    assert_eq!(
        rejected(rp.finish_registration(&authenticator.register(&options), state)),
        "relying party id hash mismatch"
    );
}

#[test]
fn a_wrong_origin_is_refused() {
    let rp = rp();
    let mut authenticator = SoftAuthenticator::passkey(5);
    let credential = register(&rp, &mut authenticator, CredentialKind::Passkey);

    for origin in [
        "https://evil.example",
        "https://example.com.evil.example",
        "http://example.com",
        "https://example.com:8443",
        "https://other.example.com", // a subdomain that is not configured
    ] {
        authenticator.origin = origin.into();
        assert_eq!(
            rejected(authenticate(
                &rp,
                &mut authenticator,
                std::slice::from_ref(&credential)
            )),
            "origin not allowed",
            "{origin}"
        );
        let (options, state) = rp
            .start_registration(USER, "alice@example.com", "Alice", CredentialKind::Passkey, &[])
            .unwrap();
        assert_eq!(
            rejected(rp.finish_registration(&authenticator.register(&options), state)),
            "origin not allowed",
            "{origin}"
        );
    }

    // The configured extra origin is allowed.
    authenticator.origin = "https://login.example.com".into();
    authenticate(&rp, &mut authenticator, std::slice::from_ref(&credential)).unwrap();
}

#[test]
fn a_counter_that_does_not_advance_is_counter_regressed() {
    let rp = rp();
    let mut key = SoftAuthenticator::security_key(6);
    let mut credential = register(&rp, &mut key, CredentialKind::SecurityKey);
    key.counter = 9;
    credential.apply(&authenticate(&rp, &mut key, std::slice::from_ref(&credential)).unwrap());
    assert_eq!(credential.counter(), 10);

    // A clone that is behind...
    key.counter = 3;
    assert_eq!(
        authenticate(&rp, &mut key, std::slice::from_ref(&credential)).unwrap_err(),
        Error::CounterRegressed
    );
    // ...or that sends the same value again.
    key.counter = 9;
    assert_eq!(
        authenticate(&rp, &mut key, std::slice::from_ref(&credential)).unwrap_err(),
        Error::CounterRegressed
    );
    // A counter that starts sending 0 after a positive one.
    key.counter = 0;
    key.counting = false;
    assert_eq!(
        authenticate(&rp, &mut key, std::slice::from_ref(&credential)).unwrap_err(),
        Error::CounterRegressed
    );
    // The genuine key, ahead, still works.
    key.counter = 10;
    key.counting = true;
    assert_eq!(
        authenticate(&rp, &mut key, std::slice::from_ref(&credential))
            .unwrap()
            .counter(),
        11
    );
}

#[test]
fn another_credential_is_unknown() {
    let rp = rp();
    let mut registered = SoftAuthenticator::passkey(7);
    let credential = register(&rp, &mut registered, CredentialKind::Passkey);
    let mut stranger = SoftAuthenticator::passkey(8);
    assert_eq!(
        authenticate(&rp, &mut stranger, std::slice::from_ref(&credential)).unwrap_err(),
        Error::UnknownCredential
    );

    // A known credential id with another key's signature.
    stranger.credential_id = registered.credential_id.clone();
    assert_eq!(
        rejected(authenticate(
            &rp,
            &mut stranger,
            std::slice::from_ref(&credential)
        )),
        "signature does not verify"
    );
}

#[test]
fn passkeys_require_user_verification() {
    let rp = rp();
    let mut authenticator = SoftAuthenticator::passkey(9);
    authenticator.user_verified = false;
    let (options, state) = rp
        .start_registration(USER, "alice@example.com", "Alice", CredentialKind::Passkey, &[])
        .unwrap();
    assert_eq!(
        rejected(rp.finish_registration(&authenticator.register(&options), state)),
        "user not verified"
    );

    authenticator.user_verified = true;
    let credential = register(&rp, &mut authenticator, CredentialKind::Passkey);
    authenticator.user_verified = false;
    assert_eq!(
        rejected(authenticate(
            &rp,
            &mut authenticator,
            std::slice::from_ref(&credential)
        )),
        "user not verified"
    );
}

#[test]
fn a_security_key_registered_with_a_pin_keeps_asking_for_it() {
    let rp = rp();
    let mut key = SoftAuthenticator::security_key(10);
    key.user_verified = true;
    let credential = register(&rp, &mut key, CredentialKind::SecurityKey);
    key.user_verified = false;
    assert_eq!(
        rejected(authenticate(&rp, &mut key, std::slice::from_ref(&credential))),
        "user not verified"
    );
}

#[test]
fn passkeys_and_security_keys_in_one_ceremony() {
    let rp = rp();
    let mut phone = SoftAuthenticator::passkey(11);
    let mut key = SoftAuthenticator::security_key(12);
    let passkey = register(&rp, &mut phone, CredentialKind::Passkey);
    let security_key = register(&rp, &mut key, CredentialKind::SecurityKey);
    let both = [passkey, security_key];

    let (options, _) = rp.start_authentication(&both).unwrap();
    let parsed: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(parsed["publicKey"]["userVerification"], "preferred");
    assert_eq!(
        parsed["publicKey"]["allowCredentials"].as_array().unwrap().len(),
        2
    );

    assert_eq!(
        authenticate(&rp, &mut key, &both).unwrap().credential_id(),
        key.credential_id.as_slice()
    );
    assert_eq!(
        authenticate(&rp, &mut phone, &both).unwrap().credential_id(),
        phone.credential_id.as_slice()
    );
    // The passkey was registered requiring user verification: still required in a mixed ceremony.
    phone.user_verified = false;
    assert_eq!(
        rejected(authenticate(&rp, &mut phone, &both)),
        "user not verified"
    );
}

#[test]
fn an_excluded_authenticator_cannot_register_again() {
    let rp = rp();
    let mut key = SoftAuthenticator::security_key(13);
    let credential = register(&rp, &mut key, CredentialKind::SecurityKey);
    let (options, state) = rp
        .start_registration(
            USER,
            "alice@example.com",
            "Alice",
            CredentialKind::SecurityKey,
            std::slice::from_ref(&credential),
        )
        .unwrap();
    let parsed: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(
        parsed["publicKey"]["excludeCredentials"][0]["id"],
        credential.id_text()
    );
    rejected(rp.finish_registration(&key.register(&options), state));
}

#[test]
fn apply_ignores_another_credentials_result() {
    let rp = rp();
    let mut a = SoftAuthenticator::security_key(14);
    let mut b = SoftAuthenticator::security_key(15);
    let mut credential_a = register(&rp, &mut a, CredentialKind::SecurityKey);
    let credential_b = register(&rp, &mut b, CredentialKind::SecurityKey);
    let authenticated_b = authenticate(&rp, &mut b, std::slice::from_ref(&credential_b)).unwrap();
    assert!(!credential_a.apply(&authenticated_b));
    assert_eq!(credential_a.counter(), 1);
}

#[test]
fn development_on_localhost() {
    let rp = RelyingParty::new(&WebauthnConfig {
        rp_id: "localhost".into(),
        rp_name: "Dev".into(),
        origin: "http://localhost:8080".into(),
        extra_origins: vec![],
    })
    .unwrap();
    let mut phone = SoftAuthenticator::passkey(16);
    phone.origin = "http://localhost:8080".into();
    let credential = register(&rp, &mut phone, CredentialKind::Passkey);
    authenticate(&rp, &mut phone, std::slice::from_ref(&credential)).unwrap();
    phone.origin = "http://localhost:9090".into();
    assert_eq!(
        rejected(authenticate(&rp, &mut phone, std::slice::from_ref(&credential))),
        "origin not allowed"
    );
}

#[test]
fn malformed_responses_are_malformed() {
    let rp = rp();
    let mut phone = SoftAuthenticator::passkey(17);
    let (options, state) = rp
        .start_registration(USER, "alice@example.com", "Alice", CredentialKind::Passkey, &[])
        .unwrap();
    let registration = phone.register(&options);
    let state = state.to_json().unwrap();
    let credential = rp
        .finish_registration(&registration, RegistrationState::from_json(&state).unwrap())
        .unwrap();
    let (options, auth_state) = rp
        .start_authentication(std::slice::from_ref(&credential))
        .unwrap();
    let assertion = phone.authenticate(&options);
    let auth_state = auth_state.to_json().unwrap();

    let garbage: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{}".to_vec(),
        b"\xff\xfe".to_vec(),
        vec![b'['; 100_000],
        format!("{{\"id\":\"{}\"}}", "a".repeat(70_000)).into_bytes(),
    ];
    for input in &garbage {
        let err = rp
            .finish_registration(input, RegistrationState::from_json(&state).unwrap())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed {
                    what: "registration response",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = rp
            .finish_authentication(input, AuthenticationState::from_json(&auth_state).unwrap())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed {
                    what: "authentication response",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    let broken_registrations = [
        with_field(&registration, "/type", json!("password")),
        with_field(&registration, "/rawId", json!("not base64!")),
        with_field(
            &registration,
            "/response/attestationObject",
            json!(b64(b"\xa3garbage")),
        ),
        with_field(&registration, "/response/attestationObject", json!(b64(&[]))),
        with_field(
            &registration,
            "/response/clientDataJSON",
            json!(b64(b"{not json")),
        ),
        with_field(&registration, "/response/clientDataJSON", json!(42)),
    ];
    for input in &broken_registrations {
        let err = rp
            .finish_registration(input, RegistrationState::from_json(&state).unwrap())
            .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
        // The message names what, never quotes the input.
        assert!(!err.to_string().contains("garbage"));
    }

    let mut truncated = unb64(
        serde_json::from_slice::<Value>(&assertion).unwrap()["response"]["authenticatorData"]
            .as_str()
            .unwrap(),
    );
    truncated.truncate(20);
    let broken_assertions = [
        with_field(&assertion, "/type", json!("otp")),
        with_field(&assertion, "/response/authenticatorData", json!(b64(&truncated))),
        with_field(&assertion, "/response/clientDataJSON", json!(b64(b"[]"))),
        with_field(&assertion, "/response/signature", json!("%%%")),
    ];
    for input in &broken_assertions {
        let err = rp
            .finish_authentication(input, AuthenticationState::from_json(&auth_state).unwrap())
            .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    }

    // A signature that is not DER: a forgery attempt, one opaque outcome.
    let bad_signature = with_field(
        &assertion,
        "/response/signature",
        json!(b64(&[0x30, 0x02, 0x01, 0x00])),
    );
    rejected(rp.finish_authentication(
        &bad_signature,
        AuthenticationState::from_json(&auth_state).unwrap(),
    ));

    // The untouched responses still work with the same stored states.
    rp.finish_registration(&registration, RegistrationState::from_json(&state).unwrap())
        .unwrap();
    rp.finish_authentication(&assertion, AuthenticationState::from_json(&auth_state).unwrap())
        .unwrap();
}

#[test]
fn states_and_credentials_round_trip_and_hide_the_challenge() {
    let rp = rp();
    let (options, state) = rp
        .start_registration(USER, "alice@example.com", "Alice", CredentialKind::Passkey, &[])
        .unwrap();
    let challenge = serde_json::from_str::<Value>(&options).unwrap()["publicKey"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let json = state.to_json().unwrap();
    assert_eq!(
        RegistrationState::from_json(&json).unwrap().to_json().unwrap(),
        json
    );
    let debug = format!("{state:?}");
    assert_eq!(debug, r#"RegistrationState { kind: "passkey", .. }"#);
    assert!(!debug.contains(&challenge));

    let mut phone = SoftAuthenticator::passkey(18);
    let credential = rp.finish_registration(&phone.register(&options), state).unwrap();
    let json = credential.to_json().unwrap();
    assert!(json.starts_with(r#"{"kind":"passkey","credential":{"#), "{json}");
    assert_eq!(
        StoredCredential::from_json(&json).unwrap().to_json().unwrap(),
        json
    );
    assert!(format!("{credential:?}").contains(&credential.id_text()));

    let (options, state) = rp
        .start_authentication(std::slice::from_ref(&credential))
        .unwrap();
    let challenge = serde_json::from_str::<Value>(&options).unwrap()["publicKey"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let json = state.to_json().unwrap();
    assert_eq!(
        AuthenticationState::from_json(&json).unwrap().to_json().unwrap(),
        json
    );
    let debug = format!("{state:?}");
    assert_eq!(debug, r#"AuthenticationState { kind: "passkey", .. }"#);
    assert!(!debug.contains(&challenge));
    let authenticated = rp
        .finish_authentication(&phone.authenticate(&options), state)
        .unwrap();
    assert!(!format!("{authenticated:?}").contains(&challenge));

    // What does not parse is a State error, for each kind of record.
    for bad in [
        "",
        "{}",
        "null",
        r#"{"kind":"passkey"}"#,
        r#"{"kind":"magic","state":{}}"#,
    ] {
        assert!(matches!(
            RegistrationState::from_json(bad),
            Err(Error::State {
                what: "registration state",
                ..
            })
        ));
        assert!(matches!(
            AuthenticationState::from_json(bad),
            Err(Error::State {
                what: "authentication state",
                ..
            })
        ));
        assert!(matches!(
            StoredCredential::from_json(bad),
            Err(Error::State {
                what: "credential",
                ..
            })
        ));
    }
}

#[test]
fn a_state_of_one_ceremony_does_not_finish_the_other() {
    let rp = rp();
    let mut phone = SoftAuthenticator::passkey(19);
    let credential = register(&rp, &mut phone, CredentialKind::Passkey);
    let (options, _) = rp
        .start_authentication(std::slice::from_ref(&credential))
        .unwrap();
    let assertion = phone.authenticate(&options);
    // An authentication state stored where a registration state is expected does not parse.
    let (_, auth_state) = rp
        .start_authentication(std::slice::from_ref(&credential))
        .unwrap();
    assert!(RegistrationState::from_json(&auth_state.to_json().unwrap()).is_err());
    // A registration answered with an assertion.
    let (_, state) = rp
        .start_registration(USER, "alice@example.com", "Alice", CredentialKind::Passkey, &[])
        .unwrap();
    assert!(matches!(
        rp.finish_registration(&assertion, state),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn no_credentials_no_ceremony() {
    assert_eq!(rp().start_authentication(&[]).unwrap_err(), Error::NoCredentials);
}

#[test]
fn user_names_are_checked() {
    let rp = rp();
    for (name, display, field) in [
        ("", "Alice", "user_name"),
        ("  ", "Alice", "user_name"),
        ("alice", "", "display_name"),
        ("ali\nce", "Alice", "user_name"),
        ("alice", "A\u{7}", "display_name"),
    ] {
        let err = rp
            .start_registration(USER, name, display, CredentialKind::Passkey, &[])
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidUserName { field: f, .. } if f == field),
            "{err:?}"
        );
    }
    let long = "a".repeat(257);
    assert!(
        rp.start_registration(USER, &long, "Alice", CredentialKind::Passkey, &[])
            .is_err()
    );
}

#[test]
fn configurations_are_checked() {
    let ok = |rp_id: &str, origin: &str| WebauthnConfig {
        rp_id: rp_id.into(),
        rp_name: "Example".into(),
        origin: origin.into(),
        extra_origins: vec![],
    };
    for (rp_id, origin) in [
        ("example.com", "https://example.com"),
        ("example.com", "https://login.example.com"),
        ("login.example.com", "https://login.example.com:8443"),
        ("localhost", "http://localhost"),
        ("localhost", "http://localhost:3000"),
        ("localhost", "https://localhost"),
    ] {
        RelyingParty::new(&ok(rp_id, origin)).unwrap();
    }

    for (rp_id, origin, field) in [
        ("", "https://example.com", "rp_id"),
        ("Example.com", "https://example.com", "rp_id"),
        ("https://example.com", "https://example.com", "rp_id"),
        ("example.com:443", "https://example.com", "rp_id"),
        ("com", "https://example.com", "rp_id"),
        ("127.0.0.1", "http://127.0.0.1", "rp_id"),
        ("example..com", "https://example.com", "rp_id"),
        ("example.com", "http://example.com", "origin"),
        ("example.com", "ftp://example.com", "origin"),
        ("example.com", "https://example.com/login", "origin"),
        ("example.com", "https://example.com/?a=b", "origin"),
        ("example.com", "https://user@example.com", "origin"),
        ("example.com", "https://notexample.com", "origin"),
        ("example.com", "https://example.com.evil.example", "origin"),
        ("login.example.com", "https://example.com", "origin"),
        ("localhost", "http://127.0.0.1:8080", "origin"),
        ("example.com", "not a url", "origin"),
    ] {
        let err = RelyingParty::new(&ok(rp_id, origin)).unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { field: f, .. } if f == field),
            "{rp_id} {origin}: {err:?}"
        );
    }

    let mut config = ok("example.com", "https://example.com");
    config.extra_origins = vec!["https://evil.example".into()];
    assert!(matches!(
        RelyingParty::new(&config),
        Err(Error::InvalidConfig {
            field: "extra_origins",
            ..
        })
    ));
    for name in ["", " ", "a\u{0}b", &"n".repeat(65)] {
        let mut config = ok("example.com", "https://example.com");
        config.rp_name = name.into();
        assert!(matches!(
            RelyingParty::new(&config),
            Err(Error::InvalidConfig { field: "rp_name", .. })
        ));
    }

    // Unknown fields in a configuration file are an error, not ignored.
    let json = r#"{"rp_id":"example.com","rp_name":"Example","origin":"https://example.com","rpid":"x"}"#;
    assert!(serde_json::from_str::<WebauthnConfig>(json).is_err());
}

#[test]
fn errors_say_what_and_keep_reasons_out_of_messages() {
    let err = Error::Rejected {
        reason: "origin not allowed",
    };
    assert_eq!(
        err.to_string(),
        "the passkey or security key response was rejected"
    );
    assert!(format!("{err:?}").contains("origin not allowed"));
    assert_eq!(
        Error::CounterRegressed.to_string(),
        "the authenticator's signature counter went backwards: the credential may have been cloned"
    );
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RelyingParty>();
    send_sync::<RegistrationState>();
    send_sync::<AuthenticationState>();
    send_sync::<StoredCredential>();
    send_sync::<Error>();
}
