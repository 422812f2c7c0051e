use core::fmt;

use crate::code::check_digits;
use crate::hotp::scan;
use crate::mac::KeyedMac;
use crate::{Algorithm, Code, Error, Secret};

/// Settings of a TOTP credential (RFC 6238 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TotpParams {
    /// HMAC hash function; SHA-1 unless the app is known to support others.
    pub algorithm: Algorithm,
    /// Digits per code, 6 to 10.
    pub digits: u8,
    /// Time step X in seconds, at least 1; 30 is what apps assume (RFC 6238 section 5.2).
    pub period: u64,
    /// Unix time T0 at which counting steps starts; 0 almost everywhere.
    pub t0: u64,
}

impl Default for TotpParams {
    /// SHA-1, 6 digits, 30 seconds, T0 = 0: what every authenticator app supports.
    fn default() -> Self {
        TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
            t0: 0,
        }
    }
}

/// How many time steps around the current one a code may come from.
///
/// RFC 6238 section 5.2 recommends at most one step of delay; the default accepts one step behind and
/// one ahead (clock skew either way), which is what most services do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Window {
    /// Steps before the current one.
    pub behind: u8,
    /// Steps after the current one.
    pub ahead: u8,
}

impl Window {
    /// Only the current step.
    pub const EXACT: Window = Window { behind: 0, ahead: 0 };

    /// `steps` behind and `steps` ahead.
    pub const fn symmetric(steps: u8) -> Self {
        Window {
            behind: steps,
            ahead: steps,
        }
    }
}

impl Default for Window {
    fn default() -> Self {
        Window::symmetric(1)
    }
}

/// A TOTP generator and verifier (RFC 6238), keyed once.
///
/// Time is always an argument (Unix seconds); this crate never reads a clock. Building it hashes the key
/// into HMAC's inner and outer states, so each step costs two compressions and no allocation.
///
/// ```
/// use mfa_otp::{Code, Secret, Totp, TotpParams, Window};
///
/// let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
/// let totp = Totp::new(&secret, TotpParams { digits: 8, ..TotpParams::default() })?;
/// // RFC 6238 Appendix B, T = 59.
/// assert_eq!(totp.generate(59)?.to_string(), "94287082");
///
/// // The code of the previous step is still accepted within the default window; the matched step comes
/// // back so the caller can refuse it the next time.
/// let code = Code::parse("94287082")?;
/// let step = totp.verify(&code, 61, Window::default()).expect("within the window");
/// assert_eq!(step, 1);
/// assert_eq!(totp.verify_after(&code, 61, Window::default(), Some(step)), None);
/// # Ok::<(), mfa_otp::Error>(())
/// ```
#[derive(Clone)]
pub struct Totp {
    mac: KeyedMac,
    digits: u8,
    period: u64,
    t0: u64,
}

impl Totp {
    /// Keys a TOTP instance. Fails on digits outside 6 to 10 or a zero period.
    pub fn new(secret: &Secret, params: TotpParams) -> Result<Self, Error> {
        let digits = check_digits(params.digits)?;
        if params.period == 0 {
            return Err(Error::ZeroPeriod);
        }
        Ok(Totp {
            mac: KeyedMac::new(params.algorithm, secret.expose_bytes()),
            digits,
            period: params.period,
            t0: params.t0,
        })
    }

    /// The settings this instance was built with.
    pub fn params(&self) -> TotpParams {
        TotpParams {
            algorithm: self.mac.algorithm(),
            digits: self.digits,
            period: self.period,
            t0: self.t0,
        }
    }

    /// The time step T = (time - T0) / X that `unix_time` falls in.
    pub fn step_at(&self, unix_time: u64) -> Result<u64, Error> {
        unix_time
            .checked_sub(self.t0)
            .map(|t| t / self.period)
            .ok_or(Error::TimeBeforeT0)
    }

    /// The code at `unix_time`.
    #[inline]
    pub fn generate(&self, unix_time: u64) -> Result<Code, Error> {
        Ok(self.generate_at_step(self.step_at(unix_time)?))
    }

    /// The code of time step `step`.
    #[inline]
    pub fn generate_at_step(&self, step: u64) -> Code {
        Code::from_truncated(self.mac.truncated(step), self.digits)
    }

    /// Checks `code` against the steps of `window` around `unix_time` and returns the matching step.
    ///
    /// Every step in the window is computed and compared in constant time, so the time taken does not
    /// depend on whether or where the code matched. A step must be accepted at most once (RFC 6238
    /// section 5.2): keep the returned step and pass it to [`verify_after`](Self::verify_after) next time.
    #[must_use]
    #[inline]
    pub fn verify(&self, code: &Code, unix_time: u64, window: Window) -> Option<u64> {
        self.verify_after(code, unix_time, window, None)
    }

    /// Like [`verify`](Self::verify), but refuses every step at or before `last_accepted`, so a code that
    /// was already used, or an older one, cannot be replayed.
    #[must_use]
    pub fn verify_after(
        &self,
        code: &Code,
        unix_time: u64,
        window: Window,
        last_accepted: Option<u64>,
    ) -> Option<u64> {
        let now = self.step_at(unix_time).ok()?;
        let mut start = now.saturating_sub(u64::from(window.behind));
        let end = now.saturating_add(u64::from(window.ahead));
        if let Some(last) = last_accepted {
            start = start.max(last.checked_add(1)?);
        }
        scan(&self.mac, self.digits, code, start, end)
    }
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("params", &self.params())
            .finish_non_exhaustive()
    }
}
