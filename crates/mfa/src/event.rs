use core::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use mfa_app_password::AppPasswordId;
use mfa_policy::{MfaState, UnixTime};
use serde::Serialize;

use crate::{Channel, DeviceId, MessageId, MethodId, MethodKind, UserId};

/// A security event: who, when, what. It never carries a secret, a code, a token or a phone number.
///
/// Serialises to JSON as `{"user": "...", "at": 1700000000, "kind": "verification_failed", ...}`.
///
/// ```
/// use mfa::{Event, EventKind, Factor, UnixTime, UserId};
///
/// let event = Event::new(
///     UserId::new("user-42")?,
///     UnixTime::from_secs(1_700_000_000),
///     EventKind::VerificationFailed { factor: Factor::AuthenticatorApp, failures: Some(3) },
/// );
/// assert_eq!(
///     serde_json::to_string(&event)?,
///     r#"{"user":"user-42","at":1700000000,"kind":"verification_failed","factor":"authenticator_app","failures":3}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Event {
    /// The user it concerns.
    pub user: UserId,
    /// When it happened (from the service's [`Clock`](crate::Clock)).
    pub at: UnixTime,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// An event of `user` at `at`.
    pub fn new(user: UserId, at: UnixTime, kind: EventKind) -> Self {
        Event { user, at, kind }
    }
}

/// Which factor a verification used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// A code from an authenticator app.
    AuthenticatorApp,
    /// A code sent by SMS or voice.
    Phone,
    /// A recovery code.
    RecoveryCode,
    /// An app password of a legacy client.
    AppPassword,
    /// A push approved on an authenticator app with the matching number.
    PushApproval,
    /// A passkey or security key.
    Passkey,
}

/// Whose sessions were revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokedBy {
    /// The user ("sign out everywhere").
    User,
    /// An administrator.
    Admin,
}

/// What happened. Serialised with a `kind` tag in `snake_case`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An administrator set the MFA state.
    MfaStateChanged {
        /// The new state.
        state: MfaState,
    },
    /// An administrator removed every method: the user registers again at the next sign-in.
    ReregistrationRequired,
    /// A method was registered.
    MethodAdded {
        /// Its id.
        method: MethodId,
        /// Its kind.
        method_kind: MethodKind,
    },
    /// A method was removed.
    MethodRemoved {
        /// Its id.
        method: MethodId,
        /// Its kind.
        method_kind: MethodKind,
    },
    /// The default method changed.
    DefaultMethodChanged {
        /// The new default.
        method: MethodId,
    },
    /// A code was sent by SMS or voice.
    ChallengeSent {
        /// The phone method.
        method: MethodId,
        /// SMS or voice.
        channel: Channel,
        /// The provider's message id.
        message_id: MessageId,
    },
    /// A push ("Approve sign-in?") was sent to an authenticator app.
    PushSent {
        /// The push app.
        method: MethodId,
    },
    /// The authenticator app answered a push.
    PushAnswered {
        /// The push app.
        method: MethodId,
        /// `approved`, `denied`, `reported` or `wrong_number`.
        answer: &'static str,
    },
    /// Pushes stopped for this user after too many went unanswered or were denied (MFA fatigue).
    PushesStopped {
        /// Strikes in the run.
        strikes: u32,
    },
    /// The push provider says the device's wake address is gone: the device must be re-registered
    /// to be woken (it can still poll).
    PushDeviceGone {
        /// The push app.
        method: MethodId,
    },
    /// A passkey's signature counter went backwards: the credential may have been cloned. The
    /// verification was refused; consider asking the user to replace the key.
    PasskeyCounterRegressed {
        /// The passkey.
        method: MethodId,
    },
    /// A verification succeeded.
    VerificationSucceeded {
        /// The factor.
        factor: Factor,
        /// The method, for apps and phones.
        method: Option<MethodId>,
    },
    /// A verification failed.
    VerificationFailed {
        /// The factor.
        factor: Factor,
        /// Consecutive failures so far, this one included; `None` for app passwords, which are not
        /// counted.
        failures: Option<u32>,
    },
    /// A code that was already used (an accepted TOTP step or older) was presented again.
    ReplayRefused {
        /// The method.
        method: MethodId,
    },
    /// Verification is locked after too many failures (emitted when a failure starts or extends the lock).
    LockedOut {
        /// When the lock ends.
        until: UnixTime,
        /// Consecutive failures so far.
        failures: u32,
    },
    /// An app password was created.
    AppPasswordCreated {
        /// Its id.
        id: AppPasswordId,
    },
    /// An app password verified for a legacy client.
    AppPasswordUsed {
        /// Its id.
        id: AppPasswordId,
    },
    /// An app password was revoked.
    AppPasswordRevoked {
        /// Its id.
        id: AppPasswordId,
    },
    /// Every app password of the user was deleted.
    AllAppPasswordsRevoked {
        /// How many there were.
        count: usize,
    },
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesGenerated {
        /// Codes in the set.
        count: usize,
    },
    /// A recovery code was redeemed.
    RecoveryCodeUsed {
        /// Codes left.
        remaining: usize,
    },
    /// A device was remembered ("don't ask again").
    DeviceRemembered {
        /// Its id.
        device: DeviceId,
    },
    /// A remembered device was forgotten.
    DeviceForgotten {
        /// Its id.
        device: DeviceId,
    },
    /// Sessions and remembered devices were revoked.
    SessionsRevoked {
        /// By the user or an administrator.
        by: RevokedBy,
        /// Remembered devices forgotten with them.
        devices: usize,
    },
    /// The host reported a password change: every device verifies again.
    PasswordChanged {
        /// Remembered devices forgotten with it.
        devices: usize,
        /// App passwords deleted with it (0 when the configuration keeps them).
        app_passwords: usize,
    },
    /// The user reported a sign-in or prompt they did not start.
    SuspiciousActivityReported {
        /// Whether prompts stop until an administrator clears it.
        prompts_blocked: bool,
    },
    /// An administrator cleared a suspicious-activity report.
    SuspiciousActivityCleared,
    /// TOTP secrets were re-sealed under the current key.
    SecretsReencrypted {
        /// How many.
        count: usize,
    },
}

