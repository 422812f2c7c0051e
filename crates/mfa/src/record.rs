//! What a [`Store`](crate::Store) keeps: plain data, serde-friendly, with no plaintext secret in it.

use core::fmt;
use std::time::Duration;

use mfa_otp::TotpParams;
use mfa_policy::{Method, MfaState, PushStrikes, UnixTime, UserState};
use serde::{Deserialize, Serialize};

use crate::{Channel, DeviceId, MethodId, PhoneNumber, SealedSecret, Tag};

#[cfg(doc)]
use crate::Store;

/// A user's MFA settings and the instants that invalidate earlier verifications.
///
/// The counters of failed verifications are kept apart (see [`Store::attempt`]) so that a
/// settings change never resets them.
///
/// Your session layer reads it to honour "sign out everywhere":
///
/// ```
/// use mfa::{Config, KeyId, KeyRing, MemoryStore, Mfa, RecordingPhoneDelivery, Store, TagSecret, UnixTime, UserId};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// # let mfa = Mfa::new(
/// #     Config::default(),
/// #     KeyRing::generate(KeyId(1))?,
/// #     TagSecret::generate()?,
/// #     MemoryStore::new(),
/// #     RecordingPhoneDelivery::new(),
/// # )?;
/// let alice = UserId::new("user-42")?;
/// let issued_at = UnixTime::from_secs(1_600_000_000); // when this session was created
/// mfa.sign_out_everywhere(&alice).await?;
///
/// let record = mfa.store().get_user(&alice).await?.unwrap_or_default();
/// // A session issued at or before the revoking instant is revoked, one issued after it is not.
/// let session_still_valid = record.sessions_valid_from.is_none_or(|from| issued_at > from);
/// assert!(!session_still_valid);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`Store::attempt`]: crate::Store::attempt
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserRecord {
    /// The state an administrator set: disabled, enabled or enforced.
    pub mfa: MfaState,
    /// Verify at every sign-in (a group rule of the host).
    pub mfa_on_every_sign_in: bool,
    /// Sign-in is blocked by an administrator.
    pub blocked_by_admin: bool,
    /// The user reported activity they did not start, and prompts stop until an administrator clears it.
    pub suspicious_activity_reported: bool,
    /// The method challenged unless the user picks another.
    pub default_method: Option<MethodId>,
    /// When the password last changed.
    pub password_changed_at: Option<UnixTime>,
    /// Sessions issued at or before this instant are revoked ("sign out everywhere").
    pub sessions_valid_from: Option<UnixTime>,
    /// When the methods last changed (added, removed, re-registration required).
    pub methods_changed_at: Option<UnixTime>,
    /// When an administrator last revoked the user's MFA sessions and remembered devices.
    pub mfa_sessions_revoked_at: Option<UnixTime>,
    /// When the user last confirmed their security info.
    pub security_info_confirmed_at: Option<UnixTime>,
}

impl UserRecord {
    /// Whether a revocation (a password change, a sign-out everywhere, a method change or an
    /// administrator's revocation) at or after `proven_at` revokes a verification made then. One rule
    /// for every flow: anything proven at or before a revocation is revoked by it; instants are
    /// milliseconds, so a verification made after it in the same second is not.
    ///
    /// ```
    /// use mfa::{UnixTime, UserRecord};
    ///
    /// let changed = UnixTime::from_millis(1_700_000_000_500);
    /// let record = UserRecord { password_changed_at: Some(changed), ..UserRecord::default() };
    /// assert!(record.revokes(changed));
    /// assert!(!record.revokes(UnixTime::from_millis(1_700_000_000_501)));
    /// ```
    pub fn revokes(&self, proven_at: UnixTime) -> bool {
        [
            self.password_changed_at,
            self.sessions_valid_from,
            self.methods_changed_at,
            self.mfa_sessions_revoked_at,
        ]
        .into_iter()
        .flatten()
        .any(|revoked| revoked >= proven_at)
    }

    /// The policy's view of this user with these methods.
    pub fn policy_state(&self, methods: &[MethodRecord]) -> UserState {
        UserState {
            mfa: self.mfa,
            methods: methods.iter().map(MethodRecord::policy_method).collect(),
            mfa_on_every_sign_in: self.mfa_on_every_sign_in,
            password_changed_at: self.password_changed_at,
            sessions_valid_from: self.sessions_valid_from,
            methods_changed_at: self.methods_changed_at,
            mfa_sessions_revoked_at: self.mfa_sessions_revoked_at,
            security_info_confirmed_at: self.security_info_confirmed_at,
            blocked_by_admin: self.blocked_by_admin,
            suspicious_activity_reported: self.suspicious_activity_reported,
        }
    }
}

