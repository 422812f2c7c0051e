//! The security info page: methods (set default, add an authenticator app or a phone, remove), app
//! passwords, recovery codes, remembered devices, sign out everywhere; and the registration pages,
//! which "More information required" uses during sign-in too.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mfa::{AppPasswordId, Channel, DeviceId, Enrolled, MethodId, PhoneKind};
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::{AppState, PageForm, Registrant, User, error_page, mfa_error, sensitive_error};
use crate::pages::{
    AppPasswordView, ConfirmPhonePage, DeviceView, ErrorPage, RegisterAppPage, RegisterPhonePage,
    SecurityInfoPage, ShownOncePage, method_views, render, when,
};

/// Country codes offered by the phone form.
const COUNTRIES: &[(&str, &str)] = &[
    ("+1", "United States / Canada"),
    ("+44", "United Kingdom"),
    ("+33", "France"),
    ("+49", "Germany"),
    ("+34", "Spain"),
    ("+39", "Italy"),
    ("+31", "Netherlands"),
    ("+46", "Sweden"),
    ("+81", "Japan"),
    ("+91", "India"),
    ("+61", "Australia"),
    ("+55", "Brazil"),
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/security-info", get(page))
        .route("/security-info/default", post(set_default))
        .route("/security-info/remove", post(remove))
        .route("/security-info/rename", post(rename))
        .route("/security-info/app-passwords", post(create_app_password))
        .route("/security-info/app-passwords/delete", post(delete_app_password))
        .route("/security-info/recovery-codes", post(recovery_codes))
        .route("/security-info/devices/forget", post(forget_device))
        .route("/security-info/sign-out-everywhere", post(sign_out_everywhere))
        .route("/security-info/report", post(report))
        .route("/register/app", get(register_app_page).post(register_app))
        .route("/register/phone", get(register_phone_page).post(register_phone))
        .route("/register/phone/confirm", post(confirm_phone))
}

async fn page(State(app): State<AppState>, user: User) -> Response {
    let mfa = &app.mfa;
    let methods = mfa.list_methods(&user.user).await;
    let app_passwords = mfa.list_app_passwords(&user.user).await;
    let left = mfa.recovery_codes_left(&user.user).await;
    let devices = mfa.list_devices(&user.user).await;
    let (methods, app_passwords, left, devices) = match (methods, app_passwords, left, devices) {
        (Ok(m), Ok(p), Ok(l), Ok(d)) => (m, p, l, d),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return mfa_error(&app, e),
    };
    render(&SecurityInfoPage {
        csrf: user.csrf.as_str().to_owned(),
        username: app.username(&user.user),
        push: app.push,
        methods: method_views(&methods),
        app_passwords: app_passwords
            .iter()
            .map(|p| AppPasswordView {
                id: p.id.to_string(),
                name: p.name.clone(),
                created: when(p.created_at),
                last_used: p.last_used_at.map_or_else(|| "never".to_owned(), when),
            })
            .collect(),
        app_password_cap: mfa.config().app_passwords.max_per_user,
        recovery_codes_left: left,
        devices: devices
            .iter()
            .map(|d| DeviceView {
                id: d.id.to_string(),
                name: d.name.clone(),
                last_used: when(d.last_used_at),
                lapses: when(d.lapses_at),
            })
            .collect(),
    })
}

fn back() -> Response {
    Redirect::to("/security-info").into_response()
}

#[derive(Deserialize)]
struct MethodForm {
    method: MethodId,
}

async fn set_default(
    State(app): State<AppState>,
    user: User,
    PageForm(form): PageForm<MethodForm>,
) -> Response {
    match app.mfa.set_default_method(&user.user, form.method).await {
        Ok(()) => back(),
        Err(error) => mfa_error(&app, error),
    }
}

#[derive(Deserialize)]
struct RenameForm {
    method: MethodId,
    name: String,
}

/// A security key or passkey renamed (a label only: no fresh verification asked).
async fn rename(State(app): State<AppState>, user: User, PageForm(form): PageForm<RenameForm>) -> Response {
    match app.mfa.rename_method(&user.user, form.method, &form.name).await {
        Ok(()) => back(),
        Err(error) => mfa_error(&app, error),
    }
}

async fn remove(State(app): State<AppState>, user: User, PageForm(form): PageForm<MethodForm>) -> Response {
    match app.mfa.remove_method(&user.user, form.method, user.mfa_at).await {
        Ok(()) => back(),
        Err(error) => sensitive_error(&app, error),
    }
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
}

async fn create_app_password(
    State(app): State<AppState>,
    user: User,
    PageForm(form): PageForm<NameForm>,
) -> Response {
    match app
        .mfa
        .create_app_password(&user.user, &form.name, user.mfa_at)
        .await
    {
        Ok(new) => render(&ShownOncePage {
            heading: "Your new app password".to_owned(),
            intro: format!(
                "Use it instead of your password in \"{}\" (the spaces don't matter).",
                form.name.trim()
            ),
            secrets: vec![new.password.expose().to_owned()],
        }),
        Err(error) => sensitive_error(&app, error),
    }
}

#[derive(Deserialize)]
struct IdForm {
    id: String,
}

async fn delete_app_password(
    State(app): State<AppState>,
    user: User,
    PageForm(form): PageForm<IdForm>,
) -> Response {
    let Ok(id) = form.id.parse::<AppPasswordId>() else {
        return mfa_error(&app, mfa::Error::InvalidId);
    };
    match app.mfa.revoke_app_password(&user.user, id).await {
        Ok(()) => back(),
        Err(error) => mfa_error(&app, error),
    }
}

