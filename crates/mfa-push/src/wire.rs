use core::fmt;
use core::str::FromStr;

use mfa_policy::UnixTime;
use serde::{Deserialize, Serialize};

use crate::check::{json, required, to_json, version};
use crate::{Error, PROTOCOL_VERSION};

/// The largest body a party reads, in bytes: 16 KiB. Longer bodies are refused unread (`413`).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The outcome of an answer, in the reply to `POST {base}/answer` (`200`).
///
/// ```
/// use mfa_push::AnswerResult;
///
/// assert_eq!(AnswerResult::WrongNumber.to_json(), r#"{"v":1,"result":"wrong_number"}"#);
/// assert_eq!(AnswerResult::from_json(br#"{"v":1,"result":"approved"}"#)?, AnswerResult::Approved);
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnswerResult {
    /// The number matched: the sign-in goes on.
    Approved,
    /// The user denied it: the sign-in is refused.
    Denied,
    /// The user denied and reported it: refused, and the service raises its suspicious-activity flow.
    Reported,
    /// The number typed was not the one shown: the sign-in is refused and counts as a failure.
    WrongNumber,
}

#[derive(Serialize, Deserialize)]
struct ResultWire {
    v: Option<i64>,
    result: Option<String>,
}

impl AnswerResult {
    /// `"approved"`, `"denied"`, `"reported"` or `"wrong_number"`.
    pub const fn name(self) -> &'static str {
        match self {
            AnswerResult::Approved => "approved",
            AnswerResult::Denied => "denied",
            AnswerResult::Reported => "reported",
            AnswerResult::WrongNumber => "wrong_number",
        }
    }

    /// The reply's body.
    pub fn to_json(self) -> String {
        to_json(&ResultWire {
            v: Some(i64::from(PROTOCOL_VERSION)),
            result: Some(self.name().to_owned()),
        })
    }

    /// Reads the reply.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let w: ResultWire = json(body, "answer result")?;
        version(w.v)?;
        match required(w.result, "result")?.as_str() {
            "approved" => Ok(AnswerResult::Approved),
            "denied" => Ok(AnswerResult::Denied),
            "reported" => Ok(AnswerResult::Reported),
            "wrong_number" => Ok(AnswerResult::WrongNumber),
            _ => Err(Error::Malformed {
                what: "result",
                reason: "not a result of protocol version 1",
            }),
        }
    }
}

/// The error codes of the device endpoints, each with its HTTP status (PROTOCOL.md, "Errors").
///
/// ```
/// use mfa_push::ErrorCode;
///
/// assert_eq!(ErrorCode::ClockSkew.status(), 401);
/// assert_eq!(ErrorCode::ClockSkew.name(), "clock_skew");
/// assert_eq!("not_pending".parse::<ErrorCode>()?, ErrorCode::NotPending);
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `400 malformed`: not a message of the protocol.
    Malformed,
    /// `400 unsupported_version`: another protocol version.
    UnsupportedVersion,
    /// `401 unauthorized`: unknown or revoked device, or a signature that does not verify. One code for
    /// all, so that a caller learns nothing of which devices exist.
    Unauthorized,
    /// `401 clock_skew`: the timestamp is more than 60 seconds from the service's clock; the body's
    /// `server_time` lets the device correct its clock.
    ClockSkew,
    /// `404 not_pending`: no such challenge waits for this device (unknown, answered, or ended).
    NotPending,
    /// `409 replayed`: the nonce was already used.
    Replayed,
    /// `410 enrollment_unusable`: the enrollment is unknown, already answered, expired, or the secret
    /// does not match.
    EnrollmentUnusable,
    /// `410 expired`: the challenge has expired.
    Expired,
    /// `413 too_large`: the body is longer than 16 KiB.
    TooLarge,
    /// `429 rate_limited`: too many requests; retry after the `Retry-After` header's seconds.
    RateLimited,
    /// `500 internal`: the service failed; retry later.
    Internal,
}

const CODES: [ErrorCode; 11] = [
    ErrorCode::Malformed,
    ErrorCode::UnsupportedVersion,
    ErrorCode::Unauthorized,
    ErrorCode::ClockSkew,
    ErrorCode::NotPending,
    ErrorCode::Replayed,
    ErrorCode::EnrollmentUnusable,
    ErrorCode::Expired,
    ErrorCode::TooLarge,
    ErrorCode::RateLimited,
    ErrorCode::Internal,
];

impl ErrorCode {
    /// The HTTP status.
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::Malformed | ErrorCode::UnsupportedVersion => 400,
            ErrorCode::Unauthorized | ErrorCode::ClockSkew => 401,
            ErrorCode::NotPending => 404,
            ErrorCode::Replayed => 409,
            ErrorCode::EnrollmentUnusable | ErrorCode::Expired => 410,
            ErrorCode::TooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
        }
    }

    /// The `error` member.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ClockSkew => "clock_skew",
            ErrorCode::NotPending => "not_pending",
            ErrorCode::Replayed => "replayed",
            ErrorCode::EnrollmentUnusable => "enrollment_unusable",
            ErrorCode::Expired => "expired",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ErrorCode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        CODES.into_iter().find(|c| c.name() == s).ok_or(Error::Malformed {
            what: "error",
            reason: "not an error code of protocol version 1",
        })
    }
}

/// The body of every error reply: `{"v":1,"error":"clock_skew","server_time":1700000000}`.
///
/// ```
/// use mfa_push::{ErrorBody, ErrorCode, UnixTime};
///
/// let body = ErrorBody::new(ErrorCode::Replayed, UnixTime::from_secs(1_700_000_000));
/// assert_eq!(body.to_json(), r#"{"v":1,"error":"replayed","server_time":1700000000}"#);
/// assert_eq!(ErrorBody::from_json(body.to_json().as_bytes())?, body);
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorBody {
    code: ErrorCode,
    server_time: i64,
}

#[derive(Serialize, Deserialize)]
struct ErrorWire {
    v: Option<i64>,
    error: Option<String>,
    server_time: Option<i64>,
}

impl ErrorBody {
    /// The body for `code` at the service's `now`.
    pub fn new(code: ErrorCode, now: UnixTime) -> Self {
        ErrorBody {
            code,
            server_time: now.as_secs(),
        }
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The service's clock.
    pub fn server_time(&self) -> UnixTime {
        UnixTime::from_secs(self.server_time)
    }

    /// The body.
    pub fn to_json(&self) -> String {
        to_json(&ErrorWire {
            v: Some(i64::from(PROTOCOL_VERSION)),
            error: Some(self.code.name().to_owned()),
            server_time: Some(self.server_time),
        })
    }

    /// Reads an error reply.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let w: ErrorWire = json(body, "error body")?;
        version(w.v)?;
        Ok(ErrorBody {
            code: required(w.error, "error")?.parse()?,
            server_time: required(w.server_time, "server_time")?,
        })
    }
}
