use serde::{Deserialize, Serialize};

use crate::{
    Client, Decision, DeviceState, Error, Method, MfaState, PolicyConfig, Purpose, Reason, Recommendation,
    RestrictedMethods, SignInContext, UnixTime, UserState,
};

/// A validated MFA policy: the one place that decides when to ask for a second factor.
///
/// Build one from a preset ([`Policy::hosted_suite`], [`Policy::nist_aal1`], [`Policy::nist_aal2`], [`Policy::nist_aal3`]) or
/// from a [`PolicyConfig`] with [`Policy::new`]. Deserialising a `Policy` validates it the same way.
///
/// ```
/// use mfa_policy::{Action, DeviceState, Method, MfaState, Policy, SignInContext, UnixTime, UserState};
///
/// let policy = Policy::hosted_suite();
/// let now = UnixTime::from_secs(1_700_000_000);
/// let user = UserState {
///     mfa: MfaState::Enforced,
///     methods: vec![Method::AuthenticatorApp, Method::Sms],
///     security_info_confirmed_at: Some(now),
///     ..UserState::default()
/// };
/// // First sign-in on this device: no verification yet.
/// let decision = policy.decide(&user, &DeviceState::default(), &SignInContext::sign_in(now), now);
/// assert_eq!(decision.action, Action::RequireMfa);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PolicyConfig", into = "PolicyConfig")]
pub struct Policy {
    config: PolicyConfig,
}

impl TryFrom<PolicyConfig> for Policy {
    type Error = Error;

    fn try_from(config: PolicyConfig) -> Result<Self, Error> {
        Self::new(config)
    }
}

impl From<Policy> for PolicyConfig {
    fn from(policy: Policy) -> Self {
        policy.config
    }
}

impl Policy {
    /// Validates `config`: the remembered-device window must be 1 to 365 days, the limits longer than
    /// zero, every duration whole seconds. A zero reconfirmation interval means never.
    ///
    /// ```
    /// use mfa_policy::{Error, Policy, PolicyConfig};
    /// use std::time::Duration;
    ///
    /// let too_long = PolicyConfig {
    ///     remember_device: Some(Duration::from_secs(400 * 86_400)),
    ///     ..PolicyConfig::hosted_suite()
    /// };
    /// assert_eq!(Policy::new(too_long), Err(Error::RememberWindowOutOfRange { seconds: 400 * 86_400 }));
    /// ```
    pub fn new(config: PolicyConfig) -> Result<Self, Error> {
        Ok(Self {
            config: config.validated()?,
        })
    }

    /// The policy of [`PolicyConfig::hosted_suite`].
    #[must_use]
    pub const fn hosted_suite() -> Self {
        Self {
            config: PolicyConfig::hosted_suite(),
        }
    }

    /// The policy of [`PolicyConfig::nist_aal1`].
    #[must_use]
    pub const fn nist_aal1() -> Self {
        Self {
            config: PolicyConfig::nist_aal1(),
        }
    }

    /// The policy of [`PolicyConfig::nist_aal2`].
    #[must_use]
    pub const fn nist_aal2() -> Self {
        Self {
            config: PolicyConfig::nist_aal2(),
        }
    }

    /// The policy of [`PolicyConfig::nist_aal3`].
    #[must_use]
    pub const fn nist_aal3() -> Self {
        Self {
            config: PolicyConfig::nist_aal3(),
        }
    }

    /// The validated settings.
    #[must_use]
    pub const fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// Whether a challenge may use `method`: `false` for SMS and voice when the policy refuses
    /// restricted methods.
    ///
    /// ```
    /// use mfa_policy::{Method, Policy, PolicyConfig, RestrictedMethods};
    ///
    /// let strict = Policy::new(PolicyConfig {
    ///     restricted_methods: RestrictedMethods::Refuse,
    ///     ..PolicyConfig::hosted_suite()
    /// })?;
    /// assert!(!strict.allows_method(Method::Sms));
    /// assert!(strict.allows_method(Method::AuthenticatorApp));
    /// # Ok::<(), mfa_policy::Error>(())
    /// ```
    #[must_use]
    pub fn allows_method(&self, method: Method) -> bool {
        (self.config.restricted_methods != RestrictedMethods::Refuse || !method.is_restricted())
            && (!self.config.phishing_resistant_only || method.is_phishing_resistant())
    }

