//! Properties of `Policy::decide` over generated users, devices, requests, instants and settings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use mfa_policy::{
    Action, CLOCK_SKEW_TOLERANCE, Client, DeviceState, Method, MfaState, Policy, PolicyConfig, Purpose,
    Reason, RestrictedMethods, SensitiveAction, SignInContext, UnixTime, UserState,
};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000;
const DAY: u64 = 86_400;
/// Instants are drawn within this many seconds of T0: wide enough for every limit of every preset.
const SPAN: i64 = 400 * DAY as i64;

fn instant() -> impl Strategy<Value = UnixTime> {
    prop_oneof![
        20 => (-SPAN..SPAN).prop_map(|o| UnixTime::from_secs(T0 + o)),
        1 => Just(UnixTime::from_secs(i64::MIN)),
        1 => Just(UnixTime::from_secs(i64::MAX)),
    ]
}

fn opt_instant() -> impl Strategy<Value = Option<UnixTime>> {
    proptest::option::of(instant())
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::AuthenticatorApp),
        Just(Method::HardwareToken),
        Just(Method::Sms),
        Just(Method::Voice),
        Just(Method::PushNotification),
        Just(Method::Passkey)
    ]
}

fn user() -> impl Strategy<Value = UserState> {
    (
        prop_oneof![
            Just(MfaState::Disabled),
            Just(MfaState::Enabled),
            Just(MfaState::Enforced)
        ],
        proptest::collection::vec(method(), 0..4),
        any::<bool>(),
        (
            opt_instant(),
            opt_instant(),
            opt_instant(),
            opt_instant(),
            opt_instant(),
        ),
        // Blocks are rare, so that most cases reach the interesting rules.
        proptest::bool::weighted(0.05),
        proptest::bool::weighted(0.05),
    )
        .prop_map(
            |(mfa, methods, every, (pw, sessions, changed, revoked, confirmed), blocked, suspicious)| {
                UserState {
                    mfa,
                    methods,
                    mfa_on_every_sign_in: every,
                    password_changed_at: pw,
                    sessions_valid_from: sessions,
                    methods_changed_at: changed,
                    mfa_sessions_revoked_at: revoked,
                    security_info_confirmed_at: confirmed,
                    blocked_by_admin: blocked,
                    suspicious_activity_reported: suspicious,
                }
            },
        )
}

fn device() -> impl Strategy<Value = DeviceState> {
    (opt_instant(), opt_instant(), opt_instant(), opt_instant()).prop_map(
        |(last_mfa, last_activity, signed_out_at, remembered_at)| DeviceState {
            last_mfa,
            last_activity,
            signed_out_at,
            remembered_at,
        },
    )
}

fn sensitive_action() -> impl Strategy<Value = SensitiveAction> {
    prop_oneof![
        Just(SensitiveAction::AddMethod),
        Just(SensitiveAction::RemoveMethod),
        Just(SensitiveAction::CreateAppPassword),
        Just(SensitiveAction::GenerateRecoveryCodes),
        Just(SensitiveAction::ChangePassword),
        Just(SensitiveAction::DisableMfa),
    ]
}

fn context() -> impl Strategy<Value = SignInContext> {
    (
        prop_oneof![4 => Just(Client::Interactive), 1 => Just(Client::Legacy)],
        prop_oneof![
            instant().prop_map(|started_at| Purpose::SignIn { started_at }),
            sensitive_action().prop_map(Purpose::Action),
        ],
        proptest::bool::weighted(0.2),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(client, purpose, new_device, account_switched)| SignInContext {
            client,
            purpose,
            new_device,
            account_switched,
        })
}

fn secs(max: u64) -> impl Strategy<Value = Duration> {
    (1..=max).prop_map(Duration::from_secs)
}

fn restricted() -> impl Strategy<Value = RestrictedMethods> {
    prop_oneof![
        Just(RestrictedMethods::Allow),
        Just(RestrictedMethods::RequireAlternative),
        Just(RestrictedMethods::Refuse)
    ]
}

