//! What the flows of [`Mfa`](crate::Mfa) return.
//!
//! The outcomes a host sends to a browser serialise (serde): summaries, sign-in answers,
//! challenges, proofs. None of them holds a hash, a tag, a secret or a full phone number; what does
//! (a new secret, recovery codes, an app password, a device token) does not serialise, so it cannot
//! reach a JSON response by accident: send its `expose()`d text deliberately, once.

use core::fmt;

use mfa_app_password::{AppPassword, AppPasswordId};
use mfa_enroll::{Enrollment, QrCode, SecretUri};
use mfa_policy::{Decision, UnixTime};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::{Channel, DeviceId, Factor, MessageId, MethodId, MethodKind, UserId};

/// A registered method as a settings page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MethodSummary {
    /// Its id.
    pub id: MethodId,
    /// The name the user gave it.
    pub name: String,
    /// App or which phone.
    pub kind: MethodKind,
    /// When it was registered.
    pub created_at: UnixTime,
    /// Whether it is the default method.
    pub is_default: bool,
    /// For phones, the number with all but the last two digits masked.
    pub masked_number: Option<String>,
}

/// A confirmed registration: the new method, and the proof its confirmation made (the code was a
/// second-factor verification like any other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Enrolled {
    /// The method as a settings page shows it.
    pub method: MethodSummary,
    /// The verification the confirmation made: the session's new last-MFA time, and what
    /// [`Mfa::remember_device`](crate::Mfa::remember_device) takes.
    pub proof: Verified,
}

/// A begun authenticator-app registration: show the QR code (or the key to type), then confirm with
/// [`Mfa::confirm_app_enrollment`](crate::Mfa::confirm_app_enrollment) and the app's first code.
///
/// Holds the new secret: show it once, never log it. `Debug` shows no secret.
///
/// ```
/// use mfa::{Config, KeyId, KeyRing, MemoryStore, Mfa, RecordingPhoneDelivery, TagSecret, UserId};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// # let mfa = Mfa::new(
/// #     Config { issuer: "Example".to_owned(), ..Config::default() },
/// #     KeyRing::generate(KeyId(1))?,
/// #     TagSecret::generate()?,
/// #     MemoryStore::new(),
/// #     RecordingPhoneDelivery::new(),
/// # )?;
/// let alice = UserId::new("user-42")?;
/// let enrollment = mfa.begin_app_enrollment(&alice, "alice@example.com", "My phone", None).await?;
///
/// // For the registration page: an <img src="..."> and the key for people who type it.
/// let img_src = enrollment.qr().to_data_url()?;
/// assert!(img_src.starts_with("data:image/png;base64,"));
/// // Or as JSON for a script: the renderings stay zeroized and serialise as strings.
/// let body = serde_json::json!({ "method": enrollment.method(), "qr": enrollment.qr().to_svg() });
/// assert!(body["qr"].as_str().is_some_and(|svg| svg.starts_with("<svg")));
/// let typed_key = enrollment.secret_for_typing(); // "ABCD EFGH ..." (160 bits, 8 groups)
/// assert_eq!(typed_key.len(), 39);
/// assert!(enrollment.uri().as_str().starts_with("otpauth://totp/Example:alice%40example.com?"));
///
/// // Nothing of the secret in logs.
/// assert!(!format!("{enrollment:?}").contains(&typed_key.replace(' ', "")));
/// // Then: `mfa.confirm_app_enrollment(&alice, enrollment.method(), code_from_the_app)`,
/// // before `enrollment.expires_at()`.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AppEnrollment {
    pub(crate) method: MethodId,
    pub(crate) enrollment: Enrollment,
    pub(crate) expires_at: UnixTime,
}

impl AppEnrollment {
    /// The id the method will have; pass it to the confirmation.
    pub fn method(&self) -> MethodId {
        self.method
    }

    /// The `otpauth://` URI (contains the secret).
    pub fn uri(&self) -> &SecretUri {
        self.enrollment.uri()
    }

    /// The QR code of the URI, as SVG, PNG, terminal text or a `data:` URL.
    pub fn qr(&self) -> &QrCode {
        self.enrollment.qr()
    }

    /// The secret in groups of four, for people who type it into their app.
    pub fn secret_for_typing(&self) -> Zeroizing<String> {
        self.enrollment.secret_for_typing()
    }

