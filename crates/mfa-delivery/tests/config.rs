//! Configuration from variables and from serde, checked at start-up with errors that name the
//! setting.

#![cfg(all(feature = "twilio", feature = "vonage", feature = "webhook"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use mfa_delivery::{ConfigError, DeliveryConfig, HttpConfig, Provider, ProviderConfig};

const SID: &str = "ACe2f5a1b2c3d4e5f60718293a4b5c6d7e";
const KEY: &str = include_str!("data/vonage-test-key.pem");

fn from(vars: &[(&str, &str)]) -> Result<Option<DeliveryConfig>, ConfigError> {
    DeliveryConfig::from_vars(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

fn twilio_vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("TWILIO_ACCOUNT_SID", SID),
        ("TWILIO_AUTH_TOKEN", "f00dfacef00dfacef00dfacef00dface"),
        ("TWILIO_FROM", "+15005550006"),
    ]
}

#[test]
fn nothing_set_means_no_provider() {
    assert!(from(&[]).unwrap().is_none());
    assert!(from(&[("MFA_DELIVERY_PROVIDER", "none")]).unwrap().is_none());
    // Empty variables are unset.
    assert!(
        from(&[("TWILIO_ACCOUNT_SID", ""), ("MFA_WEBHOOK_URL", "  ")])
            .unwrap()
            .is_none()
    );
    // `none` wins over variables that are set.
    let mut vars = twilio_vars();
    vars.push(("MFA_DELIVERY_PROVIDER", "none"));
    assert!(from(&vars).unwrap().is_none());
}