/// Which phone of the user a phone method is. As in large hosted suites: a mobile receives texts and
/// calls, an alternate or office phone calls only, and a user has at most one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    /// A mobile phone: SMS or voice.
    Mobile,
    /// An alternate phone: voice only.
    Alternate,
    /// An office phone: voice only.
    Office,
}

impl PhoneKind {
    /// Whether codes may go to this phone over `channel`.
    ///
    /// ```
    /// use mfa::{Channel, PhoneKind};
    /// assert!(PhoneKind::Mobile.supports(Channel::Sms));
    /// assert!(!PhoneKind::Office.supports(Channel::Sms));
    /// ```
    pub const fn supports(self, channel: Channel) -> bool {
        matches!((self, channel), (PhoneKind::Mobile, _) | (_, Channel::Voice))
    }
}

/// The kind of a method, the unit of the per-kind caps of [`Store::insert_method_capped`].
///
/// [`Store::insert_method_capped`]: crate::Store::insert_method_capped
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// An authenticator app (TOTP).
    AuthenticatorApp,
    /// A phone of this kind.
    Phone(PhoneKind),
    /// An authenticator app that approves sign-ins with number matching (push, `mfa-push`).
    PushApp,
    /// A passkey or security key (WebAuthn, `mfa-webauthn`).
    Passkey,
}

/// A method's credential: what verifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// An authenticator app.
    AuthenticatorApp {
        /// The TOTP secret, sealed by the service's [`KeyRing`](crate::KeyRing).
        secret: SealedSecret,
        /// Algorithm, digits, period.
        params: TotpParams,
        /// The last time step accepted: codes of this step and earlier are refused (RFC 6238 section
        /// 5.2). Moved forward only by an accepted [`Store::attempt`](crate::Store::attempt).
        last_accepted_step: Option<u64>,
    },
    /// A phone that receives codes by SMS or voice call.
    Phone {
        /// Mobile, alternate or office.
        kind: PhoneKind,
        /// The number, E.164.
        number: PhoneNumber,
    },
    /// An authenticator app enrolled for push approvals: its device id and public key.
    PushApp {
        /// The id the service gave the device; device requests name it.
        device: mfa_push::DeviceId,
        /// The device's public key, label and wake channel, as its enrollment answer gave them.
        key: Box<mfa_push::NewDevice>,
    },
    /// A push app whose enrollment began and awaits the device's answer: only inside a
    /// [`PendingEnrollment`]. The device answers with the offer's id, which a store looks it up by.
    PushEnrollment {
        /// The offer's id, the digest of its secret and its expiry.
        offer: mfa_push::PendingEnrollment,
    },
    /// A passkey or security key: its credential id and what verifies it (public key, signature
    /// counter, backup flags), as `mfa-webauthn` writes it. Kept as text, so that a store, and a
    /// service built without the `webauthn` feature, need no WebAuthn code to keep it.
    Passkey {
        /// The credential id, unpadded base64url.
        credential_id: String,
        /// `mfa-webauthn`'s stored credential, JSON. Replaced by an accepted verification
        /// ([`Consume::Passkey`](crate::store::Consume::Passkey)) when its counter or backup state moves.
        credential: String,
    },
    /// A passkey whose registration began and awaits the browser's answer: only inside a
    /// [`PendingEnrollment`].
    PasskeyRegistration {
        /// `mfa-webauthn`'s registration state (the challenge), JSON.
        state: String,
    },
}

/// A registered method (or, inside a [`PendingEnrollment`], one to be registered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodRecord {
    /// Its id.
    pub id: MethodId,
    /// A name the user recognises ("Authenticator on my phone"), 1 to 100 characters.
    pub name: String,
    /// When it was registered (for a pending one: when the enrollment began).
    pub created_at: UnixTime,
    /// What verifies it.
    pub credential: Credential,
}

impl MethodRecord {
    /// Its kind.
    pub fn kind(&self) -> MethodKind {
        match &self.credential {
            Credential::AuthenticatorApp { .. } => MethodKind::AuthenticatorApp,
            Credential::Phone { kind, .. } => MethodKind::Phone(*kind),
            Credential::PushApp { .. } | Credential::PushEnrollment { .. } => MethodKind::PushApp,
            Credential::Passkey { .. } | Credential::PasskeyRegistration { .. } => MethodKind::Passkey,
        }
    }

    /// How the policy counts it: an app, or SMS for a mobile, voice for the other phones.
    pub fn policy_method(&self) -> Method {
        match self.kind() {
            MethodKind::AuthenticatorApp => Method::AuthenticatorApp,
            MethodKind::Phone(PhoneKind::Mobile) => Method::Sms,
            MethodKind::Phone(_) => Method::Voice,
            MethodKind::PushApp => Method::PushNotification,
            MethodKind::Passkey => Method::Passkey,
        }
    }
}

