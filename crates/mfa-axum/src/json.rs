//! Optional JSON routes for a single-page app: the sign-in's second step, registration, and the security info.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use mfa::{
    AppPasswordId, Challenge, Channel, DeviceId, Enrolled, MAX_USER_ID_BYTES, MethodId, Mfa, PhoneDelivery,
    PhoneKind, PushOrigin, PushStatus, Store, UnixTime, UserId, Verified,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{DeviceCookie, ErrorResponse, MfaWeb, Rejection, SignInState, SignedIn};

/// The JSON routes of the sign-in's second step, of registration and of the security info a
/// single-page app shows. Mount them under a prefix, inside the session layer and
/// [`require_csrf`](crate::require_csrf) (the app sends the token in the `x-csrf-token` header):
///
/// | route | who | what |
/// |---|---|---|
/// | `POST /challenge` `{"method"?, "channel"?}` | a pending sign-in or a signed-in user (step-up) | [`Mfa::challenge`]: the [`Challenge`](mfa::Challenge) (a push is kept in the session for `/push/status`) |
/// | `POST /verify` `{"method", "code", "remember_as"?}` | likewise | [`Mfa::verify`], then [`MfaWeb::mfa_proven`] and, with `remember_as`, the device cookie: `{"verified_at", "recovery_codes_left": null}` |
/// | `POST /recovery-codes/redeem` `{"code"}` | likewise | [`Mfa::redeem_recovery_code`], then as `/verify`: `{"verified_at", "recovery_codes_left"}` |
/// | `POST /register/app` `{"name"?, "account"?}` | likewise; a user with methods needs a fresh proof | [`Mfa::begin_app_enrollment`]: `{"method", "uri", "secret", "qr_svg", "qr_data_url", "expires_at"}`, the secret shown once (`name` defaults to `Authenticator app`, `account`, the label the app shows, to the user id) |
/// | `POST /register/app/confirm` `{"method", "code", "remember_as"?}` | likewise | [`Mfa::confirm_app_enrollment`], then [`MfaWeb::enrolled`] and, with `remember_as`, the device cookie: `{"method", "verified_at"}` |
/// | `POST /push` `{"method"?}` | a pending sign-in or a signed-in user | [`MfaWeb::send_push`] ([`Mfa::challenge_push`]): the [`PushSent`](mfa::PushSent) `{"method", "challenge", "number", "expires_at"}`; show the number |
/// | `POST /push/status` `{"remember_as"?}` | likewise | [`MfaWeb::push_status`] on the session's push: `{"status": "waiting", "expires_at"}`, `denied`, `wrong_number`, `expired`, or `{"status": "approved", "verified_at", "recovery_codes_left": null}`, which completes the sign-in as `/verify` does (with `remember_as`, the device cookie) |
/// | `POST /register/push` `{"name"?, "account"?}` | likewise; a user with methods needs a fresh proof | [`MfaWeb::begin_push_enrollment`]: `{"method", "uri", "qr_svg", "qr_data_url", "expires_at"}` (`name` defaults to `Authenticator app (push)`) |
/// | `POST /register/push/status` `{"remember_as"?}` | likewise | [`MfaWeb::push_enrollment_status`]: `{"status": "waiting"}` until the app has enrolled, then `{"status": "enrolled", "method", "verified_at"}`, as `/register/app/confirm` |
/// | `POST /register/passkey` `{"name"?, "kind"?, "user_name"?}` | likewise; a user with methods needs a fresh proof | (feature `webauthn`) [`MfaWeb::begin_passkey_enrollment`]: `{"method", "options", "expires_at"}`, the options for `navigator.credentials.create()` (`name` defaults to `Passkey`, `kind` `passkey` or `security_key` to `passkey`, `user_name` to the user id); the session keeps the pending method |
/// | `POST /register/passkey/confirm` `{"credential", "remember_as"?}` | likewise | (feature `webauthn`) [`MfaWeb::confirm_passkey_enrollment`] with the browser's `PublicKeyCredential` as JSON, then as `/register/app/confirm`: `{"method", "verified_at"}` |
/// | `POST /passkey` `{"method"?}` | a pending sign-in or a signed-in user | (feature `webauthn`) [`MfaWeb::passkey_options`]: the [`PasskeySent`](mfa::PasskeySent) `{"options", "expires_at"}` for `navigator.credentials.get()` |
/// | `POST /passkey/verify` `{"credential", "remember_as"?}` | likewise | (feature `webauthn`) [`MfaWeb::verify_passkey`] with the browser's answer, then as `/verify`: `{"verified_at", "recovery_codes_left": null}` |
/// | `POST /register/phone` `{"kind", "number", "channel"?}` | likewise | [`Mfa::begin_phone_enrollment`] (`kind` `mobile`, `office` or `alternate`; `number` E.164; `channel` `sms` or `voice`, by default SMS to a mobile, a call to the others): the [`CodeSent`](mfa::CodeSent) |
/// | `POST /register/phone/confirm` `{"method", "code", "remember_as"?}` | likewise | [`Mfa::confirm_phone_enrollment`], then as `/register/app/confirm` |
/// | `GET /recovery-codes` | signed in | `{"left": n}` |
/// | `POST /recovery-codes` | signed in, a fresh proof | [`Mfa::generate_recovery_codes`]: `{"codes": [...]}`, shown once; the old set stops working |
/// | `GET /methods` | signed in | [`Mfa::list_methods`] |
/// | `PUT /methods/{id}/default` | signed in | [`Mfa::set_default_method`]: 204 |
/// | `DELETE /methods/{id}` | signed in, a fresh proof | [`Mfa::remove_method`]: 204 |
/// | `GET /app-passwords` | signed in | [`Mfa::list_app_passwords`]: names and dates, never a password |
/// | `POST /app-passwords` `{"name"}` | signed in, a fresh proof | [`Mfa::create_app_password`]: 201 `{"id", "password"}`, the password shown once |
/// | `DELETE /app-passwords/{id}` | signed in | [`Mfa::revoke_app_password`]: 204 |
/// | `GET /devices` | signed in | [`Mfa::list_devices`] |
/// | `DELETE /devices/{id}` | signed in | [`Mfa::forget_device`]: 204 |
///
/// Registration serves the sign-in the policy sent to registration ("More information required":
/// a user with no method registers with the password alone) and a signed-in user; the facade asks
/// a user who has methods for a fresh proof, so a password alone never adds a second method. The
/// confirmation proves the new method: it completes a pending sign-in, or refreshes a signed-in
/// session's proof.
///
/// "Don't ask again on this device" is `remember_as` on the routes that make a proof (`/verify` and
/// the registration confirmations), and there only: [`Mfa::remember_device`] takes the proof
/// itself, and the session keeps the proof's instant, not the proof, so no later request could
/// remember a device soundly.
///
/// "A fresh proof" is the facade's step-up on the session's last MFA time
/// ([`SignedIn::mfa_at`]); a stale one answers 403 `{"error": "this action needs a fresh
/// verification"}` ([`mfa::Error::StepUpRequired`]): verify again, then retry.
///
/// The state gives both the facade and the web layer by [`FromRef`]: `Arc<Mfa<S, P>>` and
/// [`MfaWeb`]. Errors are [`ErrorResponse`]s and [`Rejection`]s, JSON `{"error": "..."}`, also
/// for a malformed request: an id in the path that is not one 400, a body that is not JSON 400,
/// JSON without the fields expected (or with a malformed id, kind or channel) 422, no JSON content
/// type 415. Every answer carries `Cache-Control: no-store`: secrets (a new app's key, recovery
/// codes, an app password) are in the answer that shows them once, and nowhere else.
///
/// ```
/// # use std::sync::Arc;
/// # use axum::extract::FromRef;
/// # use mfa::{MemoryStore, Mfa, RecordingPhoneDelivery};
/// # use mfa_axum::MfaWeb;
/// # type Service = Mfa<MemoryStore, RecordingPhoneDelivery>;
/// #[derive(Clone)]
/// struct AppState {
///     mfa: Arc<Service>,
///     web: MfaWeb,
/// }
/// # impl FromRef<AppState> for Arc<Service> { fn from_ref(s: &AppState) -> Self { s.mfa.clone() } }
/// # impl FromRef<AppState> for MfaWeb { fn from_ref(s: &AppState) -> Self { s.web.clone() } }
/// // ... with `FromRef<AppState>` for `Arc<Service>` and for `MfaWeb`.
/// let api: axum::Router<AppState> =
///     axum::Router::new().nest("/api/mfa", mfa_axum::json_routes::<AppState, MemoryStore, RecordingPhoneDelivery>());
/// ```
pub fn json_routes<St, S, P>() -> Router<St>
where
    St: Clone + Send + Sync + 'static,
    MfaWeb: FromRef<St>,
    Arc<Mfa<S, P>>: FromRef<St>,
    S: Store + 'static,
    P: PhoneDelivery + 'static,
{
    let router = Router::new()
        .route("/challenge", post(challenge::<S, P>))
        .route("/verify", post(verify::<S, P>))
        .route("/register/app", post(begin_app::<S, P>))
        .route("/register/app/confirm", post(confirm_app::<S, P>))
        .route("/push", post(send_push::<S, P>))
        .route("/push/status", post(push_status::<S, P>))
        .route("/register/push", post(begin_push::<S, P>))
        .route("/register/push/status", post(push_enrollment_status::<S, P>))
        .route("/register/phone", post(begin_phone::<S, P>))
        .route("/register/phone/confirm", post(confirm_phone::<S, P>))
        .route("/recovery-codes/redeem", post(redeem::<S, P>))
        .route(
            "/recovery-codes",
            get(recovery_codes_left::<S, P>).post(generate_recovery_codes::<S, P>),
        )
        .route("/methods", get(methods::<S, P>))
        .route("/methods/{id}", delete(remove_method::<S, P>))
        .route("/methods/{id}/default", put(set_default_method::<S, P>))
        .route(
            "/app-passwords",
            get(app_passwords::<S, P>).post(create_app_password::<S, P>),
        )
        .route("/app-passwords/{id}", delete(revoke_app_password::<S, P>))
        .route("/devices", get(devices::<S, P>))
        .route("/devices/{id}", delete(forget_device::<S, P>));
    #[cfg(feature = "webauthn")]
    let router = router.merge(passkey_routes::<St, S, P>());
    router.layer(map_response(no_store))
}

