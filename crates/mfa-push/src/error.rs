use crate::ErrorCode;

/// Everything that can go wrong in this crate.
///
/// Each variant says which [`ErrorCode`] a service answers it with ([`Error::code`]); the codes, their
/// HTTP statuses and what a device does on each are in `PROTOCOL.md`. No message quotes the input: a
/// body may hold an enrollment secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input that is not a message of the protocol: invalid JSON or URI, a field missing, of the wrong
    /// type or length, a value out of range, text with control characters. Also a value given to a
    /// constructor that the protocol cannot carry.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The field or message.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A body longer than [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES), refused before it is parsed.
    #[error("message too large: at most {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// A message of another protocol version (the `v` member or parameter is not 1).
    #[error("unsupported protocol version: this implementation speaks version 1")]
    UnsupportedVersion,
    /// The signature does not verify: the message was altered after it was signed (tampered), or it was
    /// signed by another key than the one it is checked with (wrongly signed). The two cannot be told
    /// apart, and are not.
    #[error("the signature does not verify")]
    BadSignature,
    /// A well-signed message for someone else: a challenge addressed to another device, a receipt for
    /// another enrollment or key, an answer naming another challenge.
    #[error("the {what} is addressed to another recipient")]
    WrongRecipient {
        /// The message.
        what: &'static str,
    },
    /// A request whose timestamp is more than [`REQUEST_WINDOW`](crate::REQUEST_WINDOW) away from the
    /// checker's clock; or a challenge created in the future by the device's clock.
    #[error("the timestamp is outside the allowed window: check the device's clock")]
    ClockSkew,
    /// A request nonce already seen from this device within the window.
    #[error("this request was already received (replay)")]
    Replayed,
    /// An enrollment answered after its expiry.
    #[error("the enrollment has expired")]
    EnrollmentExpired,
    /// An enrollment answered with another secret than the one of its offer.
    #[error("the enrollment secret does not match")]
    SecretMismatch,
    /// A challenge answered or shown after its expiry.
    #[error("the challenge has expired")]
    ChallengeExpired,
    /// The replay cache holds as many entries as it may; the request is refused rather than remembered
    /// badly.
    #[error("too many recent requests to remember; try again shortly")]
    ReplayCacheFull,
    /// The operating system's random number generator failed.
    #[error("the random number generator is unavailable")]
    RandomUnavailable,
}

impl Error {
    /// The code a service answers this error with (see [`ErrorCode`]).
    ///
    /// ```
    /// use mfa_push::{Error, ErrorCode};
    ///
    /// assert_eq!(Error::Replayed.code(), ErrorCode::Replayed);
    /// assert_eq!(Error::BadSignature.code().status(), 401);
    /// ```
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Malformed { .. } => ErrorCode::Malformed,
            Error::TooLarge { .. } => ErrorCode::TooLarge,
            Error::UnsupportedVersion => ErrorCode::UnsupportedVersion,
            Error::BadSignature => ErrorCode::Unauthorized,
            Error::WrongRecipient { .. } => ErrorCode::NotPending,
            Error::ClockSkew => ErrorCode::ClockSkew,
            Error::Replayed => ErrorCode::Replayed,
            Error::EnrollmentExpired | Error::SecretMismatch => ErrorCode::EnrollmentUnusable,
            Error::ChallengeExpired => ErrorCode::Expired,
            Error::ReplayCacheFull => ErrorCode::RateLimited,
            Error::RandomUnavailable => ErrorCode::Internal,
        }
    }
}
