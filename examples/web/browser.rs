//! End to end in a real browser: headless Chromium driven through WebDriver (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs both). Each test starts the service on a loopback port with a
//! clock it moves on by hand (a new authenticator code needs a new 30-second step), starts its own
//! chromedriver, and walks one scenario as a person would, from a fresh user. A missing browser fails
//! the test with what to install; nothing is skipped.
//!
//! `MFA_SCREENSHOT_DIR=docs/screenshots` keeps the screenshots the tests take of the main pages.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use mfa::{Clock, KeyId, KeyRing, MfaState, SystemClock, TagSecret, UnixTime};
use mfa_otp::Totp;
use mfa_push::{
    Algorithm, AnswerRequest, AnswerResult, Decision, DeviceId, DeviceKey, Endpoint, EnrollmentAnswer,
    EnrollmentOffer, EnrollmentReceipt, FetchRequest, PendingChallenges, TypedNumber, WakeChannel,
};
use mfa_sqlx::SqliteStore;
use serde_json::json;

use crate::app::{AppState, Delivery, Push, router};

/// The chromedriver to run: `CHROMEDRIVER`, else Debian's.
fn chromedriver_path() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned())
}

/// The browser: `CHROME`, else Debian's.
fn chromium_path() -> String {
    std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// A free loopback port (the listener is dropped at once; chromedriver takes it next).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// A chromedriver process, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// A chromedriver on a free port. The port is chosen before chromedriver takes it, so a test
    /// running beside this one may take it first: then chromedriver exits, and another port is tried.
    async fn start() -> Driver {
        for _ in 0..5 {
            if let Some(driver) = Self::try_start().await {
                return driver;
            }
        }
        panic!("chromedriver did not start on any of 5 ports");
    }

    async fn try_start() -> Option<Driver> {
        let path = chromedriver_path();
        let port = free_port();
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {path} ({e}): the browser tests need Chromium and its WebDriver \
                     (Debian: apt-get install chromium chromium-driver; or set CHROMEDRIVER and CHROME)"
                )
            });
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        // Ready when its port answers, and only if it is ours: a chromedriver that lost the port exits.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if driver.child.try_wait().ok().flatten().is_some() {
                return None;
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return match driver.child.try_wait() {
                    Ok(None) => Some(driver),
                    _ => None,
                };
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The wall clock moved on by hand: a new authenticator code needs a new 30-second step, and waiting
/// for one would make the tests slow.
#[derive(Debug, Default)]
struct SteppedClock {
    ahead_ms: AtomicI64,
}

impl SteppedClock {
    fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap();
        self.ahead_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> UnixTime {
        let now = SystemClock.now().as_millis();
        UnixTime::from_millis(now + self.ahead_ms.load(Ordering::SeqCst))
    }
}

/// The service on a loopback port, its clock, a chromedriver, and the browsers opened on it.
struct Site {
    state: AppState,
    clock: Arc<SteppedClock>,
    base: String,
    driver: Driver,
    /// A prefix that makes this test's user names fresh.
    tag: String,
}

impl Site {
    async fn start(tag: &str) -> Site {
        let clock = Arc::new(SteppedClock::default());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .unwrap();
        let address = listener.local_addr().unwrap();
        // `localhost`, not the IP address: WebAuthn takes no IP address as a relying party id, and
        // http://localhost is a secure context.
        let base = format!("http://localhost:{}", address.port());
        let webauthn = mfa::WebauthnConfig {
            rp_id: "localhost".into(),
            rp_name: "mfa-kit demo".into(),
            origin: base.clone(),
            extra_origins: Vec::new(),
        };
        let store = SqliteStore::in_memory().await.unwrap();
        // Push approvals as the service runs them in development mode: a new key, devices at its own address.
        let push = Push {
            key: mfa_push::ServiceKey::generate().unwrap(),
            base_url: format!("http://{address}/mfa/push"),
        };
        let state = AppState::with_store(
            store,
            KeyRing::generate(KeyId(1)).unwrap(),
            TagSecret::generate().unwrap(),
            Delivery::Outbox,
            Some(push),
            Some(webauthn),
            Arc::clone(&clock) as Arc<dyn Clock>,
        )
        .await
        .unwrap();
        let app = router(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Site {
            state,
            clock,
            base,
            driver: Driver::start().await,
            tag: tag.to_owned(),
        }
    }

    /// A new browser with its own profile (cookies apart from every other).
    async fn browser(&self) -> Browser {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium_path(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1000,900", "--lang=en-GB"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.driver.url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start {} ({e})", chromium_path()));
        Browser {
            client,
            base: self.base.clone(),
        }
    }

    /// A fresh account `TAG-NAME` with the MFA state given; answers the user name and password.
    async fn user(&self, name: &str, admin: bool, state: MfaState) -> (String, String) {
        static N: AtomicU32 = AtomicU32::new(0);
        let username = format!("{}-{name}{}", self.tag, N.fetch_add(1, Ordering::Relaxed));
        let password = format!("{username}-browser-password");
        self.state
            .add_account(&username, &password, admin, state)
            .await
            .unwrap();
        (username, password)
    }

