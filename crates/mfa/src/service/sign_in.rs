//! Signing in: the policy's decision with the remembered device, the challenge, the verification.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_otp::Totp;
use mfa_policy::{Action, Decision, DeviceState, Reason, SignInContext};
use zeroize::Zeroizing;

use super::{Mfa, parse_code, secret_from, summary, unix_secs};
use crate::keys::token_hash;
use crate::outcome::{Challenge, MethodSummary, SignIn, Verified};
use crate::{
    Channel, Credential, Error, EventKind, Factor, MessagePurpose, MethodId, PhoneDelivery, PhoneKind, Store,
    UserId,
};

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// Starts the second step of a sign-in, after the host checked the password: asks the policy,
    /// given the device's remembered-device `device_token` (the cookie, if any) and `context`.
    ///
    /// A valid token of this user marks the device as remembered; a token that is unknown, of another
    /// user, or invalidated (password changed, sessions or MFA sessions revoked, methods changed,
    /// expired) does not, and an invalidated one is forgotten. If the decision is
    /// [`Action::RequireMfa`], call [`challenge`](Self::challenge) then [`verify`](Self::verify).
    pub async fn begin_sign_in(
        &self,
        user: &UserId,
        device_token: Option<&str>,
        context: SignInContext,
    ) -> Result<SignIn, Error> {
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        let device = match device_token.and_then(decode_token) {
            Some(hash) => self.store.find_device(user, &hash).await?,
            None => None,
        };
        let state = record.policy_state(&methods);
        let device_state = match &device {
            // The remembered verification; the session it made has ended (this is a new sign-in).
            Some(d) => DeviceState {
                last_mfa: Some(d.created_at),
                last_activity: Some(d.last_used_at),
                signed_out_at: Some(now),
                remembered_at: Some(d.created_at),
            },
            None => DeviceState::default(),
        };
        let context = SignInContext {
            new_device: context.new_device && device.is_none(),
            ..context
        };
        let mut decision = self.config.policy.decide(&state, &device_state, &context, now);
        let mut remembered = None;
        if let Some(d) = device {
            if decision.is_allowed() || only_reconfirmation(&decision) {
                if self.store.touch_device(user, d.id, now).await? {
                    remembered = Some(d.id);
                } else {
                    // Forgotten since it was read (a sign-out everywhere racing this sign-in): it
                    // spares nothing.
                    decision = self
                        .config
                        .policy
                        .decide(&state, &DeviceState::default(), &context, now);
                }
            } else if decision.reasons.iter().any(|r| kills_device(*r)) {
                self.store.forget_device(user, d.id).await?;
                self.emit(user, now, EventKind::DeviceForgotten { device: d.id });
            }
        }
        let mut usable: Vec<MethodSummary> = methods
            .iter()
            .filter(|m| self.config.policy.allows_method(m.policy_method()))
            .map(|m| summary(m, &record))
            .collect();
        usable.sort_by_key(|m| !m.is_default);
        Ok(SignIn {
            decision,
            methods: usable,
            device: remembered,
        })
    }

    /// Challenges `method`, or the default method when `None`: for an app, nothing to send; for a
    /// phone, sends a code over `channel` (default: SMS to a mobile, a call to other phones). A new code
    /// replaces the previous one and leaves the failure count as it is.
    pub async fn challenge(
        &self,
        user: &UserId,
        method: Option<MethodId>,
        channel: Option<Channel>,
    ) -> Result<Challenge, Error> {
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        Self::check_prompts_allowed(&record)?;
        let wanted = method
            .or(record.default_method)
            .or_else(|| methods.first().map(|m| m.id));
        let method = methods
            .iter()
            .find(|m| Some(m.id) == wanted)
            .ok_or(Error::NotFound { what: "method" })?;
        if !self.config.policy.allows_method(method.policy_method()) {
            return Err(Error::NotAllowed(Reason::NoAllowedMethod));
        }
        match &method.credential {
            Credential::AuthenticatorApp { .. } => Ok(Challenge::AuthenticatorApp { method: method.id }),
            Credential::Phone { kind, number } => {
                let channel = channel.unwrap_or(match kind {
                    PhoneKind::Mobile => Channel::Sms,
                    _ => Channel::Voice,
                });
                if !kind.supports(channel) {
                    return Err(Error::Unsupported {
                        what: "SMS (only mobile phones receive texts)",
                    });
                }
                let sent = self
                    .send_code(user, method.id, number, channel, MessagePurpose::SignIn, now)
                    .await?;
                Ok(Challenge::Phone(sent))
            }
        }
    }

    /// Verifies a code from `method` (an app's current code, or the code sent to a phone).
    ///
    /// Counted toward the lock *before* it is checked; [`Error::Locked`] while locked; [`Error::Rejected`]
    /// for a wrong, expired or already used code. A success resets the count.
    pub async fn verify(&self, user: &UserId, method: MethodId, code: &str) -> Result<Verified, Error> {
        let code = parse_code(code)?;
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        Self::check_prompts_allowed(&record)?;
        let method = methods
            .into_iter()
            .find(|m| m.id == method)
            .ok_or(Error::NotFound { what: "method" })?;
        if !self.config.policy.allows_method(method.policy_method()) {
            return Err(Error::NotAllowed(Reason::NoAllowedMethod));
        }
        let failures = self.begin_attempt(user, now).await?;
        match &method.credential {
            Credential::AuthenticatorApp {
                secret,
                params,
                last_accepted_step,
            } => {
                let plaintext = self.keys.open(user, method.id, secret)?;
                let totp = Totp::new(&secret_from(&plaintext)?, *params)?;
                let time = unix_secs(now)?;
                let window = self.config.totp_window;
                let fresh = totp.verify_after(&code, time, window, *last_accepted_step);
                let step = match fresh {
                    Some(step) => step,
                    None => {
                        if totp.verify(&code, time, window).is_some() {
                            self.emit(user, now, EventKind::ReplayRefused { method: method.id });
                        }
                        return Err(self.failed(user, now, Factor::AuthenticatorApp, failures));
                    }
                };
                if !self.store.accept_totp_step(user, method.id, step).await? {
                    // Another request accepted this step (or a later one) first.
                    self.emit(user, now, EventKind::ReplayRefused { method: method.id });
                    return Err(self.failed(user, now, Factor::AuthenticatorApp, failures));
                }
                if !self.keys.is_current(secret) {
                    let resealed = self.keys.seal(user, method.id, &plaintext)?;
                    self.store.update_app_secret(user, method.id, resealed).await?;
                }
                Ok(self.succeeded(user, now, Factor::AuthenticatorApp, Some(method.id), None))
            }
            Credential::Phone { .. } => {
                let tag = self.tags.phone_code(user, method.id, &code.to_string());
                if self
                    .store
                    .consume_phone_challenge(user, &tag, now)
                    .await?
                    .is_none()
                {
                    return Err(self.failed(user, now, Factor::Phone, failures));
                }
                Ok(self.succeeded(user, now, Factor::Phone, Some(method.id), None))
            }
        }
    }
}

/// Reasons that end a remembered device for good.
fn kills_device(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::PasswordChanged
            | Reason::SessionsRevoked
            | Reason::MethodsChanged
            | Reason::MfaSessionsRevoked
            | Reason::RememberedDeviceExpired
            | Reason::MaxAgeReached
            | Reason::InactivityLimitReached
    )
}

fn only_reconfirmation(decision: &Decision) -> bool {
    decision.action == Action::RequireReconfirmation
}

fn decode_token(token: &str) -> Option<crate::Tag> {
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(token.trim()).ok()?);
    (bytes.len() == 32).then(|| token_hash(&bytes))
}
