//! The facade's errors, and the extractors' rejections, as HTTP responses.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mfa::{Clock, DeliveryError, Error, SystemClock, UnixTime};

use crate::MfaWeb;

/// An [`mfa::Error`] (or a session failure) as a response: the status that fits, a JSON body
/// `{"error": "..."}` with a message safe to show, and `Retry-After` for a lock or a send limit.
///
/// | error | status |
/// |---|---|
/// | [`Error::Rejected`] | 401, one opaque message for every wrong, expired or used code |
/// | [`Error::Locked`], [`Error::ResendLimited`], a provider's rate limit | 429 with `Retry-After` (seconds) |
/// | [`Error::StepUpRequired`], [`Error::NotAllowed`], [`Error::PushesStopped`] | 403 |
/// | [`Error::NotFound`] | 404 |
/// | [`Error::LimitReached`] | 409 |
/// | [`Error::Unsupported`], [`Error::PushNotConfigured`], a number the provider refused | 422 |
/// | malformed input (user id, id, phone number, code, name, device token) | 400 |
/// | the phone provider unavailable | 503 |
/// | store, keys, randomness, hashing, anything else | 500 `internal error`, the detail only in the log |
///
/// Build it with [`MfaWeb::error`] (the lock's remaining time by the layer's clock) or
/// `From<mfa::Error>` (by the [`SystemClock`]), so `?` works in handlers returning
/// `Result<_, ErrorResponse>`.
///
/// ```
/// use axum::http::{StatusCode, header};
/// use axum::response::IntoResponse;
/// use mfa::UnixTime;
/// use mfa_axum::ErrorResponse;
///
/// let now = UnixTime::from_millis(1_700_000_000_000);
/// let locked = mfa::Error::Locked { until: UnixTime::from_millis(1_700_000_029_500) };
/// let response = ErrorResponse::new(locked, now).into_response();
/// assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
/// assert_eq!(response.headers()[header::RETRY_AFTER], "30");
///
/// let store = mfa::Error::Store(mfa::StoreError::Corrupt("row 7: bad json".into()));
/// let response = ErrorResponse::new(store, now);
/// assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
/// assert_eq!(response.message(), "internal error");
/// ```
#[derive(Debug)]
pub struct ErrorResponse {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
    error: Option<Error>,
}

/// Whole seconds from `now` to `until`, rounded up, at least 1.
fn seconds_until(until: UnixTime, now: UnixTime) -> u64 {
    let millis = until.as_millis().saturating_sub(now.as_millis());
    u64::try_from(millis.saturating_add(999) / 1000)
        .unwrap_or(0)
        .max(1)
}

impl ErrorResponse {
    /// The response for `error` at `now` (which `Retry-After` counts from).
    pub fn new(error: Error, now: UnixTime) -> Self {
        let internal = |error: Error| {
            tracing::error!(%error, "mfa request failed");
            ErrorResponse {
                error: Some(error),
                ..ErrorResponse::internal()
            }
        };
        let (status, message, retry_after) = match &error {
            Error::Rejected => (StatusCode::UNAUTHORIZED, error.to_string(), None),
            Error::Locked { until } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed attempts; try again later".to_owned(),
                Some(seconds_until(*until, now)),
            ),
            Error::ResendLimited { until } => (
                StatusCode::TOO_MANY_REQUESTS,
                error.to_string(),
                Some(seconds_until(*until, now)),
            ),
            Error::StepUpRequired | Error::NotAllowed(_) | Error::PushesStopped => {
                (StatusCode::FORBIDDEN, error.to_string(), None)
            }
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, error.to_string(), None),
            Error::LimitReached { .. } => (StatusCode::CONFLICT, error.to_string(), None),
            Error::Unsupported { .. } | Error::PushNotConfigured => {
                (StatusCode::UNPROCESSABLE_ENTITY, error.to_string(), None)
            }
            Error::InvalidUserId { .. }
            | Error::InvalidId
            | Error::InvalidPhoneNumber { .. }
            | Error::InvalidCode { .. }
            | Error::InvalidName { .. }
            | Error::InvalidToken => (StatusCode::BAD_REQUEST, error.to_string(), None),
            Error::Delivery(DeliveryError::NumberRefused) => {
                (StatusCode::UNPROCESSABLE_ENTITY, error.to_string(), None)
            }
            Error::Delivery(DeliveryError::RateLimited { retry_after }) => (
                StatusCode::TOO_MANY_REQUESTS,
                "the phone provider is busy; try again later".to_owned(),
                Some(retry_after.map_or(60, |d| d.as_secs().max(1))),
            ),
            Error::Delivery(DeliveryError::Unavailable { .. }) => {
                tracing::error!(%error, "the phone provider failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the phone provider is unavailable; try again later".to_owned(),
                    None,
                )
            }
            _ => return internal(error),
        };
        ErrorResponse {
            status,
            message,
            retry_after,
            error: Some(error),
        }
    }

    /// A refusal of a request the client can fix (a body that is not the JSON expected), with a
    /// message that says what was wrong with it.
    pub(crate) fn client(status: StatusCode, message: String) -> Self {
        ErrorResponse {
            status,
            message,
            retry_after: None,
            error: None,
        }
    }

    /// A 500 with no detail.
    pub fn internal() -> Self {
        ErrorResponse {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error".to_owned(),
            retry_after: None,
            error: None,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message the body carries.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `Retry-After`, in seconds, if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The facade's error, for the host's own handling (a page instead of JSON). Never send its
    /// `Display` of a server error to the client.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

impl From<Error> for ErrorResponse {
    fn from(error: Error) -> Self {
        ErrorResponse::new(error, SystemClock.now())
    }
}

impl From<tower_sessions::session::Error> for ErrorResponse {
    fn from(error: tower_sessions::session::Error) -> Self {
        tracing::error!(%error, "the session store failed");
        ErrorResponse::internal()
    }
}

impl From<Rejection> for ErrorResponse {
    fn from(rejection: Rejection) -> Self {
        ErrorResponse {
            status: rejection.status(),
            message: rejection.to_string(),
            retry_after: None,
            error: None,
        }
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(serde_json::json!({ "error": self.message }))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl MfaWeb {
    /// `error` as a response, its `Retry-After` counted from this layer's clock.
    pub fn error(&self, error: Error) -> ErrorResponse {
        ErrorResponse::new(error, self.now())
    }
}

/// Why an extractor refused a request. Take `Result<SignedIn, Rejection>` in a handler to turn it
/// into a redirect (to the sign-in page, or to a re-prompt for [`Rejection::StepUpRequired`]);
/// as a response it is a JSON error with the status below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No sign-in in this session (or it was revoked and cleared): 401.
    #[error("not signed in")]
    NotSignedIn,
    /// The password was checked but the second factor is still to come: 401.
    #[error("the sign-in needs its second factor")]
    SecondFactorPending,
    /// Signed in, but no second factor was proven recently enough: 403. Re-prompt, then retry.
    #[error("this action needs a fresh verification")]
    StepUpRequired,
    /// The session layer is missing or its store failed: 500.
    #[error("internal error")]
    Internal,
}

impl Rejection {
    /// The status of the response.
    pub fn status(self) -> StatusCode {
        match self {
            Rejection::NotSignedIn | Rejection::SecondFactorPending => StatusCode::UNAUTHORIZED,
            Rejection::StepUpRequired => StatusCode::FORBIDDEN,
            Rejection::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        ErrorResponse::from(self).into_response()
    }
}
