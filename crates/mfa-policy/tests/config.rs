//! Configuration validation, presets and the serialised forms a host stores or sends to a UI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use mfa_policy::{
    Action, Decision, DeviceState, Error, MAX_REMEMBER_DEVICE, MIN_REMEMBER_DEVICE, Method, MfaState, Policy,
    PolicyConfig, Reason, Recommendation, RestrictedMethods, SignInContext, UnixTime, UserState,
};

const DAY: u64 = 86_400;

fn with_remember(secs: u64) -> Result<Policy, Error> {
    Policy::new(PolicyConfig {
        remember_device: Some(Duration::from_secs(secs)),
        ..PolicyConfig::hosted_suite()
    })
}

#[test]
fn remembered_device_window_is_one_to_365_days() {
    assert_eq!(MIN_REMEMBER_DEVICE, Duration::from_secs(DAY));
    assert_eq!(MAX_REMEMBER_DEVICE, Duration::from_secs(365 * DAY));
    for bad in [0, 1, DAY - 1, 365 * DAY + 1, 400 * DAY, u64::MAX] {
        assert_eq!(
            with_remember(bad),
            Err(Error::RememberWindowOutOfRange { seconds: bad }),
            "{bad}"
        );
    }
    for good in [DAY, 90 * DAY, 365 * DAY] {
        assert!(with_remember(good).is_ok(), "{good}");
    }
    let off = Policy::new(PolicyConfig {
        remember_device: None,
        ..PolicyConfig::hosted_suite()
    })
    .unwrap();
    assert_eq!(off.config().remember_device, None);
}

#[test]
fn limits_must_be_positive_whole_seconds() {
    let base = PolicyConfig::hosted_suite;
    let cases: [(PolicyConfig, Error); 6] = [
        (
            PolicyConfig {
                max_age: Some(Duration::ZERO),
                ..base()
            },
            Error::ZeroDuration { setting: "max_age" },
        ),
        (
            PolicyConfig {
                inactivity_limit: Some(Duration::ZERO),
                ..base()
            },
            Error::ZeroDuration {
                setting: "inactivity_limit",
            },
        ),
        (
            PolicyConfig {
                step_up_freshness: Duration::ZERO,
                ..base()
            },
            Error::ZeroDuration {
                setting: "step_up_freshness",
            },
        ),
        (
            PolicyConfig {
                step_up_freshness: Duration::from_millis(1500),
                ..base()
            },
            Error::SubSecondDuration {
                setting: "step_up_freshness",
            },
        ),
        (
            PolicyConfig {
                remember_device: Some(Duration::new(2 * DAY, 1)),
                ..base()
            },
            Error::SubSecondDuration {
                setting: "remember_device",
            },
        ),
        (
            PolicyConfig {
                reconfirm_security_info: Some(Duration::from_millis(10)),
                ..base()
            },
            Error::SubSecondDuration {
                setting: "reconfirm_security_info",
            },
        ),
    ];
    for (config, want) in cases {
        assert_eq!(Policy::new(config), Err(want));
    }
}

#[test]
fn zero_reconfirmation_interval_means_never() {
    let p = Policy::new(PolicyConfig {
        reconfirm_security_info: Some(Duration::ZERO),
        ..PolicyConfig::hosted_suite()
    })
    .unwrap();
    assert_eq!(p.config().reconfirm_security_info, None);
}

#[test]
fn error_messages_say_what_to_fix() {
    assert_eq!(
        Error::RememberWindowOutOfRange { seconds: 0 }.to_string(),
        "remembered-device window of 0 seconds is outside 1 to 365 days (leave it unset to turn remembering off)"
    );
    assert_eq!(
        Error::ZeroDuration { setting: "max_age" }.to_string(),
        "max_age must be longer than zero (leave it unset for no limit)"
    );
}

