use core::fmt;

use serde::{Deserialize, Serialize};

/// What the host must do before the sign-in or action may go on.
///
/// Ordered from the least to the most restrictive: `Allow < RequireReconfirmation <
/// RequireRegistration < RequireMfa < RequireAppPassword < Deny`. A [`Decision`]'s action is the most
/// restrictive one its reasons call for. Serialised in `snake_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Go on without a prompt.
    Allow,
    /// Ask the user to confirm their security info (methods, phone numbers) is still right.
    RequireReconfirmation,
    /// Ask the user to register a method (or another, allowed one) before going on.
    RequireRegistration,
    /// Ask for a second factor now, with one of the methods [`Policy::allows_method`] accepts.
    ///
    /// [`Policy::allows_method`]: crate::Policy::allows_method
    RequireMfa,
    /// A legacy client: accept an app password instead of the account password.
    RequireAppPassword,
    /// Refuse the sign-in or action, without a prompt.
    Deny,
}

impl Action {
    /// The name used in serialised form, e.g. `"require_mfa"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::RequireReconfirmation => "require_reconfirmation",
            Self::RequireRegistration => "require_registration",
            Self::RequireMfa => "require_mfa",
            Self::RequireAppPassword => "require_app_password",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the policy asks for something: machine-readable, with a short text a UI can show.
///
/// Serialised in `snake_case`, e.g. `"password_changed"`. Each reason calls for one [`Action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// An administrator blocked sign-in. Calls for [`Action::Deny`].
    BlockedByAdmin,
    /// The user reported suspicious activity; no prompts until an administrator clears it.
    /// Calls for [`Action::Deny`].
    SuspiciousActivityReported,
    /// MFA is enforced and this client cannot prompt; app passwords are turned off.
    /// Calls for [`Action::Deny`].
    LegacyClientBlocked,
    /// MFA is enforced and this client cannot prompt: it must use an app password.
    /// Calls for [`Action::RequireAppPassword`].
    AppPasswordRequired,
    /// MFA is enabled or enforced and no method is registered. Calls for [`Action::RequireRegistration`].
    RegistrationRequired,
    /// Every registered method is restricted (SMS, voice) and the policy refuses them.
    /// Calls for [`Action::RequireRegistration`].
    NoAllowedMethod,
    /// Every registered method is restricted (SMS, voice) and the policy requires a non-restricted one
    /// too. Calls for [`Action::RequireRegistration`].
    NonRestrictedMethodRequired,
    /// No verification on this device yet. Calls for [`Action::RequireMfa`].
    NotVerifiedOnThisDevice,
    /// The device is new for this user. Calls for [`Action::RequireMfa`].
    NewDevice,
    /// The device was last used by another account. Calls for [`Action::RequireMfa`].
    AccountSwitched,
    /// The user is in a group that verifies on every sign-in. Calls for [`Action::RequireMfa`].
    EverySignIn,
    /// The user signed out since the last verification and the device is not remembered.
    /// Calls for [`Action::RequireMfa`].
    SignedOut,
    /// The user signed out since the last verification and the device's "don't ask again" period has
    /// ended or was revoked. Calls for [`Action::RequireMfa`].
    RememberedDeviceExpired,
    /// The password changed at or after the last verification. Calls for [`Action::RequireMfa`].
    PasswordChanged,
    /// All sessions were revoked at or after the last verification. Calls for [`Action::RequireMfa`].
    SessionsRevoked,
    /// The registered methods changed at or after the last verification. Calls for [`Action::RequireMfa`].
    MethodsChanged,
    /// An administrator revoked MFA sessions at or after the last verification. Calls for [`Action::RequireMfa`].
    MfaSessionsRevoked,
    /// The last verification is older than the maximum authentication age. Calls for [`Action::RequireMfa`].
    MaxAgeReached,
    /// The device was not used for the inactivity limit. Calls for [`Action::RequireMfa`].
    InactivityLimitReached,
    /// A sensitive action needs a verification fresher than the last one. Calls for [`Action::RequireMfa`].
    StepUpRequired,
    /// Security info was not confirmed for the reconfirmation interval (or never).
    /// Calls for [`Action::RequireReconfirmation`].
    ReconfirmationDue,
}

