use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_app_password::{AppPasswordId, AppPasswordName, AppPasswordRecord, AppPasswords, IssueOptions};
use mfa_enroll::Enrollment;
use mfa_otp::{Code, Secret, SecretRule, Totp};
use mfa_policy::{
    Action, Decision, DeviceState, MfaState, Policy, Reason, Recommendation, SensitiveAction, SignInContext,
    UnixTime,
};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::ids::random_bytes;
use crate::keys::token_hash;
use crate::outcome::{
    AppEnrollment, Challenge, CodeSent, DeviceToken, MethodSummary, NewAppPassword, RecoveryCodes,
    RememberedDevice, SignIn, Verified,
};
use crate::{
    Attempt, AttemptTarget, Channel, Clock, Config, Consume, Credential, DeviceId, DeviceRecord, Error,
    Event, EventKind, EventSink, Factor, KeyRing, Loaded, LoadedCredential, MessagePurpose, MethodId,
    MethodKind, MethodRecord, NoEvents, PendingEnrollment, PhoneChallenge, PhoneDelivery, PhoneKind,
    PhoneMessage, PhoneNumber, RevokedBy, Store, SystemClock, Tag, TagSecret, UserId, UserRecord, Verdict,
};

/// The longest name of a method or device, in characters.
pub const MAX_NAME_CHARS: usize = mfa_app_password::MAX_NAME_CHARS;

/// Phones of each kind a user may register.
const PHONES_PER_KIND: usize = 1;

