//! MFA fatigue: when push approvals stop for a user who keeps not answering or denying them.

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::time::secs;

/// When pushes stop: after `max_strikes` pushes in a row that were denied, reported, or left
/// unanswered (expired, or replaced by a new one) within `window` of the first of them, no push goes
/// to the user until another verification succeeds (a code, a phone, a recovery code; the success
/// resets the strikes).
///
/// An attacker who has the password can otherwise send prompt after prompt until a tired user
/// approves one ("MFA fatigue", "push bombing"; CISA, *Implementing Number Matching in MFA
/// Applications*, 2022). Number matching already makes a blind approval fail; this stops the
/// nuisance, and the user's "report" raises the suspicious-activity flow. The default, 3 strikes
/// within 1 hour, is this crate's choice: a user who misses a prompt or two still gets the next.
///
/// ```
/// use mfa_policy::{PushFatigue, PushStrikes, UnixTime};
/// use std::time::Duration;
///
/// let rule = PushFatigue::default();
/// let t = UnixTime::from_secs(1_700_000_000);
/// let strikes = PushStrikes::default().add(t, &rule).add(t, &rule);
/// assert!(!rule.stops(&strikes));
/// assert!(rule.stops(&strikes.add(t, &rule)));
/// // Strikes more than an hour apart start a new run.
/// let later = t.saturating_add(Duration::from_secs(3_600));
/// assert_eq!(strikes.add(later, &rule).count, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushFatigue {
    /// Strikes in a row that stop pushes, 1 to 100.
    pub max_strikes: u32,
    /// The strikes count within this long of the first of them.
    #[serde(rename = "window_secs", with = "secs")]
    pub window: Duration,
}

impl Default for PushFatigue {
    fn default() -> Self {
        PushFatigue {
            max_strikes: 3,
            window: Duration::from_secs(3_600),
        }
    }
}

impl PushFatigue {
    /// Whether these strikes stop pushes (until a success resets them).
    #[must_use]
    pub fn stops(&self, strikes: &PushStrikes) -> bool {
        strikes.count >= self.max_strikes
    }

    /// Checks the ranges: a strike count of 1 to 100 and a window of at least a second.
    ///
    /// # Errors
    ///
    /// A sentence naming the setting out of range.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !(1..=100).contains(&self.max_strikes) {
            return Err("push_fatigue.max_strikes must be 1 to 100");
        }
        if self.window.as_secs() == 0 {
            return Err("push_fatigue.window_secs must be at least 1");
        }
        Ok(())
    }
}

/// A user's run of denied, reported or unanswered pushes, as a store keeps it beside the failure
/// counter. Reset (to the default) by any successful verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PushStrikes {
    /// Strikes in the current run.
    pub count: u32,
    /// When the run's first strike happened.
    pub since: Option<UnixTime>,
}

impl PushStrikes {
    /// The run after one more strike at `now`: a run whose first strike is `window` old or older starts
    /// again at 1, unless it already stops pushes (that lasts until a success).
    #[must_use]
    pub fn add(self, now: UnixTime, rule: &PushFatigue) -> Self {
        if rule.stops(&self) {
            return self;
        }
        match self.since {
            Some(since) if now < since.saturating_add(rule.window) => PushStrikes {
                count: self.count.saturating_add(1),
                since: Some(since),
            },
            _ => PushStrikes {
                count: 1,
                since: Some(now),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_run_stays_stopped_however_long_it_waits() {
        let rule = PushFatigue::default();
        let t = UnixTime::from_secs(1_700_000_000);
        let stopped = (0..3).fold(PushStrikes::default(), |s, _| s.add(t, &rule));
        assert!(rule.stops(&stopped));
        let much_later = t.saturating_add(Duration::from_secs(86_400 * 30));
        assert!(rule.stops(&stopped.add(much_later, &rule)));
    }

    #[test]
    fn validate_refuses_out_of_range() {
        assert!(PushFatigue::default().validate().is_ok());
        let zero = PushFatigue {
            max_strikes: 0,
            ..PushFatigue::default()
        };
        assert!(zero.validate().is_err());
        let no_window = PushFatigue {
            window: Duration::ZERO,
            ..PushFatigue::default()
        };
        assert!(no_window.validate().is_err());
    }
}
