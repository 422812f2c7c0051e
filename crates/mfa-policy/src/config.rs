use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::time::{opt_secs, secs};

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Shortest remembered-device window: one day.
pub const MIN_REMEMBER_DEVICE: Duration = Duration::from_secs(DAY);
/// Longest remembered-device window: 365 days.
pub const MAX_REMEMBER_DEVICE: Duration = Duration::from_secs(365 * DAY);

/// What to do with restricted methods (SMS and voice, NIST SP 800-63B).
///
/// Ordered from the loosest to the strictest. Serialised in `snake_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictedMethods {
    /// Accept them; recommend a non-restricted method when they are all the user has.
    #[default]
    Allow,
    /// Accept them, but a user must also register a non-restricted method.
    RequireAlternative,
    /// Never accept them: they do not count as registered methods.
    Refuse,
}

/// The settings of a [`Policy`](crate::Policy), as plain data.
///
/// Build a [`Policy`](crate::Policy) from it with [`Policy::new`](crate::Policy::new), which validates
/// it. In serialised form each duration is a whole number of seconds under a name ending in `_secs`,
/// and an unset limit is `null` or absent.
///
/// ```
/// use mfa_policy::{Policy, PolicyConfig};
/// use std::time::Duration;
///
/// // The hosted-suite defaults, but remember devices for 30 days only.
/// let config = PolicyConfig {
///     remember_device: Some(Duration::from_secs(30 * 86_400)),
///     ..PolicyConfig::hosted_suite()
/// };
/// let policy = Policy::new(config)?;
/// # let _ = policy;
/// # Ok::<(), mfa_policy::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// "Don't ask again on this device" window, 1 to 365 days; `None` turns remembering off. A
    /// remembered device is spared the prompt after a sign-out only: every other rule still applies.
    #[serde(rename = "remember_device_secs", default, with = "opt_secs")]
    pub remember_device: Option<Duration>,
    /// Maximum authentication age: a new verification once this long has passed since the last one
    /// (a rolling window: each verification starts a new one). `None`: no maximum.
    #[serde(rename = "max_age_secs", default, with = "opt_secs")]
    pub max_age: Option<Duration>,
    /// A new verification once a device was not used for this long. `None`: no limit.
    #[serde(rename = "inactivity_limit_secs", default, with = "opt_secs")]
    pub inactivity_limit: Option<Duration>,
    /// Ask the user to reconfirm security info this often. `None` or zero: never.
    #[serde(rename = "reconfirm_security_info_secs", default, with = "opt_secs")]
    pub reconfirm_security_info: Option<Duration>,
    /// A sensitive action needs a verification younger than this, remembered device or not.
    #[serde(rename = "step_up_freshness_secs", with = "secs")]
    pub step_up_freshness: Duration,
    /// What to do with SMS and voice.
    #[serde(default)]
    pub restricted_methods: RestrictedMethods,
    /// Whether legacy clients of users with MFA enforced may sign in with an app password; if not,
    /// they are denied.
    pub allow_app_passwords: bool,
    /// Accept phishing-resistant methods only (passkeys and security keys): the others do not count
    /// as registered methods, as restricted ones do not under [`RestrictedMethods::Refuse`].
    #[serde(default)]
    pub phishing_resistant_only: bool,
}

impl PolicyConfig {
    /// Defaults like those of a large hosted office suite. See the crate README for the sources.
    ///
    /// | setting | value |
    /// |---|---|
    /// | remembered device | 90 days |
    /// | maximum authentication age | 90 days, rolling |
    /// | inactivity limit | 14 days |
    /// | reconfirm security info | 180 days |
    /// | step-up freshness | 10 minutes |
    /// | restricted methods | allowed, non-restricted one recommended |
    /// | app passwords | allowed |
    #[must_use]
    pub const fn hosted_suite() -> Self {
        Self {
            remember_device: Some(Duration::from_secs(90 * DAY)),
            max_age: Some(Duration::from_secs(90 * DAY)),
            inactivity_limit: Some(Duration::from_secs(14 * DAY)),
            reconfirm_security_info: Some(Duration::from_secs(180 * DAY)),
            step_up_freshness: Duration::from_secs(10 * MINUTE),
            restricted_methods: RestrictedMethods::Allow,
            allow_app_passwords: true,
            phishing_resistant_only: false,
        }
    }