/// Crockford's base32 alphabet (no i, l, o, u), lowercase: the symbols of recovery codes.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The MFA service: every user-facing flow, over a [`Store`] and a [`PhoneDelivery`].
///
/// Build it once at start-up and share it (`Arc<Mfa<..>>` in axum state): it is `Send + Sync`, and
/// every flow is an `async fn` whose future is `Send`. See the crate docs for a walk-through.
///
/// The flows never read the system clock except through the [`Clock`] (default [`SystemClock`]), and
/// report every security event to the [`EventSink`] (default: none).
///
/// A phone registered and used for a sign-in:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use mfa::{
///     Challenge, Channel, Config, KeyId, KeyRing, ManualClock, MemoryStore, Mfa, PhoneKind,
///     RecordingEventSink, RecordingPhoneDelivery, TagSecret, UnixTime, UserId,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let phones = RecordingPhoneDelivery::new(); // your SMS and voice provider in production
/// let events = RecordingEventSink::new(); // for example a `TracingEventSink`
/// let clock = Arc::new(ManualClock::new(UnixTime::from_secs(1_700_000_000)));
/// let mfa = Arc::new(
///     Mfa::new(
///         Config::default(),
///         KeyRing::new(KeyId(1), &[0x11; 32])?, // from your secrets manager
///         TagSecret::from_bytes(&[0x22; 32])?,
///         MemoryStore::new(),
///         phones.clone(),
///     )?
///     .with_clock(clock.clone())
///     .with_events(Arc::new(events.clone())),
/// );
///
/// // Registration: a test code by SMS, confirmed with what Bob types.
/// let bob = UserId::new("user-7")?;
/// let sent = mfa
///     .begin_phone_enrollment(&bob, PhoneKind::Mobile, "+1 415 555 2671", Channel::Sms, None)
///     .await?;
/// assert_eq!(sent.masked_number, "+*********71");
/// let number = "+14155552671".parse()?;
/// let code = phones.last_code_to(&number).ok_or("no SMS")?;
/// let phone = mfa.confirm_phone_enrollment(&bob, sent.method, &code).await?;
///
/// // A sign-in a minute later: the default method is the mobile, so a code goes out by SMS.
/// clock.advance(Duration::from_secs(60));
/// let Challenge::Phone(sent) = mfa.challenge(&bob, None, None).await? else {
///     return Err("expected a phone challenge".into());
/// };
/// assert_eq!(sent.channel, Channel::Sms);
/// let code = phones.last_code_to(&number).ok_or("no SMS")?;
/// let verified = mfa.verify(&bob, phone.id, &code).await?;
/// assert_eq!(verified.at(), UnixTime::from_secs(1_700_000_060));
///
/// // A code is good once.
/// assert!(matches!(mfa.verify(&bob, phone.id, &code).await, Err(mfa::Error::Rejected)));
/// // Events tell the host what happened, without codes or numbers.
/// assert!(!serde_json::to_string(&events.events())?.contains(code.as_str()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Mfa<S, P> {
    store: S,
    delivery: P,
    config: Config,
    keys: KeyRing,
    tags: TagSecret,
    app_passwords: AppPasswords,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
}

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// The service with this configuration (validated), keys, store and phone delivery.
    pub fn new(config: Config, keys: KeyRing, tags: TagSecret, store: S, delivery: P) -> Result<Self, Error> {
        config.validate()?;
        let app_passwords = AppPasswords::new(config.app_passwords, tags.app_password_key()?)?;
        Ok(Mfa {
            store,
            delivery,
            config,
            keys,
            tags,
            app_passwords,
            clock: Arc::new(SystemClock),
            events: Arc::new(NoEvents),
        })
    }

    /// The same service reading time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same service reporting events to `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The phone delivery.
    pub fn delivery(&self) -> &P {
        &self.delivery
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.config.policy
    }

    fn now(&self) -> UnixTime {
        self.clock.now()
    }

    fn emit(&self, user: &UserId, at: UnixTime, kind: EventKind) {
        self.events.emit(&Event::new(user.clone(), at, kind));
    }

    async fn user_and_methods(&self, user: &UserId) -> Result<(UserRecord, Vec<MethodRecord>), Error> {
        let record = self.store.get_user(user).await?.unwrap_or_default();
        let methods = self.store.list_methods(user).await?;
        Ok((record, methods))
    }

    async fn find_method(&self, user: &UserId, method: MethodId) -> Result<MethodRecord, Error> {
        self.store
            .list_methods(user)
            .await?
            .into_iter()
            .find(|m| m.id == method)
            .ok_or(Error::NotFound { what: "method" })
    }

    /// Refuses a prompt to a blocked user or one who reported suspicious activity.
    fn check_prompts_allowed(record: &UserRecord) -> Result<(), Error> {
        if record.blocked_by_admin {
            return Err(Error::NotAllowed(Reason::BlockedByAdmin));
        }
        if record.suspicious_activity_reported {
            return Err(Error::NotAllowed(Reason::SuspiciousActivityReported));
        }
        Ok(())
    }

    /// Recovery codes and app passwords are made only by a user who can pass MFA: with no method,
    /// the password alone would mint credentials that outlive a later registration.
    fn require_a_method(methods: &[MethodRecord]) -> Result<(), Error> {
        if methods.is_empty() {
            return Err(Error::NotAllowed(Reason::RegistrationRequired));
        }
        Ok(())
    }

    /// Step-up for a sensitive action: a user with methods needs a verification fresher than the
    /// policy's `step_up_freshness` (`last_mfa_at` is the session's last MFA time). A user without
    /// methods has nothing to step up with and may go on (first registration).
    fn step_up(
        &self,
        record: &UserRecord,
        methods: &[MethodRecord],
        action: SensitiveAction,
        last_mfa_at: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<(), Error> {
        Self::check_prompts_allowed(record)?;
        if methods.is_empty() {
            return Ok(());
        }
        let mut state = record.policy_state(methods);
        // Step-up applies whatever the admin state: a user with methods proves it is them.
        if state.mfa == MfaState::Disabled {
            state.mfa = MfaState::Enforced;
        }
        let device = DeviceState {
            last_mfa: last_mfa_at,
            last_activity: Some(now),
            ..DeviceState::default()
        };
        let decision = self
            .config
            .policy
            .decide(&state, &device, &SignInContext::action(action), now);
        if let Some(reason) = decision.reasons.iter().find(|r| r.action() == Action::Deny) {
            return Err(Error::NotAllowed(*reason));
        }
        if decision.reasons.iter().any(|r| r.action() == Action::RequireMfa) {
            return Err(Error::StepUpRequired);
        }
        Ok(())
    }

    /// Checks that `last_mfa_at` is fresh enough for `action` (for the host's own sensitive flows,
    /// such as a password change): [`Error::StepUpRequired`] if not.
    pub async fn check_step_up(
        &self,
        user: &UserId,
        action: SensitiveAction,
        last_mfa_at: Option<UnixTime>,
    ) -> Result<(), Error> {
        let (record, methods) = self.user_and_methods(user).await?;
        self.step_up(&record, &methods, action, last_mfa_at, self.now())
    }

    // ------------------------------------------------------------------------------------- admin

    /// Sets the user's MFA state (disabled, enabled, enforced).
    pub async fn set_mfa_state(&self, user: &UserId, state: MfaState) -> Result<(), Error> {
        let now = self.now();
        self.store.update_user(user, |r| r.mfa = state).await?;
        self.emit(user, now, EventKind::MfaStateChanged { state });
        Ok(())
    }

    /// Requires the user to register again: removes every method, the pending registration, the
    /// recovery codes (they stand in for the removed methods) and the remembered devices; the next
    /// sign-in asks for a registration. App passwords stay: delete them with
    /// [`delete_all_app_passwords`](Self::delete_all_app_passwords) if they are suspect too.
    pub async fn require_reregistration(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        // The methods go last: should a store call fail midway, a retry still finds them and clears
        // everything else again, and recovery codes never outlive a completed re-registration.
        self.store
            .update_user(user, |r| {
                r.default_method = None;
                r.methods_changed_at = Some(now);
            })
            .await?;
        self.store.replace_recovery_codes(user, Vec::new()).await?;
        if let Some(pending) = self.store.get_pending(user).await? {
            self.store.take_pending(user, pending.method.id).await?;
        }
        self.store.forget_all_devices(user).await?;
        self.store.remove_all_methods(user).await?;
        self.emit(user, now, EventKind::ReregistrationRequired);
        Ok(())
    }

    /// An administrator revokes the user's MFA sessions: every device must verify again, and
    /// remembered devices are forgotten.
    pub async fn revoke_mfa_sessions(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        self.store
            .update_user(user, |r| r.mfa_sessions_revoked_at = Some(now))
            .await?;
        let devices = self.store.forget_all_devices(user).await?;
        self.emit(
            user,
            now,
            EventKind::SessionsRevoked {
                by: RevokedBy::Admin,
                devices,
            },
        );
        Ok(())
    }

    /// "Require sign-in again on all devices", by the user: sessions issued before now are revoked
    /// (check [`UserRecord::sessions_valid_from`] in your session layer) and remembered devices are
    /// forgotten.
    pub async fn sign_out_everywhere(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        self.store
            .update_user(user, |r| r.sessions_valid_from = Some(now))
            .await?;
        let devices = self.store.forget_all_devices(user).await?;
        self.emit(
            user,
            now,
            EventKind::SessionsRevoked {
                by: RevokedBy::User,
                devices,
            },
        );
        Ok(())
    }

    /// Tells the service the user's password changed: every device must verify again, remembered
    /// devices are forgotten, and unless [`Config::password_change_revokes_app_passwords`] is off, the
    /// user's app passwords are deleted (whoever knew the old password may have made some).
    pub async fn password_changed(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        self.store
            .update_user(user, |r| r.password_changed_at = Some(now))
            .await?;
        // App passwords first: devices also die by the instant just stored, app passwords only here.
        let app_passwords = if self.config.password_change_revokes_app_passwords {
            self.store.delete_all_app_passwords(user).await?
        } else {
            0
        };
        let devices = self.store.forget_all_devices(user).await?;
        self.emit(
            user,
            now,
            EventKind::PasswordChanged {
                devices,
                app_passwords,
            },
        );
        Ok(())
    }

    /// Deletes all of the user's app passwords (administrator or user), and returns how many there were.
    pub async fn delete_all_app_passwords(&self, user: &UserId) -> Result<usize, Error> {
        let now = self.now();
        let count = self.store.delete_all_app_passwords(user).await?;
        self.emit(user, now, EventKind::AllAppPasswordsRevoked { count });
        Ok(count)
    }

    /// Reports "I didn't try to sign in": an event, and if the configuration says so, no more prompts
    /// or verifications until an administrator calls
    /// [`clear_suspicious_activity`](Self::clear_suspicious_activity).
    pub async fn report_suspicious_activity(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        let prompts_blocked = self.config.suspicious_report_blocks_prompts;
        if prompts_blocked {
            self.store
                .update_user(user, |r| r.suspicious_activity_reported = true)
                .await?;
        }
        self.emit(
            user,
            now,
            EventKind::SuspiciousActivityReported { prompts_blocked },
        );
        Ok(())
    }

    /// An administrator clears a suspicious-activity report.
    pub async fn clear_suspicious_activity(&self, user: &UserId) -> Result<(), Error> {
        let now = self.now();
        self.store
            .update_user(user, |r| r.suspicious_activity_reported = false)
            .await?;
        self.emit(user, now, EventKind::SuspiciousActivityCleared);
        Ok(())
    }

    /// Re-seals every authenticator-app secret of the user that is not under the current key, and
    /// returns how many were. (Secrets are also re-sealed one by one when they verify a code.)
    pub async fn reencrypt_user(&self, user: &UserId) -> Result<usize, Error> {
        let now = self.now();
        let mut count = 0;
        for method in self.store.list_methods(user).await? {
            if let Credential::AuthenticatorApp { secret, .. } = &method.credential
                && !self.keys.is_current(secret)
            {
                let plaintext = self.keys.open(user, method.id, secret)?;
                let resealed = self.keys.seal(user, method.id, &plaintext)?;
                if self.store.update_app_secret(user, method.id, resealed).await? {
                    count += 1;
                }
            }
        }
        if count > 0 {
            self.emit(user, now, EventKind::SecretsReencrypted { count });
        }
        Ok(count)
    }

    // ------------------------------------------------------------------------------ registration

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
    pub async fn confirm_app_enrollment(
        &self,
        user: &UserId,
        method: MethodId,
        code: &str,
    ) -> Result<MethodSummary, Error> {
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
        self.add_method(user, pending.method, now).await
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

    /// Confirms a phone registration with the code that was sent.
    pub async fn confirm_phone_enrollment(
        &self,
        user: &UserId,
        method: MethodId,
        code: &str,
    ) -> Result<MethodSummary, Error> {
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
                    if !code_matches(challenge, method, &tag, now) {
                        return (Verdict::Reject, Err(Error::Rejected));
                    }
                    match pending.filter(|p| now < p.expires_at && outlived_nothing(loaded.user, p)) {
                        Some(pending) => (Verdict::Accept(Consume::Pending), Ok(pending.clone())),
                        // The right code for a registration that expired or was revoked: it still
                        // counts as a failure, so the answer is no free oracle for codes.
                        None => (
                            Verdict::Reject,
                            Err(Error::NotFound {
                                what: "pending registration",
                            }),
                        ),
                    }
                },
            )
            .await?;
        let pending = self.settle(user, now, Factor::Phone, attempt)?;
        self.add_method(user, pending.method, now).await
    }

    async fn add_method(
        &self,
        user: &UserId,
        method: MethodRecord,
        now: UnixTime,
    ) -> Result<MethodSummary, Error> {
        let kind = method.kind();
        let (cap, what) = match kind {
            MethodKind::AuthenticatorApp => (self.config.max_authenticator_apps, "authenticator apps"),
            MethodKind::Phone(_) => (PHONES_PER_KIND, "phones of this kind"),
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

    // ----------------------------------------------------------------------------------- sign-in

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
                let plaintext = match self.keys.open(user, method, secret) {
                    Ok(plaintext) => plaintext,
                    Err(error) => return abort(error),
                };
                let totp = match secret_from(&plaintext).and_then(|s| Ok(Totp::new(&s, *params)?)) {
                    Ok(totp) => totp,
                    Err(error) => return abort(error),
                };
                let window = self.config.totp_window;
                let Some(step) = totp.verify_after(code, time, window, *last_accepted_step) else {
                    // A code of a step already used: a replay, worth an event of its own.
                    let replay = totp.verify(code, time, window).is_some();
                    return (Verdict::Reject, Ok(CodeChecked { factor, replay }));
                };
                // A secret sealed under an older key is sealed again in the same write.
                let resealed = match self.keys.is_current(secret) {
                    true => None,
                    false => match self.keys.seal(user, method, &plaintext) {
                        Ok(resealed) => Some(resealed),
                        Err(error) => return abort(error),
                    },
                };
                let checked = CodeChecked {
                    factor,
                    replay: false,
                };
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
        }
    }

    /// Turns an attempt's outcome into the flow's answer, with its events: the check's value on
    /// acceptance, the lock, the check's error, or the opaque rejection (after the failure events).
    fn settle<T>(
        &self,
        user: &UserId,
        now: UnixTime,
        factor: Factor,
        attempt: Attempt<Result<T, Error>>,
    ) -> Result<T, Error> {
        match attempt {
            Attempt::Locked { until } => Err(Error::Locked { until }),
            Attempt::Aborted(value) | Attempt::Accepted(value) => value,
            Attempt::Rejected { value, failures } => {
                let rejected = self.failed(user, now, factor, failures);
                match value {
                    Err(error @ Error::NotFound { .. }) => Err(error),
                    _ => Err(rejected),
                }
            }
        }
    }

    /// Reports a counted failure and returns the opaque error.
    fn failed(&self, user: &UserId, now: UnixTime, factor: Factor, failures: u32) -> Error {
        self.emit(
            user,
            now,
            EventKind::VerificationFailed {
                factor,
                failures: Some(failures),
            },
        );
        if let Some(lock) = self.config.throttle.lock_for(failures) {
            self.emit(
                user,
                now,
                EventKind::LockedOut {
                    until: now.saturating_add(lock),
                    failures,
                },
            );
        }
        Error::Rejected
    }

    fn succeeded(
        &self,
        user: &UserId,
        now: UnixTime,
        factor: Factor,
        method: Option<MethodId>,
        recovery_codes_left: Option<usize>,
    ) -> Verified {
        self.emit(user, now, EventKind::VerificationSucceeded { factor, method });
        Verified {
            user: user.clone(),
            factor,
            method,
            at: now,
            recovery_codes_left,
        }
    }

    fn open_secret(
        &self,
        user: &UserId,
        method: MethodId,
        sealed: &crate::SealedSecret,
    ) -> Result<Secret, Error> {
        secret_from(&self.keys.open(user, method, sealed)?)
    }

    async fn send_code(
        &self,
        user: &UserId,
        method: MethodId,
        number: &PhoneNumber,
        channel: Channel,
        purpose: MessagePurpose,
        now: UnixTime,
    ) -> Result<CodeSent, Error> {
        if !self
            .store
            .record_phone_send(user, number, now, &self.config.phone_sends)
            .await?
        {
            return Err(Error::ResendLimited);
        }
        let code = random_digits(self.config.phone_code_digits)?;
        let ttl = self.config.phone_code_ttl;
        let expires_at = now.saturating_add(ttl);
        let challenge = PhoneChallenge {
            method,
            channel,
            tag: self.tags.phone_code(user, method, &code),
            created_at: now,
            expires_at,
        };
        self.store.put_phone_challenge(user, challenge).await?;
        let message = PhoneMessage::new(&self.config.issuer, &code, purpose, ttl.as_secs());
        let message_id = self.delivery.send(number, channel, &message).await?;
        self.emit(
            user,
            now,
            EventKind::ChallengeSent {
                method,
                channel,
                message_id: message_id.clone(),
            },
        );
        Ok(CodeSent {
            method,
            channel,
            masked_number: number.masked(),
            expires_at,
            message_id,
        })
    }

    // ---------------------------------------------------------------------------- recovery codes

    /// Generates a new set of recovery codes (step-up), replacing the old set. Show them once.
    pub async fn generate_recovery_codes(
        &self,
        user: &UserId,
        last_mfa_at: Option<UnixTime>,
    ) -> Result<RecoveryCodes, Error> {
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        Self::require_a_method(&methods)?;
        self.step_up(
            &record,
            &methods,
            SensitiveAction::GenerateRecoveryCodes,
            last_mfa_at,
            now,
        )?;
        let mut codes = Vec::with_capacity(self.config.recovery_codes);
        let mut tags = Vec::with_capacity(self.config.recovery_codes);
        for _ in 0..self.config.recovery_codes {
            let code = random_recovery_code()?;
            tags.push(self.tags.recovery_code(user, &normalize_recovery_code(&code)?));
            codes.push(code);
        }
        self.store.replace_recovery_codes(user, tags).await?;
        self.emit(
            user,
            now,
            EventKind::RecoveryCodesGenerated { count: codes.len() },
        );
        Ok(RecoveryCodes(codes))
    }

    /// Redeems a recovery code in place of a second factor: single use, counted toward the lock like
    /// any verification. The proof tells how many codes are left.
    pub async fn redeem_recovery_code(&self, user: &UserId, code: &str) -> Result<Verified, Error> {
        let normalized = normalize_recovery_code(code)?;
        let now = self.now();
        let tag = self.tags.recovery_code(user, &normalized);
        let attempt = self
            .store
            .attempt(
                user,
                AttemptTarget::RecoveryCode(&tag),
                now,
                &self.config.throttle,
                |loaded| {
                    if let Err(error) = Self::check_prompts_allowed(loaded.user) {
                        return (Verdict::Abort, Err(error));
                    }
                    match loaded.credential {
                        LoadedCredential::RecoveryCode { found: true, left } => {
                            (Verdict::Accept(Consume::RecoveryCode), Ok(left.saturating_sub(1)))
                        }
                        _ => (Verdict::Reject, Err(Error::Rejected)),
                    }
                },
            )
            .await?;
        let remaining = self.settle(user, now, Factor::RecoveryCode, attempt)?;
        self.emit(user, now, EventKind::RecoveryCodeUsed { remaining });
        Ok(self.succeeded(user, now, Factor::RecoveryCode, None, Some(remaining)))
    }

    /// How many recovery codes the user has left.
    pub async fn recovery_codes_left(&self, user: &UserId) -> Result<usize, Error> {
        Ok(self.store.recovery_codes_left(user).await?)
    }

    // ----------------------------------------------------------------------------- app passwords

    /// Creates an app password named `name` (step-up); show its plaintext once. Refused when the
    /// policy turns app passwords off; at most `app_passwords.max_per_user` per user.
    ///
    /// Hashing costs one argon2id evaluation (tens of milliseconds with the defaults) on the calling
    /// task; in a busy async server consider `tokio::task::spawn_blocking`-friendly settings.
    pub async fn create_app_password(
        &self,
        user: &UserId,
        name: &str,
        last_mfa_at: Option<UnixTime>,
    ) -> Result<NewAppPassword, Error> {
        if !self.config.policy.config().allow_app_passwords {
            return Err(Error::NotAllowed(Reason::LegacyClientBlocked));
        }
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        Self::require_a_method(&methods)?;
        self.step_up(
            &record,
            &methods,
            SensitiveAction::CreateAppPassword,
            last_mfa_at,
            now,
        )?;
        let existing = self.store.list_app_passwords(user).await?.len();
        let issued = self
            .app_passwords
            .issue(existing, name, IssueOptions::default(), unix_secs(now)?)
            .map_err(|e| match e {
                mfa_app_password::Error::TooManyAppPasswords { max } => Error::LimitReached {
                    what: "app passwords",
                    max,
                },
                other => Error::AppPassword(other),
            })?;
        let id = issued.record.id();
        let max = self.app_passwords.max_per_user();
        if !self
            .store
            .insert_app_password_capped(user, issued.record, max)
            .await?
        {
            return Err(Error::LimitReached {
                what: "app passwords",
                max,
            });
        }
        self.emit(user, now, EventKind::AppPasswordCreated { id });
        Ok(NewAppPassword {
            id,
            password: issued.password,
        })
    }

    /// The user's app passwords (names, creation and last use; hashes only).
    pub async fn list_app_passwords(&self, user: &UserId) -> Result<Vec<AppPasswordRecord>, Error> {
        Ok(self.store.list_app_passwords(user).await?)
    }

    /// Revokes one app password.
    pub async fn revoke_app_password(&self, user: &UserId, id: AppPasswordId) -> Result<(), Error> {
        let now = self.now();
        if !self.store.delete_app_password(user, id).await? {
            return Err(Error::NotFound { what: "app password" });
        }
        self.emit(user, now, EventKind::AppPasswordRevoked { id });
        Ok(())
    }

    /// Verifies an app password typed into a legacy client (IMAP, SMTP, old office apps) instead of
    /// the account password. Refused with [`Error::NotAllowed`] when the policy denies legacy clients
    /// (app passwords off, blocked, suspicious activity reported); [`Error::Rejected`] when none
    /// matches, or the one that matched was revoked while it was being checked. App-password failures
    /// are not counted toward the MFA lock: a client retrying a stale password would otherwise lock
    /// the user out of interactive sign-in, and app passwords of 75 random bits (16 letters, the
    /// default format) need no lock against guessing.
    pub async fn verify_app_password(
        &self,
        user: &UserId,
        typed: &str,
        scope: Option<&str>,
    ) -> Result<AppPasswordId, Error> {
        if !self.config.policy.config().allow_app_passwords {
            return Err(Error::NotAllowed(Reason::LegacyClientBlocked));
        }
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        let context = SignInContext::legacy_sign_in(now);
        let decision = self.config.policy.decide(
            &record.policy_state(&methods),
            &DeviceState::default(),
            &context,
            now,
        );
        if let Some(reason) = decision.reasons.iter().find(|r| r.action() == Action::Deny) {
            return Err(Error::NotAllowed(*reason));
        }
        let mut records = self.store.list_app_passwords(user).await?;
        if self.config.password_change_revokes_app_passwords
            && let Some(changed) = record.password_changed_at
        {
            // `password_changed` deletes them; should that have failed, they still never verify.
            records
                .retain(|r| i64::try_from(r.created_at()).is_ok_and(|created| created >= changed.as_secs()));
        }
        let secs = unix_secs(now)?;
        let Some(found) = self.app_passwords.verify(typed, &records, secs, scope)? else {
            self.emit(
                user,
                now,
                EventKind::VerificationFailed {
                    factor: Factor::AppPassword,
                    failures: None,
                },
            );
            return Err(Error::Rejected);
        };
        let mut used = records.into_iter().nth(found.index).ok_or(Error::Rejected)?;
        used.mark_used(secs);
        if found.needs_refresh {
            self.app_passwords.refresh(typed, &mut used)?;
        }
        if !self.store.update_app_password(user, used).await? {
            // Revoked while it was being checked: once revoked, an app password never signs in.
            return Err(Error::Rejected);
        }
        self.emit(user, now, EventKind::AppPasswordUsed { id: found.id });
        Ok(found.id)
    }

    // ------------------------------------------------------------------------ remembered devices

    /// Remembers the device after a verification ("don't ask again on this device"), named `name`
    /// ("Firefox on Linux"). Set the returned token as a cookie. Needs a proof at most the policy's
    /// step-up freshness old; refused when the policy turns remembering off.
    pub async fn remember_device(&self, proof: &Verified, name: &str) -> Result<RememberedDevice, Error> {
        let name = checked_name(name)?;
        let now = self.now();
        let policy = &self.config.policy;
        let Some(until) = policy.remembered_until(proof.at) else {
            return Err(Error::Unsupported {
                what: "remembered devices (the policy turns them off)",
            });
        };
        let fresh_until = proof.at.saturating_add(policy.config().step_up_freshness);
        if now >= fresh_until || now < proof.at {
            return Err(Error::StepUpRequired);
        }
        // A block or a suspicious-activity report made since the proof wins over it.
        let record = self.store.get_user(&proof.user).await?.unwrap_or_default();
        Self::check_prompts_allowed(&record)?;
        let token_bytes = Zeroizing::new(random_bytes::<32>()?);
        let token = DeviceToken(Zeroizing::new(URL_SAFE_NO_PAD.encode(&token_bytes[..])));
        let id = DeviceId::generate()?;
        let device = DeviceRecord {
            id,
            name,
            token_hash: token_hash(&token_bytes[..]),
            created_at: proof.at,
            last_used_at: now,
        };
        self.store.insert_device(&proof.user, device).await?;
        self.emit(&proof.user, now, EventKind::DeviceRemembered { device: id });
        Ok(RememberedDevice { id, token, until })
    }

    /// The user's remembered devices (name, created, last used).
    pub async fn list_devices(&self, user: &UserId) -> Result<Vec<DeviceRecord>, Error> {
        Ok(self.store.list_devices(user).await?)
    }

    /// Forgets one remembered device: it is asked for a second factor again.
    pub async fn forget_device(&self, user: &UserId, device: DeviceId) -> Result<(), Error> {
        let now = self.now();
        if !self.store.forget_device(user, device).await? {
            return Err(Error::NotFound { what: "device" });
        }
        self.emit(user, now, EventKind::DeviceForgotten { device });
        Ok(())
    }
}

