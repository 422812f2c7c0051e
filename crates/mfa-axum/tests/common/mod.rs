//! A small host: an axum Router over MemoryStore, RecordingPhoneDelivery and a ManualClock, driven
//! with `oneshot` by a client that keeps its cookies.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use mfa::{
    Argon2Params, Clock, Config, KeyId, KeyRing, ManualClock, MemoryStore, MethodId, Mfa, MfaState,
    RecordingPhoneDelivery, TagSecret, UnixTime, UserId,
};
use mfa_axum::{
    CSRF_HEADER, CsrfToken, ErrorResponse, MfaWeb, PasswordCheck, PendingSecondFactor, SignedIn, StepUp,
    StepUpWithin, WebConfig, require_csrf,
};
use serde::Deserialize;
use tower::ServiceExt;
use tower_sessions::{MemoryStore as SessionStore, Session, SessionManagerLayer};

pub type Service = Mfa<MemoryStore, RecordingPhoneDelivery>;

/// Where the device endpoints are mounted.
pub const PUSH_BASE_URL: &str = "http://127.0.0.1/mfa/push";
pub const START_MS: i64 = 1_700_000_000_000;
pub const ALICE: &str = "user-42";
/// Bob: MFA enforced, no method yet, so his sign-in asks for a registration.
pub const BOB: &str = "user-7";

#[derive(Clone, Debug)]
pub struct AppState {
    pub mfa: Arc<Service>,
    pub web: MfaWeb,
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

/// The host's accounts: one user, one password.
struct Accounts;

#[derive(Debug, thiserror::Error)]
#[error("accounts unavailable")]
struct AccountsDown;

impl PasswordCheck for Accounts {
    type Error = AccountsDown;

    async fn check(&self, username: &str, password: &str) -> Result<Option<UserId>, Self::Error> {
        Ok(match (username, password) {
            ("alice", "correct horse") => Some(UserId::new(ALICE).unwrap()),
            ("bob", "battery staple") => Some(UserId::new(BOB).unwrap()),
            _ => None,
        })
    }
}

#[derive(Deserialize)]
struct SignInForm {
    username: String,
    password: String,
}

async fn sign_in(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let web = &app.web;
    if web
        .check_password(&session, &Accounts, &form.username, &form.password)
        .await?
        .is_none()
    {
        return Err(web.error(mfa::Error::Rejected));
    }
    let step = web.begin_sign_in(&app.mfa, &session, &headers).await?;
    let stage = serde_json::to_value(step.stage).unwrap();
    Ok((step.cookie, Json(serde_json::json!({ "stage": stage }))))
}

#[derive(Deserialize)]
struct VerifyForm {
    method: MethodId,
    code: String,
    #[serde(default)]
    remember: bool,
}

async fn verify(
    State(app): State<AppState>,
    session: Session,
    pending: PendingSecondFactor,
    Form(form): Form<VerifyForm>,
) -> Result<impl IntoResponse, ErrorResponse> {
    let web = &app.web;
    let proof = app
        .mfa
        .verify(&pending.user, form.method, &form.code)
        .await
        .map_err(|e| web.error(e))?;
    web.mfa_proven(&session, &proof).await?;
    let cookie = match form.remember {
        true => Some(web.remember_device(&app.mfa, &proof, "Firefox on Linux").await?),
        false => None,
    };
    Ok((cookie, "signed in"))
}

async fn step_up_verify(
    State(app): State<AppState>,
    session: Session,
    signed_in: SignedIn,
    Form(form): Form<VerifyForm>,
) -> Result<&'static str, ErrorResponse> {
    let web = &app.web;
    let proof = app
        .mfa
        .verify(&signed_in.user, form.method, &form.code)
        .await
        .map_err(|e| web.error(e))?;
    web.mfa_proven(&session, &proof).await?;
    Ok("stepped up")
}

async fn me(signed_in: SignedIn) -> String {
    signed_in.user.to_string()
}

async fn sensitive(step_up: StepUp) -> String {
    format!("fresh {}", step_up.user)
}

async fn sensitive_5(StepUpWithin(step_up): StepUpWithin<5>) -> String {
    format!("fresh {}", step_up.user)
}

async fn csrf(token: CsrfToken) -> String {
    token.as_str().to_owned()
}

async fn sign_out(State(app): State<AppState>, session: Session) -> Result<&'static str, ErrorResponse> {
    app.web.sign_out(&session).await?;
    Ok("signed out")
}

pub struct Host {
    pub mfa: Arc<Service>,
    pub web: MfaWeb,
    pub clock: Arc<ManualClock>,
    pub router: Router,
    pub alice: UserId,
    pub bob: UserId,
    pub app: MethodId,
    totp: mfa_otp::Totp,
}

