//! DEVELOPMENT ONLY: the texts and calls the recording delivery "sent", unmasked, so that a person
//! can finish phone flows in a browser. Mounted only in development mode (no `MFA_KEYS`) when no
//! phone provider is configured.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mfa::Channel;

use crate::app::AppState;
use crate::pages::{MessageView, OutboxPage, render};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/dev/outbox", get(page))
}

async fn page(State(app): State<AppState>) -> Response {
    let Some(outbox) = &app.outbox else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let messages = outbox
        .sent()
        .iter()
        .rev()
        .map(|m| MessageView {
            to: m.to.as_str().to_owned(),
            channel: match m.channel {
                Channel::Sms => "text",
                _ => "voice call",
            },
            text: m.message.text(m.channel).to_string(),
        })
        .collect();
    render(&OutboxPage { messages })
}
