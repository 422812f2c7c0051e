use core::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mfa_policy::UnixTime;

/// Where `mfa` gets the time: the only way it reads a clock.
///
/// Use [`SystemClock`] in production and [`ManualClock`] in tests. Your own clock, for example one
/// that runs a fixed offset behind a broken host clock, goes to [`Mfa::with_clock`](crate::Mfa::with_clock):
///
/// ```
/// use mfa::{Clock, SystemClock, UnixTime};
///
/// #[derive(Debug)]
/// struct Offset(i64);
///
/// impl Clock for Offset {
///     fn now(&self) -> UnixTime {
///         UnixTime::from_secs(SystemClock.now().as_secs().saturating_add(self.0))
///     }
/// }
///
/// let behind = Offset(-90);
/// assert!(behind.now() < SystemClock.now());
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant (to the millisecond, so that a revocation and a verification in the same
    /// second keep their order).
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
///
/// ```
/// use mfa::{Clock, SystemClock};
/// assert!(SystemClock.now().as_secs() > 1_600_000_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        // Milliseconds: a revocation and a verification in the same second keep their order.
        let millis = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
        };
        UnixTime::from_millis(millis)
    }
}

/// A clock that moves only when told: for tests and benchmarks.
///
/// ```
/// use mfa::{Clock, ManualClock, UnixTime};
/// use std::time::Duration;
///
/// let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(clock.now(), UnixTime::from_secs(1_700_000_030));
/// clock.set(UnixTime::from_secs(5));
/// assert_eq!(clock.now().as_secs(), 5);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: UnixTime) -> Self {
        ManualClock(AtomicI64::new(now.as_millis()))
    }

    /// Sets the time.
    pub fn set(&self, now: UnixTime) {
        self.0.store(now.as_millis(), Ordering::SeqCst);
    }

    /// Moves the time forward by `by` (whole milliseconds).
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
            Some(t.saturating_add(millis))
        });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_millis(self.0.load(Ordering::SeqCst))
    }
}