/// The passkey routes (feature `webauthn`).
#[cfg(feature = "webauthn")]
fn passkey_routes<St, S, P>() -> Router<St>
where
    St: Clone + Send + Sync + 'static,
    MfaWeb: FromRef<St>,
    Arc<Mfa<S, P>>: FromRef<St>,
    S: Store + 'static,
    P: PhoneDelivery + 'static,
{
    Router::new()
        .route("/register/passkey", post(passkey::begin::<S, P>))
        .route("/register/passkey/confirm", post(passkey::confirm::<S, P>))
        .route("/passkey", post(passkey::options::<S, P>))
        .route("/passkey/verify", post(passkey::verify::<S, P>))
}

#[cfg(feature = "webauthn")]
mod passkey {
    use std::sync::Arc;

    use axum::Json;
    use axum::extract::State;
    use axum::response::{IntoResponse, Response};
    use mfa::{CredentialKind, Mfa, PhoneDelivery, Store};
    use serde::Deserialize;
    use tower_sessions::Session;

    use super::{Body, PushRequest, account_label, remember, sign_in_of};
    use crate::{ErrorResponse, MfaWeb};

    #[derive(Deserialize)]
    pub(super) struct BeginRequest {
        /// The method's name in the security info (default `Passkey`).
        name: Option<String>,
        /// A passkey or a security key (default a passkey).
        kind: Option<CredentialKind>,
        /// The account the authenticator shows (default the user id).
        user_name: Option<String>,
    }

