use std::time::Duration;

use mfa_otp::Window;
use mfa_policy::{Policy, PushFatigue};
use serde::{Deserialize, Serialize};

use crate::record::secs;
use crate::{Error, SendLimit, ThrottleRule};

/// The longest a phone code may live: 10 minutes.
pub const MAX_PHONE_CODE_TTL: Duration = Duration::from_secs(600);

/// The default of [`Config::max_remembered_devices`]: 20 per user.
const DEFAULT_MAX_REMEMBERED_DEVICES: usize = 20;
/// The most [`Config::max_concurrent_hashes`] may be.
const MAX_CONCURRENT_HASHES: usize = 1024;

/// Everything configurable, serde-friendly for a configuration file. Keys are passed separately
/// ([`KeyRing`](crate::KeyRing), [`TagSecret`](crate::TagSecret)); they are never serialised.
///
/// Every field has a default; [`Mfa::new`](crate::Mfa::new) validates the whole.
///
/// | setting | default | bounds, source |
/// |---|---|---|
/// | `policy` | [`Policy::hosted_suite`] | see mfa-policy |
/// | `throttle` | the 5th failure in a row locks for 30 s, each further one doubles it, up to 1 h | `free_attempts` 1 to 100: the 100th failure locks at the latest (NIST SP 800-63B 5.2.2) |
/// | `totp_window` | one step behind and ahead | at most 2 each way (RFC 6238 section 5.2 recommends 1) |
/// | `phone_code_digits` | 6 | 6 to 8 (NIST SP 800-63B 5.1.3.2: at least 20 bits, which NIST accepts from 6 digits) |
/// | `phone_code_ttl_secs` | 300 | 60 to 600 |
/// | `phone_sends` | 5 per user, 10 per number in 15 min, 30 s apart | at least 1 each |
/// | `enrollment_ttl_secs` | 900 | 60 to 3600 |
/// | `max_authenticator_apps` | 5 | 1 to 20 |
/// | `max_passkeys` | 10 (passkeys and security keys) | 1 to 50 |
/// | `recovery_codes` | 10 | 1 to 50 |
/// | `max_remembered_devices` | 20 per user | 1 to 1000; remembering one more forgets the least recently used (by last use) |
/// | `app_passwords` | mfa-app-password's (40 per user, argon2id m=19456 t=2) | see mfa-app-password |
/// | `max_concurrent_hashes` | `None`: one less than the number of CPUs ([`std::thread::available_parallelism`]), at least 1 | 1 to 1024; each running hash holds `app_passwords.params.m_kib` KiB |
/// | `suspicious_report_blocks_prompts` | `true` | |
/// | `password_change_revokes_app_passwords` | `true` | as large providers do: a stolen password's app passwords die with it |
/// | `push` | 2-digit numbers, 120 s, 5 apps, stop after 3 strikes in 1 h | see [`PushConfig`] |
///
/// ```
/// use mfa::Config;
///
/// let config: Config = serde_json::from_str(r#"{ "issuer": "Example", "phone_code_ttl_secs": 120 }"#)?;
/// assert_eq!(config.phone_code_ttl.as_secs(), 120);
/// assert_eq!(config.max_authenticator_apps, 5);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The service's name, shown in authenticator apps and in texts ("Example").
    pub issuer: String,
    /// When to ask for a second factor.
    pub policy: Policy,
    /// Throttling of failed verifications.
    pub throttle: ThrottleRule,
    /// TOTP steps accepted around the current one.
    pub totp_window: Window,
    /// Digits of phone codes.
    pub phone_code_digits: u8,
    /// How long a phone code is valid.
    #[serde(rename = "phone_code_ttl_secs", with = "secs")]
    pub phone_code_ttl: Duration,
    /// Limits on sending phone codes.
    pub phone_sends: SendLimit,
    /// How long a begun registration may wait for its confirmation.
    #[serde(rename = "enrollment_ttl_secs", with = "secs")]
    pub enrollment_ttl: Duration,
    /// Most authenticator apps per user.
    pub max_authenticator_apps: usize,
    /// Most passkeys and security keys per user.
    pub max_passkeys: usize,
    /// Recovery codes per set.
    pub recovery_codes: usize,
    /// Most remembered devices per user. Remembering one more forgets the least recently used of the
    /// others (by last use; a [`DeviceForgotten`](crate::EventKind::DeviceForgotten) event each)
    /// rather than refusing: a user who signs in from a new browser is never stuck, and a device
    /// still in use is the last to go.
    pub max_remembered_devices: usize,
    /// App-password format, hashing and cap.
    pub app_passwords: mfa_app_password::Config,
    /// How many app-password hashes (argon2id, creating or verifying) may run at once, on tokio's
    /// blocking threads; further ones wait their turn without holding an async worker thread.
    /// `None` (the default): the number of CPUs. Each running hash holds
    /// `app_passwords.params.m_kib` KiB (19 MiB by default), so this also bounds that memory.
    pub max_concurrent_hashes: Option<usize>,
    /// Whether a suspicious-activity report stops prompts until an administrator clears it.
    pub suspicious_report_blocks_prompts: bool,
    /// Whether [`Mfa::password_changed`](crate::Mfa::password_changed) also deletes the user's app
    /// passwords (the mail clients then need new ones).
    pub password_change_revokes_app_passwords: bool,
    /// Push approvals with number matching (on once [`Mfa::with_push`](crate::Mfa::with_push) gives
    /// the service key).
    pub push: PushConfig,
}

