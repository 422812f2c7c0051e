//! Table-driven tests: every rule of `Policy::decide`, with its boundaries (exactly the limit, one
//! second before and one after).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use mfa_policy::{
    Action, DeviceState, Method, MfaState, Policy, PolicyConfig, Reason, Recommendation, RestrictedMethods,
    SensitiveAction, SignInContext, UnixTime, UserState,
};

const T0: i64 = 1_700_000_000;
const MIN: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// `offset` milliseconds after T0: the boundaries of the revocations are a millisecond wide.
fn ms(offset: i64) -> UnixTime {
    UnixTime::from_millis(T0 * 1000 + offset)
}

fn t(offset: i64) -> UnixTime {
    UnixTime::from_secs(T0 + offset)
}

/// Everything one case may change. The baseline: MFA enforced, an app and SMS registered, security
/// info confirmed and MFA completed at T0 on this known device, an interactive sign-in begun at `now`.
struct Setup {
    config: PolicyConfig,
    user: UserState,
    device: DeviceState,
    ctx: SignInContext,
}

struct Case {
    name: &'static str,
    /// Seconds after T0.
    now: i64,
    setup: fn(&mut Setup, UnixTime),
    action: Action,
    reasons: &'static [Reason],
    recommendations: &'static [Recommendation],
}

fn baseline(now: UnixTime) -> Setup {
    Setup {
        config: PolicyConfig::hosted_suite(),
        user: UserState {
            mfa: MfaState::Enforced,
            methods: vec![Method::AuthenticatorApp, Method::Sms],
            security_info_confirmed_at: Some(t(0)),
            ..UserState::default()
        },
        device: DeviceState {
            last_mfa: Some(t(0)),
            last_activity: Some(t(0)),
            ..DeviceState::default()
        },
        ctx: SignInContext::sign_in(now),
    }
}

fn nothing(_: &mut Setup, _: UnixTime) {}

/// Recent activity, so that only the rule under test can fire.
fn active(s: &mut Setup, now: UnixTime) {
    s.device.last_activity = Some(now);
}

fn remember_30_days(s: &mut Setup, now: UnixTime) {
    active(s, now);
    s.config.remember_device = Some(Duration::from_secs(30 * DAY as u64));
    s.device.remembered_at = Some(t(0));
    s.device.signed_out_at = Some(t(HOUR));
}

/// MFA done an hour ago with activity now: only the reconfirmation rule can fire.
fn fresh_mfa(s: &mut Setup, now: UnixTime) {
    s.device.last_mfa = Some(now.saturating_sub(Duration::from_secs(HOUR as u64)));
    s.device.last_activity = Some(now);
}

fn step_up(s: &mut Setup, now: UnixTime) {
    s.ctx = SignInContext::action(SensitiveAction::ChangePassword);
    s.device.last_activity = Some(now);
}