    /// The browser's answer: the `PublicKeyCredential` as JSON.
    #[derive(Deserialize)]
    pub(super) struct AnswerRequest {
        credential: serde_json::Value,
        remember_as: Option<String>,
    }

    impl AnswerRequest {
        fn bytes(&self, web: &MfaWeb) -> Result<Vec<u8>, ErrorResponse> {
            serde_json::to_vec(&self.credential).map_err(|_| web.error(mfa::Error::Rejected))
        }
    }

    pub(super) async fn begin<S: Store, P: PhoneDelivery>(
        State(mfa): State<Arc<Mfa<S, P>>>,
        State(web): State<MfaWeb>,
        session: Session,
        Body(request): Body<BeginRequest>,
    ) -> Result<Response, ErrorResponse> {
        let who = sign_in_of(&web, &session).await?;
        let user_name = account_label(request.user_name.as_deref(), &who.user).map_err(|e| web.error(e))?;
        let name = request.name.as_deref().unwrap_or("Passkey");
        let kind = request.kind.unwrap_or(CredentialKind::Passkey);
        let begun = web
            .begin_passkey_enrollment(&mfa, &session, &user_name, name, kind)
            .await?;
        Ok(Json(begun).into_response())
    }

    /// The session records the registration's proof (in [`MfaWeb::confirm_passkey_enrollment`]);
    /// with `remember_as`, the device is remembered.
    pub(super) async fn confirm<S: Store, P: PhoneDelivery>(
        State(mfa): State<Arc<Mfa<S, P>>>,
        State(web): State<MfaWeb>,
        session: Session,
        Body(request): Body<AnswerRequest>,
    ) -> Result<Response, ErrorResponse> {
        let response = request.bytes(&web)?;
        let enrolled = web.confirm_passkey_enrollment(&mfa, &session, &response).await?;
        let cookie = remember(&mfa, &web, &enrolled.proof, request.remember_as.as_deref()).await?;
        let body = serde_json::json!({
            "method": enrolled.method,
            "verified_at": enrolled.proof.at(),
        });
        Ok((cookie, Json(body)).into_response())
    }

