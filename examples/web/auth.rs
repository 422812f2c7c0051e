//! Sign-in: the password, then what the policy asks for ("More information required", a code, a
//! recovery code), "Don't ask again for N days", sign-out; and the step-up prompt of sensitive
//! changes, which shares the code pages.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mfa::{Action, Channel, MethodId, UserId, Verified};
use mfa_axum::{CsrfToken, SignInStage};
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::{AppState, PageForm, Pending, User, error_message, error_page, mfa_error, with_status};
use crate::pages::{
    HomePage, MethodsPage, MoreInfoPage, RecoveryPage, SignInPage, VerifyPage, method_views, render,
};

/// What the policy asked of the pending sign-in: "register" or "verify" (this example's own key).
pub(crate) const NEXT_KEY: &str = "web.next";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-in/next", get(next))
        .route("/sign-in/verify", get(sign_in_prompt).post(sign_in_verify))
        .route("/sign-in/challenge", post(sign_in_challenge))
        .route("/sign-in/methods", get(sign_in_methods))
        .route(
            "/sign-in/recovery",
            get(sign_in_recovery_page).post(sign_in_recovery),
        )
        .route("/sign-out", post(sign_out))
        .route("/step-up/verify", get(step_up_prompt).post(step_up_verify))
        .route("/step-up/challenge", post(step_up_challenge))
        .route("/step-up/methods", get(step_up_methods))
        .route(
            "/step-up/recovery",
            get(step_up_recovery_page).post(step_up_recovery),
        )
}

/// GET /: the signed-in home page.
pub(crate) async fn home(State(app): State<AppState>, user: User) -> Response {
    let recommendations = match app.mfa.recommendations(&user.user).await {
        Ok(list) => list.iter().map(|r| r.message()).collect(),
        Err(error) => return mfa_error(&app, error),
    };
    render(&HomePage {
        csrf: user.csrf.as_str().to_owned(),
        username: app.username(&user.user),
        admin: app.accounts.by_user(&user.user).is_some_and(|a| a.admin),
        dev: app.outbox.is_some(),
        recommendations,
    })
}

#[derive(Deserialize)]
struct SignInQuery {
    /// What brought the user back: `password` after a password change, `everywhere` after "sign out
    /// everywhere".
    changed: Option<String>,
}

async fn sign_in_page(
    State(app): State<AppState>,
    session: Session,
    csrf: CsrfToken,
    Query(query): Query<SignInQuery>,
) -> Response {
    let notice = match query.changed.as_deref() {
        Some("password") => Some("Your password was changed. Sign in with your new password."),
        Some("everywhere") => Some("You were signed out everywhere. Sign in again."),
        _ => None,
    };
    match app.web.sign_in_state(&session).await {
        Ok(Some(state)) if state.stage == SignInStage::SignedIn => Redirect::to("/").into_response(),
        Ok(_) => render(&SignInPage {
            csrf: csrf.as_str().to_owned(),
            username: String::new(),
            error: None,
            notice,
        }),
        Err(error) => error_page(&error),
    }
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// POST /sign-in: the host's password check, then the facade's decision.
async fn sign_in(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    csrf: CsrfToken,
    PageForm(form): PageForm<Credentials>,
) -> Response {
    match app
        .web
        .check_password(&session, app.accounts.as_ref(), &form.username, &form.password)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            // One answer for a wrong name and a wrong password.
            let page = SignInPage {
                csrf: csrf.as_str().to_owned(),
                username: form.username,
                error: Some("Your account or password is incorrect.".to_owned()),
                notice: None,
            };
            return (StatusCode::UNAUTHORIZED, render(&page)).into_response();
        }
        Err(error) => return error_page(&error),
    }
    let step = match app.web.begin_sign_in(&app.mfa, &session, &headers).await {
        Ok(step) => step,
        Err(error) => return error_page(&error),
    };
    if step.stage == SignInStage::SignedIn {
        return (step.cookie, Redirect::to("/")).into_response();
    }
    let next = match step.sign_in.decision.action {
        Action::RequireRegistration => "register",
        _ => "verify",
    };
    if let Err(error) = session.insert(NEXT_KEY, next).await {
        return error_page(&error.into());
    }
    (step.cookie, Redirect::to("/sign-in/next")).into_response()
}

/// GET /sign-in/next: "More information required", or the code prompt.
async fn next(State(app): State<AppState>, session: Session, pending: Pending) -> Response {
    match session.get::<String>(NEXT_KEY).await {
        Ok(Some(next)) if next == "register" => render(&MoreInfoPage {
            csrf: pending.csrf.as_str().to_owned(),
            username: app.username(&pending.user),
            push: app.push,
        }),
        Ok(_) => Redirect::to("/sign-in/verify").into_response(),
        Err(error) => error_page(&error.into()),
    }
}