/// Receives security events: the host decides to log, e-mail or alert.
///
/// `emit` is synchronous and called inline, so keep it fast (queue slow work). Events carry no
/// secrets, so any sink may keep them.
///
/// A sink that alerts on lock-outs and suspicious-activity reports through a channel, so the slow part
/// (e-mail, paging) runs elsewhere:
///
/// ```
/// use std::sync::mpsc;
/// use std::sync::Mutex;
///
/// use mfa::{Event, EventKind, EventSink};
///
/// #[derive(Debug)]
/// struct Alerts(Mutex<mpsc::Sender<Event>>);
///
/// impl EventSink for Alerts {
///     fn emit(&self, event: &Event) {
///         if matches!(
///             event.kind,
///             EventKind::LockedOut { .. } | EventKind::SuspiciousActivityReported { .. }
///         ) {
///             if let Ok(sender) = self.0.lock() {
///                 let _ = sender.send(event.clone()); // a full or closed queue must not fail a sign-in
///             }
///         }
///     }
/// }
///
/// let (sender, alerts) = mpsc::channel();
/// let sink = Alerts(Mutex::new(sender));
/// let user = mfa::UserId::new("user-42")?;
/// let at = mfa::UnixTime::from_secs(1_700_000_000);
/// sink.emit(&Event::new(user.clone(), at, EventKind::SuspiciousActivityCleared));
/// sink.emit(&Event::new(user, at, EventKind::SuspiciousActivityReported { prompts_blocked: true }));
/// assert_eq!(alerts.try_iter().count(), 1);
/// # Ok::<(), mfa::Error>(())
/// ```
pub trait EventSink: Send + Sync + fmt::Debug {
    /// Takes one event.
    fn emit(&self, event: &Event);
}

/// Logs each event with `tracing` at INFO, target `mfa::event`, as JSON.
///
/// ```
/// use std::sync::Arc;
/// use mfa::{Config, KeyId, KeyRing, MemoryStore, Mfa, RecordingPhoneDelivery, TagSecret, TracingEventSink};
///
/// let mfa = Mfa::new(
///     Config::default(),
///     KeyRing::generate(KeyId(1))?,
///     TagSecret::generate()?,
///     MemoryStore::new(),
///     RecordingPhoneDelivery::new(),
/// )?
/// .with_events(Arc::new(TracingEventSink));
/// # let _ = mfa;
/// # Ok::<(), mfa::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingEventSink;

impl EventSink for TracingEventSink {
    fn emit(&self, event: &Event) {
        match serde_json::to_string(event) {
            Ok(json) => tracing::info!(target: "mfa::event", user = %event.user, "{json}"),
            Err(_) => tracing::info!(target: "mfa::event", user = %event.user, ?event.kind),
        }
    }
}

/// Drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: &Event) {}
}

/// For tests: keeps every event in memory. Clones share the same list.
///
/// ```
/// use mfa::{Event, EventKind, EventSink, RecordingEventSink, UnixTime, UserId};
///
/// let events = RecordingEventSink::new();
/// let user = UserId::new("u1")?;
/// events.emit(&Event::new(user, UnixTime::from_secs(0), EventKind::SuspiciousActivityCleared));
/// assert_eq!(events.events().len(), 1);
/// # Ok::<(), mfa::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RecordingEventSink {
    events: Arc<Mutex<Vec<Event>>>,
}

impl RecordingEventSink {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The kinds of every event so far, oldest first.
    pub fn kinds(&self) -> Vec<EventKind> {
        self.events().into_iter().map(|e| e.kind).collect()
    }

    /// Forgets every event.
    pub fn clear(&self) {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

impl EventSink for RecordingEventSink {
    fn emit(&self, event: &Event) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
    }
}