/// A method whose registration began and awaits its first code. One per user at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEnrollment {
    /// The method it becomes once confirmed.
    pub method: MethodRecord,
    /// It cannot be confirmed at or after this instant.
    pub expires_at: UnixTime,
}

/// An outstanding phone code: its tag, never the code. One per user at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneChallenge {
    /// The phone method it was sent to (a registered one, or the pending enrollment's).
    pub method: MethodId,
    /// SMS or voice.
    pub channel: Channel,
    /// HMAC-SHA-256 of the code under the service's [`TagSecret`](crate::TagSecret).
    pub tag: Tag,
    /// When it was sent.
    pub created_at: UnixTime,
    /// It is refused at or after this instant.
    pub expires_at: UnixTime,
}

/// An outstanding passkey sign-in: the state of a WebAuthn authentication ceremony (its challenge). One
/// per user at a time; used once, by the first verification that answers it, right or wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyChallenge {
    /// `mfa-webauthn`'s authentication state, JSON.
    pub state: String,
    /// When it was made.
    pub created_at: UnixTime,
    /// It is refused at or after this instant.
    pub expires_at: UnixTime,
}

/// A remembered device ("don't ask again on this device"): the hash of its token, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Its id.
    pub id: DeviceId,
    /// A name the user recognises ("Firefox on Linux").
    pub name: String,
    /// SHA-256 of the 256-bit token the device presents.
    pub token_hash: Tag,
    /// When it was remembered (the completed verification that made it).
    pub created_at: UnixTime,
    /// When it last spared its user a prompt, or `created_at`.
    pub last_used_at: UnixTime,
}

/// How failed verifications are throttled, per user and across all methods.
///
/// The first `free_attempts - 1` consecutive failures cost nothing; the attempt that brings the count
/// to `free_attempts` and every later one lock verification for `base_lock`, doubling per further
/// failure up to `max_lock`. A success resets the count. Serialised with `_secs` names.
///
/// The default, 5 free attempts then 30 seconds doubling up to 1 hour, allows 11 failed guesses in the
/// first hour, 34 in the first day and 24 a day after that: against a 6-digit code (10^6 values, 3
/// accepted per guess with a window of one step either way) a chance of about 1 in 10,000 on the first
/// day and 1 in 14,000 a day after that. It never
/// allows 100 consecutive failures without a lock (the ceiling of NIST SP 800-63B section 5.2.2;
/// OWASP's Authentication Cheat Sheet recommends an exponentially growing lockout).
///
/// ```
/// use mfa::ThrottleRule;
/// use std::time::Duration;
///
/// let rule = ThrottleRule::default();
/// assert_eq!(rule.lock_for(4), None);
/// assert_eq!(rule.lock_for(5), Some(Duration::from_secs(30)));
/// assert_eq!(rule.lock_for(6), Some(Duration::from_secs(60)));
/// assert_eq!(rule.lock_for(60), Some(Duration::from_secs(3600)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleRule {
    /// The consecutive failure that starts the first lock (5: four go free, the fifth locks), 1 to 100.
    pub free_attempts: u32,
    /// The first lock.
    #[serde(rename = "base_lock_secs", with = "secs")]
    pub base_lock: Duration,
    /// The longest lock.
    #[serde(rename = "max_lock_secs", with = "secs")]
    pub max_lock: Duration,
}

impl Default for ThrottleRule {
    fn default() -> Self {
        ThrottleRule {
            free_attempts: 5,
            base_lock: Duration::from_secs(30),
            max_lock: Duration::from_secs(3600),
        }
    }
}

impl ThrottleRule {
    /// The lock that `failures` consecutive failures (counting the current attempt) call for.
    pub fn lock_for(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.free_attempts)?;
        let factor = 1u32.checked_shl(beyond.min(31)).unwrap_or(u32::MAX);
        Some(self.base_lock.saturating_mul(factor).min(self.max_lock))
    }

    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if !(1..=100).contains(&self.free_attempts) {
            return Err("throttle.free_attempts must be 1 to 100 (NIST SP 800-63B: at most 100 failures)");
        }
        if self.base_lock.as_secs() == 0 || self.max_lock < self.base_lock {
            return Err("throttle locks must be at least 1 second, with max_lock >= base_lock");
        }
        Ok(())
    }
}