#[derive(Deserialize)]
struct PromptQuery {
    method: Option<MethodId>,
    sent: Option<String>,
}

/// The code prompt for `method` (the default when none), for a sign-in or a step-up.
async fn prompt(
    app: &AppState,
    user: &UserId,
    csrf: &CsrfToken,
    base: &'static str,
    query: PromptQuery,
    remember_days: Option<u64>,
    error: Option<String>,
) -> Response {
    let methods = match app.mfa.list_methods(user).await {
        Ok(methods) => method_views(&methods),
        Err(error) => return mfa_error(app, error),
    };
    let chosen = match query.method {
        Some(id) => methods.iter().find(|m| m.id == id.to_string()),
        None => methods.first(),
    };
    let Some(method) = chosen.cloned() else {
        // No method to prompt for: only a recovery code is left (or the registration).
        return Redirect::to(&format!("{base}/methods")).into_response();
    };
    render(&VerifyPage {
        csrf: csrf.as_str().to_owned(),
        base,
        method,
        sent: query.sent.filter(|s| s == "sms" || s == "voice"),
        remember_days,
        other_ways: true,
        error,
    })
}

/// A refused code: the same prompt again, saying why, with the error's status (and `Retry-After`
/// when locked). Errors a new code cannot help with get the error page.
async fn prompt_again(
    app: &AppState,
    user: &UserId,
    csrf: &CsrfToken,
    base: &'static str,
    form: CodeForm,
    remember_days: Option<u64>,
    error: mfa::Error,
) -> Response {
    let retry_here = matches!(
        error,
        mfa::Error::Rejected | mfa::Error::Locked { .. } | mfa::Error::InvalidCode { .. }
    );
    let error = app.web.error(error);
    if !retry_here {
        return error_page(&error);
    }
    let query = PromptQuery {
        method: Some(form.method),
        sent: form.sent,
    };
    let page = prompt(
        app,
        user,
        csrf,
        base,
        query,
        remember_days,
        Some(error_message(&error)),
    )
    .await;
    if page.status() != StatusCode::OK {
        return page;
    }
    with_status(&error, page)
}

async fn sign_in_prompt(
    State(app): State<AppState>,
    pending: Pending,
    Query(query): Query<PromptQuery>,
) -> Response {
    prompt(
        &app,
        &pending.user,
        &pending.csrf,
        "/sign-in",
        query,
        app.remember_days(),
        None,
    )
    .await
}

async fn step_up_prompt(
    State(app): State<AppState>,
    user: User,
    Query(query): Query<PromptQuery>,
) -> Response {
    prompt(&app, &user.user, &user.csrf, "/step-up", query, None, None).await
}

#[derive(Deserialize)]
struct ChallengeForm {
    method: MethodId,
    channel: String,
}

/// Sends a code to a phone, then back to the prompt.
async fn challenge(app: &AppState, user: &UserId, base: &str, form: ChallengeForm) -> Response {
    let channel = match form.channel.as_str() {
        "voice" => Channel::Voice,
        _ => Channel::Sms,
    };
    match app.mfa.challenge(user, Some(form.method), Some(channel)).await {
        Ok(_) => {
            let sent = if channel == Channel::Voice { "voice" } else { "sms" };
            Redirect::to(&format!("{base}/verify?method={}&sent={sent}", form.method)).into_response()
        }
        Err(error) => mfa_error(app, error),
    }
}

async fn sign_in_challenge(
    State(app): State<AppState>,
    pending: Pending,
    PageForm(form): PageForm<ChallengeForm>,
) -> Response {
    challenge(&app, &pending.user, "/sign-in", form).await
}

async fn step_up_challenge(
    State(app): State<AppState>,
    user: User,
    PageForm(form): PageForm<ChallengeForm>,
) -> Response {
    challenge(&app, &user.user, "/step-up", form).await
}

/// "Sign in another way": every method, the default first, and a recovery code.
async fn methods(app: &AppState, user: &UserId, base: &'static str) -> Response {
    match app.mfa.list_methods(user).await {
        Ok(methods) => render(&MethodsPage {
            base,
            methods: method_views(&methods),
        }),
        Err(error) => mfa_error(app, error),
    }
}

async fn sign_in_methods(State(app): State<AppState>, pending: Pending) -> Response {
    methods(&app, &pending.user, "/sign-in").await
}

async fn step_up_methods(State(app): State<AppState>, user: User) -> Response {
    methods(&app, &user.user, "/step-up").await
}