/// Any valid configuration.
fn config() -> impl Strategy<Value = PolicyConfig> {
    (
        proptest::option::of(secs(365 * DAY).prop_map(|d| d.max(Duration::from_secs(DAY)))),
        proptest::option::of(secs(400 * DAY)),
        proptest::option::of(secs(400 * DAY)),
        proptest::option::of(secs(400 * DAY)),
        secs(DAY),
        restricted(),
        any::<bool>(),
    )
        .prop_map(
            |(remember, max_age, inactivity, reconfirm, step_up, restricted, app_passwords)| PolicyConfig {
                remember_device: remember,
                max_age,
                inactivity_limit: inactivity,
                reconfirm_security_info: reconfirm,
                step_up_freshness: step_up,
                restricted_methods: restricted,
                allow_app_passwords: app_passwords,
                phishing_resistant_only: false,
            },
        )
}

/// A limit at most as long as `loose` ("no limit" being the longest): `None` stays free, `Some(x)`
/// becomes `Some(y)` with `1 <= y <= x`.
fn tighter_limit(loose: Option<Duration>) -> BoxedStrategy<Option<Duration>> {
    match loose {
        None => proptest::option::of(secs(400 * DAY)).boxed(),
        Some(x) => secs(x.as_secs()).prop_map(Some).boxed(),
    }
}

/// A pair (looser, stricter). "Stricter" means, setting by setting: a remembered-device window that is
/// off or no longer; a maximum age, inactivity limit and reconfirmation interval that are no longer
/// ("none" is the longest); a step-up freshness no longer; a restricted-method rule at least as strict
/// (`Allow < RequireAlternative < Refuse`); app passwords allowed only if the looser one allows them.
fn looser_and_stricter() -> impl Strategy<Value = (PolicyConfig, PolicyConfig)> {
    config().prop_flat_map(|loose| {
        let remember = match loose.remember_device {
            None => Just(None).boxed(),
            Some(x) => prop_oneof![
                1 => Just(None),
                4 => (DAY..=x.as_secs()).prop_map(|s| Some(Duration::from_secs(s))),
            ]
            .boxed(),
        };
        let restricted = restricted().prop_map(move |r| r.max(loose.restricted_methods));
        let app_passwords = any::<bool>().prop_map(move |b| b && loose.allow_app_passwords);
        (
            Just(loose.clone()),
            remember,
            tighter_limit(loose.max_age),
            tighter_limit(loose.inactivity_limit),
            tighter_limit(loose.reconfirm_security_info),
            secs(loose.step_up_freshness.as_secs()),
            restricted,
            app_passwords,
        )
            .prop_map(
                |(loose, remember, max_age, inactivity, reconfirm, step_up, restricted, app)| {
                    let strict = PolicyConfig {
                        remember_device: remember,
                        max_age,
                        inactivity_limit: inactivity,
                        reconfirm_security_info: reconfirm,
                        step_up_freshness: step_up,
                        restricted_methods: restricted,
                        allow_app_passwords: app,
                        phishing_resistant_only: loose.phishing_resistant_only,
                    };
                    (loose, strict)
                },
            )
    })
}