    /// Until when a device remembered at `remembered_at` is spared the prompt after a sign-out
    /// (exclusive), or `None` when remembering is off. Use it as the expiry of the device's record.
    ///
    /// ```
    /// use mfa_policy::{Policy, UnixTime};
    ///
    /// let t = UnixTime::from_secs(0);
    /// assert_eq!(Policy::hosted_suite().remembered_until(t), Some(UnixTime::from_secs(90 * 86_400)));
    /// assert_eq!(Policy::nist_aal2().remembered_until(t), None);
    /// ```
    #[must_use]
    pub fn remembered_until(&self, remembered_at: UnixTime) -> Option<UnixTime> {
        self.config
            .remember_device
            .map(|window| remembered_at.saturating_add(window))
    }

    /// When a device remembered at `remembered_at` and last used at `last_used_at` stops sparing the
    /// prompt: `(lapses_at, ends_at)`, the instant it lapses if unused until then (the inactivity
    /// limit after its last use, never after the end) and the instant it ends whatever its use (the
    /// remembered window, or the maximum authentication age if shorter). The same rules as
    /// [`decide`](Self::decide), as instants for a cookie's `Max-Age` and a settings page.
    ///
    /// ```
    /// use mfa_policy::{Policy, UnixTime};
    /// use std::time::Duration;
    ///
    /// let day = |n: u64| UnixTime::from_secs(0).saturating_add(Duration::from_secs(n * 86_400));
    /// // Remembered for 90 days, 14 if unused; used on day 10.
    /// assert_eq!(Policy::hosted_suite().remembered_lapse(day(0), day(10)), (day(24), day(90)));
    /// ```
    #[must_use]
    pub fn remembered_lapse(&self, remembered_at: UnixTime, last_used_at: UnixTime) -> (UnixTime, UnixTime) {
        let config = &self.config;
        let window_end = config
            .remember_device
            .map_or(remembered_at, |window| remembered_at.saturating_add(window));
        let ends_at = config.max_age.map_or(window_end, |max| {
            window_end.min(remembered_at.saturating_add(max))
        });
        let lapses_at = config.inactivity_limit.map_or(ends_at, |limit| {
            ends_at.min(last_used_at.max(remembered_at).saturating_add(limit))
        });
        (lapses_at, ends_at)
    }

    /// Decides what must happen before a sign-in or a sensitive action may go on, and why.
    ///
    /// The rules, in the order they are checked (see the crate README for each):
    ///
    /// 1. blocked or suspicious activity reported: [`Deny`](crate::Action::Deny), nothing else checked;
    /// 2. legacy client with MFA (effectively) enforced: app password, or deny if app passwords are
    ///    off; otherwise allowed;
    /// 3. MFA disabled: allowed;
    /// 4. no method registered, or none the policy accepts: registration (a sensitive action with no
    ///    accepted method still needs its fresh verification);
    /// 5. verification triggers (new device, account switch, every sign-in, signed out, password,
    ///    sessions, methods, admin revocation, maximum age, inactivity, step-up);
    /// 6. only restricted methods under [`RestrictedMethods::RequireAlternative`]: registration;
    /// 7. at a sign-in, security info reconfirmation.
    ///
    /// Instants of the device's record more than [`CLOCK_SKEW_TOLERANCE`](crate::CLOCK_SKEW_TOLERANCE)
    /// after `now` count as absent. The action is the most restrictive among the reasons. A limit is
    /// reached at exactly its length (valid for one millisecond less); an event invalidates every
    /// verification made at or before it.
    #[must_use]
    pub fn decide(
        &self,
        user: &UserState,
        device: &DeviceState,
        context: &SignInContext,
        now: UnixTime,
    ) -> Decision {
        let mut reasons = Vec::new();
        let mut recommendations = Vec::new();

        if user.blocked_by_admin {
            reasons.push(Reason::BlockedByAdmin);
        }
        if user.suspicious_activity_reported {
            reasons.push(Reason::SuspiciousActivityReported);
        }
        if !reasons.is_empty() {
            return Decision::new(reasons, recommendations);
        }

        let state = user.effective_mfa_state();
        if context.client == Client::Legacy {
            if state == MfaState::Enforced {
                reasons.push(if self.config.allow_app_passwords {
                    Reason::AppPasswordRequired
                } else {
                    Reason::LegacyClientBlocked
                });
            }
            return Decision::new(reasons, recommendations);
        }
        if state == MfaState::Disabled {
            return Decision::new(reasons, recommendations);
        }
        if user.methods.is_empty() {
            reasons.push(Reason::RegistrationRequired);
            return Decision::new(reasons, recommendations);
        }
        if !user.methods.iter().any(|m| self.allows_method(*m)) {
            reasons.push(Reason::NoAllowedMethod);
            // A sign-in stops here: registration first. A sensitive action still needs its fresh
            // verification (a recovery code, say), or anyone with the password could act unverified.
            if matches!(context.purpose, Purpose::SignIn { .. }) {
                return Decision::new(reasons, recommendations);
            }
        }

        // An instant after `now` (a skewed or tampered record) proves nothing: treat it as absent, so a
        // verification "from the future" can never outlive its limits.
        let device = device.as_of(now);
        self.verification_reasons(user, &device, context, now, &mut reasons);

        let only_restricted = user.methods.iter().all(|m| m.is_restricted());
        if only_restricted {
            match self.config.restricted_methods {
                RestrictedMethods::Allow => recommendations.push(Recommendation::AddNonRestrictedMethod),
                RestrictedMethods::RequireAlternative => reasons.push(Reason::NonRestrictedMethodRequired),
                // Only restricted methods under `Refuse` returned `NoAllowedMethod` above.
                RestrictedMethods::Refuse => {}
            }
        }
        // Only methods the policy accepts count as a second factor to fall back on.
        if user.methods.iter().filter(|m| self.allows_method(**m)).count() == 1 {
            recommendations.push(Recommendation::AddSecondMethod);
        }

        if let (Purpose::SignIn { .. }, Some(interval)) =
            (context.purpose, self.config.reconfirm_security_info)
        {
            let due = user
                .security_info_confirmed_at
                .is_none_or(|at| at.reached(interval, now));
            if due {
                reasons.push(Reason::ReconfirmationDue);
            }
        }

        Decision::new(reasons, recommendations)
    }