#[derive(Deserialize)]
struct CodeForm {
    method: MethodId,
    code: String,
    #[serde(default)]
    remember: Option<String>,
    /// The channel the code came by, for a phone ("sms", "voice"): the prompt again if it is refused.
    #[serde(default)]
    sent: Option<String>,
}

/// The second factor proven: signed in, the device remembered if asked.
async fn signed_in(
    app: &AppState,
    session: &Session,
    headers: &HeaderMap,
    proof: &Verified,
    remember: bool,
) -> Response {
    if let Err(error) = app.web.mfa_proven(session, proof).await {
        return error_page(&error);
    }
    if let Err(error) = session.remove::<String>(NEXT_KEY).await {
        return error_page(&error.into());
    }
    let cookie = match remember {
        true => match app
            .web
            .remember_device(&app.mfa, proof, device_name(headers))
            .await
        {
            Ok(cookie) => Some(cookie),
            Err(error) => return error_page(&error),
        },
        false => None,
    };
    (cookie, Redirect::to("/")).into_response()
}

async fn sign_in_verify(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    pending: Pending,
    PageForm(form): PageForm<CodeForm>,
) -> Response {
    match app.mfa.verify(&pending.user, form.method, &form.code).await {
        Ok(proof) => signed_in(&app, &session, &headers, &proof, form.remember.is_some()).await,
        Err(error) => {
            let (user, csrf, days) = (&pending.user, &pending.csrf, app.remember_days());
            prompt_again(&app, user, csrf, "/sign-in", form, days, error).await
        }
    }
}

async fn step_up_verify(
    State(app): State<AppState>,
    session: Session,
    user: User,
    PageForm(form): PageForm<CodeForm>,
) -> Response {
    match app.mfa.verify(&user.user, form.method, &form.code).await {
        Ok(proof) => stepped_up(&app, &session, &proof).await,
        Err(error) => prompt_again(&app, &user.user, &user.csrf, "/step-up", form, None, error).await,
    }
}

async fn stepped_up(app: &AppState, session: &Session, proof: &Verified) -> Response {
    match app.web.mfa_proven(session, proof).await {
        Ok(()) => Redirect::to("/security-info").into_response(),
        Err(error) => error_page(&error),
    }
}

async fn sign_in_recovery_page(pending: Pending) -> Response {
    render(&RecoveryPage {
        csrf: pending.csrf.as_str().to_owned(),
        base: "/sign-in",
        error: None,
    })
}

async fn step_up_recovery_page(user: User) -> Response {
    render(&RecoveryPage {
        csrf: user.csrf.as_str().to_owned(),
        base: "/step-up",
        error: None,
    })
}

/// A refused recovery code: the recovery page again, saying why.
fn recovery_again(app: &AppState, csrf: &CsrfToken, base: &'static str, error: mfa::Error) -> Response {
    let retry_here = matches!(
        error,
        mfa::Error::Rejected | mfa::Error::Locked { .. } | mfa::Error::InvalidCode { .. }
    );
    let error = app.web.error(error);
    if !retry_here {
        return error_page(&error);
    }
    let page = render(&RecoveryPage {
        csrf: csrf.as_str().to_owned(),
        base,
        error: Some(error_message(&error)),
    });
    with_status(&error, page)
}

#[derive(Deserialize)]
struct RecoveryForm {
    code: String,
}

async fn sign_in_recovery(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    pending: Pending,
    PageForm(form): PageForm<RecoveryForm>,
) -> Response {
    match app.mfa.redeem_recovery_code(&pending.user, &form.code).await {
        Ok(proof) => signed_in(&app, &session, &headers, &proof, false).await,
        Err(error) => recovery_again(&app, &pending.csrf, "/sign-in", error),
    }
}

async fn step_up_recovery(
    State(app): State<AppState>,
    session: Session,
    user: User,
    PageForm(form): PageForm<RecoveryForm>,
) -> Response {
    match app.mfa.redeem_recovery_code(&user.user, &form.code).await {
        Ok(proof) => stepped_up(&app, &session, &proof).await,
        Err(error) => recovery_again(&app, &user.csrf, "/step-up", error),
    }
}

/// POST /sign-out: this session only (the remembered device stays remembered).
async fn sign_out(State(app): State<AppState>, session: Session) -> Response {
    match app.web.sign_out(&session).await {
        Ok(()) => Redirect::to("/sign-in").into_response(),
        Err(error) => error_page(&error),
    }
}

/// A name for a remembered device, from the browser's `User-Agent`.
pub(crate) fn device_name(headers: &HeaderMap) -> &'static str {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    [
        ("Firefox/", "Firefox"),
        ("Edg/", "Edge"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| agent.contains(needle))
    .map_or("Web browser", |(_, name)| name)
}