/// A user's failure counter as the store holds it, with the run of unanswered pushes: both are reset
/// by an accepted [`Store::attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThrottleState {
    /// Consecutive failed (or still running) attempts since the last success.
    pub failures: u32,
    /// Verification is refused before this instant.
    pub locked_until: Option<UnixTime>,
    /// Pushes denied, reported or left unanswered since the last success (MFA fatigue).
    #[serde(default)]
    pub push_strikes: PushStrikes,
}

/// How often phone codes may be sent: per user and per number within a sliding window, and a minimum
/// interval between two sends to one user.
///
/// Defaults: at most 5 codes per user and 10 per number in 15 minutes, 30 seconds apart. These bound
/// the cost and the nuisance an attacker can cause (SMS pumping, OWASP's "Abuse of SMS" guidance).
///
/// ```
/// use mfa::{Config, SendLimit};
///
/// assert_eq!(SendLimit::default().window.as_secs(), 900);
/// let config: Config = serde_json::from_str(
///     r#"{ "phone_sends": { "per_user": 3, "per_number": 10, "window_secs": 3600, "min_interval_secs": 60 } }"#,
/// )?;
/// assert_eq!(config.phone_sends.per_user, 3);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendLimit {
    /// Most sends to one user within `window`, at least 1.
    pub per_user: u32,
    /// Most sends to one phone number (all users) within `window`, at least 1.
    pub per_number: u32,
    /// The sliding window.
    #[serde(rename = "window_secs", with = "secs")]
    pub window: Duration,
    /// Least time between two sends to one user.
    #[serde(rename = "min_interval_secs", with = "secs")]
    pub min_interval: Duration,
}

impl Default for SendLimit {
    fn default() -> Self {
        SendLimit {
            per_user: 5,
            per_number: 10,
            window: Duration::from_secs(15 * 60),
            min_interval: Duration::from_secs(30),
        }
    }
}

/// The answer of [`Store::record_phone_send`](crate::Store::record_phone_send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneSend {
    /// Within the limits: the send was recorded.
    Recorded,
    /// Over a limit: nothing was recorded, and a send is allowed again at `until` (the latest of
    /// the instants at which each exceeded limit frees up), for `Retry-After`.
    Limited {
        /// The earliest instant a send would be within every limit (if no other send comes first).
        until: UnixTime,
    },
}

impl PhoneSend {
    /// Whether the send was recorded.
    pub fn is_recorded(self) -> bool {
        self == PhoneSend::Recorded
    }

    /// The answer for the sends already recorded (`user_sends` of the user, `number_sends` of the
    /// number, in any order) and a send at `now`: what every store computes, in one place.
    pub fn decide(
        user_sends: &[UnixTime],
        number_sends: &[UnixTime],
        now: UnixTime,
        limit: &SendLimit,
    ) -> Self {
        let window_start = now.saturating_sub(limit.window);
        // The n-th newest send in the window: when it leaves the window, one more send fits.
        let frees_at = |sends: &[UnixTime], most: u32| {
            let mut recent: Vec<UnixTime> = sends.iter().copied().filter(|at| *at > window_start).collect();
            let most = usize::try_from(most).unwrap_or(usize::MAX).max(1);
            if recent.len() < most {
                return None;
            }
            recent.sort_unstable_by(|a, b| b.cmp(a));
            recent.get(most - 1).map(|at| at.saturating_add(limit.window))
        };
        let interval = user_sends
            .iter()
            .max()
            .map(|last| last.saturating_add(limit.min_interval))
            .filter(|until| now < *until);
        [
            interval,
            frees_at(user_sends, limit.per_user),
            frees_at(number_sends, limit.per_number),
        ]
        .into_iter()
        .flatten()
        .max()
        .map_or(PhoneSend::Recorded, |until| PhoneSend::Limited { until })
    }
}

/// Serde for durations as whole seconds.
pub(crate) mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// Serde for byte strings as unpadded base64url text.
pub(crate) mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        URL_SAFE_NO_PAD.decode(text).map_err(D::Error::custom)
    }
}

/// Serde for 32-byte arrays as unpadded base64url text.
pub(crate) mod base64_array {
    use serde::{Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        super::base64_bytes::serialize(bytes, s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let bytes = super::base64_bytes::deserialize(d)?;
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| D::Error::custom("expected 32 bytes"))
    }
}

impl fmt::Display for MethodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MethodKind::AuthenticatorApp => "authenticator app",
            MethodKind::Phone(PhoneKind::Mobile) => "mobile phone",
            MethodKind::Phone(PhoneKind::Alternate) => "alternate phone",
            MethodKind::Phone(PhoneKind::Office) => "office phone",
            MethodKind::PushApp => "authenticator app (push)",
            MethodKind::Passkey => "security key or passkey",
        })
    }
}