    pub(super) async fn options<S: Store, P: PhoneDelivery>(
        State(mfa): State<Arc<Mfa<S, P>>>,
        State(web): State<MfaWeb>,
        session: Session,
        Body(request): Body<PushRequest>,
    ) -> Result<Response, ErrorResponse> {
        let sent = web.passkey_options(&mfa, &session, request.method).await?;
        Ok(Json(sent).into_response())
    }

    /// The session records the proof (in [`MfaWeb::verify_passkey`]), as `/verify` does; with
    /// `remember_as`, the device is remembered.
    pub(super) async fn verify<S: Store, P: PhoneDelivery>(
        State(mfa): State<Arc<Mfa<S, P>>>,
        State(web): State<MfaWeb>,
        session: Session,
        Body(request): Body<AnswerRequest>,
    ) -> Result<Response, ErrorResponse> {
        let response = request.bytes(&web)?;
        let proof = web.verify_passkey(&mfa, &session, &response).await?;
        let cookie = remember(&mfa, &web, &proof, request.remember_as.as_deref()).await?;
        let body = serde_json::json!({
            "verified_at": proof.at(),
            "recovery_codes_left": proof.recovery_codes_left(),
        });
        Ok((cookie, Json(body)).into_response())
    }
}

/// Every answer is about one user's session and security info, some of it shown once: no cache keeps it.
async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A JSON request body whose refusal is an [`ErrorResponse`]: 400 for a body that is not JSON, 422
/// for JSON without the fields expected (or with a malformed id, phone kind or channel), 415 without
/// the JSON content type, 413 for a body too large.
struct Body<T>(T);

impl<St, T> FromRequest<St> for Body<T>
where
    T: DeserializeOwned,
    St: Send + Sync,
{
    type Rejection = ErrorResponse;

    async fn from_request(request: Request, state: &St) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(body_refused(&rejection)),
        }
    }
}

fn body_refused(rejection: &JsonRejection) -> ErrorResponse {
    ErrorResponse::client(rejection.status(), rejection.body_text())
}

/// The id in the path (a method, device or app password): [`mfa::Error::InvalidId`] (400) unless it
/// is one.
struct Id<T>(T);

impl<St, T> FromRequestParts<St> for Id<T>
where
    T: FromStr,
    MfaWeb: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let invalid = || MfaWeb::from_ref(state).error(mfa::Error::InvalidId);
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid())?;
        text.parse().map(Id).map_err(|_| invalid())
    }
}

/// The session's sign-in at any stage: pending (the sign-in's second step, or a registration the
/// policy asked for) or signed in (step-up, or a method added from the security info).
async fn sign_in_of(web: &MfaWeb, session: &Session) -> Result<SignInState, ErrorResponse> {
    Ok(web.sign_in_state(session).await?.ok_or(Rejection::NotSignedIn)?)
}

/// The user of a sign-in at any stage.
async fn signing_in(web: &MfaWeb, session: &Session) -> Result<UserId, ErrorResponse> {
    Ok(sign_in_of(web, session).await?.user)
}

#[derive(Deserialize)]
struct ChallengeRequest {
    method: Option<MethodId>,
    channel: Option<Channel>,
}