    /// Time moves on by one TOTP step, so the next code is a new one.
    fn next_step(&self) {
        self.clock.advance(Duration::from_secs(30));
    }

    /// The code an app holding `key` (as typed, spaces allowed) shows now.
    fn app_code(&self, key: &str) -> String {
        let uri = format!(
            "otpauth://totp/demo:user?secret={}&issuer=demo",
            key.replace(' ', "")
        );
        let totp: Totp = mfa_enroll::KeyUri::parse(&uri).unwrap().to_totp().unwrap();
        totp.generate(u64::try_from(self.now().as_secs()).unwrap())
            .unwrap()
            .to_string()
    }

    fn now(&self) -> UnixTime {
        self.clock.now()
    }
}

/// A browser window on the site.
struct Browser {
    client: Client,
    base: String,
}

impl Browser {
    async fn open(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    async fn css(&self, selector: &str) -> Element {
        match self.client.find(Locator::Css(selector)).await {
            Ok(element) => element,
            Err(e) => panic!("no {selector} on {}: {e}", self.path().await),
        }
    }

    async fn text(&self, selector: &str) -> String {
        self.css(selector).await.text().await.unwrap()
    }

    /// The heading of the page.
    async fn heading(&self) -> String {
        self.text("h1").await
    }

    async fn fill(&self, selector: &str, value: &str) {
        let field = self.css(selector).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the button (or link) whose text is `label`, and waits for the page it leads to.
    async fn press(&self, label: &str) {
        let xpath = format!("//button[normalize-space()='{label}'] | //a[normalize-space()='{label}']");
        let element = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button or link {label:?}: {e}"));
        self.click_to_leave(&element).await;
    }

    /// Clicks `element`, and waits until the page it leads to has loaded: a click returns when the
    /// click is done, not always when the navigation it started is.
    async fn click_to_leave(&self, element: &Element) {
        let old = self.css("html").await;
        element.click().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        // The old document's root goes stale once the new document replaces it.
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the click led nowhere within 15 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while self
            .client
            .execute("return document.readyState", vec![])
            .await
            .ok()
            != Some(json!("complete"))
        {
            assert!(Instant::now() < deadline, "the page did not load within 15 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Clicks the button whose text starts with `start` (a masked number follows, say).
    async fn press_starting(&self, start: &str) {
        let xpath = format!("//button[starts-with(normalize-space(), '{start}')]");
        let element = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button starting {start:?}: {e}"));
        self.click_to_leave(&element).await;
    }

    async fn sign_in(&self, username: &str, password: &str) {
        self.open("/sign-in").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.press("Sign in").await;
    }

    async fn sign_out(&self) {
        self.open("/").await;
        self.press("Sign out").await;
        assert_eq!(self.heading().await, "Sign in");
    }

    /// Types `code` in the prompt's code field and verifies, ticking "Don't ask again" or not.
    async fn enter_code(&self, code: &str, remember: bool) {
        self.fill("#code", code).await;
        if remember {
            self.css("input[name=remember]").await.click().await.unwrap();
        }
        self.press("Verify").await;
    }

    /// Keeps a screenshot of the page as `docs/screenshots/NAME.png` when `MFA_SCREENSHOT_DIR` says where.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        if let Some(dir) = std::env::var_os("MFA_SCREENSHOT_DIR") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
        }
    }

    async fn body(&self) -> String {
        self.text("body").await
    }

    /// Waits (up to 15 s) until the page, which goes on by itself, has a heading that starts with
    /// `start`.
    async fn wait_for_heading(&self, start: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let heading = self.client.find(Locator::Css("h1")).await;
            if let Ok(heading) = heading
                && heading.text().await.is_ok_and(|t| t.starts_with(start))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no heading {start:?} within 15 s on {}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 15 s) until the page says `text`.
    async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let body = self.client.find(Locator::Css("body")).await;
            if let Ok(body) = body
                && body.text().await.is_ok_and(|t| t.contains(text))
            {
                return;
            }
            assert!(Instant::now() < deadline, "{text:?} not shown within 15 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// The newest code in the development outbox, read as a person would: from the page, the digits of
/// the newest message (a call reads the code out twice, digit by digit).
async fn outbox_code(browser: &Browser, digits: usize) -> String {
    browser.open("/dev/outbox").await;
    let text = browser.text("td.message").await;
    let code: String = text.chars().filter(char::is_ascii_digit).take(digits).collect();
    assert_eq!(code.len(), digits, "no code in {text:?}");
    code
}

/// Registers an authenticator app for `username` through the facade (the browser part of
/// registration is scenario 1's); answers the key as typed.
async fn with_app(site: &Site, username: &str) -> String {
    let account = site.state.accounts.by_name(username).unwrap();
    let enrollment = site
        .state
        .mfa
        .begin_app_enrollment(&account.user, username, "Authenticator app", None)
        .await
        .unwrap();
    let key = enrollment.secret_for_typing().to_string();
    site.state
        .mfa
        .confirm_app_enrollment(&account.user, enrollment.method(), &site.app_code(&key))
        .await
        .unwrap();
    site.next_step();
    key
}

/// Password, then the app's code: signed in.
async fn sign_in_with_app(site: &Site, browser: &Browser, username: &str, password: &str, key: &str) {
    browser.sign_in(username, password).await;
    assert_eq!(browser.heading().await, "Enter code");
    browser.enter_code(&site.app_code(key), false).await;
    site.next_step();
    assert!(
        browser.heading().await.starts_with("Welcome"),
        "{}",
        browser.body().await
    );
}

/// Scenarios 1 and 2: the administrator enforces MFA; the user is sent to registration, registers an
/// authenticator app by reading the key from the page, ticks "Don't ask again", signs out and in
/// again without a prompt; a password change then makes the same browser prompt again.
#[tokio::test]
async fn enforced_registration_remembered_device_and_password_change() {
    let site = Site::start("enforce").await;
    let (admin, admin_password) = site.user("admin", true, MfaState::Disabled).await;
    let (user, password) = site.user("carol", false, MfaState::Disabled).await;

    // The administrator enforces MFA for the user.
    let desk = site.browser().await;
    desk.sign_in(&admin, &admin_password).await;
    assert!(desk.heading().await.starts_with("Welcome"));
    desk.press("Administration: users and MFA").await;
    let select = format!("select[aria-label='MFA state of {user}']");
    desk.css(&select).await.select_by_value("enforced").await.unwrap();
    let save = desk.css(&format!("form:has({select}) button")).await;
    desk.click_to_leave(&save).await;
    assert_eq!(
        desk.css(&select).await.prop("value").await.unwrap().as_deref(),
        Some("enforced")
    );
    desk.screenshot("admin").await;
    desk.close().await;

    // The user signs in and is asked to register.
    let browser = site.browser().await;
    browser.open("/sign-in").await;
    browser.screenshot("sign-in").await;
    browser.sign_in(&user, &password).await;
    assert_eq!(browser.heading().await, "More information required");
    browser.screenshot("more-information-required").await;
    browser.press("Next").await;
    assert_eq!(browser.heading().await, "Set up your authenticator app");
    browser.css(".qr svg").await;
    browser.screenshot("register-app").await;
    let key = browser.text("#secret-key").await;
    browser.fill("#code", &site.app_code(&key)).await;
    browser.press("Next").await;
    assert!(
        browser.heading().await.starts_with("Welcome"),
        "{}",
        browser.body().await
    );
    site.next_step();

    // Next time: the code, and "Don't ask again".
    browser.sign_out().await;
    browser.sign_in(&user, &password).await;
    assert_eq!(browser.heading().await, "Enter code");
    let body = browser.body().await;
    assert!(body.contains("Don't ask again for 90 days"), "{body}");
    browser.screenshot("enter-code").await;
    browser.enter_code(&site.app_code(&key), true).await;
    assert!(browser.heading().await.starts_with("Welcome"));
    site.next_step();

    // The remembered device: no prompt.
    browser.sign_out().await;
    browser.sign_in(&user, &password).await;
    assert!(
        browser.heading().await.starts_with("Welcome"),
        "{}",
        browser.body().await
    );
    browser.press("Security info").await;
    assert!(browser.body().await.contains("asks again after"));
    browser.screenshot("security-info").await;

    // A password change: signed out, and the same browser is asked for a code again.
    browser.press("Change password").await;
    let new_password = format!("{password}-changed");
    browser.fill("#current", &password).await;
    browser.fill("#new", &new_password).await;
    browser.fill("#confirm", &new_password).await;
    browser.press("Change password").await;
    assert_eq!(browser.heading().await, "Sign in");
    assert!(browser.body().await.contains("Your password was changed"));
    browser.sign_in(&user, &password).await;
    assert!(
        browser
            .body()
            .await
            .contains("Your account or password is incorrect.")
    );
    browser.sign_in(&user, &new_password).await;
    assert_eq!(browser.heading().await, "Enter code", "{}", browser.body().await);
    browser.enter_code(&site.app_code(&key), false).await;
    assert!(browser.heading().await.starts_with("Welcome"));
    browser.close().await;
}

/// Scenario 3: a mobile phone registered during sign-in with a text, the code read from the outbox
/// page; then sign-in by text, then by a voice call.
#[tokio::test]
async fn phone_registration_and_sign_in_by_text_and_by_call() {
    let site = Site::start("phone").await;
    let (user, password) = site.user("dave", false, MfaState::Enforced).await;
    let browser = site.browser().await;
    let outbox = site.browser().await;

    browser.sign_in(&user, &password).await;
    assert_eq!(browser.heading().await, "More information required");
    browser.press("use a phone instead").await;
    assert_eq!(browser.heading().await, "Phone");
    browser
        .css("#kind")
        .await
        .select_by_value("mobile")
        .await
        .unwrap();
    browser
        .css("#country")
        .await
        .select_by_value("+44")
        .await
        .unwrap();
    browser.fill("#number", "07700 900123").await;
    browser.screenshot("register-phone").await;
    browser.press("Next").await;
    assert!(
        browser.body().await.contains("We just sent a code to"),
        "{}",
        browser.body().await
    );
    let code = outbox_code(&outbox, 6).await;
    outbox.screenshot("outbox").await;
    assert!(outbox.body().await.contains("+447700900123"));
    browser.fill("#code", &code).await;
    browser.press("Next").await;
    assert!(
        browser.heading().await.starts_with("Welcome"),
        "{}",
        browser.body().await
    );

    // By text.
    browser.sign_out().await;
    site.clock.advance(Duration::from_secs(120));
    browser.sign_in(&user, &password).await;
    assert_eq!(browser.heading().await, "Enter code");
    let body = browser.body().await;
    assert!(body.contains("We'll send a code to your phone"), "{body}");
    browser.press_starting("Text +").await;
    assert!(
        browser.body().await.contains("We texted your phone"),
        "{}",
        browser.body().await
    );
    let code = outbox_code(&outbox, 6).await;
    browser.enter_code(&code, false).await;
    assert!(
        browser.heading().await.starts_with("Welcome"),
        "{}",
        browser.body().await
    );

    // By a call.
    browser.sign_out().await;
    site.clock.advance(Duration::from_secs(120));
    browser.sign_in(&user, &password).await;
    browser.press_starting("Call +").await;
    assert!(
        browser.body().await.contains("We called your phone"),
        "{}",
        browser.body().await
    );
    outbox.open("/dev/outbox").await;
    assert!(
        outbox
            .text("td.message")
            .await
            .starts_with("Your mfa-kit demo verification code is")
    );
    let code = outbox_code(&outbox, 6).await;
    browser.enter_code(&code, false).await;
    assert!(
        browser.heading().await.starts_with("Welcome"),
        "{}",
        browser.body().await
    );
    browser.close().await;
    outbox.close().await;
}

/// What a mail client gets from the legacy endpoint with these credentials: the status.
async fn mail_client(site: &Site, username: &str, password: &str) -> u16 {
    // mfa-delivery turns on reqwest's `rustls-no-provider`: a client needs a process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .get(format!("{}/legacy/mail", site.base))
        .basic_auth(username, Some(password))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Scenario 4: an app password created on the security info page, used by a mail client, deleted,
/// and refused.
#[tokio::test]
async fn app_password_for_a_mail_client() {
    let site = Site::start("mail").await;
    let (user, password) = site.user("erin", false, MfaState::Enabled).await;
    let key = with_app(&site, &user).await;
    let browser = site.browser().await;
    sign_in_with_app(&site, &browser, &user, &password, &key).await;

    browser.press("Security info").await;
    browser.fill("#app-password-name", "Mail on my laptop").await;
    browser.press("Create").await;
    assert_eq!(browser.heading().await, "Your new app password");
    let app_password = browser.text("ul.secrets code").await;
    browser.screenshot("app-password").await;
    assert_eq!(mail_client(&site, &user, &app_password).await, 200);
    assert_eq!(
        mail_client(&site, &user, &password).await,
        401,
        "the password itself is refused"
    );

    browser.press("Done").await;
    assert!(browser.body().await.contains("Mail on my laptop"));
    let row = "//tr[td[normalize-space()='Mail on my laptop']]//button[normalize-space()='Delete']";
    let delete = browser.client.find(Locator::XPath(row)).await.unwrap();
    browser.click_to_leave(&delete).await;
    assert!(!browser.body().await.contains("Mail on my laptop"));
    assert_eq!(mail_client(&site, &user, &app_password).await, 401);
    browser.close().await;
}

/// Scenario 5: a recovery code signs in once, and not twice.
#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let site = Site::start("recovery").await;
    let (user, password) = site.user("frank", false, MfaState::Enabled).await;
    let key = with_app(&site, &user).await;
    let browser = site.browser().await;
    sign_in_with_app(&site, &browser, &user, &password, &key).await;

    browser.press("Security info").await;
    browser.press("Generate new codes").await;
    assert_eq!(browser.heading().await, "Your recovery codes");
    let codes = browser
        .client
        .find_all(Locator::Css("ul.secrets code"))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    let code = codes[3].text().await.unwrap();
    browser.screenshot("recovery-codes").await;

    for attempt in 0..2 {
        browser.sign_out().await;
        browser.sign_in(&user, &password).await;
        browser.press("Sign in another way").await;
        assert_eq!(browser.heading().await, "Verify your identity");
        browser.press("Use a recovery code").await;
        browser.fill("#code", &code).await;
        browser.press("Verify").await;
        if attempt == 0 {
            assert!(
                browser.heading().await.starts_with("Welcome"),
                "{}",
                browser.body().await
            );
        } else {
            assert_eq!(browser.heading().await, "Use a recovery code");
            assert_eq!(
                browser.text("p.error").await,
                "That code didn't work. Check the code and try again."
            );
            browser.open("/").await;
            assert_eq!(browser.path().await, "/sign-in/verify", "not signed in");
        }
    }
    browser.close().await;
}

/// Scenario 6: wrong codes, then the lock, told as a person reads it, with the time to wait.
#[tokio::test]
async fn wrong_codes_lock_with_a_human_message() {
    let site = Site::start("lock").await;
    let (user, password) = site.user("grace", false, MfaState::Enabled).await;
    let key = with_app(&site, &user).await;
    let browser = site.browser().await;
    browser.sign_in(&user, &password).await;
    let right = site.app_code(&key);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 500_000) % 1_000_000);

    let mut locked = None;
    for attempt in 1..=20 {
        // The prompt comes back, saying why; the code is typed again there.
        assert_eq!(browser.heading().await, "Enter code");
        browser.enter_code(&wrong, false).await;
        let message = browser.text("p.error").await;
        if message.starts_with("Too many attempts") {
            locked = Some((attempt, message));
            break;
        }
        assert_eq!(message, "That code didn't work. Check the code and try again.");
    }
    let (attempts, message) = locked.expect("no lock after 20 wrong codes");
    assert!(attempts > 1, "the first wrong code locked");
    assert!(message.contains("Try again in "), "{message}");
    browser.screenshot("locked").await;

    // Locked: even the right code waits.
    browser.enter_code(&right, false).await;
    assert!(browser.text("p.error").await.starts_with("Too many attempts"));
    browser.close().await;
}

/// Scenario 7: a form post without its CSRF token is refused with 403; "sign out everywhere" in one
/// browser signs the other out on its next request.
#[tokio::test]
async fn csrf_and_sign_out_everywhere() {
    let site = Site::start("csrf").await;
    let (user, password) = site.user("heidi", false, MfaState::Enabled).await;
    let key = with_app(&site, &user).await;
    let laptop = site.browser().await;
    let phone = site.browser().await;
    sign_in_with_app(&site, &laptop, &user, &password, &key).await;
    sign_in_with_app(&site, &phone, &user, &password, &key).await;

    // A post without its token: 403, and nothing changes.
    laptop.press("Security info").await;
    laptop.fill("#app-password-name", "Forged").await;
    laptop
        .client
        .execute(
            "document.querySelector('form[action=\"/security-info/app-passwords\"] input[name=csrf_token]').remove()",
            vec![],
        )
        .await
        .unwrap();
    laptop.press("Create").await;
    assert!(
        laptop.body().await.contains("This form has expired"),
        "{}",
        laptop.body().await
    );
    let status = laptop
        .client
        .execute(
            "return performance.getEntriesByType('navigation')[0].responseStatus",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(403));
    laptop.open("/security-info").await;
    assert!(!laptop.body().await.contains("Forged"));

    // Sign out everywhere on the laptop; the phone is out at its next request.
    laptop.press("Sign out everywhere").await;
    assert_eq!(laptop.heading().await, "Sign in");
    assert!(laptop.body().await.contains("You were signed out everywhere"));
    phone.open("/security-info").await;
    assert_eq!(phone.path().await, "/sign-in");
    laptop.close().await;
    phone.close().await;
}

/// A software authenticator speaking the push protocol (mfa-push's device side) over HTTP to the
/// running service's `/mfa/push` endpoints, as a phone app would; its clock is the service's.
struct PushApp {
    http: reqwest::Client,
    key: DeviceKey,
    offer: EnrollmentOffer,
    id: DeviceId,
}

impl PushApp {
    async fn post(http: &reqwest::Client, url: String, body: String) -> (u16, String) {
        let response = http
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Scans the enrollment link, makes a key and enrolls; checks the service's receipt.
    async fn enroll(uri: &str) -> PushApp {
        // mfa-delivery turns on reqwest's `rustls-no-provider`: a client needs a process-wide provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let offer = EnrollmentOffer::parse(uri).unwrap();
        let key = DeviceKey::generate(Algorithm::EcdsaP256).unwrap();
        let answer = EnrollmentAnswer::sign(&offer, &key, "Test phone", WakeChannel::poll()).unwrap();
        let url = Endpoint::Enroll.url(offer.base_url());
        let (status, body) = Self::post(&http, url, answer.to_json().to_string()).await;
        assert_eq!(status, 200, "{body}");
        let receipt = EnrollmentReceipt::from_json(body.as_bytes()).unwrap();
        let id = receipt.verify(&offer, &key.public_key()).unwrap().clone();
        PushApp { http, key, offer, id }
    }

    /// The pending requests, each checked with the pinned service key before it is shown.
    async fn pending(&self, site: &Site) -> Vec<mfa_push::Challenge> {
        let body = FetchRequest::sign(&self.key, &self.id, site.now())
            .unwrap()
            .to_json();
        let url = Endpoint::Pending.url(self.offer.base_url());
        let (status, body) = Self::post(&self.http, url, body).await;
        assert_eq!(status, 200, "{body}");
        let pending = PendingChallenges::from_json(body.as_bytes()).unwrap();
        pending
            .challenges()
            .iter()
            .map(|c| {
                c.verify(self.offer.service_key(), &self.id, site.now())
                    .unwrap()
                    .clone()
            })
            .collect()
    }

    /// The person reads the request, types `number` and approves.
    async fn approve(&self, site: &Site, number: &str) -> AnswerResult {
        let pending = self.pending(site).await;
        assert_eq!(pending.len(), 1, "one request waits");
        assert_eq!(pending[0].requester().application, "mfa-kit demo");
        let typed: TypedNumber = number.parse().unwrap();
        let body = AnswerRequest::sign(
            &self.key,
            &self.id,
            pending[0].id(),
            Decision::Approve(typed),
            site.now(),
        )
        .unwrap()
        .to_json();
        let url = Endpoint::Answer.url(self.offer.base_url());
        let (status, body) = Self::post(&self.http, url, body).await;
        assert_eq!(status, 200, "{body}");
        AnswerResult::from_json(body.as_bytes()).unwrap()
    }
}

/// Scenario 8: "Approve a request on my authenticator app". Registration during sign-in by the
/// enrollment link on the page (the page goes on by itself once the app has enrolled); then sign-in by
/// push: the page shows a number, the app approves with it, the page goes on to the home page. A wrong
/// number is refused, and another request then signs in.
#[tokio::test]
async fn push_approval_registration_and_sign_in_with_the_number() {
    let site = Site::start("push").await;
    let (user, password) = site.user("frank", false, MfaState::Enforced).await;
    let browser = site.browser().await;

    // Registration, asked for at sign-in.
    browser.sign_in(&user, &password).await;
    assert_eq!(browser.heading().await, "More information required");
    browser.press("approve requests on my authenticator app").await;
    assert_eq!(
        browser.heading().await,
        "Set up approvals on your authenticator app"
    );
    browser.css(".qr img").await;
    browser.screenshot("register-push").await;
    let uri: String = browser.text("#enroll-uri").await.split_whitespace().collect();
    assert!(uri.starts_with("mfa-push://enroll?"), "{uri}");
    let app = PushApp::enroll(&uri).await;
    browser.wait_for_heading("Welcome").await;

    // Sign-in by push: the number on the page, typed in the app.
    browser.sign_out().await;
    browser.sign_in(&user, &password).await;
    assert_eq!(
        browser.heading().await,
        "Approve sign-in request",
        "{}",
        browser.body().await
    );
    browser.press("Send request").await;
    assert_eq!(browser.heading().await, "Approve sign-in request");
    let number = browser.text("#push-number").await;
    assert!(
        browser
            .body()
            .await
            .contains("Enter this number in your authenticator app to sign in:")
    );
    browser.screenshot("push-number").await;
    assert_eq!(app.approve(&site, &number).await, AnswerResult::Approved);
    browser.wait_for_heading("Welcome").await;

    // A wrong number: refused, on the page too; another request then signs in.
    browser.sign_out().await;
    browser.sign_in(&user, &password).await;
    browser.press("Send request").await;
    let number = browser.text("#push-number").await;
    let wrong = if number == "10" { "11" } else { "10" };
    assert_eq!(app.approve(&site, wrong).await, AnswerResult::WrongNumber);
    browser.wait_for_text("didn't match").await;
    browser.screenshot("push-wrong-number").await;
    assert!(browser.body().await.contains("Use another method"));
    browser.press("Send another request").await;
    let number = browser.text("#push-number").await;
    assert_eq!(app.approve(&site, &number).await, AnswerResult::Approved);
    browser.wait_for_heading("Welcome").await;
    browser.close().await;
}

/// The `mfa` binary of the workspace (`mfa authenticator`), built beside this test: `cargo nextest run
/// --workspace` builds it for mfa-cli's own tests; a run of this package alone builds it here.
fn mfa_binary() -> std::path::PathBuf {
    // This test runs from target/<profile>/deps/; the binary is target/<profile>/mfa.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap().to_owned();
    let binary = profile_dir.join(format!("mfa{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "-p", "mfa-cli", "--bin", "mfa"])
            .status()
            .unwrap();
        assert!(status.success(), "building the mfa binary failed");
    }
    assert!(binary.exists(), "no mfa binary at {}", binary.display());
    binary
}

/// `mfa authenticator --file FILE ARGS...`, run off the async threads (the service answers it on them);
/// its standard output, after checking it succeeded.
async fn terminal_authenticator(file: &std::path::Path, args: &[&str]) -> String {
    let (binary, file) = (mfa_binary(), file.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(binary)
            .arg("authenticator")
            .arg("--file")
            .arg(&file)
            .args(&args)
            .env_remove("MFA_AUTHENTICATOR_FILE")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "mfa authenticator failed: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// The issue's end-to-end path: the terminal authenticator (`mfa authenticator`, the real binary, over
/// HTTP to the running service) enrolls from the link on the registration page, lists the request
/// without its number, and approves it with the number read from the sign-in page.
#[tokio::test]
async fn the_terminal_authenticator_enrolls_and_approves_a_sign_in() {
    let site = Site::start("cli").await;
    let (user, password) = site.user("grace", false, MfaState::Enforced).await;
    let browser = site.browser().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authenticator.json");

    browser.sign_in(&user, &password).await;
    browser.press("approve requests on my authenticator app").await;
    let uri: String = browser.text("#enroll-uri").await.split_whitespace().collect();
    let enrolled = terminal_authenticator(&file, &["enroll", &uri]).await;
    assert!(enrolled.contains("enrolled"), "{enrolled}");
    browser.wait_for_heading("Welcome").await;

    browser.sign_out().await;
    browser.sign_in(&user, &password).await;
    browser.press("Send request").await;
    let number = browser.text("#push-number").await;
    let listed: serde_json::Value =
        serde_json::from_str(&terminal_authenticator(&file, &["pending", "--json"]).await).unwrap();
    let requests = listed.as_array().unwrap();
    assert_eq!(requests.len(), 1, "{listed}");
    assert!(
        requests[0].get("number").is_none(),
        "the device was told the number: {listed}"
    );
    let id = requests[0]["id"].as_str().unwrap().to_owned();
    let approved = terminal_authenticator(&file, &["approve", &id, "--number", &number]).await;
    assert!(approved.starts_with("approved"), "{approved}");
    browser.wait_for_heading("Welcome").await;
    assert_eq!(
        terminal_authenticator(&file, &["pending"]).await,
        "no pending sign-in requests\n"
    );
    browser.close().await;
}

/// A command of the WebDriver extension for WebAuthn (W3C Web Authentication Level 2, §11 "WebDriver
/// Extensions"): `POST` (or `DELETE`) `/session/{id}/webauthn/{path}` with a JSON body.
#[derive(Debug)]
struct WebAuthnCommand {
    method: axum::http::Method,
    path: String,
    body: Option<serde_json::Value>,
}

impl fantoccini::wd::WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/webauthn/{}", self.path))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (axum::http::Method, Option<String>) {
        (self.method.clone(), self.body.as_ref().map(ToString::to_string))
    }
}

impl Browser {
    /// Adds a virtual authenticator to the browser (a platform authenticator holding passkeys, the
    /// user verified each time); answers its id.
    async fn add_authenticator(&self) -> String {
        let answer = self
            .client
            .issue_cmd(WebAuthnCommand {
                method: axum::http::Method::POST,
                path: "authenticator".to_owned(),
                body: Some(json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserVerified": true,
                })),
            })
            .await
            .unwrap();
        answer.as_str().unwrap().to_owned()
    }

    async fn remove_authenticator(&self, id: &str) {
        self.client
            .issue_cmd(WebAuthnCommand {
                method: axum::http::Method::DELETE,
                path: format!("authenticator/{id}"),
                body: None,
            })
            .await
            .unwrap();
    }

    /// Puts a credential for `rp_id` on the authenticator `id`.
    async fn add_credential(&self, id: &str, rp_id: &str) {
        // A P-256 key made for this test (PKCS #8, base64url): the key of a phishing site's passkey.
        const KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8-NHYfSM6G1EKJX8xno_aLJT-RDr1Dgoxyo44g3tbye\
                           hRANCAATY9lB9vfcgRp9JxeiGmKJZBkaCxRfvyHH0cx9YGhV6XtQubTF1SU8B_f34A48Y7DaxhgH7O1qyHmNJUTo2PmsT";
        self.client
            .issue_cmd(WebAuthnCommand {
                method: axum::http::Method::POST,
                path: format!("authenticator/{id}/credential"),
                body: Some(json!({
                    "credentialId": "ZXZpbC1jcmVkZW50aWFs",
                    "isResidentCredential": true,
                    "rpId": rp_id,
                    "privateKey": KEY,
                    "signCount": 0,
                    "userHandle": "dXNlcg",
                })),
            })
            .await
            .unwrap();
    }

    /// Posts `body` (JSON) to `path` from the page, with the page's CSRF token, as its script does:
    /// answers the status and the body.
    async fn post_json(&self, path: &str, body: &str) -> (u16, String) {
        let script = "var x = new XMLHttpRequest(); x.open('POST', arguments[0], false); \
                      x.setRequestHeader('content-type', 'application/json'); \
                      x.setRequestHeader('x-csrf-token', document.querySelector('input[name=csrf_token]').value); \
                      x.send(arguments[1]); return [x.status, x.responseText];";
        let answer = self
            .client
            .execute(script, vec![json!(path), json!(body)])
            .await
            .unwrap();
        (
            u16::try_from(answer[0].as_u64().unwrap()).unwrap(),
            answer[1].as_str().unwrap().to_owned(),
        )
    }

    /// From now on the page's posts of a passkey answer are kept in `localStorage` (`posted`), where
    /// the test reads them after the page has moved on.
    async fn capture_passkey_answers(&self) {
        let script = "var f = window.fetch; window.fetch = function (url, init) { \
                        if (String(url).indexOf('/passkey/finish') >= 0) { localStorage.setItem('posted', init.body); } \
                        return f.apply(this, arguments); };";
        self.client.execute(script, vec![]).await.unwrap();
    }

    async fn captured_passkey_answer(&self) -> String {
        let answer = self
            .client
            .execute("return localStorage.getItem('posted');", vec![])
            .await
            .unwrap();
        answer.as_str().unwrap().to_owned()
    }
}

/// Adds an authenticator app for `username`, who has a method already, through the facade (as after a
/// fresh verification); answers the key as typed.
async fn with_app_too(site: &Site, username: &str) -> String {
    let account = site.state.accounts.by_name(username).unwrap();
    let mfa = &site.state.mfa;
    let enrollment = mfa
        .begin_app_enrollment(&account.user, username, "Authenticator app", Some(site.now()))
        .await
        .unwrap();
    let key = enrollment.secret_for_typing().to_string();
    mfa.confirm_app_enrollment(&account.user, enrollment.method(), &site.app_code(&key))
        .await
        .unwrap();
    site.next_step();
    key
}

/// Scenario: a passkey registered at "More information required" signs in; its answer replayed is
/// refused; once removed on the security info page it signs in no more.
#[tokio::test]
async fn passkey_registration_sign_in_replay_and_removal() {
    let site = Site::start("passkey").await;
    let (user, password) = site.user("grace", false, MfaState::Enforced).await;
    let browser = site.browser().await;
    browser.add_authenticator().await;

    browser.sign_in(&user, &password).await;
    assert_eq!(browser.heading().await, "More information required");
    browser.press("use a security key or passkey").await;
    assert_eq!(browser.heading().await, "Set up a security key or passkey");
    browser.screenshot("register-passkey").await;
    browser.press("Set up").await;
    browser.wait_for_heading("Welcome").await;
    // An app too, so that the account keeps a method once the passkey is gone.
    let key = with_app_too(&site, &user).await;

    // Sign-in with the passkey, the answer the page posts kept. (A new method may have ended the
    // session already.)
    browser.open("/").await;
    if browser.heading().await.starts_with("Welcome") {
        browser.sign_out().await;
    }
    browser.sign_in(&user, &password).await;
    assert_eq!(
        browser.heading().await,
        "Use your security key or passkey",
        "{}",
        browser.body().await
    );
    browser.screenshot("passkey-sign-in").await;
    browser.capture_passkey_answers().await;
    browser.press("Use security key or passkey").await;
    browser.wait_for_heading("Welcome").await;
    let posted = browser.captured_passkey_answer().await;
    assert!(posted.contains("authenticatorData"), "{posted}");

    // The same answer again, for a new sign-in with a new challenge: refused.
    browser.sign_out().await;
    browser.sign_in(&user, &password).await;
    let (status, _) = browser.post_json("/sign-in/passkey/options", "{}").await;
    assert_eq!(status, 200);
    let (status, body) = browser.post_json("/sign-in/passkey/finish", &posted).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("wasn't accepted"), "{body}");
    browser.open("/").await;
    assert_eq!(browser.heading().await, "Use your security key or passkey");

    // Signed in with it for real, then removed on the security info page.
    browser.press("Use security key or passkey").await;
    browser.wait_for_heading("Welcome").await;
    browser.open("/security-info").await;
    // Renamed first.
    let field = "//tr[td[normalize-space()='Security key or passkey']]//input[@name='name']";
    let field = browser.client.find(Locator::XPath(field)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys("Laptop passkey").await.unwrap();
    let rename = "//tr[td[normalize-space()='Security key or passkey']]//button[normalize-space()='Rename']";
    let rename = browser.client.find(Locator::XPath(rename)).await.unwrap();
    browser.click_to_leave(&rename).await;
    assert_eq!(browser.heading().await, "Security info");
    let row = "//tr[td[normalize-space()='Laptop passkey']]//button[normalize-space()='Delete']";
    let delete = browser.client.find(Locator::XPath(row)).await.unwrap();
    browser.click_to_leave(&delete).await;
    assert_eq!(browser.heading().await, "Security info");
    assert!(browser.client.find(Locator::XPath(row)).await.is_err());

    // Now the sign-in asks for the app's code, and the passkey is refused.
    browser.sign_out().await;
    browser.sign_in(&user, &password).await;
    assert_eq!(browser.heading().await, "Enter code");
    let (status, body) = browser.post_json("/sign-in/passkey/options", "{}").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = browser.post_json("/sign-in/passkey/finish", &posted).await;
    assert_eq!(status, 401, "{body}");
    browser.enter_code(&site.app_code(&key), false).await;
    site.next_step();
    browser.wait_for_heading("Welcome").await;
    browser.close().await;
}

/// Scenario: the only passkey the browser holds is another site's (relying party id `evil.example`):
/// the sign-in is refused on the page.
#[tokio::test]
async fn a_passkey_of_another_relying_party_is_refused() {
    let site = Site::start("passkey-rp").await;
    let (user, password) = site.user("heidi", false, MfaState::Enforced).await;
    let browser = site.browser().await;
    let genuine = browser.add_authenticator().await;
    browser.sign_in(&user, &password).await;
    browser.press("use a security key or passkey").await;
    browser.press("Set up").await;
    browser.wait_for_heading("Welcome").await;

    // The genuine authenticator gone; another holds only a credential for evil.example.
    browser.remove_authenticator(&genuine).await;
    let other = browser.add_authenticator().await;
    browser.add_credential(&other, "evil.example").await;
    browser.sign_out().await;
    browser.sign_in(&user, &password).await;
    assert_eq!(browser.heading().await, "Use your security key or passkey");
    browser.css("#passkey button").await.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let error = browser.css("#passkey-error").await;
        if error.is_displayed().await.unwrap() && !error.text().await.unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no refusal shown within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(browser.heading().await, "Use your security key or passkey");
    browser.open("/").await;
    assert_ne!(browser.heading().await, "Welcome");
    browser.close().await;
}