    /// NIST SP 800-63B-4 AAL1: reauthenticate at least every 30 days; no inactivity limit.
    ///
    /// | setting | value |
    /// |---|---|
    /// | remembered device | 30 days |
    /// | maximum authentication age | 30 days |
    /// | inactivity limit | none |
    /// | reconfirm security info | never |
    /// | step-up freshness | 10 minutes |
    /// | restricted methods | allowed, non-restricted one recommended |
    /// | app passwords | allowed |
    #[must_use]
    pub const fn nist_aal1() -> Self {
        Self {
            remember_device: Some(Duration::from_secs(30 * DAY)),
            max_age: Some(Duration::from_secs(30 * DAY)),
            inactivity_limit: None,
            reconfirm_security_info: None,
            step_up_freshness: Duration::from_secs(10 * MINUTE),
            restricted_methods: RestrictedMethods::Allow,
            allow_app_passwords: true,
            phishing_resistant_only: false,
        }
    }

    /// NIST SP 800-63B-4 AAL2: reauthenticate at least every 24 hours and after 1 hour of inactivity.
    ///
    /// | setting | value |
    /// |---|---|
    /// | remembered device | off |
    /// | maximum authentication age | 24 hours |
    /// | inactivity limit | 1 hour |
    /// | reconfirm security info | never |
    /// | step-up freshness | 10 minutes |
    /// | restricted methods | allowed, non-restricted one recommended |
    /// | app passwords | refused (a single-factor secret cannot reach AAL2) |
    #[must_use]
    pub const fn nist_aal2() -> Self {
        Self {
            remember_device: None,
            max_age: Some(Duration::from_secs(24 * HOUR)),
            inactivity_limit: Some(Duration::from_secs(HOUR)),
            reconfirm_security_info: None,
            step_up_freshness: Duration::from_secs(10 * MINUTE),
            restricted_methods: RestrictedMethods::Allow,
            allow_app_passwords: false,
            phishing_resistant_only: false,
        }
    }

    /// NIST SP 800-63B-4 AAL3: phishing-resistant methods only, reauthenticate at least every 12 hours
    /// and after 15 minutes of inactivity.
    ///
    /// | setting | value |
    /// |---|---|
    /// | remembered device | off |
    /// | maximum authentication age | 12 hours |
    /// | inactivity limit | 15 minutes |
    /// | reconfirm security info | never |
    /// | step-up freshness | 10 minutes |
    /// | restricted methods | refused |
    /// | phishing-resistant only | yes: passkeys and security keys |
    /// | app passwords | refused |
    ///
    /// AAL3 also asks for a key that cannot be exported; a synced passkey can be. A host that must
    /// meet AAL3 registers security keys (device-bound credentials) only: this policy cannot tell.
    #[must_use]
    pub const fn nist_aal3() -> Self {
        Self {
            remember_device: None,
            max_age: Some(Duration::from_secs(12 * HOUR)),
            inactivity_limit: Some(Duration::from_secs(15 * MINUTE)),
            reconfirm_security_info: None,
            step_up_freshness: Duration::from_secs(10 * MINUTE),
            restricted_methods: RestrictedMethods::Refuse,
            allow_app_passwords: false,
            phishing_resistant_only: true,
        }
    }

    /// Checks every setting and normalises a zero reconfirmation interval to `None`.
    pub(crate) fn validated(mut self) -> Result<Self, Error> {
        if let Some(window) = self.remember_device {
            whole_seconds(window, "remember_device")?;
            if !(MIN_REMEMBER_DEVICE..=MAX_REMEMBER_DEVICE).contains(&window) {
                return Err(Error::RememberWindowOutOfRange {
                    seconds: window.as_secs(),
                });
            }
        }
        positive_limit(self.max_age, "max_age")?;
        positive_limit(self.inactivity_limit, "inactivity_limit")?;
        if let Some(interval) = self.reconfirm_security_info {
            whole_seconds(interval, "reconfirm_security_info")?;
            if interval.is_zero() {
                self.reconfirm_security_info = None;
            }
        }
        positive_limit(Some(self.step_up_freshness), "step_up_freshness")?;
        Ok(self)
    }
}

fn whole_seconds(d: Duration, setting: &'static str) -> Result<(), Error> {
    if d.subsec_nanos() == 0 {
        Ok(())
    } else {
        Err(Error::SubSecondDuration { setting })
    }
}

fn positive_limit(d: Option<Duration>, setting: &'static str) -> Result<(), Error> {
    match d {
        Some(d) if d.is_zero() => Err(Error::ZeroDuration { setting }),
        Some(d) => whole_seconds(d, setting),
        None => Ok(()),
    }
}