/// Whether a pending registration began after every event that revokes what came before it (a
/// password change, a sign-out everywhere, an administrator's revocation): one begun by whoever held
/// the old password or session must not be confirmed afterwards. The same second counts as before.
fn outlived_nothing(record: &UserRecord, pending: &PendingEnrollment) -> bool {
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

fn summary(method: &MethodRecord, record: &UserRecord) -> MethodSummary {
    MethodSummary {
        id: method.id,
        name: method.name.clone(),
        kind: method.kind(),
        created_at: method.created_at,
        is_default: record.default_method == Some(method.id),
        masked_number: match &method.credential {
            Credential::Phone { number, .. } => Some(number.masked()),
            Credential::AuthenticatorApp { .. } => None,
        },
    }
}

/// What [`Mfa::check_code`] found, beside its verdict.
struct CodeChecked {
    factor: Factor,
    /// The code was right for a step already used.
    replay: bool,
}

/// Whether the outstanding phone code is the one for `method`, unexpired, with this tag (compared in
/// constant time).
fn code_matches(challenge: Option<&PhoneChallenge>, method: MethodId, tag: &Tag, now: UnixTime) -> bool {
    challenge.is_some_and(|c| c.method == method && now < c.expires_at && bool::from(c.tag.ct_eq(tag)))
}

fn kind_name(kind: PhoneKind) -> &'static str {
    match kind {
        PhoneKind::Mobile => "Mobile phone",
        PhoneKind::Alternate => "Alternate phone",
        PhoneKind::Office => "Office phone",
    }
}