async fn recovery_codes(State(app): State<AppState>, user: User) -> Response {
    match app.mfa.generate_recovery_codes(&user.user, user.mfa_at).await {
        Ok(codes) => render(&ShownOncePage {
            heading: "Your recovery codes".to_owned(),
            intro: "Each code signs you in once when you can't use your other methods. Keep them somewhere \
                    safe; the codes you had before no longer work."
                .to_owned(),
            secrets: codes.codes().map(str::to_owned).collect(),
        }),
        Err(error) => sensitive_error(&app, error),
    }
}

async fn forget_device(
    State(app): State<AppState>,
    user: User,
    PageForm(form): PageForm<IdForm>,
) -> Response {
    let Ok(id) = form.id.parse::<DeviceId>() else {
        return mfa_error(&app, mfa::Error::InvalidId);
    };
    match app.mfa.forget_device(&user.user, id).await {
        Ok(()) => back(),
        Err(error) => mfa_error(&app, error),
    }
}

/// Every session and remembered device of the user ends, this one too.
async fn sign_out_everywhere(State(app): State<AppState>, session: Session, user: User) -> Response {
    if let Err(error) = app.mfa.sign_out_everywhere(&user.user).await {
        return mfa_error(&app, error);
    }
    match app.web.sign_out(&session).await {
        Ok(()) => Redirect::to("/sign-in?changed=everywhere").into_response(),
        Err(error) => error_page(&error),
    }
}

/// "I didn't do this": the report blocks further prompts until an administrator clears it, and,
/// since someone else may hold a session, every session and remembered device ends.
async fn report(State(app): State<AppState>, session: Session, user: User) -> Response {
    if let Err(error) = app.mfa.report_suspicious_activity(&user.user).await {
        return mfa_error(&app, error);
    }
    if let Err(error) = app.mfa.sign_out_everywhere(&user.user).await {
        return mfa_error(&app, error);
    }
    if let Err(error) = app.web.sign_out(&session).await {
        return error_page(&error);
    }
    render(&ErrorPage {
        message: "Thank you. Your report was sent: you were signed out everywhere, and sign-in prompts \
                  stay off until an administrator has looked at your account."
            .to_owned(),
    })
}

/// GET /register/app: a new authenticator app, its QR code and its key.
async fn register_app_page(State(app): State<AppState>, who: Registrant) -> Response {
    let account = app.username(&who.user);
    match app
        .mfa
        .begin_app_enrollment(&who.user, &account, "Authenticator app", who.mfa_at)
        .await
    {
        Ok(enrollment) => render(&RegisterAppPage {
            csrf: who.csrf.as_str().to_owned(),
            qr_svg: enrollment.qr().to_svg().to_string(),
            secret: enrollment.secret_for_typing().to_string(),
            method: enrollment.method().to_string(),
            during_sign_in: !who.signed_in,
        }),
        Err(error) => sensitive_error(&app, error),
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    method: MethodId,
    code: String,
}

/// A confirmed registration proves the new method: the sign-in completes (or the session's proof
/// is refreshed).
async fn registered(app: &AppState, session: &Session, who: &Registrant, enrolled: &Enrolled) -> Response {
    if let Err(error) = app.web.enrolled(session, enrolled).await {
        return error_page(&error);
    }
    match who.signed_in {
        true => back(),
        false => Redirect::to("/").into_response(),
    }
}

async fn register_app(
    State(app): State<AppState>,
    session: Session,
    who: Registrant,
    PageForm(form): PageForm<ConfirmForm>,
) -> Response {
    match app
        .mfa
        .confirm_app_enrollment(&who.user, form.method, &form.code)
        .await
    {
        Ok(enrolled) => registered(&app, &session, &who, &enrolled).await,
        Err(error) => mfa_error(&app, error),
    }
}

async fn register_phone_page(who: Registrant) -> Response {
    render(&RegisterPhonePage {
        csrf: who.csrf.as_str().to_owned(),
        countries: COUNTRIES,
        during_sign_in: !who.signed_in,
    })
}

#[derive(Deserialize)]
struct PhoneForm {
    kind: String,
    country: String,
    number: String,
    channel: String,
}

async fn register_phone(
    State(app): State<AppState>,
    who: Registrant,
    PageForm(form): PageForm<PhoneForm>,
) -> Response {
    let kind = match form.kind.as_str() {
        "office" => PhoneKind::Office,
        "alternate" => PhoneKind::Alternate,
        _ => PhoneKind::Mobile,
    };
    let channel = match form.channel.as_str() {
        "voice" => Channel::Voice,
        _ => Channel::Sms,
    };
    // The country code from the list, then the national number without its spaces, dashes or
    // leading trunk zero; the facade checks what is left.
    let Some((country, _)) = COUNTRIES.iter().find(|(code, _)| *code == form.country) else {
        return mfa_error(
            &app,
            mfa::Error::InvalidPhoneNumber {
                reason: "unknown country code",
            },
        );
    };
    let national: String = form
        .number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let number = format!("{country}{}", national.trim_start_matches('0'));
    match app
        .mfa
        .begin_phone_enrollment(&who.user, kind, &number, channel, who.mfa_at)
        .await
    {
        Ok(sent) => render(&ConfirmPhonePage {
            csrf: who.csrf.as_str().to_owned(),
            method: sent.method.to_string(),
            masked: sent.masked_number,
            by_call: sent.channel == Channel::Voice,
            dev: app.outbox.is_some(),
        }),
        Err(error) => sensitive_error(&app, error),
    }
}

async fn confirm_phone(
    State(app): State<AppState>,
    session: Session,
    who: Registrant,
    PageForm(form): PageForm<ConfirmForm>,
) -> Response {
    match app
        .mfa
        .confirm_phone_enrollment(&who.user, form.method, &form.code)
        .await
    {
        Ok(enrolled) => registered(&app, &session, &who, &enrolled).await,
        Err(error) => mfa_error(&app, error),
    }
}
