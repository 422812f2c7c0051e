use mfa_policy::{Reason, UnixTime};

use crate::{CheckedKey, DeliveryError, KeyId};

/// Everything that can go wrong in `mfa`.
///
/// A code, recovery code or app password that does not verify is [`Error::Rejected`], one opaque
/// outcome: wrong, expired, already used, or no challenge outstanding all look the same to the caller
/// (the events tell the host more).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The code, recovery code or app password did not verify.
    #[error("verification failed")]
    Rejected,
    /// Too many failed verifications: none is accepted before `until`.
    #[error("too many failed attempts: verification is locked until {until} (Unix time)")]
    Locked {
        /// When the lock ends.
        until: UnixTime,
    },
    /// The action needs a fresh second-factor verification first (step-up).
    #[error("this action needs a fresh verification")]
    StepUpRequired,
    /// The policy does not allow this (blocked, suspicious activity reported, legacy client refused,
    /// method not accepted, MFA disabled for app passwords).
    #[error("not allowed: {0}")]
    NotAllowed(Reason),
    /// The method cannot do this (a voice-only phone asked for SMS, an app asked to send a code).
    #[error("this method does not support {what}")]
    Unsupported {
        /// What was asked.
        what: &'static str,
    },
    /// A per-user limit was reached.
    #[error("at most {max} {what} per user")]
    LimitReached {
        /// What is limited.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// Too many phone codes were sent recently to this user or number.
    #[error("too many codes were sent recently; try again later")]
    ResendLimited {
        /// When a code may be sent again (for `Retry-After`), if no other send comes first.
        until: UnixTime,
    },
    /// No such method, device, app password or pending enrollment for this user.
    #[error("no such {what}")]
    NotFound {
        /// What was looked for.
        what: &'static str,
    },
    /// A user id that is empty, too long or has control characters.
    #[error("invalid user id: {reason}")]
    InvalidUserId {
        /// What is wrong.
        reason: &'static str,
    },
    /// A method, device or app-password id that is not 32 hexadecimal digits.
    #[error("invalid id: expected 32 hexadecimal digits")]
    InvalidId,
    /// A phone number that is not E.164.
    #[error("invalid phone number: {reason}")]
    InvalidPhoneNumber {
        /// What is wrong.
        reason: &'static str,
    },
    /// A code that is not 6 to 10 digits (or, for recovery codes, not the recovery-code format).
    #[error("invalid code format: {reason}")]
    InvalidCode {
        /// What is wrong.
        reason: &'static str,
    },
    /// A name that is empty, longer than 100 characters, holds a character that renders as nothing or as
    /// something else, or has no visible character (the rule of
    /// [`AppPasswordName`](mfa_app_password::AppPasswordName)).
    #[error("invalid name: {reason}")]
    InvalidName {
        /// What is wrong.
        reason: &'static str,
    },
    /// A remembered-device token that is not one this crate issued.
    #[error("invalid device token")]
    InvalidToken,
    /// A configuration value out of range.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// Which setting and why.
        reason: &'static str,
    },
    /// A key of the wrong length or a key ring with duplicate ids.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// A key ring or tag secret could not be loaded from its environment variable, file or text. The
    /// message says which and what was wrong, never the key.
    #[error("cannot load the {what} from {from}: {reason}")]
    KeyLoad {
        /// `key ring` or `tag secret`.
        what: &'static str,
        /// Where from: `environment variable MFA_KEYS`, `file /etc/...`, `text`.
        from: String,
        /// What was wrong.
        reason: String,
    },
    /// A key is not the one this store was used with: its check value differs from the one
    /// [`Mfa::check_keys`](crate::Mfa::check_keys) recorded (a mistyped or mixed-up key, or another
    /// environment's).
    #[error(
        "wrong key: the {key} is not the one this store was used with (its check value differs from the recorded one)"
    )]
    WrongKey {
        /// Which key.
        key: CheckedKey,
    },
    /// A stored secret names a key the key ring does not have.
    #[error("the key ring has no key {id}")]
    UnknownKey {
        /// The key id stored with the secret.
        id: KeyId,
    },
    /// A stored secret did not decrypt: altered, or copied from another user or method.
    #[error("a stored secret failed to decrypt")]
    Decrypt,
    /// An app-password hash did not finish: the runtime is shutting down (or the hashing panicked).
    #[error("password hashing was interrupted: {reason}")]
    HashingInterrupted {
        /// What happened.
        reason: &'static str,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator is unavailable")]
    RandomUnavailable,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The phone provider failed.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// From mfa-otp (parameters of a stored credential).
    #[error(transparent)]
    Otp(#[from] mfa_otp::Error),
    /// From mfa-enroll (URI or QR code).
    #[error(transparent)]
    Enroll(#[from] mfa_enroll::Error),
    /// From mfa-app-password.
    #[error(transparent)]
    AppPassword(#[from] mfa_app_password::Error),
    /// From mfa-policy (configuration).
    #[error(transparent)]
    Policy(#[from] mfa_policy::Error),
    /// From mfa-push: a device request or enrollment answer that is malformed, wrongly signed,
    /// replayed, late, or for an offer or challenge that cannot take it. [`Error::push_code`] gives the
    /// protocol's error code to answer the device with.
    #[error(transparent)]
    Push(#[from] mfa_push::Error),
    /// From mfa-webauthn: a relying-party configuration it refuses, or a ceremony state that does not
    /// parse.
    #[cfg(feature = "webauthn")]
    #[error(transparent)]
    Webauthn(#[from] mfa_webauthn::Error),
    /// Push approvals are not set up ([`Mfa::with_push`](crate::Mfa::with_push) was not called).
    #[error("push approvals are not configured")]
    PushNotConfigured,
    /// Pushes stop for this user after too many unanswered or denied ones (MFA fatigue), until another
    /// method succeeds.
    #[error("too many sign-in requests went unanswered or were denied: use another method")]
    PushesStopped,
}

impl Error {
    /// The push protocol's error code for a device-facing call (`mfa-push`'s `PROTOCOL.md`): the
    /// protocol's own errors keep theirs, an unknown device or enrollment gets the code that tells it
    /// nothing more, and anything else (a store failure) is `internal`.
    ///
    /// ```
    /// use mfa::Error;
    /// use mfa_push::ErrorCode;
    ///
    /// assert_eq!(Error::Push(mfa_push::Error::Replayed).push_code(), ErrorCode::Replayed);
    /// assert_eq!(Error::Rejected.push_code(), ErrorCode::Unauthorized);
    /// ```
    pub fn push_code(&self) -> mfa_push::ErrorCode {
        use mfa_push::ErrorCode;
        match self {
            Error::Push(error) => error.code(),
            Error::Rejected => ErrorCode::Unauthorized,
            Error::NotFound { .. } => ErrorCode::NotPending,
            Error::Locked { .. } | Error::PushesStopped => ErrorCode::RateLimited,
            _ => ErrorCode::Internal,
        }
    }
}

/// A [`Store`](crate::Store) failure. Backends wrap their own errors in [`StoreError::Backend`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database or its connection failed.
    #[error("store backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A stored record could not be read back.
    #[error("a stored record is malformed: {0}")]
    Corrupt(String),
    /// A record with this id exists already.
    #[error("a record with this id exists already")]
    Duplicate,
}

impl StoreError {
    /// Wraps a backend's error.
    ///
    /// ```
    /// use mfa::StoreError;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "database timed out");
    /// let error = StoreError::backend(io);
    /// assert_eq!(error.to_string(), "store backend failed: database timed out");
    /// // The flows return it as `Error::Store`.
    /// assert!(matches!(mfa::Error::from(error), mfa::Error::Store(StoreError::Backend(_))));
    /// ```
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(error))
    }
}