use Action::*;
use Reason::*;
use Recommendation::*;

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { name: "baseline allows", now: DAY, setup: nothing, action: Allow, reasons: &[], recommendations: &[] },

    // Maximum authentication age (90 days, rolling from the last verification).
    Case { name: "max age: a second before", now: 90 * DAY - 1, setup: active, action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "max age: exactly", now: 90 * DAY, setup: active, action: RequireMfa, reasons: &[MaxAgeReached], recommendations: &[] },
    Case { name: "max age: a second after", now: 90 * DAY + 1, setup: active, action: RequireMfa, reasons: &[MaxAgeReached], recommendations: &[] },
    Case { name: "max age: none configured", now: 150 * DAY, setup: |s, n| { active(s, n); s.config.max_age = None; },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "max age: applies to a remembered device", now: 90 * DAY,
           setup: |s, n| { active(s, n); s.config.remember_device = Some(Duration::from_secs(365 * DAY as u64)); s.device.remembered_at = Some(t(0)); },
           action: RequireMfa, reasons: &[MaxAgeReached], recommendations: &[] },

    // Inactivity limit (14 days since the last use or verification, whichever is later).
    Case { name: "inactivity: a second before", now: 14 * DAY - 1, setup: nothing, action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "inactivity: exactly", now: 14 * DAY, setup: nothing, action: RequireMfa, reasons: &[InactivityLimitReached], recommendations: &[] },
    Case { name: "inactivity: a second after", now: 14 * DAY + 1, setup: nothing, action: RequireMfa, reasons: &[InactivityLimitReached], recommendations: &[] },
    Case { name: "inactivity: counted from the last activity", now: 24 * DAY - 1,
           setup: |s, _| s.device.last_activity = Some(t(10 * DAY)), action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "inactivity: counted from the last activity, reached", now: 24 * DAY,
           setup: |s, _| s.device.last_activity = Some(t(10 * DAY)), action: RequireMfa, reasons: &[InactivityLimitReached], recommendations: &[] },
    Case { name: "inactivity: no activity recorded counts from the verification", now: 14 * DAY,
           setup: |s, _| s.device.last_activity = None, action: RequireMfa, reasons: &[InactivityLimitReached], recommendations: &[] },
    Case { name: "inactivity: applies to a remembered device", now: 14 * DAY,
           setup: |s, _| s.device.remembered_at = Some(t(0)), action: RequireMfa, reasons: &[InactivityLimitReached], recommendations: &[] },

    // Signed out, and the remembered device that spares exactly that prompt.
    Case { name: "signed out, not remembered", now: DAY, setup: |s, _| s.device.signed_out_at = Some(t(1)),
           action: RequireMfa, reasons: &[SignedOut], recommendations: &[] },
    Case { name: "signed out at the instant of the verification", now: DAY, setup: |s, _| s.device.signed_out_at = Some(t(0)),
           action: RequireMfa, reasons: &[SignedOut], recommendations: &[] },
    Case { name: "signed out a millisecond before the verification", now: DAY, setup: |s, _| s.device.signed_out_at = Some(ms(-1)),
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "signed out before the verification", now: DAY, setup: |s, _| s.device.signed_out_at = Some(t(-1)),
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "remembered: a second before the window ends", now: 30 * DAY - 1, setup: remember_30_days,
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "remembered: window ends exactly", now: 30 * DAY, setup: remember_30_days,
           action: RequireMfa, reasons: &[RememberedDeviceExpired], recommendations: &[] },
    Case { name: "remembered: a second after the window", now: 30 * DAY + 1, setup: remember_30_days,
           action: RequireMfa, reasons: &[RememberedDeviceExpired], recommendations: &[] },
    Case { name: "remembered: remembering turned off since", now: DAY, setup: |s, n| { remember_30_days(s, n); s.config.remember_device = None; },
           action: RequireMfa, reasons: &[RememberedDeviceExpired], recommendations: &[] },
    Case { name: "remembered: record older than a password change", now: DAY,
           setup: |s, n| { remember_30_days(s, n); s.user.password_changed_at = Some(t(1)); s.device.last_mfa = Some(t(2)); s.device.signed_out_at = Some(t(3)); },
           action: RequireMfa, reasons: &[RememberedDeviceExpired], recommendations: &[] },
    Case { name: "remembered: record older than an admin revocation", now: DAY,
           setup: |s, n| { remember_30_days(s, n); s.user.mfa_sessions_revoked_at = Some(t(1)); s.device.last_mfa = Some(t(2)); s.device.signed_out_at = Some(t(3)); },
           action: RequireMfa, reasons: &[RememberedDeviceExpired], recommendations: &[] },
    Case { name: "remembered: record at the instant of the event revoked", now: DAY,
           setup: |s, n| { remember_30_days(s, n); s.user.password_changed_at = Some(t(0)); },
           action: RequireMfa, reasons: &[RememberedDeviceExpired, PasswordChanged], recommendations: &[] },
    Case { name: "remembered: record a millisecond after the event still valid", now: DAY,
           setup: |s, n| { remember_30_days(s, n); s.user.password_changed_at = Some(ms(-1)); },
           action: Allow, reasons: &[], recommendations: &[] },

    // Events after the last verification.
    Case { name: "password changed: at the instant of the verification", now: DAY, setup: |s, _| s.user.password_changed_at = Some(t(0)),
           action: RequireMfa, reasons: &[PasswordChanged], recommendations: &[] },
    Case { name: "password changed: a millisecond before the verification", now: DAY, setup: |s, _| s.user.password_changed_at = Some(ms(-1)),
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "password changed a second after", now: DAY, setup: |s, _| s.user.password_changed_at = Some(t(1)),
           action: RequireMfa, reasons: &[PasswordChanged], recommendations: &[] },
    Case { name: "password changed a second before", now: DAY, setup: |s, _| s.user.password_changed_at = Some(t(-1)),
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "password change not spared by a remembered device", now: DAY,
           setup: |s, n| { remember_30_days(s, n); s.user.password_changed_at = Some(t(1)); s.device.signed_out_at = None; },
           action: RequireMfa, reasons: &[PasswordChanged], recommendations: &[] },
    Case { name: "sessions revoked: at the instant of the verification", now: DAY, setup: |s, _| s.user.sessions_valid_from = Some(t(0)),
           action: RequireMfa, reasons: &[SessionsRevoked], recommendations: &[] },
    Case { name: "sessions revoked: a millisecond before the verification", now: DAY, setup: |s, _| s.user.sessions_valid_from = Some(ms(-1)),
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "sessions revoked: valid from a second after", now: DAY, setup: |s, _| s.user.sessions_valid_from = Some(t(1)),
           action: RequireMfa, reasons: &[SessionsRevoked], recommendations: &[] },
    Case { name: "methods changed: at the instant of the verification", now: DAY, setup: |s, _| s.user.methods_changed_at = Some(t(0)),
           action: RequireMfa, reasons: &[MethodsChanged], recommendations: &[] },
    Case { name: "methods changed: a millisecond before the verification", now: DAY, setup: |s, _| s.user.methods_changed_at = Some(ms(-1)),
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "methods changed: a second after", now: DAY, setup: |s, _| s.user.methods_changed_at = Some(t(1)),
           action: RequireMfa, reasons: &[MethodsChanged], recommendations: &[] },
    Case { name: "admin revoked MFA sessions: at the instant of the verification", now: DAY, setup: |s, _| s.user.mfa_sessions_revoked_at = Some(t(0)),
           action: RequireMfa, reasons: &[MfaSessionsRevoked], recommendations: &[] },
    Case { name: "admin revoked MFA sessions: a millisecond before the verification", now: DAY, setup: |s, _| s.user.mfa_sessions_revoked_at = Some(ms(-1)),
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "admin revoked MFA sessions: a second after", now: DAY, setup: |s, _| s.user.mfa_sessions_revoked_at = Some(t(1)),
           action: RequireMfa, reasons: &[MfaSessionsRevoked], recommendations: &[] },
    Case { name: "every event at once, in rule order", now: DAY,
           setup: |s, _| { s.device.signed_out_at = Some(t(5)); s.user.password_changed_at = Some(t(1)); s.user.sessions_valid_from = Some(t(2));
                           s.user.methods_changed_at = Some(t(3)); s.user.mfa_sessions_revoked_at = Some(t(4)); },
           action: RequireMfa, reasons: &[SignedOut, PasswordChanged, SessionsRevoked, MethodsChanged, MfaSessionsRevoked], recommendations: &[] },

    // Per-request triggers: satisfied by a verification during this sign-in (at or after its start).
    Case { name: "never verified on this device", now: DAY, setup: |s, _| { s.device.last_mfa = None; s.device.last_activity = None; },
           action: RequireMfa, reasons: &[NotVerifiedOnThisDevice], recommendations: &[] },
    Case { name: "new device", now: DAY, setup: |s, _| { s.device = DeviceState::default(); s.ctx.new_device = true; },
           action: RequireMfa, reasons: &[NewDevice], recommendations: &[] },
    Case { name: "new device: verified at the start of this sign-in", now: DAY,
           setup: |s, n| { s.device = DeviceState { last_mfa: Some(n), ..DeviceState::default() }; s.ctx.new_device = true; },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "new device: verified a second before this sign-in", now: DAY,
           setup: |s, n| { s.device.last_mfa = Some(n.saturating_sub(Duration::from_secs(1))); s.device.last_activity = Some(n); s.ctx.new_device = true; },
           action: RequireMfa, reasons: &[NewDevice], recommendations: &[] },
    Case { name: "account switched", now: DAY, setup: |s, _| s.ctx.account_switched = true,
           action: RequireMfa, reasons: &[AccountSwitched], recommendations: &[] },
    Case { name: "account switched: verified during this sign-in", now: DAY,
           setup: |s, n| { s.ctx = SignInContext { account_switched: true, ..SignInContext::sign_in(n.saturating_sub(Duration::from_secs(60))) }; s.device.last_mfa = Some(n); },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "every sign-in group", now: DAY, setup: |s, _| s.user.mfa_on_every_sign_in = true,
           action: RequireMfa, reasons: &[EverySignIn], recommendations: &[] },
    Case { name: "every sign-in group: not spared by a remembered device", now: DAY,
           setup: |s, n| { remember_30_days(s, n); s.user.mfa_on_every_sign_in = true; },
           action: RequireMfa, reasons: &[EverySignIn], recommendations: &[] },
    Case { name: "every sign-in group: verified during this sign-in", now: DAY,
           setup: |s, n| { s.user.mfa_on_every_sign_in = true; s.device.last_mfa = Some(n); },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "every sign-in group: not asked again for a sensitive action with a fresh verification", now: DAY,
           setup: |s, n| { s.user.mfa_on_every_sign_in = true; s.ctx = SignInContext::action(SensitiveAction::AddMethod); s.device.last_mfa = Some(n); },
           action: Allow, reasons: &[], recommendations: &[] },

    // Step-up for sensitive actions: a verification younger than 10 minutes.
    Case { name: "step-up: verified 10 minutes less a second ago", now: DAY,
           setup: |s, n| { step_up(s, n); s.device.last_mfa = Some(t(DAY - 10 * MIN + 1)); },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "step-up: verified exactly 10 minutes ago", now: DAY,
           setup: |s, n| { step_up(s, n); s.device.last_mfa = Some(t(DAY - 10 * MIN)); },
           action: RequireMfa, reasons: &[StepUpRequired], recommendations: &[] },
    Case { name: "step-up: verified 10 minutes and a second ago", now: DAY,
           setup: |s, n| { step_up(s, n); s.device.last_mfa = Some(t(DAY - 10 * MIN - 1)); },
           action: RequireMfa, reasons: &[StepUpRequired], recommendations: &[] },
    Case { name: "step-up: not spared by a remembered device", now: DAY,
           setup: |s, n| { step_up(s, n); s.device.remembered_at = Some(t(DAY - 1)); },
           action: RequireMfa, reasons: &[StepUpRequired], recommendations: &[] },
    Case { name: "step-up: new device needs a fresh verification", now: DAY,
           setup: |s, n| { step_up(s, n); s.device.last_mfa = Some(n); s.ctx.new_device = true; },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "step-up: never verified", now: DAY,
           setup: |s, n| { step_up(s, n); s.device.last_mfa = None; },
           action: RequireMfa, reasons: &[NotVerifiedOnThisDevice], recommendations: &[] },
    Case { name: "step-up: reconfirmation is not asked for during an action", now: 200 * DAY,
           setup: |s, n| { step_up(s, n); s.device.last_mfa = Some(n); },
           action: Allow, reasons: &[], recommendations: &[] },

    // Reconfirm security info every 180 days.
    Case { name: "reconfirm: a second before", now: 180 * DAY - 1, setup: fresh_mfa, action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "reconfirm: exactly", now: 180 * DAY, setup: fresh_mfa, action: RequireReconfirmation, reasons: &[ReconfirmationDue], recommendations: &[] },
    Case { name: "reconfirm: a second after", now: 180 * DAY + 1, setup: fresh_mfa, action: RequireReconfirmation, reasons: &[ReconfirmationDue], recommendations: &[] },
    Case { name: "reconfirm: never confirmed", now: DAY, setup: |s, _| s.user.security_info_confirmed_at = None,
           action: RequireReconfirmation, reasons: &[ReconfirmationDue], recommendations: &[] },
    Case { name: "reconfirm: never configured", now: 400 * DAY, setup: |s, n| { fresh_mfa(s, n); s.config.reconfirm_security_info = None; },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "reconfirm: zero means never", now: 400 * DAY, setup: |s, n| { fresh_mfa(s, n); s.config.reconfirm_security_info = Some(Duration::ZERO); },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "reconfirm: MFA comes first", now: 180 * DAY, setup: active,
           action: RequireMfa, reasons: &[MaxAgeReached, ReconfirmationDue], recommendations: &[] },

    // Admin state and registration.
    Case { name: "disabled: never asked", now: 400 * DAY,
           setup: |s, _| { s.user.mfa = MfaState::Disabled; s.device = DeviceState::default(); s.ctx.new_device = true; },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "disabled: sensitive action allowed", now: DAY,
           setup: |s, _| { s.user.mfa = MfaState::Disabled; s.ctx = SignInContext::action(SensitiveAction::DisableMfa); },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "enabled without a method: register", now: DAY, setup: |s, _| { s.user.mfa = MfaState::Enabled; s.user.methods.clear(); },
           action: RequireRegistration, reasons: &[RegistrationRequired], recommendations: &[] },
    Case { name: "enforced without a method: register", now: DAY, setup: |s, _| s.user.methods.clear(),
           action: RequireRegistration, reasons: &[RegistrationRequired], recommendations: &[] },
    Case { name: "enabled with a method acts as enforced", now: DAY,
           setup: |s, _| { s.user.mfa = MfaState::Enabled; s.device.last_mfa = None; },
           action: RequireMfa, reasons: &[NotVerifiedOnThisDevice], recommendations: &[] },

    // Blocks.
    Case { name: "blocked by admin", now: DAY, setup: |s, _| s.user.blocked_by_admin = true,
           action: Deny, reasons: &[BlockedByAdmin], recommendations: &[] },
    Case { name: "suspicious activity reported, even with MFA disabled", now: DAY,
           setup: |s, _| { s.user.suspicious_activity_reported = true; s.user.mfa = MfaState::Disabled; },
           action: Deny, reasons: &[SuspiciousActivityReported], recommendations: &[] },
    Case { name: "both blocks, legacy client", now: DAY,
           setup: |s, n| { s.user.blocked_by_admin = true; s.user.suspicious_activity_reported = true; s.ctx = SignInContext::legacy_sign_in(n); },
           action: Deny, reasons: &[BlockedByAdmin, SuspiciousActivityReported], recommendations: &[] },

    // Legacy clients.
    Case { name: "legacy, enforced: app password", now: DAY, setup: |s, n| s.ctx = SignInContext::legacy_sign_in(n),
           action: RequireAppPassword, reasons: &[AppPasswordRequired], recommendations: &[] },
    Case { name: "legacy, enforced, app passwords off: deny", now: DAY,
           setup: |s, n| { s.ctx = SignInContext::legacy_sign_in(n); s.config.allow_app_passwords = false; },
           action: Deny, reasons: &[LegacyClientBlocked], recommendations: &[] },
    Case { name: "legacy, enabled without a method: password still works", now: DAY,
           setup: |s, n| { s.ctx = SignInContext::legacy_sign_in(n); s.user.mfa = MfaState::Enabled; s.user.methods.clear(); },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "legacy, enabled with a method: app password", now: DAY,
           setup: |s, n| { s.ctx = SignInContext::legacy_sign_in(n); s.user.mfa = MfaState::Enabled; },
           action: RequireAppPassword, reasons: &[AppPasswordRequired], recommendations: &[] },
    Case { name: "legacy, disabled: allowed", now: DAY,
           setup: |s, n| { s.ctx = SignInContext::legacy_sign_in(n); s.user.mfa = MfaState::Disabled; },
           action: Allow, reasons: &[], recommendations: &[] },

    // Restricted methods and recommendations.
    Case { name: "one method: recommend a second", now: DAY, setup: |s, _| s.user.methods = vec![Method::AuthenticatorApp],
           action: Allow, reasons: &[], recommendations: &[AddSecondMethod] },
    Case { name: "only SMS, allowed: recommend a stronger one and a second", now: DAY, setup: |s, _| s.user.methods = vec![Method::Sms],
           action: Allow, reasons: &[], recommendations: &[AddNonRestrictedMethod, AddSecondMethod] },
    Case { name: "SMS and voice, alternative required: register", now: DAY,
           setup: |s, _| { s.user.methods = vec![Method::Sms, Method::Voice]; s.config.restricted_methods = RestrictedMethods::RequireAlternative; },
           action: RequireRegistration, reasons: &[NonRestrictedMethodRequired], recommendations: &[] },
    Case { name: "only SMS, alternative required, stale verification: MFA first", now: DAY,
           setup: |s, _| { s.user.methods = vec![Method::Sms]; s.config.restricted_methods = RestrictedMethods::RequireAlternative; s.user.password_changed_at = Some(t(1)); },
           action: RequireMfa, reasons: &[PasswordChanged, NonRestrictedMethodRequired], recommendations: &[AddSecondMethod] },
    Case { name: "app and SMS, alternative required: fine", now: DAY,
           setup: |s, _| s.config.restricted_methods = RestrictedMethods::RequireAlternative,
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "only voice, refused: register", now: DAY,
           setup: |s, _| { s.user.methods = vec![Method::Voice]; s.config.restricted_methods = RestrictedMethods::Refuse; },
           action: RequireRegistration, reasons: &[NoAllowedMethod], recommendations: &[] },
    Case { name: "only voice, refused, sensitive action, stale: still a step-up", now: DAY,
           setup: |s, n| { step_up(s, n); s.user.methods = vec![Method::Voice]; s.config.restricted_methods = RestrictedMethods::Refuse; },
           action: RequireMfa, reasons: &[NoAllowedMethod, StepUpRequired], recommendations: &[] },
    Case { name: "only voice, refused, sensitive action, fresh: register", now: DAY,
           setup: |s, n| { step_up(s, n); s.device.last_mfa = Some(n); s.user.methods = vec![Method::Voice]; s.config.restricted_methods = RestrictedMethods::Refuse; },
           action: RequireRegistration, reasons: &[NoAllowedMethod], recommendations: &[] },

    // Clock skew: a verification up to 5 minutes "in the future" counts as just made; further ahead it
    // counts as none, so a skewed or tampered record cannot keep a verification alive forever.
    Case { name: "verification after now", now: DAY,
           setup: |s, _| { s.device.last_mfa = Some(t(DAY + 30)); s.device.last_activity = Some(t(DAY + 30)); },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "verification exactly 5 minutes after now", now: DAY,
           setup: |s, _| { s.device.last_mfa = Some(t(DAY + 5 * MIN)); s.device.last_activity = Some(t(DAY + 5 * MIN)); },
           action: Allow, reasons: &[], recommendations: &[] },
    Case { name: "verification 5 minutes and 1 s after now: none", now: DAY,
           setup: |s, _| { s.device.last_mfa = Some(t(DAY + 5 * MIN + 1)); s.device.last_activity = Some(t(DAY + 5 * MIN + 1)); },
           action: RequireMfa, reasons: &[NotVerifiedOnThisDevice], recommendations: &[] },
    Case { name: "verification a year after now, 200 days later still: none", now: 200 * DAY,
           setup: |s, n| { s.device.last_mfa = Some(t(565 * DAY)); s.device.last_activity = Some(t(565 * DAY)); s.user.security_info_confirmed_at = Some(n); },
           action: RequireMfa, reasons: &[NotVerifiedOnThisDevice], recommendations: &[] },
    Case { name: "remembered in the far future after a sign-out: not remembered", now: DAY,
           setup: |s, n| { remember_30_days(s, n); s.device.remembered_at = Some(t(DAY + HOUR)); },
           action: RequireMfa, reasons: &[SignedOut], recommendations: &[] },
    Case { name: "app and refused SMS: recommend a second", now: DAY,
           setup: |s, _| s.config.restricted_methods = RestrictedMethods::Refuse,
           action: Allow, reasons: &[], recommendations: &[AddSecondMethod] },
];

