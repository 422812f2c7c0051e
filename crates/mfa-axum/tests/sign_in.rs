//! The sign-in states, the session id's rotation, revocations, step-up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::Host;
use mfa::{Clock, UnixTime};
use mfa_axum::WebConfig;

#[tokio::test]
async fn password_then_code_signs_in_and_the_session_id_changes_at_each_step() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.fetch_csrf().await;
    let anonymous = browser.session_id().unwrap();

    // Not signed in yet.
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);

    let answer = browser.password().await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("second_factor_pending"));
    let pending = browser.session_id().unwrap();
    assert_ne!(pending, anonymous, "the password check rotates the session id");
    // Waiting for the second factor is not signed in.
    let me = browser.get("/me").await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert!(me.body.contains("second factor"));

    let answer = browser.verify(&host, false).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let signed_in = browser.session_id().unwrap();
    assert_ne!(signed_in, pending, "the MFA proof rotates the session id");
    let me = browser.get("/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body, common::ALICE);

    // The session's old ids no longer name it.
    let mut thief = host.client();
    thief.cookies.insert("id".to_owned(), pending);
    assert_eq!(thief.get("/me").await.status, StatusCode::UNAUTHORIZED);

    // Signing out rotates it again and ends the sign-in.
    assert_eq!(browser.post("/sign-out", "").await.status, StatusCode::OK);
    assert_ne!(browser.session_id(), Some(signed_in));
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
    // The CSRF token went with the sign-in: the next user of this browser gets a new one.
    assert_eq!(browser.post("/sign-out", "").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_wrong_password_is_a_plain_401_and_no_sign_in() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.fetch_csrf().await;
    let answer = browser.post("/sign-in", "username=alice&password=wrong").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body, r#"{"error":"verification failed"}"#);
    // No pending sign-in: the verify step is refused before any code is checked.
    let answer = browser.verify(&host, false).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body, r#"{"error":"not signed in"}"#);
}

#[tokio::test]
async fn sign_out_everywhere_clears_a_session_signed_in_at_the_revoking_instant() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    // The clock stands still: the password check and the revocation share one millisecond.
    browser.sign_in(&host, false).await;
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);

    host.mfa.sign_out_everywhere(&host.alice).await.unwrap();
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
    // Cleared, not merely refused: the clearing stays after the revocation is forgotten.
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);

    // A sign-in one millisecond after the revocation stands.
    host.clock.advance(Duration::from_millis(1));
    host.clock.advance(Duration::from_secs(30)); // a new TOTP step
    let mut again = host.client();
    again.sign_in(&host, false).await;
    assert_eq!(again.get("/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_session_one_millisecond_after_the_revocation_survives_it() {
    let host = Host::new(WebConfig::default()).await;
    host.mfa.sign_out_everywhere(&host.alice).await.unwrap();
    host.clock.advance(Duration::from_millis(1));
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_clears_the_session_on_the_next_request() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    host.clock.advance(Duration::from_secs(3600));
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
    host.mfa.password_changed(&host.alice).await.unwrap();
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_administrators_revocation_clears_the_session() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    host.clock.advance(Duration::from_secs(60));
    host.mfa.revoke_mfa_sessions(&host.alice).await.unwrap();
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_checked_before_a_password_change_does_not_complete_the_sign_in() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    assert_eq!(browser.password().await.status, StatusCode::OK);
    host.clock.advance(Duration::from_secs(5));
    host.mfa.password_changed(&host.alice).await.unwrap();
    let answer = browser.verify(&host, false).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn step_up_is_refused_once_the_proof_is_older_than_the_policys_freshness_and_accepted_after_a_new_code()
{
    let host = Host::new(WebConfig::default()).await;
    let freshness = host.mfa.policy().config().step_up_freshness;
    assert_eq!(host.web.step_up_freshness(), freshness);
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    let proven = host.clock.now();
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::OK);

    // One millisecond before the end of the freshness: still fresh.
    host.clock.set(UnixTime::from_millis(
        proven.as_millis() + freshness.as_millis() as i64 - 1,
    ));
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::OK);
    // At its end: a typed rejection the host turns into a re-prompt.
    host.clock.advance(Duration::from_millis(1));
    let refused = browser.get("/sensitive").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.body,
        r#"{"error":"this action needs a fresh verification"}"#
    );
    // Still signed in.
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);

    // The re-prompt: a new code in the signed-in session.
    let before = browser.session_id();
    let form = format!("method={}&code={}", host.app, host.code());
    let answer = browser.post("/step-up/verify", &form).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_ne!(browser.session_id(), before, "a step-up rotates the session id");
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::OK);
}

#[tokio::test]
async fn step_up_within_n_minutes() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    host.clock.advance(Duration::from_secs(5 * 60 - 1));
    assert_eq!(browser.get("/sensitive-5").await.status, StatusCode::OK);
    host.clock.advance(Duration::from_secs(1));
    assert_eq!(browser.get("/sensitive-5").await.status, StatusCode::FORBIDDEN);
    // The policy's 10 minutes still hold.
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_method_change_voids_the_mfa_proof_but_not_the_session() {
    let host = Host::new(WebConfig::default()).await;
    let mut browser = host.client();
    browser.sign_in(&host, false).await;
    host.clock.advance(Duration::from_secs(1));
    host.mfa.require_reregistration(&host.alice).await.unwrap();
    assert_eq!(browser.get("/me").await.status, StatusCode::OK);
    assert_eq!(browser.get("/sensitive").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_denied_sign_in_is_403_and_leaves_no_pending_sign_in() {
    use mfa::Store;
    let host = Host::new(WebConfig::default()).await;
    host.mfa
        .store()
        .update_user(&host.alice, |r| r.blocked_by_admin = true)
        .await
        .unwrap();
    let mut browser = host.client();
    let answer = browser.password().await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    let answer = browser.verify(&host, false).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body, r#"{"error":"not signed in"}"#);
}
