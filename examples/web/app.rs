//! The router and its state, the page extractors, and errors as pages.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use mfa::{
    BoxedPhoneDelivery, Channel, Clock, Config, DeliveryError, KeyRing, MessageId, Mfa, MfaState,
    PhoneDelivery, PhoneMessage, PhoneNumber, RecordingPhoneDelivery, Store, SystemClock, TagSecret,
    UnixTime, UserId, WebauthnConfig,
};
use mfa_axum::{CsrfToken, ErrorResponse, MfaWeb, Rejection, SignInStage, WebConfig, require_csrf};
use mfa_sqlx::SqliteStore;
use serde::de::DeserializeOwned;
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

use crate::accounts::{Account, Accounts, DEMO};
use crate::pages::{ErrorPage, render};
use crate::{admin, auth, mail, outbox, passkey, password, push, security_info};

/// The facade on the embedded SQLite file, with the delivery chosen at start-up ([`Delivery`]).
pub(crate) type Service = Mfa<SqliteStore, BoxedPhoneDelivery>;

/// Where texts and calls go.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Development: recorded for the `/dev/outbox` page, sent nowhere.
    Outbox,
    /// A provider from `mfa-delivery` (Twilio, Vonage, a signed webhook), configured by the environment.
    Provider(BoxedPhoneDelivery),
    /// No provider in production: a send fails as "the phone provider is unavailable", so nobody
    /// waits for a code that cannot come.
    Nowhere,
}

/// The delivery of [`Delivery::Nowhere`].
#[derive(Debug)]
struct NoProvider;

impl PhoneDelivery for NoProvider {
    async fn send(&self, _: &PhoneNumber, _: Channel, _: &PhoneMessage) -> Result<MessageId, DeliveryError> {
        Err(DeliveryError::Unavailable {
            reason: "no phone provider is configured (see mfa-delivery)".to_owned(),
        })
    }
}

/// Push approvals: the service's signing key and the base URL of the device endpoints, which the
/// router mounts at `/mfa/push` (so the URL ends with that path).
#[derive(Debug)]
pub(crate) struct Push {
    pub(crate) key: mfa_push::ServiceKey,
    pub(crate) base_url: String,
}

/// The router's state.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) mfa: Arc<Service>,
    pub(crate) web: MfaWeb,
    pub(crate) accounts: Arc<Accounts>,
    /// Development: the texts and calls "sent", for the outbox page (mounted only then).
    pub(crate) outbox: Option<RecordingPhoneDelivery>,
    /// Push approvals are set up (the pages offer them).
    pub(crate) push: bool,
}

impl FromRef<AppState> for Arc<Service> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.mfa)
    }
}

impl FromRef<AppState> for MfaWeb {
    fn from_ref(state: &AppState) -> Self {
        state.web.clone()
    }
}

impl AppState {
    /// The service on the database file at `path` (created, mode 0600, if missing).
    pub(crate) async fn open(
        path: &Path,
        keys: KeyRing,
        tags: TagSecret,
        delivery: Delivery,
        push: Option<Push>,
        webauthn: Option<WebauthnConfig>,
    ) -> Result<Self, String> {
        let store = SqliteStore::open(path).await.map_err(|e| e.to_string())?;
        store.migrate().await.map_err(|e| e.to_string())?;
        Self::with_store(store, keys, tags, delivery, push, webauthn, Arc::new(SystemClock)).await
    }

    /// The service on `store` reading time from `clock`, with the demo accounts' MFA states set, and
    /// push approvals when `push` says how.
    pub(crate) async fn with_store(
        store: SqliteStore,
        keys: KeyRing,
        tags: TagSecret,
        delivery: Delivery,
        push: Option<Push>,
        webauthn: Option<WebauthnConfig>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let config = Config {
            issuer: "mfa-kit demo".to_owned(),
            ..Config::default()
        };
        let (delivery, outbox) = match delivery {
            Delivery::Outbox => {
                let outbox = RecordingPhoneDelivery::new();
                (BoxedPhoneDelivery::new(outbox.clone()), Some(outbox))
            }
            Delivery::Provider(provider) => (provider, None),
            Delivery::Nowhere => (BoxedPhoneDelivery::new(NoProvider), None),
        };
        let mut mfa = Mfa::new(config, keys, tags, store, delivery)
            .map_err(|e| e.to_string())?
            .with_clock(clock);
        let push_on = push.is_some();
        if let Some(push) = push {
            mfa = mfa
                .with_push(push.key, &push.base_url)
                .map_err(|e| format!("push approvals: {e}"))?;
        }
        // Security keys and passkeys, for the relying party the service's address names.
        if let Some(config) = &webauthn {
            mfa = mfa
                .with_webauthn(config)
                .map_err(|e| format!("security keys and passkeys: {e}"))?;
        }
        let mfa = Arc::new(mfa);
        // Plain HTTP on 127.0.0.1: cookies without `Secure`. Behind TLS, use `WebConfig::default()`.
        let web = MfaWeb::new(Arc::clone(&mfa), WebConfig::localhost_http());
        let state = AppState {
            mfa,
            web,
            accounts: Arc::new(Accounts::default()),
            outbox,
            push: push_on,
        };
        for (username, password, admin, initial_state) in DEMO {
            state
                .add_account(username, password, admin, initial_state)
                .await?;
        }
        Ok(state)
    }

