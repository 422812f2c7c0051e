//! The pages: askama templates (examples/web/templates), compiled into the binary and HTML-escaped.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use mfa::{MethodKind, MethodSummary, PhoneKind};

/// A template as a response; a template that fails to render is a 500 with no detail.
pub(crate) fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "a template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A registered method as the pages show it.
#[derive(Debug, Clone)]
pub(crate) struct MethodView {
    pub(crate) id: String,
    pub(crate) name: String,
    /// "Authenticator app", "Phone", "Office phone", "Alternate phone".
    pub(crate) kind: &'static str,
    pub(crate) is_app: bool,
    /// A push app: "Approve a request on my authenticator app".
    pub(crate) is_push: bool,
    /// A security key or passkey (WebAuthn): the browser answers, no code.
    pub(crate) is_passkey: bool,
    /// Texts can go to it (a mobile phone).
    pub(crate) sms: bool,
    pub(crate) number: String,
    pub(crate) is_default: bool,
}

impl From<&MethodSummary> for MethodView {
    fn from(m: &MethodSummary) -> Self {
        let (kind, sms) = match m.kind {
            MethodKind::AuthenticatorApp => ("Authenticator app", false),
            MethodKind::PushApp => ("Authenticator app (push)", false),
            MethodKind::Passkey => ("Security key or passkey", false),
            MethodKind::Phone(PhoneKind::Mobile) => ("Phone", true),
            MethodKind::Phone(PhoneKind::Office) => ("Office phone", false),
            MethodKind::Phone(_) => ("Alternate phone", false),
        };
        MethodView {
            id: m.id.to_string(),
            name: m.name.clone(),
            kind,
            is_app: m.kind == MethodKind::AuthenticatorApp,
            is_push: m.kind == MethodKind::PushApp,
            is_passkey: m.kind == MethodKind::Passkey,
            sms,
            number: m.masked_number.clone().unwrap_or_default(),
            is_default: m.is_default,
        }
    }
}

/// Methods, the default first.
pub(crate) fn method_views(methods: &[MethodSummary]) -> Vec<MethodView> {
    let mut views: Vec<MethodView> = methods.iter().map(MethodView::from).collect();
    views.sort_by_key(|m| !m.is_default);
    views
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub(crate) message: String,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub(crate) struct SignInPage {
    pub(crate) csrf: String,
    pub(crate) username: String,
    pub(crate) error: Option<String>,
    /// Why the user is here again (after a password change, say).
    pub(crate) notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "password.html")]
pub(crate) struct PasswordPage {
    pub(crate) csrf: String,
    pub(crate) min: usize,
    pub(crate) max: usize,
    pub(crate) error: Option<String>,
}

#[derive(Template)]
#[template(path = "more_info.html")]
pub(crate) struct MoreInfoPage {
    pub(crate) csrf: String,
    pub(crate) username: String,
    /// Push approvals are set up: offer them.
    pub(crate) push: bool,
}

/// The code prompt, for a sign-in (`base` `/sign-in`) or a step-up (`/step-up`).
#[derive(Template)]
#[template(path = "verify.html")]
pub(crate) struct VerifyPage {
    pub(crate) csrf: String,
    pub(crate) base: &'static str,
    pub(crate) method: MethodView,
    /// The channel a code was just sent over ("sms", "voice"), if any.
    pub(crate) sent: Option<String>,
    pub(crate) remember_days: Option<u64>,
    pub(crate) other_ways: bool,
    /// Why the last code was refused.
    pub(crate) error: Option<String>,
}

#[derive(Template)]
#[template(path = "methods.html")]
pub(crate) struct MethodsPage {
    pub(crate) base: &'static str,
    pub(crate) methods: Vec<MethodView>,
}

#[derive(Template)]
#[template(path = "recovery.html")]
pub(crate) struct RecoveryPage {
    pub(crate) csrf: String,
    pub(crate) base: &'static str,
    /// Why the last recovery code was refused.
    pub(crate) error: Option<String>,
}

#[derive(Template)]
#[template(path = "register_app.html")]
pub(crate) struct RegisterAppPage {
    pub(crate) csrf: String,
    pub(crate) qr_svg: String,
    pub(crate) secret: String,
    pub(crate) method: String,
    pub(crate) during_sign_in: bool,
}

