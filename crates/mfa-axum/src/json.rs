//! Optional JSON routes for a single-page app: challenge, verify, recovery codes, methods, devices.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use mfa::{Channel, DeviceId, MethodId, Mfa, PhoneDelivery, Store, UserId, Verified};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use crate::{DeviceCookie, ErrorResponse, MfaWeb, Rejection, SignedIn};

/// The JSON routes of the sign-in's second step and of the security info a single-page app shows.
/// Mount them under a prefix, inside the session layer and [`require_csrf`](crate::require_csrf)
/// (the app sends the token in the `x-csrf-token` header):
///
/// | route | who | what |
/// |---|---|---|
/// | `POST /challenge` `{"method"?, "channel"?}` | a pending sign-in or a signed-in user (step-up) | [`Mfa::challenge`]: the [`Challenge`](mfa::Challenge) |
/// | `POST /verify` `{"method", "code", "remember_as"?}` | likewise | [`Mfa::verify`], then [`MfaWeb::mfa_proven`] and, with `remember_as`, the device cookie: `{"verified_at"}` |
/// | `POST /recovery-codes/redeem` `{"code"}` | likewise | [`Mfa::redeem_recovery_code`], then as `/verify`: `{"verified_at", "recovery_codes_left"}` |
/// | `GET /recovery-codes` | signed in | `{"left": n}` |
/// | `GET /methods` | signed in | [`Mfa::list_methods`] |
/// | `GET /devices` | signed in | [`Mfa::list_devices`] |
/// | `DELETE /devices/{id}` | signed in | [`Mfa::forget_device`]: 204 |
///
/// The state gives both the facade and the web layer by [`FromRef`]: `Arc<Mfa<S, P>>` and
/// [`MfaWeb`]. Errors are [`ErrorResponse`]s and [`Rejection`]s.
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
    Router::new()
        .route("/challenge", post(challenge::<S, P>))
        .route("/verify", post(verify::<S, P>))
        .route("/recovery-codes/redeem", post(redeem::<S, P>))
        .route("/recovery-codes", get(recovery_codes_left::<S, P>))
        .route("/methods", get(methods::<S, P>))
        .route("/devices", get(devices::<S, P>))
        .route("/devices/{id}", delete(forget_device::<S, P>))
        .layer(map_response(no_store))
}

/// Every answer is about one user's session and security info, some of it shown once: no cache keeps it.
async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A JSON request body whose refusal is an [`ErrorResponse`]: 400 for a body that is not JSON, 422
/// for JSON without the fields expected (or with a malformed id, code kind or channel), 415 without
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

/// The user of a sign-in at any stage: pending (the sign-in's second step) or signed in (step-up).
async fn signing_in(web: &MfaWeb, session: &Session) -> Result<UserId, ErrorResponse> {
    Ok(web
        .sign_in_state(session)
        .await?
        .ok_or(Rejection::NotSignedIn)?
        .user)
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
    Ok(Json(challenge))
}

#[derive(Deserialize)]
struct VerifyRequest {
    method: MethodId,
    code: String,
    remember_as: Option<String>,
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
    let cookie = match remember_as {
        Some(name) => Some(web.remember_device(mfa, proof, name).await?),
        None => None,
    };
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

async fn methods<S: Store, P: PhoneDelivery>(
    State(mfa): State<Arc<Mfa<S, P>>>,
    State(web): State<MfaWeb>,
    user: SignedIn,
) -> Result<impl IntoResponse, ErrorResponse> {
    Ok(Json(
        mfa.list_methods(&user.user).await.map_err(|e| web.error(e))?,
    ))
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