    fn verification_reasons(
        &self,
        user: &UserState,
        device: &DeviceState,
        context: &SignInContext,
        now: UnixTime,
        reasons: &mut Vec<Reason>,
    ) {
        let config = &self.config;
        // A verification made during this sign-in, or fresh enough for this action.
        let verified_for_request = device.last_mfa.is_some_and(|last| match context.purpose {
            Purpose::SignIn { started_at } => last >= started_at,
            Purpose::Action(_) => !last.reached(config.step_up_freshness, now),
        });
        if context.new_device && !verified_for_request {
            reasons.push(Reason::NewDevice);
        }
        if context.account_switched && !verified_for_request {
            reasons.push(Reason::AccountSwitched);
        }
        if user.mfa_on_every_sign_in
            && matches!(context.purpose, Purpose::SignIn { .. })
            && !verified_for_request
        {
            reasons.push(Reason::EverySignIn);
        }

        let Some(last) = device.last_mfa else {
            if !context.new_device {
                reasons.push(Reason::NotVerifiedOnThisDevice);
            }
            return;
        };
        // At or after: anything proven at or before a revocation is revoked by it.
        let after_last = |event: Option<UnixTime>| event.is_some_and(|at| at >= last);

        if after_last(device.signed_out_at) && !self.remembered(user, device, now) {
            reasons.push(if device.remembered_at.is_some() {
                Reason::RememberedDeviceExpired
            } else {
                Reason::SignedOut
            });
        }
        if after_last(user.password_changed_at) {
            reasons.push(Reason::PasswordChanged);
        }
        if after_last(user.sessions_valid_from) {
            reasons.push(Reason::SessionsRevoked);
        }
        if after_last(user.methods_changed_at) {
            reasons.push(Reason::MethodsChanged);
        }
        if after_last(user.mfa_sessions_revoked_at) {
            reasons.push(Reason::MfaSessionsRevoked);
        }
        if config.max_age.is_some_and(|max| last.reached(max, now)) {
            reasons.push(Reason::MaxAgeReached);
        }
        let last_used = device.last_activity.map_or(last, |activity| activity.max(last));
        if config
            .inactivity_limit
            .is_some_and(|limit| last_used.reached(limit, now))
        {
            reasons.push(Reason::InactivityLimitReached);
        }
        if matches!(context.purpose, Purpose::Action(_)) && last.reached(config.step_up_freshness, now) {
            reasons.push(Reason::StepUpRequired);
        }
    }

    /// Whether the device's "don't ask again" record still spares it the prompt after a sign-out: within
    /// the window, and issued after every event that invalidates verifications.
    fn remembered(&self, user: &UserState, device: &DeviceState, now: UnixTime) -> bool {
        let (Some(window), Some(at)) = (self.config.remember_device, device.remembered_at) else {
            return false;
        };
        let invalidated_since = [
            user.password_changed_at,
            user.sessions_valid_from,
            user.methods_changed_at,
            user.mfa_sessions_revoked_at,
        ]
        .into_iter()
        .flatten()
        .any(|event| event >= at);
        !invalidated_since && !at.reached(window, now)
    }
}
