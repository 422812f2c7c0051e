//! Errors as responses (statuses, Retry-After, no detail) and the CSRF check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::Host;
use mfa::{Clock, DeliveryError, Error, Reason, StoreError, UnixTime};
use mfa_axum::{CSRF_FIELD, ErrorResponse, Rejection, WebConfig};

fn status(error: Error) -> StatusCode {
    ErrorResponse::new(error, UnixTime::from_secs(1_700_000_000)).status()
}

#[test]
fn each_error_has_its_status() {
    assert_eq!(status(Error::Rejected), StatusCode::UNAUTHORIZED);
    assert_eq!(status(Error::StepUpRequired), StatusCode::FORBIDDEN);
    assert_eq!(
        status(Error::NotAllowed(Reason::BlockedByAdmin)),
        StatusCode::FORBIDDEN
    );
    assert_eq!(status(Error::NotFound { what: "method" }), StatusCode::NOT_FOUND);
    assert_eq!(
        status(Error::LimitReached {
            what: "app passwords",
            max: 40
        }),
        StatusCode::CONFLICT
    );
    assert_eq!(
        status(Error::Unsupported { what: "SMS" }),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(status(Error::InvalidId), StatusCode::BAD_REQUEST);
    assert_eq!(
        status(Error::InvalidCode { reason: "not digits" }),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status(Error::InvalidPhoneNumber { reason: "no +" }),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status(Error::InvalidName { reason: "empty" }),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(status(Error::InvalidToken), StatusCode::BAD_REQUEST);
    assert_eq!(
        status(Error::Delivery(DeliveryError::NumberRefused)),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        status(Error::Delivery(DeliveryError::Unavailable {
            reason: "HTTP 502 from api.example".into()
        })),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(status(Error::Decrypt), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        status(Error::RandomUnavailable),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn a_server_error_says_nothing_of_its_cause() {
    let now = UnixTime::from_secs(1_700_000_000);
    for error in [
        Error::Store(StoreError::Corrupt("users row 7: secret=abc".into())),
        Error::Store(StoreError::backend(std::io::Error::other(
            "password authentication failed for user mfa",
        ))),
        Error::Decrypt,
    ] {
        let response = ErrorResponse::new(error, now).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        assert_eq!(&body[..], br#"{"error":"internal error"}"#);
    }
    // The provider's reason stays in the log too.
    let unavailable = Error::Delivery(DeliveryError::Unavailable {
        reason: "token AC123 expired".into(),
    });
    assert!(!ErrorResponse::new(unavailable, now).message().contains("AC123"));
}

#[test]
fn retry_after_counts_whole_seconds_up_from_now() {
    let now = UnixTime::from_millis(1_700_000_000_000);
    let at = |ms: i64| UnixTime::from_millis(1_700_000_000_000 + ms);
    let locked = |until| ErrorResponse::new(Error::Locked { until }, now).retry_after();
    assert_eq!(locked(at(30_000)), Some(30));
    assert_eq!(locked(at(29_001)), Some(30));
    assert_eq!(locked(at(1)), Some(1));
    // A lock that ended in the meantime still says to wait a second, never 0 or a negative.
    assert_eq!(locked(at(-5_000)), Some(1));
    let limited = ErrorResponse::new(Error::ResendLimited { until: at(90_000) }, now);
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.retry_after(), Some(90));
    let busy = Error::Delivery(DeliveryError::RateLimited {
        retry_after: Some(Duration::from_secs(7)),
    });
    assert_eq!(ErrorResponse::new(busy, now).retry_after(), Some(7));
    assert_eq!(ErrorResponse::new(Error::Rejected, now).retry_after(), None);
}

#[test]
fn rejections_have_their_statuses() {
    assert_eq!(Rejection::NotSignedIn.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(Rejection::SecondFactorPending.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(Rejection::StepUpRequired.status(), StatusCode::FORBIDDEN);
    assert_eq!(Rejection::Internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn wrong_codes_are_one_opaque_401_then_a_429_with_retry_after_by_the_clock() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    assert_eq!(browser.password().await.status, StatusCode::OK);
    let right = host.code();
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let form = format!("method={}&code={wrong}", host.app);
    let mut answers = Vec::new();
    for _ in 0..10 {
        let answer = browser.post("/verify", &form).await;
        let done = answer.status == StatusCode::TOO_MANY_REQUESTS;
        answers.push(answer);
        if done {
            break;
        }
    }
    let (locked, rejected) = answers.split_last().unwrap();
    assert!(!rejected.is_empty());
    for answer in rejected {
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.body, r#"{"error":"verification failed"}"#);
    }
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    // The first lock of the default throttle is 30 s, and the clock has not moved.
    assert_eq!(locked.headers["retry-after"], "30");
    assert!(!locked.body.contains("Unix time"), "{}", locked.body);

    // Ten seconds later the wait is 20 s.
    host.clock.advance(Duration::from_secs(10));
    let form = format!("method={}&code={}", host.app, host.code());
    let answer = browser.post("/verify", &form).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.headers["retry-after"], "20");
    let _ = host.clock.now();
}

#[tokio::test]
async fn malformed_input_is_400_and_an_unknown_method_404() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    assert_eq!(browser.password().await.status, StatusCode::OK);
    let answer = browser
        .post("/verify", &format!("method={}&code=12ab56", host.app))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = browser
        .post("/verify", "method=0123456789abcdef0123456789abcdef&code=123456")
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
}

#[tokio::test]
async fn a_post_without_its_csrf_token_is_403() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    // No session at all.
    let answer = browser
        .post_bare("/sign-in", "username=alice&password=correct+horse")
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body, r#"{"error":"missing or invalid CSRF token"}"#);

    // A session with a token, but the post carries none.
    let token = browser.fetch_csrf().await;
    assert_eq!(token.len(), 43);
    let answer = browser
        .post_bare("/sign-in", "username=alice&password=correct+horse")
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);

    // A wrong token, in the field or the header.
    let mut wrong = token.clone();
    wrong.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    let form = format!("username=alice&password=correct+horse&{CSRF_FIELD}={wrong}");
    assert_eq!(
        browser.post_bare("/sign-in", &form).await.status,
        StatusCode::FORBIDDEN
    );
    browser.csrf = Some(wrong);
    let answer = browser
        .post("/sign-in", "username=alice&password=correct+horse")
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // A token of another session does not do either.
    let mut other = host.client();
    let others = other.fetch_csrf().await;
    browser.csrf = Some(others);
    let answer = browser
        .post("/sign-in", "username=alice&password=correct+horse")
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_post_with_its_csrf_token_passes_in_the_form_or_the_header() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    let token = browser.fetch_csrf().await;
    // In the form, which the handler then reads in full.
    let form = format!("username=alice&{CSRF_FIELD}={token}&password=correct+horse");
    let answer = browser.post_bare("/sign-in", &form).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("second_factor_pending"));
    // In the header (the token survives the session id's rotation).
    let answer = browser.verify(&host, false).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // GET needs none.
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
}