async fn challenge<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<ChallengeRequest>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let user = signing_in(&web, &session).await?;
    let challenge = mfa
        .challenge(&user, request.method, request.channel)
        .await
        .map_err(|e| web.error(e))?;
    if let Challenge::Push(sent) = &challenge {
        web.push_sent(&session, sent).await?;
    }
    Ok(Json(challenge))
}

#[derive(Deserialize)]
struct PushRequest {
    method: Option<MethodId>,
}

async fn send_push<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<PushRequest>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let sent = web
        .send_push(&mfa, &session, request.method, &PushOrigin::default())
        .await?;
    Ok(Json(sent))
}

#[derive(Deserialize)]
struct PollRequest {
    remember_as: Option<String>,
}

async fn push_status<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<PollRequest>,
) -> Result<Response, ErrorResponse> {
    match web.push_status(&mfa, &session).await? {
        PushStatus::Approved(proof) => {
            let cookie = remember(&mfa, &web, &proof, request.remember_as.as_deref()).await?;
            let body = serde_json::json!({
                "status": "approved",
                "verified_at": proof.at(),
                "recovery_codes_left": proof.recovery_codes_left(),
            });
            Ok((cookie, Json(body)).into_response())
        }
        status => Ok(Json(status).into_response()),
    }
}

/// A begun push app registration: the offer's URI (a secret until the app answers) and its QR code.
#[derive(Serialize)]
struct PushEnrollmentAnswer<'a> {
    method: MethodId,
    uri: &'a str,
    qr_svg: &'a str,
    qr_data_url: &'a str,
    expires_at: UnixTime,
}

async fn begin_push<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<BeginAppRequest>,
) -> Result<Response, ErrorResponse> {
    let who = sign_in_of(&web, &session).await?;
    let account = account_label(request.account.as_deref(), &who.user).map_err(|e| web.error(e))?;
    let name = request.name.as_deref().unwrap_or("Authenticator app (push)");
    let enrollment = web.begin_push_enrollment(&mfa, &session, &account, name).await?;
    let qr_svg = enrollment.qr().to_svg();
    let qr_data_url = enrollment.qr().to_data_url().map_err(|e| web.error(e.into()))?;
    let answer = PushEnrollmentAnswer {
        method: enrollment.method(),
        uri: enrollment.uri(),
        qr_svg: &qr_svg,
        qr_data_url: &qr_data_url,
        expires_at: enrollment.expires_at(),
    };
    Ok(Json(answer).into_response())
}

async fn push_enrollment_status<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<PollRequest>,
) -> Result<Response, ErrorResponse> {
    match web.push_enrollment_status(&mfa, &session).await? {
        None => Ok(Json(serde_json::json!({ "status": "waiting" })).into_response()),
        Some(enrolled) => {
            let cookie = remember(&mfa, &web, &enrolled.proof, request.remember_as.as_deref()).await?;
            let body = serde_json::json!({
                "status": "enrolled",
                "method": enrolled.method,
                "verified_at": enrolled.proof.at(),
            });
            Ok((cookie, Json(body)).into_response())
        }
    }
}

#[derive(Deserialize)]
struct VerifyRequest {
    method: MethodId,
    code: String,
    remember_as: Option<String>,
}

/// With `remember_as`, remembers the device after the proof just made ("don't ask again"): its
/// cookie. A device is remembered only here, with the proof in hand; the session keeps its instant,
/// not the proof, so no later request can remember a device on the strength of an old one.
async fn remember<S: Store, P: PhoneDelivery>(
    mfa: &Mfa<S, P>,
    web: &MfaWeb,
    proof: &Verified,
    remember_as: Option<&str>,
) -> Result<Option<DeviceCookie>, ErrorResponse> {
    match remember_as {
        Some(name) => Ok(Some(web.remember_device(mfa, proof, name).await?)),
        None => Ok(None),
    }
}

/// Records the proof in the session and, if asked, remembers the device.
async fn proven<S: Store, P: PhoneDelivery>(
    mfa: &Mfa<S, P>,
    web: &MfaWeb,
    session: &Session,
    proof: &Verified,
    remember_as: Option<&str>,
) -> Result<(Option<DeviceCookie>, Json<serde_json::Value>), ErrorResponse> {
    web.mfa_proven(session, proof).await?;
    let cookie = remember(mfa, web, proof, remember_as).await?;
    let body = serde_json::json!({
        "verified_at": proof.at(),
        "recovery_codes_left": proof.recovery_codes_left(),
    });
    Ok((cookie, Json(body)))
}