/// A method or device name, trimmed: the rules of app-password names (non-empty, at most
/// [`MAX_NAME_CHARS`], no control, invisible or text-direction characters), kept in one place.
fn checked_name(name: &str) -> Result<String, Error> {
    let trimmed = name.trim();
    match AppPasswordName::new(trimmed) {
        Ok(_) => Ok(trimmed.to_owned()),
        Err(mfa_app_password::Error::InvalidName { reason }) => Err(Error::InvalidName { reason }),
        Err(_) => Err(Error::InvalidName { reason: "not a name" }),
    }
}

fn parse_code(code: &str) -> Result<Code, Error> {
    Code::parse(code).map_err(|_| Error::InvalidCode {
        reason: "expected 6 to 10 digits",
    })
}

fn unix_secs(now: UnixTime) -> Result<u64, Error> {
    u64::try_from(now.as_secs()).map_err(|_| Error::InvalidConfig {
        reason: "the clock is before 1970",
    })
}

fn secret_from(plaintext: &[u8]) -> Result<Secret, Error> {
    // Secrets this crate stored are at least 128 bits; accept what mfa-otp accepts so imported
    // 80-bit legacy secrets keep working.
    Ok(Secret::from_bytes_with(plaintext, SecretRule::AllowLegacy80)?)
}

