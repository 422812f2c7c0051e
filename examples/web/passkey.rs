//! "Security key or passkey": registration (from "More information required" or the security info),
//! and the sign-in (and step-up) with one. The pages hold a form that `/static/passkey.js` submits: it
//! asks for the options, lets the browser make or use the credential, posts the browser's answer as
//! JSON, and follows the page the answer names. The ceremony itself is `mfa_axum`'s
//! (`MfaWeb::begin_passkey_enrollment`, `confirm_passkey_enrollment`, `passkey_options`,
//! `verify_passkey`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mfa::{CredentialKind, MethodId};
use mfa_axum::ErrorResponse;
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::{AppState, Registrant, error_message};
use crate::auth::{NEXT_KEY, device_name};
use crate::pages::{PasskeyRegisterPage, render};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/register/passkey", get(register_page))
        .route("/register/passkey/options", post(register_options))
        .route("/register/passkey/finish", post(register_finish))
        .route("/sign-in/passkey/options", post(sign_in_options))
        .route("/sign-in/passkey/finish", post(sign_in_finish))
        .route("/step-up/passkey/options", post(sign_in_options))
        .route("/step-up/passkey/finish", post(step_up_finish))
}

/// A refusal as the script shows it: `{"error": "..."}` with the error's status.
fn refused(error: &ErrorResponse) -> Response {
    let message = match error.error() {
        Some(mfa::Error::Rejected) => {
            "Your security key or passkey wasn't accepted. Try again, or use another way.".to_owned()
        }
        _ => error_message(error),
    };
    let status = error.status();
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Where the script goes now.
fn go(next: &str) -> Response {
    Json(serde_json::json!({ "next": next })).into_response()
}

/// GET /register/passkey: the page whose form the script submits.
async fn register_page(who: Registrant) -> Response {
    render(&PasskeyRegisterPage {
        csrf: who.csrf.as_str().to_owned(),
        during_sign_in: !who.signed_in,
    })
}

#[derive(Deserialize)]
struct RegisterOptions {
    name: Option<String>,
}

/// POST /register/passkey/options: the options for `navigator.credentials.create()`.
async fn register_options(
    State(app): State<AppState>,
    session: Session,
    who: Registrant,
    Json(form): Json<RegisterOptions>,
) -> Response {
    let account = app.username(&who.user);
    let name = form.name.as_deref().unwrap_or("Security key or passkey");
    match app
        .web
        .begin_passkey_enrollment(&app.mfa, &session, &account, name, CredentialKind::Passkey)
        .await
    {
        Ok(begun) => Json(begun.options).into_response(),
        Err(error) => refused(&error),
    }
}

/// The browser's answer.
#[derive(Deserialize)]
struct Answer {
    credential: serde_json::Value,
    #[serde(default)]
    remember: bool,
}

impl Answer {
    fn bytes(&self) -> Vec<u8> {
        self.credential.to_string().into_bytes()
    }
}

/// POST /register/passkey/finish: the new credential; it completes the sign-in (or refreshes the proof).
async fn register_finish(
    State(app): State<AppState>,
    session: Session,
    who: Registrant,
    Json(answer): Json<Answer>,
) -> Response {
    if let Err(error) = app
        .web
        .confirm_passkey_enrollment(&app.mfa, &session, &answer.bytes())
        .await
    {
        return refused(&error);
    }
    if let Err(error) = session.remove::<String>(NEXT_KEY).await {
        return refused(&error.into());
    }
    go(if who.signed_in { "/security-info" } else { "/" })
}

#[derive(Deserialize)]
struct SignInOptions {
    method: Option<MethodId>,
}

/// POST /{sign-in,step-up}/passkey/options: the options for `navigator.credentials.get()`.
async fn sign_in_options(
    State(app): State<AppState>,
    session: Session,
    Json(form): Json<SignInOptions>,
) -> Response {
    match app.web.passkey_options(&app.mfa, &session, form.method).await {
        Ok(sent) => Json(sent.options).into_response(),
        Err(error) => refused(&error),
    }
}

/// Verifies the answer; with "Don't ask again", remembers the device with the proof in hand.
async fn finish(
    app: &AppState,
    session: &Session,
    headers: &HeaderMap,
    answer: &Answer,
    next: &str,
) -> Response {
    let proof = match app.web.verify_passkey(&app.mfa, session, &answer.bytes()).await {
        Ok(proof) => proof,
        Err(error) => return refused(&error),
    };
    if let Err(error) = session.remove::<String>(NEXT_KEY).await {
        return refused(&error.into());
    }
    let cookie = match answer.remember {
        true => match app
            .web
            .remember_device(&app.mfa, &proof, device_name(headers))
            .await
        {
            Ok(cookie) => Some(cookie),
            Err(error) => return refused(&error),
        },
        false => None,
    };
    (StatusCode::OK, cookie, go(next)).into_response()
}

/// POST /sign-in/passkey/finish: the sign-in completes as after a verified code.
async fn sign_in_finish(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Json(answer): Json<Answer>,
) -> Response {
    finish(&app, &session, &headers, &answer, "/").await
}

/// POST /step-up/passkey/finish: a fresh proof, back to the security info.
async fn step_up_finish(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Json(answer): Json<Answer>,
) -> Response {
    finish(&app, &session, &headers, &answer, "/security-info").await
}
