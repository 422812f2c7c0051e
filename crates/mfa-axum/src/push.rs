//! The device side of push approvals (`mfa-push`'s protocol): the router a host mounts under the base
//! URL it gave [`Mfa::with_push`].

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mfa::{Mfa, PhoneDelivery, Store, UnixTime};
use mfa_push::{Endpoint, ErrorBody, ErrorCode, MAX_BODY_BYTES};

/// The device endpoints of the push protocol (`mfa-push`'s `PROTOCOL.md`, sections 5, 7 and 9), to
/// nest under the path of the base URL given to [`Mfa::with_push`]:
///
/// | route | what |
/// |---|---|
/// | `POST /enroll` | [`Mfa::push_device_enroll`]: the app's enrollment answer; the signed receipt |
/// | `POST /pending` | [`Mfa::push_device_pending`]: the device's signed fetch; its pending pushes |
/// | `POST /answer` | [`Mfa::push_device_answer`]: approve with the number, deny or report; the result |
///
/// Devices sign their requests, so these routes take no session, no cookie and no CSRF token: mount
/// them **outside** [`require_csrf`](crate::require_csrf) (nest them after that layer is applied). A
/// request body must have the content type `application/json` and at most
/// [`MAX_BODY_BYTES`](mfa_push::MAX_BODY_BYTES) bytes (longer: `413 too_large`, unread). Every error
/// is the protocol's body `{"v":1,"error":CODE,"server_time":T}` with the code's status
/// ([`mfa::Error::push_code`]), `429 rate_limited` with `Retry-After`; every answer is
/// `application/json` with `Cache-Control: no-store`.
///
/// The state gives the facade by [`FromRef`] (`Arc<Mfa<S, P>>`), as for [`json_routes`](crate::json_routes).
///
/// ```
/// # use std::sync::Arc;
/// # use mfa::{MemoryStore, Mfa, RecordingPhoneDelivery};
/// # type Service = Mfa<MemoryStore, RecordingPhoneDelivery>;
/// # fn host(mfa: Arc<Service>) {
/// // The facade was made `with_push(key, "https://example.com/mfa/push")`.
/// let app: axum::Router = axum::Router::new()
///     // ... pages and JSON routes, inside the session layer and `require_csrf` ...
///     .nest(
///         "/mfa/push",
///         mfa_axum::push_device_routes::<Arc<Service>, MemoryStore, RecordingPhoneDelivery>(),
///     )
///     .with_state(mfa);
/// # }
/// ```
pub fn push_device_routes<St, S, P>() -> Router<St>
where
    St: Clone + Send + Sync + 'static,
    Arc<Mfa<S, P>>: FromRef<St>,
    S: Store + 'static,
    P: PhoneDelivery + 'static,
{
    Router::new()
        .route(&route(Endpoint::Enroll), post(enroll::<S, P>))
        .route(&route(Endpoint::Pending), post(pending::<S, P>))
        .route(&route(Endpoint::Answer), post(answer::<S, P>))
        .layer(map_response(device_headers))
}

fn route(endpoint: Endpoint) -> String {
    format!("/{}", endpoint.path())
}

/// Every answer to a device is JSON, and no cache keeps it (a receipt, a challenge, a result).
async fn device_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The protocol's error `code` at `now`; `retry_after` seconds for `rate_limited`.
fn refusal(code: ErrorCode, now: UnixTime, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, ErrorBody::new(code, now).to_json()).into_response();
    if code == ErrorCode::RateLimited {
        let seconds = retry_after.unwrap_or(1).max(1);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The facade's error as the protocol's answer: its [`mfa::Error::push_code`], logged when the
/// service failed (the device is told `internal` and nothing more).
fn device_error(error: &mfa::Error, now: UnixTime) -> Response {
    let code = error.push_code();
    let retry_after = match error {
        mfa::Error::Locked { until } => {
            let millis = until.as_millis().saturating_sub(now.as_millis());
            Some(u64::try_from(millis.saturating_add(999) / 1000).unwrap_or(1))
        }
        _ => None,
    };
    match code {
        ErrorCode::Internal => tracing::error!(target: "mfa::push", %error, "a device request failed"),
        _ => tracing::debug!(target: "mfa::push", %error, code = code.name(), "a device request was refused"),
    }
    refusal(code, now, retry_after)
}

/// Whether the request says its body is JSON (`application/json`, parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// The body of a device request, at most [`MAX_BODY_BYTES`]: `413 too_large` beyond (from its
/// `Content-Length`, or as it is read), `400 malformed` without the JSON content type.
async fn device_body(request: Request, now: UnixTime) -> Result<Vec<u8>, Response> {
    let too_large = || refusal(ErrorCode::TooLarge, now, None);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    if !is_json(request.headers()) {
        return Err(refusal(ErrorCode::Malformed, now, None));
    }
    let body: Body = request.into_body();
    // The only failure of a read that the client still hears about is the limit.
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| too_large())?;
    Ok(bytes.to_vec())
}

/// Reads the body, hands it to the facade's call, and answers the protocol's way.
async fn handle<S, P, F, Fut>(mfa: Arc<Mfa<S, P>>, request: Request, call: F) -> Response
where
    S: Store,
    P: PhoneDelivery,
    F: FnOnce(Arc<Mfa<S, P>>, Vec<u8>) -> Fut,
    Fut: Future<Output = Result<String, mfa::Error>>,
{
    let now = mfa.clock().now();
    let body = match device_body(request, now).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let answer = call(Arc::clone(&mfa), body).await;
    // The facade's own clock after the call, so `server_time` is the time the answer was made.
    let now = mfa.clock().now();
    match answer {
        Ok(json) => (StatusCode::OK, json).into_response(),
        Err(error) => device_error(&error, now),
    }
}

async fn enroll<S: Store, P: PhoneDelivery>(State(mfa): State<Arc<Mfa<S, P>>>, request: Request) -> Response {
    handle(mfa, request, |mfa, body| async move {
        mfa.push_device_enroll(&body).await
    })
    .await
}

async fn pending<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    request: Request,
) -> Response {
    handle(mfa, request, |mfa, body| async move {
        mfa.push_device_pending(&body).await
    })
    .await
}

async fn answer<S: Store, P: PhoneDelivery>(State(mfa): State<Arc<Mfa<S, P>>>, request: Request) -> Response {
    handle(mfa, request, |mfa, body| async move {
        mfa.push_device_answer(&body).await
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn retry_after(response: &Response) -> Option<&str> {
        response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap())
    }

    #[test]
    fn rate_limited_answers_say_when_to_retry_and_other_errors_do_not() {
        let now = UnixTime::from_millis(1_700_000_000_000);
        let locked = mfa::Error::Locked {
            until: UnixTime::from_millis(1_700_000_029_500),
        };
        let response = device_error(&locked, now);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_after(&response), Some("30"));
        let response = device_error(&mfa::Error::PushesStopped, now);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_after(&response), Some("1"));
        let response = device_error(&mfa::Error::Push(mfa_push::Error::ReplayCacheFull), now);
        assert_eq!(retry_after(&response), Some("1"));
        let response = device_error(&mfa::Error::Push(mfa_push::Error::Replayed), now);
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(retry_after(&response), None);
        let response = device_error(&mfa::Error::RandomUnavailable, now);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