fn decode_token(token: &str) -> Option<crate::Tag> {
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(token.trim()).ok()?);
    (bytes.len() == 32).then(|| token_hash(&bytes))
}

/// `digits` decimal digits from the OS CSPRNG, without modulo bias (rejection sampling).
fn random_digits(digits: u8) -> Result<String, Error> {
    let modulus = 10u32.pow(u32::from(digits));
    let limit = u32::MAX - (u32::MAX % modulus);
    loop {
        let value = u32::from_be_bytes(random_bytes::<4>()?);
        if value < limit {
            return Ok(format!(
                "{:0width$}",
                value % modulus,
                width = usize::from(digits)
            ));
        }
    }
}

/// 80 random bits as 16 Crockford base32 symbols in groups of four.
fn random_recovery_code() -> Result<Zeroizing<String>, Error> {
    let bytes = Zeroizing::new(random_bytes::<10>()?);
    let mut bits = Zeroizing::new(0u128);
    for b in bytes.iter() {
        *bits = (*bits << 8) | u128::from(*b);
    }
    let mut code = Zeroizing::new(String::with_capacity(19));
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        let symbol = ((*bits >> (75 - 5 * i)) & 31) as usize;
        code.push(char::from(RECOVERY_ALPHABET[symbol]));
    }
    Ok(code)
}