#[test]
fn presets_are_valid_and_hold_their_documented_numbers() {
    for preset in [
        PolicyConfig::hosted_suite(),
        PolicyConfig::nist_aal1(),
        PolicyConfig::nist_aal2(),
        PolicyConfig::nist_aal3(),
    ] {
        assert_eq!(Policy::new(preset.clone()).unwrap().config(), &preset);
    }
    assert_eq!(Policy::hosted_suite().config(), &PolicyConfig::hosted_suite());
    assert_eq!(Policy::nist_aal1().config(), &PolicyConfig::nist_aal1());
    assert_eq!(Policy::nist_aal2().config(), &PolicyConfig::nist_aal2());

    let h = PolicyConfig::hosted_suite();
    assert_eq!(h.remember_device, Some(Duration::from_secs(90 * DAY)));
    assert_eq!(h.max_age, Some(Duration::from_secs(90 * DAY)));
    assert_eq!(h.inactivity_limit, Some(Duration::from_secs(14 * DAY)));
    assert_eq!(h.reconfirm_security_info, Some(Duration::from_secs(180 * DAY)));
    assert_eq!(h.step_up_freshness, Duration::from_secs(600));

    let a1 = PolicyConfig::nist_aal1();
    assert_eq!(a1.max_age, Some(Duration::from_secs(30 * DAY)));
    assert_eq!(a1.inactivity_limit, None);

    let a2 = PolicyConfig::nist_aal2();
    assert_eq!(a2.max_age, Some(Duration::from_secs(24 * 3600)));
    assert_eq!(a2.inactivity_limit, Some(Duration::from_secs(3600)));
    assert_eq!(a2.remember_device, None);
    assert!(!a2.allow_app_passwords);

    let a3 = PolicyConfig::nist_aal3();
    assert_eq!(Policy::nist_aal3().config(), &a3);
    assert_eq!(a3.max_age, Some(Duration::from_secs(12 * 3600)));
    assert_eq!(a3.inactivity_limit, Some(Duration::from_secs(15 * 60)));
    assert!(a3.phishing_resistant_only && !a3.allow_app_passwords);
    let aal3 = Policy::nist_aal3();
    assert!(aal3.allows_method(mfa_policy::Method::Passkey));
    for other in [
        mfa_policy::Method::AuthenticatorApp,
        mfa_policy::Method::PushNotification,
        mfa_policy::Method::Sms,
    ] {
        assert!(!aal3.allows_method(other), "{other:?}");
    }
}

#[test]
fn config_serialises_as_whole_seconds() {
    let json = serde_json::to_value(Policy::hosted_suite()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "remember_device_secs": 7_776_000,
            "max_age_secs": 7_776_000,
            "inactivity_limit_secs": 1_209_600,
            "reconfirm_security_info_secs": 15_552_000,
            "step_up_freshness_secs": 600,
            "restricted_methods": "allow",
            "allow_app_passwords": true,
            "phishing_resistant_only": false
        })
    );
    for preset in [Policy::hosted_suite(), Policy::nist_aal1(), Policy::nist_aal2()] {
        let text = serde_json::to_string(&preset).unwrap();
        assert_eq!(serde_json::from_str::<Policy>(&text).unwrap(), preset);
    }
}

