#![no_main]
//! What a browser posts to finish a passkey or security-key ceremony: never a panic, only a typed error
//! (the states' challenges are random, so no input can succeed).

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mfa_webauthn::{
    AuthenticationState, CredentialKind, RegistrationState, RelyingParty, StoredCredential, WebauthnConfig,
};

struct States {
    rp: RelyingParty,
    registration: String,
    authentication: String,
}

static STATES: LazyLock<States> = LazyLock::new(|| {
    let rp = RelyingParty::new(&WebauthnConfig {
        rp_id: "example.com".into(),
        rp_name: "Example".into(),
        origin: "https://example.com".into(),
        extra_origins: vec![],
    })
    .expect("a valid configuration");
    let (_, registration) = rp
        .start_registration(
            [1; 16],
            "alice@example.com",
            "Alice",
            CredentialKind::SecurityKey,
            &[],
        )
        .expect("a registration");
    // A stored ES256 credential, as webauthn-rs serialises it.
    let credential = StoredCredential::from_json(CREDENTIAL).expect("a stored credential");
    let (_, authentication) = rp.start_authentication(&[credential]).expect("an authentication");
    States {
        registration: registration.to_json().expect("state JSON"),
        authentication: authentication.to_json().expect("state JSON"),
        rp,
    }
});

const CREDENTIAL: &str = r#"{"kind":"security_key","credential":{"cred_id":"EsL8V_0_k2vVMHLb06Ns0BWBslz_teqNO6RHJrE8hh8","cred":{"type_":"ES256","key":{"EC_EC2":{"curve":"SECP256R1","x":"ozCYF2uiFU1sda0F4PPhJFN7dhckYdxI4Va_rZUoFHA","y":"gK4F5ZvWp5YPL8iYf7dyiG9k6HvjDWWxCv2qBxFPeIY"}}},"counter":1,"transports":null,"user_verified":false,"backup_eligible":false,"backup_state":false,"registration_policy":"preferred","extensions":{"cred_protect":"Ignored","hmac_create_secret":"NotRequested","appid":"NotRequested","cred_props":"Ignored"},"attestation":{"data":"None","metadata":"None"},"attestation_format":"none"}}"#;

fuzz_target!(|data: &[u8]| {
    let states = &*STATES;
    let registration = RegistrationState::from_json(&states.registration).expect("state");
    assert!(states.rp.finish_registration(data, registration).is_err());
    let authentication = AuthenticationState::from_json(&states.authentication).expect("state");
    assert!(states.rp.finish_authentication(data, authentication).is_err());
});
