//! The service: the `Mfa` struct, its constructor and accessors, and what several flows share
//! (prompt checks, step-up, counting attempts, reporting outcomes). Each flow has its own file.

use std::sync::Arc;

use mfa_app_password::{AppPasswordName, AppPasswords};
use mfa_otp::{Code, Secret, SecretRule};
use mfa_policy::{Action, DeviceState, MfaState, Policy, Reason, SensitiveAction, SignInContext, UnixTime};
use subtle::ConstantTimeEq;

use crate::blocking::BlockingPool;
use crate::outcome::{MethodSummary, Verified};
use crate::{
    Attempt, Clock, Config, Credential, Error, Event, EventKind, EventSink, Factor, KeyRing, MethodId,
    MethodRecord, NoEvents, PhoneChallenge, PhoneDelivery, Store, SystemClock, Tag, TagSecret, UserId,
    UserRecord,
};

mod admin;
mod app_passwords;
mod devices;
mod hashing;
mod keys;
mod passkey;
mod phone_codes;
mod push;
mod recovery_codes;
mod registration;
mod sign_in;

pub use passkey::PASSKEY_CEREMONY_TTL;
pub use push::PushOrigin;

/// The longest name of a method or device, in characters.
pub const MAX_NAME_CHARS: usize = mfa_app_password::MAX_NAME_CHARS;

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
/// let phone = mfa.confirm_phone_enrollment(&bob, sent.method, &code).await?.method;
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
    app_passwords: Arc<AppPasswords>,
    /// Where app-password hashing runs: off the async threads, a bounded number at once.
    hashing: BlockingPool,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    /// Push approvals, once set up.
    push: Option<push::PushSetup>,
    /// Passkeys, once set up.
    #[cfg(feature = "webauthn")]
    passkeys: Option<passkey::PasskeySetup>,
}

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// The service with this configuration (validated), keys, store and phone delivery.
    pub fn new(config: Config, keys: KeyRing, tags: TagSecret, store: S, delivery: P) -> Result<Self, Error> {
        config.validate()?;
        let app_passwords = AppPasswords::new(config.app_passwords, tags.app_password_key()?)?;
        let hashing = BlockingPool::new(config.hashing_concurrency());
        Ok(Mfa {
            store,
            delivery,
            config,
            keys,
            tags,
            app_passwords: Arc::new(app_passwords),
            hashing,
            clock: Arc::new(SystemClock),
            events: Arc::new(NoEvents),
            push: None,
            #[cfg(feature = "webauthn")]
            passkeys: None,
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

    /// The clock the flows read (so that layers around the service, such as a web layer's session
    /// checks, read the same time).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn now(&self) -> UnixTime {
        self.clock.now()
    }

    fn emit(&self, user: &UserId, at: UnixTime, kind: EventKind) {
        self.events.emit(&Event::new(user.clone(), at, kind));
    }

    async fn user_and_methods(&self, user: &UserId) -> Result<(UserRecord, Vec<MethodRecord>), Error> {
        let (record, methods) = self.store.get_user_and_methods(user).await?;
        Ok((record.unwrap_or_default(), methods))
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
}

/// Whether the outstanding phone code is the one for `method`, unexpired, with this tag (compared in
/// constant time).
fn code_matches(challenge: Option<&PhoneChallenge>, method: MethodId, tag: &Tag, now: UnixTime) -> bool {
    challenge.is_some_and(|c| c.method == method && now < c.expires_at && bool::from(c.tag.ct_eq(tag)))
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
            _ => None,
        },
    }
}

/// A method or device name, trimmed: the rules of app-password names (at most [`MAX_NAME_CHARS`], at
/// least one visible character, nothing that renders as nothing or as something else; see
/// [`AppPasswordName`]), kept in one place.
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