    /// Adds an account to the host's table, and sets its MFA state unless the database has one.
    pub(crate) async fn add_account(
        &self,
        username: &str,
        password: &str,
        admin: bool,
        initial_state: MfaState,
    ) -> Result<Account, String> {
        let account = self.accounts.add(username, password, admin)?;
        let record = self
            .mfa
            .store()
            .get_user(&account.user)
            .await
            .map_err(|e| e.to_string())?;
        if record.is_none() {
            self.mfa
                .set_mfa_state(&account.user, initial_state)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(account)
    }

    /// The user name shown for `user`.
    pub(crate) fn username(&self, user: &UserId) -> String {
        self.accounts
            .by_user(user)
            .map_or_else(|| user.to_string(), |a| a.username)
    }

    /// "Don't ask again for N days": the policy's remembered-device window, if it has one.
    pub(crate) fn remember_days(&self) -> Option<u64> {
        self.mfa
            .policy()
            .config()
            .remember_device
            .map(|d| d.as_secs().div_ceil(86_400))
    }
}

/// The whole service.
pub(crate) fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/", get(auth::home))
        .route("/static/style.css", get(style))
        .route("/static/push.js", get(push_script))
        .route("/static/passkey.js", get(passkey_script))
        .merge(auth::routes())
        .merge(passkey::routes())
        .merge(push::routes())
        .merge(security_info::routes())
        .merge(password::routes())
        .merge(admin::routes())
        .merge(mail::routes());
    if state.outbox.is_some() {
        router = router.merge(outbox::routes());
    }
    // Session cookies without `Secure` for plain HTTP on 127.0.0.1 (SameSite=Strict, HttpOnly).
    let sessions = SessionManagerLayer::new(Sessions::default()).with_secure(false);
    router
        .layer(axum::middleware::from_fn(csrf_page))
        .layer(sessions)
        // The push protocol's device endpoints: devices sign their requests, so no session and no
        // CSRF token (outside both layers).
        .nest(
            "/mfa/push",
            mfa_axum::push_device_routes::<AppState, SqliteStore, BoxedPhoneDelivery>(),
        )
        .with_state(state)
}

/// `require_csrf`, with its refusal (a JSON body, for APIs) shown as a page: the token is missing when a
/// form was forged or when the session it came from has ended.
async fn csrf_page(session: Session, request: Request, next: Next) -> Response {
    let response = require_csrf(session, request, next).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() != StatusCode::FORBIDDEN || !json {
        return response;
    }
    let page = ErrorPage {
        message:
            "This form has expired or did not come from this site. Go back, reload the page and try again."
                .to_owned(),
    };
    (StatusCode::FORBIDDEN, render(&page)).into_response()
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/style.css"),
    )
}

async fn push_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("static/push.js"),
    )
}

async fn passkey_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("static/passkey.js"),
    )
}

/// A signed-in user, for pages: not signed in redirects to the sign-in page, a pending second factor
/// to its prompt.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) user: UserId,
    pub(crate) mfa_at: Option<UnixTime>,
    pub(crate) csrf: CsrfToken,
}

impl FromRequestParts<AppState> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match mfa_axum::SignedIn::from_request_parts(parts, state).await {
            Ok(signed_in) => Ok(User {
                user: signed_in.user,
                mfa_at: signed_in.mfa_at,
                csrf: CsrfToken::from_request_parts(parts, state)
                    .await
                    .map_err(rejection)?,
            }),
            Err(why) => Err(rejection(why)),
        }
    }
}

