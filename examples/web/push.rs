//! "Approve a request on my authenticator app": registering a push app by QR code, the push at
//! sign-in (and step-up) with its number, and the waiting pages. A small script (`/static/push.js`)
//! polls every second; without it, the page's "Check" button asks the same question.
//!
//! The device side of the protocol is `mfa_axum::push_device_routes`, mounted under `/mfa/push` by
//! [`router`](crate::app::router).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mfa::{MethodId, PushOrigin, PushStatus};
use mfa_axum::{DeviceCookie, ErrorResponse};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::app::{AppState, PageForm, Pending, Registrant, User, error_message, error_page, sensitive_error};
use crate::auth::{NEXT_KEY, device_name};
use crate::pages::{PushRegisterPage, PushWaitPage, render};

/// The push a page waits for (this example's own key): its number, shown again when the page
/// reloads, and how it ended.
const PUSH_PAGE_KEY: &str = "web.push";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PushPage {
    method: MethodId,
    number: String,
    /// "Don't ask again for N days" was ticked: remember the device once approved.
    remember: bool,
    /// `None` while waiting; then `denied`, `wrong_number`, `expired` or an error's sentence.
    ended: Option<Ended>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Ended {
    Denied,
    WrongNumber,
    Expired,
    Error(String),
}

impl Ended {
    fn message(&self) -> String {
        match self {
            Ended::Denied => "The request was denied on your authenticator app.".to_owned(),
            Ended::WrongNumber => {
                "The number entered in your authenticator app didn't match the one shown here, so the request \
                 was refused."
                    .to_owned()
            }
            Ended::Expired => "The request expired before it was approved.".to_owned(),
            Ended::Error(message) => message.clone(),
        }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/register/push", get(register_page))
        .route("/register/push/status", post(register_status))
        .route("/register/push/check", post(register_check))
        .route("/register/push/expired", get(register_expired))
        .route("/sign-in/push", post(sign_in_send))
        .route("/sign-in/push/wait", get(sign_in_wait))
        .route("/sign-in/push/status", post(sign_in_status))
        .route("/sign-in/push/check", post(sign_in_check))
        .route("/step-up/push", post(step_up_send))
        .route("/step-up/push/wait", get(step_up_wait))
        .route("/step-up/push/status", post(step_up_status))
        .route("/step-up/push/check", post(step_up_check))
}

/// What the polling script reads: `waiting`, or where to go now.
#[derive(Serialize)]
struct Poll {
    status: &'static str,
    next: Option<String>,
    /// The remembered-device cookie, set with the answer that completes an approved sign-in.
    #[serde(skip)]
    cookie: Option<DeviceCookie>,
}

impl Poll {
    fn waiting() -> Self {
        Poll {
            status: "waiting",
            next: None,
            cookie: None,
        }
    }

    fn go(status: &'static str, next: String) -> Self {
        Poll {
            status,
            next: Some(next),
            cookie: None,
        }
    }

    /// The script's answer.
    fn json(mut self) -> Response {
        let cookie = self.cookie.take();
        (cookie, Json(self)).into_response()
    }

    /// The "Check" button's answer: the next page, or the waiting page again.
    fn redirect(self, waiting: &str) -> Response {
        let to = self.next.as_deref().unwrap_or(waiting);
        (self.cookie, Redirect::to(to)).into_response()
    }
}

// ---------------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------------

/// GET /register/push: a new offer, its QR code and its link, and the waiting that follows.
async fn register_page(State(app): State<AppState>, session: Session, who: Registrant) -> Response {
    let account = app.username(&who.user);
    let enrollment = match app
        .web
        .begin_push_enrollment(&app.mfa, &session, &account, "Authenticator app (push)")
        .await
    {
        Ok(enrollment) => enrollment,
        Err(error) => return page_error(&app, error),
    };
    let qr_data_url = match enrollment.qr().to_data_url() {
        Ok(url) => url.to_string(),
        Err(error) => return error_page(&app.web.error(error.into())),
    };
    render(&PushRegisterPage {
        csrf: who.csrf.as_str().to_owned(),
        qr_data_url: Some(qr_data_url),
        uri: enrollment.uri().to_owned(),
        during_sign_in: !who.signed_in,
        expired: false,
    })
}

/// A facade error from a sensitive action (adding a method): a stale proof goes to the step-up prompt.
fn page_error(app: &AppState, error: ErrorResponse) -> Response {
    match error.error() {
        Some(mfa::Error::StepUpRequired) => sensitive_error(app, mfa::Error::StepUpRequired),
        _ => error_page(&error),
    }
}

/// Whether the app has enrolled: the registration completes the sign-in (or refreshes the proof).
async fn register_poll(app: &AppState, session: &Session, who: &Registrant) -> Result<Poll, Response> {
    match app.web.push_enrollment_status(&app.mfa, session).await {
        Ok(None) => Ok(Poll::waiting()),
        Ok(Some(_)) => {
            if let Err(error) = session.remove::<String>(NEXT_KEY).await {
                return Err(error_page(&error.into()));
            }
            let next = if who.signed_in { "/security-info" } else { "/" };
            Ok(Poll::go("enrolled", next.to_owned()))
        }
        Err(error) if error.status() == StatusCode::NOT_FOUND => {
            Ok(Poll::go("expired", "/register/push/expired".to_owned()))
        }
        Err(error) => Err(error_page(&error)),
    }
}

async fn register_status(State(app): State<AppState>, session: Session, who: Registrant) -> Response {
    match register_poll(&app, &session, &who).await {
        Ok(poll) => poll.json(),
        Err(page) => page,
    }
}

/// POST /register/push/check: the button without the script. Not yet: a page saying so; the offer
/// gone: a page offering a new one.
async fn register_check(State(app): State<AppState>, session: Session, who: Registrant) -> Response {
    let poll = match register_poll(&app, &session, &who).await {
        Ok(poll) => poll,
        Err(page) => return page,
    };
    match (poll.status, poll.next) {
        ("enrolled", Some(next)) => Redirect::to(&next).into_response(),
        (status, _) => render(&PushRegisterPage {
            csrf: who.csrf.as_str().to_owned(),
            qr_data_url: None,
            uri: String::new(),
            during_sign_in: !who.signed_in,
            expired: status == "expired",
        }),
    }
}

/// GET /register/push/expired: the offer ended without a registration; a new one is a click away.
async fn register_expired(who: Registrant) -> Response {
    render(&PushRegisterPage {
        csrf: who.csrf.as_str().to_owned(),
        qr_data_url: None,
        uri: String::new(),
        during_sign_in: !who.signed_in,
        expired: true,
    })
}

// ---------------------------------------------------------------------------------------------------
// Sign-in and step-up
// ---------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct SendForm {
    method: MethodId,
    /// "Don't ask again for N days" (sign-in only).
    #[serde(default)]
    remember: Option<String>,
}

/// Sends a push to `method` and shows its number. The app shows the issuer as the application; a
/// host that knows the client's address and location would fill in the rest of the origin.
async fn send(app: &AppState, session: &Session, base: &str, method: MethodId, remember: bool) -> Response {
    let origin = PushOrigin::default();
    match app.web.send_push(&app.mfa, session, Some(method), &origin).await {
        Ok(sent) => {
            let page = PushPage {
                method,
                number: sent.number.to_string(),
                remember,
                ended: None,
            };
            match session.insert(PUSH_PAGE_KEY, page).await {
                Ok(()) => Redirect::to(&format!("{base}/push/wait")).into_response(),
                Err(error) => error_page(&error.into()),
            }
        }
        Err(error) => error_page(&error),
    }
}

async fn sign_in_send(
    State(app): State<AppState>,
    session: Session,
    _pending: Pending,
    PageForm(form): PageForm<SendForm>,
) -> Response {
    let remember = form.remember.is_some();
    send(&app, &session, "/sign-in", form.method, remember).await
}

async fn step_up_send(
    State(app): State<AppState>,
    session: Session,
    _user: User,
    PageForm(form): PageForm<SendForm>,
) -> Response {
    send(&app, &session, "/step-up", form.method, false).await
}

/// The waiting page (the number, big), or how the push ended.
async fn wait(session: &Session, csrf: &str, base: &'static str) -> Response {
    let page = match session.get::<PushPage>(PUSH_PAGE_KEY).await {
        Ok(Some(page)) => page,
        Ok(None) => return Redirect::to(&format!("{base}/verify")).into_response(),
        Err(error) => return error_page(&error.into()),
    };
    render(&PushWaitPage {
        csrf: csrf.to_owned(),
        base,
        method: page.method.to_string(),
        number: page.number,
        ended: page.ended.as_ref().map(Ended::message),
    })
}

async fn sign_in_wait(session: Session, pending: Pending) -> Response {
    wait(&session, pending.csrf.as_str(), "/sign-in").await
}

async fn step_up_wait(session: Session, user: User) -> Response {
    wait(&session, user.csrf.as_str(), "/step-up").await
}

/// Polls the session's push: approved completes the sign-in (or the step-up) as a verified code
/// does; an ended push is kept for the waiting page to say how it ended.
async fn poll(app: &AppState, session: &Session, headers: &HeaderMap, base: &str) -> Result<Poll, Response> {
    let waiting = format!("{base}/push/wait");
    let ended = match app.web.push_status(&app.mfa, session).await {
        Ok(PushStatus::Waiting { .. }) => return Ok(Poll::waiting()),
        Ok(PushStatus::Approved(proof)) => {
            let removed = async {
                let page = session.remove::<PushPage>(PUSH_PAGE_KEY).await?;
                session.remove::<String>(NEXT_KEY).await?;
                Ok::<_, tower_sessions::session::Error>(page)
            };
            let page = match removed.await {
                Ok(page) => page,
                Err(error) => return Err(error_page(&error.into())),
            };
            // "Don't ask again": remembered with the proof in hand, as after a verified code.
            let cookie = match page.is_some_and(|p| p.remember) {
                true => match app
                    .web
                    .remember_device(&app.mfa, &proof, device_name(headers))
                    .await
                {
                    Ok(cookie) => Some(cookie),
                    Err(error) => return Err(error_page(&error)),
                },
                false => None,
            };
            let next = if base == "/step-up" { "/security-info" } else { "/" };
            let mut poll = Poll::go("approved", next.to_owned());
            poll.cookie = cookie;
            return Ok(poll);
        }
        Ok(PushStatus::Denied) => Ended::Denied,
        Ok(PushStatus::WrongNumber) => Ended::WrongNumber,
        Ok(PushStatus::Expired) => Ended::Expired,
        Ok(_) => Ended::Expired,
        // Collected or replaced elsewhere: as good as expired here.
        Err(error) if error.status() == StatusCode::NOT_FOUND => Ended::Expired,
        Err(error) if error.status() == StatusCode::UNAUTHORIZED => {
            return Ok(Poll::go("signed_out", "/sign-in".to_owned()));
        }
        Err(error) => Ended::Error(error_message(&error)),
    };
    let status = match &ended {
        Ended::Denied => "denied",
        Ended::WrongNumber => "wrong_number",
        Ended::Expired => "expired",
        Ended::Error(_) => "error",
    };
    match session.get::<PushPage>(PUSH_PAGE_KEY).await {
        Ok(Some(mut page)) => {
            if page.ended.is_none() {
                page.ended = Some(ended);
            }
            if let Err(error) = session.insert(PUSH_PAGE_KEY, page).await {
                return Err(error_page(&error.into()));
            }
        }
        Ok(None) => {}
        Err(error) => return Err(error_page(&error.into())),
    }
    Ok(Poll::go(status, waiting))
}

async fn status(app: &AppState, session: &Session, headers: &HeaderMap, base: &str) -> Response {
    match poll(app, session, headers, base).await {
        Ok(poll) => poll.json(),
        Err(page) => page,
    }
}

async fn check(app: &AppState, session: &Session, headers: &HeaderMap, base: &str) -> Response {
    match poll(app, session, headers, base).await {
        Ok(poll) => poll.redirect(&format!("{base}/push/wait")),
        Err(page) => page,
    }
}

async fn sign_in_status(State(app): State<AppState>, session: Session, headers: HeaderMap) -> Response {
    status(&app, &session, &headers, "/sign-in").await
}

async fn step_up_status(State(app): State<AppState>, session: Session, headers: HeaderMap) -> Response {
    status(&app, &session, &headers, "/step-up").await
}

async fn sign_in_check(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    _pending: Pending,
) -> Response {
    check(&app, &session, &headers, "/sign-in").await
}

async fn step_up_check(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    _user: User,
) -> Response {
    check(&app, &session, &headers, "/step-up").await
}
