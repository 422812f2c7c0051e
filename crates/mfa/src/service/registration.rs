//! Registering and managing methods: authenticator apps and phones (begin, confirm), the default
//! method, removal, the list, and the policy's recommendations.

use std::time::Duration;

use mfa_enroll::Enrollment;
use mfa_otp::{Secret, Totp};
use mfa_policy::{DeviceState, MfaState, Recommendation, SensitiveAction, SignInContext, UnixTime};

use super::{Mfa, checked_name, code_matches, parse_code, secret_from, summary, unix_secs};
#[cfg(doc)]
use crate::outcome::Verified;
use crate::outcome::{AppEnrollment, CodeSent, Enrolled, MethodSummary};
use crate::{
    AttemptTarget, Channel, Consume, Credential, Error, EventKind, Factor, LoadedCredential, MessagePurpose,
    MethodId, MethodKind, MethodRecord, PendingEnrollment, PhoneDelivery, PhoneKind, PhoneNumber, Store,
    UserId, UserRecord, Verdict,
};

/// Phones of each kind a user may register.
const PHONES_PER_KIND: usize = 1;

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// The user's methods, oldest first.
    pub async fn list_methods(&self, user: &UserId) -> Result<Vec<MethodSummary>, Error> {
        let (record, methods) = self.user_and_methods(user).await?;
        Ok(methods.iter().map(|m| summary(m, &record)).collect())
    }

    /// What the policy recommends for the user's methods now (a second method, a non-restricted one).
    pub async fn recommendations(&self, user: &UserId) -> Result<Vec<Recommendation>, Error> {
        let (record, methods) = self.user_and_methods(user).await?;
        let now = self.now();
        let mut state = record.policy_state(&methods);
        state.mfa = MfaState::Enforced;
        let device = DeviceState {
            last_mfa: Some(now),
            ..DeviceState::default()
        };
        let decision = self
            .config
            .policy
            .decide(&state, &device, &SignInContext::sign_in(now), now);
        Ok(decision.recommendations)
    }

    /// Begins registering an authenticator app named `name`, shown in the app as `account` at the
    /// configured issuer. A user who already has methods needs a fresh verification (`last_mfa_at`,
    /// step-up). At most `max_authenticator_apps` apps.
    pub async fn begin_app_enrollment(
        &self,
        user: &UserId,
        account: &str,
        name: &str,
        last_mfa_at: Option<UnixTime>,
    ) -> Result<AppEnrollment, Error> {
        let name = checked_name(name)?;
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        self.step_up(&record, &methods, SensitiveAction::AddMethod, last_mfa_at, now)?;
        let max = self.config.max_authenticator_apps;
        if methods
            .iter()
            .filter(|m| m.kind() == MethodKind::AuthenticatorApp)
            .count()
            >= max
        {
            return Err(Error::LimitReached {
                what: "authenticator apps",
                max,
            });
        }
        let enrollment = Enrollment::generate(&self.config.issuer, account)?;
        let key = enrollment.key();
        let params = key.totp_params().ok_or(Error::Unsupported { what: "HOTP" })?;
        let id = MethodId::generate()?;
        let secret = self.keys.seal(user, id, key.secret().expose_bytes())?;
        let expires_at = now.saturating_add(self.config.enrollment_ttl);
        let pending = PendingEnrollment {
            method: MethodRecord {
                id,
                name,
                created_at: now,
                credential: Credential::AuthenticatorApp {
                    secret,
                    params,
                    last_accepted_step: None,
                },
            },
            expires_at,
        };
        self.store.put_pending(user, pending).await?;
        Ok(AppEnrollment {
            method: id,
            enrollment,
            expires_at,
        })
    }

    /// Confirms an app registration with a current code from the app. The code's step counts as used.
    /// Failures count toward the lock like any verification.
    ///
    /// The confirmation proves the factor: the answer carries a [`Verified`] proof, as
    /// [`verify`](Self::verify) gives, so a registration made during a sign-in completes it (keep
    /// its instant as the session's last MFA time, remember the device with it).
    pub async fn confirm_app_enrollment(
        &self,
        user: &UserId,
        method: MethodId,
        code: &str,
    ) -> Result<Enrolled, Error> {
        let code = parse_code(code)?;
        let now = self.now();
        let time = unix_secs(now)?;
        let window = self.config.totp_window;
        let attempt = self
            .store
            .attempt(
                user,
                AttemptTarget::Pending(method),
                now,
                &self.config.throttle,
                |loaded| {
                    if let Err(error) = Self::check_prompts_allowed(loaded.user) {
                        return (Verdict::Abort, Err(error));
                    }
                    let LoadedCredential::Pending { pending, .. } = loaded.credential else {
                        return (Verdict::Reject, Err(Error::Rejected));
                    };
                    let pending = pending.filter(|p| now < p.expires_at && outlived_nothing(loaded.user, p));
                    let Some(
                        pending @ PendingEnrollment {
                            method:
                                MethodRecord {
                                    credential: Credential::AuthenticatorApp { secret, params, .. },
                                    ..
                                },
                            ..
                        },
                    ) = pending
                    else {
                        return (Verdict::Reject, Err(Error::Rejected));
                    };
                    let totp = match self
                        .open_secret(user, method, secret)
                        .and_then(|s| Ok(Totp::new(&s, *params)?))
                    {
                        Ok(totp) => totp,
                        Err(error) => return (Verdict::Abort, Err(error)),
                    };
                    match totp.verify(&code, time, window) {
                        Some(step) => (Verdict::Accept(Consume::Pending), Ok((pending.clone(), step))),
                        None => (Verdict::Reject, Err(Error::Rejected)),
                    }
                },
            )
            .await?;
        let (mut pending, step) = self.settle(user, now, Factor::AuthenticatorApp, attempt)?;
        if let Credential::AuthenticatorApp {
            last_accepted_step, ..
        } = &mut pending.method.credential
        {
            *last_accepted_step = Some(step);
        }
        self.add_method(user, pending.method, Factor::AuthenticatorApp, now)
            .await
    }

    /// Begins registering a phone: sends a test code to `number` over `channel` (SMS to mobiles only).
    /// A user who already has methods needs a fresh verification (step-up). One phone of each kind.
    pub async fn begin_phone_enrollment(
        &self,
        user: &UserId,
        kind: PhoneKind,
        number: &str,
        channel: Channel,
        last_mfa_at: Option<UnixTime>,
    ) -> Result<CodeSent, Error> {
        let number = PhoneNumber::parse(number)?;
        if !kind.supports(channel) {
            return Err(Error::Unsupported {
                what: "SMS (only mobile phones receive texts)",
            });
        }
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        self.step_up(&record, &methods, SensitiveAction::AddMethod, last_mfa_at, now)?;
        if methods
            .iter()
            .filter(|m| m.kind() == MethodKind::Phone(kind))
            .count()
            >= PHONES_PER_KIND
        {
            return Err(Error::LimitReached {
                what: "phones of this kind",
                max: PHONES_PER_KIND,
            });
        }
        let id = MethodId::generate()?;
        let pending = PendingEnrollment {
            method: MethodRecord {
                id,
                name: kind_name(kind).to_owned(),
                created_at: now,
                credential: Credential::Phone {
                    kind,
                    number: number.clone(),
                },
            },
            expires_at: now.saturating_add(self.config.enrollment_ttl),
        };
        self.store.put_pending(user, pending).await?;
        self.send_code(user, id, &number, channel, MessagePurpose::Registration, now)
            .await
    }

    /// Confirms a phone registration with the code that was sent. Like
    /// [`confirm_app_enrollment`](Self::confirm_app_enrollment), the answer carries the proof.
    pub async fn confirm_phone_enrollment(
        &self,
        user: &UserId,
        method: MethodId,
        code: &str,
    ) -> Result<Enrolled, Error> {
        let code = parse_code(code)?;
        let now = self.now();
        let tag = self.tags.phone_code(user, method, &code.to_string());
        let attempt = self
            .store
            .attempt(
                user,
                AttemptTarget::Pending(method),
                now,
                &self.config.throttle,
                |loaded| {
                    if let Err(error) = Self::check_prompts_allowed(loaded.user) {
                        return (Verdict::Abort, Err(error));
                    }
                    let LoadedCredential::Pending { pending, challenge } = loaded.credential else {
                        return (Verdict::Reject, Err(Error::Rejected));
                    };
                    // A registration that expired or was revoked is not found, whatever the code
                    // (decided before the code is compared, so the answer says nothing about it),
                    // and the attempt still counts as a failure.
                    let Some(pending) =
                        pending.filter(|p| now < p.expires_at && outlived_nothing(loaded.user, p))
                    else {
                        let gone = Error::NotFound {
                            what: "pending registration",
                        };
                        return (Verdict::Reject, Err(gone));
                    };
                    if !code_matches(challenge, method, &tag, now) {
                        return (Verdict::Reject, Err(Error::Rejected));
                    }
                    (Verdict::Accept(Consume::Pending), Ok(pending.clone()))
                },
            )
            .await?;
        let pending = self.settle(user, now, Factor::Phone, attempt)?;
        self.add_method(user, pending.method, Factor::Phone, now).await
    }

    /// Adds a confirmed method and returns it with the proof its confirmation made.
    pub(super) async fn add_method(
        &self,
        user: &UserId,
        method: MethodRecord,
        factor: Factor,
        now: UnixTime,
    ) -> Result<Enrolled, Error> {
        let id = method.id;
        let method = self.insert_method(user, method, now).await?;
        // A change revokes what was proven at or before it, this proof included were it dated `now`:
        // it is dated a millisecond later, as it comes after the change it made.
        let proven_at = now.saturating_add(Duration::from_millis(1));
        let proof = self.succeeded(user, proven_at, factor, Some(id), None);
        Ok(Enrolled { method, proof })
    }

    /// Registers `method` (within its kind's cap), marks the methods as changed, makes it the default
    /// if there was none, and reports it.
    pub(super) async fn insert_method(
        &self,
        user: &UserId,
        method: MethodRecord,
        now: UnixTime,
    ) -> Result<MethodSummary, Error> {
        let kind = method.kind();
        let (cap, what) = match kind {
            MethodKind::AuthenticatorApp => (self.config.max_authenticator_apps, "authenticator apps"),
            MethodKind::Phone(_) => (PHONES_PER_KIND, "phones of this kind"),
            MethodKind::PushApp => (self.config.push.max_apps, "push apps"),
            MethodKind::Passkey => (self.config.max_passkeys, "passkeys and security keys"),
        };
        let id = method.id;
        let same_kind = |m: &MethodRecord| m.kind() == kind;
        if self
            .store
            .list_methods(user)
            .await?
            .iter()
            .filter(|m| same_kind(m))
            .count()
            >= cap
        {
            return Err(Error::LimitReached { what, max: cap });
        }
        // As in `remove_method`, the change is recorded before it is made: a store failure between
        // the two must not leave devices remembered before the new method alive. (The insert below
        // still enforces the cap atomically; the check above spares the mark when it is plainly hit.)
        self.store
            .update_user(user, |r| r.methods_changed_at = Some(now))
            .await?;
        if !self.store.insert_method_capped(user, method.clone(), cap).await? {
            return Err(Error::LimitReached { what, max: cap });
        }
        let record = self
            .store
            .update_user(user, |r| {
                r.security_info_confirmed_at = Some(now);
                if r.default_method.is_none() {
                    r.default_method = Some(id);
                }
            })
            .await?;
        self.emit(
            user,
            now,
            EventKind::MethodAdded {
                method: id,
                method_kind: kind,
            },
        );
        Ok(summary(&method, &record))
    }

    /// Makes `method` the one challenged by default.
    pub async fn set_default_method(&self, user: &UserId, method: MethodId) -> Result<(), Error> {
        self.find_method(user, method).await?;
        let now = self.now();
        self.store
            .update_user(user, |r| r.default_method = Some(method))
            .await?;
        self.emit(user, now, EventKind::DefaultMethodChanged { method });
        Ok(())
    }

    /// Renames `method` (its name in the security info, checked as every name is: trimmed, 1 to
    /// [`MAX_NAME_CHARS`](crate::MAX_NAME_CHARS) characters, no control characters). Not a sensitive
    /// action and no event: a name is only a label. [`Error::NotFound`] without such a method.
    pub async fn rename_method(&self, user: &UserId, method: MethodId, name: &str) -> Result<(), Error> {
        let name = checked_name(name)?;
        if self.store.rename_method(user, method, name).await? {
            Ok(())
        } else {
            Err(Error::NotFound { what: "method" })
        }
    }

    /// Removes a method (step-up). Every device verifies again afterwards (methods changed).
    pub async fn remove_method(
        &self,
        user: &UserId,
        method: MethodId,
        last_mfa_at: Option<UnixTime>,
    ) -> Result<(), Error> {
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        self.step_up(&record, &methods, SensitiveAction::RemoveMethod, last_mfa_at, now)?;
        if !methods.iter().any(|m| m.id == method) {
            return Err(Error::NotFound { what: "method" });
        }
        let next_default = methods.iter().find(|m| m.id != method).map(|m| m.id);
        // The change is recorded before the removal: should the removal fail, a retry still finds
        // the method, whereas the other order could remove it and lose the mark that ends the
        // devices remembered with it.
        self.store
            .update_user(user, |r| {
                r.methods_changed_at = Some(now);
                if r.default_method == Some(method) {
                    r.default_method = next_default;
                }
            })
            .await?;
        let removed = self
            .store
            .remove_method(user, method)
            .await?
            .ok_or(Error::NotFound { what: "method" })?;
        self.emit(
            user,
            now,
            EventKind::MethodRemoved {
                method,
                method_kind: removed.kind(),
            },
        );
        Ok(())
    }

    async fn find_method(&self, user: &UserId, method: MethodId) -> Result<MethodRecord, Error> {
        self.store
            .list_methods(user)
            .await?
            .into_iter()
            .find(|m| m.id == method)
            .ok_or(Error::NotFound { what: "method" })
    }

    fn open_secret(
        &self,
        user: &UserId,
        method: MethodId,
        sealed: &crate::SealedSecret,
    ) -> Result<Secret, Error> {
        secret_from(&self.keys.open(user, method, sealed)?.plaintext)
    }
}

/// Whether a pending registration began after every event that revokes what came before it (a
/// password change, a sign-out everywhere, an administrator's revocation): one begun by whoever held
/// the old password or session must not be confirmed afterwards. The same second counts as before.
pub(super) fn outlived_nothing(record: &UserRecord, pending: &PendingEnrollment) -> bool {
    let began = pending.method.created_at;
    [
        record.password_changed_at,
        record.sessions_valid_from,
        record.mfa_sessions_revoked_at,
    ]
    .into_iter()
    .flatten()
    .all(|revoked| revoked < began)
}

fn kind_name(kind: PhoneKind) -> &'static str {
    match kind {
        PhoneKind::Mobile => "Mobile phone",
        PhoneKind::Alternate => "Alternate phone",
        PhoneKind::Office => "Office phone",
    }
}