/// A sign-in in progress or a signed-in user: who may run a registration (during sign-in for "More
/// information required", or from the security info page).
#[derive(Debug, Clone)]
pub(crate) struct Registrant {
    pub(crate) user: UserId,
    pub(crate) mfa_at: Option<UnixTime>,
    pub(crate) signed_in: bool,
    pub(crate) csrf: CsrfToken,
}

impl FromRequestParts<AppState> for Registrant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| rejection(Rejection::Internal))?;
        let Some(sign_in) = state
            .web
            .sign_in_state(&session)
            .await
            .map_err(|e| error_page(&e))?
        else {
            return Err(Redirect::to("/sign-in").into_response());
        };
        Ok(Registrant {
            user: sign_in.user,
            mfa_at: sign_in.mfa_at,
            signed_in: sign_in.stage == SignInStage::SignedIn,
            csrf: CsrfToken::of(&session).await.map_err(rejection)?,
        })
    }
}

/// An extractor's refusal as a page or a redirect.
pub(crate) fn rejection(why: Rejection) -> Response {
    match why {
        Rejection::NotSignedIn => Redirect::to("/sign-in").into_response(),
        Rejection::SecondFactorPending => Redirect::to("/sign-in/next").into_response(),
        other => error_page(&ErrorResponse::from(other)),
    }
}

/// An error as a page: the status and the message `ErrorResponse` chose (nothing that helps an
/// attacker), `Retry-After` for a lock, and a way back.
pub(crate) fn error_page(error: &ErrorResponse) -> Response {
    let page = render(&ErrorPage {
        message: error_message(error),
    });
    with_status(error, page)
}

/// What a person reads for `error`.
pub(crate) fn error_message(error: &ErrorResponse) -> String {
    match (error.error(), error.retry_after()) {
        (Some(mfa::Error::Rejected), _) => "That code didn't work. Check the code and try again.".to_owned(),
        // The policy's own sentence for the person ("Contact your administrator.").
        (Some(mfa::Error::NotAllowed(reason)), _) => reason.message().to_owned(),
        (_, Some(seconds)) => format!("Too many attempts. Try again in {}.", wait(seconds)),
        _ if error.status() == StatusCode::INTERNAL_SERVER_ERROR => {
            "Something went wrong on our side.".to_owned()
        }
        _ => sentence(error.message()),
    }
}

/// `page` with the status of `error`, and its `Retry-After` when it has one.
pub(crate) fn with_status(error: &ErrorResponse, page: Response) -> Response {
    let mut response = (error.status(), page).into_response();
    if let Some(seconds) = error.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A facade error as a page, `Retry-After` counted by the web layer's clock.
pub(crate) fn mfa_error(state: &AppState, error: mfa::Error) -> Response {
    error_page(&state.web.error(error))
}

fn wait(seconds: u64) -> String {
    match seconds {
        1 => "1 second".to_owned(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!(
            "{}{}.",
            first.to_uppercase(),
            chars.as_str().trim_end_matches('.')
        ),
        None => "Something went wrong.".to_owned(),
    }
}

/// A form post's fields; a form that does not parse (a field missing or malformed, an id that is
/// not one) is a 422 page, not axum's plain-text rejection.
#[derive(Debug)]
pub(crate) struct PageForm<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Form::<T>::from_request(request, state).await {
            Ok(Form(fields)) => Ok(PageForm(fields)),
            Err(_) => Err(malformed_form()),
        }
    }
}

/// A 422 page for a form that is not as our page sent it.
pub(crate) fn malformed_form() -> Response {
    let page = ErrorPage {
        message:
            "That form was incomplete or not as this page sent it. Go back, reload the page and try again."
                .to_owned(),
    };
    (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
}

/// A sign-in whose second factor (or registration) is still to come, for pages.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) user: UserId,
    pub(crate) csrf: CsrfToken,
}

impl FromRequestParts<AppState> for Pending {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match mfa_axum::PendingSecondFactor::from_request_parts(parts, state).await {
            Ok(pending) => Ok(Pending {
                user: pending.user,
                csrf: CsrfToken::from_request_parts(parts, state)
                    .await
                    .map_err(rejection)?,
            }),
            // Signed in already, or not at all.
            Err(Rejection::NotSignedIn) => Err(Redirect::to("/").into_response()),
            Err(why) => Err(rejection(why)),
        }
    }
}

/// A facade error from a sensitive action: a stale second factor goes to the step-up prompt.
pub(crate) fn sensitive_error(state: &AppState, error: mfa::Error) -> Response {
    match error {
        mfa::Error::StepUpRequired => Redirect::to("/step-up/verify").into_response(),
        error => mfa_error(state, error),
    }
}