/// A push app's registration: its QR code and link, then the wait until the app has enrolled (or,
/// without `qr_data_url`, the answer of the "Check" button: not yet, or `expired`).
#[derive(Template)]
#[template(path = "register_push.html")]
pub(crate) struct PushRegisterPage {
    pub(crate) csrf: String,
    /// The QR code as a PNG `data:` URL.
    pub(crate) qr_data_url: Option<String>,
    /// The `mfa-push://enroll?...` link, to copy into an app on this device.
    pub(crate) uri: String,
    pub(crate) during_sign_in: bool,
    pub(crate) expired: bool,
}

/// The wait for a push's approval, with the number to enter in the app; or how the push ended.
#[derive(Template)]
#[template(path = "push_wait.html")]
pub(crate) struct PushWaitPage {
    pub(crate) csrf: String,
    pub(crate) base: &'static str,
    pub(crate) method: String,
    pub(crate) number: String,
    /// Why the push ended (denied, wrong number, expired), if it did.
    pub(crate) ended: Option<String>,
}

#[derive(Template)]
#[template(path = "register_phone.html")]
pub(crate) struct RegisterPhonePage {
    pub(crate) csrf: String,
    pub(crate) countries: &'static [(&'static str, &'static str)],
    pub(crate) during_sign_in: bool,
}

#[derive(Template)]
#[template(path = "confirm_phone.html")]
pub(crate) struct ConfirmPhonePage {
    pub(crate) csrf: String,
    pub(crate) method: String,
    pub(crate) masked: String,
    pub(crate) by_call: bool,
    pub(crate) dev: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    pub(crate) csrf: String,
    pub(crate) username: String,
    pub(crate) admin: bool,
    pub(crate) dev: bool,
    pub(crate) recommendations: Vec<&'static str>,
}

/// A remembered device as the security info page shows it.
#[derive(Debug, Clone)]
pub(crate) struct DeviceView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) last_used: String,
    pub(crate) lapses: String,
}

/// An app password as the security info page shows it.
#[derive(Debug, Clone)]
pub(crate) struct AppPasswordView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) created: String,
    pub(crate) last_used: String,
}

#[derive(Template)]
#[template(path = "security_info.html")]
pub(crate) struct SecurityInfoPage {
    pub(crate) csrf: String,
    pub(crate) username: String,
    /// Push approvals are set up: offer them.
    pub(crate) push: bool,
    pub(crate) methods: Vec<MethodView>,
    pub(crate) app_passwords: Vec<AppPasswordView>,
    pub(crate) app_password_cap: usize,
    pub(crate) recovery_codes_left: usize,
    pub(crate) devices: Vec<DeviceView>,
}

/// A secret shown once: a new app password, new recovery codes.
#[derive(Template)]
#[template(path = "shown_once.html")]
pub(crate) struct ShownOncePage {
    pub(crate) heading: String,
    pub(crate) intro: String,
    pub(crate) secrets: Vec<String>,
}

/// A text or a call the development delivery recorded.
#[derive(Debug, Clone)]
pub(crate) struct MessageView {
    pub(crate) to: String,
    pub(crate) channel: &'static str,
    pub(crate) text: String,
}

#[derive(Template)]
#[template(path = "outbox.html")]
pub(crate) struct OutboxPage {
    pub(crate) messages: Vec<MessageView>,
}

/// A user as the admin page shows it.
#[derive(Debug, Clone)]
pub(crate) struct AdminRow {
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) state: &'static str,
    pub(crate) methods: usize,
    /// The user reported suspicious activity; prompts are off until it is cleared.
    pub(crate) reported: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub(crate) struct AdminPage {
    pub(crate) csrf: String,
    pub(crate) users: Vec<AdminRow>,
}

/// An instant as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn when(at: mfa::UnixTime) -> String {
    jiff::Timestamp::from_millisecond(at.as_millis())
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| "-".to_owned())
}

/// Registering a security key or passkey: the browser makes the credential (`/static/passkey.js`).
#[derive(Template)]
#[template(path = "register_passkey.html")]
pub(crate) struct PasskeyRegisterPage {
    pub(crate) csrf: String,
    pub(crate) during_sign_in: bool,
}