async fn verify<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<VerifyRequest>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let user = signing_in(&web, &session).await?;
    let proof = mfa
        .verify(&user, request.method, &request.code)
        .await
        .map_err(|e| web.error(e))?;
    proven(&mfa, &web, &session, &proof, request.remember_as.as_deref()).await
}

#[derive(Deserialize)]
struct BeginAppRequest {
    /// The method's name in the security info (default `Authenticator app`).
    name: Option<String>,
    /// The account the app shows under the issuer (default the user id).
    account: Option<String>,
}

/// The account label of a new authenticator app: what the app shows under the issuer, trimmed.
fn account_label(requested: Option<&str>, user: &UserId) -> Result<String, mfa::Error> {
    let label = requested.unwrap_or(user.as_str()).trim();
    if label.is_empty() || label.len() > MAX_USER_ID_BYTES || label.chars().any(char::is_control) {
        return Err(mfa::Error::InvalidName {
            reason: "an account label has 1 to 255 bytes and no control characters",
        });
    }
    Ok(label.to_owned())
}

/// A begun app registration, serialised straight from the enrollment's zeroizing renderings.
#[derive(Serialize)]
struct AppEnrollmentAnswer<'a> {
    method: MethodId,
    uri: &'a str,
    secret: &'a str,
    qr_svg: &'a str,
    qr_data_url: &'a str,
    expires_at: UnixTime,
}

async fn begin_app<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<BeginAppRequest>,
) -> Result<Response, ErrorResponse> {
    let who = sign_in_of(&web, &session).await?;
    let account = account_label(request.account.as_deref(), &who.user).map_err(|e| web.error(e))?;
    let name = request.name.as_deref().unwrap_or("Authenticator app");
    // The facade's rule: a user with methods needs a fresh proof (step-up); one without may
    // register with the password alone, which is the sign-in the policy sent to registration.
    let enrollment = mfa
        .begin_app_enrollment(&who.user, &account, name, who.mfa_at)
        .await
        .map_err(|e| web.error(e))?;
    let secret = enrollment.secret_for_typing();
    let qr_svg = enrollment.qr().to_svg();
    let qr_data_url = enrollment.qr().to_data_url().map_err(|e| web.error(e.into()))?;
    let answer = AppEnrollmentAnswer {
        method: enrollment.method(),
        uri: enrollment.uri().as_str(),
        secret: &secret,
        qr_svg: &qr_svg,
        qr_data_url: &qr_data_url,
        expires_at: enrollment.expires_at(),
    };
    Ok(Json(answer).into_response())
}

#[derive(Deserialize)]
struct BeginPhoneRequest {
    kind: PhoneKind,
    number: String,
    /// SMS or voice (default SMS for a mobile, voice for the others).
    channel: Option<Channel>,
}

async fn begin_phone<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<BeginPhoneRequest>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let who = sign_in_of(&web, &session).await?;
    let channel = request.channel.unwrap_or(match request.kind {
        PhoneKind::Mobile => Channel::Sms,
        _ => Channel::Voice,
    });
    let sent = mfa
        .begin_phone_enrollment(&who.user, request.kind, &request.number, channel, who.mfa_at)
        .await
        .map_err(|e| web.error(e))?;
    Ok(Json(sent))
}

/// A confirmed registration proved the new method: the session records it ([`MfaWeb::enrolled`]),
/// which completes a pending sign-in or refreshes a signed-in session's proof, and with
/// `remember_as` the device is remembered.
async fn registered<S: Store, P: PhoneDelivery>(
    mfa: &Mfa<S, P>,
    web: &MfaWeb,
    session: &Session,
    enrolled: &Enrolled,
    remember_as: Option<&str>,
) -> Result<(Option<DeviceCookie>, Json<serde_json::Value>), ErrorResponse> {
    web.enrolled(session, enrolled).await?;
    let cookie = remember(mfa, web, &enrolled.proof, remember_as).await?;
    let body = serde_json::json!({
        "method": enrolled.method,
        "verified_at": enrolled.proof.at(),
    });
    Ok((cookie, Json(body)))
}

