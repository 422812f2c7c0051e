use core::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An instant in milliseconds since the Unix epoch (1970-01-01T00:00:00Z), negative before it.
///
/// The policy never reads a clock: the caller passes `now` and every recorded instant as a
/// `UnixTime`. Milliseconds, not seconds, so that a revocation and a verification made in the same
/// second keep their order: everything proven at or before a revocation is revoked by it, and a
/// verification a moment later is not.
///
/// Serialised as a number of seconds: an integer when the instant is a whole second (the format of
/// earlier versions, which still reads), otherwise with the milliseconds as a fraction
/// (`1700000000.25`). Displayed the same way.
///
/// ```
/// use mfa_policy::UnixTime;
/// use std::time::Duration;
///
/// let t = UnixTime::from_secs(1_700_000_000);
/// assert_eq!(t.saturating_add(Duration::from_secs(60)).as_secs(), 1_700_000_060);
/// assert!(t < t.saturating_add(Duration::from_millis(1)));
/// assert_eq!(UnixTime::from_millis(1_700_000_000_250).to_string(), "1700000000.25");
/// assert_eq!(serde_json::to_string(&t)?, "1700000000");
/// assert_eq!(serde_json::from_str::<UnixTime>("1700000000.25")?.as_millis(), 1_700_000_000_250);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

const MILLIS_PER_SEC: i64 = 1000;

/// The largest magnitude of milliseconds written with a fraction (about 35,000 years from 1970): up
/// to it, an `f64` of seconds reads back to the same millisecond.
const FRACTION_LIMIT: i64 = 1 << 50;

impl UnixTime {
    /// The instant `secs` whole seconds after the Unix epoch (saturating at the ends of time).
    #[must_use]
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(MILLIS_PER_SEC))
    }

    /// The instant `millis` milliseconds after the Unix epoch.
    #[must_use]
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Whole seconds since the Unix epoch, rounded down (toward the past).
    #[must_use]
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(MILLIS_PER_SEC)
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant plus `d` (whole milliseconds; a finer fraction is dropped), saturating at the end
    /// of time.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(millis_of(d)))
    }

    /// This instant minus `d` (whole milliseconds; a finer fraction is dropped), saturating at the
    /// start of time.
    #[must_use]
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(millis_of(d)))
    }

    /// Whether at least `limit` has passed from `self` to `now`. An instant after `now` (clock skew)
    /// counts as no time passed.
    pub(crate) fn reached(self, limit: Duration, now: Self) -> bool {
        let elapsed = i128::from(now.0) - i128::from(self.0);
        elapsed >= limit.as_millis().try_into().unwrap_or(i128::MAX)
    }
}

fn millis_of(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (secs, millis) = (self.as_secs(), self.0.rem_euclid(MILLIS_PER_SEC));
        if millis == 0 {
            write!(f, "{secs}")
        } else {
            let fraction = format!("{millis:03}");
            write!(f, "{secs}.{}", fraction.trim_end_matches('0'))
        }
    }
}

impl Serialize for UnixTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.rem_euclid(MILLIS_PER_SEC) == 0 || self.0.unsigned_abs() > FRACTION_LIMIT.unsigned_abs() {
            // Whole seconds (beyond the fraction limit the milliseconds are dropped).
            s.serialize_i64(self.as_secs())
        } else {
            #[allow(clippy::cast_precision_loss)] // exact within FRACTION_LIMIT
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

impl<'de> Deserialize<'de> for UnixTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seconds;
        impl serde::de::Visitor<'_> for Seconds {
            type Value = UnixTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("seconds since the Unix epoch")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<UnixTime, E> {
                // Refused rather than saturated: an instant read must write back as it was read.
                v.checked_mul(MILLIS_PER_SEC)
                    .map(UnixTime)
                    .ok_or_else(|| E::custom("instant out of range"))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<UnixTime, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom("instant out of range"))
                    .and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<UnixTime, E> {
                let millis = (v * 1000.0).round();
                // Within the fraction limit (NaN fails too): refused, never saturated silently.
                #[allow(clippy::cast_precision_loss)] // a power of two
                let limit = FRACTION_LIMIT as f64;
                if !(-limit..=limit).contains(&millis) {
                    return Err(E::custom("instant out of range"));
                }
                #[allow(clippy::cast_possible_truncation)]
                Ok(UnixTime(millis as i64))
            }
        }
        d.deserialize_any(Seconds)
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

/// Serde for optional durations as whole seconds or `null`.
pub(crate) mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    #[allow(clippy::ref_option)] // serde's `with` passes `&Option<T>`
    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_secs))
    }
}
