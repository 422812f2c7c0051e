//! What a legacy mail client sees: it cannot show a code prompt, so it sends the user name and an
//! app password with HTTP Basic. `GET /legacy/mail` stands for the mailbox.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::app::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/legacy/mail", get(mailbox))
}

/// The user name and password of a `Basic` `Authorization` header.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (name, password) = decoded.split_once(':')?;
    Some((name.to_owned(), password.to_owned()))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, r#"Basic realm="mail", charset="UTF-8""#)],
        "Sign in with your user name and an app password (create one on the security info page).\n",
    )
        .into_response()
}

async fn mailbox(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let Some((name, password)) = basic(&headers) else {
        return unauthorized();
    };
    let Some(account) = app.accounts.by_name(&name) else {
        return unauthorized();
    };
    match app.mfa.verify_app_password(&account.user, &password, None).await {
        Ok(_) => format!("Mailbox of {}: no new messages.\n", account.username).into_response(),
        Err(mfa::Error::Rejected) => unauthorized(),
        Err(error) => {
            let error = app.web.error(error);
            let mut response = (error.status(), format!("{}\n", error.message())).into_response();
            if let Some(seconds) = error.retry_after() {
                response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
            }
            response
        }
    }
}