#[test]
fn deserialising_validates() {
    let err = serde_json::from_str::<Policy>(
        r#"{"remember_device_secs": 0, "step_up_freshness_secs": 600, "allow_app_passwords": true}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("outside 1 to 365 days"), "{err}");

    let err = serde_json::from_str::<Policy>(
        r#"{"remember_device_secs": 34560000, "step_up_freshness_secs": 600, "allow_app_passwords": true}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("34560000 seconds"), "{err}");

    // Unknown settings are refused, not ignored: a typo must not silently loosen a policy.
    assert!(
        serde_json::from_str::<Policy>(
            r#"{"step_up_freshness_secs": 600, "allow_app_passwords": true, "max_age_days": 1}"#
        )
        .is_err()
    );

    // Optional limits may be absent or null; zero reconfirmation means never.
    let p: Policy = serde_json::from_str(
        r#"{"step_up_freshness_secs": 300, "allow_app_passwords": false, "max_age_secs": null,
            "reconfirm_security_info_secs": 0, "restricted_methods": "require_alternative"}"#,
    )
    .unwrap();
    assert_eq!(
        p.config(),
        &PolicyConfig {
            remember_device: None,
            max_age: None,
            inactivity_limit: None,
            reconfirm_security_info: None,
            step_up_freshness: Duration::from_secs(300),
            restricted_methods: RestrictedMethods::RequireAlternative,
            allow_app_passwords: false,
            phishing_resistant_only: false,
        }
    );
}

#[test]
fn states_round_trip_and_default_when_absent() {
    let user: UserState =
        serde_json::from_str(r#"{"mfa": "enforced", "methods": ["sms", "authenticator_app"]}"#).unwrap();
    assert_eq!(user.mfa, MfaState::Enforced);
    assert_eq!(user.methods, [Method::Sms, Method::AuthenticatorApp]);
    assert_eq!(user.password_changed_at, None);
    let device: DeviceState = serde_json::from_str(r#"{"last_mfa": 1700000000}"#).unwrap();
    assert_eq!(device.last_mfa, Some(UnixTime::from_secs(1_700_000_000)));

    let ctx = SignInContext::sign_in(UnixTime::from_secs(5));
    let text = serde_json::to_string(&ctx).unwrap();
    assert_eq!(
        text,
        r#"{"client":"interactive","purpose":{"sign_in":{"started_at":5}},"new_device":false,"account_switched":false}"#
    );
    assert_eq!(serde_json::from_str::<SignInContext>(&text).unwrap(), ctx);
    assert!(serde_json::from_str::<UserState>(r#"{"mfa": "on"}"#).is_err());
}

#[test]
fn decisions_serialise_for_a_ui() {
    let now = UnixTime::from_secs(1_700_000_000);
    let user = UserState {
        mfa: MfaState::Enforced,
        methods: vec![Method::Sms],
        ..UserState::default()
    };
    let d = Policy::hosted_suite().decide(&user, &DeviceState::default(), &SignInContext::sign_in(now), now);
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        serde_json::json!({
            "action": "require_mfa",
            "reasons": ["not_verified_on_this_device", "reconfirmation_due"],
            "recommendations": ["add_non_restricted_method", "add_second_method"]
        })
    );
    let back: Decision = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
    assert_eq!(back, d);
    assert_eq!(Action::RequireMfa.to_string(), "require_mfa");
}

#[test]
fn every_reason_has_a_distinct_message_and_serialised_name() {
    use Reason::*;
    let all = [
        BlockedByAdmin,
        SuspiciousActivityReported,
        LegacyClientBlocked,
        AppPasswordRequired,
        RegistrationRequired,
        NoAllowedMethod,
        NonRestrictedMethodRequired,
        NotVerifiedOnThisDevice,
        NewDevice,
        AccountSwitched,
        EverySignIn,
        SignedOut,
        RememberedDeviceExpired,
        PasswordChanged,
        SessionsRevoked,
        MethodsChanged,
        MfaSessionsRevoked,
        MaxAgeReached,
        InactivityLimitReached,
        StepUpRequired,
        ReconfirmationDue,
    ];
    let mut messages: Vec<&str> = all.iter().map(|r| r.message()).collect();
    let mut names: Vec<String> = all.iter().map(|r| serde_json::to_string(r).unwrap()).collect();
    messages.sort_unstable();
    messages.dedup();
    names.sort_unstable();
    names.dedup();
    assert_eq!(messages.len(), all.len());
    assert_eq!(names.len(), all.len());
    assert_eq!(
        serde_json::to_string(&PasswordChanged).unwrap(),
        r#""password_changed""#
    );
    assert_eq!(
        PasswordChanged.to_string(),
        "Your password changed since your last verification."
    );
    assert_ne!(
        Recommendation::AddSecondMethod.message(),
        Recommendation::AddNonRestrictedMethod.message()
    );
}

#[test]
fn remembered_until_is_the_window_end() {
    let at = UnixTime::from_secs(1_000);
    let p = with_remember(7 * DAY).unwrap();
    assert_eq!(
        p.remembered_until(at),
        Some(UnixTime::from_secs(1_000 + 7 * DAY as i64))
    );
    assert_eq!(Policy::nist_aal2().remembered_until(at), None);
}