async fn confirm_app<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<VerifyRequest>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let user = signing_in(&web, &session).await?;
    let enrolled = mfa
        .confirm_app_enrollment(&user, request.method, &request.code)
        .await
        .map_err(|e| web.error(e))?;
    registered(&mfa, &web, &session, &enrolled, request.remember_as.as_deref()).await
}

async fn confirm_phone<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<VerifyRequest>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let user = signing_in(&web, &session).await?;
    let enrolled = mfa
        .confirm_phone_enrollment(&user, request.method, &request.code)
        .await
        .map_err(|e| web.error(e))?;
    registered(&mfa, &web, &session, &enrolled, request.remember_as.as_deref()).await
}

#[derive(Deserialize)]
struct RedeemRequest {
    code: String,
}

async fn redeem<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    session: Session,
    Body(request): Body<RedeemRequest>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let user = signing_in(&web, &session).await?;
    let proof = mfa
        .redeem_recovery_code(&user, &request.code)
        .await
        .map_err(|e| web.error(e))?;
    proven(&mfa, &web, &session, &proof, None).await
}

async fn recovery_codes_left<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
) -> Result<impl IntoResponse, ErrorResponse> {
    let left = mfa
        .recovery_codes_left(&user.user)
        .await
        .map_err(|e| web.error(e))?;
    Ok(Json(serde_json::json!({ "left": left })))
}

/// A new set of recovery codes, shown once (the old set stops working).
#[derive(Serialize)]
struct RecoveryCodesAnswer<'a> {
    codes: Vec<&'a str>,
}

async fn generate_recovery_codes<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
) -> Result<Response, ErrorResponse> {
    let codes = mfa
        .generate_recovery_codes(&user.user, user.mfa_at)
        .await
        .map_err(|e| web.error(e))?;
    let answer = RecoveryCodesAnswer {
        codes: codes.codes().collect(),
    };
    Ok(Json(answer).into_response())
}

async fn methods<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
) -> Result<impl IntoResponse, ErrorResponse> {
    Ok(Json(
        mfa.list_methods(&user.user).await.map_err(|e| web.error(e))?,
    ))
}

async fn set_default_method<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
    Id(id): Id<MethodId>,
) -> Result<impl IntoResponse, ErrorResponse> {
    mfa.set_default_method(&user.user, id)
        .await
        .map_err(|e| web.error(e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A sensitive action: the facade asks for the session's proof to be fresh ([`mfa::Error::StepUpRequired`]).
async fn remove_method<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
    Id(id): Id<MethodId>,
) -> Result<impl IntoResponse, ErrorResponse> {
    mfa.remove_method(&user.user, id, user.mfa_at)
        .await
        .map_err(|e| web.error(e))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn app_passwords<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
) -> Result<impl IntoResponse, ErrorResponse> {
    Ok(Json(
        mfa.list_app_passwords(&user.user)
            .await
            .map_err(|e| web.error(e))?,
    ))
}

#[derive(Deserialize)]
struct AppPasswordRequest {
    name: String,
}

/// A new app password, its plaintext shown once.
#[derive(Serialize)]
struct NewAppPasswordAnswer<'a> {
    id: AppPasswordId,
    password: &'a str,
}

async fn create_app_password<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
    Body(request): Body<AppPasswordRequest>,
) -> Result<Response, ErrorResponse> {
    let created = mfa
        .create_app_password(&user.user, &request.name, user.mfa_at)
        .await
        .map_err(|e| web.error(e))?;
    let answer = NewAppPasswordAnswer {
        id: created.id,
        password: created.password.expose(),
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn revoke_app_password<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
    Id(id): Id<AppPasswordId>,
) -> Result<impl IntoResponse, ErrorResponse> {
    mfa.revoke_app_password(&user.user, id)
        .await
        .map_err(|e| web.error(e))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn devices<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
) -> Result<impl IntoResponse, ErrorResponse> {
    Ok(Json(
        mfa.list_devices(&user.user).await.map_err(|e| web.error(e))?,
    ))
}

async fn forget_device<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
    Id(id): Id<DeviceId>,
) -> Result<impl IntoResponse, ErrorResponse> {
    mfa.forget_device(&user.user, id)
        .await
        .map_err(|e| web.error(e))?;
    Ok(StatusCode::NO_CONTENT)
}