impl Reason {
    /// The action this reason calls for.
    ///
    /// ```
    /// use mfa_policy::{Action, Reason};
    /// assert_eq!(Reason::PasswordChanged.action(), Action::RequireMfa);
    /// ```
    #[must_use]
    pub const fn action(self) -> Action {
        match self {
            Self::BlockedByAdmin | Self::SuspiciousActivityReported | Self::LegacyClientBlocked => {
                Action::Deny
            }
            Self::AppPasswordRequired => Action::RequireAppPassword,
            Self::RegistrationRequired | Self::NoAllowedMethod | Self::NonRestrictedMethodRequired => {
                Action::RequireRegistration
            }
            Self::NotVerifiedOnThisDevice
            | Self::NewDevice
            | Self::AccountSwitched
            | Self::EverySignIn
            | Self::SignedOut
            | Self::RememberedDeviceExpired
            | Self::PasswordChanged
            | Self::SessionsRevoked
            | Self::MethodsChanged
            | Self::MfaSessionsRevoked
            | Self::MaxAgeReached
            | Self::InactivityLimitReached
            | Self::StepUpRequired => Action::RequireMfa,
            Self::ReconfirmationDue => Action::RequireReconfirmation,
        }
    }

    /// A short sentence a UI can show the user.
    ///
    /// ```
    /// use mfa_policy::Reason;
    /// assert_eq!(Reason::PasswordChanged.message(), "Your password changed since your last verification.");
    /// ```
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Self::BlockedByAdmin => "Sign-in is blocked for this account. Contact your administrator.",
            Self::SuspiciousActivityReported => {
                "Suspicious activity was reported on this account. Contact your administrator."
            }
            Self::LegacyClientBlocked => "This app cannot sign in to an account that requires verification.",
            Self::AppPasswordRequired => "This app needs an app password instead of your password.",
            Self::RegistrationRequired => "Set up a verification method to keep your account secure.",
            Self::NoAllowedMethod => "Your verification methods are no longer accepted. Set up a new one.",
            Self::NonRestrictedMethodRequired => {
                "Set up a verification method other than a text message or phone call."
            }
            Self::NotVerifiedOnThisDevice => "Verify your identity on this device.",
            Self::NewDevice => "You are signing in on a new device.",
            Self::AccountSwitched => "You switched accounts on this device.",
            Self::EverySignIn => "Your organisation requires verification at every sign-in.",
            Self::SignedOut => "You signed out since your last verification.",
            Self::RememberedDeviceExpired => "The period for not asking again on this device has ended.",
            Self::PasswordChanged => "Your password changed since your last verification.",
            Self::SessionsRevoked => "You were signed out of all sessions since your last verification.",
            Self::MethodsChanged => "Your verification methods changed since your last verification.",
            Self::MfaSessionsRevoked => "Your administrator asked for a new verification.",
            Self::MaxAgeReached => "It has been too long since your last verification.",
            Self::InactivityLimitReached => "This device has not been used for a while.",
            Self::StepUpRequired => "Verify your identity again to make this change.",
            Self::ReconfirmationDue => "Check that your security info is still correct.",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Advice that does not block: the host may show it after the sign-in.
///
/// Serialised in `snake_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Recommendation {
    /// Only one method is registered: losing it locks the user out.
    AddSecondMethod,
    /// Every registered method is restricted (SMS, voice; NIST SP 800-63B): add a stronger one.
    AddNonRestrictedMethod,
}

impl Recommendation {
    /// A short sentence a UI can show the user.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Self::AddSecondMethod => "Add a second verification method in case you lose access to the first.",
            Self::AddNonRestrictedMethod => {
                "Add an authenticator app: text messages and phone calls are less secure."
            }
        }
    }
}

impl fmt::Display for Recommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// The answer of [`Policy::decide`](crate::Policy::decide).
///
/// `action` is the most restrictive action among `reasons` ([`Action::Allow`] when there is none).
/// `reasons` lists every finding, also those of lower rank: after the user completes the step that
/// `action` asks for, ask again with the updated state to get the next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What to do now.
    pub action: Action,
    /// Why, in the order the rules were checked.
    pub reasons: Vec<Reason>,
    /// Non-blocking advice.
    pub recommendations: Vec<Recommendation>,
}

impl Decision {
    pub(crate) fn new(reasons: Vec<Reason>, recommendations: Vec<Recommendation>) -> Self {
        let action = reasons.iter().map(|r| r.action()).max().unwrap_or(Action::Allow);
        Self {
            action,
            reasons,
            recommendations,
        }
    }

    /// Whether the sign-in or action may go on without a prompt.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        self.action == Action::Allow
    }
}
