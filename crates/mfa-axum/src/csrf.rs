//! CSRF protection: a synchronizer token bound to the session, checked on every unsafe request.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::Rejection;

/// The session key of the CSRF token.
pub(crate) const CSRF_SESSION_KEY: &str = "mfa_axum.csrf";
/// The form field that carries the token in an `application/x-www-form-urlencoded` post.
pub const CSRF_FIELD: &str = "csrf_token";
/// The request header that carries the token (for `fetch` and other non-form requests).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest form body the check reads (1 MiB); a larger one is refused with 413.
const MAX_FORM_BYTES: usize = 1 << 20;

/// The session's CSRF token, made on first use: put it in every form as a hidden field named
/// [`CSRF_FIELD`], or send it in the [`CSRF_HEADER`] header. 256 random bits, base64url.
///
/// `Debug` hides it.
#[derive(Clone)]
pub struct CsrfToken(String);

impl core::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CsrfToken(..)")
    }
}

impl CsrfToken {
    /// The token, for the hidden field or the header.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The session's token, made and stored if it has none.
    pub async fn of(session: &Session) -> Result<Self, Rejection> {
        if let Some(token) = session.get::<String>(CSRF_SESSION_KEY).await.map_err(internal)? {
            return Ok(CsrfToken(token));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| Rejection::Internal)?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        session
            .insert(CSRF_SESSION_KEY, token.clone())
            .await
            .map_err(internal)?;
        Ok(CsrfToken(token))
    }
}

fn internal(error: tower_sessions::session::Error) -> Rejection {
    tracing::error!(%error, "the session store failed");
    Rejection::Internal
}

impl<St: Send + Sync> FromRequestParts<St> for CsrfToken {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| Rejection::Internal)?;
        CsrfToken::of(&session).await
    }
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({ "error": "missing or invalid CSRF token" })),
    )
        .into_response()
}

/// Middleware that refuses (403) every `POST`, `PUT`, `PATCH` and `DELETE` whose CSRF token, in the
/// [`CSRF_HEADER`] header or the form field [`CSRF_FIELD`], is not the session's [`CsrfToken`]
/// (compared in constant time). `GET`, `HEAD`, `OPTIONS` and `TRACE` pass. Apply it inside the
/// session layer: `.layer(axum::middleware::from_fn(require_csrf)).layer(session_layer)`.
pub async fn require_csrf(session: Session, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return next.run(request).await;
    }
    let expected = match session.get::<String>(CSRF_SESSION_KEY).await {
        Ok(Some(expected)) => expected,
        Ok(None) => return forbidden(),
        Err(error) => return internal(error).into_response(),
    };
    let from_header = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (presented, request) = match from_header {
        Some(token) => (Some(token), request),
        None if is_form => {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
                return StatusCode::PAYLOAD_TOO_LARGE.into_response();
            };
            let token = form_urlencoded::parse(&bytes)
                .find(|(name, _)| name == CSRF_FIELD)
                .map(|(_, value)| value.into_owned());
            (token, Request::from_parts(parts, Body::from(bytes)))
        }
        None => (None, request),
    };
    match presented {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => next.run(request).await,
        _ => forbidden(),
    }
}
