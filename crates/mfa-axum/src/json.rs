//! Optional JSON routes for a single-page app: challenge, verify, recovery codes, methods, devices.

use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use mfa::{Channel, DeviceId, MethodId, Mfa, PhoneDelivery, Store, UserId, Verified};
use serde::Deserialize;
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
    Json(request): Json<ChallengeRequest>,
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
    Json(request): Json<VerifyRequest>,
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
    Json(request): Json<RedeemRequest>,
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
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let id: DeviceId = id.parse().map_err(|e| web.error(e))?;
    mfa.forget_device(&user.user, id)
        .await
        .map_err(|e| web.error(e))?;
    Ok(StatusCode::NO_CONTENT)
}