impl Host {
    /// Alice, MFA enforced, with an authenticator app registered 30 s before `START_MS` + 30 s;
    /// Bob, MFA enforced, with no method.
    pub async fn new(config: WebConfig) -> Host {
        let clock = Arc::new(ManualClock::new(UnixTime::from_millis(START_MS)));
        let mut mfa_config = Config::default();
        // Small argon2 parameters keep app-password tests quick.
        mfa_config.app_passwords.params = Argon2Params {
            m_kib: 256,
            t: 1,
            p: 1,
        };
        let mfa = Arc::new(
            Mfa::new(
                mfa_config,
                KeyRing::new(KeyId(1), &[0x11; 32]).unwrap(),
                TagSecret::from_bytes(&[0x22; 32]).unwrap(),
                MemoryStore::new(),
                RecordingPhoneDelivery::new(),
            )
            .unwrap()
            .with_clock(clock.clone())
            .with_push(mfa_push::ServiceKey::from_seed(&[0x33; 32]), PUSH_BASE_URL)
            .unwrap(),
        );
        // Passkeys for the relying party of mfa-webauthn's test software authenticator.
        #[cfg(feature = "webauthn")]
        let mfa = Arc::new(
            Arc::into_inner(mfa)
                .unwrap()
                .with_webauthn(&mfa::WebauthnConfig {
                    rp_id: "example.com".into(),
                    rp_name: "Example".into(),
                    origin: "https://example.com".into(),
                    extra_origins: Vec::new(),
                })
                .unwrap(),
        );
        let web = MfaWeb::new(Arc::clone(&mfa), config).with_clock(clock.clone());
        let alice = UserId::new(ALICE).unwrap();
        mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
        let bob = UserId::new(BOB).unwrap();
        mfa.set_mfa_state(&bob, MfaState::Enforced).await.unwrap();
        let enrollment = mfa
            .begin_app_enrollment(&alice, "alice@example.com", "Phone", None)
            .await
            .unwrap();
        let totp = mfa_enroll::KeyUri::parse(enrollment.uri().as_str())
            .unwrap()
            .to_totp()
            .unwrap();
        let first = totp.generate(clock.now().as_secs() as u64).unwrap().to_string();
        mfa.confirm_app_enrollment(&alice, enrollment.method(), &first)
            .await
            .unwrap();
        // The next TOTP step, so sign-ins have a fresh code.
        clock.advance(Duration::from_secs(30));
        let state = AppState {
            mfa: Arc::clone(&mfa),
            web: web.clone(),
        };
        let sessions = SessionManagerLayer::new(SessionStore::default()).with_secure(false);
        let router = Router::new()
            .route("/sign-in", post(sign_in))
            .route("/verify", post(verify))
            .route("/step-up/verify", post(step_up_verify))
            .route("/me", get(me))
            .route("/sensitive", get(sensitive))
            .route("/sensitive-5", get(sensitive_5))
            .route("/csrf", get(csrf))
            .route("/sign-out", post(sign_out))
            .nest(
                "/api",
                mfa_axum::json_routes::<AppState, MemoryStore, RecordingPhoneDelivery>(),
            )
            .layer(axum::middleware::from_fn(require_csrf))
            .layer(sessions)
            // Devices sign their requests: no session, no CSRF token.
            .nest(
                "/mfa/push",
                mfa_axum::push_device_routes::<AppState, MemoryStore, RecordingPhoneDelivery>(),
            )
            .with_state(state);
        Host {
            mfa,
            web,
            clock,
            router,
            alice,
            bob,
            app: enrollment.method(),
            totp,
        }
    }

    /// The app's current code.
    pub fn code(&self) -> String {
        self.totp
            .generate(self.clock.now().as_secs() as u64)
            .unwrap()
            .to_string()
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }
}

/// A browser: keeps cookies (honouring Max-Age=0) and the CSRF token.
pub struct Client {
    router: Router,
    pub cookies: BTreeMap<String, String>,
    pub csrf: Option<String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The `Set-Cookie` header for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with(&format!("{name}=")))
    }
}

impl Client {
    pub fn session_id(&self) -> Option<String> {
        self.cookies.get("id").cloned()
    }

    async fn send(&mut self, request: Request<Body>) -> Answer {
        let response: Response<Body> = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let cookie = cookie::Cookie::parse(value.to_str().unwrap().to_owned()).unwrap();
            let cleared = cookie.max_age().is_some_and(|age| age.is_zero());
            if cleared {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// Fetches the session's CSRF token (making the session).
    pub async fn fetch_csrf(&mut self) -> String {
        let answer = self.get("/csrf").await;
        assert_eq!(answer.status, StatusCode::OK);
        self.csrf = Some(answer.body.clone());
        answer.body
    }

    /// A form post with the CSRF token in the header (if the client has one).
    pub async fn post(&mut self, path: &str, form: &str) -> Answer {
        let mut request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(token) = &self.csrf {
            request = request.header(CSRF_HEADER, token);
        }
        self.send(request.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    /// A form post exactly as given: no CSRF header.
    pub async fn post_bare(&mut self, path: &str, form: &str) -> Answer {
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.send(request).await
    }

    /// A request with a JSON body (or none) and the CSRF header.
    pub async fn json(&mut self, method: &str, path: &str, body: Option<serde_json::Value>) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, self.cookie_header());
        if let Some(token) = &self.csrf {
            request = request.header(CSRF_HEADER, token);
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    /// A request with this body exactly (and the CSRF header), with or without a content type.
    pub async fn raw(&mut self, method: &str, path: &str, content_type: Option<&str>, body: &str) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, self.cookie_header());
        if let Some(token) = &self.csrf {
            request = request.header(CSRF_HEADER, token);
        }
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        self.send(request.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    pub async fn password(&mut self) -> Answer {
        self.password_of("alice", "correct+horse").await
    }

    /// The sign-in form for another account (the password form-encoded).
    pub async fn password_of(&mut self, username: &str, password: &str) -> Answer {
        if self.csrf.is_none() {
            self.fetch_csrf().await;
        }
        self.post("/sign-in", &format!("username={username}&password={password}"))
            .await
    }

    pub async fn verify(&mut self, host: &Host, remember: bool) -> Answer {
        let form = format!("method={}&code={}&remember={remember}", host.app, host.code());
        self.post("/verify", &form).await
    }

    /// Password then the app's code: signed in.
    pub async fn sign_in(&mut self, host: &Host, remember: bool) {
        let answer = self.password().await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert!(answer.body.contains("second_factor_pending"), "{}", answer.body);
        let answer = self.verify(host, remember).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
}
