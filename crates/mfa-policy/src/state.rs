use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::UnixTime;

/// The per-user MFA state an administrator sets.
///
/// Serialised in `snake_case`: `"disabled"`, `"enabled"`, `"enforced"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaState {
    /// No second factor is asked for.
    #[default]
    Disabled,
    /// The user is asked to register a method at the next interactive sign-in. Once at least one
    /// method is registered the user is treated as [`Enforced`](MfaState::Enforced); the host may
    /// store that change (see [`UserState::effective_mfa_state`]).
    Enabled,
    /// A second factor is required; legacy clients need an app password.
    Enforced,
}

/// A registered second-factor method.
///
/// SMS and voice are *restricted* authenticators in NIST SP 800-63B (delivery over the public
/// telephone network, open to SIM swap and number porting): see [`Method::is_restricted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Method {
    /// A TOTP code from an authenticator app scanned from a QR code.
    AuthenticatorApp,
    /// A hardware OATH token (TOTP or HOTP).
    HardwareToken,
    /// A one-time code sent by SMS to a phone.
    Sms,
    /// A one-time code read out in a voice call to a mobile, alternate or office phone.
    Voice,
    /// "Approve sign-in?" on an authenticator app, with the number shown at sign-in typed on the
    /// phone (number matching).
    PushNotification,
    /// A passkey or security key (WebAuthn): the browser signs the challenge for the site's origin,
    /// so a look-alike site gets nothing it can use.
    Passkey,
}

impl Method {
    /// Whether NIST SP 800-63B treats this method as restricted (SMS and voice over the public
    /// telephone network).
    ///
    /// ```
    /// use mfa_policy::Method;
    /// assert!(Method::Sms.is_restricted());
    /// assert!(!Method::AuthenticatorApp.is_restricted());
    /// ```
    #[must_use]
    pub const fn is_restricted(self) -> bool {
        matches!(self, Self::Sms | Self::Voice)
    }

    /// Whether the method is phishing-resistant in NIST SP 800-63B-4's sense (§3.2.5, verifier-name
    /// binding): only a passkey or security key, whose signature covers the origin the browser saw.
    /// Codes and push approvals can be relayed by a look-alike site, number matching included.
    ///
    /// ```
    /// use mfa_policy::Method;
    /// assert!(Method::Passkey.is_phishing_resistant());
    /// assert!(!Method::PushNotification.is_phishing_resistant());
    /// ```
    #[must_use]
    pub const fn is_phishing_resistant(self) -> bool {
        matches!(self, Self::Passkey)
    }
}

/// What the host knows about the user: admin settings, registered methods, and the instants of the
/// events that invalidate earlier verifications.
///
/// Every instant is optional: `None` means "never happened". An event invalidates every verification
/// made at or before it (instants are milliseconds, so a verification made after it in the same second
/// is not).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserState {
    /// The MFA state the administrator set.
    pub mfa: MfaState,
    /// Registered methods, one entry per registration (two phones for SMS are two entries).
    pub methods: Vec<Method>,
    /// The user is in a group that must complete MFA on every sign-in.
    pub mfa_on_every_sign_in: bool,
    /// When the password last changed.
    pub password_changed_at: Option<UnixTime>,
    /// Sessions issued before this instant are revoked ("require sign-in again on all devices", by
    /// the user or an administrator).
    pub sessions_valid_from: Option<UnixTime>,
    /// When the registered methods last changed (added, removed, phone number changed).
    pub methods_changed_at: Option<UnixTime>,
    /// When an administrator last revoked the user's MFA sessions and remembered devices.
    pub mfa_sessions_revoked_at: Option<UnixTime>,
    /// When the user last confirmed their security info; set it at registration too.
    pub security_info_confirmed_at: Option<UnixTime>,
    /// Sign-in is blocked by an administrator.
    pub blocked_by_admin: bool,
    /// The user reported a sign-in or prompt they did not start; no more prompts are sent until an
    /// administrator clears this.
    pub suspicious_activity_reported: bool,
}

impl UserState {
    /// The state the policy acts on: [`MfaState::Enabled`] becomes [`MfaState::Enforced`] once at least
    /// one method is registered.
    ///
    /// ```
    /// use mfa_policy::{Method, MfaState, UserState};
    ///
    /// let mut user = UserState { mfa: MfaState::Enabled, ..UserState::default() };
    /// assert_eq!(user.effective_mfa_state(), MfaState::Enabled);
    /// user.methods.push(Method::AuthenticatorApp);
    /// assert_eq!(user.effective_mfa_state(), MfaState::Enforced);
    /// ```
    #[must_use]
    pub fn effective_mfa_state(&self) -> MfaState {
        match self.mfa {
            MfaState::Enabled if !self.methods.is_empty() => MfaState::Enforced,
            state => state,
        }
    }
}