    /// The confirmation must come before this instant.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

/// A code sent to a phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CodeSent {
    /// The phone method (for a registration, the id the method will have).
    pub method: MethodId,
    /// SMS or voice.
    pub channel: Channel,
    /// The number, masked, to show ("we sent a code to +*********71").
    pub masked_number: String,
    /// The code is refused at or after this instant.
    pub expires_at: UnixTime,
    /// The provider's message id.
    pub message_id: MessageId,
}

/// The answer of [`Mfa::begin_sign_in`](crate::Mfa::begin_sign_in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SignIn {
    /// What the policy asks for, why, and its recommendations.
    pub decision: Decision,
    /// The methods a challenge may use (those the policy accepts), default first.
    pub methods: Vec<MethodSummary>,
    /// The remembered device the token named, if it was valid for this user.
    pub device: Option<DeviceId>,
}

/// The challenge of a sign-in or step-up. Serialised with a `kind` field: `authenticator_app` or
/// `phone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Challenge {
    /// Ask for a code from this authenticator app.
    AuthenticatorApp {
        /// The app.
        method: MethodId,
    },
    /// A code was sent to a phone: ask for it.
    Phone(CodeSent),
    /// A push was sent to an authenticator app: show its number and poll
    /// [`Mfa::push_status`](crate::Mfa::push_status).
    Push(PushSent),
    /// A passkey sign-in: pass the options to `navigator.credentials.get()` and the answer to
    /// `Mfa::verify_passkey`.
    Passkey(PasskeySent),
}

/// A passkey sign-in's challenge: the options for `navigator.credentials.get()`, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PasskeySent {
    /// `{"publicKey": {...}}`: the challenge, the relying party id, the user's credentials, user
    /// verification preferred.
    pub options: serde_json::Value,
    /// The answer is refused at or after this instant.
    pub expires_at: UnixTime,
}

/// A passkey registration, begun: pass [`options`](Self::options) to `navigator.credentials.create()`
/// and the answer to `Mfa::confirm_passkey_enrollment` with [`method`](Self::method).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PasskeyEnrollment {
    /// The method it becomes.
    pub method: MethodId,
    /// `{"publicKey": {...}}`, for `navigator.credentials.create()`.
    pub options: serde_json::Value,
    /// The answer is refused at or after this instant.
    pub expires_at: UnixTime,
}

/// A push on its way to an authenticator app: show [`number`](Self::number) on the sign-in page ("Enter
/// the number shown to sign in"), keep [`challenge`](Self::challenge) in the sign-in's state and poll
/// [`Mfa::push_status`](crate::Mfa::push_status) with it. The number never reaches the device or the
/// store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PushSent {
    /// The push app.
    pub method: MethodId,
    /// The push's id.
    pub challenge: mfa_push::ChallengeId,
    /// The number to show.
    pub number: mfa_push::MatchNumber,
    /// It cannot be approved at or after this instant.
    pub expires_at: UnixTime,
}

/// Where a push stands, as [`Mfa::push_status`](crate::Mfa::push_status) answers the browser's poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PushStatus {
    /// Not answered yet: poll again (every second or two) until `expires_at`.
    Waiting {
        /// When it expires.
        expires_at: UnixTime,
    },
    /// Approved with the right number: the sign-in is verified. Given once; a second poll finds no push.
    Approved(Verified),
    /// Denied (or reported) on the device.
    Denied,
    /// Approved with another number than the one shown: refused, and counted as a failure.
    WrongNumber,
    /// Expired unanswered: send a new one or use another method.
    Expired,
}

/// A push app's registration, begun: show [`qr`](Self::qr) (or the URI as a link on the phone itself)
/// and poll [`Mfa::push_enrollment_status`](crate::Mfa::push_enrollment_status) with
/// [`method`](Self::method) and [`challenge`](Self::challenge) until the app has enrolled. `Debug` hides
/// the URI, which holds the offer's one-time secret.
#[derive(Clone)]
pub struct PushEnrollment {
    pub(crate) method: MethodId,
    pub(crate) challenge: mfa_push::ChallengeId,
    pub(crate) uri: Zeroizing<String>,
    pub(crate) qr: QrCode,
    pub(crate) expires_at: UnixTime,
}

impl PushEnrollment {
    /// The method it becomes.
    pub fn method(&self) -> MethodId {
        self.method
    }

    /// What to poll with: the id of the approval the enrollment leaves for this browser.
    pub fn challenge(&self) -> &mfa_push::ChallengeId {
        &self.challenge
    }

