//! The service in-process: each test drives the router with `oneshot`, a cookie jar and the forms'
//! CSRF tokens, as a browser without JavaScript would.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mfa::{KeyId, KeyRing, TagSecret};
use mfa_sqlx::SqliteStore;
use tower::ServiceExt;

use crate::app::{AppState, router};

/// A response, read.
struct Page {
    status: StatusCode,
    location: Option<String>,
    retry_after: Option<String>,
    body: String,
}

/// A browser: a cookie jar over the router.
struct Browser {
    app: Router,
    jar: BTreeMap<String, String>,
    agent: &'static str,
}

impl Browser {
    fn new(app: &Router) -> Self {
        Browser {
            app: app.clone(),
            jar: BTreeMap::new(),
            agent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
        }
    }

    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Page {
        let cookies = self
            .jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = request
            .header(header::COOKIE, cookies)
            .header(header::USER_AGENT, self.agent)
            .body(body)
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        for value in response.headers().get_all(header::SET_COOKIE) {
            let cookie = cookie::Cookie::parse(value.to_str().unwrap().to_owned()).unwrap();
            if cookie.max_age().is_some_and(|age| age.is_zero()) {
                self.jar.remove(cookie.name());
            } else {
                self.jar
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let (status, location, retry_after) = (
            response.status(),
            header(header::LOCATION),
            header(header::RETRY_AFTER),
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        Page {
            status,
            location,
            retry_after,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Request::get(path), Body::empty()).await
    }

    /// A form post; `fields` are sent as they are (the test adds `csrf_token` or leaves it out).
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(request, Body::from(body)).await
    }
}

/// The value of the first `<input name="NAME" value="...">` of a page.
fn field(body: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// The key shown for typing on the registration page.
fn typed_key(body: &str) -> String {
    let start = body.find(r#"id="secret-key">"#).unwrap() + r#"id="secret-key">"#.len();
    body[start..].split('<').next().unwrap().replace(' ', "")
}

/// The code an authenticator app holding `key` shows `ahead` time steps from now.
fn app_code(key: &str, ahead: u64) -> String {
    let uri = format!("otpauth://totp/demo:alice?secret={key}&issuer=demo");
    let totp = mfa_enroll::KeyUri::parse(&uri).unwrap().to_totp().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now + 30 * ahead).unwrap().to_string()
}

async fn service(dev: bool) -> Router {
    let store = SqliteStore::in_memory().await.unwrap();
    let state = AppState::with_store(
        store,
        KeyRing::generate(KeyId(1)).unwrap(),
        TagSecret::generate().unwrap(),
        if dev {
            crate::app::Delivery::Outbox
        } else {
            crate::app::Delivery::Nowhere
        },
        None,
        None,
        std::sync::Arc::new(mfa::SystemClock),
    )
    .await
    .unwrap();
    router(state)
}

/// Signs `username` in with the demo password; answers the sign-in post and the CSRF token.
async fn password(browser: &mut Browser, username: &str) -> (Page, String) {
    let token = field(&browser.get("/sign-in").await.body, "csrf_token");
    let password = format!("{username}-demo-password");
    let page = browser
        .post(
            "/sign-in",
            &[
                ("csrf_token", &token),
                ("username", username),
                ("password", &password),
            ],
        )
        .await;
    (page, token)
}

/// Alice (MFA enforced, no method) signs in and registers an authenticator app; answers its key.
async fn alice_registers(browser: &mut Browser) -> String {
    let (page, token) = password(browser, "alice").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/sign-in/next"));
    let next = browser.get("/sign-in/next").await;
    assert!(next.body.contains("More information required"), "{}", next.body);
    let register = browser.get("/register/app").await;
    assert_eq!(register.status, StatusCode::OK);
    assert!(register.body.contains("<svg"), "the QR code is inline SVG");
    let key = typed_key(&register.body);
    let method = field(&register.body, "method");
    let code = app_code(&key, 0);
    let done = browser
        .post(
            "/register/app",
            &[("csrf_token", &token), ("method", &method), ("code", &code)],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/"), "{}", done.body);
    key
}

async fn sign_out(browser: &mut Browser) {
    let home = browser.get("/").await;
    let token = field(&home.body, "csrf_token");
    let out = browser.post("/sign-out", &[("csrf_token", &token)]).await;
    assert_eq!(out.location.as_deref(), Some("/sign-in"));
    assert_eq!(browser.get("/").await.location.as_deref(), Some("/sign-in"));
}

#[tokio::test]
async fn registration_during_sign_in_then_a_remembered_device_skips_the_prompt() {
    let app = service(true).await;
    let mut browser = Browser::new(&app);
    let key = alice_registers(&mut browser).await;
    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Welcome, alice"));
    sign_out(&mut browser).await;

    // The prompt: the app (the default) first, "Don't ask again", "Sign in another way".
    let (page, token) = password(&mut browser, "alice").await;
    assert_eq!(page.location.as_deref(), Some("/sign-in/next"));
    assert_eq!(
        browser.get("/sign-in/next").await.location.as_deref(),
        Some("/sign-in/verify")
    );
    let prompt = browser.get("/sign-in/verify").await;
    assert!(prompt.body.contains("authenticator app"), "{}", prompt.body);
    assert!(
        prompt.body.contains("Don't ask again for 90 days"),
        "{}",
        prompt.body
    );
    assert!(prompt.body.contains("Sign in another way"));
    let method = field(&prompt.body, "method");
    // The registration used this time step; the app's next code is within the window.
    let code = app_code(&key, 1);
    let fields = [
        ("csrf_token", token.as_str()),
        ("method", &method),
        ("code", &code),
        ("remember", "true"),
    ];
    let verified = browser.post("/sign-in/verify", &fields).await;
    assert_eq!(verified.location.as_deref(), Some("/"), "{}", verified.body);
    assert!(browser.jar.contains_key("mfa_device"), "the device cookie is set");
    let info = browser.get("/security-info").await;
    assert!(info.body.contains("Firefox"), "the remembered device is listed");
    sign_out(&mut browser).await;

    // Again: the remembered device spares the prompt.
    let (page, _) = password(&mut browser, "alice").await;
    assert_eq!(page.location.as_deref(), Some("/"), "{}", page.body);
    assert!(browser.get("/").await.body.contains("Welcome, alice"));

    // Another browser, without the cookie, is asked.
    let mut other = Browser::new(&app);
    let (page, _) = password(&mut other, "alice").await;
    assert_eq!(page.location.as_deref(), Some("/sign-in/next"));
}

#[tokio::test]
async fn a_form_post_without_its_csrf_token_is_refused() {
    let app = service(true).await;
    let mut browser = Browser::new(&app);
    let token = field(&browser.get("/sign-in").await.body, "csrf_token");
    let fields = [("username", "bob"), ("password", "bob-demo-password")];
    assert_eq!(
        browser.post("/sign-in", &fields).await.status,
        StatusCode::FORBIDDEN
    );
    let wrong = [("csrf_token", "x"), fields[0], fields[1]];
    assert_eq!(
        browser.post("/sign-in", &wrong).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        browser.get("/").await.location.as_deref(),
        Some("/sign-in"),
        "not signed in"
    );

    // Bob (MFA disabled) signs in with his password alone; his sign-out needs the token too.
    let right = [("csrf_token", token.as_str()), fields[0], fields[1]];
    assert_eq!(
        browser.post("/sign-in", &right).await.location.as_deref(),
        Some("/")
    );
    assert_eq!(browser.post("/sign-out", &[]).await.status, StatusCode::FORBIDDEN);
    assert!(
        browser.get("/").await.body.contains("Welcome, bob"),
        "still signed in"
    );
}

#[tokio::test]
async fn a_wrong_code_shows_an_error_page_without_detail() {
    let app = service(true).await;
    let mut browser = Browser::new(&app);
    let (_, token) = password(&mut browser, "alice").await;
    let register = browser.get("/register/app").await;
    let method = field(&register.body, "method");
    let fields = [
        ("csrf_token", token.as_str()),
        ("method", &method),
        ("code", "000000"),
    ];
    let page = browser.post("/register/app", &fields).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("That code didn&#39;t work"), "{}", page.body);
    for detail in ["Rejected", "expired", "used", &method] {
        assert!(!page.body.contains(detail), "{detail} in {}", page.body);
    }
    // Still pending: the code page is where "Start over" leads.
    assert_eq!(browser.get("/").await.location.as_deref(), Some("/sign-in/next"));

    // Repeated wrong codes lock, with a human message and Retry-After (bounded: 10 tries).
    let mut locked = None;
    for _ in 0..10 {
        let page = browser.post("/register/app", &fields).await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            locked = Some(page);
            break;
        }
    }
    let locked = locked.expect("locked within 10 tries");
    assert!(locked.retry_after.is_some());
    assert!(
        locked.body.contains("Too many attempts. Try again in"),
        "{}",
        locked.body
    );
}

#[tokio::test]
async fn a_wrong_password_gets_one_answer_for_name_and_password() {
    let app = service(true).await;
    let mut browser = Browser::new(&app);
    let token = field(&browser.get("/sign-in").await.body, "csrf_token");
    for (name, pass) in [("alice", "wrong"), ("nobody", "alice-demo-password")] {
        let fields = [
            ("csrf_token", token.as_str()),
            ("username", name),
            ("password", pass),
        ];
        let page = browser.post("/sign-in", &fields).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("Your account or password is incorrect."));
    }
}

#[tokio::test]
async fn phone_registration_reads_its_code_from_the_outbox() {
    let app = service(true).await;
    let mut browser = Browser::new(&app);
    let (_, token) = password(&mut browser, "alice").await;
    let form = [
        ("csrf_token", token.as_str()),
        ("kind", "mobile"),
        ("country", "+44"),
        ("number", "07700 900123"),
        ("channel", "sms"),
    ];
    let sent = browser.post("/register/phone", &form).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let method = field(&sent.body, "method");
    let outbox = browser.get("/dev/outbox").await;
    assert!(outbox.body.contains("Development only"));
    assert!(outbox.body.contains("+447700900123"), "{}", outbox.body);
    let at = outbox
        .body
        .find(" is your mfa-kit demo verification code")
        .unwrap();
    let code = &outbox.body[at - 6..at];
    let fields = [
        ("csrf_token", token.as_str()),
        ("method", &method),
        ("code", code),
    ];
    let done = browser.post("/register/phone/confirm", &fields).await;
    assert_eq!(done.location.as_deref(), Some("/"), "{}", done.body);
    assert!(browser.get("/security-info").await.body.contains("Phone"));
}

#[tokio::test]
async fn the_outbox_is_mounted_only_in_development_mode() {
    let app = service(false).await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get("/dev/outbox").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_admin_enforces_mfa_and_the_user_is_asked_to_register() {
    let app = service(true).await;
    // Bob is no administrator.
    let mut bob = Browser::new(&app);
    password(&mut bob, "bob").await;
    assert_eq!(bob.get("/admin").await.status, StatusCode::FORBIDDEN);
    sign_out(&mut bob).await;

    // The administrator (MFA enabled) registers an app at sign-in, then enforces MFA for Bob.
    let mut admin = Browser::new(&app);
    let (_, token) = password(&mut admin, "admin").await;
    let register = admin.get("/register/app").await;
    let (key, method) = (typed_key(&register.body), field(&register.body, "method"));
    let fields = [
        ("csrf_token", token.as_str()),
        ("method", &method),
        ("code", &app_code(&key, 0)),
    ];
    assert_eq!(
        admin.post("/register/app", &fields).await.location.as_deref(),
        Some("/")
    );
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    let fields = [
        ("csrf_token", token.as_str()),
        ("user", "user-bob"),
        ("state", "enforced"),
    ];
    assert_eq!(
        admin.post("/admin/state", &fields).await.location.as_deref(),
        Some("/admin")
    );
    assert!(
        admin
            .get("/admin")
            .await
            .body
            .contains(r#"value="enforced" selected"#)
    );

    let (page, _) = password(&mut bob, "bob").await;
    assert_eq!(page.location.as_deref(), Some("/sign-in/next"));
    assert!(
        bob.get("/sign-in/next")
            .await
            .body
            .contains("More information required")
    );
}

#[tokio::test]
async fn sign_out_everywhere_ends_the_other_browsers_session() {
    let app = service(true).await;
    let (mut first, mut second) = (Browser::new(&app), Browser::new(&app));
    for browser in [&mut first, &mut second] {
        let (page, _) = password(browser, "bob").await;
        assert_eq!(page.location.as_deref(), Some("/"));
    }
    let token = field(&first.get("/security-info").await.body, "csrf_token");
    let out = first
        .post("/security-info/sign-out-everywhere", &[("csrf_token", &token)])
        .await;
    assert_eq!(out.location.as_deref(), Some("/sign-in?changed=everywhere"));
    assert_eq!(second.get("/").await.location.as_deref(), Some("/sign-in"));
    assert_eq!(first.get("/").await.location.as_deref(), Some("/sign-in"));
}

#[tokio::test]
async fn an_app_password_serves_the_mail_client_until_deleted() {
    let app = service(true).await;
    let mut browser = Browser::new(&app);
    // App passwords need a registered method.
    alice_registers(&mut browser).await;
    let token = field(&browser.get("/security-info").await.body, "csrf_token");
    let created = browser
        .post(
            "/security-info/app-passwords",
            &[("csrf_token", &token), ("name", "Mail on my laptop")],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.body.contains("only time it is shown"));
    let start = created.body.find("<li><code>").unwrap() + "<li><code>".len();
    let secret = created.body[start..].split('<').next().unwrap().to_owned();

    let mail = |user: &str, password: &str| {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Request::get("/legacy/mail")
            .header(header::AUTHORIZATION, format!("Basic {credentials}"))
            .body(Body::empty())
            .unwrap()
    };
    use base64::Engine;
    let answer = app.clone().oneshot(mail("alice", &secret)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = app
        .clone()
        .oneshot(mail("alice", "alice-demo-password"))
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        StatusCode::UNAUTHORIZED,
        "the account password is not an app password"
    );

    let info = browser.get("/security-info").await;
    assert!(info.body.contains("Mail on my laptop"));
    let id = field(
        &info.body[info.body.find("app-passwords/delete").unwrap()..],
        "id",
    );
    let deleted = browser
        .post(
            "/security-info/app-passwords/delete",
            &[("csrf_token", &token), ("id", &id)],
        )
        .await;
    assert_eq!(deleted.location.as_deref(), Some("/security-info"));
    let answer = app.clone().oneshot(mail("alice", &secret)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn recovery_codes_are_offered_only_to_a_user_with_a_method() {
    // Bob (MFA disabled) has no method: the facade would refuse recovery codes, so the page does not
    // offer them; it says why.
    let app = service(true).await;
    let mut bob = Browser::new(&app);
    password(&mut bob, "bob").await;
    let page = bob.get("/security-info").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Generate new codes"), "{}", page.body);
    assert!(
        page.body.contains("recovery codes stand in for one"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_password_change_checks_the_form_then_signs_the_user_in_again_with_the_new_password() {
    let app = service(true).await;
    let mut browser = Browser::new(&app);
    alice_registers(&mut browser).await;
    let page = browser.get("/security-info/password").await;
    assert_eq!(page.status, StatusCode::OK);
    let token = field(&page.body, "csrf_token");
    let new = "a much longer new password";
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        [
            ("csrf_token", token.clone()),
            ("current", current.to_owned()),
            ("new", new.to_owned()),
            ("confirm", confirm.to_owned()),
        ]
    };
    let refusals = [
        (
            change("alice-demo-password", new, "something else"),
            "don&#39;t match",
        ),
        (
            change("alice-demo-password", "too short", "too short"),
            "at least 15",
        ),
        (
            change("not her password", new, new),
            "current password is incorrect",
        ),
        (
            change(
                "alice-demo-password",
                "alice-demo-password",
                "alice-demo-password",
            ),
            "haven&#39;t used here",
        ),
    ];
    for (fields, why) in refusals {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = browser.post("/security-info/password", &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains(why), "{why} not in {}", page.body);
    }
    assert_eq!(browser.get("/").await.status, StatusCode::OK, "still signed in");

    let fields = change("alice-demo-password", new, new);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = browser.post("/security-info/password", &fields).await;
    assert_eq!(done.location.as_deref(), Some("/sign-in?changed=password"));
    assert!(
        browser
            .get("/sign-in?changed=password")
            .await
            .body
            .contains("Your password was changed")
    );
    assert_eq!(browser.get("/").await.location.as_deref(), Some("/sign-in"));
    let (old, _) = password(&mut browser, "alice").await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "the old password is refused"
    );
    let token = field(&browser.get("/sign-in").await.body, "csrf_token");
    let fields = [
        ("csrf_token", token.as_str()),
        ("username", "alice"),
        ("password", new),
    ];
    let page = browser.post("/sign-in", &fields).await;
    assert_eq!(
        page.location.as_deref(),
        Some("/sign-in/next"),
        "asked for a code again"
    );
}

#[tokio::test]
async fn a_suspicious_activity_report_signs_out_everywhere_and_stops_prompts_until_cleared() {
    let app = service(true).await;
    let mut alice = Browser::new(&app);
    alice_registers(&mut alice).await;
    let token = field(&alice.get("/security-info").await.body, "csrf_token");
    let page = alice
        .post("/security-info/report", &[("csrf_token", &token)])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Your report was sent"), "{}", page.body);
    assert_eq!(alice.get("/").await.location.as_deref(), Some("/sign-in"));

    // No prompt while the report stands.
    let (page, _) = password(&mut alice, "alice").await;
    let blocked = match page.location.as_deref() {
        Some("/sign-in/next") => alice.get("/sign-in/verify").await,
        _ => page,
    };
    assert_eq!(blocked.status, StatusCode::FORBIDDEN, "{}", blocked.body);
    assert!(
        blocked
            .body
            .contains("Suspicious activity was reported on this account. Contact your administrator."),
        "{}",
        blocked.body
    );

    // The administrator sees the report and clears it.
    let mut admin = Browser::new(&app);
    let (_, token) = password(&mut admin, "admin").await;
    let register = admin.get("/register/app").await;
    let (key, method) = (typed_key(&register.body), field(&register.body, "method"));
    let fields = [
        ("csrf_token", token.as_str()),
        ("method", &method),
        ("code", &app_code(&key, 0)),
    ];
    admin.post("/register/app", &fields).await;
    assert!(
        admin
            .get("/admin")
            .await
            .body
            .contains("reported suspicious activity")
    );
    let fields = [("csrf_token", token.as_str()), ("user", "user-alice")];
    let cleared = admin.post("/admin/clear-report", &fields).await;
    assert_eq!(cleared.location.as_deref(), Some("/admin"));
    assert!(
        !admin
            .get("/admin")
            .await
            .body
            .contains("reported suspicious activity")
    );
    let (page, _) = password(&mut alice, "alice").await;
    assert_eq!(page.location.as_deref(), Some("/sign-in/next"), "{}", page.body);
    assert_eq!(alice.get("/sign-in/verify").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_malformed_form_is_a_422_page() {
    let app = service(true).await;
    let mut browser = Browser::new(&app);
    alice_registers(&mut browser).await;
    let token = field(&browser.get("/security-info").await.body, "csrf_token");
    for (path, fields) in [
        ("/security-info/default", vec![("method", "not-an-id")]),
        ("/security-info/remove", vec![]),
        ("/admin/state", vec![("user", "user-bob"), ("state", "sometimes")]),
    ] {
        let mut fields = fields;
        fields.push(("csrf_token", &token));
        let page = browser.post(path, &fields).await;
        let expected = if path == "/admin/state" {
            StatusCode::FORBIDDEN // Alice is no administrator: refused before the form is read.
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(page.status, expected, "{path}: {}", page.body);
        assert!(
            page.body.contains("<html"),
            "a page, not plain text: {}",
            page.body
        );
    }
}

/// A host's SMS gateway behind the signed webhook: what it received, signatures checked.
#[derive(Clone, Default)]
struct Gateway {
    received: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

#[tokio::test]
async fn with_a_provider_configured_codes_go_to_it_and_the_outbox_is_not_mounted() {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let gateway = Gateway::default();
    let receiver = axum::Router::new()
        .route(
            "/sms",
            axum::routing::post(
                |axum::extract::State(gateway): axum::extract::State<Gateway>,
                 headers: axum::http::HeaderMap,
                 body: axum::body::Bytes| async move {
                    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
                    let secret: mfa_delivery::WebhookSecret = SECRET.parse().unwrap();
                    let now = mfa::Clock::now(&mfa::SystemClock).as_secs();
                    let (id, at) = (header("webhook-id"), header("webhook-timestamp"));
                    secret
                        .verify(&id, &at, &header("webhook-signature"), &body, now)
                        .unwrap();
                    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    gateway.received.lock().unwrap().push(json);
                    axum::Json(serde_json::json!({ "id": "gateway-1" }))
                },
            ),
        )
        .with_state(gateway.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let vars = [
        ("MFA_WEBHOOK_URL", url),
        ("MFA_WEBHOOK_SECRET", SECRET.to_owned()),
    ];
    let config = mfa_delivery::DeliveryConfig::from_vars(|name| {
        vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    })
    .unwrap()
    .expect("the webhook is configured");
    let provider = mfa::BoxedPhoneDelivery::new(config.build().unwrap());
    let state = AppState::with_store(
        SqliteStore::in_memory().await.unwrap(),
        KeyRing::generate(KeyId(1)).unwrap(),
        TagSecret::generate().unwrap(),
        crate::app::Delivery::Provider(provider),
        None,
        None,
        std::sync::Arc::new(mfa::SystemClock),
    )
    .await
    .unwrap();
    let app = router(state);
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get("/dev/outbox").await.status, StatusCode::NOT_FOUND);

    let (_, token) = password(&mut browser, "alice").await;
    let form = [
        ("csrf_token", token.as_str()),
        ("kind", "mobile"),
        ("country", "+44"),
        ("number", "07700 900123"),
        ("channel", "sms"),
    ];
    let sent = browser.post("/register/phone", &form).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(!sent.body.contains("outbox"), "no outbox link: {}", sent.body);
    let received = gateway.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["to"], "+447700900123");
    assert_eq!(received[0]["channel"], "sms");
    let code = received[0]["code"].as_str().unwrap().to_owned();
    let fields = [
        ("csrf_token", token.as_str()),
        ("method", &field(&sent.body, "method")),
        ("code", &code),
    ];
    let done = browser.post("/register/phone/confirm", &fields).await;
    assert_eq!(done.location.as_deref(), Some("/"), "{}", done.body);
}

/// The service with push approvals, as development mode runs it (devices at `/mfa/push`).
async fn service_with_push() -> Router {
    let push = crate::app::Push {
        key: mfa_push::ServiceKey::generate().unwrap(),
        base_url: "http://127.0.0.1/mfa/push".to_owned(),
    };
    let state = AppState::with_store(
        SqliteStore::in_memory().await.unwrap(),
        KeyRing::generate(KeyId(1)).unwrap(),
        TagSecret::generate().unwrap(),
        crate::app::Delivery::Outbox,
        Some(push),
        None,
        std::sync::Arc::new(mfa::SystemClock),
    )
    .await
    .unwrap();
    router(state)
}

/// The text of the element with this id (HTML-unescaped as far as a URI needs).
fn by_id(body: &str, id: &str) -> String {
    let marker = format!(r#"id="{id}""#);
    let start = body.find(&marker).unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[start..];
    let text = &rest[rest.find('>').unwrap() + 1..];
    text[..text.find('<').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// A software authenticator on the in-process router: mfa-push's device side, the wall clock.
struct SoftApp {
    key: mfa_push::DeviceKey,
    offer: mfa_push::EnrollmentOffer,
    id: mfa_push::DeviceId,
}

fn now() -> mfa::UnixTime {
    use mfa::Clock;
    mfa::SystemClock.now()
}

impl SoftApp {
    async fn call(browser: &mut Browser, endpoint: mfa_push::Endpoint, body: String) -> Page {
        let request = Request::post(format!("/mfa/push/{}", endpoint.path()))
            .header(header::CONTENT_TYPE, "application/json");
        browser.send(request, Body::from(body)).await
    }

    async fn enroll(browser: &mut Browser, uri: &str) -> SoftApp {
        let offer = mfa_push::EnrollmentOffer::parse(uri).unwrap();
        let key = mfa_push::DeviceKey::generate(mfa_push::Algorithm::Ed25519).unwrap();
        let answer =
            mfa_push::EnrollmentAnswer::sign(&offer, &key, "Phone", mfa_push::WakeChannel::poll()).unwrap();
        let page = Self::call(browser, mfa_push::Endpoint::Enroll, answer.to_json().to_string()).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let receipt = mfa_push::EnrollmentReceipt::from_json(page.body.as_bytes()).unwrap();
        let id = receipt.verify(&offer, &key.public_key()).unwrap().clone();
        SoftApp { key, offer, id }
    }

    async fn answer(&self, browser: &mut Browser, decision: mfa_push::Decision) -> mfa_push::AnswerResult {
        let fetch = mfa_push::FetchRequest::sign(&self.key, &self.id, now())
            .unwrap()
            .to_json();
        let page = Self::call(browser, mfa_push::Endpoint::Pending, fetch).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let pending = mfa_push::PendingChallenges::from_json(page.body.as_bytes()).unwrap();
        let challenge = pending.challenges()[0]
            .verify(self.offer.service_key(), &self.id, now())
            .unwrap()
            .clone();
        let body = mfa_push::AnswerRequest::sign(&self.key, &self.id, challenge.id(), decision, now())
            .unwrap()
            .to_json();
        let page = Self::call(browser, mfa_push::Endpoint::Answer, body).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        mfa_push::AnswerResult::from_json(page.body.as_bytes()).unwrap()
    }
}

/// Push approvals without JavaScript: the "Check" buttons. Alice registers a push app during sign-in
/// (not yet, then done); at the next sign-in a denied request says so and offers another, which the
/// app approves with the page's number.
#[tokio::test]
async fn push_approvals_work_without_javascript() {
    let app = service_with_push().await;
    let mut browser = Browser::new(&app);
    let (_, token) = password(&mut browser, "alice").await;
    let next = browser.get("/sign-in/next").await;
    assert!(next.body.contains(r#"href="/register/push""#), "{}", next.body);
    let register = browser.get("/register/push").await;
    assert_eq!(register.status, StatusCode::OK, "{}", register.body);
    assert!(
        register.body.contains(r#"src="data:image/png;base64,"#),
        "the QR code is a PNG"
    );
    let uri = by_id(&register.body, "enroll-uri");
    let check = [("csrf_token", token.as_str())];
    let not_yet = browser.post("/register/push/check", &check).await;
    assert_eq!(not_yet.status, StatusCode::OK);
    assert!(
        not_yet.body.contains("hasn't finished setting up yet"),
        "{}",
        not_yet.body
    );
    let soft = SoftApp::enroll(&mut browser, &uri).await;
    let done = browser.post("/register/push/check", &check).await;
    assert_eq!(done.location.as_deref(), Some("/"), "{}", done.body);
    assert!(browser.get("/").await.body.contains("Welcome, alice"));
    sign_out(&mut browser).await;

    let (_, token) = password(&mut browser, "alice").await;
    let prompt = browser.get("/sign-in/verify").await;
    assert!(prompt.body.contains("Send request"), "{}", prompt.body);
    let method = field(&prompt.body, "method");
    let send = [("csrf_token", token.as_str()), ("method", method.as_str())];
    let sent = browser.post("/sign-in/push", &send).await;
    assert_eq!(
        sent.location.as_deref(),
        Some("/sign-in/push/wait"),
        "{}",
        sent.body
    );
    let wait = browser.get("/sign-in/push/wait").await;
    let number = by_id(&wait.body, "push-number");
    assert_eq!(number.len(), 2, "{number}");
    let check = [("csrf_token", token.as_str())];
    let waiting = browser.post("/sign-in/push/check", &check).await;
    assert_eq!(waiting.location.as_deref(), Some("/sign-in/push/wait"));

    assert_eq!(
        soft.answer(&mut browser, mfa_push::Decision::Deny).await,
        mfa_push::AnswerResult::Denied
    );
    let ended = browser.post("/sign-in/push/check", &check).await;
    assert_eq!(ended.location.as_deref(), Some("/sign-in/push/wait"));
    let page = browser.get("/sign-in/push/wait").await;
    assert!(page.body.contains("denied"), "{}", page.body);
    assert!(page.body.contains("Send another request") && page.body.contains("Use another method"));
    assert_eq!(browser.get("/").await.location.as_deref(), Some("/sign-in/next"));

    let sent = browser.post("/sign-in/push", &send).await;
    assert_eq!(sent.location.as_deref(), Some("/sign-in/push/wait"));
    let number: mfa_push::TypedNumber = by_id(&browser.get("/sign-in/push/wait").await.body, "push-number")
        .parse()
        .unwrap();
    assert_eq!(
        soft.answer(&mut browser, mfa_push::Decision::Approve(number))
            .await,
        mfa_push::AnswerResult::Approved
    );
    let approved = browser.post("/sign-in/push/check", &check).await;
    assert_eq!(approved.location.as_deref(), Some("/"), "{}", approved.body);
    assert!(browser.get("/").await.body.contains("Welcome, alice"));
    assert!(
        !browser.jar.contains_key("mfa_device"),
        "not remembered unless asked"
    );
    sign_out(&mut browser).await;

    // "Don't ask again": approved, then the next sign-in is spared.
    let (_, token) = password(&mut browser, "alice").await;
    let prompt = browser.get("/sign-in/verify").await;
    assert!(
        prompt.body.contains("Don't ask again for 90 days"),
        "{}",
        prompt.body
    );
    let send = [
        ("csrf_token", token.as_str()),
        ("method", method.as_str()),
        ("remember", "true"),
    ];
    browser.post("/sign-in/push", &send).await;
    let number: mfa_push::TypedNumber = by_id(&browser.get("/sign-in/push/wait").await.body, "push-number")
        .parse()
        .unwrap();
    soft.answer(&mut browser, mfa_push::Decision::Approve(number))
        .await;
    let check = [("csrf_token", token.as_str())];
    let approved = browser.post("/sign-in/push/check", &check).await;
    assert_eq!(approved.location.as_deref(), Some("/"), "{}", approved.body);
    assert!(browser.jar.contains_key("mfa_device"), "the device cookie is set");
    sign_out(&mut browser).await;
    let (page, _) = password(&mut browser, "alice").await;
    assert_eq!(
        page.location.as_deref(),
        Some("/"),
        "the remembered device spares the prompt"
    );

    // A sensitive change after the spared sign-in: a fresh verification, by push too.
    let token = field(&browser.get("/").await.body, "csrf_token");
    let codes = browser
        .post("/security-info/recovery-codes", &[("csrf_token", &token)])
        .await;
    assert_eq!(
        codes.location.as_deref(),
        Some("/step-up/verify"),
        "{}",
        codes.body
    );
    let prompt = browser.get("/step-up/verify").await;
    assert!(prompt.body.contains("Send request"), "{}", prompt.body);
    let send = [("csrf_token", token.as_str()), ("method", method.as_str())];
    let sent = browser.post("/step-up/push", &send).await;
    assert_eq!(
        sent.location.as_deref(),
        Some("/step-up/push/wait"),
        "{}",
        sent.body
    );
    let wait = browser.get("/step-up/push/wait").await;
    assert!(
        wait.body
            .contains("Enter this number in your authenticator app to verify"),
        "{}",
        wait.body
    );
    let number: mfa_push::TypedNumber = by_id(&wait.body, "push-number").parse().unwrap();
    soft.answer(&mut browser, mfa_push::Decision::Approve(number))
        .await;
    let check = [("csrf_token", token.as_str())];
    let approved = browser.post("/step-up/push/check", &check).await;
    assert_eq!(
        approved.location.as_deref(),
        Some("/security-info"),
        "{}",
        approved.body
    );
    let codes = browser
        .post("/security-info/recovery-codes", &[("csrf_token", &token)])
        .await;
    assert_eq!(codes.status, StatusCode::OK, "{}", codes.body);
    assert!(codes.body.contains("Your recovery codes"));
}
