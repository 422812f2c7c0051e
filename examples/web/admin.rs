//! The administrator's page: per-user MFA state (disabled, enabled, enforced), require
//! re-registration, revoke MFA sessions. Only the demo account marked administrator sees it.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mfa::{MfaState, Store, UserId};
use serde::Deserialize;

use crate::app::{AppState, PageForm, User, malformed_form, mfa_error};
use crate::pages::{AdminPage, AdminRow, ErrorPage, render};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/state", post(set_state))
        .route("/admin/reregister", post(reregister))
        .route("/admin/revoke", post(revoke))
        .route("/admin/clear-report", post(clear_report))
}

/// A 403 page unless the signed-in user is an administrator.
fn refused(app: &AppState, user: &User) -> Option<Response> {
    if app.accounts.by_user(&user.user).is_some_and(|a| a.admin) {
        return None;
    }
    let page = ErrorPage {
        message: "Only an administrator may open this page.".to_owned(),
    };
    Some((StatusCode::FORBIDDEN, render(&page)).into_response())
}

async fn page(State(app): State<AppState>, user: User) -> Response {
    if let Some(refused) = refused(&app, &user) {
        return refused;
    }
    let mut users = Vec::new();
    for account in app.accounts.all() {
        let record = match app.mfa.store().get_user(&account.user).await {
            Ok(record) => record.unwrap_or_default(),
            Err(error) => return mfa_error(&app, error.into()),
        };
        let methods = match app.mfa.list_methods(&account.user).await {
            Ok(methods) => methods.len(),
            Err(error) => return mfa_error(&app, error),
        };
        users.push(AdminRow {
            id: account.user.to_string(),
            username: account.username,
            state: match record.mfa {
                MfaState::Disabled => "disabled",
                MfaState::Enabled => "enabled",
                _ => "enforced",
            },
            methods,
            reported: record.suspicious_activity_reported,
        });
    }
    render(&AdminPage {
        csrf: user.csrf.as_str().to_owned(),
        users,
    })
}

#[derive(Deserialize)]
struct StateForm {
    user: UserId,
    state: String,
}

async fn set_state(State(app): State<AppState>, user: User, PageForm(form): PageForm<StateForm>) -> Response {
    if let Some(refused) = refused(&app, &user) {
        return refused;
    }
    let state = match form.state.as_str() {
        "disabled" => MfaState::Disabled,
        "enabled" => MfaState::Enabled,
        "enforced" => MfaState::Enforced,
        _ => return malformed_form(),
    };
    match app.mfa.set_mfa_state(&form.user, state).await {
        Ok(()) => Redirect::to("/admin").into_response(),
        Err(error) => mfa_error(&app, error),
    }
}

#[derive(Deserialize)]
struct UserForm {
    user: UserId,
}

async fn reregister(State(app): State<AppState>, user: User, PageForm(form): PageForm<UserForm>) -> Response {
    if let Some(refused) = refused(&app, &user) {
        return refused;
    }
    match app.mfa.require_reregistration(&form.user).await {
        Ok(()) => Redirect::to("/admin").into_response(),
        Err(error) => mfa_error(&app, error),
    }
}

async fn revoke(State(app): State<AppState>, user: User, PageForm(form): PageForm<UserForm>) -> Response {
    if let Some(refused) = refused(&app, &user) {
        return refused;
    }
    match app.mfa.revoke_mfa_sessions(&form.user).await {
        Ok(()) => Redirect::to("/admin").into_response(),
        Err(error) => mfa_error(&app, error),
    }
}

/// The administrator has looked at a suspicious-activity report: prompts resume.
async fn clear_report(
    State(app): State<AppState>,
    user: User,
    PageForm(form): PageForm<UserForm>,
) -> Response {
    if let Some(refused) = refused(&app, &user) {
        return refused;
    }
    match app.mfa.clear_suspicious_activity(&form.user).await {
        Ok(()) => Redirect::to("/admin").into_response(),
        Err(error) => mfa_error(&app, error),
    }
}