#[test]
fn every_case() {
    let mut failures = Vec::new();
    for case in CASES {
        let now = t(case.now);
        let mut s = baseline(now);
        (case.setup)(&mut s, now);
        let policy = Policy::new(s.config.clone()).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let d = policy.decide(&s.user, &s.device, &s.ctx, now);
        if d.action != case.action || d.reasons != case.reasons || d.recommendations != case.recommendations {
            failures.push(format!(
                "{}: got {:?} {:?} {:?}, want {:?} {:?} {:?}",
                case.name,
                d.action,
                d.reasons,
                d.recommendations,
                case.action,
                case.reasons,
                case.recommendations
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn every_sensitive_action_needs_step_up() {
    let policy = Policy::hosted_suite();
    let now = t(DAY);
    for action in [
        SensitiveAction::AddMethod,
        SensitiveAction::RemoveMethod,
        SensitiveAction::CreateAppPassword,
        SensitiveAction::GenerateRecoveryCodes,
        SensitiveAction::ChangePassword,
        SensitiveAction::DisableMfa,
    ] {
        let mut s = baseline(now);
        s.ctx = SignInContext::action(action);
        s.device.last_activity = Some(now);
        let stale = policy.decide(&s.user, &s.device, &s.ctx, now);
        assert_eq!(stale.reasons, [StepUpRequired], "{action:?}");
        s.device.last_mfa = Some(now);
        assert!(
            policy.decide(&s.user, &s.device, &s.ctx, now).is_allowed(),
            "{action:?}"
        );
    }
}

#[test]
fn the_action_is_the_most_restrictive_reason() {
    // Registration and reconfirmation wait behind MFA; MFA waits behind nothing but a block or a
    // legacy client.
    assert!(Allow < RequireReconfirmation);
    assert!(RequireReconfirmation < RequireRegistration);
    assert!(RequireRegistration < RequireMfa);
    assert!(RequireMfa < RequireAppPassword);
    assert!(RequireAppPassword < Deny);
    for case in CASES {
        let most = case.reasons.iter().map(|r| r.action()).max().unwrap_or(Allow);
        assert_eq!(most, case.action, "{}", case.name);
    }
}

#[test]
fn presets_differ_where_their_sources_do() {
    let s = baseline(t(0));
    let decide = |p: &Policy, last_activity: i64, at: i64| {
        let device = DeviceState {
            last_activity: Some(t(last_activity)),
            ..s.device.clone()
        };
        p.decide(&s.user, &device, &SignInContext::sign_in(t(at)), t(at))
            .reasons
    };

    // AAL2: an hour of inactivity, 24 hours at most.
    assert_eq!(decide(&Policy::nist_aal2(), 0, HOUR - 1), []);
    assert_eq!(decide(&Policy::nist_aal2(), 0, HOUR), [InactivityLimitReached]);
    assert_eq!(decide(&Policy::nist_aal2(), 24 * HOUR - 1, 24 * HOUR - 1), []);
    assert_eq!(
        decide(&Policy::nist_aal2(), 24 * HOUR - 1, 24 * HOUR),
        [MaxAgeReached]
    );

    // AAL1: 30 days, no inactivity limit.
    assert_eq!(decide(&Policy::nist_aal1(), 0, 30 * DAY - 1), []);
    assert_eq!(decide(&Policy::nist_aal1(), 0, 30 * DAY), [MaxAgeReached]);
}