fn mfa_reasons(reasons: &[Reason]) -> Vec<Reason> {
    reasons
        .iter()
        .copied()
        .filter(|r| r.action() == Action::RequireMfa)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// For a fixed user, device and request, once MFA is required it stays required as time moves
    /// forward, for every reason it was required.
    #[test]
    fn mfa_stays_required_as_time_moves_forward(
        config in config(), user in user(), device in device(), ctx in context(),
        t1 in instant(), later in 0..SPAN,
    ) {
        // A record from beyond the skew tolerance counts once its time comes: that is a new
        // verification arriving, not the policy relenting. Keep the device's instants within it.
        let horizon = t1.saturating_add(CLOCK_SKEW_TOLERANCE);
        let mut device = device;
        for at in [&mut device.last_mfa, &mut device.last_activity, &mut device.remembered_at] {
            *at = at.map(|at| at.min(horizon));
        }
        let policy = Policy::new(config).unwrap();
        let t2 = UnixTime::from_secs(t1.as_secs().saturating_add(later));
        let first = policy.decide(&user, &device, &ctx, t1);
        let second = policy.decide(&user, &device, &ctx, t2);
        if first.action == Action::RequireMfa {
            prop_assert_eq!(second.action, Action::RequireMfa);
            let before = mfa_reasons(&first.reasons);
            let after = mfa_reasons(&second.reasons);
            prop_assert!(before.iter().all(|r| after.contains(r)), "{before:?} -> {after:?}");
        }
    }

    /// ... until a new verification: one made now, after every recorded event (at least a millisecond:
    /// an event at the same instant revokes it) and at or after the start of the sign-in, leaves no
    /// reason to ask for MFA.
    #[test]
    fn a_new_verification_clears_mfa(
        config in config(), mut user in user(), mut device in device(), mut ctx in context(),
        now in (-SPAN..SPAN).prop_map(|o| UnixTime::from_secs(T0 + o)),
    ) {
        let policy = Policy::new(config).unwrap();
        let before = now.saturating_sub(Duration::from_millis(1));
        let clamp = |t: &mut Option<UnixTime>| *t = t.map(|t| t.min(before));
        clamp(&mut user.password_changed_at);
        clamp(&mut user.sessions_valid_from);
        clamp(&mut user.methods_changed_at);
        clamp(&mut user.mfa_sessions_revoked_at);
        clamp(&mut device.signed_out_at);
        if let Purpose::SignIn { started_at } = &mut ctx.purpose {
            *started_at = (*started_at).min(now);
        }
        device.last_mfa = Some(now);
        device.last_activity = Some(now);
        let decision = policy.decide(&user, &device, &ctx, now);
        prop_assert_eq!(mfa_reasons(&decision.reasons), Vec::<Reason>::new());
        prop_assert_ne!(decision.action, Action::RequireMfa);
    }

    /// A stricter configuration never allows what a looser one refuses.
    #[test]
    fn stricter_never_allows_what_looser_refuses(
        (loose, strict) in looser_and_stricter(), user in user(), device in device(), ctx in context(),
        now in instant(),
    ) {
        let loose = Policy::new(loose).unwrap();
        let strict = Policy::new(strict).unwrap();
        let l = loose.decide(&user, &device, &ctx, now);
        let s = strict.decide(&user, &device, &ctx, now);
        prop_assert!(!s.is_allowed() || l.is_allowed(), "strict {s:?} but loose {l:?}");
    }

    /// The action is always the most restrictive of the reasons, and a decision with no reason allows.
    #[test]
    fn action_matches_reasons(config in config(), user in user(), device in device(), ctx in context(), now in instant()) {
        let d = Policy::new(config).unwrap().decide(&user, &device, &ctx, now);
        let most = d.reasons.iter().map(|r| r.action()).max().unwrap_or(Action::Allow);
        prop_assert_eq!(d.action, most);
        let mut unique = d.reasons.clone();
        unique.dedup();
        prop_assert_eq!(unique.len(), d.reasons.len());
    }

    /// Blocks win over everything, and nothing but a block, a legacy client without app passwords
    /// denies.
    #[test]
    fn only_blocks_and_refused_legacy_clients_deny(
        config in config(), user in user(), device in device(), ctx in context(), now in instant(),
    ) {
        let d = Policy::new(config).unwrap().decide(&user, &device, &ctx, now);
        if user.blocked_by_admin || user.suspicious_activity_reported {
            prop_assert_eq!(d.action, Action::Deny);
        } else if d.action == Action::Deny {
            prop_assert_eq!(d.reasons, vec![Reason::LegacyClientBlocked]);
        }
    }
}

proptest! {
    /// Instants read back from JSON to the same millisecond: whole seconds as integers, others with
    /// a fraction, up to the fraction limit (about 35,000 years either side of 1970).
    #[test]
    fn instants_read_back_from_json(millis in -(1_i64 << 50)..=(1_i64 << 50), secs in any::<i64>()) {
        for at in [UnixTime::from_millis(millis), UnixTime::from_secs(secs / 1000)] {
            let text = serde_json::to_string(&at).unwrap();
            prop_assert_eq!(serde_json::from_str::<UnixTime>(&text).unwrap(), at, "{}", text);
        }
    }
}

/// Found by the policy_json fuzz target: 18 digits of seconds overflowed the milliseconds and were
/// saturated on reading, so they wrote back as another instant. Now refused.
#[test]
fn instants_beyond_the_milliseconds_range_are_refused() {
    assert!(serde_json::from_str::<UnixTime>("555555555555555555").is_err());
    assert!(serde_json::from_str::<UnixTime>("-555555555555555555").is_err());
    assert!(serde_json::from_str::<UnixTime>("18446744073709551615").is_err());
    let edge = i64::MAX / 1000;
    let at: UnixTime = serde_json::from_str(&edge.to_string()).unwrap();
    assert_eq!(serde_json::to_string(&at).unwrap(), edge.to_string());
}