/// What one device presents for one user.
///
/// The host identifies the device (a device cookie, a client id) and records these instants for the
/// pair (user, device).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceState {
    /// The last completed second-factor verification by this user on this device.
    pub last_mfa: Option<UnixTime>,
    /// The last time this user used this device (a sign-in or a request in a session).
    pub last_activity: Option<UnixTime>,
    /// When the user's last session on this device ended: a sign-out, or a browser session the host
    /// did not keep.
    pub signed_out_at: Option<UnixTime>,
    /// When the "don't ask again on this device" record the device presents was issued. The host has
    /// already checked the record (its token) belongs to this user and device; `None` if it has none.
    pub remembered_at: Option<UnixTime>,
}

/// How far in the future a device's instants may lie and still count: 5 minutes, the customary
/// tolerance between servers' clocks (Kerberos' default maximum skew, RFC 4120 section 1.6). An instant
/// further ahead (a badly skewed server, a tampered record) counts as absent, so it can never keep a
/// verification alive past its limits.
pub const CLOCK_SKEW_TOLERANCE: Duration = Duration::from_secs(300);

impl DeviceState {
    /// This state with every instant of the device's record that lies more than
    /// [`CLOCK_SKEW_TOLERANCE`] after `now` removed.
    pub(crate) fn as_of(&self, now: UnixTime) -> Self {
        let latest = now.saturating_add(CLOCK_SKEW_TOLERANCE);
        let past = |at: Option<UnixTime>| at.filter(|at| *at <= latest);
        Self {
            last_mfa: past(self.last_mfa),
            last_activity: past(self.last_activity),
            // A sign-out only ever adds prompts: kept as given.
            signed_out_at: self.signed_out_at,
            remembered_at: past(self.remembered_at),
        }
    }
}

/// The kind of client signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Client {
    /// A browser or modern app that can show an MFA prompt.
    #[default]
    Interactive,
    /// A client that can only send a password: IMAP, POP, SMTP, older mail and office clients.
    Legacy,
}

/// An action that needs a fresh verification (step-up), whatever the remembered device says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SensitiveAction {
    /// Register a new method.
    AddMethod,
    /// Remove a registered method.
    RemoveMethod,
    /// Create an app password for a legacy client.
    CreateAppPassword,
    /// Generate new recovery codes.
    GenerateRecoveryCodes,
    /// Change the password.
    ChangePassword,
    /// Turn MFA off for the account.
    DisableMfa,
}

/// Why the policy is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A sign-in whose first factor (password) was checked at `started_at`. A verification at or
    /// after `started_at` counts as made during this sign-in.
    SignIn {
        /// When this sign-in began. Keep the same value when asking again after a verification.
        started_at: UnixTime,
    },
    /// A sensitive action inside a signed-in session.
    Action(SensitiveAction),
}

/// The request being decided: who is asking, how, and for what.
///
/// ```
/// use mfa_policy::{Client, SignInContext, UnixTime};
///
/// let started = UnixTime::from_secs(1_700_000_000);
/// let on_new_laptop = SignInContext { new_device: true, ..SignInContext::sign_in(started) };
/// assert_eq!(on_new_laptop.client, Client::Interactive);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignInContext {
    /// Interactive or legacy client.
    pub client: Client,
    /// A sign-in, or a sensitive action in a session.
    pub purpose: Purpose,
    /// The device is not known for this user (no device record).
    pub new_device: bool,
    /// The device was last used by another account: this sign-in switches accounts.
    pub account_switched: bool,
}

impl SignInContext {
    /// An interactive sign-in on a known device, begun at `started_at`.
    #[must_use]
    pub const fn sign_in(started_at: UnixTime) -> Self {
        Self {
            client: Client::Interactive,
            purpose: Purpose::SignIn { started_at },
            new_device: false,
            account_switched: false,
        }
    }

    /// A sign-in by a legacy client (IMAP, POP, SMTP, old clients), begun at `started_at`.
    #[must_use]
    pub const fn legacy_sign_in(started_at: UnixTime) -> Self {
        Self {
            client: Client::Legacy,
            ..Self::sign_in(started_at)
        }
    }

    /// A sensitive action in an interactive session on a known device.
    #[must_use]
    pub const fn action(action: SensitiveAction) -> Self {
        Self {
            client: Client::Interactive,
            purpose: Purpose::Action(action),
            new_device: false,
            account_switched: false,
        }
    }
}