/// Push approvals: the number's digits, how long a push waits, how many push apps a user may have,
/// and when pushes stop (MFA fatigue). Serialised with `_secs` names.
///
/// ```
/// use mfa::Config;
///
/// let config: Config = serde_json::from_str(r#"{ "push": { "digits": 3, "fatigue": { "max_strikes": 5, "window_secs": 600 } } }"#)?;
/// assert_eq!(config.push.digits, 3);
/// assert_eq!(config.push.challenge_ttl.as_secs(), 120);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// Digits of the number the sign-in page shows and the user types on the phone: 2 (the default, as
    /// in large hosted suites) or 3.
    pub digits: u8,
    /// How long a push can be answered, 30 to 600 seconds (default 120, `mfa-push`'s).
    #[serde(rename = "challenge_ttl_secs", with = "secs")]
    pub challenge_ttl: Duration,
    /// Most push apps per user.
    pub max_apps: usize,
    /// When pushes stop for a user who keeps not answering or denying them.
    pub fatigue: PushFatigue,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            digits: 2,
            challenge_ttl: mfa_push::DEFAULT_CHALLENGE_TTL,
            max_apps: 5,
            fatigue: PushFatigue::default(),
        }
    }
}

impl PushConfig {
    pub(crate) fn match_digits(&self) -> mfa_push::Digits {
        match self.digits {
            3 => mfa_push::Digits::Three,
            _ => mfa_push::Digits::Two,
        }
    }

    fn validate(&self) -> Result<(), &'static str> {
        if !(2..=3).contains(&self.digits) {
            return Err("push.digits must be 2 or 3");
        }
        if self.challenge_ttl < mfa_push::MIN_CHALLENGE_TTL
            || self.challenge_ttl > mfa_push::MAX_CHALLENGE_TTL
        {
            return Err("push.challenge_ttl must be 30 to 600 seconds");
        }
        if !(1..=20).contains(&self.max_apps) {
            return Err("push.max_apps must be 1 to 20");
        }
        self.fatigue.validate()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer: "mfa-kit".to_owned(),
            policy: Policy::hosted_suite(),
            throttle: ThrottleRule::default(),
            totp_window: Window::default(),
            phone_code_digits: 6,
            phone_code_ttl: Duration::from_secs(300),
            phone_sends: SendLimit::default(),
            enrollment_ttl: Duration::from_secs(900),
            max_authenticator_apps: 5,
            max_passkeys: 10,
            recovery_codes: 10,
            max_remembered_devices: DEFAULT_MAX_REMEMBERED_DEVICES,
            app_passwords: mfa_app_password::Config::default(),
            max_concurrent_hashes: None,
            suspicious_report_blocks_prompts: true,
            password_change_revokes_app_passwords: true,
            push: PushConfig::default(),
        }
    }
}

impl Config {
    /// How many app-password hashes may run at once: [`max_concurrent_hashes`](Self::max_concurrent_hashes),
    /// or one less than the number of CPUs when it is `None` (at least 1; 1 if the system cannot
    /// tell). One core is left to the async threads: on 2 cores with 16 verifications running, a
    /// trivial request's p99 was 2.7 ms with both cores hashing and 0.05 ms with one left
    /// (`benches/hashing_load.rs`).
    ///
    /// ```
    /// use mfa::Config;
    ///
    /// let config: Config = serde_json::from_str(r#"{ "max_concurrent_hashes": 2 }"#)?;
    /// assert_eq!(config.hashing_concurrency(), 2);
    /// assert!(Config::default().hashing_concurrency() >= 1);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn hashing_concurrency(&self) -> usize {
        self.max_concurrent_hashes.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |cpus| cpus.get().saturating_sub(1).max(1))
        })
    }

    /// Checks every bound of the table above.
    pub fn validate(&self) -> Result<(), Error> {
        let fail = |reason| Err(Error::InvalidConfig { reason });
        if self.issuer.trim().is_empty()
            || self.issuer.contains(':')
            || self.issuer.chars().any(char::is_control)
        {
            return fail("issuer must be non-empty text without ':' or control characters");
        }
        self.throttle
            .validate()
            .map_err(|reason| Error::InvalidConfig { reason })?;
        self.push
            .validate()
            .map_err(|reason| Error::InvalidConfig { reason })?;
        if self.totp_window.behind > 2 || self.totp_window.ahead > 2 {
            return fail("totp_window must be at most 2 steps each way");
        }
        if !(6..=8).contains(&self.phone_code_digits) {
            return fail("phone_code_digits must be 6 to 8");
        }
        if self.phone_code_ttl < Duration::from_secs(60) || self.phone_code_ttl > MAX_PHONE_CODE_TTL {
            return fail("phone_code_ttl must be 60 to 600 seconds");
        }
        let sends = &self.phone_sends;
        if sends.per_user == 0 || sends.per_number == 0 || sends.window.is_zero() {
            return fail("phone_sends limits and window must be at least 1");
        }
        if self.enrollment_ttl < Duration::from_secs(60) || self.enrollment_ttl > Duration::from_secs(3600) {
            return fail("enrollment_ttl must be 60 to 3600 seconds");
        }
        if !(1..=20).contains(&self.max_authenticator_apps) {
            return fail("max_authenticator_apps must be 1 to 20");
        }
        if !(1..=50).contains(&self.max_passkeys) {
            return fail("max_passkeys must be 1 to 50");
        }
        if !(1..=50).contains(&self.recovery_codes) {
            return fail("recovery_codes must be 1 to 50");
        }
        if !(1..=1000).contains(&self.max_remembered_devices) {
            return fail("max_remembered_devices must be 1 to 1000");
        }
        if self
            .max_concurrent_hashes
            .is_some_and(|n| !(1..=MAX_CONCURRENT_HASHES).contains(&n))
        {
            return fail("max_concurrent_hashes must be 1 to 1024");
        }
        Ok(())
    }
}