/// The canonical form of a typed recovery code: 16 lowercase symbols, no separators.
pub(crate) fn normalize_recovery_code(typed: &str) -> Result<Zeroizing<String>, Error> {
    let mut out = Zeroizing::new(String::with_capacity(16));
    for c in typed.trim().chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'i' | 'l' => '1',
            'o' => '0',
            c if c.is_ascii() && RECOVERY_ALPHABET.contains(&(c as u8)) => c,
            _ => {
                return Err(Error::InvalidCode {
                    reason: "a recovery code has 16 letters and digits",
                });
            }
        };
        if out.len() == 16 {
            return Err(Error::InvalidCode {
                reason: "a recovery code has 16 letters and digits",
            });
        }
        out.push(c);
    }
    if out.len() != 16 {
        return Err(Error::InvalidCode {
            reason: "a recovery code has 16 letters and digits",
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_have_80_bits_in_groups_of_four() {
        let code = random_recovery_code().unwrap();
        assert_eq!(code.len(), 19);
        assert_eq!(code.matches('-').count(), 3);
        assert_eq!(normalize_recovery_code(&code).unwrap().len(), 16);
        assert_eq!(
            normalize_recovery_code(" 7KQ2 MZ8D-0HXA-VE4R ").unwrap().as_str(),
            "7kq2mz8d0hxave4r"
        );
        assert_eq!(
            normalize_recovery_code("ilo0-0000-0000-0000").unwrap().as_str(),
            "1100000000000000"
        );
        assert!(normalize_recovery_code("u000-0000-0000-0000").is_err());
        assert!(normalize_recovery_code("0000-0000-0000-00000").is_err());
        assert!(normalize_recovery_code("0000-0000-0000").is_err());
        assert!(normalize_recovery_code("0000-0000-0000-000é").is_err());
    }

    #[test]
    fn random_digits_are_zero_padded_and_uniform_enough() {
        let mut counts = [0u32; 10];
        for _ in 0..2000 {
            let code = random_digits(6).unwrap();
            assert_eq!(code.len(), 6);
            for b in code.bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 12,000 digits: each about 1,200; a wildly skewed generator would fall outside.
        assert!(counts.iter().all(|&c| (1000..1400).contains(&c)), "{counts:?}");
    }
}