    /// The `mfa-push://enroll?...` URI: a secret until the app answers.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The URI as a QR code.
    pub fn qr(&self) -> &QrCode {
        &self.qr
    }

    /// The app must answer before this instant.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

impl fmt::Debug for PushEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushEnrollment")
            .field("method", &self.method)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Proof of a successful second-factor verification, from [`Mfa::verify`](crate::Mfa::verify) or
/// [`Mfa::redeem_recovery_code`](crate::Mfa::redeem_recovery_code). Only this crate makes them.
///
/// Keep [`at`](Self::at) in the session as its last MFA time: step-up checks take it. Pass the proof to
/// [`Mfa::remember_device`](crate::Mfa::remember_device) if the user ticked "don't ask again".
///
/// It serialises (for a session store or a JSON answer) but does not deserialise: only this crate
/// makes proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub(crate) user: UserId,
    pub(crate) factor: Factor,
    pub(crate) method: Option<MethodId>,
    pub(crate) at: UnixTime,
    pub(crate) recovery_codes_left: Option<usize>,
}

impl Verified {
    /// The user.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The factor used.
    pub fn factor(&self) -> Factor {
        self.factor
    }

    /// The method used (apps and phones).
    pub fn method(&self) -> Option<MethodId> {
        self.method
    }

    /// When: the session's new last-MFA time.
    pub fn at(&self) -> UnixTime {
        self.at
    }

    /// After a recovery code: how many are left (tell the user when it is few).
    pub fn recovery_codes_left(&self) -> Option<usize> {
        self.recovery_codes_left
    }
}

/// A new set of recovery codes: show them once. `Debug` hides them; they zeroize on drop.
///
/// Each code is 16 characters of Crockford's base32 alphabet (80 random bits) in groups of four, like
/// `7kq2-mz8d-0hxa-ve4r`; typing is lenient about case, dashes, spaces, `i`/`l` for `1` and `o` for `0`.
///
/// ```
/// use mfa::{
///     Channel, Config, KeyId, KeyRing, MemoryStore, Mfa, PhoneKind, RecordingPhoneDelivery,
///     TagSecret, UserId,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let phones = RecordingPhoneDelivery::new();
/// let mfa = Mfa::new(
///     Config::default(),
///     KeyRing::generate(KeyId(1))?,
///     TagSecret::generate()?,
///     MemoryStore::new(),
///     phones.clone(),
/// )?;
/// let alice = UserId::new("user-42")?;
/// // Recovery codes need a registered method: Alice confirms her mobile with the texted code ...
/// let sent = mfa
///     .begin_phone_enrollment(&alice, PhoneKind::Mobile, "+14155552671", Channel::Sms, None)
///     .await?;
/// let code = phones.last_code_to(&"+14155552671".parse()?).ok_or("no SMS")?;
/// let enrolled = mfa.confirm_phone_enrollment(&alice, sent.method, &code).await?;
/// // ... and that fresh proof is her session's last MFA time, as the step-up needs.
/// let codes = mfa.generate_recovery_codes(&alice, Some(enrolled.proof.at())).await?;
/// assert_eq!(codes.len(), 10);
/// assert_eq!(format!("{codes:?}"), "RecoveryCodes(10 codes, redacted)");
///
/// // Typed back in capitals with spaces: still the code. Single use.
/// let typed = codes.codes().next().ok_or("no code")?.to_uppercase().replace('-', " ");
/// let proof = mfa.redeem_recovery_code(&alice, &typed).await?;
/// assert_eq!(proof.recovery_codes_left(), Some(9));
/// assert!(matches!(mfa.redeem_recovery_code(&alice, &typed).await, Err(mfa::Error::Rejected)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RecoveryCodes(pub(crate) Vec<Zeroizing<String>>);

impl RecoveryCodes {
    /// The codes.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|c| c.as_str())
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryCodes({} codes, redacted)", self.0.len())
    }
}