#[test]
fn the_provider_whose_variables_are_set_is_used() {
    let config = from(&twilio_vars()).unwrap().unwrap();
    assert!(matches!(config.providers[..], [ProviderConfig::Twilio(_)]));
    assert_eq!(config.http, HttpConfig::default());
    assert_eq!(config.build().unwrap().name(), "twilio");

    let config = from(&[
        ("VONAGE_API_KEY", "a1b2c3d4"),
        ("VONAGE_API_SECRET", "S3cretVonage0000"),
        ("VONAGE_FROM", "Example"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(config.build().unwrap().name(), "vonage");
}

#[test]
fn several_providers_need_an_order() {
    let mut vars = twilio_vars();
    vars.push(("MFA_WEBHOOK_URL", "https://gateway.example/codes"));
    vars.push(("MFA_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert_eq!(
        from(&vars).unwrap_err().to_string(),
        "variables of several providers are set (twilio, webhook): set MFA_DELIVERY_PROVIDER to one of them, or to a comma-separated failover order"
    );
    vars.push(("MFA_DELIVERY_PROVIDER", "webhook, twilio"));
    let config = from(&vars).unwrap().unwrap();
    assert!(matches!(
        config.providers[..],
        [ProviderConfig::Webhook(_), ProviderConfig::Twilio(_)]
    ));
    assert_eq!(config.build().unwrap().name(), "webhook");
}

#[test]
fn every_provider_with_every_setting() {
    let dir = std::env::temp_dir().join(format!("mfa-delivery-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_path = dir.join("private.key");
    std::fs::write(&key_path, KEY).unwrap();
    let key_path = key_path.to_str().unwrap().to_owned();
    let vars = [
        ("MFA_DELIVERY_PROVIDER", "twilio,vonage,webhook"),
        ("TWILIO_ACCOUNT_SID", SID),
        ("TWILIO_AUTH_TOKEN", "f00dfacef00dfacef00dfacef00dface"),
        (
            "TWILIO_MESSAGING_SERVICE_SID",
            "MG9752274e9e519418a7406176694466fa",
        ),
        ("TWILIO_VOICE_FROM", "+15005550006"),
        ("TWILIO_VOICE_LANGUAGE", "en-GB"),
        ("TWILIO_API_BASE", "https://api.twilio.com"),
        ("VONAGE_API_KEY", "a1b2c3d4"),
        ("VONAGE_API_SECRET", "S3cretVonage0000"),
        ("VONAGE_FROM", "447700900000"),
        ("VONAGE_APPLICATION_ID", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"),
        ("VONAGE_PRIVATE_KEY_PATH", &key_path),
        ("VONAGE_VOICE_FROM", "447700900001"),
        ("VONAGE_VOICE_LANGUAGE", "en-US"),
        ("VONAGE_SMS_BASE", "https://rest.nexmo.com"),
        ("VONAGE_VOICE_BASE", "https://api.nexmo.com"),
        ("MFA_WEBHOOK_URL", "https://gateway.example/codes"),
        (
            "MFA_WEBHOOK_SECRET",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("MFA_WEBHOOK_LOCALE", "en-GB"),
        ("MFA_DELIVERY_WEBOTP_DOMAIN", "login.example.com"),
        ("MFA_DELIVERY_ATTEMPT_TIMEOUT_MS", "4000"),
        ("MFA_DELIVERY_CONNECT_TIMEOUT_MS", "2000"),
        ("MFA_DELIVERY_MAX_ATTEMPTS", "2"),
        ("MFA_DELIVERY_RETRY_BACKOFF_MS", "100"),
        ("MFA_DELIVERY_MAX_RETRY_AFTER_MS", "1000"),
        ("MFA_DELIVERY_CALL_TIMEOUT_MS", "9000"),
    ];
    let config = from(&vars).unwrap().unwrap();
    assert_eq!(
        config.http,
        HttpConfig {
            attempt_timeout_ms: 4000,
            connect_timeout_ms: 2000,
            max_attempts: 2,
            retry_backoff_ms: 100,
            max_retry_after_ms: 1000,
            call_timeout_ms: 9000,
        }
    );
    assert_eq!(config.sms.webotp_domain.as_deref(), Some("login.example.com"));
    let [
        ProviderConfig::Twilio(_),
        ProviderConfig::Vonage(_),
        ProviderConfig::Webhook(webhook),
    ] = &config.providers[..]
    else {
        panic!("three providers in order");
    };
    assert_eq!(webhook.secrets.len(), 2);
    assert_eq!(config.build().unwrap().name(), "twilio");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_name_the_setting() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("MFA_DELIVERY_PROVIDER", "sinch")],
            "unknown provider \"sinch\" (known: twilio, vonage, webhook)",
        ),
        (
            vec![("MFA_DELIVERY_PROVIDER", "twilio")],
            "twilio.account_sid (TWILIO_ACCOUNT_SID) is not set",
        ),
        (
            vec![("TWILIO_ACCOUNT_SID", SID)],
            "twilio.auth_token (TWILIO_AUTH_TOKEN) is not set",
        ),
        (
            vec![("MFA_WEBHOOK_URL", "https://gateway.example/codes")],
            "webhook.secrets (MFA_WEBHOOK_SECRET) is not set",
        ),
        (
            vec![("MFA_DELIVERY_PROVIDER", "webhook,webhook")],
            "providers (MFA_DELIVERY_PROVIDER): names webhook twice",
        ),
        (
            [twilio_vars(), vec![("MFA_DELIVERY_MAX_ATTEMPTS", "three")]].concat(),
            "http.max_attempts (MFA_DELIVERY_MAX_ATTEMPTS): must be a whole number",
        ),
    ];
    for (vars, expected) in cases {
        assert_eq!(from(&vars).unwrap_err().to_string(), expected);
    }
    // What only the build can tell.
    let build_cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            [twilio_vars(), vec![("MFA_DELIVERY_MAX_ATTEMPTS", "9")]].concat(),
            "http.max_attempts (MFA_DELIVERY_MAX_ATTEMPTS): must be between 1 and 5",
        ),
        (
            [twilio_vars(), vec![("MFA_DELIVERY_CALL_TIMEOUT_MS", "1000")]].concat(),
            "http.call_timeout_ms (MFA_DELIVERY_CALL_TIMEOUT_MS): must be between 5000 and 120000",
        ),
        (
            [
                twilio_vars(),
                vec![("MFA_DELIVERY_WEBOTP_DOMAIN", "https://login.example.com")],
            ]
            .concat(),
            "sms.webotp_domain (MFA_DELIVERY_WEBOTP_DOMAIN): must be a host name in lower case, such as login.example.com (no scheme, port or path)",
        ),
        (
            vec![
                ("TWILIO_ACCOUNT_SID", "AC-nope"),
                ("TWILIO_AUTH_TOKEN", "token"),
                ("TWILIO_FROM", "+15005550006"),
            ],
            "twilio.account_sid (TWILIO_ACCOUNT_SID): must be AC followed by 32 hexadecimal digits",
        ),
        (
            vec![
                ("MFA_WEBHOOK_URL", "https://gateway.example/codes"),
                ("MFA_WEBHOOK_SECRET", "hunter2hunter2"),
            ],
            "webhook.secrets (MFA_WEBHOOK_SECRET): must be whsec_ followed by base64",
        ),
    ];
    for (vars, expected) in build_cases {
        let error = from(&vars).unwrap().unwrap().build().unwrap_err().to_string();
        assert_eq!(error, expected);
        assert!(!error.contains("hunter2") && !error.contains("f00dface"));
    }
}

#[test]
fn serde_configuration() {
    let config: DeliveryConfig = serde_json::from_str(
        r#"{
            "providers": [
                { "provider": "vonage", "api_key": "a1b2c3d4", "api_secret": "S3cretVonage0000", "from": "Example" },
                { "provider": "webhook", "url": "http://127.0.0.1:9/codes",
                  "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] }
            ],
            "http": { "max_attempts": 1, "call_timeout_ms": 6000 }
        }"#,
    )
    .unwrap();
    assert_eq!(config.http.max_attempts, 1);
    assert_eq!(config.http.attempt_timeout_ms, 5000, "defaults fill the rest");
    assert_eq!(config.build().unwrap().name(), "vonage");
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("S3cretVonage0000") && !debug.contains("MfKQ9r8"),
        "{debug}"
    );

    // Typos are errors, not silently ignored settings.
    for typo in [
        r#"{"providers": [{"provider": "twilio", "account_sid": "x", "auth_token": "y", "form": "+15005550006"}]}"#,
        r#"{"providers": [], "htpp": {}}"#,
        r#"{"providers": [{"provider": "sinch"}]}"#,
        r#"{"providers": [], "http": {"max_attempt": 2}}"#,
    ] {
        assert!(serde_json::from_str::<DeliveryConfig>(typo).is_err(), "{typo}");
    }
    let empty: DeliveryConfig = serde_json::from_str(r#"{"providers": []}"#).unwrap();
    assert_eq!(
        empty.build().unwrap_err().to_string(),
        "providers (MFA_DELIVERY_PROVIDER) is not set"
    );
}

#[test]
fn the_webhook_config_debug_hides_the_urls_token_and_user_information() {
    let vars = [
        (
            "MFA_WEBHOOK_URL",
            "https://user:hunter2@gateway.example/mfa?token=s3cr3t#frag",
        ),
        ("MFA_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ];
    let config = mfa_delivery::DeliveryConfig::from_vars(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
    .unwrap();
    let debug = format!("{config:?}");
    assert!(debug.contains("https://gateway.example/mfa"), "{debug}");
    for secret in ["s3cr3t", "hunter2", "frag", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}
