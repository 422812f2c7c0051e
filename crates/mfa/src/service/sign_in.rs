//! Signing in: the policy's decision with the remembered device, the challenge, the verification.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_otp::{Code, Totp};
use mfa_policy::{Action, Decision, DeviceState, Reason, SignInContext, UnixTime};
use zeroize::Zeroizing;

use super::{Mfa, PushOrigin, code_matches, parse_code, secret_from, summary, unix_secs};
use crate::keys::token_hash;
use crate::outcome::{Challenge, MethodSummary, SignIn, Verified};
use crate::{
    Attempt, AttemptTarget, Channel, Consume, Credential, Error, EventKind, Factor, Loaded, LoadedCredential,
    MessagePurpose, MethodId, PhoneDelivery, PhoneKind, Store, UserId, Verdict,
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
            Credential::PushApp { .. } => {
                let sent = self.send_push(user, method, &PushOrigin::default(), now).await?;
                Ok(Challenge::Push(sent))
            }
            Credential::Passkey { .. } => self.passkey_challenge(user, &methods, now).await,
            Credential::PushEnrollment { .. } | Credential::PasskeyRegistration { .. } => {
                Err(Error::NotFound { what: "method" })
            }
        }
    }

    /// Verifies a code from `method` (an app's current code, or the code sent to a phone).
    ///
    /// One store call, one transaction ([`Store::attempt`]): [`Error::Locked`] while locked;
    /// [`Error::Rejected`] for a wrong, expired or already used code, counted toward the lock in the
    /// same transaction; a success uses up the code (or the app's time step) and resets the count.
    pub async fn verify(&self, user: &UserId, method: MethodId, code: &str) -> Result<Verified, Error> {
        let code = parse_code(code)?;
        let now = self.now();
        let time = unix_secs(now)?;
        let attempt = self
            .store
            .attempt(
                user,
                AttemptTarget::Method(method),
                now,
                &self.config.throttle,
                |loaded| self.check_code(user, method, &code, now, time, loaded),
            )
            .await?;
        let factor = match &attempt {
            Attempt::Accepted(checked) | Attempt::Rejected { value: checked, .. } => checked
                .as_ref()
                .map(|c| c.factor)
                .unwrap_or(Factor::AuthenticatorApp),
            _ => Factor::AuthenticatorApp,
        };
        if let Attempt::Rejected {
            value: Ok(checked), ..
        } = &attempt
            && checked.replay
        {
            self.emit(user, now, EventKind::ReplayRefused { method });
        }
        self.settle(user, now, factor, attempt)?;
        Ok(self.succeeded(user, now, factor, Some(method), None))
    }

    /// The check of a sign-in code against what the store loaded: pure, no I/O.
    fn check_code(
        &self,
        user: &UserId,
        method: MethodId,
        code: &Code,
        now: UnixTime,
        time: u64,
        loaded: Loaded<'_>,
    ) -> (Verdict, Result<CodeChecked, Error>) {
        let abort = |error| (Verdict::Abort, Err(error));
        if let Err(error) = Self::check_prompts_allowed(loaded.user) {
            return abort(error);
        }
        let LoadedCredential::Method {
            method: Some(found),
            challenge,
        } = loaded.credential
        else {
            return abort(Error::NotFound { what: "method" });
        };
        if !self.config.policy.allows_method(found.policy_method()) {
            return abort(Error::NotAllowed(Reason::NoAllowedMethod));
        }
        match &found.credential {
            Credential::AuthenticatorApp {
                secret,
                params,
                last_accepted_step,
            } => {
                let factor = Factor::AuthenticatorApp;
                let opened = match self.keys.open(user, method, secret) {
                    Ok(opened) => opened,
                    Err(error) => return abort(error),
                };
                let totp = match secret_from(&opened.plaintext).and_then(|s| Ok(Totp::new(&s, *params)?)) {
                    Ok(totp) => totp,
                    Err(error) => return abort(error),
                };
                let window = self.config.totp_window;
                let Some(step) = totp.verify_after(code, time, window, *last_accepted_step) else {
                    // A code of a step already used: a replay, worth an event of its own.
                    let replay = totp.verify(code, time, window).is_some();
                    return (Verdict::Reject, Ok(CodeChecked { factor, replay }));
                };
                // A secret sealed under an older key or format is sealed again in the same write.
                let resealed = match opened.current {
                    true => None,
                    false => match self.keys.seal(user, method, &opened.plaintext) {
                        Ok(resealed) => Some(resealed),
                        Err(error) => return abort(error),
                    },
                };
                // Should the store find the step taken after all (a racing request accepted it
                // first), the attempt comes back rejected: then this was a replay too.
                let checked = CodeChecked { factor, replay: true };
                (Verdict::Accept(Consume::TotpStep { step, resealed }), Ok(checked))
            }
            Credential::Phone { .. } => {
                let tag = self.tags.phone_code(user, method, &code.to_string());
                let checked = Ok(CodeChecked {
                    factor: Factor::Phone,
                    replay: false,
                });
                match code_matches(challenge, method, &tag, now) {
                    true => (Verdict::Accept(Consume::PhoneCode), checked),
                    false => (Verdict::Reject, checked),
                }
            }
            Credential::PushApp { .. } | Credential::PushEnrollment { .. } => abort(Error::Unsupported {
                what: "codes (a push app approves sign-ins: send it a push)",
            }),
            Credential::Passkey { .. } | Credential::PasskeyRegistration { .. } => {
                abort(Error::Unsupported {
                    what: "codes (a passkey signs in with the browser: verify_passkey)",
                })
            }
        }
    }
}

/// What [`Mfa::check_code`] found, beside its verdict.
struct CodeChecked {
    factor: Factor,
    /// The code was right for a step already used, or, if the store still rejects an accepted
    /// one, for a step a racing request took first.
    replay: bool,
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