/// A new app password: show [`password`](Self::password) once.
///
/// ```
/// use mfa::{
///     Argon2Params, Channel, Config, KeyId, KeyRing, MemoryStore, Mfa, MfaState, PhoneKind,
///     RecordingPhoneDelivery, TagSecret, UserId,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let mut config = Config::default();
/// // Small argon2 parameters keep this example quick; keep the defaults (19 MiB, t = 2) in a service.
/// config.app_passwords.params = Argon2Params { m_kib: 256, t: 1, p: 1 };
/// let phones = RecordingPhoneDelivery::new();
/// let mfa = Mfa::new(
///     config,
///     KeyRing::generate(KeyId(1))?,
///     TagSecret::generate()?,
///     MemoryStore::new(),
///     phones.clone(),
/// )?;
/// let alice = UserId::new("user-42")?;
/// mfa.set_mfa_state(&alice, MfaState::Enforced).await?;
/// // App passwords need a registered method and a fresh MFA: Alice confirms her mobile.
/// let sent = mfa
///     .begin_phone_enrollment(&alice, PhoneKind::Mobile, "+14155552671", Channel::Sms, None)
///     .await?;
/// let code = phones.last_code_to(&"+14155552671".parse()?).ok_or("no SMS")?;
/// let enrolled = mfa.confirm_phone_enrollment(&alice, sent.method, &code).await?;
///
/// let created = mfa
///     .create_app_password(&alice, "Mail on my laptop", Some(enrolled.proof.at()))
///     .await?;
/// assert!(!format!("{created:?}").contains(created.password.expose()));
/// let typed = created.password.expose().to_owned(); // what the user pastes into the mail client
///
/// // The mail client signs in with it (IMAP, SMTP): the id of the app password that matched.
/// assert_eq!(mfa.verify_app_password(&alice, &typed, None).await?, created.id);
/// mfa.revoke_app_password(&alice, created.id).await?;
/// assert!(matches!(
///     mfa.verify_app_password(&alice, &typed, None).await,
///     Err(mfa::Error::Rejected)
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct NewAppPassword {
    /// Its id (to revoke it).
    pub id: AppPasswordId,
    /// The plaintext (`Debug` hides it; zeroizes on drop).
    pub password: AppPassword,
}

/// The opaque "don't ask again on this device" token: set it as a cookie (`HttpOnly`, `Secure`,
/// `SameSite=Lax`, the remembered period as `Max-Age`), pass it to
/// [`Mfa::begin_sign_in`](crate::Mfa::begin_sign_in). 256 random bits, base64url; only its SHA-256
/// reaches the store. `Debug` hides it; zeroizes on drop.
pub struct DeviceToken(pub(crate) Zeroizing<String>);

impl DeviceToken {
    /// The cookie value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceToken(..)")
    }
}

/// A device remembered by [`Mfa::remember_device`](crate::Mfa::remember_device).
#[derive(Debug)]
#[non_exhaustive]
pub struct RememberedDevice {
    /// Its id (to list and forget it).
    pub id: DeviceId,
    /// The cookie value.
    pub token: DeviceToken,
    /// When it stops sparing the prompt if it is not used before then: the policy's inactivity
    /// limit after its last use (14 days with [`PolicyConfig::hosted_suite`]), never after
    /// [`ends_at`](Self::ends_at). Each sign-in it spares moves this on: set the cookie's `Max-Age`
    /// from it, and refresh the cookie at each such sign-in.
    ///
    /// [`PolicyConfig::hosted_suite`]: crate::PolicyConfig::hosted_suite
    pub lapses_at: UnixTime,
    /// When it stops sparing the prompt whatever its use: the remembered period ("don't ask again for
    /// 30 days"), or the policy's maximum authentication age if that is shorter.
    pub ends_at: UnixTime,
}

/// A remembered device as a settings page lists it (no token hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeviceSummary {
    /// Its id (to forget it).
    pub id: DeviceId,
    /// The name it was remembered with ("Firefox on Linux").
    pub name: String,
    /// When it was remembered.
    pub created_at: UnixTime,
    /// When it last spared its user a prompt (or was remembered).
    pub last_used_at: UnixTime,
    /// When it lapses if unused (see [`RememberedDevice::lapses_at`]).
    pub lapses_at: UnixTime,
    /// When it ends whatever its use (see [`RememberedDevice::ends_at`]).
    pub ends_at: UnixTime,
}

/// An app password as a settings page lists it (no hash, no tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AppPasswordSummary {
    /// Its id (to revoke it).
    pub id: AppPasswordId,
    /// The name the user gave it ("Mail on my laptop").
    pub name: String,
    /// When it was created (whole seconds).
    pub created_at: UnixTime,
    /// When it last signed a client in (whole seconds), if ever.
    pub last_used_at: Option<UnixTime>,
    /// When it stops working, if it expires.
    pub expires_at: Option<UnixTime>,
    /// The protocol it is limited to (`imap`, `smtp`), if any.
    pub scope: Option<String>,
}
