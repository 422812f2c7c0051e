//! The password change page. The password is the host's (`accounts.rs`); the facade is told it
//! changed, which revokes every MFA proof and session made before, forgets remembered devices and
//! deletes app passwords. This session ends too: the user signs in again with the new password.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;
use zeroize::Zeroizing;

use crate::app::{AppState, PageForm, User, error_page, mfa_error};
use crate::pages::{PasswordPage, render};

/// The shortest new password, in characters (NIST SP 800-63B rev 4, 3.1.1.2: at least 8 where a
/// second factor is used too, at least 15 otherwise; MFA may be disabled here, so 15).
const MIN_PASSWORD_CHARS: usize = 15;
/// The longest, so hashing cost stays bounded (the same section asks to allow at least 64).
const MAX_PASSWORD_CHARS: usize = 256;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/security-info/password", get(page).post(change))
}

fn form(user: &User, error: Option<String>) -> PasswordPage {
    PasswordPage {
        csrf: user.csrf.as_str().to_owned(),
        min: MIN_PASSWORD_CHARS,
        max: MAX_PASSWORD_CHARS,
        error,
    }
}

fn refuse(user: &User, message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&form(user, Some(message))),
    )
        .into_response()
}

async fn page(user: User) -> Response {
    render(&form(&user, None))
}

#[derive(Deserialize)]
struct ChangeForm {
    current: Zeroizing<String>,
    new: Zeroizing<String>,
    confirm: Zeroizing<String>,
}

async fn change(
    State(app): State<AppState>,
    session: Session,
    user: User,
    PageForm(change): PageForm<ChangeForm>,
) -> Response {
    let chars = change.new.chars().count();
    let refused = if change.new != change.confirm {
        Some("The new passwords don't match.".to_owned())
    } else if chars < MIN_PASSWORD_CHARS {
        Some(format!("Use at least {MIN_PASSWORD_CHARS} characters."))
    } else if chars > MAX_PASSWORD_CHARS {
        Some(format!("Use at most {MAX_PASSWORD_CHARS} characters."))
    } else if change.new == change.current {
        Some("Choose a password you haven't used here.".to_owned())
    } else if !app.accounts.password_is(&user.user, &change.current) {
        Some("Your current password is incorrect.".to_owned())
    } else {
        None
    };
    if let Some(message) = refused {
        return refuse(&user, message);
    }
    // Revoke first, then change: if the revocation fails, the old password still works and the user
    // can try again; the other way round, a failure would leave a new password and nothing revoked.
    if let Err(error) = app.mfa.password_changed(&user.user).await {
        return mfa_error(&app, error);
    }
    if !app
        .accounts
        .change_password(&user.user, &change.current, &change.new)
    {
        // Changed by another request since the check: this one changes nothing.
        return refuse(&user, "Your current password is incorrect.".to_owned());
    }
    match app.web.sign_out(&session).await {
        Ok(()) => Redirect::to("/sign-in?changed=password").into_response(),
        Err(error) => error_page(&error),
    }
}
